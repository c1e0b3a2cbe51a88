"""The breast-tissue mask: synthetic scans with artifacts, a real MIAS scan, and the map grid."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from mammo_lib.imaging.breast import breast_mask
from mammo_lib.scan.localisation import peaks
from mammo_lib.scan.regions import MapGeometry
from mammo_lib.scan.tissue import restrict_to_tissue, tissue_cells
from mammo_lib.sources.synthetic.scan import LesionSpec, compose_scan

LESION = LesionSpec("mass", diameter_mm=12.0)


def _scan_with_label_and_border(seed: int):
    """The first synthetic scan from `seed` on that has both a label and a border."""
    for s in range(seed, seed + 40):
        scan = compose_scan(
            np.random.default_rng(s), (900, 560), "MLO", "LEFT", pixel_mm=0.1, lesions=[LESION]
        )
        kinds = {a.kind for a in scan.artifacts}
        if {"label", "border"} <= kinds:
            return scan
    raise AssertionError("no synthetic scan with a label and a border in 40 seeds")


@pytest.mark.parametrize("seed", [0, 100])
def test_mask_covers_the_breast_and_excludes_artifacts_and_air(seed: int) -> None:
    scan = _scan_with_label_and_border(seed)
    image = np.rint(scan.brightness * 255).astype(np.uint8)
    mask = breast_mask(image)
    truth = scan.breast_mask
    assert mask.shape == truth.shape
    # the breast: most of it (the dimmest fat at the skin line may fall out) and every lesion
    assert mask[truth].mean() > 0.6
    for lesion, (r0, c0, r1, c1) in zip(scan.lesion_masks, scan.bboxes, strict=True):
        assert mask[lesion].mean() > 0.5 and mask[(r0 + r1) // 2, (c0 + c1) // 2]
    artifacts = np.zeros_like(truth)
    for artifact in scan.artifacts:
        r0, c0, r1, c1 = artifact.bbox
        artifacts[r0:r1, c0:c1] = True
    outside = artifacts & ~ndimage.binary_dilation(truth, iterations=10)
    assert outside.any() and mask[outside].mean() < 0.05  # labels, borders, patches
    air = ~truth & ~artifacts
    assert mask[air].mean() < 0.05


def test_real_mias_scan_excludes_the_film_label() -> None:
    from mammo_lib.imaging.read import read_scan
    from mammo_lib.sources.registry import fetch

    image = read_scan(fetch("mias") / "mdb002.pgm").image
    mask = breast_mask(image)
    assert 0.1 < mask.mean() < 0.7
    # every bright blob (label glyphs, tape) not connected to the breast is excluded
    labels, n = ndimage.label(image > 150)
    sizes = ndimage.sum_labels(np.ones_like(labels), labels, np.arange(1, n + 1))
    inside = ndimage.mean(mask, labels, np.arange(1, n + 1))
    detached = [i for i in range(n) if inside[i] < 0.5]
    assert detached, "mdb002 has a film label off the breast"
    assert max(sizes[i] for i in detached) > 50  # the label is a real blob, not noise
    assert all(inside[i] < 0.05 for i in detached)


def test_cells_by_receptive_field_centre_and_peak_outside_tissue_is_ignored() -> None:
    mask = np.zeros((400, 400), dtype=bool)
    mask[:, 200:] = True  # tissue on the right half
    geometry = MapGeometry(stride=10, tile=(20, 20), scale=(0.5, 0.5), scan_shape=(400, 400))
    cells = tissue_cells(mask, geometry, (19, 19))
    _, c = geometry.cell_centres(np.arange(19), np.arange(19))
    assert np.array_equal(cells[0], c >= 200) and cells.all(axis=0).sum() == (c >= 200).sum()
    prob = np.full((19, 19), 0.1, dtype=np.float32)
    prob[5, 2] = 0.99  # a peak on the air
    prob[12, 15] = 0.6  # a peak in the breast
    assert peaks(prob)[2][0] == pytest.approx(0.99)
    restricted = restrict_to_tissue(prob, cells)
    rows, cols, values = peaks(restricted)
    assert (rows[0], cols[0]) == (12, 15) and values[0] == pytest.approx(0.6)
    assert restricted[~cells].max() == 0 and restricted.dtype == np.float32
