"""One extraction task per scan: read it, cut its tiles, cache the result atomically.

A :class:`ScanTask` holds everything a worker needs (paths, ROIs, labels, split), so a task
runs the same in this process, in a thread or on a ``dask.distributed`` worker. Its result,
a list of tile records (PNG bytes and ids) and a list of skips, is written to
``<cache_dir>/<task.key>-<hash>.npz`` through a temporary name, so an interrupted build resumes
from the scans already done. Randomness comes from ``scan_rng(seed, task.key)`` only.

The cache holds data only: the ids and skips as JSON text and the PNG bytes as one ``uint8``
array, read with ``allow_pickle=False``, so a planted file cannot run code. An entry that
cannot be read, or belongs to another key or task version, counts as missing and is redone.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
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
#: 4: results cached as JSON + npz (no pickle); MIAS scans not 1024 x 1024 skipped.
TASK_VERSION = 4


class CacheEntryError(ValueError):
    """A cached task result cannot be read (truncated, foreign or of another version)."""


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
        return f"{safe}-{digest}.npz"


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
    from mammo_lib.sources.mias import IMAGE_SIZE

    try:
        image = read_scan(task.path).image
    except (ImageReadError, OSError, ValueError) as error:
        return [], [_skip(task.path, "unreadable-scan", str(error), task)]
    if image.shape != (IMAGE_SIZE, IMAGE_SIZE):
        detail = f"{image.shape[1]}x{image.shape[0]} pixels, mini-MIAS scans are 1024x1024"
        return [], [_skip(task.path, "wrong-size-scan", detail, task)]
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
        try:
            result = load_result(path, key=task.key)
        except (CacheEntryError, FileNotFoundError):
            pass  # unreadable, foreign or just removed: redone below and overwritten
        else:
            return {
                "key": task.key,
                "records": len(result["records"]),
                "skips": len(result["skips"]),
                "cached": True,
            }
    rng = scan_rng(seed, task.key)
    records, skips = _RUNNERS[task.kind](task, recipe, rng)
    save_result(path, {"key": task.key, "records": records, "skips": skips})
    return {"key": task.key, "records": len(records), "skips": len(skips), "cached": False}


def save_result(path: str | os.PathLike[str], result: dict) -> None:
    """Write a task result (``key``, ``records`` with PNG bytes in ``image``, ``skips``) as
    an ``.npz`` of plain arrays, through a temporary file and a rename."""
    path = Path(path)
    images = [bytes(r["image"]) for r in result["records"]]
    meta = {
        "version": TASK_VERSION,
        "key": result["key"],
        "records": [{k: v for k, v in r.items() if k != "image"} for r in result["records"]],
        "skips": result["skips"],
    }
    offsets = np.cumsum([0, *map(len, images)], dtype=np.int64)
    arrays = {
        "meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), np.uint8),
        "png": np.frombuffer(b"".join(images), np.uint8),
        "png_offsets": offsets,
    }
    with atomic_open(path, "wb") as handle:
        np.savez(handle, **arrays)


def load_result(path: str | os.PathLike[str], key: str | None = None) -> dict:
    """Load a cached task result written by :func:`save_result` (never unpickles).

    Parameters
    ----------
    path
        The cache file.
    key
        The task key the entry must belong to (None: any).

    Raises
    ------
    FileNotFoundError
        When there is no such file.
    CacheEntryError
        When the file is not a readable entry of this task version (and key); the message
        names the file.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode("utf-8"))
            png = data["png"].tobytes()
            offsets = data["png_offsets"].astype(np.int64)
        records = meta["records"]
        if meta["version"] != TASK_VERSION or (key is not None and meta["key"] != key):
            raise CacheEntryError(
                f"{path}: cache entry of {meta['key']!r}, task version {meta['version']}; "
                f"expected {key or 'any key'!r}, version {TASK_VERSION}"
            )
        if len(offsets) != len(records) + 1 or offsets[-1] != len(png):
            raise CacheEntryError(f"{path}: cache entry's image offsets do not match its records")
    except (CacheEntryError, FileNotFoundError):
        raise  # a missing entry stays FileNotFoundError (another build may have finished)
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as err:
        raise CacheEntryError(
            f"{path}: unreadable cache entry ({type(err).__name__}: {err})"
        ) from None
    for record, start, end in zip(records, offsets[:-1], offsets[1:], strict=True):
        record["image"] = png[int(start) : int(end)]
    return {
        "key": meta["key"],
        "version": meta["version"],
        "records": records,
        "skips": meta["skips"],
    }
