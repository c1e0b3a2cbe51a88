# %% [markdown]
# # Training the ConvNets
#
# **Verdict.** Model 1.0.0.35 trains end to end on the project's tiles: after
# {glue:text}`c06_epochs` epochs with W = {glue:text}`c06_w` its validation ROC AUC is
# {glue:text}`c06_val_auc:.3f` and its validation accuracy is
# {glue:text}`c06_val_vs_baseline` ({glue:text}`c06_all_normal_acc:.3f`,
# {numref}`fig-06-curves`). The tiles are synthetic, so this shows how training behaves, not
# how well the study's model detects lesions.
#
# This chapter trains the study's best model, the VGG-like network 1.0.0.35
# {cite}`scuccimarra2018`, on a tile dataset built by the project's own pipeline, and shows
# what the study showed in its figures 5 to 7: training and validation accuracy and recall,
# epoch by epoch, and how the weight W given to abnormal tiles in the cross-entropy trades
# accuracy for recall.
#
# **Data.** The tiles here are cut from *synthetic* stand-ins for CBIS-DDSM and DDSM scans
# (the real full scans are a 163 GB download that this book cannot assume), at a reduced
# image size so that training fits a laptop CPU. The curves are real training runs of the
# real architecture, but on synthetic lesions; they show how training behaves, not how well
# the study's model does on real mammograms. Re-run the chapter with the `paper` profile on
# your own download for that.

# %% tags=["parameters"]
seed = 0
dataset_dir = None  # a folder built by `mammo build-dataset` on your own data; None: synthetic
cbis_root = None  # your CBIS-DDSM download (NBIA layout); None: the synthetic stand-ins
ddsm_root = None  # your DDSM folder (holding cases/normals); None: the synthetic stand-ins
cbis_tables = None  # folder of the four case CSVs; None: beside the scans, else fetched
recipe = "9"  # dataset recipe: "9" (binary, DDSM normals), "6" / "8" (see chapter 05)
synthetic_cases = 64  # synthetic CBIS-DDSM scans behind the dataset (and as many normal ones)
scan_size = "small"  # synthetic scan geometry: "small" or "full"
val_fraction = 0.2  # share of training patients held out for validation
model_name = "vgg_lite"  # "vgg_lite" (1.0.0.35), "vgg16_study", "inception_v4_study" (see below)
labels = "binary"  # "binary" (normal / abnormal) or "multiclass" (the five classes)
image_size = 128  # tiles are resized to this side when read (the study: 299)
epochs = 30  # the study's headline run 1.0.0.35b.98: 40 (the learning rate decays every 5)
batch_size = 32
pos_weight = 6.0  # W, the weight of abnormal tiles in the cross-entropy
compare_pos_weights = [1.0]  # further values of W trained for the comparison figure
model_width = 0.5  # filter multiplier of the convolutions; 1.0 is the model of the study
bn_momentum = 0.9  # batch-norm momentum of the convolutions (the study: 0.99, for long runs)
mixed_precision = False  # False (float32), "mixed_bfloat16" or "mixed_float16" (on a GPU)
augment = "dihedral"  # "dihedral" (project), "flips" (study, when on), "none" (1.0.0.35b.98)

# %% tags=["remove-cell"]
# ruff: noqa: E501  (figure captions live on the cell-marker lines)
import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's C++ log out of the pages
import time

import matplotlib.pyplot as plt
import pandas as pd
from myst_nb import glue

from mammo_lib.dataset.folder import load_manifest
from mammo_lib.dataset.user_data import dataset_label
from mammo_lib.models import build_model
from mammo_lib.models.flops import forward_flops
from mammo_lib.models.plots import plot_architecture
from mammo_lib.report.tables import book_table
from mammo_lib.report.verdicts import baseline_verdict, degenerate_epochs_note
from mammo_lib.train import load_run
from mammo_lib.train.plots import class_baselines, plot_curves
from mammo_lib.train.study import StudyRun
from mammo_lib.train.throughput import load_throughput, precision_speedups, recorded_runs

# %% [markdown]
# ## The dataset
#
# The chapter's parameters define the book's *study run*, one `StudyRun` object
# (`mammo_lib.train.study`) that chapters 05, 07 and 08 build from the same values: its
# dataset is the recipe built on a synthetic scan tree (or an identical earlier build,
# reused): ROI crops around every abnormality, normal tiles from normal scans, about 83%
# normal tiles in every split, patients never shared between splits
# ({doc}`chapter 05 <05_dataset_creation>` describes this very build).

# %% tags=["hide-input"] mystnb={"markdown_format": "myst"}
study = StudyRun.from_parameters(globals())
dataset_dir = study.dataset()
manifest = load_manifest(dataset_dir)
glue("c06_data", dataset_label(dataset_dir), display=False)
splits = pd.DataFrame(
    {
        split: {
            "tiles": info["records"],
            "abnormal": info["abnormal"],
            "patients": info["patients"],
        }
        for split, info in manifest["splits"].items()
    }
).T
glue("c06_n_train", int(splits.loc["train", "tiles"]), display=False)
glue("c06_n_val", int(splits.loc["val", "tiles"]), display=False)
glue("c06_n_val_abnormal", int(splits.loc["val", "abnormal"]), display=False)
glue("c06_n_val_patients", int(splits.loc["val", "patients"]), display=False)
glue("c06_splits", splits, display=False)
book_table(
    splits.rename_axis("split"),
    "The tiles of the training dataset per split: all tiles, abnormal tiles and patients.",
    "tbl-06-splits",
    index=True,
)

# %% [markdown]
# The training split holds {glue:text}`c06_n_train` tiles and the validation split
# {glue:text}`c06_n_val`, of which {glue:text}`c06_n_val_abnormal` are abnormal, from
# {glue:text}`c06_n_val_patients` patients. The tiles are read from TFRecord shards and
# resized on the fly. So small a validation set makes every validation number below coarse:
# one abnormal tile more or less found moves the recall by a large step.
#
# ## The model and its training
#
# Model 1.0.0.35 stacks nine 3x3 convolutions (32 filters with stride 2, then 32, 32, 64,
# 64, 128, 128, 256 and 512), each followed by batch normalisation {cite}`ioffe2015batchnorm`
# and a ReLU, with five max pools (dropout 0.1 after each), and a head of two fully
# connected layers of 2048 units (batch norm, ReLU, dropout 0.5) before the logits; L2
# regularisation is 1e-5 on the convolutions and 2.5e-3 on the dense layers. It is a
# compact relative of VGG {cite}`simonyan2015vgg`. Training follows the study: Adam
# {cite}`kingma2015adam` from a learning rate of 1e-3, multiplied by 0.8 every five epochs
# (counted in steps), batches of 32, inputs scaled to [0, 1], and a cross-entropy in which
# every abnormal tile weighs W. Every metric is accumulated over the whole epoch rather than
# averaged over batches, as the original code did.
#
# **Where this chapter differs from the study's headline run.** The study's best run,
# 1.0.0.35b.98, trained 40 epochs with online augmentation switched off (its dataset
# already held flipped and rotated copies of every ROI), and its published numbers come
# from the weights after the last epoch. Three of this chapter's defaults are the
# project's choices instead. Online augmentation is on by default, random flips and
# 90-degree rotations of each training tile drawn inside the model on whatever device
# trains it (in this build: {glue:text}`c06_augment_note`). The run keeps `best.keras`, the
# weights of the epoch with the lowest validation loss, beside `last.keras`, and {doc}`chapter 07 <07_results>`
# evaluates the best epoch unless its `checkpoint` parameter says `last`. And the quick
# profile trains fewer epochs. The study's augmentation, when it did turn it on, was random left-right
# and up-down flips only (`augment = "flips"`), not rotations: rotations are this
# project's addition, not a fix the study found. The `paper` profile sets the study's
# values (40 epochs, no online augmentation, the last epoch's weights).
#
# The same loop trains the study's other two networks as its code built them:
# `vgg16_study`, its VGG-16 variant vgg_16.3.06 (twelve convolutions of 64, 96, 128, 256
# and 384 filters, the first with stride 2, no pool dropout and no L2 on the convolutions,
# fully connected layers of 1024 and 512 units; the study decayed its learning rate every
# 10 epochs), and `inception_v4_study`, its Inception-v4 clone (3, 4 and 2 blocks A, B and
# C at the paper's filter counts, a smaller Reduction-A, 2x2 pools in the blocks, and an
# average pool, dropout and the logits with no fully connected layers: the code's head,
# where the study's text describes fully connected layers). `vgg16` (the textbook plan at
# 299 pixels) and `inception_v4_lite` (the paper's network at half width) are the
# project's own references. Finally, `mammo train --init-from RUN [--freeze-conv]` starts
# the convolutions from another run, as the study retrained binary heads on its five-class
# convolutions.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Model 1.0.0.35 at the study's 299 x 299 input and full width, drawn from the Keras model this book trains: each box is a convolution, pool or dense layer with the batch normalisation, ReLU and dropout that follow it, and its output shape (height x width x channels).", "name": "fig-06-architecture"}}
classifier = build_model(
    model_name, input_size=image_size, n_classes=study.n_classes, **study.model_kwargs
)
full_size = build_model(model_name, input_size=299, n_classes=study.n_classes)
glue("c06_params", f"{classifier.count_params():,}", display=False)
glue("c06_params_299", f"{full_size.count_params():,}", display=False)
glue("c06_gflops_299", forward_flops(full_size) / 1e9, display=False)
plot_architecture(
    full_size, title=f"{model_name} at 299 x 299: {full_size.count_params():,} parameters"
)
del full_size
plt.show()

# %% [markdown]
# At {glue:text}`c06_gflops_299:.1f` GFLOP per forward pass and
# {glue:text}`c06_params_299` parameters at the study's 299 x 299, the model is too slow to
# train on a CPU in a book build; this chapter trains a copy with
# {glue:text}`c06_params` parameters on smaller tiles (the `width` parameter scales every
# convolution's filters; the layer plan is unchanged). Tiles are not shrunk further than
# 128 pixels by default: the 299-pixel crops come from 100-micron synthetic scans, and at
# 64 pixels the sub-millimetre calcification specks average away. Such a run lasts only a few hundred
# steps, so its batch-norm layers update their moving statistics with momentum 0.9 instead
# of the study's 0.99: with 0.99 the statistics used at validation time would still sit
# near their initial values.
#
# **How much training is enough.** The run below makes {glue:text}`c06_steps` optimiser
# steps: {glue:text}`c06_epochs` epochs over the {glue:text}`c06_n_train` training tiles
# cut from {glue:text}`c06_cases` synthetic CBIS-DDSM scans (and as many synthetic DDSM
# normal scans). A few hundred steps with a few dozen abnormal training tiles leave the
# model barely separating the classes even on its own training tiles; what helps is more
# data and more steps, not easier lesions: the synthetic generator keeps its default lesion
# contrast, and {doc}`07_results` measures how well acquisition statistics alone, without
# looking at any lesion, tell the classes apart.

# %% tags=["hide-input", "hide-output"]
base = study.train_config()
glue(
    "c06_augment_note",
    {
        "dihedral": "flips and rotations, the project's default",
        "flips": "flips only, the study's augmentation when it used one",
        "none": "none, as in the study's headline run",
    }[base.augment_mode],
    display=False,
)
weights = [pos_weight] + [w for w in compare_pos_weights if w != pos_weight]
runs, seconds = {}, {}
for w in weights:
    start = time.perf_counter()
    runs[w] = load_run(study.trained(pos_weight=w))
    seconds[w] = time.perf_counter() - start
main = runs[pos_weight].history
best = main.loc[main["val_loss"].idxmin()]
glue("c06_epochs", epochs, display=False)
glue("c06_w", pos_weight, display=False)
glue("c06_train_acc", float(main["accuracy"].iloc[-1]), display=False)
glue("c06_val_acc", float(main["val_accuracy"].iloc[-1]), display=False)
glue("c06_val_recall", float(main["val_recall"].iloc[-1]), display=False)
glue("c06_best_epoch", int(best["epoch"]) + 1, display=False)
glue("c06_seconds", seconds[pos_weight], display=False)
glue("c06_cases", synthetic_cases, display=False)
glue("c06_steps", epochs * math.ceil(int(splits.loc["train", "tiles"]) / batch_size), display=False)
glue("c06_val_auc", float(main["val_auc"].iloc[-1]), display=False)
glue("c06_best_val_auc", float(best["val_auc"]), display=False)
val_baselines = class_baselines(int(splits.loc["val", "tiles"]), int(splits.loc["val", "abnormal"]))
all_normal = val_baselines["accuracy"][0]
glue("c06_all_normal_acc", all_normal, display=False)
glue(
    "c06_val_vs_baseline",
    baseline_verdict(float(main["val_accuracy"].iloc[-1]), all_normal),
    display=False,
)
n_degenerate, degenerate_note = degenerate_epochs_note(
    main["val_recall"], main["val_accuracy"], all_normal
)
glue("c06_n_degenerate", n_degenerate, display=False)
glue("c06_degenerate_note", degenerate_note, display=False)
print(f"run folder: runs/{runs[pos_weight].run_dir.name}")

# %% [markdown]
# ## Accuracy and recall, epoch by epoch
#
# {numref}`fig-06-curves` shows the run with W = {glue:text}`c06_w`. After
# {glue:text}`c06_epochs` epochs the training accuracy is {glue:text}`c06_train_acc:.3f`,
# the validation accuracy {glue:text}`c06_val_acc:.3f` and the validation recall of
# abnormal tiles {glue:text}`c06_val_recall:.3f`, and the validation ROC AUC, which does
# not depend on a threshold, {glue:text}`c06_val_auc:.3f`; the lowest validation loss came
# at epoch {glue:text}`c06_best_epoch` (validation AUC {glue:text}`c06_best_val_auc:.3f`),
# whose weights the run keeps as `best.keras` (picking an epoch by validation loss is the
# project's choice; the study kept the last epoch's). With so few
# validation tiles, a model that hovers near its decision threshold can flip from calling
# almost every validation tile normal to calling almost every one abnormal between two
# epochs; the validation curves then jump by whole steps, and the training curves are the
# steadier guide to what the optimiser is doing. The run took
# {glue:text}`c06_seconds:.0f` s here (or nothing, when an identical finished run was
# reused).
#
# The dotted lines are the baselines: the validation accuracy of calling every tile normal
# ({glue:text}`c06_all_normal_acc:.3f`), and the recall of a classifier that flags tiles at
# random at the abnormal share. The final validation accuracy is
# {glue:text}`c06_val_vs_baseline`. {glue:text}`c06_degenerate_note`

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Training (dashed) and validation (solid) accuracy and recall of abnormal tiles per epoch, for model 1.0.0.35 on synthetic tiles (the study's figures 5-7 show the same curves on real data). Dotted: the validation split's all-normal accuracy and chance recall.", "name": "fig-06-curves"}}
fig = plot_curves(
    {f"W = {pos_weight:g}": main}, metrics=("accuracy", "recall"), baselines=val_baselines
)
plt.show()

# %% [markdown]
# ## The weight of abnormal tiles
#
# The study swept W from 1 to 7 to push recall up at some cost in accuracy, and settled near
# 6 to 7. {numref}`fig-06-weights` compares the validation curves of the runs trained here
# with different W; everything else, the seed included, is the same.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Validation accuracy and recall per epoch for different weights W of abnormal tiles in the cross-entropy (synthetic tiles). Dotted: all-normal accuracy and chance recall.", "name": "fig-06-weights"}}
fig = plot_curves(
    {f"W = {w:g}": runs[w].history for w in sorted(runs)},
    metrics=("accuracy", "recall"),
    splits=("validation",),
    baselines=val_baselines,
)
plt.show()

# %% [markdown]
# ## On a GPU
#
# The runs above are trained on a CPU at a reduced size. How fast do the study's three
# networks train at its full 299-pixel size on a current GPU, and what does mixed precision
# buy? `benchmarks/train_backends.py` measures training images per second on random tiles
# (forward, backward and the optimizer step of the same training model, weighted
# cross-entropy included), for each precision policy. It was run on one NVIDIA H100 with
# Keras 3 on its JAX backend, since that machine has no TensorFlow, and its records are in
# `benchmarks/results/`; the table below is read from them. Device: {glue:text}`c06_gpu_device`.
# Mixed precision trained {glue:text}`c06_gpu_speedups` times as many images per second as
# float32 in the same run. There, "float32" already runs its matrix products on TF32
# tensor cores (XLA's default), so the gain over true float32 would be larger.

# %% tags=["hide-input"] mystnb={"markdown_format": "myst"}
gpu = load_throughput(recorded_runs())
if len(gpu):
    gpu_speed = precision_speedups(gpu)
    by_policy = gpu_speed.groupby("policy")["speedup"].agg(["min", "max"])
    glue("c06_gpu_device", "; ".join(sorted(set(gpu["device"]))), display=False)
    glue(
        "c06_gpu_speedups",
        ", ".join(f"{lo:.2f}-{hi:.2f} ({p})" for p, (lo, hi) in by_policy.iterrows()),
        display=False,
    )
    gpu_table = gpu.assign(run=gpu["run"].str.replace("train_backends_", "", regex=False))[
        ["run", "model", "size", "policy", "batch", "images_per_s", "tflop_per_s", "note"]
    ].round({"images_per_s": 0, "tflop_per_s": 1})
else:
    glue("c06_gpu_device", "(no recorded run in this checkout)", display=False)
    glue("c06_gpu_speedups", "(not measured)", display=False)
    gpu_table = pd.DataFrame({"note": ["no recorded GPU run in this checkout"]})
book_table(
    gpu_table,
    "Training images per second of the study's networks at 299 x 299 on a GPU, by precision "
    "policy, read from the recorded benchmark runs in benchmarks/results/.",
    "tbl-06-gpu",
    decimals={"images_per_s": 0, "tflop_per_s": 1},
)

# %% [markdown]
# ## Where the runs live
#
# Each run writes a folder under the work directory, named by the model and a hash of its
# configuration and data: `config.json`, `log.csv` (the numbers plotted above), `best.keras`
# and `last.keras` checkpoints, and TensorBoard logs with the same metrics every epoch and
# every few steps, plus validation precision-recall curves and, as the study logged them,
# images of the first convolution's kernels once per epoch. An interrupted run resumes from
# `last.keras`; asking for a finished run again returns it without training. The same runs
# can be started from a shell with `mammo train`.

# %% tags=["hide-input"] mystnb={"markdown_format": "myst"}
final = pd.DataFrame(
    {
        f"W = {w:g}": runs[w].history.iloc[-1][
            ["accuracy", "recall", "val_accuracy", "val_recall", "val_precision", "val_auc"]
        ]
        for w in sorted(runs)
    }
).T.round(3)
glue("c06_final_table", final, display=False)
book_table(
    final.rename_axis("run"),
    "Last-epoch training and validation metrics of the runs of this chapter (synthetic tiles).",
    "tbl-06-final",
    index=True,
)
