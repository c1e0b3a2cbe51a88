"""Tests for the mini-MIAS reader, on the real database and on corrupted copies of Info.txt."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mammo_lib.imaging.pgm import read_pgm
from mammo_lib.sources.mias import (
    IMAGE_SIZE,
    MiasData,
    abnormality_mask,
    image_table,
    load_mias,
    read_info,
    to_row_col,
)


@pytest.fixture(scope="module")
def mias() -> MiasData:
    """The real mini-MIAS, through the registry (the data mirror set by conftest)."""
    return load_mias()


def test_real_counts(mias: MiasData) -> None:
    abn, images = mias.abnormalities, mias.images
    assert len(images) == 322
    assert len(abn) == 330
    assert mias.report.n_table_lines == 330
    assert (abn["abnormality"] == "NORM").sum() == 207
    assert (abn["severity"] == "B").sum() == 69
    assert (abn["severity"] == "M").sum() == 54
    assert (images["n_abnormalities"] > 1).sum() == 7
    abnormal_lines = abn[abn["abnormality"] != "NORM"]
    assert abnormal_lines["x"].isna().sum() == 4
    assert mias.report.ok
    assert mias.report.skipped == []
    assert not mias.report.missing_images and not mias.report.extra_images


def test_lines_without_coordinates_are_kept_and_reported(mias: MiasData) -> None:
    abn = mias.abnormalities
    no_xy = abn[(abn["abnormality"] != "NORM") & abn["x"].isna()]
    assert sorted(no_xy["refnum"]) == ["mdb059", "mdb216", "mdb233", "mdb245"]
    assert no_xy[["y", "radius"]].isna().all().all()
    reported = {r.text.split()[0] for r in mias.report.without_coordinates}
    assert reported == set(no_xy["refnum"])
    assert set(no_xy.loc[no_xy["note"] != "", "refnum"]) == {"mdb216", "mdb233", "mdb245"}
    # NORM lines carry no severity and no coordinates.
    norm = abn[abn["abnormality"] == "NORM"]
    assert norm["severity"].isna().all() and norm["x"].isna().all()


def test_image_table(mias: MiasData) -> None:
    images = mias.images
    assert list(images.index[:2]) == ["mdb001", "mdb002"]
    assert images.loc["mdb001", "patient"] == images.loc["mdb002", "patient"] == 1
    assert images.loc["mdb322", "patient"] == 161
    assert images["patient"].value_counts().eq(2).all()
    assert images.loc["mdb002", "side"] == "left" and images.loc["mdb001", "side"] == "right"
    assert images["abnormal"].sum() == 322 - 207
    assert images["n_abnormalities"].sum() == 330 - 207
    # Worst severity: an image with a malignant and a benign line counts as malignant.
    lines = mias.lines("mdb144")
    assert set(lines["severity"]) == {"B", "M"}
    assert images.loc["mdb144", "worst_severity"] == "M"
    assert images["worst_severity"].isna().sum() == 207
    assert set(images["tissue"]) == {"F", "G", "D"}


def test_image_table_rejects_inconsistent_tissue() -> None:
    abn = pd.DataFrame(
        {"refnum": ["mdb001", "mdb001"], "tissue": ["F", "G"], "abnormality": ["CIRC", "CIRC"],
         "severity": ["B", "B"]}
    )  # fmt: skip
    with pytest.raises(ValueError, match="mdb001.*tissue"):
        image_table(abn)


def test_scans_and_orientation(mias: MiasData) -> None:
    image = read_pgm(mias.path("mdb001"))
    assert image.shape == (IMAGE_SIZE, IMAGE_SIZE) and image.dtype == np.uint8
    assert to_row_col(0, 0) == (1023, 0)
    assert to_row_col(535, 425) == (598, 535)
    rows, cols = to_row_col(np.array([0.0, 1023.0]), np.array([1023.0, np.nan]), height=1024)
    np.testing.assert_array_equal(rows, [0.0, np.nan])
    np.testing.assert_array_equal(cols, [0.0, 1023.0])
    # Abnormalities are brighter than their surroundings: with row = 1023 - y the disc of
    # radius r is brighter than the ring r..2r around it for nearly every annotated line,
    # while the vertically mirrored reading (row = y) gets that right far less often.
    abn = mias.abnormalities.dropna(subset=["x"])
    rows, cols = np.ogrid[:IMAGE_SIZE, :IMAGE_SIZE]
    brighter, mirrored_brighter = [], []
    for line in abn.itertuples():
        scan = read_pgm(mias.path(line.refnum)).astype(float)
        row, col = to_row_col(line.x, line.y)
        for centre_row, result in ((row, brighter), (line.y, mirrored_brighter)):
            dist = np.hypot(rows - centre_row, cols - col)
            disc = scan[dist <= line.radius].mean()
            ring = scan[(dist > line.radius) & (dist <= 2 * line.radius)].mean()
            result.append(disc > ring)
    assert np.mean(brighter) > 0.95
    assert np.mean(mirrored_brighter) < np.mean(brighter) - 0.15


def test_abnormality_mask(mias: MiasData) -> None:
    one = mias.lines("mdb001")  # one circle, wholly inside the image
    mask = abnormality_mask(one)
    assert mask.shape == (1024, 1024)
    x, y, r = one.iloc[0][["x", "y", "radius"]]
    assert abs(mask.sum() - np.pi * r**2) / (np.pi * r**2) < 0.01
    assert mask[int(1023 - y), int(x)] and not mask[int(1023 - y), int(x + r + 2)]
    lines = mias.lines("mdb005")  # two overlapping circles: the union
    areas = [np.pi * r**2 for r in lines["radius"]]
    mask = abnormality_mask(lines)
    assert max(areas) < mask.sum() < sum(areas)
    for x, y in lines[["x", "y"]].itertuples(index=False):
        assert mask[int(1023 - y), int(x)]
    assert abnormality_mask(lines, margin=10).sum() > mask.sum()
    assert not abnormality_mask(mias.lines("mdb216")).any()  # no coordinates


def test_bad_lines_are_reported_not_dropped(mias: MiasData, tmp_path: Path) -> None:
    text = (mias.folder / "Info.txt").read_text(encoding="latin-1")
    bad = {
        "mdb003 D NORM": "mdb003 D NORMAL",
        "mdb005 F CIRC B 477 133 30": "mdb005 F CIRC B 477 133",
        "mdb010 F CIRC B 525 425 33": "mdb010 X CIRC B 525 425 33",
        "mdb012 F CIRC B 471 458 40": "mdb012 F CIRC B 471 4x8 40",
        "mdb013 G MISC B 667 365 31": "mdb013 G MISC 667 365 31",
        "mdb014 G NORM": "mbd014 G NORM",
    }
    for old, new in bad.items():
        assert old in text
        text = text.replace(old, new, 1)
    folder = tmp_path / "mias"
    folder.mkdir()
    (folder / "Info.txt").write_text(text, encoding="latin-1")
    for name in ("mdb001.pgm", "mdb002.pgm"):
        shutil.copy(mias.folder / name, folder / name)
    (folder / "mdb999.pgm").write_bytes((mias.folder / "mdb001.pgm").read_bytes())

    abn, report = read_info(folder / "Info.txt")
    assert report.n_table_lines == 330
    assert len(abn) + len(report.skipped) == 330
    assert len(report.skipped) == len(bad)
    skipped = {r.text.strip(): r for r in report.skipped}
    assert set(skipped) == set(bad.values())
    assert "severity" in skipped["mdb013 G MISC 667 365 31"].reason
    assert "tissue" in skipped["mdb010 X CIRC B 525 425 33"].reason
    assert "REFNUM" in skipped["mbd014 G NORM"].reason
    for record in report.skipped:
        assert text.splitlines()[record.line_no - 1].strip() == record.text.strip()

    data = load_mias(folder)
    assert not data.report.ok
    assert data.report.extra_images == ["mdb999"]
    assert "mdb001" not in data.report.missing_images and "mdb322" in data.report.missing_images
    kinds = data.report.to_frame()["kind"].value_counts()
    assert kinds["skipped"] == len(bad) and kinds["extra image"] == 1
    skips = data.report.to_skip_report()
    assert len(skips) == len(data.report.to_frame())
    assert any(e.path.endswith("mdb999.pgm") for e in skips)
    assert any(e.path.endswith(f"Info.txt:{report.skipped[0].line_no}") for e in skips)


def test_missing_info_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="Info.txt"):
        load_mias(tmp_path)
