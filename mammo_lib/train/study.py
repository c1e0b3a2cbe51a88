"""The book's shared study run: one dataset and one trained model, from one set of knobs.

Chapters 05 to 08 (and chapter 09's transfer model) describe, train, evaluate and map the
same run, and ``mammo train --recipe`` trains it from a shell. :class:`StudyRun` holds the
knobs that define it (the dataset recipe and its scans, the model and how it trains); its
methods obtain the dataset and the trained run through the content-keyed caches
(:func:`mammo_lib.dataset.build.ensure_dataset`, :func:`mammo_lib.train.run.ensure_trained`),
so every chapter that builds a :class:`StudyRun` from the same knobs reuses one build and
one run instead of training its own. The profiles in ``params/`` write the knobs once, as
a YAML anchor merged into each chapter's section.

>>> study = StudyRun(synthetic_cases=12, image_size=32, epochs=2)
>>> study.for_recipe("6", labels="multiclass").n_classes
5
>>> run_dir = study.trained()  # doctest: +SKIP  (builds the dataset, trains or reuses the run)
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mammo_lib.train.config import LABEL_COLUMNS, TrainConfig

#: Fields of :class:`StudyRun` that say where the scans come from, not what is built.
SCAN_SOURCES: tuple[str, ...] = ("cbis_root", "ddsm_root", "cbis_tables")
#: Fields that define the datasets built from the scans (chapter 05 takes only these).
DATASET_FIELDS: tuple[str, ...] = (
    "seed",
    *SCAN_SOURCES,
    "recipe",
    "synthetic_cases",
    "scan_size",
    "val_fraction",
)


def _path_or_none(value: str | os.PathLike[str] | None) -> str | None:
    return None if value is None else os.fspath(value)


@dataclasses.dataclass(frozen=True)
class StudyRun:
    """The knobs of the book's shared dataset and training run (chapter 06's parameters).

    Parameters
    ----------
    seed
        Seed of the synthetic scans, the dataset build and the training.
    dataset_dir
        A finished dataset folder of `recipe` (``mammo build-dataset`` on your own data);
        None: built from the scans below.
    cbis_root, ddsm_root, cbis_tables
        Your CBIS-DDSM download, DDSM folder and case tables; None: the synthetic stand-ins
        (see :func:`mammo_lib.dataset.user_data.scan_data`).
    recipe
        The dataset recipe (``"9"``, ``"9-background"``, ``"8"``, ``"6"``).
    synthetic_cases, scan_size
        Synthetic CBIS-DDSM scans behind the dataset (and as many normal ones) and their
        geometry (``"small"`` or ``"full"``).
    val_fraction
        Share of the training patients held out for validation.
    model_name
        A registered model (:func:`mammo_lib.models.list_models`).
    labels
        ``"binary"`` (normal / abnormal) or ``"multiclass"`` (the study's five classes).
    image_size, epochs, batch_size, pos_weight
        Tile side on read, training length, batch size and W, the cross-entropy weight of
        abnormal tiles.
    model_width, bn_momentum
        Filter multiplier and batch-norm momentum, passed to the model where its builder
        takes them (:func:`mammo_lib.models.model_options`); None: the builder's default.
    mixed_precision, augment
        As :class:`~mammo_lib.train.config.TrainConfig`.
    """

    seed: int = 0
    dataset_dir: str | None = None
    cbis_root: str | None = None
    ddsm_root: str | None = None
    cbis_tables: str | None = None
    recipe: str = "9"
    synthetic_cases: int = 64
    scan_size: str = "small"
    val_fraction: float = 0.2
    model_name: str = "vgg_lite"
    labels: str = "binary"
    image_size: int = 128
    epochs: int = 30
    batch_size: int = 32
    pos_weight: float = 6.0
    model_width: float | None = 0.5
    bn_momentum: float | None = 0.9
    mixed_precision: bool | str = False
    augment: bool | str = "dihedral"

    def __post_init__(self) -> None:
        for name in ("dataset_dir", *SCAN_SOURCES):
            object.__setattr__(self, name, _path_or_none(getattr(self, name)))
        if self.labels not in LABEL_COLUMNS:
            raise ValueError(f"labels must be one of {list(LABEL_COLUMNS)}, got {self.labels!r}")
        if self.scan_size not in ("small", "full"):
            raise ValueError(f"scan_size must be 'small' or 'full', got {self.scan_size!r}")
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"val_fraction must lie in (0, 1), got {self.val_fraction}")
        if self.synthetic_cases < 1:
            raise ValueError(f"synthetic_cases must be positive, got {self.synthetic_cases}")

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        """The knob names, in order (a chapter's parameters cell declares each of them)."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_parameters(
        cls, values: Mapping[str, Any], fields: tuple[str, ...] | None = None
    ) -> StudyRun:
        """The study run of a chapter's parameters (e.g. ``globals()`` of a notebook).

        Parameters
        ----------
        values
            Names to values; other names are ignored.
        fields
            The knobs to take from `values` (default: all of them); a chapter that only
            builds datasets passes :data:`DATASET_FIELDS` and leaves the training knobs at
            their defaults.

        Raises
        ------
        KeyError
            Naming the knobs `values` lacks: a chapter that left one out would silently
            train with a default and describe a different run from the other chapters.
        """
        fields = cls.fields() if fields is None else tuple(fields)
        unknown = [name for name in fields if name not in cls.fields()]
        if unknown:
            raise ValueError(f"not knobs of the study run: {unknown}")
        missing = [name for name in fields if name not in values]
        if missing:
            raise KeyError(f"the study run's parameters lack {missing}")
        return cls(**{name: values[name] for name in fields})

    def replace(self, **changes: Any) -> StudyRun:
        """A copy with some knobs changed."""
        return dataclasses.replace(self, **changes)

    def for_recipe(self, recipe: str, labels: str | None = None) -> StudyRun:
        """The same scans and training, on another recipe (and label kind).

        `dataset_dir` holds a build of this run's own recipe, so another recipe is built
        from the scans: your `cbis_root` / `ddsm_root`, or the synthetic stand-ins when
        neither is set. A `dataset_dir` without them cannot stand for another recipe.
        """
        labels = labels or self.labels
        if recipe == self.recipe:
            return self if labels == self.labels else self.replace(labels=labels)
        if self.dataset_dir is not None and self.cbis_root is None and self.ddsm_root is None:
            raise ValueError(
                f"dataset_dir {self.dataset_dir} is the build of recipe {self.recipe}; set "
                f"cbis_root / ddsm_root to build recipe {recipe} from the same scans"
            )
        return self.replace(recipe=recipe, labels=labels, dataset_dir=None)

    def dataset(
        self, *, include_mias: bool = False, mias_images: int | None = None, progress: bool = False
    ) -> Path:
        """The run's dataset folder: `dataset_dir`, or the recipe built (or reused) on the scans.

        Parameters
        ----------
        include_mias
            Add the real MIAS test split (a different build from the one the run trains on;
            its train, validation and test splits are cut from the same scans).
        mias_images
            With `include_mias`: the first this many MIAS scans (None: all 322).
        progress
            Show the build's progress bar.
        """
        if self.dataset_dir is not None and not include_mias:
            return Path(self.dataset_dir)
        if self.dataset_dir is not None and self.cbis_root is None and self.ddsm_root is None:
            raise ValueError(
                f"dataset_dir {self.dataset_dir} has no MIAS split; set cbis_root / ddsm_root "
                "to build one from the same scans"
            )
        from mammo_lib.dataset.build import ensure_dataset

        return ensure_dataset(
            self.recipe,
            synthetic_cases=self.synthetic_cases,
            seed=self.seed,
            scan_size=self.scan_size,
            include_mias=include_mias,
            mias_images=mias_images if include_mias else None,
            val_fraction=self.val_fraction,
            progress=progress,
            cbis_root=self.cbis_root,
            ddsm_root=self.ddsm_root,
            cbis_tables=self.cbis_tables,
        )

    @property
    def n_classes(self) -> int:
        """2 for binary labels, 5 for the study's classes."""
        return 2 if self.labels == "binary" else 5

    @property
    def model_kwargs(self) -> dict[str, Any]:
        """The builder options of the model: `model_width` and `bn_momentum` where it takes
        them (see :func:`mammo_lib.models.model_options`)."""
        from mammo_lib.models import model_options

        return model_options(self.model_name, width=self.model_width, bn_momentum=self.bn_momentum)

    def train_config(self, **changes: Any) -> TrainConfig:
        """The training configuration of the run on its dataset, with some fields changed.

        Parameters
        ----------
        **changes
            :class:`~mammo_lib.train.config.TrainConfig` fields that differ from the study
            run's (e.g. ``pos_weight``, ``epochs``, ``scaling``, ``contrast``).
        """
        from mammo_lib.models import model_decay_epochs

        config = TrainConfig(
            dataset_dir=str(self.dataset()),
            model_name=self.model_name,
            label=self.labels,
            image_size=self.image_size,
            epochs=self.epochs,
            batch_size=self.batch_size,
            pos_weight=self.pos_weight,
            decay_epochs=model_decay_epochs(self.model_name, TrainConfig.decay_epochs),
            seed=self.seed,
            model_kwargs=self.model_kwargs,
            mixed_precision=self.mixed_precision,
            augment=self.augment,
        )
        return config.replace(**changes) if changes else config

    def trained(self, **changes: Any) -> Path:
        """The finished run folder (trained here only if no identical run exists).

        Parameters
        ----------
        **changes
            As for :meth:`train_config`.
        """
        from mammo_lib.train.run import ensure_trained

        return ensure_trained(self.train_config(**changes))
