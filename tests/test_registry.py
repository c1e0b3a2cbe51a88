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
    modules = [m.name for m in pkgutil.iter_modules(commands.__path__)]
    assert len(modules) >= 2
    for module in modules:
        assert module.replace("_", "-") in listed, f"mammo --help does not list {module}"
