"""CBIS-DDSM ROI extraction: the study's methods 1 and 2 over a scan and its ROI mask.

Method 2 (datasets 8 and 9; the study's code): the ROI is the bounding box of the mask;
the region around its centre has side ``max(1.2 * crop, ROI)`` along an axis where the ROI
is smaller than the crop and ``max(1.05 * crop, ROI)`` where it is larger; ROIs smaller than
the crop give ``n_crops`` random ``crop x crop`` windows of that region, ROIs larger than
the crop are covered by a grid of tiles; every window is flipped/rotated at random and
resized to ``out_size``.

Method 1 (dataset 6; the study's README): each ROI gives (a) one crop at its original size
with the ROI at a random place inside it, (b) the whole ROI with 20% context zoomed to the
output size, and (c) when one side is more than 1.5 times the other, one crop centred on
each half along the long side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
        ``"random"``, ``"tile"`` (method 2), ``"original"``, ``"zoomed"``, ``"half"`` (method 1).
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
        Random windows per ROI smaller than the crop.
    pad_small, pad_large
        Context factors for ROIs smaller / larger than the crop.

    Returns
    -------
    list of RoiCrop
    """
    check_scan(scan8.shape, crop_size)
    check_box(box, scan8.shape)
    r0, c0, r1, c1 = box
    h, w = r1 - r0, c1 - c0
    center = ((r0 + r1) / 2, (c0 + c1) / 2)
    side = (
        region_side(h, crop_size, pad_small, pad_large),
        region_side(w, crop_size, pad_small, pad_large),
    )
    region = window(center, side, scan8.shape)
    rh, rw = region[2] - region[0], region[3] - region[1]
    crops: list[RoiCrop] = []
    if h < crop_size and w < crop_size:
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
) -> list[RoiCrop]:
    """Cut the study's method-1 crops of one ROI: original size, zoomed, halves.

    Parameters
    ----------
    scan8, box, rng, crop_size, out_size
        As for :func:`method2_crops`.
    zoom_padding
        Side of the zoomed region relative to the ROI's longer side.
    elongation
        Ratio of the ROI's sides above which each half gets its own crop.
    """
    check_scan(scan8.shape, crop_size)
    check_box(box, scan8.shape)
    r0, c0, r1, c1 = box
    h, w = r1 - r0, c1 - c0
    crops: list[RoiCrop] = []
    # (a) at original size, the ROI at a random place inside the window
    center = []
    for lo, extent in ((r0, h), (c0, w)):
        slack = crop_size - extent
        offset = int(rng.integers(0, slack + 1)) if slack > 0 else slack // 2
        center.append(lo - offset + crop_size / 2)
    crop_box = window((center[0], center[1]), (crop_size, crop_size), scan8.shape)
    crops.append(RoiCrop(_finish(scan8, crop_box, rng, out_size), crop_box, "original"))
    # (b) the whole ROI with context, zoomed to the output size
    side = max(int(math.ceil(zoom_padding * max(h, w))), 1)
    zoom_box = window(((r0 + r1) / 2, (c0 + c1) / 2), (side, side), scan8.shape)
    crops.append(RoiCrop(_finish(scan8, zoom_box, rng, out_size), zoom_box, "zoomed"))
    # (c) elongated ROIs: one crop centred on each half of the long side
    if max(h, w) > elongation * min(h, w):
        for k in (1, 3):
            if h >= w:
                half_center = (r0 + k * h / 4, (c0 + c1) / 2)
            else:
                half_center = ((r0 + r1) / 2, c0 + k * w / 4)
            half_box = window(half_center, (crop_size, crop_size), scan8.shape)
            crops.append(RoiCrop(_finish(scan8, half_box, rng, out_size), half_box, "half"))
    return crops


def _finish(scan8: np.ndarray, box: Box, rng: np.random.Generator, out_size: int) -> np.ndarray:
    """Cut, flip/rotate at random and resize one window (a non-square zoom window is squashed)."""
    return random_flip_rot(resize(cut(scan8, box), out_size), rng)
