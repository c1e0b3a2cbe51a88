"""The bilateral comparison: each breast's scores against the other breast of the same woman."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mammo_lib.evaluate.metrics import roc_auc
from mammo_lib.scan.bilateral import bilateral_tables, contralateral_reference, logit
from mammo_lib.scan.froc import froc_points, mark_tables
from mammo_lib.scan.localisation import Lesion, LocalisationCase, MapGeometry, scan_scores
from mammo_lib.scan.mias_maps import MapTables


def _case(scan_id: str, peak: float, lesions: list[Lesion]) -> LocalisationCase:
    # one mark per map, at cell (1, 1), centred at scan pixel (15, 15)
    prob = np.zeros((6, 6))
    prob[1, 1] = peak
    geometry = MapGeometry(stride=10, tile=(10, 10), scale=(1.0, 1.0), scan_shape=(60, 60))
    return LocalisationCase(scan_id, prob, geometry, lesions)


def test_the_reference_is_the_other_breast_or_the_median() -> None:
    maxima = {"a": 0.9, "b": 0.5, "c": 0.7}
    ref = contralateral_reference(maxima, {"a": "w1", "b": "w1", "c": "w2"})
    np.testing.assert_allclose(ref[["a", "b", "c"]], logit([0.5, 0.9, 0.7]))  # c: median 0.7
    np.testing.assert_allclose(logit([0.0, 1.0]), [np.log(1e-6 / (1 - 1e-6)), np.log(1e6 - 1)])
    with pytest.raises(ValueError, match="no woman"):
        contralateral_reference(maxima, {"a": "w1"})


def test_bilateral_scores_hand_worked() -> None:
    """Woman 1: a lesion in A (peak 0.7 on it), a quiet normal B (0.2). Woman 2: dense normal
    breasts C and D (0.9 each). Alone, the dense normals outscore the lesion; against each
    woman's other breast the lesion stands out (logit 0.7 - logit 0.2 = 2.233) and the
    normals fall to 0 (C, D) and -2.233 (B). Scan E (woman 3, a lesion without centre) is left
    out of the tables but is still F's reference."""
    cases = [
        _case("A", 0.7, [Lesion.from_circle(15, 15, 8)]),
        _case("B", 0.2, []),
        _case("C", 0.9, []),
        _case("D", 0.9, []),
        _case("E", 0.3, []),
        _case("F", 0.6, []),
    ]
    patients = {"A": "w1", "B": "w1", "C": "w2", "D": "w2", "E": "w3", "F": "w3"}
    kept = [c for c in cases if c.scan_id != "E"]
    marks, lesions, scans = mark_tables(kept, patients, {"A": ["CIRC"]})
    scores = scan_scores(kept).assign(patient_id=lambda t: t["scan_id"].map(patients))
    froc = froc_points(marks, lesions, scans, (0.2, 1.0), classes=["CIRC"])
    tables = MapTables(kept, scores, marks, lesions, scans, froc)
    # alone: A (0.7) beats B (0.2) and F (0.6), not C or D (0.9): AUC 2/4
    assert roc_auc(scores["abnormal"].astype(int), scores["max"]) == 0.5

    both = bilateral_tables(tables, cases, patients, n_boot=0)
    got = both.scores.set_index("scan_id")["max"]
    d = np.log(0.7 / 0.3) - np.log(0.2 / 0.8)
    np.testing.assert_allclose(got[["A", "B", "C", "D"]], [d, -d, 0.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(got["F"], np.log(0.6 / 0.4) - np.log(0.3 / 0.7))
    assert roc_auc(both.scores["abnormal"].astype(int), both.scores["max"]) == 1.0
    np.testing.assert_allclose(both.lesions["best_score"], [d])
    assert list(both.marks["lesion"]) == list(marks["lesion"])  # hits do not change
    # 5 scans, 1 FP allowed at 0.2 FP/scan. Alone: FP scores 0.9, 0.9, 0.6, 0.2 -> threshold
    # 0.9, the lesion (0.7) missed. Bilateral: FP scores 1.20 (F), 0, 0, -2.23 -> threshold
    # 0, the lesion (2.23) hit.
    alone = froc.set_index(["abnormality", "fp_per_scan"])["sensitivity"]
    paired = both.froc.set_index(["abnormality", "fp_per_scan"])["sensitivity"]
    assert alone[("all", 0.2)] == 0.0 and paired[("all", 0.2)] == 1.0
    assert paired[("CIRC", 1.0)] == 1.0
    # a lesion that no mark hits stays missed at every threshold
    missed = tables.lesions.assign(best_score=-np.inf)
    again = bilateral_tables(
        MapTables(kept, scores, marks, missed, scans, froc), cases, patients, n_boot=0
    )
    assert np.isneginf(again.lesions["best_score"]).all()


def test_a_reference_of_the_scans_own_shifts_every_score_and_must_cover_every_scan() -> None:
    """``referenced_tables`` with any per-scan logit: scan A (a lesion, peak 0.7) and a normal
    B (0.9). Alone B outscores A; less the references A 0 and B logit(0.9) + 1, A leads."""
    from mammo_lib.scan.bilateral import referenced_tables

    cases = [_case("A", 0.7, [Lesion.from_circle(15, 15, 8)]), _case("B", 0.9, [])]
    patients = {"A": "w1", "B": "w2"}
    marks, lesions, scans = mark_tables(cases, patients)
    scores = scan_scores(cases).assign(patient_id=lambda t: t["scan_id"].map(patients))
    froc = froc_points(marks, lesions, scans, (0.25,))  # half a false positive in all
    tables = MapTables(cases, scores, marks, lesions, scans, froc)
    reference = pd.Series({"A": 0.0, "B": float(logit(0.9)) + 1.0})
    got = referenced_tables(tables, reference, n_boot=0)
    np.testing.assert_allclose(got.scores.set_index("scan_id")["max"], [logit(0.7), -1.0])
    np.testing.assert_allclose(got.lesions["best_score"], [logit(0.7)])
    assert got.froc.set_index("fp_per_scan").loc[0.25, "sensitivity"] == 1.0
    assert froc.set_index("fp_per_scan").loc[0.25, "sensitivity"] == 0.0
    with pytest.raises(ValueError, match=r"no reference for scans \['B'\]"):
        referenced_tables(tables, reference.drop("B"), n_boot=0)
