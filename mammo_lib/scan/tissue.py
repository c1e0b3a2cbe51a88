"""The breast on a probability map's grid: which cells a whole-scan map keeps.

The tile classifier only ever saw tiles inside the breast, so its map is meaningless (and
often highest) on air, the skin line's outside, film labels and white borders.
:func:`tissue_cells` marks the map cells whose receptive-field centre lies in the breast
(:func:`mammo_lib.imaging.breast.breast_mask`); :func:`restrict_to_tissue` sets every other
cell to 0 (not NaN: 0 is the "normal" probability, so the scan score, peaks and regions need
no NaN handling and the map stays a valid probability map).
"""

from __future__ import annotations

import numpy as np

from mammo_lib.scan.regions import MapGeometry


def tissue_cells(mask: np.ndarray, geometry: MapGeometry, map_shape: tuple[int, int]) -> np.ndarray:
    """Return a bool map: True where the cell's receptive-field centre lies in `mask`."""
    r, c = geometry.cell_centres(np.arange(map_shape[0]), np.arange(map_shape[1]))
    ri, ci = np.floor(r).astype(int), np.floor(c).astype(int)
    ok_r = (ri >= 0) & (ri < mask.shape[0])
    ok_c = (ci >= 0) & (ci < mask.shape[1])
    cells = mask[np.clip(ri, 0, mask.shape[0] - 1)][:, np.clip(ci, 0, mask.shape[1] - 1)]
    return cells & ok_r[:, None] & ok_c[None, :]


def restrict_to_tissue(prob_map: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Return a copy of `prob_map` with the cells outside tissue set to 0."""
    if cells.shape != prob_map.shape:
        raise ValueError(f"tissue cells {cells.shape} do not match the map {prob_map.shape}")
    return np.where(cells, prob_map, 0).astype(prob_map.dtype)
