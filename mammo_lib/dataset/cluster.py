"""A local ``dask.distributed`` cluster set up for extraction work.

dask's nanny starts every worker with ``MALLOC_TRIM_THRESHOLD_=65536``
(``distributed.nanny.pre-spawn-environ``), which keeps idle workers small. Setting it also
turns off glibc's adaptive ``mmap`` threshold, so each of an extraction task's large transient
arrays (a decoded scan is 20-40 MB, a crop 0.3 MB) is mapped fresh and page-faulted in again
on every task. On this project's workload that costs 25-40% more CPU per scan
(``benchmarks/extract.py`` counts the page faults and measures both settings).
:func:`local_cluster` starts workers without it; for a cluster of your own, put
``MALLOC_TRIM_THRESHOLD_: null`` under ``distributed.nanny.pre-spawn-environ`` in its dask
configuration.
"""

from __future__ import annotations

import os
from typing import Any

import dask

#: The variable dask's nanny sets in its workers by default.
TRIM_VARIABLE = "MALLOC_TRIM_THRESHOLD_"


def local_cluster(n_workers: int = 2, *, trim_env: bool = False, **kwargs: Any) -> Any:
    """Start a ``distributed.LocalCluster`` of single-threaded worker processes.

    Parameters
    ----------
    n_workers
        Worker processes.
    trim_env
        Keep dask's default ``MALLOC_TRIM_THRESHOLD_`` in the workers (for comparison only).
    **kwargs
        Passed to ``LocalCluster`` (e.g. ``memory_limit``).

    Returns
    -------
    distributed.LocalCluster
        Use it as a context manager, or close it.
    """
    import distributed

    if n_workers < 1:
        raise ValueError(f"n_workers must be at least 1, got {n_workers}")
    options = {"threads_per_worker": 1, "processes": True, "dashboard_address": None, **kwargs}
    config = {} if trim_env else {f"distributed.nanny.pre-spawn-environ.{TRIM_VARIABLE}": None}
    # the nanny writes its variables into this process's environment before spawning, and
    # children inherit it: drop a value an earlier cluster left there
    inherited = os.environ.pop(TRIM_VARIABLE, None) if not trim_env else None
    try:
        with dask.config.set(config):
            return distributed.LocalCluster(n_workers=n_workers, **options)
    finally:
        if inherited is not None:
            os.environ[TRIM_VARIABLE] = inherited
