"""The shortcut test: image statistics, and the patient-grouped classifier on them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage, stats

from mammo_lib.evaluate.shortcut import (
    QUANTILES,
    make_classifier,
    shortcut_test,
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
