"""Tables and samples of a built dataset, for review (chapters 04 and 05)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from mammo_lib.dataset.folder import load_manifest, load_records, shard_files
from mammo_lib.dataset.labels import CLASS_NAMES


def split_table(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """Tiles per split and class (rows: splits; columns: class names and the total)."""
    records = load_records(folder)
    table = pd.crosstab(records["split"], records["label"].map(dict(enumerate(CLASS_NAMES))))
    table = table.reindex(columns=[c for c in CLASS_NAMES if c in table.columns])
    table["total"] = table.sum(axis=1)
    table["normal share"] = (table.get("NORMAL", 0) / table["total"]).round(3)
    order = [s for s in ("train", "val", "test", "mias") if s in table.index]
    return table.loc[order]


def patient_table(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """Patients, scans and ROIs per split and source."""
    records = load_records(folder)
    grouped = records.groupby(["split", "source"])
    table = pd.DataFrame(
        {
            "patients": grouped["patient_key"].nunique(),
            "scans": grouped["scan_key"].nunique(),
            "ROIs": grouped["abnormality_id"].agg(lambda s: s[s != ""].nunique()),
            "tiles": grouped.size(),
        }
    )
    return table


def recipe_summary(folders: Mapping[str, str | os.PathLike[str]]) -> pd.DataFrame:
    """One row per built recipe: description, tiles per split, normal share in training."""
    rows = []
    for name, folder in folders.items():
        manifest = load_manifest(folder)
        splits = manifest["splits"]
        row = {"recipe": name, "description": manifest["recipe"]["description"]}
        for split in ("train", "val", "test", "mias"):
            row[split] = splits.get(split, {}).get("records", 0)
        row["normal share (train)"] = splits.get("train", {}).get("normal_fraction", np.nan)
        row["skipped inputs"] = len(manifest["skipped"])
        rows.append(row)
    return pd.DataFrame(rows).set_index("recipe")


def skip_table(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """Every skipped input of a build: path, reason, detail, scan task."""
    return pd.DataFrame(
        load_manifest(folder)["skipped"], columns=["path", "reason", "detail", "scan"]
    )


def sample_tiles(
    folder: str | os.PathLike[str],
    *,
    per_class: int = 6,
    split: str | None = None,
    source: str | None = None,
) -> dict[int, list[np.ndarray]]:
    """The first `per_class` tiles of each class in the shards (which are in seeded order).

    Parameters
    ----------
    folder
        A built dataset.
    per_class
        Tiles wanted per class.
    split
        Only this split (None: all, in the order train, val, test, mias).
    source
        Only tiles of this source (e.g. ``"cbis-background"``).

    Returns
    -------
    dict
        ``{class code: [uint8 tile, ...]}`` for the classes present.
    """
    from mammo_lib.dataset.tfrecord import read_records

    splits = [split] if split else ["train", "val", "test", "mias"]
    records = load_records(folder)
    records = records[records["split"].isin(splits)]
    if source is not None:
        records = records[records["source"] == source]
    wanted = {int(k): min(per_class, int(v)) for k, v in records["label"].value_counts().items()}
    files: list[Path] = [f for s in splits for f in shard_files(folder, s)]
    out: dict[int, list[np.ndarray]] = {k: [] for k in wanted}
    for record in read_records(files):
        if all(len(out[k]) >= n for k, n in wanted.items()):
            break
        if source is not None and record["source"] != source:
            continue
        tiles = out[record["label"]]
        if len(tiles) < per_class:
            tiles.append(record["image"])
    return dict(sorted(out.items()))


def same_shards(
    folder_a: str | os.PathLike[str],
    folder_b: str | os.PathLike[str],
    splits: tuple[str, ...] = ("train", "val", "test"),
) -> bool:
    """Whether two builds hold byte-identical shards of `splits`.

    Compares the names and SHA-256 that the two manifests record for every shard of those
    splits (e.g. a recipe built with and without its MIAS test split); False when either
    build has no shard of them.
    """

    def digests(folder: str | os.PathLike[str]) -> dict[str, str]:
        listed = load_manifest(folder)["shard_files"]
        return {
            name: info["sha256"] for name, info in listed.items() if name.split("-", 1)[0] in splits
        }

    a, b = digests(folder_a), digests(folder_b)
    return bool(a) and a == b
