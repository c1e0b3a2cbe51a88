"""The statistics-matched test: normals chosen to look like the lesions to image statistics.

Each abnormal tile is paired with the normal tile nearest to it in the space of the
baseline's own features (:func:`mammo_lib.evaluate.shortcut.tile_statistics`, each feature
standardised), drawn with replacement. On the matched set a classifier that sees only those
statistics is near chance by construction (its AUC near 0.5), so what a ConvNet still
separates there is evidence of the lesion beyond brightness and texture.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors


def matched_negatives(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Return, for every positive row in order, the index of its nearest negative row.

    Parameters
    ----------
    features
        ``[n, d]`` baseline features (e.g. per-tile image statistics).
    labels
        Binary label per row.

    Returns
    -------
    numpy.ndarray
        Row indices of negatives, one per positive (with replacement), Euclidean distance
        on features standardised by their mean and standard deviation over all rows.
    """
    x = np.asarray(features, dtype=float)
    y = np.asarray(labels).astype(bool)
    if x.ndim != 2 or len(x) != len(y):
        raise ValueError(f"features {x.shape} and labels ({len(y)}) do not match")
    if not y.any() or y.all():
        raise ValueError("matching needs both positive and negative rows")
    scale = x.std(axis=0)
    z = (x - x.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    negatives = np.flatnonzero(~y)
    nn = NearestNeighbors(n_neighbors=1).fit(z[negatives])
    _, nearest = nn.kneighbors(z[y])
    return negatives[nearest[:, 0]]


def matched_rows(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Row indices of the matched set: every positive, then its matched negative."""
    y = np.asarray(labels).astype(bool)
    return np.concatenate([np.flatnonzero(y), matched_negatives(features, labels)])


def matched_table(
    features: np.ndarray,
    first: pd.DataFrame,
    second: pd.DataFrame,
    names: tuple[str, str] = ("convnet", "statistics"),
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Both classifiers' AUC on the statistics-matched set (all lesion tiles), with intervals.

    See :func:`mammo_lib.evaluate.mias_cv.paired_auc_table`; the matched set is
    :func:`matched_rows` of `features` and the tiles' labels.
    """
    from mammo_lib.evaluate.mias_cv import paired_auc_table

    rows = matched_rows(features, first["label_binary"].to_numpy())
    return paired_auc_table(
        first, second, names, classes=("all",), rows=rows, n_boot=n_boot, seed=seed
    )
