"""DICOM to numpy: pixel decoding, modality and VOI LUTs, MONOCHROME1 inversion.

:func:`read_dicom` returns the image with bright = dense whatever the photometric
interpretation, in the smallest unsigned integer type that holds the output range (``uint16``
for 12- to 16-bit mammograms, ``uint8`` for 8-bit masks). Nothing is scaled to 8 bits here:
:func:`mammo_lib.imaging.read.read_scan` does that, through :mod:`mammo_lib.imaging.intensity`.
Decoding goes through :mod:`pydicom.pixels`, so compressed transfer syntaxes decode too: RLE
Lossless natively, JPEG Lossless through pylibjpeg.

Examples
--------
>>> read_dicom("1-1.dcm").dtype          # doctest: +SKIP
dtype('uint16')
"""

from __future__ import annotations

import os

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_modality_lut, apply_voi_lut, pixel_array

from mammo_lib.imaging.errors import ImageReadError

__all__ = ["ImageReadError", "is_dicom", "output_range", "read_dicom", "read_dicom_header"]

_READ_ERRORS = (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError)


def _lut_range(item: Dataset) -> tuple[float, float]:
    """Output range of a LUT item: ``(0, 2**bits - 1)`` from its LUTDescriptor."""
    bits = int(item.LUTDescriptor[2])
    return 0.0, float(2**bits - 1)


def output_range(ds: Dataset, *, apply_voi: bool = False) -> tuple[float, float]:
    """Return the range of values the modality (and optionally VOI) transform can produce.

    Parameters
    ----------
    ds
        The dataset (its Image Pixel, Modality LUT and VOI LUT modules are used).
    apply_voi
        Whether the VOI LUT or window is applied (as in :func:`read_dicom`).

    Returns
    -------
    tuple of float
        ``(low, high)``; MONOCHROME1 images are inverted within this range.
    """
    bits = int(ds.get("BitsStored", ds.get("BitsAllocated", 16)))
    if apply_voi and "VOILUTSequence" in ds:
        return _lut_range(ds.VOILUTSequence[0])
    if apply_voi and "WindowCenter" in ds and "WindowWidth" in ds:
        return 0.0, float(2**bits - 1)  # pydicom's windowing maps into the stored range
    if "ModalityLUTSequence" in ds:
        return _lut_range(ds.ModalityLUTSequence[0])
    if int(ds.get("PixelRepresentation", 0)) == 1:
        low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    else:
        low, high = 0, 2**bits - 1
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    ends = sorted((low * slope + intercept, high * slope + intercept))
    return ends[0], ends[1]


#: File name suffixes taken as DICOM even without the 128-byte preamble and ``DICM``.
DICOM_SUFFIXES = (".dcm", ".dicom", ".dic")


def is_dicom(path: str | os.PathLike[str]) -> bool:
    """Whether `path` is a DICOM file: the ``DICM`` marker after the preamble, or a DICOM
    suffix (files written without a preamble).

    Raises
    ------
    ImageReadError
        When the file cannot be opened; the message names it.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(132)
    except OSError as exc:
        raise ImageReadError(path, f"cannot open ({exc.strerror or exc})") from exc
    return head[128:132] == b"DICM" or os.fspath(path).lower().endswith(DICOM_SUFFIXES)


def read_dicom_header(path: str | os.PathLike[str]) -> Dataset:
    """The data set of a DICOM file without its pixel data (for checks before decoding).

    Raises
    ------
    ImageReadError
        When the header cannot be read; the message names the file.
    """
    try:
        return pydicom.dcmread(path, stop_before_pixels=True, force=True)
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        raise ImageReadError(path, f"unreadable DICOM header ({exc})") from exc


def read_dicom(path: str | os.PathLike[str], *, apply_voi: bool = False) -> np.ndarray:
    """Read a single-frame greyscale DICOM image so that bright means dense.

    Steps: decode the pixel data (any transfer syntax pydicom and its plugins decode), apply
    the modality LUT (rescale slope/intercept or LUT), optionally the VOI LUT or window, invert
    MONOCHROME1 images within the output range, shift so the range starts at 0 when it would
    be negative, round, and store in the smallest unsigned type that holds the range.

    Parameters
    ----------
    path
        The DICOM file.
    apply_voi
        Apply the VOI LUT / window centre and width stored in the file (default False: keep the
        full dynamic range).

    Returns
    -------
    numpy.ndarray
        2-D array ``(rows, columns)``, ``uint8`` when the output range fits 8 bits (e.g. masks
        0/255), else ``uint16`` (e.g. 0..4095 or 0..65535).

    Raises
    ------
    ImageReadError
        If the file is not readable DICOM, is truncated or corrupt, holds no pixel data, or
        holds more than one frame or colour samples; the message names the file.
    """
    try:
        ds = pydicom.dcmread(path)
    except _READ_ERRORS as exc:
        raise ImageReadError(path, f"not a readable DICOM file ({exc})") from exc
    if "PixelData" not in ds:
        raise ImageReadError(path, "DICOM file holds no pixel data (missing or truncated)")
    if int(ds.get("SamplesPerPixel", 1)) != 1 or int(ds.get("NumberOfFrames", 1) or 1) != 1:
        raise ImageReadError(path, "expected a single-frame greyscale image")
    try:
        stored = pixel_array(ds)
    except Exception as exc:  # decoders raise many types; all mean "cannot decode"
        raise ImageReadError(path, f"pixel data cannot be decoded ({exc})") from exc
    if stored.ndim != 2:
        raise ImageReadError(path, f"expected a 2-D image, decoded shape {stored.shape}")

    image = apply_modality_lut(stored, ds)
    if apply_voi:
        image = apply_voi_lut(image, ds)
    low, high = output_range(ds, apply_voi=apply_voi)
    invert = str(ds.get("PhotometricInterpretation", "")).strip() == "MONOCHROME1"
    dtype = np.uint8 if high - min(low, 0) <= 255 else np.uint16
    if np.issubdtype(image.dtype, np.integer) and 0 <= low and high <= 65535:
        # the common case (no rescale, unsigned): stay in integers, no float copy
        if invert:
            return (int(low) + int(high) - image.astype(np.int32)).astype(dtype)
        return image.astype(dtype, copy=False)
    image = np.asarray(image, dtype=np.float64)
    if invert:
        image = (low + high) - image
    if low < 0:
        image = image - low
    image = np.clip(np.rint(image), 0, np.iinfo(dtype).max)
    return image.astype(dtype)
