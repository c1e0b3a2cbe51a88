"""The study's way of reporting a test metric, re-implemented to show what it measures.

The study's notebooks reset TF1's streaming metrics once, ran the shuffled test set through
in batches, and printed the mean of the values the metric returned after each batch. A
streaming metric returns the cumulative value over every batch seen so far, so the figure
is a mean of running means: the first batches count many times, the last once, and the
result changes with the order of the batches. :func:`cumulative_batch_mean` computes that
figure for given predictions and a batch order, so a chapter can show its spread over
shuffles beside the dataset-level value.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _accuracy(tp: float, fp: float, fn: float, tn: float) -> float:
    return (tp + tn) / max(tp + fp + fn + tn, 1.0)


def _recall(tp: float, fp: float, fn: float, tn: float) -> float:
    return tp / (tp + fn) if tp + fn else 0.0


#: Metrics from cumulative confusion counts ``(tp, fp, fn, tn)``.
STREAMING: dict[str, Callable[[float, float, float, float], float]] = {
    "accuracy": _accuracy,
    "recall": _recall,
}


def cumulative_batch_mean(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    batch_size: int = 32,
    *,
    metric: str = "accuracy",
    order: np.ndarray | None = None,
) -> float:
    """The mean over batches of a streaming (cumulative) binary metric, as the study reported.

    Parameters
    ----------
    y_true, y_pred
        Binary labels and predictions (0 normal, 1 abnormal), one per tile.
    batch_size
        The study's 32.
    metric
        ``"accuracy"`` or ``"recall"`` (TF1 ``tf.metrics.*``: recall is 0 until a positive
        has been seen).
    order
        Permutation of the tiles (the shuffle); None keeps the given order.

    Returns
    -------
    float
        ``mean_k m(batches 1..k)`` over the batches ``k``.
    """
    if metric not in STREAMING:
        raise ValueError(f"metric must be one of {sorted(STREAMING)}, got {metric!r}")
    y_true = np.asarray(y_true).astype(bool)
    y_pred = np.asarray(y_pred).astype(bool)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError("y_true and y_pred must be 1-D arrays of the same length")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if order is not None:
        y_true, y_pred = y_true[order], y_pred[order]
    counts = np.stack(
        [y_true & y_pred, ~y_true & y_pred, y_true & ~y_pred, ~y_true & ~y_pred], axis=1
    ).astype(np.float64)
    ends = np.minimum(np.arange(batch_size, len(y_true) + batch_size, batch_size), len(y_true))
    running = np.cumsum(counts, axis=0)[ends - 1]
    fn = STREAMING[metric]
    return float(np.mean([fn(*row) for row in running]))


def shuffled_batch_means(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    n_shuffles: int = 200,
    batch_size: int = 32,
    *,
    metric: str = "accuracy",
    seed: int = 0,
) -> np.ndarray:
    """:func:`cumulative_batch_mean` under `n_shuffles` random batch orders (seeded)."""
    rng = np.random.default_rng(seed)
    return np.array(
        [
            cumulative_batch_mean(
                y_true, y_pred, batch_size, metric=metric, order=rng.permutation(len(y_true))
            )
            for _ in range(n_shuffles)
        ]
    )
