"""Normal-versus-abnormal on the real mini-MIAS, cross-validated by patient.

MIAS films come in left/right pairs of one woman (``patient = (n + 1) // 2``); folds keep
both films of a woman, and every tile cut from them, on one side of every split, and the
bootstrap interval resamples women. Two classifiers share the folds:

* ``"convnet"``: a small ConvNet from :mod:`mammo_lib.models` trained in each fold
  (weighted cross-entropy, random flips, batch-norm statistics recomputed on the training
  tiles at the end), its abnormal probability on the held-out fold;
* ``"statistics"``: the shortcut test's classifier on the per-tile image statistics only
  (:mod:`mammo_lib.evaluate.shortcut`), which sees no shape at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from mammo_lib.config import work_dir
from mammo_lib.dataset.mias_tiles import MiasTiles
from mammo_lib.evaluate.shortcut import make_classifier, tile_statistics

#: Methods :func:`cross_validate_mias` knows.
METHODS: tuple[str, ...] = ("convnet", "statistics")


def patient_folds(
    labels: Sequence[int] | np.ndarray, patients: Sequence | np.ndarray, n_splits: int, seed: int
) -> np.ndarray:
    """Return a fold number per row: stratified by label, grouped by patient.

    Parameters
    ----------
    labels
        Binary label per row.
    patients
        Patient id per row; all of a patient's rows share one fold.
    n_splits
        Number of folds.
    seed
        Seed of the assignment.
    """
    y = np.asarray(labels)
    g = np.asarray(patients)
    folds = np.full(len(y), -1)
    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    for k, (_, test) in enumerate(cv.split(np.zeros(len(y)), y, g)):
        folds[test] = k
    return folds


def _fit_predict_convnet(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    *,
    model_name: str,
    epochs: int,
    batch_size: int,
    pos_weight: float,
    learning_rate: float,
    seed: int,
    model_kw: dict,
    recalibrate: int,
) -> np.ndarray:
    import keras

    from mammo_lib.models import build_model

    keras.utils.set_random_seed(seed)
    size = x_train.shape[1]
    core = build_model(model_name, input_size=size, n_classes=2, **model_kw)
    inputs = keras.Input((size, size, 1))
    augmented = keras.layers.RandomFlip("horizontal_and_vertical", seed=seed)(inputs)
    model = keras.Model(inputs, core(augmented))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
    )
    scale = np.float32(1 / 255)
    model.fit(
        x_train[..., None].astype(np.float32) * scale,
        y_train,
        epochs=epochs,
        batch_size=batch_size,
        class_weight={0: 1.0, 1: float(pos_weight)},
        shuffle=True,
        verbose=0,
    )
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(x_train), size=min(len(x_train), recalibrate), replace=False)
    recalibrate_batchnorm(model, x_train[np.sort(sample)][..., None].astype(np.float32) * scale)
    proba = model.predict(x_test[..., None].astype(np.float32) * scale, verbose=0)
    return proba[:, 1]


def recalibrate_batchnorm(model, images: np.ndarray) -> None:
    """Set every batch-norm layer's moving statistics to those of one batch of `images`.

    After a short training run the moving averages (momentum 0.99 in the study's model)
    still lag the weights, and inference-mode predictions can be near chance while
    training-mode ones are good. One forward pass in training mode with momentum 0 and
    dropout off replaces them with the statistics of `images` ("precise BN"; Wu and
    Johnson 2021). Use training images only.

    Parameters
    ----------
    model
        A Keras model (nested models included).
    images
        Scaled inputs, ``[N, s, s, 1]``; N of several hundred gives stable statistics.
    """
    import keras

    layers = list(model._flatten_layers(include_self=False, recursive=True))
    norms = [la for la in layers if isinstance(la, keras.layers.BatchNormalization)]
    drops = [la for la in layers if isinstance(la, keras.layers.Dropout)]
    saved = [(la, la.momentum) for la in norms] + [(la, la.rate) for la in drops]
    try:
        for la in norms:
            la.momentum = 0.0
        for la in drops:
            la.rate = 0.0
        model(images, training=True)
    finally:
        for la, value in saved:
            if isinstance(la, keras.layers.BatchNormalization):
                la.momentum = value
            else:
                la.rate = value


def cross_validate_mias(
    data: MiasTiles,
    method: str = "convnet",
    *,
    n_splits: int = 5,
    seed: int = 0,
    model_name: str = "vgg_lite",
    model_kw: dict | None = None,
    epochs: int = 10,
    batch_size: int = 32,
    pos_weight: float = 4.0,
    learning_rate: float = 1e-3,
    classifier: str = "boosting",
    recalibrate: int = 1024,
) -> pd.DataFrame:
    """Cross-validate a normal/abnormal classifier on MIAS tiles, folds grouped by patient.

    Parameters
    ----------
    data
        The tile set (:func:`~mammo_lib.evaluate.mias_tiles.ensure_mias_tiles`).
    method
        ``"convnet"`` or ``"statistics"`` (see the module docstring).
    n_splits, seed
        Folds and the seed of folds, weights and shuffles.
    model_name, model_kw
        ConvNet from the registry and its builder options (default: ``vgg_lite`` at quarter
        width with two 256-unit layers, small enough for a CPU).
    epochs, batch_size, pos_weight, learning_rate
        ConvNet training; ``pos_weight`` is W, the weight of abnormal tiles in the loss.
    classifier
        ``"logistic"`` or ``"boosting"``, for ``method="statistics"``.
    recalibrate
        Training tiles used to recompute the batch-norm statistics after training (see
        :func:`recalibrate_batchnorm`).

    Returns
    -------
    pandas.DataFrame
        ``data.meta`` with ``fold`` and ``probability`` (abnormal, out of fold) added.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    meta = data.meta.reset_index(drop=True)
    y = meta["label_binary"].to_numpy().astype(int)
    folds = patient_folds(y, meta["patient_id"].to_numpy(), n_splits, seed)
    scores = np.full(len(y), np.nan)
    if method == "statistics":
        features = tile_statistics(data.tiles)
    kw = {"width": 0.25, "fc_units": (256, 256)} if model_kw is None else dict(model_kw)
    for k in tqdm(range(n_splits), desc=f"MIAS CV ({method})"):
        train, test = folds != k, folds == k
        if method == "statistics":
            model = make_classifier(classifier, seed)
            with threadpool_limits(limits=1, user_api="openmp"):
                model.fit(features[train], y[train])
                scores[test] = model.predict_proba(features[test])[:, 1]
        else:
            scores[test] = _fit_predict_convnet(
                data.tiles[train],
                y[train],
                data.tiles[test],
                model_name=model_name,
                epochs=epochs,
                batch_size=batch_size,
                pos_weight=pos_weight,
                learning_rate=learning_rate,
                seed=seed + k,
                model_kw=kw,
                recalibrate=recalibrate,
            )
    return meta.assign(fold=folds, probability=scores, method=method)


def ensure_mias_cv(data: MiasTiles, method: str = "convnet", **kwargs: object) -> pd.DataFrame:
    """Return :func:`cross_validate_mias` predictions, computed once and cached as CSV.

    The cache file ``work_dir()/mias-cv/<key>.csv`` is named by a hash of the tile set's
    configuration, the method and `kwargs` (see :func:`cross_validate_mias`).
    """
    from mammo_lib.evaluate.predict import read_predictions, write_predictions

    spec = {"tiles": data.config.key(), "method": method, **kwargs}
    key = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()
    path = work_dir() / "mias-cv" / f"{method}-{key[:16]}.csv"
    if path.is_file():
        return read_predictions(Path(path))
    pred = cross_validate_mias(data, method, **kwargs)  # type: ignore[arg-type]
    write_predictions(pred, path)
    return read_predictions(path)
