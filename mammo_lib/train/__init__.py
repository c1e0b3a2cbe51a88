"""Training: weighted cross-entropy, on-device augmentation, schedules, callbacks, runs.

>>> from mammo_lib.train import TrainConfig, ensure_trained
>>> run_dir = ensure_trained(TrainConfig(dataset_dir=..., model_name="vgg_lite", epochs=2))
"""

from mammo_lib.train.config import TrainConfig, split_files
from mammo_lib.train.layers import InputScaling, RandomDihedral
from mammo_lib.train.losses import WeightedCrossEntropy, class_weights, weighted_cross_entropy
from mammo_lib.train.metrics import training_metrics
from mammo_lib.train.run import (
    RunResult,
    TrainingDivergedError,
    build_training_model,
    ensure_trained,
    load_model,
    load_run,
    train,
)
from mammo_lib.train.strategy import get_strategy

__all__ = [
    "InputScaling",
    "RandomDihedral",
    "RunResult",
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
