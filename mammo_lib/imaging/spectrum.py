"""Texture statistics of mammograms: power spectrum slope and intensity histograms.

Mammographic background tissue has a power-law spectrum, ``P(f) ~ A / f**beta`` with beta
about 3 (Burgess et al. 2001); the study's synthetic stand-ins are meant to share it. This
module measures beta on square patches of background tissue: the patch is windowed, its
2-D power spectrum averaged over rings of equal radial frequency, and a line fitted to
``log P`` against ``log f`` over a band of frequencies. It also compares grey-level
histograms of images with different bit depths (values scaled to [0, 1] first).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

__all__ = [
    "PowerLawFit",
    "TextureStats",
    "texture_statistics",
    "background_slopes",
    "background_spectra",
    "otsu_threshold",
    "rebin",
    "spectrum_slopes",
    "fit_power_law",
    "histogram_distances",
    "intensity_histogram",
    "radial_power_spectrum",
    "sample_patches",
    "tissue_mask",
]


def radial_power_spectrum(
    patch: np.ndarray, *, window: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Radially averaged power spectrum of a square patch.

    Parameters
    ----------
    patch
        2-D array, shape ``(n, n)``, any real dtype.
    window
        Multiply by a 2-D Hann window after removing the mean. Without it the patch edges,
        straight discontinuities whose radially averaged spectrum falls as ``f**-3``, leak
        into every frequency and pull any steeper spectrum towards beta = 3, the very value
        expected of mammograms.

    Returns
    -------
    freq : numpy.ndarray
        Radial frequencies ``k / n`` in cycles per pixel, ``k = 1 .. n // 2``.
    power : numpy.ndarray
        Mean ``|FFT|**2 / n**2`` over the ring ``k - 0.5 <= n * |f| < k + 0.5``.
    """
    patch = np.asarray(patch, dtype=float)
    if patch.ndim != 2 or patch.shape[0] != patch.shape[1]:
        raise ValueError(f"expected a square 2-D patch, got shape {patch.shape}")
    n = patch.shape[0]
    if n < 8:
        raise ValueError(f"patch side {n} too small for a spectrum (need >= 8)")
    values = patch - patch.mean()
    if window:
        hann = np.hanning(n)
        w2 = np.outer(hann, hann)
        values = values * w2 / np.sqrt((w2**2).mean())
    power2d = np.abs(np.fft.fft2(values)) ** 2 / n**2
    k = np.fft.fftfreq(n) * n
    radius = np.rint(np.hypot(k[:, None], k[None, :])).astype(int)
    sums = np.bincount(radius.ravel(), weights=power2d.ravel())
    counts = np.bincount(radius.ravel())
    ks = np.arange(1, n // 2 + 1)
    return ks / n, sums[ks] / counts[ks]


@dataclass(frozen=True)
class PowerLawFit:
    """A least-squares line through ``log10 P`` against ``log10 f``.

    Attributes
    ----------
    beta
        Minus the slope: ``P ~ f**-beta``.
    log10_amplitude
        Intercept: ``log10 P`` at ``f = 1`` cycle per pixel.
    n_points
        Number of radial frequencies in the fitted band.
    """

    beta: float
    log10_amplitude: float
    n_points: int

    def predict(self, freq: np.ndarray) -> np.ndarray:
        """Power of the fitted law at `freq`."""
        return 10.0**self.log10_amplitude * np.asarray(freq, dtype=float) ** -self.beta


def fit_power_law(
    freq: np.ndarray, power: np.ndarray, fmin: float = 0.02, fmax: float = 0.25
) -> PowerLawFit:
    """Fit ``P = A * f**-beta`` over ``fmin <= f <= fmax`` (log-log least squares).

    Parameters
    ----------
    freq, power
        A spectrum, e.g. from :func:`radial_power_spectrum`.
    fmin, fmax
        The band in cycles per pixel. The default, 0.02-0.25 cycles/pixel, is 0.1-1.25
        cycles/mm at mini-MIAS's 0.2 mm pixels: above the scale of the breast outline and
        below the noise floor.

    Returns
    -------
    PowerLawFit
    """
    freq = np.asarray(freq, dtype=float)
    power = np.asarray(power, dtype=float)
    keep = (freq >= fmin) & (freq <= fmax) & (power > 0)
    if keep.sum() < 3:
        raise ValueError(f"only {keep.sum()} positive spectrum points in the band [{fmin}, {fmax}]")
    slope, intercept = np.polyfit(np.log10(freq[keep]), np.log10(power[keep]), 1)
    return PowerLawFit(float(-slope), float(intercept), int(keep.sum()))


def tissue_mask(image: np.ndarray, threshold: float, erode: int = 0) -> np.ndarray:
    """The breast: the largest connected region brighter than `threshold`, holes filled.

    Parameters
    ----------
    image
        2-D greyscale scan.
    threshold
        Grey level separating tissue from the (dark) background, in the image's units.
    erode
        Pixels to erode from the region's border (keeps patches off the skin line).

    Returns
    -------
    numpy.ndarray
        bool, same shape as `image`.
    """
    labels, n = ndimage.label(np.asarray(image) > threshold)
    if n == 0:
        return np.zeros(np.shape(image), dtype=bool)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    mask = ndimage.binary_fill_holes(labels == sizes.argmax())
    if erode > 0:
        mask = ndimage.binary_erosion(mask, iterations=erode)
    return mask


def sample_patches(
    mask: np.ndarray, size: int, n: int, rng: np.random.Generator
) -> list[tuple[int, int]]:
    """Random top-left corners of `size` x `size` patches lying wholly inside `mask`.

    Parameters
    ----------
    mask
        bool array: where patches may lie.
    size
        Patch side in pixels.
    n
        Patches wanted; fewer come back when fewer positions exist (none if none fit).
    rng
        Random generator (seeded by the caller).

    Returns
    -------
    list of (row, col)
        Distinct corners, in random order.
    """
    mask = np.asarray(mask, dtype=bool)
    h, w = mask.shape
    if size > h or size > w:
        return []
    integral = np.pad(mask.astype(np.int64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    inside = (
        integral[size:, size:]
        - integral[:-size, size:]
        - integral[size:, :-size]
        + integral[:-size, :-size]
    ) == size * size
    rows, cols = np.nonzero(inside)
    if rows.size == 0:
        return []
    pick = rng.choice(rows.size, size=min(n, rows.size), replace=False)
    return [(int(rows[i]), int(cols[i])) for i in pick]


def background_spectra(
    image: np.ndarray,
    rng: np.random.Generator,
    *,
    threshold: float | None = None,
    size: int = 128,
    n: int = 4,
    exclude: np.ndarray | None = None,
    erode: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """Radial power spectra of random background-tissue patches of one scan.

    Patches lie wholly inside the breast (:func:`tissue_mask`, eroded by `erode` pixels) and
    outside `exclude` (e.g. the abnormality circles).

    Parameters
    ----------
    image
        2-D scan.
    rng
        Random generator for the patch positions.
    threshold
        Tissue threshold in the image's grey levels (None: :func:`otsu_threshold`).
    size, n
        Patch side and number of patches.
    exclude
        Optional bool mask of pixels no patch may touch.
    erode
        Pixels kept clear of the breast border.

    Returns
    -------
    freq : numpy.ndarray
        ``size // 2`` radial frequencies in cycles per pixel.
    spectra : numpy.ndarray
        Shape ``(patches, size // 2)``; fewer than `n` rows (possibly none) when the breast
        is too small.
    """
    if threshold is None:
        threshold = otsu_threshold(image)
    region = tissue_mask(image, threshold, erode=erode)
    if exclude is not None:
        region &= ~np.asarray(exclude, dtype=bool)
    freq = np.arange(1, size // 2 + 1) / size
    spectra = [
        radial_power_spectrum(image[row : row + size, col : col + size])[1]
        for row, col in sample_patches(region, size, n, rng)
    ]
    return freq, np.asarray(spectra, dtype=float).reshape(len(spectra), freq.size)


def spectrum_slopes(
    freq: np.ndarray, spectra: np.ndarray, fmin: float = 0.02, fmax: float = 0.25
) -> np.ndarray:
    """Beta of each spectrum (row of `spectra`), fitted over ``[fmin, fmax]`` cycles/pixel."""
    return np.array([fit_power_law(freq, row, fmin, fmax).beta for row in np.atleast_2d(spectra)])


def background_slopes(
    image: np.ndarray,
    rng: np.random.Generator,
    *,
    threshold: float | None = None,
    size: int = 128,
    n: int = 4,
    exclude: np.ndarray | None = None,
    erode: int = 10,
    fmin: float = 0.02,
    fmax: float = 0.25,
) -> np.ndarray:
    """Spectrum slope beta of random background-tissue patches of one scan.

    See :func:`background_spectra` for the parameters and :func:`fit_power_law` for the band.

    Returns
    -------
    numpy.ndarray
        One beta per patch (possibly none).
    """
    freq, spectra = background_spectra(
        image, rng, threshold=threshold, size=size, n=n, exclude=exclude, erode=erode
    )
    if len(spectra) == 0:
        return np.zeros(0)
    return spectrum_slopes(freq, spectra, fmin, fmax)


def otsu_threshold(image: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold: the grey level that best splits the histogram into two classes.

    Parameters
    ----------
    image
        Any array of grey values.
    bins
        Histogram bins between the minimum and the maximum.

    Returns
    -------
    float
        The threshold (upper edge of the darker class), in the image's units.
    """
    values = np.asarray(image, dtype=float).ravel()
    counts, edges = np.histogram(values, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    weight0 = np.cumsum(counts)
    weight1 = weight0[-1] - weight0
    sum0 = np.cumsum(counts * centres)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean0 = sum0 / weight0
        mean1 = (sum0[-1] - sum0) / weight1
        between = weight0 * weight1 * (mean0 - mean1) ** 2
    between = np.nan_to_num(between[:-1], nan=-1.0)
    return float(edges[int(np.argmax(between)) + 1])


def rebin(image: np.ndarray, factor: int) -> np.ndarray:
    """Mean over ``factor`` x ``factor`` blocks (e.g. 0.05 mm pixels to mini-MIAS's 0.2 mm).

    Trailing rows and columns that do not fill a block are dropped. Returns float64.
    """
    if factor < 1:
        raise ValueError(f"rebin factor must be >= 1, got {factor}")
    image = np.asarray(image, dtype=float)
    rows, cols = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    blocks = image[:rows, :cols].reshape(rows // factor, factor, cols // factor, factor)
    return blocks.mean(axis=(1, 3))


def intensity_histogram(
    values: np.ndarray, maxval: float, bins: int = 64, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised grey-level histogram of an image on [0, 1].

    Parameters
    ----------
    values
        Image (any shape) in its own units.
    maxval
        The value that maps to 1 (255 for 8-bit MIAS, the PGM/DICOM maxval otherwise).
    bins
        Number of equal bins on [0, 1].
    mask
        Optional bool array, same shape: only these pixels count (e.g. the breast).

    Returns
    -------
    edges : numpy.ndarray
        ``bins + 1`` bin edges on [0, 1].
    density : numpy.ndarray
        Probability density (integrates to 1 over [0, 1]).
    """
    values = np.asarray(values, dtype=float)
    if mask is not None:
        values = values[np.asarray(mask, dtype=bool)]
    if values.size == 0:
        raise ValueError("no pixels to histogram (empty image or mask)")
    density, edges = np.histogram(
        values.ravel() / maxval, bins=bins, range=(0.0, 1.0), density=True
    )
    return edges, density


@dataclass
class TextureStats:
    """Grey levels and background spectra pooled over a set of scans.

    Attributes
    ----------
    edges, density
        Mean over scans of the breast-pixel histograms on [0, 1] (:func:`intensity_histogram`).
    freq
        Radial frequencies of the spectra, cycles per pixel.
    spectra
        One row per background patch.
    betas
        The slope of each row of `spectra`, fitted over the band given.
    n_images
        Scans that contributed.
    """

    edges: np.ndarray
    density: np.ndarray
    freq: np.ndarray
    spectra: np.ndarray
    betas: np.ndarray
    n_images: int


def texture_statistics(
    scans: Iterable[tuple[np.ndarray, np.ndarray | None]],
    rng: np.random.Generator,
    *,
    maxval: float,
    size: int = 128,
    n: int = 4,
    bins: int = 64,
    fmin: float = 0.02,
    fmax: float = 0.25,
) -> TextureStats:
    """Pool breast histograms and background-patch spectra over scans.

    Each scan's breast is :func:`tissue_mask` at its :func:`otsu_threshold`; its histogram
    counts those pixels, its patches (see :func:`background_spectra`) avoid the scan's
    exclusion mask.

    Parameters
    ----------
    scans
        ``(image, exclude)`` pairs; `exclude` is a bool mask or None.
    rng
        Random generator for the patch positions.
    maxval
        Full scale of the grey levels (255 for 8-bit).
    size, n
        Patch side and patches per scan.
    bins
        Histogram bins on [0, 1].
    fmin, fmax
        Fitting band in cycles per pixel.

    Returns
    -------
    TextureStats
    """
    densities, spectra = [], []
    freq = np.arange(1, size // 2 + 1) / size
    edges = np.linspace(0.0, 1.0, bins + 1)
    for image, exclude in scans:
        threshold = otsu_threshold(image)
        edges, density = intensity_histogram(image, maxval, bins, tissue_mask(image, threshold))
        densities.append(density)
        freq, found = background_spectra(
            image, rng, threshold=threshold, size=size, n=n, exclude=exclude
        )
        spectra.extend(found)
    if not densities:
        raise ValueError("no scans given")
    spectra_arr = np.asarray(spectra, dtype=float).reshape(len(spectra), freq.size)
    betas = spectrum_slopes(freq, spectra_arr, fmin, fmax) if len(spectra) else np.zeros(0)
    return TextureStats(edges, np.mean(densities, axis=0), freq, spectra_arr, betas, len(densities))


def histogram_distances(edges: np.ndarray, p: np.ndarray, q: np.ndarray) -> dict[str, float]:
    """Distances between two histograms on the same bins.

    Parameters
    ----------
    edges
        Shared bin edges.
    p, q
        Densities or counts on those bins.

    Returns
    -------
    dict
        ``jensen_shannon`` (base 2, in [0, 1]) and ``wasserstein`` (earth mover's distance
        in the units of `edges`, i.e. fractions of full scale).
    """
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    centres = (np.asarray(edges[:-1]) + np.asarray(edges[1:])) / 2
    return {
        "jensen_shannon": float(jensenshannon(p, q, base=2)),
        "wasserstein": float(wasserstein_distance(centres, centres, p, q)),
    }
