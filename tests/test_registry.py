"""The data registry: mirror, hashes, offline errors, safe extraction, `mammo fetch`."""

from __future__ import annotations

import io
import pkgutil
import shutil
import tarfile
from pathlib import Path

import pytest

from mammo_lib import commands
from mammo_lib.cli import main
from mammo_lib.sources import registry
from mammo_lib.sources.registry import (
    DATASETS,
    DataUnavailableError,
    HashMismatchError,
    fetch,
    safe_extract,
    sha256_of,
)


@pytest.fixture()
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("MAMMO_DATA_HOME", str(home))
    return home


@pytest.mark.parametrize("name", [n for n in DATASETS if not DATASETS[n].is_archive])
def test_fetch_from_mirror_verifies_every_file(name: str, isolated_home: Path) -> None:
    folder = fetch(name)
    assert folder.parent == isolated_home
    for remote in DATASETS[name].files:
        assert sha256_of(folder / remote.name) == remote.sha256


def test_mias_members_are_verified_after_extraction(isolated_home: Path) -> None:
    folder = fetch("mias")
    pgms = sorted(folder.glob("mdb*.pgm"))
    assert len(pgms) == 322
    assert (folder / "Info.txt").is_file()
    members = DATASETS["mias"].archive_members
    assert members is not None and len(members) == 324
    assert sha256_of(pgms[0]) == members[pgms[0].name]
    # A second fetch reuses the verified extraction.
    stamp = (folder / ".verified").stat().st_mtime_ns
    assert fetch("mias") == folder
    assert (folder / ".verified").stat().st_mtime_ns == stamp


def _fake_mirror(tmp_path: Path, mirror: Path) -> Path:
    fake = tmp_path / "mirror"
    shutil.copytree(mirror / "uci", fake / "uci")
    return fake


def test_mirror_file_with_wrong_hash_is_refused(
    tmp_path: Path, mirror: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _fake_mirror(tmp_path, mirror)
    data = fake / "uci" / "wdbc.data"
    data.chmod(0o644)
    data.write_bytes(data.read_bytes().replace(b"M", b"B", 1))
    monkeypatch.setenv("MAMMO_DATA_MIRROR", str(fake))
    with pytest.raises(HashMismatchError, match=r"wdbc\.data.*does not match.*refused"):
        fetch("uci-wdbc")
    assert not (isolated_home / "uci-wdbc" / "wdbc.data").exists()


def test_corrupted_copy_in_data_home_is_replaced(isolated_home: Path) -> None:
    folder = fetch("uci-bcw")
    target = folder / "breast-cancer-wisconsin.data"
    target.write_text("tampered")
    fetch("uci-bcw")
    assert sha256_of(target) == DATASETS["uci-bcw"].files[0].sha256


def test_missing_in_mirror_names_file_url_and_variables(
    tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAMMO_DATA_MIRROR", str(tmp_path / "empty"))
    with pytest.raises(DataUnavailableError) as info:
        fetch("uci-wpbc")
    message = str(info.value)
    assert "wpbc.data" in message and registry.UCI_BASE in message
    assert "MAMMO_DATA_MIRROR" in message and "MAMMO_DATA_HOME" in message


def test_offline_without_mirror_names_file_url_and_variables(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MAMMO_DATA_MIRROR", raising=False)
    dead = "http://127.0.0.1:9/wdbc.data"  # the discard port: the connection is refused
    entry = DATASETS["uci-wdbc"]
    broken = registry.DataSet(
        entry.name,
        entry.title,
        (registry.RemoteFile("wdbc.data", dead, entry.files[0].sha256, "uci/wdbc.data"),),
        entry.licence,
        entry.citation,
    )
    monkeypatch.setitem(DATASETS, "uci-wdbc", broken)
    with pytest.raises(DataUnavailableError) as info:
        fetch("uci-wdbc")
    message = str(info.value)
    assert "wdbc.data" in message and dead in message
    assert "MAMMO_DATA_MIRROR" in message and "MAMMO_DATA_HOME" in message


def _tar_with(path: Path, members: dict[str, bytes], link: str | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        if link:
            info = tarfile.TarInfo("link")
            info.type = tarfile.SYMTYPE
            info.linkname = link
            tar.addfile(info)
    return path


@pytest.mark.parametrize(
    ("members", "link"),
    [
        ({"../escape.txt": b"x"}, None),
        ({"/abs.txt": b"x"}, None),
        ({"ok.txt": b"x"}, "/etc/passwd"),
    ],
)
def test_safe_extract_refuses_escaping_members(
    tmp_path: Path, members: dict[str, bytes], link: str | None
) -> None:
    archive = _tar_with(tmp_path / "bad.tar.gz", members, link)
    with pytest.raises(ValueError, match="bad.tar.gz"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()
    assert not (tmp_path / "out").exists()


def test_mias_archive_with_altered_member_is_refused(
    tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "mirror"
    (fake / "mias").mkdir(parents=True)
    _tar_with(fake / "mias" / "all-mias.tar.gz", {"mdb001.pgm": b"P5\n1 1\n255\n\x00"})
    monkeypatch.setenv("MAMMO_DATA_MIRROR", str(fake))
    with pytest.raises(HashMismatchError, match="failed verification"):
        fetch("mias")
    assert not (isolated_home / "mias" / "all-mias").exists()


def test_cli_lists_and_fetches(capsys: pytest.CaptureFixture[str], isolated_home: Path) -> None:
    assert main(["fetch", "--list"]) == 0
    listed = capsys.readouterr().out
    for dataset in DATASETS.values():
        assert dataset.name in listed and dataset.licence in listed
    assert main(["fetch", "uci-wdbc", "cbis-ddsm-tables"]) == 0
    assert main(["fetch", "no-such-set"]) == 2


def test_cli_fetch_exits_non_zero_with_the_message(
    tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("MAMMO_DATA_MIRROR", str(tmp_path / "nothing-here"))
    assert main(["fetch", "uci-wdbc"]) == 1
    assert "MAMMO_DATA_MIRROR" in capsys.readouterr().err


def test_help_lists_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    listed = capsys.readouterr().out
    modules = [m.name for m in pkgutil.iter_modules(commands.__path__) if m.name[0] != "_"]
    assert len(modules) >= 2
    for module in modules:
        assert module.replace("_", "-") in listed, f"mammo --help does not list {module}"


def _mias_mirror(tmp_path: Path, mirror: Path, archive_bytes: bytes | None = None) -> Path:
    """A mirror whose MIAS archive is the real one, or `archive_bytes` when given."""
    fake = tmp_path / "mias-mirror"
    (fake / "mias").mkdir(parents=True, exist_ok=True)
    target = fake / "mias" / "all-mias.tar.gz"
    target.unlink(missing_ok=True)
    if archive_bytes is None:
        shutil.copyfile(mirror / "mias" / "all-mias.tar.gz", target)
    else:
        target.write_bytes(archive_bytes)
    return fake


def test_mias_home_heals_from_refused_archives_and_changed_members(
    tmp_path: Path, mirror: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14.3: a refused archive is deleted and a fixed mirror heals the data home; a
    changed byte in an extracted member is caught (its mtime changed) and re-extracted."""
    real = (mirror / "mias" / "all-mias.tar.gz").read_bytes()
    home_archive = isolated_home / "mias" / "all-mias.tar.gz"
    # 1. an unsafe archive in the mirror: refused, deleted from the data home
    unsafe = _tar_with(tmp_path / "unsafe.tar.gz", {"../evil.txt": b"x"})
    monkeypatch.setenv(
        "MAMMO_DATA_MIRROR", str(_mias_mirror(tmp_path, mirror, unsafe.read_bytes()))
    )
    with pytest.raises(registry.UnsafeArchiveError, match="evil.txt"):
        fetch("mias")
    assert not home_archive.exists()
    # 2. a truncated archive: refused as unreadable, deleted
    monkeypatch.setenv("MAMMO_DATA_MIRROR", str(_mias_mirror(tmp_path, mirror, real[:200_000])))
    with pytest.raises(HashMismatchError, match="not a readable tar archive"):
        fetch("mias")
    assert not home_archive.exists()
    # 3. a truncated copy already in the data home, the mirror fixed: fetch heals
    monkeypatch.setenv("MAMMO_DATA_MIRROR", str(_mias_mirror(tmp_path, mirror)))
    home_archive.write_bytes(real[:200_000])
    folder = fetch("mias")
    assert home_archive.stat().st_size == len(real)
    members = DATASETS["mias"].archive_members
    assert members is not None
    # 4. one changed byte in an extracted member is found and repaired
    pgm = folder / "mdb005.pgm"
    data = bytearray(pgm.read_bytes())
    data[-1] ^= 0xFF
    pgm.write_bytes(bytes(data))
    assert sha256_of(pgm) != members["mdb005.pgm"]
    assert fetch("mias") == folder
    assert sha256_of(pgm) == members["mdb005.pgm"]


def test_concurrent_fetch_mias_in_two_processes(tmp_path: Path, mirror: Path) -> None:
    """Issue 14.6: two real `mammo fetch mias` processes on one fresh data home both succeed."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, MAMMO_DATA_HOME=str(tmp_path / "fresh"), MAMMO_DATA_MIRROR=str(mirror))
    command = [sys.executable, "-m", "mammo_lib.cli", "fetch", "mias"]
    procs = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=600) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out.startswith("mias: ")
    folder = tmp_path / "fresh" / "mias" / "all-mias"
    members = DATASETS["mias"].archive_members
    assert members is not None
    assert sorted(p.name for p in folder.iterdir() if p.name != ".verified") == sorted(members)
    assert sha256_of(folder / "mdb100.pgm") == members["mdb100.pgm"]
