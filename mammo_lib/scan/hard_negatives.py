"""Hard negatives: the false positives of a model's own whole-scan maps, as new training tiles.

A tile classifier trained on random lesion-free windows rarely sees the few places of a
breast that look most like a lesion (the pectoral muscle's edge, dense glandular knots, the
skin line), and its maps flag exactly those. Hard-negative mining trains in two rounds:

1. train the fold's model as usual (:func:`mammo_lib.train.mias_detector.train_on_rows`);
2. map every *training* scan of the fold with it, take the highest marks of each map
   (:func:`mammo_lib.scan.froc.map_marks`) whose window stays ``margin`` pixels clear of
   every annotated lesion, cut those windows the way every negative tile is cut (the same
   crop, resize and random flip or quarter turn), and train again on the fold's tiles plus
   these, either from scratch or starting from the first round's convolutional layers
   (its ``last.keras``, as every ``init_from`` run does; the head starts fresh).

With ``rounds`` above 1 the mining repeats (bootstrapping, as in Sung and Poggio's face
detector): round k+1 maps the training scans with round k's model, adds the new windows to
those mined before (a window already taken is not taken twice) and trains from round k's
convolutional layers on the fold's tiles plus the whole pool.

Only training women's scans are mapped, so the held-out fold stays unseen by every round.
Scans with a lesion that has no coordinates give no hard negative (it could lie anywhere).

>>> from mammo_lib.scan.hard_negatives import HardNegatives
>>> trainer = HardNegatives(per_scan=4, epochs=4)  # pass as cross_validate_mias(trainer=...)
>>> # or train one model in both rounds: trainer.train(data, rows, recipe)
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from mammo_lib.dataset.mias_tiles import MiasTiles
from mammo_lib.extract.common import boxes_overlap, cut, scan_rng, window
from mammo_lib.extract.normals import keep_rule, tile_stats
from mammo_lib.imaging.intensity import random_flip_rot, resize
from mammo_lib.imaging.read import read_scan
from mammo_lib.scan.froc import map_marks
from mammo_lib.scan.predictor import Predictor, predict_scan
from mammo_lib.sources.mias import PIXEL_SIZE_MM, MiasData, load_mias, to_row_col
from mammo_lib.train.mias_detector import MiasRecipe, row_indices, train_on_rows

#: ``kind`` of a mined tile in the tile table.
KIND = "hard-negative"


@dataclass(frozen=True)
class HardNegatives:
    """Two-round fold training with hard negatives (see the module docstring).

    Parameters
    ----------
    per_scan
        Mined windows per training scan at most (its highest marks clear of lesions). 0 is
        the control: the second round trains on the fold's own tiles only, so that what the
        extra epochs give alone can be told from what the hard negatives add.
    epochs
        Epochs of the second round; None: the recipe's, from scratch. A number starts from
        the first round's convolutional layers and trains that many epochs.
    nms
        Side in map cells of the marks' non-maximum suppression.
    refine
        Shift-and-stitch factor of the mining maps (1: one pass, the cheapest).
    margin
        MIAS pixels around a lesion's circle that a mined window may not touch (None: the
        tile set's ``margin``).
    rounds
        Mining rounds after the first training (1: the two-round scheme; see the module).
    """

    per_scan: int = 4
    epochs: int | None = 4
    nms: int = 3
    refine: int = 1
    margin: int | None = None
    rounds: int = 1

    def __post_init__(self) -> None:
        if self.per_scan < 0:
            raise ValueError(f"per_scan must be 0 (the control) or more, got {self.per_scan}")
        if self.epochs is not None and self.epochs < 1:
            raise ValueError(f"epochs must be at least 1 or None, got {self.epochs}")
        if self.rounds < 1:
            raise ValueError(f"rounds must be at least 1, got {self.rounds}")

    def __call__(
        self,
        data: MiasTiles,
        folds: np.ndarray,
        recipe: MiasRecipe,
        *,
        init_from: str | os.PathLike[str] | None = None,
        progress: bool = True,
    ) -> list[Path]:
        """Train every fold's rounds; return the last round's run folders.

        The signature of :func:`mammo_lib.train.mias_detector.train_folds`, so that
        :func:`mammo_lib.evaluate.mias_cv.cross_validate_mias` takes it as its ``trainer``.
        """
        mias = load_mias()
        folds = np.asarray(folds)
        n_folds = int(folds.max()) + 1
        return [
            self.train(data, folds != k, recipe, init_from=init_from, mias=mias)
            for k in tqdm(
                range(n_folds), desc=f"MIAS folds, {1 + self.rounds} rounds", disable=not progress
            )
        ]

    def train(
        self,
        data: MiasTiles,
        rows: np.ndarray,
        recipe: MiasRecipe,
        *,
        init_from: str | os.PathLike[str] | None = None,
        mias: MiasData | None = None,
    ) -> Path:
        """Every round on the tiles `rows` (a mask or indices), mining the scans of those
        rows; return the last round's run folder (each round cached by content)."""
        rows = row_indices(rows)
        mias = load_mias() if mias is None else mias
        latest = train_on_rows(data, rows, recipe, init_from=init_from)
        scans = pd.unique(data.meta["scan_id"].to_numpy()[rows])
        pool = no_tiles(data)
        for _ in range(self.rounds):
            mined = mine_hard_negatives(latest, mias, scans, data, self)
            pool = with_new_windows(pool, mined)
            latest = self.second_round(data, rows, pool, recipe, latest)
        return latest

    def second_round(
        self,
        data: MiasTiles,
        train: np.ndarray,
        mined: MiasTiles,
        recipe: MiasRecipe,
        first: Path,
    ) -> Path:
        """Train on the rows `train` (a mask or indices) of `data` plus every mined tile,
        from the convolutional layers of `first` (the round before); return the run folder."""
        both = with_tiles(data, mined)
        own = row_indices(train)
        rows = np.concatenate([own, len(data.meta) + np.arange(len(mined.meta))])
        if self.epochs is None:
            return train_on_rows(both, rows, recipe)
        again = dataclasses.replace(recipe, epochs=self.epochs)
        return train_on_rows(both, rows, again, init_from=first)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready values (the CV cache key)."""
        return {"hard_negatives": dataclasses.asdict(self)}


def no_tiles(data: MiasTiles) -> MiasTiles:
    """An empty tile set shaped like `data` (what the control round adds)."""
    return MiasTiles(
        data.tiles[:0], data.meta.iloc[:0], data.skipped.iloc[:0], data.config, data.folder
    )


def with_tiles(data: MiasTiles, extra: MiasTiles) -> MiasTiles:
    """`data` with the tiles and rows of `extra` appended (same tile size)."""
    if extra.tiles.shape[1:] != data.tiles.shape[1:]:
        raise ValueError(f"tiles of {extra.tiles.shape[1:]} cannot join {data.tiles.shape[1:]}")
    meta = pd.concat([data.meta, extra.meta], ignore_index=True)
    for column in ("abnormality_id", "abnormality", "keep_reason"):
        meta[column] = meta[column].fillna("")
    tiles = np.concatenate([data.tiles, extra.tiles])
    return MiasTiles(tiles, meta, data.skipped, data.config, data.folder)


def with_new_windows(pool: MiasTiles, mined: MiasTiles) -> MiasTiles:
    """`pool` with the tiles of `mined` whose window (scan and box) it does not hold yet."""
    if not len(mined.meta):
        return pool
    if not len(pool.meta):
        return mined
    key = ["scan_id", "row0", "col0", "row1", "col1"]
    held = set(pool.meta[key].itertuples(index=False, name=None))
    new = np.array([k not in held for k in mined.meta[key].itertuples(index=False, name=None)])
    if not new.any():
        return pool
    kept = MiasTiles(mined.tiles[new], mined.meta[new], mined.skipped, mined.config, mined.folder)
    return with_tiles(pool, kept)


def lesion_free(box: tuple[int, int, int, int], circles: list[tuple], margin: int) -> bool:
    """Whether a window stays `margin` pixels clear of every lesion circle's bounding box.

    Parameters
    ----------
    box
        ``(row0, col0, row1, col1)`` window in scan pixels.
    circles
        ``(row, col, radius)`` per lesion, scan pixels.
    margin
        Clearance in pixels.
    """
    for row, col, radius in circles:
        reach = radius + margin
        grown = (row - reach, col - reach, row + reach + 1, col + reach + 1)
        if boxes_overlap(box, grown):
            return False
    return True


def mine_hard_negatives(
    run_dir: str | os.PathLike[str],
    mias: MiasData,
    refnums,
    data: MiasTiles,
    how: HardNegatives = HardNegatives(),
    *,
    progress: bool = False,
) -> MiasTiles:
    """Cut the windows of a model's highest lesion-free marks on `refnums` (see the module).

    Parameters
    ----------
    run_dir
        The first round's run folder (a MIAS detector run, with ``predict.json``).
    mias
        The database.
    refnums
        Scans to mine (the fold's training scans).
    data
        The tile set: its configuration sets the window, tile size and margin, its table
        the women of the scans.
    how
        Marks per scan, suppression, map refinement, margin.
    progress
        Show a progress bar.

    Returns
    -------
    MiasTiles
        The mined tiles; their rows are those of ``data.meta`` with ``kind`` ``"hard-negative"``,
        label 0, ``crop_index`` the mark's rank, ``score`` the mark's probability and
        ``keep_reason`` what the keep-rule says of the window (mined windows are not filtered
        by it: maps cover every tissue cell).
    """
    if how.per_scan == 0:
        return no_tiles(data)
    c = data.config
    margin = c.margin if how.margin is None else how.margin
    predictor = Predictor.from_run(run_dir, refine=how.refine)
    rule = keep_rule("MIAS")
    women = data.meta.drop_duplicates("scan_id").set_index("scan_id")["patient_id"]
    tiles: list[np.ndarray] = []
    rows: list[dict] = []
    for refnum in tqdm(list(refnums), desc="mining", disable=not progress):
        lines = mias.lines(refnum)
        if lines[["x", "y", "radius"]].isna().any(axis=None) and len(lines):
            continue  # an unlocated lesion could lie under any window
        scan = read_scan(mias.path(refnum))
        image = scan.image
        circles = [
            (*to_row_col(x, y, image.shape[0]), r)
            for x, y, r in lines[["x", "y", "radius"]].itertuples(index=False)
        ]
        prediction = predict_scan(
            predictor, scan, pixel_spacing_mm=PIXEL_SIZE_MM, crop_to_tissue=True
        )
        mark_rows, mark_cols, scores = map_marks(prediction.prob_map, how.nms)
        centres = prediction.geometry.cell_centres(mark_rows, mark_cols)
        rng = scan_rng(c.seed, "mias-hard-negatives", refnum)
        taken = 0
        for r, col, score in zip(*centres, scores, strict=True):
            box = window((r, col), (c.crop_size, c.crop_size), image.shape)
            if not lesion_free(box, circles, margin):
                continue
            tiles.append(random_flip_rot(resize(cut(image, box), c.out_size), rng))
            rows.append(
                dict(
                    scan_id=refnum,
                    patient_id=women.get(refnum, ""),
                    abnormality_id="",
                    abnormality="",
                    source="mias",
                    kind=KIND,
                    label=0,
                    label_binary=0,
                    crop_index=taken,
                    row0=box[0],
                    col0=box[1],
                    row1=box[2],
                    col1=box[3],
                    keep_reason=tile_stats(cut(image, box), rule).reason,
                    score=float(score),
                )
            )
            taken += 1
            if taken == how.per_scan:
                break
    shape = (0, c.out_size, c.out_size)
    stacked = np.stack(tiles).astype(np.uint8) if tiles else np.zeros(shape, np.uint8)
    meta = pd.DataFrame(rows, columns=[*data.meta.columns, "score"] if not rows else None)
    return MiasTiles(stacked, meta, data.skipped.iloc[:0], c, data.folder)
