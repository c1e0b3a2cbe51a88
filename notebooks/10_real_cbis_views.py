# %% [markdown]
# # Real CBIS-DDSM views
#
# The whole-scan detector of the previous chapter was trained on real mammograms, all of
# mini-MIAS {cite}`suckling1994mias`; here it meets four real full-field views from
# CBIS-DDSM, the collection the study worked on: the left and right, CC and MLO views of one
# woman (patient P_00173 of the mass test set). They are what `mammo predict` sees when a user
# points it at a CBIS-DDSM download, and what the study's own models would have seen.
#
# **What we can and cannot say.** These files come without the lesion outlines (the ROI masks
# of CBIS-DDSM are not available here), so this chapter cannot say whether the detector finds
# the masses the case table describes. It shows what it flags, how much of the breast, and
# that it flags nothing off the breast: the film's bright edge bands above and below the
# breast, the view labels and the air are outside the tissue mask. The model is for research
# use only, not for diagnosis.

# %% tags=["parameters"]
seed = 0
# The detector: the default model of `mammo predict` (MiasRecipe's defaults) unless changed.
detector_n_images = None  # None: all 322 mini-MIAS scans
detector_tile_size = 96
detector_crops = 6
detector_width = 0.5
detector_fc_units = [256, 256]
detector_epochs = 12
detector_hard_negatives = 4  # hard negatives per scan of a second round; None: one round
detector_hard_epochs = 8  # epochs of that round (from the first round's convolutions)
# The views and their scale.
views_dir = None  # None: $MAMMO_DATA_MIRROR/cbis-ddsm-samples/full
pixel_spacing_mm = 0.05  # CBIS-DDSM states no PixelSpacing; DDSM was digitised at 42-50 um

# %% tags=["remove-cell"]
import dataclasses
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from myst_nb import glue

from mammo_lib.config import data_mirror
from mammo_lib.report.tables import book_table, constant_columns, format_value
from mammo_lib.scan.default_model import DEFAULT_HARD_NEGATIVES, default_model_run
from mammo_lib.scan.hard_negatives import HardNegatives
from mammo_lib.scan.predictor import Predictor
from mammo_lib.scan.real_views import ROW_COLUMNS, map_views, plot_view_maps
from mammo_lib.train.mias_detector import MiasRecipe
from mammo_lib.train.predict_info import read_predict_info

base = MiasRecipe()
recipe = dataclasses.replace(
    base,
    tiles=dataclasses.replace(
        base.tiles, out_size=detector_tile_size, n_crops=detector_crops, n_images=detector_n_images
    ),
    width=detector_width,
    fc_units=tuple(detector_fc_units),
    epochs=detector_epochs,
    seed=seed,
)
hard = (
    None
    if detector_hard_negatives is None
    else HardNegatives(per_scan=detector_hard_negatives, epochs=detector_hard_epochs)
)
default_hard = DEFAULT_HARD_NEGATIVES and HardNegatives(**DEFAULT_HARD_NEGATIVES)
is_default = recipe == base and hard == default_hard
run_dir = default_model_run(recipe=recipe, hard_negatives=hard, progress=False)
info = read_predict_info(run_dir)
predictor = Predictor.from_run(run_dir)

folder = (
    Path(views_dir)
    if views_dir
    else (data_mirror() or Path("/nonexistent")) / "cbis-ddsm-samples" / "full"
)
paths = sorted(folder.glob("*.dcm"))
views = map_views(predictor, paths, pixel_spacing_mm=pixel_spacing_mm) if paths else None
# The same detector before its hard negatives (its first round, cached by content), to show
# what that round changes on these films.
one_round = None
if hard is not None and paths:
    first = Predictor.from_run(
        default_model_run(recipe=recipe, hard_negatives=None, progress=False)
    )
    one_round = (first.threshold, map_views(first, paths, pixel_spacing_mm=pixel_spacing_mm))

glue("c10_n_views", len(paths), display=False)
glue("c10_threshold", predictor.threshold, display=False)
glue("c10_model_mm", info.pixel_spacing_mm, display=False)
glue("c10_spacing_um", pixel_spacing_mm * 1000, display=False)
glue("c10_model_field_mm", info.pixel_spacing_mm * info.input_size, display=False)
glue("c10_trained_on", info.trained_on, display=False)
glue(
    "c10_hard_text",
    "It was trained in one round."
    if hard is None
    else (
        "It was trained in two rounds, as the maps' model of the previous chapter: after the "
        f"first, it mapped every MIAS scan and took up to {hard.per_scan} of each map's highest "
        f"marks clear of the lesions as new normal tiles (hard negatives), then trained "
        f"{hard.epochs} more epochs with them. Its threshold was chosen on the validation "
        "women's tiles, their hard negatives included."
    ),
    display=False,
)
glue(
    "c10_model_note",
    "the default model of `mammo predict`"
    if is_default
    else "a smaller detector than the default model (this profile's settings)",
    display=False,
)

# %% [markdown]
# ## The detector and the scale
#
# The detector is {glue:text}`c10_model_note`, trained on {glue:text}`c10_trained_on`.
# {glue:text}`c10_hard_text` Its
# `predict.json` says that one model pixel is {glue:text}`c10_model_mm:.3f` mm of tissue, so a
# model input covers {glue:text}`c10_model_field_mm:.0f` mm. The CBIS-DDSM files state no
# pixel spacing. DDSM films were digitised at 42-50 µm per pixel, MIAS at 200 µm, so the
# scale has to be chosen: we take {glue:text}`c10_spacing_um:.0f` µm, which is also
# `mammo predict`'s default for a DICOM without a spacing. Each view is resampled by 50 µm /
# model pixel size before it is mapped, and every JSON that `mammo predict` writes records
# the spacing it used and where that value came from. The threshold is the detector's own,
# {glue:text}`c10_threshold:.2f`, chosen on held-out MIAS women (Youden's J).

# %% tags=["remove-cell"]
if views is not None:
    summary = views.summary
    for row in summary.itertuples(index=False):
        key = str(row.case_id).removeprefix("Mass-Test_P_00173_") if row.case_id else row.file
        flagged = row.flagged_tissue_fraction
        glue(f"c10_flagged_{key}", float("nan") if flagged is None else flagged, display=False)
    rows = views.rows[["file", *ROW_COLUMNS]].assign(
        file=lambda t: t["file"].map(lambda p: Path(p).name)
    )
else:
    summary = pd.DataFrame({"file": [f"no real views in {folder}"]})
    rows = summary
    for key in ("LEFT_CC", "LEFT_MLO", "RIGHT_CC", "RIGHT_MLO"):
        glue(f"c10_flagged_{key}", float("nan"), display=False)

# %% tags=["remove-cell"]
if one_round is None:
    one_round_text = ""
else:
    shares = one_round[1].summary["flagged_tissue_fraction"].astype(float)
    after = views.summary["flagged_tissue_fraction"].astype(float)
    one_round_text = (
        "The same detector after its first round only, at that round's own threshold "
        f"({one_round[0]:.2f}), flags "
        + ", ".join("n/a" if pd.isna(f) else f"{f:.0%}" for f in shares)
        + f" of the four views' tissue in the same order (a mean of {shares.mean():.0%}, "
        f"against {after.mean():.0%} after both rounds). "
        + (
            "The hard negatives, the first round's own false positives on MIAS, are what "
            "narrows the flags on these films."
            if shares.mean() > after.mean()
            else "The hard negatives did not narrow the flags on these films."
        )
    )
glue("c10_one_round_text", one_round_text, display=False)

# %% [markdown]
# ## The four views and their case-table rows
#
# The sample files are named `1-130.dcm` to `1-133.dcm`, not by TCIA's layout, so each is
# matched to the case table by the Study and Series Instance UIDs in its header, which are
# the second and third parts of the table's `image file path`
# (`mammo_lib.sources.cbis_ddsm.match_case_rows`). Both right views carry two masses, so they
# match two rows each ({numref}`tbl-10-rows`). All four views are benign masses in the
# table; where in the breast those masses lie is not known here.

# %% tags=["hide-input"] mystnb={"markdown_format": "myst"}
varying, same = constant_columns(rows)
common = "; ".join(f"{c.replace('_', ' ')} {format_value(v)}" for c, v in same.items())
book_table(
    varying.rename(columns=lambda c: c.replace("_", " ")),
    "The case-table rows (real CBIS-DDSM) of the sample views, matched by the Study and "
    "Series Instance UIDs of each file's header"
    + (f". The same in every row: {common}." if common else "."),
    "tbl-10-rows",
)

# %% [markdown]
# {numref}`fig-10-views` shows the maps. The share of breast tissue at or above the threshold
# is {glue:text}`c10_flagged_LEFT_CC:.0%` (left CC), {glue:text}`c10_flagged_LEFT_MLO:.0%`
# (left MLO), {glue:text}`c10_flagged_RIGHT_CC:.0%` (right CC) and
# {glue:text}`c10_flagged_RIGHT_MLO:.0%` (right MLO). {glue:text}`c10_one_round_text`

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The MIAS-trained detector over four real CBIS-DDSM full-field views of patient P_00173 (mass test set). Colour: P(abnormal) of each map cell inside the tissue mask (white outline); dashed cyan: regions at or above the detector's threshold. The lesion outlines of these views are not available here.", "name": "fig-10-views"}}
if views is not None:
    fig = plot_view_maps(views)
else:
    fig, ax = plt.subplots(figsize=(6, 1))
    ax.axis("off")
    ax.text(0.5, 0.5, f"no real views in {folder}", ha="center", va="center")
plt.show()

# %% [markdown]
# {numref}`tbl-10-summary` gives the scan-level probability (the map's maximum inside the
# tissue) and the flagged share per view.

# %% tags=["hide-input"] mystnb={"markdown_format": "myst"}
book_table(
    summary.rename(columns=lambda c: c.replace("_", " ")),
    "The MIAS-trained detector on the four real CBIS-DDSM views: scan probability, the share "
    "of the breast's map cells at or above the threshold (flagged tissue fraction), the share "
    "of the map that is breast (tissue fraction), the pixel spacing used and the regions found.",
    "tbl-10-summary",
)

# %% [markdown]
# ## What this shows, and what it does not
#
# - Nothing off the breast is flagged: the tissue mask leaves out the film's bright edge bands
#   (which run the full height of these films along the chest wall, above and below the
#   breast), the view labels and the air; the tests check it on these four files
#   (`tests/test_predict.py`).
# - How much of the breast is flagged is a property of this detector at its threshold on a
#   film digitised by another scanner, at a scale we had to choose: a large share means the
#   detector does not transfer from mini-MIAS to these films as it is, not that the breast
#   is abnormal.
# - Whether the flagged regions are the masses of the case table cannot be said without the
#   ROI masks; with your own CBIS-DDSM download (`views_dir`), the chapter's maps can be laid
#   over them.
