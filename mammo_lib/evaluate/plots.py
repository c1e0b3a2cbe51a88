"""Plots of evaluation results: recall versus threshold, PR and ROC curves, confusion matrices.

Each function draws into a given Matplotlib axes (or a new figure) and returns the axes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from mammo_lib.evaluate.metrics import binary_metrics
from mammo_lib.evaluate.thresholds import pr_curve, roc_curve, threshold_sweep


def _axes(ax: Axes | None, size: tuple[float, float] = (5.5, 4.0)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def plot_recall_vs_threshold(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    ax: Axes | None = None,
    thresholds: Sequence[float] | np.ndarray | None = None,
    precision: bool = True,
) -> Axes:
    """Recall (solid) and precision (dashed) against the decision threshold, one colour per curve.

    Parameters
    ----------
    curves
        ``{label: (y_true, y_score)}``, e.g. one entry per contrast setting.
    ax
        Axes to draw into (default: a new figure).
    thresholds
        Thresholds to evaluate (default 101 from 0 to 1).
    precision
        Also draw precision.
    """
    ax = _axes(ax)
    palette = sns.color_palette("colorblind", len(curves))
    for colour, (label, (y, s)) in zip(palette, curves.items(), strict=True):
        sweep = threshold_sweep(y, s, thresholds)
        ax.plot(sweep["threshold"], sweep["recall"], color=colour, label=f"{label}: recall")
        if precision:
            ax.plot(
                sweep["threshold"],
                sweep["precision"],
                color=colour,
                ls="--",
                label=f"{label}: precision",
            )
    ax.set(xlabel="threshold on P(abnormal)", ylabel="recall / precision", xlim=(0, 1))
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize="small", frameon=False)
    return ax


def plot_pr_curve(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    ax: Axes | None = None,
    threshold: float = 0.5,
) -> Axes:
    """Precision-recall curves with the operating point at `threshold` marked.

    Parameters
    ----------
    curves
        ``{label: (y_true, y_score)}``.
    ax
        Axes to draw into.
    threshold
        The decision threshold whose (recall, precision) point is marked.
    """
    ax = _axes(ax)
    palette = sns.color_palette("colorblind", len(curves))
    for colour, (label, (y, s)) in zip(palette, curves.items(), strict=True):
        pr = pr_curve(y, s)
        m = binary_metrics(y, s, threshold=threshold)
        ax.step(
            pr["recall"], pr["precision"], where="post", color=colour,
            label=f"{label} (AP {m['pr_auc']:.3f})",
        )  # fmt: skip
        ax.plot(m["recall"], m["precision"], "o", color=colour, ms=7, mec="black")
        ax.axhline(np.mean(y), color=colour, lw=0.8, ls=":")
    ax.plot([], [], "o", color="grey", mec="black", label=f"threshold {threshold:g}")
    ax.plot([], [], ":", color="grey", label="prevalence (chance)")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1.01), ylim=(0, 1.02))
    ax.legend(fontsize="small", frameon=False, loc="lower left")
    return ax


def plot_roc_curve(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]], ax: Axes | None = None
) -> Axes:
    """ROC curves with their AUC in the legend and the chance diagonal."""
    ax = _axes(ax, (4.5, 4.2))
    palette = sns.color_palette("colorblind", len(curves))
    for colour, (label, (y, s)) in zip(palette, curves.items(), strict=True):
        roc = roc_curve(y, s)
        auc = binary_metrics(y, s)["roc_auc"]
        ax.plot(roc["fpr"], roc["tpr"], color=colour, label=f"{label} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":")
    ax.set(xlabel="1 - specificity", ylabel="recall (sensitivity)", xlim=(0, 1), ylim=(0, 1.01))
    ax.set_aspect("equal")
    ax.legend(fontsize="small", frameon=False, loc="lower right")
    return ax


def plot_confusion(table: pd.DataFrame, ax: Axes | None = None, normalise: bool = True) -> Axes:
    """Heatmap of a confusion table (rows true, columns predicted), row-normalised by default."""
    ax = _axes(ax, (5.5, 4.5))
    values = table.div(table.sum(axis=1).replace(0, np.nan), axis=0) if normalise else table
    sns.heatmap(
        values, annot=table.to_numpy(), fmt="d", cmap="Blues", vmin=0,
        vmax=1 if normalise else None, cbar=normalise, ax=ax,
    )  # fmt: skip
    ax.set(xlabel="predicted", ylabel="true")
    return ax


def plot_statistic_aucs(aucs: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Bars of each image statistic's own ROC AUC, one colour per comparison.

    Parameters
    ----------
    aucs
        Long table with columns ``statistic``, ``comparison``, ``AUC``, statistics in the
        order to draw (:func:`mammo_lib.evaluate.shortcut_table.statistic_aucs`).
    ax
        Axes to draw into (default: a new 7 x 5 in figure).
    """
    ax = _axes(ax, (7.0, 5.0))
    order = list(dict.fromkeys(aucs["statistic"]))
    sns.barplot(aucs, x="AUC", y="statistic", hue="comparison", order=order, ax=ax)
    ax.axvline(0.5, color="grey", linestyle=":")
    ax.set(xlim=(0.45, 1.0), xlabel="AUC of the statistic alone", ylabel="")
    return ax
