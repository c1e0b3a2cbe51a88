"""Callbacks of a training run: atomic checkpoints and run state, NaN stop, PR curves,
images of the first convolution's kernels."""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from tensorboard.plugins.pr_curve import summary as pr_summary

from mammo_lib.io import atomic_path
from mammo_lib.train.config import write_json_atomic


def save_model_atomic(model: keras.Model, path: Path) -> None:
    """Save a ``.keras`` file under a temporary name, then rename it into place."""
    with atomic_path(path) as tmp:
        model.save(tmp)


class RunCheckpoint(keras.callbacks.Callback):
    """Save ``last.keras`` every epoch and ``best.keras`` when `monitor` improves, then
    record progress in ``state.json`` (all atomically). Epochs whose loss is not finite
    are not saved.

    Parameters
    ----------
    run_dir
        The run folder.
    monitor
        Quantity in the epoch logs that picks the best epoch; ``*loss`` is minimised,
        anything else maximised.
    state
        The run state to update (``epochs_done``, ``best_value``, ``best_epoch`` ...).
    write
        False on non-chief workers of a multi-worker run.
    """

    def __init__(self, run_dir: Path, monitor: str, state: dict[str, Any], write: bool = True):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.monitor = monitor
        self.state = state
        self.write = write
        self.minimise = monitor.endswith("loss")

    def _improved(self, value: float) -> bool:
        best = self.state.get("best_value")
        if best is None:
            return True
        return value < best if self.minimise else value > best

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        loss = logs.get("loss")
        if loss is None or not math.isfinite(float(loss)):
            return
        if not self.write:
            return
        save_model_atomic(self.model, self.run_dir / "last.keras")
        value = logs.get(self.monitor)
        if value is not None and math.isfinite(float(value)) and self._improved(float(value)):
            with atomic_path(self.run_dir / "best.keras") as tmp:
                shutil.copyfile(self.run_dir / "last.keras", tmp)
            self.state.update(best_value=float(value), best_epoch=epoch + 1)
        self.state["epochs_done"] = epoch + 1
        write_json_atomic(self.run_dir / "state.json", self.state)


class TensorBoardLogger(keras.callbacks.TensorBoard):
    """Keras' TensorBoard callback with epoch scalars written whatever ``update_freq`` is.

    Keras 3.15 writes epoch scalars inside the ``record_if(step % update_freq == 0)``
    context it opens for step-level scalars, so with ``update_freq=N`` most epochs would go
    unrecorded; this subclass records them unconditionally.
    """

    def _log_epoch_metrics(self, epoch: int, logs: dict[str, Any]) -> None:
        with tf.summary.record_if(True):
            super()._log_epoch_metrics(epoch, logs)


class LearningRateLogger(keras.callbacks.Callback):
    """Add the optimizer's current learning rate to the epoch logs (as ``learning_rate``)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(
                keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)
            )


class EMAWeights(keras.callbacks.SwapEMAWeights):
    """Keras' ``SwapEMAWeights(swap_on_epoch=True)`` that survives a resume.

    Between epochs the model holds the optimizer's moving averages (so validation and the
    checkpoints that follow this callback see them) and the optimizer's average slots hold
    the raw weights. A run resumed from such a checkpoint starts in that swapped state, so
    its first epoch must swap back before it trains.

    Parameters
    ----------
    resumed
        The model was loaded from a checkpoint this callback wrote.
    """

    def __init__(self, resumed: bool = False) -> None:
        super().__init__(swap_on_epoch=True)
        self._ema_weights_in_model = resumed


class NaNGuard(keras.callbacks.TerminateOnNaN):
    """Keras' ``TerminateOnNaN`` that also remembers where the loss stopped being finite."""

    def __init__(self) -> None:
        super().__init__()
        self.where: tuple[int, int] | None = None
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if self.where is None and loss is not None and not math.isfinite(float(loss)):
            self.where = (self._epoch, batch)
        super().on_batch_end(batch, logs)


def abnormal_scores(model: keras.Model, dataset: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(labels, P(abnormal))`` of a model over a ``(image, label)`` dataset."""
    labels, scores = [], []
    for x, y in dataset:
        probs = np.asarray(model.predict_on_batch(x))
        scores.append(1.0 - probs[:, 0])
        labels.append(np.asarray(y))
    return np.concatenate(labels), np.concatenate(scores)


class PRCurves(keras.callbacks.Callback):
    """Write the validation precision-recall curve of P(abnormal) to TensorBoard each epoch.

    Uses TensorBoard's own ``pr_curve`` summary, readable in its "PR Curves" tab.
    """

    def __init__(self, dataset: tf.data.Dataset, log_dir: Path, num_thresholds: int = 51):
        super().__init__()
        self.dataset = dataset
        self.log_dir = Path(log_dir)
        self.num_thresholds = num_thresholds
        self._writer: Any = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is None or not math.isfinite(float(loss)):
            return
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(str(self.log_dir))
        labels, scores = abnormal_scores(self.model, self.dataset)
        proto = pr_summary.pb(
            "abnormal",
            labels=labels > 0,
            predictions=np.clip(scores, 0.0, 1.0).astype(np.float32),
            num_thresholds=self.num_thresholds,
            display_name="validation PR curve (abnormal)",
        )
        with self._writer.as_default(), tf.summary.record_if(True):
            tf.summary.experimental.write_raw_pb(proto.SerializeToString(), step=epoch)
        self._writer.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def first_conv(model: keras.Model) -> keras.layers.Conv2D:
    """The first ``Conv2D`` of a model, looking inside nested models."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            return layer
        if isinstance(layer, keras.Model):
            try:
                return first_conv(layer)
            except ValueError:
                continue
    raise ValueError(f"model {model.name!r} has no Conv2D layer")


def kernel_images(kernel: np.ndarray) -> np.ndarray:
    """Kernels ``[kh, kw, cin, cout]`` as ``cout`` images ``[cout, kh, kw, cin]`` in [0, 1].

    Each kernel is scaled by its own range (a constant kernel becomes 0.5), as the study's
    ``tf.summary.image`` of the transposed kernel showed them.
    """
    images = np.transpose(np.asarray(kernel, dtype=np.float32), (3, 0, 1, 2))
    lo = images.min(axis=(1, 2, 3), keepdims=True)
    span = images.max(axis=(1, 2, 3), keepdims=True) - lo
    return np.where(span > 0, (images - lo) / np.where(span > 0, span, 1.0), 0.5)


class KernelImages(keras.callbacks.Callback):
    """Write the first convolution's kernels to TensorBoard as images once per epoch.

    The study logged ``tf.summary.image('conv_1.1/filters', ...)`` of its first layer's
    kernels every epoch; this is the same, in TensorBoard's "Images" tab (up to
    `max_outputs` kernels, one channel each for single-channel input).
    """

    def __init__(self, log_dir: Path, max_outputs: int = 32):
        super().__init__()
        self.log_dir = Path(log_dir)
        self.max_outputs = max_outputs
        self._writer: Any = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        conv = first_conv(self.model)
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(str(self.log_dir))
        images = kernel_images(keras.ops.convert_to_numpy(conv.kernel))
        if images.shape[-1] not in (1, 3, 4):
            images = images.mean(axis=-1, keepdims=True)
        with self._writer.as_default(), tf.summary.record_if(True):
            tf.summary.image(
                f"{conv.name}/kernels", images, step=epoch, max_outputs=self.max_outputs
            )
        self._writer.flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
