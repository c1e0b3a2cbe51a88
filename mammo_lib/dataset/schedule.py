"""Running a build's per-scan tasks on Dask: local threads, processes or a cluster.

:func:`run_tasks` runs one function over the tasks of a :class:`~mammo_lib.dataset.plan.Plan`
and returns the results in task order, whichever scheduler runs them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from tqdm.auto import tqdm

from mammo_lib.dataset.tasks import ScanTask


def run_tasks(
    tasks: Sequence[ScanTask],
    function: Callable[[ScanTask], dict],
    scheduler: Any = None,
    *,
    progress: bool = True,
    desc: str = "scans",
) -> list[dict]:
    """Run ``function(task)`` for every task on Dask; return the results in task order.

    Parameters
    ----------
    scheduler
        None or ``"threads"`` (local threads), ``"sync"``/``"synchronous"`` (this thread),
        ``"processes"``, ``"local:N"`` (a ``dask.distributed`` cluster of N worker processes
        started for this call, see :func:`mammo_lib.dataset.cluster.local_cluster`), a
        ``dask.distributed`` scheduler address (``"tcp://..."``), or a ``distributed.Client``.
    progress
        Show a tqdm progress bar.
    """
    if not tasks:
        return []
    bar = tqdm(total=len(tasks), desc=desc, disable=not progress, unit="scan")
    try:
        if scheduler is None or scheduler in ("threads", "sync", "synchronous", "processes"):
            import dask
            from dask.callbacks import Callback

            class _Progress(Callback):
                def _posttask(self, key, result, dsk, state, id):  # noqa: A002
                    bar.update(1)

            delayed = [
                dask.delayed(function, pure=False)(t, dask_key_name=f"scan-{i}")
                for i, t in enumerate(tasks)
            ]
            with _Progress():
                return list(dask.compute(*delayed, scheduler=scheduler or "threads"))
        from distributed import Client, as_completed

        with contextlib.ExitStack() as stack:  # closes the client, then any cluster started
            if isinstance(scheduler, str) and scheduler.startswith("local:"):
                from mammo_lib.dataset.cluster import local_cluster

                try:
                    n_workers = int(scheduler.split(":", 1)[1])
                except ValueError:
                    raise ValueError(
                        f"scheduler {scheduler!r}: expected local:N, N workers"
                    ) from None
                scheduler = stack.enter_context(local_cluster(n_workers)).scheduler_address
            if isinstance(scheduler, Client):
                client = scheduler
            else:
                client = stack.enter_context(Client(scheduler))
            futures = client.map(function, list(tasks), pure=False)
            for _ in as_completed(futures):
                bar.update(1)
            return client.gather(futures)
    finally:
        bar.close()
