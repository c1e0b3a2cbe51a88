# %% [markdown]
# # Dataset creation
#
# {doc}`Chapter 04 <04_roi_extraction>` cut tiles from single scans. This chapter turns whole collections of scans into
# the study's training data {cite}`scuccimarra2018`: each dataset is a *recipe*, a small
# declarative record of which ROI method, which normal tiles, which keep-rule and which class
# balance it uses, and one function builds any recipe into TFRecord shards for
# TensorFlow's `tf.data` {cite}`abadi2016tensorflow`. The build splits by patient, checks that
# no patient or abnormality crosses splits, records every input it had to skip, and runs one
# task per scan on Dask, so the same code builds a small synthetic set on a laptop and the
# full CBIS-DDSM on a cluster, with byte-identical output whichever runs it.
#
# **Data.** The CBIS-DDSM and DDSM scans below are *synthetic* stand-ins written by this
# project's generator (the real ones are a 163 GB download that is not available where this
# book is built); the MIAS test split is cut from the *real* mini-MIAS scans
# {cite}`suckling1994mias`, and the leakage analysis of the official CBIS-DDSM split uses the
# *real* CBIS-DDSM case tables {cite}`lee2017cbis`.

# %% tags=["parameters"]
# The study run's dataset: the same knobs and values as chapter 06, which trains on it.
seed = 0
cbis_root = None  # your CBIS-DDSM download (NBIA layout); None: the synthetic stand-ins
ddsm_root = None  # your DDSM folder (holding cases/normals); None: the synthetic stand-ins
cbis_tables = None  # folder of the four case CSVs; None: beside the scans, else fetched
recipe = "9"  # the recipe examined in detail (chapter 06 trains on it)
synthetic_cases = 64  # CBIS full scans in the synthetic tree (and as many normal ones)
scan_size = "small"  # synthetic scan geometry: "small" (a third per side) or "full"
val_fraction = 0.2  # share of training patients held out for validation
# This chapter's own.
mias_images = 80  # first MIAS images of the MIAS test split (None: all 322; as chapter 07)

# %% tags=["remove-cell"]
# ruff: noqa: E501  (figure captions live on the cell-marker lines)
import dataclasses

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
import tensorflow as tf
from myst_nb import glue

from mammo_lib.dataset.folder import load_manifest, load_records, shard_files
from mammo_lib.dataset.labels import CLASS_NAMES
from mammo_lib.dataset.recipes import RECIPES
from mammo_lib.dataset.review import (
    patient_table,
    recipe_summary,
    same_shards,
    sample_tiles,
    skip_table,
    split_table,
)
from mammo_lib.dataset.splits import LeakageError, check_leakage, resolve_official_overlap
from mammo_lib.dataset.tfrecord import make_dataset
from mammo_lib.dataset.user_data import dataset_label
from mammo_lib.extract.figures import tile_grid
from mammo_lib.report.tables import book_table
from mammo_lib.sources.cbis_ddsm import read_case_tables
from mammo_lib.train.study import DATASET_FIELDS, StudyRun

sns.set_theme(style="whitegrid", context="notebook")

# %% [markdown]
# ## Recipes as data
#
# The four recipes differ only in a few fields. Datasets 6, 8 and 9 follow the study's code
# where it is known ({doc}`chapter 04 <04_roi_extraction>`): dataset 9 takes method 2's three random crops of every
# ROI and DDSM normals cut as 598-pixel crops at stride 350; dataset 8 the whole ROI zoomed
# with padding (method 1); dataset 6 both methods with all their variants; 6 and 8 take
# their normals from DDSM scans shrunk by a random 1.8-3.2 and cut into 299-pixel tiles at a
# random stride of 150-200; every DDSM scan has its pure white set to black first, and MIAS
# normals follow the study's MIAS rule. Two choices are the project's, because the study
# does not say what it did: the study tuned the mean and variance limits of the dataset-6
# and dataset-8 normals by eye and published no values, so recipe 6 applies dataset 9's
# per-digitizer rule and recipe 8 only the pixel-count limits (`normal_filter`); and how
# many method-1 images of each ROI dataset 8 held is not stated (its 40,559 images suggest
# about two per ROI), so recipe 8 cuts one. The fourth recipe, `9-background`, is this
# project's control for the scanner shortcut: its normal tiles come from the abnormal
# CBIS-DDSM scans' own tissue, away from every ROI, instead of from the DDSM normal scans
# ({doc}`chapter 04 <04_roi_extraction>`).

# %% tags=["hide-input"] mystnb={"markdown_format": "myst"}
fields = [
    "description",
    "roi_method",
    "roi_variants",
    "large_rois",
    "normal_tiling",
    "normals",
    "normal_filter",
    "label",
    "normal_fraction",
    "crop_size",
    "tile_size",
]
book_table(
    pd.DataFrame(
        [{k: dataclasses.asdict(r)[k] for k in fields} for r in RECIPES.values()],
        index=list(RECIPES),
    ).rename_axis("recipe"),
    "The dataset recipes: where the ROIs and the normal tiles come from, the label, the share "
    "of normal tiles in training and the crop and tile sizes.",
    "tbl-05-recipes",
    index=True,
)

# %% [markdown]
# ## Building every recipe
#
# The chapter's parameters are the dataset knobs of the book's *study run*
# (`mammo_lib.train.study.StudyRun`), the same values that chapters 06 to 08 train and
# evaluate with, so every build below is the one those chapters use, not a smaller copy.
# `ensure_dataset` obtains a synthetic tree of {glue:text}`c05_cases` scans (generated once
# and cached) and builds each recipe, or returns the finished build if one with the same
# recipe, inputs and seed exists. The tiles are stored at {glue:text}`c05_tile_size` pixels
# (299 in the study); {doc}`chapter 06 <06_training>` resizes them on read. Recipe
# {glue:text}`c05_recipe`'s build is the dataset {doc}`chapter 06 <06_training>` trains on
# (folder {glue:text}`c05_dataset`). The real MIAS test split, which
# {doc}`chapter 07 <07_results>` scores that model on, is a second build of the same recipe
# with MIAS added (folder {glue:text}`c05_mias_dataset`); its training, validation and test
# shards are {glue:text}`c05_same_shards` to those of that dataset.

# %% tags=["remove-cell"]
study = StudyRun.from_parameters(globals(), DATASET_FIELDS)
folders = {name: study.for_recipe(name).dataset() for name in RECIPES}
folder = folders[recipe]
mias_folder = study.dataset(include_mias=True, mias_images=mias_images)
glue("c05_data", dataset_label(folder), display=False)
glue("c05_cases", synthetic_cases, display=False)
glue("c05_dataset", folder.name, display=False)
glue("c05_mias_dataset", mias_folder.name, display=False)
glue(
    "c05_same_shards",
    "byte-identical" if same_shards(folder, mias_folder) else "not identical",
    display=False,
)
tf.constant(0)  # start TensorFlow here, so its start-up messages stay out of the visible cells
manifest = load_manifest(folder)
records = load_records(folder)
summary = recipe_summary({**folders, f"{recipe} + MIAS": mias_folder})
mias_split = load_manifest(mias_folder)["splits"]["mias"]
glue("c05_tile_size", manifest["recipe"]["tile_size"], display=False)
glue("c05_mias_normal_share", f"{mias_split['normal_fraction']:.0%}", display=False)
glue("c05_recipe", recipe, display=False)
glue("c05_summary", summary, display=False)
glue("c05_n_scans", manifest["n_scans"], display=False)
glue("c05_n_tiles", len(records), display=False)
glue(
    "c05_train_normal_share", f"{manifest['splits']['train']['normal_fraction']:.0%}", display=False
)

# %% tags=["hide-input"] mystnb={"markdown_format": "myst"}
book_table(
    summary,
    "Every recipe as built for chapters 06 and 07 (synthetic CBIS-DDSM and DDSM), and the "
    "examined recipe with the real MIAS test split: tiles per split and the class balance.",
    "tbl-05-summary",
    index=True,
)

# %% [markdown]
# Recipe {glue:text}`c05_recipe` was cut from {glue:text}`c05_n_scans` scans into
# {glue:text}`c05_n_tiles` tiles. Its training split is {glue:text}`c05_train_normal_share`
# normal. The study trained on about 83% normal tiles, a recipe parameter
# (`normal_fraction`): the build keeps every abnormal tile and draws normal tiles at random
# until the share is reached, or keeps all normal tiles when there are too few, as with the
# small synthetic tree. The build balances the MIAS split the same way (here
# {glue:text}`c05_mias_normal_share` normal), which is the project's choice: the study did
# not rebalance its MIAS set, which was 88.4% normal (the value counts in its
# `crop_mias_images_9` notebook), so its MIAS accuracies must be read against an 88.4%
# all-normal baseline ({doc}`chapter 07 <07_results>`).
#
# ## Splits and class counts
#
# CBIS-DDSM comes with an official train/test split, which is kept. Validation patients are
# drawn from the training patients by a seeded hash of the patient id; normal-scan patients
# are split the same way into training, validation and test; MIAS is a separate test split.
# The table gives the tiles per split and class of recipe {glue:text}`c05_recipe`, from its
# build with the MIAS split (whose other splits are the training chapter's dataset):

# %% tags=["hide-input"] mystnb={"markdown_format": "myst"}
book_table(
    split_table(mias_folder),
    f"Tiles per split and class of recipe {recipe}: training, validation and test are the "
    "dataset chapter 06 trains on (synthetic CBIS-DDSM and DDSM), mias the real MIAS test "
    "split of chapter 07.",
    "tbl-05-splits",
    index=True,
)

# %% [markdown]
# and the patients, scans and ROIs behind them, by source:

# %% tags=["hide-input"] mystnb={"markdown_format": "myst"}
book_table(
    patient_table(mias_folder),
    f"Patients, scans and ROIs behind recipe {recipe}'s splits, by source.",
    "tbl-05-patients",
    index=True,
)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Normal and abnormal tiles per split for each recipe (synthetic CBIS-DDSM and DDSM, real MIAS).", "name": "fig-05-balance"}}
rows = []
for name, path in {**folders, recipe: mias_folder}.items():
    for split, info in load_manifest(path)["splits"].items():
        rows += [
            {"recipe": name, "split": split, "class": "normal", "tiles": info["normal"]},
            {"recipe": name, "split": split, "class": "abnormal", "tiles": info["abnormal"]},
        ]
grid = sns.catplot(
    data=pd.DataFrame(rows),
    x="split",
    y="tiles",
    hue="class",
    col="recipe",
    kind="bar",
    order=["train", "val", "test", "mias"],
    height=2.8,
    aspect=0.9,
    palette=["#4c72b0", "#dd8452"],
)
grid.set_titles("recipe {col_name}")
plt.show()

# %% [markdown]
# ## The leakage check
#
# The study's first datasets shuffled all tiles before splitting, so tiles of one
# abnormality, cut with different crops, ended up in both training and test data and
# inflated its first results. Every build here checks, before writing anything, that no
# patient, no scan and no ROI has tiles in two splits, and fails with a message naming them
# otherwise. For recipe {glue:text}`c05_recipe` the check reports:
# "{glue:text}`c05_leakage`".
#
# The official CBIS-DDSM split itself does not pass this check. Run on the real case
# tables, it finds {glue:text}`c05_n_overlap` patients who have a mass in one split and a
# calcification in the other:

# %% tags=["remove-cell"]
glue("c05_leakage", manifest["leakage_check"], display=False)
table = read_case_tables()
try:
    check_leakage(table.assign(patient_key=table["patient_id"], abnormality_id=table["roi_id"]))
    leak_message = "no leakage"
except LeakageError as error:
    leak_message = str(error)
overlap = set(table.loc[table["split"] == "train", "patient_id"]) & set(
    table.loc[table["split"] == "test", "patient_id"]
)
kept, dropped = resolve_official_overlap(table)
glue("c05_n_overlap", len(overlap), display=False)
glue("c05_n_dropped", len(dropped), display=False)

# %% tags=["hide-input"]
print(leak_message[:400])

# %% [markdown]
# The build resolves this by keeping the official test split whole and dropping those
# patients' training ROIs ({glue:text}`c05_n_dropped` ROIs on the real tables), each one
# recorded in the manifest with the reason `patient-in-official-test`.
#
# ## What was skipped
#
# Every input the build could not use is listed in the manifest with the file and the
# reason, never dropped silently. For recipe {glue:text}`c05_recipe`:

# %% tags=["hide-input"] mystnb={"markdown_format": "myst"}
skips = skip_table(folder)
book_table(
    skips.groupby("reason").size().rename("inputs").to_frame()
    if len(skips)
    else pd.DataFrame({"reason": ["(none)"], "inputs": [0]}).set_index("reason"),
    f"Inputs the build of recipe {recipe} skipped, by the reason recorded in its manifest.",
    "tbl-05-skips",
    index=True,
)

# %% [markdown]
# ## Example tiles
#
# The first tiles of each class in recipe {glue:text}`c05_recipe`, and in the last row normal
# tiles of recipe `9-background`, cut from the abnormal scans' own tissue:

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Example tiles per class of the examined recipe (synthetic CBIS-DDSM and DDSM, real MIAS), and background normals of recipe 9-background (last row).", "name": "fig-05-examples"}}
per_class = 6
samples = sample_tiles(folder, per_class=per_class)
background = sample_tiles(
    folders["9-background"], per_class=per_class, source="cbis-background"
).get(0, [])
tiles, labels = [], []
for code, items in samples.items():
    tiles += items + [None] * (per_class - len(items))
    labels.append(CLASS_NAMES[code].replace("_", "\n"))
tiles += background + [None] * (per_class - len(background))
labels.append("background\nnormal")
tile_grid(tiles, ncols=per_class, size=1.2, row_labels=labels)
plt.show()

# %% [markdown]
# ## Reading the shards
#
# Training reads the shards through `make_dataset`, a `tf.data` pipeline that interleaves
# the shards, shuffles with a seed, decodes the PNG tiles, optionally resizes them, batches
# and prefetches. It yields `uint8` images and the chosen label:

# %% tags=["hide-input"]
batch_images, batch_labels = next(
    iter(
        make_dataset(
            shard_files(folder, "train"),
            label="label_binary",
            batch_size=16,
            shuffle=True,
            seed=seed,
        )
    )
)
pd.Series(
    {
        "images": str(tuple(batch_images.shape)),
        "dtype": batch_images.dtype.name,
        "labels": str(batch_labels.numpy().tolist()),
    }
)
