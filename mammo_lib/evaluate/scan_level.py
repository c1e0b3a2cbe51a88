"""Scan-level AUC of whole-scan scores, per lesion class and per breast tissue, with intervals
over women."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mammo_lib.evaluate.bootstrap import bootstrap_ci
from mammo_lib.evaluate.metrics import roc_auc
from mammo_lib.sources.mias import LESION_CLASSES, MASSES, TISSUES


def scan_auc_by_class(
    scores: pd.DataFrame,
    classes: Mapping[str, Sequence[str]],
    groups: Sequence[str] = ("all", *LESION_CLASSES, MASSES),
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Scan-level AUC per lesion class: the scans with a lesion of the class against every
    normal scan, with an interval over women.

    Parameters
    ----------
    scores
        ``scan_id, patient_id, abnormal`` and the score ``max``
        (:attr:`mammo_lib.scan.mias_maps.MapTables.scores`, or a bilateral reading of it).
    classes
        Class of each located lesion of every abnormal scan
        (:func:`mammo_lib.scan.mias_maps.lesion_classes`).
    groups
        ``"all"``, a class, or a ``"+"``-joined group of classes (a scan counts when any of
        its lesions is of the group).
    n_boot, seed
        Bootstrap over women.

    Returns
    -------
    pandas.DataFrame
        ``class, scans, normal_scans, auc, low, high`` (NaN for a class without scans).
    """
    normal = scores[~scores["abnormal"].astype(bool)]
    abnormal = scores[scores["abnormal"].astype(bool)]
    missing = sorted(set(abnormal["scan_id"]) - set(classes))
    if missing:
        raise ValueError(f"no lesion classes given for abnormal scans {missing[:5]}")
    rows = []
    for group in groups:
        wanted = None if group == "all" else set(group.split("+"))
        has = np.array(
            [wanted is None or bool(wanted & set(classes[s])) for s in abnormal["scan_id"]],
            dtype=bool,
        )
        chosen = pd.concat([abnormal[has], normal])
        n = int(has.sum())
        if n and len(normal):
            y = chosen["abnormal"].astype(int).to_numpy()
            ci = bootstrap_ci(roc_auc, [y, chosen["max"]], chosen["patient_id"], n_boot, seed)
            auc, low, high = ci.estimate, ci.low, ci.high
        else:
            auc = low = high = np.nan
        rows.append(
            {
                "class": group,
                "scans": n,
                "normal_scans": len(normal),
                "auc": auc,
                "low": low,
                "high": high,
            }
        )
    return pd.DataFrame(rows)


def scan_auc_by_tissue(
    scores: pd.DataFrame,
    tissue: Mapping[str, str],
    tissues: Sequence[str] = tuple(TISSUES),
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Scan-level AUC within each background tissue: the abnormal scans of a tissue against
    the normal scans of the same tissue, with an interval over women.

    Dense tissue hides lesions from readers and lights up a tile classifier's map; the AUC
    within a tissue asks how well the score ranks films that look alike in density, and the
    median score of each tissue's normal scans shows how far density alone moves it.

    Parameters
    ----------
    scores
        ``scan_id, patient_id, abnormal`` and the score ``max``, as for
        :func:`scan_auc_by_class`.
    tissue
        Background tissue of every scan (MIAS's ``F``, ``G``, ``D``:
        :data:`mammo_lib.sources.mias.TISSUES`).
    tissues
        The tissues to report, in this order.
    n_boot, seed
        Bootstrap over women.

    Returns
    -------
    pandas.DataFrame
        ``tissue, scans, normal_scans, normal_median, auc, low, high`` (NaN AUC for a tissue
        without abnormal or normal scans).
    """
    missing = sorted(set(scores["scan_id"]) - set(tissue))
    if missing:
        raise ValueError(f"no background tissue given for scans {missing[:5]}")
    kind = scores["scan_id"].map(tissue)
    rows = []
    for name in tissues:
        chosen = scores[kind == name]
        y = chosen["abnormal"].astype(bool).to_numpy()
        n, n_normal = int(y.sum()), int((~y).sum())
        if n and n_normal:
            ci = bootstrap_ci(
                roc_auc, [y.astype(int), chosen["max"]], chosen["patient_id"], n_boot, seed
            )
            auc, low, high = ci.estimate, ci.low, ci.high
        else:
            auc = low = high = np.nan
        median = float(np.median(chosen.loc[~y, "max"])) if n_normal else np.nan
        rows.append(
            {
                "tissue": name,
                "scans": n,
                "normal_scans": n_normal,
                "normal_median": median,
                "auc": auc,
                "low": low,
                "high": high,
            }
        )
    return pd.DataFrame(rows)
