"""FROC by a threshold sweep over marks, with a bootstrap over women.

Marks. A scan's marks are the peaks of its probability map after non-maximum suppression:
a cell is a mark when it holds the largest value within ``nms`` cells around it (and is
above zero, i.e. inside the breast when the map is restricted to tissue). Each mark has
one score, its peak probability, and one point, the centre of its cell in scan pixels.

Hits. A mark hits a lesion when its point lies within ``max(radius, half a map cell)`` of
the lesion's centre (the half cell: a lesion smaller than the map's grid is still hit by
the nearest cell). A mark that hits no lesion is a false positive; a second mark on a lesion
already hit is neither a hit nor a false positive.

Sweep. Lowering a threshold over the marks' scores adds marks one by one, so sensitivity
and false positives per scan both grow: the curve is monotone by construction (unlike
regions re-found at each threshold, which merge and split). The sensitivity at ``f`` false
positives per scan is that of the lowest threshold whose false positives per scan stay at
or below ``f``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import ndimage

from mammo_lib.scan.localisation import LocalisationCase

#: False positives per scan at which FROC sensitivities are reported.
FP_RATES: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)


def map_marks(prob_map: np.ndarray, nms: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns and scores of a map's marks (see the module docstring), highest first.

    Parameters
    ----------
    prob_map
        ``[h, w]`` probabilities.
    nms
        Side in cells of the suppression window (odd; 1 keeps every positive cell).
    """
    values = np.asarray(prob_map, dtype=np.float64)
    if nms < 1 or nms % 2 == 0:
        raise ValueError(f"nms must be a positive odd number of cells, got {nms}")
    # ties go to the first cell in raster order: a plateau gives one mark
    ranked = values - np.arange(values.size).reshape(values.shape) * 1e-12
    top = ndimage.maximum_filter(ranked, size=nms, mode="constant", cval=-np.inf)
    rows, cols = np.nonzero((ranked == top) & (values > 0))
    scores = values[rows, cols]
    order = np.argsort(-scores, kind="stable")
    return rows[order], cols[order], scores[order]


def mark_tables(
    cases: Sequence[LocalisationCase],
    patients: Mapping[str, str],
    lesion_classes: Mapping[str, Sequence[str]] | None = None,
    nms: int = 3,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Marks, lesions and scans of mapped cases, ready for :func:`froc_points`.

    Parameters
    ----------
    cases
        Mapped scans (normal scans: no lesions).
    patients
        Woman (patient id) of every ``scan_id``.
    lesion_classes
        Class of each lesion of a scan, in the order of ``case.lesions`` (None: ``"all"``).
    nms
        Suppression window of :func:`map_marks`.

    Returns
    -------
    marks : pandas.DataFrame
        ``scan_id, patient_id, score, row, col`` (scan pixels), ``lesion`` (index into
        `lesions` of the first lesion hit, -1 for none).
    lesions : pandas.DataFrame
        ``scan_id, patient_id, abnormality, radius, best_score`` (highest score of a mark
        hitting it; -inf when none does).
    scans : pandas.DataFrame
        ``scan_id, patient_id, abnormal``.
    """
    mark_rows, lesion_rows, scan_rows = [], [], []
    for case in cases:
        pid = patients[case.scan_id]
        scan_rows.append(
            {"scan_id": case.scan_id, "patient_id": pid, "abnormal": bool(case.lesions)}
        )
        rows, cols, scores = map_marks(case.prob_map, nms)
        r, c = case.geometry.cell_centres(rows, cols)
        r, c = np.atleast_1d(np.asarray(r, float)), np.atleast_1d(np.asarray(c, float))
        g = case.geometry
        half_cell = 0.5 * max(g.stride / g.scale[0], g.stride / g.scale[1])
        hit = np.full(len(scores), -1)
        classes = (lesion_classes or {}).get(case.scan_id, ["all"] * len(case.lesions))
        base = len(lesion_rows)
        for j, lesion in enumerate(case.lesions):
            radius = float(lesion.radius) if lesion.radius is not None else 0.0
            reach = max(radius, half_cell)
            inside = np.hypot(r - lesion.centre[0], c - lesion.centre[1]) <= reach
            best = float(scores[inside].max()) if inside.any() else -np.inf
            hit[(hit < 0) & inside] = base + j
            lesion_rows.append(
                {
                    "scan_id": case.scan_id,
                    "patient_id": pid,
                    "abnormality": classes[j],
                    "radius": radius,
                    "best_score": best,
                }
            )
        for k in range(len(scores)):
            mark_rows.append(
                {
                    "scan_id": case.scan_id,
                    "patient_id": pid,
                    "score": float(scores[k]),
                    "row": float(r[k]),
                    "col": float(c[k]),
                    "lesion": int(hit[k]),
                }
            )
    marks = pd.DataFrame(
        mark_rows, columns=["scan_id", "patient_id", "score", "row", "col", "lesion"]
    )
    lesions = pd.DataFrame(
        lesion_rows, columns=["scan_id", "patient_id", "abnormality", "radius", "best_score"]
    )
    return marks, lesions, pd.DataFrame(scan_rows)


def _sensitivities(
    fp_scores: np.ndarray,
    fp_weights: np.ndarray,
    n_scans: float,
    lesion_best: np.ndarray,
    lesion_weights: np.ndarray,
    fp_rates: Sequence[float],
) -> np.ndarray:
    """Weighted sensitivity at each false-positive rate (weights: bootstrap multiplicities)."""
    order = np.argsort(-fp_scores, kind="stable")
    s, w = fp_scores[order], fp_weights[order]
    cum = np.cumsum(w)
    total = lesion_weights.sum()
    out = []
    for f in fp_rates:
        over = np.flatnonzero(cum > f * n_scans + 1e-9)
        threshold = s[over[0]] if len(over) else -np.inf  # marks strictly above it count
        hit = lesion_best > threshold
        out.append(lesion_weights[hit].sum() / total if total > 0 else np.nan)
    return np.array(out)


def froc_points(
    marks: pd.DataFrame,
    lesions: pd.DataFrame,
    scans: pd.DataFrame,
    fp_rates: Sequence[float] = FP_RATES,
    classes: Sequence[str] | None = None,
    n_boot: int = 0,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Lesion sensitivity at each false-positive rate, per class, with a bootstrap by woman.

    False positives are counted over all scans (normal ones included) whatever the class;
    a class's sensitivity is the share of its lesions hit at the threshold.

    Parameters
    ----------
    marks, lesions, scans
        From :func:`mark_tables`.
    fp_rates
        False positives per scan.
    classes
        Lesion classes to report besides ``"all"`` (each a value of ``abnormality``, or a
        ``"+"``-joined group such as ``"CIRC+SPIC+MISC"``).
    n_boot, seed, level
        Bootstrap replicates (0: none), seed and coverage; women are drawn with replacement
        and every mark, lesion and scan of a woman comes with her.

    Returns
    -------
    pandas.DataFrame
        ``abnormality, n_lesions, fp_per_scan, sensitivity, low, high``; a class without
        lesions is left out.
    """
    groups = ["all", *(classes or [])]
    codes, women = pd.factorize(
        pd.concat([scans["patient_id"], lesions["patient_id"], marks["patient_id"]])
    )
    n_s, n_l = len(scans), len(lesions)
    scan_code, lesion_code, mark_code = codes[:n_s], codes[n_s : n_s + n_l], codes[n_s + n_l :]
    is_fp = marks["lesion"].to_numpy() < 0
    fp_scores = marks["score"].to_numpy()[is_fp]
    fp_code = mark_code[is_fp]
    best = lesions["best_score"].to_numpy()
    member = {
        g: np.ones(n_l, bool)
        if g == "all"
        else lesions["abnormality"].isin(g.split("+")).to_numpy()
        for g in groups
    }

    def compute(weights: np.ndarray) -> dict[str, np.ndarray]:
        n_w = weights[scan_code].sum()
        return {
            g: _sensitivities(
                fp_scores, weights[fp_code], n_w, best[m], weights[lesion_code][m], fp_rates
            )
            for g, m in member.items()
        }

    full = compute(np.ones(len(women)))
    reps: dict[str, list[np.ndarray]] = {g: [] for g in groups}
    rng = np.random.default_rng(seed)
    for _ in range(n_boot):
        weights = np.bincount(rng.integers(0, len(women), len(women)), minlength=len(women))
        for g, v in compute(weights.astype(float)).items():
            reps[g].append(v)
    alpha = (1 - level) / 2
    rows = []
    for g in groups:
        if not member[g].any():
            continue  # a class without lesions here has no sensitivity
        stack = np.array(reps[g]) if n_boot else None
        for i, f in enumerate(fp_rates):
            low = high = np.nan
            if stack is not None:
                ok = stack[:, i][np.isfinite(stack[:, i])]
                if len(ok):
                    low, high = np.quantile(ok, [alpha, 1 - alpha])
            rows.append(
                {
                    "abnormality": g,
                    "n_lesions": int(member[g].sum()),
                    "fp_per_scan": float(f),
                    "sensitivity": float(full[g][i]),
                    "low": float(low),
                    "high": float(high),
                }
            )
    return pd.DataFrame(rows)


def froc_curve(marks: pd.DataFrame, lesions: pd.DataFrame, n_scans: int) -> pd.DataFrame:
    """The whole FROC curve: one point per distinct false-positive score (for plotting).

    Returns
    -------
    pandas.DataFrame
        ``fp_per_scan, sensitivity``, from the strictest threshold to the loosest.
    """
    fp = np.sort(marks.loc[marks["lesion"] < 0, "score"].to_numpy())[::-1]
    best = lesions["best_score"].to_numpy()
    thresholds = np.concatenate([fp, [-np.inf]])
    sens = [(best > t).mean() if len(best) else np.nan for t in thresholds]
    return pd.DataFrame({"fp_per_scan": np.arange(len(thresholds)) / n_scans, "sensitivity": sens})
