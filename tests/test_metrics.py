"""Dataset-level metrics, patient bootstrap and threshold sweeps against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from mammo_lib.evaluate.bootstrap import (
    binary_metrics_ci,
    bootstrap_ci,
    bootstrap_replicates,
    group_indices,
)
from mammo_lib.evaluate.metrics import (
    BINARY_METRICS,
    CLASS_NAMES,
    binary_metrics,
    collapse,
    collapsed_metrics,
    confusion_table,
    multiclass_metrics,
    per_class_table,
)
from mammo_lib.evaluate.thresholds import (
    pr_curve,
    roc_curve,
    threshold_for_recall,
    threshold_sweep,
)


def _binary_data(seed: int, n: int = 400, shift: float = 1.0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    score = 1.0 / (1.0 + np.exp(-(rng.normal(size=n) + shift * (2 * y - 1))))
    return y, score


def _multiclass_data(seed: int, n: int = 600):
    rng = np.random.default_rng(seed)
    y = rng.choice(5, size=n, p=[0.6, 0.1, 0.1, 0.1, 0.1])
    logits = rng.normal(size=(n, 5))
    logits[np.arange(n), y] += 1.5
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, proba


@pytest.mark.parametrize("threshold", [0.2, 0.5, 0.8])
def test_binary_metrics_match_sklearn(threshold: float) -> None:
    y, s = _binary_data(seed=1)
    m = binary_metrics(y, s, threshold=threshold)
    pred = (s >= threshold).astype(int)
    tn, fp, fn, tp = skm.confusion_matrix(y, pred).ravel()
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["recall"] == pytest.approx(skm.recall_score(y, pred))
    assert m["precision"] == pytest.approx(skm.precision_score(y, pred))
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert m["specificity"] == pytest.approx(tn / (tn + fp))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, s))
    assert m["pr_auc"] == pytest.approx(skm.average_precision_score(y, s))
    assert (m["tp"], m["fp"], m["tn"], m["fn"]) == (tp, fp, tn, fn)
    assert m["n"] == len(y) and m["n_pos"] == y.sum()


def test_dataset_level_differs_from_batch_mean() -> None:
    # The study averaged per-batch recall; over unevenly mixed batches that is not the recall.
    y, s = _binary_data(seed=2, n=320)
    order = np.argsort(y, kind="stable")  # batches sorted by label: very uneven class mixes
    y, s = y[order], s[order]
    batch_recalls = [
        skm.recall_score(y[i : i + 32], s[i : i + 32] >= 0.5, zero_division=0)
        for i in range(0, len(y), 32)
    ]
    assert binary_metrics(y, s)["recall"] == pytest.approx(skm.recall_score(y, s >= 0.5))
    assert abs(np.mean(batch_recalls) - binary_metrics(y, s)["recall"]) > 0.05


def test_binary_metrics_single_class_is_nan_not_error() -> None:
    m = binary_metrics(np.zeros(10, int), np.linspace(0, 1, 10))
    assert np.isnan(m["roc_auc"]) and np.isnan(m["pr_auc"]) and np.isnan(m["recall"])
    assert m["specificity"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("y", "s", "match"),
    [
        ([0, 1, 2], [0.1, 0.2, 0.3], "0 or 1"),
        ([0, 1], [0.1], "equal length"),
        ([0, 1], [0.1, np.nan], "non-finite"),
        ([], [], "empty"),
    ],
)
def test_binary_metrics_bad_input(y, s, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        binary_metrics(y, s)


def test_confusion_table_matches_sklearn() -> None:
    y, proba = _multiclass_data(seed=3)
    pred = proba.argmax(axis=1)
    table = confusion_table(y, pred)
    np.testing.assert_array_equal(table.to_numpy(), skm.confusion_matrix(y, pred, labels=range(5)))
    assert list(table.index) == list(CLASS_NAMES.values())
    assert table.to_numpy().sum() == len(y)


def test_multiclass_metrics_match_sklearn() -> None:
    y, proba = _multiclass_data(seed=4)
    m = multiclass_metrics(y, proba)
    pred = proba.argmax(axis=1)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert m["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert m["roc_auc_ovr"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr"))
    assert m["binary_roc_auc"] == pytest.approx(skm.roc_auc_score(y > 0, 1 - proba[:, 0]))
    assert m["binary_recall"] == pytest.approx(skm.recall_score(y > 0, 1 - proba[:, 0] >= 0.5))


def test_multiclass_missing_class_gives_nan_auc() -> None:
    y, proba = _multiclass_data(seed=5)
    keep = y != 3
    m = multiclass_metrics(y[keep], proba[keep])
    assert np.isnan(m["roc_auc_ovr"])
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y[keep], proba[keep].argmax(1)))


def test_per_class_table_matches_sklearn() -> None:
    y, proba = _multiclass_data(seed=6)
    table = per_class_table(y, proba)
    prec, rec, f1, sup = skm.precision_recall_fscore_support(y, proba.argmax(1), labels=range(5))
    np.testing.assert_allclose(table["precision"], prec)
    np.testing.assert_allclose(table["recall"], rec)
    np.testing.assert_array_equal(table["support"], sup)
    for code in range(5):
        assert table.loc[code, "roc_auc_ovr"] == pytest.approx(
            skm.roc_auc_score(y == code, proba[:, code])
        )


def test_collapse_views() -> None:
    y, proba = _multiclass_data(seed=7)
    yb, sb = collapse(y, proba, "normal_abnormal")
    np.testing.assert_array_equal(yb, y > 0)
    np.testing.assert_allclose(sb, proba[:, 1:].sum(1) / proba.sum(1))
    abn = y > 0
    yb, sb = collapse(y, proba, "calc_mass")
    np.testing.assert_array_equal(yb, np.isin(y[abn], [2, 4]))
    p = proba[abn]
    np.testing.assert_allclose(sb, (p[:, 2] + p[:, 4]) / p[:, 1:].sum(1))
    yb, sb = collapse(y, proba, "benign_malignant")
    np.testing.assert_array_equal(yb, np.isin(y[abn], [3, 4]))
    np.testing.assert_allclose(sb, (p[:, 3] + p[:, 4]) / p[:, 1:].sum(1))
    assert collapse(y, None, "benign_malignant")[1] is None
    with pytest.raises(ValueError, match="unknown view"):
        collapse(y, proba, "left_right")
    with pytest.raises(ValueError, match="shape"):
        collapse(y, proba[:, :4], "calc_mass")


def test_collapsed_metrics_table() -> None:
    y, proba = _multiclass_data(seed=8)
    table = collapsed_metrics(y, proba)
    assert list(table.index) == ["normal_abnormal", "calc_mass", "benign_malignant"]
    assert table.loc["calc_mass", "n"] == (y > 0).sum()
    yb, sb = collapse(y, proba, "benign_malignant")
    assert table.loc["benign_malignant", "roc_auc"] == pytest.approx(skm.roc_auc_score(yb, sb))


# ----------------------------------------------------------------------------- thresholds


def test_threshold_sweep_matches_sklearn() -> None:
    y, s = _binary_data(seed=9)
    thresholds = np.array([0.0, 0.1, 0.33, 0.5, 0.77, 0.95])
    sweep = threshold_sweep(y, s, thresholds)
    for t, row in zip(thresholds, sweep.itertuples(), strict=True):
        pred = s >= t
        assert row.recall == pytest.approx(skm.recall_score(y, pred))
        assert row.accuracy == pytest.approx(skm.accuracy_score(y, pred))
        assert row.specificity == pytest.approx(skm.recall_score(y, pred, pos_label=0))
        if pred.any():
            assert row.precision == pytest.approx(skm.precision_score(y, pred))
            assert row.f1 == pytest.approx(skm.f1_score(y, pred))
    assert sweep["recall"].is_monotonic_decreasing


def test_threshold_sweep_precision_nan_when_nothing_predicted() -> None:
    y, s = _binary_data(seed=10)
    sweep = threshold_sweep(y, s, [s.max() + 0.1])
    assert np.isnan(sweep["precision"].iloc[0]) and sweep["recall"].iloc[0] == 0


@pytest.mark.parametrize("target", [0.5, 0.8, 0.9, 0.99, 1.0])
def test_threshold_for_recall(target: float) -> None:
    y, s = _binary_data(seed=11)
    t = threshold_for_recall(y, s, target)
    assert skm.recall_score(y, s >= t) >= target
    higher = s[s > t]
    if len(higher):  # the next observed score up no longer reaches the target
        assert skm.recall_score(y, s >= higher.min()) < target


def test_threshold_for_recall_bad_input() -> None:
    with pytest.raises(ValueError, match="target"):
        threshold_for_recall([0, 1], [0.1, 0.9], 0.0)
    with pytest.raises(ValueError, match="no positive"):
        threshold_for_recall([0, 0], [0.1, 0.9], 0.5)


def test_curves_match_sklearn() -> None:
    y, s = _binary_data(seed=12)
    pr = pr_curve(y, s)
    precision, recall, _ = skm.precision_recall_curve(y, s)
    np.testing.assert_allclose(pr["precision"], precision)
    np.testing.assert_allclose(pr["recall"], recall)
    roc = roc_curve(y, s)
    assert np.trapezoid(roc["tpr"], roc["fpr"]) == pytest.approx(skm.roc_auc_score(y, s))


# ----------------------------------------------------------------------------- bootstrap


def _clustered(seed: int, n_patients: int = 60, rows_per_patient: int = 20):
    """Scores with a strong per-patient random effect: rows within a patient are correlated."""
    rng = np.random.default_rng(seed)
    patient_label = (rng.random(n_patients) < 0.4).astype(int)
    patient_effect = rng.normal(scale=1.5, size=n_patients)
    patients = np.repeat(np.arange(n_patients), rows_per_patient)
    y = patient_label[patients]
    logit = 0.8 * (2 * y - 1) + patient_effect[patients]
    logit = logit + rng.normal(scale=0.3, size=len(patients))
    return y, 1 / (1 + np.exp(-logit)), patients


def test_group_indices_partition_rows() -> None:
    groups = np.array(["b", "a", "b", "c", "a", "b"])
    idx = group_indices(groups, len(groups))
    assert [sorted(groups[i].tolist()) for i in idx] == [["b"] * 3, ["a"] * 2, ["c"]]
    assert sorted(np.concatenate(idx).tolist()) == list(range(len(groups)))
    with pytest.raises(ValueError, match="entries"):
        group_indices(groups, 5)
    with pytest.raises(ValueError, match="missing"):
        group_indices(np.array([1.0, np.nan]), 2)


def test_patient_bootstrap_wider_than_row_bootstrap_when_correlated() -> None:
    y, s, patients = _clustered(seed=13)
    auc = skm.roc_auc_score
    by_patient = bootstrap_ci(auc, [y, s], groups=patients, n_boot=300, seed=0)
    by_row = bootstrap_ci(auc, [y, s], groups=None, n_boot=300, seed=0)
    assert by_patient.estimate == by_row.estimate == pytest.approx(auc(y, s))
    width_p = by_patient.high - by_patient.low
    width_r = by_row.high - by_row.low
    assert width_p > 2.0 * width_r
    assert by_patient.low <= by_patient.estimate <= by_patient.high


def test_patient_bootstrap_equals_row_bootstrap_with_one_row_per_patient() -> None:
    y, s = _binary_data(seed=14, n=200)
    auc = skm.roc_auc_score
    ids = [f"p{i}" for i in range(len(y))][::-1]  # any ids, one row each
    a = bootstrap_replicates(auc, [y, s], groups=ids, n_boot=50, seed=3)
    b = bootstrap_replicates(auc, [y, s], groups=None, n_boot=50, seed=3)
    np.testing.assert_array_equal(a["value"], b["value"])
    assert a["value"].std() > 0


def test_bootstrap_seeded() -> None:
    y, s, patients = _clustered(seed=15)
    a = bootstrap_ci(skm.roc_auc_score, [y, s], groups=patients, n_boot=100, seed=7)
    b = bootstrap_ci(skm.roc_auc_score, [y, s], groups=patients, n_boot=100, seed=7)
    c = bootstrap_ci(skm.roc_auc_score, [y, s], groups=patients, n_boot=100, seed=8)
    assert a == b
    assert (a.low, a.high) != (c.low, c.high)


def test_binary_metrics_ci_table() -> None:
    y, s, patients = _clustered(seed=16, n_patients=30, rows_per_patient=5)
    table = binary_metrics_ci(y, s, patients, n_boot=100, seed=0)
    assert list(table.index) == list(BINARY_METRICS)
    full = binary_metrics(y, s)
    for name in BINARY_METRICS:
        assert table.loc[name, "estimate"] == pytest.approx(full[name])
        assert table.loc[name, "low"] <= table.loc[name, "high"]
    # Replicates drawing only one class have no AUC: they are left out and counted.
    assert table.loc["roc_auc", "n_valid"] <= 100
    with pytest.raises(ValueError, match="unknown metrics"):
        binary_metrics_ci(y, s, patients, metrics=["youden"])


def test_roc_auc_safe() -> None:
    from mammo_lib.evaluate.metrics import roc_auc

    y, s = _binary_data(seed=17)
    assert roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s))
    assert np.isnan(roc_auc(np.ones(5), np.linspace(0, 1, 5)))


def test_the_studys_cumulative_batch_mean_by_hand() -> None:
    from mammo_lib.evaluate.study_metric import cumulative_batch_mean, shuffled_batch_means

    # Two batches of 2: batch 1 all right (running accuracy 1), batch 2 all wrong (running
    # accuracy 2/4): the study's figure is (1 + 0.5) / 2 = 0.75, the dataset accuracy 0.5.
    y_true = np.array([1, 0, 1, 0])
    y_pred = np.array([1, 0, 0, 1])
    assert cumulative_batch_mean(y_true, y_pred, 2) == 0.75
    # The same predictions in the other batch order: (0 + 0.5) / 2.
    assert cumulative_batch_mean(y_true, y_pred, 2, order=np.array([2, 3, 0, 1])) == 0.25
    # Recall: batch 1 has 1 of 1 positives found, after batch 2 1 of 2: (1 + 0.5) / 2.
    assert cumulative_batch_mean(y_true, y_pred, 2, metric="recall") == 0.75
    # One batch holding everything is the dataset-level value.
    assert cumulative_batch_mean(y_true, y_pred, 4) == 0.5
    means = shuffled_batch_means(y_true, y_pred, n_shuffles=30, batch_size=1)
    assert means.min() < 0.5 < means.max()
    with pytest.raises(ValueError, match="metric"):
        cumulative_batch_mean(y_true, y_pred, metric="f1")
