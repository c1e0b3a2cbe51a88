"""Labels, recipes, patient-level splits and the leakage check (on the real CBIS tables)."""

from __future__ import annotations

import pandas as pd
import pytest

from mammo_lib.dataset import labels, recipes, splits
from mammo_lib.sources.cbis_ddsm import read_case_tables


@pytest.fixture(scope="module")
def cbis_table(mirror) -> pd.DataFrame:
    return read_case_tables(mirror / "cbis-ddsm")


def test_label_codes_follow_the_study():
    assert labels.cbis_label("BENIGN_WITHOUT_CALLBACK", "calcification") == 1
    assert labels.cbis_label("BENIGN", "mass") == 2
    assert labels.cbis_label("MALIGNANT", "calcification") == 3
    assert labels.cbis_label("MALIGNANT", "mass") == 4
    assert labels.mias_label("NORM", None) == 0
    assert labels.mias_label("CALC", "M") == 3
    assert labels.mias_label("SPIC", "B") == 2
    assert [labels.binary(k) for k in range(5)] == [0, 1, 1, 1, 1]
    assert labels.CLASS_NAMES[4] == "MALIGNANT_mass"
    with pytest.raises(ValueError, match="unknown pathology"):
        labels.cbis_label("UNKNOWN", "mass")
    with pytest.raises(ValueError, match="severity"):
        labels.mias_label("CIRC", None)


def test_every_real_cbis_row_gets_a_label(cbis_table):
    codes = [
        labels.cbis_label(p, t)
        for p, t in zip(cbis_table.pathology, cbis_table.abnormality_type, strict=True)
    ]
    assert set(codes) == {1, 2, 3, 4}


def test_recipes_are_data_with_overrides():
    assert set(recipes.RECIPES) == {"6", "8", "9", "9-background"}
    nine = recipes.get_recipe("9")
    assert (nine.roi_method, nine.normals, nine.normal_filter, nine.normal_fraction) == (
        2,
        "ddsm",
        "digitizer",
        0.83,
    )
    six, eight = recipes.get_recipe("6"), recipes.get_recipe("8")
    assert six.roi_method == "1+2" and six.label == "label"
    assert set(six.roi_variants) == {"original", "centred", "zoomed", "halves", "tiles"}
    assert (eight.roi_method, eight.roi_variants) == (1, ("zoomed",))
    assert six.normal_tiling == eight.normal_tiling == "shrunk" and nine.normal_tiling == "crop"
    # the study's rules are the defaults of every study recipe
    for r in (six, eight, nine):
        assert (r.large_rois, r.roi_pad_by, r.ddsm_white_to_black, r.mias_normals) == (
            "random",
            "longer-side",
            True,
            "study",
        )
    with pytest.raises(ValueError, match="large_rois"):
        recipes.get_recipe("9", large_rois="all")
    assert recipes.get_recipe("9-background").normals == "cbis-background"
    small = recipes.get_recipe("9", tile_size=64, crop_size=128, stride=None)
    assert (small.tile_size, small.crop_size) == (64, 128)
    assert small.key() != nine.key() and recipes.get_recipe("9").key() == nine.key()
    with pytest.raises(KeyError, match="known"):
        recipes.get_recipe("7")
    with pytest.raises(TypeError, match="unknown recipe field"):
        recipes.get_recipe("9", tile=3)
    with pytest.raises(ValueError, match="tile_size"):
        recipes.get_recipe("9", tile_size=700)


def test_patient_split_is_deterministic_and_order_free():
    patients = [f"P_{i:05d}" for i in range(2000)]
    fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    a = [splits.assign_split(p, 3, fractions) for p in patients]
    b = [splits.assign_split(p, 3, fractions) for p in reversed(patients)][::-1]
    assert a == b
    share = pd.Series(a).value_counts(normalize=True)
    assert abs(share["train"] - 0.7) < 0.04 and abs(share["test"] - 0.2) < 0.04
    assert a != [splits.assign_split(p, 4, fractions) for p in patients]


def test_official_cbis_split_leaks_patients_and_is_resolved(cbis_table):
    with pytest.raises(splits.LeakageError, match="patient_key"):
        splits.check_leakage(cbis_table.assign(patient_key=cbis_table.patient_id))
    kept, skipped = splits.resolve_official_overlap(cbis_table)
    overlap = set(cbis_table[cbis_table.split == "train"].patient_id) & set(
        cbis_table[cbis_table.split == "test"].patient_id
    )
    assert overlap and len(skipped) == len(cbis_table) - len(kept)
    assert {s["reason"] for s in skipped} == {"patient-in-official-test"}
    assert len(kept[kept.split == "test"]) == len(cbis_table[cbis_table.split == "test"])
    kept = kept.assign(
        split=splits.cbis_splits(kept.patient_id, kept.split, seed=0, val_fraction=0.1).values
    )
    splits.check_leakage(kept.assign(patient_key=kept.patient_id, abnormality_id=kept.roi_id))
    val_share = kept[kept.split != "test"].groupby("patient_id").split.first().eq("val").mean()
    assert 0.07 < val_share < 0.13


def test_leakage_check_names_what_leaks():
    records = pd.DataFrame(
        {
            "split": ["train", "train", "test", "test"],
            "patient_key": ["cbis:P_1", "cbis:P_2", "cbis:P_3", "cbis:P_4"],
            "scan_key": ["s1", "s2", "s3", "s4"],
            "abnormality_id": ["R1", "R2", "R3", ""],
        }
    )
    splits.check_leakage(records)
    leaking = records.copy()
    leaking.loc[2, "patient_key"] = "cbis:P_1"  # the same patient in train and test
    with pytest.raises(splits.LeakageError, match=r"cbis:P_1 in \['test', 'train'\]"):
        splits.check_leakage(leaking)
    roi_leak = records.copy()
    roi_leak.loc[3, "abnormality_id"] = "R1"  # one ROI's tiles in two splits
    with pytest.raises(splits.LeakageError, match="abnormality_id"):
        splits.check_leakage(roi_leak)


def test_quota_split_gives_exact_shares_even_for_few_patients():
    fractions = {"train": 0.7, "val": 0.1, "test": 0.2}
    patients = [f"A_{i:04d}" for i in range(10)]
    split = splits.quota_splits(patients, 0, fractions)
    assert pd.Series(split).value_counts().to_dict() == {"train": 7, "test": 2, "val": 1}
    assert splits.quota_splits(reversed(patients + patients), 0, fractions) == split
    three = splits.quota_splits(patients[:3], 0, fractions)
    assert sorted(three.values()) == ["test", "train", "train"]
    assert splits.quota_splits(patients, 1, fractions) != split


def test_balance_keeps_every_abnormal_tile_and_draws_normals():
    from mammo_lib.dataset.build import _select_normals

    index = pd.DataFrame(
        {
            "split": ["train"] * 110 + ["test"] * 6,
            "label_binary": [1] * 10 + [0] * 100 + [1] * 3 + [0] * 3,
        }
    )
    keep, info = _select_normals(index, recipes.get_recipe("9"), seed=0)
    train = index[keep & (index.split == "train")]
    assert (train.label_binary == 1).sum() == 10
    assert (
        (train.label_binary == 0).sum() == round(10 * 0.83 / 0.17) == info["train"]["normal_target"]
    )
    assert info["train"]["normals_dropped"] == 100 - info["train"]["normal_target"]
    assert keep[index.split == "test"].all()  # too few normals: all kept
    again, _ = _select_normals(index, recipes.get_recipe("9"), seed=0)
    assert (again == keep).all()
    other, _ = _select_normals(index, recipes.get_recipe("9"), seed=1)
    assert not (other == keep).all()
    half, _ = _select_normals(index, recipes.get_recipe("9", normal_fraction=0.5), seed=0)
    assert (index[half & (index.split == "train")].label_binary == 0).sum() == 10
