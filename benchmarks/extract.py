"""Benchmark: recipe 9 extraction on synthetic full-size scans, 1 process vs 2 Dask workers.

Prints full-size scans per second for (a) one process running every task in turn, (b) the
default local scheduler (two threads: the decoders, NumPy and the PNG encoder release the
GIL) and (c) a ``distributed.LocalCluster`` with two single-threaded worker processes, as
:func:`mammo_lib.dataset.cluster.local_cluster` starts it and (d) with dask's default worker
environment, whose ``MALLOC_TRIM_THRESHOLD_`` makes every task page-fault its arrays in
again (the page faults are counted). All run in alternation ``--repeat`` times, so that each
speed-up is a ratio of runs made close together on this shared machine. Then the serial
shard-writing rate and the extrapolation to a CBIS-DDSM-scale build (3,103 full scans plus the
DDSM normal views). Every run starts from an empty task cache and all must give
byte-identical task results.

It also compares, in the same run, the two choices that set a DDSM worker's speed: the
lossless-JPEG decoders (CPU seconds per view, each checked bit-identical to the reference
pylibjpeg-libjpeg) and the tiles' PNG encoding (zlib level 1 through imagecodecs against the
level 3 through Pillow used before).

Usage::

    .venv/bin/python benchmarks/extract.py [--cases 32] [--seed 0] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import filecmp
import os
import shutil
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

#: The schedulers compared: this process, the default local threads, and a 2-process cluster
#: as :func:`mammo_lib.dataset.cluster.local_cluster` starts it and with dask's default worker
#: environment (``MALLOC_TRIM_THRESHOLD_=65536``).
SCHEDULERS = {
    "1 process": "sync",
    "2 threads": "threads",
    "2-worker cluster": "cluster",
    "2-worker, dask env": "cluster-dask-default",
}


def _minor_faults() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _page_faults(client) -> int:
    """Minor page faults so far of this process, or of the client's workers."""
    if client is None:
        return _minor_faults()
    return sum(client.run(_minor_faults).values())


#: CBIS-DDSM full mammograms, and DDSM normal views (695 normal cases x 4 views).
CBIS_SCANS = 3103
DDSM_NORMAL_VIEWS = 2780


def _timed(task, function):
    """Run one task and add the CPU seconds its thread spent on it (not the whole process)."""
    start = time.thread_time()
    result = function(task)
    return {**result, "cpu_s": time.thread_time() - start, "kind": task.kind}


def _time_tasks(tasks, function, scheduler) -> tuple[float, list[dict]]:
    from mammo_lib.dataset.schedule import run_tasks

    start = time.perf_counter()
    results = run_tasks(tasks, partial(_timed, function=function), scheduler, progress=False)
    return time.perf_counter() - start, results


def _best_cpu(function, *args, repeat: int = 2, **kwargs) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.process_time()
        out = function(*args, **kwargs)
        best = min(best, time.process_time() - start)
    return best, out


def compare_decoders(paths: list[str]) -> None:
    """CPU seconds per view of every LJPEG decoder; each must equal the reference."""
    import numpy as np

    from mammo_lib.imaging.ljpeg import LJPEG_DECODERS, read_ljpeg

    times: dict[str, list[float]] = {name: [] for name in LJPEG_DECODERS}
    identical = True
    for path in paths:
        reference = read_ljpeg(path, decoder="libjpeg")
        for name in LJPEG_DECODERS:
            cpu, image = _best_cpu(read_ljpeg, path, decoder=name)
            times[name].append(cpu)
            identical &= bool(np.array_equal(image, reference))
    ref = sum(times["libjpeg"]) / len(paths)
    print(f"LJPEG decoders on {len(paths)} full-size views (CPU s per view, speed-up vs libjpeg):")
    for name, values in times.items():
        mean = sum(values) / len(values)
        print(f"  {name:14s} {mean:6.3f} s  {ref / mean:5.2f}x")
    print(f"  all decoders bit-identical to the reference: {identical}")


def compare_png(records: list[dict]) -> None:
    """Tile PNG encoding: the level in use against Pillow at level 3 (the earlier choice)."""
    import io

    from PIL import Image

    from mammo_lib.dataset.png import PNG_LEVEL, decode_png, encode_png

    tiles = [decode_png(r["image"]) for r in records[:200]]

    def pillow3(tile) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(tile, mode="L").save(buffer, format="PNG", compress_level=3)
        return buffer.getvalue()

    t_new, new = _best_cpu(lambda: [encode_png(t) for t in tiles])
    t_old, old = _best_cpu(lambda: [pillow3(t) for t in tiles])
    size_new, size_old = sum(map(len, new)), sum(map(len, old))
    ms_new, ms_old = 1000 * t_new / len(tiles), 1000 * t_old / len(tiles)
    print(
        f"PNG tiles ({len(tiles)}): imagecodecs level {PNG_LEVEL} {ms_new:.2f} ms,"
        f" Pillow level 3 {ms_old:.2f} ms per tile ({t_old / t_new:.2f}x);"
        f" bytes {size_new / size_old:.3f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=32, help="synthetic CBIS full scans (32)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--repeat", type=int, default=3, help="alternating repeats of every scheduler (3)"
    )
    args = parser.parse_args()

    import distributed

    from mammo_lib.dataset.cluster import TRIM_VARIABLE, local_cluster
    from mammo_lib.dataset.plan import DatasetInputs, plan
    from mammo_lib.dataset.recipes import get_recipe
    from mammo_lib.dataset.tasks import run_task
    from mammo_lib.sources.synthetic import ensure_synthetic_tree

    t0 = time.perf_counter()
    root = ensure_synthetic_tree(args.cases, seed=args.seed, size="full")
    print(f"synthetic full-size tree: {root} ({time.perf_counter() - t0:.1f} s, cached after)")
    recipe = get_recipe("9", include_mias=False)
    inputs = DatasetInputs(
        cbis_root=root / "cbis-ddsm", cbis_tables=root / "cbis-ddsm", ddsm_root=root / "ddsm"
    )
    t0 = time.perf_counter()
    the_plan = plan(recipe, inputs, args.seed)
    t_plan = time.perf_counter() - t0
    tasks = the_plan.tasks
    n_cbis = sum(t.kind == "cbis" for t in tasks)
    n_ddsm = sum(t.kind == "ddsm" for t in tasks)
    print(
        f"recipe 9: {len(tasks)} full-size scans ({n_cbis} CBIS, {n_ddsm} DDSM normal views); "
        f"planning {t_plan:.1f} s"
    )

    scratch = Path(tempfile.mkdtemp(prefix="mammo-bench-"))
    runs: dict[str, list[tuple[float, list[dict]]]] = {name: [] for name in SCHEDULERS}
    faults: dict[str, list[int]] = {name: [] for name in SCHEDULERS}
    try:
        with contextlib.ExitStack() as stack:
            clients = {}
            for name, scheduler in SCHEDULERS.items():
                if scheduler.startswith("cluster"):
                    cluster = local_cluster(2, trim_env=scheduler == "cluster-dask-default")
                    stack.enter_context(cluster)
                    clients[name] = stack.enter_context(distributed.Client(cluster))
                    os.environ.pop(TRIM_VARIABLE, None)  # the nanny leaves it here; keep it out
            # Warm-up, untimed: imports, and each process's one-off check of the fast LJPEG
            # decoder against the reference, so the timed runs measure steady throughput.
            warm = [t for kind in ("cbis", "ddsm") for t in tasks if t.kind == kind][
                :: len(tasks) // 8
            ]
            for name, scheduler in SCHEDULERS.items():
                f = partial(
                    run_task, recipe=recipe, seed=args.seed, cache_dir=str(scratch / "warm")
                )
                _time_tasks(warm, f, clients.get(name, scheduler))
                shutil.rmtree(scratch / "warm")
            for rep in range(args.repeat):
                for name, scheduler in SCHEDULERS.items():
                    cache = scratch / f"{name.replace(' ', '-')}-{rep}"
                    f = partial(run_task, recipe=recipe, seed=args.seed, cache_dir=str(cache))
                    before = _page_faults(clients.get(name))
                    runs[name].append(_time_tasks(tasks, f, clients.get(name, scheduler)))
                    faults[name].append(_page_faults(clients.get(name)) - before)
        caches = sorted(scratch.iterdir())
        names = sorted(p.name for p in caches[0].glob("*.pkl"))
        same = all(
            names == sorted(p.name for p in c.glob("*.pkl"))
            and all(filecmp.cmp(caches[0] / n, c / n, shallow=False) for n in names)
            for c in caches[1:]
        )
        # serial part: shard writing from the cached results (the rest of build_dataset)
        from mammo_lib.dataset.tasks import load_result
        from mammo_lib.dataset.tfrecord import write_shard

        records = [r for n in names for r in load_result(caches[0] / n)["records"]]
        t0 = time.perf_counter()
        write_shard(scratch / "bench.tfrecord", records)
        t_write = time.perf_counter() - t0
        compare_png(records)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    compare_decoders([t.path for t in tasks if t.kind == "ddsm"][:4])

    print(
        f"cpu cores: {os.cpu_count()}; load average at the end: "
        f"{', '.join(f'{v:.1f}' for v in os.getloadavg())} (other processes share the cores)"
    )
    print(f"identical task results across all {len(caches)} runs: {same}")
    print(
        "scheduler           scans/s per repeat          median   cores obtained   "
        "page faults per scan"
    )
    rate: dict[str, float] = {}
    for name, results in runs.items():
        rates = [len(tasks) / t for t, _ in results]
        cores = [sum(r["cpu_s"] for r in res) / t for t, res in results]
        rate[name] = statistics.median(rates)
        per_scan = statistics.median(faults[name]) / len(tasks)
        print(
            f"{name:18s}  {' '.join(f'{r:6.2f}' for r in rates):26s}  {rate[name]:6.2f}   "
            f"{statistics.median(cores):14.2f}   {per_scan:8.0f}"
        )
    print(
        "  (cores obtained: task CPU seconds / wall seconds, median; page faults: minor faults "
        "of the processes running the tasks, median run)"
    )
    base = runs["1 process"]
    for name in list(SCHEDULERS)[1:]:
        paired = [t1 / t2 for (t1, _), (t2, _) in zip(base, runs[name], strict=True)]
        print(
            f"speed-up {name} / 1 process: median {statistics.median(paired):.2f}x, best "
            f"{max(paired):.2f}x over {len(paired)} paired repeats (goal >= 1.7x)"
        )
    results = [r for _, res in base for r in res]
    tiles_per_scan = len(records) / len(tasks)
    write_rate = len(records) / t_write
    print(
        f"tiles per scan before balancing: {tiles_per_scan:.1f}; "
        f"shard writing {write_rate:.0f} tiles/s (serial)"
    )
    cpu = {k: [r["cpu_s"] for r in results if r["kind"] == k] for k in ("cbis", "ddsm")}
    cpu_mean = {k: statistics.median(v) for k, v in cpu.items() if v}
    cpu_total = CBIS_SCANS * cpu_mean.get("cbis", 0) + DDSM_NORMAL_VIEWS * cpu_mean.get("ddsm", 0)
    print(
        "CPU seconds per scan (one process, median; independent of other load): "
        + ", ".join(f"{k} {v:.2f}" for k, v in cpu_mean.items())
    )
    total = CBIS_SCANS + DDSM_NORMAL_VIEWS
    write_min = total * tiles_per_scan / write_rate / 60
    print(
        f"CBIS-DDSM scale ({CBIS_SCANS} CBIS + {DDSM_NORMAL_VIEWS} DDSM normal views = {total} "
        f"scans), goal < 10 min on this 2-core machine:\n"
        f"  from CPU time: {cpu_total / 60:.1f} CPU-minutes, {cpu_total / 2 / 60 + write_min:.1f}"
        f" min on 2 fully available cores (+ {write_min:.1f} min serial shard writing)"
    )
    for name in list(SCHEDULERS)[1:]:
        wall = total / rate[name] / 60 + write_min
        print(f"  from the measured {name} rate (mix as above): {wall:.1f} min")


if __name__ == "__main__":
    main()
