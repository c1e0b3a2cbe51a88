"""Training metrics of the normal-vs-abnormal decision, accumulated over the whole epoch.

The models output class probabilities; these metrics collapse them to the probability of
"abnormal" (1 - P(normal)) and the labels to ``label > 0``, so the same metrics serve the
binary and the 5-class models. Keras accumulates them over every batch of an epoch, so the
logged values are dataset-level (the original code averaged per-batch values).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


def collapse(y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    """Return ``(abnormal label [N, 1], P(abnormal) [N, 1])`` from labels and probabilities."""
    y = ops.cast(ops.greater(ops.reshape(y_true, (-1, 1)), 0), "float32")
    p = 1.0 - ops.cast(y_pred[:, :1], "float32")
    return y, p


@keras.saving.register_keras_serializable(package="mammo")
class AbnormalRecall(keras.metrics.Recall):
    """Recall of abnormal tiles at a probability threshold (default 0.5)."""

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        return super().update_state(*collapse(y_true, y_pred), sample_weight)


@keras.saving.register_keras_serializable(package="mammo")
class AbnormalPrecision(keras.metrics.Precision):
    """Precision of the abnormal decision at a probability threshold (default 0.5)."""

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        return super().update_state(*collapse(y_true, y_pred), sample_weight)


@keras.saving.register_keras_serializable(package="mammo")
class AbnormalF1(keras.metrics.F1Score):
    """F1 score of the abnormal decision at a probability threshold (default 0.5)."""

    def __init__(self, threshold: float = 0.5, name: str = "f1", **kwargs: Any) -> None:
        kwargs.pop("average", None)
        super().__init__(average="micro", threshold=threshold, name=name, **kwargs)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        return super().update_state(*collapse(y_true, y_pred), sample_weight)


@keras.saving.register_keras_serializable(package="mammo")
class AbnormalAUC(keras.metrics.AUC):
    """Area under the ROC curve of P(abnormal)."""

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        return super().update_state(*collapse(y_true, y_pred), sample_weight)


def training_metrics(threshold: float = 0.5) -> list[keras.metrics.Metric]:
    """Return the metrics every run logs: accuracy (over all classes), recall, precision,
    F1 and ROC AUC (abnormal vs normal)."""
    return [
        keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
        AbnormalRecall(thresholds=threshold, name="recall"),
        AbnormalPrecision(thresholds=threshold, name="precision"),
        AbnormalF1(threshold=threshold, name="f1"),
        AbnormalAUC(name="auc", num_thresholds=200),
    ]
