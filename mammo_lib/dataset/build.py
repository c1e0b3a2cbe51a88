"""Build a dataset from a recipe: plan one task per scan, run them on Dask, write TFRecord shards.

The build is a pure function of the recipe, the input files and the seed:

1. :func:`plan` reads the source tables (CBIS-DDSM case tables located in a download tree,
   DDSM normal cases, MIAS) and makes one :class:`~mammo_lib.dataset.tasks.ScanTask` per
   scan, with its split already decided (official CBIS split, validation by patient hash).
2. The tasks run on Dask (threads by default, or an existing ``dask.distributed`` cluster);
   each caches its tiles atomically, so an interrupted build resumes where it stopped.
3. :func:`build_dataset` gathers the cached results in task order, checks that no patient,
   scan or ROI is in two splits, balances normal and abnormal tiles, and writes the shards,
   ``records.csv`` (one row per tile) and ``manifest.json`` (counts, skips, recipe, inputs
   hash, seed) -- the manifest last, so a folder with a manifest is a finished build.

The output folder is ``work_dir()/datasets/<recipe>-<key>``; a finished build with the same
recipe, inputs and seed is reused. The bytes written do not depend on the scheduler.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from mammo_lib.config import work_dir
from mammo_lib.dataset.labels import CLASS_NAMES, cbis_label, mias_label
from mammo_lib.dataset.recipes import Recipe, get_recipe
from mammo_lib.dataset.splits import (
    SPLITS,
    cbis_splits,
    check_leakage,
    quota_splits,
    resolve_official_overlap,
)
from mammo_lib.dataset.tasks import (
    TASK_VERSION,
    Roi,
    ScanTask,
    file_fingerprint,
    load_result,
    run_task,
)
from mammo_lib.io import write_text

MANIFEST = "manifest.json"
RECORDS = "records.csv"
FORMAT_VERSION = 1

_RECORD_FIELDS = (
    "label",
    "label_binary",
    "patient_id",
    "abnormality_id",
    "source",
    "crop_index",
    "scan_id",
)


@dataclass(frozen=True)
class DatasetInputs:
    """Where the source data lies; any source may be absent (None).

    Attributes
    ----------
    cbis_root
        A CBIS-DDSM download tree (NBIA layout), searched by
        :func:`mammo_lib.sources.cbis_ddsm.locate_files`.
    cbis_tables
        Folder with the four case-description CSVs.
    ddsm_root
        DDSM folder holding ``cases/normals``.
    mias_folder
        Folder with ``Info.txt`` and ``mdb*.pgm``.
    mias_refnums
        Use only these MIAS images (None: all).
    """

    cbis_root: Path | None = None
    cbis_tables: Path | None = None
    ddsm_root: Path | None = None
    mias_folder: Path | None = None
    mias_refnums: tuple[str, ...] | None = None

    def describe(self) -> dict[str, Any]:
        """The inputs as JSON-ready data."""
        return {
            k: (list(v) if isinstance(v, tuple) else (str(v) if v is not None else None))
            for k, v in dataclasses.asdict(self).items()
        }


@dataclass
class Plan:
    """The tasks of a build and what planning already skipped."""

    tasks: list[ScanTask]
    skipped: list[dict[str, str]] = field(default_factory=list)

    def scans(self) -> pd.DataFrame:
        """One row per task and ROI: split, patient, scan and ROI keys (for the leakage check)."""
        rows = []
        for t in self.tasks:
            for roi_id in [r.roi_id for r in t.rois] or [""]:
                rows.append(
                    {
                        "key": t.key,
                        "kind": t.kind,
                        "split": t.split,
                        "patient_key": _patient_key(t.kind, t.patient_id),
                        "scan_key": f"{t.kind}:{t.scan_id}",
                        "abnormality_id": roi_id,
                    }
                )
        return pd.DataFrame(
            rows, columns=["key", "kind", "split", "patient_key", "scan_key", "abnormality_id"]
        )

    def inputs_hash(self) -> str:
        """Hash of every task (ids, split, ROIs, file fingerprints) and of the planning skips."""
        payload = [
            (t.key, t.kind, t.split, t.patient_id, t.scan_id, t.path, t.digitizer, t.fingerprint)
            + tuple((r.roi_id, r.label, r.mask_path, r.x, r.y, r.radius) for r in t.rois)
            for t in self.tasks
        ]
        text = json.dumps([payload, self.skipped], sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _patient_key(kind: str, patient_id: str) -> str:
    """Patients are compared within a source family (CBIS ROIs and CBIS background share one)."""
    return f"{kind}:{patient_id}"


def _skip(path: object, reason: str, detail: str = "") -> dict[str, str]:
    return {"path": str(path), "reason": reason, "detail": detail, "scan": ""}


# ------------------------------------------------------------------------------------------
# Planning
# ------------------------------------------------------------------------------------------


def plan_cbis(inputs: DatasetInputs, recipe: Recipe, seed: int) -> Plan:
    """One task per CBIS full scan (all its ROIs, from mass and calcification tables)."""
    from mammo_lib.sources.cbis_ddsm import locate_files, read_case_tables

    table = read_case_tables(inputs.cbis_tables)
    located, report = locate_files(table, inputs.cbis_root)
    skipped = [_skip(e.path, "cbis-files", e.reason) for e in report]
    missing = located["scan_path"].isna()
    skipped += [
        _skip(r.roi_id, "scan-missing", "the ROI's full scan is not in the download tree")
        for r in located[missing].itertuples(index=False)
    ]
    located, dropped = resolve_official_overlap(located[~missing])
    skipped += dropped
    located = located.assign(
        split=cbis_splits(located["patient_id"], located["split"], seed, recipe.val_fraction).values
    )
    tasks = []
    for (patient, side, view), group in located.groupby(["patient_id", "side", "view"], sort=True):
        group = group.sort_values("roi_id")
        splits = sorted(set(group["split"]))
        if len(splits) > 1:  # cannot happen after the patient-level rules; kept as a guard
            raise ValueError(f"scan {patient}_{side}_{view} falls in several splits {splits}")
        scan_path = sorted(group["scan_path"].astype(str))[0]
        rois = tuple(
            Roi(
                roi_id=str(r.roi_id),
                label=cbis_label(r.pathology, r.abnormality_type),
                mask_path=None if pd.isna(r.mask_path) else str(r.mask_path),
            )
            for r in group.itertuples(index=False)
        )
        scan_id = f"{patient}_{side}_{view}"
        tasks.append(
            ScanTask(
                key=f"cbis/{scan_id}",
                kind="cbis",
                split=splits[0],
                patient_id=str(patient),
                scan_id=scan_id,
                path=scan_path,
                rois=rois,
                fingerprint=file_fingerprint(scan_path, *[r.mask_path for r in rois]),
            )
        )
    return Plan(tasks, skipped)


def plan_ddsm(inputs: DatasetInputs, recipe: Recipe, seed: int) -> Plan:
    """One task per DDSM normal view; patients split by hash into train/val/test."""
    from mammo_lib.sources.ddsm import find_normal_cases

    table, report = find_normal_cases(inputs.ddsm_root)
    skipped = [_skip(e.path, "ddsm-files", e.reason) for e in report]
    fractions = {
        "train": 1.0 - recipe.val_fraction - recipe.normal_test_fraction,
        "val": recipe.val_fraction,
        "test": recipe.normal_test_fraction,
    }
    split_of = quota_splits(table["patient_id"].astype(str), seed, fractions)
    tasks = []
    for r in table.sort_values(["case_id", "side", "view"]).itertuples(index=False):
        scan_id = f"{r.case_id}.{r.side}_{r.view}"
        tasks.append(
            ScanTask(
                key=f"ddsm/{scan_id}",
                kind="ddsm",
                split=split_of[str(r.patient_id)],
                patient_id=str(r.patient_id),
                scan_id=scan_id,
                path=str(r.path),
                digitizer=str(r.digitizer),
                view=f"{r.side}_{r.view}",
                fingerprint=file_fingerprint(r.path),
                extra={
                    "view_info": (
                        int(r.lines),
                        int(r.pixels_per_line),
                        int(r.bits),
                        float(r.resolution_um),
                    )
                },
            )
        )
    return Plan(tasks, skipped)


def plan_mias(inputs: DatasetInputs, recipe: Recipe, seed: int) -> Plan:
    """One task per MIAS image, all in the ``mias`` split."""
    from mammo_lib.sources.mias import load_mias

    data = load_mias(inputs.mias_folder)
    skipped = [
        _skip(f"{data.report.path}:{line.line_no}", "mias-info-unparsed", line.reason)
        for line in data.report.skipped
    ]
    skipped += [_skip(data.path(r), "mias-image-missing") for r in data.report.missing_images]
    refnums = [r for r in data.images.index if r not in set(data.report.missing_images)]
    if inputs.mias_refnums is not None:
        wanted = set(inputs.mias_refnums)
        refnums = [r for r in refnums if r in wanted]
    tasks = []
    for refnum in refnums:
        info = data.images.loc[refnum]
        rois: tuple[Roi, ...] = ()
        if bool(info["abnormal"]):
            rois = tuple(
                Roi(
                    roi_id=f"{refnum}_{int(line.line_no)}",
                    label=mias_label(line.abnormality, line.severity),
                    x=None if pd.isna(line.x) else float(line.x),
                    y=None if pd.isna(line.y) else float(line.y),
                    radius=None if pd.isna(line.radius) else float(line.radius),
                )
                for line in data.lines(refnum).itertuples(index=False)
            )
        path = data.path(refnum)
        tasks.append(
            ScanTask(
                key=f"mias/{refnum}",
                kind="mias",
                split="mias",
                patient_id=f"MIAS_{int(info['patient']):03d}",
                scan_id=str(refnum),
                path=str(path),
                rois=rois,
                fingerprint=file_fingerprint(path),
            )
        )
    return Plan(tasks, skipped)


def plan(recipe: Recipe, inputs: DatasetInputs, seed: int) -> Plan:
    """All tasks of a build, sorted by key, with the skips found while planning."""
    parts: list[Plan] = []
    if inputs.cbis_root is not None:
        parts.append(plan_cbis(inputs, recipe, seed))
    if recipe.normals == "ddsm" and inputs.ddsm_root is not None:
        parts.append(plan_ddsm(inputs, recipe, seed))
    if recipe.include_mias and inputs.mias_folder is not None:
        parts.append(plan_mias(inputs, recipe, seed))
    tasks = sorted((t for p in parts for t in p.tasks), key=lambda t: t.key)
    keys = [t.key for t in tasks]
    if len(set(keys)) != len(keys):
        raise ValueError("two scans share a task key; scan ids must be unique")
    return Plan(tasks, [s for p in parts for s in p.skipped])


# ------------------------------------------------------------------------------------------
# Execution on Dask
# ------------------------------------------------------------------------------------------


def run_tasks(
    tasks: Sequence[ScanTask],
    function: Callable[[ScanTask], dict],
    scheduler: Any = None,
    *,
    progress: bool = True,
    desc: str = "scans",
) -> list[dict]:
    """Run ``function(task)`` for every task on Dask; return the results in task order.

    Parameters
    ----------
    scheduler
        None or ``"threads"`` (local threads), ``"sync"``/``"synchronous"`` (this thread),
        ``"processes"``, ``"local:N"`` (a ``dask.distributed`` cluster of N worker processes
        started for this call, see :func:`mammo_lib.dataset.cluster.local_cluster`), a
        ``dask.distributed`` scheduler address (``"tcp://..."``), or a ``distributed.Client``.
    progress
        Show a tqdm progress bar.
    """
    if not tasks:
        return []
    bar = tqdm(total=len(tasks), desc=desc, disable=not progress, unit="scan")
    try:
        if scheduler is None or scheduler in ("threads", "sync", "synchronous", "processes"):
            import dask
            from dask.callbacks import Callback

            class _Progress(Callback):
                def _posttask(self, key, result, dsk, state, id):  # noqa: A002
                    bar.update(1)

            delayed = [
                dask.delayed(function, pure=False)(t, dask_key_name=f"scan-{i}")
                for i, t in enumerate(tasks)
            ]
            with _Progress():
                return list(dask.compute(*delayed, scheduler=scheduler or "threads"))
        from distributed import Client, as_completed

        with contextlib.ExitStack() as stack:  # closes the client, then any cluster started
            if isinstance(scheduler, str) and scheduler.startswith("local:"):
                from mammo_lib.dataset.cluster import local_cluster

                try:
                    n_workers = int(scheduler.split(":", 1)[1])
                except ValueError:
                    raise ValueError(
                        f"scheduler {scheduler!r}: expected local:N, N workers"
                    ) from None
                scheduler = stack.enter_context(local_cluster(n_workers)).scheduler_address
            if isinstance(scheduler, Client):
                client = scheduler
            else:
                client = stack.enter_context(Client(scheduler))
            futures = client.map(function, list(tasks), pure=False)
            for _ in as_completed(futures):
                bar.update(1)
            return client.gather(futures)
    finally:
        bar.close()


# ------------------------------------------------------------------------------------------
# Assembly
# ------------------------------------------------------------------------------------------


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


def _atomic_write_text(path: Path, text: str) -> None:
    write_text(path, text)


def dataset_dir(recipe: Recipe, plan_: Plan, seed: int, root: Path | None = None) -> Path:
    """``<root>/<recipe>-<key>``, the key a hash of recipe, inputs, seed and task version."""
    text = f"{recipe.key()}|{plan_.inputs_hash()}|{int(seed)}|{TASK_VERSION}"
    key = hashlib.sha256(text.encode()).hexdigest()[:12]
    root = Path(root) if root is not None else work_dir() / "datasets"
    return root / f"{recipe.name}-{key}"


def is_complete(folder: Path) -> bool:
    """Whether a build folder holds a manifest and every shard it lists."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return False
    data = json.loads(manifest.read_text())
    return all((folder / s).is_file() for split in data["splits"].values() for s in split["shards"])


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
        Where the per-scan tasks run (see :func:`run_tasks`); the output does not depend on it.
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
    folder = dataset_dir(recipe, the_plan, seed, Path(out_root) if out_root else None)
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
            row["patient_key"] = _patient_key(task.kind, task.patient_id)
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

    partial_dir = folder / f".partial-{os.getpid()}"  # private to this process
    shutil.rmtree(partial_dir, ignore_errors=True)
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
    for shard in sorted(writers):
        os.replace(partial_dir / shard, folder / shard)
    partial_dir.rmdir()

    table = index.drop(columns=["task", "item"])
    _atomic_write_text(folder / RECORDS, table.to_csv(index=False))
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
        "schema": "mammo_lib.dataset.tfrecord (image PNG uint8, label, label_binary, patient_id, "
        "abnormality_id, source, crop_index, scan_id)",
    }
    _atomic_write_text(folder / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
    if not keep_cache:
        shutil.rmtree(cache, ignore_errors=True)
    return folder


def load_manifest(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a build's ``manifest.json``."""
    return json.loads((Path(folder) / MANIFEST).read_text())


def load_records(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a build's ``records.csv`` (one row per tile, ids as strings)."""
    return pd.read_csv(Path(folder) / RECORDS, dtype={"abnormality_id": str}, keep_default_na=False)


def shard_files(folder: str | os.PathLike[str], split: str) -> list[Path]:
    """The shards of one split, sorted."""
    return sorted(Path(folder).glob(f"{split}-*.tfrecord"))


def iter_skips(folder: str | os.PathLike[str]) -> Iterable[dict[str, str]]:
    """The skipped inputs recorded in a build's manifest."""
    return iter(load_manifest(folder)["skipped"])


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
