"""The study's published figures, for side-by-side tables, and what its own notebooks show.

These numbers are Scuccimarra's (2018), not ours: the results of "ConvNets for Detection of
Abnormalities in Mammograms" (bibliography key ``scuccimarra2018``), its Tables 1-3. The
study computed each as the mean, over the batches of a shuffled test set, of TF1 streaming
metrics that were reset once before the loop: every batch's value was the running
(cumulative) metric so far, so early batches count many times and the figure changes with
the order of the batches. Its test sets took their normal tiles from a different scanner
pipeline than the abnormal ones. They are not comparable with dataset-level metrics and are
shown for reference only.

:data:`REEVALUATED` holds what the study's own ``convnet_1.0.0.35b.ipynb`` printed when it
restored the same checkpoint and evaluated it again; :data:`MIAS_NORMAL_SHARE` the share of
normal tiles in its MIAS set (``crop_mias_images_9.ipynb``); :data:`TEST9_CLASS_SHARES` the
classes of its dataset-9 test split (``write_to_tfrecords_9.ipynb``), which held no
calcification.
"""

from __future__ import annotations

import pandas as pd

#: Bibliography key of the source of every number in this module.
CITATION = "scuccimarra2018"

#: ``(table, dataset, model) -> {metric: value}`` as published. The 5-class row is model
#: 1.0.0.29n (Table 2), not 1.0.0.35; the VGG-16 and Inception rows are the study's
#: vgg_16.3.06 and inception_v4.05 (Tables 1 and 3).
PUBLISHED: dict[tuple[str, str, str], dict[str, float]] = {
    ("binary", "9", "1.0.0.35b.98"): {"accuracy": 0.9571, "recall": 0.9012},
    ("binary", "9", "vgg_16.3.06b.9"): {"accuracy": 0.8138, "recall": 0.9884},
    ("binary", "9", "inception_v4.05b.9"): {"accuracy": 0.1828, "recall": 1.0},
    ("multiclass", "6", "1.0.0.29n"): {"accuracy": 0.9142, "recall": 0.9353},
    ("mias", "MIAS", "1.0.0.35b.98"): {"accuracy": 0.8883, "recall": 0.8081},
    ("mias", "MIAS", "vgg_16.3.06b.9"): {"accuracy": 0.4357, "recall": 0.9884},
}

#: The same checkpoint (model_s1.0.0.35b.98) evaluated again in the study's
#: convnet_1.0.0.35b.ipynb: ``(table, dataset, model) -> {metric: value}``.
REEVALUATED: dict[tuple[str, str, str], dict[str, float]] = {
    ("binary", "9", "1.0.0.35b.98"): {"accuracy": 0.9554958, "recall": 0.8491812},
    ("mias", "MIAS", "1.0.0.35b.98"): {"accuracy": 0.88686436, "recall": 0.7967232},
}

#: Share of normal tiles in the study's MIAS set (value counts of crop_mias_images_9.ipynb):
#: the accuracy of calling every tile normal.
MIAS_NORMAL_SHARE = 0.883902

#: Class shares of the study's dataset-9 test split (write_to_tfrecords_9.ipynb value counts;
#: codes 0 normal, 2 benign mass, 4 malignant mass): no calcification (codes 1 and 3).
TEST9_CLASS_SHARES: dict[int, float] = {0: 0.833306, 2: 0.100815, 4: 0.065879}


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
