"""CBIS-DDSM: the real case tables, and file location in NBIA-style download trees."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from mammo_lib.sources.cbis_ddsm import (
    CASE_TABLE_FILES,
    COLUMNS,
    read_case_table,
    read_case_tables,
    split_csv_path,
)

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
