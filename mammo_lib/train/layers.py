"""Preprocessing layers that run inside the model, on the device: input scaling, contrast,
and random flips / 90-degree rotations (the study moved its augmentation onto the GPU
because doing it on the CPU starved training).

Both layers use Keras ops only, so they run on any Keras backend, and they are registered
for ``.keras`` loading under the package name ``mammo``.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers, ops

#: Input scaling modes: raw pixel values, [0, 1], or mean-centred and divided by 255.
SCALING_MODES: tuple[str, ...] = ("raw", "unit", "centred")
#: Mean pixel value of the study's training tiles (its ``mu``), the default centre.
STUDY_PIXEL_MEAN = 104.1353


@keras.saving.register_keras_serializable(package="mammo")
class InputScaling(layers.Layer):
    """Cast pixel values to float, optionally adjust contrast, then scale.

    Parameters
    ----------
    mode
        ``"raw"`` (0-255 as they are), ``"unit"`` (divide by 255: the study's 1.0.0.35) or
        ``"centred"`` (subtract `pixel_mean`, divide by 255: the study's 1.0.0.33).
    contrast
        Contrast factor as in ``tf.image.adjust_contrast``: each tile's deviations from its
        own mean are multiplied by it (then clipped to 0-255); None or 1 leaves tiles alone.
    pixel_mean
        Centre for ``"centred"``.
    """

    def __init__(
        self,
        mode: str = "unit",
        contrast: float | None = None,
        pixel_mean: float = STUDY_PIXEL_MEAN,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if mode not in SCALING_MODES:
            raise ValueError(f"scaling mode must be one of {SCALING_MODES}, got {mode!r}")
        self.mode = mode
        self.contrast = None if contrast is None else float(contrast)
        self.pixel_mean = float(pixel_mean)

    def call(self, inputs: Any) -> Any:
        x = ops.cast(inputs, "float32")
        if self.contrast is not None and self.contrast != 1.0:
            mean = ops.mean(x, axis=(1, 2), keepdims=True)
            x = ops.clip((x - mean) * self.contrast + mean, 0.0, 255.0)
        if self.mode == "unit":
            x = x / 255.0
        elif self.mode == "centred":
            x = (x - self.pixel_mean) / 255.0
        return ops.cast(x, self.compute_dtype)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "mode": self.mode,
            "contrast": self.contrast,
            "pixel_mean": self.pixel_mean,
        }


@keras.saving.register_keras_serializable(package="mammo")
class RandomDihedral(layers.Layer):
    """Randomly flip and rotate each square tile by multiples of 90 degrees (training only).

    Each tile independently gets one of the eight symmetries of the square, uniformly:
    a left-right flip, an up-down flip and a transpose, each with probability 1/2,
    generate all of them. With ``rotations=False`` only the two flips are drawn (the
    study's online augmentation). Inference passes tiles through unchanged.

    Parameters
    ----------
    seed
        Seed of the layer's own random stream (None: drawn from Keras' global seed).
    rotations
        Also transpose (with the flips: rotate by 90 degrees); False gives flips only.
    """

    def __init__(self, seed: int | None = None, rotations: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self.rotations = bool(rotations)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape: tuple) -> None:
        h, w = input_shape[1], input_shape[2]
        if h is not None and w is not None and h != w:
            raise ValueError(f"RandomDihedral needs square tiles, got {h}x{w}")
        self.built = True

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        if not training:
            return inputs
        coins = keras.random.uniform((ops.shape(inputs)[0], 3), seed=self.seed_generator) < 0.5
        x = inputs
        x = ops.where(ops.reshape(coins[:, 0], (-1, 1, 1, 1)), ops.flip(x, axis=2), x)
        x = ops.where(ops.reshape(coins[:, 1], (-1, 1, 1, 1)), ops.flip(x, axis=1), x)
        if not self.rotations:
            return x
        return ops.where(ops.reshape(coins[:, 2], (-1, 1, 1, 1)), ops.transpose(x, (0, 2, 1, 3)), x)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "seed": self.seed, "rotations": self.rotations}
