"""DataFrames as the book's tables: formatted cells, a caption, a number and a label.

A chapter displays ``book_table(frame, caption, name)`` in a cell whose metadata sets
``mystnb: {markdown_format: myst}``. The cell's output is MyST Markdown holding a ``{table}``
directive, so Sphinx numbers the table ("Table 3"), shows its caption above it and lets the
text cite it with ``{numref}`` (``{numref}`tbl-07-binary```). In JupyterLab the same output
shows as a Markdown table under its caption.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

import pandas as pd

#: What an empty cell shows.
MISSING = "—"

#: Tables with more columns than this are set in the compact style.
COMPACT_ABOVE = 5


def format_value(value: object, decimals: int = 3) -> str:
    """One cell as text: integers without ``.0``, floats with `decimals` places, no NaN.

    Missing values (None, NaN, NaT, empty strings) become :data:`MISSING`; booleans
    "yes"/"no"; a float that holds an integer (``192.0``) prints as one.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}" if abs(int(value)) >= 10_000 else str(int(value))
    if isinstance(value, numbers.Real):
        x = float(value)
        if math.isnan(x):
            return MISSING
        if math.isinf(x):
            return "∞" if x > 0 else "−∞"
        if x.is_integer() and abs(x) < 1e15:
            return format_value(int(x), decimals)
        return f"{x:.{decimals}f}"
    if value is pd.NaT:
        return MISSING
    return str(value)


def _as_numbers(values: pd.Series) -> pd.Series:
    """`values` as numbers when every present value is one (e.g. a column after ``.T``)."""
    if values.dtype != object or values.map(lambda v: isinstance(v, bool)).any():
        return values
    numbers_only = pd.to_numeric(values, errors="coerce")
    present = values.notna() & values.map(lambda v: not (isinstance(v, str) and not v.strip()))
    if present.any() and numbers_only[present].notna().all():
        return numbers_only
    return values


def format_frame(
    frame: pd.DataFrame,
    decimals: int | Mapping[str, int] = 3,
    *,
    index: bool = False,
) -> pd.DataFrame:
    """A copy of `frame` with every cell formatted by :func:`format_value`, as text.

    Parameters
    ----------
    frame
        Any table.
    decimals
        Places for floats, one number or per column (others: 3).
    index
        Keep the index as the first column (named by the index's name); the default drops
        it, as a positional index means nothing to a reader.
    """
    table = frame.reset_index() if index else frame.reset_index(drop=True)
    table.columns = [_label(c) for c in table.columns]
    out = pd.DataFrame(index=table.index)
    for column in table.columns:
        places = decimals.get(column, 3) if isinstance(decimals, Mapping) else decimals
        values = _as_numbers(table[column])
        floats = pd.api.types.is_float_dtype(values)
        present = values.dropna()
        counts = floats and present.map(float.is_integer).all() and (present.abs() > 1).any()
        if floats and not counts:
            # one number of places down a column of fractions (1.500 above 2.000, not 2) and
            # of rates that happen to be whole (a recall of 0 or 1 reads 0.000, 1.000)
            out[column] = [MISSING if pd.isna(v) else f"{v:.{places}f}" for v in values]
        else:
            out[column] = [format_value(v, places) for v in values]
    return out


def _label(column: object) -> str:
    """A column name as text; the levels of a MultiIndex column joined by spaces."""
    if isinstance(column, tuple):
        return " ".join(str(level) for level in column if str(level))
    return str(column)


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown_table(
    frame: pd.DataFrame, decimals: int | Mapping[str, int] = 3, *, index: bool = False
) -> str:
    """The formatted `frame` as a pipe table (text columns left-aligned, numbers right)."""
    table = format_frame(frame, decimals, index=index)
    source = frame.reset_index() if index else frame
    numeric = [
        pd.api.types.is_numeric_dtype(_as_numbers(source.iloc[:, i]))
        and not pd.api.types.is_bool_dtype(source.iloc[:, i])
        for i in range(source.shape[1])
    ]
    header = "| " + " | ".join(_cell(c) for c in table.columns) + " |"
    rule = "|" + "|".join("---:" if n else ":---" for n in numeric) + "|"
    rows = [
        "| " + " | ".join(_cell(v) for v in row) + " |" for row in table.itertuples(index=False)
    ]
    return "\n".join([header, rule, *rows])


class BookTable:
    """A captioned, labelled table; displays as MyST Markdown (and as text in a console).

    Attributes
    ----------
    frame
        The table's data (unformatted).
    caption
        Shown above the table, after its number.
    name
        The label ``{numref}`` cites (e.g. ``tbl-07-binary``).
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        caption: str,
        name: str,
        decimals: int | Mapping[str, int] = 3,
        *,
        index: bool = False,
        columns_from: Sequence[str] | None = None,
    ) -> None:
        if columns_from:
            frame, index = transposed(frame, columns_from, decimals), True
            decimals = 3
        if not name or any(ch.isspace() for ch in name):
            raise ValueError(f"table name must be one word, got {name!r}")
        if not caption.strip():
            raise ValueError(f"table {name!r}: empty caption")
        self.frame, self.caption, self.name = frame, caption.strip(), name
        self.decimals, self.index = decimals, index

    def markdown(self) -> str:
        """MyST source: a ``{table}`` directive around the pipe table."""
        body = markdown_table(self.frame, self.decimals, index=self.index)
        caption = " ".join(self.caption.split())
        width = self.frame.shape[1] + (self.frame.index.nlevels if self.index else 0)
        # wide tables in the theme's (Bootstrap's) compact style: smaller type, less padding
        style = ":class: table-sm small\n" if width > COMPACT_ABOVE else ""
        return f":::{{table}} {caption}\n:name: {self.name}\n:align: left\n{style}\n{body}\n:::\n"

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def __repr__(self) -> str:
        text = format_frame(self.frame, self.decimals, index=self.index).to_string(index=False)
        return f"{self.caption}\n{text}"


def transposed(
    frame: pd.DataFrame, columns_from: Sequence[str], decimals: int | Mapping[str, int] = 3
) -> pd.DataFrame:
    """A wide table turned on its side: one column per row of `frame`, headed by the values
    of `columns_from` joined with ", ", one row per remaining column (cells formatted first,
    so each keeps its own column's precision)."""
    missing = [c for c in columns_from if c not in frame.columns]
    if missing:
        raise KeyError(f"columns_from names columns the table lacks: {missing}")
    cells = format_frame(frame.drop(columns=list(columns_from)), decimals)
    heads = [
        ", ".join(format_value(v) for v in row)
        for row in frame[list(columns_from)].itertuples(index=False)
    ]
    if len(set(heads)) != len(heads):
        raise ValueError(f"columns_from {list(columns_from)} does not tell the rows apart: {heads}")
    out = cells.T
    out.columns = heads
    return out.rename_axis("")


def constant_columns(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, object]]:
    """Split off the columns that hold one value in every row (of a table of two or more
    rows), so that a caption can state them once: returns the rest and ``{column: value}``."""
    if len(frame) < 2:
        return frame, {}
    same = [c for c in frame.columns if frame[c].nunique(dropna=False) == 1]
    return frame.drop(columns=same), {c: frame[c].iloc[0] for c in same}


def book_table(
    frame: pd.DataFrame,
    caption: str,
    name: str,
    decimals: int | Mapping[str, int] = 3,
    *,
    index: bool = False,
    columns_from: Sequence[str] | None = None,
) -> BookTable:
    """Return `frame` as a numbered, captioned table for the book (see :class:`BookTable`).

    A table with many columns and few rows reads better on its side: `columns_from` names the
    columns whose values head one column per row (see :func:`transposed`).
    """
    return BookTable(frame, caption, name, decimals, index=index, columns_from=columns_from)
