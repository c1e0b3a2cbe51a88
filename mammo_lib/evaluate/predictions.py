"""Predictions export: one row per tile with its ids, label and predicted probability.

Every evaluation writes its predictions as CSV, so that metrics, intervals and curves can be
recomputed without running the model again.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from mammo_lib.io import atomic_path

#: Id and label columns copied from each TFRecord into the predictions table.
ID_COLUMNS: tuple[str, ...] = (
    "scan_id",
    "patient_id",
    "abnormality_id",
    "source",
    "crop_index",
    "label",
    "label_binary",
    "shard",
)


def _batches(records: Iterator[dict], batch_size: int) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for record in records:
        batch.append(record)
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _fit_size(images: np.ndarray, size: int) -> np.ndarray:
    """Resize ``uint8 [B, h, w]`` tiles to ``size`` (area averaging), as the reader does."""
    if images.shape[1:] == (size, size):
        return images
    import tensorflow as tf

    resized = tf.image.resize(images[..., None], [size, size], method="area", antialias=True)
    return np.clip(np.round(resized.numpy()[..., 0]), 0, 255).astype(np.uint8)


def predict_records(model, records: Iterator[dict], batch_size: int = 64) -> pd.DataFrame:
    """Run `model` on TFRecord-style records and return one row per record.

    Parameters
    ----------
    model
        A Keras model taking ``uint8 [N, s, s, 1]`` tiles (as the training runs save them)
        and returning class probabilities ``[N, n_classes]``.
    records
        Dicts as yielded by :func:`mammo_lib.dataset.tfrecord.read_records` (``image`` a
        ``uint8 [h, w]`` tile plus ids); tiles of another size are resized to the model's.
    batch_size
        Tiles per forward pass.

    Returns
    -------
    pandas.DataFrame
        The :data:`ID_COLUMNS` present in the records, ``probability`` (abnormal: ``1 -
        p(NORMAL)``), ``predicted`` (argmax class) and ``p0 .. p{k-1}``.
    """
    size = int(model.input_shape[1])
    rows: list[pd.DataFrame] = []
    for batch in _batches(iter(records), batch_size):
        images = _fit_size(np.stack([r["image"] for r in batch]), size)
        proba = np.asarray(model.predict(images[..., None], verbose=0), dtype=float)
        frame = pd.DataFrame({k: [r.get(k) for r in batch] for k in ID_COLUMNS if k in batch[0]})
        for j in range(proba.shape[1]):
            frame[f"p{j}"] = proba[:, j]
        frame["probability"] = 1.0 - proba[:, 0]
        frame["predicted"] = proba.argmax(axis=1)
        rows.append(frame)
    if not rows:
        raise ValueError("no records to predict")
    return pd.concat(rows, ignore_index=True)


def predict_tiles(
    model,
    dataset_dir: str | os.PathLike[str],
    split: str = "test",
    batch_size: int = 64,
) -> pd.DataFrame:
    """Predict every tile of one split of a TFRecord dataset, in shard order.

    Parameters
    ----------
    model
        A Keras model, or the path of a run's ``.keras`` checkpoint, taking ``uint8`` tiles.
    dataset_dir
        Folder with ``<split>-*.tfrecord`` shards.
    split
        ``"train"``, ``"val"``, ``"test"`` (or any shard prefix present).
    batch_size
        Tiles per forward pass.

    Returns
    -------
    pandas.DataFrame
        See :func:`predict_records`; plus ``split``.
    """
    from mammo_lib.dataset.tfrecord import read_records
    from mammo_lib.train import load_model, split_files

    if isinstance(model, str | os.PathLike):
        model = load_model(model)
    files = split_files(dataset_dir, split)
    records = read_records(files)
    first = next(records, None)
    if first is None:
        names = ", ".join(f.name for f in files)
        raise ValueError(f"{dataset_dir}: the {split} shards ({names}) hold no records")
    table = predict_records(model, _chain(first, records), batch_size=batch_size)
    table.insert(0, "split", split)
    return table


def _chain(first: dict, rest: Iterator[dict]) -> Iterator[dict]:
    yield first
    yield from rest


def write_predictions(table: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a predictions table as CSV atomically (temporary name, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return path


def read_predictions(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a predictions CSV written by :func:`write_predictions` (ids kept as strings).

    Raises
    ------
    ValueError
        When the file is empty or not a CSV table; the message names it.
    """
    text = {c: str for c in ("scan_id", "patient_id", "abnormality_id", "source", "shard")}
    try:
        return pd.read_csv(path, dtype=text, keep_default_na=False, na_values={"probability": [""]})
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: empty file, not a predictions CSV (no header)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not a readable CSV ({' '.join(str(err).split())})") from None


def check_predictions(table: pd.DataFrame, where: object, task: str = "binary") -> None:
    """Check a predictions table before scoring it.

    Parameters
    ----------
    table
        As read by :func:`read_predictions`.
    where
        The file (or description) named in the messages.
    task
        ``"binary"`` needs ``patient_id, label_binary, probability``; ``"multiclass"`` needs
        ``patient_id, label`` and ``p0 .. p4``.

    Raises
    ------
    ValueError
        A missing column, no rows, a label outside its classes, or a probability that is
        missing or outside [0, 1] (the first such CSV line is named).
    """
    proba_cols = sorted(
        (c for c in table.columns if c[:1] == "p" and c[1:].isdigit()), key=lambda c: int(c[1:])
    )
    if task == "multiclass":
        needed = ["patient_id", "label", *(f"p{j}" for j in range(5))]
        values, labels, classes = proba_cols, "label", range(5)
    else:
        needed = ["patient_id", "label_binary", "probability"]
        values, labels, classes = ["probability"], "label_binary", (0, 1)
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ValueError(f"{where}: lacks column(s) {', '.join(missing)} for {task} scoring")
    if table.empty:
        raise ValueError(f"{where}: no rows to score")
    for col in values:
        numbers = pd.to_numeric(table[col], errors="coerce")
        bad = ~numbers.between(0.0, 1.0)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(
                f"{where}: line {row + 2}: {col} = {table[col].iloc[row]} is not a "
                f"probability in [0, 1] ({int(bad.sum())} such rows)"
            )
    label_values = pd.to_numeric(table[labels], errors="coerce")
    bad = ~label_values.isin(list(classes))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(
            f"{where}: line {row + 2}: {labels} = {table[labels].iloc[row]} is not one of "
            f"{list(classes)}"
        )


def probabilities(table: pd.DataFrame, n_classes: int | None = None) -> np.ndarray:
    """Return the class-probability columns ``p0 ..`` of a predictions table as an array."""
    cols: Sequence[str] = [c for c in table.columns if c[:1] == "p" and c[1:].isdigit()]
    cols = sorted(cols, key=lambda c: int(c[1:]))
    if n_classes is not None and len(cols) != n_classes:
        raise ValueError(f"table has {len(cols)} probability columns, expected {n_classes}")
    return table[list(cols)].to_numpy(dtype=float)


def scan_predictions(table: pd.DataFrame, how: str = "max") -> pd.DataFrame:
    """Aggregate tile predictions to one row per scan.

    Parameters
    ----------
    table
        Tile predictions with ``scan_id, patient_id, label_binary, probability``.
    how
        ``"max"`` (a scan is as suspicious as its most suspicious tile) or ``"mean"``.

    Returns
    -------
    pandas.DataFrame
        ``scan_id, patient_id, source`` (when present), ``label_binary`` (1 if any tile is
        abnormal), ``probability`` (aggregated), ``n_tiles``.
    """
    if how not in ("max", "mean"):
        raise ValueError(f"how must be 'max' or 'mean', got {how!r}")
    missing = {"scan_id", "patient_id", "label_binary", "probability"} - set(table.columns)
    if missing:
        raise KeyError(f"predictions table lacks columns {sorted(missing)}")
    keys = ["scan_id", "patient_id"] + (["source"] if "source" in table else [])
    grouped = table.groupby(keys, sort=False)
    out = grouped.agg(
        label_binary=("label_binary", "max"),
        probability=("probability", how),
        n_tiles=("probability", "size"),
    )
    return out.reset_index()
