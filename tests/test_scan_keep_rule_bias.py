"""The keep-rule applied to map-cell footprints, and the bias summary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mammo_lib.extract.normals import KEEP_RULES
from mammo_lib.imaging.read import Scan
from mammo_lib.scan.keep_rule_bias import cell_keep_table, keep_rule_bias
from mammo_lib.scan.predictor import ScanPrediction
from mammo_lib.scan.regions import MapGeometry


def _prediction(image: np.ndarray, prob_map: np.ndarray, tissue=None) -> ScanPrediction:
    # model pixels = scan pixels, 20-pixel windows every 20 pixels: cell (i, j) is the block
    # image[20 i : 20 i + 20, 20 j : 20 j + 20]
    geometry = MapGeometry(stride=20, tile=(20, 20), scale=(1.0, 1.0), scan_shape=image.shape)
    scan = Scan(Path("x.png"), image, "png", image, 8, "8-bit PNG")
    return ScanPrediction(
        scan,
        prob_map,
        geometry,
        float(prob_map.max()),
        "max",
        0.5,
        [],
        (0.1, 0.1),
        "test",
        image.shape,
        tissue=tissue,
    )


def _scan(rng: np.random.Generator) -> np.ndarray:
    """Left half dense textured tissue (kept), right half dark fat (rejected: mean < 30)."""
    image = np.empty((80, 80), np.uint8)
    image[:, :40] = np.clip(rng.normal(120, 15, (80, 40)), 0, 255)
    image[:, 40:] = np.clip(rng.normal(27, 4, (80, 40)), 0, 255)
    return image


def test_cells_follow_their_footprint_and_the_rule() -> None:
    rng = np.random.default_rng(0)
    image = _scan(rng)
    prob = np.where(np.arange(4)[None, :] >= 2, 0.9, 0.2) * np.ones((4, 1))
    table = cell_keep_table(_prediction(image, prob), KEEP_RULES["CBIS"], step=1)
    assert len(table) == 16
    left = table["col"] < 2
    assert table.loc[left, "kept"].all() and not table.loc[~left, "kept"].any()
    assert set(table.loc[~left, "reason"]) == {"mean"}
    block = image[20:40, 40:60]
    row = table[(table["row"] == 1) & (table["col"] == 2)].iloc[0]
    assert row["mean"] == pytest.approx(block.mean())
    summary = keep_rule_bias([table])
    assert summary["cells"] == 16 and summary["rejected_fraction"] == 0.5
    assert summary["auc_rejected"] == 1.0  # every rejected cell scores above every kept one
    assert (summary["kept"], summary["rejected"]) == pytest.approx((0.2, 0.9))
    assert summary["spearman_mean"] < -0.8


def test_tissue_mask_and_no_relation() -> None:
    rng = np.random.default_rng(1)
    image = _scan(rng)
    tissue = np.zeros((4, 4), bool)
    tissue[:, 1:3] = True
    prob = rng.uniform(0, 1, (4, 4))
    prob[:, 2] = prob[:, 1]  # same probabilities for kept and rejected cells
    table = cell_keep_table(_prediction(image, prob, tissue), KEEP_RULES["CBIS"])
    assert sorted(set(table["col"])) == [1, 2]
    assert keep_rule_bias([table])["auc_rejected"] == pytest.approx(0.5)
    only_kept = table[table["kept"]]
    assert np.isnan(keep_rule_bias([only_kept])["auc_rejected"])
    with pytest.raises(ValueError, match="no map cells"):
        keep_rule_bias([table.iloc[:0]])
    with pytest.raises(ValueError, match="step must be"):
        cell_keep_table(_prediction(image, prob), KEEP_RULES["CBIS"], step=0)


def test_bias_table_and_its_words_follow_the_summaries() -> None:
    from mammo_lib.report.verdicts import keep_rule_bias_verdict
    from mammo_lib.scan.keep_rule_bias import BIAS_COLUMNS, bias_table

    rng = np.random.default_rng(0)
    image = _scan(rng)
    follows = np.where(np.arange(4)[None, :] >= 2, 0.9, 0.2) * np.ones((4, 1))  # rejected high
    against = 1 - follows  # rejected low
    rows = {
        name: keep_rule_bias([cell_keep_table(_prediction(image, p), KEEP_RULES["CBIS"], step=1)])
        for name, p in (("dark scores high", follows), ("dark scores low", against))
    }
    table = bias_table(rows)
    assert list(table.columns) == list(BIAS_COLUMNS.values())
    assert table.index.name == "scans" and list(table.index) == list(rows)
    assert table["breast cells"].dtype.kind == "i" and (table["breast cells"] == 16).all()
    assert table.loc["dark scores high", "AUC: P picks rejected cells"] == 1.0
    assert table.loc["dark scores low", "mean P(abnormal), rejected"] == pytest.approx(0.1)
    words = {name: keep_rule_bias_verdict(r["auc_rejected"]) for name, r in rows.items()}
    assert words == {
        "dark scores high": "score higher than the cells it would keep",
        "dark scores low": "score lower than the cells it would keep",
    }
    with pytest.raises(KeyError, match="lack"):
        bias_table({"partial": {"cells": 3}})
