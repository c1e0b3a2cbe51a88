"""CBIS-DDSM ROI extraction: the study's methods 1 and 2 over a scan and its ROI mask.

Method 2 (dataset 9, and part of dataset 6; the study's code): the ROI is the bounding box
of the mask. The study called a ROI small when its larger side is under the crop and gave
it 20% context, ``max(1.2 * crop, extent)`` along each axis; a large ROI got 5%,
``max(1.05 * crop, extent)``. Every ROI, small or large, then gives ``n_crops`` (3) random
``crop x crop`` windows of that region, each flipped/rotated at random and resized to
``out_size`` (``large_rois="random"``, ``pad_by="longer-side"``: the defaults). Two of the
project's own variants are options: ``pad_by="axis"`` decides the context per axis, and
``large_rois="grid"`` covers a large ROI with the fewest evenly spaced overlapping tiles
instead of sampling it.

Method 1 (dataset 8, and part of dataset 6; the study's README): each ROI gives any of
these ``variants``: ``"original"`` one crop at its original size with the ROI at a random
place inside it; ``"centred"`` one crop at its original size with the ROI in its centre (a
fixed context around it); ``"zoomed"`` the whole ROI with 20% padding zoomed to the output
size; ``"halves"`` when one side is more than 1.5 times the other, one crop centred on each
half along the long side; ``"tiles"`` for a ROI larger than the crop, overlapping
crop-size tiles covering it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from mammo_lib.extract.common import (
    CROP_SIZE,
    OUT_SIZE,
    Box,
    ExtractionSkip,
    check_box,
    check_scan,
    cut,
    mask_bbox,
    window,
)
from mammo_lib.imaging.intensity import random_flip_rot, resize

#: Method-1 variants, in the order they are cut.
METHOD1_VARIANTS: tuple[str, ...] = ("original", "centred", "zoomed", "halves", "tiles")


@dataclass(frozen=True)
class RoiCrop:
    """One tile cut for a ROI.

    Attributes
    ----------
    tile
        ``uint8 [out_size, out_size]``.
    box
        Where it was cut in the scan, ``(row0, col0, row1, col1)``.
    kind
        ``"random"``, ``"tile"`` (method 2), ``"original"``, ``"centred"``, ``"zoomed"``,
        ``"half"``, ``"tile"`` (method 1).
    """

    tile: np.ndarray
    box: Box
    kind: str


def roi_box_from_mask(mask: np.ndarray, scan_shape: tuple[int, int]) -> Box:
    """Return the ROI box of a mask, checking that the mask fits the scan.

    Raises
    ------
    ExtractionSkip
        ``empty-mask``, or ``mask-shape-mismatch`` when the mask is not the scan's size
        (a mask larger than the scan, or one that cannot be placed on it).
    """
    if mask.ndim != 2:
        raise ExtractionSkip("mask-shape-mismatch", f"mask must be 2-D, got {mask.shape}")
    if tuple(mask.shape) != tuple(scan_shape):
        raise ExtractionSkip(
            "mask-shape-mismatch", f"mask {mask.shape} does not match scan {tuple(scan_shape)}"
        )
    box = mask_bbox(mask)
    check_box(box, scan_shape)
    return box


def region_side(
    extent: int, crop_size: int, pad_small: float = 1.2, pad_large: float = 1.05
) -> int:
    """Side of the context region along one axis for a ROI extent (method 2)."""
    factor = pad_small if extent < crop_size else pad_large
    return int(math.ceil(max(factor * crop_size, extent)))


def region_sides(
    height: int,
    width: int,
    crop_size: int,
    pad_small: float = 1.2,
    pad_large: float = 1.05,
    pad_by: Literal["longer-side", "axis"] = "longer-side",
) -> tuple[int, int]:
    """Sides of the method-2 context region of a ``height x width`` ROI.

    ``pad_by="longer-side"`` (the study) calls the ROI small or large by its larger side and
    uses that factor on both axes; ``"axis"`` (the project's variant) decides per axis.
    """
    if pad_by == "longer-side":
        factor = pad_small if max(height, width) < crop_size else pad_large
        return (
            int(math.ceil(max(factor * crop_size, height))),
            int(math.ceil(max(factor * crop_size, width))),
        )
    if pad_by == "axis":
        return (
            region_side(height, crop_size, pad_small, pad_large),
            region_side(width, crop_size, pad_small, pad_large),
        )
    raise ValueError(f"pad_by must be 'longer-side' or 'axis', got {pad_by!r}")


def _grid(length: int, crop_size: int) -> list[int]:
    """Offsets of the fewest crops that cover ``length`` pixels, evenly spaced."""
    if length <= crop_size:
        return [0]
    n = math.ceil(length / crop_size)
    return [int(round(v)) for v in np.linspace(0, length - crop_size, n)]


def method2_crops(
    scan8: np.ndarray,
    box: Box,
    rng: np.random.Generator,
    *,
    crop_size: int = CROP_SIZE,
    out_size: int = OUT_SIZE,
    n_crops: int = 3,
    pad_small: float = 1.2,
    pad_large: float = 1.05,
    pad_by: Literal["longer-side", "axis"] = "longer-side",
    large_rois: Literal["random", "grid"] = "random",
) -> list[RoiCrop]:
    """Cut the study's method-2 crops of one ROI.

    Parameters
    ----------
    scan8
        ``uint8 [H, W]`` scan.
    box
        ROI bounding box ``(row0, col0, row1, col1)``.
    rng
        Random generator (seed it per scan, see :func:`~mammo_lib.extract.common.scan_rng`).
    crop_size, out_size
        Window side in scan pixels and stored tile side.
    n_crops
        Random windows per ROI (per small ROI only with ``large_rois="grid"``).
    pad_small, pad_large
        Context factors for ROIs smaller / larger than the crop.
    pad_by
        ``"longer-side"`` (the study: small or large by the ROI's larger side) or ``"axis"``
        (the project's variant), see :func:`region_sides`.
    large_rois
        ``"random"`` (the study: ``n_crops`` random windows for every ROI) or ``"grid"`` (the
        project's variant: a ROI larger than the crop is covered by overlapping tiles).

    Returns
    -------
    list of RoiCrop
    """
    check_scan(scan8.shape, crop_size)
    check_box(box, scan8.shape)
    r0, c0, r1, c1 = box
    h, w = r1 - r0, c1 - c0
    center = ((r0 + r1) / 2, (c0 + c1) / 2)
    if large_rois not in ("random", "grid"):
        raise ValueError(f"large_rois must be 'random' or 'grid', got {large_rois!r}")
    side = region_sides(h, w, crop_size, pad_small, pad_large, pad_by)
    region = window(center, side, scan8.shape)
    rh, rw = region[2] - region[0], region[3] - region[1]
    crops: list[RoiCrop] = []
    if large_rois == "random" or (h < crop_size and w < crop_size):
        for _ in range(n_crops):
            dr = int(rng.integers(0, rh - crop_size + 1))
            dc = int(rng.integers(0, rw - crop_size + 1))
            crop_box = (
                region[0] + dr,
                region[1] + dc,
                region[0] + dr + crop_size,
                region[1] + dc + crop_size,
            )
            crops.append(RoiCrop(_finish(scan8, crop_box, rng, out_size), crop_box, "random"))
    else:
        for dr in _grid(rh, crop_size):
            for dc in _grid(rw, crop_size):
                crop_box = (
                    region[0] + dr,
                    region[1] + dc,
                    region[0] + dr + crop_size,
                    region[1] + dc + crop_size,
                )
                crops.append(RoiCrop(_finish(scan8, crop_box, rng, out_size), crop_box, "tile"))
    return crops


def method1_crops(
    scan8: np.ndarray,
    box: Box,
    rng: np.random.Generator,
    *,
    crop_size: int = CROP_SIZE,
    out_size: int = OUT_SIZE,
    zoom_padding: float = 1.2,
    elongation: float = 1.5,
    variants: Sequence[str] = ("original", "zoomed", "halves"),
) -> list[RoiCrop]:
    """Cut the study's method-1 crops of one ROI (see the module docstring).

    Parameters
    ----------
    scan8, box, rng, crop_size, out_size
        As for :func:`method2_crops`.
    zoom_padding
        Side of the zoomed region relative to the ROI's longer side.
    elongation
        Ratio of the ROI's sides above which each half gets its own crop.
    variants
        Which of :data:`METHOD1_VARIANTS` to cut, in that order.
    """
    unknown = set(variants) - set(METHOD1_VARIANTS)
    if unknown:
        raise ValueError(f"unknown method-1 variants {sorted(unknown)}; known: {METHOD1_VARIANTS}")
    check_scan(scan8.shape, crop_size)
    check_box(box, scan8.shape)
    r0, c0, r1, c1 = box
    h, w = r1 - r0, c1 - c0
    mid = ((r0 + r1) / 2, (c0 + c1) / 2)
    crops: list[RoiCrop] = []
    if "original" in variants:
        # at original size, the ROI at a random place inside the window
        center = []
        for lo, extent in ((r0, h), (c0, w)):
            slack = crop_size - extent
            offset = int(rng.integers(0, slack + 1)) if slack > 0 else slack // 2
            center.append(lo - offset + crop_size / 2)
        crop_box = window((center[0], center[1]), (crop_size, crop_size), scan8.shape)
        crops.append(RoiCrop(_finish(scan8, crop_box, rng, out_size), crop_box, "original"))
    if "centred" in variants:
        # at original size, the ROI in the centre: a fixed context around it
        fixed = window(mid, (crop_size, crop_size), scan8.shape)
        crops.append(RoiCrop(_finish(scan8, fixed, rng, out_size), fixed, "centred"))
    if "zoomed" in variants:
        # the whole ROI with padding, zoomed to the output size
        side = max(int(math.ceil(zoom_padding * max(h, w))), 1)
        zoom_box = window(mid, (side, side), scan8.shape)
        crops.append(RoiCrop(_finish(scan8, zoom_box, rng, out_size), zoom_box, "zoomed"))
    if "halves" in variants and max(h, w) > elongation * min(h, w):
        # elongated ROIs: one crop centred on each half of the long side
        for k in (1, 3):
            if h >= w:
                half_center = (r0 + k * h / 4, (c0 + c1) / 2)
            else:
                half_center = ((r0 + r1) / 2, c0 + k * w / 4)
            half_box = window(half_center, (crop_size, crop_size), scan8.shape)
            crops.append(RoiCrop(_finish(scan8, half_box, rng, out_size), half_box, "half"))
    if "tiles" in variants and max(h, w) > crop_size:
        # a ROI larger than the crop: overlapping tiles that cover it
        for dr in _grid(h, crop_size):
            for dc in _grid(w, crop_size):
                tile_box = window(
                    (r0 + dr + crop_size / 2, c0 + dc + crop_size / 2),
                    (crop_size, crop_size),
                    scan8.shape,
                )
                crops.append(RoiCrop(_finish(scan8, tile_box, rng, out_size), tile_box, "tile"))
    return crops


def _finish(scan8: np.ndarray, box: Box, rng: np.random.Generator, out_size: int) -> np.ndarray:
    """Cut, flip/rotate at random and resize one window (a non-square zoom window is squashed)."""
    return random_flip_rot(resize(cut(scan8, box), out_size), rng)
