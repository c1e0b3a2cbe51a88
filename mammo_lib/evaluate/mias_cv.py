"""Normal-versus-abnormal on the real mini-MIAS, cross-validated by woman: folds and scores.

MIAS films come in left/right pairs of one woman (``patient = (n + 1) // 2``); folds keep
both films of a woman, and every tile cut from them, on one side of every split, and the
bootstrap interval resamples women. Two classifiers share the folds:

* ``"convnet"``: the MIAS detector's recipe (:mod:`mammo_lib.train.mias_detector`), one run
  per fold trained through :mod:`mammo_lib.train` on the other folds, scored on its own;
* ``"statistics"``: the shortcut test's classifier on the per-tile image statistics only
  (:mod:`mammo_lib.evaluate.shortcut`), which sees no shape at all.

This module cuts nothing and trains no network itself: tiles come from
:mod:`mammo_lib.dataset.mias_tiles`, networks from :mod:`mammo_lib.train`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from mammo_lib.config import work_dir
from mammo_lib.dataset.mias_tiles import MiasTiles
from mammo_lib.dataset.splits import patient_folds
from mammo_lib.evaluate.shortcut import make_classifier, tile_statistics
from mammo_lib.sources.mias import LESION_CLASSES, MASSES
from mammo_lib.train.mias_detector import MiasRecipe, tile_probability, train_folds

__all__ = ["METHODS", "cross_validate_mias", "ensure_mias_cv", "mias_folds", "patient_folds"]


class FoldTrainer(Protocol):
    """What trains one run per fold (:func:`~mammo_lib.train.mias_detector.train_folds`)."""

    def __call__(
        self,
        data: MiasTiles,
        folds: np.ndarray,
        recipe: MiasRecipe,
        *,
        init_from: str | os.PathLike[str] | None = None,
        progress: bool = True,
    ) -> list[Path]: ...


#: Methods :func:`cross_validate_mias` knows.
METHODS: tuple[str, ...] = ("convnet", "statistics")


def mias_folds(data: MiasTiles, n_splits: int, seed: int) -> np.ndarray:
    """Fold per tile of `data`: grouped by woman, stratified by the binary label."""
    meta = data.meta
    return patient_folds(meta["label_binary"], meta["patient_id"], n_splits, seed)


def cross_validate_mias(
    data: MiasTiles,
    method: str = "convnet",
    *,
    n_splits: int = 5,
    seed: int = 0,
    recipe: MiasRecipe | None = None,
    classifier: str = "boosting",
    init_from: str | os.PathLike[str] | None = None,
    tta: bool = False,
    trainer: FoldTrainer | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Out-of-fold P(abnormal) of every tile, folds grouped by woman.

    Parameters
    ----------
    data
        The tile set (:func:`~mammo_lib.dataset.mias_tiles.ensure_mias_tiles`).
    method
        ``"convnet"`` or ``"statistics"`` (see the module docstring).
    n_splits, seed
        Folds and the seed of their assignment.
    recipe
        ConvNet training (default :class:`~mammo_lib.train.mias_detector.MiasRecipe`); its
        tile settings are those of `data`. With ``recipe.ensemble > 1`` every fold trains that
        many models (:meth:`~mammo_lib.train.mias_detector.MiasRecipe.members`) and a tile's
        probability is their mean.
    classifier
        ``"logistic"`` or ``"boosting"``, for ``method="statistics"``.
    init_from
        Run folder that initialises every fold's ConvNet (transfer).
    tta
        Score the ConvNet's tiles as the mean over their eight flips and quarter turns
        (:func:`~mammo_lib.train.mias_detector.tile_probability`).
    trainer
        Trains one run per fold, as :func:`~mammo_lib.train.mias_detector.train_folds` (the
        default) does, e.g. :class:`mammo_lib.scan.hard_negatives.HardNegatives`; with
        :func:`ensure_mias_cv` it needs a ``to_dict`` for the cache key.
    progress
        Show a progress bar.

    Returns
    -------
    pandas.DataFrame
        ``data.meta`` with ``fold``, ``probability`` (abnormal, out of fold), ``method`` and,
        for the ConvNet, ``run`` (the fold's run folder; of an ensemble, its first member's)
        and ``n_models``.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    meta = data.meta.reset_index(drop=True)
    y = meta["label_binary"].to_numpy().astype(int)
    folds = mias_folds(data, n_splits, seed)
    scores = np.full(len(y), np.nan)
    runs = np.full(len(y), "", dtype=object)
    if method == "statistics":
        features = tile_statistics(data.tiles)
        for k in range(n_splits):
            train, test = folds != k, folds == k
            model = make_classifier(classifier, seed)
            with threadpool_limits(limits=1, user_api="openmp"):
                model.fit(features[train], y[train])
                scores[test] = model.predict_proba(features[test])[:, 1]
        return meta.assign(fold=folds, probability=scores, method=method)
    recipe = MiasRecipe(tiles=data.config) if recipe is None else recipe
    members = recipe.members()
    scores[:] = 0.0
    for i, member in enumerate(members):
        train = train_folds if trainer is None else trainer
        run_dirs = train(data, folds, member, init_from=init_from, progress=progress)
        for k, run_dir in enumerate(run_dirs):
            test = folds == k
            scores[test] += tile_probability(run_dir, data.tiles[test], tta=tta) / len(members)
            if i == 0:
                runs[test] = str(run_dir)
    return meta.assign(
        fold=folds, probability=scores, method=method, run=runs, n_models=len(members)
    )


def ensure_mias_cv(data: MiasTiles, method: str = "convnet", **kwargs: object) -> pd.DataFrame:
    """Return :func:`cross_validate_mias` predictions, computed once and cached as CSV.

    The cache file ``work_dir()/mias-cv/<method>-<key>.csv`` is named by a hash of the tile
    set's configuration, the method and `kwargs` (the fold runs are cached by content too).
    """
    from mammo_lib.evaluate.predictions import read_predictions, write_predictions

    spec = {"tiles": data.config.key(), "method": method, **kwargs, "v": 2}
    spec.pop("progress", None)
    key = hashlib.sha256(json.dumps(spec, sort_keys=True, default=_jsonable).encode()).hexdigest()
    path = work_dir() / "mias-cv" / f"{method}-{key[:16]}.csv"
    if path.is_file():
        return read_predictions(Path(path))
    pred = cross_validate_mias(data, method, **kwargs)  # type: ignore[arg-type]
    write_predictions(pred, path)
    return read_predictions(path)


def _jsonable(value: object) -> object:
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else str(value)


#: MIAS lesion classes, in the order the chapter reports them (the mass group: ``MASSES``).
MIAS_CLASSES = LESION_CLASSES


def paired_auc_table(
    first: pd.DataFrame,
    second: pd.DataFrame,
    names: tuple[str, str] = ("convnet", "statistics"),
    *,
    classes: tuple[str, ...] = ("all", *MIAS_CLASSES, MASSES),
    rows: np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """AUC of two classifiers on the same tiles, and their paired difference, per class.

    A class's AUC sets its lesion tiles against every normal tile; intervals resample women
    (both classifiers on the same resample, so the difference is paired).

    Parameters
    ----------
    first, second
        Out-of-fold predictions on the same tiles in the same order (``label_binary``,
        ``abnormality``, ``patient_id``, ``probability``).
    names
        Column prefixes of the two.
    classes
        ``"all"``, MIAS classes, or ``"+"``-joined groups.
    rows
        Restrict to these row indices (with repeats, e.g. a matched set); None: all.
    n_boot, seed
        Bootstrap replicates and seed.

    Returns
    -------
    pandas.DataFrame
        Per class: ``n_abnormal``, ``n_women`` and for each of ``<first>``, ``<second>`` and
        ``difference``: estimate, ``_low``, ``_high``.
    """
    from mammo_lib.evaluate.bootstrap import bootstrap_ci
    from mammo_lib.evaluate.metrics import roc_auc

    if not (first["patient_id"].to_numpy() == second["patient_id"].to_numpy()).all():
        raise ValueError("the two prediction tables are not on the same tiles")
    take = np.arange(len(first)) if rows is None else np.asarray(rows)
    y = first["label_binary"].to_numpy()[take]
    kind = first["abnormality"].fillna("").astype(str).to_numpy()[take]
    a = first["probability"].to_numpy()[take]
    b = second["probability"].to_numpy()[take]
    women = first["patient_id"].to_numpy()[take]
    out = []
    for cls in classes:
        keep = (y == 0) | (cls == "all") | np.isin(kind, cls.split("+"))
        if not (y[keep] == 1).any():
            continue

        def stat(yy, aa, bb):
            fa, fb = roc_auc(yy, aa), roc_auc(yy, bb)
            return {names[0]: fa, names[1]: fb, "difference": fa - fb}

        cis = bootstrap_ci(stat, [y[keep], a[keep], b[keep]], women[keep], n_boot, seed)
        row: dict[str, object] = {
            "class": cls,
            "n_abnormal": int((y[keep] == 1).sum()),
            "n_women": int(pd.unique(women[keep & (y == 1)]).size),
        }
        for key, ci in cis.items():
            row |= {key: ci.estimate, f"{key}_low": ci.low, f"{key}_high": ci.high}
        out.append(row)
    return pd.DataFrame(out)
