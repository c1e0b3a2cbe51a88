"""Atomic writes: whole files or nothing, and no temporary file left behind on failure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mammo_lib.io import atomic_open, atomic_path, write_bytes, write_json, write_text


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_writers_write_whole_files(tmp_path: Path) -> None:
    assert write_text(tmp_path / "a.txt", "x\r\ny\n").read_bytes() == b"x\r\ny\n"
    assert write_bytes(tmp_path / "b.bin", b"\x00\xff").read_bytes() == b"\x00\xff"
    out = write_json(tmp_path / "sub" / "c.json", {"b": 1, "a": [1.5]}, sort_keys=True)
    assert out.read_text() == '{\n  "a": [\n    1.5\n  ],\n  "b": 1\n}\n'
    assert json.loads(out.read_text()) == {"a": [1.5], "b": 1}
    with atomic_open(tmp_path / "d.txt") as handle:
        handle.write("é")
    assert (tmp_path / "d.txt").read_text(encoding="utf-8") == "é"
    assert _names(tmp_path) == ["a.txt", "b.bin", "d.txt", "sub"]


def test_atomic_path_keeps_the_suffix_for_libraries(tmp_path: Path) -> None:
    target = tmp_path / "map.npy"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".npy" and tmp.name.startswith(".map.")
        np.save(tmp, np.arange(3))  # np.save would append .npy to a name without it
    np.testing.assert_array_equal(np.load(target), np.arange(3))
    assert _names(tmp_path) == ["map.npy"]


def test_replacing_keeps_the_old_file_until_the_new_one_is_whole(tmp_path: Path) -> None:
    target = write_text(tmp_path / "state.json", "old")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_open(target) as handle:
            handle.write("half of the new")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert _names(tmp_path) == ["state.json"]


@pytest.mark.parametrize("interrupt", [ValueError, KeyboardInterrupt])
def test_failure_leaves_nothing_behind(tmp_path: Path, interrupt: type[BaseException]) -> None:
    with pytest.raises(interrupt):
        with atomic_path(tmp_path / "best.keras") as tmp:
            tmp.write_bytes(b"partial")
            raise interrupt()
    with pytest.raises(interrupt):
        with atomic_path(tmp_path / "model.keras") as tmp:
            tmp.unlink()
            tmp.mkdir()  # a library that writes a folder
            (tmp / "weights").write_bytes(b"partial")
            raise interrupt()
    with pytest.raises(TypeError, match="not JSON serializable"):
        write_json(tmp_path / "x.json", {"a": object()})
    with pytest.raises(FileNotFoundError, match="nothing was written"):
        with atomic_path(tmp_path / "y.png") as tmp:
            tmp.unlink()
    assert _names(tmp_path) == []


def test_atomic_open_refuses_read_and_append(tmp_path: Path) -> None:
    for mode in ("a", "r", "r+"):
        with pytest.raises(ValueError, match="mode"):
            with atomic_open(tmp_path / "z.txt", mode):
                pass
    assert _names(tmp_path) == []
