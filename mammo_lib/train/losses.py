"""The study's weighted cross-entropy: positive (abnormal) examples weigh W, normals 1."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


def class_weights(y_true: Any, pos_weight: float) -> Any:
    """Return per-example weights: `pos_weight` where the label is > 0 (abnormal), else 1."""
    positive = ops.cast(ops.greater(ops.reshape(y_true, (-1,)), 0), "float32")
    return 1.0 + (float(pos_weight) - 1.0) * positive


def weighted_cross_entropy(
    y_true: Any, y_pred: Any, pos_weight: float = 1.0, from_logits: bool = False
) -> Any:
    """Per-example sparse cross-entropy, weighted by :func:`class_weights`.

    Parameters
    ----------
    y_true
        Integer labels ``[N]`` (binary 0/1 or the five class codes; every code > 0 is
        abnormal).
    y_pred
        Class probabilities (or logits with `from_logits`) ``[N, n_classes]``.
    pos_weight
        The study's W: the weight of abnormal examples (it swept 1-7).
    from_logits
        Whether `y_pred` holds logits.

    Returns
    -------
    tensor
        ``[N]`` weighted losses; their mean is the study's loss
        (``tf.losses.sparse_softmax_cross_entropy`` with weights ``1 + (W - 1) * (y > 0)``).
    """
    labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
    ce = keras.losses.sparse_categorical_crossentropy(
        labels, ops.cast(y_pred, "float32"), from_logits=from_logits
    )
    return ce * class_weights(labels, pos_weight)


@keras.saving.register_keras_serializable(package="mammo")
class WeightedCrossEntropy(keras.losses.Loss):
    """Keras loss wrapping :func:`weighted_cross_entropy` (mean over the batch).

    Parameters
    ----------
    pos_weight
        Weight W of abnormal examples.
    from_logits
        Whether predictions are logits (the registered models output probabilities).
    """

    def __init__(
        self,
        pos_weight: float = 1.0,
        from_logits: bool = False,
        name: str = "weighted_cross_entropy",
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        self.pos_weight = float(pos_weight)
        self.from_logits = bool(from_logits)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return weighted_cross_entropy(y_true, y_pred, self.pos_weight, self.from_logits)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "pos_weight": self.pos_weight,
            "from_logits": self.from_logits,
        }
