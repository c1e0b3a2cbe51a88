"""MIAS crops: abnormalities located by centre and radius, at the CBIS scale.

MIAS coordinates have their origin at the bottom-left corner. The study scaled MIAS scans by
2.58 to match the CBIS-DDSM scale, placed each abnormality at ``(H - y * 2.58, x * 2.58)``
and cut 299-pixel tiles directly (no resize). Its code used the radius as the ROI size,
most likely a bug (the diameter is ``2r``); ``use_radius=True`` reproduces it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from mammo_lib.extract.cbis import RoiCrop, method2_crops
from mammo_lib.extract.common import OUT_SIZE, Box, ExtractionSkip, check_box
from mammo_lib.imaging.intensity import resize

#: The study's scale from MIAS (200 micron) pixels to its CBIS-DDSM pixels.
MIAS_SCALE = 2.58


def scale_scan(image: np.ndarray, scale: float = MIAS_SCALE) -> np.ndarray:
    """Resize a MIAS scan by ``scale`` (bilinear); returns ``uint8``."""
    if image.dtype != np.uint8:
        raise ValueError(f"MIAS scans are 8-bit, got {image.dtype}")
    height, width = image.shape
    size = (int(round(width * scale)), int(round(height * scale)))
    return np.asarray(Image.fromarray(image, mode="L").resize(size, Image.Resampling.BILINEAR))


def mias_roi_box(
    x: float,
    y: float,
    radius: float,
    original_height: int,
    *,
    scale: float = MIAS_SCALE,
    use_radius: bool = False,
) -> Box:
    """The ROI box in the scaled scan for a MIAS abnormality at ``(x, y)`` with ``radius``.

    Parameters
    ----------
    x, y
        MIAS coordinates (origin bottom-left) in original pixels.
    radius
        MIAS radius in original pixels.
    original_height
        Height of the unscaled scan (1024 for MIAS).
    scale
        Scale factor (the study's 2.58).
    use_radius
        Use the radius as the ROI side, as the study's code did; default the diameter.
    """
    height = int(round(original_height * scale))
    row = height - y * scale
    col = x * scale
    side = (radius if use_radius else 2 * radius) * scale
    half = max(side / 2, 0.5)
    return (
        int(np.floor(row - half)),
        int(np.floor(col - half)),
        int(np.ceil(row + half)),
        int(np.ceil(col + half)),
    )


def mias_crops(
    image: np.ndarray,
    x: float | None,
    y: float | None,
    radius: float | None,
    rng: np.random.Generator,
    *,
    scale: float = MIAS_SCALE,
    use_radius: bool = False,
    crop_size: int = OUT_SIZE,
    out_size: int = OUT_SIZE,
    n_crops: int = 3,
) -> list[RoiCrop]:
    """Cut crops around one MIAS abnormality (method 2 on the scaled scan).

    Parameters
    ----------
    image
        ``uint8 [1024, 1024]`` MIAS scan, unscaled.
    x, y, radius
        Centre (origin bottom-left) and radius in original pixels.
    rng
        Random generator.
    scale, use_radius
        See :func:`mias_roi_box`.
    crop_size, out_size
        Window side in scaled pixels (the study: 299, cut directly) and stored side.
    n_crops
        Random crops per ROI smaller than the crop.

    Raises
    ------
    ExtractionSkip
        ``no-coordinates`` when the annotation has none, ``roi-outside-scan`` or
        ``roi-larger-than-scan``.
    """
    if x is None or y is None or radius is None or not np.isfinite([x, y, radius]).all():
        raise ExtractionSkip("no-coordinates", "the MIAS annotation gives no centre and radius")
    scaled = scale_scan(image, scale)
    box = mias_roi_box(x, y, radius, image.shape[0], scale=scale, use_radius=use_radius)
    r0, c0, r1, c1 = box
    height, width = scaled.shape
    if r1 - r0 > height or c1 - c0 > width:
        raise ExtractionSkip(
            "roi-larger-than-scan", f"ROI {r1 - r0} px exceeds scan {scaled.shape}"
        )
    center = ((r0 + r1) / 2, (c0 + c1) / 2)
    if not (0 <= center[0] < height and 0 <= center[1] < width):
        raise ExtractionSkip("roi-outside-scan", f"centre ({x}, {y}) lies outside the scan")
    clipped = (max(r0, 0), max(c0, 0), min(r1, height), min(c1, width))
    check_box(clipped, scaled.shape)
    crops = method2_crops(
        scaled, clipped, rng, crop_size=crop_size, out_size=crop_size, n_crops=n_crops
    )
    if out_size == crop_size:
        return crops
    return [RoiCrop(resize(c.tile, out_size), c.box, c.kind) for c in crops]
