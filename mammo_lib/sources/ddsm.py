"""The original DDSM normals: ``.ics`` case headers and ``.LJPEG`` lossless-JPEG scans.

A DDSM case folder, e.g. ``<root>/cases/normals/normal_01/case0002/``, holds one text header
``A-0002-1.ics`` and one lossless-JPEG stream per view, ``A_0002_1.LEFT_CC.LJPEG``,
``A_0002_1.LEFT_MLO.LJPEG``, ``A_0002_1.RIGHT_CC.LJPEG``, ``A_0002_1.RIGHT_MLO.LJPEG``. The
header names the digitizer (``DIGITIZER DBA 21``, ``DIGITIZER LUMISYS LASER``,
``DIGITIZER HOWTEK MULTIRAD850``), which decides the study's tile-keeping thresholds, and gives
each view's geometry::

    LEFT_CC LINES 4696 PIXELS_PER_LINE 3024 BITS_PER_PIXEL 12 RESOLUTION 50 NON_OVERLAY

The header, not the case letter, is authoritative for the digitizer.

``.LJPEG`` files are raw lossless-JPEG streams, decoded by :mod:`mammo_lib.imaging.ljpeg`;
:func:`read_view` reads one view with what its ``.ics`` says (digitizer, geometry, bit depth)
through :func:`mammo_lib.imaging.read.read_scan`, in 8 bits by the digitizer's optical-density
calibration, exactly as the dataset build reads it.

Identifiers: ``case_id`` is the stem shared by the case's files, ``"A_0002_1"`` (the ``.ics``
``filename`` with ``-`` read as ``_``); ``patient_id`` is the volume letter and case number,
``"A_0002"``, unique across DDSM.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from mammo_lib.imaging.errors import ImageReadError
from mammo_lib.imaging.ljpeg import ljpeg_header
from mammo_lib.imaging.read import Scan, read_scan
from mammo_lib.sources.report import SkipReport

__all__ = [
    "DIGITIZERS",
    "VIEWS",
    "IcsFormatError",
    "IcsHeader",
    "ViewInfo",
    "find_normal_cases",
    "read_ics",
    "read_view",
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


def ics_for(path: str | os.PathLike[str]) -> IcsHeader:
    """Find and parse the ``.ics`` that describes an ``.LJPEG`` file (in the same folder).

    Raises
    ------
    IcsFormatError
        If no readable ``.ics`` there names the file's case, or it lists no such view.
    """
    path = Path(path)
    case_id, _, rest = path.name.partition(".")
    view = rest.rsplit(".", 1)[0].upper()
    candidates = sorted(path.parent.glob("*.ics"))
    # the usual name first (A-0002-1.ics for A_0002_1.*), then any .ics whose filename line fits
    candidates.sort(key=lambda p: p.stem.replace("-", "_").upper() != case_id.upper())
    for ics_path in candidates:
        header = read_ics(ics_path)
        if header.case_id.upper() != case_id.upper():
            continue
        if view not in header.views:
            raise IcsFormatError(ics_path, f"lists no view {view} for {path.name}")
        return header
    raise IcsFormatError(path, f"no .ics for case {case_id} next to the file")


def read_view(
    path: str | os.PathLike[str], header: IcsHeader | None = None, *, quiet_swap: bool = False
) -> Scan:
    """Read one DDSM view in 8 bits, through its digitizer's optical-density calibration.

    Parameters
    ----------
    path
        The ``.LJPEG`` file (``<case_id>.<SIDE>_<VIEW>.LJPEG``).
    header
        Its case's ``.ics``; None finds it next to the file (:func:`ics_for`).
    quiet_swap
        Do not warn about a header with width and height swapped (the finder lists those);
        the stream is reshaped to the ``.ics`` geometry either way.

    Returns
    -------
    mammo_lib.imaging.read.Scan
        With the digitizer, bit depth and side from the ``.ics``. No pixel spacing: the
        ``.ics`` ``RESOLUTION`` is the digitizer's nominal pitch (a synthetic "small" tree keeps
        it although its pixels are larger), and the study cut DDSM tiles at a fixed pixel size
        whatever the pitch, so a DDSM view is treated like the training scans.

    Raises
    ------
    ImageReadError, IcsFormatError
        Unreadable file or header; the message names the file.
    """
    path = Path(path)
    header = ics_for(path) if header is None else header
    view_name = path.name.partition(".")[2].rsplit(".", 1)[0].upper()
    view = header.views.get(view_name)
    if view is None:
        raise IcsFormatError(header.path, f"lists no view {view_name} for {path.name}")
    with warnings.catch_warnings():
        if quiet_swap:
            warnings.filterwarnings(
                "ignore", message=".*pixel stream reshaped", category=UserWarning
            )
        return read_scan(
            path,
            digitizer=header.digitizer,
            site=header.case_id[:1],
            shape=view.shape,
            bits=view.bits_per_pixel,
            laterality=view_name[0],
        )


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
        LJPEG header has width and height swapped; :func:`read_view` reshapes it).
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
