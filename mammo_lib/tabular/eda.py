"""Reusable exploratory-analysis helpers for tabular data: correlations, class-wise
distributions, PCA biplots, and the numbers that check a claim about a feature.

All functions take a tidy :class:`pandas.DataFrame` (one row per case), feature column names
and a binary label column (bool or 0/1; missing labels are dropped and counted by the caller).
Plot functions return the Matplotlib object they drew on and create no other figures.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

__all__ = [
    "PcaResult",
    "category_rates",
    "class_distributions",
    "correlation_heatmap",
    "SizeComparison",
    "compare_sizes",
    "label_correlations",
    "pca_biplot",
    "pca_projection",
    "plot_category_rates",
    "share_beyond_quantile",
]

DEFAULT_NAMES: dict[bool, str] = {False: "benign", True: "malignant"}
PALETTE: dict[str, str] = {"negative": "#4C72B0", "positive": "#C44E52"}


def _labels(frame: pd.DataFrame, label: str, names: Mapping[bool, str]) -> pd.Series:
    values = frame[label]
    if values.isna().any():
        raise ValueError(f"label column {label!r} has {int(values.isna().sum())} missing values")
    return values.astype(bool).map(names)


def _palette(names: Mapping[bool, str]) -> dict[str, str]:
    return {names[False]: PALETTE["negative"], names[True]: PALETTE["positive"]}


def correlation_heatmap(
    frame: pd.DataFrame,
    columns: Sequence[str],
    ax: plt.Axes | None = None,
    annot: bool = False,
    title: str | None = None,
) -> plt.Axes:
    """Heatmap of the Pearson correlations between `columns` (lower triangle, -1 to 1)."""
    corr = frame[list(columns)].astype("float64").corr()
    if ax is None:
        size = max(5.0, 0.28 * len(columns) + 2.5)
        _, ax = plt.subplots(figsize=(size + 1.5, size))
    mask = np.triu(np.ones_like(corr, dtype=bool), k=1)
    with warnings.catch_warnings():
        # seaborn 0.13 calls Colormap.set_bad, which Matplotlib now flags as pending removal.
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        _heatmap(corr, mask, annot, ax)
    ax.tick_params(labelsize=8)
    if title:
        ax.set_title(title)
    return ax


def _heatmap(corr: pd.DataFrame, mask: np.ndarray, annot: bool, ax: plt.Axes) -> None:
    sns.heatmap(
        corr,
        mask=mask,
        vmin=-1,
        vmax=1,
        center=0,
        cmap="RdBu_r",
        square=True,
        annot=annot,
        fmt=".2f",
        annot_kws={"size": 8},
        linewidths=0.3,
        cbar_kws={"shrink": 0.7, "label": "Pearson r"},
        ax=ax,
    )


def label_correlations(frame: pd.DataFrame, columns: Sequence[str], label: str) -> pd.Series:
    """Correlation of each column with the 0/1 label (point-biserial r), strongest first."""
    data = frame[list(columns)].astype("float64")
    target = frame[label].astype("float64")
    corr = data.corrwith(target)
    return corr.reindex(corr.abs().sort_values(ascending=False).index)


def class_distributions(
    frame: pd.DataFrame,
    features: Sequence[str],
    label: str,
    names: Mapping[bool, str] = DEFAULT_NAMES,
    ncols: int = 3,
    discrete: bool = False,
) -> plt.Figure:
    """Small multiples: the distribution of each feature by class (density, each class to 1)."""
    data = frame[list(features)].astype("float64")
    data["class"] = _labels(frame, label, names)
    nrows = int(np.ceil(len(features) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.0 * ncols, 2.9 * nrows), squeeze=False)
    for i, (ax, feature) in enumerate(zip(axes.flat, features, strict=False)):
        sns.histplot(
            data,
            x=feature,
            hue="class",
            hue_order=[names[False], names[True]],
            palette=_palette(names),
            stat="density",
            common_norm=False,
            element="step",
            discrete=discrete,
            bins="auto",
            ax=ax,
            legend=i == 0,
        )
        ax.set_ylabel("density" if i % ncols == 0 else "")
    for ax in list(axes.flat)[len(features) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


@dataclass(frozen=True)
class PcaResult:
    """Two-component PCA of standardised features.

    Attributes
    ----------
    scores
        ``PC1``, ``PC2`` per row of the input.
    loadings
        Feature x (``PC1``, ``PC2``): the components' coefficients (unit-length columns).
    explained
        Fraction of the variance explained by each component.
    """

    scores: pd.DataFrame
    loadings: pd.DataFrame
    explained: np.ndarray


def pca_projection(frame: pd.DataFrame, features: Sequence[str]) -> PcaResult:
    """Median-impute, standardise and project `features` onto their first two components."""
    data = frame[list(features)].astype("float64")
    pipe = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), PCA(n_components=2))
    scores = pipe.fit_transform(data)
    pca: PCA = pipe[-1]
    # Fix the sign so that PC1 grows with the features on average (comparable across runs).
    signs = np.where(pca.components_.sum(axis=1) < 0, -1.0, 1.0)
    components = pca.components_ * signs[:, None]
    return PcaResult(
        scores=pd.DataFrame(scores * signs, columns=["PC1", "PC2"], index=frame.index),
        loadings=pd.DataFrame(components.T, index=list(features), columns=["PC1", "PC2"]),
        explained=pca.explained_variance_ratio_.copy(),
    )


def pca_biplot(
    frame: pd.DataFrame,
    features: Sequence[str],
    label: str,
    names: Mapping[bool, str] = DEFAULT_NAMES,
    n_labels: int = 8,
    ax: plt.Axes | None = None,
    title: str | None = None,
) -> plt.Axes:
    """PCA biplot: cases as points coloured by class, feature loadings as arrows.

    The arrows are the loading vectors scaled to the spread of the scores; the `n_labels`
    longest are named (all of them when there are few features).
    """
    result = pca_projection(frame, features)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 6.5))
    classes = _labels(frame, label, names)
    sns.scatterplot(
        x=result.scores["PC1"],
        y=result.scores["PC2"],
        hue=classes,
        hue_order=[names[False], names[True]],
        palette=_palette(names),
        s=14,
        alpha=0.55,
        linewidth=0,
        ax=ax,
    )
    loadings = result.loadings
    reach = np.abs(result.scores.to_numpy()).max(axis=0)
    scale = 0.8 * reach.min() / np.abs(loadings.to_numpy()).max()
    length = np.hypot(loadings["PC1"], loadings["PC2"])
    for x, y in loadings.to_numpy():
        ax.annotate(
            "",
            xy=(x * scale, y * scale),
            xytext=(0, 0),
            arrowprops={"arrowstyle": "->", "color": "0.2", "lw": 0.9, "alpha": 0.8},
        )
    _label_arrows(ax, loadings * scale, list(length.sort_values(ascending=False).index[:n_labels]))
    ax.axhline(0, color="0.8", lw=0.6, zorder=0)
    ax.axvline(0, color="0.8", lw=0.6, zorder=0)
    ax.set_xlabel(f"PC1 ({result.explained[0]:.0%} of variance)")
    ax.set_ylabel(f"PC2 ({result.explained[1]:.0%} of variance)")
    ax.legend(title="", loc="best", fontsize="small")
    if title:
        ax.set_title(title)
    return ax


def _label_arrows(ax: plt.Axes, tips: pd.DataFrame, features: list[str]) -> None:
    """Name arrow tips, nudging labels apart vertically so that none overlap; a thin line
    joins a moved label to its arrow, and the axes grow to keep every label inside."""
    x_min, x_max = ax.get_xlim()
    y_min, y_max = ax.get_ylim()
    min_dy, min_dx = 0.045 * (y_max - y_min), 0.3 * (x_max - x_min)
    placed: list[tuple[float, float]] = []
    order = sorted(features, key=lambda f: -tips.loc[f, "PC2"])
    for feature in order:
        tip_x, tip_y = tips.loc[feature, "PC1"], tips.loc[feature, "PC2"]
        x, y = tip_x * 1.06, tip_y * 1.06
        while any(abs(y - py) < min_dy and abs(x - px) < min_dx for px, py in placed):
            y -= 0.5 * min_dy
        placed.append((x, y))
        if abs(y - tip_y * 1.06) > 1e-9:
            ax.plot([tip_x, x], [tip_y, y], color="0.5", lw=0.5)
        ax.text(
            x,
            y,
            feature,
            fontsize=8,
            color="0.1",
            ha="left" if x >= 0 else "right",
            va="center",
            bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.75},
        )
    xs = [x for x, _ in placed]
    ys = [y for _, y in placed]
    if placed:
        ax.set_xlim(
            min(x_min, min(xs) - 0.35 * (x_max - x_min) * (min(xs) < 0)),
            max(x_max, max(xs) + 0.35 * (x_max - x_min)),
        )
        ax.set_ylim(min(y_min, min(ys) - min_dy), max(y_max, max(ys) + min_dy))


def share_beyond_quantile(
    frame: pd.DataFrame, feature: str, label: str, quantile: float, side: str = "below"
) -> dict[str, float]:
    """Check a claim like "small tumours are almost always benign" with numbers.

    Parameters
    ----------
    frame, feature, label
        The table, the feature, the 0/1 (bool) label column.
    quantile
        The cut, as a quantile of `feature` over all rows (e.g. 0.25).
    side
        ``"below"`` (rows with feature <= cut) or ``"above"`` (rows with feature > cut).

    Returns
    -------
    dict
        ``threshold`` (the cut), ``n`` (rows on that side), ``positive_share`` and
        ``negative_share`` (fractions of those rows with label 1 / 0).
    """
    values = frame[feature].astype("float64")
    target = frame[label].astype("float64")
    threshold = float(values.quantile(quantile))
    if side == "below":
        chosen = values <= threshold
    elif side == "above":
        chosen = values > threshold
    else:
        raise ValueError(f"side must be 'below' or 'above', got {side!r}")
    n = int(chosen.sum())
    positive = float(target[chosen].mean()) if n else float("nan")
    return {
        "threshold": threshold,
        "n": n,
        "positive_share": positive,
        "negative_share": 1 - positive,
    }


@dataclass(frozen=True)
class SizeComparison:
    """A one-sided two-sample comparison: are positives larger than negatives?

    Attributes
    ----------
    n_negative, n_positive
        Rows compared in each group (rows with a missing value are left out and counted in
        `n_missing`).
    median_negative, median_positive
        The groups' medians.
    auc
        Probability that a random positive is larger than a random negative (ties count
        half), the Mann-Whitney U statistic divided by ``n_negative * n_positive``.
    p_value
        One-sided Mann-Whitney U test of "positives are stochastically larger".
    n_missing
        Rows without a value.
    """

    n_negative: int
    n_positive: int
    median_negative: float
    median_positive: float
    auc: float
    p_value: float
    n_missing: int


def compare_sizes(frame: pd.DataFrame, value: str, label: str) -> SizeComparison:
    """Test a claim like "malignant lesions are larger" (one-sided Mann-Whitney U).

    Parameters
    ----------
    frame
        One row per case (e.g. per annotated lesion).
    value
        The size column (e.g. ``radius``); rows where it is missing are left out, counted.
    label
        The 0/1 (bool) group column; 1 is the group claimed to be larger.

    Raises
    ------
    ValueError
        When either group has no row with a value.
    """
    from scipy.stats import mannwhitneyu

    values = frame[value].astype("float64")
    target = frame[label].astype("float64")
    present = values.notna() & target.notna()
    pos = values[present & (target == 1)].to_numpy()
    neg = values[present & (target == 0)].to_numpy()
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError(
            f"compare_sizes: {value!r} needs rows in both groups of {label!r} "
            f"(got {len(neg)} negative, {len(pos)} positive)"
        )
    test = mannwhitneyu(pos, neg, alternative="greater")
    return SizeComparison(
        n_negative=len(neg),
        n_positive=len(pos),
        median_negative=float(np.median(neg)),
        median_positive=float(np.median(pos)),
        auc=float(test.statistic) / (len(pos) * len(neg)),
        p_value=float(test.pvalue),
        n_missing=int((~present).sum()),
    )


def category_rates(
    frame: pd.DataFrame, column: str, label: str, names: Mapping[int, str] | None = None
) -> pd.DataFrame:
    """Cases and positive rate per category of `column` (missing values as their own row)."""
    codes = frame[column].astype("object").where(frame[column].notna(), "missing")
    if names is not None:
        codes = codes.map(lambda c: names.get(c, f"{c} (undocumented)") if c != "missing" else c)
    table = (
        pd.DataFrame({"category": codes, "positive": frame[label].astype("float64")})
        .groupby("category", sort=False)["positive"]
        .agg(n="size", positive_rate="mean")
    )
    order = [names[k] for k in sorted(names) if names[k] in table.index] if names else []
    rest = [c for c in table.index if c not in order]
    rest.sort(key=lambda c: (isinstance(c, str), 0 if isinstance(c, str) else c, str(c)))
    return table.reindex(order + rest)


def plot_category_rates(
    frame: pd.DataFrame,
    columns: Sequence[str],
    label: str,
    names: Mapping[str, Mapping[int, str]] | None = None,
    positive: str = "malignant",
) -> plt.Figure:
    """Bar charts of the positive rate per category, one panel per column, n on each bar."""
    names = names or {}
    fig, axes = plt.subplots(1, len(columns), figsize=(4.6 * len(columns), 3.8), squeeze=False)
    for ax, column in zip(axes[0], columns, strict=True):
        table = category_rates(frame, column, label, names.get(column))
        ax.bar(range(len(table)), table["positive_rate"], color=PALETTE["positive"], alpha=0.8)
        for i, (n, rate) in enumerate(zip(table["n"], table["positive_rate"], strict=True)):
            ax.text(i, rate + 0.02, f"n={n}", ha="center", fontsize=8)
        ax.set_xticks(range(len(table)), table.index, rotation=30, ha="right")
        ax.set_ylim(0, 1.1)
        ax.set_title(column)
        ax.set_ylabel(f"fraction {positive}")
    fig.tight_layout()
    return fig
