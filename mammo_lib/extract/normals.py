"""Normal tiles: the study's DDSM tiling with per-digitizer keep-rules, and same-scan background.

DDSM normals (dataset 9): trim 7% of the scan on every side, cut ``598 x 598`` tiles with
stride 350, keep a tile when (on the 8-bit crop) fewer than 100 pixels are >= 225, at most
50000 pixels are <= 20, and its variance and mean pass the digitizer's rule:

==========  ===============  ==========
digitizer   variance         mean
==========  ===============  ==========
DBA         20 .. 1500       >= 38
LUMISYS     10 .. 10000      >= 28
HOWTEK      10 .. 10000      >= 30
==========  ===============  ==========

Kept tiles are resized to 299 and flipped/rotated at random. For other crop sizes the two
pixel-count limits scale with the crop's area. Before tiling, the study set every pure-white
pixel (255: the patches that cover identifying text on some DDSM scans) to black;
``white_to_black=True`` does the same.

DDSM normals of datasets 6 and 8 (:func:`shrunk_normal_tiles`, the study's
``slice_normal_image``): each scan is shrunk by a random factor in 1.8-3.2, its pure-white
pixels set to black, 7% trimmed on every side, and ``299 x 299`` tiles cut directly (no
resize) at a random stride in 150-200, one factor and one stride per scan; the pixel-count
limits then apply to the 299 tile as they stand. "Background" normals are tiles of the
abnormal CBIS scans' own tissue that touch no ROI (with a margin), under the same rules:
negatives that cannot differ from the positives by scanner pipeline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

from mammo_lib.extract.common import (
    CROP_SIZE,
    OUT_SIZE,
    Box,
    ExtractionSkip,
    boxes_overlap,
    check_scan,
    cut,
)
from mammo_lib.imaging.intensity import random_flip_rot, resize

REFERENCE_AREA = CROP_SIZE * CROP_SIZE


@dataclass(frozen=True)
class KeepRule:
    """A keep-rule for normal tiles, on 8-bit pixels of a ``598 x 598`` crop.

    A tile is kept when ``n(>= bright_level) < bright_max``, ``n(<= dark_level) <= dark_max``,
    ``var_min <= variance <= var_max`` and ``mean >= mean_min``.
    """

    var_min: float
    var_max: float
    mean_min: float
    bright_level: int = 225
    bright_max: int = 100
    dark_level: int = 20
    dark_max: int = 50000


#: The study's rules by digitizer. ``CBIS`` (for background tiles, whose digitizer the CBIS
#: tables do not give) and ``MIAS`` (the project's MIAS rule) take the Howtek rule;
#: ``MIAS_STUDY`` is the study's own MIAS rule (var 20-2000, mean >= 38); ``BASIC`` keeps
#: only the pixel-count limits.
KEEP_RULES: dict[str, KeepRule] = {
    "DBA": KeepRule(var_min=20, var_max=1500, mean_min=38),
    "LUMISYS": KeepRule(var_min=10, var_max=10000, mean_min=28),
    "HOWTEK": KeepRule(var_min=10, var_max=10000, mean_min=30),
    "CBIS": KeepRule(var_min=10, var_max=10000, mean_min=30),
    "MIAS_STUDY": KeepRule(var_min=20, var_max=2000, mean_min=38),
    "MIAS": KeepRule(var_min=10, var_max=10000, mean_min=30),
    "BASIC": KeepRule(var_min=0.0, var_max=math.inf, mean_min=0.0),
}


def keep_rule(digitizer: str) -> KeepRule:
    """Return the rule for a digitizer name as written in DDSM ``.ics`` files.

    ``"DBA 21"``, ``"LUMISYS LASER"``, ``"HOWTEK 960"``, ``"HOWTEK MultiRad850"`` and the keys of
    :data:`KEEP_RULES` are recognised (case-insensitive).

    Raises
    ------
    ExtractionSkip
        ``unknown-digitizer``.
    """
    name = str(digitizer).upper()
    for key, rule in KEEP_RULES.items():
        if key in name:
            return rule
    raise ExtractionSkip("unknown-digitizer", f"no keep-rule for digitizer {digitizer!r}")


@dataclass(frozen=True)
class TileStats:
    """Pixel statistics of one 8-bit crop and the keep decision."""

    mean: float
    var: float
    n_bright: int
    n_dark: int
    kept: bool
    reason: str


def tile_stats(
    crop8: np.ndarray, rule: KeepRule, reference_area: int = REFERENCE_AREA
) -> TileStats:
    """Measure a ``uint8`` crop and decide whether `rule` keeps it.

    ``reason`` is ``"kept"`` or the first failed test: ``"bright"``, ``"dark"``, ``"variance"``,
    ``"mean"``. Count limits scale with the crop's area relative to `reference_area` (the
    area the study's limits were written for: ``598 x 598`` for dataset 9, ``299 x 299`` for
    the tiles cut directly from shrunk scans).
    """
    hist = np.bincount(np.asarray(crop8, dtype=np.uint8).ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256, dtype=np.float64)
    n = hist.sum()
    mean = float(hist @ levels / n)
    var = float(max(hist @ (levels - mean) ** 2 / n, 0.0))
    n_bright = int(hist[rule.bright_level :].sum())
    n_dark = int(hist[: rule.dark_level + 1].sum())
    scale = crop8.size / reference_area
    if n_bright >= rule.bright_max * scale:
        reason = "bright"
    elif n_dark > rule.dark_max * scale:
        reason = "dark"
    elif not rule.var_min <= var <= rule.var_max:
        reason = "variance"
    elif mean < rule.mean_min:
        reason = "mean"
    else:
        reason = "kept"
    return TileStats(mean, var, n_bright, n_dark, reason == "kept", reason)


@dataclass(frozen=True)
class NormalTile:
    """A candidate normal tile: where it was cut, its statistics, and the tile if kept."""

    box: Box
    stats: TileStats
    tile: np.ndarray | None

    def as_row(self) -> dict:
        """A flat dict (box and statistics) for a DataFrame."""
        r0, c0, r1, c1 = self.box
        return {"row0": r0, "col0": c0, "row1": r1, "col1": c1, **asdict(self.stats)}


def trim_box(shape: Sequence[int], trim: float = 0.07) -> Box:
    """The scan's box with ``trim`` of its height and width removed on every side."""
    dr, dc = int(round(trim * shape[0])), int(round(trim * shape[1]))
    return dr, dc, int(shape[0]) - dr, int(shape[1]) - dc


def tile_boxes(area: Box, crop_size: int, stride: int) -> list[Box]:
    """Boxes of a regular grid of ``crop_size`` tiles with ``stride`` inside ``area``."""
    r0, c0, r1, c1 = area
    rows = range(r0, r1 - crop_size + 1, stride)
    cols = range(c0, c1 - crop_size + 1, stride)
    return [(r, c, r + crop_size, c + crop_size) for r in rows for c in cols]


def _tile_scan(
    scan8: np.ndarray,
    boxes: list[Box],
    rule: KeepRule,
    rng: np.random.Generator,
    out_size: int,
    keep_rejected: bool,
    reference_area: int = REFERENCE_AREA,
) -> list[NormalTile]:
    tiles = []
    for box in boxes:
        crop = cut(scan8, box)
        stats = tile_stats(crop, rule, reference_area)
        tile = random_flip_rot(resize(crop, out_size), rng) if stats.kept else None
        if stats.kept or keep_rejected:
            tiles.append(NormalTile(box, stats, tile))
    return tiles


def normal_tiles(
    scan8: np.ndarray,
    digitizer: str,
    rng: np.random.Generator,
    *,
    crop_size: int = CROP_SIZE,
    out_size: int = OUT_SIZE,
    stride: int | None = None,
    trim: float = 0.07,
    rule: KeepRule | None = None,
    keep_rejected: bool = False,
    white_to_black: bool = False,
    reference_area: int = REFERENCE_AREA,
) -> list[NormalTile]:
    """Tile a normal scan the study's way and apply the digitizer's keep-rule.

    Parameters
    ----------
    scan8
        ``uint8 [H, W]`` scan.
    digitizer
        DDSM digitizer name (see :func:`keep_rule`).
    rng
        Random generator for flips and rotations.
    crop_size, out_size
        Crop side in scan pixels and stored tile side.
    stride
        Step between tiles; None gives the study's ``350 / 598`` of the crop.
    trim
        Fraction trimmed on every side (white borders, labels).
    rule
        A keep-rule to use instead of the digitizer's (the digitizer is then not checked).
    keep_rejected
        Also return rejected candidates (``tile`` None), for review plots.
    white_to_black
        Set pure-white pixels (255) to 0 first, as the study did for DDSM scans.
    reference_area
        Crop area the rule's pixel-count limits were written for (see :func:`tile_stats`).

    Raises
    ------
    ExtractionSkip
        ``unknown-digitizer``, ``scan-smaller-than-tile``.
    """
    rule = keep_rule(digitizer) if rule is None else rule
    if white_to_black:
        scan8 = whites_to_black(scan8)
    stride = stride or max(1, int(round(crop_size * 350 / CROP_SIZE)))
    area = trim_box(scan8.shape, trim)
    check_scan((area[2] - area[0], area[3] - area[1]), crop_size)
    return _tile_scan(
        scan8,
        tile_boxes(area, crop_size, stride),
        rule,
        rng,
        out_size,
        keep_rejected,
        reference_area,
    )


def background_tiles(
    scan8: np.ndarray,
    roi_boxes: Sequence[Box],
    rng: np.random.Generator,
    *,
    crop_size: int = CROP_SIZE,
    out_size: int = OUT_SIZE,
    stride: int | None = None,
    trim: float = 0.07,
    margin: int | None = None,
    max_tiles: int | None = None,
    rule: str = "CBIS",
    keep_rejected: bool = False,
) -> list[NormalTile]:
    """Normal tiles from an abnormal scan's own tissue, away from every ROI.

    Parameters
    ----------
    scan8
        ``uint8 [H, W]`` abnormal scan.
    roi_boxes
        Bounding boxes of all the scan's ROIs.
    rng
        Random generator (choice of tiles, flips, rotations).
    margin
        Pixels added around each ROI box that no tile may touch; None gives half a crop.
    max_tiles
        Keep at most this many (chosen at random among those that pass), None for all.
    rule
        Keep-rule name (see :data:`KEEP_RULES`).
    crop_size, out_size, stride, trim, keep_rejected
        As for :func:`normal_tiles`; rejected candidates touching a ROI get reason ``"roi"``.
    """
    keep = keep_rule(rule)
    stride = stride or max(1, int(round(crop_size * 350 / CROP_SIZE)))
    margin = crop_size // 2 if margin is None else margin
    area = trim_box(scan8.shape, trim)
    check_scan((area[2] - area[0], area[3] - area[1]), crop_size)
    grown = [(r0 - margin, c0 - margin, r1 + margin, c1 + margin) for r0, c0, r1, c1 in roi_boxes]
    free, near = [], []
    for box in tile_boxes(area, crop_size, stride):
        (near if any(boxes_overlap(box, g) for g in grown) else free).append(box)
    measured = [NormalTile(b, tile_stats(cut(scan8, b), keep), None) for b in free]
    passing = [i for i, t in enumerate(measured) if t.stats.kept]
    if max_tiles is not None and len(passing) > max_tiles:
        chosen = set(rng.choice(passing, size=max_tiles, replace=False).tolist())
    else:
        chosen = set(passing)
    out: list[NormalTile] = []
    for i, t in enumerate(measured):
        if i in chosen:
            tile = random_flip_rot(resize(cut(scan8, t.box), out_size), rng)
            out.append(NormalTile(t.box, t.stats, tile))
        elif keep_rejected:
            out.append(t)
    if keep_rejected:
        nan = math.nan
        out += [NormalTile(b, TileStats(nan, nan, 0, 0, False, "roi"), None) for b in near]
    return out


#: The study's range of shrink factors and strides for the normals of datasets 6 and 8.
SHRINK_RANGE: tuple[float, float] = (1.8, 3.2)
STRIDE_RANGE: tuple[int, int] = (150, 200)


def whites_to_black(scan8: np.ndarray) -> np.ndarray:
    """Return a copy of a ``uint8`` scan with every pure-white pixel (255) set to 0."""
    out = np.array(scan8, dtype=np.uint8, copy=True)
    out[out == 255] = 0
    return out


def shrink_scan(scan8: np.ndarray, factor: float) -> np.ndarray:
    """Shrink a ``uint8`` scan by ``factor`` on both axes (Lanczos, as PIL's thumbnail)."""
    height, width = scan8.shape
    size = (max(1, int(width // factor)), max(1, int(height // factor)))
    image = Image.fromarray(np.ascontiguousarray(scan8), mode="L")
    return np.asarray(image.resize(size, Image.Resampling.LANCZOS))


@dataclass(frozen=True)
class ShrunkTiling:
    """The random draws of one scan's datasets-6/8 tiling: shrink factor and stride."""

    factor: float
    stride: int


def draw_shrunk_tiling(
    rng: np.random.Generator,
    *,
    crop_size: int = CROP_SIZE,
    out_size: int = OUT_SIZE,
    shrink_range: tuple[float, float] = SHRINK_RANGE,
    stride_range: tuple[int, int] = STRIDE_RANGE,
) -> ShrunkTiling:
    """Draw one scan's shrink factor and stride.

    At the study's geometry (598 crops stored at 299) the factor is uniform in
    `shrink_range` and the stride uniform in `stride_range` (integers, both ends included).
    Other geometries keep the same relation to the CBIS tiles: the factor is multiplied by
    ``(crop_size / out_size) / 2`` and the stride by ``out_size / 299``.
    """
    factor = float(rng.uniform(*shrink_range)) * (crop_size / out_size) / 2.0
    step = int(rng.integers(stride_range[0], stride_range[1] + 1))
    return ShrunkTiling(factor, max(1, int(round(step * out_size / OUT_SIZE))))


def shrunk_normal_tiles(
    scan8: np.ndarray,
    rule: KeepRule,
    rng: np.random.Generator,
    *,
    crop_size: int = CROP_SIZE,
    out_size: int = OUT_SIZE,
    trim: float = 0.07,
    white_to_black: bool = True,
    shrink_range: tuple[float, float] = SHRINK_RANGE,
    stride_range: tuple[int, int] = STRIDE_RANGE,
    keep_rejected: bool = False,
) -> tuple[ShrunkTiling, list[NormalTile]]:
    """Tile a normal scan the way the study made the normals of datasets 6 and 8.

    Parameters
    ----------
    scan8
        ``uint8 [H, W]`` scan at full resolution.
    rule
        Keep-rule; its pixel-count limits apply to an ``out_size`` tile as they stand at 299.
    rng
        Random generator: the shrink factor and stride, then the flips and rotations.
    crop_size, out_size
        The recipe's CBIS geometry (598 crops stored at 299), see :func:`draw_shrunk_tiling`.
    trim
        Fraction trimmed on every side of the shrunk scan.
    white_to_black
        Set pure-white pixels to black after shrinking (the study did).
    shrink_range, stride_range
        The study's 1.8-3.2 and 150-200.
    keep_rejected
        Also return rejected candidates (``tile`` None).

    Returns
    -------
    (ShrunkTiling, list of NormalTile)
        The draws, and the tiles; boxes are in the shrunk scan's pixels.

    Raises
    ------
    ExtractionSkip
        ``scan-smaller-than-tile`` when the shrunk, trimmed scan cannot hold one tile.
    """
    draw = draw_shrunk_tiling(
        rng,
        crop_size=crop_size,
        out_size=out_size,
        shrink_range=shrink_range,
        stride_range=stride_range,
    )
    small = shrink_scan(scan8, draw.factor)
    if white_to_black:
        small = whites_to_black(small)
    area = trim_box(small.shape, trim)
    check_scan((area[2] - area[0], area[3] - area[1]), out_size)
    tiles = []
    for box in tile_boxes(area, out_size, draw.stride):
        crop = cut(small, box)
        stats = tile_stats(crop, rule, reference_area=OUT_SIZE * OUT_SIZE)
        tile = random_flip_rot(crop, rng) if stats.kept else None
        if stats.kept or keep_rejected:
            tiles.append(NormalTile(box, stats, tile))
    return draw, tiles
