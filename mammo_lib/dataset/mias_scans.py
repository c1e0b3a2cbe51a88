"""Whole mini-MIAS films for a detector trained on the scan instead of the tile.

A tile classifier sees a few lesion windows and a few normal ones per film; turned into a
map, it must then stay low on every one of the hundreds of windows of a normal breast. A
detector trained on whole films sees every cell of every breast as an example, normal
tissue everywhere and lesions where the annotations put them, with the context of the whole
breast around each.

Each film is read through :func:`mammo_lib.imaging.read.read_scan`, block-averaged by
``down`` (4: 0.8 mm per pixel, where a MIAS mass of median radius 9 mm spans 11 pixels) and
mirrored when its breast lies on the right, so that every chest wall is on the left. The
map's cells are ``stride x stride`` blocks of that image. Per cell the set holds:

* ``tissue``: the cell is mostly breast (:func:`mammo_lib.imaging.breast.breast_mask`);
* ``target``: the cell's centre lies in an annotated lesion's circle, or within
  ``min_radius_cells`` cells of its centre when the circle is smaller than that (a
  calcification cluster of radius 3 MIAS pixels still marks its cell).

A film with a lesion that has no centre (three in mini-MIAS) cannot say where its normal
tissue is: it is kept with ``located = False``, and trainers leave it out.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from mammo_lib.config import work_dir
from mammo_lib.imaging.breast import breast_mask
from mammo_lib.imaging.read import read_scan
from mammo_lib.io import atomic_path
from mammo_lib.sources.mias import IMAGE_SIZE, PIXEL_SIZE_MM, MiasData, load_mias, to_row_col

#: Bump when the construction changes, so cached sets are rebuilt.
_VERSION = 1


@dataclass(frozen=True)
class MiasScanConfig:
    """How whole MIAS films are prepared.

    Parameters
    ----------
    down
        MIAS pixels per image pixel (block average); must divide 1024.
    stride
        Image pixels per map cell; must divide ``1024 / down``.
    min_radius_cells
        Smallest target radius, in cells.
    n_images
        Use only the first this many films (None: all 322), for quick checks.
    """

    down: int = 4
    stride: int = 4
    min_radius_cells: float = 0.75
    n_images: int | None = None

    def __post_init__(self) -> None:
        if self.down < 1 or IMAGE_SIZE % self.down:
            raise ValueError(f"down must divide {IMAGE_SIZE}, got {self.down}")
        side = IMAGE_SIZE // self.down
        if self.stride < 1 or side % self.stride:
            raise ValueError(f"stride must divide the image side {side}, got {self.stride}")

    @property
    def side(self) -> int:
        """Image side in pixels."""
        return IMAGE_SIZE // self.down

    @property
    def cells(self) -> int:
        """Map side in cells."""
        return self.side // self.stride

    def key(self) -> str:
        """Content hash of the configuration (names the cache file)."""
        text = json.dumps({"v": _VERSION, **dataclasses.asdict(self)}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class MiasScans:
    """Whole MIAS films, chest wall on the left, with per-cell tissue and lesion targets.

    Attributes
    ----------
    images
        ``uint8 [n, side, side]``.
    tissue, target
        ``bool [n, cells, cells]``.
    meta
        One row per film: ``scan_id``, ``patient_id``, ``tissue_class`` (MIAS's F/G/D),
        ``abnormal``, ``located`` (every lesion has a centre), ``mirrored``.
    lesions
        One row per located lesion: ``scan_id``, ``abnormality``, ``row``, ``col``,
        ``radius`` (MIAS pixels, in the film as stored on disk, not mirrored).
    config
        How they were prepared.
    """

    images: np.ndarray
    tissue: np.ndarray
    target: np.ndarray
    meta: pd.DataFrame
    lesions: pd.DataFrame
    config: MiasScanConfig

    @property
    def pixel_spacing_mm(self) -> float:
        """Millimetres per image pixel."""
        return PIXEL_SIZE_MM * self.config.down

    def fingerprint(self, rows: np.ndarray | None = None) -> str:
        """SHA-256 of the images and targets of `rows` (all when None)."""
        idx = np.arange(len(self.meta)) if rows is None else np.asarray(rows)
        digest = hashlib.sha256(self.config.key().encode())
        for a in (self.images[idx], self.tissue[idx], self.target[idx]):
            digest.update(np.ascontiguousarray(a).tobytes())
        return digest.hexdigest()

    def to_scan(self, cell_map: np.ndarray, index: int) -> np.ndarray:
        """A film's map in the orientation of the film on disk (undo the mirroring)."""
        return cell_map[:, ::-1] if self.meta["mirrored"].iloc[index] else cell_map


def cell_centres(config: MiasScanConfig) -> np.ndarray:
    """Centre of every map cell along one axis, in MIAS pixels."""
    return (np.arange(config.cells) * config.stride + config.stride / 2) * config.down


def lesion_target(
    lesions: list[tuple[float, float, float]], config: MiasScanConfig, mirrored: bool
) -> np.ndarray:
    """``bool [cells, cells]``: cells whose centre lies in a lesion circle (see the module).

    Parameters
    ----------
    lesions
        ``(row, col, radius)`` in MIAS pixels of the film on disk.
    config
        The grid.
    mirrored
        The image was mirrored left to right (the target is too).
    """
    centres = cell_centres(config)
    rows, cols = np.meshgrid(centres, centres, indexing="ij")
    target = np.zeros((config.cells, config.cells), dtype=bool)
    floor = config.min_radius_cells * config.stride * config.down
    for row, col, radius in lesions:
        c = IMAGE_SIZE - 1 - col if mirrored else col
        target |= np.hypot(rows - row, cols - c) <= max(radius, floor)
    return target


def prepare_film(
    image: np.ndarray, lesions: list[tuple[float, float, float]], config: MiasScanConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """One film: ``(image, tissue, target, mirrored)`` as :class:`MiasScans` holds them.

    Parameters
    ----------
    image
        ``uint8 [1024, 1024]`` as read.
    lesions
        ``(row, col, radius)`` of its located lesions, MIAS pixels.
    config
        How to prepare it.
    """
    if image.shape != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"expected a {IMAGE_SIZE}x{IMAGE_SIZE} film, got {image.shape}")
    mask = breast_mask(image)
    half = IMAGE_SIZE // 2
    mirrored = bool(mask[:, :half].sum() < mask[:, half:].sum())
    if mirrored:
        image, mask = image[:, ::-1], mask[:, ::-1]
    d, n = config.down, config.side
    small = image.reshape(n, d, n, d).mean(axis=(1, 3))
    block = d * config.stride
    cells = config.cells
    tissue = mask.reshape(cells, block, cells, block).mean(axis=(1, 3)) > 0.5
    target = lesion_target(lesions, config, mirrored)
    return np.rint(small).astype(np.uint8), tissue, target, mirrored


def build_mias_scans(
    config: MiasScanConfig = MiasScanConfig(),
    mias: MiasData | None = None,
    progress: bool = True,
) -> MiasScans:
    """Prepare every film of `mias` (default: the registry's copy) as `config` says."""
    mias = mias if mias is not None else load_mias()
    images = mias.images if config.n_images is None else mias.images.iloc[: config.n_images]
    out_images, out_tissue, out_target, rows, lesion_rows = [], [], [], [], []
    for refnum, info in tqdm(
        images.iterrows(), total=len(images), desc="MIAS films", disable=not progress
    ):
        located, circles = True, []
        for line in mias.lines(refnum).itertuples(index=False):
            if line.abnormality == "NORM":
                continue
            if np.isnan(line.x) or np.isnan(line.y) or np.isnan(line.radius):
                located = False
                continue
            row, col = to_row_col(line.x, line.y, IMAGE_SIZE)
            circles.append((float(row), float(col), float(line.radius)))
            lesion_rows.append(
                {
                    "scan_id": refnum,
                    "abnormality": line.abnormality,
                    "row": float(row),
                    "col": float(col),
                    "radius": float(line.radius),
                }
            )
        image = read_scan(mias.path(refnum)).image
        small, tissue, target, mirrored = prepare_film(image, circles, config)
        out_images.append(small)
        out_tissue.append(tissue)
        out_target.append(target)
        rows.append(
            {
                "scan_id": refnum,
                "patient_id": info["patient_id"],
                "tissue_class": info["tissue"],
                "abnormal": bool(info["abnormal"]),
                "located": located,
                "mirrored": mirrored,
            }
        )
    return MiasScans(
        np.stack(out_images),
        np.stack(out_tissue),
        np.stack(out_target),
        pd.DataFrame(rows),
        pd.DataFrame(lesion_rows, columns=["scan_id", "abnormality", "row", "col", "radius"]),
        config,
    )


def ensure_mias_scans(
    config: MiasScanConfig = MiasScanConfig(),
    cache: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> MiasScans:
    """Return the prepared films for `config`, preparing them once and reusing them after.

    Parameters
    ----------
    config
        How to prepare.
    cache
        Folder of the cache (default ``work_dir() / "mias-scans"``); the set is one ``.npz``
        file named by :meth:`MiasScanConfig.key`, written atomically.
    progress
        Show a progress bar while preparing.
    """
    folder = Path(cache) if cache is not None else work_dir() / "mias-scans"
    path = folder / f"{config.key()}.npz"
    if not path.is_file():
        data = build_mias_scans(config, progress=progress)
        with atomic_path(path) as tmp:
            np.savez(
                tmp,
                images=data.images,
                tissue=data.tissue,
                target=data.target,
                meta=data.meta.to_csv(index=False),
                lesions=data.lesions.to_csv(index=False),
            )
    with np.load(path) as saved:
        meta = pd.read_csv(io.StringIO(str(saved["meta"])), keep_default_na=False)
        lesions = pd.read_csv(io.StringIO(str(saved["lesions"])), keep_default_na=False)
        return MiasScans(saved["images"], saved["tissue"], saved["target"], meta, lesions, config)
