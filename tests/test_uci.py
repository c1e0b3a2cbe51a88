"""UCI loaders on the real files: row counts, column names, missing values, labels, bad files."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from mammo_lib.sources import uci


@pytest.fixture(scope="module")
def uci_dir(mirror: Path) -> Path:
    return mirror / "uci"


def test_wdbc_real_file(uci_dir: Path) -> None:
    frame = uci.load_wdbc(uci_dir)
    assert frame.shape == (569, 2 + 30 + 1)
    assert list(frame.columns[:2]) == ["id", "diagnosis"]
    assert frame.columns[2] == "radius_mean" and frame.columns[31] == "fractal_dimension_worst"
    assert frame.columns[12] == "radius_se" and frame.columns[22] == "radius_worst"
    assert frame["diagnosis"].value_counts().to_dict() == {"B": 357, "M": 212}  # per .names
    assert int(frame["malignant"].sum()) == 212
    assert str(frame["radius_mean"].dtype) == "Float64"
    assert not frame.isna().any().any()
    # "worst" is the mean of the three largest values, so it is never below the mean.
    assert (frame["radius_worst"] >= frame["radius_mean"]).all()


def test_wpbc_real_file(uci_dir: Path) -> None:
    frame = uci.load_wpbc(uci_dir)
    assert frame.shape == (198, 3 + 32 + 1)
    assert list(frame.columns[:3]) == ["id", "outcome", "time"]
    assert list(frame.columns[-3:]) == ["tumor_size", "lymph_node_status", "recurred"]
    assert frame["outcome"].value_counts().to_dict() == {"N": 151, "R": 47}
    assert int(frame["lymph_node_status"].isna().sum()) == 4  # ".names": missing in 4 cases
    assert frame.drop(columns="lymph_node_status").notna().all().all()
    assert str(frame["lymph_node_status"].dtype) == "Int64"


def test_bcw_real_file(uci_dir: Path) -> None:
    frame = uci.load_bcw(uci_dir)
    assert frame.shape == (699, 11 + 1)
    assert frame.columns[0] == "Sample code number" and frame.columns[10] == "Class"
    assert frame["Class"].value_counts().to_dict() == {2: 458, 4: 241}
    assert int(frame["malignant"].sum()) == 241
    missing = frame.isna().sum()
    assert missing["Bare Nuclei"] == 16 and missing.sum() == 16
    scores = frame[list(uci.BCW_FEATURES)]
    assert scores.min().min() >= 1 and scores.max().max() <= 10


def test_mammographic_mass_real_file(uci_dir: Path) -> None:
    frame = uci.load_mammographic_mass(uci_dir)
    assert frame.shape == (961, 6 + 1)
    assert list(frame.columns[:6]) == ["BI-RADS", "Age", "Shape", "Margin", "Density", "Severity"]
    assert frame["Severity"].value_counts().to_dict() == {0: 516, 1: 445}
    # The missing counts that the .names documents, column by column.
    expected = {"BI-RADS": 2, "Age": 5, "Shape": 31, "Margin": 48, "Density": 76, "Severity": 0}
    assert frame.isna().sum()[list(expected)].to_dict() == expected
    assert set(frame["Shape"].dropna().unique()) <= set(uci.SHAPE_NAMES)
    assert set(frame["Margin"].dropna().unique()) <= set(uci.MARGIN_NAMES)


@pytest.mark.parametrize(
    ("name", "names_file", "columns"),
    [
        ("bcw", "breast-cancer-wisconsin.names", [*uci.BCW_FEATURES, "Sample code number"]),
        ("mammographic-mass", "mammographic_masses.names", ["BI-RADS", *uci.MAMMO_FEATURES]),
    ],
)
def test_column_names_are_those_of_the_names_file(
    uci_dir: Path, name: str, names_file: str, columns: list[str]
) -> None:
    text = (uci_dir / names_file).read_text(encoding="latin-1").lower()
    for column in columns:
        assert column.lower() in text, column


def test_nucleus_feature_names_follow_the_names_file(uci_dir: Path) -> None:
    text = (uci_dir / "wdbc.names").read_text()
    documented = re.findall(r"^\s*[a-j]\)\s+([a-z ]+?)\s*(?:\(|$)", text, flags=re.MULTILINE)
    assert [d.replace(" ", "_") for d in documented] == list(uci.NUCLEUS_FEATURES)


def test_loaders_fetch_through_the_registry_by_default() -> None:
    frame = uci.load_uci("wpbc")
    assert len(frame) == 198


def test_unknown_data_set_name() -> None:
    with pytest.raises(KeyError, match="unknown UCI data set"):
        uci.load_uci("wdbc2")


def test_wpbc_recurrence_within_24_months(uci_dir: Path) -> None:
    frame = uci.load_wpbc(uci_dir)
    label = uci.wpbc_recurrence_within(frame, 24)
    r, t = frame["outcome"], frame["time"]
    assert label[(r == "R") & (t <= 24)].eq(True).all()
    assert label[(r == "R") & (t > 24)].eq(False).all()
    assert label[(r == "N") & (t >= 24)].eq(False).all()
    assert label[(r == "N") & (t < 24)].isna().all()
    assert int(label.notna().sum()) + int(((r == "N") & (t < 24)).sum()) == 198
    # A longer horizon turns early recurrences into a superset of positives.
    assert (label.fillna(False) <= uci.wpbc_recurrence_within(frame, 60).fillna(False)).all()


def _write(tmp_path: Path, file_name: str, lines: list[str]) -> Path:
    (tmp_path / file_name).write_text("\n".join(lines) + "\n")
    return tmp_path


def test_wrong_column_count_names_file_and_line(uci_dir: Path, tmp_path: Path) -> None:
    lines = (uci_dir / "wdbc.data").read_text().splitlines()[:5]
    lines[3] = lines[3] + ",1.0"
    folder = _write(tmp_path, "wdbc.data", lines)
    with pytest.raises(uci.UciFormatError, match=r"wdbc\.data, line 4: expected 32 .* found 33"):
        uci.load_wdbc(folder)


def test_short_row_is_not_padded_silently(uci_dir: Path, tmp_path: Path) -> None:
    lines = (uci_dir / "breast-cancer-wisconsin.data").read_text().splitlines()[:3]
    lines[1] = lines[1].rsplit(",", 1)[0]
    folder = _write(tmp_path, "breast-cancer-wisconsin.data", lines)
    with pytest.raises(uci.UciFormatError, match=r"line 2: expected 11 .* found 10"):
        uci.load_bcw(folder)


def test_non_numeric_field_names_line_and_column(uci_dir: Path, tmp_path: Path) -> None:
    lines = (uci_dir / "mammographic_masses.data").read_text().splitlines()[:4]
    fields = lines[2].split(",")
    fields[1] = "sixty"
    lines[2] = ",".join(fields)
    folder = _write(tmp_path, "mammographic_masses.data", lines)
    with pytest.raises(uci.UciFormatError, match=r"line 3: column 'Age' holds 'sixty'"):
        uci.load_mammographic_mass(folder)


def test_unknown_class_code_is_an_error(uci_dir: Path, tmp_path: Path) -> None:
    lines = (uci_dir / "breast-cancer-wisconsin.data").read_text().splitlines()[:3]
    lines[0] = lines[0].rsplit(",", 1)[0] + ",3"
    folder = _write(tmp_path, "breast-cancer-wisconsin.data", lines)
    with pytest.raises(uci.UciFormatError, match=r"'Class' holds \[3\]"):
        uci.load_bcw(folder)


def test_question_mark_is_missing_and_blank_lines_are_skipped(
    uci_dir: Path, tmp_path: Path
) -> None:
    lines = (uci_dir / "mammographic_masses.data").read_text().splitlines()[:6]
    folder = _write(tmp_path, "mammographic_masses.data", [*lines, ""])
    frame = uci.load_mammographic_mass(folder)
    assert len(frame) == 6
    expected_missing = sum(line.split(",")[4] == "?" for line in lines)
    assert int(frame["Density"].isna().sum()) == expected_missing
    assert frame["Density"].dtype == pd.Int64Dtype()


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="wpbc.data"):
        uci.load_wpbc(tmp_path)
