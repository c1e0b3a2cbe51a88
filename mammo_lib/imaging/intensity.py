"""Grey levels to the 8 bits the models see, and the geometric steps every tile goes through.

One module for every conversion, so the dataset build and the whole-scan path cannot drift
apart: bit depth (:func:`to_uint8`, :func:`maxval_to_uint8`), the DDSM digitizers'
optical-density calibrations (:func:`ddsm_optical_density`, :func:`ddsm_to_uint8`), the
resize and flips of a tile (:func:`resize`, :func:`random_flip_rot`), and the resampling of a
whole scan to a model's scale (:func:`resample`). DICOM's own modality and VOI LUTs are applied by
:func:`mammo_lib.imaging.dicom.read_dicom` (through pydicom).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = [
    "OD_BLACK",
    "OD_WHITE",
    "UnknownDigitizer",
    "ddsm_optical_density",
    "ddsm_to_uint8",
    "maxval_to_uint8",
    "random_flip_rot",
    "resample",
    "resize",
    "to_uint8",
]

#: Optical densities mapped to 0 and 255 by :func:`ddsm_to_uint8`: the linear OD scale on
#: which CBIS-DDSM re-expressed the DDSM scans (dense tissue bright).
OD_BLACK, OD_WHITE = 3.6, 0.15


class UnknownDigitizer(ValueError):
    """A DDSM digitizer without a published calibration; ``reason`` is ``"unknown-digitizer"``."""

    reason = "unknown-digitizer"

    def __init__(self, digitizer: str) -> None:
        self.digitizer = digitizer
        self.detail = f"no calibration for digitizer {digitizer!r}"
        super().__init__(f"{self.reason}: {self.detail}")


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


def maxval_to_uint8(image: np.ndarray, maxval: int) -> np.ndarray:
    """Scale grey levels ``0..maxval`` (a PGM's range) to ``0..255``, rounding to nearest."""
    if maxval == 255:
        return np.asarray(image).astype(np.uint8, copy=False)
    return np.clip(np.rint(np.asarray(image) * (255.0 / maxval)), 0, 255).astype(np.uint8)


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
    UnknownDigitizer
        For any other digitizer.
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
    raise UnknownDigitizer(digitizer)


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


def resize(tile: np.ndarray, size: int) -> np.ndarray:
    """Resize a 2-D ``uint8`` array to ``size x size`` (bilinear, antialiased when shrinking)."""
    if tile.shape == (size, size):
        return np.ascontiguousarray(tile)
    return _bilinear(tile, (size, size))


def resample(image: np.ndarray, factor: tuple[float, float]) -> np.ndarray:
    """Resize a ``uint8`` image by ``(row, col)`` factors, as :func:`resize` makes the tiles.

    The whole-scan path brings a scan to the training scale with it.
    """
    rows = max(1, round(image.shape[0] * factor[0]))
    cols = max(1, round(image.shape[1] * factor[1]))
    if (rows, cols) == image.shape:
        return image
    return _bilinear(image, (rows, cols))


def _bilinear(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """PIL's bilinear resize (antialiased when shrinking) of a 2-D ``uint8`` array to `shape`."""
    pil = Image.fromarray(np.ascontiguousarray(image), mode="L")
    return np.asarray(pil.resize((shape[1], shape[0]), Image.Resampling.BILINEAR))


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
