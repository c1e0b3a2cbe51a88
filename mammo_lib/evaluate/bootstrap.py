"""Bootstrap confidence intervals resampled by patient (cluster bootstrap).

Tiles cut from one woman's scans are not independent: they share her anatomy, her scanner
and, for the abnormal ones, often the same lesion. Resampling tiles as if they were
independent makes intervals too narrow. The cluster bootstrap draws patients with
replacement and keeps all of a drawn patient's rows (Efron and Tibshirani 1993, ch. 8);
percentile intervals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mammo_lib.evaluate.metrics import BINARY_METRICS, binary_metrics

Statistic = Callable[..., float | dict[str, float]]


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap percentile interval.

    Attributes
    ----------
    estimate
        The statistic on the full data.
    low, high
        The interval's bounds.
    level
        Coverage, e.g. 0.95.
    n_valid
        Replicates on which the statistic was defined (e.g. both classes present for an AUC).
    n_boot
        Replicates drawn.
    """

    estimate: float
    low: float
    high: float
    level: float
    n_valid: int
    n_boot: int

    def __str__(self) -> str:
        return f"{self.estimate:.3f} [{self.low:.3f}, {self.high:.3f}]"


def group_indices(groups: Sequence | np.ndarray | None, n: int) -> list[np.ndarray]:
    """Return, for each distinct group (in order of first appearance), the row indices it holds.

    ``groups=None`` makes every row its own group (the ordinary row bootstrap).
    """
    if groups is None:
        return [np.array([i]) for i in range(n)]
    g = np.asarray(groups)
    if len(g) != n:
        raise ValueError(f"groups has {len(g)} entries for {n} rows")
    if pd.isna(g).any():
        raise ValueError(f"groups holds {int(pd.isna(g).sum())} missing ids")
    codes, uniques = pd.factorize(g)
    order = np.argsort(codes, kind="stable")
    bounds = np.cumsum(np.bincount(codes, minlength=len(uniques)))[:-1]
    return np.split(order, bounds)


def bootstrap_replicates(
    statistic: Statistic,
    arrays: Sequence[np.ndarray],
    groups: Sequence | np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Return the statistic on `n_boot` cluster-bootstrap resamples, one row per replicate.

    Parameters
    ----------
    statistic
        ``statistic(*resampled_arrays)`` returning a float or a dict of floats; NaN marks a
        replicate on which it is undefined.
    arrays
        Row-aligned arrays (same first dimension), resampled together.
    groups
        Cluster id per row (patient id); None resamples rows.
    n_boot
        Number of replicates.
    seed
        Seed of the generator that draws the clusters.
    """
    arrays = [np.asarray(a) for a in arrays]
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"arrays differ in length: {[len(a) for a in arrays]}")
    idx = group_indices(groups, n)
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_boot):
        pick = rng.integers(0, len(idx), size=len(idx))
        take = np.concatenate([idx[k] for k in pick])
        value = statistic(*(a[take] for a in arrays))
        rows.append(value if isinstance(value, dict) else {"value": value})
    return pd.DataFrame(rows, dtype=float)


def _interval(estimate: float, values: np.ndarray, level: float, n_boot: int) -> Interval:
    ok = values[np.isfinite(values)]
    alpha = (1.0 - level) / 2.0
    if len(ok) == 0:
        low = high = float("nan")
    else:
        low, high = (float(v) for v in np.quantile(ok, [alpha, 1.0 - alpha]))
    return Interval(float(estimate), low, high, level, int(len(ok)), n_boot)


def bootstrap_ci(
    statistic: Statistic,
    arrays: Sequence[np.ndarray],
    groups: Sequence | np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> Interval | dict[str, Interval]:
    """Return the statistic with its cluster-bootstrap percentile interval.

    Parameters are those of :func:`bootstrap_replicates`, plus `level` (coverage). Returns an
    :class:`Interval`, or a dict of them when `statistic` returns a dict.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    full = statistic(*(np.asarray(a) for a in arrays))
    reps = bootstrap_replicates(statistic, arrays, groups=groups, n_boot=n_boot, seed=seed)
    if not isinstance(full, dict):
        return _interval(full, reps["value"].to_numpy(), level, n_boot)
    return {k: _interval(v, reps[k].to_numpy(), level, n_boot) for k, v in full.items()}


def binary_metrics_ci(
    y_true: Sequence[int] | np.ndarray,
    y_score: Sequence[float] | np.ndarray,
    groups: Sequence | np.ndarray | None,
    threshold: float = 0.5,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    metrics: Sequence[str] = BINARY_METRICS,
) -> pd.DataFrame:
    """Return the binary metrics with patient-bootstrap intervals, one row per metric.

    Parameters
    ----------
    y_true, y_score
        As for :func:`~mammo_lib.evaluate.metrics.binary_metrics`.
    groups
        Patient id per row (None: row bootstrap).
    threshold, n_boot, seed, level
        Decision threshold, replicates, seed, coverage.
    metrics
        Which of :data:`~mammo_lib.evaluate.metrics.BINARY_METRICS` to report.

    Returns
    -------
    pandas.DataFrame
        Index ``metric``; columns ``estimate, low, high, n_valid``.
    """
    unknown = set(metrics) - set(BINARY_METRICS)
    if unknown:
        raise ValueError(f"unknown metrics {sorted(unknown)}; known: {BINARY_METRICS}")
    wanted = list(metrics)

    def stat(y: np.ndarray, s: np.ndarray) -> dict[str, float]:
        m = binary_metrics(y, s, threshold=threshold)
        return {k: m[k] for k in wanted}

    cis = bootstrap_ci(
        stat, [np.asarray(y_true), np.asarray(y_score, dtype=float)], groups, n_boot, seed, level
    )
    return interval_table(cis)


def interval_table(cis: dict[str, Interval]) -> pd.DataFrame:
    """Return a dict of intervals as a table with columns ``estimate, low, high, n_valid``."""
    return pd.DataFrame(
        {
            k: {"estimate": v.estimate, "low": v.low, "high": v.high, "n_valid": v.n_valid}
            for k, v in cis.items()
        }
    ).T.rename_axis("metric")
