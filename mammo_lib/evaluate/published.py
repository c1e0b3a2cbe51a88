"""The study's published figures, for side-by-side tables.

These numbers are Scuccimarra's (2018), not ours: the headline results of "ConvNets for
Detection of Abnormalities in Mammograms" (bibliography key ``scuccimarra2018``). The study
computed them as means of per-batch streaming metrics on test sets whose normal tiles came
from a different scanner pipeline than the abnormal ones, so they are not directly
comparable with dataset-level metrics; they are shown for reference. Only the figures quoted
in the project's design notes are recorded; NaN marks a cell the study's write-up gives
that we have not transcribed.
"""

from __future__ import annotations

import pandas as pd

#: Bibliography key of the source of every number in this module.
CITATION = "scuccimarra2018"

#: ``(table, dataset, model) -> {metric: value}`` as published.
PUBLISHED: dict[tuple[str, str, str], dict[str, float]] = {
    ("binary", "9", "1.0.0.35b.98"): {"accuracy": 0.9571, "recall": 0.9012},
    ("multiclass", "6", "1.0.0.35"): {"accuracy": 0.9142, "recall": 0.9353},
    ("mias", "MIAS", "1.0.0.35b.98"): {"accuracy": 0.8883, "recall": 0.8081},
}


def published(table: str) -> pd.DataFrame:
    """Return the published figures of one table (``binary``, ``multiclass``, ``mias``).

    Returns
    -------
    pandas.DataFrame
        One row per (dataset, model) with the published metrics and ``source`` (the
        citation key).
    """
    rows = [
        {"dataset": d, "model": m, **values, "source": CITATION}
        for (t, d, m), values in PUBLISHED.items()
        if t == table
    ]
    if not rows:
        known = sorted({t for t, _, _ in PUBLISHED})
        raise KeyError(f"no published figures for table {table!r}; known: {known}")
    return pd.DataFrame(rows)
