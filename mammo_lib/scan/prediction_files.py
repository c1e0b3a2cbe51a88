"""The files of a whole-scan prediction: the heatmap overlay, the map and the JSON summary.

:func:`write_prediction` writes three files named after the scan, each atomically:

``<stem>.heatmap.png``
    The scan (downscaled for display) with the probability map overlaid and the regions at or
    above the threshold outlined (:func:`overlay`).
``<stem>.map.npy``
    The probability map, float32 ``(rows, cols)``, one cell per map step.
``<stem>.json``
    Scan-level probability, threshold, regions (boxes in scan pixel coordinates with their
    peak probability) and the geometry needed to place the map on the scan
    (:meth:`mammo_lib.scan.predictor.ScanPrediction.to_dict`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw

from mammo_lib.io import atomic_path
from mammo_lib.scan.predictor import ScanPrediction
from mammo_lib.train.predict_info import PURPOSE

#: Longest side of the heatmap overlay image, in pixels.
OVERLAY_MAX_SIDE = 2048


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
    _caption(draw, prediction, size)
    for region in prediction.regions:
        r0, c0, r1, c1 = (v * d for v in region.box)
        draw.rectangle([c0, r0, c1, r1], outline=(0, 255, 255, 255), width=max(2, round(4 * d)))
        draw.text((c0 + 4, r0 + 4), f"{region.peak_probability:.2f}", fill=(0, 255, 255, 255))
    return out.convert("RGB")


def _caption(draw: ImageDraw.ImageDraw, prediction: ScanPrediction, size: tuple[int, int]) -> None:
    """Write the score, the model's training data and its purpose along the image's bottom."""
    from PIL import ImageFont

    height = max(10, round(size[1] / 70))
    font = ImageFont.load_default(size=height)
    info = prediction.info
    score = (
        f"p = {prediction.score:.3f}"
        if prediction.score is not None
        else f"no score: {prediction.no_score_reason}"
    )
    import textwrap

    per_line = max(20, int(size[0] / (0.55 * height)))
    text = f"{score}; model trained on {info.get('trained_on') or 'unknown data'}"
    lines = textwrap.wrap(text, per_line) + [str(info.get("purpose", PURPOSE)).upper()]
    y = size[1] - len(lines) * (height + 4) - 4
    for line in lines:
        draw.text(
            (6, y),
            line,
            fill=(255, 255, 0, 255),
            font=font,
            stroke_width=1,
            stroke_fill=(0, 0, 0, 255),
        )
        y += height + 4


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

    _atomic(
        paths["heatmap"], lambda tmp: overlay(prediction).save(tmp, format="PNG", compress_level=1)
    )
    _atomic(paths["map"], save_map)
    summary = prediction.to_dict()
    summary["files"] = {k: p.name for k, p in paths.items()}
    _atomic(paths["json"], lambda tmp: tmp.write_text(json.dumps(summary, indent=2) + "\n"))
    return paths
