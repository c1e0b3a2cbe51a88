"""Shared pieces of extraction: skips for bad input, seeded randomness, boxes and windows.

All functions are pure numpy over arrays: a scan is a 2-D array (rows, columns), a box is
``(row0, col0, row1, col1)`` with exclusive ends, a tile is a 2-D ``uint8`` array. Grey
levels, resizing and flips live in :mod:`mammo_lib.imaging.intensity`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

#: The study's crop side in full-resolution scan pixels, and the stored tile side.
CROP_SIZE = 598
OUT_SIZE = 299

Box = tuple[int, int, int, int]


class ExtractionSkip(ValueError):
    """Bad input that an extraction skips; ``reason`` is a short code for the manifest.

    Parameters
    ----------
    reason
        Short machine-readable code, e.g. ``"empty-mask"``.
    detail
        What exactly is wrong, in words.
    """

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


def scan_rng(seed: int, *keys: str | int) -> np.random.Generator:
    """Return a generator seeded from the global seed and identifiers (e.g. the scan id).

    The result does not depend on the process, the worker or the order of calls, so a
    build gives the same tiles whichever scheduler runs it.
    """
    digest = hashlib.sha256("\x1f".join(str(k) for k in keys).encode("utf-8")).digest()
    return np.random.default_rng([int(seed), int.from_bytes(digest[:8], "little")])


def mask_bbox(mask: np.ndarray) -> Box:
    """Return the bounding box of the nonzero pixels of a mask.

    Raises
    ------
    ExtractionSkip
        ``empty-mask`` when no pixel is set.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        raise ExtractionSkip("empty-mask", "the ROI mask has no nonzero pixel")
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def check_scan(scan_shape: Sequence[int], crop_size: int) -> None:
    """Raise ``scan-smaller-than-tile`` when a scan cannot hold one crop."""
    if len(scan_shape) != 2:
        raise ExtractionSkip("not-2d", f"a scan must be 2-D, got shape {tuple(scan_shape)}")
    if min(scan_shape) < crop_size:
        raise ExtractionSkip(
            "scan-smaller-than-tile",
            f"scan {tuple(scan_shape)} is smaller than a {crop_size}x{crop_size} crop",
        )


def check_box(box: Box, scan_shape: Sequence[int]) -> None:
    """Raise when a ROI box lies (partly) outside the scan or is larger than it."""
    r0, c0, r1, c1 = box
    height, width = scan_shape
    if r1 - r0 > height or c1 - c0 > width:
        raise ExtractionSkip(
            "roi-larger-than-scan", f"ROI {r1 - r0}x{c1 - c0} exceeds scan {height}x{width}"
        )
    if r0 < 0 or c0 < 0 or r1 > height or c1 > width or r1 <= r0 or c1 <= c0:
        raise ExtractionSkip("roi-outside-scan", f"ROI box {box} outside scan {height}x{width}")


def window(center: tuple[float, float], size: tuple[int, int], shape: Sequence[int]) -> Box:
    """Return a ``size`` window centred on ``center``, shifted (or shrunk) into the scan."""
    height, width = int(shape[0]), int(shape[1])
    h, w = min(int(round(size[0])), height), min(int(round(size[1])), width)
    r0 = int(round(center[0] - h / 2))
    c0 = int(round(center[1] - w / 2))
    r0 = min(max(r0, 0), height - h)
    c0 = min(max(c0, 0), width - w)
    return r0, c0, r0 + h, c0 + w


def cut(scan: np.ndarray, box: Box) -> np.ndarray:
    """Return the pixels of ``box``."""
    r0, c0, r1, c1 = box
    return scan[r0:r1, c0:c1]


def boxes_overlap(a: Box, b: Box) -> bool:
    """Whether two boxes share at least one pixel."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
