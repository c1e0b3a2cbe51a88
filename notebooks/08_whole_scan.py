# %% [markdown]
# # Whole-scan analysis
#
# **Verdict.** A whole-scan map is built and runs, but on {glue:text}`c08_mias_scans` real
# mini-MIAS scans its highest peak hits {glue:text}`c08_mias_top1:.0%` of the annotated
# lesions, {glue:text}`c08_mias_verdict` (a random breast cell:
# {glue:text}`c08_mias_chance:.0%`; difference {glue:text}`c08_mias_top1_diff`, 95% interval
# over women); on held-out synthetic scans it hits {glue:text}`c08_syn_top1:.0%`
# ({glue:text}`c08_syn_verdict`, chance {glue:text}`c08_syn_chance:.0%`, difference
# {glue:text}`c08_syn_top1_diff` over scans). The model was trained on synthetic stand-ins
# only.
#
# The study classified 299 x 299 tiles and closed by proposing what it did not build: a system
# that takes an entire, unaltered mammogram and returns probabilities with an adjustable
# threshold, to support a radiologist rather than replace one {cite}`scuccimarra2018`. This
# chapter builds it. The tile classifier trained in the training chapter is turned into a
# *fully convolutional* network {cite}`long2015fcn`: its fully connected head becomes
# convolutions with the same weights, so one pass over a scan of any size returns a map of
# tile probabilities at the network's output stride. The same machinery is the command
# `mammo predict SCAN... --model RUN --out DIR`, which writes for every scan the heatmap over
# the scan, the map itself and a JSON file with the scan-level probability and the regions
# above the threshold.
#
# **What is real and what is synthetic.** The model is trained on the project's synthetic
# CBIS-DDSM and DDSM stand-ins (the real scans are a 163 GB download we do not have here), so
# every result on synthetic scans below measures the method on synthetic data, where the true
# lesion masks are known. The last section maps **real** mini-MIAS scans
# {cite}`suckling1994mias`, whose lesion centres and radii are annotated; the model has never
# seen a real mammogram from the CBIS-DDSM pipeline, so those numbers say how a model trained
# on stand-ins transfers, not how the study's model would do.

# %% tags=["parameters"]
# The study run: the same knobs and values as the training chapter (06), so its run is reused.
seed = 0
dataset_dir = None  # a folder built by `mammo build-dataset` on your own data; None: synthetic
cbis_root = None  # your CBIS-DDSM download (NBIA layout); None: the synthetic stand-ins
ddsm_root = None  # your DDSM folder (holding cases/normals); None: the synthetic stand-ins
cbis_tables = None  # folder of the four case CSVs; None: beside the scans, else fetched
recipe = "9"
synthetic_cases = 64
scan_size = "small"
val_fraction = 0.2
model_name = "vgg_lite"
labels = "binary"
image_size = 128
epochs = 30
batch_size = 32
pos_weight = 6.0
model_width = 0.5
bn_momentum = 0.9
mixed_precision = False  # False (float32), "mixed_bfloat16" or "mixed_float16" (on a GPU)
augment = "dihedral"  # online augmentation (as chapter 06)
# This chapter's own: held-out synthetic scans, MIAS scans, thresholds.
eval_cases = 8  # CBIS-style synthetic scans (with lesions) in the held-out tree
eval_normals = 4  # DDSM-style normal views mapped from that tree
mias_eval = 12  # real MIAS scans with annotated lesions (and as many normal ones)
thresholds = [0.2, 0.4, 0.6, 0.8, 0.9]
top_ks = [1, 3, 5]
n_boot = 500  # bootstrap replicates of the top-1 hit fraction minus chance (women / scans)
compare_sliding = True  # also map the synthetic scans with a sliding window (slow at 299 px)

# %% tags=["remove-cell"]
import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from myst_nb import glue
from sklearn.metrics import roc_auc_score

from mammo_lib.dataset.user_data import dataset_label, scan_data, scan_tree
from mammo_lib.evaluate.bootstrap import bootstrap_ci
from mammo_lib.extract.normals import KEEP_RULES
from mammo_lib.imaging.intensity import resample
from mammo_lib.report.tables import book_table
from mammo_lib.report.verdicts import (
    chance_verdict,
    keep_rule_bias_verdict,
    map_model_note,
)
from mammo_lib.scan.fcn import probability_map, tile_difference
from mammo_lib.scan.keep_rule_bias import bias_table, cell_keep_table, keep_rule_bias
from mammo_lib.scan.localisation import (
    chance_hit_fraction,
    froc,
    map_synthetic_scans,
    mias_cases,
    scan_scores,
    score_aucs,
    top1_hit_table,
    top_k_hits,
)
from mammo_lib.scan.plots import heatmap_grid, plot_froc
from mammo_lib.scan.predictor import Predictor
from mammo_lib.scan.sliding import compare_maps, sliding_window_map
from mammo_lib.sources.mias import load_mias
from mammo_lib.train import load_run
from mammo_lib.train.study import StudyRun

# %% [markdown]
# ## The model and its conversion
#
# The run comes from the same configuration as the training chapter; it is trained here only
# if no finished run with that configuration exists (the call is cached by the configuration's
# hash).

# %% tags=["hide-input", "hide-output"]
study = StudyRun.from_parameters(globals())
dataset_dir = study.dataset()
glue("c08_data", dataset_label(dataset_dir), display=False)
run_dir = study.trained()
predictor = Predictor.from_run(run_dir)
history = load_run(run_dir).history
fcn = predictor.fcn

# %% tags=["remove-cell"]
glue("c08_tile_diff", tile_difference(predictor.classifier, fcn, seed=seed), display=False)
glue("c08_stride", fcn.stride, display=False)
glue("c08_refine", predictor.refine, display=False)
glue("c08_step", fcn.stride // predictor.refine, display=False)
glue("c08_tile", fcn.tile[0], display=False)
glue("c08_train_mm", predictor.scale.mm_per_pixel, display=False)
glue("c08_crop_mm", predictor.scale.mm_per_pixel * image_size, display=False)
glue("c08_threshold", predictor.threshold, display=False)
best_epoch = history.loc[history["val_loss"].idxmin()]
glue("c08_val_auc", float(best_epoch["val_auc"]), display=False)
glue("c08_model_note", map_model_note(float(best_epoch["val_auc"])), display=False)

# %% [markdown]
# The converted network reproduces the tile classifier on tile-sized inputs: over eight
# random tiles the largest difference in the abnormality probability is
# {glue:text}`c08_tile_diff:.1e`. On a scan it returns one probability per
# {glue:text}`c08_tile`-pixel window every {glue:text}`c08_stride` model pixels, the product
# of the network's strides. When that step is coarse against the tile, the map is refined by
# *shift and stitch* {cite}`long2015fcn`: the network also runs on copies of the scan shifted
# by fractions of the stride and the maps are interleaved; here the factor is
# {glue:text}`c08_refine`, for one value every {glue:text}`c08_step` model pixels. The model
# works at {glue:text}`c08_train_mm:.3f` mm per pixel (training crops of about
# {glue:text}`c08_crop_mm:.0f` mm of tissue, at the training scans' median pixel pitch,
# resized to the model's input), so every scan is first resampled to that scale.
#
# ### The fully convolutional map against a sliding window
#
# A sliding window runs the tile classifier on every crop of the same grid, each crop alone
# as in training. For a network with only "valid" padding the two maps are identical (the
# library's tests check this to float precision); the study's network pads every
# convolution and pooling ("same"), so a lone crop sees zeros beyond its border where the
# fully convolutional network sees the neighbouring tissue. How much that matters depends on
# how much of the network's view is border: on the study's 299-pixel tiles the last feature
# map is 5 x 5 cells and only its rim touches the padding; on the
# {glue:text}`c08_tile`-pixel tiles of this book's quick build it is a single cell that
# touches it on every side, and the training taught the network what a tile edge looks
# like. Both maps are therefore computed for the held-out synthetic scans below.

# %% tags=["remove-cell"]
eval_data = scan_data(
    cbis_root,
    ddsm_root,
    cbis_tables,
    synthetic_cases=eval_cases,
    seed=seed + 1,
    scan_size=scan_size,
)  # your data: its test split, which no run trained on
tree_root = scan_tree(
    eval_data,
    max_scans=eval_cases,
    max_normal_views=eval_normals,
    split="test",
    seed=seed,
    recipe=recipe,
    val_fraction=val_fraction,
)
glue("c08_eval_data", eval_data.label, display=False)
cases, predictions = map_synthetic_scans(
    predictor, tree_root, max_scans=eval_cases, max_normals=eval_normals
)
method_cases = {"fully convolutional": cases}
if compare_sliding:
    method_cases["sliding window"], sliding_predictions = map_synthetic_scans(
        predictor, tree_root, max_scans=eval_cases, max_normals=eval_normals, method="sliding"
    )
    agreement = compare_maps(
        np.concatenate([c.prob_map.ravel() for c in cases]),
        np.concatenate([c.prob_map.ravel() for c in method_cases["sliding window"]]),
    )
else:  # one scan only (a sliding window over full-size scans is slow)
    first = next(iter(predictions.values()))
    scan_small = resample(first.scan.image, first.geometry.scale).astype(np.float32)
    agreement = compare_maps(
        probability_map(fcn, scan_small, refine=predictor.refine),
        sliding_window_map(
            predictor.classifier, fcn, scan_small, step=fcn.stride // predictor.refine
        ),
    )
glue("c08_sw_r", agreement["pearson_r"], display=False)
glue("c08_sw_max", agreement["max_abs_diff"], display=False)
glue("c08_sw_mean", agreement["mean_abs_diff"], display=False)
glue("c08_sw_cells", agreement["n_cells"], display=False)

# %% [markdown]
# Over {glue:text}`c08_sw_cells` map cells the two maps correlate with
# r = {glue:text}`c08_sw_r:.2f`; the mean absolute difference is
# {glue:text}`c08_sw_mean:.3f` and the largest {glue:text}`c08_sw_max:.3f`. Where they
# disagree, the sliding window is what the classifier was trained to answer, and the fully
# convolutional map is what the same weights say about a window with its real surroundings.
# How much faster the fully convolutional pass is on full-size scans is measured by
# `benchmarks/scan.py`, not here: its advantage is the windows' overlap, about
# (tile / stride)$^2$, large for 299-pixel tiles and none for tiles no larger than the
# stride.
#
# ## Synthetic scans: where the lesions are known
#
# The maps of {numref}`fig-08-synthetic` come from a synthetic tree generated with a
# different seed from the training data, so none of these scans, patients or lesions was
# seen in training. White
# boxes are the true lesion masks' bounding boxes, dashed cyan boxes the regions at or above
# the run's threshold ({glue:text}`c08_threshold:.2f`), the cross the highest peak.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Probability maps of the fully convolutional model over held-out synthetic scans (synthetic data). White: true lesions; dashed cyan: regions above the threshold; cross: highest peak. Titles give the scan-level probability (the map's maximum).", "name": "fig-08-synthetic"}}
lesion_cases = [c for c in cases if c.lesions][:4]
fig = heatmap_grid(
    [
        (
            f"{c.scan_id[-12:]}  p={predictions[c.scan_id].score:.2f}",
            predictions[c.scan_id],
            c.lesions,
        )
        for c in lesion_cases
    ]
)
plt.show()

# %% [markdown]
# ### Localisation
#
# A lesion is *hit* when a mark lies within half a map cell of it (the grid's quantisation).
# {numref}`tbl-08-topk` counts the lesions hit by one of the $k$ highest peaks of their scan,
# whatever the threshold; {numref}`tbl-08-froc` sweeps the threshold over the regions that
# `mammo predict` reports, FROC-style: the fraction of lesions hit against the false
# positives per scan (regions that hit no lesion, normal views included), drawn in
# {numref}`fig-08-froc` for the fully convolutional maps. Regions are connected groups of
# cells, so lowering the threshold can merge several into one: unlike a count of single
# marks, the false positives need not grow as the threshold falls.

# %% tags=["hide-input"] mystnb={"markdown_format": "myst"}
synthetic_topk = pd.concat(
    {name: top_k_hits(c, ks=top_ks) for name, c in method_cases.items()}, names=["map"]
).droplevel(1)
synthetic_froc = froc(cases, thresholds)
fcn_topk = top_k_hits(cases, ks=top_ks).set_index("k")
glue("c08_syn_top1", float(fcn_topk.loc[top_ks[0], "fraction"]), display=False)
glue("c08_syn_topk", float(fcn_topk.loc[top_ks[-1], "fraction"]), display=False)
glue("c08_syn_k", top_ks[-1], display=False)
glue("c08_syn_lesions", int(fcn_topk["n_lesions"].iloc[0]), display=False)
glue("c08_syn_scans", len(cases), display=False)
glue("c08_syn_chance", chance_hit_fraction(cases), display=False)


def top1_minus_chance(table):
    """Top-1 hit fraction minus chance, with a bootstrap interval over the table's groups."""
    return bootstrap_ci(
        lambda hit, chance: float(hit.mean() - chance.mean()),
        [table["hit"].to_numpy(), table["chance"].to_numpy()],
        table["group"].to_numpy(),
        n_boot,
        seed,
    )


syn_vs_chance = top1_minus_chance(top1_hit_table(cases))
glue("c08_syn_top1_diff", str(syn_vs_chance), display=False)
glue("c08_syn_verdict", chance_verdict(syn_vs_chance, chance=0.0), display=False)
book_table(
    synthetic_topk.reset_index(),
    "Lesions of the held-out synthetic scans hit by one of the k highest peaks of their "
    "scan's map, for each way of computing the map.",
    "tbl-08-topk",
)

# %% tags=["hide-input"] mystnb={"markdown_format": "myst"}
book_table(
    pd.concat(
        {name: froc(c, thresholds).set_index("threshold") for name, c in method_cases.items()},
        names=["map"],
    )[["sensitivity", "fp_per_scan", "lesions_hit", "n_lesions", "n_regions"]].reset_index(),
    "FROC-style sweep on the held-out synthetic scans: lesions hit by a region above the "
    "threshold and false positives (regions hitting no lesion) per scan.",
    "tbl-08-froc",
)

# %% [markdown]
# ### Restricting the map to the breast
#
# The classifier only ever saw tiles cut inside the breast; on air, outside the skin line,
# on burnt-in labels and on white film borders its answer means nothing, and there it is
# often highest. As a CAD system does, every map above is therefore restricted to the
# breast: `mammo_lib.imaging.breast.breast_mask` thresholds a downsampled scan with Otsu's
# method (applied again to the darker class, so that the dim fat near the skin line is
# separated from the air), keeps the largest bright connected component with its holes
# filled, which leaves out labels and borders not joined to the breast, and a map cell
# counts as tissue when the centre of its window lies in that mask. Cells outside are set
# to 0, so they yield no peak, no region and no part of the scan score; `mammo predict`
# does the same unless given `--no-tissue-mask`, and records it in its JSON.
# {numref}`tbl-08-mask` compares the top-$k$ hits on the same synthetic maps with and without the mask.

# %% tags=["hide-input"] mystnb={"markdown_format": "myst"}
unmasked_cases = [
    dataclasses.replace(c, prob_map=predictions[c.scan_id].raw_map)
    for c in cases
    if predictions[c.scan_id].raw_map is not None
]
mask_topk = pd.concat(
    {
        "whole scan": top_k_hits(unmasked_cases, ks=top_ks),
        "breast only (default)": top_k_hits(cases, ks=top_ks),
    },
    names=["map"],
).droplevel(1)
nomask_topk = top_k_hits(unmasked_cases, ks=top_ks).set_index("k")
glue("c08_syn_top1_nomask", float(nomask_topk.loc[top_ks[0], "fraction"]), display=False)
glue("c08_syn_topk_nomask", float(nomask_topk.loc[top_ks[-1], "fraction"]), display=False)
tissue_fraction = np.mean([p.info["tissue_fraction"] for p in predictions.values()])
glue("c08_tissue_fraction", float(tissue_fraction), display=False)
book_table(
    mask_topk.reset_index(),
    "Top-k lesion hits on the held-out synthetic maps with and without the breast mask.",
    "tbl-08-mask",
)

# %% [markdown]
# On average {glue:text}`c08_tissue_fraction:.0%` of a scan's map cells lie in the breast.
# Without the mask the highest peak hits {glue:text}`c08_syn_top1_nomask:.0%` of the lesions
# and the top {glue:text}`c08_syn_k` peaks {glue:text}`c08_syn_topk_nomask:.0%`; with it,
# {glue:text}`c08_syn_top1:.0%` and {glue:text}`c08_syn_topk:.0%`.
#
# Over {glue:text}`c08_syn_scans` held-out synthetic scans with
# {glue:text}`c08_syn_lesions` lesions, the highest peak of the fully convolutional map hits
# {glue:text}`c08_syn_top1:.0%` of the lesions and the top {glue:text}`c08_syn_k` peaks
# {glue:text}`c08_syn_topk:.0%`. For scale: one cell drawn at random from the breast's cells
# of a scan's map would
# hit its lesion with probability {glue:text}`c08_syn_chance:.0%`, the level a model that
# knows nothing reaches with its top peak. These numbers can only be as good as the tile
# classifier behind them: the checkpoint used here (the epoch with the lowest validation
# loss) separates abnormal from normal validation tiles with a ROC AUC of
# {glue:text}`c08_val_auc:.2f`. {glue:text}`c08_model_note` The `paper` profile on real
# data trains the classifier that these maps are meant for.
#
# ### Scan-level score
#
# A scan needs one number. Two candidates: the map's maximum (the most suspicious window; a
# scan is abnormal when any part of it is) and the mean of its top five cells (steadier
# against one noisy cell, but diluted when a lesion covers fewer cells). The library uses
# the maximum by default: it is the multiple-instance reading of a tile classifier, and with
# it a scan's probability reaches the threshold exactly when at least one region is reported.
# {numref}`tbl-08-score` gives the area under the ROC curve of each score for telling abnormal synthetic
# scans from normal views. The caveat of the shortcut chapter applies: the synthetic normal
# views come from the DDSM-style digitizer pipeline and the abnormal scans from the CBIS-style
# one, so this separation may rest on the pipeline as much as on the lesions.

# %% tags=["hide-input"] mystnb={"markdown_format": "myst"}
book_table(
    score_aucs(scan_scores(cases)),
    "Scan-level scores: ROC AUC of the map's maximum and of its top-5 mean for telling "
    "abnormal synthetic scans from normal views.",
    "tbl-08-score",
)

# %% [markdown]
# ## Real scans: mini-MIAS
#
# mini-MIAS gives each abnormality a centre and a radius on 1024 x 1024 scans of 0.2 mm
# pixels; the scans are resampled from that physical pixel size to the model's scale (the
# study instead scaled MIAS by 2.58, a slightly different scale). Calcification clusters
# without coordinates are left out of the lesion count. These are **real** mammograms;
# {numref}`fig-08-mias` shows four of them.

# %% tags=["remove-cell"]
mias = load_mias()
with_centres = mias.abnormalities.dropna(subset=["x", "y", "radius"])
abnormal_refnums = list(dict.fromkeys(with_centres["refnum"]))[:mias_eval]
normal_refnums = list(
    mias.abnormalities.loc[mias.abnormalities["abnormality"] == "NORM", "refnum"]
)[:mias_eval]
m_cases, m_predictions = mias_cases(predictor, mias, abnormal_refnums + normal_refnums)
mias_topk = top_k_hits(m_cases, ks=top_ks)
mias_froc = froc(m_cases, thresholds)
m_scores = scan_scores(m_cases)
mias_auc = roc_auc_score(m_scores["abnormal"], m_scores["max"])
glue("c08_mias_top1", float(mias_topk.set_index("k").loc[top_ks[0], "fraction"]), display=False)
glue("c08_mias_topk", float(mias_topk.set_index("k").loc[top_ks[-1], "fraction"]), display=False)
glue("c08_mias_lesions", int(mias_topk["n_lesions"].iloc[0]), display=False)
glue("c08_mias_scans", len(m_cases), display=False)
glue("c08_mias_auc", float(mias_auc), display=False)
glue("c08_mias_chance", chance_hit_fraction(m_cases), display=False)
# intervals resample women: a MIAS woman's two films go together
mias_vs_chance = top1_minus_chance(top1_hit_table(m_cases, mias.images["patient_id"].to_dict()))
glue("c08_mias_top1_diff", str(mias_vs_chance), display=False)
glue("c08_mias_verdict", chance_verdict(mias_vs_chance, chance=0.0), display=False)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Probability maps over real mini-MIAS scans (real data, model trained on synthetic stand-ins). White circles: annotated lesions; dashed cyan: regions above the threshold.", "name": "fig-08-mias"}}
fig = heatmap_grid(
    [
        (
            f"{c.scan_id}  p={m_predictions[c.scan_id].score:.2f}",
            m_predictions[c.scan_id],
            c.lesions,
        )
        for c in [c for c in m_cases if c.lesions][:4]
    ]
)
plt.show()

# %% tags=["hide-input"] mystnb={"figure": {"caption": "FROC-style curves: fraction of lesions hit by a region above the threshold against false positives per scan, on held-out synthetic scans and on real mini-MIAS scans. Points are labelled with their threshold.", "name": "fig-08-froc"}}
fig, ax = plt.subplots(figsize=(5.5, 4))
plot_froc(ax, {"synthetic (held out)": synthetic_froc, "mini-MIAS (real)": mias_froc})
plt.show()

# %% [markdown]
# On {glue:text}`c08_mias_scans` real mini-MIAS scans (half with annotated lesions,
# {glue:text}`c08_mias_lesions` lesions in all) the highest peak hits
# {glue:text}`c08_mias_top1:.0%` of the lesions and the top {glue:text}`c08_syn_k` peaks
# {glue:text}`c08_mias_topk:.0%` (a random cell: {glue:text}`c08_mias_chance:.0%`; top-1
# minus chance {glue:text}`c08_mias_top1_diff`, 95% bootstrap interval over women); the
# map's maximum separates abnormal from normal MIAS scans
# with a ROC AUC of {glue:text}`c08_mias_auc:.2f`. Beyond the classifier's own limits,
# these numbers carry the distance between the generator's stand-ins and real film: the
# model only ever learned the lesions that the generator draws.
#
# ## Why the map is high where it is
#
# A map can be high far from any lesion. One possible cause lies in how the study chose
# its normal tiles: a keep-rule on each tile's mean, variance and
# counts of very bright and very dark pixels ({doc}`04_roi_extraction`) drops most fatty, dark and edge
# tissue, so the classifier was never shown such tissue as normal. On a whole scan it has
# to judge all of it. The test: apply the same rule to the footprint of every map cell inside
# the breast (the crop the classifier saw there) and compare the probabilities of the cells
# the rule would have kept as normal training tiles with those it would have rejected.

# %% tags=["hide-input"] mystnb={"markdown_format": "myst"}
bias_rows = {}
for name, chosen, rule in [
    ("synthetic (held out)", [predictions[c.scan_id] for c in cases if c.lesions], "CBIS"),
    ("mini-MIAS (real)", list(m_predictions.values()), "MIAS"),
]:
    bias_rows[name] = keep_rule_bias(cell_keep_table(p, KEEP_RULES[rule]) for p in chosen)
bias = bias_table(bias_rows)
syn_bias, mias_bias = bias_rows["synthetic (held out)"], bias_rows["mini-MIAS (real)"]
glue("c08_bias_table", bias.round(3), display=False)
glue("c08_bias_syn_rej", syn_bias["rejected_fraction"], display=False)
glue("c08_bias_syn_auc", syn_bias["auc_rejected"], display=False)
glue("c08_bias_mias_rej", mias_bias["rejected_fraction"], display=False)
glue("c08_bias_mias_auc", mias_bias["auc_rejected"], display=False)
glue("c08_bias_syn_words", keep_rule_bias_verdict(syn_bias["auc_rejected"]), display=False)
glue("c08_bias_mias_words", keep_rule_bias_verdict(mias_bias["auc_rejected"]), display=False)
book_table(
    bias,
    "Map probabilities of the breast cells that the study's normal-tile keep-rule would keep "
    "or reject, on held-out synthetic scans and real mini-MIAS scans.",
    "tbl-08-keep-rule-bias",
    index=True,
)

# %% [markdown]
# On the held-out synthetic scans the rule would reject
# {glue:text}`c08_bias_syn_rej:.0%` of the breast cells, and those cells
# {glue:text}`c08_bias_syn_words` (AUC {glue:text}`c08_bias_syn_auc:.2f`); on real
# mini-MIAS it would reject {glue:text}`c08_bias_mias_rej:.0%`, which
# {glue:text}`c08_bias_mias_words` (AUC {glue:text}`c08_bias_mias_auc:.2f`). An AUC far from
# 0.5 means the map follows the tissue types the training set left out, not only lesions: a
# tile dataset meant for whole-scan use needs normal tiles from all of the breast, which is
# what the study's keep-rule, written to drop empty and saturated tiles, also removed.
#
# ## Using it
#
# ```bash
# mammo predict scan1.dcm scan2.pgm --model RUN_DIR --threshold 0.5 --out results/
# mammo predict mdb028.pgm --model RUN_DIR --pixel-spacing 0.2 --out results/
# ```
#
# Each scan gets `<name>.heatmap.png`, `<name>.map.npy` and `<name>.json`; the JSON records
# the pixel spacing used and where it came from (DICOM header, the option, or the training
# scans' spacing), so a wrong scale is visible rather than silent. A file that cannot be read
# is reported on stderr by name, the other scans are still processed, and the command exits
# with status 1.
