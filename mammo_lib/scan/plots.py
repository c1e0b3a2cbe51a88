"""Figures for whole-scan analysis: heatmaps over scans with the true lesions, FROC curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.image import AxesImage
from matplotlib.patches import Circle, Rectangle

from mammo_lib.scan.localisation import Lesion
from mammo_lib.scan.predictor import ScanPrediction


def plot_heatmap(
    ax: Axes,
    prediction: ScanPrediction,
    lesions: Sequence[Lesion] = (),
    *,
    title: str | None = None,
    vmax: float = 1.0,
) -> AxesImage:
    """Draw a scan, its probability map (transparent where low) and the true lesions.

    True lesions are drawn in white (boxes, or circles for MIAS); regions at or above the
    prediction's threshold in cyan; the highest peak is marked with a cross. Returns the
    probability map's image, for a colour bar.
    """
    scan = prediction.scan.image
    ax.imshow(scan, cmap="gray", vmin=0, vmax=255)
    top, left, bottom, right = prediction.geometry.footprint_extent(prediction.prob_map.shape)
    overlay = ax.imshow(
        np.ma.masked_less(prediction.prob_map, 0.02),
        cmap="turbo",
        alpha=0.5,
        vmin=0.0,
        vmax=vmax,
        extent=(left, right, bottom, top),
        interpolation="bilinear",
    )
    for lesion in lesions:
        if lesion.radius is not None:
            patch = Circle(lesion.centre[::-1], lesion.radius, fill=False, ec="white", lw=1.5)
        else:
            t, l_, b, r = lesion.box
            patch = Rectangle((l_, t), r - l_, b - t, fill=False, ec="white", lw=1.5)
        ax.add_patch(patch)
    for region in prediction.regions:
        t, l_, b, r = region.box
        ax.add_patch(Rectangle((l_, t), r - l_, b - t, fill=False, ec="cyan", lw=1, ls="--"))
    if prediction.regions:
        peak = prediction.regions[0].peak
        ax.plot(peak[1], peak[0], marker="x", color="cyan", ms=8, mew=2)
    ax.set_xlim(0, scan.shape[1])
    ax.set_ylim(scan.shape[0], 0)
    ax.set_xticks([])
    ax.set_yticks([])
    score = "no score" if prediction.score is None else f"p = {prediction.score:.2f}"
    ax.set_title(title or score, fontsize=9)
    return overlay


def plot_froc(ax: Axes, tables: Mapping[str, pd.DataFrame]) -> None:
    """Plot sensitivity against false positives per scan, one line per named FROC table."""
    for name, table in tables.items():
        order = table.sort_values("fp_per_scan")
        ax.plot(order["fp_per_scan"], order["sensitivity"], marker="o", label=name)
        for row in order.itertuples(index=False):
            ax.annotate(
                f"{row.threshold:g}",
                (row.fp_per_scan, row.sensitivity),
                textcoords="offset points",
                xytext=(4, -10),
                fontsize=7,
            )
    ax.set_xlabel("false positives per scan")
    ax.set_ylabel("fraction of lesions hit")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def heatmap_grid(
    items: Sequence[tuple[str, ScanPrediction, Sequence[Lesion]]], ncols: int = 4
) -> plt.Figure:
    """One figure with a heatmap panel per ``(title, prediction, lesions)`` and one colour bar
    for the probability of abnormal (the same 0-1 scale in every panel)."""
    n = max(1, len(items))
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 4.2 * nrows), squeeze=False)
    overlay = None
    for ax, (title, prediction, lesions) in zip(axes.flat, items, strict=False):
        overlay = plot_heatmap(ax, prediction, lesions, title=title)
    for ax in axes.flat[len(items) :]:
        ax.axis("off")
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    if overlay is not None:
        bar = fig.colorbar(overlay, cax=fig.add_axes((0.92, 0.2, 0.015, 0.6)))
        bar.solids.set_alpha(1)  # the overlay is half transparent; its scale need not be
        bar.set_label("probability of abnormal (hidden below 0.02)")
    return fig
