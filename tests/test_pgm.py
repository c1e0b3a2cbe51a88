"""Tests for the PGM reader: real mini-MIAS files and small files written here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mammo_lib.imaging.pgm import PgmError, read_pgm, read_pgm_header, write_pgm
from mammo_lib.sources.registry import fetch

MEMBERS = ("mdb001.pgm", "mdb005.pgm", "mdb322.pgm")


@pytest.fixture(scope="module")
def mias_files() -> dict[str, Path]:
    """A few real MIAS PGMs, through the registry (hash-verified, from the data mirror)."""
    folder = fetch("mias")
    return {name: folder / name for name in MEMBERS}


def test_real_mias_file(mias_files: dict[str, Path]) -> None:
    path = mias_files["mdb001.pgm"]
    header = read_pgm_header(path)
    assert (header.magic, header.width, header.height, header.maxval) == ("P5", 1024, 1024, 255)
    image = read_pgm(path)
    assert image.shape == (1024, 1024)
    assert image.dtype == np.uint8
    # The raster is the file's last 1024*1024 bytes, unchanged.
    raw = np.frombuffer(path.read_bytes()[-1024 * 1024 :], dtype=np.uint8).reshape(1024, 1024)
    np.testing.assert_array_equal(image, raw)
    # A mammogram: dark background, bright tissue somewhere.
    assert image[0, 0] < 20 and image.max() > 150


def test_real_mias_round_trip(mias_files: dict[str, Path], tmp_path: Path) -> None:
    for path in mias_files.values():
        image = read_pgm(path)
        out = write_pgm(tmp_path / path.name, image)
        assert out.read_bytes() == path.read_bytes()  # MIAS headers are "P5\n1024 1024\n255\n"


def _bytes16(image: np.ndarray) -> bytes:
    return image.astype(">u2").tobytes()


def test_16_bit_big_endian_with_comments(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 4096, size=(5, 7), dtype=np.uint16)
    image[0, 0] = 0x0102  # bytes 01 02 in the file: big-endian gives 258, little-endian 513
    header = b"P5\n# made by a test\n7 # width\n# a whole comment line\n5\n4095\n"
    path = tmp_path / "c16.pgm"
    path.write_bytes(header + _bytes16(image))
    result = read_pgm(path)
    assert result.dtype == np.uint16
    assert result[0, 0] == 258
    np.testing.assert_array_equal(result, image)
    assert read_pgm_header(path).maxval == 4095


def test_comment_right_after_maxval(tmp_path: Path) -> None:
    image = np.arange(6, dtype=np.uint8).reshape(2, 3)
    path = tmp_path / "after.pgm"
    path.write_bytes(
        b"P5 3 2 255# the newline ending this comment delimits the raster\n" + image.tobytes()
    )
    np.testing.assert_array_equal(read_pgm(path), image)


def test_write_read_16_bit(tmp_path: Path) -> None:
    image = np.array([[0, 1, 65535], [256, 4095, 32768]], dtype=np.uint16)
    path = write_pgm(tmp_path / "w.pgm", image, comment="sixteen bits")
    assert path.read_bytes().startswith(b"P5\n# sixteen bits\n3 2\n65535\n")
    assert path.read_bytes()[-2:] == b"\x80\x00"  # big-endian 32768
    np.testing.assert_array_equal(read_pgm(path), image)
    assert not list(tmp_path.glob("*.tmp"))


def test_truncated_file_names_file_and_sizes(tmp_path: Path) -> None:
    image = np.zeros((4, 4), dtype=np.uint16)
    path = tmp_path / "short.pgm"
    path.write_bytes(b"P5\n4 4\n1000\n" + _bytes16(image)[:-3])
    with pytest.raises(PgmError) as info:
        read_pgm(path)
    message = str(info.value)
    assert "short.pgm" in message
    assert "truncated" in message
    header_len = len(b"P5\n4 4\n1000\n")
    assert f"needs {header_len + 32} bytes" in message
    assert f"the file has {header_len + 29}" in message


def test_trailing_bytes_rejected(tmp_path: Path) -> None:
    path = tmp_path / "long.pgm"
    path.write_bytes(b"P5 2 2 255\n" + bytes(5))
    with pytest.raises(PgmError, match="long.pgm.*trailing"):
        read_pgm(path)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"P6\n2 2\n255\n" + bytes(12), "not a PGM"),
        (b"P5\n2 x\n255\n" + bytes(4), "unexpected"),
        (b"P5\n2 2\n70000\n" + bytes(8), "maxval"),
        (b"P5\n0 2\n255\n", "empty"),
        (b"P5\n2 2", "header ends"),
        (b"P5\n2 2 # no end", "comment runs"),
    ],
)
def test_bad_headers(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.pgm"
    path.write_bytes(content)
    with pytest.raises(PgmError, match=reason) as info:
        read_pgm(path)
    assert "bad.pgm" in str(info.value)


def test_value_above_maxval(tmp_path: Path) -> None:
    path = tmp_path / "over.pgm"
    path.write_bytes(b"P5\n2 1\n1023\n" + _bytes16(np.array([5, 2000])))
    with pytest.raises(PgmError, match="exceeds maxval 1023"):
        read_pgm(path)


def test_ascii_p2(tmp_path: Path) -> None:
    path = tmp_path / "a.pgm"
    path.write_bytes(b"P2\n# ascii\n3 2\n300\n0 1 2 # comment in the raster\n299\n300 7\n")
    image = read_pgm(path)
    assert image.dtype == np.uint16
    np.testing.assert_array_equal(image, [[0, 1, 2], [299, 300, 7]])
    short = tmp_path / "short.pgm"
    short.write_bytes(b"P2 3 2 255 1 2 3 4 5")
    with pytest.raises(PgmError, match="short.pgm.*5 values.*needs 6"):
        read_pgm(short)
