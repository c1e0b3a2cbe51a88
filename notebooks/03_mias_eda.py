# %% [markdown]
# # MIAS: exploratory analysis
#
# The study tested its best model on a second, independent database: mini-MIAS, the
# Mammographic Image Analysis Society's digital mammogram database {cite}`suckling1994mias`,
# as reduced to 200 micron pixels and padded to 1024 x 1024 pixels
# {cite}`scuccimarra2018`. This chapter looks at what mini-MIAS holds: how many images and
# abnormalities of which kinds, how large they are, and where they sit on the scans. It then
# compares the texture of real mammograms with the synthetic scans this project uses as
# stand-ins for CBIS-DDSM and DDSM, whose full images are not available here.
#
# **Data.** Everything in the first three sections is computed on the real mini-MIAS
# (all 322 scans and the official annotation table, `Info.txt`). The last section compares
# real MIAS with synthetic scans and says at each step which is which.

# %% tags=["parameters"]
seed = 0
spectrum_images = 48  # MIAS scans sampled for histograms and spectrum slopes (322 = all)
patches_per_image = 4  # background-tissue patches per scan
patch_size = 128  # patch side in pixels for the power spectrum
synthetic_cases = 2  # synthetic scans rendered for the comparison
scan_size = "small"  # synthetic scan geometry: "small" or "full"

# %% tags=["remove-cell"]
# ruff: noqa: E501  (figure captions live on the cell-marker lines)
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.patches import Circle
from myst_nb import glue

from mammo_lib.imaging.pgm import read_pgm
from mammo_lib.sources.mias import (
    CLASSES,
    PIXEL_SIZE_MM,
    TISSUES,
    load_mias,
    to_row_col,
)

sns.set_theme(style="whitegrid", context="notebook")
rng = np.random.default_rng(seed)

# %% [markdown]
# ## The annotation table
#
# `load_mias()` fetches the database through the project's data registry (hash-checked
# against the official archive), parses the table at the end of `Info.txt` into one row per
# line, and checks the table against the PGM files on disk. Lines it cannot parse would be
# listed in its report rather than dropped; on the official file there are none.

# %%
mias = load_mias()
abn, images = mias.abnormalities, mias.images
abn.head(8)

# %% tags=["remove-cell"]
lesions = abn[abn["abnormality"] != "NORM"]
counts = {
    "n_images": len(images),
    "n_lines": len(abn),
    "n_patients": images["patient"].nunique(),
    "n_normal_images": int((~images["abnormal"]).sum()),
    "n_abnormal_images": int(images["abnormal"].sum()),
    "n_norm_lines": int((abn["abnormality"] == "NORM").sum()),
    "n_lesion_lines": len(lesions),
    "n_benign": int((abn["severity"] == "B").sum()),
    "n_malignant": int((abn["severity"] == "M").sum()),
    "n_multi": int((images["n_abnormalities"] > 1).sum()),
    "n_no_coords": int(lesions["x"].isna().sum()),
    "n_skipped": len(mias.report.skipped),
    "n_malignant_images": int((images["worst_severity"] == "M").sum()),
}
for key, value in counts.items():
    glue(f"c03_{key}", value, display=False)
glue("c03_no_coords_refnums", ", ".join(lesions.loc[lesions["x"].isna(), "refnum"]), display=False)

# %% [markdown]
# The table has {glue:text}`c03_n_lines` lines for {glue:text}`c03_n_images` images of
# {glue:text}`c03_n_patients` women (the films come in left/right pairs, so `mdb001` and
# `mdb002` are one patient). {glue:text}`c03_n_norm_lines` lines mark normal images;
# {glue:text}`c03_n_lesion_lines` describe abnormalities, {glue:text}`c03_n_benign` benign
# and {glue:text}`c03_n_malignant` malignant. {glue:text}`c03_n_multi` images carry more
# than one abnormality, so the {glue:text}`c03_n_lesion_lines` abnormalities fall on
# {glue:text}`c03_n_abnormal_images` images. {glue:text}`c03_n_no_coords` abnormal lines
# give no centre or radius ({glue:text}`c03_no_coords_refnums`): three are calcifications
# spread over the whole breast, marked `*NOTE 3*`, and one mass line simply ends after its
# severity. The reader keeps them, with missing coordinates, and lists them in its report;
# {glue:text}`c03_n_skipped` lines failed to parse.

# %%
mias.report.to_frame()

# %% [markdown]
# ## Classes, severity and background tissue
#
# MIAS labels each abnormality with one of six classes and each image with its background
# tissue: fatty (F), fatty-glandular (G) or dense-glandular (D).

# %% tags=["remove-input"]
by_class = pd.crosstab(
    lesions["abnormality"].map(CLASSES), lesions["severity"].map({"B": "benign", "M": "malignant"}),
    margins=True, margins_name="total",
)  # fmt: skip
by_class.index.name, by_class.columns.name = "class", "severity"
glue("c03_class_table", by_class, display=False)
by_class

# %% tags=["remove-cell"]
most = lesions["abnormality"].value_counts()
glue("c03_top_class", CLASSES[most.index[0]], display=False)
glue("c03_top_class_n", int(most.iloc[0]), display=False)
tissue_share = images.groupby("tissue")["abnormal"].mean().rename(index=TISSUES)
glue("c03_abnormal_share_fatty", 100 * tissue_share["fatty"], display=False)
glue("c03_abnormal_share_dense", 100 * tissue_share["dense-glandular"], display=False)

# %% mystnb={"figure": {"caption": "mini-MIAS (real data). Left: abnormality lines by class and severity. Right: images by background tissue, normal or abnormal.", "name": "fig-03-counts"}}
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), width_ratios=[3, 2])
class_counts = pd.crosstab(lesions["abnormality"], lesions["severity"]).loc[most.index]
class_counts.rename(columns={"B": "benign", "M": "malignant"}).plot.bar(
    stacked=True, ax=ax1, color=["tab:blue", "tab:red"], rot=0
)
ax1.set(xlabel="class", ylabel="abnormality lines", title="Abnormalities")
tissue_counts = pd.crosstab(images["tissue"], images["abnormal"]).loc[list(TISSUES)]
tissue_counts.columns = ["normal" if not c else "abnormal" for c in tissue_counts.columns]
tissue_counts.rename(index=lambda t: TISSUES[t].replace("-", "-\n")).plot.bar(
    stacked=True, ax=ax2, color=["tab:gray", "tab:orange"], rot=0
)
ax2.set(xlabel="background tissue", ylabel="images", title="Images")
fig.tight_layout()
plt.show()

# %% [markdown]
# The most frequent class is {glue:text}`c03_top_class` ({glue:text}`c03_top_class_n`
# lines), and every class has both benign and malignant cases, so the severity cannot be
# read off the class ({numref}`fig-03-counts`). Abnormal images make up
# {glue:text}`c03_abnormal_share_fatty:.0f`% of fatty and
# {glue:text}`c03_abnormal_share_dense:.0f`% of dense-glandular scans.
#
# ## Size of the abnormalities
#
# Each line gives the radius of a circle enclosing the abnormality, in 200 micron pixels.
# The study placed MIAS scans on its CBIS-DDSM scale by enlarging them 2.58 times and cut
# 299-pixel tiles there {cite}`scuccimarra2018`; one tile therefore covers
# 299 / 2.58, about 116 MIAS pixels, the dashed line in {numref}`fig-03-radius`.

# %% tags=["remove-cell"]
TILE_MIAS_PX = 299 / 2.58
located = lesions.dropna(subset=["radius"]).assign(
    cls=lambda d: d["abnormality"].map(CLASSES),
    sev=lambda d: d["severity"].map({"B": "benign", "M": "malignant"}),
    radius_mm=lambda d: d["radius"] * PIXEL_SIZE_MM,
)
medians = located.groupby("abnormality")["radius"].median()
glue("c03_radius_median", float(located["radius"].median()), display=False)
glue("c03_radius_median_mm", float(located["radius_mm"].median()), display=False)
glue("c03_radius_min", float(located["radius"].min()), display=False)
glue("c03_radius_max", float(located["radius"].max()), display=False)
glue("c03_radius_median_calc", float(medians["CALC"]), display=False)
glue("c03_radius_median_circ", float(medians["CIRC"]), display=False)
glue("c03_n_larger_than_tile", int((2 * located["radius"] > TILE_MIAS_PX).sum()), display=False)
glue("c03_n_located", len(located), display=False)

# %% mystnb={"figure": {"caption": "Radius of the circle enclosing each abnormality, by class and severity (mini-MIAS, real data; lines with coordinates). Dashed: the half-width of the study's 299-pixel tile in MIAS pixels; abnormalities above it do not fit in one tile.", "name": "fig-03-radius"}}
order = [CLASSES[c] for c in medians.sort_values().index]
fig, ax = plt.subplots(figsize=(9, 4.5))
sns.boxplot(data=located, x="cls", y="radius", order=order, color="0.9", showfliers=False, ax=ax)
sns.stripplot(
    data=located, x="cls", y="radius", hue="sev", order=order, dodge=True,
    palette={"benign": "tab:blue", "malignant": "tab:red"}, size=5, ax=ax,
)  # fmt: skip
ax.axhline(TILE_MIAS_PX / 2, color="k", ls="--", lw=1)
ax.set(xlabel="class", ylabel="radius (pixels of 0.2 mm)")
ax.legend(title="severity")
ax.tick_params(axis="x", rotation=15)
fig.tight_layout()
plt.show()

# %% [markdown]
# The median radius is {glue:text}`c03_radius_median:.0f` pixels
# ({glue:text}`c03_radius_median_mm:.1f` mm), ranging from {glue:text}`c03_radius_min:.0f`
# to {glue:text}`c03_radius_max:.0f` pixels. Calcification clusters are drawn small (median
# {glue:text}`c03_radius_median_calc:.0f` pixels), circumscribed masses larger (median
# {glue:text}`c03_radius_median_circ:.0f`). {glue:text}`c03_n_larger_than_tile` of the
# {glue:text}`c03_n_located` located abnormalities have a diameter wider than one of the
# study's tiles, so a tile centred on them shows only part of the lesion.
#
# ## Where the abnormalities are
#
# MIAS coordinates have their origin at the **bottom-left** corner of the image, while an
# image array's row 0 is its top; `to_row_col` converts (`row = 1023 - y`, `col = x`).
# {numref}`fig-03-examples` circles the annotated abnormalities on one scan of each class.
# Reading `y` as a row would flip every circle upside down, off the lesion and often off the
# breast.

# %% tags=["remove-cell"]
examples = located.drop_duplicates("abnormality").sort_values("abnormality")["refnum"].tolist()
if "mdb005" not in examples:  # an image with two abnormalities
    examples.append("mdb005")
glue("c03_example_refnums", ", ".join(examples), display=False)

# %% mystnb={"figure": {"caption": "Example mini-MIAS scans (real data), one per class, with the annotated circles drawn after converting the bottom-left-origin coordinates to rows (blue: benign, red: malignant).", "name": "fig-03-examples"}}
fig, axes = plt.subplots(2, (len(examples) + 1) // 2, figsize=(12, 6.5))
for ax, refnum in zip(axes.ravel(), examples, strict=False):
    ax.imshow(read_pgm(mias.path(refnum)), cmap="gray", vmin=0, vmax=255)
    lines = mias.lines(refnum)
    for line in lines.itertuples():
        row, col = to_row_col(line.x, line.y)
        color = "tab:red" if line.severity == "M" else "tab:blue"
        ax.add_patch(Circle((col, row), line.radius, fill=False, color=color, lw=1.5))
    label = "+".join(lines["abnormality"].unique())
    ax.set_title(f"{refnum} {label} ({images.loc[refnum, 'tissue']})", fontsize=10)
    ax.axis("off")
for ax in axes.ravel()[len(examples) :]:
    ax.remove()
fig.tight_layout()
plt.show()
