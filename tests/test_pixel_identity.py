"""A tile cut by the dataset build and the same region read by the whole-scan path are equal.

The build (:mod:`mammo_lib.dataset.tasks`) and chapter 08's whole-scan path
(:mod:`mammo_lib.scan.localisation`) each read their scans; here the build's tiles, decoded
from its records, are searched for in the images the whole-scan path hands to the model
(captured by standing in for ``predict_scan``): every tile must be, pixel for pixel, the
resized crop of one grid window of that image, up to the tile's random flip and rotation.
CBIS-style scans and DDSM normals of all three digitizers come from the project's synthetic
generator, MIAS from the real mirror. The study's own rules change pixels or the grid on
purpose (white set to black on DDSM scans, datasets 6/8's shrunk scans, the black-column
trim of MIAS normals), so the identity of the reading is checked on recipe 9 with the
project's variants of those rules.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from mammo_lib.dataset.plan import DatasetInputs, plan_cbis, plan_ddsm, plan_mias
from mammo_lib.dataset.png import decode_png
from mammo_lib.dataset.recipes import get_recipe
from mammo_lib.dataset.tasks import load_result, run_task
from mammo_lib.extract.common import cut
from mammo_lib.extract.mias import scale_scan
from mammo_lib.extract.normals import tile_boxes, trim_box
from mammo_lib.imaging.intensity import resize
from mammo_lib.scan import localisation

SEED = 11
SMALL = {"crop_size": 299, "tile_size": 48, "include_mias": False}


def _symmetries(tile: np.ndarray) -> set[bytes]:
    """The eight flips and rotations of a square tile, as bytes."""
    out = set()
    for k in range(4):
        r = np.rot90(tile, k)
        out |= {r.tobytes(), np.ascontiguousarray(r[:, ::-1]).tobytes()}
    return out


def _grid_windows(image: np.ndarray, crop: int, stride: int, trim: float, size: int) -> set[bytes]:
    """Every grid window the build may cut from `image`, resized, in all eight orientations."""
    found: set[bytes] = set()
    for box in tile_boxes(trim_box(image.shape, trim), crop, stride):
        found |= _symmetries(resize(cut(image, box), size))
    return found


def _mapped_images(monkeypatch: pytest.MonkeyPatch) -> dict[str, np.ndarray]:
    """Stand in for the model: record the image of every scan the whole-scan path maps."""
    seen: dict[str, np.ndarray] = {}

    def record(predictor, scan, **kwargs):
        seen[Path(scan.path).name] = scan.image
        return SimpleNamespace(prob_map=np.zeros((1, 1)), geometry=None, tissue=None)

    monkeypatch.setattr(localisation, "predict_scan", record)
    return seen


def _tiles(task, recipe, cache: Path) -> list[np.ndarray]:
    run_task(task, recipe, SEED, cache)
    result = load_result(cache / task.cache_name())
    assert not result["skips"], result["skips"]
    return [decode_png(r["image"]) for r in result["records"]]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory):
    from mammo_lib.sources.synthetic.tree import generate

    # three normal cases: the generator gives the first three one digitizer each
    return generate(tmp_path_factory.mktemp("tree"), 2, seed=SEED, size="small", normals=3)


def test_ddsm_tiles_are_regions_of_the_mapped_views(tree, tmp_path, monkeypatch):
    recipe = get_recipe("9", **SMALL, ddsm_white_to_black=False)
    tasks = plan_ddsm(DatasetInputs(ddsm_root=tree.ddsm_root), recipe, SEED).tasks
    assert {t.digitizer for t in tasks} == {"DBA", "LUMISYS", "HOWTEK"}
    seen = _mapped_images(monkeypatch)
    localisation.map_synthetic_scans(None, tree.root, max_scans=0)
    stride = round(recipe.crop_size * 350 / 598)
    checked = set()
    for task in tasks:
        image = seen[Path(task.path).name]
        tiles = _tiles(task, recipe, tmp_path)
        if not tiles:
            continue  # the keep-rule rejected every window of this view
        windows = _grid_windows(image, recipe.crop_size, stride, recipe.trim, recipe.tile_size)
        for tile in tiles:
            assert tile.tobytes() in windows, f"{task.key}: a tile is no region of the mapped view"
        checked.add(task.digitizer)
    assert checked == {"DBA", "LUMISYS", "HOWTEK"}, f"tiles kept only for {checked}"


def test_recipe_8_normals_are_tiles_of_the_shrunk_views(tree, tmp_path, monkeypatch):
    # Recipe 8 (and 6): each view shrunk by its own draw in 1.8-3.2, white set to black, 7%
    # trimmed, tiles of the tile size cut at the draw's stride (150-200 at 299), no resize.
    from mammo_lib.extract.common import scan_rng
    from mammo_lib.extract.normals import draw_shrunk_tiling, shrink_scan, whites_to_black

    recipe = get_recipe("8", **SMALL)
    tasks = plan_ddsm(DatasetInputs(ddsm_root=tree.ddsm_root), recipe, SEED).tasks
    seen = _mapped_images(monkeypatch)
    localisation.map_synthetic_scans(None, tree.root, max_scans=0)
    checked = 0
    for task in tasks:
        draw = draw_shrunk_tiling(
            scan_rng(SEED, task.key), crop_size=recipe.crop_size, out_size=recipe.tile_size
        )
        # the study's factor and stride, mapped to this geometry (299 crops stored at 48)
        assert 1.8 <= draw.factor * 2 * recipe.tile_size / recipe.crop_size <= 3.2
        assert 150 * 48 / 299 - 1 <= draw.stride <= 200 * 48 / 299 + 1
        small = whites_to_black(shrink_scan(seen[Path(task.path).name], draw.factor))
        windows: set[bytes] = set()
        for box in tile_boxes(trim_box(small.shape, recipe.trim), recipe.tile_size, draw.stride):
            windows |= _symmetries(cut(small, box))
        tiles = _tiles(task, recipe, tmp_path)
        for tile in tiles:
            assert tile.tobytes() in windows, f"{task.key}: not a tile of the shrunk view"
        checked += len(tiles)
    assert checked > 0


def test_cbis_tiles_are_regions_of_the_mapped_scans(tree, tmp_path, monkeypatch):
    recipe = get_recipe("9-background", **SMALL, stride=100)
    inputs = DatasetInputs(cbis_root=tree.cbis_root, cbis_tables=tree.cbis_root)
    tasks = plan_cbis(inputs, recipe, SEED).tasks
    seen = _mapped_images(monkeypatch)
    localisation.map_synthetic_scans(None, tree.root, max_normals=0)
    n_background = 0
    for task in tasks:
        run_task(task, recipe, SEED, tmp_path)
        records = load_result(tmp_path / task.cache_name())["records"]
        background = [decode_png(r["image"]) for r in records if r["source"] == "cbis-background"]
        image = seen[Path(task.path).name]
        windows = _grid_windows(image, recipe.crop_size, 100, recipe.trim, recipe.tile_size)
        for tile in background:
            assert tile.tobytes() in windows, f"{task.key}: a tile is no region of the mapped scan"
        n_background += len(background)
    assert n_background > 0


def test_mias_tiles_are_regions_of_the_mapped_scans(tmp_path, monkeypatch):
    from mammo_lib.sources.mias import load_mias

    mias = load_mias()
    refnums = ["mdb003", "mdb004"]  # normal scans
    recipe = get_recipe("9", **{**SMALL, "include_mias": True}, mias_normals="project")
    inputs = DatasetInputs(mias_folder=mias.folder, mias_refnums=tuple(refnums))
    tasks = plan_mias(inputs, recipe, SEED).tasks
    assert [t.scan_id for t in tasks] == refnums and not any(t.rois for t in tasks)
    seen = _mapped_images(monkeypatch)
    localisation.mias_cases(None, mias, refnums)
    stride = round(recipe.mias_crop * 350 / 598)
    n_tiles = 0
    for task in tasks:
        # the build works on the scan resized to CBIS-DDSM's scale; so does the search
        image = scale_scan(seen[Path(task.path).name], recipe.mias_scale)
        windows = _grid_windows(image, recipe.mias_crop, stride, recipe.trim, recipe.tile_size)
        tiles = _tiles(task, recipe, tmp_path)
        for tile in tiles:
            assert tile.tobytes() in windows, f"{task.key}: a tile is no region of the mapped scan"
        n_tiles += len(tiles)
    assert n_tiles > 0
