"""Recorded throughput runs: loading, skipped rows, speed-ups only within one run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mammo_lib.train.throughput import (
    RESULTS_DIR,
    load_throughput,
    precision_speedups,
    recorded_runs,
)


def _record(path: Path, rows: list[tuple[str, str, float | None]]) -> Path:
    results = []
    for model, policy, rate in rows:
        row = {"model": model, "size": 299, "policy": policy, "batch": 64}
        if rate is None:
            row["error"] = "skipped: would end after the time budget"
        else:
            row |= {"fit_images_per_s": rate, "model_flops_per_s": rate * 2e9}
        results.append(row)
    data = {"settings": {"backend": "jax", "keras": "3"}, "devices": ["gpu:0"], "results": results}
    path.write_text(json.dumps(data))
    return path


def test_speedups_stay_within_one_run(tmp_path: Path) -> None:
    a = _record(
        tmp_path / "train_backends_a.json",
        [("m", "float32", 100.0), ("m", "mixed_bfloat16", 180.0), ("n", "mixed_float16", None)],
    )
    b = _record(tmp_path / "train_backends_b.json", [("m", "mixed_bfloat16", 500.0)])
    assert recorded_runs(tmp_path) == [a, b]
    table = load_throughput([a, b])
    assert len(table) == 4
    skipped = table[table["model"] == "n"].iloc[0]
    assert np.isnan(skipped["images_per_s"]) and "time budget" in skipped["note"]
    assert table.loc[0, "tflop_per_s"] == pytest.approx(0.2)
    speed = precision_speedups(table)
    assert speed[["run", "policy"]].values.tolist() == [["train_backends_a", "mixed_bfloat16"]]
    assert speed["speedup"].iloc[0] == pytest.approx(1.8)  # b's 500 img/s has no float32 pair


def test_bad_record_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "train_backends_bad.json"
    bad.write_text('{"results": []}')
    with pytest.raises(ValueError, match=r"train_backends_bad\.json: not a train_backends"):
        load_throughput([bad])
    assert recorded_runs(tmp_path / "missing") == []


@pytest.mark.skipif(not recorded_runs(), reason="no recorded runs (not a source checkout)")
def test_the_recorded_gpu_runs_load() -> None:
    table = load_throughput(recorded_runs(RESULTS_DIR))
    assert set(table["model"]) >= {"vgg_lite", "vgg16", "inception_v4_lite"}
    speed = precision_speedups(table)
    assert len(speed) >= 4 and (speed["speedup"] > 0).all()
