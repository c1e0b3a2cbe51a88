"""Layer groups shared by the models: conv + batch norm + ReLU, and the classifier head."""

from __future__ import annotations

import keras
from keras import layers

#: L2 scales of the study, in TF1 convention (``l2_regularizer(scale)``: scale * sum(w**2) / 2).
L2_CONV = 1e-5
L2_FC = 2.5e-3


def l2(scale: float) -> keras.regularizers.Regularizer | None:
    """Return the Keras regulariser equal to TF1's ``l2_regularizer(scale)``.

    TF1 added ``scale * sum(w**2) / 2`` to the loss; Keras' ``L2(l)`` adds ``l * sum(w**2)``,
    so the equivalent Keras factor is ``scale / 2``. None when `scale` is 0.
    """
    return keras.regularizers.L2(scale / 2) if scale > 0 else None


def conv_bn_relu(
    x: keras.KerasTensor,
    filters: int,
    kernel: int | tuple[int, int],
    name: str,
    *,
    strides: int = 1,
    padding: str = "same",
    l2_scale: float = L2_CONV,
    bn_momentum: float = 0.99,
    bn_epsilon: float = 1e-3,
    kernel_initializer: str | keras.initializers.Initializer = "he_normal",
    use_bias: bool = False,
) -> keras.KerasTensor:
    """Apply Conv2D -> BatchNorm -> ReLU, named ``name``, ``name_bn``, ``name_relu``.

    The convolution has no bias unless `use_bias` (the study's TF1 layers kept one before
    the batch norm; it changes nothing but the parameter count).
    """
    x = layers.Conv2D(
        filters,
        kernel,
        strides=strides,
        padding=padding,
        use_bias=use_bias,
        kernel_initializer=kernel_initializer,
        kernel_regularizer=l2(l2_scale),
        name=name,
    )(x)
    x = layers.BatchNormalization(momentum=bn_momentum, epsilon=bn_epsilon, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def dense_head(
    x: keras.KerasTensor,
    units: tuple[int, ...],
    n_classes: int,
    *,
    l2_scale: float = L2_FC,
    dropout: float = 0.5,
    input_dropout: float = 0.5,
    bn_momentum: float = 0.9,
    bn_epsilon: float = 1e-3,
    logits_initializer: str | keras.initializers.Initializer = "glorot_uniform",
    use_bias: bool = False,
) -> keras.KerasTensor:
    """Flatten -> dropout -> (Dense ``fcN`` -> BN -> ReLU -> dropout) per unit count -> ``logits``.

    The head ends in Dense ``"logits"`` and a softmax ``"probabilities"``, so a fully
    convolutional copy can replace each Dense layer by a convolution with the same weights.
    `use_bias` gives the hidden Dense layers a bias before their batch norm (the study's).
    """
    x = layers.Flatten(name="flatten")(x)
    if input_dropout:
        x = layers.Dropout(input_dropout, name="flatten_drop")(x)
    for i, n in enumerate(units, start=1):
        x = layers.Dense(
            n,
            use_bias=use_bias,
            kernel_initializer="he_normal",
            kernel_regularizer=l2(l2_scale),
            name=f"fc{i}",
        )(x)
        x = layers.BatchNormalization(momentum=bn_momentum, epsilon=bn_epsilon, name=f"fc{i}_bn")(x)
        x = layers.ReLU(name=f"fc{i}_relu")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"fc{i}_drop")(x)
    x = layers.Dense(n_classes, kernel_initializer=logits_initializer, name="logits")(x)
    return layers.Softmax(name="probabilities", dtype="float32")(x)


def image_input(input_size: int) -> keras.KerasTensor:
    """Return the model input: a square single-channel float tile named ``"image"``."""
    if input_size < 1:
        raise ValueError(f"input_size must be positive, got {input_size}")
    return keras.Input(shape=(input_size, input_size, 1), dtype="float32", name="image")
