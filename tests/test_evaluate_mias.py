"""MIAS tiles and the patient-level cross-validation, on the real mini-MIAS."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mammo_lib.dataset.labels import mias_label
from mammo_lib.dataset import mias_tiles as mt
from mammo_lib.evaluate.mias_cv import cross_validate_mias, patient_folds
from mammo_lib.dataset.mias_tiles import MiasTileConfig, ensure_mias_tiles, extract_mias_tiles
from mammo_lib.extract.common import boxes_overlap
from mammo_lib.sources.mias import MiasData, load_mias

#: Patients 1-10 (mdb001-mdb020, with mdb005's two lesions), patient 30 (mdb059 has a lesion
#: without coordinates) and patient 108 (mdb216: calcifications without a centre).
SUBSET = [f"mdb{n:03d}" for n in range(1, 21)] + ["mdb059", "mdb060", "mdb215", "mdb216"]


@pytest.fixture(scope="module")
def mias() -> MiasData:
    full = load_mias()
    ab = full.abnormalities[full.abnormalities["refnum"].isin(SUBSET)]
    return MiasData(full.folder, ab, full.images.loc[SUBSET], full.report)


@pytest.fixture(scope="module")
def tiles(mias: MiasData) -> mt.MiasTiles:
    return extract_mias_tiles(MiasTileConfig(out_size=32, seed=1), mias)


def test_lesion_tiles_per_located_line(mias: MiasData, tiles: mt.MiasTiles) -> None:
    meta = tiles.meta
    assert tiles.tiles.shape == (len(meta), 32, 32) and tiles.tiles.dtype == np.uint8
    located = mias.abnormalities.dropna(subset=["x"])
    located = located[located["abnormality"] != "NORM"]
    lesion = meta[meta["kind"] == "lesion"]
    ids = {f"{r}:{n}" for r, n in zip(located["refnum"], located["line_no"], strict=True)}
    assert set(lesion["abnormality_id"]) == ids
    for line in located.itertuples():
        rows = lesion[lesion["abnormality_id"] == f"{line.refnum}:{line.line_no}"]
        assert len(rows) >= 1
        assert (rows["label"] == mias_label(line.abnormality, line.severity)).all()
    assert (meta["label_binary"] == (meta["label"] > 0)).all()
    assert (meta.loc[meta["kind"] != "lesion", "label"] == 0).all()


def test_negatives_from_same_scans_away_from_lesions(mias: MiasData, tiles: mt.MiasTiles) -> None:
    meta = tiles.meta
    normal_scans = set(mias.images.index[~mias.images["abnormal"]])
    assert set(meta.loc[meta["kind"] == "normal-scan", "scan_id"]) <= normal_scans
    background = meta[meta["kind"] == "background"]
    assert len(background) > 0
    assert not set(background["scan_id"]) & normal_scans
    cfg = tiles.config
    for row in background.itertuples():
        lines = mias.lines(row.scan_id)
        for box in mt._lesion_boxes(lines, 1024, cfg.use_radius):
            grown = (
                box[0] - cfg.margin,
                box[1] - cfg.margin,
                box[2] + cfg.margin,
                box[3] + cfg.margin,
            )
            assert not boxes_overlap((row.row0, row.col0, row.row1, row.col1), grown)
    assert (meta.groupby("scan_id")["kind"].apply(lambda k: (k == "normal-scan").sum()) <= 6).all()


def test_skips_recorded_and_patients_paired(tiles: mt.MiasTiles) -> None:
    skipped = tiles.skipped
    assert {("mdb059", "no-coordinates"), ("mdb216", "no-coordinates")} <= set(
        zip(skipped["scan_id"], skipped["reason"], strict=True)
    )
    assert {"mdb059", "mdb216"} <= set(skipped.loc[skipped["reason"] == "no-background", "scan_id"])
    meta = tiles.meta
    assert not ((meta["scan_id"] == "mdb216") & (meta["kind"] == "background")).any()
    patient = meta.set_index("scan_id")["patient_id"]
    assert patient["mdb001"].iloc[0] == patient["mdb002"].iloc[0] == "MIAS_001"
    assert patient["mdb007"].iloc[0] == patient["mdb008"].iloc[0] == "MIAS_004"
    assert patient["mdb060"].iloc[0] == "MIAS_030"
    assert "mdb059" not in patient.index  # its only lesion has no location: nothing cut


def test_extraction_deterministic_and_cached(
    mias: MiasData, tiles: mt.MiasTiles, tmp_path, monkeypatch
) -> None:
    again = extract_mias_tiles(tiles.config, mias)
    np.testing.assert_array_equal(again.tiles, tiles.tiles)
    other = extract_mias_tiles(dataclasses.replace(tiles.config, seed=2), mias)
    assert not np.array_equal(other.tiles[: len(tiles.tiles)], tiles.tiles[: len(other.tiles)])

    calls = []

    def fake_extract(config, mias_=None):
        calls.append(config)
        return extract_mias_tiles(config, mias)

    monkeypatch.setattr(mt, "extract_mias_tiles", fake_extract)
    first = ensure_mias_tiles(tiles.config, cache=tmp_path)
    second = ensure_mias_tiles(tiles.config, cache=tmp_path)
    assert len(calls) == 1
    np.testing.assert_array_equal(second.tiles, tiles.tiles)
    assert second.meta.equals(first.meta)
    assert list(second.meta["abnormality_id"]) == list(tiles.meta["abnormality_id"])
    assert not list(tmp_path.glob(".*.tmp"))


def test_patient_folds_group_and_stratify(tiles: mt.MiasTiles) -> None:
    meta = tiles.meta
    folds = patient_folds(meta["label_binary"], meta["patient_id"], n_splits=3, seed=0)
    assert set(folds) == {0, 1, 2}
    assert (meta.assign(f=folds).groupby("patient_id")["f"].nunique() == 1).all()
    for k in range(3):
        assert set(meta.loc[folds == k, "label_binary"]) == {0, 1}


def test_cross_validate_statistics(tiles: mt.MiasTiles) -> None:
    pred = cross_validate_mias(tiles, "statistics", n_splits=3, classifier="logistic")
    assert len(pred) == len(tiles.meta)
    assert pred["probability"].between(0, 1).all()
    assert (pred.groupby("patient_id")["fold"].nunique() == 1).all()
    with pytest.raises(ValueError, match="unknown method"):
        cross_validate_mias(tiles, "svm")


@pytest.mark.slow
def test_cross_validate_convnet_runs(tiles: mt.MiasTiles) -> None:
    keep = tiles.meta.groupby("patient_id").head(4).index.to_numpy()  # a small set
    small = mt.MiasTiles(
        tiles.tiles[keep], tiles.meta.loc[keep].reset_index(drop=True), tiles.skipped, tiles.config
    )
    pred = cross_validate_mias(
        small,
        "convnet",
        n_splits=2,
        epochs=1,
        model_kw={"width": 0.125, "fc_units": (16, 16)},
    )
    assert pred["probability"].notna().all() and pred["probability"].between(0, 1).all()
    assert set(pred["fold"]) == {0, 1}


def test_recalibrate_batchnorm_sets_batch_statistics() -> None:
    import keras

    from mammo_lib.evaluate.mias_cv import recalibrate_batchnorm

    inputs = keras.Input((4,))
    x = keras.layers.Dropout(0.5)(inputs)
    norm = keras.layers.BatchNormalization(momentum=0.99)
    model = keras.Model(inputs, norm(x))
    images = np.random.default_rng(0).normal(3.0, 2.0, size=(500, 4)).astype("float32")
    recalibrate_batchnorm(model, images)
    np.testing.assert_allclose(norm.moving_mean.numpy(), images.mean(0), rtol=1e-4)
    np.testing.assert_allclose(norm.moving_variance.numpy(), images.var(0), rtol=1e-3)
    assert norm.momentum == 0.99 and model.layers[1].rate == 0.5


def test_keep_reason_and_image_limit(mias: MiasData, tiles: mt.MiasTiles) -> None:
    from mammo_lib.extract.normals import KEEP_RULES, tile_stats
    from mammo_lib.imaging.pgm import read_pgm

    meta = tiles.meta
    assert (meta.loc[meta["kind"] != "lesion", "keep_reason"] == "kept").all()
    row = meta[meta["kind"] == "lesion"].iloc[0]
    scan = read_pgm(mias.path(row["scan_id"]))
    window = scan[row["row0"] : row["row1"], row["col0"] : row["col1"]]
    assert row["keep_reason"] == tile_stats(window, KEEP_RULES["MIAS"]).reason
    few = extract_mias_tiles(dataclasses.replace(tiles.config, n_images=4), mias)
    assert set(few.meta["scan_id"]) <= set(SUBSET[:4])


def test_ensure_mias_cv_cached(tiles: mt.MiasTiles, monkeypatch) -> None:
    from mammo_lib.evaluate import mias_cv

    first = mias_cv.ensure_mias_cv(tiles, "statistics", n_splits=3, classifier="logistic")
    monkeypatch.setattr(mias_cv, "cross_validate_mias", lambda *a, **k: 1 / 0)
    second = mias_cv.ensure_mias_cv(tiles, "statistics", n_splits=3, classifier="logistic")
    np.testing.assert_allclose(second["probability"], first["probability"])
    assert list(second["patient_id"]) == list(tiles.meta["patient_id"])
