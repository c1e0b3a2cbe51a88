"""Evaluation plots draw what the metrics say; the published-figures table."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn import metrics as skm

from mammo_lib.evaluate.metrics import confusion_table
from mammo_lib.evaluate.plots import (
    plot_confusion,
    plot_pr_curve,
    plot_recall_vs_threshold,
    plot_roc_curve,
)
from mammo_lib.evaluate.published import CITATION, published


def _data(seed: int):
    rng = np.random.default_rng(seed)
    y = (rng.random(300) < 0.25).astype(int)
    return y, np.clip(0.3 * y + rng.random(300) * 0.7, 0, 1)


def test_pr_curve_marks_the_threshold_point() -> None:
    y, s = _data(0)
    ax = plot_pr_curve({"a": (y, s)}, threshold=0.5)
    marker = [ln for ln in ax.lines if ln.get_marker() == "o" and len(ln.get_xdata())][0]
    pred = s >= 0.5
    assert marker.get_xdata()[0] == pytest.approx(skm.recall_score(y, pred))
    assert marker.get_ydata()[0] == pytest.approx(skm.precision_score(y, pred))
    plt.close("all")


def test_recall_vs_threshold_lines() -> None:
    curves = {"none": _data(1), "contrast 2": _data(2)}
    ax = plot_recall_vs_threshold(curves, thresholds=np.linspace(0, 1, 11))
    assert len(ax.lines) == 4
    y, s = curves["none"]
    recall = ax.lines[0].get_ydata()
    assert recall[5] == pytest.approx(skm.recall_score(y, s >= 0.5))
    plt.close("all")


def test_roc_and_confusion_plots() -> None:
    y, s = _data(3)
    ax = plot_roc_curve({"a": (y, s)})
    assert f"{skm.roc_auc_score(y, s):.3f}" in ax.get_legend().get_texts()[0].get_text()
    ax = plot_confusion(confusion_table(y, (s >= 0.5).astype(int), labels=[0, 1]))
    assert len(ax.texts) == 4
    plt.close("all")


def test_published_table() -> None:
    table = published("binary")
    assert set(table["source"]) == {CITATION}
    assert table["accuracy"].between(0, 1).all() and table["recall"].between(0, 1).all()
    with pytest.raises(KeyError, match="known"):
        published("w-sweep")
