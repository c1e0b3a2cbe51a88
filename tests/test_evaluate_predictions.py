"""Predictions export: TFRecord split -> one row per tile with ids, label, probability."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from mammo_lib.dataset.folder import write_shard_manifest
from mammo_lib.dataset.tfrecord import write_shard
from mammo_lib.evaluate.predictions import (
    predict_tiles,
    probabilities,
    read_predictions,
    write_predictions,
)
from mammo_lib.imaging.pgm import read_pgm
from mammo_lib.sources.registry import fetch


def _tiny_model(size: int, n_classes: int) -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((size, size, 1), dtype="uint8")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(2, 3)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(x))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """Two test shards of real MIAS tiles (cut from mdb001, mdb003) with ids and labels."""
    folder = tmp_path_factory.mktemp("ds")
    mias = fetch("mias")
    records = []
    for scan_id, label in (("mdb001", 2), ("mdb003", 0)):
        scan = read_pgm(mias / f"{scan_id}.pgm")
        for k in range(5):
            records.append(
                {
                    "image": scan[300 + 40 * k : 340 + 40 * k, 400:440],
                    "label": label,
                    "label_binary": int(label > 0),
                    "patient_id": f"mias-{(int(scan_id[3:]) + 1) // 2:03d}",
                    "abnormality_id": f"{scan_id}:1" if label else "",
                    "source": "mias",
                    "crop_index": k,
                    "scan_id": scan_id,
                }
            )
    write_shard(folder / "test-00000.tfrecord", records[:6])
    write_shard(folder / "test-00001.tfrecord", records[6:])
    write_shard(folder / "train-00000.tfrecord", records[:2])
    write_shard_manifest(folder)
    return folder


@pytest.mark.parametrize("n_classes", [2, 5])
def test_predict_tiles_rows_ids_and_probabilities(dataset: Path, n_classes: int) -> None:
    model = _tiny_model(40, n_classes)
    table = predict_tiles(model, dataset, "test", batch_size=4)
    assert len(table) == 10
    assert list(table["scan_id"]) == ["mdb001"] * 5 + ["mdb003"] * 5
    assert list(table["crop_index"]) == list(range(5)) * 2
    assert set(table["patient_id"]) == {"mias-001", "mias-002"}
    assert (table["split"] == "test").all()
    assert table["shard"].str.endswith(("test-00000.tfrecord", "test-00001.tfrecord")).all()
    proba = probabilities(table, n_classes)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(table["probability"], 1 - proba[:, 0], rtol=1e-6)
    # The same numbers as calling the model directly on the tiles, in order.
    from mammo_lib.dataset.tfrecord import read_records

    images = np.stack([r["image"] for r in read_records(sorted(dataset.glob("test-*")))])
    np.testing.assert_allclose(proba, model.predict(images[..., None], verbose=0), rtol=1e-5)


def test_predict_tiles_resizes_and_loads_checkpoint(dataset: Path, tmp_path: Path) -> None:
    model = _tiny_model(24, 2)
    path = tmp_path / "best.keras"
    model.save(path)
    table = predict_tiles(path, dataset, "train")
    assert len(table) == 2 and table["probability"].between(0, 1).all()


def test_predictions_csv_round_trip(dataset: Path, tmp_path: Path) -> None:
    table = predict_tiles(_tiny_model(40, 2), dataset, "test")
    out = write_predictions(table, tmp_path / "sub" / "pred.csv")
    back = read_predictions(out)
    assert list(back.columns) == list(table.columns)
    assert list(back["abnormality_id"]) == list(table["abnormality_id"])
    np.testing.assert_allclose(back["probability"], table["probability"])
    assert not list(out.parent.glob(".*.tmp"))


def test_predict_tiles_missing_split(dataset: Path) -> None:
    with pytest.raises(ValueError, match="no 'val' shards"):
        predict_tiles(_tiny_model(40, 2), dataset, "val")


def test_scan_predictions_aggregate(dataset: Path) -> None:
    from mammo_lib.evaluate.predictions import scan_predictions

    table = predict_tiles(_tiny_model(40, 2), dataset, "test")
    scans = scan_predictions(table)
    assert list(scans["scan_id"]) == ["mdb001", "mdb003"]
    assert list(scans["n_tiles"]) == [5, 5] and list(scans["label_binary"]) == [1, 0]
    for scan_id, group in table.groupby("scan_id"):
        row = scans.set_index("scan_id").loc[scan_id]
        assert row["probability"] == pytest.approx(group["probability"].max())
    means = scan_predictions(table, how="mean").set_index("scan_id")["probability"]
    assert means["mdb001"] == pytest.approx(
        table[table["scan_id"] == "mdb001"]["probability"].mean()
    )
    with pytest.raises(ValueError, match="how"):
        scan_predictions(table, how="median")
    with pytest.raises(KeyError, match="lacks"):
        scan_predictions(table.drop(columns="probability"))
