"""Write synthetic DDSM normal cases: ``.ics`` descriptions and lossless-JPEG (``.LJPEG``) views.

Layout under ``<out>/ddsm/``, as on the USF DDSM server::

    cases/normals/normal_01/case0002/A-0002-1.ics
                                     A_0002_1.LEFT_CC.LJPEG   (and LEFT_MLO, RIGHT_CC, RIGHT_MLO)

The ``.ics`` text::

    ics_version 1.0
    filename A-0002-1
    DATE_OF_STUDY 6 3 1995
    PATIENT_AGE 42
    FILM
    FILM_TYPE REGULAR
    DENSITY 2
    DATE_DIGITIZED 22 7 1997
    DIGITIZER DBA 21
    SELECTED
    LEFT_CC LINES 4696 PIXELS_PER_LINE 3024 BITS_PER_PIXEL 16 RESOLUTION 42 NON_OVERLAY
    ...

``LINES`` and ``PIXELS_PER_LINE`` are the stored image's rows and columns; ``BITS_PER_PIXEL``
and ``RESOLUTION`` (micrometres) are the digitizer's (see :mod:`.digitizers`; a "small" tree
keeps the digitizer's nominal resolution in the text although its images have a third of the
pixels per side). Volumes by site letter: A normal_01-04, B normal_05-06, C normal_07-08,
D normal_09-12. The LJPEG files are standard lossless JPEG (SOF3, predictor 1) written by
imagecodecs (liblj92); the reader decodes them as it decodes the original PVRG-written files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import imagecodecs
import numpy as np

from mammo_lib.io import write_bytes
from mammo_lib.sources.synthetic.digitizers import DIGITIZERS, digitize
from mammo_lib.sources.synthetic.scan import compose_scan

__all__ = ["VIEWS", "NormalCase", "encode_ljpeg", "write_normal_case"]

VIEWS = ("LEFT_CC", "LEFT_MLO", "RIGHT_CC", "RIGHT_MLO")
_VOLUMES = {"A": (1, 4), "B": (5, 2), "C": (7, 2), "D": (9, 4)}


@dataclass(frozen=True)
class NormalCase:
    """A planned DDSM normal case."""

    index: int
    letter: str
    number: int
    digitizer: str
    density: int
    age: int
    study_date: tuple[int, int, int]
    digitized_date: tuple[int, int, int]

    @property
    def name(self) -> str:
        """``A_0002_1`` (the LJPEG prefix)."""
        return f"{self.letter}_{self.number:04d}_1"

    @property
    def volume(self) -> str:
        """``normal_01`` .. ``normal_12``."""
        first, span = _VOLUMES[self.letter]
        return f"normal_{first + (self.number // 40) % span:02d}"

    def folder(self, root: Path) -> Path:
        """The case folder under the ``ddsm`` root."""
        return root / "cases" / "normals" / self.volume / f"case{self.number:04d}"


def encode_ljpeg(grey: np.ndarray, bits: int) -> bytes:
    """Encode a uint16 image of `bits` significant bits as a lossless JPEG (SOF3) stream."""
    if grey.dtype != np.uint16 or grey.ndim != 2:
        raise TypeError(f"expected a 2-D uint16 image, got {grey.dtype} {grey.shape}")
    if int(grey.max(initial=0)) >= 2**bits:
        raise ValueError(f"image values exceed {bits} bits")
    return bytes(imagecodecs.ljpeg_encode(grey, bitspersample=bits))


def _atomic_bytes(path: Path, data: bytes) -> None:
    write_bytes(path, data)


def write_normal_case(
    root: Path,
    case: NormalCase,
    rng: np.random.Generator,
    *,
    shapes: dict[str, tuple[int, int]],
    pixel_mm: float,
) -> list[dict[str, object]]:
    """Render and write the four views and the ``.ics`` file of one normal case.

    Parameters
    ----------
    root
        The ``ddsm`` folder.
    case
        The plan.
    rng
        Random generator for this case.
    shapes
        ``(rows, cols)`` per view name (``LEFT_CC`` ...).
    pixel_mm
        Pixel pitch used to render physical sizes.

    Returns
    -------
    list of dict
        One ground-truth record per view (paths relative to `root`'s parent).
    """
    spec = DIGITIZERS[case.digitizer]
    folder = case.folder(root)
    folder.mkdir(parents=True, exist_ok=True)
    d, m, y = case.study_date
    dd, dm, dy = case.digitized_date
    lines = [
        "ics_version 1.0",
        f"filename {case.name.replace('_', '-')}",
        f"DATE_OF_STUDY {d} {m} {y}",
        f"PATIENT_AGE {case.age}",
        "FILM",
        "FILM_TYPE REGULAR",
        f"DENSITY {case.density}",
        f"DATE_DIGITIZED {dd} {dm} {dy}",
        f"DIGITIZER {case.digitizer}",
        "SELECTED",
    ]
    records = []
    resolution = f"{spec.resolution_um:g}"
    for view_name in VIEWS:
        side, view = view_name.split("_")
        shape = shapes[view_name]
        scan = compose_scan(
            rng,
            shape,
            view,
            side,
            density=case.density,
            pixel_mm=pixel_mm,
            label=f"{case.letter}-{case.number:04d} {side[0]}{view}",
        )
        grey = digitize(rng, scan.brightness, case.digitizer, case.letter)
        path = folder / f"{case.name}.{view_name}.LJPEG"
        _atomic_bytes(path, encode_ljpeg(grey, spec.bits))
        lines.append(
            f"{view_name} LINES {shape[0]} PIXELS_PER_LINE {shape[1]} "
            f"BITS_PER_PIXEL {spec.bits} RESOLUTION {resolution} NON_OVERLAY"
        )
        records.append(
            {
                "case": case.name,
                "letter": case.letter,
                "volume": case.volume,
                "digitizer": case.digitizer,
                "bits": spec.bits,
                "resolution_um": spec.resolution_um,
                "density": case.density,
                "view": view_name,
                "rows": shape[0],
                "cols": shape[1],
                "ljpeg_path": str(path.relative_to(root.parent)),
                "ics_path": str(
                    (folder / f"{case.name.replace('_', '-')}.ics").relative_to(root.parent)
                ),
                "artifacts": ";".join(a.kind for a in scan.artifacts),
            }
        )
    ics = folder / f"{case.name.replace('_', '-')}.ics"
    _atomic_bytes(ics, ("\n".join(lines) + "\n").encode("ascii"))
    return records
