"""Extraction and dataset builds on a synthetic CBIS-DDSM / DDSM tree (the project's generator)."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from mammo_lib.cli import main
from mammo_lib.dataset import build, labels, tfrecord
from mammo_lib.dataset.folder import MANIFEST, load_manifest, load_records
from mammo_lib.dataset.plan import DatasetInputs
from mammo_lib.dataset.recipes import get_recipe
from mammo_lib.dataset.tasks import ScanTask, load_result, run_task
from mammo_lib.extract import cbis, common, normals
from mammo_lib.imaging.dicom import read_dicom
from mammo_lib.imaging.intensity import to_uint8
from mammo_lib.sources.synthetic import ensure_synthetic_tree, load_tree

CASES, SEED = 8, 3
SMALL = {"crop_size": 299, "tile_size": 48, "max_normal_tiles_per_scan": 6, "include_mias": False}


@pytest.fixture(scope="module")
def tree():
    return load_tree(ensure_synthetic_tree(CASES, seed=SEED, size="small"))


@pytest.fixture(scope="module")
def inputs(tree):
    return DatasetInputs(
        cbis_root=tree.cbis_root, cbis_tables=tree.cbis_root, ddsm_root=tree.ddsm_root
    )


def test_mask_box_is_the_ground_truth_box(tree):
    for lesion in tree.lesions.itertuples(index=False):
        scan = read_dicom(lesion.scan_path)
        mask = read_dicom(lesion.mask_path)
        box = cbis.roi_box_from_mask(mask > 0, scan.shape)
        assert box == (lesion.bbox_row0, lesion.bbox_col0, lesion.bbox_row1, lesion.bbox_col1)


def test_background_tiles_of_a_synthetic_scan_avoid_its_lesions(tree):
    subject = tree.lesions.subject_id.iloc[0]
    lesions = tree.lesions[tree.lesions.subject_id == subject]
    scan8 = to_uint8(read_dicom(lesions.scan_path.iloc[0]))
    boxes = [
        (r.bbox_row0, r.bbox_col0, r.bbox_row1, r.bbox_col1)
        for r in lesions.itertuples(index=False)
    ]
    tiles = normals.background_tiles(
        scan8, boxes, np.random.default_rng(0), crop_size=299, out_size=48, margin=50
    )
    assert tiles, "a small synthetic scan has room for background tiles"
    for tile in tiles:
        assert not any(
            common.boxes_overlap(tile.box, (b[0] - 50, b[1] - 50, b[2] + 50, b[3] + 50))
            for b in boxes
        )
        assert tile.stats.mean >= 30  # breast tissue, not air


@pytest.mark.parametrize("name", ["6", "8", "9", "9-background"])
def test_every_recipe_builds_from_the_synthetic_tree(tree, inputs, name, tmp_path):
    recipe = get_recipe(name, **SMALL)
    folder = build.build_dataset(
        recipe, inputs, seed=SEED, scheduler="sync", out_root=tmp_path, progress=False
    )
    manifest = load_manifest(folder)
    records = load_records(folder)
    assert manifest["leakage_check"].startswith("passed")
    # every synthetic lesion gave tiles with its own label
    truth = {
        r.roi_id: labels.cbis_label(r.pathology, r.abnormality_type)
        for r in tree.lesions.itertuples()
    }
    abnormal = records[records.label_binary == 1]
    assert set(abnormal.abnormality_id) == set(truth)
    assert all(
        truth[a] == lab for a, lab in zip(abnormal.abnormality_id, abnormal.label, strict=True)
    )
    expected_normals = {"9-background": {"cbis-background"}}.get(name, {"ddsm"})
    assert set(records[records.label_binary == 0].source) == expected_normals
    # the CBIS test split is kept
    test_rois = set(tree.lesions[tree.lesions.collection.str.contains("Test")].roi_id)
    assert set(abnormal[abnormal.split == "test"].abnormality_id) == test_rois
    for split, info in manifest["splits"].items():
        rows = records[records.split == split]
        assert info["records"] == len(rows)
        assert sum(info["by_class"].values()) == len(rows)
        shards = [folder / s for s in info["shards"]]
        assert sum(tfrecord.check_shards(shards).values()) == len(rows)
    if name == "6":
        assert records.crop_index.max() >= 1  # original + zoomed crops per ROI


def test_build_dataset_command_on_a_synthetic_tree(capsys, tmp_path):
    code = main(
        [
            "build-dataset", "--recipe", "9", "--synthetic-cases", str(CASES), "--seed", str(SEED),
            "--tile-size", "48", "--max-normal-tiles-per-scan", "4", "--no-mias", "--quiet",
            "--scheduler", "sync", "--out-root", str(tmp_path),
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "train:" in out and "abnormal" in out
    folder = next(tmp_path.glob("9-*"))
    assert (folder / MANIFEST).is_file()


def test_bad_inputs_in_a_tree_are_recorded(tree, tmp_path):
    copy = tmp_path / "tree"
    shutil.copytree(tree.root, copy)
    broken = load_tree(copy)
    # a truncated ROI mask and an .ics naming an unknown digitizer
    mask = broken.lesions.mask_path.iloc[0]
    data = open(mask, "rb").read()
    open(mask, "wb").write(data[: len(data) // 3])
    ics = broken.normals.ics_path.iloc[0]
    text = open(ics).read()
    open(ics, "w").write(re.sub(r"DIGITIZER .*", "DIGITIZER AGFA 9000", text))
    inputs = DatasetInputs(
        cbis_root=copy / "cbis-ddsm", cbis_tables=copy / "cbis-ddsm", ddsm_root=copy / "ddsm"
    )
    folder = build.build_dataset(
        get_recipe("9", **SMALL),
        inputs,
        seed=SEED,
        scheduler="sync",
        out_root=tmp_path,
        progress=False,
    )
    manifest = load_manifest(folder)
    details = " ".join(f"{s['reason']} {s['detail']}" for s in manifest["skipped"])
    assert "unknown digitizer" in details.lower()
    roi = broken.lesions.roi_id.iloc[0]
    assert any(roi in s["detail"] for s in manifest["skipped"]), details
    assert roi not in set(load_records(folder).abnormality_id)


def test_unknown_digitizer_and_missing_scan_become_skips(tmp_path):
    recipe = get_recipe("9", **SMALL)
    task = ScanTask(
        key="ddsm/x",
        kind="ddsm",
        split="train",
        patient_id="X",
        scan_id="x",
        path="/nonexistent.LJPEG",
        digitizer="AGFA",
    )
    assert run_task(task, recipe, 0, tmp_path)["skips"] == 1
    assert load_result(tmp_path / task.cache_name())["skips"][0]["reason"] == "unknown-digitizer"
    task = ScanTask(
        key="ddsm/y",
        kind="ddsm",
        split="train",
        patient_id="Y",
        scan_id="y",
        path=str(tmp_path / "none.LJPEG"),
        digitizer="DBA 21",
    )
    run_task(task, recipe, 0, tmp_path)
    assert load_result(tmp_path / task.cache_name())["skips"][0]["reason"] == "unreadable-scan"


def test_build_dataset_command_on_explicit_folders(tree, capsys, tmp_path):
    args = ["build-dataset", "--recipe", "9-background", "--cbis-root", str(tree.cbis_root)]
    args += ["--cbis-tables", str(tree.cbis_root), "--ddsm-root", str(tree.ddsm_root), "--no-mias"]
    args += ["--tile-size", "48", "--crop-size", "299", "--quiet", "--out-root", str(tmp_path)]
    assert main(args) == 0
    folder = next(tmp_path.glob("9-background-*"))
    manifest = load_manifest(folder)
    assert manifest["recipe"]["tile_size"] == 48 and manifest["recipe"]["crop_size"] == 299
    assert "cbis-background" in manifest["splits"]["train"]["by_source"]
    assert main(["build-dataset", "--recipe", "9", "--no-mias"]) == 2  # no inputs at all
    assert "no inputs" in capsys.readouterr().err
