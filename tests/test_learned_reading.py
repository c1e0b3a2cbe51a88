"""The learned scan-level reading: map summaries, and a regression fitted on other folds only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mammo_lib.evaluate.metrics import roc_auc
from mammo_lib.scan.bilateral import logit
from mammo_lib.scan.learned_reading import FEATURES, learned_reference, scan_features
from mammo_lib.scan.localisation import LocalisationCase, MapGeometry

GEOMETRY = MapGeometry(stride=10, tile=(10, 10), scale=(1.0, 1.0), scan_shape=(40, 40))


def _case(scan_id: str, prob: np.ndarray, tissue: np.ndarray | None = None) -> LocalisationCase:
    return LocalisationCase(scan_id, np.asarray(prob, float), GEOMETRY, [], tissue)


def test_features_hand_worked() -> None:
    """A: tissue cells 0.1, 0.2, 0.3, 0.9 (the 0.95 outside the mask is not counted); B, A's
    other breast: cells 0.5 everywhere; C has no other film and takes the median prior."""
    a = np.array([[0.1, 0.2], [0.3, 0.9], [0.95, 0.0]])
    tissue = np.array([[1, 1], [1, 1], [0, 0]], bool)
    cases = [_case("A", a, tissue), _case("B", np.full((2, 2), 0.5)), _case("C", [[0.0, 0.4]])]
    got = scan_features(cases, {"A": "w1", "B": "w1", "C": "w2"})
    assert list(got.columns) == list(FEATURES)
    cells = logit([0.1, 0.2, 0.3, 0.9])
    np.testing.assert_allclose(
        got.loc["A", ["max", "q90", "median"]],
        [cells.max(), np.quantile(cells, 0.9), np.median(cells)],
    )
    np.testing.assert_allclose(got.loc["A", ["other_max", "other_median"]], [0.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(got.loc["B", "other_max"], logit(0.9))
    np.testing.assert_allclose(got.loc["C", ["max", "median"]], [logit(0.4)] * 2)  # no mask: > 0
    prior = got.loc[["A", "B", "C"], "max"].median()
    np.testing.assert_allclose(got.loc["C", "other_max"], prior)
    with pytest.raises(ValueError, match="no woman"):
        scan_features(cases, {"A": "w1"})
    with pytest.raises(ValueError, match="mapped twice"):
        scan_features([*cases, cases[0]], {"A": "w1", "B": "w1", "C": "w2"})


def _dense_pairs(n_women: int = 60, seed: int = 0):
    """Women of very different breast density d (every cell near sigmoid(d)); one film of
    every third woman has a lesion, one cell at sigmoid(d + 1.5). A film's own maximum ranks
    mostly density; against the other breast the lesion stands out."""
    rng = np.random.default_rng(seed)
    cases, patients, labels, folds = [], {}, {}, {}
    for w in range(n_women):
        d = rng.normal(0, 3)
        for side in "LR":
            scan_id = f"w{w}{side}"
            prob = 1 / (1 + np.exp(-(d + rng.normal(0, 0.1, (4, 4)))))
            abnormal = w % 3 == 0 and side == "L"
            if abnormal:
                prob[2, 2] = 1 / (1 + np.exp(-(d + 1.5)))
            cases.append(_case(scan_id, prob))
            patients[scan_id], labels[scan_id], folds[scan_id] = f"w{w}", abnormal, w % 5
    return cases, patients, labels, folds


def test_the_regression_learns_the_other_breast_on_other_folds_only() -> None:
    cases, patients, labels, folds = _dense_pairs()
    features = scan_features(cases, patients)
    reference = learned_reference(features, labels, folds)
    y = np.array([labels[s] for s in reference.index], int)
    own_max = features.loc[reference.index, "max"]
    learned = own_max - reference  # the scan's maximum less its reference
    assert roc_auc(y, own_max) < 0.75  # density dominates the film alone
    assert roc_auc(y, learned) > 0.95
    # fold 0's scores do not depend on fold 0's labels: flip them all, the same references
    flipped = {s: (not v) if folds[s] == 0 else v for s, v in labels.items()}
    again = learned_reference(features, flipped, folds)
    in_fold_0 = [s for s in reference.index if folds[s] == 0]
    np.testing.assert_allclose(again[in_fold_0], reference[in_fold_0])
    others = [s for s in reference.index if folds[s] != 0]
    assert not np.allclose(again[others], reference[others])  # fold 0 trains the others


def test_the_reference_turns_the_maximum_into_the_fitted_score() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cases, patients, labels, folds = _dense_pairs(30, seed=1)
    features = scan_features(cases, patients)
    reference = learned_reference(features, labels, folds, c=0.5)
    ids = [s for s in labels if folds[s] != 2]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=1000))
    model.fit(features.loc[ids, list(FEATURES)], [labels[s] for s in ids])
    test = [s for s in labels if folds[s] == 2]
    expected = model.decision_function(features.loc[test, list(FEATURES)])
    np.testing.assert_allclose(features.loc[test, "max"] - reference[test], expected, atol=1e-9)


def test_bad_input_is_named() -> None:
    cases, patients, labels, folds = _dense_pairs(10)
    features = scan_features(cases, patients)
    with pytest.raises(ValueError, match="no features or fold"):
        learned_reference(features, labels | {"nowhere": True}, folds)
    normals = {s: False for s in labels}
    with pytest.raises(ValueError, match="films of one kind"):
        learned_reference(features, normals, folds)
    assert isinstance(learned_reference(features, labels, folds), pd.Series)
