"""MIAS crops: abnormalities located by centre and radius, at the CBIS scale.

MIAS coordinates have their origin at the bottom-left corner. The study scaled MIAS scans by
2.58 to match the CBIS-DDSM scale, placed each abnormality at ``(H - y * 2.58, x * 2.58)``
and cut 299-pixel tiles directly (no resize). Its code used the radius as the ROI size,
most likely a bug (the diameter is ``2r``); ``use_radius=True`` reproduces it.

MIAS normals (:func:`mias_normal_tiles`, the study's ``crop_mias_images_9``): the scaled
scan loses the columns on its left and right that are black (at most 10 pixels not 0),
``299 x 299`` tiles are cut directly at stride 200, kept under the pixel-count limits and
``20 <= var <= 2000``, ``mean >= 38``, and each kept tile enters the data with probability
0.3. The project's own MIAS rule (``rule="project"``) trims 7% of every side, uses stride
175 and the Howtek rule, and keeps every tile.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from PIL import Image

from mammo_lib.extract import normals
from mammo_lib.extract.cbis import RoiCrop, method2_crops
from mammo_lib.extract.common import OUT_SIZE, Box, ExtractionSkip, check_box
from mammo_lib.imaging.intensity import resize

#: The study's scale from MIAS (200 micron) pixels to its CBIS-DDSM pixels.
MIAS_SCALE = 2.58
#: The study's MIAS normal tiling: stride, share of kept tiles used, black-column slack.
MIAS_STUDY_STRIDE = 200
MIAS_STUDY_KEEP = 0.3
MIAS_BLACK_SLACK = 10


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
    pad_by: Literal["longer-side", "axis"] = "longer-side",
    large_rois: Literal["random", "grid"] = "random",
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
    n_crops, pad_by, large_rois
        As for :func:`~mammo_lib.extract.cbis.method2_crops` (the study: 3 random crops of
        every ROI).

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
        scaled,
        clipped,
        rng,
        crop_size=crop_size,
        out_size=crop_size,
        n_crops=n_crops,
        pad_by=pad_by,
        large_rois=large_rois,
    )
    if out_size == crop_size:
        return crops
    return [RoiCrop(resize(c.tile, out_size), c.box, c.kind) for c in crops]


def trim_black_columns(image: np.ndarray, slack: int = MIAS_BLACK_SLACK) -> tuple[np.ndarray, int]:
    """Drop the left and right columns in which at most `slack` pixels are not 0.

    Returns
    -------
    (numpy.ndarray, int)
        The trimmed scan and the number of columns dropped on the left.
    """
    blank = (image == 0).sum(axis=0) >= image.shape[0] - slack
    if blank.all():
        raise ExtractionSkip("blank-scan", "every column of the MIAS scan is black")
    first = int(np.argmax(~blank))
    last = image.shape[1] - int(np.argmax(~blank[::-1]))
    return image[:, first:last], first


def mias_normal_tiles(
    image: np.ndarray,
    rng: np.random.Generator,
    *,
    rule: Literal["study", "project"] = "study",
    scale: float = MIAS_SCALE,
    crop_size: int = OUT_SIZE,
    out_size: int = OUT_SIZE,
    keep_fraction: float | None = None,
    trim: float = 0.07,
) -> list[normals.NormalTile]:
    """Normal tiles of one normal MIAS scan, by the study's rules or the project's.

    Parameters
    ----------
    image
        ``uint8 [1024, 1024]`` MIAS scan, unscaled.
    rng
        Random generator (the 30% draw, flips and rotations).
    rule
        ``"study"`` (black columns trimmed, stride 200, var 20-2000, mean >= 38, 30% kept)
        or ``"project"`` (7% trim, stride 175, the Howtek rule, all kept).
    scale
        Scale to the CBIS pixel size (2.58).
    crop_size, out_size
        Tile side cut on the scaled scan (299) and stored side; the stride scales with it.
    keep_fraction
        Share of passing tiles kept; None gives 0.3 for ``"study"`` and 1 for ``"project"``.
    trim
        Fraction trimmed on every side under ``"project"``.
    """
    scaled = scale_scan(image, scale)
    if rule == "study":
        scaled, _ = trim_black_columns(scaled)
        stride = max(1, int(round(MIAS_STUDY_STRIDE * crop_size / OUT_SIZE)))
        tiles = normals.normal_tiles(
            scaled,
            "MIAS_STUDY",
            rng,
            crop_size=crop_size,
            out_size=out_size,
            stride=stride,
            trim=0.0,
            rule=normals.keep_rule("MIAS_STUDY"),
            reference_area=OUT_SIZE * OUT_SIZE,
        )
        fraction = MIAS_STUDY_KEEP if keep_fraction is None else keep_fraction
    elif rule == "project":
        tiles = normals.normal_tiles(
            scaled, "MIAS", rng, crop_size=crop_size, out_size=out_size, trim=trim
        )
        fraction = 1.0 if keep_fraction is None else keep_fraction
    else:
        raise ValueError(f"rule must be 'study' or 'project', got {rule!r}")
    if fraction >= 1.0:
        return tiles
    coins = rng.random(len(tiles)) < fraction
    return [t for t, keep in zip(tiles, coins, strict=True) if keep]
