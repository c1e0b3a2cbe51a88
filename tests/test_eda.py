"""EDA helpers on the real UCI tables: correlations, PCA, claim checks, plots."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from mammo_lib.sources import uci
from mammo_lib.tabular import eda

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(scope="module")
def wdbc(mirror: Path) -> pd.DataFrame:
    return uci.load_wdbc(mirror / "uci")


@pytest.fixture(scope="module")
def bcw(mirror: Path) -> pd.DataFrame:
    return uci.load_bcw(mirror / "uci")


def test_label_correlations_sorted_and_correct(wdbc: pd.DataFrame) -> None:
    corr = eda.label_correlations(wdbc, uci.WDBC_FEATURES, "malignant")
    assert len(corr) == 30
    assert (np.diff(corr.abs().to_numpy()) <= 1e-12).all()
    x = wdbc["radius_mean"].to_numpy(dtype=float)
    y = wdbc["malignant"].to_numpy(dtype=float)
    assert corr["radius_mean"] == pytest.approx(np.corrcoef(x, y)[0, 1])


def test_share_beyond_quantile_matches_direct_count(wdbc: pd.DataFrame) -> None:
    result = eda.share_beyond_quantile(wdbc, "radius_mean", "malignant", 0.25)
    radius = wdbc["radius_mean"].to_numpy(dtype=float)
    cut = np.quantile(radius, 0.25)
    below = radius <= cut
    assert result["threshold"] == pytest.approx(cut)
    assert result["n"] == int(below.sum())
    assert result["negative_share"] == pytest.approx(1 - wdbc["malignant"][below].mean())
    above = eda.share_beyond_quantile(wdbc, "radius_mean", "malignant", 0.25, side="above")
    assert above["n"] + result["n"] == len(wdbc)
    with pytest.raises(ValueError, match="side"):
        eda.share_beyond_quantile(wdbc, "radius_mean", "malignant", 0.25, side="left")


def test_pca_projection_imputes_and_normalises(bcw: pd.DataFrame) -> None:
    result = eda.pca_projection(bcw, uci.BCW_FEATURES)
    assert result.scores.shape == (699, 2)
    assert result.scores.notna().all().all()  # 16 missing Bare Nuclei were imputed
    assert result.explained[0] >= result.explained[1] > 0
    np.testing.assert_allclose(np.linalg.norm(result.loadings.to_numpy(), axis=0), 1.0)
    # PC1 variance equals the explained share of the total (standardised) variance.
    var = result.scores["PC1"].var(ddof=1)
    assert var / len(uci.BCW_FEATURES) == pytest.approx(result.explained[0], rel=0.01)
    assert result.loadings["PC1"].sum() > 0


def test_plots_draw_what_they_promise(wdbc: pd.DataFrame, bcw: pd.DataFrame) -> None:
    ax = eda.pca_biplot(bcw, uci.BCW_FEATURES, "malignant", n_labels=4)
    arrows = [c for c in ax.texts if isinstance(c, matplotlib.text.Annotation)]
    names = [t.get_text() for t in ax.texts if not isinstance(t, matplotlib.text.Annotation)]
    assert len(arrows) == 9 and len(names) == 4
    assert set(names) <= set(uci.BCW_FEATURES)
    plt.close(ax.figure)

    ax = eda.correlation_heatmap(wdbc, uci.WDBC_FEATURES[:10], annot=True)
    assert len(ax.get_xticklabels()) == 10
    plt.close(ax.figure)

    fig = eda.class_distributions(wdbc, list(uci.WDBC_FEATURES[:4]), "malignant", ncols=3)
    assert sum(a.get_visible() for a in fig.axes) == 4
    plt.close(fig)


def test_category_rates_count_missing_and_undocumented(mirror: Path) -> None:
    mass = uci.load_mammographic_mass(mirror / "uci")
    table = eda.category_rates(mass, "Shape", "malignant", uci.SHAPE_NAMES)
    assert int(table["n"].sum()) == len(mass)
    assert table.loc["missing", "n"] == int(mass["Shape"].isna().sum())
    assert list(table.index[:4]) == list(uci.SHAPE_NAMES.values())
    birads = eda.category_rates(mass, "BI-RADS", "malignant", {k: str(k) for k in range(1, 6)})
    undocumented = [c for c in birads.index if "undocumented" in str(c)]
    assert undocumented and int(birads.loc[undocumented, "n"].sum()) == int(
        (~mass["BI-RADS"].isin(range(1, 6)) & mass["BI-RADS"].notna()).sum()
    )
    fig = eda.plot_category_rates(mass, ["Shape", "Margin"], "malignant")
    assert len(fig.axes) == 2
    plt.close(fig)


def test_missing_labels_are_refused(mirror: Path) -> None:
    wpbc = uci.load_wpbc(mirror / "uci")
    wpbc["early"] = uci.wpbc_recurrence_within(wpbc, 24)
    with pytest.raises(ValueError, match="missing values"):
        eda.pca_biplot(wpbc, uci.WPBC_FEATURES, "early")


def test_compare_sizes_finds_a_shift_and_not_its_absence() -> None:
    from mammo_lib.tabular.eda import compare_sizes

    rng = np.random.default_rng(0)
    n = 60
    shifted = pd.DataFrame(
        {
            "radius": np.r_[rng.normal(30, 5, n), rng.normal(45, 5, n), np.nan],
            "malignant": np.r_[np.zeros(n), np.ones(n), 1.0],
        }
    )
    larger = compare_sizes(shifted, "radius", "malignant")
    assert (larger.n_negative, larger.n_positive, larger.n_missing) == (n, n, 1)
    assert larger.p_value < 1e-6
    assert larger.auc > 0.9
    assert larger.median_positive > larger.median_negative
    # the test is one-sided: the claim "positives are larger" fails when they are smaller
    flipped = shifted.assign(malignant=1 - shifted["malignant"])
    assert compare_sizes(flipped, "radius", "malignant").p_value > 0.99
    same = shifted.assign(radius=rng.normal(30, 5, len(shifted)))
    assert 0.01 < compare_sizes(same, "radius", "malignant").p_value


def test_compare_sizes_needs_both_groups() -> None:
    from mammo_lib.tabular.eda import compare_sizes

    frame = pd.DataFrame({"radius": [1.0, 2.0], "malignant": [1, 1]})
    with pytest.raises(ValueError, match="both groups"):
        compare_sizes(frame, "radius", "malignant")
