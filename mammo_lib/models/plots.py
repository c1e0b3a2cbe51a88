"""Architecture diagrams drawn from a built Keras model (its own layers, names and shapes)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

#: Layer classes that open a new box in the diagram; the others (batch norm, activations,
#: dropout) are listed inside the box of the layer they follow.
MAIN_LAYERS = ("InputLayer", "Conv2D", "MaxPooling2D", "AveragePooling2D",
               "GlobalAveragePooling2D", "Flatten", "Dense", "Softmax", "Concatenate")  # fmt: skip

_COLOURS = {
    "InputLayer": "#dddddd",
    "Conv2D": "#a6cee3",
    "MaxPooling2D": "#fdbf6f",
    "AveragePooling2D": "#fdbf6f",
    "GlobalAveragePooling2D": "#fdbf6f",
    "Flatten": "#cccccc",
    "Dense": "#b2df8a",
    "Softmax": "#fb9a99",
}


def _shape(layer) -> str:
    shape = tuple(layer.output.shape)[1:]
    return " × ".join(str(s) for s in shape)


def _describe(layer) -> str:
    cfg = layer.get_config()
    kind = type(layer).__name__
    if kind == "Conv2D":
        k, s = cfg["kernel_size"], cfg["strides"]
        stride = f" /{s[0]}" if s[0] != 1 else ""
        return f"conv {k[0]}×{k[1]}{stride}, {cfg['filters']}"
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        p, s = cfg["pool_size"], cfg["strides"]
        return f"{kind[:3].lower()} pool {p[0]}×{p[1]} /{s[0]}"
    if kind == "Dense":
        return f"dense {cfg['units']}"
    if kind == "Dropout":
        return f"dropout {cfg['rate']:g}"
    if kind == "BatchNormalization":
        return "BN"
    if kind in ("ReLU", "Activation"):
        return "ReLU" if kind == "ReLU" else str(cfg.get("activation"))
    return {"InputLayer": "input", "Flatten": "flatten", "Softmax": "softmax"}.get(kind, kind)


def architecture_rows(model) -> pd.DataFrame:
    """One row per box of the diagram: ``name, kind, what, extras, output`` (a Keras model's
    layers in order, batch norm, activations and dropout folded into the box before them)."""
    rows: list[dict[str, str]] = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind in MAIN_LAYERS or not rows:
            rows.append(
                {
                    "name": layer.name,
                    "kind": kind,
                    "what": _describe(layer),
                    "extras": "",
                    "output": _shape(layer),
                }  # fmt: skip
            )
        else:
            row = rows[-1]
            row["extras"] = ", ".join(filter(None, [row["extras"], _describe(layer)]))
            row["output"] = _shape(layer)
    return pd.DataFrame(rows)


def plot_architecture(model, title: str | None = None) -> Figure:
    """Draw `model` as a column of boxes: layer name, operation, folded layers, output shape.

    Parameters
    ----------
    model
        A built Keras model (functional or sequential, a single chain of layers).
    title
        Drawn above the diagram; default: the model's name and parameter count.
    """
    rows = architecture_rows(model)
    n = len(rows)
    fig, ax = plt.subplots(figsize=(7.5, 0.36 * n + 0.8))
    ax.set(xlim=(0, 1), ylim=(n, -0.6))
    ax.axis("off")
    for i, row in enumerate(rows.itertuples(index=False)):
        colour = _COLOURS.get(row.kind, "#eeeeee")
        ax.add_patch(FancyBboxPatch((0.02, i + 0.1), 0.96, 0.75, boxstyle="round,pad=0.005",
                                    facecolor=colour, edgecolor="0.3", linewidth=0.8))  # fmt: skip
        ax.text(0.04, i + 0.5, row.name, va="center", fontsize=8, family="monospace")
        ax.text(0.24, i + 0.5, row.what, va="center", fontsize=8.5, weight="bold")
        ax.text(0.50, i + 0.5, row.extras, va="center", fontsize=7.5, color="0.25")
        ax.text(0.96, i + 0.5, row.output, va="center", ha="right", fontsize=8,
                family="monospace")  # fmt: skip
    ax.set_title(title or f"{model.name}: {model.count_params():,} parameters", fontsize=10)
    fig.tight_layout()
    return fig
