"""Two Inception-v4s: the paper's with every filter count halved (``inception_v4_lite``),
and the one the study's code built (``inception_v4_study``, its ``inception_v4.05.py`` with
``inception_utils.py``).

``inception_v4_study`` keeps the paper's filter counts except in Reduction-A, whose
``k, l, m, n`` are 96, 128, 128, 192 (the paper: 192, 224, 256, 384); it stacks 3, 4 and 2
Inception-A, -B and -C blocks, uses 2x2/1 average pools in the blocks' pool branches (the
paper: 3x3), gives every convolution a bias before its batch norm and no L2, and ends in
average pool over the final grid (8x8 at 299) -> dropout 0.2 -> logits, with no fully
connected layers. The study's text describes FC layers after the pool; its code has none,
and the code is what was run. It trained with Adam 1e-3 decayed x0.8 every 5 epochs.

The stem, Inception-A/B/C blocks and Reduction-A/B follow the paper's figures 3-8
(all convolutions with batch norm and ReLU, VALID padding where the paper marks "V").
`filter_scale` multiplies every filter count (0.5 = the lite model, 1.0 = Inception-v4);
`repeats` gives how many A, B and C blocks to stack (the paper: 4, 7, 3). The head is the
paper's: average pool over the final grid, flatten, dropout, and the logits, kept as
Flatten -> Dense so that it converts to a fully convolutional network. The smallest input
that survives the five VALID reductions is 75 pixels.
"""

from __future__ import annotations

import keras
from keras import layers

from mammo_lib.models.blocks import L2_CONV, L2_FC, conv_bn_relu, image_input, l2
from mammo_lib.models.registry import register_model

#: Smallest input side the stem and both reductions accept.
MIN_INPUT_SIZE = 75


class _Builder:
    """Holds the scale and regularisation while the graph is laid out."""

    def __init__(
        self,
        filter_scale: float,
        l2_conv: float,
        *,
        block_pool: int = 3,
        reduction_a: tuple[int, int, int, int] = (192, 224, 256, 384),
        use_bias: bool = False,
        bn_epsilon: float = 1e-3,
        kernel_initializer: str | keras.initializers.Initializer = "he_normal",
    ) -> None:
        self.scale = filter_scale
        self.l2_conv = l2_conv
        self.block_pool = block_pool
        self.reduction_a_filters = reduction_a
        self.conv_options = {
            "use_bias": use_bias,
            "bn_epsilon": bn_epsilon,
            "kernel_initializer": kernel_initializer,
        }

    def conv(
        self,
        x: keras.KerasTensor,
        filters: int,
        kernel: int | tuple[int, int],
        name: str,
        strides: int = 1,
        padding: str = "same",
    ) -> keras.KerasTensor:
        n = max(1, round(filters * self.scale))
        return conv_bn_relu(
            x,
            n,
            kernel,
            name,
            strides=strides,
            padding=padding,
            l2_scale=self.l2_conv,
            **self.conv_options,
        )

    def stem(self, x: keras.KerasTensor) -> keras.KerasTensor:
        c = self.conv
        x = c(x, 32, 3, "stem_conv1", strides=2, padding="valid")
        x = c(x, 32, 3, "stem_conv2", padding="valid")
        x = c(x, 64, 3, "stem_conv3")
        a = layers.MaxPooling2D(3, strides=2, padding="valid", name="stem_pool1")(x)
        b = c(x, 96, 3, "stem_conv4", strides=2, padding="valid")
        x = layers.Concatenate(name="stem_concat1")([a, b])
        a = c(x, 64, 1, "stem_a1")
        a = c(a, 96, 3, "stem_a2", padding="valid")
        b = c(x, 64, 1, "stem_b1")
        b = c(b, 64, (7, 1), "stem_b2")
        b = c(b, 64, (1, 7), "stem_b3")
        b = c(b, 96, 3, "stem_b4", padding="valid")
        x = layers.Concatenate(name="stem_concat2")([a, b])
        a = c(x, 192, 3, "stem_conv5", strides=2, padding="valid")
        b = layers.MaxPooling2D(3, strides=2, padding="valid", name="stem_pool2")(x)
        return layers.Concatenate(name="stem_concat3")([a, b])

    def block_a(self, x: keras.KerasTensor, p: str) -> keras.KerasTensor:
        c = self.conv
        a = layers.AveragePooling2D(self.block_pool, strides=1, padding="same", name=f"{p}_pool")(x)
        a = c(a, 96, 1, f"{p}_a")
        b = c(x, 96, 1, f"{p}_b")
        d = c(c(x, 64, 1, f"{p}_c1"), 96, 3, f"{p}_c2")
        e = c(c(c(x, 64, 1, f"{p}_d1"), 96, 3, f"{p}_d2"), 96, 3, f"{p}_d3")
        return layers.Concatenate(name=f"{p}_concat")([a, b, d, e])

    def reduction_a(self, x: keras.KerasTensor) -> keras.KerasTensor:
        c = self.conv
        k, l_, m, n = self.reduction_a_filters
        a = layers.MaxPooling2D(3, strides=2, padding="valid", name="red_a_pool")(x)
        b = c(x, n, 3, "red_a_b", strides=2, padding="valid")
        d = c(c(x, k, 1, "red_a_c1"), l_, 3, "red_a_c2")
        d = c(d, m, 3, "red_a_c3", strides=2, padding="valid")
        return layers.Concatenate(name="red_a_concat")([a, b, d])

    def block_b(self, x: keras.KerasTensor, p: str) -> keras.KerasTensor:
        c = self.conv
        a = layers.AveragePooling2D(self.block_pool, strides=1, padding="same", name=f"{p}_pool")(x)
        a = c(a, 128, 1, f"{p}_a")
        b = c(x, 384, 1, f"{p}_b")
        d = c(c(c(x, 192, 1, f"{p}_c1"), 224, (1, 7), f"{p}_c2"), 256, (7, 1), f"{p}_c3")
        e = c(c(x, 192, 1, f"{p}_d1"), 192, (1, 7), f"{p}_d2")
        e = c(c(e, 224, (7, 1), f"{p}_d3"), 224, (1, 7), f"{p}_d4")
        e = c(e, 256, (7, 1), f"{p}_d5")
        return layers.Concatenate(name=f"{p}_concat")([a, b, d, e])

    def reduction_b(self, x: keras.KerasTensor) -> keras.KerasTensor:
        c = self.conv
        a = layers.MaxPooling2D(3, strides=2, padding="valid", name="red_b_pool")(x)
        b = c(c(x, 192, 1, "red_b_b1"), 192, 3, "red_b_b2", strides=2, padding="valid")
        d = c(c(x, 256, 1, "red_b_c1"), 256, (1, 7), "red_b_c2")
        d = c(c(d, 320, (7, 1), "red_b_c3"), 320, 3, "red_b_c4", strides=2, padding="valid")
        return layers.Concatenate(name="red_b_concat")([a, b, d])

    def block_c(self, x: keras.KerasTensor, p: str) -> keras.KerasTensor:
        c = self.conv
        a = layers.AveragePooling2D(self.block_pool, strides=1, padding="same", name=f"{p}_pool")(x)
        a = c(a, 256, 1, f"{p}_a")
        b = c(x, 256, 1, f"{p}_b")
        d = c(x, 384, 1, f"{p}_c1")
        d1 = c(d, 256, (1, 3), f"{p}_c2")
        d2 = c(d, 256, (3, 1), f"{p}_c3")
        e = c(c(c(x, 384, 1, f"{p}_d1"), 448, (1, 3), f"{p}_d2"), 512, (3, 1), f"{p}_d3")
        e1 = c(e, 256, (3, 1), f"{p}_d4")
        e2 = c(e, 256, (1, 3), f"{p}_d5")
        return layers.Concatenate(name=f"{p}_concat")([a, b, d1, d2, e1, e2])


def _check(name: str, input_size: int, repeats: tuple[int, int, int]) -> None:
    if input_size < MIN_INPUT_SIZE:
        raise ValueError(f"{name} needs input_size >= {MIN_INPUT_SIZE}, got {input_size}")
    if len(repeats) != 3 or min(repeats) < 0:
        raise ValueError(f"repeats must be three counts (A, B, C), got {repeats}")


def _body(
    g: _Builder, inputs: keras.KerasTensor, repeats: tuple[int, int, int]
) -> keras.KerasTensor:
    """Stem, the A blocks, Reduction-A, the B blocks, Reduction-B, the C blocks."""
    x = g.stem(inputs)
    for i in range(repeats[0]):
        x = g.block_a(x, f"incA{i + 1}")
    x = g.reduction_a(x)
    for i in range(repeats[1]):
        x = g.block_b(x, f"incB{i + 1}")
    x = g.reduction_b(x)
    for i in range(repeats[2]):
        x = g.block_c(x, f"incC{i + 1}")
    return x


@register_model("inception_v4_lite")
def build_inception_v4_lite(
    *,
    input_size: int,
    n_classes: int,
    filter_scale: float = 0.5,
    repeats: tuple[int, int, int] = (4, 7, 3),
    l2_conv: float = L2_CONV,
    l2_fc: float = L2_FC,
    dropout: float = 0.2,
) -> keras.Model:
    """Build Inception-v4 with scaled filters.

    Parameters
    ----------
    input_size, n_classes
        Square input side (at least 75; the study: 299) and number of classes (2 or 5).
    filter_scale
        Multiplier on every filter count (0.5 = the study's lite model).
    repeats
        Number of Inception-A, -B and -C blocks (Inception-v4: 4, 7, 3).
    l2_conv, l2_fc
        L2 scales (TF1 convention) for convolution kernels and the logits.
    dropout
        Dropout before the logits (the paper keeps 0.8, i.e. drops 0.2).

    Returns
    -------
    keras.Model
        Named ``"inception_v4_lite"``; float ``[N, s, s, 1]`` -> ``[N, n_classes]``.
    """
    _check("inception_v4_lite", input_size, repeats)
    g = _Builder(filter_scale, l2_conv)
    inputs = image_input(input_size)
    x = _body(g, inputs, repeats)
    x = layers.AveragePooling2D(pool_size=tuple(x.shape[1:3]), name="final_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    if dropout:
        x = layers.Dropout(dropout, name="flatten_drop")(x)
    x = layers.Dense(n_classes, kernel_regularizer=l2(l2_fc), name="logits")(x)
    outputs = layers.Softmax(name="probabilities", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="inception_v4_lite")


@register_model("inception_v4_study")
def build_inception_v4_study(
    *,
    input_size: int,
    n_classes: int,
    filter_scale: float = 1.0,
    repeats: tuple[int, int, int] = (3, 4, 2),
    dropout: float = 0.2,
) -> keras.Model:
    """Build the Inception-v4 the study's code built (inception_v4.05), see the module docstring.

    Parameters
    ----------
    input_size, n_classes
        Square input side (at least 75; the study: 299) and number of classes (2 or 5).
    filter_scale
        Multiplier on every filter count (1.0 = the study's); for quick tests.
    repeats
        Number of Inception-A, -B and -C blocks (the study: 3, 4, 2).
    dropout
        Dropout between the average pool and the logits (the study: 0.2).

    Returns
    -------
    keras.Model
        Named ``"inception_v4_study"``; float ``[N, s, s, 1]`` -> ``[N, n_classes]``.
    """
    _check("inception_v4_study", input_size, repeats)
    g = _Builder(
        filter_scale,
        0.0,
        block_pool=2,
        reduction_a=(96, 128, 128, 192),
        use_bias=True,
        bn_epsilon=1e-8,
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=5e-2),
    )
    inputs = image_input(input_size)
    x = _body(g, inputs, repeats)
    x = layers.AveragePooling2D(pool_size=tuple(x.shape[1:3]), name="final_pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name="final_pool_drop")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(
        n_classes,
        kernel_initializer=keras.initializers.VarianceScaling(1.0, distribution="truncated_normal"),
        name="logits",
    )(x)
    outputs = layers.Softmax(name="probabilities", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="inception_v4_study")
