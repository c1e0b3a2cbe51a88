"""Tests for the power-spectrum slope and histogram helpers."""

from __future__ import annotations

import numpy as np
import pytest

from mammo_lib.imaging.pgm import read_pgm
from mammo_lib.imaging.spectrum import (
    background_slopes,
    background_spectra,
    fit_power_law,
    histogram_distances,
    intensity_histogram,
    otsu_threshold,
    radial_power_spectrum,
    rebin,
    sample_patches,
    spectrum_slopes,
    texture_statistics,
    tissue_mask,
)
from mammo_lib.sources.mias import abnormality_mask, load_mias


def power_law_field(n: int, beta: float, seed: int) -> np.ndarray:
    """Periodic Gaussian noise whose power spectrum is exactly ``|f|**-beta`` in expectation."""
    rng = np.random.default_rng(seed)
    f = np.fft.fftfreq(n)
    radius = np.hypot(f[:, None], f[None, :])
    radius[0, 0] = np.inf
    spectrum = np.fft.fft2(rng.standard_normal((n, n))) * radius ** (-beta / 2)
    return np.fft.ifft2(spectrum).real


@pytest.mark.parametrize("beta", [1.5, 2.0, 3.0, 3.5])
def test_slope_recovered_on_known_fields(beta: float) -> None:
    estimates = []
    for seed in range(4):
        field = power_law_field(512, beta, seed)
        patch = field[100:228, 50:178]  # a non-periodic cut, as from a scan
        freq, power = radial_power_spectrum(patch)
        estimates.append(fit_power_law(freq, power).beta)
    assert abs(np.mean(estimates) - beta) < 0.2


def test_window_matters_for_steep_spectra() -> None:
    patch = power_law_field(512, 4.0, 7)[:128, :128]
    freq, power = radial_power_spectrum(patch, window=False)
    # The edges of an unwindowed cut are straight discontinuities whose radially averaged
    # spectrum falls as f**-3: they hide any steeper spectrum and pull beta towards 3.
    assert fit_power_law(freq, power).beta < 3.4
    freq, power = radial_power_spectrum(patch)
    assert abs(fit_power_law(freq, power).beta - 4.0) < 0.3


def test_spectrum_shape_and_scale() -> None:
    rng = np.random.default_rng(0)
    white = rng.normal(0, 2.0, (64, 64))
    freq, power = radial_power_spectrum(white, window=False)
    assert freq.shape == power.shape == (32,)
    assert freq[0] == pytest.approx(1 / 64) and freq[-1] == pytest.approx(0.5)
    # White noise: flat spectrum at the variance (Parseval with the 1/n**2 normalisation).
    assert np.mean(power) == pytest.approx(4.0, rel=0.15)
    assert abs(fit_power_law(freq, power, 0.02, 0.5).beta) < 0.3
    with pytest.raises(ValueError, match="square"):
        radial_power_spectrum(np.zeros((8, 16)))
    with pytest.raises(ValueError, match="band"):
        fit_power_law(freq, power, 0.6, 0.9)


def test_fit_predict_round_trip() -> None:
    freq = np.linspace(0.01, 0.5, 50)
    fit = fit_power_law(freq, 5.0 * freq**-2.7, 0.01, 0.5)
    assert fit.beta == pytest.approx(2.7)
    np.testing.assert_allclose(fit.predict(freq), 5.0 * freq**-2.7)


def test_tissue_mask_and_patches() -> None:
    image = np.zeros((100, 120))
    image[10:90, 0:70] = 100  # the breast
    image[40:50, 30:40] = 0  # a dark hole inside it: filled
    image[5:8, 110:118] = 200  # a small bright label: not the largest region
    mask = tissue_mask(image, threshold=50)
    assert mask[45, 35] and not mask[6, 112] and mask.sum() == 80 * 70
    assert tissue_mask(image, 50, erode=5).sum() < mask.sum()
    corners = sample_patches(mask, 32, 10, np.random.default_rng(1))
    assert len(corners) == 10 and len(set(corners)) == 10
    for row, col in corners:
        assert mask[row : row + 32, col : col + 32].all()
    assert sample_patches(mask, 32, 10, np.random.default_rng(1)) == corners
    assert sample_patches(mask, 81, 5, np.random.default_rng(1)) == []
    assert not tissue_mask(np.zeros((5, 5)), 1).any()


def test_histograms() -> None:
    rng = np.random.default_rng(3)
    eight = rng.integers(0, 256, (50, 50))
    sixteen = eight.astype(np.int64) * 257  # the same image at 16 bits
    edges, p = intensity_histogram(eight, 255, bins=32)
    _, q = intensity_histogram(sixteen, 65535, bins=32)
    assert np.sum(p * np.diff(edges)) == pytest.approx(1.0)
    np.testing.assert_allclose(p, q)
    same = histogram_distances(edges, p, q)
    assert same["jensen_shannon"] == pytest.approx(0.0, abs=1e-6)
    _, darker = intensity_histogram(eight // 2, 255, bins=32)
    moved = histogram_distances(edges, p, darker)
    assert moved["jensen_shannon"] > 0.3
    assert moved["wasserstein"] == pytest.approx(0.25, abs=0.03)  # mean halves from 0.5
    mask = np.zeros(eight.shape, dtype=bool)
    with pytest.raises(ValueError, match="no pixels"):
        intensity_histogram(eight, 255, mask=mask)


def test_real_mias_background_beta_near_three() -> None:
    mias = load_mias()
    rng = np.random.default_rng(0)
    betas = []
    for refnum in ["mdb003", "mdb010", "mdb100", "mdb200", "mdb300"]:
        image = read_pgm(mias.path(refnum))
        exclude = abnormality_mask(mias.lines(refnum), margin=20)
        found = background_slopes(image, rng, size=128, n=4, exclude=exclude)  # Otsu threshold
        assert len(found) == 4
        betas.extend(found)
        freq, spectra = background_spectra(image, np.random.default_rng(5), threshold=40, n=3)
        assert spectra.shape == (3, 64) and freq.shape == (64,)
        again = spectrum_slopes(freq, spectra)
        assert again.shape == (3,) and np.all((again > 1.5) & (again < 4.5))
    assert 2.5 < np.median(betas) < 3.5
    # Nothing fits when the whole breast is excluded.
    assert len(background_slopes(image, rng, threshold=40, exclude=image > 0)) == 0


def test_otsu_threshold_splits_two_modes() -> None:
    rng = np.random.default_rng(2)
    image = np.concatenate([rng.normal(20, 5, 3000), rng.normal(150, 20, 1000)])
    threshold = otsu_threshold(image)
    assert 30 < threshold < 110
    assert np.mean(image[:3000] < threshold) > 0.99 and np.mean(image[3000:] > threshold) > 0.99


def test_rebin() -> None:
    image = np.arange(36, dtype=np.uint16).reshape(6, 6)
    out = rebin(image, 2)
    assert out.shape == (3, 3) and out.dtype == float
    assert out[0, 0] == np.mean([0, 1, 6, 7])
    assert rebin(image, 4).shape == (1, 1)  # a partial block is dropped
    np.testing.assert_array_equal(rebin(image, 1), image)
    with pytest.raises(ValueError, match="factor"):
        rebin(image, 0)


def test_texture_statistics_pools_scans() -> None:
    rng = np.random.default_rng(4)
    scans = []
    for seed in range(3):
        image = np.full((300, 300), 10.0)
        field = power_law_field(512, 3.0, seed)[:260, :250]
        image[20:280, 0:250] = 120 + 15 * (field - field.mean()) / field.std()
        scans.append((np.clip(image, 0, 255), None))
    exclude = np.zeros((300, 300), dtype=bool)
    exclude[:, :200] = True  # leaves too little tissue for a 128 patch
    scans.append((scans[0][0], exclude))
    stats = texture_statistics(scans, rng, maxval=255, size=128, n=2, bins=32)
    assert stats.n_images == 4
    assert stats.spectra.shape == (6, 64) and stats.betas.shape == (6,)
    assert abs(np.median(stats.betas) - 3.0) < 0.4
    assert np.sum(stats.density * np.diff(stats.edges)) == pytest.approx(1.0)
    assert stats.edges[np.argmax(stats.density)] == pytest.approx(120 / 255, abs=0.1)
    with pytest.raises(ValueError, match="no scans"):
        texture_statistics([], rng, maxval=255)
