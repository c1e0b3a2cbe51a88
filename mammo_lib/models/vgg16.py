"""Two VGG-16s: the textbook plan adapted to 299 tiles (``vgg16``), and the one the study
trained (``vgg16_study``, its ``vgg_16.3.py``, model vgg_16.3.06 of its Tables 1 and 3).

``vgg16``: VGG-16's thirteen convolutions with a stride-2 first convolution and batch
normalisation, and a smaller head (fc1 1024, fc2 512)::

    conv1_1 64/2, conv1_2 64 | conv2_x 128 x2 | conv3_x 256 x3 | conv4_x 512 x3 | conv5_x 512 x3

``vgg16_study``: twelve convolutions with fewer filters, as the study's code built them
(its text describes VGG-16 with 2048-unit FC layers; the code is what was run)::

    1.1 64/2, 1.2 64 | 2.x 96 x2 | 3.x 128 x2 | 4.x 256 x3 | 5.x 384 x3

each 3x3 SAME with a bias, batch norm (momentum 0.99) and ReLU; a 2x2/2 SAME max pool after
each block, no pool dropout, no L2 on the convolutions; flatten, dropout 0.5, fc1 1024 and
fc2 512 (bias, batch norm momentum 0.9, ReLU, dropout 0.5, L2 2.5e-3), logits. The study
trained it with Adam 1e-3 decayed x0.8 every 10 epochs (``decay_epochs=10``, see
:data:`STUDY_DECAY_EPOCHS`).

The stride-2 first convolution keeps the 299x299 input affordable (150x150 after it). Both
are built by :func:`mammo_lib.models.vgg.build_vgg` from :func:`~mammo_lib.models.vgg.vgg_blocks`.
"""

from __future__ import annotations

import keras

from mammo_lib.models.blocks import L2_CONV, L2_FC
from mammo_lib.models.registry import register_model
from mammo_lib.models.vgg import build_vgg, vgg_blocks

#: Filters per convolution of the study's vgg_16.3, one tuple per block.
STUDY_BLOCKS: tuple[tuple[int, ...], ...] = (
    (64, 64),
    (96, 96),
    (128, 128),
    (256, 256, 256),
    (384, 384, 384),
)
#: Epochs between learning-rate decays in the study's vgg_16.3.py (1.0.0.35: 5).
STUDY_DECAY_EPOCHS = 10

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
    return build_vgg(
        "vgg16",
        vgg_blocks(_BLOCKS),
        input_size=input_size,
        n_classes=n_classes,
        fc_units=fc_units,
        width=width,
        pool_dropout=pool_dropout,
        conv={"l2_scale": l2_conv, "bn_momentum": bn_momentum},
        head={"l2_scale": l2_fc, "dropout": fc_dropout, "input_dropout": fc_dropout},
    )


@register_model("vgg16_study", decay_epochs=STUDY_DECAY_EPOCHS)
def build_vgg16_study(
    *,
    input_size: int,
    n_classes: int,
    width: float = 1.0,
    l2_fc: float = L2_FC,
    fc_dropout: float = 0.5,
    fc_units: tuple[int, ...] = (1024, 512),
) -> keras.Model:
    """Build the VGG-16 the study trained (vgg_16.3.06), see the module docstring.

    Parameters
    ----------
    input_size, n_classes
        Square input side (the study: 299) and number of classes (2 or 5).
    width
        Multiplier on every convolution's filter count (1.0 = the study's); for quick tests.
    l2_fc
        L2 scale (TF1 convention) of the FC kernels (the study: 2.5e-3; none on the logits).
    fc_dropout
        Dropout before and after each FC layer.
    fc_units
        Units of the FC layers (the study: 1024, 512).

    Returns
    -------
    keras.Model
        Named ``"vgg16_study"``; float ``[N, input_size, input_size, 1]`` -> ``[N, n_classes]``.
    """
    return build_vgg(
        "vgg16_study",
        vgg_blocks(STUDY_BLOCKS),
        input_size=input_size,
        n_classes=n_classes,
        fc_units=fc_units,
        width=width,
        conv={
            "l2_scale": 0.0,
            "bn_momentum": 0.99,
            "bn_epsilon": 1e-8,
            "kernel_initializer": keras.initializers.TruncatedNormal(stddev=5e-2),
            "use_bias": True,
        },
        head={
            "l2_scale": l2_fc,
            "dropout": fc_dropout,
            "input_dropout": fc_dropout,
            "bn_momentum": 0.9,
            "bn_epsilon": 1e-8,
            "logits_initializer": keras.initializers.VarianceScaling(
                1.0, distribution="truncated_normal"
            ),
            "use_bias": True,
        },
    )
