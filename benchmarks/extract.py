"""Benchmark: recipe 9 extraction on synthetic full-size scans, 1 process vs 2 Dask workers.

Prints full-size scans per second for (a) one process running every task in turn and (b) a
``distributed.LocalCluster`` with two single-threaded worker processes, their ratio, the
serial shard-writing rate, and the extrapolation to a CBIS-DDSM-scale build (3,103 full
scans plus the DDSM normal views). Both runs start from an empty task cache and must give
identical task results.

Usage::

    .venv/bin/python benchmarks/extract.py [--cases 8] [--seed 0] [--repeat 1]
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import tempfile
import time
from functools import partial
from pathlib import Path

#: CBIS-DDSM full mammograms, and DDSM normal views (695 normal cases x 4 views).
CBIS_SCANS = 3103
DDSM_NORMAL_VIEWS = 2780


def _timed(task, function):
    """Run one task and add the CPU seconds its process spent on it."""
    start = time.process_time()
    result = function(task)
    return {**result, "cpu_s": time.process_time() - start, "kind": task.kind}


def _time_tasks(tasks, function, scheduler) -> tuple[float, list[dict]]:
    from mammo_lib.dataset.build import run_tasks

    start = time.perf_counter()
    results = run_tasks(tasks, partial(_timed, function=function), scheduler, progress=False)
    return time.perf_counter() - start, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=8, help="synthetic CBIS full scans (8)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import distributed

    from mammo_lib.dataset.build import DatasetInputs, plan
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
    try:
        one, two = scratch / "one", scratch / "two"
        f_one = partial(run_task, recipe=recipe, seed=args.seed, cache_dir=str(one))
        f_two = partial(run_task, recipe=recipe, seed=args.seed, cache_dir=str(two))
        t_one, results = _time_tasks(tasks, f_one, "sync")
        with (
            distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            client.run(lambda: __import__("mammo_lib.dataset.tasks"))  # warm imports
            t_two, results_two = _time_tasks(tasks, f_two, client)
        names = sorted(p.name for p in one.glob("*.pkl"))
        same = names == sorted(p.name for p in two.glob("*.pkl")) and all(
            filecmp.cmp(one / n, two / n, shallow=False) for n in names
        )
        # serial part: shard writing from the cached results (the rest of build_dataset)
        from mammo_lib.dataset.tasks import load_result
        from mammo_lib.dataset.tfrecord import write_shard

        records = [r for n in names for r in load_result(one / n)["records"]]
        t0 = time.perf_counter()
        write_shard(scratch / "bench.tfrecord", records)
        t_write = time.perf_counter() - t0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    rate_one, rate_two = len(tasks) / t_one, len(tasks) / t_two
    tiles_per_scan = len(records) / len(tasks)
    write_rate = len(records) / t_write
    total = CBIS_SCANS + DDSM_NORMAL_VIEWS
    extrapolated = total / rate_two + total * tiles_per_scan / write_rate
    print(
        f"cpu cores: {os.cpu_count()}; load average at the end: "
        f"{', '.join(f'{v:.1f}' for v in os.getloadavg())} (other processes share the cores)"
    )
    print(f"one process:        {t_one:7.1f} s  {rate_one:6.3f} scans/s")
    print(f"2-worker cluster:   {t_two:7.1f} s  {rate_two:6.3f} scans/s")
    print(f"speed-up (2 workers / 1 process): {rate_two / rate_one:.2f}x  (goal >= 1.7x)")
    print(f"identical task results: {same}")
    cores_one = sum(r["cpu_s"] for r in results) / t_one
    cores_two = sum(r["cpu_s"] for r in results_two) / t_two
    print(
        f"cores obtained (task CPU seconds / wall seconds): one process {cores_one:.2f}, "
        f"2-worker cluster {cores_two:.2f}; the speed-up cannot exceed their ratio "
        f"{cores_two / cores_one:.2f}"
    )
    print(
        f"tiles per scan before balancing: {tiles_per_scan:.1f}; "
        f"shard writing {write_rate:.0f} tiles/s (serial)"
    )
    cpu = {k: [r["cpu_s"] for r in results if r["kind"] == k] for k in ("cbis", "ddsm")}
    cpu_mean = {k: sum(v) / len(v) for k, v in cpu.items() if v}
    cpu_total = CBIS_SCANS * cpu_mean.get("cbis", 0) + DDSM_NORMAL_VIEWS * cpu_mean.get("ddsm", 0)
    print(
        "CPU seconds per scan (one process, independent of other load): "
        + ", ".join(f"{k} {v:.2f}" for k, v in cpu_mean.items())
    )
    print(
        f"CBIS-DDSM scale from CPU time: {cpu_total / 60:.1f} CPU-minutes, so at best "
        f"{cpu_total / 2 / 60:.1f} min on 2 fully available cores"
    )
    print(
        f"CBIS-DDSM scale ({CBIS_SCANS} CBIS + {DDSM_NORMAL_VIEWS} DDSM normal views = {total} "
        f"scans): about {extrapolated / 60:.1f} min with 2 workers (goal < 10 min)"
    )


if __name__ == "__main__":
    main()
