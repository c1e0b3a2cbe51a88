"""The real-data targets of the MIAS chapter and the words for whether they were met."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Target:
    """One target: a quantity that must reach ``goal`` (its interval's ``low`` if ``on_low``)."""

    key: str
    label: str
    goal: float
    on_low: bool = False


#: The targets of issue 11 (the ``paper`` profile's aims; the quick profile is held to the
#: first only: a tile AUC above the statistics with the interval's lower bound above zero).
TARGETS: tuple[Target, ...] = (
    Target("tile_difference", "tile AUC, ConvNet minus statistics (lower bound)", 0.0, True),
    Target("tile_auc", "tile AUC", 0.95),
    Target("matched_auc", "statistics-matched tile AUC", 0.85),
    Target("scan_auc", "scan-level AUC", 0.85),
    Target("mass_sensitivity", "mass sensitivity at 1 false positive per scan", 0.80),
    # the same maps, each breast scored against the woman's other one (scan.bilateral)
    Target("scan_auc_bilateral", "scan-level AUC, breasts compared", 0.85),
    Target(
        "mass_sensitivity_bilateral",
        "mass sensitivity at 1 false positive per scan, breasts compared",
        0.80,
    ),
    # the whole-film detector's maps (train.scan_detector), each film alone
    Target("scan_auc_film", "scan-level AUC, whole-film detector", 0.85),
    Target(
        "mass_sensitivity_film",
        "mass sensitivity at 1 false positive per scan, whole-film detector",
        0.80,
    ),
)


def target_table(reached: Mapping[str, tuple[float, float, float]]) -> pd.DataFrame:
    """One row per target: goal, reached (estimate, low, high) and whether it was met.

    Parameters
    ----------
    reached
        ``key -> (estimate, low, high)``; targets without an entry are left out.
    """
    rows = []
    for t in TARGETS:
        if t.key not in reached:
            continue
        est, low, high = reached[t.key]
        value = low if t.on_low else est
        rows.append(
            {
                "target": t.label,
                "goal": (">" if t.on_low else ">= ") + f"{t.goal:g}",
                "reached": f"{est:.3f} [{low:.3f}, {high:.3f}]",
                "met": bool(value > t.goal) if t.on_low else bool(value >= t.goal),
            }
        )
    return pd.DataFrame(rows)


def verdict(table: pd.DataFrame) -> str:
    """A sentence on the targets: which were met and which were missed."""
    met = list(table.loc[table["met"], "target"])
    missed = list(table.loc[~table["met"], "target"])
    if not missed:
        return "every target of this profile was met"
    if not met:
        return "no target was met: " + "; ".join(missed)
    return "met: " + "; ".join(met) + ". Missed: " + "; ".join(missed)
