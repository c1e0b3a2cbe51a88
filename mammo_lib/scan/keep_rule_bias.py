"""Where a tile classifier's whole-scan map goes wrong: the normals it was never shown.

The study's normal tiles pass a keep-rule (mean, variance, bright and dark pixel counts; see
:mod:`mammo_lib.extract.normals`), which rejects most fatty, dark or near-edge tissue. A
classifier trained on them has seen such tissue only inside abnormal crops, if at all, so on
a whole scan it may call it abnormal. :func:`cell_keep_table` applies the rule to every
map cell's footprint on the scan (the crop the classifier saw there), and
:func:`keep_rule_bias` says how the map's probabilities differ between the cells the rule
would keep as normal training tiles and those it would reject.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from mammo_lib.extract.normals import KeepRule, tile_stats
from mammo_lib.scan.predictor import ScanPrediction


def cell_keep_table(
    prediction: ScanPrediction, rule: KeepRule, *, step: int = 2, tissue_only: bool = True
) -> pd.DataFrame:
    """The keep-rule's verdict on the footprint of every map cell, beside its probability.

    Parameters
    ----------
    prediction
        A whole-scan prediction (its ``raw_map`` if present, else ``prob_map``, is used, so
        cells outside the breast keep their own probabilities).
    rule
        The keep-rule of the scan's digitizer (``KEEP_RULES["CBIS"]``, ``KEEP_RULES["MIAS"]``).
    step
        Pixel step inside each footprint (counts are scaled to the area, see ``tile_stats``).
    tissue_only
        Only cells inside the breast (``prediction.tissue``), when the prediction has a mask.

    Returns
    -------
    pandas.DataFrame
        One row per cell: ``row``, ``col``, ``probability``, ``mean``, ``var``, ``kept``,
        ``reason``.
    """
    if step < 1:
        raise ValueError(f"step must be at least 1, got {step}")
    image = prediction.scan.image
    geometry = prediction.geometry
    values = prediction.raw_map if prediction.raw_map is not None else prediction.prob_map
    cells = np.ones(values.shape, bool)
    if tissue_only and prediction.tissue is not None:
        cells = np.asarray(prediction.tissue, bool)
    rows, cols = np.nonzero(cells)
    centre_r, centre_c = geometry.cell_centres(rows, cols)
    half_r = geometry.tile[0] / geometry.scale[0] / 2
    half_c = geometry.tile[1] / geometry.scale[1] / 2
    out = []
    for r, c, cr, cc in zip(rows, cols, centre_r, centre_c, strict=True):
        r0, r1 = max(0, int(round(cr - half_r))), min(image.shape[0], int(round(cr + half_r)))
        c0, c1 = max(0, int(round(cc - half_c))), min(image.shape[1], int(round(cc + half_c)))
        if r1 - r0 < 2 or c1 - c0 < 2:
            continue
        stats = tile_stats(image[r0:r1:step, c0:c1:step], rule)
        out.append(
            {
                "row": int(r),
                "col": int(c),
                "probability": float(values[r, c]),
                "mean": stats.mean,
                "var": stats.var,
                "kept": stats.kept,
                "reason": stats.reason,
            }
        )
    return pd.DataFrame(out, columns=["row", "col", "probability", "mean", "var", "kept", "reason"])


def keep_rule_bias(tables: Iterable[pd.DataFrame]) -> dict[str, float]:
    """Summarise :func:`cell_keep_table` over scans.

    Returns
    -------
    dict
        ``cells``, ``rejected_fraction``, mean probability of ``kept`` and ``rejected`` cells,
        ``auc_rejected`` (how well the probability picks out the cells the rule rejects: 0.5
        is no relation, 1 means every rejected cell scores above every kept one; NaN when one
        group is empty) and ``spearman_mean`` (rank correlation of probability and the
        cell's mean grey level).
    """
    table = pd.concat(list(tables), ignore_index=True)
    if table.empty:
        raise ValueError("no map cells to summarise")
    kept = table["kept"].to_numpy(bool)
    probability = table["probability"].to_numpy(float)
    both = kept.any() and (~kept).any()
    return {
        "cells": int(len(table)),
        "rejected_fraction": float((~kept).mean()),
        "kept": float(probability[kept].mean()) if kept.any() else float("nan"),
        "rejected": float(probability[~kept].mean()) if (~kept).any() else float("nan"),
        "auc_rejected": float(roc_auc_score(~kept, probability)) if both else float("nan"),
        "spearman_mean": float(table["probability"].corr(table["mean"], method="spearman")),
    }


#: Readable column names of :func:`bias_table`, for the keys of :func:`keep_rule_bias`.
BIAS_COLUMNS: dict[str, str] = {
    "cells": "breast cells",
    "rejected_fraction": "rejected by the keep-rule",
    "kept": "mean P(abnormal), kept",
    "rejected": "mean P(abnormal), rejected",
    "auc_rejected": "AUC: P picks rejected cells",
    "spearman_mean": "Spearman(P, mean grey)",
}


def bias_table(summaries: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """:func:`keep_rule_bias` summaries of several scan sets as one table.

    Parameters
    ----------
    summaries
        Scan set name -> its summary.

    Returns
    -------
    pandas.DataFrame
        One row per scan set (index named ``scans``), columns :data:`BIAS_COLUMNS`' values,
        the cell count an integer.
    """
    if not summaries:
        raise ValueError("no scan set to tabulate")
    table = pd.DataFrame({name: dict(s) for name, s in summaries.items()}).T
    missing = [k for k in BIAS_COLUMNS if k not in table]
    if missing:
        raise KeyError(f"keep-rule summaries lack {missing}")
    table = table[list(BIAS_COLUMNS)].rename(columns=BIAS_COLUMNS)
    table["breast cells"] = table["breast cells"].astype(int)
    return table.rename_axis("scans")
