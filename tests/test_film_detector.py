"""The whole-film detector: film preparation, targets, augmentation, training, held-out maps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mammo_lib.dataset.mias_scans import (
    MiasScanConfig,
    MiasScans,
    ensure_mias_scans,
    lesion_target,
    prepare_film,
)
from mammo_lib.scan.froc import map_marks
from mammo_lib.scan.mias_maps import film_cases, film_geometry
from mammo_lib.train.scan_detector import (
    ScanDetectorRecipe,
    augment_film,
    film_maps,
    train_scan_detector,
    train_scan_folds,
    training_rows,
)

GRID = MiasScanConfig(down=4, stride=4)  # cells of 16 MIAS pixels, centres at 16 i + 8


def test_target_marks_the_cells_whose_centre_lies_in_the_circle() -> None:
    # lesion at row 100, col 200, radius 19; cell centres 16 i + 8: rows 88, 104, 120 and
    # columns 184, 200, 216 are the candidates
    target = lesion_target([(100.0, 200.0, 19.0)], GRID, mirrored=False)
    # (88, 200): 12 away; (104, 184/200/216): 16.5, 4, 16.5; (88, 184): 20; (120, 200): 20
    assert np.argwhere(target).tolist() == [[5, 12], [6, 11], [6, 12], [6, 13]]
    # mirrored: the film's column 200 is column 1023 - 200 = 823 of the mirrored film;
    # (88, 824): 12.04; (104, 808/824/840): 15.5, 4.1, 17.5; (88, 808): 19.2
    flipped = lesion_target([(100.0, 200.0, 19.0)], GRID, mirrored=True)
    assert np.argwhere(flipped).tolist() == [[5, 51], [6, 50], [6, 51], [6, 52]]
    # a tiny circle (radius 3) still marks the cells within 0.75 cells (12 px) of its centre
    tiny = lesion_target([(104.0, 200.0, 3.0)], GRID, mirrored=False)
    assert np.argwhere(tiny).tolist() == [[6, 12]]


def test_config_refuses_a_grid_that_does_not_divide_the_film() -> None:
    with pytest.raises(ValueError, match="down must divide"):
        MiasScanConfig(down=3)
    with pytest.raises(ValueError, match="stride must divide"):
        MiasScanConfig(down=4, stride=3)


def test_real_film_is_turned_chest_wall_left_and_its_lesion_follows() -> None:
    from mammo_lib.imaging.read import read_scan
    from mammo_lib.sources.mias import load_mias, to_row_col

    mias = load_mias()
    for refnum in ("mdb001", "mdb002"):  # one woman's right and left films
        image = read_scan(mias.path(refnum)).image
        line = mias.lines(refnum).iloc[0]
        row, col = to_row_col(line.x, line.y)
        small, tissue, target, mirrored = prepare_film(image, [(row, col, line.radius)], GRID)
        assert small.shape == (256, 256) and tissue.shape == target.shape == (64, 64)
        assert tissue[:, :32].sum() > tissue[:, 32:].sum()  # more breast on the left
        expected_col = (1023 - col if mirrored else col) // 16
        assert target[int(row) // 16, int(expected_col)]
        # the grey levels are the film's, block-averaged (mirrored or not)
        film = image[:, ::-1] if mirrored else image
        assert abs(int(small[10, 20]) - film[40:44, 80:84].mean()) <= 0.5
    assert prepare_film(read_scan(mias.path("mdb001")).image, [], GRID)[3]
    assert not prepare_film(read_scan(mias.path("mdb002")).image, [], GRID)[3]


def test_augmentation_keeps_the_target_on_the_lesion() -> None:
    config = MiasScanConfig(down=16, stride=4)  # 64-px films, 16 x 16 cells
    image = np.full((64, 64), 40, dtype=np.uint8)
    rr, cc = np.mgrid[:64, :64]
    image[np.hypot(rr - 26, cc - 38) <= 6] = 220
    target = lesion_target([(26 * 16, 38 * 16, 6 * 16)], config, mirrored=False)
    weight = np.ones((16, 16), dtype=np.float32)
    rng = np.random.default_rng(0)
    for _ in range(20):
        img, tgt, w = augment_film(image, target, weight, config.stride, rng)
        cells = img.astype(float).reshape(16, 4, 16, 4).mean(axis=(1, 3))
        on = tgt > 0.5
        assert on.any()
        assert cells[on].mean() > 120 > cells[~on & (w > 0)].mean()


def _blob_films(n: int, seed: int) -> MiasScans:
    """Films of 64 px (down 16): noise, and a bright disk on every other film."""
    config = MiasScanConfig(down=16, stride=4)
    rng = np.random.default_rng(seed)
    rr, cc = np.mgrid[:64, :64]
    images, targets, meta, lesions = [], [], [], []
    for i in range(n):
        image = rng.normal(90, 12, (64, 64))
        circles = []
        if i % 2:
            r, c = rng.integers(12, 52, 2)
            image[np.hypot(rr - r, cc - c) <= 5] += 70
            circles = [(r * 16.0, c * 16.0, 5 * 16.0)]
            lesions.append(
                {
                    "scan_id": f"f{i:03d}",
                    "abnormality": "CIRC",
                    "row": r * 16.0,
                    "col": c * 16.0,
                    "radius": 80.0,
                }
            )
        images.append(np.clip(image, 0, 255).astype(np.uint8))
        targets.append(lesion_target(circles, config, mirrored=False))
        meta.append(
            {
                "scan_id": f"f{i:03d}",
                "patient_id": f"W{i // 2:03d}",
                "tissue_class": "F",
                "abnormal": bool(i % 2),
                "located": True,
                "mirrored": False,
            }
        )
    return MiasScans(
        np.stack(images),
        np.ones((n, 16, 16), dtype=bool),
        np.stack(targets),
        pd.DataFrame(meta),
        pd.DataFrame(lesions, columns=["scan_id", "abnormality", "row", "col", "radius"]),
        config,
    )


def test_detector_learns_blobs_and_maps_held_out_films_with_their_lesions() -> None:
    data = _blob_films(48, seed=1)
    recipe = ScanDetectorRecipe(
        scans=data.config,
        width=8,
        levels=3,
        epochs=25,
        batch_size=8,
        learning_rate=3e-3,
        pos_weight=5.0,
        augment=False,
    )
    folds = np.arange(48) // 2 % 2  # by woman
    runs, maps = train_scan_folds(data, folds, recipe, progress=False)
    assert len(runs) == 2 and maps.shape == (48, 16, 16)
    cases = film_cases(data, maps)
    hits = 0
    for case in cases:
        if not case.lesions:
            continue
        rows, cols, _ = map_marks(case.prob_map)
        r, c = case.geometry.cell_centres(rows[:1], cols[:1])
        hits += bool(case.lesions[0].distance(r, c)[0] <= 16)
    assert hits >= 20  # of 24 lesion films, each mapped by the model that never saw it
    top_normal = max(c.prob_map.max() for c in cases if not c.lesions)
    top_lesion = sorted(c.prob_map.max() for c in cases if c.lesions)
    assert np.mean(np.array(top_lesion) > top_normal) > 0.5
    # cached by content: the same recipe and films give the same folder without training
    again = train_scan_detector(data, folds != 0, recipe, progress=False)
    assert again == runs[0]
    assert np.allclose(
        film_maps(runs[0], data, np.nonzero(folds == 0)[0], tta=recipe.tta), maps[folds == 0]
    )


def test_folds_that_split_a_woman_are_refused_and_unlocated_films_are_not_trained_on() -> None:
    data = _blob_films(8, seed=2)
    with pytest.raises(ValueError, match="more than one fold"):
        train_scan_folds(data, np.arange(8) % 2, ScanDetectorRecipe(scans=data.config))
    data.meta.loc[3, "located"] = False
    assert training_rows(data).tolist() == [0, 1, 2, 4, 5, 6, 7]
    assert training_rows(data, np.arange(8) < 4).tolist() == [0, 1, 2]


def test_film_cases_undo_the_mirroring() -> None:
    data = _blob_films(2, seed=3)
    data.meta.loc[1, "mirrored"] = True
    maps = np.zeros((2, 16, 16), dtype=np.float32)
    maps[1, 5, 2] = 0.9  # prepared orientation: column 2 from the chest wall
    case = film_cases(data, maps)[1]
    rows, cols, _ = map_marks(case.prob_map)
    assert (rows[0], cols[0]) == (5, 13)
    r, c = film_geometry(data).cell_centres(rows[:1], cols[:1])
    assert (r[0], c[0]) == (5 * 64 + 32, 13 * 64 + 32)


def test_cached_film_set_is_reused(tmp_path) -> None:
    config = MiasScanConfig(n_images=4)
    first = ensure_mias_scans(config, cache=tmp_path, progress=False)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].name == f"{config.key()}.npz"
    again = ensure_mias_scans(config, cache=tmp_path, progress=False)
    assert np.array_equal(first.images, again.images)
    assert first.meta.equals(again.meta) and first.lesions.equals(again.lesions)
    assert first.meta["mirrored"].dtype == bool
