"""DDSM normals: .ics headers, .LJPEG decoding (bit-exact), case discovery, bad files."""

from __future__ import annotations

from pathlib import Path

import imagecodecs
import numpy as np
import pytest

from mammo_lib.imaging import ljpeg
from mammo_lib.imaging.errors import ImageReadError
from mammo_lib.imaging.intensity import ddsm_to_uint8
from mammo_lib.imaging.ljpeg import ljpeg_header, read_ljpeg
from mammo_lib.sources.ddsm import (
    IcsFormatError,
    ViewInfo,
    find_normal_cases,
    ics_for,
    read_ics,
    read_view,
)

SEED = 20181126
SHAPES = {"LEFT_CC": (52, 36), "LEFT_MLO": (50, 38), "RIGHT_CC": (48, 34), "RIGHT_MLO": (54, 40)}


def write_ics(
    folder: Path,
    stem: str,
    *,
    digitizer: str = "DBA 21",
    bits: int = 16,
    resolution: str = "42",
    overlay: str = "NON_OVERLAY",
) -> Path:
    """Write a DDSM-style .ics header for the views in SHAPES."""
    lines = [
        "ics_version 1.0",
        f"filename {stem}",
        "DATE_OF_STUDY 6 3 1995",
        "PATIENT_AGE 42",
        "FILM ",
        "FILM_TYPE REGULAR",
        "DENSITY 2",
        "DATE_DIGITIZED 22 7 1997",
        f"DIGITIZER {digitizer}",
        "SELECTED ",
    ]
    for view, (rows, columns) in SHAPES.items():
        lines.append(
            f"{view} LINES {rows} PIXELS_PER_LINE {columns} BITS_PER_PIXEL {bits} "
            f"RESOLUTION {resolution} {overlay}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.ics"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_case(
    root: Path, volume: str, number: int, letter: str = "A", bits: int = 16, **ics: str
) -> dict[str, np.ndarray]:
    """Write one normal case (an .ics and four .LJPEG files); return the images by view."""
    folder = root / "cases" / "normals" / volume / f"case{number:04d}"
    stem = f"{letter}-{number:04d}-1"
    write_ics(folder, stem, bits=bits, **ics)
    rng = np.random.default_rng(SEED + number)
    images = {}
    for view, shape in SHAPES.items():
        image = rng.integers(0, 2**bits, shape).astype(np.uint16)
        encoded = imagecodecs.ljpeg_encode(image, bitspersample=bits)
        (folder / f"{stem.replace('-', '_')}.{view}.LJPEG").write_bytes(encoded)
        images[view] = image
    return images


def test_read_ics(tmp_path: Path) -> None:
    header = read_ics(write_ics(tmp_path, "A-0002-1"))
    assert header.case_id == "A_0002_1"
    assert header.patient_id == "A_0002"
    assert (header.digitizer, header.digitizer_model) == ("DBA", "DBA 21")
    assert (header.density, header.age) == (2, 42)
    assert list(header.views) == list(SHAPES)
    left_cc = header.views["LEFT_CC"]
    assert left_cc == ViewInfo(52, 36, 16, 42.0, overlay=False)
    assert left_cc.shape == SHAPES["LEFT_CC"]


@pytest.mark.parametrize(
    ("model", "expected"),
    [("LUMISYS LASER", "LUMISYS"), ("HOWTEK MULTIRAD850", "HOWTEK"), ("howtek 960", "HOWTEK")],
)
def test_digitizer_is_normalised(tmp_path: Path, model: str, expected: str) -> None:
    assert read_ics(write_ics(tmp_path, "B-3001-1", digitizer=model)).digitizer == expected


def test_bad_ics_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(IcsFormatError, match=r"C-0001-1\.ics.*unknown digitizer 'KODAK 1'"):
        read_ics(write_ics(tmp_path, "C-0001-1", digitizer="KODAK 1"))
    path = write_ics(tmp_path, "C-0002-1")
    path.write_text(path.read_text().replace("PIXELS_PER_LINE 36", "PIXELS_PER_LINE x"))
    with pytest.raises(IcsFormatError, match=r"C-0002-1\.ics.*malformed view line"):
        read_ics(path)
    path.write_text("ics_version 1.0\n")
    with pytest.raises(IcsFormatError, match="filename"):
        read_ics(path)


@pytest.mark.parametrize("bits", [12, 16])
def test_ljpeg_round_trip_is_bit_exact(tmp_path: Path, bits: int) -> None:
    images = write_case(tmp_path, "normal_01", 2, bits=bits)
    folder = tmp_path / "cases" / "normals" / "normal_01" / "case0002"
    header = read_ics(folder / "A-0002-1.ics")
    for view, image in images.items():
        path = folder / f"A_0002_1.{view}.LJPEG"
        assert ljpeg_header(path).precision == bits
        decoded = read_ljpeg(path, header.views[view].shape)
        assert decoded.dtype == np.uint16
        np.testing.assert_array_equal(decoded, image)


@pytest.mark.parametrize("bits", [12, 16])
@pytest.mark.parametrize("predictor", range(1, 8))
def test_both_decoders_are_exact_for_every_predictor(
    tmp_path: Path, bits: int, predictor: int
) -> None:
    """Every decoder is exact on streams from two encoders (libjpeg-turbo and lj92)."""
    rng = np.random.default_rng(SEED + predictor)
    # film-like: a smooth ramp with texture, and one run of saturated and zero pixels
    ramp = np.linspace(0, 2**bits - 1, 61)[None, :] * np.linspace(0.2, 1, 47)[:, None]
    image = np.clip(ramp + rng.normal(0, 2 ** (bits - 6), ramp.shape), 0, 2**bits - 1)
    image = image.astype(np.uint16)
    image[5, :20], image[6, :20] = 2**bits - 1, 0
    streams = {
        "libjpeg-turbo": imagecodecs.jpeg8_encode(
            image, lossless=True, predictor=predictor, bitspersample=bits
        )
    }
    if predictor == 1:  # the only predictor lj92 writes
        streams["lj92"] = imagecodecs.ljpeg_encode(image, bitspersample=bits)
    for encoder, stream in streams.items():
        path = tmp_path / f"{encoder}.LJPEG"
        path.write_bytes(stream)
        for decoder in (*ljpeg.LJPEG_DECODERS, "auto"):
            decoded = read_ljpeg(path, decoder=decoder)
            np.testing.assert_array_equal(decoded, image, err_msg=f"{encoder} -> {decoder}")


def test_auto_decoder_falls_back_to_the_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = np.arange(12 * 10, dtype=np.uint16).reshape(12, 10) * 30
    path = tmp_path / "x.LJPEG"
    path.write_bytes(imagecodecs.ljpeg_encode(image, bitspersample=12))

    def refuse(data: bytes) -> np.ndarray:
        raise RuntimeError("lj92_open returned LJ92_ERROR_CORRUPT")  # as imagecodecs.LjpegError

    def wrong_size(data: bytes) -> np.ndarray:
        return np.zeros((3, 4), np.uint16)

    for fast in (refuse, wrong_size):
        monkeypatch.setitem(ljpeg.LJPEG_DECODERS, "libjpeg-turbo", fast)
        monkeypatch.setitem(ljpeg.LJPEG_DECODERS, "lj92", fast)
        np.testing.assert_array_equal(read_ljpeg(path), image)
    monkeypatch.setitem(ljpeg.LJPEG_DECODERS, "libjpeg", refuse)
    with pytest.raises(ImageReadError, match=r"x\.LJPEG.*libjpeg-turbo: .*lj92: .*libjpeg: "):
        read_ljpeg(path)
    with pytest.raises(ValueError, match="unknown decoder 'pvrg'"):
        read_ljpeg(path, decoder="pvrg")


def test_a_fast_decoder_that_disagrees_with_the_reference_is_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = (np.arange(20 * 16, dtype=np.uint16).reshape(20, 16) * 7) % 4096
    path = tmp_path / "x.LJPEG"
    path.write_bytes(imagecodecs.ljpeg_encode(image, bitspersample=12))
    calls = []

    def off_by_one(data: bytes) -> np.ndarray:
        calls.append(1)
        return imagecodecs.ljpeg_decode(data) + 1

    monkeypatch.setattr(ljpeg, "_DECODER_CHECKS", {})
    monkeypatch.setitem(ljpeg.LJPEG_DECODERS, "libjpeg-turbo", off_by_one)
    with pytest.warns(RuntimeWarning, match=r"x\.LJPEG: the libjpeg-turbo decoder disagrees"):
        np.testing.assert_array_equal(read_ljpeg(path), image)
    np.testing.assert_array_equal(read_ljpeg(path), image)  # lj92 now, after its own check
    assert len(calls) == 1
    assert ljpeg._DECODER_CHECKS == {"libjpeg-turbo": False, "lj92": True}


def test_swapped_header_is_reshaped_with_a_warning(tmp_path: Path) -> None:
    rng = np.random.default_rng(SEED)
    image = rng.integers(0, 4096, (30, 20)).astype(np.uint16)
    # the stream is in the true raster order, but its header says 20 lines of 30 pixels
    path = tmp_path / "A_0003_1.LEFT_CC.LJPEG"
    path.write_bytes(imagecodecs.ljpeg_encode(image.reshape(20, 30), bitspersample=12))
    view = ViewInfo(lines=30, pixels_per_line=20, bits_per_pixel=12, resolution_um=42.0)
    with pytest.warns(UserWarning, match="reshaped"):
        decoded = read_ljpeg(path, view.shape)
    np.testing.assert_array_equal(decoded, image)
    wrong = ViewInfo(lines=31, pixels_per_line=20, bits_per_pixel=12, resolution_um=42.0)
    with pytest.raises(ImageReadError, match="disagrees with the .ics"):
        read_ljpeg(path, wrong.shape)


def test_truncated_ljpeg_names_the_file(tmp_path: Path) -> None:
    image = np.random.default_rng(SEED).integers(0, 4096, (40, 30)).astype(np.uint16)
    data = imagecodecs.ljpeg_encode(image, bitspersample=12)
    for cut in (len(data) // 2, len(data) - 2, 40, 1):
        path = tmp_path / f"cut{cut}.LJPEG"
        path.write_bytes(data[:cut])
        with pytest.raises(ImageReadError, match=f"cut{cut}.LJPEG") as info:
            read_ljpeg(path)
        assert info.value.path == str(path)
    (tmp_path / "baseline.LJPEG").write_bytes(b"\xff\xd8\xff\xc0\x00\x0b\x08\x00\x02\x00\x02\x01")
    with pytest.raises(ImageReadError, match="not lossless JPEG"):
        read_ljpeg(tmp_path / "baseline.LJPEG")
    with pytest.raises(ImageReadError, match="absent.LJPEG"):
        read_ljpeg(tmp_path / "absent.LJPEG")


def test_find_normal_cases(tmp_path: Path) -> None:
    write_case(tmp_path, "normal_01", 2)
    write_case(tmp_path, "normal_07", 3004, letter="B", bits=12, digitizer="LUMISYS LASER")
    write_case(tmp_path, "normal_08", 4010, letter="C", bits=12, digitizer="HOWTEK MULTIRAD850")
    table, report = find_normal_cases(tmp_path)
    assert len(report) == 0, str(report)
    assert len(table) == 12
    assert table.groupby("case_id")["digitizer"].first().to_dict() == {
        "A_0002_1": "DBA",
        "B_3004_1": "LUMISYS",
        "C_4010_1": "HOWTEK",
    }
    assert set(table["patient_id"]) == {"A_0002", "B_3004", "C_4010"}
    assert set(zip(table["side"], table["view"], strict=True)) == {
        ("LEFT", "CC"),
        ("LEFT", "MLO"),
        ("RIGHT", "CC"),
        ("RIGHT", "MLO"),
    }
    assert set(table["volume"]) == {"normal_01", "normal_07", "normal_08"}
    assert not table["header_swapped"].any()
    for row in table.itertuples():
        view = ViewInfo(row.lines, row.pixels_per_line, row.bits, row.resolution_um)
        assert read_ljpeg(row.path, view.shape).shape == (row.lines, row.pixels_per_line)
    # a volume folder works as root too
    assert len(find_normal_cases(tmp_path / "cases" / "normals" / "normal_07")[0]) == 4


def test_find_normal_cases_reports_bad_inputs(tmp_path: Path) -> None:
    write_case(tmp_path, "normal_01", 2)
    write_case(tmp_path, "normal_01", 5, digitizer="KODAK 1")  # unknown digitizer
    write_case(tmp_path, "normal_01", 6)
    case6 = tmp_path / "cases" / "normals" / "normal_01" / "case0006"
    (case6 / "A_0006_1.LEFT_MLO.LJPEG").unlink()  # missing view
    right_cc = case6 / "A_0006_1.RIGHT_CC.LJPEG"
    right_cc.write_bytes(right_cc.read_bytes()[:-40])  # truncated
    (case6 / "A_0006_2.LEFT_CC.LJPEG").write_bytes(b"")  # not described by the .ics
    table, report = find_normal_cases(tmp_path)
    reasons = {Path(path).name: reason for path, reason in report}
    assert "unknown digitizer" in reasons["A-0005-1.ics"]
    assert "missing" in reasons["A_0006_1.LEFT_MLO.LJPEG"]
    assert "truncated" in reasons["A_0006_1.RIGHT_CC.LJPEG"]
    assert "not described" in reasons["A_0006_2.LEFT_CC.LJPEG"]
    assert len(report) == 4
    assert len(table) == 4 + 2  # case 2 whole, case 6 two good views
    with pytest.raises(FileNotFoundError, match="nowhere"):
        find_normal_cases(tmp_path / "nowhere")


def test_overlay_views_are_not_normal(tmp_path: Path) -> None:
    write_case(tmp_path, "normal_01", 7, overlay="OVERLAY")
    table, report = find_normal_cases(tmp_path)
    assert table.empty
    assert len(report) == 4 and all("overlay" in reason for _, reason in report)


def test_read_view_reads_through_the_digitizers_calibration(tmp_path: Path) -> None:
    write_case(tmp_path, "normal_01", 2)
    write_case(tmp_path, "normal_07", 3004, letter="B", bits=12, digitizer="LUMISYS LASER")
    write_case(tmp_path, "normal_08", 4010, letter="D", bits=12, digitizer="HOWTEK MULTIRAD850")
    table, _ = find_normal_cases(tmp_path)
    for row in table.itertuples():
        scan = read_view(row.path)
        assert (scan.file_format, scan.digitizer, scan.bits) == ("ljpeg", row.digitizer, row.bits)
        assert scan.laterality == row.side[0] and scan.pixel_spacing_mm is None
        raw = read_ljpeg(row.path, (row.lines, row.pixels_per_line))
        np.testing.assert_array_equal(scan.pixels, raw)
        # the calibration of the case's own digitizer and site (Howtek D differs from A)
        expected = ddsm_to_uint8(raw, row.digitizer, site=row.case_id[0])
        np.testing.assert_array_equal(scan.image, expected)
        assert scan.image.dtype == np.uint8
        assert ics_for(row.path).case_id == row.case_id
    howtek = table[table["digitizer"] == "HOWTEK"].iloc[0]
    raw = read_ljpeg(howtek.path)
    assert not np.array_equal(read_view(howtek.path).image, ddsm_to_uint8(raw, "HOWTEK", "A"))


def test_read_view_without_its_ics_names_the_file(tmp_path: Path) -> None:
    write_case(tmp_path, "normal_01", 2)
    folder = tmp_path / "cases" / "normals" / "normal_01" / "case0002"
    (folder / "A-0002-1.ics").unlink()
    with pytest.raises(IcsFormatError, match="A_0002_1.LEFT_CC.LJPEG.*no .ics"):
        read_view(folder / "A_0002_1.LEFT_CC.LJPEG")
