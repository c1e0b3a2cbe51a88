"""Training throughput of the study's three ConvNets on any Keras backend, float32 against
mixed precision, with the matmul rate of the same machine as reference, all in one run.

The backend is whatever ``KERAS_BACKEND`` selects: ``tensorflow`` in the project's venv,
``jax`` on a GPU machine without TensorFlow. Only Keras, NumPy and the backend are
imported (``mammo_lib.models``, ``mammo_lib.models.flops``, ``mammo_lib.train.layers`` and
``mammo_lib.train.losses`` use ``keras`` / ``keras.ops`` only), so the script runs where
TensorFlow is absent.

For each image size, model (``vgg_lite``, ``vgg16``, ``inception_v4_lite``) and dtype
policy (``float32``, ``mixed_bfloat16``, ``mixed_float16``) it builds the training model
as a run does (uint8 tiles -> ``InputScaling("unit")`` -> ``RandomDihedral`` ->
classifier, 2 classes), compiles it with Adam and the project's ``WeightedCrossEntropy``
(W = 6; it uses ``keras.ops`` only, so it serves every backend; no metrics), and trains on
random uint8 tiles held in memory:

* ``--warmup`` untimed steps through ``model.fit`` (the first, timed apart as
  "compile s", traces and jit-compiles the step), then ``--steps`` timed steps through one
  ``model.fit`` call on a repeated in-memory array (no host sync per step; the clock stops
  when ``fit`` has returned the epoch's loss as a host float, so the device work is done);
  with ``--cross-check`` also ``--steps`` timed ``train_on_batch`` calls, each returning
  its loss to the host (on JAX this compiles the step a second time);
* the model FLOP/s that the ``fit`` rate achieves (training FLOPs per image = 3 x the
  counted forward FLOPs of convolutions and dense layers, ``mammo_lib.models.flops``);
* a ``keras.ops.matmul`` rate on ``--matmul-size`` square matrices in the policy's compute
  dtype (mean of a measure before and after all models; the last product is copied to the
  host before the clock stops), and the ratio model FLOP/s / matmul FLOP/s;
* the speed-up of each mixed policy over float32 (``fit`` images/s) per model.

A (model, policy) that fails (out of memory, unsupported dtype) is recorded with its error
and the run goes on; ``--time-budget`` skips a (model, policy) expected to end after that
many seconds from the start (expected: as long as the same model's last measure, or the
longest measure so far). ``--json PATH`` writes every number, rewritten atomically after
each result, so a run cut short keeps what it measured.

On JAX, float32 matmuls and convolutions on an NVIDIA GPU run at XLA's default precision,
which may use TF32 tensor cores; the JSON records ``jax_default_matmul_precision``.

Usage (project venv, TensorFlow on the CPU, tiny)::

    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/train_backends.py \\
        --sizes 64 --steps 2 --batch 4 --matmul-size 512

On a GPU machine without TensorFlow (JAX with its CUDA plugin installed), from the
repository root, with the wheels in ``.whl/`` (keras 3.15.1 and its small pure
dependencies)::

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \\
        --target /tmp/site .whl/*.whl
    PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax python3 benchmarks/train_backends.py \\
        --sizes 299 --batch 64 --warmup 5 --steps 20 --matmul-size 8192 \\
        --time-budget 250 --json results.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import ops

from mammo_lib.models import build_model
from mammo_lib.models.flops import training_flops
from mammo_lib.train.layers import InputScaling, RandomDihedral
from mammo_lib.train.losses import WeightedCrossEntropy

MODELS = ("vgg_lite", "vgg16", "inception_v4_lite")
POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")
#: The study's weight of abnormal examples (``TrainConfig.pos_weight``).
POS_WEIGHT = 6.0


def device_description() -> list[str]:
    """Return the devices the active Keras backend computes on, in words."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return [f"{d} ({d.device_kind})" for d in jax.devices()]
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return [d.name for d in gpus or tf.config.list_physical_devices("CPU")]
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        return ["cpu"]
    return [backend]


def backend_settings() -> dict[str, Any]:
    """Return the backend facts that bear on the numbers (versions, matmul precision)."""
    settings: dict[str, Any] = {
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
    if settings["backend"] == "jax":
        import jax

        settings["jax"] = jax.__version__
        settings["jax_platform"] = jax.default_backend()
        settings["jax_default_matmul_precision"] = str(jax.config.jax_default_matmul_precision)
    elif settings["backend"] == "tensorflow":
        import tensorflow as tf

        settings["tensorflow"] = tf.__version__
    return settings


def matmul_flops_per_s(n: int, repeats: int, dtype: str, seed: int = 0) -> float:
    """FLOP/s of ``repeats`` back-to-back ``n x n`` products (2 n^3 FLOPs each).

    One product warms up (and compiles) first; the clock stops after the last product's
    corner has been copied to the host, which waits for all of them.
    """
    rng = np.random.default_rng(seed)
    a = ops.cast(ops.convert_to_tensor(rng.standard_normal((n, n), dtype=np.float32)), dtype)
    b = ops.cast(ops.convert_to_tensor(rng.standard_normal((n, n), dtype=np.float32)), dtype)
    ops.convert_to_numpy(ops.matmul(a, b)[:1, :1])
    start = time.perf_counter()
    for _ in range(repeats):
        c = ops.matmul(a, b)
    ops.convert_to_numpy(c[:1, :1])
    return 2 * n**3 * repeats / (time.perf_counter() - start)


def build_training_model(model_name: str, size: int, seed: int) -> tuple[keras.Model, int]:
    """Return the model a run trains (as ``mammo_lib.train.run.build_training_model`` with
    the default config) and the classifier's training FLOPs per image."""
    classifier = build_model(model_name, input_size=size, n_classes=2)
    inputs = keras.Input((size, size, 1), dtype="uint8", name="tile")
    x = InputScaling("unit", name="scaling")(inputs)
    x = RandomDihedral(seed=seed, name="augment")(x)
    model = keras.Model(inputs, classifier(x), name=f"{model_name}_run")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3, epsilon=1e-8),
        loss=WeightedCrossEntropy(POS_WEIGHT),
    )
    return model, training_flops(classifier)


def measure_training(
    model_name: str,
    size: int,
    policy: str,
    batch: int,
    warmup: int,
    steps: int,
    seed: int,
    cross_check: bool = False,
) -> dict[str, Any]:
    """Build, compile and train one model under one dtype policy; return its rates.

    All warm-up and timed steps go through ``model.fit``; with `cross_check`, ``steps``
    more ``train_on_batch`` calls are timed too (on JAX that traces and compiles the step
    a second time: ``fit`` and ``train_on_batch`` do not share the compiled function).
    """
    keras.backend.clear_session()
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(seed)
    model, flops = build_training_model(model_name, size, seed)
    rng = np.random.default_rng(seed)
    n = batch * max(steps, warmup)
    x = rng.integers(0, 256, (n, size, size, 1), dtype=np.uint8)
    y = (rng.random(n) < 0.2).astype(np.int32)
    fit_kw = {"batch_size": batch, "epochs": 1, "shuffle": False, "verbose": 0}

    def fit(n_steps: int) -> tuple[float, float]:
        # fit returns the epoch's mean loss as a host float: the device work is done.
        start = time.perf_counter()
        history = model.fit(x[: n_steps * batch], y[: n_steps * batch], **fit_kw)
        return time.perf_counter() - start, float(history.history["loss"][-1])

    compile_s, first_loss = fit(1)  # trace, compile and one step
    warmup_s = fit(warmup - 1)[0] if warmup > 1 else 0.0
    fit_s, last_loss = fit(steps)
    fit_rate = steps * batch / fit_s
    row = {
        "model": model_name,
        "size": size,
        "policy": policy,
        "compute_dtype": keras.mixed_precision.dtype_policy().compute_dtype,
        "batch": batch,
        "warmup": warmup,
        "steps": steps,
        "params": int(model.count_params()),
        "train_flops_per_image": flops,
        "compile_s": compile_s,
        "warmup_s": warmup_s,
        "fit_images_per_s": fit_rate,
        "model_flops_per_s": fit_rate * flops,
        "first_loss": first_loss,
        "last_loss": last_loss,
    }
    if cross_check:
        start = time.perf_counter()
        model.train_on_batch(x[:batch], y[:batch])
        row["train_on_batch_compile_s"] = time.perf_counter() - start
        start = time.perf_counter()
        for i in range(steps):
            loss = model.train_on_batch(
                x[i * batch : (i + 1) * batch], y[i * batch : (i + 1) * batch]
            )
            float(np.asarray(loss))  # the loss comes back to the host: the step is done
        row["train_on_batch_images_per_s"] = steps * batch / (time.perf_counter() - start)
    return row


def describe(row: dict[str, Any]) -> str:
    """Return one line on a (model, size, policy) result, as it comes."""
    head = f"{row['model']} {row['size']} {row['policy']}:"
    if "error" in row:
        return f"{head} {row['error'][:300]}"
    return (
        f"{head} compile+first step {row['compile_s']:.1f} s, "
        f"warm-up {row['warmup_s']:.1f} s, fit {row['fit_images_per_s']:.1f} img/s, "
        f"train_on_batch {row.get('train_on_batch_images_per_s', float('nan')):.1f} img/s, "
        f"{row['model_flops_per_s'] / 1e12:.3f} TFLOP/s, "
        f"loss {row['first_loss']:.3f} -> {row['last_loss']:.3f}"
    )


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """Write `payload` as JSON to `path` through a temporary name and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(tmp, path)


def print_table(results: list[dict[str, Any]], matmul: dict[str, float]) -> None:
    """Print one line per (size, model, policy) and the mixed / float32 speed-ups."""
    print(
        f"\n{'model':<18}{'size':>5} {'policy':<15}{'compile s':>10}{'img/s':>9}{'tob img/s':>10}"
        f"{'GFLOP/img':>10}{'TFLOP/s':>9}{'matmul TF/s':>12}{'ratio':>7}"
    )
    base = {
        (r["model"], r["size"]): r["fit_images_per_s"]
        for r in results
        if r["policy"] == "float32" and "error" not in r
    }
    speedups = []
    for r in results:
        head = f"{r['model']:<18}{r['size']:>5} {r['policy']:<15}"
        if "error" in r:
            print(f"{head}{r['error'][:80]}")
            continue
        mm = matmul.get(r["compute_dtype"], float("nan"))
        tob = r.get("train_on_batch_images_per_s")
        print(
            f"{head}{r['compile_s']:>10.1f}{r['fit_images_per_s']:>9.1f}"
            + (f"{tob:>10.1f}" if tob is not None else f"{'-':>10}")
            + f"{r['train_flops_per_image'] / 1e9:>10.2f}{r['model_flops_per_s'] / 1e12:>9.2f}"
            f"{mm / 1e12:>12.1f}{r['model_flops_per_s'] / mm:>7.2f}"
        )
        key = (r["model"], r["size"])
        if r["policy"] != "float32" and key in base:
            speedups.append((key, r["policy"], r["fit_images_per_s"] / base[key]))
    if speedups:
        print("\nspeed-up over float32 (fit img/s):")
        for (model, size), policy, ratio in speedups:
            print(f"  {model:<18}{size:>5} {policy:<15}{ratio:6.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[299])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--policies", nargs="+", default=list(POLICIES), choices=POLICIES)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps, compile included")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per measure")
    parser.add_argument("--matmul-size", type=int, default=4096)
    parser.add_argument("--matmul-repeats", type=int, default=10)
    parser.add_argument(
        "--time-budget", type=float, default=None, help="seconds; skip what would end later"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--cross-check", action="store_true", help="also time train_on_batch (a second compile)"
    )
    parser.add_argument("--json", type=Path, default=None, help="write all numbers here")
    args = parser.parse_args()
    if args.warmup < 1 or args.steps < 1:
        parser.error("--warmup and --steps must be at least 1")

    t0 = time.perf_counter()
    settings = backend_settings()
    devices = device_description()
    print(" ".join(f"{k}={v}" for k, v in settings.items()))
    print(f"devices: {devices}")
    dtypes = sorted({keras.mixed_precision.Policy(p).compute_dtype for p in args.policies})
    payload: dict[str, Any] = {
        "settings": settings,
        "devices": devices,
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "argv": sys.argv,
        "matmul_before": {},
        "matmul_after": {},
        "matmul_flops_per_s": {},
        "results": [],
    }

    def save() -> None:
        if args.json is not None:
            payload["elapsed_s"] = time.perf_counter() - t0
            write_json_atomic(args.json, payload)

    def measure_matmul(key: str) -> None:
        for dtype in dtypes:
            rate = matmul_flops_per_s(args.matmul_size, args.matmul_repeats, dtype, args.seed)
            payload[key][dtype] = rate
            print(f"matmul {dtype} {args.matmul_size}^2: {rate / 1e12:.2f} TFLOP/s ({key})")
        save()

    measure_matmul("matmul_before")
    results: list[dict[str, Any]] = payload["results"]
    durations: dict[tuple[str, int], float] = {}
    for size in args.sizes:
        for model_name in args.models:
            for policy in args.policies:
                row: dict[str, Any] = {"model": model_name, "size": size, "policy": policy}
                # Expected duration: this model's last measure, else the longest so far.
                expected = durations.get((model_name, size), max(durations.values(), default=0))
                started = time.perf_counter()
                if args.time_budget is not None and started - t0 + expected > args.time_budget:
                    row["error"] = (
                        f"skipped: would end after the time budget ({started - t0:.0f} s "
                        f"+ about {expected:.0f} s > {args.time_budget:.0f} s)"
                    )
                else:
                    try:
                        row = measure_training(
                            model_name,
                            size,
                            policy,
                            args.batch,
                            args.warmup,
                            args.steps,
                            args.seed,
                            args.cross_check,
                        )
                    except Exception as error:  # recorded; the run goes on
                        row["error"] = f"{type(error).__name__}: {error}".replace("\n", " ")
                        row["traceback"] = traceback.format_exc()
                if not row.get("error", "").startswith("skipped"):
                    row["wall_s"] = durations[model_name, size] = time.perf_counter() - started
                results.append(row)
                print(describe(row), flush=True)
                save()
    keras.mixed_precision.set_global_policy("float32")
    measure_matmul("matmul_after")
    payload["matmul_flops_per_s"] = {
        d: (payload["matmul_before"][d] + payload["matmul_after"][d]) / 2 for d in dtypes
    }
    for row in results:
        if "error" not in row:
            mm = payload["matmul_flops_per_s"][row["compute_dtype"]]
            row["matmul_flops_per_s"] = mm
            row["model_over_matmul"] = row["model_flops_per_s"] / mm
    save()
    print_table(results, payload["matmul_flops_per_s"])
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
