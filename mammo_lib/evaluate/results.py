"""Evaluating training runs: cached predictions per split, metric rows with intervals, tiles.

This is the glue between a trained run (``mammo_lib.train``), its TFRecord dataset
(``mammo_lib.dataset``) and the metrics of this package, used by chapter 07 and
``mammo evaluate``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from mammo_lib.config import work_dir
from mammo_lib.evaluate.bootstrap import Interval, binary_metrics_ci, bootstrap_ci
from mammo_lib.evaluate.metrics import multiclass_metrics
from mammo_lib.evaluate.predictions import (
    predict_tiles,
    probabilities,
    read_predictions,
    write_predictions,
)
from mammo_lib.evaluate.shortcut import ShortcutResult, shortcut_test, tile_statistics
from mammo_lib.io import write_text

#: Metrics reported for 5-class predictions (see :func:`multiclass_metrics`).
MULTICLASS_REPORTED: tuple[str, ...] = (
    "accuracy",
    "balanced_accuracy",
    "macro_f1",
    "roc_auc_ovr",
    "binary_accuracy",
    "binary_recall",
    "binary_roc_auc",
)


def evaluation_dir(run_dir: str | os.PathLike[str]) -> Path:
    """Folder for a run's evaluation outputs: ``work_dir()/evaluations/<run folder name>``."""
    return work_dir() / "evaluations" / Path(run_dir).name


def ensure_predictions(
    run_dir: str | os.PathLike[str],
    dataset_dir: str | os.PathLike[str],
    split: str,
    checkpoint: str = "best.keras",
    batch_size: int = 64,
) -> pd.DataFrame:
    """Return a run's predictions on one split, computing and writing them (CSV) once.

    The CSV ``evaluation_dir(run_dir)/<split>.csv`` is reused while the checkpoint file and
    the dataset folder are the ones it was made from (recorded beside it).

    Parameters
    ----------
    run_dir
        A finished run folder (from :func:`mammo_lib.train.ensure_trained`).
    dataset_dir
        The dataset folder with ``<split>-*.tfrecord`` shards.
    split
        Which shards to predict (``test``, ``val``, ``mias`` ...).
    checkpoint
        Checkpoint file inside the run folder.
    batch_size
        Tiles per forward pass.
    """
    model_path = Path(run_dir) / checkpoint
    if not model_path.is_file():
        raise FileNotFoundError(f"{model_path}: no such checkpoint (is the run finished?)")
    out = evaluation_dir(run_dir) / f"{split}.csv"
    stamp = out.with_suffix(".json")
    key = {
        "checkpoint": str(model_path.resolve()),
        "checkpoint_mtime_ns": model_path.stat().st_mtime_ns,
        "dataset_dir": str(Path(dataset_dir).resolve()),
        "split": split,
    }
    if out.is_file() and stamp.is_file() and json.loads(stamp.read_text()) == key:
        return read_predictions(out)
    table = predict_tiles(model_path, dataset_dir, split, batch_size=batch_size)
    write_predictions(table, out)
    write_text(stamp, json.dumps(key))
    return table


def binary_row(
    pred: pd.DataFrame, threshold: float = 0.5, n_boot: int = 1000, seed: int = 0
) -> dict[str, float]:
    """Binary metrics of a predictions table with patient-bootstrap intervals, as one row.

    Returns
    -------
    dict
        ``n, n_abnormal, n_patients`` and for each metric ``<metric>``, ``<metric>_low``,
        ``<metric>_high``.
    """
    table = binary_metrics_ci(
        pred["label_binary"].to_numpy(),
        pred["probability"].to_numpy(),
        pred["patient_id"].to_numpy(),
        threshold=threshold,
        n_boot=n_boot,
        seed=seed,
    )
    row: dict[str, float] = {
        "n": len(pred),
        "n_abnormal": int(pred["label_binary"].sum()),
        "n_patients": int(pred["patient_id"].nunique()),
    }
    for metric, r in table.iterrows():
        row.update({metric: r["estimate"], f"{metric}_low": r["low"], f"{metric}_high": r["high"]})
    return row


def multiclass_row(pred: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> dict[str, float]:
    """5-class metrics (argmax) of a predictions table with patient-bootstrap intervals."""
    proba = probabilities(pred, 5)

    def stat(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
        m = multiclass_metrics(y, p)
        return {k: m[k] for k in MULTICLASS_REPORTED}

    cis = bootstrap_ci(
        stat, [pred["label"].to_numpy(), proba], pred["patient_id"].to_numpy(), n_boot, seed
    )
    row: dict[str, float] = {"n": len(pred), "n_patients": int(pred["patient_id"].nunique())}
    for metric, ci in cis.items():
        row.update({metric: ci.estimate, f"{metric}_low": ci.low, f"{metric}_high": ci.high})
    return row


def argmax_recall(pred: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> Interval:
    """Recall of abnormal tiles under the argmax rule, with its patient-bootstrap interval.

    An abnormal tile (``label > 0``) is found when its most probable class (``predicted``)
    is any abnormal class: the rule of the five-class table and its confusion matrix.
    """

    def stat(y: np.ndarray, k: np.ndarray) -> float:
        return float(np.mean(k[y > 0] > 0)) if (y > 0).any() else float("nan")

    return bootstrap_ci(
        stat,
        [pred["label"].to_numpy(), pred["predicted"].to_numpy()],
        groups=pred["patient_id"].to_numpy(),
        n_boot=n_boot,
        seed=seed,
    )


def multiclass_argmax_row(
    pred: pd.DataFrame, n_boot: int = 1000, seed: int = 0
) -> dict[str, float]:
    """:func:`multiclass_row` with one decision rule throughout: the argmax.

    The ``binary_recall`` columns (P(abnormal) at 0.5) are replaced by ``recall``, abnormal
    tiles predicted as any abnormal class (:func:`argmax_recall`).
    """
    row = {
        k: v
        for k, v in multiclass_row(pred, n_boot=n_boot, seed=seed).items()
        if not k.startswith("binary_recall")
    }
    recall = argmax_recall(pred, n_boot=n_boot, seed=seed)
    row.update(recall=recall.estimate, recall_low=recall.low, recall_high=recall.high)
    return row


def with_intervals(table: pd.DataFrame, metrics: Sequence[str], digits: int = 3) -> pd.DataFrame:
    """Replace ``m, m_low, m_high`` columns by one text column ``m`` = ``est [low, high]``.

    A row without an interval (e.g. a published figure) shows the estimate alone; a missing
    estimate an empty cell.
    """
    out = table.copy()
    for m in metrics:
        if m not in out:
            continue
        lo, hi = out.pop(f"{m}_low"), out.pop(f"{m}_high")
        out[m] = [
            ""
            if pd.isna(e)
            else f"{e:.{digits}f}"
            if pd.isna(a) or pd.isna(b)
            else f"{e:.{digits}f} [{a:.{digits}f}, {b:.{digits}f}]"
            for e, a, b in zip(out[m], lo, hi, strict=True)
        ]
    return out


def format_interval(interval: Interval, digits: int = 3) -> str:
    """``estimate [low, high]`` with `digits` decimals."""
    return f"{interval.estimate:.{digits}f} [{interval.low:.{digits}f}, {interval.high:.{digits}f}]"


def load_tiles(
    dataset_dir: str | os.PathLike[str], splits: Sequence[str]
) -> tuple[np.ndarray, pd.DataFrame]:
    """Read every tile of some splits of a TFRecord dataset into memory.

    Returns
    -------
    tiles, meta
        ``uint8 [n, s, s]`` and one row of ids and labels per tile (with ``split``).
    """
    from mammo_lib.dataset.tfrecord import read_records
    from mammo_lib.train import split_files

    images, rows = [], []
    for split in splits:
        for record in read_records(split_files(dataset_dir, split)):
            images.append(record.pop("image"))
            rows.append({"split": split, **record})
    if not images:
        raise ValueError(f"{dataset_dir}: no tiles in splits {list(splits)}")
    return np.stack(images), pd.DataFrame(rows)


def dataset_shortcut_test(
    dataset_dir: str | os.PathLike[str],
    splits: Sequence[str] = ("train", "val", "test"),
    classifier: str = "boosting",
    n_splits: int = 5,
    seed: int = 0,
    n_boot: int = 1000,
) -> tuple[ShortcutResult, pd.DataFrame]:
    """Run the shortcut test on the tiles of a dataset (normal vs abnormal, by patient).

    `n_splits` is lowered to the number of patients of the rarer label when that is smaller
    (never below 2).

    Returns
    -------
    result, meta
        The :class:`~mammo_lib.evaluate.shortcut.ShortcutResult` and the tiles' ids with the
        out-of-fold ``probability``.
    """
    tiles, meta = load_tiles(dataset_dir, splits)
    per_label = meta.groupby("label_binary")["patient_id"].nunique()
    n_splits = max(2, min(n_splits, int(per_label.min()) if len(per_label) == 2 else 2))
    features = tile_statistics(tiles)
    result = shortcut_test(
        features,
        meta["label_binary"].to_numpy(),
        meta["patient_id"].to_numpy(),
        classifier=classifier,
        n_splits=n_splits,
        seed=seed,
        n_boot=n_boot,
    )
    return result, meta.assign(probability=result.scores)


def with_published(ours: pd.DataFrame, table: str, metrics: Sequence[str]) -> pd.DataFrame:
    """Append the study's published row(s) of `table` below our rows, same columns.

    Parameters
    ----------
    ours
        Our rows; must have ``dataset``, ``model`` and ``data`` columns plus the metrics.
    table
        Key of :func:`mammo_lib.evaluate.published.published` (``binary``, ``multiclass``,
        ``mias``).
    metrics
        Metric columns to keep from the published figures (missing ones stay empty).

    Returns
    -------
    pandas.DataFrame
        Our rows with ``source`` "this book", then the published ones with ``source`` the
        citation and ``data`` saying what the study ran on.
    """
    from mammo_lib.evaluate.published import published

    theirs = published(table)
    theirs = theirs.assign(
        data="study: CBIS-DDSM + DDSM" if table != "mias" else "study: real MIAS",
        source=f"published ({theirs['source'].iloc[0]}), per-batch means",
    )
    keep = ["dataset", "model", "data", *[m for m in metrics if m in theirs], "source"]
    return pd.concat([ours.assign(source="this book"), theirs[keep]], ignore_index=True)


def shortcut_verdict(auc: Interval, margin: float = 0.6) -> str:
    """Say in words what a shortcut-test AUC means.

    ``"separates"`` when the interval lies above `margin`, ``"does not separate"`` when it
    contains 0.5, ``"weakly separates"`` when it lies above 0.5 but not above `margin`. An
    interval wholly below 0.5 is ``"does not separate"`` too: a cross-validated classifier
    scoring below chance is a sign of too few patients per fold, not of separation.
    """
    if auc.low > margin:
        return "separates"
    if auc.low <= 0.5 <= auc.high:
        return "does not separate"
    if auc.high < 0.5:
        return "does not separate"
    return "weakly separates"


class Bounds(NamedTuple):
    """A metric's estimate and interval bounds, as a row of :func:`binary_row` holds them."""

    estimate: float
    low: float
    high: float


def row_bounds(row: dict, metric: str = "roc_auc") -> Bounds:
    """The estimate and bounds of one metric of a row (for the verdicts of
    :mod:`mammo_lib.report.verdicts`)."""
    return Bounds(float(row[metric]), float(row[f"{metric}_low"]), float(row[f"{metric}_high"]))


def row_interval(row: dict, metric: str = "roc_auc", digits: int = 3) -> str:
    """``estimate [low, high]`` of one metric of a row from :func:`binary_row`."""
    return (
        f"{row[metric]:.{digits}f} [{row[metric + '_low']:.{digits}f}, "
        f"{row[metric + '_high']:.{digits}f}]"
    )
