"""Training curves: metrics per epoch from run histories (``log.csv``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

_LABELS = {
    "accuracy": "accuracy",
    "recall": "recall (abnormal)",
    "precision": "precision (abnormal)",
    "f1": "F1 (abnormal)",
    "auc": "ROC AUC",
    "loss": "weighted cross-entropy",
}


def history_long(histories: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Stack run histories into long form: ``run, epoch (1-based), split, metric, value``."""
    frames = []
    for run, history in histories.items():
        for column in history.columns:
            if column in ("epoch", "learning_rate"):
                continue
            split = "validation" if column.startswith("val_") else "training"
            metric = column.removeprefix("val_")
            frames.append(
                pd.DataFrame(
                    {
                        "run": run,
                        "epoch": history["epoch"].to_numpy() + 1,
                        "split": split,
                        "metric": metric,
                        "value": history[column].to_numpy(),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def plot_curves(
    histories: Mapping[str, pd.DataFrame],
    metrics: Sequence[str] = ("accuracy", "recall"),
    splits: Sequence[str] = ("training", "validation"),
    baselines: Mapping[str, tuple[float, str]] | None = None,
) -> Figure:
    """Plot metrics per epoch, one panel per metric, one line per run and split.

    Training curves are dashed, validation curves solid; each run keeps one colour. Reference
    levels (e.g. the accuracy of calling every tile normal) are drawn as grey dotted lines.

    Parameters
    ----------
    histories
        Run label -> history (the run's ``log.csv`` as a DataFrame).
    metrics
        Metric names (without ``val_``), one panel each.
    splits
        ``"training"`` and/or ``"validation"``.
    baselines
        Metric -> ``(level, label)``: a horizontal reference line on that metric's panel,
        e.g. ``{"accuracy": (0.83, "all-normal baseline")}``; see :func:`class_baselines`.
    """
    data = history_long(histories)
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 3.8), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, metric in zip(axes[0], metrics, strict=True):
        for i, run in enumerate(histories):
            for split in splits:
                rows = data[(data.run == run) & (data.metric == metric) & (data.split == split)]
                label = f"{run}, {split}" if len(histories) > 1 else split
                ax.plot(
                    rows.epoch,
                    rows.value,
                    linestyle="--" if split == "training" else "-",
                    marker="o",
                    markersize=3,
                    color=colours[i % len(colours)],
                    label=label,
                )
        if baselines and metric in baselines:
            level, text = baselines[metric]
            ax.axhline(level, color="0.35", linestyle=":", linewidth=1.2, label=text)
        ax.set_xlabel("epoch")
        ax.set_ylabel(_LABELS.get(metric, metric))
        if metric != "loss":
            ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    for ax in axes[0]:
        ax.legend(fontsize="small", loc="best")
    fig.tight_layout()
    return fig


def class_baselines(n_tiles: int, n_abnormal: int) -> dict[str, tuple[float, str]]:
    """Reference levels of a split with `n_abnormal` of `n_tiles` abnormal, for
    :func:`plot_curves`: the accuracy of calling every tile normal, and the recall of a
    classifier that flags tiles at random at the abnormal share (chance)."""
    if not 0 <= n_abnormal <= n_tiles or n_tiles == 0:
        raise ValueError(f"need 0 <= n_abnormal <= n_tiles > 0, got {n_abnormal} of {n_tiles}")
    share = n_abnormal / n_tiles
    return {
        "accuracy": (1 - share, f"all-normal accuracy ({1 - share:.2f})"),
        "recall": (share, f"chance: random flags at the abnormal share ({share:.2f})"),
    }
