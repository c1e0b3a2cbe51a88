"""The breast of a synthetic mammogram: outline, skin line, pectoral muscle and tissue texture.

Everything is rendered as *film brightness* ``b`` in [0, 1] (float32): 0 is unexposed-to-tissue
film (air, dark), 1 is the densest tissue (white). Lesions (:mod:`.lesions`) and artifacts
(:mod:`.artifacts`) are added in the same units; the writers then map brightness to the stored
values of each source (CBIS-DDSM 16-bit, or a DDSM digitizer's grey levels through its
optical-density calibration).

Geometry is rendered with the chest wall at column 0 (a LEFT breast) and mirrored for RIGHT.
Smooth shapes (outline, pectoral edge, tissue envelope) are computed on a coarse grid as signed
distances and upsampled bilinearly, which keeps a full-size (about 5300 x 3100) scan fast.

Texture: Gaussian noise with a power-law spectrum ``P(f) ~ f**-beta`` (beta about 3, as
measured for mammographic parenchyma by Burgess et al. 2001), synthesised by FFT on a grid
``grid_step`` times coarser than the scan and upsampled; the spectrum is faithful for
frequencies below about a quarter of the coarse grid's Nyquist frequency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.fft
from PIL import Image, ImageDraw
from scipy import ndimage

__all__ = [
    "Breast",
    "power_law_noise",
    "render_breast",
    "resize",
]

View = Literal["CC", "MLO"]
Side = Literal["LEFT", "RIGHT"]


def _linear_weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Left source index and right weight of each output sample (pixel-centre aligned)."""
    pos = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    pos = np.clip(pos, 0.0, max(n_in - 1, 0))
    left = np.minimum(np.floor(pos).astype(np.intp), max(n_in - 2, 0))
    weight = (pos - left).astype(np.float32)
    return left, np.minimum(weight, np.float32(1.0))


def resize(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a 2-D float array to `shape` ``(rows, cols)`` with bilinear interpolation (float32).

    Pixel centres are aligned (like PIL's bilinear resize); separable and vectorised, so
    upsampling to a full-size scan takes a fraction of a second.
    """
    image = np.asarray(image, dtype=np.float32)
    if image.shape == tuple(shape):
        return image
    rows, cols = image.shape
    y0, wy = _linear_weights(rows, shape[0])
    y1 = np.minimum(y0 + 1, rows - 1)
    tmp = image[y0] * (1 - wy)[:, None] + image[y1] * wy[:, None]
    x0, wx = _linear_weights(cols, shape[1])
    x1 = np.minimum(x0 + 1, cols - 1)
    return tmp[:, x0] * (1 - wx) + tmp[:, x1] * wx


def _power_law_grid(rng: np.random.Generator, rows: int, cols: int, beta: float) -> np.ndarray:
    """Unit-variance Gaussian field with spectrum ``f**-beta`` on a ``rows x cols`` grid."""
    fy = np.fft.fftfreq(rows).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(cols).astype(np.float32)[None, :]
    f2 = fy * fy + fx * fx
    f2[0, 0] = np.inf
    amplitude = f2 ** np.float32(-beta / 4.0)  # |F| ~ f^(-beta/2)
    spectrum = rng.standard_normal((rows, cols // 2 + 1), dtype=np.float32) + 1j * (
        rng.standard_normal((rows, cols // 2 + 1), dtype=np.float32)
    )
    field = scipy.fft.irfft2(spectrum.astype(np.complex64) * amplitude, s=(rows, cols))
    return ((field - field.mean()) / field.std()).astype(np.float32)


def power_law_noise(
    rng: np.random.Generator,
    shape: tuple[int, int],
    beta: float = 3.0,
    grid_step: int = 1,
) -> np.ndarray:
    """Gaussian noise with power spectrum ``f**-beta``, zero mean and unit variance.

    Parameters
    ----------
    rng
        Random generator.
    shape
        Output ``(rows, cols)``.
    beta
        Spectral exponent (3 for mammographic background).
    grid_step
        The noise is synthesised on a grid this many times coarser and upsampled (bilinear).

    Returns
    -------
    numpy.ndarray
        float32 array of `shape`.
    """
    rows = max(8, -(-shape[0] // grid_step))
    cols = max(8, -(-shape[1] // grid_step))
    return resize(_power_law_grid(rng, rows, cols, beta), shape)


def curvilinear_structures(
    rng: np.random.Generator,
    shape: tuple[int, int],
    cell_mm: float,
    nipple: tuple[float, float],
    count: int | None = None,
) -> np.ndarray:
    """Ducts, vessels and ligaments: thin, blurred curves running from near the nipple towards
    the chest wall (column 0), on a grid of `cell_mm` cells. Peak about 1, float32."""
    rows, cols = shape
    canvas = Image.new("L", (cols, rows), 0)
    draw = ImageDraw.Draw(canvas)
    n = int(rng.integers(15, 40)) if count is None else count
    for _ in range(n):
        y = nipple[0] + rng.normal(0, 0.25 * rows)
        x = nipple[1] - abs(rng.normal(0, 0.2 * cols))
        angle = np.arctan2(y - nipple[0], min(x - nipple[1], -1.0)) + rng.normal(0, 0.3)
        step = 2.0 / cell_mm
        points = [(x, y)]
        for _ in range(int(rng.uniform(30, 120) / 2.0)):
            angle += rng.normal(0, 0.12)
            x, y = x + step * np.cos(angle), y + step * np.sin(angle)
            points.append((x, y))
        width = max(1, int(round(rng.uniform(0.3, 1.0) / cell_mm)))
        draw.line(points, fill=int(rng.integers(90, 256)), width=width, joint="curve")
    lines = np.asarray(canvas, dtype=np.float32) / np.float32(255.0)
    return ndimage.gaussian_filter(lines, max(0.7, 0.3 / cell_mm))


@dataclass
class Breast:
    """A rendered breast, chest wall at column 0 (mirror for RIGHT with :meth:`mirrored`).

    Attributes
    ----------
    brightness
        float32 film brightness in [0, 1] (not yet clipped), shape ``(rows, cols)``.
    mask
        bool, True inside the breast outline (the pectoral muscle included).
    depth_mm
        float32, distance inside the outline in millimetres (negative outside).
    pectoral
        float32 in [0, 1], the pectoral muscle's weight (zeros for CC views).
    texture_std
        Standard deviation of the tissue texture in brightness units; lesion contrast is
        expressed relative to it.
    pixel_mm
        Pixel pitch in millimetres.
    """

    brightness: np.ndarray
    mask: np.ndarray
    depth_mm: np.ndarray
    pectoral: np.ndarray
    texture_std: float
    pixel_mm: float


def _outline_inside(
    rng: np.random.Generator, rows: int, cols: int, view: View, step: float
) -> tuple[np.ndarray, np.ndarray | None]:
    """Inside-the-breast indicator and the signed distance to the pectoral muscle's edge
    (None for CC) on a coarse ``rows x cols`` grid (LEFT orientation)."""
    y = np.arange(rows, dtype=np.float32)[:, None] + 0.5
    x = np.arange(cols, dtype=np.float32)[None, :] + 0.5
    if view == "CC":
        top, bottom = rng.uniform(0.06, 0.2) * rows, rng.uniform(0.8, 0.95) * rows
    else:
        top, bottom = -0.2 * rows, rng.uniform(0.82, 0.97) * rows
    centre = 0.5 * (top + bottom) if view == "CC" else rng.uniform(0.5, 0.62) * rows
    depth = rng.uniform(0.6, 0.85) * cols
    power = rng.uniform(1.8, 2.6)
    wobble = power_law_noise(rng, (rows, 1), beta=4.0, grid_step=8)[:, 0] * 0.03
    u = np.where(y < centre, (centre - y) / (centre - top), (y - centre) / (bottom - centre))
    u = np.clip(u, 0.0, 1.0)
    edge = depth * (1.0 - u**power) ** (1.0 / power)
    if view == "MLO":
        # the axillary tail: tissue continues to the top edge, narrowing
        tail = rng.uniform(0.3, 0.45) * cols
        upper = (y < centre).astype(np.float32)
        edge = np.maximum(edge, upper * tail * (1.0 - 0.5 * u))
    edge = edge * (1.0 + wobble[:, None])
    # round off the kinks where the axillary tail meets the breast (and the ends of the curve)
    edge = ndimage.gaussian_filter1d(edge[:, 0], sigma=0.02 * rows, mode="nearest")[:, None]
    inside = x < edge
    if view == "CC":
        return inside, None
    p_cols = rng.uniform(0.22, 0.42) * cols
    p_rows = rng.uniform(0.3, 0.5) * rows
    curve = rng.uniform(0.8, 1.25)
    u = np.clip(1.0 - y / p_rows, 0.0, 1.0)
    pect_edge = p_cols * u**curve
    slope = p_cols * curve * u ** max(curve - 1.0, 0.0) / p_rows  # |d edge / d y|
    # signed distance (cells) to the muscle's edge: positive inside the muscle
    return inside, (pect_edge - x) / np.sqrt(1.0 + slope * slope)


def _signed_distance(inside: np.ndarray, pad_left: bool, pad_top: bool) -> np.ndarray:
    """Signed distance (cells; positive inside) that ignores the grid borders named by the pads."""
    pad = 64
    padded = np.pad(inside, ((pad if pad_top else 0, 0), (pad if pad_left else 0, 0)), mode="edge")
    sd = ndimage.distance_transform_edt(padded) - ndimage.distance_transform_edt(~padded)
    return sd[pad if pad_top else 0 :, pad if pad_left else 0 :].astype(np.float32)


def render_breast(
    rng: np.random.Generator,
    shape: tuple[int, int],
    view: View,
    *,
    density: int = 2,
    pixel_mm: float = 0.05,
    beta: float = 3.0,
) -> Breast:
    """Render a breast with the chest wall at column 0 (the LEFT orientation).

    Parameters
    ----------
    rng
        Random generator (the only source of randomness).
    shape
        ``(rows, cols)`` of the scan.
    view
        ``"CC"`` or ``"MLO"`` (MLO adds the pectoral muscle in the top corner).
    density
        BI-RADS density 1-4: more, brighter and more textured fibroglandular tissue.
    pixel_mm
        Pixel pitch in millimetres (sets the skin line and periphery widths).
    beta
        Spectral exponent of the tissue texture.

    Returns
    -------
    Breast
    """
    rows, cols = shape
    step = max(2, round(max(shape) / 640))
    coarse = (-(-rows // step), -(-cols // step))
    inside, pect = _outline_inside(rng, *coarse, view, step)
    sd = _signed_distance(inside, pad_left=True, pad_top=view == "MLO")

    # smooth fields on the coarse grid, upsampled once each
    depth_c = sd * np.float32(step * pixel_mm)
    inner = np.maximum(depth_c, 0.0)
    density = int(np.clip(density, 1, 4))
    t = np.clip(inner / np.float32(rng.uniform(15.0, 30.0)), 0.0, 1.0)
    thickness = t**0.8  # the compressed breast thins towards the skin
    envelope = np.clip(inner / np.float32(rng.uniform(20.0, 45.0)), 0.0, 1.0)
    envelope = envelope * envelope * (3.0 - 2.0 * envelope)  # smoothstep
    fat = np.float32(rng.uniform(0.05, 0.12))
    gland = np.float32(0.08 + 0.05 * density + rng.uniform(-0.02, 0.02))
    amp = np.float32(0.03 + 0.02 * density)
    skin = np.float32(rng.uniform(0.005, 0.02)) * np.exp(-inner / np.float32(rng.uniform(1.0, 2.5)))
    base = thickness * (fat + envelope * gland) + skin
    gain = thickness * envelope * amp
    if pect is not None:
        psd = pect.astype(np.float32)
        edge_cells = max(1.0, 1.5 / (step * pixel_mm))
        pect_c = np.clip(0.5 + psd / np.float32(edge_cells), 0.0, 1.0)
        ramp = np.clip(psd * np.float32(step * pixel_mm / 30.0), 0.0, 1.0)  # brighter deeper in
        base = base + pect_c * thickness * np.float32(rng.uniform(0.15, 0.25)) * (0.7 + 0.3 * ramp)
        gain = gain * (1.0 - pect_c) + pect_c * thickness * np.float32(0.3) * amp
        pectoral = resize(pect_c, shape)
    else:
        pectoral = np.zeros(shape, dtype=np.float32)

    # texture: power-law field plus curvilinear structures, on a grid of about 2800 rows
    grid_step = max(1, round(max(shape) / 2800))
    grid = (max(8, -(-rows // grid_step)), max(8, -(-cols // grid_step)))
    field = _power_law_grid(rng, *grid, beta)
    extent = inside.sum(axis=1)  # the outline's column on each coarse row
    nipple = (float(np.argmax(extent)) * step / grid_step, float(extent.max()) * step / grid_step)
    field += np.float32(rng.uniform(0.6, 1.2)) * curvilinear_structures(
        rng, grid, grid_step * pixel_mm, nipple
    )
    texture = resize(field, shape)

    depth_mm = resize(depth_c, shape)
    mask = depth_mm > 0
    b = resize(base, shape)
    b += resize(gain, shape) * texture
    background = np.float32(rng.uniform(0.0005, 0.004))
    np.copyto(b, background * (1 + np.float32(0.3) * texture), where=~mask)
    return Breast(
        brightness=b,
        mask=mask,
        depth_mm=depth_mm,
        pectoral=pectoral,
        texture_std=float(amp),
        pixel_mm=pixel_mm,
    )
