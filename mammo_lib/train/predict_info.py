"""``predict.json``: what whole-scan prediction needs to know about a run, kept in its folder.

A run's model saw tiles of ``input_size`` pixels, each cut from scans of ``source_spacing_mm``
as ``crop_size_px`` scan pixels, so one model input pixel is ``pixel_spacing_mm`` of tissue.
:mod:`mammo_lib.scan.predictor` resamples a scan to that scale; without it the map is computed
at the wrong scale and nothing looks wrong. The file therefore travels with the run: a run
folder copied to another machine, without its dataset, still predicts at the right scale.

Fields (``predict.json``):

``pixel_spacing_mm``
    Millimetres of tissue per model input pixel.
``input_size``
    Model input side in pixels.
``threshold``
    P(abnormal) threshold for regions.
``trained_on``
    What the tiles came from, in words.
``labels``
    Class names, index = model output.
``purpose``
    :data:`PURPOSE`.
``source_spacing_mm``, ``source_format``, ``crop_size_px``
    Pixel spacing, file format (``dicom``, ``pgm``, ``png``) and crop side of the scans the
    tiles were cut from (the spacing assumed for a scan of that format that states none).
``derived``
    How the scale was obtained, in words.

:func:`write_predict_info` is called by the trainer (and by anything else that makes a run
folder, e.g. the MIAS detector); :func:`predict_info_from_dataset` derives the values from a
dataset's ``manifest.json`` for runs trained before the file existed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mammo_lib.dataset.labels import CLASS_NAMES
from mammo_lib.train.config import TrainConfig, write_json_atomic

#: File name in a run folder.
PREDICT_INFO = "predict.json"
#: What every model of this project is for.
PURPOSE = "research use only, not for diagnosis"
#: Pixel spacing (mm) assumed for CBIS-DDSM scans: they state none; the DDSM films were
#: digitised at 42-50 microns per pixel.
CBIS_DDSM_SPACING_MM = 0.05
#: mini-MIAS pixel spacing (200 microns).
MIAS_SPACING_MM = 0.2
#: Binary class names.
BINARY_LABELS: tuple[str, str] = ("NORMAL", "ABNORMAL")


#: Fields ``predict.json`` must hold; the others are optional.
REQUIRED = ("pixel_spacing_mm", "input_size", "threshold", "trained_on", "labels")


def _positive(name: str, value: object) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")


@dataclass(frozen=True)
class PredictInfo:
    """The contents of ``predict.json`` (see the module docstring).

    ``source_spacing_mm``, ``source_format`` and ``crop_size_px`` are None when the writer did
    not record them (prediction then assumes per file format, see
    :func:`mammo_lib.scan.predictor.assumed_spacing`).
    """

    pixel_spacing_mm: float
    input_size: int
    threshold: float
    trained_on: str
    labels: tuple[str, ...]
    source_spacing_mm: float | None = None
    source_format: str | None = None
    crop_size_px: float | None = None
    derived: str = PREDICT_INFO
    purpose: str = PURPOSE

    def __post_init__(self) -> None:
        _positive("pixel_spacing_mm", self.pixel_spacing_mm)
        for name in ("source_spacing_mm", "crop_size_px"):
            if getattr(self, name) is not None:
                _positive(name, getattr(self, name))
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1], got {self.threshold!r}")
        if self.input_size < 1 or len(self.labels) < 2:
            raise ValueError("input_size must be positive and labels name at least two classes")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        out = dataclasses.asdict(self)
        out["labels"] = list(self.labels)
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PredictInfo:
        """Build from :meth:`to_dict` output; unknown keys are ignored, :data:`REQUIRED` ones
        must be there. ``labels: "binary"`` stands for :data:`BINARY_LABELS`."""
        missing = [n for n in REQUIRED if n not in values]
        if missing:
            raise KeyError(f"missing {missing}")
        names = {f.name for f in dataclasses.fields(cls)}
        kept = {k: v for k, v in values.items() if k in names and v is not None}
        labels = kept["labels"]
        kept["labels"] = BINARY_LABELS if labels == "binary" else tuple(str(v) for v in labels)
        for name in ("pixel_spacing_mm", "source_spacing_mm", "crop_size_px", "threshold"):
            if name in kept:
                kept[name] = float(kept[name])
        kept["input_size"] = int(kept["input_size"])
        return cls(**kept)


def write_predict_info(run_dir: str | os.PathLike[str], info: PredictInfo) -> Path:
    """Write ``<run_dir>/predict.json`` atomically; return its path."""
    path = Path(run_dir) / PREDICT_INFO
    write_json_atomic(path, info.to_dict())
    return path


def read_predict_info(run_dir: str | os.PathLike[str]) -> PredictInfo | None:
    """Read ``<run_dir>/predict.json``; None when the run has none.

    Raises
    ------
    ValueError
        If the file exists but is not valid; the message names it.
    """
    path = Path(run_dir) / PREDICT_INFO
    if not path.is_file():
        return None
    try:
        return PredictInfo.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a valid {PREDICT_INFO} ({exc})") from exc


def _source_of(manifest: dict[str, Any]) -> tuple[float, str, str]:
    """Spacing, format and description of the scans a dataset's tiles were cut from.

    A synthetic tree records its scans' pitch in ``ground_truth_scans.csv`` beside
    ``cbis-ddsm/``; a real CBIS-DDSM download states none, so :data:`CBIS_DDSM_SPACING_MM`.
    """
    inputs = manifest.get("inputs") or {}
    cbis_root = inputs.get("cbis_root")
    recipe = manifest.get("recipe") or {}
    tile_mm = (manifest.get("tile_pixel_spacing_mm") or {}).get("cbis-ddsm")
    if cbis_root and tile_mm and recipe.get("crop_size") and recipe.get("tile_size"):
        # the build recorded its tiles' spacing: undo the crop -> tile resize
        spacing = float(tile_mm) * float(recipe["tile_size"]) / float(recipe["crop_size"])
        return spacing, "dicom", f"CBIS-DDSM scans {cbis_root} ({spacing:g} mm, from the manifest)"
    if cbis_root:  # builds before the manifest recorded it: a synthetic tree's own table
        table = Path(cbis_root).parent / "ground_truth_scans.csv"
        if table.is_file():
            import pandas as pd

            spacing = float(pd.read_csv(table, usecols=["pixel_mm"])["pixel_mm"].median())
            if spacing > 0:
                return spacing, "dicom", f"synthetic CBIS-DDSM tree {cbis_root} ({spacing:g} mm)"
        return (
            CBIS_DDSM_SPACING_MM,
            "dicom",
            f"CBIS-DDSM scans {cbis_root} (no PixelSpacing: assumed {CBIS_DDSM_SPACING_MM:g} mm, "
            "DDSM digitised at 42-50 microns)",
        )
    raise KeyError("the manifest names no CBIS-DDSM root (inputs.cbis_root)")


def predict_info_from_dataset(config: TrainConfig) -> PredictInfo:
    """Derive a run's :class:`PredictInfo` from its dataset's ``manifest.json``.

    ``pixel_spacing_mm = source_spacing * crop_size / image_size``.

    Raises
    ------
    FileNotFoundError, KeyError, ValueError
        If the manifest is missing or does not say the crop size and the scans' source; the
        message names the manifest.
    """
    from mammo_lib.dataset.folder import open_dataset

    path = Path(config.dataset_dir) / "manifest.json"
    try:
        manifest = open_dataset(config.dataset_dir).manifest
        crop = float(manifest["recipe"]["crop_size"])
        spacing, file_format, where = _source_of(manifest)
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"{path}: missing") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: cannot derive the training scale ({exc})") from exc
    recipe = manifest["recipe"]
    labels = BINARY_LABELS if config.label == "label_binary" else CLASS_NAMES
    return PredictInfo(
        pixel_spacing_mm=spacing * crop / config.image_size,
        input_size=config.image_size,
        threshold=float(config.threshold),
        trained_on=f"dataset recipe {recipe.get('name', '?')} ({recipe.get('description', '')}) "
        f"built from {where}",
        labels=tuple(labels),
        source_spacing_mm=spacing,
        source_format=file_format,
        crop_size_px=crop,
        derived=f"{path}: crop {crop:g} px of {spacing:g} mm scans -> {config.image_size} px",
    )
