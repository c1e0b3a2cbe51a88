"""Held-out whole-scan maps of mini-MIAS: each fold's model maps the scans of its own fold."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mammo_lib.dataset.mias_scans import MiasScans
from mammo_lib.imaging.read import read_scan
from mammo_lib.scan.localisation import Lesion, LocalisationCase, mias_cases
from mammo_lib.scan.predictor import Predictor, ScanPrediction
from mammo_lib.scan.regions import MapGeometry, find_regions
from mammo_lib.sources.mias import IMAGE_SIZE, LESION_CLASSES, MASSES, PIXEL_SIZE_MM, MiasData


def scan_folds(meta: pd.DataFrame, folds: np.ndarray, images: pd.DataFrame) -> dict[str, int]:
    """Fold of every scan: its woman's fold in the tile set.

    A woman with no tile in the set (every window of her scans rejected by the keep-rule)
    trained no model, so any fold's model has never seen her; she gets ``patient % n_folds``.

    Parameters
    ----------
    meta
        The tile table (``scan_id``, ``patient_id``), row-aligned with `folds`.
    folds
        Fold per tile.
    images
        :attr:`mammo_lib.sources.mias.MiasData.images` (``patient``, ``patient_id``).
    """
    per_woman = pd.Series(np.asarray(folds), index=meta["patient_id"].to_numpy())
    by_woman = per_woman.groupby(level=0).agg(lambda f: f.iloc[0])
    if (per_woman.groupby(level=0).nunique() > 1).any():
        raise ValueError("a woman's tiles lie in more than one fold")
    n = int(np.max(folds)) + 1
    out = {}
    for refnum, row in images.iterrows():
        pid = row["patient_id"]
        out[str(refnum)] = int(by_woman[pid]) if pid in by_woman.index else int(row["patient"]) % n
    return out


def lesion_classes(mias: MiasData, refnum: str) -> list[str]:
    """MIAS class of each located lesion of a scan, in the order :func:`mias_cases` keeps."""
    lines = mias.lines(refnum).dropna(subset=["x", "y", "radius"])
    return [str(a) for a in lines["abnormality"]]


def map_held_out(
    run_dirs: Sequence[str | os.PathLike[str]],
    folds: Mapping[str, int],
    mias: MiasData,
    *,
    refine: int | None = None,
    progress: bool = False,
) -> tuple[list[LocalisationCase], dict[str, ScanPrediction]]:
    """Map every scan with the model of its own fold, which never saw its woman.

    Only the breast's bounding box, with a tile of context, is mapped (a MIAS film is mostly
    background; cells outside the tissue are 0 either way).

    Parameters
    ----------
    run_dirs
        One run folder per fold (fold ``k`` trained on every other fold).
    folds
        Fold of every scan to map (:func:`scan_folds`); scans not in it are not mapped.
    mias
        The database.
    refine
        Shift-and-stitch factor of the maps (None: the predictor's default).
    progress
        Show a progress bar per fold.

    Returns
    -------
    cases, predictions
        As :func:`mammo_lib.scan.localisation.mias_cases` returns them, over all folds.
    """
    cases: list[LocalisationCase] = []
    predictions: dict[str, ScanPrediction] = {}
    for k, run_dir in enumerate(run_dirs):
        refnums = [r for r, f in folds.items() if f == k]
        if not refnums:
            continue
        predictor = Predictor.from_run(Path(run_dir), refine=refine)
        c, p = mias_cases(
            predictor,
            mias,
            refnums,
            pixel_spacing_mm=PIXEL_SIZE_MM,
            crop_to_tissue=True,
            progress=progress,
        )
        cases += c
        predictions |= p
    return cases, predictions


def film_geometry(data: MiasScans) -> MapGeometry:
    """Where the cells of a whole-film detector's map lie on a MIAS film."""
    c = data.config
    return MapGeometry(
        stride=c.stride,
        tile=(c.stride, c.stride),
        scale=(1 / c.down, 1 / c.down),
        scan_shape=(IMAGE_SIZE, IMAGE_SIZE),
    )


def film_cases(data: MiasScans, maps: np.ndarray) -> list[LocalisationCase]:
    """The whole-film detector's maps as localisation cases, in the films' own orientation.

    Parameters
    ----------
    data
        The films (:func:`mammo_lib.dataset.mias_scans.ensure_mias_scans`).
    maps
        One map per film, row-aligned with ``data.meta``, in the prepared orientation
        (:func:`mammo_lib.train.scan_detector.train_scan_folds`).

    Returns
    -------
    list of LocalisationCase
        One per film, with its located lesions in the order :func:`lesion_classes` gives.
    """
    if len(maps) != len(data.meta):
        raise ValueError(f"{len(maps)} maps for {len(data.meta)} films")
    geometry = film_geometry(data)
    by_scan = data.lesions.groupby("scan_id")
    cases = []
    for i, scan_id in enumerate(data.meta["scan_id"]):
        own = by_scan.get_group(scan_id) if scan_id in by_scan.groups else data.lesions.iloc[:0]
        lesions = [Lesion.from_circle(r.row, r.col, r.radius) for r in own.itertuples()]
        prob_map = np.ascontiguousarray(data.to_scan(maps[i], i))
        tissue = np.ascontiguousarray(data.to_scan(data.tissue[i], i))
        cases.append(LocalisationCase(str(scan_id), prob_map, geometry, lesions, tissue))
    return cases


def film_prediction(
    case: LocalisationCase, mias: MiasData, threshold: float = 0.5
) -> ScanPrediction:
    """A film case as a :class:`ScanPrediction` (for the heatmap plots): the film read from
    disk, its map, the regions at or above `threshold`, its maximum as the score."""
    scan = read_scan(mias.path(case.scan_id))
    g = case.geometry
    return ScanPrediction(
        scan=scan,
        prob_map=case.prob_map,
        geometry=g,
        score=float(case.prob_map.max()),
        score_method="max",
        threshold=threshold,
        regions=find_regions(case.prob_map, threshold, g),
        pixel_spacing_mm=(PIXEL_SIZE_MM, PIXEL_SIZE_MM),
        pixel_spacing_source="mini-MIAS",
        resampled_shape=(round(IMAGE_SIZE * g.scale[0]), round(IMAGE_SIZE * g.scale[1])),
        tissue=case.tissue,
    )


def mean_maps(case_sets: Sequence[Sequence[LocalisationCase]]) -> list[LocalisationCase]:
    """The cell-wise mean of several models' maps of the same scans (a map ensemble).

    Parameters
    ----------
    case_sets
        One list of cases per model, each over the same scans in the same order, mapped on
        the same grid (as :func:`map_held_out` returns them for models of one architecture
        and tile size).

    Returns
    -------
    list of LocalisationCase
        The first set's cases with the mean probability map.
    """
    if not case_sets:
        raise ValueError("no maps to average")
    out = []
    for cases in zip(*case_sets, strict=True):
        first = cases[0]
        if any(c.scan_id != first.scan_id for c in cases):
            ids = sorted({c.scan_id for c in cases})
            raise ValueError(f"the map sets are not in one order: scans {ids} side by side")
        shapes = {c.prob_map.shape for c in cases}
        if len(shapes) > 1:
            raise ValueError(f"scan {first.scan_id}: maps of shapes {sorted(shapes)} differ")
        mean = np.mean([c.prob_map for c in cases], axis=0)
        out.append(dataclasses.replace(first, prob_map=mean))
    return out


@dataclass
class MapTables:
    """What :func:`map_tables` returns: the evaluated cases and their tables.

    Attributes
    ----------
    located
        The cases kept (scans with a located lesion, and normal scans).
    scores
        :func:`mammo_lib.scan.localisation.scan_scores` of them, with ``patient_id``.
    marks, lesions, scans
        :func:`mammo_lib.scan.froc.mark_tables` of them.
    froc
        :func:`mammo_lib.scan.froc.froc_points` at :data:`~mammo_lib.scan.froc.FP_RATES`
        for every lesion, each MIAS class and the masses
        (:data:`~mammo_lib.sources.mias.MASSES`), with intervals over women.
    """

    located: list[LocalisationCase]
    scores: pd.DataFrame
    marks: pd.DataFrame
    lesions: pd.DataFrame
    scans: pd.DataFrame
    froc: pd.DataFrame


def map_tables(
    cases: Sequence[LocalisationCase],
    mias: MiasData,
    images: pd.DataFrame,
    *,
    nms: int = 3,
    n_boot: int = 1000,
    seed: int = 0,
) -> MapTables:
    """Scan scores, marks and FROC points of mapped MIAS scans, by woman.

    Scans with a lesion that has no coordinates are left out (neither a located lesion nor
    a normal scan).

    Parameters
    ----------
    cases
        From :func:`map_held_out`.
    mias, images
        The database and the images mapped (``patient_id``, ``abnormal``).
    nms
        Marks' suppression window in cells (:func:`mammo_lib.scan.froc.map_marks`).
    n_boot, seed
        Bootstrap over women of the FROC points.
    """
    from mammo_lib.scan.froc import FP_RATES, froc_points, mark_tables
    from mammo_lib.scan.localisation import scan_scores

    patients = dict(zip(images.index, images["patient_id"], strict=True))
    classes = {c.scan_id: lesion_classes(mias, c.scan_id) for c in cases}
    located = [c for c in cases if c.lesions or not images.loc[c.scan_id, "abnormal"]]
    scores = scan_scores(located).assign(patient_id=lambda t: t["scan_id"].map(patients))
    marks, lesions, scans = mark_tables(located, patients, classes, nms=nms)
    froc = froc_points(
        marks,
        lesions,
        scans,
        FP_RATES,
        classes=[*LESION_CLASSES, MASSES],
        n_boot=n_boot,
        seed=seed,
    )
    return MapTables(located, scores, marks, lesions, scans, froc)
