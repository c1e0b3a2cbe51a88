"""Book tables: formatted cells (no NaN, no 192.0, no 0.083333) and MyST table source."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mammo_lib.report.tables import MISSING, book_table, format_frame, format_value


def test_values_read_as_a_person_writes_them() -> None:
    assert format_value(192.0) == "192"
    assert format_value(0.083333) == "0.083"
    assert format_value(np.float64(0.5), decimals=2) == "0.50"
    assert format_value(np.int64(7)) == "7"
    assert format_value(123456) == "123,456"
    assert format_value(float("nan")) == MISSING
    assert format_value(None) == MISSING
    assert format_value("") == MISSING
    assert format_value(True) == "yes"
    assert format_value("0.71 [0.60, 0.80]") == "0.71 [0.60, 0.80]"


def test_frame_drops_the_index_and_keeps_one_precision_per_column() -> None:
    frame = pd.DataFrame(
        {"n": [192.0, 10.0, np.nan], "auc": [0.083333, 2.0, 0.5], "note": ["a", None, "c"]},
        index=[5, 6, 7],
    )
    out = format_frame(frame)
    assert list(out.columns) == ["n", "auc", "note"]
    assert out["n"].tolist() == ["192", "10", MISSING]
    assert out["auc"].tolist() == ["0.083", "2.000", "0.500"]
    assert out["note"].tolist() == ["a", MISSING, "c"]
    assert format_frame(frame.rename_axis("row"), index=True).columns[0] == "row"


def test_book_table_is_a_numbered_myst_table_with_its_caption_and_label() -> None:
    frame = pd.DataFrame({"model": ["a|b"], "accuracy": [0.91234]})
    text = book_table(frame, "Binary results (synthetic).", "tbl-x-binary").markdown()
    lines = text.splitlines()
    assert lines[0] == ":::{table} Binary results (synthetic)."
    assert lines[1] == ":name: tbl-x-binary"
    assert "| a\\|b | 0.912 |" in lines
    assert "nan" not in text.lower()
    assert lines[-1] == ":::"


@pytest.mark.parametrize(("caption", "name"), [("", "tbl-a"), ("ok", "two words")])
def test_book_table_refuses_a_missing_caption_or_a_bad_label(caption: str, name: str) -> None:
    with pytest.raises(ValueError, match="table"):
        book_table(pd.DataFrame({"a": [1]}), caption, name)


def test_numbers_stored_as_objects_format_and_align_as_numbers() -> None:
    from mammo_lib.report.tables import markdown_table

    # a transposed frame of mixed rows holds its numbers in object columns
    frame = pd.DataFrame({"x": {"n": 3, "p": 0.0024}, "y": {"n": 5, "p": 0.5}}).T
    text = markdown_table(frame)
    assert text.splitlines()[1] == "|---:|---:|"
    assert "| 3 | 0.002 |" in text


def test_whole_rates_keep_their_decimals_and_whole_counts_lose_them() -> None:
    out = format_frame(pd.DataFrame({"recall": [0.0, 1.0], "tiles": [192.0, 35.0]}))
    assert out["recall"].tolist() == ["0.000", "1.000"]
    assert out["tiles"].tolist() == ["192", "35"]


def test_a_wide_table_turned_on_its_side_keeps_each_column_precision() -> None:
    from mammo_lib.report.tables import transposed

    wide = pd.DataFrame(
        {
            "dataset": ["9", "9"],
            "source": ["this book", "study"],
            "n": [35, np.nan],
            "accuracy": ["0.829 [0.000, 0.989]", 0.9571],
        }
    )
    side = transposed(wide, ["dataset", "source"])
    assert list(side.columns) == ["9, this book", "9, study"]
    assert side.loc["n"].tolist() == ["35", MISSING]
    assert side.loc["accuracy"].tolist() == ["0.829 [0.000, 0.989]", "0.957"]
    text = book_table(wide, "Side.", "tbl-side", columns_from=["dataset", "source"]).markdown()
    assert "|  | 9, this book | 9, study |" in text
    with pytest.raises(ValueError, match="tell the rows apart"):
        transposed(wide, ["dataset"])


def test_wide_tables_are_set_compact() -> None:
    narrow = book_table(pd.DataFrame({"a": [1], "b": [2]}), "Narrow.", "tbl-n").markdown()
    wide = book_table(pd.DataFrame({c: [1] for c in "abcdefg"}), "Wide.", "tbl-w").markdown()
    assert ":class:" not in narrow
    assert ":class: table-sm small" in wide.splitlines()


def test_constant_columns_are_split_off_for_the_caption() -> None:
    from mammo_lib.report.tables import constant_columns

    frame = pd.DataFrame({"view": ["CC", "MLO"], "pathology": ["BENIGN"] * 2, "n": [1, 1]})
    rest, same = constant_columns(frame)
    assert list(rest.columns) == ["view"] and same == {"pathology": "BENIGN", "n": 1}
    one = frame.iloc[:1]
    assert constant_columns(one)[0].equals(one) and constant_columns(one)[1] == {}
