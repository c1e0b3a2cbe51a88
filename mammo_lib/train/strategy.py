"""Choosing a ``tf.distribute`` strategy by name."""

from __future__ import annotations

import tensorflow as tf

STRATEGIES: tuple[str, ...] = ("default", "mirrored", "multi_worker")


def get_strategy(name: str = "default") -> tf.distribute.Strategy:
    """Return a distribution strategy.

    Parameters
    ----------
    name
        ``"default"`` (one device), ``"mirrored"`` (synchronous data parallelism over all
        local GPUs, or the CPU when there are none) or ``"multi_worker"`` (synchronous over
        the machines described by the ``TF_CONFIG`` environment variable).
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown strategy {name!r}; known: {', '.join(STRATEGIES)}")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run folder (always, except non-chief workers)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief
