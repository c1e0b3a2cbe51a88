"""A small U-Net that maps a whole downsampled film to a lesion probability per map cell.

Not one of the study's tile classifiers (it is not in the registry: it takes an image of any
size divisible by ``2 ** (levels - 1)`` and returns a map, not class probabilities). The
encoder doubles its filters at each of ``levels`` resolutions (``width``, ``2 width``,
``4 width``, ``6 width``, ``8 width`` for five), pooling by 2 between them; the decoder
upsamples back to ``out_stride`` with skip connections. At five levels and 0.8 mm per pixel
the deepest cells see about 14 cm of breast: the context a tile of 23 mm lacks.
"""

from __future__ import annotations

import keras
from keras import layers

from mammo_lib.models.blocks import conv_bn_relu

#: Filter multipliers of the encoder's levels, times ``width``.
LEVEL_FILTERS = (1, 2, 4, 6, 8, 10, 12)


def build_scan_unet(
    *,
    width: int = 16,
    levels: int = 5,
    out_stride: int = 4,
    bn_momentum: float = 0.99,
    name: str = "scan_unet",
) -> keras.Model:
    """Return the U-Net: ``uint8 [N, H, W, 1]`` -> ``float [N, H / s, W / s, 1]`` probabilities.

    Parameters
    ----------
    width
        Filters of the first level.
    levels
        Resolutions of the encoder (2 to 7).
    out_stride
        Input pixels per output cell: a power of two, at most ``2 ** (levels - 1)``.
    bn_momentum
        Batch-norm momentum.
    name
        The model's name.
    """
    if not 2 <= levels <= len(LEVEL_FILTERS):
        raise ValueError(f"levels must be 2 to {len(LEVEL_FILTERS)}, got {levels}")
    deepest = 2 ** (levels - 1)
    if out_stride < 1 or out_stride & (out_stride - 1) or out_stride > deepest:
        raise ValueError(f"out_stride must be a power of two up to {deepest}, got {out_stride}")
    filters = [width * m for m in LEVEL_FILTERS[:levels]]

    def block(x: keras.KerasTensor, f: int, tag: str) -> keras.KerasTensor:
        for j in range(2):
            x = conv_bn_relu(x, f, 3, f"{tag}_conv{j}", l2_scale=0.0, bn_momentum=bn_momentum)
        return x

    inputs = keras.Input((None, None, 1), dtype="uint8", name="film")
    x = layers.Rescaling(1 / 255, name="scaling")(inputs)
    skips = []
    for level, f in enumerate(filters):
        x = block(x, f, f"enc{level}")
        skips.append(x)
        if level < levels - 1:
            x = layers.MaxPooling2D(2, name=f"pool{level}")(x)
    level = levels - 1
    while 2**level > out_stride:
        level -= 1
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"up{level}")(x)
        x = layers.Concatenate(name=f"skip{level}")([x, skips[level]])
        x = block(x, filters[level], f"dec{level}")
    # a low starting bias: lesion cells are about 1% of the breast's cells
    outputs = layers.Conv2D(
        1,
        1,
        activation="sigmoid",
        bias_initializer=keras.initializers.Constant(-3.0),
        name="probability",
    )(x)
    return keras.Model(inputs, outputs, name=name)
