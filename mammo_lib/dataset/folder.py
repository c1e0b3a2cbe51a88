"""The one reader of a dataset folder: its manifest, its shards, its records.

A dataset folder (written by :func:`mammo_lib.dataset.build.build_dataset`) holds
``<split>-NNNNN-of-NNNNN.tfrecord`` shards, ``records.csv`` (one row per tile) and
``manifest.json``, written last. The manifest lists every shard with its size and SHA256
(``shard_files``). :func:`open_dataset` accepts a folder only when its manifest exists and lists
exactly the shards present, each with its recorded size, so a build killed before its manifest,
a stale extra shard or a truncated one is refused with a message naming the file, instead of
being trained or evaluated on. Training, evaluation and whole-scan prediction read datasets
through it.

Examples
--------
>>> from mammo_lib.dataset.folder import open_dataset
>>> data = open_dataset("datasets/9-0123456789ab")  # doctest: +SKIP
>>> data.shards("train")  # doctest: +SKIP
[PosixPath('datasets/9-0123456789ab/train-00000-of-00002.tfrecord'), ...]
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

MANIFEST = "manifest.json"
RECORDS = "records.csv"
SHARD_SUFFIX = ".tfrecord"

__all__ = [
    "MANIFEST",
    "RECORDS",
    "DatasetFolder",
    "DatasetFolderError",
    "describe_shards",
    "load_manifest",
    "load_records",
    "open_dataset",
    "shard_files",
    "write_shard_manifest",
]


class DatasetFolderError(ValueError):
    """A dataset folder is unfinished, inconsistent with its manifest, or lacks a split."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def describe_shards(folder: Path, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``{name: {"bytes": size, "sha256": digest}}`` of shard files in `folder`."""
    return {
        name: {"bytes": (folder / name).stat().st_size, "sha256": _sha256(folder / name)}
        for name in sorted(names)
    }


@dataclass(frozen=True)
class DatasetFolder:
    """A checked dataset folder. Build with :func:`open_dataset`.

    Attributes
    ----------
    path
        The folder.
    manifest
        The parsed ``manifest.json``.
    """

    path: Path
    manifest: dict[str, Any]

    @property
    def splits(self) -> list[str]:
        """The splits the manifest lists, in its order."""
        return list(self.manifest.get("splits", {}))

    @property
    def recipe(self) -> dict[str, Any]:
        """The recipe the folder was built with (empty for a hand-made folder)."""
        return dict(self.manifest.get("recipe") or {})

    def shards(self, split: str, *, missing_ok: bool = False) -> list[Path]:
        """The listed shards of `split`, sorted.

        Raises
        ------
        DatasetFolderError
            When the manifest lists no shard for `split` (unless `missing_ok`: then ``[]``).
        """
        names = sorted(n for n in self.manifest["shard_files"] if n.startswith(f"{split}-"))
        if not names and not missing_ok:
            listed = ", ".join(self.splits) or "none"
            raise DatasetFolderError(
                f"{self.path / MANIFEST}: no {split!r} shards (splits listed: {listed})"
            )
        return [self.path / n for n in names]

    def records(self) -> pd.DataFrame:
        """``records.csv``: one row per tile, ids as strings."""
        path = self.path / RECORDS
        if not path.is_file():
            raise DatasetFolderError(f"{path}: missing (the manifest lists a finished build)")
        return pd.read_csv(path, dtype={"abnormality_id": str}, keep_default_na=False)

    def skipped(self) -> list[dict[str, str]]:
        """The inputs the build skipped, with their reasons."""
        return list(self.manifest.get("skipped", []))

    def tile_spacing_mm(self, source: str | None = None) -> float | None:
        """Pixel spacing of the stored tiles in mm, as the manifest records it.

        Parameters
        ----------
        source
            A record source (``"cbis-ddsm"``, ``"ddsm"``, ``"mias"`` ...); None: the abnormal
            tiles' source the folder was trained on first (``cbis-ddsm``, else the only one).

        Returns
        -------
        float or None
            None when the build did not know its scans' spacing.
        """
        spacing = self.manifest.get("tile_pixel_spacing_mm") or {}
        if source is None:
            if "cbis-ddsm" in spacing:
                source = "cbis-ddsm"
            elif len(spacing) == 1:
                source = next(iter(spacing))
            else:
                return None
        value = spacing.get(source)
        return None if value is None else float(value)

    def fingerprint(self) -> str:
        """SHA256 of the manifest (it lists every shard's hash)."""
        return hashlib.sha256((self.path / MANIFEST).read_bytes()).hexdigest()


def open_dataset(path: str | os.PathLike[str], *, verify_hashes: bool = False) -> DatasetFolder:
    """Open a dataset folder after checking it against its manifest.

    Parameters
    ----------
    path
        The folder.
    verify_hashes
        Also recompute every shard's SHA256 (sizes are always checked).

    Raises
    ------
    DatasetFolderError
        When the folder or its manifest is missing or unreadable, or the shards present differ
        from those listed (an extra, missing, resized or, with `verify_hashes`, changed shard).
    """
    folder = Path(path)
    manifest_path = folder / MANIFEST
    if not folder.is_dir():
        raise DatasetFolderError(f"{folder}: no such dataset folder")
    if not manifest_path.is_file():
        raise DatasetFolderError(
            f"{manifest_path}: missing; not a finished dataset build (a build writes it last, "
            "so a killed build has none): build it again"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise DatasetFolderError(f"{manifest_path}: unreadable ({err})") from None
    listed = manifest.get("shard_files") if isinstance(manifest, dict) else None
    if not isinstance(listed, dict):
        raise DatasetFolderError(
            f"{manifest_path}: lists no shard sizes (written by an older version); build the "
            "dataset again"
        )
    present = {p.name for p in folder.glob(f"*{SHARD_SUFFIX}")}
    extra = sorted(present - set(listed))
    missing = sorted(set(listed) - present)
    if extra:
        raise DatasetFolderError(
            f"{folder / extra[0]}: shard not listed in {MANIFEST} ({len(extra)} such); a stale "
            "or foreign file: remove it or rebuild"
        )
    if missing:
        raise DatasetFolderError(
            f"{folder / missing[0]}: listed in {MANIFEST} but missing ({len(missing)} such)"
        )
    for name, info in sorted(listed.items()):
        size = (folder / name).stat().st_size
        if size != int(info["bytes"]):
            raise DatasetFolderError(
                f"{folder / name}: {size} bytes, {MANIFEST} lists {info['bytes']} (truncated or "
                "changed)"
            )
        if verify_hashes and _sha256(folder / name) != info["sha256"]:
            raise DatasetFolderError(f"{folder / name}: SHA256 differs from {MANIFEST}")
    return DatasetFolder(folder, manifest)


def load_manifest(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a finished build's ``manifest.json`` (checked by :func:`open_dataset`)."""
    return open_dataset(folder).manifest


def load_records(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a finished build's ``records.csv`` (one row per tile, ids as strings)."""
    return open_dataset(folder).records()


def shard_files(folder: str | os.PathLike[str], split: str) -> list[Path]:
    """The shards of one split as the manifest lists them, sorted (``[]`` for a split the
    build has none of)."""
    return open_dataset(folder).shards(split, missing_ok=True)


def write_shard_manifest(folder: str | os.PathLike[str], **fields: Any) -> Path:
    """Write a minimal manifest for shards written by hand (tests, imported data).

    Lists every ``*.tfrecord`` present with its size and SHA256, groups them into splits by
    the name before the first ``-``, and adds `fields` (e.g. ``tile_pixel_spacing_mm``).
    """
    folder = Path(folder)
    names = sorted(p.name for p in folder.glob(f"*{SHARD_SUFFIX}"))
    splits: dict[str, dict[str, list[str]]] = {}
    for name in names:
        splits.setdefault(name.split("-", 1)[0], {"shards": []})["shards"].append(name)
    manifest = {"splits": splits, "shard_files": describe_shards(folder, names), **fields}
    target = folder / MANIFEST
    target.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    return target
