"""Fully convolutional conversion of a trained tile classifier, and scan-level scores.

A tile classifier ``trunk -> Flatten -> Dense ... -> logits`` becomes a network that runs on
an image of any size and returns a map of class probabilities, one value per window of the
classifier's input size at the trunk's output stride (Long et al. 2015, "fully
convolutional networks"):

- the first ``Dense`` after ``Flatten`` becomes a ``Conv2D`` whose kernel is the spatial size
  ``(h0, w0)`` of the trunk's last feature map at the tile size (``padding="valid"``), with the
  same weights reshaped from ``(h0 * w0 * c0, units)`` to ``(h0, w0, c0, units)``;
- every later ``Dense`` becomes a 1x1 ``Conv2D`` with the same weights;
- ``BatchNormalization`` and activation layers are copied with their weights (the network is
  only ever run in inference mode, so batch normalisation uses its moving statistics);
  ``Dropout`` and noise layers are the identity in inference mode and are left out;
- a global-pooling head (``GlobalAveragePooling2D`` / ``GlobalMaxPooling2D``, or as in the
  Inception model an average pool whose window is the whole feature map, then ``Flatten``)
  becomes an ``AveragePooling2D`` / ``MaxPooling2D`` of the feature map's tile size at
  stride 1, so each output position pools exactly the feature cells of one tile.

The trunk (everything before ``Flatten``) is re-traced on an input of unknown height and
width with the *same* layer objects, so no weight is copied or changed.

Geometry. With stride ``S`` and tile size ``T``, a scan padded at its bottom and right to a
size ``n`` with ``n >= T`` and ``n = T (mod S)`` gives every strided layer the same padding
offsets as the tile itself, so map cell ``(i, j)`` sees the window whose top-left corner is
``(i * S, j * S)``. It equals the classifier on that crop exactly when the trunk uses
``"valid"`` padding; with ``"same"`` padding the classifier sees zeros beyond the crop's
border where the fully convolutional network sees the neighbouring scan, so the two differ
near the crop borders' receptive fields (see :mod:`mammo_lib.scan.sliding`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import keras
import numpy as np
from keras import layers

#: Layers that are the identity in inference mode and are dropped from the converted head.
_INFERENCE_IDENTITY = (
    layers.Dropout,
    layers.SpatialDropout1D,
    layers.SpatialDropout2D,
    layers.GaussianNoise,
    layers.GaussianDropout,
    layers.AlphaDropout,
)
#: Element-wise layers copied as they are (from their config, with their weights).
_ELEMENTWISE = (
    layers.Activation,
    layers.ReLU,
    layers.LeakyReLU,
    layers.ELU,
    layers.Softmax,
)
_FLATTENERS = (layers.Flatten, layers.GlobalAveragePooling2D, layers.GlobalMaxPooling2D)

ScoreMethod = Literal["max", "topk"]
#: Default scan-level score; see :func:`scan_score`.
DEFAULT_SCORE: ScoreMethod = "max"
#: Default number of cells averaged by the ``"topk"`` score.
DEFAULT_TOP_K = 5
#: Input pixels per inference batch of shifted copies (shift and stitch).
_BATCH_PIXELS = 16_000_000


@dataclass(frozen=True)
class FullyConvolutional:
    """A tile classifier turned into a fully convolutional network.

    Attributes
    ----------
    model
        Keras model ``(N, H, W, C) float32 -> (N, h, w, n_classes)`` class probabilities, for
        any ``H, W >= tile``; run it in inference mode.
    tile
        The classifier's input size ``(height, width)``.
    stride
        Output stride ``S`` in input pixels: map cell ``(i, j)`` is the window whose top-left
        corner is ``(i * S, j * S)``.
    channels
        Number of input channels the classifier expects.
    n_classes
        Number of outputs of the classifier (1: a sigmoid abnormality probability; more: class
        0 is NORMAL and the abnormality probability is ``1 - p[..., 0]``).
    """

    model: keras.Model
    tile: tuple[int, int]
    stride: int
    channels: int
    n_classes: int

    def aligned_size(self, height: int, width: int) -> tuple[int, int]:
        """Return the padded size ``>= (height, width)`` at which the map grid aligns with crops."""
        return (
            _aligned(height, self.tile[0], self.stride),
            _aligned(width, self.tile[1], self.stride),
        )

    def map_shape(self, height: int, width: int, refine: int = 1) -> tuple[int, int]:
        """Return the map's shape for an image of ``(height, width)`` pixels.

        With ``refine > 1`` (see :func:`probability_map`) the map steps ``stride / refine``.
        """
        ph, pw = self.aligned_size(height, width)
        step = self.stride // refine
        return (ph - self.tile[0]) // step + 1, (pw - self.tile[1]) // step + 1


def _aligned(n: int, tile: int, stride: int) -> int:
    """Smallest ``m >= max(n, tile)`` with ``m = tile (mod stride)``."""
    extra = max(n - tile, 0)
    return tile + -(-extra // stride) * stride


def _ends_in_logits(model: keras.Model) -> bool:
    """Whether the model's output is logits (no softmax / sigmoid at its end)."""
    for layer in reversed(model.layers):
        if isinstance(layer, _INFERENCE_IDENTITY):
            continue
        if isinstance(layer, layers.Softmax):
            return False
        if isinstance(layer, keras.Model):
            return _ends_in_logits(layer)
        activation = getattr(layer, "activation", None)
        if activation is not None:
            name = getattr(activation, "__name__", str(activation))
            return name not in ("softmax", "sigmoid")
        if isinstance(layer, layers.Activation):
            return False
        return True
    return True


def abnormal_probability(outputs: np.ndarray, *, from_logits: bool = False) -> np.ndarray:
    """Return the probability of "abnormal" from a classifier's outputs (last axis = classes).

    Parameters
    ----------
    outputs
        ``(..., n_classes)`` float array: probabilities, or logits when `from_logits`.
    from_logits
        Apply the sigmoid (one output) or softmax (several) first.

    Returns
    -------
    numpy.ndarray
        ``(...)`` float32: the sigmoid probability for one output, ``1 - p(NORMAL)`` (class 0)
        for several.
    """
    out = np.asarray(outputs, dtype=np.float64)
    if out.shape[-1] == 1:
        p = 1.0 / (1.0 + np.exp(-out[..., 0])) if from_logits else out[..., 0]
        return p.astype(np.float32)
    if from_logits:
        out = np.exp(out - out.max(axis=-1, keepdims=True))
        out /= out.sum(axis=-1, keepdims=True)
    return (1.0 - out[..., 0]).astype(np.float32)


def classifier_abnormal_probability(model: keras.Model, tiles: np.ndarray) -> np.ndarray:
    """Run the tile classifier on ``(N, T, T, C)`` tiles; return ``(N,)`` abnormal probabilities."""
    out = keras.ops.convert_to_numpy(model(tiles, training=False))
    return abnormal_probability(out, from_logits=_ends_in_logits(model))


def tile_difference(
    classifier: keras.Model, fcn: FullyConvolutional, n_tiles: int = 8, seed: int = 0
) -> float:
    """The equivalence check: how far the converted network strays from the tile classifier.

    Both networks score `n_tiles` random ``uint8`` tiles of the classifier's input size (the
    fully convolutional one returns a 1 x 1 map on each); the result is the largest absolute
    difference of their abnormality probabilities, float rounding for a faithful conversion.
    """
    if n_tiles < 1:
        raise ValueError(f"n_tiles must be positive, got {n_tiles}")
    rng = np.random.default_rng(seed)
    tiles = rng.integers(0, 256, (n_tiles, *fcn.tile, fcn.channels)).astype(np.uint8)
    maps = abnormal_probability(np.asarray(fcn.model(tiles.astype(np.float32), training=False)))
    return float(np.abs(maps[:, 0, 0] - classifier_abnormal_probability(classifier, tiles)).max())


def _find_flattener(model: keras.Model) -> int:
    found = [i for i, layer in enumerate(model.layers) if isinstance(layer, _FLATTENERS)]
    if len(found) != 1:
        raise ValueError(
            f"model {model.name!r}: expected exactly one Flatten or global-pooling layer between "
            f"trunk and head, found {len(found)}"
        )
    return found[0]


def _trunk_end(flattener: layers.Layer) -> tuple[keras.KerasTensor, type | None]:
    """Return where the trunk ends and the pooling layer type to run densely (None: Flatten).

    A global pooling layer, or a ``Flatten`` fed by an average / max pool whose window is the
    whole feature map (Inception's head), pools once per tile: the trunk then ends before the
    pool, and the converted network pools a tile-sized window at stride 1.
    """
    if isinstance(flattener, layers.GlobalAveragePooling2D):
        return flattener.input, layers.AveragePooling2D
    if isinstance(flattener, layers.GlobalMaxPooling2D):
        return flattener.input, layers.MaxPooling2D
    producer = flattener.input._keras_history[0]
    if isinstance(producer, (layers.AveragePooling2D, layers.MaxPooling2D)):
        grid = tuple(int(v) for v in producer.input.shape[1:3])
        if tuple(producer.pool_size) == grid and producer.padding == "valid":
            kind = (
                layers.AveragePooling2D
                if isinstance(producer, layers.AveragePooling2D)
                else layers.MaxPooling2D
            )
            return producer.input, kind
    return flattener.input, None


def _copy_layer(layer: layers.Layer) -> layers.Layer:
    """A fresh copy of an element-wise or batch-normalisation layer (weights set after build)."""
    config = layer.get_config()
    config["name"] = f"fcn_{layer.name}"
    if isinstance(layer, layers.BatchNormalization):
        if config["axis"] not in (-1, 1, [-1], [1]):
            axis = config["axis"]
            raise ValueError(f"layer {layer.name!r}: batch normalisation over axis {axis}")
        config["axis"] = -1
    return type(layer).from_config(config)


def to_fully_convolutional(model: keras.Model) -> FullyConvolutional:
    """Convert a trained tile classifier into a fully convolutional network with the same weights.

    Parameters
    ----------
    model
        Either a bare classifier, a Keras functional model ``(N, T, T, C) -> (N, n_classes)``
        whose trunk (convolutions, pooling, normalisation) ends in one ``Flatten`` or
        global-pooling layer followed by a chain of ``Dense``, ``BatchNormalization``,
        activation and ``Dropout`` layers; or a model that wraps one such classifier as a
        nested model after element-wise preprocessing layers (a training run's model:
        ``uint8`` tiles -> input scaling -> augmentation -> classifier). The preprocessing is
        kept, run in inference mode (augmentation is then the identity).

    Returns
    -------
    FullyConvolutional
        The converted network with its tile size and output stride; its input takes the same
        values as `model`'s (e.g. raw 0-255 grey levels for a run's model).

    Raises
    ------
    ValueError
        If the model's input is not ``(T_h, T_w, C)`` or its head holds a layer that has no
        convolutional equivalent.
    """
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if len(nested) == 1:
        return _convert_wrapped(model, nested[0])
    return _convert_classifier(model)


def _convert_wrapped(model: keras.Model, classifier: keras.Model) -> FullyConvolutional:
    """Convert ``preprocessing -> classifier``; the preprocessing runs densely as it is."""
    for layer in model.layers:
        contrast = getattr(layer, "contrast", None)
        if contrast is not None and contrast != 1.0:
            warnings.warn(
                f"layer {layer.name!r} adjusts contrast around each tile's own mean; on a whole "
                "scan it uses the scan's mean, so the map only approximates the tile classifier",
                stacklevel=3,
            )
    core = _convert_classifier(classifier)
    channels = int(model.inputs[0].shape[-1])
    nodes = classifier._inbound_nodes  # where the classifier is called in the outer graph
    if len(nodes) != 1 or len(nodes[0].input_tensors) != 1:
        raise ValueError(f"model {model.name!r}: classifier {classifier.name!r} is not called once")
    prefix = keras.Model(model.inputs, nodes[0].input_tensors[0], name=f"{model.name}_prefix")
    new_input = keras.Input((None, None, channels), name="scan")
    dense_prefix = keras.models.clone_model(
        prefix, input_tensors=[new_input], clone_function=lambda layer: layer
    )
    outputs = core.model(dense_prefix.outputs[0], training=False)
    wrapped = keras.Model(new_input, outputs, name=f"{model.name}_fcn")
    return FullyConvolutional(
        model=wrapped,
        tile=core.tile,
        stride=core.stride,
        channels=channels,
        n_classes=core.n_classes,
    )


def _convert_classifier(model: keras.Model) -> FullyConvolutional:
    """Convert a bare classifier (see :func:`to_fully_convolutional`)."""
    input_shape = tuple(model.inputs[0].shape[1:])
    if len(input_shape) != 3 or None in input_shape:
        raise ValueError(f"model {model.name!r}: input shape {input_shape} is not (H, W, C)")
    tile_h, tile_w, channels = (int(v) for v in input_shape)
    index = _find_flattener(model)
    flattener = model.layers[index]
    trunk_end, pooling = _trunk_end(flattener)
    feat_h, feat_w = (int(v) for v in trunk_end.shape[1:3])
    trunk = keras.Model(model.inputs, trunk_end, name=f"{model.name}_trunk")

    new_input = keras.Input((None, None, channels), name="scan")
    dense_trunk = keras.models.clone_model(
        trunk, input_tensors=[new_input], clone_function=lambda layer: layer
    )
    x = dense_trunk.outputs[0]
    if pooling is not None:
        # A global pool over the tile's feature map, run densely: one pooled vector per tile.
        x = pooling((feat_h, feat_w), strides=1, padding="valid", name="fcn_pool")(x)
        kernel = (1, 1)
    else:
        kernel = (feat_h, feat_w)

    previous = flattener
    pending: list[tuple[layers.Layer, layers.Layer]] = []
    for layer in model.layers[index + 1 :]:
        if layer.input is not previous.output:
            raise ValueError(f"model {model.name!r}: head is not a chain at layer {layer.name!r}")
        previous = layer
        if isinstance(layer, _INFERENCE_IDENTITY):
            continue
        if isinstance(layer, layers.Dense):
            w, *b = layer.get_weights()
            conv = layers.Conv2D(
                layer.units,
                kernel,
                padding="valid",
                activation=layer.activation,
                use_bias=layer.use_bias,
                name=f"fcn_{layer.name}",
            )
            x = conv(x)
            conv.set_weights([w.reshape(*kernel, -1, layer.units), *b])
            kernel = (1, 1)
        elif isinstance(layer, (layers.BatchNormalization, *_ELEMENTWISE)):
            if kernel != (1, 1) and isinstance(layer, layers.BatchNormalization):
                raise ValueError(
                    f"model {model.name!r}: batch normalisation of the flattened features"
                )
            copy = _copy_layer(layer)
            x = copy(x)
            pending.append((copy, layer))
        else:
            raise ValueError(
                f"model {model.name!r}: head layer {layer.name!r} ({type(layer).__name__}) "
                "has no fully convolutional equivalent"
            )
    for copy, original in pending:
        copy.set_weights(original.get_weights())
    n_classes = int(model.outputs[0].shape[-1])
    if _ends_in_logits(model):
        x = layers.Activation("sigmoid" if n_classes == 1 else "softmax", name="fcn_probabilities")(
            x
        )
    fcn = keras.Model(new_input, x, name=f"{model.name}_fcn")
    return FullyConvolutional(
        model=fcn,
        tile=(tile_h, tile_w),
        stride=_output_stride(fcn, (tile_h, tile_w), channels),
        channels=channels,
        n_classes=n_classes,
    )


def _output_stride(fcn: keras.Model, tile: tuple[int, int], channels: int) -> int:
    """Measure the output stride from output shapes at the tile size and 1024 pixels more."""
    grow = 1024
    small = fcn.compute_output_shape((1, tile[0], tile[1], channels))
    large = fcn.compute_output_shape((1, tile[0] + grow, tile[1] + grow, channels))
    if tuple(small[1:3]) != (1, 1):
        raise ValueError(f"converted model gives a {small[1:3]} map on one tile, expected (1, 1)")
    steps = {int(large[1]) - 1, int(large[2]) - 1}
    if len(steps) != 1 or grow % steps.pop() != 0:
        raise ValueError(f"cannot infer one output stride from output shapes {small} / {large}")
    return grow // (int(large[1]) - 1)


def prepare_image(image: np.ndarray, fcn: FullyConvolutional) -> np.ndarray:
    """Pad a ``(H, W)`` image in ``[0, 1]`` with zeros (bottom, right) to the aligned size.

    Returns
    -------
    numpy.ndarray
        ``(1, H', W', C)`` float32 with the grey channel repeated ``C`` times.
    """
    if image.ndim != 2:
        raise ValueError(f"expected a (H, W) grey image, got shape {image.shape}")
    ph, pw = fcn.aligned_size(*image.shape)
    out = np.zeros((1, ph, pw, fcn.channels), dtype=np.float32)
    out[0, : image.shape[0], : image.shape[1], :] = image[..., None]
    return out


def default_refine(fcn: FullyConvolutional, cells_per_tile: int = 3) -> int:
    """Smallest power of two ``f`` with ``stride / f <= tile / cells_per_tile`` (at most stride).

    VGG-lite has stride 64: on the study's 299-pixel tiles that is already under a third of a
    tile (``f = 1``); on the MIAS detector's 96-pixel tiles ``f = 2`` (a 32-pixel step, the
    refinement chapter 09 evaluates its maps at), while on 64-pixel tiles one cell would be a
    whole tile (``f = 4``). Each doubling of ``f`` costs four times the map's work.
    """
    f = 1
    while fcn.stride // f * cells_per_tile > min(fcn.tile) and f < fcn.stride:
        f *= 2
    return f


def probability_map(fcn: FullyConvolutional, image: np.ndarray, refine: int = 1) -> np.ndarray:
    """Return the abnormality probability map of a ``(H, W)`` grey image.

    The image is zero-padded at its bottom and right to the aligned size (see
    :meth:`FullyConvolutional.aligned_size`); cell ``(i, j)`` of the result is the probability
    for the window with top-left corner ``(i * step, j * step)``, ``step = stride / refine``.

    Parameters
    ----------
    fcn
        The converted network.
    image
        ``(H, W)`` values as the network's input takes them (``[0, 1]`` for a bare
        classifier, raw 0-255 grey levels for a training run's model).
    refine
        Shift-and-stitch factor (Long et al. 2015): the network runs ``refine**2`` times on
        copies of the image shifted by multiples of ``step`` and the maps are interleaved, so
        the map's step is ``stride / refine``. Must divide the stride.

    Returns
    -------
    numpy.ndarray
        ``fcn.map_shape(H, W, refine)`` float32 in ``[0, 1]``.
    """
    image = np.asarray(image, dtype=np.float32)
    if refine < 1 or fcn.stride % refine:
        raise ValueError(f"refine must be a positive divisor of the stride {fcn.stride}")
    if refine == 1:
        out = keras.ops.convert_to_numpy(fcn.model(prepare_image(image, fcn), training=False))
        return abnormal_probability(out[0])
    step = fcn.stride // refine
    ph, pw = fcn.aligned_size(*image.shape)
    big = np.zeros((ph + fcn.stride, pw + fcn.stride), dtype=np.float32)
    big[: image.shape[0], : image.shape[1]] = image
    coarse = fcn.map_shape(ph, pw)
    fine = np.empty((coarse[0] * refine, coarse[1] * refine), dtype=np.float32)
    shifts = [(a, b) for a in range(refine) for b in range(refine)]
    per_batch = max(1, _BATCH_PIXELS // (ph * pw))  # shifted copies run together, in batches
    for start in range(0, len(shifts), per_batch):
        chunk = shifts[start : start + per_batch]
        batch = np.stack([big[a * step :][:ph, b * step :][:, :pw] for a, b in chunk])
        batch = np.repeat(batch[..., None], fcn.channels, axis=-1)
        out = abnormal_probability(keras.ops.convert_to_numpy(fcn.model(batch, training=False)))
        for (a, b), values in zip(chunk, out, strict=True):
            fine[a::refine, b::refine] = values
    rows, cols = fcn.map_shape(*image.shape, refine=refine)
    return fine[:rows, :cols]


def scan_score(
    prob_map: np.ndarray, method: ScoreMethod = DEFAULT_SCORE, k: int = DEFAULT_TOP_K
) -> float:
    """Return one scan-level probability from a probability map.

    Parameters
    ----------
    prob_map
        ``(h, w)`` abnormality probabilities.
    method
        ``"max"`` (default): the most suspicious window. A scan is abnormal when any part of it
        is, the multiple-instance reading of a tile classifier, and with this score a scan's
        probability is at or above a threshold exactly when at least one region is reported
        above it. ``"topk"``: the mean of the `k` largest cells, less sensitive to one noisy
        cell but diluted when a lesion covers fewer than `k` cells.
    k
        Number of cells averaged by ``"topk"`` (capped at the map's size).
    """
    values = np.asarray(prob_map, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError("empty probability map")
    if method == "max":
        return float(values.max())
    if method == "topk":
        k = max(1, min(int(k), values.size))
        return float(np.partition(values, values.size - k)[-k:].mean())
    raise ValueError(f"unknown scan score {method!r}; use 'max' or 'topk'")
