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
pixel-count limits scale with the crop's area. "Background" normals are tiles of the
abnormal CBIS scans' own tissue that touch no ROI (with a margin), under the same rules:
negatives that cannot differ from the positives by scanner pipeline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

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
#: tables do not give) and ``MIAS`` take the Howtek rule; ``BASIC`` keeps only the pixel-count
#: limits.
KEEP_RULES: dict[str, KeepRule] = {
    "DBA": KeepRule(var_min=20, var_max=1500, mean_min=38),
    "LUMISYS": KeepRule(var_min=10, var_max=10000, mean_min=28),
    "HOWTEK": KeepRule(var_min=10, var_max=10000, mean_min=30),
    "CBIS": KeepRule(var_min=10, var_max=10000, mean_min=30),
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


def tile_stats(crop8: np.ndarray, rule: KeepRule) -> TileStats:
    """Measure a ``uint8`` crop and decide whether `rule` keeps it.

    ``reason`` is ``"kept"`` or the first failed test: ``"bright"``, ``"dark"``, ``"variance"``,
    ``"mean"``. Count limits scale with the crop's area relative to ``598 x 598``.
    """
    hist = np.bincount(np.asarray(crop8, dtype=np.uint8).ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256, dtype=np.float64)
    n = hist.sum()
    mean = float(hist @ levels / n)
    var = float(max(hist @ (levels - mean) ** 2 / n, 0.0))
    n_bright = int(hist[rule.bright_level :].sum())
    n_dark = int(hist[: rule.dark_level + 1].sum())
    scale = crop8.size / REFERENCE_AREA
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
) -> list[NormalTile]:
    tiles = []
    for box in boxes:
        crop = cut(scan8, box)
        stats = tile_stats(crop, rule)
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

    Raises
    ------
    ExtractionSkip
        ``unknown-digitizer``, ``scan-smaller-than-tile``.
    """
    rule = keep_rule(digitizer) if rule is None else rule
    stride = stride or max(1, int(round(crop_size * 350 / CROP_SIZE)))
    area = trim_box(scan8.shape, trim)
    check_scan((area[2] - area[0], area[3] - area[1]), crop_size)
    return _tile_scan(
        scan8, tile_boxes(area, crop_size, stride), rule, rng, out_size, keep_rejected
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
