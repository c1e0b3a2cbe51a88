"""The real-MIAS chapter's pieces: folds by woman, the matched test, the FROC sweep, and fold
training through the shared trainer."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mammo_lib.dataset.splits import patient_folds
from mammo_lib.evaluate.matched import matched_negatives, matched_rows
from mammo_lib.evaluate.metrics import roc_auc
from mammo_lib.scan.froc import froc_curve, froc_points, map_marks, mark_tables
from mammo_lib.scan.localisation import Lesion, LocalisationCase
from mammo_lib.scan.regions import MapGeometry


def test_folds_never_split_a_woman() -> None:
    from mammo_lib.sources.mias import load_mias

    images = load_mias().images
    assert images.loc["mdb001", "patient_id"] == images.loc["mdb002", "patient_id"] == "MIAS_001"
    assert images.loc["mdb003", "patient_id"] != images.loc["mdb002", "patient_id"]
    # several tile rows per scan, as the tile set has
    rows = images.loc[images.index.repeat(3)]
    labels = rows["abnormal"].astype(int).to_numpy()
    folds = patient_folds(labels, rows["patient_id"].to_numpy(), n_splits=5, seed=0)
    per_woman = pd.Series(folds).groupby(rows["patient_id"].to_numpy()).nunique()
    assert (per_woman == 1).all() and len(per_woman) == 161
    assert set(folds) == set(range(5))


def test_matched_negatives_make_statistics_near_chance() -> None:
    rng = np.random.default_rng(0)
    # the statistic separates: abnormal tiles are brighter on average
    neg = rng.normal(0.0, 1.0, size=(3000, 2))
    pos = rng.normal(1.0, 1.0, size=(300, 2))
    x = np.vstack([neg, pos])
    y = np.r_[np.zeros(3000, int), np.ones(300, int)]
    score = x.sum(axis=1)  # a classifier on the statistics alone
    assert roc_auc(y, score) > 0.8
    pick = matched_rows(x, y)
    assert len(pick) == 600 and y[pick].sum() == 300
    assert abs(roc_auc(y[pick], score[pick]) - 0.5) < 0.05
    assert (y[matched_negatives(x, y)] == 0).all()
    with pytest.raises(ValueError, match="both positive and negative"):
        matched_negatives(x[:10], np.zeros(10))


def _case(scan_id: str, prob: np.ndarray, lesions: list[Lesion]) -> LocalisationCase:
    # stride 10, tile 10, scale 1: cell (i, j) is centred at scan pixel (10 i + 5, 10 j + 5)
    geometry = MapGeometry(stride=10, tile=(10, 10), scale=(1.0, 1.0), scan_shape=(60, 60))
    return LocalisationCase(scan_id, prob, geometry, lesions)


def test_map_marks_suppress_neighbours() -> None:
    prob = np.zeros((6, 6))
    prob[1, 1], prob[1, 2], prob[4, 4] = 0.9, 0.8, 0.3  # (1, 2) lies next to a higher peak
    rows, cols, scores = map_marks(prob, nms=3)
    assert list(zip(rows, cols, strict=True)) == [(1, 1), (4, 4)]
    np.testing.assert_allclose(scores, [0.9, 0.3])
    rows, _, _ = map_marks(prob, nms=1)
    assert len(rows) == 3


def test_froc_hand_worked() -> None:
    # Scan A: a lesion of radius 12 centred at (15, 15); marks 0.9 at cell (1, 1) (centre
    # (15, 15): a hit), 0.6 at cell (4, 4) (centre (45, 45): a false positive).
    # Scan B (normal): marks 0.7 at (1, 4) and 0.2 at (4, 1): both false positives.
    # Scan C: a lesion of radius 3 at (45, 15); its only mark, 0.4 at cell (4, 1) centred at
    # (45, 15), hits; half a cell (5 px) is the reach of so small a lesion.
    a = np.zeros((6, 6))
    a[1, 1], a[4, 4] = 0.9, 0.6
    b = np.zeros((6, 6))
    b[1, 4], b[4, 1] = 0.7, 0.2
    c = np.zeros((6, 6))
    c[4, 1] = 0.4
    cases = [
        _case("A", a, [Lesion.from_circle(15, 15, 12)]),
        _case("B", b, []),
        _case("C", c, [Lesion.from_circle(45, 19, 3)]),  # 4 px from the mark: within 5
    ]
    patients = {"A": "w1", "B": "w2", "C": "w3"}
    marks, lesions, scans = mark_tables(cases, patients, {"A": ["CIRC"], "C": ["CALC"]})
    assert list(marks["lesion"]) == [0, -1, -1, -1, 1]
    np.testing.assert_allclose(lesions["best_score"], [0.9, 0.4])
    # FP scores sorted: 0.7 (B), 0.6 (A), 0.2 (B); 3 scans.
    # f = 0.25 (0.75 FP allowed): threshold above 0.6 admits 1 FP (0.7) -> only A's hit: 1/2
    # f = 0.5 (1.5 allowed): same threshold -> 1/2
    # f = 1 (3 allowed): every mark -> 2/2
    table = froc_points(marks, lesions, scans, fp_rates=(0.25, 0.5, 1.0), classes=["CALC"])
    got = table.set_index(["abnormality", "fp_per_scan"])["sensitivity"]
    assert got[("all", 0.25)] == 0.5 and got[("all", 0.5)] == 0.5 and got[("all", 1.0)] == 1.0
    assert got[("CALC", 0.5)] == 0.0 and got[("CALC", 1.0)] == 1.0
    curve = froc_curve(marks, lesions, n_scans=3)
    assert curve["sensitivity"].is_monotonic_increasing
    assert curve["fp_per_scan"].is_monotonic_increasing
    # a wider lesion radius does not move the hit; a mark outside every lesion never hits
    far = _case("D", a, [Lesion.from_circle(55, 55, 1)])
    m2, l2, _ = mark_tables([far], {"D": "w4"})
    assert (m2["lesion"] < 0).all() and l2["best_score"].iloc[0] == -np.inf


def test_froc_bootstrap_brackets_estimate() -> None:
    rng = np.random.default_rng(1)
    cases, patients = [], {}
    for i in range(30):
        prob = rng.uniform(0, 0.5, size=(6, 6))
        lesions = []
        if i % 2 == 0:
            prob[2, 2] = 0.95
            lesions = [Lesion.from_circle(25, 25, 8)]
        cases.append(_case(f"s{i}", prob, lesions))
        patients[f"s{i}"] = f"w{i // 2}"
    marks, lesions, scans = mark_tables(cases, patients)
    table = froc_points(marks, lesions, scans, n_boot=200, seed=0)
    assert (table["low"] <= table["sensitivity"] + 1e-12).all()
    assert (table["sensitivity"] <= table["high"] + 1e-12).all()
    assert table["sensitivity"].is_monotonic_increasing


@pytest.mark.slow
def test_fold_training_goes_through_the_shared_trainer() -> None:
    from mammo_lib.dataset.mias_tiles import MiasTileConfig, ensure_mias_tiles
    from mammo_lib.train import load_model, load_run
    from mammo_lib.train.layers import InputScaling, RandomDihedral
    from mammo_lib.train.losses import WeightedCrossEntropy
    from mammo_lib.train.mias_detector import MiasRecipe, train_on_rows

    data = ensure_mias_tiles(MiasTileConfig(out_size=32, n_images=24, n_crops=2))
    recipe = MiasRecipe(tiles=data.config, epochs=1, width=0.125, fc_units=(16, 16))
    rows = np.arange(len(data.meta))
    run_dir = train_on_rows(data, rows, recipe)
    run = load_run(run_dir)
    assert run.status == "finished" and run.config.records is not None
    assert run.config.pos_weight == recipe.pos_weight and (run_dir / "log.csv").is_file()
    meta = json.loads((run_dir / "config.json").read_text())
    assert meta["pixel_spacing_mm"] == pytest.approx(0.2 * data.config.crop_size / 32)
    model = load_model(run_dir / "last.keras", compile=True)
    assert isinstance(model.loss, WeightedCrossEntropy) and model.loss.pos_weight == 4.0
    kinds = {type(layer) for layer in model.layers}
    assert InputScaling in kinds and RandomDihedral in kinds
    # the same rows give the same run folder (content-keyed), other rows another
    assert train_on_rows(data, rows, recipe) == run_dir
    assert train_on_rows(data, rows[: len(rows) - 5], recipe) != run_dir
    # test-time averaging over the eight flips and turns: the mean of the views' scores
    from mammo_lib.train.mias_detector import dihedral_views, tile_probability

    tiles = data.tiles[:6]
    views = [tile_probability(run_dir, np.ascontiguousarray(v)) for v in dihedral_views(tiles)]
    averaged = tile_probability(run_dir, tiles, tta=True)
    assert np.allclose(averaged, np.mean(views, axis=0), atol=1e-6)
    assert np.allclose(views[0], tile_probability(run_dir, tiles), atol=1e-6)


@pytest.mark.slow
def test_a_fold_ensemble_scores_the_mean_of_its_members() -> None:
    """``ensemble=2``: each fold trains two seeds on its own training women only; a tile's
    out-of-fold probability is the mean of the two single-model cross-validations."""
    import dataclasses

    from mammo_lib.dataset.mias_tiles import MiasTileConfig, ensure_mias_tiles
    from mammo_lib.evaluate.mias_cv import cross_validate_mias
    from mammo_lib.train.mias_detector import MiasRecipe

    data = ensure_mias_tiles(MiasTileConfig(out_size=32, n_images=24, n_crops=2))
    single = MiasRecipe(tiles=data.config, epochs=1, width=0.125, fc_units=(16, 16))
    recipe = dataclasses.replace(single, ensemble=2)
    assert recipe.members() == [single, dataclasses.replace(single, seed=1)]
    both = cross_validate_mias(data, n_splits=2, recipe=recipe, progress=False)
    alone = [
        cross_validate_mias(data, n_splits=2, recipe=m, progress=False) for m in recipe.members()
    ]
    assert (both["n_models"] == 2).all() and (alone[0]["n_models"] == 1).all()
    mean = (alone[0]["probability"] + alone[1]["probability"]) / 2
    assert np.allclose(both["probability"], mean, atol=1e-6)
    assert not np.allclose(alone[0]["probability"], alone[1]["probability"])
    assert (both["run"] == alone[0]["run"]).all()  # the maps use the first member
    # every member of a fold was trained without that fold's women
    for run in both["run"].unique():
        fold = both.loc[both["run"] == run, "fold"].iloc[0]
        assert set(both.loc[both["run"] == run, "fold"]) == {fold}
    with pytest.raises(ValueError, match="ensemble"):
        MiasRecipe(ensemble=0)


def test_dihedral_views_are_the_eight_symmetries_of_a_square() -> None:
    from mammo_lib.train.mias_detector import dihedral_views

    x = np.arange(2 * 4 * 4).reshape(2, 4, 4)
    views = dihedral_views(x)
    assert len(views) == 8 and (views[0] == x).all()
    assert len({v.tobytes() for v in views}) == 8
    assert any((v == x[:, ::-1, :]).all() for v in views)  # up-down flip
    assert any((v == x.transpose(0, 2, 1)).all() for v in views)  # transpose


@pytest.mark.parametrize("profile", ["ci", "quick", "paper"])
def test_the_recipe_is_read_from_chapter_09s_parameters(profile: str) -> None:
    from mammo_lib.config import load_profile
    from mammo_lib.train.mias_detector import MiasRecipe

    params = load_profile(profile)["09_real_mias"]
    recipe = MiasRecipe.from_parameters(params)
    assert recipe.tiles.crop_size == params["mias_crop"]
    assert recipe.tiles.out_size == params["mias_tile_size"]
    assert recipe.tiles.n_crops == params["mias_crops"]
    assert recipe.tiles.n_images == params["mias_images"]
    assert recipe.epochs == params["mias_epochs"] and recipe.width == params["mias_width"]
    assert recipe.fc_units == tuple(params["mias_fc_units"])
    assert recipe.val_fraction == params["mias_val_fraction"]
    assert recipe.ensemble == params.get("mias_ensemble", 1)
    assert MiasRecipe.from_parameters({}) == MiasRecipe()
