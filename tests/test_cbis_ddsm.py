"""CBIS-DDSM: the real case tables, and file location in NBIA-style download trees."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path, PureWindowsPath

import numpy as np
import pandas as pd
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from mammo_lib.imaging.errors import ImageReadError
from mammo_lib.sources.cbis_ddsm import (
    CASE_TABLE_FILES,
    COLUMNS,
    dicom_kind,
    index_download_tree,
    locate_files,
    read_case_table,
    read_case_tables,
    split_csv_path,
)
from mammo_lib.sources.report import SkipReport

# --------------------------------------------------------------------------------------------
# Case tables (real files)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return read_case_tables()  # through the registry, from the mirror


def _raw_rows(path: Path) -> list[dict[str, str]]:
    """The file's rows as the standard-library csv module reads them (an independent parser)."""
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_row_counts_match_the_collection(table: pd.DataFrame, mirror: Path) -> None:
    # Numbers documented in the data README: 1318, 378, 1546, 326 rows; 3,103 full mammograms.
    counts = table.groupby(["abnormality_type", "split"]).size()
    assert counts[("mass", "train")] == 1318
    assert counts[("mass", "test")] == 378
    assert counts[("calcification", "train")] == 1546
    assert counts[("calcification", "test")] == 326
    assert table["image_file_path"].nunique() == 3103
    for name, abnormality_type, split in CASE_TABLE_FILES:
        raw = _raw_rows(mirror / "cbis-ddsm" / name)
        part = table[(table.abnormality_type == abnormality_type) & (table.split == split)]
        assert len(part) == len(raw)


def test_columns_and_types(table: pd.DataFrame) -> None:
    assert tuple(table.columns) == COLUMNS
    assert set(table["side"]) == {"LEFT", "RIGHT"}
    assert set(table["view"]) == {"CC", "MLO"}
    assert set(table["split"]) == {"train", "test"}
    assert table["patient_id"].str.fullmatch(r"P_\d{5}").all()
    assert table["abnormality_id"].dtype == "Int64"
    assert table["breast_density"].notna().all()  # both spellings of the column were read
    for column in ("image_file_path", "cropped_image_file_path", "roi_mask_file_path"):
        assert not table[column].str.contains(r"\s").any()
        assert table[column].str.endswith(".dcm").all()
    # case_id is the scan's folder and names the patient, side and view
    expected = table["case_id"].str.extract(
        r"^(?:Mass|Calc)-(?:Training|Test)_(P_\d{5})_(\w+)_(\w+)$"
    )
    assert (expected[0] == table["patient_id"]).all()
    assert (expected[1] == table["side"]).all()
    assert (expected[2] == table["view"]).all()
    assert (table["roi_id"] == table["case_id"] + "_" + table["abnormality_id"].astype(str)).all()
    assert not table["roi_id"].duplicated().any()
    # descriptors belong to their type only
    masses = table["abnormality_type"] == "mass"
    assert table.loc[masses, "calc_type"].isna().all()
    assert table.loc[~masses, "mass_shape"].isna().all()


def test_pathology_counts_match_an_independent_parse(table: pd.DataFrame, mirror: Path) -> None:
    for name, abnormality_type, split in CASE_TABLE_FILES:
        raw = Counter(r["pathology"].strip() for r in _raw_rows(mirror / "cbis-ddsm" / name))
        part = table[(table.abnormality_type == abnormality_type) & (table.split == split)]
        assert dict(part["pathology"].value_counts()) == dict(raw)
    assert set(table["pathology"]) == {"BENIGN", "BENIGN_WITHOUT_CALLBACK", "MALIGNANT"}


def test_embedded_newlines_are_removed(table: pd.DataFrame, mirror: Path) -> None:
    raw = _raw_rows(mirror / "cbis-ddsm" / "calc_case_description_test_set.csv")
    with_newline = [
        r["cropped image file path"] for r in raw if "\n" in r["cropped image file path"]
    ]
    assert with_newline, "the real file has newlines inside quoted paths"
    cleaned = set(table["cropped_image_file_path"])
    assert all("".join(p.split()) in cleaned for p in with_newline)


QUIRKY = (
    "patient_id,breast density,left or right breast,image view,abnormality id,"
    "abnormality type,calc type,calc distribution,assessment,pathology,subtlety,"
    "image file path,cropped image file path,ROI mask file path\n"
    " p_00007 ,2, left ,cc,1, Calcification ,punctate pleomorphic,NA,4, benign without callback,"
    "3,Calc-Test_P_00007_LEFT_CC/1.2.3/1.2.4/000000.dcm,"
    '"Calc-Test_P_00007_LEFT_CC_1/1.2.5/1.2.6/000001.dcm\n",'
    '"Calc-Test_P_00007_LEFT_CC_1/1.2.5/1.2.6/000000.dcm\r\n"\n'
)


def test_quirks_are_normalised(tmp_path: Path) -> None:
    path = tmp_path / "calc.csv"
    path.write_text(QUIRKY)
    row = read_case_table(path, "calcification", "test").iloc[0]
    assert row.patient_id == "P_00007"
    assert (row.side, row.view) == ("LEFT", "CC")
    assert row.abnormality_type == "calcification"
    assert row.pathology == "BENIGN_WITHOUT_CALLBACK"
    assert row.calc_type == "PUNCTATE_PLEOMORPHIC"
    assert pd.isna(row.calc_distribution)
    assert row.breast_density == 2
    assert row.cropped_image_file_path == "Calc-Test_P_00007_LEFT_CC_1/1.2.5/1.2.6/000001.dcm"
    assert row.roi_mask_file_path == "Calc-Test_P_00007_LEFT_CC_1/1.2.5/1.2.6/000000.dcm"
    assert (row.case_id, row.roi_id) == ("Calc-Test_P_00007_LEFT_CC", "Calc-Test_P_00007_LEFT_CC_1")


def test_bad_value_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "calc.csv"
    path.write_text(QUIRKY.replace(" left ", "middle"))
    with pytest.raises(ValueError, match=r"calc\.csv.*side"):
        read_case_table(path, "calcification", "test")


def test_missing_table_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="mass_case_description_train_set.csv"):
        read_case_tables(tmp_path)


def test_split_csv_path() -> None:
    assert split_csv_path("A_1/1.2/1.3/000001.dcm\n") == ("A_1", "1.2", "1.3", "000001.dcm")
    with pytest.raises(ValueError, match="expected"):
        split_csv_path("A_1/000001.dcm")


# --------------------------------------------------------------------------------------------
# Locating files in an NBIA-style download tree (tiny DICOMs carrying the real UIDs)
# --------------------------------------------------------------------------------------------

SEED = 20181126
SCAN_SHAPE = (64, 48)
METADATA_COLUMNS = (
    "Series UID,Collection,3rd Party Analysis,Data Description URI,Subject ID,Study UID,"
    "Study Description,Study Date,Series Description,Manufacturer,Modality,SOP Class Name,"
    "SOP Class UID,Number of Images,File Size,File Location,Download Timestamp"
).split(",")


def _dicom(path: Path, image: np.ndarray, **elements: object) -> None:
    """Write a single-frame greyscale DICOM (8-bit for uint8 images, else 16-bit)."""
    bits = 8 if image.dtype == np.uint8 else 16
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Rows, ds.Columns = image.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    for key, value in elements.items():
        setattr(ds, key, value)
    ds.PixelData = image.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


class NbiaTree:
    """Writes series the way the NBIA Data Retriever lays them out, and its metadata.csv."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.metadata: list[dict[str, str]] = []

    def series(
        self, csv_path: str, number: int, description: str, images: list[np.ndarray]
    ) -> Path:
        subject, study, series, _ = split_csv_path(csv_path)
        location = Path(
            "CBIS-DDSM",
            subject,
            f"07-20-2016-DDSM-NA-{study[-5:]}",
            f"{number}.000000-{description}-{series[-5:]}",
        )
        for k, image in enumerate(images, start=1):
            _dicom(
                self.root / location / f"1-{k}.dcm",
                image,
                PatientID=subject,
                StudyInstanceUID=study,
                SeriesInstanceUID=series,
                SeriesDescription=description,
                SeriesNumber=number,
            )
        row = dict.fromkeys(METADATA_COLUMNS, "")
        row.update(
            {
                "Series UID": series,
                "Collection": "CBIS-DDSM",
                "Subject ID": subject,
                "Study UID": study,
                "Series Description": description,
                "Modality": "MG",
                "Number of Images": str(len(images)),
                "File Location": ".\\" + str(PureWindowsPath(location)),
            }
        )
        self.metadata.append(row)
        return self.root / location

    def write_metadata(self) -> None:
        pd.DataFrame(self.metadata, columns=METADATA_COLUMNS).to_csv(
            self.root / "metadata.csv", index=False
        )


def _images(seed: int, mask_shape: tuple[int, int] = SCAN_SHAPE):
    rng = np.random.default_rng(seed)
    scan = rng.integers(0, 65536, SCAN_SHAPE).astype(np.uint16)
    mask = np.zeros(mask_shape, np.uint8)
    mask[10:22, 8:20] = 255
    crop = scan[10:22, 8:20].copy()
    return scan, mask, crop


ROIS = {
    "shared": "Mass-Training_P_00001_LEFT_CC_1",  # crop and mask in one series
    "separate": "Mass-Training_P_00059_LEFT_CC_1",  # crop and mask in two series
    "calc1": "Calc-Test_P_00038_RIGHT_CC_1",  # two abnormalities on one scan
    "calc2": "Calc-Test_P_00038_RIGHT_CC_2",  # ... whose mask has the wrong size
    "missing": "Mass-Training_P_00001_LEFT_MLO_1",  # nothing downloaded
}


@pytest.fixture(scope="module")
def selection(table: pd.DataFrame) -> pd.DataFrame:
    rows = table.set_index("roi_id").loc[list(ROIS.values())].reset_index()
    return rows[list(table.columns)]


def _write_tree(root: Path, selection: pd.DataFrame) -> NbiaTree:
    tree = NbiaTree(root)
    rows = selection.set_index("roi_id")
    written_scans: set[str] = set()
    for i, (key, roi) in enumerate(ROIS.items()):
        if key == "missing":
            continue
        row = rows.loc[roi]
        scan, mask, crop = _images(SEED + i, (50, 48) if key == "calc2" else SCAN_SHAPE)
        if row.image_file_path not in written_scans:
            tree.series(row.image_file_path, 1, "full mammogram images", [scan])
            written_scans.add(row.image_file_path)
        if key == "separate":
            tree.series(row.cropped_image_file_path, 1, "cropped images", [crop])
            tree.series(row.roi_mask_file_path, 2, "ROI mask images", [mask])
        else:
            # one series, one description for both files; the mask is written as 1-1.dcm
            # although the CSV names it 000001.dcm (the real download's name swap)
            tree.series(row.roi_mask_file_path, 1, "ROI mask images", [mask, crop])
    return tree


@pytest.mark.parametrize("with_metadata", [False, True])
def test_locate_files(tmp_path: Path, selection: pd.DataFrame, with_metadata: bool) -> None:
    tree = _write_tree(tmp_path, selection)
    if with_metadata:
        # newer retrievers may write an absolute path from the downloading machine
        first = tree.metadata[0]
        first["File Location"] = "C:\\Users\\me\\manifest-1\\" + first["File Location"][2:]
        tree.write_metadata()
    located, report = locate_files(selection, tmp_path)
    assert len(located) == len(selection)  # no row dropped
    rows = located.set_index("roi_id")
    for key in ("shared", "separate", "calc1", "calc2"):
        row = rows.loc[ROIS[key]]
        assert dicom_kind(row.scan_path) == "full"
        mask = pydicom.dcmread(row.mask_path)
        assert set(np.unique(mask.pixel_array)) == {0, 255}
        crop = pydicom.dcmread(row.crop_path)
        assert crop.pixel_array.shape == (12, 12)
        assert Path(row.scan_path).is_relative_to(tmp_path / "CBIS-DDSM" / row.case_id)
        assert Path(row.mask_path).is_relative_to(tmp_path / "CBIS-DDSM" / ROIS[key])
    # the shared series: mask found in 1-1.dcm although the CSV calls it 000001.dcm
    assert Path(rows.loc[ROIS["shared"], "mask_path"]).name == "1-1.dcm"
    assert rows.loc[ROIS["calc1"], "scan_path"] == rows.loc[ROIS["calc2"], "scan_path"]
    # the missing row is kept, with NA paths, and reported
    missing = rows.loc[ROIS["missing"]]
    assert pd.isna(missing.scan_path) and pd.isna(missing.mask_path) and pd.isna(missing.crop_path)
    reported = report.to_frame()
    for column in ("image_file_path", "roi_mask_file_path", "cropped_image_file_path"):
        assert missing[column] in set(reported["path"])
    # the wrong-size mask is kept, flagged and reported
    assert rows.loc[ROIS["calc2"], "mask_matches_scan"] == False  # noqa: E712
    assert rows.loc[ROIS["calc1"], "mask_matches_scan"] == True  # noqa: E712
    size_entries = reported[reported["reason"].str.contains("differs from its full scan")]
    assert len(size_entries) == 1 and ROIS["calc2"] in size_entries["reason"].iloc[0]
    assert len(report) == 4  # three missing files of one row + one size mismatch


def test_locate_reports_unreadable_and_unlisted(tmp_path: Path, selection: pd.DataFrame) -> None:
    tree = _write_tree(tmp_path, selection)
    # a series listed in metadata.csv but absent on disk, and a corrupt file in a listed series
    tree.metadata.append({**tree.metadata[0], "File Location": ".\\CBIS-DDSM\\gone\\a\\b"})
    tree.write_metadata()
    scan_series = Path(tree.metadata[0]["File Location"].replace("\\", "/"))
    (tmp_path / scan_series / "1-2.dcm").write_bytes(b"DICM is not here")
    located, report = locate_files(selection, tmp_path)
    reasons = dict(report.to_frame().itertuples(index=False, name=None))
    assert reasons[str(tmp_path / "CBIS-DDSM" / "gone" / "a" / "b")].startswith("series folder")
    assert "not a readable DICOM" in reasons[str(tmp_path / scan_series / "1-2.dcm")]
    assert located["scan_path"].notna().sum() == 4  # the good scan is still found


def test_index_download_tree(tmp_path: Path, selection: pd.DataFrame) -> None:
    _write_tree(tmp_path, selection)
    report = SkipReport()
    index = index_download_tree(tmp_path, report)
    assert len(report) == 0
    # shared: scan + 2 ROI files; separate: scan + crop + mask; calc: scan + 2 + 2
    assert len(index) == 3 + 3 + 3 + 2 == len(list(tmp_path.rglob("*.dcm")))
    assert (index.groupby("series_uid").size().max(), index["rows"].min()) == (2, 12)
    assert set(index["subject_id"]) <= set(selection["case_id"]) | set(selection["roi_id"])
    with pytest.raises(FileNotFoundError, match="nowhere"):
        index_download_tree(tmp_path / "nowhere")


def test_dicom_kind_reports_missing_pixels(tmp_path: Path) -> None:
    path = tmp_path / "x.dcm"
    _dicom(path, np.zeros((4, 4), np.uint16), SeriesDescription="ROI mask images")
    ds = pydicom.dcmread(path)
    del ds.PixelData
    ds.save_as(path)
    with pytest.raises(ImageReadError, match="x.dcm.*no pixel data"):
        dicom_kind(path)
