"""One extraction task per scan: read it, cut its tiles, cache the result atomically.

A :class:`ScanTask` holds everything a worker needs (paths, ROIs, labels, split), so a task
runs the same in this process, in a thread or on a ``dask.distributed`` worker. Its result,
a list of tile records (PNG bytes and ids) and a list of skips, is pickled to
``<cache_dir>/<task.key>.pkl`` through a temporary name, so an interrupted build resumes
from the scans already done. Randomness comes from ``scan_rng(seed, task.key)`` only.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mammo_lib.dataset.labels import binary
from mammo_lib.dataset.png import encode_png
from mammo_lib.dataset.recipes import Recipe
from mammo_lib.extract import cbis, mias, normals
from mammo_lib.extract.common import Box, ExtractionSkip, scan_rng
from mammo_lib.imaging.errors import ImageReadError
from mammo_lib.imaging.intensity import UnknownDigitizer
from mammo_lib.imaging.read import read_scan
from mammo_lib.io import atomic_open

#: Bump when the task output or the extraction code changes (it is part of the dataset key).
#: 2: tiles PNG-encoded at zlib level 1 through imagecodecs.
#: 3: the study's method 2 for large ROIs, shrunk-scan normals, white-to-black, MIAS rule.
TASK_VERSION = 3


@dataclass(frozen=True)
class Roi:
    """One abnormality of a scan: where to find it and its class code."""

    roi_id: str
    label: int
    mask_path: str | None = None
    x: float | None = None
    y: float | None = None
    radius: float | None = None


@dataclass(frozen=True)
class ScanTask:
    """Everything needed to cut one scan's tiles.

    Attributes
    ----------
    key
        Unique, stable identifier (also the cache file name), e.g. ``"cbis/P_00001_LEFT_CC"``.
    kind
        ``"cbis"``, ``"ddsm"`` or ``"mias"``.
    split
        The split every tile of this scan goes to.
    patient_id, scan_id
        Identifiers written into each record.
    path
        The scan file.
    rois
        The scan's abnormalities (none for a normal scan).
    digitizer
        DDSM digitizer name (``kind == "ddsm"``).
    fingerprint
        Size and modification time of the input files, so a changed file gives a new key.
    """

    key: str
    kind: str
    split: str
    patient_id: str
    scan_id: str
    path: str
    rois: tuple[Roi, ...] = ()
    digitizer: str = ""
    view: str = ""
    fingerprint: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def cache_name(self) -> str:
        """File name of the cached result (the key, made filesystem-safe, plus a hash)."""
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.key)
        digest = hashlib.sha256(self.key.encode("utf-8")).hexdigest()[:8]
        return f"{safe}-{digest}.pkl"


def file_fingerprint(*paths: str | os.PathLike[str] | None) -> str:
    """``name:size:mtime_ns`` of each existing file (``name:missing`` otherwise), joined."""
    parts = []
    for path in paths:
        if path is None:
            continue
        try:
            stat = os.stat(path)
            parts.append(f"{Path(path).name}:{stat.st_size}:{stat.st_mtime_ns}")
        except OSError:
            parts.append(f"{Path(path).name}:missing")
    return "|".join(parts)


def _skip(path: str, reason: str, detail: str, task: ScanTask) -> dict[str, str]:
    return {"path": str(path), "reason": reason, "detail": detail, "scan": task.key}


def _record(
    task: ScanTask, tile: np.ndarray, label: int, source: str, roi: str, index: int
) -> dict:
    return {
        "image": encode_png(tile),
        "label": int(label),
        "label_binary": binary(int(label)),
        "patient_id": task.patient_id,
        "abnormality_id": roi,
        "source": source,
        "crop_index": int(index),
        "scan_id": task.scan_id,
    }


def _limit(tiles: list, limit: int | None, rng: np.random.Generator) -> list:
    """At most `limit` tiles, chosen at random, in their original order."""
    if limit is None or len(tiles) <= limit:
        return tiles
    keep = np.sort(rng.choice(len(tiles), size=limit, replace=False))
    return [tiles[i] for i in keep]


def _normal_rule(recipe: Recipe, digitizer: str) -> normals.KeepRule:
    if recipe.normal_filter == "basic":
        return normals.KeepRule(var_min=0.0, var_max=float("inf"), mean_min=0.0)
    return normals.keep_rule(digitizer)


def _read_cbis_scan(path: str) -> np.ndarray:
    """A CBIS-DDSM scan in 8 bits, as :func:`mammo_lib.imaging.read.read_scan` gives it."""
    return read_scan(path).image


def _read_ddsm_scan(task: ScanTask) -> np.ndarray:
    """Read a DDSM view checked against its ``.ics`` geometry, in 8 bits through optical density."""
    import warnings

    from mammo_lib.sources.ddsm import ViewInfo

    info = task.extra.get("view_info")
    view = ViewInfo(*info) if info else None
    with warnings.catch_warnings():
        # swapped headers are reshaped and listed by the finder; other warnings go through
        warnings.filterwarnings("ignore", message=".*pixel stream reshaped", category=UserWarning)
        scan = read_scan(
            task.path,
            digitizer=task.digitizer,
            site=task.patient_id[:1],
            shape=view.shape if view else None,
            bits=view.bits_per_pixel if view else None,
        )
    return scan.image


def _roi_crops(
    scan8: np.ndarray, box: Box, recipe: Recipe, rng: np.random.Generator
) -> list[cbis.RoiCrop]:
    """The recipe's crops of one ROI: method 1 variants, method 2, or both (in that order)."""
    geometry = {"crop_size": recipe.crop_size, "out_size": recipe.tile_size}
    crops: list[cbis.RoiCrop] = []
    if recipe.roi_method in (1, "1+2"):
        crops += cbis.method1_crops(scan8, box, rng, variants=recipe.roi_variants, **geometry)
    if recipe.roi_method in (2, "1+2"):
        crops += cbis.method2_crops(
            scan8,
            box,
            rng,
            n_crops=recipe.n_crops,
            pad_by=recipe.roi_pad_by,
            large_rois=recipe.large_rois,
            **geometry,
        )
    return crops


def _run_cbis(task: ScanTask, recipe: Recipe, rng: np.random.Generator) -> tuple[list, list]:
    records: list[dict] = []
    skips: list[dict] = []
    try:
        scan8 = _read_cbis_scan(task.path)
    except (ImageReadError, OSError, ValueError) as error:
        for roi in task.rois:
            skips.append(_skip(task.path, "unreadable-scan", f"{roi.roi_id}: {error}", task))
        return records, skips
    boxes: list[Box] = []
    for roi in task.rois:
        try:
            if not roi.mask_path:
                raise ExtractionSkip("mask-missing", "no ROI mask file was found for this ROI")
            try:
                from mammo_lib.imaging.dicom import read_dicom

                mask = read_dicom(roi.mask_path)
            except (ImageReadError, OSError) as error:
                raise ExtractionSkip("unreadable-mask", str(error)) from error
            box = cbis.roi_box_from_mask(mask > 0, scan8.shape)
            boxes.append(box)
            crops = _roi_crops(scan8, box, recipe, rng)
        except ExtractionSkip as skip:
            skips.append(
                _skip(roi.mask_path or task.path, skip.reason, f"{roi.roi_id}: {skip.detail}", task)
            )
            continue
        for i, crop in enumerate(crops):
            records.append(_record(task, crop.tile, roi.label, "cbis-ddsm", roi.roi_id, i))
    if recipe.normals == "cbis-background":
        if len(boxes) < len(task.rois):
            skips.append(
                _skip(
                    task.path, "background-unsafe", "an ROI of this scan could not be placed", task
                )
            )
        else:
            try:
                tiles = normals.background_tiles(
                    scan8,
                    boxes,
                    rng,
                    crop_size=recipe.crop_size,
                    out_size=recipe.tile_size,
                    stride=recipe.stride,
                    trim=recipe.trim,
                    margin=recipe.background_margin,
                    max_tiles=recipe.max_normal_tiles_per_scan,
                    rule="BASIC" if recipe.normal_filter == "basic" else "CBIS",
                )
            except ExtractionSkip as skip:
                skips.append(_skip(task.path, skip.reason, f"background: {skip.detail}", task))
                tiles = []
            for i, tile in enumerate(tiles):
                records.append(_record(task, tile.tile, 0, "cbis-background", "", i))
    return records, skips


def _run_ddsm(task: ScanTask, recipe: Recipe, rng: np.random.Generator) -> tuple[list, list]:
    try:
        rule = _normal_rule(recipe, task.digitizer)
    except ExtractionSkip as skip:
        return [], [_skip(task.path, skip.reason, skip.detail, task)]
    try:
        scan8 = _read_ddsm_scan(task)
    except UnknownDigitizer as error:
        return [], [_skip(task.path, error.reason, error.detail, task)]
    except (ImageReadError, OSError, ValueError) as error:
        return [], [_skip(task.path, "unreadable-scan", str(error), task)]
    try:
        if recipe.normal_tiling == "shrunk":
            _, tiles = normals.shrunk_normal_tiles(
                scan8,
                rule,
                rng,
                crop_size=recipe.crop_size,
                out_size=recipe.tile_size,
                trim=recipe.trim,
                white_to_black=recipe.ddsm_white_to_black,
            )
        else:
            tiles = normals.normal_tiles(
                scan8,
                task.digitizer,
                rng,
                crop_size=recipe.crop_size,
                out_size=recipe.tile_size,
                stride=recipe.stride,
                trim=recipe.trim,
                rule=rule,
                white_to_black=recipe.ddsm_white_to_black,
            )
    except ExtractionSkip as skip:
        return [], [_skip(task.path, skip.reason, skip.detail, task)]
    tiles = _limit(tiles, recipe.max_normal_tiles_per_scan, rng)
    return [_record(task, t.tile, 0, "ddsm", "", i) for i, t in enumerate(tiles)], []


def _run_mias(task: ScanTask, recipe: Recipe, rng: np.random.Generator) -> tuple[list, list]:
    try:
        image = read_scan(task.path).image
    except (ImageReadError, OSError, ValueError) as error:
        return [], [_skip(task.path, "unreadable-scan", str(error), task)]
    records: list[dict] = []
    skips: list[dict] = []
    if not task.rois:
        try:
            tiles = mias.mias_normal_tiles(
                image,
                rng,
                rule=recipe.mias_normals,
                scale=recipe.mias_scale,
                crop_size=recipe.mias_crop,
                out_size=recipe.tile_size,
                trim=recipe.trim,
            )
        except ExtractionSkip as skip:
            return [], [_skip(task.path, skip.reason, skip.detail, task)]
        tiles = _limit(tiles, recipe.max_normal_tiles_per_scan, rng)
        return [_record(task, t.tile, 0, "mias", "", i) for i, t in enumerate(tiles)], []
    for roi in task.rois:
        try:
            crops = mias.mias_crops(
                image,
                roi.x,
                roi.y,
                roi.radius,
                rng,
                scale=recipe.mias_scale,
                use_radius=recipe.mias_use_radius,
                crop_size=recipe.mias_crop,
                out_size=recipe.tile_size,
                n_crops=recipe.n_crops,
                pad_by=recipe.roi_pad_by,
                large_rois=recipe.large_rois,
            )
        except ExtractionSkip as skip:
            skips.append(_skip(task.path, skip.reason, f"{roi.roi_id}: {skip.detail}", task))
            continue
        records += [
            _record(task, c.tile, roi.label, "mias", roi.roi_id, i) for i, c in enumerate(crops)
        ]
    return records, skips


_RUNNERS = {"cbis": _run_cbis, "ddsm": _run_ddsm, "mias": _run_mias}


def run_task(task: ScanTask, recipe: Recipe, seed: int, cache_dir: str | os.PathLike[str]) -> dict:
    """Run one scan's extraction unless its cached result exists; return a small summary.

    Returns
    -------
    dict
        ``{"key", "records", "skips", "cached"}`` (counts; the data is in the cache file).
    """
    path = Path(cache_dir) / task.cache_name()
    if path.exists():
        result = load_result(path)
        return {
            "key": task.key,
            "records": len(result["records"]),
            "skips": len(result["skips"]),
            "cached": True,
        }
    rng = scan_rng(seed, task.key)
    records, skips = _RUNNERS[task.kind](task, recipe, rng)
    result = {"version": TASK_VERSION, "key": task.key, "records": records, "skips": skips}
    _atomic_pickle(path, result)
    return {"key": task.key, "records": len(records), "skips": len(skips), "cached": False}


def load_result(path: str | os.PathLike[str]) -> dict:
    """Load a cached task result."""
    with open(path, "rb") as handle:
        return pickle.load(handle)


def _atomic_pickle(path: Path, obj: Any) -> None:
    with atomic_open(path, "wb") as handle:
        pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)
