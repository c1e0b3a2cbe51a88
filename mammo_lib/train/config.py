"""A training run's configuration, its content hash and its run folder."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mammo_lib.config import work_dir

#: Fields that do not change the trained weights, left out of the config hash.
_UNHASHED = ("name", "log_every", "pr_curves", "kernel_images", "verbose")
#: Online augmentation modes of a training run: none, the study's (random left-right and
#: up-down flips, its ``augment(horizontal_flip=True, vertical_flip=True)``) and the
#: project's default (the eight symmetries of the square, rotations included).
AUGMENT_MODES: tuple[str, ...] = ("none", "flips", "dihedral")
#: Label kinds and the record column each trains on (a config stores the column, so runs
#: configured either way share one hash).
LABEL_COLUMNS: dict[str, str] = {"binary": "label_binary", "multiclass": "label"}
#: The study's positive-class weight (it swept W = 1..7; W about 6-7 did best).
STUDY_POS_WEIGHT = 6.0


#: Accepted ``mixed_precision`` values and the Keras policy each selects.
PRECISION_POLICIES: dict[bool | str, str] = {
    False: "float32",
    "float32": "float32",
    True: "mixed_float16",
    "mixed_float16": "mixed_float16",
    "mixed_bfloat16": "mixed_bfloat16",
}


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved as ``config.json`` in its run folder).

    Parameters
    ----------
    dataset_dir
        Folder with ``train-*.tfrecord``, ``val-*.tfrecord`` (and ``manifest.json``).
    model_name
        A name from :func:`mammo_lib.models.list_models`.
    label
        The label kind, ``"binary"`` (normal / abnormal, 2 classes) or ``"multiclass"`` (the
        study's 5 classes), or its record column (``"label_binary"``, ``"label"``); stored as
        the column (see :attr:`label_kind`).
    image_size
        Side the tiles are resized to on read (the study: 299).
    epochs, batch_size
        Training length and batch size (the study: batch 32).
    pos_weight
        W, the cross-entropy weight of abnormal examples.
    learning_rate, decay_rate, decay_epochs
        Adam's initial rate and its staircase decay (the study: 1e-3, x0.8 every 5 epochs),
        applied per step.
    scaling, contrast, pixel_mean
        Input scaling mode (``raw``, ``unit``, ``centred``), optional contrast factor and the
        centre of ``centred`` (see :class:`mammo_lib.train.layers.InputScaling`).
    augment
        Online augmentation on the device during training: ``"dihedral"`` or True (random
        flips and 90-degree rotations: the project's default), ``"flips"`` (random
        left-right and up-down flips only: the study's, when it turned augmentation on) or
        ``"none"`` / False (the study's headline run 1.0.0.35b.98).
    seed
        Seed of weights, shuffling, dropout and augmentation.
    deterministic
        Enable TensorFlow's op determinism (same seed and data give the same weights).
    strategy
        ``"default"``, ``"mirrored"`` (all local GPUs) or ``"multi_worker"`` (``TF_CONFIG``).
    mixed_precision
        ``False`` (float32), ``True`` or ``"mixed_float16"``, or ``"mixed_bfloat16"``: the Keras
        precision policy (for GPUs; on an H100 bfloat16 was about as fast as float16 for the
        VGG nets and faster for inception_v4_lite, see chapter 06). The softmax output stays
        float32 either way.
    ema_momentum
        Keep an exponential moving average of the weights (Polyak averaging: Adam's
        ``use_ema``) with this momentum per step; validation, ``best.keras`` and
        ``last.keras`` then hold the averaged weights. None: no averaging.
    monitor
        Validation quantity that picks ``best.keras`` (lower is better for ``val_loss``,
        higher for the others).
    threshold
        P(abnormal) threshold of the recall/precision/F1 metrics.
    model_kwargs
        Extra options for the model builder (e.g. ``{"width": 0.25}``).
    records
        Content fingerprint of in-memory tiles (:meth:`mammo_lib.train.run.TileArrays.fingerprint`),
        set by :func:`~mammo_lib.train.run.train` when it is given arrays; it then stands for
        the data in the hash in place of ``dataset_dir``, which only names where the tiles
        came from. None: the run reads the TFRecord shards of ``dataset_dir``.
    init_from
        A run folder (its ``last.keras``) or a ``.keras`` file whose convolutional layers
        (everything before the classifier's ``flatten``) initialise this run's, matched by
        name; the head starts fresh (the study's ``--model``, e.g. a binary run started
        from the 5-class one).
    freeze_conv
        Keep the initialised convolutional layers fixed and train only the head (the
        study's ``--freeze``). Needs `init_from`.
    name
        Run folder name under ``work_dir()/runs``; default ``<model_name>-<hash>``.
    log_every
        TensorBoard scalars every this many steps (besides every epoch).
    pr_curves
        Write a validation PR curve to TensorBoard every epoch.
    kernel_images
        Write the first convolution's kernels to TensorBoard as images every epoch (the
        study's kernel summaries).
    verbose
        Keras ``fit`` verbosity.
    """

    dataset_dir: str
    model_name: str = "vgg_lite"
    label: str = "label_binary"
    image_size: int = 299
    epochs: int = 30
    batch_size: int = 32
    pos_weight: float = STUDY_POS_WEIGHT
    learning_rate: float = 1e-3
    decay_rate: float = 0.8
    decay_epochs: int = 5
    scaling: str = "unit"
    contrast: float | None = None
    pixel_mean: float = 104.1353
    augment: bool | str = True
    seed: int = 0
    deterministic: bool = True
    strategy: str = "default"
    mixed_precision: bool | str = False
    ema_momentum: float | None = None
    monitor: str = "val_loss"
    threshold: float = 0.5
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    records: str | None = None
    init_from: str | None = None
    freeze_conv: bool = False
    name: str | None = None
    log_every: int = 50
    pr_curves: bool = True
    kernel_images: bool = True
    verbose: int | str = 0

    def __post_init__(self) -> None:
        self.dataset_dir = os.fspath(self.dataset_dir)
        self.label = LABEL_COLUMNS.get(self.label, self.label)
        if self.label not in LABEL_COLUMNS.values():
            raise ValueError(
                f"label must be one of {[*LABEL_COLUMNS, *LABEL_COLUMNS.values()]}, "
                f"got {self.label!r}"
            )
        if self.epochs < 1 or self.batch_size < 1 or self.image_size < 1:
            raise ValueError("epochs, batch_size and image_size must be positive")
        if self.pos_weight <= 0:
            raise ValueError(f"pos_weight must be positive, got {self.pos_weight}")
        if self.strategy not in ("default", "mirrored", "multi_worker"):
            raise ValueError(f"unknown strategy {self.strategy!r}")
        if self.augment not in (True, False, *AUGMENT_MODES):
            raise ValueError(f"augment must be one of {AUGMENT_MODES}, got {self.augment!r}")
        # stored as the booleans they always were, so earlier runs keep their hashes
        self.augment = {"dihedral": True, "none": False}.get(self.augment, self.augment)
        if self.init_from is not None:
            self.init_from = os.fspath(self.init_from)
        if self.freeze_conv and self.init_from is None:
            raise ValueError("freeze_conv needs init_from (a run to take the convolutions from)")
        if self.name is not None and (
            not self.name or Path(self.name).name != self.name or self.name in (".", "..")
        ):
            raise ValueError(f"run name {self.name!r} must be a plain folder name inside runs/")
        if self.ema_momentum is not None and not 0 < self.ema_momentum < 1:
            raise ValueError(f"ema_momentum must lie in (0, 1), got {self.ema_momentum}")
        if self.mixed_precision not in PRECISION_POLICIES:
            raise ValueError(
                f"mixed_precision must be one of {list(PRECISION_POLICIES)}, "
                f"got {self.mixed_precision!r}"
            )

    @property
    def augment_mode(self) -> str:
        """``"none"``, ``"flips"`` or ``"dihedral"`` (True means ``"dihedral"``)."""
        if self.augment is True:
            return "dihedral"
        if self.augment is False:
            return "none"
        return str(self.augment)

    @property
    def precision_policy(self) -> str:
        """The Keras policy name: ``float32``, ``mixed_float16`` or ``mixed_bfloat16``."""
        return PRECISION_POLICIES[self.mixed_precision]

    @property
    def label_kind(self) -> str:
        """``"binary"`` or ``"multiclass"``."""
        return next(kind for kind, column in LABEL_COLUMNS.items() if column == self.label)

    @property
    def n_classes(self) -> int:
        """2 for ``label_binary``, 5 for ``label``."""
        return 2 if self.label == "label_binary" else 5

    def to_dict(self) -> dict[str, Any]:
        """Return the config as JSON-ready values."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build a config from :meth:`to_dict` output (unknown keys are an error)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training config keys: {unknown}")
        return cls(**values)

    def replace(self, **changes: Any) -> TrainConfig:
        """Return a copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def config_hash(self) -> str:
        """Return the SHA-256 of everything that determines the weights, data included.

        The dataset enters through the SHA-256 of its ``manifest.json`` (which lists the
        SHA-256 of every shard); in-memory tiles through ``records``; an initialising run
        through its own config hash.
        """
        values = {k: v for k, v in self.to_dict().items() if k not in _UNHASHED}
        if self.records is not None:
            values["dataset_dir"] = f"arrays:{self.records}"
        else:
            values["dataset_dir"] = dataset_fingerprint(Path(self.dataset_dir))
        if self.init_from is not None:
            values["init_from"] = run_fingerprint(Path(self.init_from))
        # fields added later enter the hash only when set, so earlier runs keep their folders
        for key in ("records", "init_from", "freeze_conv", "ema_momentum"):
            if not values.get(key):
                values.pop(key, None)
        text = json.dumps(values, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def run_dir(self) -> Path:
        """Return this run's folder: ``work_dir()/runs/<name or model_name-hash12>``."""
        name = self.name or f"{self.model_name}-{self.config_hash()[:12]}"
        return work_dir() / "runs" / name


def dataset_fingerprint(dataset_dir: Path) -> str:
    """Return a content fingerprint of a dataset folder: the SHA256 of its manifest, which
    lists every shard's SHA256 (the folder is checked by
    :func:`mammo_lib.dataset.folder.open_dataset`)."""
    from mammo_lib.dataset.folder import open_dataset

    return "manifest:" + open_dataset(dataset_dir).fingerprint()


def run_fingerprint(run_dir: Path) -> str:
    """Return the config hash recorded in a run folder's ``config.json`` (error if none)."""
    config_file = run_dir / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{run_dir}: no config.json; not a run folder")
    return "run:" + str(json.loads(config_file.read_text())["config_hash"])


def split_files(dataset_dir: str | os.PathLike[str], split: str) -> list[Path]:
    """Return the shards of `split` that the dataset's manifest lists, sorted.

    Raises
    ------
    mammo_lib.dataset.folder.DatasetFolderError
        When the folder is not a finished build, its shards differ from its manifest, or it
        has no shard of `split`.
    """
    from mammo_lib.dataset.folder import open_dataset

    return open_dataset(dataset_dir).shards(split)


def write_json_atomic(path: Path, value: Any) -> None:
    """Write JSON to `path` atomically (:func:`mammo_lib.io.write_json`)."""
    from mammo_lib.io import write_json

    write_json(path, value, indent=2, sort_keys=True)
