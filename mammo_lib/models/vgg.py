"""The one VGG-style builder: a plan of convolutions and max pools, then the dense head.

Both VGG models (:mod:`mammo_lib.models.vgg_lite`, :mod:`mammo_lib.models.vgg16`) are a
plan, a list of :class:`Conv` and :class:`Pool` steps, given to :func:`build_vgg` with the
options of their convolutions and of their head::

    plan = (Conv("conv1", 32, stride=2), Conv("conv1_1", 32), Pool("pool1", 3), ...)
    model = build_vgg("vgg_lite", plan, input_size=299, n_classes=2, conv={...}, head={...})

Each :class:`Conv` is a 3x3 SAME convolution with batch norm and ReLU
(:func:`mammo_lib.models.blocks.conv_bn_relu`); each :class:`Pool` a SAME max pool of stride 2,
followed by dropout when ``pool_dropout`` is set; the head is
:func:`mammo_lib.models.blocks.dense_head`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras
from keras import layers

from mammo_lib.models.blocks import conv_bn_relu, dense_head, image_input


@dataclass(frozen=True)
class Conv:
    """A 3x3 SAME convolution (with batch norm and ReLU) named `name`."""

    name: str
    filters: int
    stride: int = 1


@dataclass(frozen=True)
class Pool:
    """A `size` x `size` SAME max pool of stride 2 named `name`."""

    name: str
    size: int = 2


def vgg_blocks(blocks: Sequence[Sequence[int]]) -> tuple[Conv | Pool, ...]:
    """VGG-16's plan from the filters of each block: ``conv{b}_{c}``, then ``pool{b}``.

    The first convolution has stride 2 (it keeps a 299 x 299 input affordable).
    """
    plan: list[Conv | Pool] = []
    for b, block in enumerate(blocks, start=1):
        for c, filters in enumerate(block, start=1):
            plan.append(Conv(f"conv{b}_{c}", filters, stride=2 if (b, c) == (1, 1) else 1))
        plan.append(Pool(f"pool{b}"))
    return tuple(plan)


def build_vgg(
    name: str,
    plan: Sequence[Conv | Pool],
    *,
    input_size: int,
    n_classes: int,
    fc_units: Sequence[int],
    width: float = 1.0,
    pool_dropout: float = 0.0,
    conv: Mapping[str, Any] | None = None,
    head: Mapping[str, Any] | None = None,
) -> keras.Model:
    """Build a VGG-style model from its plan.

    Parameters
    ----------
    name
        The model's name.
    plan
        The convolutions and pools, in order.
    input_size, n_classes
        Square input side and number of classes.
    fc_units
        Units of the fully connected layers.
    width
        Multiplier on every convolution's filter count (at least one filter each).
    pool_dropout
        Dropout after each max pool (``<pool>_drop``; 0: none).
    conv
        Keyword options of every :func:`~mammo_lib.models.blocks.conv_bn_relu` (L2 scale,
        batch-norm momentum and epsilon, initialiser, bias).
    head
        Keyword options of :func:`~mammo_lib.models.blocks.dense_head`.

    Returns
    -------
    keras.Model
        Named `name`; float ``[N, input_size, input_size, 1]`` -> ``[N, n_classes]``.
    """
    inputs = image_input(input_size)
    x = inputs
    for step in plan:
        if isinstance(step, Pool):
            x = layers.MaxPooling2D(step.size, strides=2, padding="same", name=step.name)(x)
            if pool_dropout:
                x = layers.Dropout(pool_dropout, name=f"{step.name}_drop")(x)
        else:
            filters = max(1, round(step.filters * width))
            x = conv_bn_relu(x, filters, 3, step.name, strides=step.stride, **(conv or {}))
    outputs = dense_head(x, tuple(fc_units), n_classes, **(head or {}))
    return keras.Model(inputs, outputs, name=name)
