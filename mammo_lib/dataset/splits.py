"""Patient-level splits and the leakage check.

CBIS-DDSM's official train/test split is kept; validation patients are drawn from the
training patients. Normal-scan patients are split into train/val/test. Every assignment is
a function of the seed and the patient id alone (a hash), so it does not depend on order.

The official CBIS split itself puts some patients in both train (one abnormality type) and
test (the other); :func:`resolve_official_overlap` drops those patients' training rows and
records each one, so the leakage check can hold.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

SPLITS: tuple[str, ...] = ("train", "val", "test", "mias")


class LeakageError(ValueError):
    """A patient, scan or ROI appears in more than one split."""


def unit_hash(seed: int, *keys: object) -> float:
    """A number in [0, 1) fixed by the seed and the keys."""
    text = "\x1f".join([str(int(seed)), *map(str, keys)])
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little") / 2.0**64


def assign_split(patient: str, seed: int, fractions: Mapping[str, float]) -> str:
    """Assign one patient to one of `fractions` (split -> share, summing to 1) by its hash alone."""
    u = unit_hash(seed, "split", patient)
    total = 0.0
    for split, share in fractions.items():
        total += share
        if u < total:
            return split
    return list(fractions)[-1]


def quota_splits(
    patients: Iterable[str], seed: int, fractions: Mapping[str, float]
) -> dict[str, str]:
    """Assign patients to splits in exact proportions (largest remainder), ordered by hash.

    Patients are sorted by their seeded hash and cut into consecutive runs of the sizes the
    fractions give, so the result depends on the set of patients and the seed, not on their
    order, and small sets are split as evenly as the fractions allow. The first split listed
    (e.g. ``train``) takes what rounding leaves.

    Returns
    -------
    dict
        ``{patient: split}``.
    """
    unique = sorted(set(map(str, patients)), key=lambda p: (unit_hash(seed, "split", p), p))
    n = len(unique)
    names = list(fractions)
    sizes = {name: int(round(fractions[name] * n)) for name in names[1:]}
    while sum(sizes.values()) > n:  # rounding up everywhere cannot exceed the patients
        largest = max(sizes, key=sizes.__getitem__)
        sizes[largest] -= 1
    sizes = {names[0]: n - sum(sizes.values()), **sizes}
    out: dict[str, str] = {}
    start = 0
    for name in names[1:] + names[:1]:
        for patient in unique[start : start + sizes[name]]:
            out[patient] = name
        start += sizes[name]
    return out


def cbis_splits(
    patients: pd.Series, official: pd.Series, seed: int, val_fraction: float
) -> pd.Series:
    """Keep the official CBIS split and move `val_fraction` of training patients to ``val``."""
    train_patients = patients[official == "train"]
    chosen = quota_splits(train_patients, seed, {"train": 1.0 - val_fraction, "val": val_fraction})
    out = official.astype(str).copy()
    is_val = [
        split == "train" and chosen.get(str(p)) == "val"
        for p, split in zip(patients, official, strict=True)
    ]
    out[pd.Series(is_val, index=out.index)] = "val"
    return out


def resolve_official_overlap(table: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    """Drop the training rows of patients who also appear in the official CBIS test split.

    Returns
    -------
    table : pandas.DataFrame
        The rows kept.
    skipped : list of dict
        One ``{"path", "reason", "detail"}`` per dropped row.
    """
    test_patients = set(table.loc[table["split"] == "test", "patient_id"])
    drop = (table["split"] == "train") & table["patient_id"].isin(test_patients)
    skipped = [
        {
            "path": str(row.roi_id),
            "reason": "patient-in-official-test",
            "detail": f"patient {row.patient_id} is also in the CBIS test split; train ROI dropped",
        }
        for row in table[drop].itertuples(index=False)
    ]
    return table[~drop].copy(), skipped


def check_leakage(
    records: pd.DataFrame,
    *,
    split: str = "split",
    groups: tuple[str, ...] = ("patient_key", "scan_key", "abnormality_id"),
) -> None:
    """Fail if any patient, scan or ROI appears in more than one split.

    Parameters
    ----------
    records
        One row per tile (or per scan/ROI) with a split column and the group columns; empty
        group values (normal tiles have no ROI) are ignored.
    split
        The split column.
    groups
        Columns whose values must each stay within one split.

    Raises
    ------
    LeakageError
        Naming the column, how many values leak and the first few with their splits.
    """
    problems = []
    for column in groups:
        if column not in records:
            continue
        values = records[[column, split]]
        values = values[values[column].astype(str) != ""]
        per_value = values.groupby(column)[split].unique()
        leaking = per_value[per_value.map(len) > 1]
        if len(leaking):
            examples = "; ".join(f"{k} in {sorted(v)}" for k, v in leaking.head(5).items())
            problems.append(f"{len(leaking)} {column} value(s) in several splits ({examples})")
    if problems:
        raise LeakageError("split leakage: " + " | ".join(problems))


def patient_folds(
    labels: Sequence[int] | np.ndarray, patients: Sequence | np.ndarray, n_splits: int, seed: int
) -> np.ndarray:
    """Return a fold number per row: stratified by label, grouped by patient.

    Parameters
    ----------
    labels
        Binary label per row.
    patients
        Patient id per row; all of a patient's rows share one fold.
    n_splits
        Number of folds.
    seed
        Seed of the assignment (scikit-learn's ``StratifiedGroupKFold``, shuffled).
    """
    from sklearn.model_selection import StratifiedGroupKFold

    y = np.asarray(labels)
    g = np.asarray(patients)
    folds = np.full(len(y), -1)
    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    for k, (_, test) in enumerate(cv.split(np.zeros(len(y)), y, g)):
        folds[test] = k
    return folds
