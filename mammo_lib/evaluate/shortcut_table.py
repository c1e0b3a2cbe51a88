"""The shortcut test as a table: what each comparison can tell apart, in rows and words.

Chapter 07 runs three comparisons: normal against abnormal tiles of a recipe whose normals
come from the DDSM normal scans (pipeline *and* anatomy differ), of ``9-background``, whose
normals are the abnormal scans' own tissue (anatomy only), and the pipeline test on normal
tiles only (pipeline only). Each row of :func:`shortcut_table` says which, gives the
statistics-only AUC with its verdict (:func:`~mammo_lib.evaluate.results.shortcut_verdict`)
beside the ConvNet's, and names the most telling statistic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from mammo_lib.dataset.recipes import get_recipe
from mammo_lib.evaluate.results import format_interval, shortcut_verdict
from mammo_lib.evaluate.shortcut import ShortcutResult

#: Column of the statistics-only AUC in :func:`shortcut_table`.
SHORTCUT_AUC = "shortcut AUC (statistics only)"
#: The table's columns, in order.
COLUMNS: tuple[str, ...] = (
    "comparison",
    "data",
    "normal tiles from",
    "differs in",
    SHORTCUT_AUC,
    "verdict",
    "ConvNet AUC",
    "top statistic",
)


def top_statistic(result: ShortcutResult) -> str:
    """The statistic that separates best on its own, with its AUC: ``"p99 (0.83)"``."""
    if result.feature_auc.empty:
        raise ValueError("the shortcut result has no per-statistic AUCs")
    return f"{result.feature_auc.index[0]} ({result.feature_auc.iloc[0]:.2f})"


def recipe_comparison(
    recipe: str, result: ShortcutResult, convnet_auc: str = "", data: str = "synthetic"
) -> dict[str, str]:
    """The row of one recipe's normal-against-abnormal test.

    Parameters
    ----------
    recipe
        The binary recipe whose tiles were tested; where its normal tiles come from (the
        recipe's ``normals``) says what differs between its classes.
    result
        Its :func:`~mammo_lib.evaluate.results.dataset_shortcut_test` result.
    convnet_auc
        The ConvNet's test AUC on the same recipe, as text (``row_interval``).
    data
        What the tiles are (``"synthetic"`` or a dataset label).
    """
    background = get_recipe(recipe).normals == "cbis-background"
    return {
        "comparison": f"dataset {recipe}: normal vs abnormal",
        "data": data,
        "normal tiles from": "the same scans' tissue" if background else "DDSM normal scans",
        "differs in": "anatomy (lesion-centred positives)"
        if background
        else "pipeline and anatomy",
        SHORTCUT_AUC: format_interval(result.auc),
        "verdict": shortcut_verdict(result.auc),
        "ConvNet AUC": convnet_auc,
        "top statistic": top_statistic(result),
    }


def pipeline_comparison(
    result: ShortcutResult,
    names: tuple[str, str] = ("DDSM normals", "CBIS tissue"),
    recipes: tuple[str, str] = ("9", "9-background"),
    data: str = "synthetic",
) -> dict[str, str]:
    """The row of the pipeline test (:func:`~mammo_lib.evaluate.pipeline_shortcut.pipeline_test`):
    normal tiles of two recipes, so only the pipeline differs."""
    return {
        "comparison": f"normal tiles only: {names[0]} vs {names[1]}",
        "data": data,
        "normal tiles from": f"both (datasets {recipes[0]} and {recipes[1]})",
        "differs in": "pipeline only",
        SHORTCUT_AUC: format_interval(result.auc),
        "verdict": shortcut_verdict(result.auc),
        "ConvNet AUC": "",
        "top statistic": top_statistic(result),
    }


def shortcut_table(rows: Sequence[Mapping[str, str]]) -> pd.DataFrame:
    """The comparisons as one table, columns in :data:`COLUMNS` order."""
    if not rows:
        raise ValueError("the shortcut table needs at least one comparison")
    table = pd.DataFrame(list(rows))
    missing = [c for c in COLUMNS if c not in table]
    if missing:
        raise KeyError(f"shortcut rows lack columns {missing}")
    return table[list(COLUMNS)]


def statistic_aucs(features: Mapping[str, pd.Series], top: int = 12) -> pd.DataFrame:
    """Each statistic's own AUC per comparison, long form, for the `top` statistics.

    Parameters
    ----------
    features
        Comparison name -> the result's ``feature_auc`` (statistic -> AUC).
    top
        Keep the statistics whose largest AUC over the comparisons ranks in the top `top`.

    Returns
    -------
    pandas.DataFrame
        Columns ``statistic``, ``comparison``, ``AUC``; statistics ordered by that largest
        AUC, descending (the order :func:`~mammo_lib.evaluate.plots.plot_statistic_aucs`
        draws them in).
    """
    if not features:
        raise ValueError("no comparison to draw")
    long = (
        pd.DataFrame(dict(features))
        .rename_axis("statistic")
        .reset_index()
        .melt(id_vars="statistic", var_name="comparison", value_name="AUC")
    )
    order = long.groupby("statistic")["AUC"].max().nlargest(top).index
    kept = long[long["statistic"].isin(order)]
    rank = {name: i for i, name in enumerate(order)}
    return kept.sort_values("statistic", key=lambda s: s.map(rank), kind="stable").reset_index(
        drop=True
    )
