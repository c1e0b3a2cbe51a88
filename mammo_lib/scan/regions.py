"""From a probability map to regions in scan pixel coordinates.

Geometry. The map is computed on the scan resampled to the model's scale (``scale`` model
pixels per scan pixel along rows and columns). Cell ``(i, j)`` is the window of ``tile``
model pixels whose top-left corner is ``(i * stride, j * stride)``; its *footprint* is the
``stride x stride`` block centred on that window's centre, so the footprints of all cells
tile the plane without overlap and a region's bounding box is the union of its cells'
footprints. Scan coordinates are ``(row, col)`` in pixels of the original scan.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class MapGeometry:
    """Where the cells of a probability map lie on the scan.

    Attributes
    ----------
    stride
        Map stride in model pixels.
    tile
        Classifier window ``(height, width)`` in model pixels.
    scale
        Model pixels per scan pixel ``(rows, cols)`` (0.5: the scan was halved).
    scan_shape
        ``(height, width)`` of the original scan in pixels.
    origin
        Model-pixel position of cell ``(0, 0)``'s window (negative when the resampled scan was
        padded on its top and left so that windows centre on its border too).
    """

    stride: int
    tile: tuple[int, int]
    scale: tuple[float, float]
    scan_shape: tuple[int, int]
    origin: tuple[int, int] = (0, 0)

    def cell_centres(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the scan coordinates of the centres of cells ``(rows, cols)``."""
        r = np.asarray(rows, dtype=np.float64) * self.stride + self.origin[0] + self.tile[0] / 2
        c = np.asarray(cols, dtype=np.float64) * self.stride + self.origin[1] + self.tile[1] / 2
        return r / self.scale[0], c / self.scale[1]

    def footprint_extent(self, map_shape: tuple[int, int]) -> tuple[float, float, float, float]:
        """Return ``(top, left, bottom, right)`` scan coordinates covered by all footprints."""
        top = (self.origin[0] + (self.tile[0] - self.stride) / 2) / self.scale[0]
        left = (self.origin[1] + (self.tile[1] - self.stride) / 2) / self.scale[1]
        return (
            top,
            left,
            top + map_shape[0] * self.stride / self.scale[0],
            left + map_shape[1] * self.stride / self.scale[1],
        )

    def cell_box(self, row0: int, col0: int, row1: int, col1: int) -> tuple[int, int, int, int]:
        """Return the scan box ``(top, left, bottom, right)`` (bottom/right exclusive, clipped)
        covered by the footprints of cells ``row0..row1`` x ``col0..col1`` (inclusive)."""
        sr, sc = self.scale
        half_r = self.origin[0] + (self.tile[0] - self.stride) / 2
        half_c = self.origin[1] + (self.tile[1] - self.stride) / 2
        top = (row0 * self.stride + half_r) / sr
        left = (col0 * self.stride + half_c) / sc
        bottom = ((row1 + 1) * self.stride + half_r) / sr
        right = ((col1 + 1) * self.stride + half_c) / sc
        h, w = self.scan_shape
        return (
            int(np.clip(np.floor(top), 0, h)),
            int(np.clip(np.floor(left), 0, w)),
            int(np.clip(np.ceil(bottom), 0, h)),
            int(np.clip(np.ceil(right), 0, w)),
        )


@dataclass(frozen=True)
class Region:
    """A connected set of map cells at or above a threshold.

    Attributes
    ----------
    peak_probability
        Largest probability in the region.
    box
        ``(top, left, bottom, right)`` in scan pixels (bottom/right exclusive).
    peak
        ``(row, col)`` scan coordinates of the centre of the region's most probable cell.
    n_cells
        Number of map cells in the region.
    """

    peak_probability: float
    box: tuple[int, int, int, int]
    peak: tuple[float, float]
    n_cells: int

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready mapping."""
        out = asdict(self)
        out["box"] = dict(zip(("top", "left", "bottom", "right"), self.box, strict=True))
        out["peak"] = {"row": round(self.peak[0], 1), "col": round(self.peak[1], 1)}
        out["peak_probability"] = round(self.peak_probability, 6)
        return out


def find_regions(prob_map: np.ndarray, threshold: float, geometry: MapGeometry) -> list[Region]:
    """Label the 8-connected groups of cells with probability ``>= threshold``.

    Parameters
    ----------
    prob_map
        ``(h, w)`` abnormality probabilities.
    threshold
        Cells at or above it belong to regions.
    geometry
        Where the cells lie on the scan.

    Returns
    -------
    list of Region
        Sorted by peak probability, highest first.
    """
    values = np.asarray(prob_map, dtype=np.float64)
    labels, _ = ndimage.label(values >= threshold, structure=np.ones((3, 3), dtype=bool))
    regions = []
    for index, window in enumerate(ndimage.find_objects(labels), start=1):
        inside = labels[window] == index
        local = np.where(inside, values[window], -np.inf)
        pr, pc = np.unravel_index(int(np.argmax(local)), local.shape)
        row0, col0 = window[0].start, window[1].start
        centre = geometry.cell_centres(np.array(row0 + pr), np.array(col0 + pc))
        # a cell at the padded bottom/right edge can centre past the scan: clip into it
        centre = (
            np.clip(centre[0], 0, geometry.scan_shape[0] - 1),
            np.clip(centre[1], 0, geometry.scan_shape[1] - 1),
        )
        regions.append(
            Region(
                peak_probability=float(local[pr, pc]),
                box=geometry.cell_box(row0, col0, window[0].stop - 1, window[1].stop - 1),
                peak=(float(centre[0]), float(centre[1])),
                n_cells=int(inside.sum()),
            )
        )
    regions.sort(key=lambda r: r.peak_probability, reverse=True)
    return regions
