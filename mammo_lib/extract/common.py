"""Shared pieces of extraction: skips for bad input, bit depth, resizing, flips and windows.

All functions are pure numpy over arrays: a scan is a 2-D array (rows, columns), a box is
``(row0, col0, row1, col1)`` with exclusive ends, a tile is a 2-D ``uint8`` array.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from PIL import Image

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


def to_uint8(scan: np.ndarray, bits: int | None = None) -> np.ndarray:
    """Scale a scan to 8 bits by its bit depth.

    Parameters
    ----------
    scan
        2-D unsigned integer array (``uint8`` is returned unchanged).
    bits
        Stored bit depth (e.g. 12 for a 12-bit digitizer). None takes the smallest depth
        of at least 8 bits that holds the scan's largest value.

    Returns
    -------
    numpy.ndarray
        ``uint8`` array, ``round(value * 255 / (2**bits - 1))``.
    """
    array = np.asarray(scan)
    if array.ndim != 2:
        raise ValueError(f"a scan must be 2-D, got shape {array.shape}")
    if array.dtype == np.uint8:
        return array
    if not np.issubdtype(array.dtype, np.unsignedinteger):
        raise ValueError(f"a scan must hold unsigned integers, got {array.dtype}")
    if bits is None:
        bits = max(8, int(array.max(initial=0)).bit_length())
    scale = 255.0 / (2**bits - 1)
    out = np.multiply(array, scale, dtype=np.float32)
    np.rint(out, out=out)
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)


def resize(tile: np.ndarray, size: int) -> np.ndarray:
    """Resize a 2-D ``uint8`` array to ``size x size`` (bilinear, antialiased when shrinking)."""
    if tile.shape == (size, size):
        return np.ascontiguousarray(tile)
    image = Image.fromarray(np.ascontiguousarray(tile), mode="L")
    return np.asarray(image.resize((size, size), Image.Resampling.BILINEAR))


def random_flip_rot(tile: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Flip left-right and up-down with probability 1/2 each and rotate by a random k*90 deg."""
    flips = rng.integers(0, 2, size=2)
    k = int(rng.integers(0, 4))
    out = tile
    if flips[0]:
        out = out[:, ::-1]
    if flips[1]:
        out = out[::-1, :]
    return np.ascontiguousarray(np.rot90(out, k))


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


#: Optical densities mapped to 0 and 255 by :func:`ddsm_to_uint8`: the linear OD scale on
#: which CBIS-DDSM re-expressed the DDSM scans (dense tissue bright).
OD_BLACK, OD_WHITE = 3.6, 0.15


def ddsm_optical_density(grey: np.ndarray, digitizer: str, site: str = "A") -> np.ndarray:
    """Optical density of DDSM grey levels by the digitizer's calibration (DDSM notes).

    ==============  =====================================================================
    digitizer       calibration
    ==============  =====================================================================
    DBA 21          ``OD = (log10(GL) - 4.80662) / -1.07553``
    LUMISYS LASER   ``OD = (GL - 4096.99) / -1009.01``
    HOWTEK          ``OD = 3.789 - 0.00094568 GL`` (site A); ``3.96604 - 0.00099056 GL`` (D)
    ==============  =====================================================================

    Parameters
    ----------
    grey
        Stored grey levels (``uint16``).
    digitizer
        Digitizer name as in the ``.ics`` (``"DBA 21"``, ``"LUMISYS LASER"``, ``"HOWTEK ..."``).
    site
        Case letter (A-D) for the Howtek site calibration.

    Raises
    ------
    ExtractionSkip
        ``unknown-digitizer``.
    """
    g = np.asarray(grey, dtype=np.float32)
    name = str(digitizer).upper()
    if "DBA" in name:
        return (np.log10(np.maximum(g, 1.0)) - np.float32(4.80662)) / np.float32(-1.07553)
    if "LUMISYS" in name:
        return (g - np.float32(4096.99)) / np.float32(-1009.01)
    if "HOWTEK" in name:
        if str(site).upper().startswith("D"):
            return np.float32(3.96604) - np.float32(0.00099056) * g
        return np.float32(3.789) - np.float32(0.00094568) * g
    raise ExtractionSkip("unknown-digitizer", f"no calibration for digitizer {digitizer!r}")


def ddsm_to_uint8(grey: np.ndarray, digitizer: str, site: str = "A") -> np.ndarray:
    """DDSM grey levels to 8 bits through optical density (OD 3.6 -> 0, OD 0.15 -> 255).

    Raw DDSM grey levels differ by scanner (DBA's are linear in transmitted light and look
    almost black when scaled by bit depth); going through the published calibrations puts
    every digitizer, and the CBIS-DDSM scans, on one density scale.
    """
    grey = np.asarray(grey)
    if grey.dtype in (np.uint8, np.uint16):  # one lookup table over every possible level
        levels = np.arange(np.iinfo(grey.dtype).max + 1, dtype=np.float32)
        return _od_to_uint8(ddsm_optical_density(levels, digitizer, site))[grey]
    return _od_to_uint8(ddsm_optical_density(grey, digitizer, site))


def _od_to_uint8(od: np.ndarray) -> np.ndarray:
    values = (np.float32(OD_BLACK) - od) * np.float32(255.0 / (OD_BLACK - OD_WHITE))
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)
