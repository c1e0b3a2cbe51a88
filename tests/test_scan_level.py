"""Scan-level AUC per lesion class (mammo_lib.evaluate.scan_level), against hand-worked values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mammo_lib.evaluate.scan_level import scan_auc_by_class
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
