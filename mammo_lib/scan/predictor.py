"""Whole-scan prediction with a trained run: resample a scan to the training scale and map it.

For each scan, read by :func:`mammo_lib.imaging.read.read_scan`, :func:`predict_scan` gives a
:class:`ScanPrediction` (the probability map, the scan-level score and the regions at or above
the threshold); :func:`mammo_lib.scan.prediction_files.write_prediction` writes it to files.

Scale. A run's model saw tiles cut as ``crop_size`` scan pixels resized to ``image_size``
(the study: 598 -> 299 on CBIS-DDSM scans of about 0.05 mm; mini-MIAS: 116 -> 64 px at
0.2 mm). The run's own ``predict.json`` (:mod:`mammo_lib.train.predict_info`) says how many
millimetres one model pixel is; a run without it has it derived once from its dataset's
manifest, and a run that can say neither is refused (:class:`RunScaleError`): no scale is
assumed. A scan is resampled from its own pixel spacing (the DICOM header's
``PixelSpacing`` or ``ImagerPixelSpacing``, checked by :mod:`mammo_lib.scan.scale`), else
the caller's value, else :func:`assumed_spacing` (DICOM without a spacing: DDSM-digitised
film, 0.05 mm; PGM: mini-MIAS, 0.2 mm; a scan in the training scans' own format: theirs) to
the training scale (:func:`mammo_lib.imaging.intensity.resample`). Every choice is in the
JSON.

Grey levels. Scans are read and brought to 8 bits by :func:`mammo_lib.imaging.read.read_scan`,
the reader the dataset build uses, so the map sees the pixels the tiles were cut from (DDSM
views through their digitizer's optical density: :func:`mammo_lib.sources.ddsm.read_view`);
the run's own input-scaling layer runs inside the converted network.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mammo_lib.imaging.breast import breast_mask
from mammo_lib.imaging.errors import ImageReadError
from mammo_lib.imaging.intensity import resample
from mammo_lib.imaging.read import Scan
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
from mammo_lib.scan.scale import (
    HeaderCheck,
    check_resampled_size,
    check_scan_header,
    check_spacing,
)
from mammo_lib.scan.tissue import restrict_to_tissue, tissue_cells
from mammo_lib.train.predict_info import (
    CBIS_DDSM_SPACING_MM,
    MIAS_SPACING_MM,
    PURPOSE,
    PredictInfo,
)

#: Pixel spacing (mm) of CBIS-DDSM scans, which state none (DDSM: 42-50 microns).
DEFAULT_SOURCE_SPACING_MM = CBIS_DDSM_SPACING_MM
#: A scan whose tissue mask covers less of the map than this is not scored.
MIN_TISSUE_FRACTION = 0.01


class RunScaleError(ValueError):
    """A run folder does not say at what scale its model was trained."""


@dataclass(frozen=True)
class TrainingScale:
    """The scale a run's model was trained at (from its ``predict.json``).

    Attributes
    ----------
    mm_per_pixel
        Millimetres per model input pixel.
    source_spacing_mm
        Pixel spacing of the scans the training tiles were cut from (None: not recorded);
        also the spacing assumed for a scan of the same format that states none.
    source
        How both were obtained, in words (for the JSON).
    source_format
        File format of the training scans (``dicom``, ``pgm``, ``png``; None: not recorded).
    """

    mm_per_pixel: float
    source_spacing_mm: float | None
    source: str
    source_format: str | None = None


def run_predict_info(run_dir: str | os.PathLike[str]) -> PredictInfo:
    """Return a run's :class:`~mammo_lib.train.predict_info.PredictInfo`.

    Read from ``<run>/predict.json``; a run trained before that file existed gets it derived
    once from its dataset's ``manifest.json`` and written beside its model (kept in memory
    only when the folder is read-only).

    Raises
    ------
    RunScaleError
        If the run has no ``predict.json`` and its dataset cannot say the scale: the message
        names the run. No scale is ever assumed.
    """
    from mammo_lib.train.config import TrainConfig
    from mammo_lib.train.predict_info import (
        PREDICT_INFO,
        predict_info_from_dataset,
        read_predict_info,
        write_predict_info,
    )

    run_dir = Path(run_dir)
    info = read_predict_info(run_dir)
    if info is not None:
        return info
    try:
        meta = json.loads((run_dir / "config.json").read_text())
        info = predict_info_from_dataset(TrainConfig.from_dict(meta.get("config", meta)))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RunScaleError(
            f"run {run_dir}: no {PREDICT_INFO}, and the training scale cannot be derived from "
            f"its dataset ({exc}); copy the run's {PREDICT_INFO} with it, or re-train it"
        ) from exc
    try:
        write_predict_info(run_dir, info)
    except OSError:
        pass  # a read-only run folder: derived again next time
    return info


def training_scale(run_dir: str | os.PathLike[str]) -> TrainingScale:
    """Return the training scale of a run (see :func:`run_predict_info`)."""
    info = run_predict_info(run_dir)
    return TrainingScale(
        mm_per_pixel=info.pixel_spacing_mm,
        source_spacing_mm=info.source_spacing_mm,
        source=info.derived,
        source_format=info.source_format,
    )


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
    trained_on: str = ""
    purpose: str = PURPOSE

    @classmethod
    def from_run(
        cls,
        run_dir: str | os.PathLike[str],
        threshold: float | None = None,
        refine: int | None = None,
    ) -> Predictor:
        """Load ``best.keras``, ``config.json`` and ``predict.json`` from a run folder.

        Parameters
        ----------
        run_dir
            The run folder.
        threshold
            Probability threshold for regions; None takes the run's (``predict.json``).
        refine
            Shift-and-stitch factor of the map (see :func:`mammo_lib.scan.fcn.probability_map`);
            None: :func:`mammo_lib.scan.fcn.default_refine` (a map step of at most a third
            of a tile).

        Raises
        ------
        FileNotFoundError
            If the folder lacks ``best.keras`` or ``config.json``.
        RunScaleError
            If the run does not say its training scale (see :func:`run_predict_info`).
        """
        from mammo_lib.train import load_model

        run_dir = Path(run_dir)
        for name in ("best.keras", "config.json"):
            if not (run_dir / name).is_file():
                raise FileNotFoundError(f"{run_dir}: no {name}; not a finished training run")
        meta = json.loads((run_dir / "config.json").read_text())
        config = meta.get("config", meta)
        info = run_predict_info(run_dir)
        if threshold is None:
            threshold, source = info.threshold, "run predict.json"
        else:
            source = "option"
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
        model = load_model(run_dir / "best.keras")
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
            trained_on=info.trained_on,
            purpose=info.purpose,
        )


def assumed_spacing(
    path: str | os.PathLike[str], file_format: str, scale: TrainingScale
) -> tuple[float, str]:
    """Pixel spacing (mm) for a scan that states none and was given none, and why.

    A scan in the format the run was trained on is taken to be like the training scans;
    otherwise a DICOM is taken as a DDSM-digitised film (CBIS-DDSM states no PixelSpacing;
    DDSM was digitised at 42-50 microns:
    :data:`~mammo_lib.train.predict_info.CBIS_DDSM_SPACING_MM`), a PGM as mini-MIAS (0.2 mm),
    and anything else like the training scans when the run records their spacing.

    Raises
    ------
    mammo_lib.sources.report.ImageReadError
        A PNG (or other format) with no rule and a run that records no source spacing.
    """
    known = scale.source_spacing_mm is not None
    if known and file_format == scale.source_format:
        return float(scale.source_spacing_mm), (
            f"assumed: the training scans' ({file_format}, {scale.source_spacing_mm:g} mm)"
        )
    if file_format in ("dicom", "ljpeg"):
        return CBIS_DDSM_SPACING_MM, (
            f"assumed: DDSM-digitised film {CBIS_DDSM_SPACING_MM:g} mm (CBIS-DDSM states no "
            "PixelSpacing; DDSM was digitised at 42-50 microns)"
        )
    if file_format == "pgm":
        return MIAS_SPACING_MM, f"assumed: mini-MIAS {MIAS_SPACING_MM:g} mm"
    if known:
        return float(scale.source_spacing_mm), (
            f"assumed: the training scans' ({scale.source_format}, {scale.source_spacing_mm:g} mm)"
        )
    raise ImageReadError(
        path, f"a {file_format} file states no pixel spacing: give it with --pixel-spacing"
    )


@dataclass
class ScanPrediction:
    """The result for one scan (see :func:`predict_scan`).

    ``score`` is None when the scan has nothing to score (a constant image, no breast
    tissue found); ``no_score_reason`` then says why, and there are no regions.
    """

    scan: Scan
    prob_map: np.ndarray
    geometry: MapGeometry
    score: float | None
    score_method: str
    threshold: float
    regions: list[Region]
    pixel_spacing_mm: tuple[float, float]
    pixel_spacing_source: str
    resampled_shape: tuple[int, int]
    info: dict[str, Any] = field(default_factory=dict)
    tissue: np.ndarray | None = field(default=None, repr=False)
    raw_map: np.ndarray | None = field(default=None, repr=False)
    no_score_reason: str | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready summary."""
        g = self.geometry
        first = g.cell_centres(np.array(0), np.array(0))
        return {
            "scan": str(self.scan.path),
            "format": self.scan.file_format,
            "scan_shape": list(self.scan.image.shape),
            "scan_probability": None if self.score is None else round(self.score, 6),
            "scan_probability_reason": self.no_score_reason,
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
            "warnings": list(self.warnings),
            **self.info,
        }


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


def _scan_spacing(
    scan: Scan, header: HeaderCheck | None, option: float | None, scale: TrainingScale
) -> tuple[tuple[float, float], str]:
    """The spacing to resample from and where it came from (see :func:`predict_scan`)."""
    if header is not None and header.spacing_mm is not None:
        spacing, source = header.spacing_mm, "header"
    elif header is None and scan.pixel_spacing_mm is not None:
        spacing, source = scan.pixel_spacing_mm, "header"
    elif option is not None:
        if not math.isfinite(option) or option <= 0:
            raise ValueError(f"pixel spacing must be a positive number, got {option}")
        spacing, source = (float(option),) * 2, "option"
    else:
        value, source = assumed_spacing(scan.path, scan.file_format, scale)
        spacing = (value, value)
    check_spacing(scan.path, spacing, f"pixel spacing ({source})")
    if header is not None and header.note:
        source = f"{source}; {header.note}"
    return (float(spacing[0]), float(spacing[1])), source


def tissue_window(
    cells: np.ndarray, fcn: FullyConvolutional, refine: int
) -> tuple[int, int, int, int]:
    """The map cells ``(row0, col0, row1, col1)`` (end exclusive) worth computing.

    The bounding box of the tissue cells, widened by one tile of context on every side and
    with its start rounded down to a multiple of `refine` cells (a multiple of the network's
    stride in pixels, so the cropped map's grid is the full map's).
    """
    rows, cols = np.flatnonzero(cells.any(axis=1)), np.flatnonzero(cells.any(axis=0))
    step = fcn.stride // refine
    context = -(-max(fcn.tile) // step)
    r0 = max(0, rows[0] - context) // refine * refine
    c0 = max(0, cols[0] - context) // refine * refine
    r1 = min(cells.shape[0], rows[-1] + 1 + context)
    c1 = min(cells.shape[1], cols[-1] + 1 + context)
    return int(r0), int(c0), int(r1), int(c1)


def _map_window(
    predictor: Predictor, padded: np.ndarray, window: tuple[int, int, int, int], method: str
) -> np.ndarray:
    """The map cells of `window` computed on the part of `padded` they see."""
    step = predictor.fcn.stride // predictor.refine
    r0, c0, r1, c1 = window
    tile = predictor.fcn.tile
    crop = padded[r0 * step : (r1 - 1) * step + tile[0], c0 * step : (c1 - 1) * step + tile[1]]
    if method == "fcn":
        values = probability_map(predictor.fcn, crop, refine=predictor.refine)
    else:
        from mammo_lib.scan.sliding import sliding_window_map

        values = sliding_window_map(predictor.classifier, predictor.fcn, crop, step=step)
    return values[: r1 - r0, : c1 - c0]


def predict_scan(
    predictor: Predictor,
    scan: Scan,
    *,
    pixel_spacing_mm: float | None = None,
    score: ScoreMethod = DEFAULT_SCORE,
    top_k: int = DEFAULT_TOP_K,
    method: Literal["fcn", "sliding"] = "fcn",
    use_tissue_mask: bool = True,
    header: HeaderCheck | None = None,
    force: bool = False,
    crop_to_tissue: bool = False,
) -> ScanPrediction:
    """Map one scan with a run's model.

    Parameters
    ----------
    predictor
        The converted run.
    scan
        The scan, from :func:`mammo_lib.imaging.read.read_scan`.
    pixel_spacing_mm
        Spacing to use when the file states none (None: :func:`assumed_spacing`).
    score, top_k
        Scan-level score (see :func:`mammo_lib.scan.fcn.scan_score`).
    method
        ``"fcn"``: the fully convolutional map (one pass, or ``refine**2``); ``"sliding"``:
        the tile classifier on every crop of the same grid, each crop alone as in training
        (slower; the reference when the network's padding matters, i.e. for small tiles).
    use_tissue_mask
        Set map cells outside the breast to 0 (see :mod:`mammo_lib.scan.tissue`).
    header
        The file's checked header (:func:`mammo_lib.scan.scale.check_scan_header`); None:
        checked here for a DICOM.
    force
        Map a DICOM whose modality is not MG (when `header` is None).
    crop_to_tissue
        Map only the tissue's bounding box with a tile of context on every side
        (:func:`tissue_window`), as ``mammo predict`` does: cells outside it are outside the
        tissue and 0 either way, but the unmasked ``raw_map`` is then 0 there too.

    Raises
    ------
    mammo_lib.sources.report.ImageReadError
        A non-mammography DICOM (unless `force`), a malformed or implausible spacing, or a
        resampled size over :data:`mammo_lib.scan.scale.MAX_RESAMPLED_PIXELS`; the message
        names the file.

    Notes
    -----
    The resampled scan is padded with :func:`border_margin` zeros on every side before it is
    mapped, so that windows also centre on the scan's borders. A constant image, or one in
    which no breast tissue is found, is not mapped: its score is None, with the reason.
    """
    if header is None and scan.file_format == "dicom":
        header = check_scan_header(scan.path, force=force)
    spacing, source = _scan_spacing(scan, header, pixel_spacing_mm, predictor.scale)
    notes = [f"{scan.path}: {header.note}"] if header is not None and header.note else []
    target = predictor.scale.mm_per_pixel
    factors = (spacing[0] / target, spacing[1] / target)
    check_resampled_size(scan.path, scan.image.shape, factors)
    resized = resample(scan.image, factors)
    factor = (resized.shape[0] / scan.image.shape[0], resized.shape[1] / scan.image.shape[1])
    margin = border_margin(predictor.fcn)
    padded = np.pad(resized, ((margin[0], margin[0]), (margin[1], margin[1]))).astype(np.float32)
    geometry = MapGeometry(
        stride=predictor.fcn.stride // predictor.refine,
        tile=predictor.fcn.tile,
        scale=factor,
        scan_shape=scan.image.shape,
        origin=(-margin[0], -margin[1]),
    )
    map_shape = predictor.fcn.map_shape(*padded.shape, refine=predictor.refine)
    reason = None
    if np.ptp(scan.image) == 0:
        reason = f"constant image (every pixel {int(scan.image.flat[0])}): nothing to map"
    cells = None
    tissue_info: dict[str, Any] = {"tissue_mask": bool(use_tissue_mask)}
    if use_tissue_mask and reason is None:
        cells = tissue_cells(breast_mask(scan.image), geometry, map_shape)
        tissue_info["tissue_fraction"] = round(float(cells.mean()), 6)
        tissue_info["tissue_outside"] = "set to 0"
        if cells.mean() < MIN_TISSUE_FRACTION:
            reason = (
                f"no breast tissue found (tissue mask {cells.mean():.1%} of the map, under "
                f"{MIN_TISSUE_FRACTION:.0%})"
            )
    raw = None
    if reason is not None:
        prob = np.zeros(map_shape, dtype=np.float32)
        scan_probability, regions = None, []
    else:
        if method not in ("fcn", "sliding"):
            raise ValueError(f"unknown method {method!r}; use 'fcn' or 'sliding'")
        window = (0, 0, *map_shape)
        if crop_to_tissue and cells is not None:
            window = tissue_window(cells, predictor.fcn, predictor.refine)
            tissue_info["mapped_window_cells"] = list(window)
        prob = np.zeros(map_shape, dtype=np.float32)
        prob[window[0] : window[2], window[1] : window[3]] = _map_window(
            predictor, padded, window, method
        )
        if cells is not None:
            raw, prob = prob, restrict_to_tissue(prob, cells)
        scan_probability = scan_score(prob, score, top_k)
        regions = find_regions(prob, predictor.threshold, geometry)
    if cells is not None and reason is None:
        tissue_info["flagged_tissue_fraction"] = round(
            float((prob[cells] >= predictor.threshold).mean()), 6
        )
    return ScanPrediction(
        scan=scan,
        prob_map=prob,
        geometry=geometry,
        score=scan_probability,
        score_method=score if score == "max" else f"top{top_k} mean",
        threshold=predictor.threshold,
        regions=regions,
        pixel_spacing_mm=spacing,
        pixel_spacing_source=source,
        resampled_shape=resized.shape,
        info={
            "header_pixel_spacing": None if header is None else header.header_spacing,
            "modality": None if header is None else header.modality,
            "model_run": str(predictor.run_dir),
            "model_name": predictor.model_name,
            "trained_on": predictor.trained_on,
            "purpose": predictor.purpose,
            "threshold_source": predictor.threshold_source,
            "method": "fully convolutional" if method == "fcn" else "sliding window",
            "training_pixel_spacing_mm": round(target, 6),
            "training_scale_source": predictor.scale.source,
            **tissue_info,
        },
        tissue=cells,
        raw_map=raw,
        no_score_reason=reason,
        warnings=notes,
    )
