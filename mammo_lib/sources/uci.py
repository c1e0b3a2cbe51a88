"""Readers for the four UCI breast-cancer tables: WDBC, WPBC, BCW and Mammographic Mass.

Each loader returns a tidy :class:`pandas.DataFrame` whose columns carry the names that the
data set's ``.names`` file gives, with nullable dtypes (``Int64``, ``Float64``, ``string``) and
``'?'`` read as missing (``pd.NA``). Each table also gets a boolean label column derived from
its class field (``malignant`` or ``recurred``), so the tables can be used without re-reading
their documentation.

A data file whose row has the wrong number of fields, or a field that is neither a number
nor ``'?'``, raises :class:`UciFormatError` naming the file and the line.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "BCW_FEATURES",
    "DATASETS",
    "DENSITY_NAMES",
    "MARGIN_NAMES",
    "SHAPE_NAMES",
    "MAMMO_FEATURES",
    "NUCLEUS_FEATURES",
    "UciFormatError",
    "WDBC_FEATURES",
    "WPBC_FEATURES",
    "load_bcw",
    "load_mammographic_mass",
    "load_uci",
    "load_wdbc",
    "load_wpbc",
    "wpbc_recurrence_within",
]

#: The ten nuclear features of WDBC / WPBC (``.names``, section 7, a-j), snake_cased.
NUCLEUS_FEATURES: tuple[str, ...] = (
    "radius",
    "texture",
    "perimeter",
    "area",
    "smoothness",
    "compactness",
    "concavity",
    "concave_points",
    "symmetry",
    "fractal_dimension",
)

#: The 30 WDBC features in file order: the ten means, then the ten standard errors, then the
#: ten "worst" values (``wdbc.names``: "field 3 is Mean Radius, field 13 is Radius SE, field 23
#: is Worst Radius").
WDBC_FEATURES: tuple[str, ...] = tuple(
    f"{feature}_{stat}" for stat in ("mean", "se", "worst") for feature in NUCLEUS_FEATURES
)

#: WPBC predictors: the same 30 nuclear features, tumour size (cm) and positive lymph nodes.
WPBC_FEATURES: tuple[str, ...] = (*WDBC_FEATURES, "tumor_size", "lymph_node_status")

#: BCW's nine cytology scores (1-10), named as in ``breast-cancer-wisconsin.names``.
BCW_FEATURES: tuple[str, ...] = (
    "Clump Thickness",
    "Uniformity of Cell Size",
    "Uniformity of Cell Shape",
    "Marginal Adhesion",
    "Single Epithelial Cell Size",
    "Bare Nuclei",
    "Bland Chromatin",
    "Normal Nucleoli",
    "Mitoses",
)

#: Mammographic Mass predictors (``mammographic_masses.names``). BI-RADS is the radiologist's
#: own assessment ("non-predictive" in the ``.names``), so it is not among the predictors.
MAMMO_FEATURES: tuple[str, ...] = ("Age", "Shape", "Margin", "Density")

#: Mammographic Mass category codes (``mammographic_masses.names``, section 7).
SHAPE_NAMES: dict[int, str] = {1: "round", 2: "oval", 3: "lobular", 4: "irregular"}
MARGIN_NAMES: dict[int, str] = {
    1: "circumscribed",
    2: "microlobulated",
    3: "obscured",
    4: "ill-defined",
    5: "spiculated",
}
DENSITY_NAMES: dict[int, str] = {1: "high", 2: "iso", 3: "low", 4: "fat-containing"}

#: Data set name -> (data file, column names, column dtypes). dtype "Float64"/"Int64"/"string".
_SCHEMAS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "wdbc": (
        "wdbc.data",
        ("id", "diagnosis", *WDBC_FEATURES),
        ("Int64", "string", *["Float64"] * 30),
    ),
    "wpbc": (
        "wpbc.data",
        ("id", "outcome", "time", *WPBC_FEATURES),
        ("Int64", "string", "Int64", *["Float64"] * 31, "Int64"),
    ),
    "bcw": (
        "breast-cancer-wisconsin.data",
        ("Sample code number", *BCW_FEATURES, "Class"),
        ("Int64", *["Int64"] * 9, "Int64"),
    ),
    "mammographic-mass": (
        "mammographic_masses.data",
        ("BI-RADS", *MAMMO_FEATURES, "Severity"),
        ("Int64",) * 6,
    ),
}


class UciFormatError(ValueError):
    """A UCI data file that does not match its documented layout."""


def _resolve(folder: Path | None, registry_name: str) -> Path:
    if folder is not None:
        return Path(folder)
    from mammo_lib.sources.registry import fetch  # the registry downloads or mirrors the files

    return Path(fetch(registry_name))


def _read_table(path: Path, columns: tuple[str, ...], dtypes: tuple[str, ...]) -> pd.DataFrame:
    """Read a header-less comma-separated UCI file, checking every line against the schema."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such UCI data file")
    rows: list[list[str]] = []
    line_numbers: list[int] = []
    with path.open(newline="") as handle:
        for line_number, fields in enumerate(csv.reader(handle), start=1):
            if not fields or all(not f.strip() for f in fields):
                continue  # a blank line (e.g. a trailing newline) carries no record
            if len(fields) != len(columns):
                raise UciFormatError(
                    f"{path}, line {line_number}: expected {len(columns)} comma-separated "
                    f"fields, found {len(fields)}"
                )
            rows.append([f.strip() for f in fields])
            line_numbers.append(line_number)
    if not rows:
        raise UciFormatError(f"{path}: no records")
    raw = pd.DataFrame(rows, columns=list(columns), dtype=object)
    frame = pd.DataFrame(index=raw.index)
    for column, dtype in zip(columns, dtypes, strict=True):
        values = raw[column]
        missing = values == "?"
        if dtype == "string":
            frame[column] = values.mask(missing).astype("string")
            continue
        numbers = pd.to_numeric(values.mask(missing), errors="coerce")
        bad = numbers.isna() & ~missing
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            raise UciFormatError(
                f"{path}, line {line_numbers[first]}: column {column!r} holds "
                f"{values.iloc[first]!r}, neither a number nor '?'"
            )
        if dtype == "Int64":
            fractional = numbers.notna() & (numbers % 1 != 0)
            if fractional.any():
                first = int(np.flatnonzero(fractional.to_numpy())[0])
                raise UciFormatError(
                    f"{path}, line {line_numbers[first]}: column {column!r} holds "
                    f"{values.iloc[first]!r}, expected an integer"
                )
        frame[column] = numbers.astype(dtype)
    return frame


def _load(name: str, folder: Path | None) -> pd.DataFrame:
    file_name, columns, dtypes = _SCHEMAS[name]
    return _read_table(_resolve(folder, f"uci-{name}") / file_name, columns, dtypes)


def _check_codes(frame: pd.DataFrame, column: str, allowed: set, path_hint: str) -> None:
    present = set(frame[column].dropna().unique().tolist())
    unknown = present - allowed
    if unknown:
        raise UciFormatError(
            f"{path_hint}: column {column!r} holds {sorted(unknown)!r}; "
            f"expected only {sorted(allowed)!r}"
        )


def load_wdbc(folder: Path | None = None) -> pd.DataFrame:
    """Load the Wisconsin Diagnostic Breast Cancer table (569 fine-needle aspirates).

    Parameters
    ----------
    folder
        Folder holding ``wdbc.data``; None fetches it through the registry (``uci-wdbc``).

    Returns
    -------
    pandas.DataFrame
        ``id``, ``diagnosis`` ("M"/"B"), the 30 :data:`WDBC_FEATURES` and ``malignant`` (bool).
    """
    frame = _load("wdbc", folder)
    _check_codes(frame, "diagnosis", {"M", "B"}, "wdbc.data")
    frame["malignant"] = (frame["diagnosis"] == "M").astype("boolean")
    return frame


def load_wpbc(folder: Path | None = None) -> pd.DataFrame:
    """Load the Wisconsin Prognostic Breast Cancer table (198 invasive cancers, follow-up).

    Parameters
    ----------
    folder
        Folder holding ``wpbc.data``; None fetches it through the registry (``uci-wpbc``).

    Returns
    -------
    pandas.DataFrame
        ``id``, ``outcome`` ("R" recurred / "N" did not), ``time`` (months: time to recurrence
        for R, disease-free follow-up for N), the 30 nuclear features, ``tumor_size`` (cm),
        ``lymph_node_status`` (positive axillary nodes; missing in 4 rows) and ``recurred``
        (bool, outcome == "R"). See :func:`wpbc_recurrence_within` for a fixed-horizon label.
    """
    frame = _load("wpbc", folder)
    _check_codes(frame, "outcome", {"R", "N"}, "wpbc.data")
    frame["recurred"] = (frame["outcome"] == "R").astype("boolean")
    return frame


def load_bcw(folder: Path | None = None) -> pd.DataFrame:
    """Load the original Wisconsin Breast Cancer table (BCW, 699 aspirates scored 1-10).

    Parameters
    ----------
    folder
        Folder holding ``breast-cancer-wisconsin.data``; None fetches it (``uci-bcw``).

    Returns
    -------
    pandas.DataFrame
        ``Sample code number``, the nine :data:`BCW_FEATURES` (``Bare Nuclei`` missing in 16
        rows), ``Class`` (2 benign, 4 malignant) and ``malignant`` (bool).
    """
    frame = _load("bcw", folder)
    _check_codes(frame, "Class", {2, 4}, "breast-cancer-wisconsin.data")
    frame["malignant"] = (frame["Class"] == 4).astype("boolean")
    return frame


def load_mammographic_mass(folder: Path | None = None) -> pd.DataFrame:
    """Load the Mammographic Mass table (961 masses read on mammograms, with biopsy outcome).

    Parameters
    ----------
    folder
        Folder holding ``mammographic_masses.data``; None fetches it (``uci-mammographic-mass``).

    Returns
    -------
    pandas.DataFrame
        ``BI-RADS`` (1-5 as documented; the file also holds 0, 6 and one 55), ``Age``,
        ``Shape`` (1 round .. 4 irregular), ``Margin`` (1 circumscribed .. 5 spiculated),
        ``Density`` (1 high .. 4 fat-containing), ``Severity`` (0 benign, 1 malignant) and
        ``malignant`` (bool). Values are kept as recorded, out-of-range ones included.
    """
    frame = _load("mammographic-mass", folder)
    _check_codes(frame, "Severity", {0, 1}, "mammographic_masses.data")
    frame["malignant"] = (frame["Severity"] == 1).astype("boolean")
    return frame


#: Data set name -> loader.
DATASETS: dict[str, Callable[[Path | None], pd.DataFrame]] = {
    "wdbc": load_wdbc,
    "wpbc": load_wpbc,
    "bcw": load_bcw,
    "mammographic-mass": load_mammographic_mass,
}


def load_uci(name: str, folder: Path | None = None) -> pd.DataFrame:
    """Load one UCI table by name: ``wdbc``, ``wpbc``, ``bcw`` or ``mammographic-mass``."""
    try:
        loader = DATASETS[name]
    except KeyError:
        raise KeyError(f"unknown UCI data set {name!r}; known: {', '.join(DATASETS)}") from None
    return loader(folder)


def wpbc_recurrence_within(frame: pd.DataFrame, months: int = 24) -> pd.Series:
    """Label WPBC cases by recurrence within a horizon, leaving censored cases missing.

    A case is positive when it recurred at or before `months` (``outcome == "R"`` and
    ``time <= months``) and negative when it is known to have been free of recurrence at
    `months`: it recurred later (``R``, ``time > months``) or was followed disease-free for at
    least `months` (``N``, ``time >= months``). A non-recurrent case followed for less than
    `months` (``N``, ``time < months``) is censored: whether it recurs before `months` is
    unknown, so it gets ``pd.NA`` and must be left out of a classification.

    Parameters
    ----------
    frame
        The table from :func:`load_wpbc` (needs ``outcome`` and ``time``).
    months
        The horizon in months.

    Returns
    -------
    pandas.Series
        Nullable boolean, aligned with `frame`.
    """
    recurred = frame["outcome"] == "R"
    time = frame["time"]
    label = pd.Series(pd.NA, index=frame.index, dtype="boolean")
    label[recurred & (time <= months)] = True
    label[(recurred & (time > months)) | (~recurred & (time >= months))] = False
    return label
