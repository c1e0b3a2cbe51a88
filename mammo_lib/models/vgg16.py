"""The study's VGG-16 variant: VGG-16's thirteen convolutions with a stride-2 first
convolution and batch normalisation, and a smaller head (fc1 1024, fc2 512).

Blocks (3x3 SAME convolutions, each with batch norm and ReLU; 2x2/2 max pool after each)::

    conv1_1 64/2, conv1_2 64 | conv2_x 128 x2 | conv3_x 256 x3 | conv4_x 512 x3 | conv5_x 512 x3

The stride-2 first convolution keeps the 299x299 input affordable (150x150 after it).
"""

from __future__ import annotations

import keras
from keras import layers

from mammo_lib.models.blocks import L2_CONV, L2_FC, conv_bn_relu, dense_head, image_input
from mammo_lib.models.registry import register_model

#: Filters per convolution, one tuple per block.
_BLOCKS: tuple[tuple[int, ...], ...] = (
    (64, 64),
    (128, 128),
    (256, 256, 256),
    (512, 512, 512),
    (512, 512, 512),
)


@register_model("vgg16")
def build_vgg16(
    *,
    input_size: int,
    n_classes: int,
    l2_conv: float = L2_CONV,
    l2_fc: float = L2_FC,
    pool_dropout: float = 0.1,
    fc_dropout: float = 0.5,
    fc_units: tuple[int, ...] = (1024, 512),
    width: float = 1.0,
    bn_momentum: float = 0.99,
) -> keras.Model:
    """Build the VGG-16 variant.

    Parameters
    ----------
    input_size, n_classes
        Square input side (the study: 299) and number of classes (2 or 5).
    l2_conv, l2_fc
        L2 scales (TF1 convention) for convolution and fully connected kernels.
    pool_dropout, fc_dropout
        Dropout after each max pool, and before/after the fully connected layers.
    fc_units
        Units of the fully connected layers (the study: 1024, 512).
    width
        Multiplier on every convolution's filter count (1.0 = VGG-16); for quick tests.
    bn_momentum
        Momentum of the convolutions' batch-norm moving statistics.

    Returns
    -------
    keras.Model
        Named ``"vgg16"``; float ``[N, input_size, input_size, 1]`` -> ``[N, n_classes]``.
    """
    inputs = image_input(input_size)
    x = inputs
    for b, block in enumerate(_BLOCKS, start=1):
        for c, filters in enumerate(block, start=1):
            x = conv_bn_relu(
                x,
                max(1, round(filters * width)),
                3,
                f"conv{b}_{c}",
                strides=2 if (b, c) == (1, 1) else 1,
                l2_scale=l2_conv,
                bn_momentum=bn_momentum,
            )
        x = layers.MaxPooling2D(2, strides=2, padding="same", name=f"pool{b}")(x)
        if pool_dropout:
            x = layers.Dropout(pool_dropout, name=f"pool{b}_drop")(x)
    outputs = dense_head(
        x, tuple(fc_units), n_classes, l2_scale=l2_fc, dropout=fc_dropout, input_dropout=fc_dropout
    )
    return keras.Model(inputs, outputs, name="vgg16")
