"""The shortcut test: can scanner-level image statistics alone predict the label?

The study's normal tiles came from DDSM's film digitizers and its abnormal tiles from
CBIS-DDSM's re-processed DICOMs. A ConvNet can then score well by recognising the pipeline
instead of the disease (Geirhos et al. 2020; Zech et al. 2018). This module computes, per
tile, statistics that describe the acquisition rather than the anatomy (intensity range and
percentiles, contrast, histogram shape, grey levels used, saturated and black pixels, border
content, fine-grain noise), and cross-validates a simple scikit-learn classifier on them,
grouped by patient. An AUC well above 0.5 means the classes are separable without looking
at any lesion, and a ConvNet's score on that data cannot be taken as detection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from mammo_lib.evaluate.bootstrap import Interval, bootstrap_ci
from mammo_lib.evaluate.metrics import roc_auc

#: Quantiles reported per tile, as feature names ``p01`` ... ``p99``.
QUANTILES: tuple[float, ...] = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
#: Histogram bins over the normalised range ``[0, 1]`` (entropy, grey levels used).
HIST_BINS = 256
#: Classifiers :func:`make_classifier` knows.
CLASSIFIERS: tuple[str, ...] = ("logistic", "boosting")


def _as_stack(tiles: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    stack = np.asarray(tiles)
    if stack.ndim == 4:
        stack = stack.mean(axis=-1) if stack.shape[-1] > 1 else stack[..., 0]
    if stack.ndim != 3:
        raise ValueError(f"tiles must have shape (n, h, w) or (n, h, w, c), got {stack.shape}")
    if min(stack.shape[1:]) < 3:
        raise ValueError(f"tiles must be at least 3x3 pixels, got {stack.shape[1:]}")
    if len(stack) == 0:
        raise ValueError("no tiles given")
    return stack


def _full_scale(stack: np.ndarray, max_value: float | None) -> float:
    if max_value is not None:
        if max_value <= 0:
            raise ValueError(f"max_value must be positive, got {max_value}")
        return float(max_value)
    if np.issubdtype(stack.dtype, np.integer):
        return float(np.iinfo(stack.dtype).max)
    return 1.0 if float(np.nanmax(stack)) <= 1.0 else 255.0


def tile_statistics(
    tiles: np.ndarray | Sequence[np.ndarray],
    max_value: float | None = None,
    border: float = 0.05,
    dark: float = 0.01,
    saturated: float = 0.99,
    chunk: int = 64,
) -> pd.DataFrame:
    """Return scanner-level image statistics, one row per tile.

    Parameters
    ----------
    tiles
        Tiles, shape ``(n, h, w)`` or ``(n, h, w, c)`` (channels are averaged), any numeric
        dtype, all the same size.
    max_value
        The full-scale value that maps to 1 (default: the integer dtype's maximum, e.g. 255
        for ``uint8``; for floats 1 if no value exceeds 1, else 255). The same scale must be
        used for every tile compared, so that differences in range stay visible.
    border
        Width of the border band, as a fraction of the tile side.
    dark, saturated
        Normalised levels at or below / at or above which a pixel counts as black / saturated.
    chunk
        Tiles processed at once (memory only).

    Returns
    -------
    pandas.DataFrame
        Columns: ``mean, std, skew, kurtosis, min, max, p01 ... p99, contrast`` (p99 - p01),
        ``iqr, entropy`` (bits, of a 256-bin histogram), ``levels_used`` (fraction of those
        bins occupied), ``frac_dark, frac_saturated, border_mean, border_minus_center,
        border_frac_dark, gradient`` (mean absolute neighbour difference), ``laplacian_std``.
        All on the normalised scale.
    """
    stack = _as_stack(tiles)
    scale = _full_scale(stack, max_value)
    n, h, w = stack.shape
    b = max(1, round(border * min(h, w)))
    band = np.ones((h, w), bool)
    band[b : h - b, b : w - b] = False
    rows = []
    for start in range(0, n, chunk):
        x = stack[start : start + chunk].astype(np.float64) / scale
        m = len(x)
        flat = x.reshape(m, -1)
        mean = flat.mean(axis=1)
        centred = flat - mean[:, None]
        var = (centred**2).mean(axis=1)
        std = np.sqrt(var)
        with np.errstate(invalid="ignore", divide="ignore"):
            skew = np.where(std > 0, (centred**3).mean(axis=1) / np.maximum(std, 1e-12) ** 3, 0)
            kurt = np.where(
                std > 0, (centred**4).mean(axis=1) / np.maximum(var, 1e-24) ** 2 - 3.0, 0
            )
        q = np.quantile(flat, QUANTILES, axis=1)
        bins = np.clip((flat * HIST_BINS).astype(np.int64), 0, HIST_BINS - 1)
        offsets = (np.arange(m) * HIST_BINS)[:, None]
        hist = np.bincount((bins + offsets).ravel(), minlength=m * HIST_BINS)
        prob = hist.reshape(m, HIST_BINS) / flat.shape[1]
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy = -np.where(prob > 0, prob * np.log2(prob), 0.0).sum(axis=1)
        border_px = x[:, band]
        center_px = x[:, ~band] if (~band).any() else flat
        gx = np.abs(np.diff(x, axis=2)).mean(axis=(1, 2))
        gy = np.abs(np.diff(x, axis=1)).mean(axis=(1, 2))
        lap = (
            4 * x[:, 1:-1, 1:-1]
            - x[:, :-2, 1:-1]
            - x[:, 2:, 1:-1]
            - x[:, 1:-1, :-2]
            - x[:, 1:-1, 2:]
        )
        feats = {
            "mean": mean,
            "std": std,
            "skew": skew,
            "kurtosis": kurt,
            "min": flat.min(axis=1),
            "max": flat.max(axis=1),
        }
        feats.update({f"p{round(100 * qq):02d}": q[i] for i, qq in enumerate(QUANTILES)})
        feats.update(
            contrast=q[-1] - q[0],
            iqr=q[QUANTILES.index(0.75)] - q[QUANTILES.index(0.25)],
            entropy=entropy,
            levels_used=(hist.reshape(m, HIST_BINS) > 0).mean(axis=1),
            frac_dark=(flat <= dark).mean(axis=1),
            frac_saturated=(flat >= saturated).mean(axis=1),
            border_mean=border_px.mean(axis=1),
            border_minus_center=border_px.mean(axis=1) - center_px.mean(axis=1),
            border_frac_dark=(border_px <= dark).mean(axis=1),
            gradient=(gx + gy) / 2,
            laplacian_std=lap.reshape(m, -1).std(axis=1),
        )
        rows.append(pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in feats.items()}))
    return pd.concat(rows, ignore_index=True)


def make_classifier(kind: str = "logistic", seed: int = 0) -> Pipeline:
    """Return the shortcut classifier as a scikit-learn pipeline.

    Parameters
    ----------
    kind
        ``"logistic"``: standardised features, L2 logistic regression; ``"boosting"``:
        histogram gradient boosting (catches non-linear cues such as a narrow intensity band).
    seed
        Random state of the estimator.
    """
    if kind == "logistic":
        clf: ClassifierMixin = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
        return make_pipeline(StandardScaler(), clf)
    if kind == "boosting":
        clf = HistGradientBoostingClassifier(
            max_iter=150, learning_rate=0.1, max_leaf_nodes=15, random_state=seed
        )
        return make_pipeline(clf)
    raise ValueError(f"unknown classifier {kind!r}; known: {', '.join(CLASSIFIERS)}")


@dataclass(frozen=True)
class ShortcutResult:
    """Outcome of :func:`shortcut_test`.

    Attributes
    ----------
    auc
        Out-of-fold ROC AUC with its patient-bootstrap interval.
    scores
        Out-of-fold probability of the positive class per row, shape ``(n,)``.
    feature_auc
        Per-statistic ROC AUC of the statistic alone, folded to ``>= 0.5`` (how well it
        separates in either direction), sorted descending.
    classifier
        The classifier kind.
    n_splits
        Folds of the patient-grouped cross-validation.
    folds
        Test fold of each row, shape ``(n,)``: a row is scored by the model fitted on the
        rows of every other fold.
    """

    auc: Interval
    scores: np.ndarray
    feature_auc: pd.Series
    classifier: str
    n_splits: int
    folds: np.ndarray


def shortcut_test(
    features: pd.DataFrame,
    labels: Sequence[int] | np.ndarray,
    groups: Sequence | np.ndarray,
    classifier: str = "logistic",
    n_splits: int = 5,
    seed: int = 0,
    n_boot: int = 1000,
    level: float = 0.95,
) -> ShortcutResult:
    """Cross-validate a classifier on image statistics, grouped by patient; return its AUC.

    Parameters
    ----------
    features
        One row per tile (e.g. from :func:`tile_statistics`).
    labels
        Binary label per tile, shape ``(n,)``.
    groups
        Patient id per tile: no patient has tiles in both a training and a test fold, and the
        bootstrap resamples patients.
    classifier
        See :func:`make_classifier`.
    n_splits
        Folds (stratified by label, grouped by patient).
    seed
        Seed of the fold assignment, the classifier and the bootstrap.
    n_boot, level
        Bootstrap replicates and coverage of the interval.
    """
    X = pd.DataFrame(features).reset_index(drop=True)
    y = np.asarray(labels).astype(int)
    g = np.asarray(groups)
    if not (len(X) == len(y) == len(g)):
        raise ValueError(f"features, labels, groups differ in length: {len(X)}, {len(y)}, {len(g)}")
    if set(np.unique(y)) != {0, 1}:
        raise ValueError(f"the shortcut test needs both labels 0 and 1, got {np.unique(y)}")
    bad = ~np.isfinite(X.to_numpy(dtype=float))
    if bad.any():
        cols = list(X.columns[bad.any(axis=0)])
        raise ValueError(f"features hold non-finite values in columns {cols}")
    for cls in (0, 1):
        n_groups = len(np.unique(g[y == cls]))
        if n_groups < n_splits:
            raise ValueError(f"label {cls} has {n_groups} patients, fewer than n_splits={n_splits}")
    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    splits = list(cv.split(X, y, groups=g))
    folds = np.empty(len(y), dtype=int)
    for fold, (_, test) in enumerate(splits):
        folds[test] = fold
    model = make_classifier(classifier, seed)
    # Tile-statistics tables are small: one OpenMP thread is faster than many that spin on a
    # shared machine (gradient boosting's default).
    with threadpool_limits(limits=1, user_api="openmp"):
        proba = cross_val_predict(model, X, y, cv=splits, method="predict_proba")[:, 1]
    auc = bootstrap_ci(roc_auc, [y, proba], groups=g, n_boot=n_boot, seed=seed, level=level)
    per_feature = {}
    for col in X.columns:
        a = roc_auc_score(y, X[col].to_numpy())
        per_feature[col] = max(a, 1.0 - a)
    feature_auc = pd.Series(per_feature, name="auc").sort_values(ascending=False)
    return ShortcutResult(auc, proba, feature_auc, classifier, n_splits, folds)


def _source_groups(name: str, groups: Sequence | np.ndarray, n: int) -> np.ndarray:
    g = np.asarray(groups)
    if len(g) != n:
        raise ValueError(f"source {name!r}: {n} tiles but {len(g)} patient ids")
    return np.array([f"{name}:{x}" for x in g], dtype=object)


def source_test(
    tiles_a: np.ndarray | Sequence[np.ndarray],
    groups_a: Sequence | np.ndarray,
    tiles_b: np.ndarray | Sequence[np.ndarray],
    groups_b: Sequence | np.ndarray,
    names: tuple[str, str] = ("a", "b"),
    max_ratio: float | None = None,
    classifier: str = "logistic",
    n_splits: int = 5,
    seed: int = 0,
    n_boot: int = 1000,
    level: float = 0.95,
    max_value: float | None = None,
) -> tuple[ShortcutResult, pd.DataFrame]:
    """Test whether image statistics tell which of two sources a tile came from.

    With tiles of one kind (e.g. normal tissue) from two scanner pipelines, an AUC well above
    0.5 means the pipeline alone is recognisable. Source `b` is the positive class; patient
    ids are prefixed by the source name (``"<name>:<id>"``), so equal ids in the two sources
    stay distinct patients.

    Parameters
    ----------
    tiles_a, tiles_b
        Tiles of each source, all of one size (see :func:`tile_statistics`).
    groups_a, groups_b
        Patient id per tile of each source.
    names
        Names of the two sources, distinct.
    max_ratio
        If set, the larger source is subsampled (seeded, without replacement) to at most
        ``max_ratio`` times the tiles of the smaller one; the AUC is rank-based, so class
        imbalance does not bias it, and this only saves time.
    classifier, n_splits, seed, n_boot, level
        As for :func:`shortcut_test`.
    max_value
        Full-scale value shared by both sources (see :func:`tile_statistics`).

    Returns
    -------
    result, meta
        The :class:`ShortcutResult` and one row per tile used: ``source`` (its name),
        ``index`` (row in that source's input), ``patient_id``, ``group`` (the prefixed id),
        ``label`` (1 for source `b`), ``fold`` and the out-of-fold ``probability``.
    """
    if len(set(names)) != 2:
        raise ValueError(f"the two sources need distinct names, got {names}")
    if max_ratio is not None and max_ratio < 1:
        raise ValueError(f"max_ratio must be at least 1, got {max_ratio}")
    stacks, metas = [], []
    for label, (name, tiles, groups) in enumerate(
        zip(names, (tiles_a, tiles_b), (groups_a, groups_b), strict=True)
    ):
        stack = np.asarray(tiles)
        if len(stack) == 0:
            raise ValueError(f"source {name!r} has no tiles")
        prefixed = _source_groups(name, groups, len(stack))
        stacks.append(stack)
        metas.append(
            pd.DataFrame(
                {
                    "source": name,
                    "index": np.arange(len(stack)),
                    "patient_id": np.asarray(groups),
                    "group": prefixed,
                    "label": label,
                }
            )
        )
    if stacks[0].shape[1:] != stacks[1].shape[1:]:
        raise ValueError(
            f"sources {names[0]!r} and {names[1]!r} have tiles of different shapes: "
            f"{stacks[0].shape[1:]} and {stacks[1].shape[1:]}"
        )
    if max_ratio is not None:
        rng = np.random.default_rng(seed)
        small, large = sorted((0, 1), key=lambda i: len(stacks[i]))
        cap = max(1, int(max_ratio * len(stacks[small])))
        if len(stacks[large]) > cap:
            keep = np.sort(rng.choice(len(stacks[large]), size=cap, replace=False))
            stacks[large] = stacks[large][keep]
            metas[large] = metas[large].iloc[keep].reset_index(drop=True)
    meta = pd.concat(metas, ignore_index=True)
    features = tile_statistics(np.concatenate(stacks), max_value=max_value)
    result = shortcut_test(
        features,
        meta["label"].to_numpy(),
        meta["group"].to_numpy(),
        classifier=classifier,
        n_splits=n_splits,
        seed=seed,
        n_boot=n_boot,
        level=level,
    )
    return result, meta.assign(fold=result.folds, probability=result.scores)
