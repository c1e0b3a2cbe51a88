"""Counting a model's floating-point operations per image (for throughput benchmarks)."""

from __future__ import annotations

import math

import keras


def forward_flops(model: keras.Model) -> int:
    """Return the multiply-add FLOPs (2 per multiply-accumulate) of one forward pass per image.

    Counts convolutions and dense layers, which dominate these models; batch norm, ReLU,
    pooling and softmax (a few operations per activation) are left out. Nested models are
    counted through their layers.

    Parameters
    ----------
    model
        A built Keras model with static spatial input shape.
    """
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += forward_flops(layer)
        elif isinstance(layer, keras.layers.Conv2D):
            out = layer.output.shape  # [N, H, W, C_out]
            c_in = layer.input.shape[-1]
            k = math.prod(layer.kernel_size)
            total += 2 * out[1] * out[2] * out[3] * k * c_in // layer.groups
        elif isinstance(layer, keras.layers.Dense):
            total += 2 * layer.input.shape[-1] * layer.units
    return int(total)


def training_flops(model: keras.Model) -> int:
    """FLOPs per image of one training step: forward plus backward, about 3x the forward."""
    return 3 * forward_flops(model)
