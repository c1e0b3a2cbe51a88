"""One synthetic mammogram: breast, lesions, film grain, orientation, artifacts, stored values.

:func:`compose_scan` returns everything (brightness, breast mask, lesion masks and boxes,
artifacts); :func:`render_scan` is the one-call version for a single image (for example to
compare synthetic scans with MIAS) and returns the CBIS-style 16-bit image and the breast mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from mammo_lib.sources.synthetic.anatomy import Side, View, render_breast
from mammo_lib.sources.synthetic.artifacts import Artifact, add_artifacts
from mammo_lib.sources.synthetic.digitizers import (
    OD_AIR,
    OD_SPAN,
    digitize,
    grey_to_od,
)
from mammo_lib.sources.synthetic.lesions import (
    LesionPatch,
    calcification_patch,
    lesion_contrast,
    mass_patch,
    paste_patch,
    scatter_specks,
)

__all__ = [
    "DEFAULT_DIFFICULTY",
    "LesionSpec",
    "RenderedScan",
    "compose_scan",
    "render_scan",
    "to_cbis_uint16",
]

#: Default lesion difficulty: peak mass contrast about 1.4 texture standard deviations
#: (times 0.7-1.3 by subtlety) - visible to a careful eye, not separable by brightness alone.
DEFAULT_DIFFICULTY = 0.5

#: Peak speck brightness relative to a mass's peak at the same difficulty: specks are small, so
#: they need more contrast to be seen, but not so much that a local-maximum filter finds them all.
CALC_CONTRAST = 1.6


@dataclass(frozen=True)
class LesionSpec:
    """What to draw: a mass (``form`` = shape, ``spread`` = margins) or a calcification group
    (``form`` = calc type, ``spread`` = distribution), with CBIS-DDSM labels."""

    abnormality_type: Literal["mass", "calcification"]
    form: str = "OVAL"
    spread: str = "CIRCUMSCRIBED"
    subtlety: int | str = 3
    diameter_mm: float | None = None


@dataclass
class RenderedScan:
    """A composed scan in film brightness, oriented as stored (RIGHT breasts mirrored).

    Attributes
    ----------
    brightness
        float32 in [0, 1], shape ``(rows, cols)``.
    breast_mask
        bool, the breast (pectoral muscle included).
    lesion_masks
        One bool mask per lesion, in the order of the specs.
    bboxes
        ``(row0, col0, row1, col1)`` of each mask, half-open.
    artifacts
        Borders, labels and white patches drawn.
    pixel_mm
        Pixel pitch used for physical sizes.
    texture_std
        Standard deviation of the tissue texture (brightness units).
    """

    brightness: np.ndarray
    breast_mask: np.ndarray
    lesion_masks: list[np.ndarray] = field(default_factory=list)
    bboxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    pixel_mm: float = 0.05
    texture_std: float = 0.0


def _lesion_patch(
    rng: np.random.Generator, spec: LesionSpec, pixel_mm: float, contrast: float, scale: float
) -> LesionPatch:
    if spec.abnormality_type == "mass":
        diameter = spec.diameter_mm
        if diameter is None:
            diameter = float(np.clip(rng.lognormal(np.log(13.0), 0.45), 5.0, 45.0))
        return mass_patch(rng, diameter * scale / pixel_mm, spec.form, spec.spread, contrast)
    return calcification_patch(
        rng, spec.form, spec.spread, pixel_mm / scale, contrast * CALC_CONTRAST
    )


def _place(
    rng: np.random.Generator,
    depth_mm: np.ndarray,
    pectoral: np.ndarray,
    extent_px: float,
    pixel_mm: float,
    taken: list[tuple[int, int, float]],
) -> tuple[int, int] | None:
    """A lesion centre deep enough inside the breast, off the muscle and other lesions."""
    stride = max(1, int(round(2.0 / pixel_mm)))
    depth = depth_mm[::stride, ::stride]
    ok = (depth >= extent_px * pixel_mm + 2.0) & (pectoral[::stride, ::stride] < 0.05)
    # keep the whole lesion inside the image: the chest-wall side has tissue up to the edge
    margin = extent_px + 2.0 / pixel_mm
    r_axis = np.arange(depth.shape[0]) * stride
    c_axis = np.arange(depth.shape[1]) * stride
    ok &= ((r_axis >= margin) & (r_axis < depth_mm.shape[0] - margin))[:, None]
    ok &= ((c_axis >= margin) & (c_axis < depth_mm.shape[1] - margin))[None, :]
    rows, cols = np.nonzero(ok)
    if rows.size == 0:
        return None
    for _ in range(40):
        i = int(rng.integers(rows.size))
        r, c = int(rows[i]) * stride, int(cols[i]) * stride
        if all(np.hypot(r - tr, c - tc) > extent_px + te for tr, tc, te in taken):
            return r, c
    return None


def compose_scan(
    rng: np.random.Generator,
    shape: tuple[int, int],
    view: View,
    side: Side,
    *,
    density: int = 2,
    pixel_mm: float = 0.05,
    lesions: Sequence[LesionSpec] = (),
    difficulty: float = DEFAULT_DIFFICULTY,
    artifacts: bool = True,
    label: str | None = None,
    beta: float = 3.0,
    grain: float = 0.004,
    incidental: bool = True,
) -> RenderedScan:
    """Render a scan with its lesions and artifacts.

    Parameters
    ----------
    rng
        Random generator (the only source of randomness: same state, same scan).
    shape
        ``(rows, cols)``.
    view, side
        ``"CC"``/``"MLO"`` and ``"LEFT"``/``"RIGHT"`` (RIGHT: chest wall on the right).
    density
        BI-RADS density 1-4.
    pixel_mm
        Pixel pitch in millimetres; lesion sizes are physical.
    lesions
        The lesions to draw; each is placed inside the breast, off the pectoral muscle and
        apart from the others (shrunk if it does not fit).
    difficulty
        0 (obvious) to 1 (nearly invisible); see :func:`.lesions.lesion_contrast`.
    artifacts
        Add film borders, a label and white patches.
    label
        Text of the film label (default: side and view, e.g. "L CC").
    beta
        Spectral exponent of the tissue texture.
    grain
        Standard deviation of the white film grain (brightness units).
    incidental
        Scatter isolated specks over the breast (see :func:`.lesions.scatter_specks`), in
        normal and abnormal scans alike.

    Returns
    -------
    RenderedScan

    Raises
    ------
    ValueError
        If a lesion cannot be placed even at a third of its size.
    """
    breast = render_breast(rng, shape, view, density=density, pixel_mm=pixel_mm, beta=beta)
    image = breast.brightness
    masks: list[np.ndarray] = []
    boxes: list[tuple[int, int, int, int]] = []
    taken: list[tuple[int, int, float]] = []
    for spec in lesions:
        contrast = lesion_contrast(difficulty, spec.subtlety, breast.texture_std)
        for scale in (1.0, 0.7, 0.5, 0.33):
            patch = _lesion_patch(rng, spec, pixel_mm, contrast, scale)
            extent = patch.extent()
            centre = _place(rng, breast.depth_mm, breast.pectoral, extent, pixel_mm, taken)
            if centre is not None:
                break
        else:
            raise ValueError(f"cannot place a {spec.abnormality_type} in a {shape} scan")
        mask, bbox = paste_patch(image, patch, centre, breast.mask)
        taken.append((centre[0], centre[1], extent))
        masks.append(mask)
        boxes.append(bbox)
    if incidental:
        speck_contrast = CALC_CONTRAST * lesion_contrast(difficulty, 3, breast.texture_std)
        scatter_specks(rng, image, breast.depth_mm, pixel_mm, speck_contrast)
    if grain > 0:
        image += np.float32(grain) * rng.standard_normal(shape, dtype=np.float32)
    breast_mask = breast.mask
    if side == "RIGHT":
        image = image[:, ::-1]
        breast_mask = breast_mask[:, ::-1]
        masks = [m[:, ::-1] for m in masks]
        cols = shape[1]
        boxes = [(r0, cols - c1, r1, cols - c0) for r0, c0, r1, c1 in boxes]
    image = np.ascontiguousarray(image)
    drawn: list[Artifact] = []
    if artifacts:
        text = label if label is not None else f"{side[0]} {view}"
        drawn = add_artifacts(rng, image, breast_mask, pixel_mm, text)
    np.clip(image, 0.0, 1.0, out=image)
    return RenderedScan(
        brightness=image,
        breast_mask=np.ascontiguousarray(breast_mask),
        lesion_masks=[np.ascontiguousarray(m) for m in masks],
        bboxes=boxes,
        artifacts=drawn,
        pixel_mm=pixel_mm,
        texture_std=breast.texture_std,
    )


def to_cbis_uint16(
    rng: np.random.Generator,
    brightness: np.ndarray,
    digitizer: str = "HOWTEK MULTIRAD850",
    letter: str = "A",
) -> np.ndarray:
    """Stored values of a CBIS-DDSM full mammogram for a film of `brightness`.

    The film is scanned by a DDSM `digitizer` (its grey levels, bit depth and noise), converted
    back to optical density with the digitizer's calibration, and mapped linearly to 16 bits
    (OD 3.6 -> 0, OD 0.15 -> 65535), as CBIS-DDSM re-expressed the DDSM scans.
    """
    grey = digitize(rng, brightness, digitizer, letter)
    od = grey_to_od(grey, digitizer, letter)
    values = (np.float32(OD_AIR) - od) * np.float32(65535.0 / OD_SPAN)
    return np.clip(np.rint(values), 0, 65535).astype(np.uint16)


def render_scan(
    rng: np.random.Generator,
    shape: tuple[int, int],
    view: View,
    side: Side,
    *,
    density: int = 2,
    pixel_mm: float = 0.05,
    lesions: Sequence[LesionSpec] = (),
    difficulty: float = DEFAULT_DIFFICULTY,
    artifacts: bool = True,
    beta: float = 3.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Render one CBIS-style synthetic mammogram.

    Parameters are those of :func:`compose_scan`.

    Returns
    -------
    image : numpy.ndarray
        uint16, `shape`, 16-bit values as in CBIS-DDSM full mammograms.
    breast_mask : numpy.ndarray
        bool, `shape`.
    """
    scan = compose_scan(
        rng,
        shape,
        view,
        side,
        density=density,
        pixel_mm=pixel_mm,
        lesions=lesions,
        difficulty=difficulty,
        artifacts=artifacts,
        beta=beta,
    )
    return to_cbis_uint16(rng, scan.brightness), scan.breast_mask
