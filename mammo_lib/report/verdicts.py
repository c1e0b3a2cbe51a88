"""Verdicts in words for the book's claims, computed from intervals and tests.

Each function turns a number the book computed (a bootstrap interval, a p-value) into the
short phrase the chapters and the conclusion print, by a stated rule, so that a verdict
changes with the result and never has to be typed in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np


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


def threshold_note(recall: float, specificity: float) -> str:
    """What a binary run does at its 0.5 threshold, from its test recall and specificity."""
    if recall == 1 and specificity == 0:
        return (
            "at the 0.5 threshold the run calls every tile abnormal, which a large W invites "
            "after short training"
        )
    if recall == 0 and specificity == 1:
        return "at the 0.5 threshold the run calls every tile normal"
    return "the 0.5 threshold separates some abnormal tiles from normal ones"


def keep_rule_bias_verdict(auc: float, margin: float = 0.1) -> str:
    """How the map cells a normal-tile keep-rule would reject score against those it keeps.

    `auc` is the ROC AUC with which the map probability picks the rejected cells
    (:func:`mammo_lib.scan.keep_rule_bias.keep_rule_bias`): "higher" at 0.5 + `margin` or
    more, "lower" at 0.5 - `margin` or less, else "about the same"; NaN when one group is
    empty.
    """
    if not math.isfinite(auc):
        return "cannot be compared (one group is empty)"
    if auc >= 0.5 + margin:
        return "score higher than the cells it would keep"
    if auc <= 0.5 - margin:
        return "score lower than the cells it would keep"
    return "score about the same as the cells it would keep"


def degenerate_epochs_note(
    val_recall: Sequence[float], val_accuracy: Sequence[float], all_normal: float
) -> tuple[int, str]:
    """Count the epochs whose validation answer was degenerate, and say so in words.

    An epoch called most tiles abnormal when its recall exceeds 0.9 while its accuracy lies
    below `all_normal` (the accuracy of calling every tile normal), and every tile normal
    when its recall is 0.

    Returns
    -------
    count, note
        The number of degenerate epochs and the sentences the training chapter prints.
    """
    recall = np.asarray(val_recall, dtype=float)
    accuracy = np.asarray(val_accuracy, dtype=float)
    if recall.shape != accuracy.shape:
        raise ValueError("val_recall and val_accuracy differ in length")
    n = len(recall)
    called_abnormal = int(((recall > 0.9) & (accuracy < all_normal)).sum())
    called_normal = int((recall == 0).sum())
    notes = []
    if called_abnormal:
        notes.append(
            f"In {called_abnormal} of {n} epochs the run found over 90% of the abnormal "
            "validation tiles while scoring below the all-normal accuracy: it called most "
            "tiles abnormal, the degenerate answer that a large W invites when the classes "
            "are not yet separated."
        )
    if called_normal:
        notes.append(
            f"In {called_normal} of {n} epochs it found no abnormal validation tile at all: it "
            "called every tile normal, the other degenerate answer, which a run too short to "
            "separate the classes gives."
        )
    notes.append(
        "Where either happens the recall says little; the ROC AUC, which does not depend on "
        "the threshold, is the better guide."
        if notes
        else "In no epoch did the run call almost every validation tile abnormal, or every one "
        "normal."
    )
    return called_abnormal + called_normal, " ".join(notes)


def map_model_note(val_auc: float, signal: float = 0.65) -> str:
    """What a whole-scan map can show, given its tile classifier's validation ROC AUC.

    Below `signal` the tiles carry too little learned signal for the maps to test the model
    (only the machinery); at or above it the classifier has signal, and the open question is
    whether it carries over from tiles inside the breast to the whole scan.
    """
    if val_auc < signal:
        return (
            "Near 0.5 the tiles carry no learned signal, the maps show little more than the"
            " network's response to the scan's edges and the localisation sits at chance; the"
            " machinery is then tested, the model is not."
        )
    return (
        "That is a tile classifier with real, if imperfect, signal on synthetic lesions"
        " (the validation split is small, so the AUC is itself uncertain). Whether it"
        " carries over to whole scans is another question: the training tiles all lie"
        " inside the breast, and a map also covers the skin line, the background and the"
        " labels, which the classifier has never seen."
    )
