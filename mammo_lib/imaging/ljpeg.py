"""DDSM ``.LJPEG`` files, decoded bit-exactly.

They are raw lossless-JPEG (SOF3) streams from the old PVRG codec, decoded with
libjpeg-turbo (through imagecodecs), about 5x faster than pylibjpeg-libjpeg; a stream it
refuses goes to liblj92, then to pylibjpeg-libjpeg, the reference. ``tests/test_ddsm.py``
checks that all three agree bit for bit for every predictor (1-7) at 12 and 16 bits, on
streams from two different encoders; and on real files, each process checks the fast
decoder's first image against the reference and drops the fast decoder if they differ, so the
pixels never depend on the decoder. Some streams carry width and height swapped with respect
to the ``.ics``: the pixel stream is in the raster order of the true image, so it is
*reshaped* (not transposed) to the ``.ics`` geometry, with a warning.

The grey levels are the digitizer's raw values; :func:`mammo_lib.imaging.read.read_scan`
brings them to 8 bits through the digitizer's optical-density calibration
(:func:`mammo_lib.imaging.intensity.ddsm_to_uint8`). The ``.ics`` case header that names the
digitizer is parsed by :mod:`mammo_lib.sources.ddsm`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import imagecodecs
import libjpeg
import numpy as np

from mammo_lib.imaging.errors import ImageReadError

__all__ = ["LJPEG_DECODERS", "REFERENCE_DECODER", "LjpegHeader", "ljpeg_header", "read_ljpeg"]


@dataclass(frozen=True)
class LjpegHeader:
    """What a lossless-JPEG stream's frame header says: ``rows``, ``columns``, ``precision``."""

    rows: int
    columns: int
    precision: int
    complete: bool


def _parse_ljpeg(data: bytes, path: Path) -> LjpegHeader:
    """Parse the SOF3 frame header and check for an end-of-image marker after the scan."""
    if data[:2] != b"\xff\xd8":
        raise ImageReadError(path, "not a JPEG stream (no start-of-image marker)")
    sof = None
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ImageReadError(path, f"corrupt JPEG marker structure at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2, 0xC5, 0xC6, 0xC7):
            raise ImageReadError(path, f"not lossless JPEG (frame marker 0xFF{marker:02X})")
        if marker == 0xC3:
            if pos + 9 > len(data):
                break
            precision = data[pos + 4]
            rows = int.from_bytes(data[pos + 5 : pos + 7], "big")
            columns = int.from_bytes(data[pos + 7 : pos + 9], "big")
            sof = (rows, columns, precision)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            if sof is None:
                raise ImageReadError(path, "scan before a lossless (SOF3) frame header")
            # inside entropy-coded data 0xFF is always followed by 0x00 or RSTn, so an
            # end-of-image marker can only be the real one
            complete = data.rfind(b"\xff\xd9", pos + 2 + length) != -1
            return LjpegHeader(sof[0], sof[1], sof[2], complete)
        pos += 2 + length
    raise ImageReadError(path, "truncated: the stream ends before its scan starts")


def ljpeg_header(path: str | os.PathLike[str]) -> LjpegHeader:
    """Read an ``.LJPEG`` file's frame header without decoding it.

    ``complete`` is False when no end-of-image marker follows the scan (a truncated file).

    Raises
    ------
    ImageReadError
        If the file is missing, not lossless JPEG, or ends before its scan starts.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageReadError(path, f"cannot be read ({exc})") from exc
    return _parse_ljpeg(data, path)


#: Lossless-JPEG decoders by name; "auto" tries them in this order.
LJPEG_DECODERS: dict[str, Callable[[bytes], np.ndarray]] = {
    "libjpeg-turbo": imagecodecs.jpeg8_decode,
    "lj92": imagecodecs.ljpeg_decode,
    "libjpeg": libjpeg.decode,
}


#: The decoder the others are checked against.
REFERENCE_DECODER = "libjpeg"

#: Per process: whether each fast decoder agreed with the reference on the first real stream.
_DECODER_CHECKS: dict[str, bool] = {}


def _check_against_reference(name: str, image: np.ndarray, data: bytes, path: Path) -> np.ndarray:
    """Compare a fast decoder's first image in this process with the reference decoder's.

    On agreement the fast decoder is trusted from then on; on disagreement it is not used
    again in this process, a warning names the file, and the reference image is returned, so
    the output never depends on which decoder ran.
    """
    try:
        reference = np.asarray(LJPEG_DECODERS[REFERENCE_DECODER](data))
    except (RuntimeError, ValueError) as exc:
        raise ImageReadError(
            path, f"{name} decoded it but the reference {REFERENCE_DECODER} cannot ({exc})"
        ) from exc
    agree = reference.shape == image.shape and np.array_equal(reference, image)
    _DECODER_CHECKS[name] = agree
    if agree:
        return image
    warnings.warn(
        f"{path}: the {name} decoder disagrees with {REFERENCE_DECODER} on this stream; "
        f"{REFERENCE_DECODER} decodes the rest",
        RuntimeWarning,
        stacklevel=3,
    )
    return reference


def read_ljpeg(
    path: str | os.PathLike[str],
    shape: tuple[int, int] | None = None,
    *,
    require_eoi: bool = True,
    decoder: Literal["auto", "libjpeg-turbo", "lj92", "libjpeg"] = "auto",
) -> np.ndarray:
    """Decode a DDSM ``.LJPEG`` lossless-JPEG file bit-exactly.

    Parameters
    ----------
    path
        The ``.LJPEG`` file.
    shape
        ``(lines, pixels_per_line)`` as the view's ``.ics`` gives them; when given, the decoded
        image is checked against it. A stream whose header has width and height swapped is
        reshaped to this geometry (its pixels are in the true raster order), with a warning.
    require_eoi
        Refuse a stream without an end-of-image marker (the sign of a truncated file: the
        decoders themselves pad a truncated stream silently).
    decoder
        One of :data:`LJPEG_DECODERS`: ``"libjpeg-turbo"`` (fastest), ``"lj92"``, ``"libjpeg"``
        (pylibjpeg-libjpeg, the reference); or ``"auto"``: each in that order until one
        decodes the stream to the frame header's size. In ``"auto"`` mode the first image a
        fast decoder gives in a process is also decoded by the reference and compared: a
        decoder that disagrees is dropped (with a warning) and the reference image returned.

    Returns
    -------
    numpy.ndarray
        ``uint16`` array ``(lines, pixels_per_line)``.

    Raises
    ------
    ImageReadError
        If the file is missing, truncated, not lossless JPEG, cannot be decoded, or its size
        disagrees with `shape`; the message names the file.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageReadError(path, f"cannot be read ({exc})") from exc
    header = _parse_ljpeg(data, path)
    if require_eoi and not header.complete:
        raise ImageReadError(path, "truncated: no end-of-image marker after the scan data")
    if decoder not in ("auto", *LJPEG_DECODERS):
        raise ValueError(f"unknown decoder {decoder!r}; use auto, {', '.join(LJPEG_DECODERS)}")
    if decoder == "auto":
        names = [n for n in LJPEG_DECODERS if _DECODER_CHECKS.get(n) is not False]
    else:
        names = [decoder]
    failures = []
    for name in names:
        try:
            image = np.asarray(LJPEG_DECODERS[name](data))
        except (RuntimeError, ValueError, imagecodecs.DelayedImportError) as exc:
            failures.append(f"{name}: {exc}")
            continue
        if image.shape[:2] == (header.rows, header.columns) or name == names[-1]:
            break
        failures.append(
            f"{name}: decoded {image.shape}, frame header says {header.rows} x {header.columns}"
        )
    else:
        raise ImageReadError(path, f"lossless JPEG cannot be decoded ({'; '.join(failures)})")
    if decoder == "auto" and name != REFERENCE_DECODER and name not in _DECODER_CHECKS:
        image = _check_against_reference(name, image, data, path)
    image = np.asarray(image)
    if image.ndim != 2:
        raise ImageReadError(path, f"expected one grey channel, decoded shape {image.shape}")
    if shape is not None and image.shape != tuple(shape):
        lines, pixels = (int(v) for v in shape)
        if image.size != lines * pixels:
            raise ImageReadError(
                path,
                f"decoded size {image.shape} disagrees with the .ics "
                f"({lines} lines x {pixels} pixels)",
            )
        warnings.warn(
            f"{path}: header size {image.shape} disagrees with the .ics {(lines, pixels)}; "
            "pixel stream reshaped to the .ics geometry",
            stacklevel=2,
        )
        image = image.reshape(lines, pixels)
    return image.astype(np.uint16, copy=False)
