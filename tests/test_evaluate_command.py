"""``mammo evaluate`` end to end on real MIAS tiles in TFRecord shards, and the results glue."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from mammo_lib.cli import main
from mammo_lib.dataset.folder import write_shard_manifest
from mammo_lib.dataset.tfrecord import write_shard
from mammo_lib.evaluate.predictions import read_predictions
from mammo_lib.evaluate.results import (
    binary_row,
    dataset_shortcut_test,
    ensure_predictions,
    evaluation_dir,
    load_tiles,
    multiclass_row,
    with_intervals,
)
from mammo_lib.imaging.pgm import read_pgm
from mammo_lib.sources.registry import fetch

#: Six scans of six women: three with a mass (label 2), three normal.
SCANS = (("mdb001", 2), ("mdb010", 2), ("mdb012", 2), ("mdb003", 0), ("mdb007", 0), ("mdb016", 0))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ds")
    mias = fetch("mias")
    by_split: dict[str, list[dict]] = {"train": [], "test": []}
    for i, (scan_id, label) in enumerate(SCANS):
        scan = read_pgm(mias / f"{scan_id}.pgm")
        for k in range(4):
            by_split["test" if k < 3 else "train"].append(
                {
                    "image": scan[350 + 30 * k : 382 + 30 * k, 420 + 10 * i : 452 + 10 * i],
                    "label": label,
                    "label_binary": int(label > 0),
                    "patient_id": f"mias-{(int(scan_id[3:]) + 1) // 2:03d}",
                    "abnormality_id": f"{scan_id}:1" if label else "",
                    "source": "mias",
                    "crop_index": k,
                    "scan_id": scan_id,
                }
            )
    for split, records in by_split.items():
        write_shard(folder / f"{split}-00000.tfrecord", records)
    write_shard_manifest(folder)
    return folder


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 1), dtype="uint8")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3)(x))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    folder = tmp_path_factory.mktemp("runs") / "tiny-run"
    folder.mkdir()
    model.save(folder / "best.keras")
    return folder


def test_evaluate_run_writes_predictions(dataset: Path, run_dir: Path, tmp_path, capsys) -> None:
    code = main(["evaluate", "--run", str(run_dir), "--dataset", str(dataset), "--n-boot", "50",
                 "--out", str(tmp_path)])  # fmt: skip
    assert code == 0
    pred = read_predictions(tmp_path / "test.csv")
    assert len(pred) == 18 and set(pred["scan_id"]) == {s for s, _ in SCANS}
    assert len(read_predictions(tmp_path / "test-scans.csv")) == 6
    out = capsys.readouterr().out
    assert "roc_auc" in out and "recall" in out
    assert main(["evaluate", "--predictions", str(tmp_path / "test.csv"), "--n-boot", "50"]) == 0


def test_evaluate_bad_arguments(tmp_path, run_dir: Path) -> None:
    assert main(["evaluate", "--predictions", str(tmp_path / "missing.csv")]) == 2
    assert main(["evaluate", "--run", str(run_dir)]) == 2
    assert main(["evaluate", "--run", str(run_dir), "--dataset", str(tmp_path)]) == 1


def test_ensure_predictions_cached(dataset: Path, run_dir: Path) -> None:
    first = ensure_predictions(run_dir, dataset, "test")
    csv = evaluation_dir(run_dir) / "test.csv"
    mtime = csv.stat().st_mtime_ns
    second = ensure_predictions(run_dir, dataset, "test")
    assert csv.stat().st_mtime_ns == mtime
    pd.testing.assert_frame_equal(first, second, check_dtype=False)
    with pytest.raises(FileNotFoundError, match="checkpoint"):
        ensure_predictions(dataset, dataset, "test")


def test_rows_with_intervals(dataset: Path, run_dir: Path) -> None:
    pred = ensure_predictions(run_dir, dataset, "test")
    row = binary_row(pred, n_boot=50)
    assert row["n"] == 18 and row["n_patients"] == 6 and row["n_abnormal"] == 9
    assert row["roc_auc_low"] <= row["roc_auc"] <= row["roc_auc_high"]
    text = with_intervals(pd.DataFrame([row]), ["roc_auc"])
    assert text.loc[0, "roc_auc"].startswith(f"{row['roc_auc']:.3f} [")
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(5), size=len(pred))
    five = pred.assign(
        label=rng.integers(0, 5, len(pred)), **{f"p{j}": proba[:, j] for j in range(5)}
    )
    mrow = multiclass_row(five, n_boot=30)
    assert 0 <= mrow["accuracy"] <= 1 and mrow["n_patients"] == 6


def test_dataset_shortcut_test(dataset: Path, capsys) -> None:
    tiles, meta = load_tiles(dataset, ["train", "test"])
    assert tiles.shape == (24, 32, 32) and list(meta["split"].unique()) == ["train", "test"]
    result, scored = dataset_shortcut_test(dataset, ["train", "test"], n_splits=2, n_boot=50,
                                           classifier="logistic")  # fmt: skip
    assert len(scored) == 24 and scored["probability"].between(0, 1).all()
    assert 0 <= result.auc.estimate <= 1
    assert main(["evaluate", "--shortcut", "--dataset", str(dataset), "--split", "train",
                 "--split", "test", "--folds", "2", "--n-boot", "50"]) == 0  # fmt: skip
    assert "shortcut test AUC" in capsys.readouterr().out


def test_with_published_and_intervals() -> None:
    from mammo_lib.evaluate.bootstrap import Interval
    from mammo_lib.evaluate.published import PUBLISHED
    from mammo_lib.evaluate.results import shortcut_verdict, with_published

    ours = pd.DataFrame(
        [{"dataset": "9", "model": "m", "data": "synthetic", "recall": 0.5, "recall_low": 0.4,
          "recall_high": 0.6}]
    )  # fmt: skip
    table = with_intervals(with_published(ours, "binary", ["recall"]), ["recall"])
    assert table.loc[0, "recall"] == "0.500 [0.400, 0.600]"
    published_recall = PUBLISHED[("binary", "9", "1.0.0.35b.98")]["recall"]
    assert table.loc[1, "recall"] == f"{published_recall:.3f}"
    assert table.loc[0, "source"] == "this book" and "scuccimarra2018" in table.loc[1, "source"]
    assert shortcut_verdict(Interval(0.9, 0.8, 0.95, 0.95, 10, 10)) == "separates"
    assert shortcut_verdict(Interval(0.55, 0.45, 0.65, 0.95, 10, 10)) == "does not separate"
    assert shortcut_verdict(Interval(0.58, 0.52, 0.65, 0.95, 10, 10)) == "weakly separates"
    assert shortcut_verdict(Interval(0.38, 0.30, 0.46, 0.95, 10, 10)) == "does not separate"


def test_argmax_recall_row_and_bounds(dataset: Path, run_dir: Path) -> None:
    from mammo_lib.evaluate.results import multiclass_argmax_row, row_bounds
    from mammo_lib.report.verdicts import chance_verdict

    pred = ensure_predictions(run_dir, dataset, "test")
    row = binary_row(pred, n_boot=50)
    bounds = row_bounds(row)
    assert bounds == (row["roc_auc"], row["roc_auc_low"], row["roc_auc_high"])
    assert chance_verdict(bounds) in ("above chance", "at chance", "below chance")
    rng = np.random.default_rng(1)
    proba = rng.dirichlet(np.ones(5), size=len(pred))
    five = pred.assign(
        label=rng.integers(0, 5, len(pred)),
        predicted=proba.argmax(axis=1),
        **{f"p{j}": proba[:, j] for j in range(5)},
    )
    argmax = multiclass_argmax_row(five, n_boot=30)
    abnormal = five["label"] > 0
    assert argmax["recall"] == pytest.approx(float((five.loc[abnormal, "predicted"] > 0).mean()))
    assert argmax["recall_low"] <= argmax["recall"] <= argmax["recall_high"]
    assert not any(k.startswith("binary_recall") for k in argmax)
    plain = multiclass_row(five, n_boot=30)
    pd.testing.assert_series_equal(  # NaN where a class is missing, on both sides
        pd.Series({k: v for k, v in argmax.items() if not k.startswith("recall")}, dtype=float),
        pd.Series(
            {k: v for k, v in plain.items() if not k.startswith("binary_recall")}, dtype=float
        ),
    )
