"""Scan-level AUC per lesion class and per tissue (mammo_lib.evaluate.scan_level), against
hand-worked values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mammo_lib.evaluate.scan_level import scan_auc_by_class, scan_auc_by_tissue
from mammo_lib.sources.mias import MASSES


def test_scan_auc_by_class_sets_each_class_against_every_normal_scan() -> None:
    """Normals 0.1 and 0.5; A (CALC) 0.3, B (CIRC) 0.9, C (CALC and SPIC) 0.6. All: 5 of 6
    pairs; CALC (A, C): 3 of 4; CIRC (B): 1; masses (B, C): 1; ARCH: no scan."""
    scores = pd.DataFrame(
        {
            "scan_id": ["N1", "N2", "A", "B", "C"],
            "patient_id": ["w1", "w2", "w3", "w4", "w5"],
            "abnormal": [False, False, True, True, True],
            "max": [0.1, 0.5, 0.3, 0.9, 0.6],
        }
    )
    classes = {"A": ["CALC"], "B": ["CIRC"], "C": ["CALC", "SPIC"]}
    groups = ("all", "CALC", "CIRC", MASSES, "ARCH")
    table = scan_auc_by_class(scores, classes, groups, n_boot=50).set_index("class")
    np.testing.assert_allclose(table.loc[list(groups[:4]), "auc"], [5 / 6, 3 / 4, 1.0, 1.0])
    assert list(table["scans"]) == [3, 2, 1, 2, 0] and set(table["normal_scans"]) == {2}
    assert np.isnan(table.loc["ARCH", "auc"])
    assert table.loc["all", "low"] <= 5 / 6 <= table.loc["all", "high"]
    with pytest.raises(ValueError, match=r"no lesion classes given for abnormal scans \['C'\]"):
        scan_auc_by_class(scores, {"A": ["CALC"], "B": ["CIRC"]}, groups, n_boot=0)


def test_scan_auc_by_tissue_ranks_films_only_within_their_tissue() -> None:
    """Dense normals (0.7, 0.8) outscore fatty lesions (0.4, 0.5): pooled, 8 of 12 pairs
    (normals 0.1, 0.2, 0.7, 0.8 against lesions 0.4, 0.5, 0.9); within fatty (normals 0.1,
    0.2; lesions 0.4, 0.5) 4 of 4, within dense (normals 0.7, 0.8; lesion 0.9) 2 of 2; no
    glandular lesion, so no AUC there, but its normal's median."""
    scores = pd.DataFrame(
        {
            "scan_id": ["f1", "f2", "f3", "f4", "d1", "d2", "d3", "g1"],
            "patient_id": ["w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8"],
            "abnormal": [False, False, True, True, False, False, True, False],
            "max": [0.1, 0.2, 0.4, 0.5, 0.7, 0.8, 0.9, 0.3],
        }
    )
    tissue = dict(zip(scores["scan_id"], "FFFFDDDG", strict=True))
    table = scan_auc_by_tissue(scores, tissue, n_boot=50).set_index("tissue")
    assert list(table.index) == ["F", "G", "D"]
    np.testing.assert_allclose(table.loc[["F", "D"], "auc"], [1.0, 1.0])
    assert np.isnan(table.loc["G", "auc"]) and table.loc["G", "normal_median"] == 0.3
    np.testing.assert_allclose(table["normal_median"], [0.15, 0.3, 0.75])
    assert list(table["scans"]) == [2, 0, 1] and list(table["normal_scans"]) == [2, 1, 2]
    pooled = scan_auc_by_class(
        scores[scores["scan_id"] != "g1"],
        {"f3": ["CIRC"], "f4": ["CIRC"], "d3": ["CIRC"]},
        ("all",),
        n_boot=20,
    )
    assert pooled["auc"].iloc[0] == pytest.approx(8 / 12)
    with pytest.raises(ValueError, match=r"no background tissue given for scans \['g1'\]"):
        scan_auc_by_tissue(scores, {k: v for k, v in tissue.items() if k != "g1"}, n_boot=0)
