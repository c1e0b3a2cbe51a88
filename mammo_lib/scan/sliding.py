"""Sliding-window baseline: the tile classifier run on every crop at the map's stride.

The fully convolutional network (:mod:`mammo_lib.scan.fcn`) computes, in one pass, what this
module computes crop by crop. The two agree exactly for a trunk with ``"valid"`` padding.
With ``"same"`` padding (the study's models) they differ: a crop seen alone is padded with
zeros at every convolution and pooling layer near its border, while the fully convolutional
network sees the neighbouring scan there. :func:`compare_maps` measures how much that matters.
"""

from __future__ import annotations

import keras
import numpy as np

from mammo_lib.scan.fcn import (
    FullyConvolutional,
    _ends_in_logits,
    abnormal_probability,
    prepare_image,
)


def sliding_window_map(
    classifier: keras.Model,
    fcn: FullyConvolutional,
    image: np.ndarray,
    *,
    step: int | None = None,
    batch_size: int = 32,
) -> np.ndarray:
    """Run the tile classifier on every window of the fully convolutional map's grid.

    Parameters
    ----------
    classifier
        The tile classifier that `fcn` was converted from.
    fcn
        Gives the tile size, the stride and the padding, so both maps share one grid.
    image
        ``(H, W)`` grey image, values as the classifier's input takes them.
    step
        Grid step in pixels; None: the network's stride (a divisor of it matches
        ``probability_map(..., refine=stride // step)``).
    batch_size
        Crops per inference batch.

    Returns
    -------
    numpy.ndarray
        float32 ``(rows, cols)``: the abnormality probability of the crop whose top-left
        corner is ``(i * step, j * step)``.
    """
    padded = prepare_image(np.asarray(image, dtype=np.float32), fcn)[0]
    (th, tw), s = fcn.tile, step or fcn.stride
    if fcn.stride % s:
        raise ValueError(f"step {s} must divide the network's stride {fcn.stride}")
    rows, cols = fcn.map_shape(*image.shape, refine=fcn.stride // s)
    from_logits = _ends_in_logits(classifier)
    origins = [(i * s, j * s) for i in range(rows) for j in range(cols)]
    out = np.empty(len(origins), dtype=np.float32)
    infer = keras.ops.convert_to_numpy
    for start in range(0, len(origins), batch_size):
        chunk = origins[start : start + batch_size]
        crops = np.stack([padded[r : r + th, c : c + tw] for r, c in chunk])
        logits = infer(classifier(crops, training=False))
        out[start : start + len(chunk)] = abnormal_probability(logits, from_logits=from_logits)
    return out.reshape(rows, cols)


def compare_maps(fcn_map: np.ndarray, sliding_map: np.ndarray) -> dict[str, float]:
    """Compare two probability maps cell by cell.

    Returns
    -------
    dict
        ``pearson_r`` (NaN when a map is constant), ``max_abs_diff``, ``mean_abs_diff`` and
        ``n_cells``.
    """
    a = np.asarray(fcn_map, dtype=np.float64).ravel()
    b = np.asarray(sliding_map, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"maps differ in shape: {np.shape(fcn_map)} vs {np.shape(sliding_map)}")
    diff = np.abs(a - b)
    r = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else float("nan")
    return {
        "pearson_r": r,
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "n_cells": int(a.size),
    }
