"""Verdicts in words for the book's claims, computed from intervals and tests.

Each function turns a number the book computed (a bootstrap interval, a p-value) into the
short phrase the chapters and the conclusion print, by a stated rule, so that a verdict
changes with the result and never has to be typed in.
"""

from __future__ import annotations

from typing import Protocol


class _Interval(Protocol):
    estimate: float
    low: float
    high: float


def chance_verdict(auc: _Interval, chance: float = 0.5) -> str:
    """An ROC AUC against chance: "above chance" when the whole interval lies above 0.5,
    "below chance" when it lies below, else "at chance"."""
    if auc.low > chance:
        return "above chance"
    if auc.high < chance:
        return "below chance"
    return "at chance"


def difference_verdict(diff: _Interval, better: str = "beats", worse: str = "trails") -> str:
    """A paired difference A - B: `better` / `worse` when the interval excludes 0, else "ties"."""
    if diff.low > 0:
        return better
    if diff.high < 0:
        return worse
    return "ties"


def published_verdict(ours: _Interval, published: float) -> str:
    """Our interval against the study's published value."""
    if ours.high < published:
        return "below the study's value"
    if ours.low > published:
        return "above the study's value"
    return "consistent with the study's value"


def p_value_verdict(p_value: float, alpha: float = 0.05) -> str:
    """A one-sided test of a claim: "supported" when p < `alpha`, else "not shown"."""
    if not 0 <= p_value <= 1:
        raise ValueError(f"p-value must lie in [0, 1], got {p_value}")
    return "supported" if p_value < alpha else "not shown"


def baseline_verdict(value: float, baseline: float, name: str = "the all-normal baseline") -> str:
    """An accuracy against a trivial classifier's: "above", "at" or "below" `name`.

    Values within 1e-6 of the baseline are "at" it (Keras reports accuracies in float32).
    """
    if abs(value - baseline) <= 1e-6:
        return f"at {name}"
    if value > baseline:
        return f"above {name}"
    if value < baseline:
        return f"below {name}"
    return f"at {name}"


def sweep_verdict(weights: list[float], recalls: list[float], accuracies: list[float]) -> str:
    """What a sweep of the cross-entropy weight W shows: recall and accuracy at the lowest
    and the highest W ("rises" when recall at the highest W exceeds that at the lowest)."""
    if not len(weights) == len(recalls) == len(accuracies):
        raise ValueError("weights, recalls and accuracies differ in length")
    if len(weights) < 2:
        return "only one value of W in this build: no trend to read"
    order = sorted(range(len(weights)), key=lambda i: weights[i])
    lo, hi = order[0], order[-1]
    trend = "rises" if recalls[hi] > recalls[lo] else "does not rise"
    return (
        f"recall {trend} from W = {weights[lo]:g} to W = {weights[hi]:g} "
        f"({recalls[lo]:.2f} to {recalls[hi]:.2f}), accuracy {accuracies[lo]:.2f} to "
        f"{accuracies[hi]:.2f}"
    )
