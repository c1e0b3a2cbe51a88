"""Dataset-level classification metrics: binary, 5-class and the collapsed views.

Every function here takes the predictions for a whole dataset at once; nothing is averaged
over batches. The study reported the mean over its shuffled test batches of TF1 streaming
metrics reset once before the loop, so each batch contributed the cumulative metric of all
batches so far: the first batches weigh most and the figure depends on the batch order (the
same checkpoint gave .9555 / .8492 on a second evaluation against the published .9571 /
.9012; see :mod:`mammo_lib.evaluate.published`). The numbers here come from scikit-learn's
metric functions.

Label codes follow the study: ``0`` NORMAL, ``1`` BENIGN calcification, ``2`` BENIGN mass,
``3`` MALIGNANT calcification, ``4`` MALIGNANT mass; the binary label is ``code > 0``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn import metrics as skm

#: The study's five classes, by code.
CLASS_NAMES: dict[int, str] = {
    0: "NORMAL",
    1: "BENIGN calcification",
    2: "BENIGN mass",
    3: "MALIGNANT calcification",
    4: "MALIGNANT mass",
}

#: Collapsed two-class views of the five codes: ``(rows kept, codes counted as positive)``.
#: ``normal_abnormal`` keeps every row; the other two keep the abnormal rows only.
COLLAPSED_VIEWS: dict[str, tuple[frozenset[int], frozenset[int]]] = {
    "normal_abnormal": (frozenset({0, 1, 2, 3, 4}), frozenset({1, 2, 3, 4})),
    "calc_mass": (frozenset({1, 2, 3, 4}), frozenset({2, 4})),
    "benign_malignant": (frozenset({1, 2, 3, 4}), frozenset({3, 4})),
}

#: Names of the binary metrics returned by :func:`binary_metrics`, in display order.
BINARY_METRICS: tuple[str, ...] = (
    "accuracy",
    "recall",
    "specificity",
    "precision",
    "f1",
    "roc_auc",
    "pr_auc",
)


def check_binary(
    y_true: Sequence[int] | np.ndarray, y_score: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return labels and scores as 1-d int and float arrays; raise ValueError if malformed."""
    y = np.asarray(y_true)
    s = np.asarray(y_score, dtype=float)
    if y.ndim != 1 or s.ndim != 1 or len(y) != len(s):
        raise ValueError(
            f"y_true and y_score must be 1-d of equal length, got shapes {y.shape} and {s.shape}"
        )
    if len(y) == 0:
        raise ValueError("no predictions: y_true is empty")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"binary labels must be 0 or 1, got values {np.unique(y)[:10]}")
    if not np.isfinite(s).all():
        raise ValueError(f"y_score holds {int((~np.isfinite(s)).sum())} non-finite values")
    return y.astype(int), s


def roc_auc(y_true: Sequence[int] | np.ndarray, y_score: Sequence[float] | np.ndarray) -> float:
    """ROC AUC (scikit-learn's), NaN without a warning when only one class is present."""
    y = np.asarray(y_true)
    if len(np.unique(y)) < 2:
        return float("nan")
    return float(skm.roc_auc_score(y, y_score))


def binary_metrics(
    y_true: Sequence[int] | np.ndarray,
    y_score: Sequence[float] | np.ndarray,
    threshold: float = 0.5,
) -> dict[str, float]:
    """Return the binary metrics of one whole dataset.

    Parameters
    ----------
    y_true
        Labels, shape ``(n,)``, values 0 (normal) or 1 (abnormal).
    y_score
        Scores for the positive class, shape ``(n,)`` (probabilities, or any monotone score).
    threshold
        A row is predicted positive when ``y_score >= threshold``.

    Returns
    -------
    dict
        ``accuracy, recall, specificity, precision, f1`` at the threshold, the threshold-free
        ``roc_auc`` and ``pr_auc`` (average precision), and the counts ``n, n_pos, tp, fp, tn,
        fn``. A metric undefined on this data (AUC with one class present, precision with no
        predicted positive) is NaN.
    """
    y, s = check_binary(y_true, y_score)
    pred = (s >= threshold).astype(int)
    tn, fp, fn, tp = (int(v) for v in skm.confusion_matrix(y, pred, labels=[0, 1]).ravel())
    both = 0 < tp + fn < len(y)

    def ratio(num: int, den: int) -> float:
        return num / den if den else float("nan")

    # Thresholded metrics from the one confusion matrix (their definitions, as in
    # sklearn's recall_score etc.; the tests check they agree); AUCs from sklearn.
    out = {
        "accuracy": ratio(tp + tn, len(y)),
        "recall": ratio(tp, tp + fn),
        "specificity": ratio(tn, tn + fp),
        "precision": ratio(tp, tp + fp),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
        "roc_auc": float(skm.roc_auc_score(y, s)) if both else float("nan"),
        "pr_auc": float(skm.average_precision_score(y, s)) if both else float("nan"),
    }
    out.update(n=len(y), n_pos=tp + fn, tp=tp, fp=fp, tn=tn, fn=fn)
    return out


def confusion_table(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    labels: Sequence[int] | None = None,
    names: dict[int, str] | None = None,
) -> pd.DataFrame:
    """Return the confusion matrix as a table: rows true class, columns predicted class.

    Parameters
    ----------
    y_true, y_pred
        Class codes, shape ``(n,)``.
    labels
        The codes to tabulate, in order (default: the codes of :data:`CLASS_NAMES` when every
        value is one of them, else the sorted union of both arrays).
    names
        Display names per code (default :data:`CLASS_NAMES` for those codes).
    """
    yt, yp = np.asarray(y_true), np.asarray(y_pred)
    if labels is None:
        present = np.union1d(yt, yp)
        labels = list(CLASS_NAMES) if np.isin(present, list(CLASS_NAMES)).all() else present
    labels = [int(v) for v in labels]
    names = CLASS_NAMES if names is None else names
    cm = skm.confusion_matrix(yt, yp, labels=labels)
    index = pd.Index([names.get(v, str(v)) for v in labels], name="true")
    columns = pd.Index([names.get(v, str(v)) for v in labels], name="predicted")
    return pd.DataFrame(cm, index=index, columns=columns)


def _check_proba(y_true: np.ndarray, proba: np.ndarray, n_classes: int) -> None:
    if proba.ndim != 2 or proba.shape != (len(y_true), n_classes):
        raise ValueError(
            f"proba must have shape (n, {n_classes}) = ({len(y_true)}, {n_classes}), "
            f"got {proba.shape}"
        )
    if not np.isfinite(proba).all():
        raise ValueError("proba holds non-finite values")


def multiclass_metrics(
    y_true: Sequence[int] | np.ndarray,
    proba: np.ndarray,
    labels: Sequence[int] = tuple(CLASS_NAMES),
) -> dict[str, float]:
    """Return the 5-class metrics of one whole dataset, predicted class = argmax.

    Parameters
    ----------
    y_true
        Class codes, shape ``(n,)``.
    proba
        Class probabilities, shape ``(n, len(labels))``, column ``j`` for ``labels[j]``.
    labels
        The class codes in column order.

    Returns
    -------
    dict
        ``accuracy``, ``balanced_accuracy`` (mean per-class recall over classes present),
        ``macro_precision``, ``macro_f1``, ``roc_auc_ovr`` (macro one-vs-rest, NaN unless every
        class is present), and the normal-vs-abnormal view of the same predictions
        (``binary_*``, abnormal score ``1 - p(NORMAL)``, threshold 0.5) when code 0 is a label.
    """
    y = np.asarray(y_true).astype(int)
    p = np.asarray(proba, dtype=float)
    labels = [int(v) for v in labels]
    _check_proba(y, p, len(labels))
    if not np.isin(y, labels).all():
        raise ValueError(f"y_true holds codes outside {labels}: {np.setdiff1d(y, labels)}")
    pred = np.asarray(labels)[p.argmax(axis=1)]
    present = sorted(set(y.tolist()))
    out = {
        "accuracy": skm.accuracy_score(y, pred),
        "balanced_accuracy": skm.recall_score(
            y, pred, labels=present, average="macro", zero_division=0
        ),
        "macro_precision": skm.precision_score(
            y, pred, labels=present, average="macro", zero_division=0
        ),
        "macro_f1": skm.f1_score(y, pred, labels=present, average="macro", zero_division=0),
        "roc_auc_ovr": float("nan"),
    }
    if len(present) == len(labels):
        norm = p / p.sum(axis=1, keepdims=True)
        out["roc_auc_ovr"] = skm.roc_auc_score(
            y, norm, multi_class="ovr", average="macro", labels=labels
        )
    out = {k: float(v) for k, v in out.items()}
    if 0 in labels:
        yb, sb = collapse(y, p, "normal_abnormal", labels=labels)
        out.update({f"binary_{k}": v for k, v in binary_metrics(yb, sb).items()})
    return out


def per_class_table(
    y_true: Sequence[int] | np.ndarray,
    proba: np.ndarray,
    labels: Sequence[int] = tuple(CLASS_NAMES),
    names: dict[int, str] | None = None,
) -> pd.DataFrame:
    """Return per-class precision, recall, F1, support and one-vs-rest AUC (argmax prediction)."""
    y = np.asarray(y_true).astype(int)
    p = np.asarray(proba, dtype=float)
    labels = [int(v) for v in labels]
    _check_proba(y, p, len(labels))
    names = CLASS_NAMES if names is None else names
    pred = np.asarray(labels)[p.argmax(axis=1)]
    prec, rec, f1, support = skm.precision_recall_fscore_support(
        y, pred, labels=labels, zero_division=np.nan
    )
    aucs = []
    for j, code in enumerate(labels):
        pos = (y == code).astype(int)
        aucs.append(skm.roc_auc_score(pos, p[:, j]) if 0 < pos.sum() < len(pos) else np.nan)
    return pd.DataFrame(
        {
            "class": [names.get(c, str(c)) for c in labels],
            "precision": prec,
            "recall": rec,
            "f1": f1,
            "roc_auc_ovr": aucs,
            "support": support.astype(int),
        },
        index=pd.Index(labels, name="code"),
    )


def collapse(
    y_true: Sequence[int] | np.ndarray,
    proba: np.ndarray | None,
    view: str,
    labels: Sequence[int] = tuple(CLASS_NAMES),
) -> tuple[np.ndarray, np.ndarray | None]:
    """Collapse 5-class codes (and probabilities) into one two-class view.

    Parameters
    ----------
    y_true
        Class codes, shape ``(n,)``.
    proba
        Class probabilities, shape ``(n, len(labels))``, or None to collapse labels only.
    view
        One of :data:`COLLAPSED_VIEWS`: ``normal_abnormal`` (all rows), ``calc_mass``
        (abnormal rows; mass is positive), ``benign_malignant`` (abnormal rows; malignant is
        positive).
    labels
        The class codes in the column order of `proba`.

    Returns
    -------
    y_binary, score
        Binary labels of the kept rows, and the positive-group score among them: the summed
        probability of the positive codes divided by that of all kept codes (for
        ``normal_abnormal`` that is ``1 - p(NORMAL)``). ``score`` is None when `proba` is None.
    """
    if view not in COLLAPSED_VIEWS:
        raise ValueError(f"unknown view {view!r}; known: {', '.join(COLLAPSED_VIEWS)}")
    keep_codes, pos_codes = COLLAPSED_VIEWS[view]
    y = np.asarray(y_true).astype(int)
    keep = np.isin(y, list(keep_codes))
    yb = np.isin(y[keep], list(pos_codes)).astype(int)
    if proba is None:
        return yb, None
    p = np.asarray(proba, dtype=float)
    labels = [int(v) for v in labels]
    _check_proba(y, p, len(labels))
    cols_keep = [j for j, c in enumerate(labels) if c in keep_codes]
    cols_pos = [j for j, c in enumerate(labels) if c in pos_codes]
    denom = p[keep][:, cols_keep].sum(axis=1)
    num = p[keep][:, cols_pos].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(denom > 0, num / np.where(denom > 0, denom, 1.0), 0.5)
    return yb, score


def collapsed_metrics(
    y_true: Sequence[int] | np.ndarray,
    proba: np.ndarray,
    labels: Sequence[int] = tuple(CLASS_NAMES),
    threshold: float = 0.5,
) -> pd.DataFrame:
    """Return :func:`binary_metrics` for every collapsed view, one row per view."""
    rows = {}
    for view in COLLAPSED_VIEWS:
        yb, sb = collapse(y_true, proba, view, labels=labels)
        rows[view] = (
            binary_metrics(yb, sb, threshold=threshold) if len(yb) else {"n": 0, "n_pos": 0}
        )
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("view")
