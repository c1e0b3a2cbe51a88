"""Training runs end to end on a tiny synthetic TFRecord dataset: the ``mammo train``
command for every model, resume after an interruption, determinism, NaN stop, corrupted
shards, run reuse and the TensorBoard logs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from mammo_lib.cli import main
from mammo_lib.dataset.folder import write_shard_manifest
from mammo_lib.dataset.tfrecord import CorruptShardError, write_shard
from mammo_lib.models.inception_v4 import MIN_INPUT_SIZE
from mammo_lib.train import TrainConfig, TrainingDivergedError, ensure_trained, load_model, train

TILE = 40
SIZE = 32
BATCH = 16
N_TRAIN = 48  # 3 steps per epoch
N_VAL = 32


def _tile(rng: np.random.Generator, label: int) -> np.ndarray:
    """A noisy background; abnormal tiles carry a bright blob whose size depends on the class."""
    tile = rng.normal(100, 12, (TILE, TILE))
    if label:
        r = 3 + 2 * label
        yy, xx = np.mgrid[:TILE, :TILE]
        cy, cx = rng.integers(r, TILE - r, 2)
        tile[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] += 80
    return np.clip(tile, 0, 255).astype(np.uint8)


def write_tiny_dataset(folder: Path, seed: int = 0) -> Path:
    """Write train/val shards of synthetic tiles with the project's shard writer."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", N_TRAIN), ("val", N_VAL)):
        records = []
        for i in range(n):
            label = int(rng.integers(1, 5)) if i % 3 == 0 else 0
            records.append(
                {
                    "image": _tile(rng, label),
                    "label": label,
                    "label_binary": int(label > 0),
                    "patient_id": f"{split}{i:03d}",
                    "source": "cbis-ddsm" if label else "ddsm",
                    "crop_index": 0,
                    "scan_id": f"{split}{i:03d}",
                }
            )
        half = n // 2
        write_shard(folder / f"{split}-00000.tfrecord", records[:half])
        write_shard(folder / f"{split}-00001.tfrecord", records[half:])
    write_shard_manifest(folder)
    return folder


@pytest.fixture(autouse=True, scope="module")
def _own_work_dir(tmp_path_factory: pytest.TempPathFactory):
    """Keep this module's runs in a folder of their own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MAMMO_WORK_DIR", str(tmp_path_factory.mktemp("train-work")))
        yield


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_dataset(tmp_path_factory.mktemp("tiny-dataset"))


def tiny_config(dataset: Path, **changes: object) -> TrainConfig:
    values: dict = {
        "dataset_dir": str(dataset),
        "model_name": "vgg_lite",
        "image_size": SIZE,
        "epochs": 1,
        "batch_size": BATCH,
        "model_kwargs": {"width": 0.25, "fc_units": [16, 16]},
        "log_every": 2,
    }
    values.update(changes)
    return TrainConfig(**values)


def _weights(path: Path) -> list[np.ndarray]:
    return [w.numpy() for w in load_model(path).weights]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "size", "options", "labels"),
    [
        ("vgg_lite", SIZE, ["width=0.25", "fc_units=[16,16]"], "binary"),
        ("vgg16", SIZE, ["width=0.125", "fc_units=[16,8]"], "multiclass"),
        ("inception_v4_lite", MIN_INPUT_SIZE, ["filter_scale=0.125", "repeats=[1,1,1]"], "binary"),
    ],
)
def test_mammo_train_trains_each_model_one_epoch(
    dataset: Path, model: str, size: int, options: list[str], labels: str, capsys
) -> None:
    argv = ["train", "--dataset", str(dataset), "--model", model, "--labels", labels]
    argv += ["--image-size", str(size), "--epochs", "1", "--batch-size", str(BATCH)]
    argv += ["--name", f"cli-{model}"]
    for option in options:
        argv += ["--model-kw", option]
    assert main(argv) == 0
    out = capsys.readouterr().out
    run_dir = Path(out.split("run: ")[1].splitlines()[0])
    assert run_dir.name == f"cli-{model}"
    history = pd.read_csv(run_dir / "log.csv")
    assert list(history["epoch"]) == [0]
    for column in ("loss", "accuracy", "recall", "precision", "f1", "auc", "val_recall"):
        assert np.isfinite(history[column]).all(), column
    config = json.loads((run_dir / "config.json").read_text())["config"]
    assert config["model_name"] == model and config["image_size"] == size
    assert config["label"] == ("label_binary" if labels == "binary" else "label")
    trained = load_model(run_dir / "best.keras")
    classifier = trained.get_layer(model)
    assert classifier.output_shape == (None, 2 if labels == "binary" else 5)
    assert trained.input.dtype == "uint8"


class _Interrupt(keras.callbacks.Callback):
    """Raise KeyboardInterrupt in the middle of the second epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch = epoch

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.epoch == 1 and batch == 1:
            raise KeyboardInterrupt


class _StartState(keras.callbacks.Callback):
    """Record the weights and optimizer step a fit starts from."""

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.weights = [w.numpy() for w in self.model.weights]
        self.iterations = int(self.model.optimizer.iterations)


@pytest.mark.slow
def test_interrupted_run_resumes_from_its_last_checkpoint(dataset: Path) -> None:
    config = tiny_config(dataset, epochs=2, name="resume")
    with pytest.raises(KeyboardInterrupt):
        train(config, callbacks=[_Interrupt()])
    run_dir = config.run_dir()
    state = json.loads((run_dir / "state.json").read_text())
    assert state["epochs_done"] == 1 and state["status"] == "running"
    assert list(pd.read_csv(run_dir / "log.csv")["epoch"]) == [0]
    saved = _weights(run_dir / "last.keras")

    start = _StartState()
    result = train(config, callbacks=[start])
    assert start.iterations == N_TRAIN // BATCH  # continued after epoch 1, not from step 0
    assert all(np.array_equal(a, b) for a, b in zip(start.weights, saved, strict=True))
    assert result.status == "finished" and result.epochs_done == 2
    assert list(result.history["epoch"]) == [0, 1]
    final = load_model(run_dir / "last.keras", compile=True)
    assert int(final.optimizer.iterations) == 2 * N_TRAIN // BATCH
    assert not all(np.array_equal(a, b.numpy()) for a, b in zip(saved, final.weights, strict=True))


class _RawWeights(keras.callbacks.Callback):
    """Record the trainable weights after the first batch and at the end of the first epoch
    (before any epoch-end callback swaps averages in), and at the first batch of a fit."""

    def __init__(self) -> None:
        super().__init__()
        self.after_first: list[np.ndarray] | None = None
        self.epoch_end: list[np.ndarray] | None = None
        self.at_start: list[np.ndarray] | None = None

    def _now(self) -> list[np.ndarray]:
        return [w.numpy().copy() for w in self.model.trainable_weights]

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if self.at_start is None:
            self.at_start = self._now()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.after_first is None:
            self.after_first = self._now()
        if self.epoch_end is None and batch == N_TRAIN // BATCH - 1:
            self.epoch_end = self._now()


def _close(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return all(np.allclose(x, y, atol=1e-6) for x, y in zip(a, b, strict=True))


def test_weight_averaging_checkpoints_the_averages_and_resumes_from_the_raw_weights(
    dataset: Path,
) -> None:
    # With a momentum this close to 1 the average stays at the weights after the first step
    # (Keras starts the average there), while the raw weights move on for two more steps.
    config = tiny_config(dataset, epochs=2, name="ema", ema_momentum=1 - 1e-7, pr_curves=False)
    first = _RawWeights()
    with pytest.raises(KeyboardInterrupt):
        train(config, callbacks=[first, _Interrupt()])
    run_dir = config.run_dir()
    saved = load_model(run_dir / "last.keras", compile=True)
    averaged = [w.numpy() for w in saved.trainable_weights]
    assert _close(averaged, first.after_first)  # the checkpoint holds the average
    assert not _close(averaged, first.epoch_end)  # not the weights training reached
    assert json.loads((run_dir / "config.json").read_text())["config"]["ema_momentum"] > 0.99

    resumed = _RawWeights()
    result = train(config, callbacks=[resumed])
    assert _close(resumed.at_start, first.epoch_end)  # training goes on from the raw weights
    assert result.status == "finished" and result.epochs_done == 2
    final = [w.numpy() for w in load_model(run_dir / "best.keras").trainable_weights]
    assert _close(final, first.after_first)


def test_weight_averaging_changes_the_run_folder_and_needs_a_momentum_below_one(
    dataset: Path,
) -> None:
    plain = tiny_config(dataset)
    assert plain.replace(ema_momentum=0.99).run_dir() != plain.run_dir()
    assert plain.replace(ema_momentum=0.99).run_dir() != plain.replace(ema_momentum=0.9).run_dir()
    with pytest.raises(ValueError, match="ema_momentum"):
        tiny_config(dataset, ema_momentum=1.0)


@pytest.mark.slow
def test_same_seed_same_weights(dataset: Path) -> None:
    from tensorflow.python.framework import config as tf_config

    was_on = tf_config.is_op_determinism_enabled()
    runs = [
        train(tiny_config(dataset, name=name, seed=seed, pr_curves=False))
        for name, seed in (("det-a", 3), ("det-b", 3), ("det-c", 4))
    ]
    a, b, c = (_weights(r.last_path) for r in runs)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))
    pd.testing.assert_frame_equal(runs[0].history, runs[1].history)
    assert tf_config.is_op_determinism_enabled() == was_on  # switched back afterwards


@pytest.mark.slow
def test_nan_loss_stops_the_run_with_a_message(dataset: Path) -> None:
    config = tiny_config(dataset, name="nan", scaling="centred", pixel_mean=float("nan"))
    with pytest.raises(TrainingDivergedError, match="NaN/inf at epoch 1, batch 1"):
        train(config)
    state = json.loads((config.run_dir() / "state.json").read_text())
    assert state["status"] == "diverged" and state["epochs_done"] == 0
    assert not (config.run_dir() / "last.keras").exists()


def test_corrupted_shard_is_named(dataset: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(dataset, broken)
    shard = broken / "train-00001.tfrecord"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    shard.write_bytes(bytes(data))
    with pytest.raises(CorruptShardError, match="train-00001.tfrecord"):
        train(tiny_config(broken, name="broken"))


@pytest.mark.slow
def test_finished_run_is_reused_and_logged(dataset: Path) -> None:
    config = tiny_config(dataset, epochs=2, decay_epochs=1, decay_rate=0.5)
    run_dir = ensure_trained(config)
    assert run_dir.parent.name == "runs" and config.config_hash()[:12] in run_dir.name
    stamp = (run_dir / "last.keras").stat().st_mtime_ns
    assert ensure_trained(config) == run_dir
    assert (run_dir / "last.keras").stat().st_mtime_ns == stamp  # not trained again
    assert train(config).epochs_done == 2

    # Staircase decay per step: x0.5 after every epoch's 3 steps (logged at epoch end).
    history = pd.read_csv(run_dir / "log.csv")
    np.testing.assert_allclose(history["learning_rate"], [5e-4, 2.5e-4], rtol=1e-6)
    tags: dict[str, set[str]] = {}
    for file in (run_dir / "tb").rglob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(file)):
            for value in event.summary.value:
                tags.setdefault(file.parent.name, set()).add(value.tag)
    for name in ("loss", "accuracy", "recall", "precision", "f1", "auc"):
        assert f"epoch_{name}" in tags["train"] and f"epoch_{name}" in tags["validation"]
        assert f"batch_{name}" in tags["train"]
    assert "abnormal/pr_curves" in tags["pr_curves"]

    renamed = config.replace(pos_weight=2.0, name=run_dir.name)
    with pytest.raises(ValueError, match="different config"):
        train(renamed)


def test_mixed_bfloat16_trains_and_keeps_float32_outputs(dataset: Path, capsys) -> None:
    argv = ["train", "--dataset", str(dataset), "--image-size", str(SIZE), "--epochs", "1"]
    argv += ["--batch-size", str(BATCH), "--name", "cli-bf16", "--mixed-precision", "bfloat16"]
    argv += ["--model-kw", "width=0.25", "--model-kw", "fc_units=[16,16]"]
    assert main(argv) == 0
    run_dir = Path(capsys.readouterr().out.split("run: ")[1].splitlines()[0])
    config = json.loads((run_dir / "config.json").read_text())["config"]
    assert config["mixed_precision"] == "mixed_bfloat16"
    assert np.isfinite(pd.read_csv(run_dir / "log.csv")["loss"]).all()
    trained = load_model(run_dir / "best.keras")
    conv = next(layer for layer in trained.get_layer("vgg_lite").layers if "conv" in layer.name)
    assert conv.dtype_policy.name == "mixed_bfloat16"
    assert trained.output.dtype == "float32"
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after the run
    assert tiny_config(dataset, mixed_precision=True).precision_policy == "mixed_float16"
    assert tiny_config(dataset).precision_policy == "float32"
    with pytest.raises(ValueError, match="mixed_precision must be one of"):
        tiny_config(dataset, mixed_precision="float8")


def test_augment_modes_flips_only_or_the_eight_symmetries() -> None:
    from mammo_lib.train.layers import RandomDihedral

    tile = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    batch = np.repeat(tile, 64, axis=0)
    flips = {tile[0, ..., 0].tobytes()}
    for f in (tile[0, :, ::-1, 0], tile[0, ::-1, :, 0], tile[0, ::-1, ::-1, 0]):
        flips.add(np.ascontiguousarray(f).tobytes())
    seen_flips = {
        np.ascontiguousarray(x[..., 0]).tobytes()
        for x in np.asarray(RandomDihedral(seed=1, rotations=False)(batch, training=True))
    }
    assert seen_flips == flips  # the study's: left-right and up-down flips, no rotation
    seen_all = {
        np.ascontiguousarray(x[..., 0]).tobytes()
        for x in np.asarray(RandomDihedral(seed=1)(batch, training=True))
    }
    assert len(seen_all) == 8 and flips < seen_all
    assert TrainConfig("d", augment="dihedral").augment is True  # hash of earlier runs kept
    assert TrainConfig("d", augment="none").augment_mode == "none"
    assert TrainConfig("d", augment="flips").config_hash != TrainConfig("d").config_hash
    with pytest.raises(ValueError, match="augment"):
        TrainConfig("d", augment="rotate")
    with pytest.raises(ValueError, match="freeze_conv needs init_from"):
        TrainConfig("d", freeze_conv=True)


def test_init_from_copies_and_freezes_the_convolutions(dataset: Path) -> None:
    from mammo_lib.train.run import build_training_model, convolutional_layers

    donor_run = ensure_trained(tiny_config(dataset, label="label", name="donor-5class"))
    donor = load_model(donor_run / "last.keras").get_layer("vgg_lite")
    config = tiny_config(dataset, init_from=str(donor_run), freeze_conv=True, name="from-donor")
    model = build_training_model(config)
    mine = model.get_layer("vgg_lite")
    convs = convolutional_layers(mine)
    assert convs and all(not layer.trainable for layer in convs)
    for layer in convs:
        for a, b in zip(
            layer.get_weights(), donor.get_layer(layer.name).get_weights(), strict=True
        ):
            np.testing.assert_array_equal(a, b)
    # The head is new: 2 classes here, 5 in the donor.
    assert mine.get_layer("logits").units == 2 and donor.get_layer("logits").units == 5
    assert mine.get_layer("fc1").trainable
    frozen = [w.numpy().copy() for layer in convs for w in layer.weights]
    run = train(config)
    after = load_model(run.run_dir / "last.keras").get_layer("vgg_lite")
    kept = [w.numpy() for layer in convolutional_layers(after) for w in layer.weights]
    assert all(np.array_equal(a, b) for a, b in zip(frozen, kept, strict=True))
    # Without freezing, training moves them.
    free = train(tiny_config(dataset, init_from=str(donor_run), name="from-donor-free"))
    moved = load_model(free.run_dir / "last.keras").get_layer("vgg_lite")
    assert any(
        not np.array_equal(a, b)
        for layer in convolutional_layers(moved)
        for a, b in zip(layer.get_weights(), donor.get_layer(layer.name).get_weights(), strict=True)
    )
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        build_training_model(tiny_config(dataset, init_from=str(dataset / "missing")))


def test_kernel_images_are_logged_each_epoch(dataset: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from mammo_lib.train.callbacks import kernel_images

    images = kernel_images(np.stack([np.zeros((3, 3, 1)), np.ones((3, 3, 1))], axis=-1))
    assert images.shape == (2, 3, 3, 1) and np.all(images == 0.5)
    ramp = kernel_images(np.arange(9, dtype=np.float32).reshape(3, 3, 1, 1))
    assert ramp.min() == 0 and ramp.max() == 1
    run = train(tiny_config(dataset, epochs=2, name="kernels"))
    events = EventAccumulator(str(run.run_dir / "tb" / "kernels"), size_guidance={"tensors": 0})
    events.Reload()
    tags = events.Tags()["tensors"]  # TF2 image summaries are stored as tensors
    assert tags == ["conv1/kernels"]
    logged = events.Tensors(tags[0])
    assert sorted(e.step for e in logged) == [0, 1]
    # width, height, then one PNG per kernel (8 filters at width 0.25)
    assert len(logged[0].tensor_proto.string_val) == 2 + 8
