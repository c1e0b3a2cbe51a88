"""Synthetic abnormalities: masses (round to spiculated, architectural distortion) and
calcification clusters, each rendered as a brightness patch and its ROI mask.

Shapes and margins follow the CBIS-DDSM / BI-RADS vocabulary of the case tables:

* mass shape: ROUND, OVAL, LOBULATED, IRREGULAR, ARCHITECTURAL_DISTORTION, LYMPH_NODE,
  FOCAL_ASYMMETRIC_DENSITY, ASYMMETRIC_BREAST_TISSUE (compound labels such as
  ``IRREGULAR-ARCHITECTURAL_DISTORTION`` use the first shape and add the distortion's spicules);
* mass margins: CIRCUMSCRIBED (sharp), OBSCURED (partly hidden), MICROLOBULATED,
  ILL_DEFINED (blurred), SPICULATED (radiating spicules);
* calc type: fine (PLEOMORPHIC, FINE_LINEAR_BRANCHING, AMORPHOUS, PUNCTATE: many small
  irregular specks) or coarse (ROUND_AND_REGULAR, COARSE, LUCENT_CENTER, EGGSHELL, DYSTROPHIC,
  LARGE_RODLIKE, VASCULAR, SKIN, MILK_OF_CALCIUM: fewer, larger, round or ring-shaped specks);
* calc distribution: CLUSTERED, LINEAR, SEGMENTAL, REGIONAL, DIFFUSELY_SCATTERED.

Sizes are physical (millimetres) and converted with the scan's pixel pitch; specks are never
drawn smaller than 2 pixels across. Contrast is the peak brightness added, set by the caller
from the texture's standard deviation (see :func:`lesion_contrast`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage
from scipy.spatial import Delaunay, QhullError

from mammo_lib.sources.synthetic.anatomy import resize

__all__ = [
    "LesionPatch",
    "calcification_patch",
    "lesion_contrast",
    "mass_patch",
    "paste_patch",
    "scatter_specks",
]

FINE_CALCS = {"PLEOMORPHIC", "FINE_LINEAR_BRANCHING", "AMORPHOUS", "PUNCTATE"}


@dataclass
class LesionPatch:
    """A lesion as a square patch centred on the lesion.

    Attributes
    ----------
    delta
        float32 brightness to add, shape ``(n, n)``.
    mask
        bool ROI mask (the region a radiologist would outline), same shape.
    """

    delta: np.ndarray
    mask: np.ndarray

    @property
    def radius(self) -> int:
        """Half the patch side in pixels."""
        return self.delta.shape[0] // 2

    def extent(self) -> float:
        """Distance (pixels) from the centre to the farthest mask or visible-delta pixel."""
        rows, cols = np.nonzero(self.mask | (self.delta > 0.05 * self.delta.max()))
        centre = self.delta.shape[0] / 2
        return float(np.sqrt(((rows - centre) ** 2 + (cols - centre) ** 2).max()))


def lesion_contrast(difficulty: float, subtlety: int | str, texture_std: float) -> float:
    """Peak brightness of a mass for a given difficulty and CBIS subtlety rating.

    ``texture_std * (0.3 + 2.2 * (1 - difficulty)) * (0.55 + 0.15 * subtlety)``: difficulty 0
    gives obvious lesions (about 3-4 texture standard deviations), 1 nearly invisible ones
    (about 0.3); subtlety 1 (subtle) to 5 (obvious) scales that by 0.7 to 1.3.
    """
    try:
        s = int(subtlety)
    except (TypeError, ValueError):
        s = 3
    d = float(np.clip(difficulty, 0.0, 1.0))
    return float(texture_std * (0.3 + 2.2 * (1.0 - d)) * (0.55 + 0.15 * np.clip(s, 0, 5)))


def _components(label: str) -> list[str]:
    return [] if label in ("", "NA") else label.upper().split("-")


def _radius_function(rng: np.random.Generator, shape: str, theta: np.ndarray) -> np.ndarray:
    """Relative outline radius s(theta) of a mass body."""

    def harmonics(ks: range, scale: float) -> np.ndarray:
        out = np.zeros_like(theta)
        for k in ks:
            out += scale * rng.normal() / k**0.8 * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
        return out

    phi = rng.uniform(0, np.pi)
    if shape in ("OVAL", "LYMPH_NODE", "LOBULATED"):
        q = rng.uniform(0.5, 0.7) if shape == "LYMPH_NODE" else rng.uniform(0.55, 0.85)
        base = 1.0 / np.sqrt(np.cos(theta - phi) ** 2 + (np.sin(theta - phi) / q) ** 2)
    else:
        base = np.ones_like(theta)
    if shape == "ROUND":
        return base + harmonics(range(2, 5), 0.02)
    if shape == "LOBULATED":
        k = int(rng.integers(3, 6))
        lobes = rng.uniform(0.08, 0.15) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
        return base * (1 + lobes + harmonics(range(2, 4), 0.02))
    if shape in (
        "IRREGULAR",
        "ARCHITECTURAL_DISTORTION",
        "FOCAL_ASYMMETRIC_DENSITY",
        "ASYMMETRIC_BREAST_TISSUE",
    ):
        return np.maximum(base + harmonics(range(2, 12), 0.12), 0.45)
    return base + harmonics(range(2, 5), 0.02)


def mass_patch(
    rng: np.random.Generator,
    diameter_px: float,
    shape: str = "OVAL",
    margins: str = "CIRCUMSCRIBED",
    contrast: float = 0.1,
) -> LesionPatch:
    """Render a mass and its outline.

    Parameters
    ----------
    rng
        Random generator.
    diameter_px
        Mass diameter in pixels (the body, without spicules).
    shape, margins
        CBIS-DDSM labels (compound labels and "NA" accepted).
    contrast
        Peak brightness added at the mass centre.

    Returns
    -------
    LesionPatch
    """
    shapes = _components(shape) or ["IRREGULAR"]
    marg = _components(margins)
    body_shape = shapes[0]
    distortion = "ARCHITECTURAL_DISTORTION" in shapes
    spiculated = distortion or "SPICULATED" in marg
    first_margin = marg[0] if marg else "ILL_DEFINED"
    radius = max(3.0, diameter_px / 2)
    if body_shape in ("FOCAL_ASYMMETRIC_DENSITY", "ASYMMETRIC_BREAST_TISSUE"):
        radius *= 1.5
    blur = {
        "CIRCUMSCRIBED": 0.04,
        "OBSCURED": 0.12,
        "MICROLOBULATED": 0.06,
        "ILL_DEFINED": 0.25,
        "SPICULATED": 0.08,
    }.get(first_margin, 0.12)
    if body_shape in ("FOCAL_ASYMMETRIC_DENSITY", "ASYMMETRIC_BREAST_TISSUE"):
        blur = 0.35
    spicule_len = rng.uniform(0.8, 1.8) if spiculated else 0.0
    half = int(np.ceil(radius * (1.25 + spicule_len + 3 * blur))) + 4
    n = 2 * half + 1

    # body on a coarse grid (at most ~200 cells across), upsampled
    step = max(1, int(np.ceil(n / 200)))
    m = -(-n // step)
    c = (np.arange(m, dtype=np.float32) + 0.5) * step - n / 2
    yy, xx = np.meshgrid(c, c, indexing="ij")
    theta = np.arctan2(yy, xx)
    rho = np.hypot(yy, xx) / np.float32(radius)
    outline = _radius_function(rng, body_shape, theta).astype(np.float32)
    if "MICROLOBULATED" in marg:
        k = int(rng.integers(14, 24))
        outline = outline * (1 + 0.04 * np.cos(k * theta + rng.uniform(0, 2 * np.pi)))
    rel = rho / outline
    body = np.clip(1.0 - rel * rel, 0.0, 1.0) ** 0.3
    if body_shape == "LYMPH_NODE":  # fatty hilum: a lucent notch on one side
        a = rng.uniform(0, 2 * np.pi)
        hilum = np.hypot(yy / radius - 0.6 * np.sin(a), xx / radius - 0.6 * np.cos(a))
        body = body * np.clip(hilum / 0.45, 0.35, 1.0)
    sigma = blur * radius / step
    if sigma > 0.3:
        body = ndimage.gaussian_filter(body, sigma)
    if "OBSCURED" in marg:  # overlapping tissue hides part of the border
        a = rng.uniform(0, 2 * np.pi)
        body = body * (0.75 + 0.25 * np.cos(theta - a)) ** 1.5
    body_weight = 0.35 if distortion else 1.0
    mask_scale = rng.uniform(1.0, 1.12)
    mask_rel = rho / (outline * np.float32(mask_scale))
    mask_soft = ndimage.gaussian_filter((mask_rel <= 1.0).astype(np.float32), 1.0)
    delta = resize(body * np.float32(body_weight), (n, n))
    mask = resize(mask_soft, (n, n)) >= 0.5

    if spiculated:
        spicules = Image.new("L", (n, n), 0)
        draw = ImageDraw.Draw(spicules)
        count = int(rng.integers(12, 30)) if distortion else int(rng.integers(8, 22))
        for _ in range(count):
            a = rng.uniform(0, 2 * np.pi)
            start = 0.6 * radius
            length = radius * spicule_len * rng.uniform(0.5, 1.0) + start
            width = max(1.5, radius * rng.uniform(0.03, 0.07))
            ca, sa = np.cos(a), np.sin(a)
            px, py = -sa * width / 2, ca * width / 2
            x0, y0 = n / 2 + ca * start, n / 2 + sa * start
            x1, y1 = n / 2 + ca * length, n / 2 + sa * length
            draw.polygon([(x0 + px, y0 + py), (x0 - px, y0 - py), (x1, y1)], fill=255)
        spic = np.asarray(spicules, dtype=np.float32) / 255.0
        spic = ndimage.gaussian_filter(spic, max(0.8, 0.01 * radius))
        delta = np.maximum(delta, spic * np.float32(0.7 if distortion else 0.55))
    return LesionPatch(delta=(delta * np.float32(contrast)).astype(np.float32), mask=mask)


def _speck(
    rng: np.random.Generator,
    length: float,
    width: float,
    angle: float,
    *,
    ring: bool = False,
    irregular: float = 0.0,
) -> np.ndarray:
    """A small bright speck (ellipse, optionally a ring or irregular), peak 1, float32.

    `length` and `width` (pixels) are raised to at least 2 pixels.
    """
    length, width = max(length, 2.0), max(width, 2.0)
    half = int(np.ceil(max(length, width) / 2 + 2))
    c = np.arange(-half, half + 1, dtype=np.float32)
    yy, xx = np.meshgrid(c, c, indexing="ij")
    ca, sa = np.cos(angle), np.sin(angle)
    u = (xx * ca + yy * sa) / max(length / 2, 0.7)
    v = (-xx * sa + yy * ca) / max(width / 2, 0.7)
    r = np.hypot(u, v)
    if irregular:
        theta = np.arctan2(v, u)
        wobble = np.zeros_like(theta)
        for k in (2, 3, 4, 5):
            wobble += irregular * rng.normal(0, 0.6) * np.cos(k * theta + rng.uniform(0, 6.3))
        r = r / np.maximum(1 + wobble, 0.4)
    blob = np.exp(-(r**4)).astype(np.float32)
    if ring:
        blob = np.clip(blob - 0.8 * np.exp(-((r / 0.6) ** 4)), 0.0, None)
    return blob


def _cluster_positions(
    rng: np.random.Generator, count: int, distribution: str, pixel_mm: float
) -> np.ndarray:
    """Speck centres (pixels, relative to the cluster centre), shape ``(count, 2)``."""
    mm = 1.0 / pixel_mm
    angle = rng.uniform(0, np.pi)
    direction = np.array([np.sin(angle), np.cos(angle)])
    normal = np.array([direction[1], -direction[0]])
    if distribution == "LINEAR":
        t = rng.uniform(-0.5, 0.5, count) * rng.uniform(6, 15) * mm
        bend = 0.15 * t**2 / (10 * mm)
        return t[:, None] * direction + (bend + rng.normal(0, 0.4 * mm, count))[:, None] * normal
    if distribution == "SEGMENTAL":
        t = rng.uniform(0, 1, count)
        along = (t - 0.5) * rng.uniform(15, 30) * mm
        across = rng.uniform(-0.5, 0.5, count) * (2 + 6 * t) * mm
        return along[:, None] * direction + across[:, None] * normal
    if distribution in ("REGIONAL", "DIFFUSELY_SCATTERED"):
        size = rng.uniform(12, 22) if distribution == "REGIONAL" else rng.uniform(20, 30)
        r = np.sqrt(rng.uniform(0, 1, count)) * size / 2 * mm
        a = rng.uniform(0, 2 * np.pi, count)
        return np.stack([r * np.sin(a), r * np.cos(a)], axis=1)
    sigma = rng.uniform(1.5, 4.0) * mm  # CLUSTERED (and NA)
    return rng.normal(0, sigma, (count, 2))


def calcification_patch(
    rng: np.random.Generator,
    calc_type: str = "PLEOMORPHIC",
    distribution: str = "CLUSTERED",
    pixel_mm: float = 0.05,
    contrast: float = 0.2,
) -> LesionPatch:
    """Render a group of calcifications and the region outlining it.

    Parameters
    ----------
    rng
        Random generator.
    calc_type, distribution
        CBIS-DDSM labels (compound labels and "NA" accepted; the first component decides).
    pixel_mm
        Pixel pitch in millimetres.
    contrast
        Peak brightness of a typical speck (faint types get less).

    Returns
    -------
    LesionPatch
    """
    kind = (_components(calc_type) or ["PLEOMORPHIC"])[0]
    spread = (_components(distribution) or ["CLUSTERED"])[0]
    mm = 1.0 / pixel_mm
    fine = kind in FINE_CALCS
    count = int(rng.integers(6, 40)) if fine else int(rng.integers(3, 14))
    if kind == "VASCULAR":
        spread = "LINEAR"
        count = int(rng.integers(16, 40))
    positions = _cluster_positions(rng, count, spread, pixel_mm)
    specks = []
    for _ in range(count):
        amp = rng.uniform(0.6, 1.2)
        if kind in ("PLEOMORPHIC", "PUNCTATE", "AMORPHOUS"):
            d = rng.uniform(0.12, 0.5) * mm
            irregular = 0.25 if kind == "PLEOMORPHIC" else 0.05
            w = d * rng.uniform(0.6, 1.0)
            amp *= 0.5 if kind == "AMORPHOUS" else 1.0
            s = _speck(rng, d, w, rng.uniform(0, np.pi), irregular=irregular)
        elif kind == "FINE_LINEAR_BRANCHING":
            s = _speck(
                rng,
                rng.uniform(0.4, 1.5) * mm,
                rng.uniform(0.1, 0.3) * mm,
                rng.uniform(0, np.pi),
                irregular=0.1,
            )
        elif kind in ("LUCENT_CENTER", "LUCENT_CENTERED", "EGGSHELL", "SKIN"):
            d = rng.uniform(0.8, 2.5) * mm
            s = _speck(rng, d, d * rng.uniform(0.8, 1.0), rng.uniform(0, np.pi), ring=True)
        elif kind in ("LARGE_RODLIKE", "VASCULAR"):
            s = _speck(
                rng, rng.uniform(1.0, 4.0) * mm, rng.uniform(0.3, 0.8) * mm, rng.uniform(0, np.pi)
            )
        elif kind in ("COARSE", "DYSTROPHIC"):
            d = rng.uniform(1.0, 3.0) * mm
            s = _speck(rng, d, d * rng.uniform(0.5, 1.0), rng.uniform(0, np.pi), irregular=0.3)
            amp *= 1.3
        else:  # ROUND_AND_REGULAR, MILK_OF_CALCIUM
            d = rng.uniform(0.4, 1.2) * mm
            s = _speck(rng, d, d * rng.uniform(0.85, 1.0), 0.0)
        specks.append(s * np.float32(amp))
    margin_mm = rng.uniform(1.0, 2.5)
    biggest = max(s.shape[0] for s in specks)
    half = int(np.ceil(np.abs(positions).max() + biggest + (margin_mm + 1.0) * mm)) + 4
    n = 2 * half + 1
    delta = np.zeros((n, n), dtype=np.float32)
    for (py, px), s in zip(positions, specks, strict=True):
        k = s.shape[0] // 2
        top, left = int(round(half + py)) - k, int(round(half + px)) - k
        region = delta[top : top + s.shape[0], left : left + s.shape[1]]
        np.maximum(region, s, out=region)

    # the outline: specks dilated by the margin, smoothed, on a coarse grid
    step = max(1, int(np.ceil(n / 160)))
    m = -(-n // step)
    c = (np.arange(m, dtype=np.float32) + 0.5) * step - n / 2
    yy, xx = np.meshgrid(c, c, indexing="ij")
    region = _hull(positions, yy, xx)
    outside = ~region
    if region.any():
        dist = ndimage.distance_transform_edt(outside).astype(np.float32) * step
    else:
        dist = np.full((m, m), np.inf, dtype=np.float32)
        for py, px in positions:
            dist = np.minimum(dist, np.hypot(yy - py, xx - px))
    near = (dist <= margin_mm * mm + biggest / 2).astype(np.float32)
    near = ndimage.gaussian_filter(near, max(1.0, 0.8 * mm / step))
    near = ndimage.binary_fill_holes(near >= 0.35).astype(np.float32)
    mask = resize(near, (n, n)) >= 0.5
    return LesionPatch(delta=delta * np.float32(contrast), mask=mask)


def _hull(points: np.ndarray, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """Grid cells inside the convex hull of `points` (all False when the hull is degenerate)."""
    try:
        tri = Delaunay(points)
    except (QhullError, ValueError):
        return np.zeros(yy.shape, dtype=bool)
    cells = np.stack([yy.ravel(), xx.ravel()], axis=1)
    return (tri.find_simplex(cells) >= 0).reshape(yy.shape)


def scatter_specks(
    rng: np.random.Generator,
    image: np.ndarray,
    depth_mm: np.ndarray,
    pixel_mm: float,
    contrast: float,
    per_cm2: float = 0.15,
) -> int:
    """Add isolated incidental specks (scattered benign calcifications, vessel crossings) to
    the breast, in place; return how many.

    Every scan, normal or not, gets about `per_cm2` specks per square centimetre of breast,
    each like a calcification speck (0.2-0.6 mm, peak `contrast` times 0.6-1.2). A single
    bright speck then does not betray a calcification cluster; the cluster does.
    """
    stride = max(1, int(round(1.0 / pixel_mm)))
    rows, cols = np.nonzero(depth_mm[::stride, ::stride] > 3.0)
    area_cm2 = rows.size * (stride * pixel_mm / 10.0) ** 2
    count = int(rng.poisson(per_cm2 * area_cm2)) if rows.size else 0
    mm = 1.0 / pixel_mm
    for i in rng.integers(0, max(rows.size, 1), count):
        d = rng.uniform(0.2, 0.6) * mm
        speck = _speck(rng, d, d * rng.uniform(0.6, 1.0), rng.uniform(0, np.pi), irregular=0.15)
        k = speck.shape[0] // 2
        r = int(rows[i]) * stride + int(rng.integers(stride)) - k
        c = int(cols[i]) * stride + int(rng.integers(stride)) - k
        if (
            r < 0
            or c < 0
            or r + speck.shape[0] > image.shape[0]
            or c + speck.shape[1] > image.shape[1]
        ):
            continue
        image[r : r + speck.shape[0], c : c + speck.shape[1]] += speck * np.float32(
            contrast * rng.uniform(0.6, 1.2)
        )
    return count


def paste_patch(
    image: np.ndarray, patch: LesionPatch, centre: tuple[int, int], allowed: np.ndarray | None
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Add `patch` to `image` (in place) centred at `centre`; return its full-size mask.

    Parameters
    ----------
    image
        float32 brightness, modified in place.
    patch
        The lesion.
    centre
        ``(row, col)`` of the lesion centre.
    allowed
        bool array of `image`'s shape (the breast); the mask is cut to it. None: no cut.

    Returns
    -------
    mask : numpy.ndarray
        bool, `image`'s shape.
    bbox : tuple
        ``(row0, col0, row1, col1)`` of the mask's true pixels, half-open.
    """
    rows, cols = image.shape
    k = patch.radius
    top, left = centre[0] - k, centre[1] - k
    r0, c0 = max(0, top), max(0, left)
    r1 = min(rows, top + patch.delta.shape[0])
    c1 = min(cols, left + patch.delta.shape[1])
    image[r0:r1, c0:c1] += patch.delta[r0 - top : r1 - top, c0 - left : c1 - left]
    mask = np.zeros(image.shape, dtype=bool)
    mask[r0:r1, c0:c1] = patch.mask[r0 - top : r1 - top, c0 - left : c1 - left]
    if allowed is not None:
        mask[r0:r1, c0:c1] &= allowed[r0:r1, c0:c1]
    ys, xs = np.nonzero(mask[r0:r1, c0:c1])
    if ys.size == 0:
        raise ValueError("lesion mask is empty after cutting it to the breast")
    bbox = (r0 + int(ys.min()), c0 + int(xs.min()), r0 + int(ys.max()) + 1, c0 + int(xs.max()) + 1)
    return mask, bbox
