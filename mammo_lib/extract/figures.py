"""Plots for reviewing extraction: a scan with boxes, and grids of tiles."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from mammo_lib.extract.common import Box


def draw_boxes(
    ax: Axes,
    image: np.ndarray,
    boxes: Sequence[Box],
    colors: str | Sequence[str] = "tab:red",
    *,
    labels: Sequence[str] | None = None,
    linewidth: float = 1.2,
) -> Axes:
    """Show a greyscale image with rectangles ``(row0, col0, row1, col1)`` on it.

    Parameters
    ----------
    ax
        Axes to draw into.
    image
        2-D array shown in grey.
    boxes
        Rectangles in pixel coordinates.
    colors
        One colour, or one per box.
    labels
        Legend entries, one per box (repeated labels appear once).
    linewidth
        Rectangle edge width.
    """
    ax.imshow(image, cmap="gray", interpolation="nearest")
    palette = [colors] * len(boxes) if isinstance(colors, str) else list(colors)
    seen: set[str] = set()
    for i, (r0, c0, r1, c1) in enumerate(boxes):
        label = labels[i] if labels is not None else None
        ax.add_patch(
            Rectangle(
                (c0 - 0.5, r0 - 0.5),
                c1 - c0,
                r1 - r0,
                fill=False,
                edgecolor=palette[i],
                linewidth=linewidth,
                label=label if label and label not in seen else None,
            )
        )
        if label:
            seen.add(label)
    ax.set_axis_off()
    if seen:
        ax.legend(loc="lower right", fontsize="small", framealpha=0.8)
    return ax


def tile_grid(
    tiles: Sequence[np.ndarray],
    *,
    titles: Sequence[str] | None = None,
    ncols: int = 6,
    size: float = 1.5,
    row_labels: Sequence[str] | None = None,
) -> Figure:
    """A grid of greyscale tiles (``uint8``, shown on a fixed 0..255 scale).

    Parameters
    ----------
    tiles
        Tiles in row-major order; ``None`` entries leave an empty cell.
    titles
        One small title per tile.
    ncols
        Tiles per row.
    size
        Inches per tile.
    row_labels
        A label at the start of each row.
    """
    n = max(len(tiles), 1)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * size, nrows * size), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        if i < len(tiles) and tiles[i] is not None:
            ax.imshow(tiles[i], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            if titles is not None:
                ax.set_title(titles[i], fontsize="x-small")
    if row_labels is not None:
        for r, label in enumerate(row_labels[:nrows]):
            axes[r, 0].set_ylabel(label, fontsize="small", rotation=0, ha="right", va="center")
    fig.tight_layout()
    return fig
