"""Tiles from the real mini-MIAS for patient-level cross-validation.

Positives are crops around every MIAS abnormality that has a centre and radius (the study's
method 2: random windows around small lesions, a grid over large ones). Negatives come from
the same database's tissue: tiles of the normal scans and tiles of the abnormal scans away
from every lesion, under the study's keep-rule (MIAS takes the Howtek rule). Every tile of
the set therefore comes from the same scanner pipeline, unlike the study's DDSM normals.

The field of view is the study's: a 299-pixel window at its CBIS scale is
``299 / 2.58 = 116`` MIAS pixels (23 mm), cut from the unscaled scan and resized to
``out_size`` (instead of scaling the whole scan up by 2.58 first), which is cheaper and
keeps the geometry.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from mammo_lib.config import work_dir
from mammo_lib.dataset.labels import mias_label
from mammo_lib.extract.common import ExtractionSkip, cut, scan_rng
from mammo_lib.extract.mias import MIAS_SCALE, mias_crops, mias_roi_box
from mammo_lib.extract.normals import background_tiles, keep_rule, normal_tiles, tile_stats
from mammo_lib.imaging.read import read_scan
from mammo_lib.sources.mias import MiasData, load_mias

#: Bump when the extraction changes, so cached tile sets are rebuilt.
_VERSION = 2


@dataclass(frozen=True)
class MiasTileConfig:
    """How MIAS tiles are cut.

    Parameters
    ----------
    crop_size
        Window side in MIAS pixels (default: the study's field of view, 299 / 2.58).
    out_size
        Stored tile side.
    n_crops
        Random windows per lesion smaller than the window.
    normals_per_scan
        At most this many tiles per normal scan (chosen at random among those kept).
    background_per_scan
        At most this many lesion-free tiles per abnormal scan.
    margin
        MIAS pixels around each lesion's box that a background tile may not touch.
    use_radius
        Size lesion boxes by the radius, as the study's code did (default: the diameter).
    n_images
        Use only the first this many scans (None: all 322), for quick checks.
    seed
        Seed of every random choice (per scan, independent of order).
    """

    crop_size: int = round(299 / MIAS_SCALE)
    out_size: int = 64
    n_crops: int = 3
    normals_per_scan: int = 6
    background_per_scan: int = 4
    margin: int = 20
    use_radius: bool = False
    n_images: int | None = None
    seed: int = 0

    def key(self) -> str:
        """Content hash of the configuration (names the cache folder)."""
        text = json.dumps({"v": _VERSION, **dataclasses.asdict(self)}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class MiasTiles:
    """A MIAS tile set.

    Attributes
    ----------
    tiles
        ``uint8 [n, out_size, out_size]``.
    meta
        One row per tile: ``scan_id, patient_id, abnormality_id`` (``scan:line`` for lesion
        tiles, empty otherwise), ``source`` (``"mias"``), ``kind`` (``lesion``,
        ``normal-scan``, ``background``), ``label`` (5-class code), ``label_binary``,
        ``crop_index``, ``row0, col0, row1, col1`` (window in the unscaled scan),
        ``keep_reason``: ``kept`` for every negative (they were chosen by the keep-rule), and
        for lesion tiles what the same rule says of their window (``kept``, ``bright``,
        ``dark`` ...), so that results can be checked on lesions the rule would also keep.
    skipped
        One row per annotation line or scan left out: ``scan_id, line_no, reason, detail``.
    config
        The configuration that cut them.
    """

    tiles: np.ndarray
    meta: pd.DataFrame
    skipped: pd.DataFrame
    config: MiasTileConfig


def _lesion_boxes(lines: pd.DataFrame, height: int, use_radius: bool) -> list[tuple]:
    boxes = []
    for x, y, r in lines[["x", "y", "radius"]].itertuples(index=False):
        boxes.append(mias_roi_box(x, y, r, height, scale=1.0, use_radius=use_radius))
    return boxes


def extract_mias_tiles(
    config: MiasTileConfig = MiasTileConfig(), mias: MiasData | None = None
) -> MiasTiles:
    """Cut the MIAS tile set (see the module docstring).

    Parameters
    ----------
    config
        How to cut.
    mias
        The loaded database (default: :func:`~mammo_lib.sources.mias.load_mias` through the
        registry).
    """
    mias = load_mias() if mias is None else mias
    tiles: list[np.ndarray] = []
    rows: list[dict] = []
    skipped: list[dict] = []
    c = config
    rule = keep_rule("MIAS")
    images = mias.images if c.n_images is None else mias.images.iloc[: c.n_images]
    for refnum, image_row in tqdm(images.iterrows(), total=len(images), desc="MIAS"):
        path = mias.path(refnum)
        if not path.exists():
            skipped.append(dict(scan_id=refnum, line_no=0, reason="missing-file", detail=str(path)))
            continue
        scan = read_scan(path).image
        rng = scan_rng(c.seed, "mias-cv", refnum)
        base = dict(scan_id=refnum, patient_id=f"mias-{image_row['patient']:03d}", source="mias")
        lines = mias.lines(refnum)
        if not image_row["abnormal"]:
            found = normal_tiles(scan, "MIAS", rng, crop_size=c.crop_size, out_size=c.out_size)
            pick = rng.permutation(len(found))[: c.normals_per_scan]
            for k, i in enumerate(sorted(pick)):
                tiles.append(found[i].tile)
                rows.append(
                    base
                    | dict(abnormality_id="", kind="normal-scan", label=0, crop_index=k)
                    | dict(zip(("row0", "col0", "row1", "col1"), found[i].box, strict=True))
                )
            if not len(found):
                skipped.append(
                    dict(scan_id=refnum, line_no=0, reason="no-tile-kept", detail="normal scan")
                )
            continue
        located = lines.dropna(subset=["x", "y", "radius"])
        for line in lines.itertuples(index=False):
            if pd.isna(line.x) or pd.isna(line.y) or pd.isna(line.radius):
                skipped.append(
                    dict(
                        scan_id=refnum,
                        line_no=line.line_no,
                        reason="no-coordinates",
                        detail=f"{line.abnormality} {line.severity}: no centre/radius",
                    )
                )
                continue
            try:
                crops = mias_crops(
                    scan,
                    line.x,
                    line.y,
                    line.radius,
                    rng,
                    scale=1.0,
                    use_radius=c.use_radius,
                    crop_size=c.crop_size,
                    out_size=c.out_size,
                    n_crops=c.n_crops,
                    pad_by="axis",  # this chapter's own tiling, kept as it was
                    large_rois="grid",
                )
            except ExtractionSkip as skip:
                skipped.append(
                    dict(
                        scan_id=refnum, line_no=line.line_no, reason=skip.reason, detail=skip.detail
                    )
                )
                continue
            code = mias_label(line.abnormality, line.severity)
            for k, crop in enumerate(crops):
                tiles.append(crop.tile)
                rows.append(
                    base
                    | dict(
                        abnormality_id=f"{refnum}:{line.line_no}",
                        kind="lesion",
                        label=code,
                        crop_index=k,
                        keep_reason=tile_stats(cut(scan, crop.box), rule).reason,
                    )
                    | dict(zip(("row0", "col0", "row1", "col1"), crop.box, strict=True))
                )
        if len(located) < len(lines):
            # A lesion without a location could lie under any background tile.
            skipped.append(
                dict(
                    scan_id=refnum,
                    line_no=0,
                    reason="no-background",
                    detail="a lesion without coordinates: no lesion-free tiles cut",
                )
            )
            continue
        boxes = _lesion_boxes(located, scan.shape[0], c.use_radius)
        found = background_tiles(
            scan,
            boxes,
            rng,
            crop_size=c.crop_size,
            out_size=c.out_size,
            margin=c.margin,
            max_tiles=c.background_per_scan,
            rule="MIAS",
        )
        for k, t in enumerate(found):
            tiles.append(t.tile)
            rows.append(
                base
                | dict(abnormality_id="", kind="background", label=0, crop_index=k)
                | dict(zip(("row0", "col0", "row1", "col1"), t.box, strict=True))
            )
    meta = pd.DataFrame(rows)
    meta["label_binary"] = (meta["label"] > 0).astype(int)
    meta["keep_reason"] = meta["keep_reason"].fillna("kept")
    skipped_df = pd.DataFrame(skipped, columns=["scan_id", "line_no", "reason", "detail"])
    return MiasTiles(np.stack(tiles).astype(np.uint8), meta, skipped_df, config)


def _write(folder: Path, data: MiasTiles) -> None:
    np.save(folder / "tiles.npy", data.tiles)
    data.meta.to_csv(folder / "meta.csv", index=False)
    data.skipped.to_csv(folder / "skipped.csv", index=False)
    (folder / "config.json").write_text(json.dumps(dataclasses.asdict(data.config), indent=1))


def _read(folder: Path, config: MiasTileConfig) -> MiasTiles:
    meta = pd.read_csv(folder / "meta.csv", keep_default_na=False, dtype={"abnormality_id": str})
    skipped = pd.read_csv(folder / "skipped.csv", keep_default_na=False)
    return MiasTiles(np.load(folder / "tiles.npy"), meta, skipped, config)


def ensure_mias_tiles(
    config: MiasTileConfig = MiasTileConfig(), cache: str | os.PathLike[str] | None = None
) -> MiasTiles:
    """Return the MIAS tile set for `config`, cutting it once and reusing it after.

    Parameters
    ----------
    config
        How to cut.
    cache
        Parent folder of the cache (default ``work_dir() / "mias-tiles"``); the set lives in
        a sub-folder named by :meth:`MiasTileConfig.key`, written atomically.
    """
    parent = Path(cache) if cache is not None else work_dir() / "mias-tiles"
    folder = parent / config.key()
    if (folder / "config.json").exists():
        return _read(folder, config)
    data = extract_mias_tiles(config)
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f".{config.key()}.{os.getpid()}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    _write(tmp, data)
    try:
        os.replace(tmp, folder)
    except OSError:  # another process finished first: keep its copy
        shutil.rmtree(tmp, ignore_errors=True)
    return _read(folder, config)
