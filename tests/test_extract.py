"""ROI extraction (methods 1 and 2), normal tiling with keep-rules, MIAS crops, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from mammo_lib.extract import cbis, common, mias, normals
from mammo_lib.extract.common import ExtractionSkip
from mammo_lib.imaging.intensity import resize

CROP, OUT = 60, 30  # small stand-ins for the study's 598 -> 299


def _scan(shape=(400, 300), seed=0) -> np.ndarray:
    """A tissue-like 8-bit scan: smooth random texture around grey level 120."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, (shape[0] // 10 + 1, shape[1] // 10 + 1))
    up = np.kron(noise, np.ones((10, 10)))[: shape[0], : shape[1]]
    return np.clip(120 + 25 * up, 0, 255).astype(np.uint8)


def _mask(shape, box) -> np.ndarray:
    mask = np.zeros(shape, dtype=np.uint8)
    r0, c0, r1, c1 = box
    mask[r0:r1, c0:c1] = 255
    return mask


def test_scan_rng_depends_on_seed_and_id_only():
    a = common.scan_rng(7, "P_00001_LEFT_CC").integers(0, 1 << 30, 5)
    b = common.scan_rng(7, "P_00001_LEFT_CC").integers(0, 1 << 30, 5)
    c = common.scan_rng(8, "P_00001_LEFT_CC").integers(0, 1 << 30, 5)
    d = common.scan_rng(7, "P_00002_LEFT_CC").integers(0, 1 << 30, 5)
    assert (a == b).all() and not (a == c).all() and not (a == d).all()


def test_method2_small_roi_random_crops_contain_context():
    scan = _scan()
    box = (150, 100, 180, 140)  # 30 x 40, smaller than the crop
    mask = _mask(scan.shape, box)
    assert cbis.roi_box_from_mask(mask, scan.shape) == box
    crops = cbis.method2_crops(scan, box, np.random.default_rng(1), crop_size=CROP, out_size=OUT)
    assert len(crops) == 3
    side = cbis.region_side(40, CROP)
    assert side == int(np.ceil(1.2 * CROP))
    center = (165, 120)
    for crop in crops:
        r0, c0, r1, c1 = crop.box
        assert (r1 - r0, c1 - c0) == (CROP, CROP)
        assert crop.tile.shape == (OUT, OUT) and crop.tile.dtype == np.uint8
        # inside the 1.2 * crop region around the ROI centre
        assert center[0] - side / 2 - 1 <= r0 and r1 <= center[0] + side / 2 + 1
        assert center[1] - side / 2 - 1 <= c0 and c1 <= center[1] + side / 2 + 1
        # the tile is the resized window, up to a flip/rotation
        window = resize(scan[r0:r1, c0:c1], OUT)
        assert any(
            np.array_equal(np.rot90(w, k), crop.tile)
            for w in (window, window[:, ::-1], window[::-1, :], window[::-1, ::-1])
            for k in range(4)
        )
    assert len({c.box for c in crops}) > 1


def test_method2_large_roi_gets_three_random_crops_like_every_roi():
    # The study (crop_cbis_images_9, crop_mias_images_9): three random crops of the padded
    # ROI region for every ROI; small or large by the ROI's larger side.
    scan = _scan((500, 400))
    box = (100, 80, 250, 130)  # 150 x 50: larger than the crop along the rows only
    crops = cbis.method2_crops(scan, box, np.random.default_rng(2), crop_size=CROP, out_size=OUT)
    assert [c.kind for c in crops] == ["random"] * 3
    # Larger side 150 >= 60, so 5% context on both axes: rows max(63, 150), cols max(63, 50).
    sides = cbis.region_sides(150, 50, CROP)
    assert sides == (150, int(np.ceil(1.05 * CROP)))
    # The per-axis variant would give the short axis 20% context instead.
    assert cbis.region_sides(150, 50, CROP, pad_by="axis") == (150, int(np.ceil(1.2 * CROP)))
    center = (175, 105)
    for crop in crops:
        r0, c0, r1, c1 = crop.box
        assert (r1 - r0, c1 - c0) == (CROP, CROP)
        assert center[0] - sides[0] / 2 - 1 <= r0 and r1 <= center[0] + sides[0] / 2 + 1
        assert center[1] - sides[1] / 2 - 1 <= c0 and c1 <= center[1] + sides[1] / 2 + 1
    # A small ROI with one side near the crop: 20% on both axes (its larger side is 55 < 60).
    assert cbis.region_sides(55, 10, CROP) == (int(np.ceil(1.2 * CROP)),) * 2


def test_method2_grid_option_covers_a_large_roi():
    scan = _scan((500, 400))
    box = (100, 80, 250, 180)  # 150 x 100, larger than the crop
    crops = cbis.method2_crops(
        scan, box, np.random.default_rng(2), crop_size=CROP, out_size=OUT, large_rois="grid"
    )
    assert all(c.kind == "tile" for c in crops)
    covered = np.zeros(scan.shape, bool)
    for c in crops:
        covered[c.box[0] : c.box[2], c.box[1] : c.box[3]] = True
    assert covered[box[0] : box[2], box[1] : box[3]].all()
    assert len(crops) == int(np.ceil(150 / CROP)) * int(np.ceil(100 / CROP))
    with pytest.raises(ValueError, match="large_rois"):
        cbis.method2_crops(scan, box, np.random.default_rng(2), large_rois="all", crop_size=CROP)


def test_method1_variants_centred_and_tiles():
    scan = _scan((500, 400))
    box = (100, 100, 230, 150)  # 130 x 50: larger than the crop, elongated
    crops = cbis.method1_crops(
        scan,
        box,
        np.random.default_rng(3),
        crop_size=CROP,
        out_size=OUT,
        variants=cbis.METHOD1_VARIANTS,
    )
    kinds = [c.kind for c in crops]
    n_tiles = int(np.ceil(130 / CROP))  # one column of tiles (50 < 60), three rows
    assert kinds == ["original", "centred", "zoomed", "half", "half"] + ["tile"] * n_tiles
    centred = crops[1].box
    assert ((centred[0] + centred[2]) / 2, (centred[1] + centred[3]) / 2) == (165, 125)
    covered = np.zeros(scan.shape, bool)
    for c in crops[5:]:
        covered[c.box[0] : c.box[2], c.box[1] : c.box[3]] = True
    assert covered[box[0] : box[2], box[1] : box[3]].all()
    only_zoomed = cbis.method1_crops(
        scan, box, np.random.default_rng(3), crop_size=CROP, out_size=OUT, variants=("zoomed",)
    )
    assert [c.kind for c in only_zoomed] == ["zoomed"]
    with pytest.raises(ValueError, match="unknown method-1 variants"):
        cbis.method1_crops(scan, box, np.random.default_rng(3), variants=("sideways",))


def test_method1_original_zoomed_and_halves():
    scan = _scan()
    box = (100, 100, 130, 200)  # 30 x 100: elongated
    crops = cbis.method1_crops(scan, box, np.random.default_rng(3), crop_size=CROP, out_size=OUT)
    kinds = [c.kind for c in crops]
    assert kinds == ["original", "zoomed", "half", "half"]
    zoom = crops[1].box
    assert zoom[3] - zoom[1] == int(np.ceil(1.2 * 100))
    assert zoom[0] <= box[0] and zoom[2] >= box[2]
    halves = [c.box for c in crops[2:]]
    assert [(b[1] + b[3]) / 2 for b in halves] == [125, 175]
    round_box = (100, 100, 140, 140)
    kinds = [
        c.kind
        for c in cbis.method1_crops(
            scan, round_box, np.random.default_rng(3), crop_size=CROP, out_size=OUT
        )
    ]
    assert kinds == ["original", "zoomed"]
    original = cbis.method1_crops(
        scan, round_box, np.random.default_rng(4), crop_size=CROP, out_size=OUT
    )[0].box
    assert original[0] <= 100 and original[2] >= 140 and original[1] <= 100 and original[3] >= 140


def test_windows_stay_inside_the_scan_at_its_edge():
    scan = _scan((200, 150))
    box = (0, 130, 20, 150)  # touches the top-right corner
    for crop in cbis.method2_crops(
        scan, box, np.random.default_rng(5), crop_size=CROP, out_size=OUT
    ):
        r0, c0, r1, c1 = crop.box
        assert r0 >= 0 and c0 >= 0 and r1 <= 200 and c1 <= 150


@pytest.mark.parametrize(
    ("mask_shape", "box", "reason"),
    [
        ((400, 300), None, "empty-mask"),
        ((410, 300), (10, 10, 20, 20), "mask-shape-mismatch"),
        ((300, 300), (10, 10, 20, 20), "mask-shape-mismatch"),
    ],
)
def test_bad_masks_are_skipped_with_a_reason(mask_shape, box, reason):
    mask = np.zeros(mask_shape, np.uint8) if box is None else _mask(mask_shape, box)
    with pytest.raises(ExtractionSkip) as info:
        cbis.roi_box_from_mask(mask, (400, 300))
    assert info.value.reason == reason


def test_bad_boxes_and_small_scans_are_skipped():
    scan = _scan((100, 80))
    with pytest.raises(ExtractionSkip, match="roi-larger-than-scan"):
        cbis.method2_crops(
            scan, (0, 0, 120, 50), np.random.default_rng(0), crop_size=50, out_size=25
        )
    with pytest.raises(ExtractionSkip, match="roi-outside-scan"):
        cbis.method2_crops(
            scan, (90, 70, 110, 90), np.random.default_rng(0), crop_size=50, out_size=25
        )
    with pytest.raises(ExtractionSkip, match="scan-smaller-than-tile"):
        cbis.method2_crops(
            scan, (10, 10, 20, 20), np.random.default_rng(0), crop_size=90, out_size=45
        )
    with pytest.raises(ExtractionSkip, match="scan-smaller-than-tile"):
        normals.normal_tiles(scan, "DBA 21", np.random.default_rng(0), crop_size=80, out_size=40)


def test_keep_rules_follow_the_study():
    assert normals.keep_rule("DBA 21") == normals.KEEP_RULES["DBA"]
    assert normals.keep_rule("LUMISYS LASER").mean_min == 28
    assert normals.keep_rule("howtek 960").var_max == 10000
    with pytest.raises(ExtractionSkip, match="unknown-digitizer"):
        normals.keep_rule("AGFA")
    dba = normals.KEEP_RULES["DBA"]
    rng = np.random.default_rng(0)
    tissue = np.clip(rng.normal(100, 10, (598, 598)), 0, 255).astype(np.uint8)  # var ~100
    assert normals.tile_stats(tissue, dba).reason == "kept"
    flat = np.full((598, 598), 100, np.uint8)
    assert normals.tile_stats(flat, dba).reason == "variance"
    dim = np.clip(rng.normal(35, 10, (598, 598)), 21, 255).astype(np.uint8)
    assert normals.tile_stats(dim, dba).reason == "mean"
    assert normals.tile_stats(dim, normals.KEEP_RULES["LUMISYS"]).reason == "kept"
    bright = tissue.copy()
    bright.flat[:99] = 230
    assert normals.tile_stats(bright, dba).kept  # 99 bright pixels: fewer than 100
    bright.flat[:100] = 230
    assert normals.tile_stats(bright, dba).reason == "bright"
    dark = tissue.copy()
    dark.flat[:50000] = 0
    assert normals.tile_stats(dark, dba).reason != "dark"  # at most 50000 is allowed
    dark.flat[:50001] = 0
    assert normals.tile_stats(dark, dba).reason == "dark"


def test_normal_tiling_trims_strides_and_rejects_background():
    scan = _scan((400, 300))
    scan[:, 200:] = 0  # air beside the breast
    tiles = normals.normal_tiles(
        scan,
        "HOWTEK 960",
        np.random.default_rng(0),
        crop_size=CROP,
        out_size=OUT,
        keep_rejected=True,
    )
    area = normals.trim_box(scan.shape)
    assert area == (28, 21, 372, 279)
    stride = round(CROP * 350 / 598)
    assert {t.box[0] for t in tiles} == set(range(28, 372 - CROP + 1, stride))
    kept = [t for t in tiles if t.stats.kept]
    rejected = [t for t in tiles if not t.stats.kept]
    assert kept and rejected
    assert all(t.tile is None for t in rejected)
    assert all(t.tile.shape == (OUT, OUT) for t in kept)
    assert any(t.stats.reason == "dark" for t in rejected)
    assert all(t.box[3] <= 200 + CROP * 0.25 for t in kept)  # mostly-air tiles rejected
    only_kept = normals.normal_tiles(
        scan, "HOWTEK 960", np.random.default_rng(0), crop_size=CROP, out_size=OUT
    )
    assert [t.box for t in only_kept] == [t.box for t in kept]


def test_white_pixels_become_black_before_tiling():
    # The study's remove_white_from_image: pure white (255) -> 0 before tiling DDSM scans.
    scan = _scan((400, 300))
    scan[100:160, 100:200] = 255  # a patch covering identifying text
    with_white = normals.normal_tiles(
        scan, "BASIC", np.random.default_rng(0), crop_size=CROP, out_size=OUT, keep_rejected=True
    )
    blacked = normals.normal_tiles(
        scan,
        "BASIC",
        np.random.default_rng(0),
        crop_size=CROP,
        out_size=OUT,
        keep_rejected=True,
        white_to_black=True,
    )
    assert any(t.stats.reason == "bright" for t in with_white)
    assert not any(t.stats.reason == "bright" for t in blacked)
    assert scan.max() == 255  # the input is not changed in place
    assert normals.whites_to_black(np.array([[254, 255]], np.uint8)).tolist() == [[254, 0]]


def test_shrunk_normals_of_datasets_6_and_8_scale_and_stride():
    # mammo_utils.slice_normal_image: shrink by U(1.8, 3.2), white -> black, trim 7%, cut
    # 299 tiles directly at a stride in 150..200 (README), keep-rule counts on the 299 tile.
    factors, strides = [], []
    for seed in range(200):
        draw = normals.draw_shrunk_tiling(np.random.default_rng(seed))
        factors.append(draw.factor)
        strides.append(draw.stride)
    assert 1.8 <= min(factors) and max(factors) <= 3.2
    assert max(factors) - min(factors) > 1.2  # the whole range is used
    assert set(strides) <= set(range(150, 201)) and {150, 200} & set(strides)
    # At a small geometry (60 -> 30 px) the factor keeps its relation to the CBIS tiles.
    small = [
        normals.draw_shrunk_tiling(np.random.default_rng(s), crop_size=CROP, out_size=OUT)
        for s in range(50)
    ]
    assert all(1.8 <= d.factor <= 3.2 for d in small)  # (60 / 30) / 2 == 1
    assert all(15 <= d.stride <= 20 for d in small)  # 150..200 * 30 / 299

    scan = _scan((1200, 900), seed=5)
    rng = np.random.default_rng(11)
    expected = normals.draw_shrunk_tiling(np.random.default_rng(11), crop_size=CROP, out_size=OUT)
    draw, tiles = normals.shrunk_normal_tiles(
        scan, normals.KEEP_RULES["BASIC"], rng, crop_size=CROP, out_size=OUT, keep_rejected=True
    )
    assert draw == expected
    shrunk_shape = (int(1200 // draw.factor), int(900 // draw.factor))
    area = normals.trim_box(shrunk_shape)
    assert {t.box[0] for t in tiles} == set(range(area[0], area[2] - OUT + 1, draw.stride))
    assert {t.box[1] for t in tiles} == set(range(area[1], area[3] - OUT + 1, draw.stride))
    assert all(t.box[2] - t.box[0] == OUT for t in tiles)  # cut at the tile size, no resize
    assert all(t.tile.shape == (OUT, OUT) for t in tiles if t.stats.kept)
    # Count limits are written for the tile as cut (299 in the study), not for a 598 crop:
    # 90 bright pixels pass a 30-px tile against its own area, fail when scaled from 598.
    bright = np.full((OUT, OUT), 120, np.uint8)
    bright[:3, :] = 230
    assert normals.tile_stats(bright, normals.KEEP_RULES["BASIC"], OUT * OUT).kept
    assert not normals.tile_stats(bright, normals.KEEP_RULES["BASIC"]).kept
    with pytest.raises(ExtractionSkip, match="scan-smaller-than-tile"):
        normals.shrunk_normal_tiles(
            scan[:50, :50], normals.KEEP_RULES["BASIC"], rng, crop_size=CROP, out_size=OUT
        )


def test_mias_normals_follow_the_study_rule():
    # crop_mias_images_9: trim black columns, 299 tiles at stride 200, counts < 100 bright and
    # <= 50000 dark, 20 <= var <= 2000, mean >= 38, each kept tile taken with probability 0.3.
    image = _scan((128, 128), seed=6)
    image[:, :20] = 0  # black air on the left
    image[:5, 20:25] = 0  # not a blank column: only 5 zeros
    trimmed, first = mias.trim_black_columns(image)
    assert first == 20 and trimmed.shape == (128, 108)
    assert normals.keep_rule("MIAS_STUDY") == normals.KeepRule(20, 2000, 38)
    every = mias.mias_normal_tiles(
        image, np.random.default_rng(0), crop_size=40, out_size=40, keep_fraction=1.0
    )
    scaled = mias.trim_black_columns(mias.scale_scan(image))[0]
    stride = round(200 * 40 / 299)
    rows = set(range(0, scaled.shape[0] - 40 + 1, stride))
    assert every and {t.box[0] for t in every} <= rows
    assert all(20 <= t.stats.var <= 2000 and t.stats.mean >= 38 for t in every)
    kept = [
        len(mias.mias_normal_tiles(image, np.random.default_rng(s), crop_size=40, out_size=40))
        for s in range(40)
    ]
    share = np.mean(kept) / len(every)
    assert 0.2 < share < 0.4  # about 30%
    project = mias.mias_normal_tiles(
        image, np.random.default_rng(0), rule="project", crop_size=40, out_size=40
    )
    assert {t.box[0] for t in project} != {t.box[0] for t in every}
    with pytest.raises(ExtractionSkip, match="blank-scan"):
        mias.trim_black_columns(np.zeros((10, 10), np.uint8))


def test_background_tiles_avoid_every_roi():
    scan = _scan((500, 400), seed=3)
    rois = [(100, 100, 140, 150), (350, 250, 380, 300)]
    margin = 20
    tiles = normals.background_tiles(
        scan,
        rois,
        np.random.default_rng(0),
        crop_size=CROP,
        out_size=OUT,
        margin=margin,
        max_tiles=5,
    )
    assert 0 < len(tiles) <= 5
    for t in tiles:
        for r in rois:
            grown = (r[0] - margin, r[1] - margin, r[2] + margin, r[3] + margin)
            assert not common.boxes_overlap(t.box, grown)
        assert t.stats.kept and t.tile.shape == (OUT, OUT)
    review = normals.background_tiles(
        scan,
        rois,
        np.random.default_rng(0),
        crop_size=CROP,
        out_size=OUT,
        margin=margin,
        keep_rejected=True,
    )
    assert any(t.stats.reason == "roi" for t in review)


def test_mias_coordinates_bottom_left_and_diameter():
    box = mias.mias_roi_box(100, 200, 10, 1024, scale=2.58)
    height = round(1024 * 2.58)
    row, col = height - 200 * 2.58, 100 * 2.58
    assert box[0] < row < box[2] and box[1] < col < box[3]
    assert box[2] - box[0] == pytest.approx(20 * 2.58, abs=2)
    radius_box = mias.mias_roi_box(100, 200, 10, 1024, use_radius=True)
    assert radius_box[2] - radius_box[0] == pytest.approx(10 * 2.58, abs=2)


def test_mias_crops_on_a_small_scan():
    image = _scan((128, 128), seed=4)
    crops = mias.mias_crops(image, 64, 30, 5, np.random.default_rng(0), crop_size=40, out_size=40)
    assert len(crops) == 3
    scaled_h = round(128 * 2.58)
    for c in crops:
        assert c.tile.shape == (40, 40)
        # crops lie around row H - 30 * 2.58 (bottom of the image), not row 30 * 2.58
        assert c.box[2] > scaled_h - 30 * 2.58 > c.box[0]
    with pytest.raises(ExtractionSkip, match="no-coordinates"):
        mias.mias_crops(image, None, None, None, np.random.default_rng(0))
    with pytest.raises(ExtractionSkip, match="roi-outside-scan"):
        mias.mias_crops(image, 64, 400, 5, np.random.default_rng(0), crop_size=40, out_size=40)
    with pytest.raises(ExtractionSkip, match="roi-larger-than-scan"):
        mias.mias_crops(image, 64, 64, 500, np.random.default_rng(0), crop_size=40, out_size=40)
