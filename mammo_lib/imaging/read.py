"""The one entry that reads a scan file: pixels in 8 bits, bright = dense, and what is known.

:func:`read_scan` reads DICOM (any photometric interpretation and transfer syntax pydicom
decodes, :mod:`mammo_lib.imaging.dicom`), DDSM lossless JPEG (:mod:`mammo_lib.imaging.ljpeg`,
with the facts its ``.ics`` gives passed in; :func:`mammo_lib.sources.ddsm.read_view` finds
them), PGM (:mod:`mammo_lib.imaging.pgm`) and PNG, and converts the grey levels to 8 bits
through :mod:`mammo_lib.imaging.intensity`:

=======  ===============================================================================
format   8-bit conversion
=======  ===============================================================================
DICOM    by bit depth (the smallest depth of at least 8 bits holding the largest value)
LJPEG    the digitizer's optical-density calibration (OD 3.6 -> 0, OD 0.15 -> 255)
PGM      by maxval (``v * 255 / maxval``)
PNG      8-bit grey as stored; 16-bit by bit depth as DICOM
=======  ===============================================================================

The dataset build and the whole-scan prediction both read through here, so a tile and the
same region of a mapped scan hold the same pixels (``tests/test_pixel_identity.py``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from mammo_lib.imaging.errors import ImageReadError
from mammo_lib.imaging.intensity import ddsm_to_uint8, maxval_to_uint8, to_uint8

__all__ = ["FORMATS", "Scan", "read_scan", "sniff"]

#: The formats :func:`read_scan` reads.
FORMATS = ("dicom", "ljpeg", "pgm", "png")

_DICOM_SUFFIXES = (".dcm", ".dicom", ".dic")


@dataclass(frozen=True)
class Scan:
    """A scan read from a file, ready for tiling or for the model.

    Attributes
    ----------
    path
        The file it came from.
    image
        ``uint8 (rows, cols)``, bright = dense: the pixels every tile and map is cut from.
    file_format
        One of :data:`FORMATS`.
    pixels
        The decoded grey levels before the 8-bit conversion (``uint8`` or ``uint16``; for
        DICOM after the modality LUT and MONOCHROME1 inversion).
    bits
        Stored bit depth (DICOM ``BitsStored``, the ``.ics`` ``BITS_PER_PIXEL``, the PGM's
        maxval or PNG's sample depth).
    conversion
        How ``image`` was made from ``pixels``, in words.
    pixel_spacing_mm
        ``(row, col)`` spacing the file's header states (DICOM ``PixelSpacing`` or
        ``ImagerPixelSpacing``), None when it states none.
    digitizer
        DDSM digitizer (``"DBA"``, ``"LUMISYS"``, ``"HOWTEK"`` or the ``.ics`` model line), or
        None.
    laterality
        ``"L"`` or ``"R"`` where the header says (DICOM ``ImageLaterality``/``Laterality``,
        the ``.ics`` view name), else None.
    """

    path: Path
    image: np.ndarray
    file_format: str
    pixels: np.ndarray
    bits: int
    conversion: str
    pixel_spacing_mm: tuple[float, float] | None = None
    digitizer: str | None = None
    laterality: str | None = None


def sniff(path: str | os.PathLike[str]) -> str:
    """Return a file's format by its magic bytes (suffix for headerless DICOM).

    Raises
    ------
    ImageReadError
        If the file cannot be opened or is none of :data:`FORMATS`.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(132)
    except OSError as exc:
        raise ImageReadError(path, f"cannot open ({exc.strerror or exc})") from exc
    if head[128:132] == b"DICM" or path.suffix.lower() in _DICOM_SUFFIXES:
        return "dicom"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:2] in (b"P5", b"P2"):
        return "pgm"
    if head[:2] == b"\xff\xd8" and path.suffix.lower() == ".ljpeg":
        return "ljpeg"
    raise ImageReadError(path, "unsupported file: not DICOM, DDSM LJPEG, PGM (P5/P2) or PNG")


def _dicom_header(path: Path) -> tuple[int, tuple[float, float] | None, str | None]:
    """``(BitsStored, pixel spacing, laterality)`` from a DICOM header."""
    import pydicom

    ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    spacing = None
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        value = ds.get(keyword)
        if value is not None and len(value) == 2 and all(float(v) > 0 for v in value):
            spacing = float(value[0]), float(value[1])
            break
    side = str(ds.get("ImageLaterality", "") or ds.get("Laterality", "") or "").strip().upper()
    bits = int(ds.get("BitsStored", ds.get("BitsAllocated", 16)) or 16)
    return bits, spacing, side if side in ("L", "R") else None


def _read_png(path: Path) -> tuple[np.ndarray, np.ndarray, int, str]:
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("I;16", "I;16B", "I;16L", "I"):
                array = np.asarray(img)
                if array.min() < 0 or array.max() > 65535:
                    raise ImageReadError(path, f"PNG values outside 0-65535 (mode {img.mode})")
                raw = array.astype(np.uint16)
                return raw, to_uint8(raw), 16, "16-bit PNG by bit depth"
            image = np.asarray(img.convert("L"))
            return image, image, 8, f"PNG mode {img.mode} as 8-bit grey"
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ImageReadError(path, f"not a readable PNG ({exc})") from exc


def read_scan(
    path: str | os.PathLike[str],
    *,
    digitizer: str | None = None,
    site: str = "A",
    shape: tuple[int, int] | None = None,
    bits: int | None = None,
    laterality: str | None = None,
) -> Scan:
    """Read a DICOM, DDSM LJPEG, PGM or PNG scan as ``uint8`` with what its header states.

    Parameters
    ----------
    path
        The file; its format is found by :func:`sniff`.
    digitizer, site, shape, bits, laterality
        For an LJPEG only, what its ``.ics`` says (see
        :func:`mammo_lib.sources.ddsm.read_view`): the digitizer (required: its calibration
        converts the grey levels), the case letter (Howtek's site calibration), the view's
        ``(lines, pixels_per_line)`` (the decoded image is checked, and a swapped header
        reshaped, against it), ``BITS_PER_PIXEL`` and the side.

    Raises
    ------
    ImageReadError
        Unsupported format, unreadable, truncated or corrupt file, an LJPEG without its
        digitizer; the message names the file.
    mammo_lib.imaging.intensity.UnknownDigitizer
        An LJPEG whose digitizer has no calibration.
    """
    path = Path(path)
    kind = sniff(path)
    spacing = None
    if kind == "dicom":
        from mammo_lib.imaging.dicom import read_dicom

        raw = read_dicom(path)
        bits, spacing, laterality = _dicom_header(path)
        image = to_uint8(raw)
        conversion = "DICOM by bit depth"
    elif kind == "ljpeg":
        from mammo_lib.imaging.ljpeg import read_ljpeg

        if not digitizer:
            raise ImageReadError(
                path,
                "an LJPEG's grey levels need its digitizer's calibration: read it with "
                "mammo_lib.sources.ddsm.read_view (which finds the .ics) or pass digitizer=",
            )
        raw = read_ljpeg(path, shape)
        image = ddsm_to_uint8(raw, digitizer, site=site)
        bits = int(bits) if bits else 16
        conversion = f"{digitizer} optical density (site {site})"
    elif kind == "pgm":
        from mammo_lib.imaging.pgm import read_pgm, read_pgm_header

        try:
            raw, maxval = read_pgm(path), read_pgm_header(path).maxval
        except (ValueError, OSError) as exc:
            raise ImageReadError(path, str(exc)) from exc
        image = maxval_to_uint8(raw, maxval)
        bits, conversion = int(maxval).bit_length(), f"PGM by maxval {maxval}"
    else:
        raw, image, bits, conversion = _read_png(path)
    if image.ndim != 2 or min(image.shape) < 1:
        raise ImageReadError(path, f"expected a 2-D grey image, got shape {image.shape}")
    return Scan(
        path=path,
        image=image,
        file_format=kind,
        pixels=raw,
        bits=bits,
        conversion=conversion,
        pixel_spacing_mm=spacing,
        digitizer=digitizer if kind == "ljpeg" else None,
        laterality=laterality,
    )
