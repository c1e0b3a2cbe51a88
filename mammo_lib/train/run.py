"""The fit loop: build, compile, fit with callbacks, resume, and reuse finished runs.

A run folder (``TrainConfig.run_dir()``) holds::

    config.json   the full config and its hash
    state.json    epochs done, status (running / finished / diverged), best epoch
    last.keras    the model after the last finished epoch (optimizer state included)
    best.keras    the model at the best epoch by ``config.monitor``
    log.csv       one row per epoch (Keras CSVLogger): loss, accuracy, recall, precision,
                  f1, auc, and the same with ``val_``, and the learning rate
    tb/           TensorBoard logs: scalars per epoch and every ``log_every`` steps,
                  validation PR curves

A resumed run restores weights, optimizer state (step count, so the learning-rate schedule
continues) and the best value so far; its data order restarts from the seed, so it is not
bit-identical to an uninterrupted run. Op determinism is switched on for the run only.

The saved models take raw ``uint8`` tiles ``[N, s, s, 1]``: input scaling (and, in
training only, augmentation) are layers inside them; ``model.get_layer(model_name)`` is the
bare classifier (scaled float input, Flatten -> Dense head).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from mammo_lib.dataset.tfrecord import check_shards, make_dataset
from mammo_lib.io import atomic_path
from mammo_lib.models import build_model
from mammo_lib.train.callbacks import (
    EMAWeights,
    KernelImages,
    LearningRateLogger,
    NaNGuard,
    PRCurves,
    RunCheckpoint,
    TensorBoardLogger,
)
from mammo_lib.train.config import TrainConfig, split_files, write_json_atomic
from mammo_lib.train.layers import InputScaling, RandomDihedral
from mammo_lib.train.losses import WeightedCrossEntropy
from mammo_lib.train.metrics import training_metrics
from mammo_lib.train.strategy import get_strategy, is_chief


class TrainingDivergedError(FloatingPointError):
    """The loss became NaN or infinite; the message says where and what to try."""


class CorruptCheckpointError(ValueError):
    """A ``.keras`` checkpoint exists but cannot be read (truncated, changed or not a model)."""


@dataclass
class RunResult:
    """A finished (or diverged) run: its folder, config and per-epoch history."""

    run_dir: Path
    config: TrainConfig
    config_hash: str
    epochs_done: int
    status: str
    history: pd.DataFrame

    @property
    def best_path(self) -> Path:
        """The best checkpoint (by ``config.monitor``)."""
        return self.run_dir / "best.keras"

    @property
    def last_path(self) -> Path:
        """The checkpoint after the last finished epoch."""
        return self.run_dir / "last.keras"


@dataclass(frozen=True)
class TileArrays:
    """Tiles held in memory, for :func:`train` (e.g. one cross-validation fold).

    Attributes
    ----------
    x_train, x_val
        ``uint8 [n, s, s]`` (or ``[n, s, s, 1]``) tiles; ``s`` must be the run's
        ``image_size``.
    y_train, y_val
        Integer labels (binary or the five class codes, as the run's ``label`` says).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray

    def __post_init__(self) -> None:
        for x, y, split in ((self.x_train, self.y_train, "train"), (self.x_val, self.y_val, "val")):
            if x.dtype != np.uint8 or x.ndim not in (3, 4) or x.shape[1] != x.shape[2]:
                raise ValueError(
                    f"{split} tiles must be uint8 [n, s, s] or [n, s, s, 1], got {x.dtype} "
                    f"{x.shape}"
                )
            if len(x) != len(y) or not len(x):
                raise ValueError(f"{split}: {len(x)} tiles and {len(y)} labels (need equal, > 0)")

    @property
    def size(self) -> int:
        """Tile side."""
        return int(self.x_train.shape[1])

    def fingerprint(self) -> str:
        """SHA-256 of the tiles and labels of both splits (the run's ``records``)."""
        digest = hashlib.sha256()
        for a in (self.x_train, self.y_train, self.x_val, self.y_val):
            a = np.ascontiguousarray(a)
            digest.update(f"{a.dtype}{a.shape}".encode())
            digest.update(a.tobytes())
        return digest.hexdigest()

    def dataset(self, split: str, batch_size: int, shuffle: bool, seed: int) -> tf.data.Dataset:
        """Batches of ``(uint8 [B, s, s, 1], int64 [B])``, like
        :func:`mammo_lib.dataset.tfrecord.make_dataset`."""
        x, y = (self.x_train, self.y_train) if split == "train" else (self.x_val, self.y_val)
        x = x if x.ndim == 4 else x[..., None]
        ds = tf.data.Dataset.from_tensor_slices((x, np.asarray(y, dtype=np.int64)))
        if shuffle:
            ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def build_training_model(config: TrainConfig) -> keras.Model:
    """Return the model a run trains: uint8 tiles -> scaling -> augmentation -> classifier.

    With ``config.init_from`` the classifier's convolutional layers take their weights from
    that run (see :func:`init_convolutions`), frozen when ``config.freeze_conv``.
    """
    classifier = build_model(
        config.model_name,
        input_size=config.image_size,
        n_classes=config.n_classes,
        **config.model_kwargs,
    )
    if config.init_from is not None:
        init_convolutions(classifier, config.init_from, freeze=config.freeze_conv)
    inputs = keras.Input((config.image_size, config.image_size, 1), dtype="uint8", name="tile")
    x = InputScaling(config.scaling, config.contrast, config.pixel_mean, name="scaling")(inputs)
    mode = config.augment_mode
    if mode != "none":
        x = RandomDihedral(seed=config.seed, rotations=mode == "dihedral", name="augment")(x)
    outputs = classifier(x)
    return keras.Model(inputs, outputs, name=f"{config.model_name}_run")


def convolutional_layers(classifier: keras.Model) -> list[keras.layers.Layer]:
    """The classifier's layers before its ``flatten`` that hold weights (convs, batch norms)."""
    names = [layer.name for layer in classifier.layers]
    if "flatten" not in names:
        raise ValueError(f"model {classifier.name!r} has no 'flatten' layer")
    return [layer for layer in classifier.layers[: names.index("flatten")] if layer.weights]


def _source_classifier(source: str | os.PathLike[str]) -> keras.Model:
    path = Path(source)
    if path.is_dir():
        path = path / "last.keras"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no checkpoint to initialise from")
    model = load_model(path)
    inner = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return inner[0] if inner else model


def init_convolutions(
    classifier: keras.Model, source: str | os.PathLike[str], *, freeze: bool = False
) -> list[str]:
    """Copy the convolutional layers' weights of another run into `classifier`, by name.

    Parameters
    ----------
    classifier
        A freshly built classifier (the bare model, not the training wrapper).
    source
        A run folder (its ``last.keras``, the study's "restore the checkpoint") or a
        ``.keras`` file.
    freeze
        Make the copied layers non-trainable (their batch norms then run in inference mode).

    Returns
    -------
    list of str
        The names of the layers copied.

    Raises
    ------
    ValueError
        When a layer is missing from the source or its weights have another shape.
    """
    donor = _source_classifier(source)
    copied = []
    for layer in convolutional_layers(classifier):
        try:
            other = donor.get_layer(layer.name)
        except ValueError as error:
            raise ValueError(f"{source}: has no layer {layer.name!r} to initialise from") from error
        theirs, ours = other.get_weights(), layer.get_weights()
        if [w.shape for w in theirs] != [w.shape for w in ours]:
            raise ValueError(
                f"{source}: layer {layer.name!r} has weights of shapes "
                f"{[w.shape for w in theirs]}, this model needs {[w.shape for w in ours]}"
            )
        layer.set_weights(theirs)
        if freeze:
            layer.trainable = False
        copied.append(layer.name)
    return copied


def steps_per_epoch(n_records: int, batch_size: int) -> int:
    """Number of batches in one pass over `n_records` (the last batch may be short)."""
    return max(1, math.ceil(n_records / batch_size))


def compile_model(model: keras.Model, config: TrainConfig, n_train: int) -> None:
    """Compile with Adam, the staircase decay in steps, weighted CE and the run metrics."""
    schedule = keras.optimizers.schedules.ExponentialDecay(
        config.learning_rate,
        decay_steps=steps_per_epoch(n_train, config.batch_size) * config.decay_epochs,
        decay_rate=config.decay_rate,
        staircase=True,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate=schedule,
            epsilon=1e-8,
            use_ema=config.ema_momentum is not None,
            ema_momentum=config.ema_momentum or 0.99,
        ),
        loss=WeightedCrossEntropy(config.pos_weight),
        metrics=training_metrics(config.threshold),
    )


def load_model(path: str | os.PathLike[str], compile: bool = False) -> keras.Model:
    """Load a run's ``.keras`` checkpoint (the project's layers, loss and metrics included).

    Raises
    ------
    FileNotFoundError
        When there is no such file.
    CorruptCheckpointError
        When the file exists but is not a readable ``.keras`` model; the message names it.
    """
    import zipfile

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint")
    if not zipfile.is_zipfile(path):
        raise CorruptCheckpointError(
            f"{path}: corrupt checkpoint ({path.stat().st_size} bytes, not a .keras zip "
            "archive; truncated or overwritten)"
        )
    try:
        return keras.models.load_model(os.fspath(path), compile=compile)
    except (ValueError, OSError, KeyError, TypeError, zipfile.BadZipFile, EOFError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CorruptCheckpointError(
            f"{path}: corrupt checkpoint, Keras cannot load it ({first})"
        ) from err


def load_run(run_dir: str | os.PathLike[str]) -> RunResult:
    """Read a run folder's config, state and history."""
    run_dir = Path(run_dir)
    meta = _read_json(run_dir / "config.json")
    state = _read_json(run_dir / "state.json")
    log = run_dir / "log.csv"
    history = pd.read_csv(log) if log.is_file() and log.stat().st_size else pd.DataFrame()
    return RunResult(
        run_dir=run_dir,
        config=TrainConfig.from_dict(meta["config"]),
        config_hash=meta["config_hash"],
        epochs_done=int(state.get("epochs_done", 0)),
        status=str(state.get("status", "running")),
        history=history,
    )


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; not a run folder")
    return json.loads(path.read_text())


def _epochs_in(model: keras.Model, n_train: int, batch_size: int) -> int:
    """Epochs a loaded checkpoint has finished: its optimizer's step count over the epoch."""
    steps = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    return steps // steps_per_epoch(n_train, batch_size)


def _count_records(files: list[Path]) -> int:
    ds = tf.data.TFRecordDataset([os.fspath(f) for f in files])
    return int(ds.reduce(np.int64(0), lambda n, _: n + 1))


@contextmanager
def _naming_bad_shards(files: list[Path]):
    """Turn a tf.data read error into :class:`CorruptShardError` naming the shard."""
    try:
        yield
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError):
        check_shards(files)  # raises CorruptShardError naming the first bad shard
        raise


@contextmanager
def _op_determinism(enabled: bool):
    """Enable TensorFlow op determinism for the block; switch it back off afterwards when it
    was off before (TensorFlow exports only the switch-on; the rest is in ``tf_config``)."""
    from tensorflow.python.framework import config as tf_config

    was_on = getattr(tf_config, "is_op_determinism_enabled", lambda: True)()
    if enabled and not was_on:
        tf.config.experimental.enable_op_determinism()
    try:
        yield
    finally:
        if enabled and not was_on and hasattr(tf_config, "disable_op_determinism"):
            tf_config.disable_op_determinism()


@contextmanager
def _precision_policy(policy: str):
    previous = keras.mixed_precision.global_policy()
    if policy != "float32":
        keras.mixed_precision.set_global_policy(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _trim_log(log: Path, epochs_done: int) -> None:
    """Drop log rows of epochs after the last checkpoint (an interrupted epoch)."""
    if not log.is_file() or not log.stat().st_size:
        return
    frame = pd.read_csv(log)
    if "epoch" in frame and (frame["epoch"] >= epochs_done).any():
        with atomic_path(log) as tmp:
            frame[frame["epoch"] < epochs_done].to_csv(tmp, index=False)


def train(
    config: TrainConfig,
    *,
    data: TileArrays | None = None,
    callbacks: list[keras.callbacks.Callback] | None = None,
    run_info: dict[str, Any] | None = None,
) -> RunResult:
    """Train a model as `config` says, resuming an interrupted run in the same folder.

    Parameters
    ----------
    config
        The run's configuration.
    data
        In-memory tiles to train on instead of the shards of ``config.dataset_dir``; their
        fingerprint becomes ``config.records`` (see :func:`arrays_config`). Loss,
        augmentation, scaling, schedule, callbacks and checkpoints are the same either way.
    callbacks
        Extra Keras callbacks (after the run's own).
    run_info
        Extra top-level entries for ``config.json`` (e.g. ``pixel_spacing_mm``, read by
        :func:`mammo_lib.scan.predictor.training_scale`); not part of the hash.

    Returns
    -------
    RunResult
        The run folder, its history and status. A run that already finished all its epochs
        is returned without training.

    Raises
    ------
    ValueError
        When the run folder holds a run with a different config.
    TrainingDivergedError
        When the loss becomes NaN or infinite (the run stops; ``state.json`` says
        ``diverged``).
    mammo_lib.dataset.tfrecord.CorruptShardError
        When a shard cannot be read; the message names it.
    """
    if data is not None:
        config = arrays_config(config, data)
    run_dir = config.run_dir()
    digest = config.config_hash()
    run_dir.mkdir(parents=True, exist_ok=True)
    config_file, state_file = run_dir / "config.json", run_dir / "state.json"
    if config_file.is_file():
        previous = _read_json(config_file)["config_hash"]
        if previous != digest:
            raise ValueError(
                f"{run_dir}: holds a run with a different config (hash {previous[:12]}, "
                f"this one {digest[:12]}); give the run another name or delete the folder"
            )
    state: dict[str, Any] = _read_json(state_file) if state_file.is_file() else {}
    if state.get("status") == "finished" and state.get("epochs_done", 0) >= config.epochs:
        return load_run(run_dir)

    if data is None:
        train_files = split_files(config.dataset_dir, "train")
        val_files = split_files(config.dataset_dir, "val")
    else:
        train_files = val_files = []
    keras.utils.set_random_seed(config.seed)
    with _op_determinism(config.deterministic):
        return _train(
            config, run_dir, digest, state, train_files, val_files, callbacks, data, run_info
        )


def arrays_config(config: TrainConfig, data: TileArrays) -> TrainConfig:
    """Return `config` with ``records`` set to the fingerprint of `data` (checked if set)."""
    if data.size != config.image_size:
        raise ValueError(
            f"tiles are {data.size} px but the config's image_size is {config.image_size}"
        )
    digest = data.fingerprint()
    if config.records is not None and config.records != digest:
        raise ValueError(
            f"config.records {config.records[:12]} is not these tiles' fingerprint {digest[:12]}"
        )
    return config.replace(records=digest)


def _train(
    config: TrainConfig,
    run_dir: Path,
    digest: str,
    state: dict[str, Any],
    train_files: list[Path],
    val_files: list[Path],
    callbacks: list[keras.callbacks.Callback] | None,
    data: TileArrays | None = None,
    run_info: dict[str, Any] | None = None,
) -> RunResult:
    config_file, state_file = run_dir / "config.json", run_dir / "state.json"
    strategy = get_strategy(config.strategy)
    chief = is_chief(strategy)
    if chief:
        meta = {**(run_info or {}), "config": config.to_dict(), "config_hash": digest}
        write_json_atomic(config_file, meta)
        if data is None:  # a dataset folder: its manifest gives the scale (predict.json)
            _write_predict_info(config, run_dir)

    if data is not None:
        state.update(n_train=len(data.y_train), n_val=len(data.y_val))
    with _naming_bad_shards(train_files + val_files):
        if "n_train" not in state:
            state.update(n_train=_count_records(train_files), n_val=_count_records(val_files))
    for split, files in (("train", train_files), ("val", val_files)):
        if not state[f"n_{split}"]:
            where = (
                f"{files[0].parent}: the {split} shards ({', '.join(f.name for f in files)})"
                if files
                else f"the in-memory {split} tiles"
            )
            raise ValueError(f"{where} hold no records")
    resume = (run_dir / "last.keras").is_file()
    with _precision_policy(config.precision_policy), strategy.scope():
        if resume:
            model = load_model(run_dir / "last.keras", compile=True)
        else:
            model = build_training_model(config)
            compile_model(model, config, state["n_train"])
    # The checkpoint, not state.json, says how far training got: a kill between saving
    # last.keras and writing state.json must not repeat an epoch.
    epochs_done = _epochs_in(model, state["n_train"], config.batch_size) if resume else 0
    state.update(status="running", epochs_done=epochs_done)
    if data is not None:
        train_ds = data.dataset("train", config.batch_size, shuffle=True, seed=config.seed)
        val_ds = data.dataset("val", config.batch_size, shuffle=False, seed=config.seed)
    else:
        train_ds, val_ds = _shard_datasets(config, state, train_files, val_files)
    log = run_dir / "log.csv"
    if chief:
        _trim_log(log, epochs_done)
    guard = NaNGuard()
    own: list[keras.callbacks.Callback] = [guard, LearningRateLogger()]
    if chief:
        # the epoch's log row is written before its checkpoint, so whatever a kill
        # interrupts, the rows after the checkpoint's epoch are the ones trimmed on resume
        own += [
            keras.callbacks.CSVLogger(os.fspath(log), append=resume),
            TensorBoardLogger(os.fspath(run_dir / "tb"), update_freq=config.log_every),
        ]
        if config.pr_curves:
            own.append(PRCurves(val_ds, run_dir / "tb" / "pr_curves"))
        if config.kernel_images:
            own.append(KernelImages(run_dir / "tb" / "kernels"))
    if config.ema_momentum is not None:  # before the checkpoint: it saves the averages
        own.append(EMAWeights(resumed=resume))
    own.append(RunCheckpoint(run_dir, config.monitor, state, write=chief))
    with _naming_bad_shards(train_files + val_files):
        model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=config.epochs,
            initial_epoch=epochs_done,
            callbacks=own + list(callbacks or []),
            verbose=config.verbose,
            shuffle=False,  # make_dataset shuffles, seeded
        )
    if guard.where is not None:
        state["status"] = "diverged"
        if chief:
            write_json_atomic(state_file, state)
        epoch, batch = guard.where
        raise TrainingDivergedError(
            f"run {run_dir.name}: the loss became NaN/inf at epoch {epoch + 1}, batch {batch + 1};"
            f" training stopped (last good checkpoint: epoch {state['epochs_done']}). Try a lower"
            f" learning rate (now {config.learning_rate}), check the input scaling"
            f" ({config.scaling}) and the data."
        )
    state["status"] = "finished" if state["epochs_done"] >= config.epochs else "stopped"
    if chief:
        write_json_atomic(state_file, state)
    return load_run(run_dir)


def _write_predict_info(config: TrainConfig, run_dir: Path) -> None:
    """Write ``predict.json`` (the scale whole-scan prediction needs), or warn why not."""
    from mammo_lib.train.predict_info import predict_info_from_dataset, write_predict_info

    try:
        write_predict_info(run_dir, predict_info_from_dataset(config))
    except (OSError, ValueError, KeyError) as exc:
        warnings.warn(
            f"run {run_dir}: no predict.json written, so `mammo predict` cannot use it ({exc})",
            stacklevel=3,
        )


def _shard_datasets(
    config: TrainConfig, state: dict[str, Any], train_files: list[Path], val_files: list[Path]
) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """Training and validation batches read from TFRecord shards."""
    train_ds = make_dataset(
        train_files,
        label=config.label,
        batch_size=config.batch_size,
        shuffle=True,
        seed=config.seed,
        image_size=config.image_size,
    ).apply(
        tf.data.experimental.assert_cardinality(
            steps_per_epoch(state["n_train"], config.batch_size)
        )
    )
    val_ds = make_dataset(
        val_files,
        label=config.label,
        batch_size=config.batch_size,
        shuffle=False,
        seed=config.seed,
        image_size=config.image_size,
    ).apply(
        tf.data.experimental.assert_cardinality(steps_per_epoch(state["n_val"], config.batch_size))
    )
    return train_ds, val_ds


def ensure_trained(
    config: TrainConfig,
    *,
    data: TileArrays | None = None,
    run_info: dict[str, Any] | None = None,
) -> Path:
    """Return the folder of a finished run of `config`, training (or resuming) it if needed.

    `data` and `run_info` as in :func:`train`.
    """
    if data is not None:
        config = arrays_config(config, data)
    run_dir = config.run_dir()
    state_file = run_dir / "state.json"
    if state_file.is_file() and (run_dir / "config.json").is_file():
        state = _read_json(state_file)
        same = _read_json(run_dir / "config.json")["config_hash"] == config.config_hash()
        if same and state.get("status") == "finished":
            return run_dir
    return train(config, data=data, run_info=run_info).run_dir
