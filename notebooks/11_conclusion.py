# %% [markdown]
# # The book against the study
#
# **Verdict.** On real mammograms the model trained on synthetic stand-ins is
# {glue:text}`07_results.ipynb::c07_ood_verdict:s` on real MIAS tiles, and the highest peak
# of its whole-scan map finds real MIAS lesions
# {glue:text}`08_whole_scan.ipynb::c08_mias_verdict:s`; the real-data tile classifier, a
# ConvNet trained and tested on MIAS against one that sees only image statistics, is the
# "real mammograms" row of {numref}`tbl-11-claims`. On the annotation tables, the study's
# "malignant lesions are larger" is {glue:text}`01_uci_eda.ipynb::c01_size_verdict:s` in WDBC
# and {glue:text}`03_mias_eda.ipynb::c03_size_verdict_all:s` in MIAS. The study's headline
# numbers were measured on real CBIS-DDSM scans that this book cannot download, so they are
# neither confirmed nor refuted here; on synthetic stand-ins the pipeline runs end to end in
# the study's formats and shows how the metrics behave.
#
# Every number and verdict below is pasted from the chapter that computed it, by the rule
# stated there (an AUC is "above chance" when its whole 95% interval lies above 0.5; a
# paired difference "ties" when its interval contains 0; an accuracy is compared with that
# of calling every tile normal; a one-sided test "supports" a claim at p < 0.05). The data
# column says whether the evidence is real or synthetic.

# %% tags=["parameters"]
# No knobs of its own: this chapter reads the results of the chapters before it.

# %% tags=["remove-cell"]
from pathlib import Path

from myst_nb import glue

from mammo_lib.book import toc_notebooks
from mammo_lib.evaluate.published import PUBLISHED
from mammo_lib.report.claims import STUDY_CLAIMS, claims_frame
from mammo_lib.report.tables import book_table

# the study's headline row of each table: the first one recorded for it
headline = {}
for (table, _dataset, _model), values in PUBLISHED.items():
    headline.setdefault(table, values)
for table, values in headline.items():
    for metric, value in values.items():
        glue(f"c11_pub_{table}_{metric}", value, display=False)

# %% [markdown]
# ## Claim by claim
#
# Each row cites the chapter that computed its evidence; a claim whose chapter is not part of
# this build says so.

# %% tags=["hide-input"] mystnb={"markdown_format": "myst"}
claims = claims_frame(STUDY_CLAIMS, toc_notebooks(Path("..").resolve()), Path("."))
book_table(
    claims,
    "The study's claims against this book's evidence; numbers and verdicts are pasted from "
    "the chapters that computed them.",
    "tbl-11-claims",
)

# %% [markdown]
# ## What this build could not test
#
# The study's headline results stand on real CBIS-DDSM lesions and real DDSM normal scans.
# This book runs the same code on synthetic stand-ins written in the real formats, so every
# "synthetic" row above tests the pipeline, not the study. Pointing the imaging chapters'
# parameters at a real download turns those rows into tests of the claims. The real-MIAS
# rows use the 322 films of mini-MIAS, a small, old, single-centre database: they are the
# book's only real-image evidence about detection.
#
# ## Where the study's figures and tables are
#
# :::{list-table} The study's figures and tables {cite}`scuccimarra2018` and where this book has them.
# :name: tbl-11-map
# :header-rows: 1
# :widths: 30 40 30
#
# * - The study
#   - This book
#   - Data here
# * - Figure 1: architecture of model 1.0.0.35
#   - {numref}`fig-06-architecture`, drawn from the Keras model
#   - (none)
# * - Figures 2-4: not identified. The versions of the study's text readable here number
#     them differently: an earlier one uses 2-4 for the training curves that the final one
#     numbers 5-7; a later draft that shares its tables uses them for whole-scan test images
#     (a true positive and two false positives).
#   - whole-scan test images: {numref}`fig-09-heatmaps` and {numref}`fig-10-views`
#   - real MIAS, real CBIS-DDSM
# * - Figures 5-7: training and validation accuracy and recall per epoch
#   - {numref}`fig-06-curves` and {numref}`fig-06-weights`
#   - synthetic
# * - Figure 8: recall against the decision threshold, by contrast setting
#   - {numref}`fig-07-contrast`
#   - synthetic
# * - Figure 9: precision-recall curve of model 1.0.0.35b.98
#   - {numref}`fig-07-pr` (also on real MIAS tiles)
#   - synthetic and real MIAS
# * - Table 1: binary performance on the test set
#   - {numref}`tbl-07-binary`
#   - synthetic
# * - Table 2: multi-class performance on the test set
#   - {numref}`tbl-07-multiclass`, {numref}`tbl-07-collapsed` and {numref}`fig-07-confusion`
#   - synthetic
# * - Table 3: performance on MIAS
#   - {numref}`tbl-07-mias`
#   - real MIAS
# * - Table 4: effect of the cross-entropy weight
#   - {numref}`tbl-07-weights`
#   - synthetic
# :::
