# %% [markdown]
# # ROI extraction
#
# The study did not train on whole mammograms. It cut small square tiles out of them: tiles
# around each abnormality that CBIS-DDSM outlines with a mask {cite}`lee2017cbis`, tiles of
# healthy tissue from the normal scans of the original DDSM {cite}`heath2001ddsm`, and
# crops around the abnormalities of mini-MIAS {cite}`suckling1994mias` for an independent
# test {cite}`scuccimarra2018`. This chapter shows each of these cuts on example scans and
# the rules that decide which normal tiles are kept.
#
# **Data.** The CBIS-DDSM scans and masks and the DDSM normal scans used here are
# *synthetic* stand-ins written by this project's generator in the real file formats (DICOM,
# lossless JPEG) and layouts; the real ones are a 163 GB download that is not available
# where this book is built. The MIAS example at the end is *real* (mini-MIAS). All the code
# shown runs unchanged on a real CBIS-DDSM download.

# %% tags=["parameters"]
seed = 0
cbis_root = None  # your CBIS-DDSM download (NBIA layout); None: the synthetic stand-ins
ddsm_root = None  # your DDSM folder (holding cases/normals); None: the synthetic stand-ins
cbis_tables = None  # folder of the four case CSVs; None: beside the scans, else fetched
synthetic_cases = 8  # CBIS full scans in the synthetic tree (with your data: scans shown)
scan_size = "small"  # synthetic scan geometry: "small" (a third per side) or "full"
tile_size = 96  # stored tile side in pixels (the study: 299)

# %% tags=["remove-cell"]
# ruff: noqa: E501  (figure captions live on the cell-marker lines)
import matplotlib.pyplot as plt
import pandas as pd
from myst_nb import glue

from mammo_lib.dataset.build import ensure_dataset
from mammo_lib.dataset.labels import CLASS_NAMES
from mammo_lib.dataset.review import sample_tiles
from mammo_lib.dataset.user_data import scan_data, scan_tree
from mammo_lib.extract import cbis, mias, normals
from mammo_lib.extract.common import cut, scan_rng
from mammo_lib.extract.figures import draw_boxes, tile_grid
from mammo_lib.imaging.dicom import read_dicom
from mammo_lib.imaging.intensity import resize
from mammo_lib.imaging.read import read_scan
from mammo_lib.report.tables import book_table
from mammo_lib.sources.ddsm import read_view
from mammo_lib.sources.mias import load_mias

crop_size = (
    598 if scan_size == "full" else 299
)  # the study's 598 px at 50 um; small scans have 100 um pixels
data = scan_data(
    cbis_root,
    ddsm_root,
    cbis_tables,
    synthetic_cases=synthetic_cases,
    seed=seed,
    scan_size=scan_size,
)
tree = scan_tree(data, max_scans=synthetic_cases, max_normal_views=4 * max(1, synthetic_cases // 4))
glue("c04_data", data.label, display=False)
lesions = tree.lesions
glue("c04_n_scans", len(tree.scans), display=False)
glue("c04_n_lesions", len(lesions), display=False)
glue("c04_n_normal_views", len(tree.normals), display=False)
glue("c04_crop_size", crop_size, display=False)
glue("c04_tile_size", tile_size, display=False)

# %% [markdown]
# ## The synthetic CBIS-DDSM tree
#
# The synthetic tree holds {glue:text}`c04_n_scans` full mammograms with
# {glue:text}`c04_n_lesions` outlined abnormalities, and {glue:text}`c04_n_normal_views`
# normal DDSM views. Each abnormality has a full scan, a binary ROI mask of the same size,
# and a pathology (benign or malignant) and type (mass or calcification), as in the CBIS-DDSM
# case tables:

# %% tags=["hide-input"] mystnb={"markdown_format": "myst"}
book_table(
    lesions[
        [
            "roi_id",
            "abnormality_type",
            "pathology",
            "bbox_row0",
            "bbox_col0",
            "bbox_row1",
            "bbox_col1",
        ]
    ].head(8),
    "The first abnormalities of the synthetic CBIS-DDSM tree, with their ROI bounding boxes "
    "(rows and columns of the full scan).",
    "tbl-04-lesions",
)

# %% [markdown]
# ## Method 2: fixed context, random crops
#
# The study's dataset 9 uses what it calls method 2 (dataset 6 uses it beside method 1,
# see below). The ROI is the bounding box of the mask's pixels. The study's code calls a
# ROI small when its larger side is under a 598-pixel tile and gives it 20% context, a
# region of side `max(1.2 x 598, ROI)` along each axis around the ROI's centre; a larger
# ROI gets 5%, `max(1.05 x 598, ROI)`. Three random 598 x 598 windows are then cut from the
# region for every ROI, small or large, each flipped and rotated at random and resized to
# 299 x 299. A ROI larger than the tile is therefore sampled, not covered: its three tiles
# may miss parts of it. The library also offers two variants of its own, presented as the
# project's and not the study's: deciding the context per axis (`pad_by="axis"`), and
# covering a large ROI with the fewest overlapping tiles (`large_rois="grid"`); the
# recipes use the study's rule. Nothing is zoomed: a tile shows tissue at the scan's own
# scale, as a model reading whole scans would see it. Here the crop is
# {glue:text}`c04_crop_size` pixels (the same anatomy as 598 pixels of a full-size scan) and
# the stored tile {glue:text}`c04_tile_size` pixels.

# %% tags=["remove-cell"]
examples = {}
for kind in ("mass", "calcification"):
    rows = lesions[lesions["abnormality_type"] == kind]
    if len(rows):
        examples[kind] = rows.iloc[0]
scans8, boxes, crops_m1, crops_m2 = {}, {}, {}, {}
for kind, row in examples.items():
    scan8 = read_scan(row["scan_path"]).image
    box = cbis.roi_box_from_mask(read_dicom(row["mask_path"]) > 0, scan8.shape)
    scans8[kind], boxes[kind] = scan8, box
    crops_m2[kind] = cbis.method2_crops(
        scan8, box, scan_rng(seed, "c04", kind), crop_size=crop_size, out_size=tile_size
    )
    crops_m1[kind] = cbis.method1_crops(
        scan8, box, scan_rng(seed, "c04", kind), crop_size=crop_size, out_size=tile_size
    )

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Method 2 on two synthetic scans: the ROI's bounding box (red) and the random crops cut around it (yellow).", "name": "fig-04-method2"}}
fig, axes = plt.subplots(1, len(examples), figsize=(4.5 * len(examples), 6), squeeze=False)
for ax, kind in zip(axes.flat, examples, strict=True):
    crop_boxes = [c.box for c in crops_m2[kind]]
    draw_boxes(
        ax,
        scans8[kind],
        [boxes[kind], *crop_boxes],
        ["tab:red"] + ["gold"] * len(crop_boxes),
        labels=["ROI"] + ["crop"] * len(crop_boxes),
    )
    ax.set_title(f"{examples[kind]['pathology']} {kind}", fontsize="small")
plt.show()

# %% [markdown]
# ## Method 1: original size, zoomed, and halves
#
# The study's dataset 8 and its earlier datasets used method 1, which represents each ROI
# in several ways: one crop at the original size with the ROI at a random place inside it;
# the whole ROI with 20% padding zoomed to the tile size; and, when one side of the ROI is
# more than 1.5 times the other, one crop centred on each half. Dataset 8 keeps the whole
# ROI in every image (the zoomed, padded view); dataset 6, the study's "everything" set,
# combines method 1 (at original size at a random place and centred with a fixed context,
# zoomed with padding, the halves, and overlapping tiles over a ROI larger than the tile)
# with method 2's three random crops. Zooming makes every lesion fill the tile whatever its
# real size, which helps a classifier of ROIs but teaches it a scale that whole scans do
# not have. {numref}`fig-04-crops` compares the tiles of both methods for the two examples.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The tiles of each method for the two example ROIs: rows are method 1 (original, zoomed, halves) and method 2 (random crops), per example.", "name": "fig-04-crops"}}
tiles, titles, row_labels = [], [], []
ncols = max(max(len(crops_m1[k]), len(crops_m2[k])) for k in examples)
for kind in examples:
    for method, crops in (("method 1", crops_m1[kind]), ("method 2", crops_m2[kind])):
        tiles += [c.tile for c in crops] + [None] * (ncols - len(crops))
        titles += [c.kind for c in crops] + [""] * (ncols - len(crops))
        row_labels.append(f"{kind}\n{method}")
tile_grid(tiles, titles=titles, ncols=ncols, size=1.6, row_labels=row_labels)
plt.show()

# %% [markdown]
# ## Review grids per class
#
# The same extraction runs over every scan of the tree when a dataset is built ({doc}`chapter 05 <05_dataset_creation>`
# explains the builds). The grids below show the first tiles of each class in the built
# datasets 6 (methods 1 and 2) and 9 (method 2); normal tiles come from the DDSM normal scans.

# %% tags=["remove-cell"]
common = dict(
    synthetic_cases=synthetic_cases,
    seed=seed,
    scan_size=scan_size,
    tile_size=tile_size,
    include_mias=False,
    max_normal_tiles_per_scan=8,
    progress=False,
    cbis_root=cbis_root,
    ddsm_root=ddsm_root,
    cbis_tables=cbis_tables,
)
per_class = 6
grids = {
    name: sample_tiles(ensure_dataset(name, **common), per_class=per_class) for name in ("6", "9")
}


def grid_of(samples):
    tiles, labels = [], []
    for code, items in samples.items():
        tiles += items + [None] * (per_class - len(items))
        labels.append(CLASS_NAMES[code].replace("_", "\n"))
    return tile_grid(tiles, ncols=per_class, size=1.2, row_labels=labels)


# %% tags=["hide-input"] mystnb={"figure": {"caption": "Dataset 6 (methods 1 and 2): the first tiles of each class.", "name": "fig-04-review-method1"}}
grid_of(grids["6"])
plt.show()

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Dataset 9 (method 2): the first tiles of each class.", "name": "fig-04-review-method2"}}
grid_of(grids["9"])
plt.show()

# %% [markdown]
# ## Normal tiles and the keep-rules
#
# Normal scans have no ROI. For dataset 9 the study set every pure-white pixel (255) of a
# DDSM scan to black, since only the normal scans carry the white patches that hide patient
# identifiers and a ConvNet could learn them; trimmed 7% off every side (white film borders,
# labels); cut 598-pixel tiles with a stride of 350; and kept a tile only if, on its 8-bit
# pixels, fewer than 100 are at least 225 (bright artifacts), at most 50,000 are at most 20
# (background air), and its variance and mean pass a rule that depends on the scanner that
# digitized the film: DBA 20-1500 and mean at least 38, Lumisys 10-10,000 and at least 28,
# Howtek 10-10,000 and at least 30. These rules exist because the three DDSM digitizers
# render the same tissue differently. Here each DDSM view is first put on the
# optical-density scale of the CBIS-DDSM scans through its digitizer's published calibration
# and then mapped to 8 bits (the study converted the 16-bit PNGs by dividing by 256); on the
# synthetic scans the unexposed film around the breast lands close to the thresholds, so
# some air tiles pass the rules, which the figure makes visible.
#
# The normals of datasets 6 and 8 were made another way (the study's `slice_normal_image`):
# each scan shrunk by a random factor between 1.8 and 3.2, white set to black, 7% trimmed,
# and 299-pixel tiles cut directly at a random stride between 150 and 200, under the same
# pixel-count limits counted on the 299-pixel tile; {glue:text}`c04_shrunk_note`
#
# MIAS normals followed a rule of their own in the study (its `crop_mias_images_9`): the
# scan, scaled by 2.58, loses its black columns at both sides, 299-pixel tiles are cut at
# stride 200, kept if the variance is 20-2000 and the mean at least 38, and each kept tile
# enters the data with probability 0.3. The recipes use these rules; the project's earlier
# MIAS rule (7% trim, stride 175, the Howtek rule, every tile kept) remains as
# `mias_normals="project"`.

# %% tags=["remove-cell"]
review = []
example_view = None
for row in tree.normals.itertuples(index=False):
    scan8 = read_view(row.ljpeg_path).image
    found = normals.normal_tiles(
        scan8,
        row.digitizer,
        scan_rng(seed, row.ljpeg_path),
        crop_size=crop_size,
        out_size=tile_size,
        keep_rejected=True,
        white_to_black=True,
    )
    review += [
        t.as_row() | {"digitizer": row.digitizer.split()[0], "view": f"{row.case}.{row.view}"}
        for t in found
    ]
    if example_view is None and any(not t.stats.kept for t in found):
        example_view = (scan8, found, row.digitizer)
review = pd.DataFrame(review)
reasons = pd.crosstab(review["digitizer"], review["reason"])
shrunk_scan, _, shrunk_digitizer = example_view
draw, shrunk = normals.shrunk_normal_tiles(
    shrunk_scan,
    normals.keep_rule(shrunk_digitizer),
    scan_rng(seed, "c04-shrunk"),
    crop_size=crop_size,
    out_size=tile_size,
    keep_rejected=True,
)
glue(
    "c04_shrunk_note",
    f"on the example view below the draw was a factor of {draw.factor * 2 * tile_size / crop_size:.2f}"
    f" and a stride of {draw.stride * 299 / tile_size:.0f} (at the study's geometry), giving"
    f" {len(shrunk)} candidate tiles of which {sum(t.stats.kept for t in shrunk)} pass.",
    display=False,
)
glue("c04_n_candidates", len(review), display=False)
glue("c04_kept_share", f"{review['kept'].mean():.0%}", display=False)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The keep-rules on one synthetic DDSM normal view: kept tiles in green, rejected tiles in red (tiles overlap because the stride is smaller than the tile).", "name": "fig-04-keep-map"}}
scan8, found, digitizer = example_view
fig, ax = plt.subplots(figsize=(4.5, 6))
draw_boxes(
    ax,
    scan8,
    [t.box for t in found],
    ["tab:green" if t.stats.kept else "tab:red" for t in found],
    labels=["kept" if t.stats.kept else "rejected" for t in found],
    linewidth=0.8,
)
ax.set_title(digitizer, fontsize="small")
plt.show()

# %% [markdown]
# Over all {glue:text}`c04_n_candidates` candidate tiles of the synthetic normal views,
# {glue:text}`c04_kept_share` are kept. The table counts each decision by digitizer; a
# rejected tile is listed under the first rule it fails.

# %% tags=["hide-input"] mystnb={"markdown_format": "myst"}
book_table(
    reasons.rename_axis(None, axis=1).rename_axis("digitizer"),
    "Keep-rule decisions on the candidate tiles of the synthetic DDSM normal views, by "
    "digitizer: kept, or the first rule a rejected tile fails.",
    "tbl-04-keep-reasons",
    index=True,
)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Kept (top row) and rejected (bottom row) normal tiles of the example view, with the rule that rejected each.", "name": "fig-04-keep-tiles"}}
kept = [t for t in found if t.stats.kept][:6]
rejected = [t for t in found if not t.stats.kept][:6]
tiles = (
    [t.tile for t in kept]
    + [None] * (6 - len(kept))
    + [resize(cut(scan8, t.box), tile_size) for t in rejected]
)
titles = ["kept"] * len(kept) + [""] * (6 - len(kept)) + [t.stats.reason for t in rejected]
tile_grid(tiles, titles=titles, ncols=6, size=1.4)
plt.show()

# %% [markdown]
# ## Background normals: the same scans, away from the lesions
#
# In the study every abnormal tile comes from a CBIS-DDSM scan and every normal tile from a
# DDSM normal scan, which were digitized and curated through different pipelines. A model can
# then separate the classes by scanner signature instead of by tissue, the kind of shortcut
# described by {cite}`geirhos2020shortcut` and {cite}`zech2018confounding`. This project
# adds a variant of dataset 9 whose normal tiles are cut from the abnormal scans themselves,
# from breast tissue that touches no ROI (each ROI box grown by half a crop), under the same
# keep-rules. Both classes then share one pipeline, and the shortcut check later in the book
# asks whether that changes what the models learn.

# %% tags=["remove-cell"]
margin = crop_size // 2
# the first scan (in the tree's order) whose tissue leaves room for a background tile
n_tried = 0
for subject, rows in lesions.groupby("subject_id", sort=False):
    n_tried += 1
    bg_scan = read_scan(rows["scan_path"].iloc[0]).image
    roi_boxes = [
        cbis.roi_box_from_mask(read_dicom(p) > 0, bg_scan.shape) for p in rows["mask_path"]
    ]
    background = normals.background_tiles(
        bg_scan,
        roi_boxes,
        scan_rng(seed, f"c04-bg-{subject}"),
        crop_size=crop_size,
        out_size=tile_size,
        margin=margin,
        max_tiles=6,
    )
    if background:
        break
glue("c04_n_background", len(background), display=False)
glue("c04_bg_subject", str(subject), display=False)
glue("c04_bg_tried", n_tried, display=False)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Background normals on a synthetic abnormal scan: its ROIs (red), the margin no tile may touch (dashed orange) and the background tiles chosen (cyan).", "name": "fig-04-background"}}
grown = [(r0 - margin, c0 - margin, r1 + margin, c1 + margin) for r0, c0, r1, c1 in roi_boxes]
fig, ax = plt.subplots(figsize=(4.5, 6))
draw_boxes(
    ax,
    bg_scan,
    roi_boxes + [t.box for t in background],
    ["tab:red"] * len(roi_boxes) + ["cyan"] * len(background),
    labels=["ROI"] * len(roi_boxes) + ["background tile"] * len(background),
)
for r0, c0, r1, c1 in grown:
    ax.add_patch(
        plt.Rectangle(
            (c0, r0),
            c1 - c0,
            r1 - r0,
            fill=False,
            edgecolor="orange",
            linestyle="--",
            linewidth=0.8,
        )
    )
plt.show()

# %% [markdown]
# {numref}`fig-04-background` shows synthetic scan {glue:text}`c04_bg_subject`, the first of
# the {glue:text}`c04_bg_tried` scans tried whose tissue leaves room, away from every grown
# ROI, for tiles that pass the keep-rules: {glue:text}`c04_n_background` background tiles
# (at most six drawn). On a small scan with large ROIs the grown boxes can cover the whole
# breast, and such a scan gives no background normals at all.

# %% [markdown]
# ## MIAS crops: scale, origin and the radius
#
# mini-MIAS gives each abnormality as a centre and a radius in pixels of 200 microns, with
# the origin at the *bottom-left* corner. The study scaled MIAS scans by 2.58 to the
# CBIS-DDSM scale, placed each centre at row `H - 2.58 y`, column `2.58 x`, and cut 299-pixel
# tiles directly. Its code used the radius as the size of the ROI; the ROI's side is the
# diameter, twice that. The library uses the diameter by default, and `use_radius=True`
# reproduces the original. {numref}`fig-04-mias` shows both on a real MIAS scan.

# %% tags=["remove-cell"]
mias_data = load_mias()
line = (
    mias_data.abnormalities.dropna(subset=["radius"])
    .sort_values("radius")
    .iloc[len(mias_data.abnormalities.dropna(subset=["radius"])) // 2]
)
image = read_scan(mias_data.path(line["refnum"])).image
scaled = mias.scale_scan(image)
box_d = mias.mias_roi_box(line["x"], line["y"], line["radius"], image.shape[0])
box_r = mias.mias_roi_box(line["x"], line["y"], line["radius"], image.shape[0], use_radius=True)
mias_crops = mias.mias_crops(
    image, line["x"], line["y"], line["radius"], scan_rng(seed, "c04-mias")
)
glue(
    "c04_mias_ref",
    f"{line['refnum']} ({line['abnormality']}, radius {line['radius']:.0f} px)",
    display=False,
)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "A real mini-MIAS abnormality after scaling by 2.58: the ROI with the diameter as its side (green), with the radius as the original code did (orange), and the 299-pixel crops cut around it (yellow).", "name": "fig-04-mias"}}
r0, c0, r1, c1 = box_d
pad = 450
view = (
    max(r0 - pad, 0),
    max(c0 - pad, 0),
    min(r1 + pad, scaled.shape[0]),
    min(c1 + pad, scaled.shape[1]),
)
shift = [
    (b[0] - view[0], b[1] - view[1], b[2] - view[0], b[3] - view[1])
    for b in [box_d, box_r] + [c.box for c in mias_crops]
]
fig, ax = plt.subplots(figsize=(5, 5))
draw_boxes(
    ax,
    cut(scaled, view),
    shift,
    ["tab:green", "tab:orange"] + ["gold"] * len(mias_crops),
    labels=["ROI (diameter)", "ROI (radius, original code)"] + ["crop"] * len(mias_crops),
)
plt.show()

# %% [markdown]
# The example is {glue:text}`c04_mias_ref`. With the radius, the ROI box covers only the
# lesion's core; whether the crops still contain the whole lesion depends on how much
# random context the crop adds around it.
#
# ## Bad input
#
# Every extraction function checks its input and raises a skip with a short reason code
# rather than producing a wrong tile: an empty mask (`empty-mask`), a mask whose size
# differs from its scan (`mask-shape-mismatch`), an ROI outside or larger than the scan
# (`roi-outside-scan`, `roi-larger-than-scan`), a scan smaller than one crop
# (`scan-smaller-than-tile`), a digitizer without a keep-rule (`unknown-digitizer`) and a MIAS
# line without coordinates (`no-coordinates`). The dataset build records each skip with the
# file and the reason in its manifest ({doc}`chapter 05 <05_dataset_creation>`).
