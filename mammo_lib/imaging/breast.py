"""The breast in a whole scan: a mask that excludes air, film labels and the film's edge bands.

:func:`breast_mask` finds the breast as a CAD system would: Otsu thresholds applied to ever
darker classes of a downsampled scan; a small opening that cuts thin bridges to borders; an
opening by a disk of :data:`BAND_OPENING` of the scan's long side that removes the film's
edge bands (the bright strips, 5-11 mm wide, that run the full height of the real CBIS-DDSM
films along their chest-wall edge, above and below the breast); the largest bright connected
component, holes filled. A constant image has no breast.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from mammo_lib.imaging.spectrum import otsu_threshold, tissue_mask

#: Longest side (pixels) of the downsampled scan the mask is computed on.
MASK_MAX_SIDE = 512
#: Opening radius (downsampled pixels) that detaches borders and labels touching the breast.
MASK_OPENING = 2
#: Otsu applied this many times, each on the darker class of the previous one.
OTSU_LEVELS = 3
#: Radius of the disk opening, as a fraction of the downsampled scan's long side: 3% (15 of
#: 512 pixels, 13 mm on a CBIS-DDSM film, 6 mm on mini-MIAS) is wider than half the film's
#: edge bands and far narrower than a breast.
BAND_OPENING = 0.03


def disk_opening(mask: np.ndarray, radius: float) -> np.ndarray:
    """Binary opening by a disk of `radius` pixels (Euclidean distance transforms).

    Outside the image counts as background, so a strip along the border narrower than the
    disk is removed like any other.
    """
    if radius <= 0 or not mask.any():
        return mask.copy()
    inside = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    eroded = inside > radius
    if not eroded.any():
        return np.zeros_like(mask)
    return mask & (ndimage.distance_transform_edt(~eroded) <= radius)


def _fat_threshold(small: np.ndarray, levels: int) -> float:
    """Otsu on the scan, then on its darker class, `levels` times in all.

    The first split separates dense tissue from fat and air; the dim fat near the skin line
    is only separated from the air by the later ones.
    """
    threshold = otsu_threshold(small)
    for _ in range(levels - 1):
        darker = small[small <= threshold]
        if darker.size < 2 or np.ptp(darker) == 0:
            break
        threshold = otsu_threshold(darker)
    return threshold


def breast_mask(
    image: np.ndarray,
    max_side: int = MASK_MAX_SIDE,
    opening: int = MASK_OPENING,
    band_opening: float = BAND_OPENING,
) -> np.ndarray:
    """Return the breast of a scan: bool, the scan's shape (all False for a constant image).

    Parameters
    ----------
    image
        2-D greyscale scan, bright = dense.
    max_side
        The scan is block-averaged so that its longest side is at most this.
    opening
        Iterations of binary opening before the largest component is kept.
    band_opening
        Radius of the disk opening as a fraction of the downsampled long side (0: none).
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"expected a 2-D scan, got shape {image.shape}")
    if image.size == 0 or np.ptp(image) == 0:
        return np.zeros(image.shape, dtype=bool)
    factor = max(1, int(np.ceil(max(image.shape) / max_side)))
    rows, cols = -(-image.shape[0] // factor) * factor, -(-image.shape[1] // factor) * factor
    padded = np.pad(image, ((0, rows - image.shape[0]), (0, cols - image.shape[1])), mode="edge")
    small = padded.reshape(rows // factor, factor, cols // factor, factor).mean(axis=(1, 3))
    threshold = _fat_threshold(small, OTSU_LEVELS)
    bright = small > threshold
    if opening > 0:
        bright = ndimage.binary_opening(bright, iterations=opening)
    bright = disk_opening(bright, band_opening * max(small.shape))
    if not bright.any():
        return np.zeros(image.shape, dtype=bool)
    # tissue_mask: largest component above the threshold, holes filled
    mask = tissue_mask(bright.astype(np.float32), 0.5)
    full = np.repeat(np.repeat(mask, factor, axis=0), factor, axis=1)
    return full[: image.shape[0], : image.shape[1]]
