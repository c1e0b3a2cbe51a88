"""Bilateral comparison: a breast's map scored against the other breast of the same woman.

A tile classifier's map of a dense but normal breast peaks high everywhere, and that peak
is what makes a normal scan look abnormal. Radiologists read a woman's two breasts side by
side for the same reason: what matters is what one breast has and the other has not. Here
every score of a scan (its maximum, its marks) is taken in logits and the logit of the
*other* breast's map maximum is subtracted::

    bilateral = logit(score) - logit(max of the contralateral map)

Both films of a woman are held out together (folds are by woman), so the comparison uses
no label and nothing the model was trained on. A scan whose contralateral film was not
mapped gets the median of all mapped maxima as its reference (a population prior); a
woman with a lesion in each breast is penalised twice, which the chapter states.

>>> from mammo_lib.scan.bilateral import bilateral_tables
>>> both = bilateral_tables(tables, cases, patients, n_boot=500)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

#: Probabilities are clipped to ``[EPS, 1 - EPS]`` before their logit.
EPS = 1e-6


def logit(p) -> np.ndarray:
    """``log(p / (1 - p))`` of probabilities clipped to ``[EPS, 1 - EPS]``."""
    q = np.clip(np.asarray(p, dtype=np.float64), EPS, 1 - EPS)
    return np.log(q) - np.log1p(-q)


def contralateral_reference(maxima: Mapping[str, float], patients: Mapping[str, str]) -> pd.Series:
    """Logit of the other breast's map maximum, per scan.

    Parameters
    ----------
    maxima
        Map maximum (a probability) of every mapped scan.
    patients
        Woman of every scan (at least of those in `maxima`).

    Returns
    -------
    pandas.Series
        Indexed by scan id: the logit of the highest maximum among the woman's *other*
        mapped scans, or of the median of all maxima where she has none.
    """
    if not maxima:
        return pd.Series(dtype=float)
    table = pd.DataFrame({"scan_id": list(maxima), "max": list(maxima.values())})
    missing = sorted(set(table["scan_id"]) - set(patients))
    if missing:
        raise ValueError(f"no woman given for scans {missing[:5]}")
    table["patient_id"] = table["scan_id"].map(patients)
    prior = float(np.median(table["max"]))
    out = {}
    for _, group in table.groupby("patient_id", sort=False):
        for scan_id in group["scan_id"]:
            others = group.loc[group["scan_id"] != scan_id, "max"]
            out[scan_id] = float(others.max()) if len(others) else prior
    return pd.Series(logit(list(out.values())), index=list(out), name="reference")


def bilateral_tables(
    tables,
    cases: Sequence,
    patients: Mapping[str, str],
    *,
    n_boot: int = 1000,
    seed: int = 0,
):
    """The :class:`~mammo_lib.scan.mias_maps.MapTables` of `tables` with bilateral scores.

    Scan scores (``max``), mark scores and the lesions' best mark scores become
    ``logit(score) - reference`` (:func:`contralateral_reference` over every mapped case,
    kept or not); the FROC points are recomputed on them (:func:`referenced_tables`).

    Parameters
    ----------
    tables
        :func:`~mammo_lib.scan.mias_maps.map_tables` of the cases.
    cases
        Every mapped case (:class:`~mammo_lib.scan.localisation.LocalisationCase`), also
        those left out of `tables` (a film whose lesion has no centre is still a reference).
    patients
        Woman of every scan id.
    n_boot, seed
        Bootstrap over women of the FROC points.
    """
    maxima = {c.scan_id: float(np.max(c.prob_map)) if c.prob_map.size else 0.0 for c in cases}
    reference = contralateral_reference(maxima, patients)
    return referenced_tables(tables, reference, n_boot=n_boot, seed=seed)


def referenced_tables(tables, reference: pd.Series, *, n_boot: int = 1000, seed: int = 0):
    """`tables` with every score of a scan taken in logits less that scan's `reference`.

    Scan scores (``max``), mark scores and the lesions' best mark scores change; which
    mark hits which lesion does not, only the order of marks across scans, so the FROC
    points are recomputed (their classes and false-positive rates: those of
    ``tables.froc``). A lesion that no mark hits keeps ``-inf``.

    Parameters
    ----------
    tables
        :class:`~mammo_lib.scan.mias_maps.MapTables`.
    reference
        A logit per scan id (every scan of `tables`), e.g. :func:`contralateral_reference`.
    n_boot, seed
        Bootstrap over women of the FROC points.
    """
    from mammo_lib.scan.froc import froc_points

    missing = sorted(set(tables.scans["scan_id"]) - set(reference.index))
    if missing:
        raise ValueError(f"no reference for scans {missing[:5]}")

    def shift(frame: pd.DataFrame, column: str) -> pd.DataFrame:
        values = logit(frame[column]) - frame["scan_id"].map(reference).to_numpy(float)
        values = np.where(np.isneginf(frame[column].to_numpy(float)), -np.inf, values)
        return frame.assign(**{column: values})

    classes = [g for g in pd.unique(tables.froc["abnormality"]) if g != "all"]
    rates = [float(f) for f in pd.unique(tables.froc["fp_per_scan"])]
    marks, lesions = shift(tables.marks, "score"), shift(tables.lesions, "best_score")
    froc = froc_points(
        marks, lesions, tables.scans, rates, classes=classes, n_boot=n_boot, seed=seed
    )
    return dataclasses.replace(
        tables, scores=shift(tables.scores, "max"), marks=marks, lesions=lesions, froc=froc
    )
