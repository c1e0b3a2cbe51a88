# %% [markdown]
# # The UCI breast-cancer tables: exploratory analysis
#
# Before it turned to mammograms, the study {cite}`scuccimarra2018` looked at four small public
# tables from the UCI Machine Learning Repository to learn which properties of a lesion separate
# benign from malignant: the Wisconsin Diagnostic (WDBC) and Prognostic (WPBC) tables of nuclear
# features measured on fine-needle aspirates {cite}`street1993wdbc`, the original Wisconsin
# table of cytology scores (BCW) {cite}`wolberg1990bcw`, and the Mammographic Mass table of
# BI-RADS descriptors read on mammograms {cite}`elter2007mammographic`. This chapter repeats
# that exploration — correlation heatmaps, class-wise distributions, PCA biplots — and checks
# the study's observations against the data with numbers rather than by eye.
#
# **Everything in this chapter runs on the real UCI files**, read by
# `mammo_lib.sources.uci` with the column names that each data set's `.names` file documents.

# %% tags=["parameters"]
n_top_features = 6  # features shown in the class-wise distributions
small_quantile = 0.25  # "small" = at or below this quantile of a size feature
n_arrow_labels = 8  # loading arrows named in the WDBC / WPBC biplots

# %% tags=["remove-cell"]
# ruff: noqa: E501  (figure captions live on the cell-marker lines, which cannot wrap)
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from myst_nb import glue

from mammo_lib.report.tables import book_table
from mammo_lib.report.verdicts import p_value_verdict
from mammo_lib.sources import uci
from mammo_lib.tabular import eda

plt.rcParams["figure.dpi"] = 100
MALIGNANT = {False: "benign", True: "malignant"}
RECURRENCE = {False: "no recurrence", True: "recurrence"}


def glue_number(key: str, value: float) -> None:
    """Glue a plain Python number (never a NumPy scalar, whose repr the book cannot format)."""
    glue(f"c01_{key}", int(value) if float(value).is_integer() else float(value), display=False)


# %% [markdown]
# ## The four tables

# %% tags=["hide-input"] mystnb={"markdown_format": "myst"}
wdbc = uci.load_wdbc()
wpbc = uci.load_wpbc()
bcw = uci.load_bcw()
mass = uci.load_mammographic_mass()

overview = pd.DataFrame(
    {
        "rows": [len(wdbc), len(wpbc), len(bcw), len(mass)],
        "predictors": [
            len(uci.WDBC_FEATURES),
            len(uci.WPBC_FEATURES),
            len(uci.BCW_FEATURES),
            len(uci.MAMMO_FEATURES),
        ],
        "positive class": ["malignant", "recurrence (R)", "malignant", "malignant"],
        "positives": [
            int(wdbc["malignant"].sum()),
            int(wpbc["recurred"].sum()),
            int(bcw["malignant"].sum()),
            int(mass["malignant"].sum()),
        ],
        "missing values": [int(t.isna().sum().sum()) for t in (wdbc, wpbc, bcw, mass)],
    },
    index=["WDBC", "WPBC", "BCW", "Mammographic Mass"],
)
for name, table in zip(["wdbc", "wpbc", "bcw", "mass"], [wdbc, wpbc, bcw, mass], strict=True):
    glue_number(f"n_{name}", len(table))
glue_number("n_wdbc_malignant", wdbc["malignant"].sum())
glue_number("n_wpbc_recurred", wpbc["recurred"].sum())
glue_number("n_bcw_malignant", bcw["malignant"].sum())
glue_number("n_bcw_missing", bcw["Bare Nuclei"].isna().sum())
glue_number("n_wpbc_missing", wpbc["lymph_node_status"].isna().sum())
glue_number("n_mass_malignant", mass["malignant"].sum())
book_table(
    overview.rename_axis("table"),
    "The four UCI tables (real data): rows, predictors, the positive class and missing values.",
    "tbl-01-overview",
    index=True,
)

# %% [markdown]
# WDBC has {glue:text}`c01_n_wdbc` aspirates ({glue:text}`c01_n_wdbc_malignant` malignant),
# WPBC {glue:text}`c01_n_wpbc` invasive cancers with follow-up ({glue:text}`c01_n_wpbc_recurred`
# recurred), BCW {glue:text}`c01_n_bcw` aspirates ({glue:text}`c01_n_bcw_malignant` malignant;
# *Bare Nuclei* is missing in {glue:text}`c01_n_bcw_missing`), and the Mammographic Mass table
# {glue:text}`c01_n_mass` masses ({glue:text}`c01_n_mass_malignant` malignant). In WDBC and
# WPBC each of ten nuclear properties (radius, texture, perimeter, area, smoothness,
# compactness, concavity, concave points, symmetry, fractal dimension) comes three times: the
# mean over the nuclei in the image, its standard error (`_se`), and the mean of the three
# largest values (`_worst`).
#
# ## WDBC: nuclear features of benign and malignant aspirates

# %% tags=["remove-cell"]
corr = wdbc[list(uci.WDBC_FEATURES)].astype("float64").corr()
glue_number("wdbc_r_radius_perimeter", corr.loc["radius_mean", "perimeter_mean"])
glue_number("wdbc_r_radius_area", corr.loc["radius_mean", "area_mean"])
glue_number("wdbc_r_radius_texture", corr.loc["radius_mean", "texture_mean"])

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Pearson correlations between the 30 WDBC features (lower triangle). Radius, perimeter and area move together, as do the three contour features compactness, concavity and concave points.", "name": "fig-01-wdbc-corr"}}
ax = eda.correlation_heatmap(wdbc, uci.WDBC_FEATURES)
plt.show()

# %% [markdown]
# {numref}`fig-01-wdbc-corr` shows how redundant the 30 features are. Radius, perimeter and area
# are nearly the same measurement (r = {glue:text}`c01_wdbc_r_radius_perimeter:.3f` between mean
# radius and mean perimeter, {glue:text}`c01_wdbc_r_radius_area:.3f` with mean area), while
# texture is only loosely tied to size (r = {glue:text}`c01_wdbc_r_radius_texture:.2f`).
# Which features go with the diagnosis? The correlation of each feature with the 0/1 label
# (point-biserial r) ranks them:

# %% tags=["hide-input"] mystnb={"markdown_format": "myst"}
wdbc_corr = eda.label_correlations(wdbc, uci.WDBC_FEATURES, "malignant")
top_wdbc = list(wdbc_corr.index[:n_top_features])
glue("c01_wdbc_top1", top_wdbc[0], display=False)
glue_number("wdbc_top1_r", wdbc_corr.iloc[0])
glue("c01_wdbc_top2", top_wdbc[1], display=False)
glue_number("wdbc_top2_r", wdbc_corr.iloc[1])
glue("c01_wdbc_weakest", wdbc_corr.index[-1], display=False)
glue_number("wdbc_weakest_r", wdbc_corr.iloc[-1])
book_table(
    wdbc_corr.head(n_top_features).rename("r with malignant").rename_axis("feature").to_frame(),
    "The WDBC features most correlated with malignancy (point-biserial r, real data).",
    "tbl-01-wdbc-top",
    index=True,
)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Distributions of the WDBC features most correlated with malignancy, benign (blue) and malignant (red), each class scaled to unit area.", "name": "fig-01-wdbc-dists"}}
fig = eda.class_distributions(wdbc, top_wdbc, "malignant", MALIGNANT)
plt.show()

# %% [markdown]
# The strongest single correlate is *{glue:text}`c01_wdbc_top1`* (r =
# {glue:text}`c01_wdbc_top1_r:.2f`), followed by *{glue:text}`c01_wdbc_top2`* (r =
# {glue:text}`c01_wdbc_top2_r:.2f`); the weakest is *{glue:text}`c01_wdbc_weakest`* (r =
# {glue:text}`c01_wdbc_weakest_r:.3f`). Concave points measure indentations of the nucleus
# contour: the shape of the boundary carries as much information as its size, which fits the
# study's conclusion that the edges of a lesion matter and that image crops should keep context
# around them. {numref}`fig-01-wdbc-dists` shows that the classes overlap in every single
# feature, but the malignant distributions sit to the right and have long right tails.
#
# ### Checking the study's observations
#
# The study observed that malignant masses skew larger and that a small radius or perimeter
# almost always means benign. With "small" defined as at or below the
# {glue:text}`c01_small_quantile:.0%` quantile:

# %% tags=["hide-input"] mystnb={"markdown_format": "myst"}
glue_number("small_quantile", small_quantile)
checks = {}
for feature in ("radius_mean", "perimeter_mean", "area_mean"):
    below = eda.share_beyond_quantile(wdbc, feature, "malignant", small_quantile, "below")
    above = eda.share_beyond_quantile(wdbc, feature, "malignant", 1 - small_quantile, "above")
    checks[feature] = {
        "small cut": below["threshold"],
        "n small": below["n"],
        "benign among small": below["negative_share"],
        "large cut": above["threshold"],
        "n large": above["n"],
        "malignant among large": above["positive_share"],
    }
checks = pd.DataFrame(checks).T.astype({"n small": int, "n large": int})
for feature in ("radius_mean", "perimeter_mean"):
    short = feature.split("_")[0]
    glue_number(f"{short}_small_cut", checks.loc[feature, "small cut"])
    glue_number(f"{short}_n_small", checks.loc[feature, "n small"])
    glue_number(f"{short}_benign_small", checks.loc[feature, "benign among small"])
    glue_number(f"{short}_large_cut", checks.loc[feature, "large cut"])
    glue_number(f"{short}_malignant_large", checks.loc[feature, "malignant among large"])
medians = wdbc.groupby("malignant")["radius_mean"].median()
glue_number("radius_median_benign", medians[False])
glue_number("radius_median_malignant", medians[True])
larger = eda.compare_sizes(wdbc, "radius_mean", "malignant")
glue("c01_size_p", larger.p_value, display=False)
glue("c01_size_verdict", p_value_verdict(larger.p_value), display=False)
benign_share = 1 - wdbc["malignant"].astype(float).mean()
glue_number("wdbc_benign_share", benign_share)
glue_number("area_median", wdbc["area_mean"].median())
glue_number("fd_max", wdbc["fractal_dimension_mean"].max())
book_table(
    checks.rename_axis("feature"),
    "The study's size observations on WDBC (real data): the share of benign aspirates at or "
    "below the small cut and of malignant ones at or above the large cut.",
    "tbl-01-size-checks",
    index=True,
)

# %% [markdown]
# Both observations hold. The median mean radius is {glue:text}`c01_radius_median_benign:.2f`
# for benign and {glue:text}`c01_radius_median_malignant:.2f` for malignant aspirates. Of the
# {glue:text}`c01_radius_n_small` aspirates with a mean radius at most
# {glue:text}`c01_radius_small_cut:.2f`, {glue:text}`c01_radius_benign_small:.1%` are benign
# (against {glue:text}`c01_wdbc_benign_share:.1%` overall); for a mean perimeter at most
# {glue:text}`c01_perimeter_small_cut:.2f` the share is
# {glue:text}`c01_perimeter_benign_small:.1%` of {glue:text}`c01_perimeter_n_small`. At the
# other end, {glue:text}`c01_radius_malignant_large:.1%` of the aspirates with a mean radius
# above {glue:text}`c01_radius_large_cut:.2f` are malignant. Size alone, however, leaves a wide
# middle range where the classes overlap ({numref}`fig-01-wdbc-dists`).
#
# ### Principal components

# %% tags=["remove-cell"]
pca_wdbc = eda.pca_projection(wdbc, uci.WDBC_FEATURES)
glue_number("wdbc_pc1", pca_wdbc.explained[0])
glue_number("wdbc_pc2", pca_wdbc.explained[1])
glue_number("wdbc_n_pc1_positive", (pca_wdbc.loadings["PC1"] > 0).sum())
glue_number("wdbc_n_features", len(uci.WDBC_FEATURES))
glue("c01_wdbc_pc2_top", pca_wdbc.loadings["PC2"].idxmax(), display=False)
glue("c01_wdbc_pc2_bottom", pca_wdbc.loadings["PC2"].idxmin(), display=False)
glue_number("wdbc_pc1_r", pca_wdbc.scores["PC1"].corr(wdbc["malignant"].astype(float)))

# %% tags=["hide-input"] mystnb={"figure": {"caption": "PCA biplot of the standardised WDBC features: aspirates as points, each feature's loading on the first two components as an arrow (the longest named).", "name": "fig-01-wdbc-pca"}}
ax = eda.pca_biplot(wdbc, uci.WDBC_FEATURES, "malignant", MALIGNANT, n_labels=n_arrow_labels)
plt.show()

# %% [markdown]
# The first two principal components of the standardised features explain
# {glue:text}`c01_wdbc_pc1:.1%` and {glue:text}`c01_wdbc_pc2:.1%` of the variance
# ({numref}`fig-01-wdbc-pca`). {glue:text}`c01_wdbc_n_pc1_positive` of the {glue:text}`c01_wdbc_n_features` features load
# positively on the first component, an overall "size and irregularity" axis; benign aspirates
# crowd at its low end (the component's correlation with malignancy is r =
# {glue:text}`c01_wdbc_pc1_r:.2f`). The second component runs from *{glue:text}`c01_wdbc_pc2_bottom`*
# (most negative loading) to *{glue:text}`c01_wdbc_pc2_top`* (most positive), opposing size to
# the roughness of the contour. The classes are largely apart in this plane already — a hint
# that simple linear models will do well in the next chapter.
#
# ## WPBC: does anything predict recurrence?
#
# WPBC describes {glue:text}`c01_n_wpbc` invasive cancers by the same 30 nuclear features plus
# tumour size and the number of positive lymph nodes (missing for
# {glue:text}`c01_n_wpbc_missing`), with the outcome "recurred" (R) or "not recurred" (N) and a
# time in months. Here the outcome is used as recorded; {doc}`chapter 02 <02_uci_classical_ml>` turns it into recurrence
# within 24 months. The heatmap keeps the ten mean features with the clinical variables.

# %% tags=["remove-cell"]
wpbc_columns = [f"{f}_mean" for f in uci.NUCLEUS_FEATURES]
wpbc_columns += ["tumor_size", "lymph_node_status", "time", "recurred"]
wpbc_corr = eda.label_correlations(wpbc, uci.WPBC_FEATURES, "recurred")
top_wpbc = list(wpbc_corr.index[:n_top_features])
glue("c01_wpbc_top1", top_wpbc[0], display=False)
glue_number("wpbc_top1_r", wpbc_corr.iloc[0])
glue_number("wpbc_n_weak", (wpbc_corr.abs() < 0.2).sum())
glue_number("wpbc_n_features", len(wpbc_corr))
glue_number(
    "wpbc_r_time", wpbc[["time"]].astype(float).corrwith(wpbc["recurred"].astype(float)).iloc[0]
)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Correlations in WPBC between the ten mean nuclear features, tumour size, lymph-node count, follow-up time and recurrence.", "name": "fig-01-wpbc-corr"}}
ax = eda.correlation_heatmap(wpbc, wpbc_columns, annot=True)
plt.show()

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Distributions of the WPBC features most correlated with recurrence, for cases that did not (blue) and did (red) recur.", "name": "fig-01-wpbc-dists"}}
fig = eda.class_distributions(wpbc, top_wpbc, "recurred", RECURRENCE)
plt.show()

# %% [markdown]
# Prognosis is much harder than diagnosis. The strongest correlate of recurrence,
# *{glue:text}`c01_wpbc_top1`*, reaches only r = {glue:text}`c01_wpbc_top1_r:.2f`, and
# {glue:text}`c01_wpbc_n_weak` of the {glue:text}`c01_wpbc_n_features` predictors have
# |r| < 0.2 ({numref}`fig-01-wpbc-corr`, {numref}`fig-01-wpbc-dists`). Recurrence also
# correlates with the time column (r = {glue:text}`c01_wpbc_r_time:.2f`) because "time" means
# two different things — time to recurrence for R and disease-free follow-up for N — which is
# why {doc}`chapter 02 <02_uci_classical_ml>` needs a fixed horizon rather than the raw outcome.

# %% tags=["remove-cell"]
pca_wpbc = eda.pca_projection(wpbc, uci.WPBC_FEATURES)
glue_number("wpbc_pc1", pca_wpbc.explained[0])
glue_number("wpbc_pc2", pca_wpbc.explained[1])
glue_number("wpbc_pc1_r", pca_wpbc.scores["PC1"].corr(wpbc["recurred"].astype(float)))

# %% tags=["hide-input"] mystnb={"figure": {"caption": "PCA biplot of the standardised WPBC predictors, coloured by recurrence.", "name": "fig-01-wpbc-pca"}}
ax = eda.pca_biplot(wpbc, uci.WPBC_FEATURES, "recurred", RECURRENCE, n_labels=n_arrow_labels)
plt.show()

# %% [markdown]
# The biplot ({numref}`fig-01-wpbc-pca`; components explaining {glue:text}`c01_wpbc_pc1:.1%`
# and {glue:text}`c01_wpbc_pc2:.1%`) has the same structure as WDBC's, but the recurrent
# cases are scattered through the cloud rather than gathered at one end: their correlation with
# the first component is only r = {glue:text}`c01_wpbc_pc1_r:.2f`.
#
# ## BCW: cytology scores

# %% tags=["remove-cell"]
bcw_pairs = bcw[list(uci.BCW_FEATURES)].astype("float64").corr()
off_diagonal = bcw_pairs.where(~np.eye(len(bcw_pairs), dtype=bool)).stack()
glue_number(
    "bcw_r_size_shape", bcw_pairs.loc["Uniformity of Cell Size", "Uniformity of Cell Shape"]
)
glue_number("bcw_r_min", off_diagonal.min())
glue("c01_bcw_min_pair", " and ".join(off_diagonal.idxmin()), display=False)
bcw_corr = eda.label_correlations(bcw, uci.BCW_FEATURES, "malignant")
top_bcw = list(bcw_corr.index[:n_top_features])
glue("c01_bcw_top1", top_bcw[0], display=False)
glue_number("bcw_top1_r", bcw_corr.iloc[0])
glue("c01_bcw_weakest", bcw_corr.index[-1], display=False)
glue_number("bcw_weakest_r", bcw_corr.iloc[-1])

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Correlations between the nine BCW cytology scores (1-10).", "name": "fig-01-bcw-corr"}}
ax = eda.correlation_heatmap(bcw, uci.BCW_FEATURES, annot=True)
plt.show()

# %% [markdown]
# The nine scores that a cytologist assigned by eye are all positively correlated
# ({numref}`fig-01-bcw-corr`): from r = {glue:text}`c01_bcw_r_min:.2f` ({glue:text}`c01_bcw_min_pair`)
# up to r = {glue:text}`c01_bcw_r_size_shape:.2f` between the uniformity of cell size and of
# cell shape. The best single correlate of malignancy is *{glue:text}`c01_bcw_top1`*
# (r = {glue:text}`c01_bcw_top1_r:.2f`), the weakest *{glue:text}`c01_bcw_weakest`*
# (r = {glue:text}`c01_bcw_weakest_r:.2f`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Distributions of the BCW scores most correlated with malignancy, benign (blue) and malignant (red), each class scaled to unit area.", "name": "fig-01-bcw-dists"}}
fig = eda.class_distributions(bcw, top_bcw, "malignant", MALIGNANT, discrete=True)
plt.show()

# %% tags=["remove-cell"]
small_size = eda.share_beyond_quantile(
    bcw, "Uniformity of Cell Size", "malignant", small_quantile, "below"
)
glue_number("bcw_size_cut", small_size["threshold"])
glue_number("bcw_size_n_small", small_size["n"])
glue_number("bcw_size_benign_small", small_size["negative_share"])
glue_number("bcw_benign_share", 1 - bcw["malignant"].astype(float).mean())
high = bcw["Uniformity of Cell Size"] >= 5
glue_number("bcw_n_high", high.sum())
glue_number("bcw_malignant_high", bcw.loc[high, "malignant"].astype(float).mean())

# %% [markdown]
# The same pattern as in WDBC appears on the cytologists' scale
# ({numref}`fig-01-bcw-dists`): benign aspirates pile up at score 1, malignant ones spread over
# the whole range. Of the {glue:text}`c01_bcw_size_n_small` aspirates whose uniformity of cell
# size is at most {glue:text}`c01_bcw_size_cut` (the {glue:text}`c01_small_quantile:.0%`
# quantile), {glue:text}`c01_bcw_size_benign_small:.1%` are benign (overall:
# {glue:text}`c01_bcw_benign_share:.1%`); of the {glue:text}`c01_bcw_n_high` with a score of 5
# or more, {glue:text}`c01_bcw_malignant_high:.1%` are malignant.

# %% tags=["remove-cell"]
pca_bcw = eda.pca_projection(bcw, uci.BCW_FEATURES)
glue_number("bcw_pc1", pca_bcw.explained[0])
glue_number("bcw_pc2", pca_bcw.explained[1])
glue_number("bcw_n_pc1_positive", (pca_bcw.loadings["PC1"] > 0).sum())
glue_number("bcw_n_features", len(uci.BCW_FEATURES))
glue("c01_bcw_pc2_top", pca_bcw.loadings["PC2"].abs().idxmax(), display=False)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "PCA biplot of the standardised BCW scores (missing Bare Nuclei imputed by the median), with every loading arrow named.", "name": "fig-01-bcw-pca"}}
ax = eda.pca_biplot(bcw, uci.BCW_FEATURES, "malignant", MALIGNANT, n_labels=len(uci.BCW_FEATURES))
plt.show()

# %% [markdown]
# With scores this correlated, one component carries {glue:text}`c01_bcw_pc1:.1%` of the
# variance and the second only {glue:text}`c01_bcw_pc2:.1%` ({numref}`fig-01-bcw-pca`).
# {glue:text}`c01_bcw_n_pc1_positive` of the {glue:text}`c01_bcw_n_features` scores load positively on the first
# component, and *{glue:text}`c01_bcw_pc2_top`* dominates the second; benign aspirates form a
# tight cluster at the low end of the first component and malignant ones a loose cloud beyond.
#
# ## Mammographic Mass: what a radiologist sees
#
# The Mammographic Mass table {cite}`elter2007mammographic` is the only one of the four read
# from mammograms rather than from cells: the mass's shape, margin and density as BI-RADS
# descriptors, the patient's age, the radiologist's BI-RADS assessment, and the biopsy result.

# %% tags=["remove-cell"]
for column in ("BI-RADS", "Age", "Shape", "Margin", "Density"):
    glue_number(f"mass_missing_{column.lower().replace('-', '')}", mass[column].isna().sum())
documented = mass["BI-RADS"].isin(range(1, 6))
glue_number("mass_birads_undocumented", (~documented & mass["BI-RADS"].notna()).sum())
glue(
    "c01_mass_birads_values",
    ", ".join(
        str(v) for v in sorted(mass.loc[~documented & mass["BI-RADS"].notna(), "BI-RADS"].unique())
    ),
    display=False,
)
glue_number("mass_complete", mass.drop(columns="BI-RADS").notna().all(axis=1).sum())
shape = eda.category_rates(mass, "Shape", "malignant", uci.SHAPE_NAMES)
margin = eda.category_rates(mass, "Margin", "malignant", uci.MARGIN_NAMES)
for table, names in ((shape, uci.SHAPE_NAMES), (margin, uci.MARGIN_NAMES)):
    for name in names.values():
        glue_number(f"mass_rate_{name.replace('-', '_')}", table.loc[name, "positive_rate"])
density = eda.category_rates(mass, "Density", "malignant", uci.DENSITY_NAMES)
density_rates = density.loc[list(uci.DENSITY_NAMES.values()), "positive_rate"]
glue_number("mass_density_low", density_rates.min())
glue_number("mass_density_high", density_rates.max())
ages = mass.groupby("malignant")["Age"].median()
glue_number("mass_age_benign", ages[False])
glue_number("mass_age_malignant", ages[True])

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Fraction of Mammographic Mass lesions that were malignant, by BI-RADS shape, margin and density (n above each bar; missing values as their own category).", "name": "fig-01-mass-rates"}}
fig = eda.plot_category_rates(
    mass,
    ["Shape", "Margin", "Density"],
    "malignant",
    {"Shape": uci.SHAPE_NAMES, "Margin": uci.MARGIN_NAMES, "Density": uci.DENSITY_NAMES},
)
plt.show()

# %% [markdown]
# The descriptors are strongly tied to the outcome ({numref}`fig-01-mass-rates`):
# {glue:text}`c01_mass_rate_irregular:.0%` of irregular masses were malignant against
# {glue:text}`c01_mass_rate_round:.0%` of round ones, and {glue:text}`c01_mass_rate_spiculated:.0%`
# of spiculated against {glue:text}`c01_mass_rate_circumscribed:.0%` of circumscribed margins —
# again the boundary of the lesion carries the signal. Density says less: across its four
# documented categories the malignant fraction only ranges from
# {glue:text}`c01_mass_density_low:.0%` to {glue:text}`c01_mass_density_high:.0%`. Malignant masses
# come from older women (median age {glue:text}`c01_mass_age_malignant` against
# {glue:text}`c01_mass_age_benign`).
#
# The table needs care. Values are missing for shape ({glue:text}`c01_mass_missing_shape`),
# margin ({glue:text}`c01_mass_missing_margin`), density ({glue:text}`c01_mass_missing_density`),
# age ({glue:text}`c01_mass_missing_age`) and BI-RADS ({glue:text}`c01_mass_missing_birads`);
# only {glue:text}`c01_mass_complete` of {glue:text}`c01_n_mass` rows have all four predictors.
# {glue:text}`c01_mass_birads_undocumented` BI-RADS values lie outside the documented 1-5
# (values {glue:text}`c01_mass_birads_values`). The loader keeps them as recorded. More
# importantly, BI-RADS is the radiologist's assessment of how likely the mass is malignant —
# the `.names` file calls it non-predictive — so {doc}`chapter 02 <02_uci_classical_ml>` leaves it out of the predictors and
# imputes the missing descriptors inside each cross-validation fold instead of dropping rows.
#
# ## What carries over
#
# - In WDBC and BCW, size and irregularity of the nuclear boundary separate malignant from
#   benign; small, regular nuclei are almost always benign.
# - In WDBC and BCW the classes are largely apart in the plane of the first two principal
#   components; WPBC's recurrent cases are not, and no single feature predicts recurrence.
# - The features live on very different scales (WDBC's median mean area is
#   {glue:text}`c01_area_median:.0f`, its largest mean fractal dimension
#   {glue:text}`c01_fd_max:.3f`), so any distance- or kernel-based model must standardise them
#   — the subject of the next chapter.
