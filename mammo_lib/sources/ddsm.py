"""The original DDSM normals: ``.ics`` case headers and ``.LJPEG`` lossless-JPEG scans.

A DDSM case folder, e.g. ``<root>/cases/normals/normal_01/case0002/``, holds one text header
``A-0002-1.ics`` and one lossless-JPEG stream per view, ``A_0002_1.LEFT_CC.LJPEG``,
``A_0002_1.LEFT_MLO.LJPEG``, ``A_0002_1.RIGHT_CC.LJPEG``, ``A_0002_1.RIGHT_MLO.LJPEG``. The
header names the digitizer (``DIGITIZER DBA 21``, ``DIGITIZER LUMISYS LASER``,
``DIGITIZER HOWTEK MULTIRAD850``), which decides the study's tile-keeping thresholds, and gives
each view's geometry::

    LEFT_CC LINES 4696 PIXELS_PER_LINE 3024 BITS_PER_PIXEL 12 RESOLUTION 50 NON_OVERLAY

The header, not the case letter, is authoritative for the digitizer.

``.LJPEG`` files are raw lossless-JPEG (SOF3) streams from the old PVRG codec. They are decoded
with libjpeg-turbo (through imagecodecs), about 5x faster than pylibjpeg-libjpeg; a stream it
refuses goes to liblj92, then to pylibjpeg-libjpeg, the reference. ``tests/test_ddsm.py`` checks
that all three agree bit for bit for every predictor (1-7) at 12 and 16 bits, on streams from
two different encoders; and on real files, each process checks the fast decoder's first image
against the reference and drops the fast decoder if they differ, so the pixels never depend on
the decoder. Some streams carry width and height swapped with respect to the ``.ics``: the
pixel stream is in the raster order of the true image, so it is *reshaped* (not transposed) to
the ``.ics`` geometry, with a warning.

Identifiers: ``case_id`` is the stem shared by the case's files, ``"A_0002_1"`` (the ``.ics``
``filename`` with ``-`` read as ``_``); ``patient_id`` is the volume letter and case number,
``"A_0002"``, unique across DDSM.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import imagecodecs
import libjpeg
import numpy as np
import pandas as pd

from mammo_lib.sources.report import ImageReadError, SkipReport

__all__ = [
    "DIGITIZERS",
    "VIEWS",
    "IcsFormatError",
    "IcsHeader",
    "LJPEG_DECODERS",
    "LjpegHeader",
    "ViewInfo",
    "find_normal_cases",
    "ljpeg_header",
    "read_ics",
    "read_ljpeg",
]

Digitizer = Literal["DBA", "LUMISYS", "HOWTEK"]
DIGITIZERS: tuple[str, ...] = ("DBA", "LUMISYS", "HOWTEK")
VIEWS: tuple[str, ...] = ("LEFT_CC", "LEFT_MLO", "RIGHT_CC", "RIGHT_MLO")

_VIEW_LINE = re.compile(
    r"^(?P<view>(?:LEFT|RIGHT)_(?:CC|MLO))\s+LINES\s+(?P<lines>\d+)\s+PIXELS_PER_LINE\s+"
    r"(?P<ppl>\d+)\s+BITS_PER_PIXEL\s+(?P<bits>\d+)\s+RESOLUTION\s+(?P<res>[\d.]+)"
    r"(?:\s+(?P<overlay>NON_OVERLAY|OVERLAY))?\s*$"
)


class IcsFormatError(ValueError):
    """A ``.ics`` header that cannot be parsed; the message names the file and the problem."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class ViewInfo:
    """Geometry of one view as the ``.ics`` gives it.

    Attributes
    ----------
    lines
        Image height in pixels (rows).
    pixels_per_line
        Image width in pixels (columns).
    bits_per_pixel
        Stored bit depth (12 or 16).
    resolution_um
        Pixel size in micrometres (42 DBA, 50 Lumisys, 43.5 Howtek).
    overlay
        Whether the view has a lesion overlay file (never for normals).
    """

    lines: int
    pixels_per_line: int
    bits_per_pixel: int
    resolution_um: float
    overlay: bool = False

    @property
    def shape(self) -> tuple[int, int]:
        """``(lines, pixels_per_line)``, the array shape of the decoded view."""
        return self.lines, self.pixels_per_line


@dataclass(frozen=True)
class IcsHeader:
    """A parsed ``.ics`` case header.

    Attributes
    ----------
    case_id
        ``"A_0002_1"``: the stem of the case's ``.LJPEG`` file names.
    digitizer
        ``"DBA"``, ``"LUMISYS"`` or ``"HOWTEK"``.
    density
        ACR breast density (1-4), or None when absent.
    age
        Patient age in years, or None when absent.
    views
        ``{"LEFT_CC": ViewInfo(...), ...}`` in file order.
    digitizer_model
        The ``DIGITIZER`` line verbatim (``"DBA 21"``, ``"HOWTEK MULTIRAD850"``).
    date_of_study, date_digitized
        The dates as written (day, month, year order varies in DDSM).
    path
        The ``.ics`` file.
    """

    case_id: str
    digitizer: Digitizer
    density: int | None
    age: int | None
    views: dict[str, ViewInfo] = field(default_factory=dict)
    digitizer_model: str = ""
    date_of_study: str = ""
    date_digitized: str = ""
    path: str = ""

    @property
    def patient_id(self) -> str:
        """Volume letter and case number, ``"A_0002"``."""
        return "_".join(self.case_id.split("_")[:2])


def _optional_int(path: Path, key: str, value: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise IcsFormatError(path, f"{key} {value!r} is not a whole number") from exc


def read_ics(path: str | os.PathLike[str]) -> IcsHeader:
    """Parse a DDSM ``.ics`` case header.

    Parameters
    ----------
    path
        The ``.ics`` file.

    Returns
    -------
    IcsHeader

    Raises
    ------
    IcsFormatError
        If the file has no ``filename`` line, no view line, an unknown digitizer, or a
        malformed value; the message names the file.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="latin-1")
    except OSError as exc:
        raise IcsFormatError(path, f"cannot be read ({exc})") from exc
    fields: dict[str, str] = {}
    views: dict[str, ViewInfo] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        match = _VIEW_LINE.match(line)
        if match:
            views[match["view"]] = ViewInfo(
                lines=int(match["lines"]),
                pixels_per_line=int(match["ppl"]),
                bits_per_pixel=int(match["bits"]),
                resolution_um=float(match["res"]),
                overlay=match["overlay"] == "OVERLAY",
            )
            continue
        if line.split()[0] in VIEWS:
            raise IcsFormatError(path, f"malformed view line {line!r}")
        key, _, value = line.partition(" ")
        fields[key.upper()] = value.strip()
    if "FILENAME" not in fields or not fields["FILENAME"]:
        raise IcsFormatError(path, "no 'filename' line")
    if not views:
        raise IcsFormatError(path, "no view lines (LEFT_CC LINES ... PIXELS_PER_LINE ...)")
    model = fields.get("DIGITIZER", "")
    digitizer = model.split()[0].upper() if model else ""
    if digitizer not in DIGITIZERS:
        raise IcsFormatError(
            path, f"unknown digitizer {model!r}; expected one of {', '.join(DIGITIZERS)}"
        )
    return IcsHeader(
        case_id=fields["FILENAME"].replace("-", "_"),
        digitizer=digitizer,  # type: ignore[arg-type]
        density=_optional_int(path, "DENSITY", fields.get("DENSITY", "")),
        age=_optional_int(path, "PATIENT_AGE", fields.get("PATIENT_AGE", "")),
        views=views,
        digitizer_model=model,
        date_of_study=fields.get("DATE_OF_STUDY", ""),
        date_digitized=fields.get("DATE_DIGITIZED", ""),
        path=str(path),
    )


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
    view: ViewInfo | None = None,
    *,
    require_eoi: bool = True,
    decoder: Literal["auto", "libjpeg-turbo", "lj92", "libjpeg"] = "auto",
) -> np.ndarray:
    """Decode a DDSM ``.LJPEG`` lossless-JPEG file bit-exactly.

    Parameters
    ----------
    path
        The ``.LJPEG`` file.
    view
        The view's geometry from the ``.ics``; when given, the decoded image is checked against
        it. A stream whose header has width and height swapped is reshaped to the ``.ics``
        geometry (its pixels are in the true raster order), with a warning.
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
        disagrees with `view`; the message names the file.
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
    if view is not None and image.shape != view.shape:
        if image.size != view.lines * view.pixels_per_line:
            raise ImageReadError(
                path,
                f"decoded size {image.shape} disagrees with the .ics "
                f"({view.lines} lines x {view.pixels_per_line} pixels)",
            )
        warnings.warn(
            f"{path}: header size {image.shape} disagrees with the .ics {view.shape}; "
            "pixel stream reshaped to the .ics geometry",
            stacklevel=2,
        )
        image = image.reshape(view.shape)
    return image.astype(np.uint16, copy=False)


_COLUMNS = [
    "case_id",
    "patient_id",
    "side",
    "view",
    "digitizer",
    "path",
    "lines",
    "pixels_per_line",
    "bits",
    "resolution_um",
    "density",
    "age",
    "volume",
    "header_swapped",
]


def find_normal_cases(root: str | os.PathLike[str]) -> tuple[pd.DataFrame, SkipReport]:
    """List every view of the DDSM normal cases under `root`, checked against its ``.ics``.

    Parameters
    ----------
    root
        The DDSM folder (holding ``cases/normals/``), or any folder below it (a volume such as
        ``normal_01``, or one case folder).

    Returns
    -------
    table : pandas.DataFrame
        One row per usable image: ``case_id``, ``patient_id``, ``side``, ``view``,
        ``digitizer``, ``path``, ``lines``, ``pixels_per_line``, ``bits``, ``resolution_um``,
        ``density``, ``age``, ``volume`` (e.g. ``normal_01``) and ``header_swapped`` (the
        LJPEG header has width and height swapped; :func:`read_ljpeg` reshapes it).
    report : SkipReport
        Cases whose ``.ics`` is unreadable, views whose file is missing, truncated or of the
        wrong size, views with a lesion overlay, and ``.LJPEG`` files no ``.ics`` describes.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: DDSM folder not found")
    base = root / "cases" / "normals" if (root / "cases" / "normals").is_dir() else root
    report = SkipReport()
    rows = []
    described: set[Path] = set()
    for ics_path in sorted(base.rglob("*.ics")):
        try:
            header = read_ics(ics_path)
        except IcsFormatError as exc:
            report.add(ics_path, exc.reason)  # covers the case's images too
            described.update(p for p in ics_path.parent.iterdir() if p.suffix.upper() == ".LJPEG")
            continue
        files = {p.name.upper(): p for p in ics_path.parent.iterdir() if p.is_file()}
        for view_name, view in header.views.items():
            expected = f"{header.case_id}.{view_name}.LJPEG"
            path = files.get(expected.upper())
            if path is None:
                report.add(ics_path.parent / expected, "view listed in the .ics but missing")
                continue
            described.add(path)
            if view.overlay:
                report.add(path, "view has a lesion overlay: not a normal image")
                continue
            try:
                found = ljpeg_header(path)
            except ImageReadError as exc:
                report.add(path, exc.reason)
                continue
            if not found.complete:
                report.add(path, "truncated: no end-of-image marker after the scan data")
                continue
            size = (found.rows, found.columns)
            if size != view.shape and size != view.shape[::-1]:
                report.add(path, f"header size {size} disagrees with the .ics {view.shape}")
                continue
            side, view_code = view_name.split("_")
            rows.append(
                {
                    "case_id": header.case_id,
                    "patient_id": header.patient_id,
                    "side": side,
                    "view": view_code,
                    "digitizer": header.digitizer,
                    "path": str(path),
                    "lines": view.lines,
                    "pixels_per_line": view.pixels_per_line,
                    "bits": view.bits_per_pixel,
                    "resolution_um": view.resolution_um,
                    "density": header.density,
                    "age": header.age,
                    "volume": _volume_of(ics_path),
                    "header_swapped": size != view.shape,
                }
            )
    for path in sorted(base.rglob("*")):
        if path.suffix.upper() == ".LJPEG" and path not in described:
            report.add(path, "LJPEG file not described by any .ics header")
    table = pd.DataFrame(rows, columns=_COLUMNS)
    for column in ("density", "age"):
        table[column] = table[column].astype("Int64")
    return table, report


def _volume_of(ics_path: Path) -> str:
    """The DDSM volume folder (``normal_01``) two levels above the ``.ics``, or ``""``."""
    parent = ics_path.parent.parent.name
    return parent if re.fullmatch(r"[a-z]+_\d+", parent) else ""
