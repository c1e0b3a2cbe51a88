"""Building datasets: shards, manifest, reuse, resume, and byte-identity across schedulers.

These builds run on the real mini-MIAS scans (a handful of them, small output tiles).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from mammo_lib.dataset import build, tfrecord
from mammo_lib.dataset.folder import MANIFEST, load_manifest, load_records, shard_files
from mammo_lib.dataset.plan import DatasetInputs
from mammo_lib.dataset.recipes import get_recipe
from mammo_lib.dataset.schedule import run_tasks
from mammo_lib.sources.registry import fetch

# 4 normal images, mdb001/mdb002 (masses), mdb059 (no coordinates), mdb209 (calcification)
REFNUMS = ("mdb001", "mdb002", "mdb003", "mdb004", "mdb006", "mdb059", "mdb209", "mdb210")


@pytest.fixture(scope="module")
def inputs() -> DatasetInputs:
    return DatasetInputs(mias_folder=fetch("mias"), mias_refnums=REFNUMS)


@pytest.fixture(scope="module")
def recipe():
    return get_recipe("9", tile_size=48, max_normal_tiles_per_scan=6, records_per_shard=16)


@pytest.fixture(scope="module")
def built(inputs, recipe, tmp_path_factory):
    root = tmp_path_factory.mktemp("sync")
    return build.build_dataset(
        recipe, inputs, seed=5, scheduler="sync", out_root=root, progress=False, keep_cache=True
    )


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_build_writes_shards_records_and_manifest(built, recipe):
    manifest = load_manifest(built)
    assert manifest["recipe"]["name"] == "9" and manifest["seed"] == 5
    mias = manifest["splits"]["mias"]
    records = load_records(built)
    assert mias["records"] == len(records) > 0
    assert mias["abnormal"] == int(records.label_binary.sum()) > 0
    assert set(records.source) == {"mias"}
    # balanced to 83% normal where enough normals are available (here they are not)
    balance = manifest["balance"]["mias"]
    assert balance["normal_target"] == round(mias["abnormal"] * 0.83 / 0.17)
    assert mias["normal"] == min(balance["normal_target"], balance["normals_available"])
    # mdb059's abnormality has no coordinates: recorded, not dropped silently
    reasons = {(s["scan"], s["reason"]) for s in manifest["skipped"]}
    assert ("mias/mdb059", "no-coordinates") in reasons
    assert manifest["skipped_by_reason"]["no-coordinates"] >= 1
    shards = shard_files(built, "mias")
    assert [p.name for p in shards] == mias["shards"]
    read = list(tfrecord.read_records(shards))
    assert len(read) == len(records)
    assert all(r["image"].shape == (48, 48) for r in read)
    assert sorted(r["scan_id"] for r in read) == sorted(records.scan_id)
    # each abnormal record's label is the MIAS class: mdb209 is a malignant calcification
    assert {r["label"] for r in read if r["scan_id"] == "mdb209"} <= {0, 3}
    ds = tfrecord.make_dataset(shards, batch_size=8, shuffle=True, seed=0)
    images, labels = next(iter(ds.as_numpy_iterator()))
    assert images.shape[1:] == (48, 48, 1) and set(labels.tolist()) <= {0, 1}
    assert manifest["leakage_check"].startswith("passed")


def test_finished_build_is_reused(built, inputs, recipe):
    stamp = (built / MANIFEST).stat().st_mtime_ns
    again = build.build_dataset(
        recipe, inputs, seed=5, scheduler="sync", out_root=built.parent, progress=False
    )
    assert again == built
    assert (built / MANIFEST).stat().st_mtime_ns == stamp
    other = build.build_dataset(
        recipe, inputs, seed=6, scheduler="sync", out_root=built.parent, progress=False
    )
    assert other != built


def test_interrupted_build_resumes_without_redoing_scans(built, inputs, recipe, tmp_path):
    copy = tmp_path / built.name
    copy.mkdir()
    for name, data in _files(built / "scans").items():
        (copy / "scans").mkdir(exist_ok=True)
        (copy / "scans" / name).write_bytes(data)
    cached = sorted((copy / "scans").glob("*.npz"))
    removed = cached[0]
    removed.unlink()
    (copy / "scans" / ".half-written.npz.tmp").write_bytes(b"garbage")  # an interrupted write
    before = {p.name: p.stat().st_mtime_ns for p in cached[1:]}
    out = build.build_dataset(
        recipe, inputs, seed=5, scheduler="sync", out_root=tmp_path, progress=False, keep_cache=True
    )
    assert out == copy
    assert removed.exists()
    assert {p.name: p.stat().st_mtime_ns for p in cached[1:]} == before  # not redone
    assert {k: v for k, v in _files(out).items()} == _files(built)


@pytest.mark.slow
def test_local_cluster_build_is_byte_identical(built, inputs, recipe, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        out = build.build_dataset(
            recipe,
            inputs,
            seed=5,
            scheduler=address,
            out_root=tmp_path,
            progress=False,
            keep_cache=True,
        )
        with distributed.Client(address) as client:
            workers = client.run(lambda: __import__("os").getpid())
    assert len(set(workers.values())) == 2
    assert out.name == built.name
    assert _files(out) == _files(built)
    assert _files(out / "scans") == _files(built / "scans")
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["splits"]["mias"]["records"] > 0


@pytest.mark.slow
def test_local_n_scheduler_is_byte_identical(built, inputs, recipe, tmp_path):
    out = build.build_dataset(
        recipe, inputs, seed=5, scheduler="local:2", out_root=tmp_path, progress=False
    )
    assert _files(out) == _files(built)
    with pytest.raises(ValueError, match="expected local:N"):
        run_tasks([object()], str, "local:two", progress=False)


@pytest.mark.slow
def test_local_cluster_workers_keep_glibc_adaptive_malloc():
    import os

    from distributed import Client

    from mammo_lib.dataset.cluster import TRIM_VARIABLE, local_cluster

    def read_env() -> str | None:
        return os.environ.get(TRIM_VARIABLE)

    with local_cluster(2, trim_env=True) as cluster, Client(cluster) as client:
        assert set(client.run(read_env).values()) == {"65536"}  # dask's default
    os.environ[TRIM_VARIABLE] = "65536"  # as an earlier cluster's nanny may leave it here
    with local_cluster(2) as cluster, Client(cluster) as client:
        values = client.run(read_env)
    assert len(values) == 2
    assert set(values.values()) == {None}
    assert os.environ[TRIM_VARIABLE] == "65536"  # restored for the caller
    os.environ.pop(TRIM_VARIABLE)
    with pytest.raises(ValueError, match="at least 1"):
        local_cluster(0)


def test_threads_scheduler_is_byte_identical(built, inputs, recipe, tmp_path):
    out = build.build_dataset(
        recipe, inputs, seed=5, scheduler="threads", out_root=tmp_path, progress=False
    )
    assert _files(out) == _files(built)
    assert not (out / "scans").exists()  # the per-scan cache goes once the build is finished


def test_use_radius_changes_only_roi_geometry(inputs, tmp_path):
    recipe = get_recipe("9", tile_size=48, max_normal_tiles_per_scan=2, mias_use_radius=True)
    small = DatasetInputs(mias_folder=inputs.mias_folder, mias_refnums=("mdb001",))
    out = build.build_dataset(
        recipe, small, seed=1, scheduler="sync", out_root=tmp_path, progress=False
    )
    assert load_manifest(out)["recipe"]["mias_use_radius"] is True
    assert np.all(load_records(out).scan_id == "mdb001")
