"""Verdict rules: each phrase follows its interval or test, on both sides of the boundary."""

from __future__ import annotations

import pytest

from mammo_lib.evaluate.bootstrap import Interval
from mammo_lib.report.verdicts import (
    baseline_verdict,
    chance_verdict,
    difference_verdict,
    p_value_verdict,
    published_verdict,
)


def iv(est: float, lo: float, hi: float) -> Interval:
    return Interval(estimate=est, low=lo, high=hi, level=0.95, n_valid=100, n_boot=100)


def test_chance_verdict_reads_the_interval_not_the_estimate() -> None:
    assert chance_verdict(iv(0.70, 0.55, 0.85)) == "above chance"
    assert chance_verdict(iv(0.62, 0.45, 0.80)) == "at chance"
    assert chance_verdict(iv(0.30, 0.20, 0.45)) == "below chance"


def test_difference_and_published_verdicts() -> None:
    assert difference_verdict(iv(0.01, -0.05, 0.07)) == "ties"
    assert difference_verdict(iv(0.10, 0.02, 0.18)) == "beats"
    assert difference_verdict(iv(-0.10, -0.18, -0.02)) == "trails"
    assert published_verdict(iv(0.80, 0.70, 0.88), 0.9571) == "below the study's value"
    assert published_verdict(iv(0.95, 0.90, 0.99), 0.9571) == "consistent with the study's value"
    assert published_verdict(iv(0.99, 0.98, 1.00), 0.9571) == "above the study's value"


def test_p_value_and_baseline_verdicts() -> None:
    assert p_value_verdict(0.002) == "supported"
    assert p_value_verdict(0.065) == "not shown"
    with pytest.raises(ValueError, match="p-value"):
        p_value_verdict(1.5)
    assert baseline_verdict(0.625, 0.75) == "below the all-normal baseline"
    assert baseline_verdict(0.9, 0.75) == "above the all-normal baseline"


def test_sweep_verdict_orders_by_weight() -> None:
    from mammo_lib.report.verdicts import sweep_verdict

    text = sweep_verdict([6.0, 1.0, 3.0], [0.9, 0.4, 0.7], [0.80, 0.85, 0.83])
    assert text.startswith("recall rises from W = 1 to W = 6 (0.40 to 0.90)")
    assert "accuracy 0.85 to 0.80" in text
    assert "does not rise" in sweep_verdict([1.0, 6.0], [0.5, 0.5], [0.8, 0.8])
    assert "only one value" in sweep_verdict([6.0], [0.5], [0.8])


def test_baseline_verdict_reads_a_float32_accuracy_at_the_baseline_as_at() -> None:
    import numpy as np

    assert baseline_verdict(float(np.float32(40 / 52)), 1 - 12 / 52) == "at the all-normal baseline"


def test_keep_rule_bias_verdict_thresholds() -> None:
    from mammo_lib.report.verdicts import keep_rule_bias_verdict

    assert keep_rule_bias_verdict(0.6) == "score higher than the cells it would keep"
    assert keep_rule_bias_verdict(0.59) == "score about the same as the cells it would keep"
    assert keep_rule_bias_verdict(0.4) == "score lower than the cells it would keep"
    assert keep_rule_bias_verdict(float("nan")).startswith("cannot be compared")


def test_threshold_note_names_the_degenerate_answers() -> None:
    from mammo_lib.report.verdicts import threshold_note

    assert "every tile abnormal" in threshold_note(1.0, 0.0)
    assert threshold_note(0.0, 1.0).endswith("calls every tile normal")
    assert threshold_note(0.5, 0.7).startswith("the 0.5 threshold separates")


def test_degenerate_epochs_note_counts_both_answers() -> None:
    import pandas as pd

    from mammo_lib.report.verdicts import degenerate_epochs_note

    # a run's log: epoch 0 calls everything abnormal, epoch 1 everything normal, 2 is fine
    history = pd.DataFrame({"val_recall": [1.0, 0.0, 0.6], "val_accuracy": [0.2, 0.8, 0.85]})
    n, note = degenerate_epochs_note(history["val_recall"], history["val_accuracy"], 0.8)
    assert n == 2
    assert note.startswith("In 1 of 3 epochs the run found over 90%")
    assert "In 1 of 3 epochs it found no abnormal validation tile" in note
    assert note.endswith("is the better guide.")
    n, note = degenerate_epochs_note([0.5, 0.6], [0.85, 0.9], 0.8)
    assert (n, note) == (0, "In no epoch did the run call almost every validation tile "
                            "abnormal, or every one normal.")  # fmt: skip
    with pytest.raises(ValueError, match="differ in length"):
        degenerate_epochs_note([0.5], [0.5, 0.6], 0.8)


def test_map_model_note_reads_the_classifier_auc() -> None:
    from mammo_lib.report.verdicts import map_model_note

    assert map_model_note(0.52).startswith("Near 0.5 the tiles carry no learned signal")
    assert map_model_note(0.65).startswith("That is a tile classifier with real")
    assert map_model_note(0.9, signal=0.95).startswith("Near 0.5")
