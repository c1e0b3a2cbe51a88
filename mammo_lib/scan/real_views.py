"""Real full-field views mapped with a run, matched to their CBIS-DDSM case-table rows.

:func:`map_views` reads each DICOM (header checked first, see :mod:`mammo_lib.scan.scale`),
maps it with :func:`mammo_lib.scan.predictor.predict_scan` and finds its case-table rows by
Study/Series UID (:func:`mammo_lib.sources.cbis_ddsm.match_case_rows`; the sample files'
names are not TCIA's). :func:`plot_view_maps` draws the maps with a colour bar and the tissue
mask's outline. The flagged share of breast tissue is the fraction of the tissue mask's map
cells at or above the run's threshold.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from mammo_lib.imaging.read import read_scan
from mammo_lib.scan.predictor import Predictor, ScanPrediction, predict_scan
from mammo_lib.scan.scale import check_scan_header

#: Case-table columns shown beside the maps.
ROW_COLUMNS = (
    "patient_id",
    "side",
    "view",
    "abnormality_id",
    "abnormality_type",
    "pathology",
    "mass_shape",
    "mass_margins",
    "assessment",
    "subtlety",
    "breast_density",
)


@dataclass
class ViewMaps:
    """The maps of some views and what they are.

    Attributes
    ----------
    predictions
        One per file, in the order given.
    rows
        The matched case-table rows (:func:`~mammo_lib.sources.cbis_ddsm.match_case_rows`).
    summary
        One row per file: ``file``, ``case_id``, ``scan_probability``,
        ``flagged_tissue_fraction``, ``tissue_fraction``, ``pixel_spacing_mm``,
        ``n_regions``.
    """

    predictions: list[ScanPrediction]
    rows: pd.DataFrame
    summary: pd.DataFrame


def map_views(
    predictor: Predictor,
    paths: Sequence[str | os.PathLike[str]],
    *,
    pixel_spacing_mm: float | None = None,
    table: pd.DataFrame | None = None,
) -> ViewMaps:
    """Map every view and match it to its case-table rows.

    Parameters
    ----------
    predictor
        The run to map with.
    paths
        Full-field DICOM views.
    pixel_spacing_mm
        Spacing of views whose header states none (None: the default of
        :func:`mammo_lib.scan.predictor.assumed_spacing`, 0.05 mm for a DICOM).
    table
        The case tables (None: read through the registry).
    """
    from mammo_lib.sources.cbis_ddsm import match_case_rows

    paths = [Path(p) for p in paths]
    rows = match_case_rows(paths, table)
    predictions, records = [], []
    for path in paths:
        header = check_scan_header(path)
        prediction = predict_scan(
            predictor,
            read_scan(path),
            pixel_spacing_mm=pixel_spacing_mm,
            header=header,
            crop_to_tissue=True,
        )
        predictions.append(prediction)
        info = prediction.info
        case = rows.loc[rows["file"] == str(path), "case_id"]
        records.append(
            {
                "file": path.name,
                "case_id": case.iloc[0] if len(case) else None,
                "scan_probability": prediction.score,
                "flagged_tissue_fraction": info.get("flagged_tissue_fraction"),
                "tissue_fraction": info.get("tissue_fraction"),
                "pixel_spacing_mm": prediction.pixel_spacing_mm[0],
                "n_regions": len(prediction.regions),
            }
        )
    return ViewMaps(predictions, rows, pd.DataFrame(records))


def plot_view_maps(views: ViewMaps, ncols: int = 4) -> plt.Figure:
    """The views' probability maps over the scans, a shared colour bar, the tissue outline.

    Each panel shows the scan in grey, the map (tissue cells only; transparent elsewhere) on
    the ``turbo`` scale from 0 to 1, the outline of the tissue cells in white and the regions
    at or above the threshold in dashed cyan; its title names the case and the flagged share.
    """
    from matplotlib.patches import Rectangle

    n = max(1, len(views.predictions))
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.0 * ncols, 4.6 * nrows), squeeze=False)
    image = None
    for ax, prediction, row in zip(
        axes.flat, views.predictions, views.summary.itertuples(index=False), strict=False
    ):
        scan = prediction.scan.image
        ax.imshow(scan, cmap="gray", vmin=0, vmax=255)
        top, left, bottom, right = prediction.geometry.footprint_extent(prediction.prob_map.shape)
        extent = (left, right, bottom, top)
        tissue = prediction.tissue
        shown = (
            prediction.prob_map
            if tissue is None
            else np.ma.masked_where(~tissue, prediction.prob_map)
        )
        image = ax.imshow(
            shown, cmap="turbo", alpha=0.55, vmin=0, vmax=1, extent=extent, interpolation="nearest"
        )
        if tissue is not None and tissue.any():
            r, c = prediction.geometry.cell_centres(
                np.arange(tissue.shape[0]), np.arange(tissue.shape[1])
            )
            ax.contour(c, r, tissue.astype(float), levels=[0.5], colors="white", linewidths=0.8)
        for region in prediction.regions:
            t, l_, b, r = region.box
            ax.add_patch(Rectangle((l_, t), r - l_, b - t, fill=False, ec="cyan", lw=0.8, ls="--"))
        ax.set_xlim(0, scan.shape[1])
        ax.set_ylim(scan.shape[0], 0)
        ax.set_xticks([])
        ax.set_yticks([])
        name = str(row.case_id).removeprefix("Mass-Test_") if row.case_id else row.file
        flagged = row.flagged_tissue_fraction
        share = "no score" if flagged is None or pd.isna(flagged) else f"{flagged:.0%} flagged"
        ax.set_title(f"{name}\n{share}", fontsize=8)
    for ax in axes.flat[len(views.predictions) :]:
        ax.axis("off")
    if image is not None:
        bar = fig.colorbar(image, ax=list(axes.flat), shrink=0.7, pad=0.02)
        bar.set_label("P(abnormal)")
    return fig
