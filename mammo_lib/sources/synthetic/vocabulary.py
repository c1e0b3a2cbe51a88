"""Lesion descriptors of the synthetic CBIS-DDSM tables, drawn from the real tables' statistics.

``vocabulary.json`` (beside this module) holds, for each of the four official case-description
files, its exact header and the joint counts of the descriptor tuples that one abnormality
carries: (pathology, shape or calc type, margins or distribution, assessment, subtlety) and the
breast density of the row. It is rebuilt from the real CSVs with :func:`build_vocabulary`; the
test suite checks that the committed file equals a rebuild from ``/work/shared/data``.
Drawing from the joint counts keeps the real correlations (malignant masses are more often
irregular and spiculated, benign calcifications more often coarse or vascular).
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from mammo_lib.io import write_text

__all__ = ["CASE_TABLES", "Descriptor", "build_vocabulary", "load_vocabulary", "sample_descriptor"]

VOCABULARY_FILE = Path(__file__).with_name("vocabulary.json")

#: The four case-description files: ``file name -> (abnormality type, collection prefix)``.
CASE_TABLES: dict[str, tuple[str, str]] = {
    "mass_case_description_train_set.csv": ("mass", "Mass-Training"),
    "mass_case_description_test_set.csv": ("mass", "Mass-Test"),
    "calc_case_description_train_set.csv": ("calcification", "Calc-Training"),
    "calc_case_description_test_set.csv": ("calcification", "Calc-Test"),
}


@dataclass(frozen=True)
class Descriptor:
    """One abnormality's table values, as raw strings of the real CSVs ("NA" where missing).

    ``form`` is the mass shape or calc type; ``spread`` the mass margins or calc distribution.
    """

    abnormality_type: str
    pathology: str
    form: str
    spread: str
    assessment: str
    subtlety: str


def build_vocabulary(tables_dir: str | os.PathLike[str]) -> dict:
    """Count headers, descriptor tuples and densities of the four real case-description CSVs.

    Parameters
    ----------
    tables_dir
        Folder with the four official CSV files.

    Returns
    -------
    dict
        ``{file name: {"header": [...], "rows": n, "descriptors": [[values..., count], ...],
        "density": {value: count}, "abnormalities_per_scan": {n: count}}}``, JSON-ready and
        sorted so that a rebuild is byte-identical.
    """
    out: dict = {}
    for name, (kind, _) in CASE_TABLES.items():
        path = Path(tables_dir) / name
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        header, body = rows[0], rows[1:]
        col = {c: i for i, c in enumerate(header)}
        form = "mass shape" if kind == "mass" else "calc type"
        spread = "mass margins" if kind == "mass" else "calc distribution"
        density = "breast_density" if "breast_density" in col else "breast density"
        tuples = Counter(
            (
                r[col["pathology"]],
                r[col[form]],
                r[col[spread]],
                r[col["assessment"]],
                r[col["subtlety"]],
            )
            for r in body
        )
        per_scan = Counter(Counter(r[col["image file path"]] for r in body).values())
        out[name] = {
            "header": header,
            "rows": len(body),
            "descriptors": [[*k, v] for k, v in sorted(tuples.items())],
            "density": dict(sorted(Counter(r[col[density]] for r in body).items())),
            "abnormalities_per_scan": {str(k): v for k, v in sorted(per_scan.items())},
        }
    return out


def write_vocabulary(tables_dir: str | os.PathLike[str], path: Path = VOCABULARY_FILE) -> None:
    """Rebuild ``vocabulary.json`` from the real CSVs in `tables_dir`."""
    text = json.dumps(build_vocabulary(tables_dir), indent=1, sort_keys=True)
    write_text(path, text + "\n")


@cache
def load_vocabulary() -> dict:
    """Return the committed vocabulary (see the module docstring)."""
    return json.loads(VOCABULARY_FILE.read_text(encoding="utf-8"))


def sample_descriptor(rng: np.random.Generator, table: str) -> Descriptor:
    """Draw one abnormality's descriptors from the joint counts of the real `table`.

    Parameters
    ----------
    rng
        Random generator.
    table
        One of :data:`CASE_TABLES`; train and test files of a type are pooled.
    """
    kind = CASE_TABLES[table][0]
    vocab = load_vocabulary()
    pool = [
        d for name, (k, _) in CASE_TABLES.items() if k == kind for d in vocab[name]["descriptors"]
    ]
    counts = np.array([d[-1] for d in pool], dtype=float)
    pick = pool[int(rng.choice(len(pool), p=counts / counts.sum()))]
    return Descriptor(kind, *pick[:5])


def sample_density(rng: np.random.Generator, table: str) -> int:
    """Draw a breast density (1-4) from the real `table`'s counts (0 is read as 1)."""
    counts = load_vocabulary()[table]["density"]
    values = list(counts)
    p = np.array([counts[v] for v in values], dtype=float)
    return max(1, int(values[int(rng.choice(len(values), p=p / p.sum()))]))


def sample_abnormality_count(rng: np.random.Generator, table: str, limit: int = 3) -> int:
    """Draw how many abnormalities one scan carries, from the real `table` (capped at `limit`)."""
    counts = load_vocabulary()[table]["abnormalities_per_scan"]
    values = [int(v) for v in counts]
    p = np.array(list(counts.values()), dtype=float)
    return min(limit, values[int(rng.choice(len(values), p=p / p.sum()))])
