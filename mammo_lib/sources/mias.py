"""mini-MIAS: the annotation table in Info.txt, the image-level table, and the scans.

mini-MIAS (Suckling et al. 1994) holds 322 mammograms ``mdb001.pgm`` .. ``mdb322.pgm``,
1024 x 1024 pixels, 8-bit, 200 micron pixels. ``Info.txt`` is the database's README; its
table has one line per abnormality (several lines for an image with several abnormalities,
one ``NORM`` line for a normal image)::

    mdb005 F CIRC B 477 133 30     REFNUM, tissue, class, severity, x, y, radius
    mdb003 D NORM
    mdb216 D CALC M *NOTE 3*       widely distributed calcifications: no centre or radius

Coordinates have their origin at the bottom-left corner of the image; use
:func:`to_row_col` to turn them into array indices. Films come in left/right pairs of one
woman (even numbers left, odd numbers right, README note 1), so ``patient = (n + 1) // 2``.
"""

from __future__ import annotations

import codecs
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mammo_lib.sources.report import SkipReport

__all__ = [
    "CLASSES",
    "IMAGE_SIZE",
    "PIXEL_SIZE_MM",
    "SEVERITIES",
    "TISSUES",
    "InfoReport",
    "MiasData",
    "ReportLine",
    "abnormality_mask",
    "image_table",
    "load_mias",
    "read_info",
    "to_row_col",
]

#: Side of every mini-MIAS image in pixels (README note 2).
IMAGE_SIZE = 1024
#: Pixel edge of mini-MIAS in millimetres (the 50 micron originals reduced to 200 micron).
PIXEL_SIZE_MM = 0.2

TISSUES = {"F": "fatty", "G": "fatty-glandular", "D": "dense-glandular"}
CLASSES = {
    "CALC": "calcification",
    "CIRC": "circumscribed mass",
    "SPIC": "spiculated mass",
    "MISC": "ill-defined mass",
    "ARCH": "architectural distortion",
    "ASYM": "asymmetry",
    "NORM": "normal",
}
SEVERITIES = {"B": "benign", "M": "malignant"}
#: The abnormal classes, in the order the book reports them, and the three mass classes joined.
LESION_CLASSES: tuple[str, ...] = ("CALC", "CIRC", "SPIC", "MISC", "ARCH", "ASYM")
MASSES = "CIRC+SPIC+MISC"

_REFNUM = re.compile(r"^mdb(\d{3})$")
_NOTE = re.compile(r"^\*NOTE\s*(\d+)\*$")
_CANDIDATE = re.compile(r"^\s*mdb\d", re.IGNORECASE)
_SEPARATOR = re.compile(r"^\s*={5,}\s*$")

COLUMNS = ["refnum", "tissue", "abnormality", "severity", "x", "y", "radius", "note", "line_no"]


@dataclass(frozen=True)
class ReportLine:
    """One line of Info.txt that needs the reader's attention."""

    line_no: int
    text: str
    reason: str


@dataclass
class InfoReport:
    """What :func:`read_info` could not parse, or parsed with a caveat.

    Attributes
    ----------
    path
        The Info.txt file read.
    n_table_lines
        Lines recognised as table lines (parsed or not).
    skipped
        Table lines that did not parse and are absent from the table, with the reason.
    without_coordinates
        Abnormal lines kept in the table with NaN x, y, radius (no centre given).
    missing_images, extra_images
        Filled by :func:`load_mias`: REFNUMs in the table without a PGM file, and PGM files
        without a table line.
    """

    path: Path
    n_table_lines: int = 0
    skipped: list[ReportLine] = field(default_factory=list)
    without_coordinates: list[ReportLine] = field(default_factory=list)
    missing_images: list[str] = field(default_factory=list)
    extra_images: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was skipped and table and files agree."""
        return not (self.skipped or self.missing_images or self.extra_images)

    def to_skip_report(self) -> SkipReport:
        """The entries as the project's :class:`~mammo_lib.sources.report.SkipReport`.

        Paths read ``Info.txt:LINE`` for table lines and ``mdbNNN.pgm`` for files; lines kept
        without coordinates are flagged too.
        """
        report = SkipReport()
        for kind, line_no, text, reason in self.to_frame().itertuples(index=False):
            where = f"{self.path}:{line_no}" if line_no else str(self.path.parent / f"{text}.pgm")
            report.add(where, f"{kind}: {reason} ({text.strip()!r})")
        return report

    def to_frame(self) -> pd.DataFrame:
        """All report lines as one table (columns kind, line_no, text, reason)."""
        rows = [("skipped", r.line_no, r.text, r.reason) for r in self.skipped]
        rows += [("no coordinates", r.line_no, r.text, r.reason) for r in self.without_coordinates]
        rows += [("missing image", 0, name, "no PGM file") for name in self.missing_images]
        rows += [("extra image", 0, name, "no Info.txt line") for name in self.extra_images]
        return pd.DataFrame(rows, columns=["kind", "line_no", "text", "reason"])


def _table_line_numbers(lines: list[str]) -> list[int]:
    """Indices of table lines: from the first ``mdb`` line to the next ``=====`` separator,
    every non-blank line; plus any other line that starts with ``mdb`` and a digit."""
    first = next((i for i, line in enumerate(lines) if _CANDIDATE.match(line)), None)
    if first is None:
        return []
    block: list[int] = []
    for i in range(first, len(lines)):
        if _SEPARATOR.match(lines[i]):
            break
        if lines[i].strip():
            block.append(i)
    outside = [i for i, line in enumerate(lines) if _CANDIDATE.match(line) and i not in block]
    return sorted(block + outside)


def _parse_line(text: str) -> tuple[dict[str, object] | None, str, bool]:
    """Parse one table line: (row or None, reason when None or caveat, has_no_coordinates)."""
    tokens = text.split()
    if len(tokens) < 3:
        return None, f"expected at least REFNUM, tissue and class, got {len(tokens)} fields", False
    refnum, tissue, cls, *rest = tokens
    if not _REFNUM.match(refnum):
        return None, f"REFNUM {refnum!r} is not mdb followed by three digits", False
    if tissue not in TISSUES:
        return None, f"background tissue {tissue!r} not one of {'/'.join(TISSUES)}", False
    if cls not in CLASSES:
        return None, f"class {cls!r} not one of {', '.join(CLASSES)}", False
    row: dict[str, object] = {
        "refnum": refnum,
        "tissue": tissue,
        "abnormality": cls,
        "severity": pd.NA,
        "x": np.nan,
        "y": np.nan,
        "radius": np.nan,
        "note": "",
    }
    if cls == "NORM":
        if rest:
            return None, f"a NORM line carries extra fields {rest}", False
        return row, "", False
    if not rest or rest[0] not in SEVERITIES:
        found = rest[0] if rest else "nothing"
        return None, f"abnormal line needs severity B or M, found {found!r}", False
    row["severity"] = rest[0]
    rest = rest[1:]
    if not rest:
        return row, "abnormal line without centre and radius", True
    note = _NOTE.match(" ".join(rest))
    if note:
        row["note"] = f"*NOTE {note.group(1)}*"
        return (
            row,
            f"no centre or radius, marked {row['note']} (widely spread calcifications)",
            True,
        )
    if len(rest) != 3:
        return None, f"expected x, y, radius after the severity, got {rest}", False
    try:
        x, y, radius = (int(v) for v in rest)
    except ValueError:
        return None, f"x, y, radius must be integers, got {rest}", False
    if not (0 <= x < IMAGE_SIZE and 0 <= y < IMAGE_SIZE) or radius <= 0:
        return None, f"centre ({x}, {y}) outside the image or radius {radius} not positive", False
    row.update(x=float(x), y=float(y), radius=float(radius))
    return row, "", False


def _decode(path: Path) -> str:
    """The text of Info.txt: UTF-16 or UTF-8 when a byte-order mark says so, else Latin-1
    (the original's encoding)."""
    raw = path.read_bytes()
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    else:
        return raw.decode("latin-1")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: starts with a {encoding} byte-order mark but {err}") from None


def read_info(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, InfoReport]:
    """Parse the annotation table of mini-MIAS ``Info.txt``.

    Parameters
    ----------
    path
        The Info.txt file (the database README with the table at its end).

    Returns
    -------
    abnormalities : pandas.DataFrame
        One row per table line, in file order. Columns: ``refnum`` (``"mdb001"``),
        ``tissue`` (F/G/D), ``abnormality`` (CALC, CIRC, SPIC, MISC, ARCH, ASYM, NORM),
        ``severity`` (B/M, missing for NORM), ``x``, ``y``, ``radius`` (float pixels,
        bottom-left origin; NaN where the line gives none), ``note`` (e.g. ``"*NOTE 3*"``),
        ``line_no`` (1-based line in the file).
    report : InfoReport
        Lines that did not parse (absent from the table) and abnormal lines kept without
        coordinates. Nothing is dropped without an entry here.
    """
    path = Path(path)
    lines = _decode(path).splitlines()
    report = InfoReport(path=path)
    rows: list[dict[str, object]] = []
    for i in _table_line_numbers(lines):
        text = lines[i].rstrip()
        report.n_table_lines += 1
        row, reason, no_coordinates = _parse_line(text)
        if row is None:
            report.skipped.append(ReportLine(i + 1, text, reason))
            continue
        row["line_no"] = i + 1
        rows.append(row)
        if no_coordinates:
            report.without_coordinates.append(ReportLine(i + 1, text, reason))
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["severity"] = table["severity"].astype("string")
    for col in ("x", "y", "radius"):
        table[col] = table[col].astype(float)
    table["line_no"] = table["line_no"].astype(int)
    return table, report


def patient_id(patient: int) -> str:
    """The project's patient id of a MIAS woman: ``MIAS_001`` for ``mdb001`` and ``mdb002``.

    Parameters
    ----------
    patient
        The woman's number, ``(n + 1) // 2`` of the image number ``n``.
    """
    return f"MIAS_{int(patient):03d}"


def image_table(abnormalities: pd.DataFrame) -> pd.DataFrame:
    """Summarise the abnormality table per image (one row per REFNUM).

    Parameters
    ----------
    abnormalities
        The first result of :func:`read_info`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``refnum``, sorted. Columns: ``number`` (int), ``patient``
        (``(number + 1) // 2``), ``patient_id`` (:func:`patient_id`), ``side`` (``"left"``
        for even numbers, ``"right"`` for odd), ``tissue``, ``abnormal`` (bool),
        ``worst_severity`` (M over B; missing for normal images), ``n_abnormalities``,
        ``classes`` (the image's classes joined by ``+``).

    Raises
    ------
    ValueError
        If one image's lines disagree on the background tissue, or an image has both a NORM
        line and abnormal lines.
    """
    rows = []
    for refnum, group in abnormalities.groupby("refnum", sort=True):
        tissues = group["tissue"].unique()
        if len(tissues) != 1:
            raise ValueError(f"{refnum}: lines disagree on background tissue {list(tissues)}")
        abnormal = group["abnormality"] != "NORM"
        if abnormal.any() and not abnormal.all():
            raise ValueError(f"{refnum}: has both a NORM line and abnormal lines")
        severities = set(group["severity"].dropna())
        worst = "M" if "M" in severities else ("B" if "B" in severities else pd.NA)
        number = int(str(refnum)[3:])
        rows.append(
            {
                "refnum": refnum,
                "number": number,
                "patient": (number + 1) // 2,
                "patient_id": patient_id((number + 1) // 2),
                "side": "left" if number % 2 == 0 else "right",
                "tissue": tissues[0],
                "abnormal": bool(abnormal.all()),
                "worst_severity": worst,
                "n_abnormalities": int(abnormal.sum()),
                "classes": "+".join(dict.fromkeys(group["abnormality"])),
            }
        )
    table = pd.DataFrame(rows).set_index("refnum")
    table["worst_severity"] = table["worst_severity"].astype("string")
    return table


def to_row_col(
    x: float | np.ndarray, y: float | np.ndarray, height: int = IMAGE_SIZE
) -> tuple[float | np.ndarray, float | np.ndarray]:
    """Turn MIAS (x, y), origin bottom-left, into array (row, col), origin top-left.

    ``row = height - 1 - y`` and ``col = x``; for mini-MIAS ``row = 1023 - y``.

    Parameters
    ----------
    x, y
        MIAS coordinates in pixels (scalars or arrays; NaN passes through).
    height
        Image height in pixels.

    Returns
    -------
    row, col
        Array indices (same type as the input).
    """
    return height - 1 - y, x


def abnormality_mask(
    abnormalities: pd.DataFrame,
    shape: tuple[int, int] = (IMAGE_SIZE, IMAGE_SIZE),
    margin: float = 0.0,
) -> np.ndarray:
    """Boolean mask of the circles ``radius + margin`` around the given abnormality lines.

    Parameters
    ----------
    abnormalities
        Rows of the abnormality table, usually of one image; rows without coordinates
        (NaN) are ignored, so check for them first if they matter.
    shape
        ``(height, width)`` of the image.
    margin
        Extra pixels added to every radius.

    Returns
    -------
    numpy.ndarray
        bool, `shape`; True inside any circle.
    """
    mask = np.zeros(shape, dtype=bool)
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    for x, y, radius in abnormalities[["x", "y", "radius"]].dropna().itertuples(index=False):
        row, col = to_row_col(x, y, shape[0])
        mask |= (rows - row) ** 2 + (cols - col) ** 2 <= (radius + margin) ** 2
    return mask


@dataclass
class MiasData:
    """mini-MIAS on disk: the tables and access to the scans.

    Attributes
    ----------
    folder
        The folder with ``mdbNNN.pgm`` and ``Info.txt``.
    abnormalities
        One row per Info.txt table line (see :func:`read_info`).
    images
        One row per image of the table (see :func:`image_table`); those without a PGM file
        on disk are listed in ``report.missing_images``.
    report
        The parse report plus table/file mismatches.
    """

    folder: Path
    abnormalities: pd.DataFrame
    images: pd.DataFrame
    report: InfoReport

    def path(self, refnum: str) -> Path:
        """The PGM file of `refnum` (e.g. ``"mdb001"``).

        Read it with :func:`mammo_lib.imaging.pgm.read_pgm`: a uint8 array, 1024 x 1024,
        row 0 at the top (convert coordinates with :func:`to_row_col`).
        """
        return self.folder / f"{refnum}.pgm"

    def lines(self, refnum: str) -> pd.DataFrame:
        """The abnormality lines of `refnum`."""
        return self.abnormalities[self.abnormalities["refnum"] == refnum]


def load_mias(folder: str | os.PathLike[str] | None = None) -> MiasData:
    """Load mini-MIAS: parse Info.txt and check it against the PGM files present.

    Parameters
    ----------
    folder
        Folder with ``Info.txt`` and ``mdb*.pgm``; None fetches it through the registry
        (``mammo_lib.sources.registry.fetch("mias")``, cached and hash-verified).

    Returns
    -------
    MiasData

    Raises
    ------
    FileNotFoundError
        If the folder has no Info.txt.
    """
    if folder is None:
        from mammo_lib.sources.registry import fetch

        folder = fetch("mias")
    folder = Path(folder)
    info = folder / "Info.txt"
    if not info.exists():
        raise FileNotFoundError(f"{info}: mini-MIAS annotation file missing")
    abnormalities, report = read_info(info)
    images = image_table(abnormalities)
    on_disk = {p.stem for p in folder.glob("mdb*.pgm")}
    report.missing_images = sorted(set(images.index) - on_disk)
    report.extra_images = sorted(on_disk - set(images.index))
    return MiasData(folder, abnormalities, images, report)
