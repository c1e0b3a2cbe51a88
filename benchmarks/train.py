"""Training throughput of the study's model 1.0.0.35 (``vgg_lite``), against the input
pipeline and the machine's matmul rate, all measured in one run.

Prints, for each image size:

* training images/s (one optimizer step on in-memory batches: forward, backward, Adam,
  with the in-model scaling and augmentation), and the FLOP/s this achieves (training FLOPs
  per image = 3 x the counted forward FLOPs);
* the input pipeline's images/s: TFRecord read, PNG decode, resize, batch, and the same
  on-device augmentation layer, from shards written by the project's writer;
* a float32 ``tf.matmul`` rate on large square matrices;

and the ratios: pipeline / training (goal >= 5) and model FLOP/s / matmul FLOP/s
(goal >= 0.5). ``--mixed-precision`` trains with ``mixed_float16`` (for a GPU; the matmul
is then also measured in float16). Runs on CPU or GPU, whichever TensorFlow sees.

    .venv/bin/python benchmarks/train.py --sizes 299 128 64 --steps 4 10 20
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from mammo_lib.dataset.tfrecord import make_dataset, write_shard
from mammo_lib.models.flops import training_flops
from mammo_lib.train import TrainConfig, build_training_model
from mammo_lib.train.layers import InputScaling, RandomDihedral
from mammo_lib.train.run import compile_model


def matmul_flops_per_s(n: int, repeats: int, dtype: tf.DType) -> float:
    """Best rate of ``repeats`` timed ``n x n`` matmuls (2 n^3 FLOPs each)."""
    a = tf.random.stateless_normal((n, n), seed=(1, 2), dtype=dtype)
    b = tf.random.stateless_normal((n, n), seed=(3, 4), dtype=dtype)
    matmul = tf.function(lambda x, y: tf.reduce_sum(tf.matmul(x, y)))
    matmul(a, b).numpy()  # trace and warm up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def write_shards(folder: Path, n_records: int, tile: int, seed: int) -> list[Path]:
    """Write `n_records` random-texture tiles to two shards; return their paths."""
    rng = np.random.default_rng(seed)
    base = rng.normal(110, 25, (tile, tile))
    records = []
    for i in range(n_records):
        image = np.clip(
            np.roll(base, (7 * i, 13 * i), axis=(0, 1)) + rng.normal(0, 5, base.shape), 0, 255
        )
        label = int(i % 6 == 0)
        records.append(
            {
                "image": image.astype(np.uint8),
                "label": 2 * label,
                "label_binary": label,
                "patient_id": f"P{i}",
                "source": "ddsm",
                "crop_index": 0,
                "scan_id": f"S{i}",
            }
        )
    half = n_records // 2
    files = [folder / "train-00000.tfrecord", folder / "train-00001.tfrecord"]
    write_shard(files[0], records[:half])
    write_shard(files[1], records[half:])
    return files


def pipeline_images_per_s(files: list[Path], size: int, batch: int, batches: int) -> float:
    """Images/s of read + decode + resize + batch + augmentation, after one warm-up batch."""
    ds = make_dataset(files, batch_size=batch, shuffle=True, seed=0, image_size=size, repeat=True)
    scale, augment = InputScaling("unit"), RandomDihedral(seed=0)
    ds = ds.map(lambda x, y: (augment(scale(x), training=True), y)).prefetch(tf.data.AUTOTUNE)
    iterator = iter(ds)
    next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch / (time.perf_counter() - start)


def training_images_per_s(size: int, batch: int, steps: int, dataset_dir: str) -> tuple[float, int]:
    """Images/s of training steps on one in-memory batch; also the model's training FLOPs."""
    config = TrainConfig(dataset_dir=dataset_dir, image_size=size, batch_size=batch)
    model = build_training_model(config)
    compile_model(model, config, n_train=batch * 100)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (batch, size, size, 1)).astype(np.uint8)
    y = (rng.random(batch) < 0.2).astype(np.int64)
    model.train_on_batch(x, y)  # trace and warm up
    model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    rate = steps * batch / (time.perf_counter() - start)
    return rate, training_flops(model.get_layer(config.model_name))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[299, 128])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, nargs="+", default=[4, 10], help="per size")
    parser.add_argument("--records", type=int, default=256, help="tiles in the shards")
    parser.add_argument("--pipeline-batches", type=int, default=30)
    parser.add_argument("--matmul-size", type=int, default=4096)
    parser.add_argument("--mixed-precision", action="store_true")
    args = parser.parse_args()

    devices = tf.config.list_physical_devices("GPU") or tf.config.list_physical_devices("CPU")
    print(f"devices: {[d.name for d in devices]}")
    if args.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    dtype = tf.float16 if args.mixed_precision else tf.float32
    steps = dict(zip(args.sizes, args.steps + [args.steps[-1]] * len(args.sizes), strict=False))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        files = write_shards(Path(tmp), args.records, 299, seed=0)
        for size in args.sizes:
            # The matmul is measured right before and after each model, on a shared machine
            # whose load drifts; the model is compared with their mean.
            before = matmul_flops_per_s(args.matmul_size, 3, dtype)
            train, flops = training_images_per_s(size, args.batch_size, steps[size], tmp)
            after = matmul_flops_per_s(args.matmul_size, 3, dtype)
            pipe = pipeline_images_per_s(files, size, args.batch_size, args.pipeline_batches)
            matmul = (before + after) / 2
            rows.append((size, train, pipe, train * flops, matmul))
            print(
                f"vgg_lite {size}x{size}: train {train:.1f} img/s "
                f"({flops / 1e9:.2f} GFLOP/img -> {train * flops / 1e9:.1f} GFLOP/s); "
                f"matmul {dtype.name} {before / 1e9:.0f} / {after / 1e9:.0f} GFLOP/s before/after; "
                f"pipeline {pipe:.0f} img/s"
            )
    print("\nsize  train img/s  pipeline img/s  pipeline/train  model FLOP/s / matmul FLOP/s")
    for size, train, pipe, achieved, matmul in rows:
        ratio = achieved / matmul
        print(f"{size:4d}  {train:11.1f}  {pipe:14.0f}  {pipe / train:14.1f}  {ratio:28.2f}")


if __name__ == "__main__":
    main()
