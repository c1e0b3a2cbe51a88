"""Training: weighted cross-entropy, on-device augmentation, schedules, callbacks, runs.

>>> from mammo_lib.train import TrainConfig, ensure_trained
>>> run_dir = ensure_trained(TrainConfig(dataset_dir=..., model_name="vgg_lite", epochs=2))

The public names load lazily (PEP 562): importing a submodule such as
``mammo_lib.train.layers`` or ``mammo_lib.train.losses`` does not import TensorFlow, so the
in-model layers and the loss also serve Keras on the JAX or PyTorch backends.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mammo_lib.train.config import TrainConfig, split_files
    from mammo_lib.train.layers import InputScaling, RandomDihedral
    from mammo_lib.train.losses import WeightedCrossEntropy, class_weights, weighted_cross_entropy
    from mammo_lib.train.metrics import training_metrics
    from mammo_lib.train.run import (
        CorruptCheckpointError,
        RunResult,
        TileArrays,
        TrainingDivergedError,
        build_training_model,
        ensure_trained,
        load_model,
        load_run,
        train,
    )
    from mammo_lib.train.strategy import get_strategy

#: Public name -> the submodule that defines it.
_SOURCES: dict[str, str] = {
    "CorruptCheckpointError": "run",
    "InputScaling": "layers",
    "RandomDihedral": "layers",
    "RunResult": "run",
    "TileArrays": "run",
    "TrainConfig": "config",
    "TrainingDivergedError": "run",
    "WeightedCrossEntropy": "losses",
    "build_training_model": "run",
    "class_weights": "losses",
    "ensure_trained": "run",
    "get_strategy": "strategy",
    "load_model": "run",
    "load_run": "run",
    "split_files": "config",
    "train": "run",
    "training_metrics": "metrics",
    "weighted_cross_entropy": "losses",
}

__all__ = [
    "CorruptCheckpointError",
    "InputScaling",
    "RandomDihedral",
    "RunResult",
    "TileArrays",
    "TrainConfig",
    "TrainingDivergedError",
    "WeightedCrossEntropy",
    "build_training_model",
    "class_weights",
    "ensure_trained",
    "get_strategy",
    "load_model",
    "load_run",
    "split_files",
    "train",
    "training_metrics",
    "weighted_cross_entropy",
]


def __getattr__(name: str) -> Any:
    """Import the submodule that defines public `name` on first use (PEP 562)."""
    module = _SOURCES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
