"""Localisation on scans with known lesions: top-k hits and FROC-style operating points.

Marks. A probability map gives candidate marks in two ways:

- *peaks*: the map's local maxima (one per plateau), ranked by probability; the top ``k``
  peaks of a scan are its ``k`` most suspicious places, whatever the threshold;
- *regions*: the connected groups of cells at or above a threshold
  (:func:`mammo_lib.scan.regions.find_regions`), each marked at its most probable cell;
  these are what ``mammo predict`` reports.

Hits. A mark hits a lesion when its point (the centre of the marked cell, in scan pixels)
lies within ``tolerance`` scan pixels of the lesion: of its bounding box for a mask, of its
circle for a centre and radius (MIAS). The default tolerance is half the map's cell spacing,
the quantisation of the grid: a lesion between two cell centres is still hit by the nearer.

FROC. At each threshold: sensitivity = the fraction of lesions hit by at least one region
above it; false positives per scan = the regions that hit no lesion, averaged over all scans
(normal scans included).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import ndimage

from mammo_lib.imaging.read import read_scan
from mammo_lib.scan.fcn import DEFAULT_TOP_K, scan_score
from mammo_lib.scan.predictor import Predictor, ScanPrediction, predict_scan
from mammo_lib.scan.regions import MapGeometry, find_regions

if TYPE_CHECKING:
    from mammo_lib.sources.mias import MiasData
    from mammo_lib.sources.synthetic import SyntheticTree


@dataclass(frozen=True)
class Lesion:
    """A true lesion in scan pixel coordinates.

    Attributes
    ----------
    box
        ``(top, left, bottom, right)``, bottom/right exclusive; for a circle, its bounding box.
    centre
        ``(row, col)``.
    radius
        Circle radius in pixels (MIAS), None for a mask's box.
    """

    box: tuple[float, float, float, float]
    centre: tuple[float, float]
    radius: float | None = None

    @classmethod
    def from_box(cls, top: float, left: float, bottom: float, right: float) -> Lesion:
        """A lesion given by the bounding box of its mask."""
        return cls((top, left, bottom, right), ((top + bottom) / 2, (left + right) / 2))

    @classmethod
    def from_circle(cls, row: float, col: float, radius: float) -> Lesion:
        """A lesion given by its centre and radius (MIAS)."""
        r = float(radius)
        return cls((row - r, col - r, row + r, col + r), (float(row), float(col)), r)

    def distance(self, row: np.ndarray, col: np.ndarray) -> np.ndarray:
        """Distance in pixels from points to the lesion (0 inside)."""
        row, col = np.asarray(row, dtype=float), np.asarray(col, dtype=float)
        if self.radius is not None:
            d = np.hypot(row - self.centre[0], col - self.centre[1]) - self.radius
            return np.maximum(d, 0.0)
        top, left, bottom, right = self.box
        dr = np.maximum(np.maximum(top - row, row - (bottom - 1)), 0.0)
        dc = np.maximum(np.maximum(left - col, col - (right - 1)), 0.0)
        return np.hypot(dr, dc)


@dataclass
class LocalisationCase:
    """One scan's probability map, its geometry and its true lesions (none: a normal scan)."""

    scan_id: str
    prob_map: np.ndarray
    geometry: MapGeometry
    lesions: list[Lesion] = field(default_factory=list)
    tissue: np.ndarray | None = None

    @property
    def default_tolerance(self) -> float:
        """Half the map's cell spacing in scan pixels (the larger of the two axes)."""
        g = self.geometry
        return 0.5 * max(g.stride / g.scale[0], g.stride / g.scale[1])


def peaks(prob_map: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the local maxima of a map (8-neighbourhood, one per plateau), highest first.

    A cell is a maximum when no neighbour is higher and some neighbour is lower.

    Returns
    -------
    rows, cols, values : numpy.ndarray
        Cell indices and probabilities of the peaks.
    """
    values = np.asarray(prob_map, dtype=np.float64)
    is_max = values == ndimage.maximum_filter(values, size=3, mode="nearest")
    # a flat neighbourhood is no peak (an all-equal map has none)
    is_max &= values > ndimage.minimum_filter(values, size=3, mode="nearest")
    labels, n = ndimage.label(is_max, structure=np.ones((3, 3), dtype=bool))
    if n == 0:
        return np.array([], int), np.array([], int), np.array([], float)
    spots = ndimage.maximum_position(values, labels, index=np.arange(1, n + 1))
    rows = np.array([p[0] for p in spots], dtype=int)
    cols = np.array([p[1] for p in spots], dtype=int)
    vals = values[rows, cols]
    order = np.argsort(-vals, kind="stable")
    return rows[order], cols[order], vals[order]


def _hit_matrix(
    case: LocalisationCase, rows: np.ndarray, cols: np.ndarray, tolerance: float | None
) -> np.ndarray:
    """Boolean ``(n_marks, n_lesions)``: which mark (cell) hits which lesion."""
    tol = case.default_tolerance if tolerance is None else tolerance
    r, c = case.geometry.cell_centres(rows, cols)
    out = np.zeros((len(r), len(case.lesions)), dtype=bool)
    for j, lesion in enumerate(case.lesions):
        out[:, j] = lesion.distance(r, c) <= tol
    return out


def top_k_hits(
    cases: Sequence[LocalisationCase], ks: Sequence[int] = (1, 3, 5), tolerance: float | None = None
) -> pd.DataFrame:
    """Fraction of lesions hit by one of the top ``k`` peaks of their scan, for each ``k``.

    Returns
    -------
    pandas.DataFrame
        Columns ``k``, ``lesions_hit``, ``n_lesions``, ``fraction``.
    """
    counts = {int(k): 0 for k in ks}
    n_lesions = 0
    for case in cases:
        if not case.lesions:
            continue
        n_lesions += len(case.lesions)
        rows, cols, _ = peaks(case.prob_map)
        hits = _hit_matrix(case, rows, cols, tolerance)
        for k in counts:
            counts[k] += int(hits[:k].any(axis=0).sum())
    return pd.DataFrame(
        {
            "k": list(counts),
            "lesions_hit": list(counts.values()),
            "n_lesions": n_lesions,
            "fraction": [v / n_lesions if n_lesions else np.nan for v in counts.values()],
        }
    )


def froc(
    cases: Sequence[LocalisationCase],
    thresholds: Sequence[float],
    tolerance: float | None = None,
) -> pd.DataFrame:
    """Sensitivity and false positives per scan of the regions above each threshold.

    Parameters
    ----------
    cases
        Scans with their maps and lesions (normal scans: no lesions).
    thresholds
        Probability thresholds.
    tolerance
        Hit distance in scan pixels; None: each case's :attr:`~LocalisationCase.default_tolerance`.

    Returns
    -------
    pandas.DataFrame
        One row per threshold: ``threshold``, ``sensitivity``, ``fp_per_scan``,
        ``lesions_hit``, ``n_lesions``, ``false_positives``, ``n_regions``, ``n_scans``.
    """
    if not cases:
        raise ValueError("froc needs at least one scan")
    rows_out = []
    n_lesions = sum(len(c.lesions) for c in cases)
    for t in thresholds:
        hit_total = fp_total = region_total = 0
        for case in cases:
            regions = find_regions(case.prob_map, float(t), case.geometry)
            region_total += len(regions)
            if not regions:
                continue
            if case.lesions:
                points = np.array([r.peak for r in regions], dtype=float)
                hit = np.zeros((len(regions), len(case.lesions)), dtype=bool)
                tol = case.default_tolerance if tolerance is None else tolerance
                for j, lesion in enumerate(case.lesions):
                    hit[:, j] = lesion.distance(points[:, 0], points[:, 1]) <= tol
                hit_total += int(hit.any(axis=0).sum())
                fp_total += int((~hit.any(axis=1)).sum())
            else:
                fp_total += len(regions)
        rows_out.append(
            {
                "threshold": float(t),
                "sensitivity": hit_total / n_lesions if n_lesions else np.nan,
                "fp_per_scan": fp_total / len(cases),
                "lesions_hit": hit_total,
                "n_lesions": n_lesions,
                "false_positives": fp_total,
                "n_regions": region_total,
                "n_scans": len(cases),
            }
        )
    return pd.DataFrame(rows_out)


def scan_scores(cases: Sequence[LocalisationCase], k: int = DEFAULT_TOP_K) -> pd.DataFrame:
    """Scan-level scores of every case: the map's maximum and its top-``k`` mean.

    Returns
    -------
    pandas.DataFrame
        ``scan_id``, ``abnormal`` (has lesions), ``max``, ``topk`` - ready for a ROC AUC.
    """
    return pd.DataFrame(
        {
            "scan_id": [c.scan_id for c in cases],
            "abnormal": [bool(c.lesions) for c in cases],
            "max": [scan_score(c.prob_map, "max") for c in cases],
            "topk": [scan_score(c.prob_map, "topk", k) for c in cases],
        }
    )


def score_aucs(scores: pd.DataFrame, k: int = DEFAULT_TOP_K) -> pd.DataFrame:
    """ROC AUC of each scan-level score of :func:`scan_scores` for abnormal against normal scans.

    `k` is the one the scores were computed with (it names the top-``k`` row).

    Returns
    -------
    pandas.DataFrame
        ``score`` (``"max"``, ``"top-5 mean"``) and ``ROC AUC (abnormal vs normal scans)``,
        NaN when the scans are all of one kind.
    """
    from sklearn.metrics import roc_auc_score

    both = scores["abnormal"].nunique() == 2
    return pd.DataFrame(
        {
            "score": ["max", f"top-{k} mean"],
            "ROC AUC (abnormal vs normal scans)": [
                float(roc_auc_score(scores["abnormal"], scores[column])) if both else np.nan
                for column in ("max", "topk")
            ],
        }
    )


def _case_from_prediction(
    scan_id: str, prediction: ScanPrediction, lesions: list[Lesion]
) -> LocalisationCase:
    return LocalisationCase(
        scan_id, prediction.prob_map, prediction.geometry, lesions, prediction.tissue
    )


def map_synthetic_scans(
    predictor: Predictor,
    tree_root: str | os.PathLike[str] | SyntheticTree,
    *,
    max_scans: int | None = None,
    max_normals: int | None = None,
    method: Literal["fcn", "sliding"] = "fcn",
    progress: bool = False,
) -> tuple[list[LocalisationCase], dict[str, ScanPrediction]]:
    """Map the scans of a synthetic tree, with their true lesions (mask bounding boxes).

    Parameters
    ----------
    predictor
        The converted run.
    tree_root
        A tree from :func:`mammo_lib.sources.synthetic.ensure_synthetic_tree`, or a loaded
        tree (e.g. your own download's test scans from
        :func:`mammo_lib.dataset.user_data.scan_tree`).
    max_scans, max_normals
        Use only the first this many CBIS-style scans (abnormal) and DDSM-style normal views
        (None: all). Normal views are read as the dataset reads them
        (:func:`mammo_lib.sources.ddsm.read_view`: LJPEG through the digitizer's
        optical-density calibration).
    method
        ``"fcn"`` or ``"sliding"`` (see :func:`mammo_lib.scan.predictor.predict_scan`).
    progress
        Show a progress bar.

    Returns
    -------
    cases : list of LocalisationCase
        Abnormal scans first, then normal views; ``scan_id`` is the subject id or view file.
    predictions : dict
        The predictions by ``scan_id`` (for plotting).
    """
    from tqdm.auto import tqdm

    from mammo_lib.sources.ddsm import read_view
    from mammo_lib.sources.synthetic import SyntheticTree, load_tree

    tree = tree_root if isinstance(tree_root, SyntheticTree) else load_tree(tree_root)
    scans = tree.scans.head(max_scans) if max_scans is not None else tree.scans
    normals = tree.normals.head(max_normals) if max_normals is not None else tree.normals
    cases: list[LocalisationCase] = []
    predictions: dict[str, ScanPrediction] = {}
    bar = tqdm(total=len(scans) + len(normals), desc="mapping scans", disable=not progress)
    root = Path(tree.root)
    for row in scans.itertuples(index=False):
        path = Path(row.scan_path) if Path(row.scan_path).is_absolute() else root / row.scan_path
        prediction = predict_scan(predictor, read_scan(path), method=method)
        own = tree.lesions[tree.lesions["subject_id"] == row.subject_id]
        lesions = [
            Lesion.from_box(r.bbox_row0, r.bbox_col0, r.bbox_row1, r.bbox_col1)
            for r in own.itertuples(index=False)
        ]
        cases.append(_case_from_prediction(str(row.subject_id), prediction, lesions))
        predictions[str(row.subject_id)] = prediction
        bar.update()
    for row in normals.itertuples(index=False):
        path = Path(row.ljpeg_path)
        prediction = predict_scan(predictor, read_view(path, quiet_swap=True), method=method)
        cases.append(_case_from_prediction(path.name, prediction, []))
        predictions[path.name] = prediction
        bar.update()
    bar.close()
    return cases, predictions


def mias_cases(
    predictor: Predictor,
    mias: MiasData,
    refnums: Sequence[str],
    *,
    pixel_spacing_mm: float = 0.2,
    method: Literal["fcn", "sliding"] = "fcn",
    crop_to_tissue: bool = False,
    progress: bool = False,
) -> tuple[list[LocalisationCase], dict[str, ScanPrediction]]:
    """Map mini-MIAS scans; lesions are the annotated circles (lines without one are left out).

    Parameters
    ----------
    predictor
        The converted run.
    mias
        From :func:`mammo_lib.sources.mias.load_mias`.
    refnums
        Which images (e.g. ``"mdb028"``); normal images give cases without lesions.
    pixel_spacing_mm
        mini-MIAS pixel edge (0.2 mm).
    method
        ``"fcn"`` or ``"sliding"`` (see :func:`mammo_lib.scan.predictor.predict_scan`).
    crop_to_tissue
        Map only the breast's bounding box with a tile of context (as ``mammo predict``
        does; a MIAS film is mostly background): the tissue cells are the same, the
        unmasked ``raw_map`` is 0 outside the box.
    progress
        Show a progress bar.
    """
    from tqdm.auto import tqdm

    from mammo_lib.sources.mias import to_row_col

    cases: list[LocalisationCase] = []
    predictions: dict[str, ScanPrediction] = {}
    for refnum in tqdm(list(refnums), desc="mapping MIAS", disable=not progress):
        scan = read_scan(mias.path(refnum))
        prediction = predict_scan(
            predictor,
            scan,
            pixel_spacing_mm=pixel_spacing_mm,
            method=method,
            crop_to_tissue=crop_to_tissue,
        )
        lesions = []
        for line in mias.lines(refnum).itertuples(index=False):
            if np.isnan(line.x) or np.isnan(line.y) or np.isnan(line.radius):
                continue
            row, col = to_row_col(line.x, line.y, scan.image.shape[0])
            lesions.append(Lesion.from_circle(row, col, line.radius))
        cases.append(_case_from_prediction(refnum, prediction, lesions))
        predictions[refnum] = prediction
    return cases, predictions


def chance_hit_fraction(cases: Sequence[LocalisationCase], tolerance: float | None = None) -> float:
    """Expected fraction of lesions hit by one map cell drawn at random from its scan's map.

    The baseline for the top-1 hit fraction: a map that knows nothing hits a lesion with the
    probability that a random cell lies within the tolerance of it. Averaged over lesions.
    When a case carries a tissue mask, the cell is drawn from the breast's cells only.
    """
    rates = [r for case in cases if case.lesions for r in _chance_rates(case, tolerance)]
    return float(np.mean(rates)) if rates else float("nan")


def _chance_rates(case: LocalisationCase, tolerance: float | None) -> np.ndarray:
    """Per lesion of `case`: the chance that a random (tissue) cell of its map hits it."""
    if case.tissue is not None and case.tissue.any():
        rows, cols = np.nonzero(case.tissue)
    else:
        rows, cols = (a.ravel() for a in np.indices(case.prob_map.shape))
    return _hit_matrix(case, rows, cols, tolerance).mean(axis=0)


def top1_hit_table(
    cases: Sequence[LocalisationCase],
    groups: Mapping[str, str] | None = None,
    tolerance: float | None = None,
) -> pd.DataFrame:
    """One row per lesion: whether its scan's highest peak hits it, and the chance that a
    random cell of the scan's map (its tissue, when masked) does.

    The means of ``hit`` and ``chance`` are the top-1 hit fraction of :func:`top_k_hits`
    and :func:`chance_hit_fraction`; ``group`` (scan id -> group via `groups`, e.g. a MIAS
    film's woman; default: the scan) is what a bootstrap of their difference resamples.

    Returns
    -------
    pandas.DataFrame
        Columns ``scan_id``, ``group``, ``hit`` (0 or 1), ``chance``.
    """
    rows_out = []
    for case in cases:
        if not case.lesions:
            continue
        rows, cols, _ = peaks(case.prob_map)
        top = _hit_matrix(case, rows[:1], cols[:1], tolerance).any(axis=0)
        group = case.scan_id if groups is None else groups[case.scan_id]
        for hit, chance in zip(top, _chance_rates(case, tolerance), strict=True):
            rows_out.append(
                {"scan_id": case.scan_id, "group": group, "hit": float(hit), "chance": chance}
            )
    return pd.DataFrame(rows_out, columns=["scan_id", "group", "hit", "chance"])
