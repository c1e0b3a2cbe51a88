"""The shortcut test: image statistics, the patient-grouped classifier, the pipeline test."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage, stats

from mammo_lib.evaluate.pipeline_shortcut import load_normal_tiles, pipeline_test
from mammo_lib.evaluate.shortcut import (
    QUANTILES,
    make_classifier,
    shortcut_test,
    source_test,
    tile_statistics,
)


def _texture_tiles(rng: np.random.Generator, n: int, size: int = 32) -> np.ndarray:
    """Tissue-like tiles: smoothed noise around mid-grey, as float in [0, 1]."""
    noise = rng.normal(size=(n, size, size))
    smooth = ndimage.gaussian_filter(noise, sigma=(0, 2, 2))
    smooth /= smooth.std(axis=(1, 2), keepdims=True)
    level = rng.uniform(0.4, 0.6, size=(n, 1, 1))
    return np.clip(level + 0.08 * smooth + 0.01 * rng.normal(size=smooth.shape), 0, 1)


def _populations(seed: int, scale_b: float, n_patients: int = 40, per_patient: int = 4):
    """Two tile populations by patient; B's intensities multiplied by `scale_b`."""
    rng = np.random.default_rng(seed)
    patients = np.repeat(np.arange(n_patients), per_patient)
    labels = (patients % 2).astype(int)
    tiles = _texture_tiles(rng, len(patients))
    tiles[labels == 1] *= scale_b
    return np.round(tiles * 255).astype(np.uint8), labels, patients


def test_tile_statistics_match_numpy_and_scipy() -> None:
    tiles, _, _ = _populations(seed=0, scale_b=1.0, n_patients=6)
    feats = tile_statistics(tiles, chunk=5)  # several chunks
    assert len(feats) == len(tiles)
    x = tiles.reshape(len(tiles), -1).astype(float) / 255
    np.testing.assert_allclose(feats["mean"], x.mean(1), rtol=1e-5)
    np.testing.assert_allclose(feats["std"], x.std(1), rtol=1e-4)
    np.testing.assert_allclose(feats["skew"], stats.skew(x, axis=1), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(feats["kurtosis"], stats.kurtosis(x, axis=1), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(feats["max"], x.max(1), rtol=1e-6)
    for q in QUANTILES:
        np.testing.assert_allclose(
            feats[f"p{round(100 * q):02d}"], np.quantile(x, q, axis=1), rtol=1e-5
        )
    for i in range(len(tiles)):
        counts = np.bincount(tiles[i].ravel(), minlength=256)
        p = counts[counts > 0] / counts.sum()
        assert feats.loc[i, "entropy"] == pytest.approx(-(p * np.log2(p)).sum(), rel=1e-6)
        assert feats.loc[i, "levels_used"] == pytest.approx((counts > 0).mean())
    # The same tiles as floats in [0, 1] give the same statistics.
    as_float = tile_statistics(tiles.astype(np.float64) / 255)
    np.testing.assert_allclose(as_float["mean"], feats["mean"], rtol=1e-6)
    np.testing.assert_allclose(as_float["p99"], feats["p99"], rtol=1e-6)


def test_tile_statistics_border_and_extremes() -> None:
    tile = np.full((40, 40), 100, np.uint8)
    framed = tile.copy()
    framed[:2, :] = framed[-2:, :] = framed[:, :2] = framed[:, -2:] = 255
    black = tile.copy()
    black[:, :10] = 0
    feats = tile_statistics(np.stack([tile, framed, black]))
    assert feats.loc[0, "border_minus_center"] == pytest.approx(0.0, abs=1e-6)
    assert feats.loc[1, "border_minus_center"] > 0.3
    assert feats.loc[1, "frac_saturated"] == pytest.approx((framed == 255).mean())
    assert feats.loc[2, "frac_dark"] == pytest.approx(0.25)
    assert feats.loc[2, "border_frac_dark"] > 0.2 and feats.loc[0, "border_frac_dark"] == 0


@pytest.mark.parametrize(
    ("tiles", "match"),
    [
        (np.zeros((3, 10)), "shape"),
        (np.zeros((2, 2, 2)), "3x3"),
        (np.zeros((0, 8, 8)), "no tiles"),
    ],
)
def test_tile_statistics_bad_input(tiles: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        tile_statistics(tiles)


@pytest.mark.parametrize("classifier", ["logistic", "boosting"])
def test_shortcut_separates_intensity_scale(classifier: str) -> None:
    tiles, labels, patients = _populations(seed=1, scale_b=0.75)
    result = shortcut_test(
        tile_statistics(tiles), labels, patients, classifier=classifier, n_boot=200, seed=0
    )
    assert result.auc.estimate > 0.95
    assert result.auc.low > 0.85
    assert result.feature_auc.iloc[0] > 0.9
    assert result.scores.shape == labels.shape


@pytest.mark.parametrize("seed", [2, 3])
def test_shortcut_near_chance_on_one_distribution(seed: int) -> None:
    tiles, labels, patients = _populations(seed=seed, scale_b=1.0)
    result = shortcut_test(tile_statistics(tiles), labels, patients, n_boot=200, seed=seed)
    assert abs(result.auc.estimate - 0.5) < 0.15
    assert result.auc.low < 0.5 < result.auc.high


def test_shortcut_folds_never_split_a_patient() -> None:
    # If a patient's tiles were in train and test folds, a patient-specific feature would
    # leak: here each patient has a unique 'fingerprint' feature and a random label per
    # patient. Grouped folds keep the AUC at chance.
    rng = np.random.default_rng(4)
    patients = np.repeat(np.arange(40), 5)
    labels = rng.integers(0, 2, 40)[patients]
    fingerprint = rng.normal(size=40)[patients]
    feats = pd.DataFrame({"fp": fingerprint, "noise": rng.normal(size=len(patients))})
    result = shortcut_test(feats, labels, patients, classifier="boosting", n_boot=100)
    assert result.auc.estimate < 0.7


def test_shortcut_bad_input() -> None:
    feats = pd.DataFrame({"a": np.arange(10.0)})
    with pytest.raises(ValueError, match="both labels"):
        shortcut_test(feats, np.zeros(10), np.arange(10))
    with pytest.raises(ValueError, match="differ in length"):
        shortcut_test(feats, np.zeros(9), np.arange(10))
    with pytest.raises(ValueError, match="fewer than n_splits"):
        shortcut_test(feats, np.arange(10) % 2, np.arange(10) % 4)
    nan = feats.assign(a=np.where(np.arange(10) == 3, np.nan, 1.0))
    with pytest.raises(ValueError, match="non-finite"):
        shortcut_test(nan, np.arange(10) % 2, np.arange(10))
    with pytest.raises(ValueError, match="unknown classifier"):
        make_classifier("svm")


def test_shortcut_result_records_the_folds_used() -> None:
    tiles, labels, patients = _populations(seed=5, scale_b=0.9, n_patients=20)
    feats = tile_statistics(tiles)
    result = shortcut_test(feats, labels, patients, n_splits=4, n_boot=20)
    assert sorted(np.unique(result.folds)) == [0, 1, 2, 3]
    # Refitting on the recorded folds reproduces the out-of-fold scores: they are the folds
    # the test actually used, and each patient lies in exactly one of them.
    for fold in range(4):
        test = result.folds == fold
        assert not set(patients[test]) & set(patients[~test])
        model = make_classifier("logistic").fit(feats[~test], labels[~test])
        np.testing.assert_allclose(model.predict_proba(feats[test])[:, 1], result.scores[test])


# --- the pipeline test: normal tiles of two sources --------------------------------------


def _pipeline(rng: np.random.Generator, tiles: np.ndarray, trait: str | None) -> np.ndarray:
    """A scanner pipeline's trait on float tiles, then 8-bit conversion."""
    if trait == "gamma":
        tiles = tiles**0.93
    elif trait == "grain":
        tiles = np.clip(tiles + 0.004 * rng.normal(size=tiles.shape), 0, 1)
    return np.round(tiles * 255).astype(np.uint8)


def _two_sources(seed: int, trait: str | None, na: int = 30, nb: int = 20):
    """Source a: `na` patients x 6 tiles; b: `nb` x 3 tiles, same tissue, b with `trait`.

    Both sources number their patients P0, P1 ..., so raw ids collide.
    """
    rng = np.random.default_rng(seed)
    tiles_a = _pipeline(rng, _texture_tiles(rng, 6 * na), None)
    tiles_b = _pipeline(rng, _texture_tiles(rng, 3 * nb), trait)
    ids_a = np.repeat([f"P{i}" for i in range(na)], 6)
    ids_b = np.repeat([f"P{i}" for i in range(nb)], 3)
    return tiles_a, ids_a, tiles_b, ids_b


@pytest.mark.parametrize(("trait", "classifier"), [("gamma", "logistic"), ("grain", "boosting")])
def test_source_test_finds_a_pipeline_trait(trait: str, classifier: str) -> None:
    result, meta = source_test(*_two_sources(6, trait), names=("ddsm", "cbis"), max_ratio=2,
                               classifier=classifier, n_boot=200)  # fmt: skip
    assert result.auc.estimate > 0.75 and result.auc.low > 0.6
    if trait == "grain":
        assert result.feature_auc.index[0] in ("laplacian_std", "gradient")
    # the larger source is cut to max_ratio times the smaller one
    assert meta["source"].value_counts().to_dict() == {"ddsm": 120, "cbis": 60}
    assert meta["label"].to_numpy().tolist() == [0] * 120 + [1] * 60
    np.testing.assert_array_equal(meta["probability"], result.scores)


@pytest.mark.parametrize("classifier", ["logistic", "boosting"])
def test_source_test_near_chance_on_one_distribution(classifier: str) -> None:
    # The bootstrap interval of a cross-validated AUC ignores the variance of refitting, so
    # it covers 0.5 less often than its nominal 95% under the null; ask it of most seeds.
    covered = []
    for seed in range(5):
        result, _ = source_test(*_two_sources(20 + seed, None), max_ratio=2,
                                classifier=classifier, n_boot=100, seed=seed)  # fmt: skip
        assert abs(result.auc.estimate - 0.5) < 0.15
        covered.append(result.auc.low < 0.5 < result.auc.high)
    assert sum(covered) >= 3


def test_source_test_keeps_patients_of_two_sources_apart() -> None:
    tiles_a, ids_a, tiles_b, ids_b = _two_sources(7, "grain")
    result, meta = source_test(tiles_a, ids_a, tiles_b, ids_b, names=("ddsm", "cbis"),
                               n_splits=4, n_boot=20)  # fmt: skip
    # raw ids collide (P0 ... in both), the prefixed groups do not
    assert meta["group"].nunique() == 30 + 20
    assert (meta.groupby("group")["source"].nunique() == 1).all()
    assert set(meta.loc[meta["source"] == "cbis", "group"]) == {f"cbis:P{i}" for i in range(20)}
    # on the folds actually used, no patient is in a training and a test fold
    np.testing.assert_array_equal(meta["fold"], result.folds)
    assert (meta.groupby("group")["fold"].nunique() == 1).all()
    assert meta["fold"].nunique() == 4


def test_source_test_bad_input() -> None:
    tiles_a, ids_a, tiles_b, ids_b = _two_sources(8, None, na=6, nb=6)
    with pytest.raises(ValueError, match="source 'cbis' has no tiles"):
        source_test(tiles_a, ids_a, tiles_b[:0], ids_b[:0], names=("ddsm", "cbis"))
    with pytest.raises(ValueError, match="source 'ddsm': 36 tiles but 35 patient ids"):
        source_test(tiles_a, ids_a[:-1], tiles_b, ids_b, names=("ddsm", "cbis"))
    with pytest.raises(ValueError, match="different shapes"):
        source_test(tiles_a, ids_a, tiles_b[:, :20, :20], ids_b)
    with pytest.raises(ValueError, match="distinct names"):
        source_test(tiles_a, ids_a, tiles_b, ids_b, names=("x", "x"))
    with pytest.raises(ValueError, match="max_ratio"):
        source_test(tiles_a, ids_a, tiles_b, ids_b, max_ratio=0.5)


def _write_dataset(folder: Path, tiles: np.ndarray, ids: np.ndarray, source: str,
                   abnormal: int = 0) -> Path:  # fmt: skip
    """A dataset folder like the builder's: normal tiles split train/test by patient, plus
    `abnormal` bright lesion-like tiles of the first patients."""
    from mammo_lib.dataset.folder import write_shard_manifest
    from mammo_lib.dataset.tfrecord import write_shard

    def record(image: np.ndarray, pid: str, label: int, k: int) -> dict:
        return {"image": image, "label": label, "label_binary": int(label > 0),
                "patient_id": pid, "abnormality_id": f"{pid}:1" if label else "",
                "source": source if label == 0 else "cbis-ddsm", "crop_index": k,
                "scan_id": f"{pid}_CC"}  # fmt: skip

    patients = list(dict.fromkeys(ids))
    test_ids = set(patients[::3])
    by_split: dict[str, list[dict]] = {"train": [], "test": []}
    for k, (image, pid) in enumerate(zip(tiles, ids, strict=True)):
        by_split["test" if pid in test_ids else "train"].append(record(image, pid, 0, k))
    for k in range(abnormal):
        lesion = np.full_like(tiles[0], 250)
        by_split["train"].append(record(lesion, patients[k], 2, k))
    for split, records in by_split.items():
        write_shard(folder / f"{split}-00000.tfrecord", records)
    write_shard_manifest(folder)
    return folder


@pytest.fixture(scope="module")
def two_datasets(tmp_path_factory) -> tuple[Path, Path, int, int]:
    tiles_a, ids_a, tiles_b, ids_b = _two_sources(9, "grain", na=12, nb=10)
    root = tmp_path_factory.mktemp("pipeline")
    a = _write_dataset(root / "ddsm-normals", tiles_a, ids_a, "ddsm", abnormal=5)
    b = _write_dataset(root / "cbis-tissue", tiles_b, ids_b, "cbis-background", abnormal=5)
    return a, b, len(tiles_a), len(tiles_b)


def test_pipeline_test_on_dataset_folders(two_datasets) -> None:
    a, b, n_a, n_b = two_datasets
    tiles, meta = load_normal_tiles(a, ["train", "test"])
    assert tiles.shape == (n_a, 32, 32) and (meta["label_binary"] == 0).all()
    assert set(meta["tile_source"]) == {"ddsm"}
    result, scored = pipeline_test(a, b, ["train", "test"], classifier="logistic",
                                   n_splits=3, max_ratio=None, n_boot=100)  # fmt: skip
    assert result.auc.estimate > 0.75 and result.auc.low > 0.6
    assert scored["source"].value_counts().to_dict() == {"ddsm-normals": n_a, "cbis-tissue": n_b}
    assert set(scored["tile_source"]) == {"ddsm", "cbis-background"}
    assert scored["group"].nunique() == 12 + 10
    assert (scored.groupby("group")["fold"].nunique() == 1).all()
    assert scored["split"].isin(["train", "test"]).all() and scored["scan_id"].notna().all()


def test_pipeline_test_bad_datasets(two_datasets, tmp_path) -> None:
    a, b, _, _ = two_datasets
    from mammo_lib.dataset.folder import write_shard_manifest
    from mammo_lib.dataset.tfrecord import write_shard

    lesions_only = tmp_path / "lesions-only"
    for split in ("train", "test"):
        write_shard(lesions_only / f"{split}-00000.tfrecord", [
            {"image": np.full((32, 32), 200, np.uint8), "label": 2, "label_binary": 1,
             "patient_id": f"P{i}", "abnormality_id": f"P{i}:1", "source": "cbis-ddsm",
             "crop_index": 0, "scan_id": f"P{i}_CC"} for i in range(3)
        ])  # fmt: skip
    write_shard_manifest(lesions_only)
    with pytest.raises(ValueError, match=re.escape(f"{lesions_only}: no normal tiles")):
        pipeline_test(a, lesions_only, ["train", "test"])
    with pytest.raises(FileNotFoundError, match=re.escape(f"{tmp_path / 'missing'}: no such")):
        pipeline_test(tmp_path / "missing", b, ["train", "test"])
    with pytest.raises(FileNotFoundError, match=re.escape(f"{a}: no val-*.tfrecord")):
        pipeline_test(a, b)
    with pytest.raises(ValueError, match="distinct names"):
        pipeline_test(a, b, ["train", "test"], names=("x", "x"))
    small = _write_dataset(tmp_path / "small", np.zeros((6, 16, 16), np.uint8),
                           np.repeat(["P0", "P1", "P2"], 2), "ddsm")  # fmt: skip
    with pytest.raises(ValueError, match="tiles of different sizes"):
        pipeline_test(a, small, ["train", "test"])


def test_shortcut_table_rows_say_what_each_comparison_isolates(two_datasets) -> None:
    from mammo_lib.evaluate.shortcut_table import (
        COLUMNS,
        SHORTCUT_AUC,
        pipeline_comparison,
        recipe_comparison,
        shortcut_table,
        statistic_aucs,
    )

    scaled = shortcut_test(tile_statistics(_populations(1, 0.75)[0]), *_populations(1, 0.75)[1:],
                           classifier="logistic", n_boot=100)  # fmt: skip
    same = shortcut_test(tile_statistics(_populations(2, 1.0)[0]), *_populations(2, 1.0)[1:],
                         classifier="logistic", n_boot=100)  # fmt: skip
    a, b, _, _ = two_datasets
    pipe, _ = pipeline_test(a, b, ["train", "test"], classifier="logistic", n_splits=3,
                            max_ratio=None, n_boot=100)  # fmt: skip
    rows = [
        recipe_comparison("9", scaled, "0.700 [0.600, 0.800]"),
        recipe_comparison("9-background", same),
        pipeline_comparison(pipe),
    ]
    table = shortcut_table(rows)
    assert list(table.columns) == list(COLUMNS)
    assert list(table["differs in"]) == [
        "pipeline and anatomy",
        "anatomy (lesion-centred positives)",
        "pipeline only",
    ]
    assert list(table["normal tiles from"]) == [
        "DDSM normal scans",
        "the same scans' tissue",
        "both (datasets 9 and 9-background)",
    ]
    assert table.loc[0, "verdict"] == "separates"  # intensities scaled by 0.75
    assert table.loc[1, "verdict"] == "does not separate"  # one distribution
    assert table.loc[0, SHORTCUT_AUC].startswith(f"{scaled.auc.estimate:.3f} [")
    assert table.loc[0, "ConvNet AUC"] == "0.700 [0.600, 0.800]"
    top = scaled.feature_auc
    assert table.loc[0, "top statistic"] == f"{top.index[0]} ({top.iloc[0]:.2f})"
    with pytest.raises(KeyError, match="lack columns"):
        shortcut_table([{"comparison": "x"}])

    features = {"scaled": scaled.feature_auc, "same": same.feature_auc}
    long = statistic_aucs(features, top=3)
    assert set(long.columns) == {"statistic", "comparison", "AUC"}
    order = list(dict.fromkeys(long["statistic"]))
    best = pd.DataFrame(features).max(axis=1)  # each statistic's largest AUC
    assert list(best[order]) == sorted(best[order], reverse=True)
    assert best[order].min() >= best.sort_values(ascending=False).iloc[2]  # the top three
    assert len(long) == 3 * 2
