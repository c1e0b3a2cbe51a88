"""Whole-scan prediction with a trained run: read a scan, resample it, map it, write results.

For each scan :func:`predict_scan` gives a :class:`ScanPrediction`, and
:func:`write_prediction` writes three files named after the scan:

``<stem>.heatmap.png``
    The scan (downscaled for display) with the probability map overlaid and the regions at or
    above the threshold outlined.
``<stem>.map.npy``
    The probability map, float32 ``(rows, cols)``, one cell per map step.
``<stem>.json``
    Scan-level probability, threshold, regions (boxes in scan pixel coordinates with their
    peak probability) and the geometry needed to place the map on the scan.

Scale. A run's model saw tiles cut as ``crop_size`` scan pixels resized to ``image_size``
(the study: 598 -> 299 on CBIS-DDSM scans of about 0.05 mm; the synthetic "small" scans:
299 -> ``image_size`` at 0.1 mm, the same 30 mm of tissue). The run's ``config.json`` does not
record millimetres, so :func:`training_scale` derives them from the run's dataset; CBIS-DDSM
files state no pixel spacing, so for real data it assumes :data:`DEFAULT_SOURCE_SPACING_MM`
(DDSM digitizers: 42-50 microns). A scan is resampled from its own pixel spacing (the DICOM
header's ``PixelSpacing`` or ``ImagerPixelSpacing`` when present, else the caller's value,
else the training scans' spacing) to the training scale. Every choice is in the JSON.

Grey levels. Scans are read and brought to 8 bits by :func:`mammo_lib.imaging.read.read_scan`,
the reader the dataset build uses, so the map sees the pixels the tiles were cut from (DDSM
views through their digitizer's optical density: :func:`mammo_lib.sources.ddsm.read_view`);
the run's own input-scaling layer runs inside the converted network.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import matplotlib
import numpy as np
from PIL import Image, ImageDraw

from mammo_lib.imaging.read import Scan
from mammo_lib.io import atomic_path
from mammo_lib.scan.fcn import (
    DEFAULT_SCORE,
    DEFAULT_TOP_K,
    FullyConvolutional,
    ScoreMethod,
    default_refine,
    probability_map,
    scan_score,
    to_fully_convolutional,
)
from mammo_lib.scan.regions import MapGeometry, Region, find_regions
from mammo_lib.scan.tissue import breast_mask, restrict_to_tissue, tissue_cells

#: Pixel spacing (mm) assumed for the training scans and for scans that state none.
DEFAULT_SOURCE_SPACING_MM = 0.05
#: The study's crop side in scan pixels, used when a run's dataset manifest is unreadable.
DEFAULT_CROP_SIZE = 598
#: Longest side of the heatmap overlay image, in pixels.
OVERLAY_MAX_SIDE = 2048


@dataclass(frozen=True)
class TrainingScale:
    """The scale a run's model was trained at.

    Attributes
    ----------
    mm_per_pixel
        Millimetres per model input pixel.
    source_spacing_mm
        Pixel spacing of the scans the training tiles were cut from; also the spacing assumed
        for a scan that states none.
    source
        How both were obtained, in words (for the JSON).
    """

    mm_per_pixel: float
    source_spacing_mm: float
    source: str


def _source_spacing(manifest: dict[str, Any]) -> tuple[float, str]:
    """Pixel spacing of a dataset's CBIS scans: the synthetic tree's record, else the default.

    The synthetic scans, like DDSM's, come at their digitizer's pitch (42-50 microns, twice
    that for "small" trees); the median stands for them all, as the tiles were cut at a fixed
    pixel size whatever the pitch.
    """
    cbis_root = (manifest.get("inputs") or {}).get("cbis_root")
    if cbis_root:
        table = Path(cbis_root).parent / "ground_truth_scans.csv"
        try:
            import pandas as pd

            spacing = float(pd.read_csv(table, usecols=["pixel_mm"])["pixel_mm"].median())
            if spacing > 0:
                return spacing, f"synthetic tree's pixel_mm {spacing:g}"
        except (OSError, ValueError, KeyError):
            pass
    return DEFAULT_SOURCE_SPACING_MM, f"assumed {DEFAULT_SOURCE_SPACING_MM:g} mm scans"


def training_scale(run_dir: str | os.PathLike[str]) -> TrainingScale:
    """Return the training scale of a run.

    ``mm_per_pixel = source_spacing * crop_size / image_size``: ``image_size`` from the run's
    config, ``crop_size`` from its dataset's manifest (:data:`DEFAULT_CROP_SIZE` when that
    cannot be read) and the source spacing from the synthetic tree the dataset was built from
    (:data:`DEFAULT_SOURCE_SPACING_MM` otherwise: CBIS-DDSM states none). A top-level
    ``"pixel_spacing_mm"`` in ``config.json`` overrides the result.
    """
    meta = json.loads((Path(run_dir) / "config.json").read_text())
    config = meta.get("config", meta)
    image_size = int(config.get("image_size", 299))
    manifest: dict[str, Any] = {}
    crop, where = DEFAULT_CROP_SIZE, f"study default crop {DEFAULT_CROP_SIZE} px"
    try:
        manifest = json.loads((Path(str(config["dataset_dir"])) / "manifest.json").read_text())
        crop = int(manifest["recipe"]["crop_size"])
        where = f"dataset crop {crop} px"
    except (OSError, ValueError, KeyError, TypeError):
        pass
    spacing, spacing_source = _source_spacing(manifest)
    mm = spacing * crop / image_size
    if "pixel_spacing_mm" in meta:
        mm, where = float(meta["pixel_spacing_mm"]), "run config.json pixel_spacing_mm"
        return TrainingScale(mm, spacing, where)
    return TrainingScale(mm, spacing, f"{where} -> image_size {image_size}, {spacing_source}")


@dataclass
class Predictor:
    """A run's model converted for whole scans, with its threshold and training scale.

    Build with :meth:`from_run`.
    """

    run_dir: Path
    fcn: FullyConvolutional
    scale: TrainingScale
    threshold: float
    threshold_source: str
    model_name: str
    refine: int = 1
    classifier: Any = field(repr=False, default=None)

    @classmethod
    def from_run(
        cls,
        run_dir: str | os.PathLike[str],
        threshold: float | None = None,
        refine: int | None = None,
    ) -> Predictor:
        """Load ``best.keras`` and ``config.json`` from a run folder written by the trainer.

        Parameters
        ----------
        run_dir
            The run folder.
        threshold
            Probability threshold for regions; None takes the run's ``threshold``.
        refine
            Shift-and-stitch factor of the map (see :func:`mammo_lib.scan.fcn.probability_map`);
            None: :func:`mammo_lib.scan.fcn.default_refine` (a map step of at most a quarter
            tile).

        Raises
        ------
        FileNotFoundError
            If the folder lacks ``best.keras`` or ``config.json``.
        """
        from mammo_lib.train import load_model

        run_dir = Path(run_dir)
        for name in ("best.keras", "config.json"):
            if not (run_dir / name).is_file():
                raise FileNotFoundError(f"{run_dir}: no {name}; not a finished training run")
        meta = json.loads((run_dir / "config.json").read_text())
        config = meta.get("config", meta)
        model = load_model(run_dir / "best.keras")
        if threshold is None:
            threshold, source = float(config.get("threshold", 0.5)), "run config"
        else:
            source = "option"
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
        fcn = to_fully_convolutional(model)
        if refine is not None and (refine < 1 or fcn.stride % refine):
            raise ValueError(f"refine must be a positive divisor of the stride {fcn.stride}")
        return cls(
            run_dir=run_dir,
            fcn=fcn,
            scale=training_scale(run_dir),
            threshold=float(threshold),
            threshold_source=source,
            model_name=str(config.get("model_name", model.name)),
            refine=default_refine(fcn) if refine is None else int(refine),
            classifier=model,
        )


@dataclass
class ScanPrediction:
    """The result for one scan (see :func:`predict_scan`)."""

    scan: Scan
    prob_map: np.ndarray
    geometry: MapGeometry
    score: float
    score_method: str
    threshold: float
    regions: list[Region]
    pixel_spacing_mm: tuple[float, float]
    pixel_spacing_source: str
    resampled_shape: tuple[int, int]
    info: dict[str, Any] = field(default_factory=dict)
    tissue: np.ndarray | None = field(default=None, repr=False)
    raw_map: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready summary."""
        g = self.geometry
        first = g.cell_centres(np.array(0), np.array(0))
        return {
            "scan": str(self.scan.path),
            "format": self.scan.file_format,
            "scan_shape": list(self.scan.image.shape),
            "scan_probability": round(self.score, 6),
            "score": self.score_method,
            "threshold": self.threshold,
            "n_regions": len(self.regions),
            "regions": [r.to_dict() for r in self.regions],
            "pixel_spacing_mm": list(self.pixel_spacing_mm),
            "pixel_spacing_source": self.pixel_spacing_source,
            "resampled_shape": list(self.resampled_shape),
            "map": {
                "shape": list(self.prob_map.shape),
                "step_model_px": g.stride,
                "tile_model_px": list(g.tile),
                "model_px_per_scan_px": [round(v, 6) for v in g.scale],
                "cell_spacing_scan_px": [round(g.stride / s, 3) for s in g.scale],
                "first_cell_centre_scan_px": [round(float(first[0]), 2), round(float(first[1]), 2)],
                "border_margin_model_px": [-g.origin[0], -g.origin[1]],
            },
            **self.info,
        }


def resample(image: np.ndarray, factor: tuple[float, float]) -> np.ndarray:
    """Resize a ``uint8`` image by ``(row, col)`` factors (bilinear, antialiased when shrinking,
    as the tiles were made)."""
    rows = max(1, round(image.shape[0] * factor[0]))
    cols = max(1, round(image.shape[1] * factor[1]))
    if (rows, cols) == image.shape:
        return image
    pil = Image.fromarray(np.ascontiguousarray(image), mode="L")
    return np.asarray(pil.resize((cols, rows), Image.Resampling.BILINEAR))


def border_margin(fcn: FullyConvolutional) -> tuple[int, int]:
    """Zero border (model pixels per side) that lets windows centre on the scan's edges.

    The largest multiple of the stride not above half a tile, so the padding keeps the map's
    alignment (see :meth:`mammo_lib.scan.fcn.FullyConvolutional.aligned_size`); zero is the
    black background of a mammogram.
    """
    return (
        fcn.stride * (fcn.tile[0] // 2 // fcn.stride),
        fcn.stride * (fcn.tile[1] // 2 // fcn.stride),
    )


def predict_scan(
    predictor: Predictor,
    scan: Scan,
    *,
    pixel_spacing_mm: float | None = None,
    score: ScoreMethod = DEFAULT_SCORE,
    top_k: int = DEFAULT_TOP_K,
    method: Literal["fcn", "sliding"] = "fcn",
    use_tissue_mask: bool = True,
) -> ScanPrediction:
    """Map one scan with a run's model.

    Parameters
    ----------
    predictor
        The converted run.
    scan
        The scan, from :func:`mammo_lib.imaging.read.read_scan`.
    pixel_spacing_mm
        Spacing to use when the file states none (None: assume the spacing of the scans the
        run was trained on, :attr:`TrainingScale.source_spacing_mm`).
    score, top_k
        Scan-level score (see :func:`mammo_lib.scan.fcn.scan_score`).
    method
        ``"fcn"``: the fully convolutional map (one pass, or ``refine**2``); ``"sliding"``:
        the tile classifier on every crop of the same grid, each crop alone as in training
        (slower; the reference when the network's padding matters, i.e. for small tiles).

    Notes
    -----
    The resampled scan is padded with :func:`border_margin` zeros on every side before it is
    mapped, so that windows also centre on the scan's borders.
    """
    if scan.pixel_spacing_mm is not None:
        spacing, source = scan.pixel_spacing_mm, "header"
    elif pixel_spacing_mm is not None:
        if pixel_spacing_mm <= 0:
            raise ValueError(f"pixel spacing must be positive, got {pixel_spacing_mm}")
        spacing, source = (float(pixel_spacing_mm),) * 2, "option"
    else:
        assumed = predictor.scale.source_spacing_mm
        spacing, source = (assumed,) * 2, "assumed: the training scans' (no header, no option)"
    target = predictor.scale.mm_per_pixel
    resized = resample(scan.image, (spacing[0] / target, spacing[1] / target))
    factor = (resized.shape[0] / scan.image.shape[0], resized.shape[1] / scan.image.shape[1])
    margin = border_margin(predictor.fcn)
    padded = np.pad(resized, ((margin[0], margin[0]), (margin[1], margin[1]))).astype(np.float32)
    if method == "fcn":
        prob = probability_map(predictor.fcn, padded, refine=predictor.refine)
    elif method == "sliding":
        from mammo_lib.scan.sliding import sliding_window_map

        step = predictor.fcn.stride // predictor.refine
        prob = sliding_window_map(predictor.classifier, predictor.fcn, padded, step=step)
    else:
        raise ValueError(f"unknown method {method!r}; use 'fcn' or 'sliding'")
    geometry = MapGeometry(
        stride=predictor.fcn.stride // predictor.refine,
        tile=predictor.fcn.tile,
        scale=factor,
        scan_shape=scan.image.shape,
        origin=(-margin[0], -margin[1]),
    )
    cells, raw = None, None
    tissue_info: dict[str, Any] = {"tissue_mask": bool(use_tissue_mask)}
    if use_tissue_mask:
        cells = tissue_cells(breast_mask(scan.image), geometry, prob.shape)
        raw, prob = prob, restrict_to_tissue(prob, cells)
        tissue_info["tissue_fraction"] = round(float(cells.mean()), 6)
        tissue_info["tissue_outside"] = "set to 0"
    return ScanPrediction(
        scan=scan,
        prob_map=prob,
        geometry=geometry,
        score=scan_score(prob, score, top_k),
        score_method=score if score == "max" else f"top{top_k} mean",
        threshold=predictor.threshold,
        regions=find_regions(prob, predictor.threshold, geometry),
        pixel_spacing_mm=(float(spacing[0]), float(spacing[1])),
        pixel_spacing_source=source,
        resampled_shape=resized.shape,
        info={
            "model_run": str(predictor.run_dir),
            "model_name": predictor.model_name,
            "threshold_source": predictor.threshold_source,
            "method": "fully convolutional" if method == "fcn" else "sliding window",
            "training_pixel_spacing_mm": round(target, 6),
            "training_scale_source": predictor.scale.source,
            **tissue_info,
        },
        tissue=cells,
        raw_map=raw,
    )


def overlay(prediction: ScanPrediction, max_side: int = OVERLAY_MAX_SIDE) -> Image.Image:
    """Return the scan with the probability map (colour, transparent where low) and the regions.

    The map is drawn over the cells' footprints (see :mod:`mammo_lib.scan.regions`),
    bilinearly interpolated; alpha grows with probability so that low values leave the scan
    visible. Regions at or above the threshold are outlined in cyan.
    """
    scan = prediction.scan.image
    d = min(1.0, max_side / max(scan.shape))
    size = (max(1, round(scan.shape[1] * d)), max(1, round(scan.shape[0] * d)))
    base = Image.fromarray(scan, mode="L").resize(size, Image.Resampling.BILINEAR).convert("RGBA")
    top, left, bottom, right = (
        v * d for v in prediction.geometry.footprint_extent(prediction.prob_map.shape)
    )
    width, height = max(1, round(right - left)), max(1, round(bottom - top))
    heat = Image.fromarray(prediction.prob_map.astype(np.float32), mode="F")
    heat = np.clip(np.asarray(heat.resize((width, height), Image.Resampling.BILINEAR)), 0, 1)
    rgba = matplotlib.colormaps["turbo"](heat)
    rgba[..., 3] = 0.65 * heat
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    layer.paste(
        Image.fromarray((rgba * 255).astype(np.uint8), mode="RGBA"), (round(left), round(top))
    )
    out = Image.alpha_composite(base, layer)
    draw = ImageDraw.Draw(out)
    for region in prediction.regions:
        r0, c0, r1, c1 = (v * d for v in region.box)
        draw.rectangle([c0, r0, c1, r1], outline=(0, 255, 255, 255), width=max(2, round(4 * d)))
        draw.text((c0 + 4, r0 + 4), f"{region.peak_probability:.2f}", fill=(0, 255, 255, 255))
    return out.convert("RGB")


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    with atomic_path(path) as tmp:
        write(tmp)


def write_prediction(
    prediction: ScanPrediction, out_dir: str | os.PathLike[str], stem: str | None = None
) -> dict[str, Path]:
    """Write ``<stem>.heatmap.png``, ``<stem>.map.npy`` and ``<stem>.json`` atomically.

    Parameters
    ----------
    prediction
        From :func:`predict_scan`.
    out_dir
        Output folder (created).
    stem
        File name stem; default the scan's file name without its suffix.

    Returns
    -------
    dict
        ``{"heatmap": path, "map": path, "json": path}``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = stem or prediction.scan.path.stem
    paths = {
        "heatmap": out / f"{stem}.heatmap.png",
        "map": out / f"{stem}.map.npy",
        "json": out / f"{stem}.json",
    }

    def save_map(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.save(handle, prediction.prob_map.astype(np.float32))

    _atomic(paths["heatmap"], lambda tmp: overlay(prediction).save(tmp, format="PNG"))
    _atomic(paths["map"], save_map)
    summary = prediction.to_dict()
    summary["files"] = {k: p.name for k, p in paths.items()}
    _atomic(paths["json"], lambda tmp: tmp.write_text(json.dumps(summary, indent=2) + "\n"))
    return paths
