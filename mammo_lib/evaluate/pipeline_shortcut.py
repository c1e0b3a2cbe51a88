"""The pipeline test: can image statistics tell two datasets' normal tiles apart?

The shortcut test on a recipe (normal vs abnormal) mixes two differences: the scanner
pipeline the tiles came from and the anatomy they show (an abnormal tile is centred on a
lesion). This test keeps only the first: it compares *normal* tiles of two datasets, e.g.
recipe 9's (cut from DDSM normal scans) and recipe 9-background's (tissue of the CBIS-DDSM
scans away from every lesion). Neither side holds a lesion, so an AUC well above 0.5 means
the pipeline alone is recognisable, which is the shortcut a ConvNet trained on recipe 9 can
take.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from mammo_lib.evaluate.shortcut import ShortcutResult, source_test


def load_normal_tiles(
    dataset_dir: str | os.PathLike[str], splits: Sequence[str] = ("train", "val", "test")
) -> tuple[np.ndarray, pd.DataFrame]:
    """Read the normal tiles (``label_binary`` 0) of some splits of a TFRecord dataset.

    Returns
    -------
    tiles, meta
        ``uint8 [n, s, s]`` and one row of ids per tile (``split``, ``patient_id``,
        ``scan_id``, ``tile_source`` ...).

    Raises
    ------
    FileNotFoundError
        The folder or a split's shards are missing (the message names the folder).
    ValueError
        The splits hold no normal tile (the message names the folder).
    """
    from mammo_lib.dataset.folder import shard_files
    from mammo_lib.dataset.tfrecord import read_records

    folder = Path(dataset_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such dataset folder")
    images, rows = [], []
    for split in splits:
        files = shard_files(folder, split)  # checked against the folder's manifest
        if not files:
            raise FileNotFoundError(f"{folder}: no {split}-*.tfrecord shards")
        for record in read_records(files):
            image = record.pop("image")
            if record["label_binary"] == 0:
                images.append(image)
                rows.append({"split": split, **record})
    if not images:
        raise ValueError(f"{folder}: no normal tiles (label_binary 0) in splits {list(splits)}")
    meta = pd.DataFrame(rows).rename(columns={"source": "tile_source"})
    return np.stack(images), meta


def pipeline_test(
    dataset_a: str | os.PathLike[str],
    dataset_b: str | os.PathLike[str],
    splits: Sequence[str] = ("train", "val", "test"),
    names: tuple[str, str] | None = None,
    classifier: str = "boosting",
    n_splits: int = 5,
    max_ratio: float | None = 4.0,
    seed: int = 0,
    n_boot: int = 1000,
) -> tuple[ShortcutResult, pd.DataFrame]:
    """Cross-validate a classifier that tells `dataset_b`'s normal tiles from `dataset_a`'s.

    The tiles' statistics (:func:`~mammo_lib.evaluate.shortcut.tile_statistics`) feed
    :func:`~mammo_lib.evaluate.shortcut.source_test`: folds grouped by patient (ids prefixed
    by the source's name), patients resampled for the interval. `n_splits` is lowered to the
    patients of the smaller source when that is fewer (never below 2).

    Parameters
    ----------
    dataset_a, dataset_b
        Dataset folders with ``<split>-*.tfrecord`` shards of tiles of one size.
    splits
        Splits whose normal tiles are used.
    names
        Names of the two sources (default: the folders' names).
    classifier, n_splits, seed, n_boot
        As for :func:`~mammo_lib.evaluate.shortcut.shortcut_test`.
    max_ratio
        Subsample the larger source to at most this many times the smaller (seeded); None
        keeps every tile.

    Returns
    -------
    result, meta
        The :class:`~mammo_lib.evaluate.shortcut.ShortcutResult` (positive class: source
        `b`) and one row per tile used with its ids, ``source`` name, prefixed ``group``,
        ``label``, ``fold`` and out-of-fold ``probability``.
    """
    folders = (Path(dataset_a), Path(dataset_b))
    names = names or (folders[0].name, folders[1].name)
    if len(set(names)) != 2:
        raise ValueError(f"the two datasets need distinct names, got {names}")
    loaded = [load_normal_tiles(folder, splits) for folder in folders]
    sizes = [tiles.shape[1:] for tiles, _ in loaded]
    if sizes[0] != sizes[1]:
        raise ValueError(
            f"{folders[0]} and {folders[1]}: tiles of different sizes {sizes[0]} and {sizes[1]}"
        )
    patients = min(meta["patient_id"].nunique() for _, meta in loaded)
    result, used = source_test(
        loaded[0][0],
        loaded[0][1]["patient_id"].to_numpy(),
        loaded[1][0],
        loaded[1][1]["patient_id"].to_numpy(),
        names=names,
        max_ratio=max_ratio,
        classifier=classifier,
        n_splits=max(2, min(n_splits, patients)),
        seed=seed,
        n_boot=n_boot,
    )
    ids = pd.concat(
        [
            meta.drop(columns="patient_id").assign(source=name, index=np.arange(len(meta)))
            for (_, meta), name in zip(loaded, names, strict=True)
        ],
        ignore_index=True,
    )
    return result, used.merge(ids, on=["source", "index"], how="left", validate="one_to_one")
