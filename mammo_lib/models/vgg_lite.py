"""The study's custom VGG-like model 1.0.0.35 (the 1.0.0.x line), layer for layer.

Nine 3x3 SAME convolutions, each followed by batch normalisation and ReLU::

    conv1 32/2, conv1_1 32, conv1_2 32, pool1 3x3/2
    conv2_1 64, conv2_2 64, pool2 2x2/2
    conv3_1 128, conv3_2 128, pool3 2x2/2
    conv4 256, pool4 2x2/2
    conv5 512, pool5 2x2/2

with dropout 0.1 after every (SAME) max pool, then flatten, dropout 0.5, fc1 2048 and
fc2 2048 (each with batch norm, ReLU and dropout 0.5) and the logits. L2 regularisation
1e-5 on the convolutions and 2.5e-3 on the fully connected layers (TF1 convention, see
:func:`mammo_lib.models.blocks.l2`). Initialisers follow the original: truncated normal
(stddev 0.05) for convolutions, He for fc1/fc2, LeCun for the logits. Conv batch norm uses
momentum 0.99 and epsilon 1e-8, fc batch norm momentum 0.9. The biases the original put
before each batch norm are left out: batch norm's offset absorbs them. Built by
:func:`mammo_lib.models.vgg.build_vgg`.
"""

from __future__ import annotations

import keras

from mammo_lib.models.blocks import L2_CONV, L2_FC
from mammo_lib.models.registry import register_model
from mammo_lib.models.vgg import Conv, Pool, build_vgg

#: The convolutions and pools of model 1.0.0.35, in order.
PLAN: tuple[Conv | Pool, ...] = (
    Conv("conv1", 32, stride=2),
    Conv("conv1_1", 32),
    Conv("conv1_2", 32),
    Pool("pool1", 3),
    Conv("conv2_1", 64),
    Conv("conv2_2", 64),
    Pool("pool2"),
    Conv("conv3_1", 128),
    Conv("conv3_2", 128),
    Pool("pool3"),
    Conv("conv4", 256),
    Pool("pool4"),
    Conv("conv5", 512),
    Pool("pool5"),
)


@register_model("vgg_lite")
def build_vgg_lite(
    *,
    input_size: int,
    n_classes: int,
    l2_conv: float = L2_CONV,
    l2_fc: float = L2_FC,
    pool_dropout: float = 0.1,
    fc_dropout: float = 0.5,
    fc_units: tuple[int, ...] = (2048, 2048),
    width: float = 1.0,
    bn_momentum: float = 0.99,
) -> keras.Model:
    """Build model 1.0.0.35.

    Parameters
    ----------
    input_size, n_classes
        Square input side (the study: 299) and number of classes (2 or 5).
    l2_conv, l2_fc
        L2 scales (TF1 convention) for convolution and fully connected kernels.
    pool_dropout, fc_dropout
        Dropout after each max pool, and before/after the fully connected layers.
    fc_units
        Units of the fully connected layers (the study: 2048, 2048).
    width
        Multiplier on every convolution's filter count (1.0 = the study); for quick tests.
    bn_momentum
        Momentum of the convolutions' batch-norm moving statistics (the study: 0.99; short
        runs of a few hundred steps need less, e.g. 0.9, or their moving statistics stay
        near their initial values and inference is off).

    Returns
    -------
    keras.Model
        Named ``"vgg_lite"``; float ``[N, input_size, input_size, 1]`` -> ``[N, n_classes]``.
    """
    return build_vgg(
        "vgg_lite",
        PLAN,
        input_size=input_size,
        n_classes=n_classes,
        fc_units=fc_units,
        width=width,
        pool_dropout=pool_dropout,
        conv={
            "l2_scale": l2_conv,
            "bn_momentum": bn_momentum,
            "bn_epsilon": 1e-8,
            "kernel_initializer": keras.initializers.TruncatedNormal(stddev=0.05),
        },
        head={
            "l2_scale": l2_fc,
            "dropout": fc_dropout,
            "input_dropout": fc_dropout,
            "bn_momentum": 0.9,
            "bn_epsilon": 1e-8,
            "logits_initializer": "lecun_normal",
        },
    )
