"""TFRecord shards of mammogram tiles: the schema, atomic writing, and tf.data reading.

Schema
------
Every record is one ``tf.train.Example`` with these features:

================  =======  ==========================================================
feature           type     meaning
================  =======  ==========================================================
``image``         bytes    PNG-encoded grayscale ``uint8`` tile, ``tile_size`` square
``label``         int64    the study's class code: 0 NORMAL, 1 BENIGN calcification,
                           2 BENIGN mass, 3 MALIGNANT calcification, 4 MALIGNANT mass
``label_binary``  int64    0 normal, 1 abnormal
``patient_id``    bytes    UTF-8 patient identifier (e.g. ``P_00001``, ``mdb005``)
``abnormality_id`` bytes   UTF-8 identifier of the ROI the tile was cut around
                           (empty for normal tiles)
``source``        bytes    one of :data:`SOURCES`
``crop_index``    int64    which crop/tile of that ROI or scan (0, 1, ...)
``scan_id``       bytes    UTF-8 identifier of the full scan the tile came from
================  =======  ==========================================================

Shards are written with :func:`write_shard` to a temporary name and renamed, so a shard
that exists is complete. ``tf.data`` reports a corrupted record as a ``DataLossError``
that does not say which file is at fault; :func:`check_shards` reads every shard once
and raises :class:`CorruptShardError` naming the file, and :func:`read_records` does the
same while it iterates.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import tensorflow as tf

from mammo_lib.dataset.labels import LABELS
from mammo_lib.dataset.png import encode_png
from mammo_lib.io import atomic_path

#: Allowed values of ``source``.
SOURCES: tuple[str, ...] = ("cbis-ddsm", "ddsm", "mias", "cbis-background")
#: Label fields ``make_dataset`` can return.
LABEL_FIELDS: tuple[str, ...] = ("label_binary", "label")

_INT_FIELDS = ("label", "label_binary", "crop_index")
_BYTES_FIELDS = ("patient_id", "abnormality_id", "source", "scan_id")

FEATURES: dict[str, tf.io.FixedLenFeature] = {
    "image": tf.io.FixedLenFeature([], tf.string),
    "label": tf.io.FixedLenFeature([], tf.int64),
    "label_binary": tf.io.FixedLenFeature([], tf.int64),
    "patient_id": tf.io.FixedLenFeature([], tf.string),
    "abnormality_id": tf.io.FixedLenFeature([], tf.string, default_value=""),
    "source": tf.io.FixedLenFeature([], tf.string),
    "crop_index": tf.io.FixedLenFeature([], tf.int64),
    "scan_id": tf.io.FixedLenFeature([], tf.string),
}


class CorruptShardError(RuntimeError):
    """A TFRecord shard that cannot be read; the message names the file."""


def serialize_example(example: Mapping[str, Any]) -> bytes:
    """Serialize one tile's record (see the module's schema) to ``tf.train.Example`` bytes.

    Parameters
    ----------
    example
        Mapping with the schema's keys; ``image`` is either a ``uint8`` array or PNG bytes;
        ``abnormality_id`` may be omitted for normal tiles.
    """
    missing = [k for k in FEATURES if k not in example and k != "abnormality_id"]
    if missing:
        raise KeyError(f"example lacks {missing}")
    image = example["image"]
    png = bytes(image) if isinstance(image, bytes | bytearray) else encode_png(image)
    label, binary = int(example["label"]), int(example["label_binary"])
    if label not in LABELS.values():
        raise ValueError(f"label {label} is not a class code {sorted(LABELS.values())}")
    if binary != int(label != 0):
        raise ValueError(f"label_binary {binary} disagrees with label {label}")
    if example["source"] not in SOURCES:
        raise ValueError(f"source {example['source']!r} is not one of {SOURCES}")
    feature = {"image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[png]))}
    for key in _INT_FIELDS:
        feature[key] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(example[key])]))
    for key in _BYTES_FIELDS:
        value = str(example.get(key, "")).encode("utf-8")
        feature[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))
    proto = tf.train.Example(features=tf.train.Features(feature=feature))
    return proto.SerializeToString(deterministic=True)


def write_shard(path: str | os.PathLike[str], examples: Iterable[Mapping[str, Any]]) -> int:
    """Write records to one TFRecord shard atomically (temporary name, then rename).

    Parameters
    ----------
    path
        Destination ``.tfrecord`` file; its folder is created if missing.
    examples
        Records following the module's schema (see :func:`serialize_example`).

    Returns
    -------
    int
        Number of records written.
    """
    path = Path(path)
    count = 0
    with atomic_path(path) as tmp, tf.io.TFRecordWriter(str(tmp)) as writer:
        for example in examples:
            writer.write(serialize_example(example))
            count += 1
    return count


def parse_example(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
    """Parse one serialized record into tensors; ``image`` is decoded to ``uint8 [H, W, 1]``."""
    parsed = tf.io.parse_single_example(serialized, FEATURES)
    parsed["image"] = tf.io.decode_png(parsed["image"], channels=1, dtype=tf.uint8)
    return parsed


def _resize(image: tf.Tensor, size: int) -> tf.Tensor:
    """Resize a ``uint8 [H, W, 1]`` tile to ``size x size`` (area averaging), keep ``uint8``."""
    resized = tf.image.resize(image, [size, size], method="area", antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8)


def make_dataset(
    files: Sequence[str | os.PathLike[str]],
    *,
    label: str = "label_binary",
    batch_size: int,
    shuffle: bool,
    seed: int,
    image_size: int | None = None,
    repeat: bool = False,
    shuffle_buffer: int = 2048,
) -> tf.data.Dataset:
    """Return batches of ``(uint8 image [B, H, W, 1], int64 label [B])`` from TFRecord shards.

    Parameters
    ----------
    files
        Shard paths.
    label
        ``"label_binary"`` (normal/abnormal) or ``"label"`` (the five classes).
    batch_size
        Records per batch (the last batch may be smaller).
    shuffle
        Shuffle shard order and records (seeded), for training; False keeps file order.
    seed
        Seed of the shuffles.
    image_size
        Resize tiles to this side on read; None keeps the stored size.
    repeat
        Repeat indefinitely (shuffled anew each epoch).
    shuffle_buffer
        Size of the record shuffle buffer.
    """
    if label not in LABEL_FIELDS:
        raise ValueError(f"label must be one of {LABEL_FIELDS}, got {label!r}")
    names = [os.fspath(f) for f in files]
    if not names:
        raise ValueError("make_dataset needs at least one shard")
    for name in names:
        if not Path(name).is_file():
            raise FileNotFoundError(f"{name}: no such TFRecord shard")
    autotune = tf.data.AUTOTUNE
    ds = tf.data.Dataset.from_tensor_slices(names)
    if shuffle:
        ds = ds.shuffle(len(names), seed=seed, reshuffle_each_iteration=True)
    ds = ds.interleave(
        tf.data.TFRecordDataset,
        cycle_length=min(len(names), 8),
        num_parallel_calls=autotune,
        deterministic=True,
    )
    if shuffle:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()

    def to_pair(serialized: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        parsed = parse_example(serialized)
        image = parsed["image"]
        if image_size is not None:
            image = _resize(image, image_size)
        return image, parsed[label]

    ds = ds.map(to_pair, num_parallel_calls=autotune, deterministic=True)
    return ds.batch(batch_size).prefetch(autotune)


def _to_python(parsed: Mapping[str, tf.Tensor]) -> dict[str, Any]:
    record: dict[str, Any] = {"image": parsed["image"].numpy()[..., 0]}
    for key in _INT_FIELDS:
        record[key] = int(parsed[key].numpy())
    for key in _BYTES_FIELDS:
        record[key] = parsed[key].numpy().decode("utf-8")
    return record


def read_records(
    files: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
) -> Iterator[dict]:
    """Iterate the records of shards in order, as Python values (for tests and evaluation).

    Yields
    ------
    dict
        ``image`` as a ``uint8 [H, W]`` array, the int fields as ``int``, the ids as ``str``,
        plus ``shard`` (the file it came from).

    Raises
    ------
    CorruptShardError
        When a shard is truncated, fails its checksum or holds a record that does not parse;
        the message names the shard.
    """
    if isinstance(files, str | os.PathLike):
        files = [files]
    for file in files:
        name = os.fspath(file)
        if not Path(name).is_file():
            raise FileNotFoundError(f"{name}: no such TFRecord shard")
        iterator = iter(tf.data.TFRecordDataset(name))
        index = 0
        while True:
            try:
                serialized = next(iterator)
                record = _to_python(parse_example(serialized))
            except StopIteration:
                break
            except (tf.errors.OpError, ValueError) as error:
                message = getattr(error, "message", str(error)).splitlines()[0]
                raise CorruptShardError(
                    f"{name}: corrupted TFRecord shard at record {index}: {message}"
                ) from error
            record["shard"] = name
            index += 1
            yield record


def check_shards(files: Sequence[str | os.PathLike[str]]) -> dict[str, int]:
    """Read every shard once, checking checksums and that every record parses and decodes.

    Returns
    -------
    dict
        ``{shard path: number of records}``.

    Raises
    ------
    CorruptShardError
        Naming the first shard that cannot be read.
    FileNotFoundError
        For a shard that does not exist.
    """
    counts: dict[str, int] = {}
    for file in files:
        name = os.fspath(file)
        if not Path(name).is_file():
            raise FileNotFoundError(f"{name}: no such TFRecord shard")
        ds = tf.data.TFRecordDataset(name).map(
            lambda r: tf.shape(parse_example(r)["image"])[0], num_parallel_calls=tf.data.AUTOTUNE
        )
        count = 0
        try:
            for batch in ds.batch(1024):
                count += int(batch.shape[0])
        except tf.errors.OpError as error:
            message = getattr(error, "message", str(error)).splitlines()[0]
            raise CorruptShardError(
                f"{name}: corrupted TFRecord shard after {count} good records: {message}"
            ) from error
        counts[name] = count
    return counts
