"""Training curves carry their reference levels: all-normal accuracy and chance recall."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from mammo_lib.train.plots import class_baselines, plot_curves  # noqa: E402


def test_baselines_of_a_split() -> None:
    levels = class_baselines(n_tiles=200, n_abnormal=50)
    assert levels["accuracy"][0] == pytest.approx(0.75)
    assert levels["recall"][0] == pytest.approx(0.25)
    assert "0.75" in levels["accuracy"][1]
    with pytest.raises(ValueError, match="n_abnormal"):
        class_baselines(n_tiles=10, n_abnormal=11)


def test_curves_draw_a_baseline_on_its_panel_only() -> None:
    cols = ["accuracy", "recall", "val_accuracy", "val_recall"]
    history = pd.DataFrame(np.random.default_rng(0).random((3, 4)), columns=cols).assign(
        epoch=range(3)
    )
    fig = plot_curves({"W = 6": history}, baselines={"accuracy": (0.75, "all-normal")})
    acc, rec = fig.axes
    assert len(acc.lines) == 3 and len(rec.lines) == 2  # training, validation (+ baseline)
    np.testing.assert_array_equal(acc.lines[-1].get_ydata(), [0.75, 0.75])
    assert "all-normal" in [t.get_text() for t in acc.get_legend().get_texts()]
