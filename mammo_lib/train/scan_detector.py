"""Training the whole-film detector: a U-Net fitted to every cell of every breast.

The films and their per-cell targets come from :mod:`mammo_lib.dataset.mias_scans`; the
network from :func:`mammo_lib.models.scan_unet.build_scan_unet`. The loss is the binary
cross-entropy of every breast cell (cells off the breast weigh 0, lesion cells
``pos_weight``), so each normal breast is a few hundred negative examples and each lesion a
patch of positive ones. Films with an unlocated lesion are never trained on.

Augmentation (per film, seeded): a flip top to bottom (the chest wall stays on the left), a
rotation within +-10 degrees and a scaling within +-10%, a shift of whole cells, and a
gamma and gain on the grey levels. The learning rate follows a cosine from
``learning_rate`` to 0; the last epoch's weights are kept (no epoch is chosen on any film).

A run is cached by content: its folder under ``work_dir() / "runs"`` is named by the hash
of the recipe and the films it trains on, and a finished folder is reused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
from scipy import ndimage
from tqdm.auto import tqdm

from mammo_lib.config import work_dir
from mammo_lib.dataset.mias_scans import MiasScanConfig, MiasScans
from mammo_lib.io import write_json
from mammo_lib.models.scan_unet import build_scan_unet
from mammo_lib.train.callbacks import NaNGuard, save_model_atomic

#: Largest rotation (degrees) and log-scale change of the augmentation.
MAX_ROTATION_DEG = 10.0
MAX_LOG_SCALE = 0.1
#: Largest shift, in map cells, and the spread of the log-gamma and log-gain.
MAX_SHIFT_CELLS = 3
GAMMA_SD, GAIN_SD = 0.25, 0.1


@dataclass(frozen=True)
class ScanDetectorRecipe:
    """How the whole-film detector is trained.

    Parameters
    ----------
    scans
        How the films are prepared (resolution, map stride).
    width, levels
        The U-Net's first-level filters and its number of resolutions.
    epochs, batch_size, learning_rate
        Training length, films per batch, the cosine schedule's starting rate.
    pos_weight
        Weight of a lesion cell in the cross-entropy (a breast cell weighs 1).
    augment
        Augment the films (see the module).
    tta
        Average each map with that of the film flipped top to bottom.
    seed
        Seed of the weights, the batch order and the augmentation.
    """

    scans: MiasScanConfig = field(default_factory=MiasScanConfig)
    width: int = 16
    levels: int = 5
    epochs: int = 30
    batch_size: int = 8
    learning_rate: float = 1e-3
    pos_weight: float = 10.0
    augment: bool = True
    tta: bool = True
    seed: int = 0

    @classmethod
    def from_parameters(cls, params: dict[str, Any]) -> ScanDetectorRecipe:
        """The recipe of chapter 09's ``film_*`` parameters (a missing one: default)."""
        base = cls()
        scans = dataclasses.replace(
            base.scans,
            **{
                f: params[k]
                for f, k in (("down", "film_down"), ("n_images", "mias_images"))
                if k in params
            },
        )
        names = {
            "width": "film_width",
            "epochs": "film_epochs",
            "pos_weight": "film_pos_weight",
            "tta": "film_tta",
            "seed": "seed",
        }
        values = {f: params[k] for f, k in names.items() if k in params}
        return dataclasses.replace(base, scans=scans, **values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def run_dir(self, fingerprint: str) -> Path:
        """The run folder for training on films of `fingerprint`."""
        training = {k: v for k, v in self.to_dict().items() if k != "tta"}
        text = json.dumps({"recipe": training, "films": fingerprint}, sort_keys=True)
        return work_dir() / "runs" / f"film-unet-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def training_rows(data: MiasScans, rows: np.ndarray | None = None) -> np.ndarray:
    """Indices of `rows` (all films when None) that can be trained on: located lesions only."""
    idx = np.arange(len(data.meta)) if rows is None else np.asarray(rows)
    if idx.dtype == bool:
        idx = np.nonzero(idx)[0]
    return idx[data.meta["located"].to_numpy()[idx]]


def cell_weights(data: MiasScans, idx: np.ndarray, pos_weight: float) -> np.ndarray:
    """``float32 [n, cells, cells]``: 0 off the breast, 1 on it, `pos_weight` on lesions."""
    tissue, target = data.tissue[idx], data.target[idx]
    return np.where(tissue, np.where(target, pos_weight, 1.0), 0.0).astype(np.float32)


def augment_film(
    image: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray,
    stride: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One augmented copy of a film and its cell targets and weights (see the module).

    Parameters
    ----------
    image
        ``uint8 [side, side]``.
    target, weight
        ``[cells, cells]`` with ``cells = side / stride``.
    stride
        Image pixels per cell.
    rng
        The random source.
    """
    image, target, weight = image.astype(np.float32), target.astype(np.float32), weight
    if rng.random() < 0.5:
        image, target, weight = image[::-1], target[::-1], weight[::-1]
    angle = np.deg2rad(rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG))
    scale = math.exp(rng.uniform(-MAX_LOG_SCALE, MAX_LOG_SCALE))
    matrix = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) / scale
    shift = rng.integers(-MAX_SHIFT_CELLS, MAX_SHIFT_CELLS + 1, 2)

    def warp(a: np.ndarray, order: int, cell_px: int) -> np.ndarray:
        centre = (np.array(a.shape, dtype=float) - 1) / 2  # pixel and cell grids agree
        offset = centre - matrix @ centre - shift * stride / cell_px
        return ndimage.affine_transform(a, matrix, offset, order=order, mode="constant")

    image = warp(image, 1, 1)
    target, weight = warp(target, 0, stride), warp(weight, 0, stride)
    gamma = math.exp(rng.normal(0, GAMMA_SD))
    gain = math.exp(rng.normal(0, GAIN_SD))
    image = np.clip(255.0 * (image / 255.0) ** gamma * gain, 0, 255)
    return np.rint(image).astype(np.uint8), target, weight


class FilmBatches(keras.utils.PyDataset):
    """Batches ``(uint8 [B, side, side, 1], float [B, cells, cells, 1], float [B, cells, cells])``
    of films, targets and cell weights, reshuffled and re-augmented every epoch."""

    def __init__(
        self,
        data: MiasScans,
        idx: np.ndarray,
        recipe: ScanDetectorRecipe,
    ) -> None:
        super().__init__()
        self.images = data.images[idx]
        self.target = data.target[idx].astype(np.float32)
        self.weight = cell_weights(data, idx, recipe.pos_weight)
        self.batch_size = recipe.batch_size
        self.augment = recipe.augment
        self.stride = data.config.stride
        self.rng = np.random.default_rng(recipe.seed)
        self.order = self.rng.permutation(len(idx))

    def __len__(self) -> int:
        return math.ceil(len(self.order) / self.batch_size)

    def on_epoch_end(self) -> None:
        self.order = self.rng.permutation(len(self.order))

    def __getitem__(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        chosen = self.order[k * self.batch_size : (k + 1) * self.batch_size]
        images, targets, weights = self.images[chosen], self.target[chosen], self.weight[chosen]
        if self.augment:
            out = [
                augment_film(i, t, w, self.stride, self.rng)
                for i, t, w in zip(images, targets, weights, strict=True)
            ]
            images, targets, weights = (np.stack(a) for a in zip(*out, strict=True))
        return images[..., None], targets[..., None], weights


class EpochBar(keras.callbacks.Callback):
    """A tqdm bar over epochs, showing the loss."""

    def __init__(self, epochs: int, desc: str, disable: bool) -> None:
        super().__init__()
        self.bar = tqdm(total=epochs, desc=desc, disable=disable)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.bar.set_postfix(loss=f"{(logs or {}).get('loss', float('nan')):.4f}")
        self.bar.update()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.bar.close()


def train_scan_detector(
    data: MiasScans,
    rows: np.ndarray | None,
    recipe: ScanDetectorRecipe,
    *,
    progress: bool = True,
) -> Path:
    """Train the detector on the films `rows` (those with located lesions), or reuse the run.

    Returns
    -------
    pathlib.Path
        The run folder: ``model.keras`` (the last epoch), ``log.csv``, ``config.json``.

    Raises
    ------
    FloatingPointError
        When the loss becomes NaN or infinite; nothing is saved.
    """
    if data.config != recipe.scans:
        raise ValueError(
            f"the films were prepared as {data.config}, the recipe asks {recipe.scans}"
        )
    idx = training_rows(data, rows)
    if not len(idx):
        raise ValueError("no film with located lesions (or normal) to train on")
    fingerprint = data.fingerprint(idx)
    run_dir = recipe.run_dir(fingerprint)
    if (run_dir / "model.keras").is_file():
        return run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(recipe.seed)
    model = build_scan_unet(width=recipe.width, levels=recipe.levels, out_stride=data.config.stride)
    batches = FilmBatches(data, idx, recipe)
    schedule = keras.optimizers.schedules.CosineDecay(
        recipe.learning_rate, recipe.epochs * len(batches)
    )
    model.compile(keras.optimizers.Adam(schedule), loss="binary_crossentropy")
    guard = NaNGuard()
    model.fit(
        batches,
        epochs=recipe.epochs,
        verbose=0,
        callbacks=[
            guard,
            keras.callbacks.CSVLogger(os.fspath(run_dir / "log.csv")),
            EpochBar(recipe.epochs, "film detector", not progress),
        ],
    )
    if guard.where is not None:
        epoch, batch = guard.where
        raise FloatingPointError(
            f"{run_dir}: the loss became NaN/inf at epoch {epoch + 1}, batch {batch + 1}; "
            f"nothing was saved (try a lower learning rate than {recipe.learning_rate})"
        )
    write_json(
        run_dir / "config.json",
        {
            "recipe": recipe.to_dict(),
            "films": fingerprint,
            "scans": data.meta["scan_id"].iloc[idx].tolist(),
        },
    )
    save_model_atomic(model, run_dir / "model.keras")
    return run_dir


def film_maps(
    run_dir: str | os.PathLike[str] | keras.Model,
    data: MiasScans,
    rows: Sequence[int] | np.ndarray,
    *,
    tta: bool = True,
    batch_size: int = 8,
) -> np.ndarray:
    """``float32 [n, cells, cells]``: the model's map of each film of `rows`, 0 off the breast.

    Maps are in the films' prepared orientation (chest wall left; see
    :meth:`~mammo_lib.dataset.mias_scans.MiasScans.to_scan`). With `tta` each map is the
    mean of the film's and of its top-to-bottom flip's.
    """
    model = (
        run_dir
        if isinstance(run_dir, keras.Model)
        else keras.models.load_model(Path(run_dir) / "model.keras", compile=False)
    )
    idx = np.asarray(rows, dtype=int)
    x = data.images[idx][..., None]
    maps = model.predict(x, batch_size=batch_size, verbose=0)[..., 0]
    if tta:
        flipped = model.predict(x[:, ::-1], batch_size=batch_size, verbose=0)[:, ::-1, :, 0]
        maps = 0.5 * (maps + flipped)
    return np.where(data.tissue[idx], maps, 0.0).astype(np.float32)


def train_scan_folds(
    data: MiasScans,
    folds: np.ndarray,
    recipe: ScanDetectorRecipe,
    *,
    progress: bool = True,
) -> tuple[list[Path], np.ndarray]:
    """One detector per fold, trained on the other folds' films; each film mapped by its own.

    Parameters
    ----------
    data
        The films.
    folds
        Fold of every film (row-aligned with ``data.meta``); a woman's films share one.
    recipe
        The training recipe.
    progress
        Show a bar per fold.

    Returns
    -------
    runs, maps
        The run folder of each fold, and every film's held-out map (``[n, cells, cells]``,
        prepared orientation).
    """
    folds = np.asarray(folds)
    women = data.meta.groupby("patient_id")["scan_id"].apply(list)
    fold_of = dict(zip(data.meta["scan_id"], folds, strict=True))
    for woman, films in women.items():
        if len({fold_of[f] for f in films}) > 1:
            raise ValueError(f"woman {woman}'s films {films} lie in more than one fold")
    runs, maps = [], np.zeros(data.target.shape, dtype=np.float32)
    for k in range(int(folds.max()) + 1):
        runs.append(train_scan_detector(data, folds != k, recipe, progress=progress))
        held_out = np.nonzero(folds == k)[0]
        maps[held_out] = film_maps(runs[-1], data, held_out, tta=recipe.tta)
    return runs, maps
