"""Checks before a scan is resampled: what its header says, and whether the work is sane.

:func:`check_scan_header` reads a DICOM file's header only (no pixels) and returns what
prediction must know before decoding it: whether it is a mammogram (``Modality`` ``MG``)
and the pixel spacing it states, checked:

- a malformed ``PixelSpacing`` / ``ImagerPixelSpacing`` (not two numbers) is refused with
  one message naming the file;
- a spacing of 0 or below is not a spacing: it is ignored, and the note says so (the JSON
  records the header's value and what was used instead);
- a spacing outside :data:`MIN_SPACING_MM` - :data:`MAX_SPACING_MM` is refused: no
  mammogram is sampled that finely or that coarsely, and resampling by such a factor
  would allocate gigabytes (issue 14: 5 mm upsampled a scan to 110 Mpx, 0.0001 mm tried
  6.4 GiB).

:func:`check_resampled_size` bounds the resampled scan (:data:`MAX_RESAMPLED_PIXELS`) before
any memory is allocated, whatever the spacing came from.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from mammo_lib.imaging.dicom import is_dicom, read_dicom_header
from mammo_lib.imaging.errors import ImageReadError

#: Finest plausible mammogram pixel spacing (mm): full-field detectors are 50-100 microns,
#: DDSM films were digitised at 42-50.
MIN_SPACING_MM = 0.01
#: Coarsest plausible spacing (mm): mini-MIAS is 0.2 mm.
MAX_SPACING_MM = 1.0
#: Largest resampled scan (pixels) that prediction maps; a 30 x 24 cm film at 0.05 mm is
#: 29 Mpx before resampling and a few Mpx at the models' scales.
MAX_RESAMPLED_PIXELS = 40_000_000
#: The DICOM modality of mammograms.
MAMMOGRAPHY_MODALITY = "MG"
_SPACING_KEYWORDS = ("PixelSpacing", "ImagerPixelSpacing")


class NotMammographyError(ImageReadError):
    """A DICOM file whose ``Modality`` is not ``MG`` (override with ``force``)."""


@dataclass(frozen=True)
class HeaderCheck:
    """What a scan file's header says, checked (see :func:`check_scan_header`).

    Attributes
    ----------
    path
        The file.
    modality
        The DICOM ``Modality`` (None for PGM / PNG, or when absent).
    spacing_mm
        ``(row, col)`` spacing stated and accepted, None when none (or none usable).
    header_spacing
        The header's spacing as written (e.g. ``"0\\\\0"``), None when it states none.
    note
        Why a stated spacing was not used, or that a non-mammography file was forced.
    """

    path: Path
    modality: str | None = None
    spacing_mm: tuple[float, float] | None = None
    header_spacing: str | None = None
    note: str | None = None


def _parse_spacing(path: Path, keyword: str, value: object) -> tuple[float, float]:
    """Two finite floats from a DICOM spacing value, or a one-line error naming the file."""
    try:
        scalar = isinstance(value, (str, bytes)) or not hasattr(value, "__iter__")
        items = [value] if scalar else list(value)
        numbers = tuple(float(v) for v in items)
    except (TypeError, ValueError) as exc:
        raise ImageReadError(
            path, f"malformed {keyword} {str(value)!r}: expected two numbers in mm ({exc})"
        ) from exc
    if len(numbers) != 2 or not all(math.isfinite(v) for v in numbers):
        raise ImageReadError(
            path, f"malformed {keyword} {str(value)!r}: expected two finite numbers in mm"
        )
    return numbers[0], numbers[1]


def check_spacing(path: str | os.PathLike[str], spacing: tuple[float, float], what: str) -> None:
    """Raise :class:`ImageReadError` naming `path` if `spacing` is outside the plausible range."""
    for value in spacing:
        if not MIN_SPACING_MM <= value <= MAX_SPACING_MM:
            raise ImageReadError(
                Path(path),
                f"{what} {value:g} mm is outside the plausible range {MIN_SPACING_MM:g}-"
                f"{MAX_SPACING_MM:g} mm for a mammogram; not resampled (give the true spacing "
                "with --pixel-spacing if the header is wrong)",
            )


def check_scan_header(path: str | os.PathLike[str], *, force: bool = False) -> HeaderCheck:
    """Check a scan file's header before its pixels are decoded.

    Parameters
    ----------
    path
        A DICOM, PGM or PNG file; only DICOM headers are read (the others state nothing).
    force
        Accept a DICOM whose ``Modality`` is not ``MG`` (recorded in the note).

    Raises
    ------
    NotMammographyError
        A DICOM whose modality is not ``MG`` (CT, OT, ...), unless `force`.
    mammo_lib.imaging.errors.ImageReadError
        An unopenable file, an unreadable header, a malformed spacing, or a spacing outside
        the plausible range.
    """
    path = Path(path)
    if not is_dicom(path):
        return HeaderCheck(path)
    ds = read_dicom_header(path)
    modality = str(ds.get("Modality", "") or "").strip() or None
    note = None
    if modality != MAMMOGRAPHY_MODALITY:
        stated = f"Modality {modality}" if modality else "no Modality"
        if not force:
            raise NotMammographyError(
                path, f"{stated}, not a mammogram (MG); use --force to map it anyway"
            )
        note = f"{stated}, not a mammogram (MG): mapped because forced"
    for keyword in _SPACING_KEYWORDS:
        try:
            element = ds.get(keyword)
        except (ValueError, TypeError, OverflowError) as exc:  # e.g. a DS that is no number
            raise ImageReadError(
                path, f"malformed {keyword}: expected two numbers in mm ({exc})"
            ) from exc
        if element is None or element == "" or (hasattr(element, "__len__") and not len(element)):
            continue
        spacing = _parse_spacing(path, keyword, element)
        written = "\\".join(f"{v:g}" for v in spacing)
        if min(spacing) <= 0:
            why = f"header {keyword} {written} is not a positive spacing: ignored"
            return HeaderCheck(path, modality, None, written, "; ".join(filter(None, (note, why))))
        check_spacing(path, spacing, f"header {keyword}")
        return HeaderCheck(path, modality, spacing, written, note)
    return HeaderCheck(path, modality, None, None, note)


def check_resampled_size(
    path: str | os.PathLike[str], shape: tuple[int, int], factor: tuple[float, float]
) -> tuple[int, int]:
    """Return the resampled shape, or raise naming `path` if it exceeds the bound.

    Raises
    ------
    mammo_lib.sources.report.ImageReadError
        If ``rows * cols`` after resampling would exceed :data:`MAX_RESAMPLED_PIXELS`.
    """
    rows = max(1, round(shape[0] * factor[0]))
    cols = max(1, round(shape[1] * factor[1]))
    if rows * cols > MAX_RESAMPLED_PIXELS:
        raise ImageReadError(
            Path(path),
            f"resampling {shape[0]}x{shape[1]} by {factor[0]:.3g}x{factor[1]:.3g} gives "
            f"{rows}x{cols} = {rows * cols / 1e6:.0f} Mpx, more than the "
            f"{MAX_RESAMPLED_PIXELS / 1e6:.0f} Mpx bound: check the pixel spacing",
        )
    return rows, cols
