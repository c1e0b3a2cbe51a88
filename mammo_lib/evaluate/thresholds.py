"""Threshold sweeps: precision, recall and specificity as the decision threshold moves."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from mammo_lib.evaluate.metrics import check_binary


def threshold_sweep(
    y_true: Sequence[int] | np.ndarray,
    y_score: Sequence[float] | np.ndarray,
    thresholds: Sequence[float] | np.ndarray | None = None,
) -> pd.DataFrame:
    """Return precision, recall, specificity, F1 and accuracy at each threshold.

    A row is predicted positive when ``y_score >= threshold``.

    Parameters
    ----------
    y_true
        Binary labels, shape ``(n,)``.
    y_score
        Positive-class scores, shape ``(n,)``.
    thresholds
        Thresholds to evaluate (default 101 points from 0 to 1).

    Returns
    -------
    pandas.DataFrame
        One row per threshold: ``threshold, precision, recall, specificity, f1, accuracy,
        predicted_positive`` (fraction of rows predicted positive). Precision is NaN where
        nothing is predicted positive.
    """
    y, s = check_binary(y_true, y_score)
    t = np.linspace(0.0, 1.0, 101) if thresholds is None else np.asarray(thresholds, float)
    pos = np.sort(s[y == 1])
    neg = np.sort(s[y == 0])
    tp = len(pos) - np.searchsorted(pos, t, side="left")
    fp = len(neg) - np.searchsorted(neg, t, side="left")
    fn = len(pos) - tp
    tn = len(neg) - fp
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), np.nan)
        recall = tp / len(pos) if len(pos) else np.full(len(t), np.nan)
        specificity = tn / len(neg) if len(neg) else np.full(len(t), np.nan)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), np.nan)
    return pd.DataFrame(
        {
            "threshold": t,
            "precision": precision,
            "recall": recall,
            "specificity": specificity,
            "f1": f1,
            "accuracy": (tp + tn) / len(y),
            "predicted_positive": (tp + fp) / len(y),
        }
    )


def threshold_for_recall(
    y_true: Sequence[int] | np.ndarray,
    y_score: Sequence[float] | np.ndarray,
    target: float,
) -> float:
    """Return the highest threshold whose recall reaches `target`.

    Parameters
    ----------
    y_true, y_score
        Binary labels and positive-class scores, shape ``(n,)``.
    target
        Recall to reach, in ``(0, 1]``.

    Returns
    -------
    float
        A threshold ``t`` among the observed scores such that predicting ``y_score >= t``
        gives recall ``>= target``, the largest such ``t`` (hence the best precision among
        them).
    """
    if not 0.0 < target <= 1.0:
        raise ValueError(f"target recall must lie in (0, 1], got {target}")
    y, s = check_binary(y_true, y_score)
    if y.sum() == 0:
        raise ValueError("recall is undefined: y_true has no positive rows")
    fpr, tpr, thr = skm.roc_curve(y, s, drop_intermediate=False)
    i = int(np.argmax(tpr >= target - 1e-12))
    return float(thr[i])


def pr_curve(
    y_true: Sequence[int] | np.ndarray, y_score: Sequence[float] | np.ndarray
) -> pd.DataFrame:
    """Return scikit-learn's precision-recall curve as a table (``threshold`` NaN at recall 0)."""
    y, s = check_binary(y_true, y_score)
    precision, recall, thr = skm.precision_recall_curve(y, s)
    return pd.DataFrame(
        {"threshold": np.append(thr, np.nan), "precision": precision, "recall": recall}
    )


def roc_curve(
    y_true: Sequence[int] | np.ndarray, y_score: Sequence[float] | np.ndarray
) -> pd.DataFrame:
    """Return scikit-learn's ROC curve as a table (``fpr, tpr, threshold``)."""
    y, s = check_binary(y_true, y_score)
    fpr, tpr, thr = skm.roc_curve(y, s)
    return pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": thr})
