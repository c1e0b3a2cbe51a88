"""A scan-level reading learned on training folds: a logistic regression on map summaries.

The chapter's two fixed readings score a film by its map's maximum, alone or less the
other breast's. This one learns how to weigh a few summaries of the film's own map and of
the woman's other film, all in logits (:data:`FEATURES`), with a standardised logistic
regression; for the scans of fold ``k`` it is fitted on the held-out maps of the other
folds' scans only, so no fold's labels reach its own scores. (Those maps were made by models
that did train on fold ``k``'s tiles: the regression sees none of its labels, but it is not
a fully nested fit; a nested one would train every fold's ConvNet again per inner fold.)

Its output is turned into a per-scan *reference* for
:func:`mammo_lib.scan.bilateral.referenced_tables`: every score of a film moves by the same
offset, so that its maximum becomes the regression's logit, its marks keep their order
within the film and the FROC points are recomputed across films.

>>> features = scan_features(cases, patients)  # doctest: +SKIP
>>> reference = learned_reference(features, labels, fold_of_scan)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mammo_lib.scan.bilateral import logit

#: The summaries of a film's map (own) and of its woman's other film(s) (``other_``), in
#: logits: maximum, 90th percentile and median of the breast's cells.
FEATURES = ("max", "q90", "median", "other_max", "other_q90", "other_median")


def breast_logits(case) -> np.ndarray:
    """Logits of a map's tissue cells (every cell above 0 where the case has no tissue mask).

    An empty map, or one without any tissue cell, gives the logits of all its cells (a
    map of zeros: the logit of :data:`~mammo_lib.scan.bilateral.EPS`).
    """
    m = np.asarray(case.prob_map, dtype=np.float64)
    if m.size == 0:
        return logit([0.0])
    tissue = case.tissue if case.tissue is not None and case.tissue.shape == m.shape else m > 0
    values = m[tissue] if tissue.any() else m.ravel()
    return logit(values)


def scan_features(cases: Sequence, patients: Mapping[str, str]) -> pd.DataFrame:
    """The :data:`FEATURES` of every mapped film.

    Parameters
    ----------
    cases
        Every mapped :class:`~mammo_lib.scan.localisation.LocalisationCase`.
    patients
        Woman of every scan id. A film whose woman has no other mapped film takes the
        median over all films of each ``other_`` summary (a population prior, as the
        bilateral reading does).

    Returns
    -------
    pandas.DataFrame
        Indexed by scan id, one column per feature.
    """
    missing = sorted({c.scan_id for c in cases} - set(patients))
    if missing:
        raise ValueError(f"no woman given for scans {missing[:5]}")
    own = pd.DataFrame(
        [
            {
                "scan_id": c.scan_id,
                "max": float(v.max()),
                "q90": float(np.quantile(v, 0.9)),
                "median": float(np.median(v)),
            }
            for c in cases
            for v in [breast_logits(c)]
        ]
    ).set_index("scan_id")
    if own.index.has_duplicates:
        raise ValueError(f"scans mapped twice: {sorted(own.index[own.index.duplicated()])[:5]}")
    woman = own.index.map(patients)
    prior = own.median()
    other = {}
    for scan_id, pid in zip(own.index, woman, strict=True):
        rows = own[(woman == pid) & (own.index != scan_id)]
        other[scan_id] = rows.max() if len(rows) else prior
    other = pd.DataFrame(other).T.add_prefix("other_")
    return own.join(other)[list(FEATURES)]


def learned_reference(
    features: pd.DataFrame,
    labels: Mapping[str, bool],
    folds: Mapping[str, int],
    *,
    c: float = 1.0,
) -> pd.Series:
    """Per-scan logit references that turn each film's maximum into the learned reading.

    For every fold ``k`` a logistic regression (standardised features, L2 penalty `c`) is
    fitted on the labelled films of the other folds and scores the films of fold ``k``;
    the reference is ``max - score``, so that ``logit(max) - reference`` is the score.

    Parameters
    ----------
    features
        :func:`scan_features`, indexed by scan id.
    labels
        Abnormal (True) or normal (False) for the films that may be fitted on and scored
        (films left out of the evaluation, e.g. a lesion without a centre, are absent).
    folds
        Fold of every film in `labels`.

    Returns
    -------
    pandas.Series
        The reference of every film in `labels`.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    ids = list(labels)
    missing = sorted(set(ids) - set(features.index) | set(ids) - set(folds))
    if missing:
        raise ValueError(f"no features or fold for scans {missing[:5]}")
    x = features.loc[ids, list(FEATURES)].to_numpy(float)
    y = np.array([bool(labels[s]) for s in ids], dtype=int)
    fold = np.array([int(folds[s]) for s in ids])
    score = np.full(len(ids), np.nan)
    for k in np.unique(fold):
        train = fold != k
        if len(np.unique(y[train])) < 2:
            raise ValueError(f"fold {k}: the other folds hold films of one kind only")
        model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))
        model.fit(x[train], y[train])
        score[~train] = model.decision_function(x[~train])
    return pd.Series(x[:, FEATURES.index("max")] - score, index=ids, name="reference")
