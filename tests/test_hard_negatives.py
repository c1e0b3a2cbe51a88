"""Hard negatives mined from a fold model's own maps of its training scans."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mammo_lib.dataset.mias_tiles import MiasTileConfig, MiasTiles
from mammo_lib.scan.hard_negatives import HardNegatives, lesion_free, with_new_windows


def test_a_window_is_lesion_free_only_clear_of_every_circle_and_margin() -> None:
    circles = [(100.0, 100.0, 10.0)]  # reach with margin 5: rows/cols 85..115
    assert lesion_free((0, 0, 50, 50), circles, margin=5)
    assert lesion_free((0, 0, 85, 85), circles, margin=5)  # ends just before row/col 85
    assert not lesion_free((0, 0, 86, 86), circles, margin=5)  # touches the grown box
    assert not lesion_free((90, 90, 110, 110), circles, margin=0)  # on the lesion
    assert lesion_free((0, 0, 86, 86), circles, margin=0)  # no margin: clear
    assert lesion_free((0, 0, 10, 10), [], margin=50)  # a normal scan: any window


def test_hard_negatives_check_their_settings() -> None:
    with pytest.raises(ValueError, match="per_scan"):
        HardNegatives(per_scan=-1)
    with pytest.raises(ValueError, match="epochs"):
        HardNegatives(epochs=0)
    with pytest.raises(ValueError, match="rounds"):
        HardNegatives(rounds=0)
    assert HardNegatives(per_scan=2).to_dict() == {
        "hard_negatives": {
            "per_scan": 2,
            "epochs": 4,
            "nms": 3,
            "refine": 1,
            "margin": None,
            "rounds": 1,
        }
    }


def _mined(windows: list[tuple[str, int, int]], fill: int) -> MiasTiles:
    """Mined-like tiles of 4x4 px, one per ``(scan, row0, col0)`` window of side 10."""
    meta = pd.DataFrame(
        [
            dict(scan_id=s, row0=r, col0=c, row1=r + 10, col1=c + 10, kind="hard-negative")
            | dict(abnormality_id="", abnormality="", keep_reason="kept")
            for s, r, c in windows
        ]
    )
    tiles = np.full((len(windows), 4, 4), fill, np.uint8)
    return MiasTiles(tiles, meta, pd.DataFrame(), MiasTileConfig(out_size=4), None)


def test_a_later_round_adds_only_windows_not_mined_before() -> None:
    first = _mined([("mdb001", 0, 0), ("mdb001", 20, 0)], fill=1)
    later = _mined([("mdb001", 20, 0), ("mdb002", 0, 0), ("mdb001", 0, 5)], fill=2)
    pool = with_new_windows(first, later)
    boxes = list(pool.meta[["scan_id", "row0", "col0"]].itertuples(index=False, name=None))
    assert boxes == [("mdb001", 0, 0), ("mdb001", 20, 0), ("mdb002", 0, 0), ("mdb001", 0, 5)]
    assert pool.tiles[:, 0, 0].tolist() == [1, 1, 2, 2]  # the repeated window kept once
    assert with_new_windows(pool, later) is pool  # nothing new: the pool itself
    empty = _mined([], fill=0)
    assert with_new_windows(empty, first).tiles.tolist() == first.tiles.tolist()


@pytest.mark.slow
def test_hard_negatives_come_from_training_scans_away_from_lesions() -> None:
    """Two folds of 24 real MIAS scans: each fold's second round adds windows of its own
    training scans only, none near a lesion, and continues from the first round."""
    from mammo_lib.dataset.mias_tiles import MiasTileConfig, ensure_mias_tiles
    from mammo_lib.evaluate.mias_cv import cross_validate_mias, mias_folds
    from mammo_lib.imaging.intensity import resize
    from mammo_lib.imaging.read import read_scan
    from mammo_lib.scan.hard_negatives import KIND, mine_hard_negatives
    from mammo_lib.sources.mias import load_mias, to_row_col
    from mammo_lib.train import load_run
    from mammo_lib.train.mias_detector import MiasRecipe, dihedral_views, train_on_rows

    data = ensure_mias_tiles(MiasTileConfig(out_size=32, n_images=24, n_crops=2))
    recipe = MiasRecipe(tiles=data.config, epochs=1, width=0.125, fc_units=(16, 16))
    how = HardNegatives(per_scan=2, epochs=1)
    folds = mias_folds(data, 2, 0)
    mias = load_mias()
    train = folds != 0
    first = train_on_rows(data, train, recipe)
    scans = list(dict.fromkeys(data.meta.loc[train, "scan_id"]))
    mined = mine_hard_negatives(first, mias, scans, data, how)
    assert len(mined.meta) == len(mined.tiles) > 0
    assert set(mined.meta["kind"]) == {KIND} and (mined.meta["label_binary"] == 0).all()
    assert set(mined.meta["scan_id"]) <= set(scans)  # training scans only
    assert not set(mined.meta["scan_id"]) & set(data.meta.loc[~train, "scan_id"])
    assert mined.meta.groupby("scan_id").size().max() <= how.per_scan
    assert mined.meta.groupby("scan_id")["score"].apply(lambda s: s.is_monotonic_decreasing).all()
    for row, tile in zip(mined.meta.itertuples(), mined.tiles, strict=True):
        image = read_scan(mias.path(row.scan_id)).image
        lines = mias.lines(row.scan_id)
        circles = [
            (*to_row_col(x, y, image.shape[0]), r)
            for x, y, r in lines[["x", "y", "radius"]].itertuples(index=False)
        ]
        box = (row.row0, row.col0, row.row1, row.col1)
        assert box[2] - box[0] == data.config.crop_size
        assert lesion_free(box, circles, data.config.margin)
        # cut and resized like every negative, then flipped or turned
        plain = resize(image[box[0] : box[2], box[1] : box[3]], data.config.out_size)
        assert any(np.array_equal(tile, v[0]) for v in dihedral_views(plain[None]))
    # the whole two-round cross-validation: second-round runs continue from the first
    pred = cross_validate_mias(data, n_splits=2, recipe=recipe, trainer=how, progress=False)
    assert pred["probability"].between(0, 1).all() and len(pred) == len(data.meta)
    second = load_run(pred.loc[pred["fold"] == 0, "run"].iloc[0])
    assert second.config.init_from == str(first) and second.config.epochs == 1
    assert second.config.records != load_run(first).config.records  # more tiles
    # the control (no hard negatives): mines nothing, and its second round continues from
    # the first on the fold's own tiles only
    control = HardNegatives(per_scan=0, epochs=1)
    nothing = mine_hard_negatives(first, mias, scans, data, control)
    assert len(nothing.meta) == len(nothing.tiles) == 0
    again = load_run(control.second_round(data, train, nothing, recipe, first))
    assert again.config.init_from == str(first)
    assert again.config.records == load_run(first).config.records
    # a second mining round maps with the first mining round's model and continues from it,
    # on a pool at least as large
    twice = HardNegatives(per_scan=2, epochs=1, rounds=2)
    third = load_run(twice.train(data, train, recipe, mias=mias))
    second_fold0 = how.train(data, train, recipe, mias=mias)
    assert third.config.init_from == str(second_fold0)
    assert third.config.records > load_run(second_fold0).config.records
