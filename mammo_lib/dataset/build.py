"""Build a dataset from a recipe: plan one task per scan, run them on Dask, write TFRecord shards.

The build is a pure function of the recipe, the input files and the seed:

1. :func:`mammo_lib.dataset.plan.plan` reads the source tables and makes one
   :class:`~mammo_lib.dataset.tasks.ScanTask` per scan, with its split already decided.
2. :func:`mammo_lib.dataset.schedule.run_tasks` runs the tasks on Dask (threads by default, or
   an existing ``dask.distributed`` cluster); each caches its tiles atomically, so an
   interrupted build resumes where it stopped.
3. :func:`build_dataset` gathers the cached results in task order, checks that no patient,
   scan or ROI is in two splits, balances normal and abnormal tiles, and writes the shards,
   ``records.csv`` (one row per tile) and ``manifest.json`` (counts, skips, recipe, inputs
   hash, seed, every shard's size and SHA256, the tiles' pixel spacing) -- the manifest last,
   so a folder with a manifest is a finished build. Read a finished folder with
   :func:`mammo_lib.dataset.folder.open_dataset`, which checks the shards against the manifest.

Shard-writing folders ``.partial-<pid>`` left by a killed build are removed by the next one.

The output folder is ``work_dir()/datasets/<recipe>-<key>``; a finished build with the same
recipe, inputs and seed is reused. The bytes written do not depend on the scheduler.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from mammo_lib.config import work_dir
from mammo_lib.dataset.folder import (
    MANIFEST,
    RECORDS,
    DatasetFolderError,
    describe_shards,
    open_dataset,
)
from mammo_lib.dataset.labels import CLASS_NAMES
from mammo_lib.dataset.plan import DatasetInputs, Plan, patient_key, plan
from mammo_lib.dataset.recipes import Recipe, get_recipe
from mammo_lib.dataset.schedule import run_tasks
from mammo_lib.dataset.splits import SPLITS, check_leakage
from mammo_lib.dataset.tasks import TASK_VERSION, load_result, run_task
from mammo_lib.io import write_text

#: 2: ``shard_files`` (size and SHA256 of every shard) and ``tile_pixel_spacing_mm``.
FORMAT_VERSION = 2

_RECORD_FIELDS = (
    "label",
    "label_binary",
    "patient_id",
    "abnormality_id",
    "source",
    "crop_index",
    "scan_id",
)


def _select_normals(index: pd.DataFrame, recipe: Recipe, seed: int) -> tuple[pd.Series, dict]:
    """Mark the tiles kept after balancing each split to ``recipe.normal_fraction`` normals."""
    keep = pd.Series(True, index=index.index)
    info: dict[str, dict[str, Any]] = {}
    for split in SPLITS:
        rows = index[index["split"] == split]
        if rows.empty:
            continue
        abnormal = int((rows["label_binary"] == 1).sum())
        normal_idx = rows.index[rows["label_binary"] == 0]
        f = recipe.normal_fraction
        target = len(normal_idx) if abnormal == 0 else int(round(abnormal * f / (1 - f)))
        dropped = 0
        if len(normal_idx) > target:
            rng = np.random.default_rng([int(seed), 17, SPLITS.index(split)])
            chosen = rng.choice(len(normal_idx), size=target, replace=False)
            mask = np.ones(len(normal_idx), bool)
            mask[chosen] = False
            keep[normal_idx[mask]] = False
            dropped = int(mask.sum())
        info[split] = {
            "normal_target": target,
            "normals_available": len(normal_idx),
            "normals_dropped": dropped,
        }
    return keep, info


def _shards_for(index: pd.DataFrame, recipe: Recipe, seed: int) -> pd.Series:
    """Shard file name of every kept tile: a seeded permutation cut into equal shards."""
    names = pd.Series("", index=index.index, dtype=object)
    for split in SPLITS:
        rows = index.index[index["split"] == split]
        if len(rows) == 0:
            continue
        n_shards = max(1, math.ceil(len(rows) / recipe.records_per_shard))
        order = np.random.default_rng([int(seed), 29, SPLITS.index(split)]).permutation(len(rows))
        shard = np.empty(len(rows), dtype=int)
        shard[order] = np.arange(len(rows)) * n_shards // len(rows)
        names[rows] = [f"{split}-{s:05d}-of-{n_shards:05d}.tfrecord" for s in shard]
    return names


def _counts(index: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for split in SPLITS:
        rows = index[index["split"] == split]
        if rows.empty:
            continue
        by_class = {
            CLASS_NAMES[k]: int(v) for k, v in rows["label"].value_counts().sort_index().items()
        }
        out[split] = {
            "records": len(rows),
            "normal": int((rows["label_binary"] == 0).sum()),
            "abnormal": int((rows["label_binary"] == 1).sum()),
            "normal_fraction": round(float((rows["label_binary"] == 0).mean()), 4),
            "by_class": by_class,
            "by_source": {k: int(v) for k, v in rows["source"].value_counts().sort_index().items()},
            "patients": int(rows["patient_key"].nunique()),
            "scans": int(rows["scan_key"].nunique()),
            "rois": int(rows.loc[rows["abnormality_id"] != "", "abnormality_id"].nunique()),
            "shards": sorted(set(rows["shard"])),
        }
    return out


def tile_spacing(the_plan: Plan, recipe: Recipe, inputs: DatasetInputs) -> dict[str, float | None]:
    """Pixel spacing in mm of the stored tiles of each source in the plan (None: unknown).

    A tile is ``crop_size`` scan pixels resized to ``tile_size``; MIAS crops are cut from the
    scan scaled by ``mias_scale`` (200 micron pixels); DDSM states its pitch in each ``.ics``.
    """
    from mammo_lib.sources.mias import PIXEL_SIZE_MM

    kinds = {t.kind for t in the_plan.tasks}
    out: dict[str, float | None] = {}
    zoom = recipe.crop_size / recipe.tile_size
    if "cbis" in kinds:
        mm = inputs.cbis_spacing_mm
        out["cbis-ddsm"] = None if mm is None else round(float(mm) * zoom, 6)
        if recipe.normals == "cbis-background":
            out["cbis-background"] = out["cbis-ddsm"]
    if "ddsm" in kinds:
        pitches = [t.extra["view_info"][3] for t in the_plan.tasks if t.kind == "ddsm"]
        out["ddsm"] = round(float(np.median(pitches)) / 1000.0 * zoom, 6) if pitches else None
    if "mias" in kinds:
        mm = PIXEL_SIZE_MM / recipe.mias_scale * recipe.mias_crop / recipe.tile_size
        out["mias"] = round(mm, 6)
    return out


def _remove_dead_partials(folder: Path) -> None:
    """Delete ``.partial-<pid>`` folders whose process no longer runs (killed builds)."""
    for leftover in folder.glob(".partial-*"):
        try:
            pid = int(leftover.name.rsplit("-", 1)[1])
        except ValueError:
            continue
        if pid == os.getpid() or not _alive(pid):
            shutil.rmtree(leftover, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def dataset_dir(
    recipe: Recipe,
    plan_: Plan,
    seed: int,
    root: Path | None = None,
    cbis_spacing_mm: float | None = None,
) -> Path:
    """``<root>/<recipe>-<key>``, the key a hash of recipe, inputs, seed and task version."""
    text = f"{recipe.key()}|{plan_.inputs_hash()}|{int(seed)}|{TASK_VERSION}"
    if cbis_spacing_mm is not None:
        text += f"|cbis_spacing_mm={float(cbis_spacing_mm)!r}"
    key = hashlib.sha256(text.encode()).hexdigest()[:12]
    root = Path(root) if root is not None else work_dir() / "datasets"
    return root / f"{recipe.name}-{key}"


def is_complete(folder: Path) -> bool:
    """Whether a build folder holds a manifest listing exactly the shards present."""
    try:
        open_dataset(folder)
    except DatasetFolderError:
        return False
    return True


def build_dataset(
    recipe: str | Recipe,
    inputs: DatasetInputs,
    *,
    seed: int = 0,
    scheduler: Any = None,
    out_root: str | os.PathLike[str] | None = None,
    progress: bool = True,
    keep_cache: bool = False,
) -> Path:
    """Build (or reuse) a dataset and return its folder.

    Parameters
    ----------
    recipe
        A recipe or its name (see :data:`mammo_lib.dataset.recipes.RECIPES`).
    inputs
        Where the source data lies.
    seed
        Global seed: splits, crops, flips, balancing and shard order derive from it.
    scheduler
        Where the per-scan tasks run (see :func:`mammo_lib.dataset.schedule.run_tasks`); the
        output does not depend on it.
    out_root
        Parent of the dataset folder (default ``work_dir()/"datasets"``).
    progress
        Show progress bars.
    keep_cache
        Keep the per-scan results (``scans/``) after a finished build (they hold the tiles a
        second time); an unfinished build always keeps them, to resume from.

    Returns
    -------
    pathlib.Path
        The dataset folder with ``*.tfrecord`` shards, ``records.csv`` and ``manifest.json``.

    Raises
    ------
    LeakageError
        If a patient, scan or ROI would appear in two splits.
    """
    recipe = get_recipe(recipe)
    the_plan = plan(recipe, inputs, seed)
    check_leakage(the_plan.scans())
    folder = dataset_dir(
        recipe, the_plan, seed, Path(out_root) if out_root else None, inputs.cbis_spacing_mm
    )
    if is_complete(folder):
        return folder
    cache = folder / "scans"
    cache.mkdir(parents=True, exist_ok=True)
    function = partial(run_task, recipe=recipe, seed=int(seed), cache_dir=str(cache))
    run_tasks(the_plan.tasks, function, scheduler, progress=progress, desc=f"recipe {recipe.name}")
    try:
        return _assemble(the_plan, recipe, inputs, seed, folder, cache, progress, keep_cache)
    except FileNotFoundError:
        if is_complete(folder):  # another process finished the same build meanwhile
            return folder
        raise


def _assemble(
    the_plan: Plan,
    recipe: Recipe,
    inputs: DatasetInputs,
    seed: int,
    folder: Path,
    cache: Path,
    progress: bool,
    keep_cache: bool,
) -> Path:
    """Gather the cached task results, check, balance and write shards, records and manifest."""
    from mammo_lib.dataset.tfrecord import serialize_example

    # gather the tile index (no pixels) in task order
    rows: list[dict[str, Any]] = []
    skipped = list(the_plan.skipped)
    for t_idx, task in enumerate(the_plan.tasks):
        result = load_result(cache / task.cache_name())
        skipped += result["skips"]
        for r_idx, rec in enumerate(result["records"]):
            row = {k: rec[k] for k in _RECORD_FIELDS}
            row.update(task=t_idx, item=r_idx, split=task.split)
            row["patient_key"] = patient_key(task.kind, task.patient_id)
            row["scan_key"] = f"{task.kind}:{task.scan_id}"
            rows.append(row)
    columns = [*_RECORD_FIELDS, "task", "item", "split", "patient_key", "scan_key"]
    index = pd.DataFrame(rows, columns=columns)
    check_leakage(index)
    keep, balance = _select_normals(index, recipe, seed)
    index = index[keep].copy()
    index["shard"] = _shards_for(index, recipe, seed)

    # stream the kept tiles into their shards (temporary folder, then rename)
    import tensorflow as tf

    _remove_dead_partials(folder)
    partial_dir = folder / f".partial-{os.getpid()}"  # private to this process
    partial_dir.mkdir()
    writers: dict[str, tf.io.TFRecordWriter] = {}
    try:
        by_task = index.groupby("task", sort=True)
        for t_idx, group in tqdm(by_task, desc="shards", disable=not progress, unit="scan"):
            result = load_result(cache / the_plan.tasks[t_idx].cache_name())
            for item, shard in zip(group["item"], group["shard"], strict=True):
                if shard not in writers:
                    writers[shard] = tf.io.TFRecordWriter(str(partial_dir / shard))
                writers[shard].write(serialize_example(result["records"][item]))
    finally:
        for writer in writers.values():
            writer.close()
    for stale in folder.glob("*.tfrecord"):  # shards of an earlier, different attempt
        if stale.name not in writers:
            stale.unlink()
    for shard in sorted(writers):
        os.replace(partial_dir / shard, folder / shard)
    partial_dir.rmdir()

    table = index.drop(columns=["task", "item"])
    write_text(folder / RECORDS, table.to_csv(index=False))
    skip_frame = pd.DataFrame(skipped, columns=["path", "reason", "detail", "scan"])
    manifest = {
        "format_version": FORMAT_VERSION,
        "recipe": recipe.to_dict(),
        "seed": int(seed),
        "inputs": inputs.describe(),
        "inputs_hash": the_plan.inputs_hash(),
        "n_scans": len(the_plan.tasks),
        "n_scans_by_kind": {
            k: int(v)
            for k, v in pd.Series([t.kind for t in the_plan.tasks])
            .value_counts()
            .sort_index()
            .items()
        },
        "splits": _counts(index),
        "balance": balance,
        "leakage_check": "passed: no patient, scan or ROI in two splits",
        "skipped_by_reason": {
            k: int(v) for k, v in skip_frame["reason"].value_counts().sort_index().items()
        },
        "skipped": skipped,
        "shard_files": describe_shards(folder, writers),
        "tile_pixel_spacing_mm": tile_spacing(the_plan, recipe, inputs),
        "schema": "mammo_lib.dataset.tfrecord (image PNG uint8, label, label_binary, patient_id, "
        "abnormality_id, source, crop_index, scan_id)",
    }
    write_text(folder / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
    if not keep_cache:
        shutil.rmtree(cache, ignore_errors=True)
    return folder


def ensure_dataset(
    recipe: str | Recipe,
    *,
    synthetic_cases: int,
    seed: int = 0,
    scan_size: str = "small",
    tile_size: int | None = None,
    crop_size: int | None = None,
    include_mias: bool = True,
    mias_images: int | None = None,
    scheduler: Any = None,
    progress: bool = True,
    out_root: str | os.PathLike[str] | None = None,
    cbis_root: str | os.PathLike[str] | None = None,
    ddsm_root: str | os.PathLike[str] | None = None,
    cbis_tables: str | os.PathLike[str] | None = None,
    **overrides: Any,
) -> Path:
    """Build (or reuse) a recipe on a synthetic CBIS-DDSM/DDSM tree (or your own) and MIAS.

    Everything it needs is obtained through cached calls (the synthetic tree, MIAS through
    the data registry), so a notebook can call it alone.

    Parameters
    ----------
    recipe
        Recipe name or object.
    synthetic_cases
        CBIS full scans in the synthetic tree (see
        :func:`mammo_lib.sources.synthetic.ensure_synthetic_tree`).
    seed
        Seed of the synthetic tree and of the build.
    scan_size
        ``"full"`` (about 5300 x 3100, 50 um) or ``"small"`` (a third per side, 100 um).
    tile_size
        Stored tile side; None: the recipe's (299), or the crop if smaller.
    crop_size
        Crop side in scan pixels; None: 598 on full scans, 299 on small ones (the same
        anatomy, since small scans have twice the pixel pitch).
    include_mias
        Add the real MIAS test split.
    mias_images
        Use only the first this many MIAS images (None: all 322).
    scheduler, progress, out_root
        As for :func:`build_dataset`.
    cbis_root, ddsm_root, cbis_tables
        Your own CBIS-DDSM download and DDSM folder, used instead of the synthetic tree when
        either is given (see :func:`mammo_lib.dataset.user_data.scan_data`).
    **overrides
        Further recipe fields (e.g. ``max_normal_tiles_per_scan``).
    """
    from mammo_lib.dataset.user_data import scan_data
    from mammo_lib.sources.registry import fetch

    if scan_size not in ("full", "small"):
        raise ValueError(f"scan_size must be 'full' or 'small', not {scan_size!r}")
    if mias_images is not None and not 1 <= int(mias_images) <= 322:
        raise ValueError(f"mias_images must lie in 1..322 (None: all), not {mias_images}")
    crop = crop_size or (598 if scan_size == "full" else 299)
    base = get_recipe(recipe)
    chosen = get_recipe(
        base,
        crop_size=crop,
        tile_size=tile_size or min(base.tile_size, crop),
        include_mias=include_mias,
        **overrides,
    )
    data = scan_data(
        cbis_root,
        ddsm_root,
        cbis_tables,
        synthetic_cases=synthetic_cases,
        seed=seed,
        scan_size=scan_size,
    )
    mias_folder = fetch("mias") if include_mias else None
    refnums = None
    if include_mias and mias_images is not None:
        refnums = tuple(f"mdb{i:03d}" for i in range(1, int(mias_images) + 1))
    inputs = data.inputs(mias_folder=mias_folder, mias_refnums=refnums)
    return build_dataset(
        chosen, inputs, seed=seed, scheduler=scheduler, out_root=out_root, progress=progress
    )
