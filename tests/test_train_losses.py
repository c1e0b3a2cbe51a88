"""Weighted cross-entropy, in-model preprocessing layers and the abnormal-vs-normal metrics."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from mammo_lib.train import InputScaling, RandomDihedral, WeightedCrossEntropy
from mammo_lib.train.losses import weighted_cross_entropy
from mammo_lib.train.metrics import training_metrics


def _probs(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    logits = rng.normal(size=(n, k))
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype("float32")


@pytest.mark.parametrize("n_classes", [2, 5])
def test_w1_equals_keras_and_hand_cross_entropy(n_classes: int) -> None:
    rng = np.random.default_rng(1)
    probs = _probs(rng, 64, n_classes)
    labels = rng.integers(0, n_classes, 64)
    ours = WeightedCrossEntropy(pos_weight=1.0)(labels, probs)
    theirs = keras.losses.SparseCategoricalCrossentropy()(labels, probs)
    by_hand = -np.mean(np.log(probs[np.arange(64), labels]))
    assert float(ours) == pytest.approx(float(theirs), rel=1e-5)
    assert float(ours) == pytest.approx(by_hand, rel=1e-5)


@pytest.mark.parametrize("n_classes", [2, 5])
def test_w_scales_only_the_abnormal_terms(n_classes: int) -> None:
    rng = np.random.default_rng(2)
    probs = _probs(rng, 50, n_classes)
    labels = rng.integers(0, n_classes, 50)
    plain = np.asarray(weighted_cross_entropy(labels, probs, 1.0))
    weighted = np.asarray(weighted_cross_entropy(labels, probs, 6.5))
    abnormal = labels > 0
    assert abnormal.any() and (~abnormal).any()
    np.testing.assert_allclose(weighted[abnormal], 6.5 * plain[abnormal], rtol=1e-6)
    np.testing.assert_allclose(weighted[~abnormal], plain[~abnormal], rtol=1e-6)
    mean = float(WeightedCrossEntropy(pos_weight=6.5)(labels, probs))
    assert mean == pytest.approx(weighted.mean(), rel=1e-5)


def test_weighted_loss_from_logits_and_serialisation() -> None:
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(20, 5)).astype("float32")
    labels = rng.integers(0, 5, 20)
    probs = np.asarray(tf.nn.softmax(logits))
    a = WeightedCrossEntropy(3.0, from_logits=True)(labels, logits)
    b = WeightedCrossEntropy(3.0)(labels, probs)
    assert float(a) == pytest.approx(float(b), rel=1e-4)
    again = keras.losses.deserialize(keras.losses.serialize(WeightedCrossEntropy(3.0)))
    assert isinstance(again, WeightedCrossEntropy) and again.pos_weight == 3.0


def test_input_scaling_modes_and_contrast() -> None:
    rng = np.random.default_rng(4)
    tiles = rng.integers(0, 256, (4, 8, 8, 1)).astype("uint8")
    x = tiles.astype("float32")
    np.testing.assert_allclose(InputScaling("raw")(tiles), x)
    np.testing.assert_allclose(InputScaling("unit")(tiles), x / 255, rtol=1e-6)
    np.testing.assert_allclose(
        InputScaling("centred", pixel_mean=100.0)(tiles), (x - 100) / 255, rtol=1e-5, atol=1e-7
    )
    adjusted = np.clip(np.asarray(tf.image.adjust_contrast(x, 1.7)), 0, 255)
    np.testing.assert_allclose(InputScaling("raw", contrast=1.7)(tiles), adjusted, rtol=1e-5)
    with pytest.raises(ValueError, match="scaling mode"):
        InputScaling("zscore")


def _dihedral(tile: np.ndarray) -> list[np.ndarray]:
    out = []
    for t in (tile, tile.T):
        for k in range(4):
            out.append(np.rot90(t, k))
    return out


def test_random_dihedral_draws_each_symmetry_per_tile() -> None:
    rng = np.random.default_rng(5)
    tile = rng.integers(0, 256, (6, 6)).astype("float32")
    batch = np.repeat(tile[None, :, :, None], 400, axis=0)
    layer = RandomDihedral(seed=7)
    out = np.asarray(layer(batch, training=True))[..., 0]
    variants = _dihedral(tile)
    which = [next(i for i, v in enumerate(variants) if np.array_equal(o, v)) for o in out]
    counts = np.bincount(which, minlength=8)
    assert (counts > 20).all(), counts  # all eight, roughly uniformly (50 expected each)
    np.testing.assert_array_equal(layer(batch, training=False), batch)
    with pytest.raises(ValueError, match="square"):
        RandomDihedral()(np.zeros((1, 4, 5, 1), "float32"), training=True)


def test_metrics_are_dataset_level_abnormal_vs_normal() -> None:
    rng = np.random.default_rng(6)
    labels = rng.integers(0, 5, 300)
    probs = _probs(rng, 300, 5)
    metrics = {m.name: m for m in training_metrics(threshold=0.5)}
    for start in range(0, 300, 64):  # several batches, accumulated
        for m in metrics.values():
            m.update_state(labels[start : start + 64], probs[start : start + 64])
    truth, score = labels > 0, 1 - probs[:, 0]
    decided = score >= 0.5
    assert float(metrics["recall"].result()) == pytest.approx(recall_score(truth, decided))
    assert float(metrics["precision"].result()) == pytest.approx(precision_score(truth, decided))
    assert float(metrics["f1"].result()) == pytest.approx(f1_score(truth, decided), rel=1e-5)
    assert float(metrics["auc"].result()) == pytest.approx(roc_auc_score(truth, score), abs=5e-3)
    accuracy = np.mean(probs.argmax(axis=1) == labels)
    assert float(metrics["accuracy"].result()) == pytest.approx(accuracy)


def test_history_long_and_curves() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from mammo_lib.train.plots import history_long, plot_curves

    rng = np.random.default_rng(7)
    cols = ["accuracy", "recall", "loss", "val_accuracy", "val_recall", "val_loss"]
    histories = {
        name: pd.DataFrame(rng.random((4, 6)), columns=cols).assign(epoch=range(4))
        for name in ("W = 1", "W = 6")
    }
    long = history_long(histories)
    assert len(long) == 2 * 4 * 6
    row = long[(long.run == "W = 6") & (long.metric == "recall") & (long.split == "validation")]
    np.testing.assert_array_equal(row.epoch, [1, 2, 3, 4])
    np.testing.assert_array_equal(row.value, histories["W = 6"]["val_recall"])
    fig = plot_curves(histories, metrics=("accuracy", "recall"), splits=("validation",))
    assert len(fig.axes) == 2
    assert [len(ax.lines) for ax in fig.axes] == [2, 2]
    np.testing.assert_array_equal(
        fig.axes[1].lines[1].get_ydata(), histories["W = 6"]["val_recall"]
    )


def test_strategy_by_name() -> None:
    from mammo_lib.train import get_strategy
    from mammo_lib.train.strategy import is_chief

    assert get_strategy("default") is tf.distribute.get_strategy()
    mirrored = get_strategy("mirrored")
    assert isinstance(mirrored, tf.distribute.MirroredStrategy)
    assert mirrored.num_replicas_in_sync >= 1 and is_chief(mirrored)
    with pytest.raises(ValueError, match="unknown strategy 'tpu'"):
        get_strategy("tpu")
