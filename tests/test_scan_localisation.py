"""Localisation metrics on maps whose lesions are placed by construction."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mammo_lib.scan.localisation import (
    Lesion,
    LocalisationCase,
    froc,
    peaks,
    scan_scores,
    score_aucs,
    top_k_hits,
)
from mammo_lib.scan.regions import MapGeometry, find_regions

# Cells every 10 scan pixels; cell (i, j) is centred at (10 i + 10, 10 j + 10).
GEOMETRY = MapGeometry(stride=10, tile=(20, 20), scale=(1.0, 1.0), scan_shape=(120, 120))


def _centre(i: int, j: int) -> tuple[float, float]:
    return 10.0 * i + 10, 10.0 * j + 10


def _case(spots: dict[tuple[int, int], float], lesions: list[Lesion], name: str):
    prob = np.full((11, 11), 0.05, dtype=np.float32)
    for (i, j), p in spots.items():
        prob[i, j] = p
    return LocalisationCase(name, prob, GEOMETRY, lesions)


def test_geometry_and_regions() -> None:
    r, c = GEOMETRY.cell_centres(np.array([0, 3]), np.array([0, 5]))
    assert list(r) == [10, 40] and list(c) == [10, 60]
    prob = np.zeros((11, 11))
    prob[2:4, 5] = [0.8, 0.6]
    prob[8, 8] = 0.7
    regions = find_regions(prob, 0.5, GEOMETRY)
    assert [r.peak_probability for r in regions] == [0.8, 0.7]
    assert regions[0].n_cells == 2 and regions[0].peak == _centre(2, 5)
    # footprints: 10x10 blocks centred on the cell centres, clipped to the scan
    assert regions[0].box == (25, 55, 45, 65)
    assert regions[1].box == (85, 85, 95, 95)


def test_lesion_distance() -> None:
    box = Lesion.from_box(20, 20, 30, 40)
    assert box.distance(np.array([25.0]), np.array([30.0]))[0] == 0
    assert box.distance(np.array([33.0]), np.array([30.0]))[0] == pytest.approx(4.0)
    circle = Lesion.from_circle(50, 50, 5)
    assert circle.distance(np.array([50.0]), np.array([58.0]))[0] == pytest.approx(3.0)


def test_peaks_one_per_plateau_highest_first() -> None:
    prob = np.zeros((6, 6))
    prob[1, 1], prob[4, 4], prob[4, 3] = 0.9, 0.5, 0.5
    rows, cols, values = peaks(prob)
    assert (rows[0], cols[0], values[0]) == (1, 1, 0.9)
    assert list(values[:2]) == [0.9, 0.5]
    assert len(rows) == 2  # the 0.5 plateau is one peak; flat zeros are none


def test_top_k_and_froc() -> None:
    lesion_a = Lesion.from_circle(*_centre(2, 2), 4)  # found by the strongest peak
    lesion_b = Lesion.from_box(75, 75, 86, 86)  # near cell (7, 7), found by the 3rd peak
    missed = Lesion.from_circle(*_centre(5, 9), 3)  # nothing there
    cases = [
        _case({(2, 2): 0.9, (9, 1): 0.8, (7, 7): 0.6}, [lesion_a, lesion_b], "two"),
        _case({(0, 9): 0.4}, [missed], "missed"),
        _case({(5, 5): 0.7}, [], "normal"),
    ]
    hits = top_k_hits(cases, ks=(1, 3)).set_index("k")
    assert hits.loc[1, "lesions_hit"] == 1 and hits.loc[3, "lesions_hit"] == 2
    assert hits.loc[3, "n_lesions"] == 3
    assert hits.loc[3, "fraction"] == pytest.approx(2 / 3)

    table = froc(cases, [0.95, 0.75, 0.5, 0.3]).set_index("threshold")
    assert table.loc[0.95, "lesions_hit"] == 0 and table.loc[0.95, "false_positives"] == 0
    # 0.75: the 0.9 region hits lesion a; the 0.8 region is a false positive
    assert table.loc[0.75, "lesions_hit"] == 1 and table.loc[0.75, "false_positives"] == 1
    # 0.5: + lesion b hit; the normal scan's 0.7 region is a false positive
    assert table.loc[0.5, "lesions_hit"] == 2 and table.loc[0.5, "false_positives"] == 2
    # 0.3: + the 0.4 region on "missed", far from its lesion
    assert table.loc[0.3, "false_positives"] == 3
    assert table.loc[0.3, "fp_per_scan"] == pytest.approx(1.0)
    assert list(table["sensitivity"]) == sorted(table["sensitivity"])

    scores = scan_scores(cases, k=2).set_index("scan_id")
    assert scores.loc["two", "max"] == pytest.approx(0.9)
    assert scores.loc["two", "topk"] == pytest.approx(0.85)
    assert not scores.loc["normal", "abnormal"]

    # abnormal scans "two" (max 0.9) and "missed" (0.4) against normal (0.7): max ranks one of
    # the two abnormal scans above the normal one, AUC 1/2; top-2 means 0.85, 0.225, 0.375
    aucs = score_aucs(scan_scores(cases, k=2), k=2).set_index("score")
    assert list(aucs.index) == ["max", "top-2 mean"]
    assert aucs.loc["max", "ROC AUC (abnormal vs normal scans)"] == pytest.approx(0.5)
    assert aucs.loc["top-2 mean", "ROC AUC (abnormal vs normal scans)"] == pytest.approx(0.5)
    one_kind = score_aucs(scan_scores(cases[:2]))
    assert one_kind["ROC AUC (abnormal vs normal scans)"].isna().all()


def test_tolerance_is_half_a_cell() -> None:
    case = _case({(2, 2): 0.9}, [Lesion.from_circle(30 + 4.9, 30, 0)], "near")
    assert case.default_tolerance == pytest.approx(5.0)
    assert top_k_hits([case], ks=(1,))["lesions_hit"][0] == 1
    far = _case({(2, 2): 0.9}, [Lesion.from_circle(30 + 5.1, 30, 0)], "far")
    assert top_k_hits([far], ks=(1,))["lesions_hit"][0] == 0


def test_cases_from_a_synthetic_tree_and_real_mias(tmp_path) -> None:
    """The case builders map real files and attach the true lesions in scan coordinates."""
    from test_predict import write_tiny_run

    from mammo_lib.scan.localisation import map_synthetic_scans, mias_cases
    from mammo_lib.scan.predictor import Predictor
    from mammo_lib.sources.mias import load_mias
    from mammo_lib.sources.synthetic import ensure_synthetic_tree, load_tree

    predictor = Predictor.from_run(write_tiny_run(tmp_path))
    root = ensure_synthetic_tree(2, seed=5, size="small")
    cases, predictions = map_synthetic_scans(predictor, root, max_scans=2, max_normals=1)
    tree = load_tree(root)
    assert len(cases) == 3 and set(predictions) == {c.scan_id for c in cases}
    first = tree.lesions[tree.lesions["subject_id"] == cases[0].scan_id].iloc[0]
    assert cases[0].lesions[0].box == (
        first.bbox_row0,
        first.bbox_col0,
        first.bbox_row1,
        first.bbox_col1,
    )
    assert cases[-1].lesions == []  # the normal view
    assert cases[0].prob_map.shape == predictions[cases[0].scan_id].prob_map.shape

    mias = load_mias()
    m_cases, _ = mias_cases(predictor, mias, ["mdb028", "mdb003"])
    line = mias.lines("mdb028").iloc[0]
    lesion = m_cases[0].lesions[0]
    assert lesion.centre == (1023 - line.y, line.x) and lesion.radius == line.radius
    assert m_cases[1].lesions == []  # mdb003 is normal
    table = froc(m_cases + cases, [0.5])
    assert table["n_lesions"].iloc[0] == 1 + sum(len(c.lesions) for c in cases)


def test_mias_maps_of_the_tissue_box_keep_the_tissue_cells(tmp_path) -> None:
    """``crop_to_tissue`` on real MIAS films (as the held-out maps of chapter 09 use it):
    the tissue cells' values and the lesions kept, nothing outside the tissue."""
    from test_predict import write_tiny_run

    from mammo_lib.scan.localisation import mias_cases
    from mammo_lib.scan.predictor import Predictor
    from mammo_lib.sources.mias import load_mias

    predictor = Predictor.from_run(write_tiny_run(tmp_path))
    mias = load_mias()
    refnums = ["mdb028", "mdb003"]
    full, _ = mias_cases(predictor, mias, refnums)
    cropped, predictions = mias_cases(predictor, mias, refnums, crop_to_tissue=True)
    for a, b in zip(full, cropped, strict=True):
        r0, c0, r1, c1 = predictions[b.scan_id].info["mapped_window_cells"]
        assert 0 <= r0 < r1 <= b.prob_map.shape[0] and 0 <= c0 < c1 <= b.prob_map.shape[1]
        inside = b.tissue
        assert inside is not None and inside.any()
        assert np.abs(a.prob_map[inside] - b.prob_map[inside]).max() < 0.02
        assert not b.prob_map[~inside].any()
        assert a.lesions == b.lesions


def test_top1_hit_table_is_the_top1_fraction_and_chance_per_lesion() -> None:
    from mammo_lib.scan.localisation import chance_hit_fraction, top1_hit_table

    # "hit": its top peak on the lesion's cell; "miss": its top peak far from the lesion
    hit = _case({(3, 3): 0.9}, [Lesion.from_circle(*_centre(3, 3), 0)], "mdb001")
    miss = _case({(8, 8): 0.9}, [Lesion.from_circle(*_centre(2, 2), 0)], "mdb002")
    normal = _case({(5, 5): 0.9}, [], "mdb003")
    table = top1_hit_table([hit, miss, normal], {"mdb001": "w1", "mdb002": "w1"})
    assert list(table["scan_id"]) == ["mdb001", "mdb002"] and set(table["group"]) == {"w1"}
    assert list(table["hit"]) == [1.0, 0.0]
    assert table["chance"].to_numpy() == pytest.approx([1 / 121, 1 / 121])
    assert table["hit"].mean() == top_k_hits([hit, miss, normal], ks=(1,))["fraction"][0]
    assert table["chance"].mean() == pytest.approx(chance_hit_fraction([hit, miss, normal]))
    assert list(top1_hit_table([hit])["group"]) == ["mdb001"]  # default: the scan


def test_chance_hit_fraction() -> None:
    from mammo_lib.scan.localisation import chance_hit_fraction

    # an 11x11 map; a zero-radius lesion at a cell centre is hit by that cell only
    case = _case({}, [Lesion.from_circle(*_centre(3, 3), 0)], "one")
    assert chance_hit_fraction([case]) == pytest.approx(1 / 121)
    # restricted to a 5x5 block of tissue cells holding the lesion's cell: 1 in 25
    tissue = np.zeros((11, 11), dtype=bool)
    tissue[1:6, 1:6] = True
    masked = dataclasses.replace(case, tissue=tissue)
    assert chance_hit_fraction([masked]) == pytest.approx(1 / 25)
    normal = _case({}, [], "normal")
    assert np.isnan(chance_hit_fraction([normal]))


def test_geometry_with_a_padded_origin() -> None:
    """A scan padded by 20 model pixels: cell (0, 0)'s window starts 20 pixels before it."""
    g = MapGeometry(stride=10, tile=(40, 40), scale=(0.5, 0.5), scan_shape=(100, 100))
    padded = MapGeometry(
        stride=10, tile=(40, 40), scale=(0.5, 0.5), scan_shape=(100, 100), origin=(-20, -20)
    )
    assert g.cell_centres(np.array(0), np.array(0)) == (40.0, 40.0)
    assert padded.cell_centres(np.array(0), np.array(0)) == (0.0, 0.0)
    assert padded.cell_centres(np.array(2), np.array(2)) == g.cell_centres(np.array(0), np.array(0))
    assert padded.footprint_extent((3, 3))[:2] == (-10.0, -10.0)
    assert padded.cell_box(0, 0, 0, 0) == (0, 0, 10, 10)  # clipped to the scan


def test_mean_maps_average_cell_wise_and_refuse_mismatched_sets() -> None:
    from mammo_lib.scan.mias_maps import mean_maps

    geometry = MapGeometry(stride=10, tile=(10, 10), scale=(1.0, 1.0), scan_shape=(40, 40))
    lesion = [Lesion(box=(10, 10, 20, 20), centre=(15.0, 15.0), radius=5.0)]
    a = [
        LocalisationCase("s1", np.full((4, 4), 0.2), geometry, lesion),
        LocalisationCase("s2", np.eye(4), geometry),
    ]
    b = [
        LocalisationCase("s1", np.full((4, 4), 0.6), geometry, lesion),
        LocalisationCase("s2", np.zeros((4, 4)), geometry),
    ]
    mean = mean_maps([a, b])
    assert [c.scan_id for c in mean] == ["s1", "s2"]
    np.testing.assert_allclose(mean[0].prob_map, 0.4)
    np.testing.assert_allclose(mean[1].prob_map, 0.5 * np.eye(4))
    assert mean[0].lesions == lesion and mean[1].lesions == []
    with pytest.raises(ValueError, match="not in one order"):
        mean_maps([a, b[::-1]])
    small = [b[0], LocalisationCase("s2", np.zeros((3, 4)), geometry)]
    with pytest.raises(ValueError, match="scan s2: maps of shapes"):
        mean_maps([a, small])
    with pytest.raises(ValueError):
        mean_maps([a, b[:1]])
