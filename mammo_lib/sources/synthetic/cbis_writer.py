"""Write a synthetic CBIS-DDSM download: the NBIA Data Retriever tree, ``metadata.csv`` and the
four case-description CSVs, in the real collection's formats and with its quirks.

Layout under ``<out>/cbis-ddsm/``::

    CBIS-DDSM/<SubjectID>/<MM-DD-YYYY>-DDSM-NA-<last 5 of StudyUID>/
        1.000000-<SeriesDescription>-<last 5 of SeriesUID>/1-1.dcm   (and 1-2.dcm)
    metadata.csv
    mass_case_description_train_set.csv  (and the three others)

The study folder's middle part is ``<StudyID>-<StudyDescription or NA>`` as the retriever
writes it (CBIS-DDSM: Study ID "DDSM", no description). Per abnormality, the ROI subject
(``..._CC_1``) holds, like the real download:

* most often one study with one series "ROI mask images" of two files, the crop and the mask;
  the CSV names them ``000000.dcm``/``000001.dcm`` (masses: crop 000000, mask 000001; calcs:
  the other way round), and for a seeded fraction of series the retriever names ``1-1.dcm`` /
  ``1-2.dcm`` are swapped relative to that order, so only content tells them apart;
* sometimes two studies, one series "cropped images" and one "ROI mask images", each with one
  file (both ``000000.dcm`` in the CSV).

The case tables copy the real headers (``breast_density`` in mass files, ``breast density``
in calc files), end records with CRLF and put a newline inside the quoted mask path (mass
files) or crop path (calc files), as the real files do.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mammo_lib.io import write_text
from mammo_lib.sources.synthetic.dicom_writer import make_uid, write_dicom
from mammo_lib.sources.synthetic.vocabulary import CASE_TABLES, Descriptor, load_vocabulary

__all__ = [
    "CbisLesion",
    "CbisScan",
    "METADATA_COLUMNS",
    "write_case_tables",
    "write_metadata",
    "write_scan_files",
]

#: Columns of the NBIA Data Retriever's metadata.csv.
METADATA_COLUMNS = (
    "Series UID",
    "Collection",
    "3rd Party Analysis",
    "Data Description URI",
    "Subject ID",
    "Study UID",
    "Study Description",
    "Study Date",
    "Series Description",
    "Manufacturer",
    "Modality",
    "SOP Class Name",
    "SOP Class UID",
    "Number of Images",
    "File Size",
    "File Location",
    "Download Timestamp",
)
DOI = "https://doi.org/10.7937/K9/TCIA.2016.7O02S9CY"


@dataclass
class CbisLesion:
    """One abnormality of a planned scan, with where its files went once written."""

    abnormality_id: int
    descriptor: Descriptor
    diameter_mm: float
    two_studies: bool
    swapped: bool
    rle: bool
    bbox: tuple[int, int, int, int] | None = None
    mask_file: str = ""
    crop_file: str = ""
    csv_crop: str = ""
    csv_mask: str = ""


@dataclass
class CbisScan:
    """One planned full mammogram and its abnormalities."""

    index: int
    table: str
    patient_id: str
    side: str
    view: str
    density: int
    shape: tuple[int, int]
    pixel_mm: float
    digitizer: str
    letter: str
    full_date: str
    roi_date: str
    rle: bool
    lesions: list[CbisLesion] = field(default_factory=list)
    scan_file: str = ""
    csv_image: str = ""

    @property
    def collection(self) -> str:
        """``Mass-Training``, ``Mass-Test``, ``Calc-Training`` or ``Calc-Test``."""
        return CASE_TABLES[self.table][1]

    @property
    def subject_id(self) -> str:
        """NBIA SubjectID of the full scan, e.g. ``Mass-Training_P_00001_LEFT_CC``."""
        return f"{self.collection}_{self.patient_id}_{self.side}_{self.view}"


def _mmddyyyy(date: str) -> str:
    return f"{date[4:6]}-{date[6:8]}-{date[:4]}"


def _study_folder(date: str, study_uid: str) -> str:
    return f"{_mmddyyyy(date)}-DDSM-NA-{study_uid[-5:]}"


def _series_folder(description: str, series_uid: str, number: int = 1) -> str:
    return f"{number}.000000-{description}-{series_uid[-5:]}"


def write_scan_files(
    root: Path, seed: int, scan: CbisScan, pixels: np.ndarray, masks: list[np.ndarray]
) -> list[dict[str, object]]:
    """Write a scan's full mammogram and each abnormality's crop and mask.

    Parameters
    ----------
    root
        The download folder (``<out>/cbis-ddsm``).
    seed
        Tree seed (UIDs derive from it).
    scan
        The plan; its and its lesions' file fields are filled in.
    pixels
        uint16 full mammogram.
    masks
        bool mask per lesion (full-scan size), in the order of ``scan.lesions``.

    Returns
    -------
    list of dict
        One ``metadata.csv`` record per series written.
    """
    series: list[dict[str, object]] = []
    subject = scan.subject_id
    study = make_uid(seed, subject, "study")
    full_series = make_uid(seed, subject, "series")
    folder = Path(
        "CBIS-DDSM",
        subject,
        _study_folder(scan.full_date, study),
        _series_folder("full mammogram images", full_series),
    )
    common = {"side": scan.side, "view": scan.view}
    write_dicom(
        root / folder / "1-1.dcm",
        pixels,
        subject_id=subject,
        study_uid=study,
        series_uid=full_series,
        sop_uid=make_uid(seed, subject, "sop"),
        series_description="full mammogram images",
        series_number=1,
        instance_number=1,
        study_date=scan.full_date,
        rle=scan.rle,
        **common,
    )
    scan.scan_file = str(folder / "1-1.dcm")
    scan.csv_image = f"{subject}/{study}/{full_series}/000000.dcm"
    series.append(
        _series_record(
            root, folder, subject, study, full_series, scan.full_date, "full mammogram images", 1
        )
    )

    is_mass = CASE_TABLES[scan.table][0] == "mass"
    for lesion, mask in zip(scan.lesions, masks, strict=True):
        assert lesion.bbox is not None
        r0, c0, r1, c1 = lesion.bbox
        crop = np.ascontiguousarray(pixels[r0:r1, c0:c1])
        mask8 = mask.astype(np.uint8) * np.uint8(255)
        roi = f"{subject}_{lesion.abnormality_id}"
        if lesion.two_studies:
            files = []
            for kind, image, description in (
                ("crop", crop, "cropped images"),
                ("mask", mask8, "ROI mask images"),
            ):
                st = make_uid(seed, roi, kind, "study")
                se = make_uid(seed, roi, kind, "series")
                sub = Path(
                    "CBIS-DDSM",
                    roi,
                    _study_folder(scan.roi_date, st),
                    _series_folder(description, se),
                )
                write_dicom(
                    root / sub / "1-1.dcm",
                    image,
                    subject_id=roi,
                    study_uid=st,
                    series_uid=se,
                    sop_uid=make_uid(seed, roi, kind, "sop"),
                    series_description=description,
                    series_number=1,
                    instance_number=1,
                    study_date=scan.roi_date,
                    rle=lesion.rle,
                    **common,
                )
                series.append(_series_record(root, sub, roi, st, se, scan.roi_date, description, 1))
                files.append((str(sub / "1-1.dcm"), f"{roi}/{st}/{se}/000000.dcm"))
            (lesion.crop_file, lesion.csv_crop), (lesion.mask_file, lesion.csv_mask) = files
            continue
        st = make_uid(seed, roi, "study")
        se = make_uid(seed, roi, "series")
        sub = Path(
            "CBIS-DDSM",
            roi,
            _study_folder(scan.roi_date, st),
            _series_folder("ROI mask images", se),
        )
        crop_name, mask_name = (
            ("000000.dcm", "000001.dcm") if is_mass else ("000001.dcm", "000000.dcm")
        )
        crop_file, mask_file = ("1-2.dcm", "1-1.dcm") if lesion.swapped else ("1-1.dcm", "1-2.dcm")
        for kind, image, file in (("crop", crop, crop_file), ("mask", mask8, mask_file)):
            write_dicom(
                root / sub / file,
                image,
                subject_id=roi,
                study_uid=st,
                series_uid=se,
                sop_uid=make_uid(seed, roi, kind, "sop"),
                series_description="ROI mask images",
                series_number=1,
                instance_number=int(file[2]),
                study_date=scan.roi_date,
                rle=lesion.rle,
                **common,
            )
        lesion.crop_file, lesion.mask_file = str(sub / crop_file), str(sub / mask_file)
        lesion.csv_crop = f"{roi}/{st}/{se}/{crop_name}"
        lesion.csv_mask = f"{roi}/{st}/{se}/{mask_name}"
        series.append(_series_record(root, sub, roi, st, se, scan.roi_date, "ROI mask images", 2))
    return series


def _series_record(
    root: Path,
    folder: Path,
    subject: str,
    study: str,
    series: str,
    date: str,
    description: str,
    images: int,
) -> dict[str, object]:
    size = sum(f.stat().st_size for f in (root / folder).glob("*.dcm"))
    return {
        "Series UID": series,
        "Collection": "CBIS-DDSM",
        "3rd Party Analysis": "NO",
        "Data Description URI": DOI,
        "Subject ID": subject,
        "Study UID": study,
        "Study Description": "",
        "Study Date": _mmddyyyy(date),
        "Series Description": description,
        "Manufacturer": "",
        "Modality": "MG",
        "SOP Class Name": "Secondary Capture Image Storage",
        "SOP Class UID": "1.2.840.10008.5.1.4.1.1.7",
        "Number of Images": images,
        "File Size": f"{size / 1e6:.2f} MB",
        "File Location": ".\\" + "\\".join(folder.parts),
    }


def _atomic_text(path: Path, text: str) -> None:
    write_text(path, text)


def write_metadata(root: Path, records: list[dict[str, object]], seed: int) -> Path:
    """Write ``<root>/metadata.csv`` (one row per series, retriever columns)."""
    rng = np.random.default_rng([seed, 99])
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(METADATA_COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    second = 0
    for record in records:
        second += int(rng.integers(1, 4))
        stamp = f"2026-11-01T10:{second // 60 % 60:02d}:{second % 60:02d}.{rng.integers(1000):03d}"
        writer.writerow({**record, "Download Timestamp": stamp})
    path = root / "metadata.csv"
    _atomic_text(path, buffer.getvalue())
    return path


def write_case_tables(root: Path, scans: list[CbisScan]) -> list[Path]:
    """Write the four case-description CSVs (all four, header-only when a file has no rows)."""
    vocab = load_vocabulary()
    paths = []
    for table, (kind, _) in CASE_TABLES.items():
        header = vocab[table]["header"]
        rows = []
        for scan in sorted(
            (s for s in scans if s.table == table), key=lambda s: (s.patient_id, s.side, s.view)
        ):
            for lesion in scan.lesions:
                d = lesion.descriptor
                values = {
                    "patient_id": scan.patient_id,
                    "breast_density": str(scan.density),
                    "breast density": str(scan.density),
                    "left or right breast": scan.side,
                    "image view": scan.view,
                    "abnormality id": str(lesion.abnormality_id),
                    "abnormality type": kind,
                    "mass shape": d.form,
                    "mass margins": d.spread,
                    "calc type": d.form,
                    "calc distribution": d.spread,
                    "assessment": d.assessment,
                    "pathology": d.pathology,
                    "subtlety": d.subtlety,
                    "image file path": scan.csv_image,
                    "cropped image file path": lesion.csv_crop + ("" if kind == "mass" else "\n"),
                    "ROI mask file path": lesion.csv_mask + ("\n" if kind == "mass" else ""),
                }
                rows.append([values[c] for c in header])
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
        path = root / table
        _atomic_text(path, buffer.getvalue())
        paths.append(path)
    return paths
