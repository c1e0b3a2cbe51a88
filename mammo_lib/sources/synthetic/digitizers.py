"""The three DDSM film digitizers: calibration, bit depth, resolution and noise.

DDSM films were digitised at four sites on three scanner models. Each stores grey levels
(GL) related to the film's optical density (OD) by its own calibration (the DDSM calibration
notes, also used by Lee et al. 2017 to build CBIS-DDSM):

============  =====  ==========  ======  ====================================================
digitizer     bits   resolution  sites   calibration
============  =====  ==========  ======  ====================================================
DBA 21        16     42 um       A       OD = (log10(GL) - 4.80662) / -1.07553
LUMISYS LASER 12     50 um       B, C    OD = (GL - 4096.99) / -1009.01
HOWTEK        12     43.5 um     A, D    OD = 3.789 - 0.00094568 GL (site A, MGH);
MULTIRAD850                              OD = 3.96604 - 0.00099056 GL (site D, ISMD)
============  =====  ==========  ======  ====================================================

Case letters by site (a documented assumption of this generator, kept self-consistent): A
Massachusetts General Hospital (DBA or Howtek), B and C Wake Forest (Lumisys), D Washington
University / ISMD (Howtek).

The synthetic film is brightness ``b`` in [0, 1]; its optical density follows a film
characteristic curve ``OD = 3.6 - 3.45 b**0.6``: unexposed background about 3.3, fatty tissue
(b about 0.3) about 1.9, dense tissue (b about 0.7) about 0.8, white labels 0.15.

Noise: Howtek adds per-line streaks, Lumisys is the quietest, DBA's noise is multiplicative.
DBA grey levels are linear in transmitted light (``GL ~ 10**-OD``), so its 16-bit images look
dark unless log-scaled: a real property of the DBA scans that an 8-bit conversion must face.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DIGITIZERS", "Digitizer", "brightness_to_od", "digitize", "grey_to_od"]

OD_AIR = 3.6
OD_SPAN = 3.45
FILM_GAMMA = 0.6


@dataclass(frozen=True)
class Digitizer:
    """A DDSM scanner model as the .ics file names it."""

    name: str
    bits: int
    resolution_um: float
    letters: tuple[str, ...]


DIGITIZERS: dict[str, Digitizer] = {
    "DBA 21": Digitizer("DBA 21", 16, 42.0, ("A",)),
    "LUMISYS LASER": Digitizer("LUMISYS LASER", 12, 50.0, ("B", "C")),
    "HOWTEK MULTIRAD850": Digitizer("HOWTEK MULTIRAD850", 12, 43.5, ("A", "D")),
}


def brightness_to_od(b: np.ndarray) -> np.ndarray:
    """Film optical density of brightness `b` (float32)."""
    b = np.clip(b, 0.0, 1.0)
    return np.float32(OD_AIR) - np.float32(OD_SPAN) * np.power(b, np.float32(FILM_GAMMA))


def _od_to_grey(od: np.ndarray, name: str, letter: str) -> np.ndarray:
    if name == "DBA 21":
        return np.power(np.float32(10.0), np.float32(4.80662) - np.float32(1.07553) * od)
    if name == "LUMISYS LASER":
        return np.float32(4096.99) - np.float32(1009.01) * od
    if letter == "D":
        return (np.float32(3.96604) - od) / np.float32(0.00099056)
    return (np.float32(3.789) - od) / np.float32(0.00094568)


def grey_to_od(grey: np.ndarray, name: str, letter: str) -> np.ndarray:
    """Optical density of stored grey levels (the inverse of the digitizer's calibration)."""
    g = np.asarray(grey, dtype=np.float32)
    if name == "DBA 21":
        return (np.log10(np.maximum(g, 1.0)) - np.float32(4.80662)) / np.float32(-1.07553)
    if name == "LUMISYS LASER":
        return (g - np.float32(4096.99)) / np.float32(-1009.01)
    if letter == "D":
        return np.float32(3.96604) - np.float32(0.00099056) * g
    return np.float32(3.789) - np.float32(0.00094568) * g


def digitize(rng: np.random.Generator, b: np.ndarray, name: str, letter: str) -> np.ndarray:
    """Scan film brightness `b` with a digitizer: its grey levels with its noise (uint16).

    Parameters
    ----------
    rng
        Random generator.
    b
        float32 film brightness in [0, 1].
    name
        A key of :data:`DIGITIZERS`.
    letter
        The case letter (site), which picks the Howtek calibration.

    Returns
    -------
    numpy.ndarray
        uint16 grey levels within the digitizer's bit depth.
    """
    spec = DIGITIZERS[name]
    grey = _od_to_grey(brightness_to_od(b), name, letter)
    noise = rng.standard_normal(b.shape, dtype=np.float32)
    if name == "DBA 21":
        grey = grey * (1.0 + np.float32(0.012) * noise)
    elif name == "LUMISYS LASER":
        grey = grey + np.float32(3.0) * noise
    else:
        streaks = rng.standard_normal((b.shape[0], 1), dtype=np.float32) * np.float32(4.0)
        grey = grey + np.float32(6.0) * noise + streaks
    top = np.float32(2**spec.bits - 1)
    return np.clip(np.rint(grey), 0, top).astype(np.uint16)
