"""Film and digitisation artifacts of DDSM scans, the ones the study's tile filters exist for.

* white borders: over-exposed film edges along some image sides (bright bands, ragged inner
  edge);
* label text: the film's burnt-in view marker and case label (bright glyphs on the dark
  background);
* white patches: opaque tape or paper over identifying text (bright rectangles), often on
  top of a label.

All are placed in the background, never over the breast, and drawn in film brightness units
(1 = white). Each function returns :class:`Artifact` records (kind and bounding box) so that a
test or a chapter can check what a filter removes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mammo_lib.sources.synthetic.anatomy import power_law_noise

__all__ = ["Artifact", "add_artifacts", "add_film_border", "add_label", "add_white_patch"]


@dataclass(frozen=True)
class Artifact:
    """One artifact: ``kind`` ("border", "label" or "patch") and its half-open bounding box
    ``(row0, col0, row1, col1)``."""

    kind: str
    bbox: tuple[int, int, int, int]


def _free_box(
    rng: np.random.Generator,
    breast: np.ndarray,
    height: int,
    width: int,
    margin: int,
    near: tuple[int, int] | None = None,
) -> tuple[int, int] | None:
    """Top-left corner of a ``height x width`` box clear of the breast by `margin`, or None."""
    rows, cols = breast.shape
    if height + 2 * margin >= rows or width + 2 * margin >= cols:
        return None
    stride = max(1, min(height, width) // 8)
    for attempt in range(60):
        if near is not None and attempt < 30:
            top = int(
                np.clip(
                    near[0] + rng.integers(-height // 2, height // 2 + 1),
                    margin,
                    rows - height - margin,
                )
            )
            left = int(
                np.clip(
                    near[1] + rng.integers(-width // 2, width // 2 + 1),
                    margin,
                    cols - width - margin,
                )
            )
        else:
            top = int(rng.integers(margin, rows - height - margin))
            left = int(rng.integers(margin, cols - width - margin))
        window = breast[
            max(0, top - margin) : top + height + margin : stride,
            max(0, left - margin) : left + width + margin : stride,
        ]
        if not window.any():
            return top, left
    return None


def add_film_border(
    rng: np.random.Generator, image: np.ndarray, breast: np.ndarray, pixel_mm: float
) -> list[Artifact]:
    """Brighten one to three image sides that the breast does not touch (in place)."""
    rows, cols = image.shape
    out = []
    sides = [s for s in ("top", "bottom", "left", "right") if rng.uniform() < 0.45]
    for side in sides:
        width_px = int(rng.uniform(1.0, 6.0) / pixel_mm)
        length = rows if side in ("left", "right") else cols
        wobble = power_law_noise(rng, (length, 1), beta=3.5)[:, 0]
        inner = np.maximum(1, (width_px * (1 + 0.25 * wobble)).astype(int))
        level = np.float32(rng.uniform(0.8, 1.0))
        depth = int(inner.max())
        band = np.arange(depth)[None, :] < inner[:, None]  # (length, depth)
        if side == "top":
            region, strip = (slice(0, depth), slice(None)), band.T
        elif side == "bottom":
            region, strip = (slice(rows - depth, rows), slice(None)), band.T[::-1]
        elif side == "left":
            region, strip = (slice(None), slice(0, depth)), band
        else:
            region, strip = (slice(None), slice(cols - depth, cols)), band[:, ::-1]
        if breast[region].any():
            continue
        view = image[region]
        view[strip] = level
        r0 = region[0].start or 0
        c0 = region[1].start or 0
        r1 = region[0].stop if region[0].stop is not None else rows
        c1 = region[1].stop if region[1].stop is not None else cols
        out.append(Artifact("border", (r0, c0, r1, c1)))
    return out


def add_label(
    rng: np.random.Generator,
    image: np.ndarray,
    breast: np.ndarray,
    pixel_mm: float,
    text: str,
) -> Artifact | None:
    """Burn `text` into the background as bright glyphs about 5-9 mm high (in place)."""
    height_px = max(12, int(rng.uniform(5.0, 9.0) / pixel_mm))
    font = ImageFont.load_default(size=height_px)
    left, top, right, bottom = font.getbbox(text)
    canvas = Image.new("L", (right + 4, bottom + 4), 0)
    ImageDraw.Draw(canvas).text((2, 2), text, fill=255, font=font)
    glyphs = np.asarray(canvas, dtype=np.float32) / 255.0
    h, w = glyphs.shape
    corner = _free_box(rng, breast, h, w, margin=int(3 / pixel_mm))
    if corner is None:
        return None
    r, c = corner
    level = np.float32(rng.uniform(0.85, 1.0))
    region = image[r : r + h, c : c + w]
    np.maximum(region, glyphs * level, out=region)
    return Artifact("label", (r, c, r + h, c + w))


def add_white_patch(
    rng: np.random.Generator,
    image: np.ndarray,
    breast: np.ndarray,
    pixel_mm: float,
    near: tuple[int, int] | None = None,
) -> Artifact | None:
    """Paint an opaque white rectangle (tape over text), 10-40 x 6-20 mm (in place)."""
    h = int(rng.uniform(6.0, 20.0) / pixel_mm)
    w = int(rng.uniform(10.0, 40.0) / pixel_mm)
    corner = _free_box(rng, breast, h, w, margin=int(2 / pixel_mm), near=near)
    if corner is None:
        return None
    r, c = corner
    level = np.float32(rng.uniform(0.9, 1.0))
    shade = np.linspace(0, rng.uniform(-0.05, 0.05), w, dtype=np.float32)[None, :]
    image[r : r + h, c : c + w] = level + shade
    return Artifact("patch", (r, c, r + h, c + w))


def add_artifacts(
    rng: np.random.Generator,
    image: np.ndarray,
    breast: np.ndarray,
    pixel_mm: float,
    label: str,
) -> list[Artifact]:
    """Add a random set of borders, a label and white patches to `image` (in place).

    Probabilities: each side's border 0.45, a label 0.8, a white patch over the label 0.4 and
    one elsewhere 0.25.
    """
    out = add_film_border(rng, image, breast, pixel_mm)
    label_box = add_label(rng, image, breast, pixel_mm, label) if rng.uniform() < 0.8 else None
    if label_box is not None:
        out.append(label_box)
        if rng.uniform() < 0.4:
            r0, c0, _, _ = label_box.bbox
            patch = add_white_patch(rng, image, breast, pixel_mm, near=(r0, c0))
            out += [patch] if patch else []
    if rng.uniform() < 0.25:
        patch = add_white_patch(rng, image, breast, pixel_mm)
        out += [patch] if patch else []
    return out
