"""CBIS-DDSM: the four case-description tables, and the DICOM files of an NBIA download.

The case tables (``mass_case_description_train_set.csv`` and its three siblings) describe one
abnormality per row and point at three DICOM files by a path of the form
``<SubjectID>/<StudyInstanceUID>/<SeriesInstanceUID>/00000N.dcm``:

* the full mammogram (SubjectID ``Mass-Training_P_00001_LEFT_CC``), and
* the cropped ROI and the ROI mask (SubjectID ``Mass-Training_P_00001_LEFT_CC_1``, one folder per
  abnormality; most rows keep both in one series, about a hundred in two).

The NBIA Data Retriever writes a different tree::

    <root>/CBIS-DDSM/<SubjectID>/<StudyDate>-<StudyDescription>-<last 5 of StudyUID>/
        <SeriesNumber>.000000-<SeriesDescription>-<last 5 of SeriesUID>/1-1.dcm  (and 1-2.dcm)

plus an optional ``<root>/metadata.csv``. :func:`locate_files` finds each row's files in such a
tree by case folder and study/series UID (read from the DICOM headers, or from
``metadata.csv``), and tells full scan, mask and crop apart by header and content, never by
file name: the crop and mask names are swapped for some series in the real download.

Examples
--------
>>> table = read_case_tables()                      # doctest: +SKIP
>>> located, report = locate_files(table, "~/CBIS")  # doctest: +SKIP
>>> print(report)                                    # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import Literal

import numpy as np
import pandas as pd
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import pixel_array

from mammo_lib.imaging.errors import ImageReadError
from mammo_lib.sources.report import SkipReport

__all__ = [
    "CASE_TABLE_FILES",
    "COLUMNS",
    "DicomKind",
    "SERIES_DESCRIPTIONS",
    "SeriesFile",
    "dicom_kind",
    "index_download_tree",
    "is_binary_mask",
    "locate_files",
    "read_case_table",
    "read_case_tables",
    "split_csv_path",
]

#: The four official case-description files: ``(file name, abnormality type, split)``.
CASE_TABLE_FILES: tuple[tuple[str, str, str], ...] = (
    ("mass_case_description_train_set.csv", "mass", "train"),
    ("mass_case_description_test_set.csv", "mass", "test"),
    ("calc_case_description_train_set.csv", "calcification", "train"),
    ("calc_case_description_test_set.csv", "calcification", "test"),
)

#: Columns of :func:`read_case_tables`, in order.
COLUMNS: tuple[str, ...] = (
    "patient_id",
    "side",
    "view",
    "abnormality_id",
    "abnormality_type",
    "split",
    "pathology",
    "assessment",
    "subtlety",
    "breast_density",
    "mass_shape",
    "mass_margins",
    "calc_type",
    "calc_distribution",
    "image_file_path",
    "cropped_image_file_path",
    "roi_mask_file_path",
    "case_id",
    "roi_id",
)

PATHOLOGIES = ("BENIGN", "BENIGN_WITHOUT_CALLBACK", "MALIGNANT")

DicomKind = Literal["full", "mask", "crop"]

#: SeriesDescription values of the real collection, by kind.
SERIES_DESCRIPTIONS: dict[str, DicomKind] = {
    "full mammogram images": "full",
    "roi mask images": "mask",
    "cropped images": "crop",
}

_INT_COLUMNS = ("abnormality_id", "assessment", "subtlety", "breast_density")
_CATEGORY_COLUMNS = ("mass_shape", "mass_margins", "calc_type", "calc_distribution")
_PATH_COLUMNS = ("image_file_path", "cropped_image_file_path", "roi_mask_file_path")
_MISSING = {"", "NA", "N/A", "NAN", "NONE", "NULL"}


# --------------------------------------------------------------------------------------------
# Case tables
# --------------------------------------------------------------------------------------------


def _header_key(name: str) -> str:
    """Normalise a header: ``'breast density'``, ``' Breast_Density '`` -> ``'breast_density'``."""
    return re.sub(r"[\s_]+", "_", name.strip().lower())


def _clean_path(value: object) -> str:
    """Remove the whitespace (newlines included) that the CSVs embed in quoted path fields."""
    if not isinstance(value, str):
        return ""
    return re.sub(r"\s+", "", value).replace("\\", "/")


def _clean_label(value: object) -> object:
    """Upper-case a category label, collapse inner spaces to ``_``; missing markers -> NA."""
    if not isinstance(value, str):
        return pd.NA
    text = re.sub(r"\s+", "_", value.strip()).upper()
    return pd.NA if text in _MISSING else text


def read_case_table(
    path: str | os.PathLike[str], abnormality_type: str, split: str
) -> pd.DataFrame:
    """Read one case-description CSV into the tidy layout of :func:`read_case_tables`.

    Parameters
    ----------
    path
        The CSV file.
    abnormality_type
        ``"mass"`` or ``"calcification"`` (checked against the file's own column).
    split
        ``"train"`` or ``"test"``.

    Returns
    -------
    pandas.DataFrame
        One row per abnormality with the columns :data:`COLUMNS`.

    Raises
    ------
    ValueError
        If a required column is missing or a value is not one the collection uses; the message
        names the file.
    """
    path = Path(path)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    raw.columns = [_header_key(c) for c in raw.columns]
    required = {
        "patient_id",
        "breast_density",
        "left_or_right_breast",
        "image_view",
        "abnormality_id",
        "abnormality_type",
        "assessment",
        "pathology",
        "subtlety",
        *_PATH_COLUMNS,
    }
    missing = sorted(required - set(raw.columns))
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; found {list(raw.columns)}")

    out = pd.DataFrame(index=raw.index)
    out["patient_id"] = raw["patient_id"].str.strip().str.upper()
    out["side"] = raw["left_or_right_breast"].str.strip().str.upper()
    out["view"] = raw["image_view"].str.strip().str.upper()
    for column in _INT_COLUMNS:
        values = pd.to_numeric(raw[column].str.strip(), errors="coerce")
        bad = values.isna() & raw[column].str.strip().ne("")
        if bad.any():
            line = int(np.flatnonzero(bad)[0]) + 2
            raise ValueError(f"{path}, line ~{line}: {column} is not a number")
        out[column] = values.astype("Int64")
    out["abnormality_type"] = raw["abnormality_type"].str.strip().str.lower()
    out["split"] = split
    out["pathology"] = raw["pathology"].map(_clean_label)
    for column in _CATEGORY_COLUMNS:
        out[column] = raw[column].map(_clean_label) if column in raw else pd.NA
        out[column] = out[column].astype("string")
    for column in _PATH_COLUMNS:
        out[column] = raw[column].map(_clean_path)

    _check_values(path, out, abnormality_type)
    out["case_id"] = out["image_file_path"].str.split("/").str[0]
    roi_from_crop = out["cropped_image_file_path"].str.split("/").str[0]
    roi_from_mask = out["roi_mask_file_path"].str.split("/").str[0]
    out["roi_id"] = roi_from_crop.where(roi_from_crop != "", roi_from_mask)
    disagree = (roi_from_crop != roi_from_mask) & (roi_from_crop != "") & (roi_from_mask != "")
    if disagree.any():
        row = out[disagree].iloc[0]
        raise ValueError(
            f"{path}: cropped image and ROI mask paths name different ROI folders "
            f"({row.cropped_image_file_path!r} vs {row.roi_mask_file_path!r})"
        )
    for column in ("patient_id", "side", "view", "abnormality_type", "split", "pathology"):
        out[column] = out[column].astype("string")
    for column in (*_PATH_COLUMNS, "case_id", "roi_id"):
        out[column] = out[column].astype("string")
    return out.loc[:, list(COLUMNS)].reset_index(drop=True)


def _check_values(path: Path, table: pd.DataFrame, abnormality_type: str) -> None:
    """Raise ValueError naming `path` when a column holds a value the collection never uses."""
    allowed = {
        "side": {"LEFT", "RIGHT"},
        "view": {"CC", "MLO"},
        "pathology": set(PATHOLOGIES),
        "abnormality_type": {abnormality_type},
    }
    for column, values in allowed.items():
        bad = ~table[column].isin(values)
        if bad.any():
            found = sorted(map(str, table.loc[bad, column].unique()))[:5]
            raise ValueError(f"{path}: unexpected {column} value(s) {found}; expected {values}")
    empty = table["image_file_path"] == ""
    if empty.any():
        raise ValueError(f"{path}: {int(empty.sum())} row(s) without an image file path")


def read_case_tables(folder: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Read the four CBIS-DDSM case-description CSVs into one tidy table.

    Parameters
    ----------
    folder
        Folder holding the four CSV files; None fetches them through the registry
        (``fetch("cbis-ddsm-tables")``).

    Returns
    -------
    pandas.DataFrame
        One row per abnormality (3,568 for the official files), columns :data:`COLUMNS`:
        ``patient_id`` ("P_00001"), ``side`` (LEFT/RIGHT), ``view`` (CC/MLO), ``abnormality_id``,
        ``abnormality_type`` ("mass"/"calcification"), ``split`` ("train"/"test"), ``pathology``
        (BENIGN, BENIGN_WITHOUT_CALLBACK, MALIGNANT, kept distinct), ``assessment``,
        ``subtlety``, ``breast_density`` (nullable Int64), the four lesion descriptors
        (upper case, NA where the file says NA or the type does not apply), the three CSV paths
        with their embedded newlines removed, ``case_id`` (the full scan's folder,
        "Mass-Training_P_00001_LEFT_CC") and ``roi_id`` (the abnormality's folder,
        "Mass-Training_P_00001_LEFT_CC_1").

    Raises
    ------
    FileNotFoundError
        If one of the four files is missing (the message names it).
    ValueError
        If a file has an unexpected layout or value, or two rows share a ``roi_id``.
    """
    if folder is None:
        from mammo_lib.sources.registry import fetch

        folder = fetch("cbis-ddsm-tables")
    folder = Path(folder).expanduser()
    parts = []
    for name, abnormality_type, split in CASE_TABLE_FILES:
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(f"{path}: CBIS-DDSM case-description file not found")
        parts.append(read_case_table(path, abnormality_type, split))
    table = pd.concat(parts, ignore_index=True)
    duplicated = table["roi_id"].duplicated(keep=False)
    if duplicated.any():
        raise ValueError(
            f"{folder}: ROI folder(s) listed twice: {sorted(table.loc[duplicated, 'roi_id'])[:5]}"
        )
    return table


def split_csv_path(path: str) -> tuple[str, str, str, str]:
    """Split a case-table path into ``(subject_id, study_uid, series_uid, file_name)``.

    Raises
    ------
    ValueError
        If the path does not have the four components of the official tables.
    """
    parts = _clean_path(path).split("/")
    if len(parts) != 4 or not all(parts):
        raise ValueError(f"{path!r}: expected <SubjectID>/<StudyUID>/<SeriesUID>/<file>.dcm")
    return parts[0], parts[1], parts[2], parts[3]


# --------------------------------------------------------------------------------------------
# DICOM headers and kinds
# --------------------------------------------------------------------------------------------

_HEADER_TAGS = [
    "PatientID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SeriesDescription",
    "Rows",
    "Columns",
    "BitsStored",
]


def _read_header(path: Path) -> Dataset:
    """Read a DICOM header without pixel data; ImageReadError naming the file on failure."""
    try:
        return pydicom.dcmread(path, stop_before_pixels=True, specific_tags=_HEADER_TAGS)
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError) as exc:
        raise ImageReadError(path, f"not a readable DICOM file ({exc})") from exc


def is_binary_mask(image: np.ndarray) -> bool:
    """Return True when `image` holds exactly two values, 0 and one positive value (255, max).

    An all-zero image is not a mask (the collection has no empty masks).
    """
    top = image.max()
    if top <= 0:
        return False
    return bool(np.all((image == 0) | (image == top)))


def _description_kind(ds: Dataset) -> DicomKind | None:
    text = " ".join(str(ds.get("SeriesDescription", "")).lower().split())
    for key, kind in SERIES_DESCRIPTIONS.items():
        if key in text:
            return kind
    return None


def dicom_kind(
    path_or_dataset: str | os.PathLike[str] | Dataset,
    *,
    reference_shape: tuple[int, int] | None = None,
) -> DicomKind:
    """Tell whether a CBIS-DDSM DICOM is a full mammogram, an ROI mask or a cropped ROI.

    Decided by header and content, never by file name:

    1. SeriesDescription "full mammogram images" -> ``"full"`` (no pixels read).
    2. Otherwise the pixels are read: a binary image (only 0 and one maximum, e.g. 255)
       -> ``"mask"``. The description alone cannot decide this, because a series holding both
       the crop and the mask carries one description ("ROI mask images") for both files.
    3. A non-binary image is ``"full"`` when its shape equals `reference_shape` (the full scan
       of the same case), else ``"crop"`` when the description names an ROI series or the
       shape differs from `reference_shape`.

    Parameters
    ----------
    path_or_dataset
        A DICOM file, or a dataset read with its pixel data (or with ``filename`` set).
    reference_shape
        ``(rows, columns)`` of the case's full mammogram, when known.

    Returns
    -------
    {"full", "mask", "crop"}

    Raises
    ------
    ImageReadError
        If the file cannot be read or holds no pixel data.
    ValueError
        If a non-binary image carries no usable description and no `reference_shape` is given.
    """
    if isinstance(path_or_dataset, Dataset):
        ds = path_or_dataset
        name = str(ds.get("filename", "") or "<dataset>")
    else:
        name = str(path_or_dataset)
        ds = _read_header(Path(path_or_dataset))
    described = _description_kind(ds)
    if described == "full":
        return "full"
    image = _stored_pixels(ds, name)
    if is_binary_mask(image):
        return "mask"
    shape = tuple(image.shape[:2])
    if reference_shape is not None and shape == tuple(reference_shape):
        return "full"
    if described in ("mask", "crop") or reference_shape is not None:
        return "crop"
    raise ValueError(
        f"{name}: grey-level image without a known SeriesDescription; pass reference_shape "
        "(the full scan's rows and columns) to tell a crop from a full scan"
    )


def _stored_pixels(ds: Dataset, name: str) -> np.ndarray:
    """The stored pixel values of `ds` (read from its file when the dataset has none)."""
    try:
        if "PixelData" in ds:
            return pixel_array(ds)
        if name != "<dataset>" and Path(name).is_file():
            full = pydicom.dcmread(name)
            if "PixelData" in full:
                return pixel_array(full)
    except Exception as exc:  # decoders raise many types; all mean "cannot decode"
        raise ImageReadError(name, f"pixel data cannot be decoded ({exc})") from exc
    raise ImageReadError(name, "DICOM file holds no pixel data")


# --------------------------------------------------------------------------------------------
# Download tree
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesFile:
    """One DICOM file of a download tree, as its header describes it."""

    path: str
    subject_id: str
    study_uid: str
    series_uid: str
    series_description: str
    rows: int
    columns: int


def _metadata_folders(root: Path, report: SkipReport) -> list[Path] | None:
    """Series folders listed in the retriever's ``metadata.csv``; None when there is none."""
    metadata = root / "metadata.csv"
    if not metadata.is_file():
        return None
    table = pd.read_csv(metadata, dtype=str, keep_default_na=False)
    if "File Location" not in table.columns:
        report.add(metadata, "metadata.csv without a 'File Location' column; tree walked instead")
        return None
    folders = []
    for location in table["File Location"]:
        folder = _metadata_location(root, location)
        if folder.is_dir():
            folders.append(folder)
        else:
            report.add(folder, "series folder listed in metadata.csv is missing")
    return folders


def _metadata_location(root: Path, location: str) -> Path:
    """Resolve a metadata.csv ``File Location`` (``.\\CBIS-DDSM\\...``, ``./CBIS-DDSM/...`` or
    an absolute path written on another machine) against the download folder `root`."""
    parts = list(PureWindowsPath(location.strip().replace("/", "\\")).parts)
    if "CBIS-DDSM" in parts:
        parts = parts[parts.index("CBIS-DDSM") :]
    else:
        parts = [p for p in parts if p not in (".", "") and not p.endswith("\\")]
    return root.joinpath(*parts)


def index_download_tree(
    root: str | os.PathLike[str], report: SkipReport | None = None
) -> pd.DataFrame:
    """List every DICOM file of a CBIS-DDSM download with the UIDs from its header.

    Uses ``<root>/metadata.csv`` (written by the NBIA Data Retriever) to find the series
    folders when it exists, else walks the tree for ``*.dcm``. The subject (case folder) is the
    folder three levels above the file, as in both the retriever's layout and the tables'
    ``<SubjectID>/<StudyUID>/<SeriesUID>/<file>`` layout.

    Parameters
    ----------
    root
        The download folder (the one holding ``CBIS-DDSM/`` and ``metadata.csv``).
    report
        Unreadable files are recorded here (a new report when None).

    Returns
    -------
    pandas.DataFrame
        Columns of :class:`SeriesFile`, one row per readable DICOM file.
    """
    root = Path(root).expanduser()
    report = report if report is not None else SkipReport()
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: download folder not found")
    folders = _metadata_folders(root, report)
    if folders is None:
        files: Iterable[Path] = sorted(root.rglob("*.dcm"))
    else:
        files = sorted(f for folder in folders for f in folder.glob("*.dcm"))
    rows = []
    for file in files:
        try:
            ds = _read_header(file)
        except ImageReadError as exc:
            report.add(file, exc.reason)
            continue
        relative = file.relative_to(root).parts
        subject = relative[-4] if len(relative) >= 4 else str(ds.get("PatientID", ""))
        rows.append(
            SeriesFile(
                path=str(file),
                subject_id=subject,
                study_uid=str(ds.get("StudyInstanceUID", "")),
                series_uid=str(ds.get("SeriesInstanceUID", "")),
                series_description=str(ds.get("SeriesDescription", "")),
                rows=int(ds.get("Rows", 0) or 0),
                columns=int(ds.get("Columns", 0) or 0),
            )
        )
    fields = list(SeriesFile.__dataclass_fields__)
    return pd.DataFrame([r.__dict__ for r in rows], columns=fields)


def locate_files(
    table: pd.DataFrame, root: str | os.PathLike[str]
) -> tuple[pd.DataFrame, SkipReport]:
    """Find each case-table row's full scan, ROI mask and cropped ROI in a download tree.

    Files are matched by case folder and by the study and series UIDs of the row's CSV paths;
    which file is the mask and which the crop is decided by :func:`dicom_kind` (header and
    content), never by file name.

    Parameters
    ----------
    table
        Rows of :func:`read_case_tables` (any subset).
    root
        The NBIA download folder.

    Returns
    -------
    located : pandas.DataFrame
        `table` with added columns ``scan_path``, ``mask_path``, ``crop_path`` (absolute file
        paths, or NA when not found) and ``mask_matches_scan`` (False when the mask's size
        differs from its scan's, NA when either is missing). No row is dropped.
    report : SkipReport
        One entry per missing or ambiguous file (the CSV path and why), per mask whose size
        differs from its scan, and per unreadable DICOM in the tree.
    """
    report = SkipReport()
    index = index_download_tree(root, report)
    by_series: dict[tuple[str, str, str], list[int]] = {}
    for i, (subject, study, series) in enumerate(
        zip(index["subject_id"], index["study_uid"], index["series_uid"], strict=True)
    ):
        by_series.setdefault((subject, study, series), []).append(i)

    kinds: dict[int, DicomKind | None] = {}

    def kind_of(i: int, reference: tuple[int, int] | None) -> DicomKind | None:
        if i not in kinds:
            try:
                kinds[i] = dicom_kind(index.at[i, "path"], reference_shape=reference)
            except (ImageReadError, ValueError) as exc:
                report.add(index.at[i, "path"], f"cannot tell full scan, mask or crop: {exc}")
                kinds[i] = None
        return kinds[i]

    scan_paths: list[object] = []
    mask_paths: list[object] = []
    crop_paths: list[object] = []
    matches: list[object] = []
    for row in table.itertuples(index=False):
        scan = _find_scan(row.image_file_path, by_series, index, kind_of, report)
        reference = None
        if scan is not None:
            reference = (int(index.at[scan, "rows"]), int(index.at[scan, "columns"]))
        candidates: list[int] = []
        for csv_path in (row.cropped_image_file_path, row.roi_mask_file_path):
            for i in _series_files(csv_path, by_series):
                if i not in candidates:
                    candidates.append(i)
        found = {"mask": [], "crop": []}
        for i in candidates:
            kind = kind_of(i, reference)
            if kind in found:
                found[kind].append(i)
        mask = _single(found["mask"], row.roi_mask_file_path, "ROI mask", index, report)
        crop = _single(found["crop"], row.cropped_image_file_path, "cropped ROI", index, report)
        scan_paths.append(index.at[scan, "path"] if scan is not None else pd.NA)
        mask_paths.append(index.at[mask, "path"] if mask is not None else pd.NA)
        crop_paths.append(index.at[crop, "path"] if crop is not None else pd.NA)
        if scan is None or mask is None:
            matches.append(pd.NA)
            continue
        mask_shape = (int(index.at[mask, "rows"]), int(index.at[mask, "columns"]))
        matches.append(mask_shape == reference)
        if mask_shape != reference:
            report.add(
                index.at[mask, "path"],
                f"ROI mask size {mask_shape} differs from its full scan's {reference} "
                f"({row.roi_id})",
            )
    located = table.copy()
    located["scan_path"] = pd.array(scan_paths, dtype="string")
    located["mask_path"] = pd.array(mask_paths, dtype="string")
    located["crop_path"] = pd.array(crop_paths, dtype="string")
    located["mask_matches_scan"] = pd.array(matches, dtype="boolean")
    return located, report


def _series_files(csv_path: str, by_series: dict[tuple[str, str, str], list[int]]) -> list[int]:
    if not csv_path:
        return []
    subject, study, series, _ = split_csv_path(csv_path)
    return by_series.get((subject, study, series), [])


def _find_scan(
    csv_path: str,
    by_series: dict[tuple[str, str, str], list[int]],
    index: pd.DataFrame,
    kind_of: Callable[[int, tuple[int, int] | None], DicomKind | None],
    report: SkipReport,
) -> int | None:
    """Index row of the full mammogram named by `csv_path`, or None (recorded in `report`)."""
    files = _series_files(csv_path, by_series)
    fulls = [i for i in files if kind_of(i, None) == "full"] if len(files) > 1 else files
    if len(files) == 1 and _description_kind_of(index, files[0]) not in (None, "full"):
        report.add(csv_path, f"series holds a {index.at[files[0], 'series_description']!r} file")
        return None
    return _single(fulls, csv_path, "full mammogram", index, report)


def _description_kind_of(index: pd.DataFrame, i: int) -> DicomKind | None:
    text = " ".join(str(index.at[i, "series_description"]).lower().split())
    return next((kind for key, kind in SERIES_DESCRIPTIONS.items() if key in text), None)


def _single(
    found: list[int], csv_path: str, what: str, index: pd.DataFrame, report: SkipReport
) -> int | None:
    """The one file found, or None with a report entry (none found, or several)."""
    if len(found) == 1:
        return found[0]
    if not found:
        report.add(csv_path, f"{what} not found in the download tree")
    else:
        names = ", ".join(str(index.at[i, "path"]) for i in found)
        report.add(csv_path, f"{len(found)} files look like the {what}: {names}")
    return None
