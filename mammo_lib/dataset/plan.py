"""What a build is made of: one task per scan, its split decided, from the source tables.

:func:`plan` reads the source tables (CBIS-DDSM case tables located in a download tree, DDSM
normal cases, MIAS) and makes one :class:`~mammo_lib.dataset.tasks.ScanTask` per scan, with
its split already decided (official CBIS split, validation by patient hash), and records
what it skipped. A :class:`Plan` is the pure input of :func:`mammo_lib.dataset.build.build_dataset`:
its :meth:`Plan.inputs_hash` keys the dataset folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mammo_lib.dataset.labels import cbis_label, mias_label
from mammo_lib.dataset.recipes import Recipe
from mammo_lib.dataset.splits import cbis_splits, quota_splits, resolve_official_overlap
from mammo_lib.dataset.tasks import Roi, ScanTask, file_fingerprint


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
    cbis_spacing_mm
        Pixel spacing of the CBIS-DDSM scans in mm (their DICOMs state none; None: unknown),
        recorded in the manifest as the tiles' spacing.
    """

    cbis_root: Path | None = None
    cbis_tables: Path | None = None
    ddsm_root: Path | None = None
    mias_folder: Path | None = None
    mias_refnums: tuple[str, ...] | None = None
    cbis_spacing_mm: float | None = None

    def describe(self) -> dict[str, Any]:
        """The inputs as JSON-ready data."""
        return {
            k: (
                list(v)
                if isinstance(v, tuple)
                else (v if isinstance(v, float) or v is None else str(v))
            )
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
                        "patient_key": patient_key(t.kind, t.patient_id),
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


def patient_key(kind: str, patient_id: str) -> str:
    """A patient's key in the leakage check: patients are compared within a source family
    (CBIS ROIs and CBIS background share one)."""
    return f"{kind}:{patient_id}"


def _skip(path: object, reason: str, detail: str = "") -> dict[str, str]:
    return {"path": str(path), "reason": reason, "detail": detail, "scan": ""}


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
    from mammo_lib.sources.mias import patient_id as mias_patient_id

    data = load_mias(inputs.mias_folder)
    skipped = [
        _skip(f"{data.report.path}:{line.line_no}", "mias-info-unparsed", line.reason)
        for line in data.report.skipped
    ]
    skipped += [_skip(data.path(r), "mias-image-missing") for r in data.report.missing_images]
    skipped += [
        _skip(data.path(r), "mias-image-not-in-info", f"no line in {data.report.path.name}")
        for r in data.report.extra_images
    ]
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
                patient_id=mias_patient_id(info["patient"]),
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
