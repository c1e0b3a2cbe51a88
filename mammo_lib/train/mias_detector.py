"""The MIAS detector: one recipe for the cross-validation folds and the model trained on all.

Every model here trains through :func:`mammo_lib.train.run.ensure_trained` on in-memory
tiles (:class:`~mammo_lib.train.run.TileArrays`), so it gets the same weighted
cross-entropy, in-model input scaling and random flips/rotations, learning-rate schedule,
Keras callbacks, checkpoints and content-keyed run folders as every other model of the
project. Validation tiles (which pick ``best.keras`` and the threshold) come from a share of
the *training* women only.

>>> from mammo_lib.train.mias_detector import ensure_mias_detector
>>> run_dir = ensure_mias_detector()  # trained on all of mini-MIAS, cached by content
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mammo_lib.dataset.mias_tiles import MiasTileConfig, MiasTiles, ensure_mias_tiles
from mammo_lib.dataset.splits import patient_folds
from mammo_lib.train.config import TrainConfig, write_json_atomic

#: What ``predict.json`` says the detector is for.
PURPOSE = "research use only, not for diagnosis"


@dataclass(frozen=True)
class MiasRecipe:
    """How the MIAS detector is cut and trained (the chapter's ``quick`` settings by default).

    Parameters
    ----------
    tiles
        How the tiles are cut (field of view, size, crops per lesion, negatives).
    model_name, width, fc_units, bn_momentum
        The classifier from the registry and its builder options.
    epochs, batch_size, pos_weight, learning_rate, augment
        Training, as :class:`~mammo_lib.train.config.TrainConfig` takes them.
    val_fraction
        Share of the training women held out as validation (best epoch, threshold).
    seed
        Seed of the validation split and of training.
    ema
        Momentum of a moving average of the weights (``TrainConfig.ema_momentum``; None:
        none).
    ensemble
        Models per fold in cross-validation (:meth:`members`: seeds ``seed`` to
        ``seed + ensemble - 1``, each with its own validation women), their tile probabilities
        averaged. Every member of a fold trains on that fold's training women only, so the
        mean is scored on held-out women like one model.
    """

    tiles: MiasTileConfig = field(
        default_factory=lambda: MiasTileConfig(out_size=96, n_crops=6, normals_per_scan=6)
    )
    model_name: str = "vgg_lite"
    width: float = 0.5
    fc_units: tuple[int, ...] = (256, 256)
    bn_momentum: float = 0.9
    epochs: int = 12
    batch_size: int = 32
    pos_weight: float = 4.0
    learning_rate: float = 1e-3
    augment: bool = True
    val_fraction: float = 0.15
    seed: int = 0
    ema: float | None = None
    ensemble: int = 1

    def __post_init__(self) -> None:
        if self.ensemble < 1:
            raise ValueError(f"ensemble must be at least 1, got {self.ensemble}")

    def members(self) -> list[MiasRecipe]:
        """The single-model recipes of the ensemble: seeds ``seed`` to ``seed + ensemble - 1``."""
        return [
            dataclasses.replace(self, seed=self.seed + i, ensemble=1) for i in range(self.ensemble)
        ]

    def train_config(self, data: MiasTiles, **changes: Any) -> TrainConfig:
        """The :class:`TrainConfig` of one run on `data` (``dataset_dir``: its cache folder)."""
        config = TrainConfig(
            dataset_dir=str(data.folder or "mias-tiles"),
            model_name=self.model_name,
            image_size=data.config.out_size,
            epochs=self.epochs,
            batch_size=self.batch_size,
            pos_weight=self.pos_weight,
            learning_rate=self.learning_rate,
            augment=self.augment,
            seed=self.seed,
            model_kwargs={
                "width": self.width,
                "fc_units": list(self.fc_units),
                "bn_momentum": self.bn_momentum,
            },
            ema_momentum=self.ema,
            pr_curves=False,
        )
        return config.replace(**changes)

    @classmethod
    def from_parameters(cls, params: dict[str, Any]) -> MiasRecipe:
        """The recipe of chapter 09's parameters (``mias_*`` names; a missing one: default).

        ``model_name``, ``bn_momentum``, ``batch_size`` and ``seed`` are the chapter's shared
        names (those of the training chapter).
        """
        base = cls()
        tile_names = {
            "crop_size": "mias_crop",
            "out_size": "mias_tile_size",
            "n_crops": "mias_crops",
            "normals_per_scan": "mias_normals_per_scan",
            "background_per_scan": "mias_background_per_scan",
            "n_images": "mias_images",
            "seed": "seed",
        }
        tiles = dataclasses.replace(
            base.tiles, **{f: params[k] for f, k in tile_names.items() if k in params}
        )
        names = {
            "model_name": "model_name",
            "width": "mias_width",
            "fc_units": "mias_fc_units",
            "bn_momentum": "bn_momentum",
            "epochs": "mias_epochs",
            "batch_size": "batch_size",
            "pos_weight": "mias_pos_weight",
            "val_fraction": "mias_val_fraction",
            "seed": "seed",
            "ensemble": "mias_ensemble",
            "ema": "mias_ema",
        }
        values = {f: params[k] for f, k in names.items() if k in params}
        if "fc_units" in values:
            values["fc_units"] = tuple(values["fc_units"])
        return dataclasses.replace(base, tiles=tiles, **values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


def validation_split(meta, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of the validation rows: about `fraction` of the women, by label strata
    (with fewer women than ``1 / fraction`` folds, one fold per woman).

    Parameters
    ----------
    meta
        Tile table with ``label_binary`` and ``patient_id``.
    fraction
        Share of women held out.
    seed
        Seed of the choice.
    """
    n_women = meta["patient_id"].nunique()
    if n_women < 2:
        raise ValueError(f"a validation split needs at least 2 women, got {n_women}")
    n_splits = min(max(2, round(1 / fraction)), n_women)
    folds = patient_folds(meta["label_binary"], meta["patient_id"], n_splits, seed)
    return folds == 0


def _arrays(data: MiasTiles, rows: np.ndarray, recipe: MiasRecipe):
    from mammo_lib.train.run import TileArrays

    meta = data.meta.iloc[rows].reset_index(drop=True)
    val = validation_split(meta, recipe.val_fraction, recipe.seed)
    y = meta["label_binary"].to_numpy().astype(np.int64)
    x = data.tiles[rows]
    return TileArrays(x[~val], y[~val], x[val], y[val])


def row_indices(rows: np.ndarray) -> np.ndarray:
    """Row numbers of a boolean mask over the tile table, or the given row numbers."""
    rows = np.asarray(rows)
    return np.flatnonzero(rows) if rows.dtype == bool else rows


def train_on_rows(
    data: MiasTiles,
    rows: np.ndarray,
    recipe: MiasRecipe,
    *,
    init_from: str | os.PathLike[str] | None = None,
    name: str | None = None,
) -> Path:
    """Train (or reuse) one run on the tiles `rows` of `data`; return its run folder.

    A share of the women of `rows` (``recipe.val_fraction``) is the validation split. The run
    folder's ``config.json`` records the tiles' ``pixel_spacing_mm`` so that
    :class:`mammo_lib.scan.predictor.Predictor` maps scans at the training scale.
    """
    from mammo_lib.train.run import ensure_trained

    rows = row_indices(rows)
    config = recipe.train_config(
        data, init_from=None if init_from is None else os.fspath(init_from), name=name
    )
    info = {"pixel_spacing_mm": data.pixel_spacing_mm, "source_spacing_mm": 0.2}
    run_dir = ensure_trained(config, data=_arrays(data, rows, recipe), run_info=info)
    if not (run_dir / "predict.json").is_file():
        _write_predict_json(run_dir, data, rows, recipe)
    return run_dir


def _write_predict_json(run_dir: Path, data: MiasTiles, rows: np.ndarray, recipe: MiasRecipe):
    """Write the run's ``predict.json``: its scale and a threshold chosen on its validation
    women (Youden's J), so that every MIAS-trained run, fold models included, maps scans."""
    meta = data.meta.iloc[rows].reset_index(drop=True)
    val = validation_split(meta, recipe.val_fraction, recipe.seed)
    n_hard = int((meta["kind"] == "hard-negative").sum()) if "kind" in meta else 0
    hard = f" ({n_hard} of them hard negatives from a first round's maps)" if n_hard else ""
    proba = tile_probability(run_dir, data.tiles[rows][val])
    threshold = youden_threshold(meta["label_binary"].to_numpy()[val], proba)
    info = {
        "pixel_spacing_mm": data.pixel_spacing_mm,
        "input_size": int(recipe.tiles.out_size),
        "threshold": threshold,
        "threshold_source": "Youden's J on validation tiles of held-out training women",
        "trained_on": (
            f"mini-MIAS: {len(meta)} tiles{hard} from {meta['scan_id'].nunique()} scans of "
            f"{meta['patient_id'].nunique()} women (a {recipe.val_fraction:.0%} share of "
            f"the women for validation), {recipe.tiles.crop_size}-px windows at 0.2 mm "
            f"resized to {recipe.tiles.out_size} px"
        ),
        "labels": "binary",
        "purpose": PURPOSE,
        "recipe": recipe.to_dict(),
    }
    write_json_atomic(run_dir / "predict.json", info)


def train_folds(
    data: MiasTiles,
    folds: np.ndarray,
    recipe: MiasRecipe,
    *,
    init_from: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> list[Path]:
    """Train one run per fold on the tiles of every other fold; return the run folders.

    Parameters
    ----------
    data
        The tile set.
    folds
        Fold number per tile row (see :func:`mammo_lib.dataset.splits.patient_folds`).
    recipe
        How to train.
    init_from
        A run folder whose weights initialise every fold's model (transfer).
    progress
        Show a progress bar.
    """
    from tqdm.auto import tqdm

    folds = np.asarray(folds)
    n = int(folds.max()) + 1
    return [
        train_on_rows(data, folds != k, recipe, init_from=init_from)
        for k in tqdm(range(n), desc="MIAS folds", disable=not progress)
    ]


def youden_threshold(y_true: np.ndarray, proba: np.ndarray) -> float:
    """P(abnormal) threshold that maximises sensitivity + specificity (Youden's J)."""
    from sklearn.metrics import roc_curve

    fpr, tpr, thresholds = roc_curve(np.asarray(y_true), np.asarray(proba))
    best = int(np.argmax(tpr - fpr))
    return float(min(1.0, thresholds[best]))


def dihedral_views(x: np.ndarray) -> list[np.ndarray]:
    """The eight flips and quarter turns of square tiles ``[n, s, s, ...]`` (identity first)."""
    turns = [np.rot90(x, k, axes=(1, 2)) for k in range(4)]
    return turns + [t[:, :, ::-1] for t in turns]


def tile_probability(
    run_dir: str | os.PathLike[str], tiles: np.ndarray, *, tta: bool = False
) -> np.ndarray:
    """P(abnormal) of a run's ``best.keras`` for ``uint8 [n, s, s]`` tiles.

    With `tta`, the mean over the tiles' eight :func:`dihedral_views` (test-time
    augmentation with the group the training augmentation draws from).
    """
    from mammo_lib.train.run import load_model

    model = load_model(Path(run_dir) / "best.keras")
    x = tiles if tiles.ndim == 4 else tiles[..., None]
    views = dihedral_views(x) if tta else [x]
    out = [
        np.asarray(model.predict(np.ascontiguousarray(v), batch_size=256, verbose=0)) for v in views
    ]
    return np.mean([o[:, 1:].sum(axis=1) for o in out], axis=0)


def ensure_mias_detector(config: MiasRecipe | None = None, *, progress: bool = True) -> Path:
    """Return a run folder with a detector trained on all of mini-MIAS (cached by content).

    The recipe's share of women is held out for validation (best epoch and threshold); every
    other woman trains. Besides the usual run files the folder holds ``predict.json``:
    ``pixel_spacing_mm`` (mm per model-input pixel), ``input_size``, ``threshold`` (the
    P(abnormal) maximising Youden's J on the validation tiles), ``trained_on``, ``labels``
    (``"binary"``) and ``purpose``. Loadable by :func:`mammo_lib.train.run.load_run` and
    :meth:`mammo_lib.scan.predictor.Predictor.from_run`.

    Parameters
    ----------
    config
        The recipe (default: :class:`MiasRecipe`).
    progress
        Show progress bars (tile cutting, training).
    """
    recipe = MiasRecipe() if config is None else config
    data = ensure_mias_tiles(recipe.tiles, progress=progress)
    rows = np.arange(len(data.meta))
    return train_on_rows(data, rows, recipe)
