"""The data registry: every external file the project uses, with its official URL and SHA256.

Files are downloaded with :mod:`pooch` into :func:`mammo_lib.config.data_home`, or copied from a
local mirror when ``MAMMO_DATA_MIRROR`` names a folder laid out like the project's data mirror
(``uci/``, ``mias/``, ``cbis-ddsm/``). Either way every file is verified against the registry's
hash; a file that does not match is refused and never used.

The MIAS archive is the exception that proves the rule: the copies in circulation are repacked, so
the archive's own hash varies; the hash of every extracted member is checked instead (the list
ships with the package as ``mias_sha256sums.txt``).

Examples
--------
>>> from mammo_lib.sources.registry import fetch
>>> folder = fetch("uci-wdbc")          # doctest: +SKIP
>>> sorted(p.name for p in folder.iterdir())  # doctest: +SKIP
['wdbc.data', 'wdbc.names']
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath

import pooch

from mammo_lib.config import data_home, data_mirror
from mammo_lib.io import atomic_path

UCI_BASE = "https://archive.ics.uci.edu/ml/machine-learning-databases"
TCIA_BASE = "https://wiki.cancerimagingarchive.net/download/attachments/22516629"

CC_BY_4 = "CC BY 4.0 (UCI Machine Learning Repository)"


class DataUnavailableError(RuntimeError):
    """A registry file could be neither downloaded nor found in the mirror."""


class HashMismatchError(RuntimeError):
    """A file's content does not match the hash the registry knows for it."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a data set.

    Attributes
    ----------
    name
        File name inside the data set's folder.
    url
        Official download address.
    sha256
        Expected SHA256 of the file, or None when the members of an archive are verified instead.
    mirror_path
        Path of the file inside a mirror folder (``MAMMO_DATA_MIRROR``).
    """

    name: str
    url: str
    sha256: str | None
    mirror_path: str


@dataclass(frozen=True)
class DataSet:
    """A named data set: its files, licence and citation."""

    name: str
    title: str
    files: tuple[RemoteFile, ...]
    licence: str
    citation: str
    archive_members: dict[str, str] | None = field(default=None, repr=False)

    @property
    def is_archive(self) -> bool:
        """True when the data set is one archive whose members are verified after extraction."""
        return self.archive_members is not None


def _uci(folder: str, name: str, sha256: str) -> RemoteFile:
    return RemoteFile(name, f"{UCI_BASE}/{folder}/{name}", sha256, f"uci/{name}")


def _tcia(name: str, sha256: str) -> RemoteFile:
    return RemoteFile(name, f"{TCIA_BASE}/{name}?api=v2", sha256, f"cbis-ddsm/{name}")


def _mias_members() -> dict[str, str]:
    text = resources.files("mammo_lib.sources").joinpath("mias_sha256sums.txt").read_text()
    members = {}
    for line in text.splitlines():
        if line.strip():
            digest, name = line.split()
            members[name] = digest
    return members


_WISCONSIN = "breast-cancer-wisconsin"

DATASETS: dict[str, DataSet] = {
    d.name: d
    for d in (
        DataSet(
            "uci-wdbc",
            "Wisconsin Diagnostic Breast Cancer (WDBC), 569 fine-needle aspirates",
            (
                _uci(
                    _WISCONSIN,
                    "wdbc.data",
                    "d606af411f3e5be8a317a5a8b652b425aaf0ff38ca683d5327ffff94c3695f4a",
                ),
                _uci(
                    _WISCONSIN,
                    "wdbc.names",
                    "840e04e3f20f8a5b326892f3b9cbc01c4cd6f7e6c597630b701ef6c0ac79f5ef",
                ),
            ),
            CC_BY_4,
            "Street, Wolberg & Mangasarian (1993). Nuclear feature extraction for breast tumor "
            "diagnosis. Proc. SPIE 1905. doi:10.24432/C5DW2B",
        ),
        DataSet(
            "uci-wpbc",
            "Wisconsin Prognostic Breast Cancer (WPBC), 198 cases with follow-up",
            (
                _uci(
                    _WISCONSIN,
                    "wpbc.data",
                    "f2bd5ccdb6086fa832370dc043319907430cf6bfcfd3b96a3961a357be345c8e",
                ),
                _uci(
                    _WISCONSIN,
                    "wpbc.names",
                    "c1ef99d8ed4a6bc212bab59b6df3fab870f6b3ffd8a24d7ba93e53cae14f3461",
                ),
            ),
            CC_BY_4,
            "Wolberg, Street & Mangasarian (1995). Wisconsin Prognostic Breast Cancer. "
            "UCI Machine Learning Repository. doi:10.24432/C5GK50",
        ),
        DataSet(
            "uci-bcw",
            "Breast Cancer Wisconsin (Original), 699 cases",
            (
                _uci(
                    _WISCONSIN,
                    "breast-cancer-wisconsin.data",
                    "402c585309c399237740f635ef9919dc512cca12cbeb20de5e563a4593f22b64",
                ),
                _uci(
                    _WISCONSIN,
                    "breast-cancer-wisconsin.names",
                    "4bcd6e4e0e4f8ae54e313ebbf18013cc83b6827a207123707687f8f19d29dd2c",
                ),
            ),
            CC_BY_4,
            "Wolberg & Mangasarian (1990). Multisurface method of pattern separation for medical "
            "diagnosis applied to breast cytology. PNAS 87(23). doi:10.24432/C5HP4Z",
        ),
        DataSet(
            "uci-mammographic-mass",
            "Mammographic Mass, 961 BI-RADS assessed masses",
            (
                _uci(
                    "mammographic-masses",
                    "mammographic_masses.data",
                    "2ed8bb60a517f631256d218a4885c56ef196d41023c63307ab40d69985be3b4a",
                ),
                _uci(
                    "mammographic-masses",
                    "mammographic_masses.names",
                    "035d72a27f87c483e1cd142d2343995a4e1525fb183e680b1a5beebd4633eadd",
                ),
            ),
            CC_BY_4,
            "Elter, Schulz-Wendtland & Wittenberg (2007). The prediction of breast cancer biopsy "
            "outcomes using two CAD approaches. Medical Physics 34(11). doi:10.24432/C53K6Z",
        ),
        DataSet(
            "mias",
            "mini-MIAS: 322 digitised mammograms (1024 x 1024 PGM) with Info.txt annotations",
            (
                RemoteFile(
                    "all-mias.tar.gz",
                    "http://peipa.essex.ac.uk/pix/mias/all-mias.tar.gz",
                    None,
                    "mias/all-mias.tar.gz",
                ),
            ),
            "Research use; no rent, lease or sale (see Licence.txt in the archive)",
            "Suckling et al. (1994). The Mammographic Image Analysis Society digital mammogram "
            "database. Exerpta Medica, International Congress Series 1069, 375-378.",
            archive_members=_mias_members(),
        ),
        DataSet(
            "cbis-ddsm-tables",
            "CBIS-DDSM case description tables (mass/calc x train/test)",
            (
                _tcia(
                    "mass_case_description_train_set.csv",
                    "d1b4249fe0176a7531f27458e9f6bfa95dcc93886b249b5aa4db6ed82083bbbe",
                ),
                _tcia(
                    "mass_case_description_test_set.csv",
                    "bea24f508f2632944c856202a76e36a01aa6362f2c2f7a33f38b10ed1ea8de62",
                ),
                _tcia(
                    "calc_case_description_train_set.csv",
                    "f7e705ac8badaf4d637519b0f2324b1f6e540325ecabeab582806421273bfb45",
                ),
                _tcia(
                    "calc_case_description_test_set.csv",
                    "1a94adc4290f020e92d8e987992fb48ddc256e7b71e8d8f5b7a96f2cdd645673",
                ),
            ),
            "CC BY 3.0 (The Cancer Imaging Archive)",
            "Lee et al. (2017). A curated mammography data set for use in computer-aided detection "
            "and diagnosis research. Scientific Data 4, 170177. doi:10.7937/K9/TCIA.2016.7O02S9CY",
        ),
    )
}


def sha256_of(path: Path) -> str:
    """Return the hex SHA256 digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def get_dataset(name: str) -> DataSet:
    """Return the registry entry `name`, or raise KeyError listing the known names."""
    try:
        return DATASETS[name]
    except KeyError:
        raise KeyError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}") from None


def _verify(path: Path, expected: str, origin: str) -> None:
    actual = sha256_of(path)
    if actual != expected:
        raise HashMismatchError(
            f"{path.name} from {origin}: SHA256 {actual} does not match the registry's "
            f"{expected}; the file was refused and not used"
        )


def _copy_from_mirror(remote: RemoteFile, mirror: Path, target: Path) -> None:
    source = mirror / remote.mirror_path
    if not source.is_file():
        raise DataUnavailableError(
            f"{remote.name}: not found in the mirror at {source} (MAMMO_DATA_MIRROR={mirror}); "
            f"official URL {remote.url}. Unset MAMMO_DATA_MIRROR to download it, or place the "
            "file there; MAMMO_DATA_HOME sets where downloads are kept."
        )
    if remote.sha256 is not None:
        _verify(source, remote.sha256, f"the mirror ({source})")
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)


def _download(remote: RemoteFile, target: Path) -> None:
    known_hash = f"sha256:{remote.sha256}" if remote.sha256 else None
    try:
        pooch.retrieve(
            remote.url,
            known_hash=known_hash,
            fname=target.name,
            path=target.parent,
            progressbar=False,
        )
    except ValueError as err:  # pooch's hash mismatch; it has already deleted the download
        raise HashMismatchError(
            f"{remote.name} downloaded from {remote.url} does not match the registry's SHA256 "
            f"{remote.sha256}; the file was refused and not used ({err})"
        ) from err
    except Exception as err:  # network failures come as many types (requests, OSError, ...)
        raise DataUnavailableError(
            f"{remote.name}: could not be downloaded from {remote.url} ({type(err).__name__}: "
            f"{err}). Without network, set MAMMO_DATA_MIRROR to a folder holding "
            f"{remote.mirror_path}; MAMMO_DATA_HOME sets where downloads are kept."
        ) from err


def _obtain(remote: RemoteFile, folder: Path) -> Path:
    """Make `remote` present and verified in `folder`; return its path."""
    target = folder / remote.name
    if target.is_file():
        if remote.sha256 is None or sha256_of(target) == remote.sha256:
            return target
        target.unlink()  # a stale or corrupted copy: fetch it again
    mirror = data_mirror()
    if mirror is not None:
        _copy_from_mirror(remote, mirror, target)
    else:
        _download(remote, target)
    return target


def safe_extract(archive: Path, destination: Path) -> list[Path]:
    """Extract a tar archive, refusing any member that would land outside `destination`.

    Links, devices and absolute or ``..`` paths are refused with an error naming the archive
    and the member; nothing is extracted in that case.
    """
    destination = destination.resolve()
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        for member in members:
            target = (destination / member.name).resolve()
            unsafe = (
                PurePosixPath(member.name).is_absolute()
                or ".." in PurePosixPath(member.name).parts
                or not target.is_relative_to(destination)
                or not (member.isfile() or member.isdir())
            )
            if unsafe:
                raise ValueError(
                    f"{archive}: member {member.name!r} is a link, a device or escapes the "
                    "target folder; the archive was not extracted"
                )
        destination.mkdir(parents=True, exist_ok=True)
        tar.extractall(destination, members=members, filter="data")
    return [destination / m.name for m in members if m.isfile()]


def _extract_verified(dataset: DataSet, archive: Path, folder: Path) -> Path:
    members = dataset.archive_members or {}
    out = folder / archive.name.removesuffix(".tar.gz")
    stamp = out / ".verified"
    if stamp.is_file() and stamp.read_text() == archive.name + ":" + sha256_of(archive):
        return out
    staging = folder / (out.name + ".extracting")
    shutil.rmtree(staging, ignore_errors=True)
    extracted = safe_extract(archive, staging)
    found = {p.relative_to(staging).as_posix(): p for p in extracted}
    # Archives are sometimes packed inside a top-level folder; accept either layout.
    by_name = {PurePosixPath(k).name: v for k, v in found.items()}
    problems = []
    for name, expected in members.items():
        path = by_name.get(name)
        if path is None:
            problems.append(f"{name}: missing")
        elif sha256_of(path) != expected:
            problems.append(f"{name}: SHA256 does not match the registry")
    if problems:
        shutil.rmtree(staging, ignore_errors=True)
        shown = "; ".join(problems[:5]) + (" ..." if len(problems) > 5 else "")
        raise HashMismatchError(
            f"{archive}: {len(problems)} member(s) failed verification ({shown}); the archive "
            "was refused and its files were not used"
        )
    flat = folder / (out.name + ".flat")
    shutil.rmtree(flat, ignore_errors=True)
    flat.mkdir()
    for name in members:
        by_name[name].replace(flat / name)
    shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    flat.replace(out)
    stamp.write_text(archive.name + ":" + sha256_of(archive))
    return out


def fetch(name: str) -> Path:
    """Fetch and verify a data set; return the folder holding its files.

    Parameters
    ----------
    name
        A registry name, e.g. ``"uci-wdbc"``, ``"mias"``, ``"cbis-ddsm-tables"``.

    Returns
    -------
    Path
        The data set's folder under the data home; for an archive, the folder of its verified
        extracted members.

    Raises
    ------
    DataUnavailableError
        When a file is neither downloadable nor in the mirror; the message names the file, its
        URL and the variables ``MAMMO_DATA_MIRROR`` and ``MAMMO_DATA_HOME``.
    HashMismatchError
        When a file (or an archive member) does not match the registry's hash.
    """
    dataset = get_dataset(name)
    folder = data_home() / dataset.name
    folder.mkdir(parents=True, exist_ok=True)
    paths = [_obtain(remote, folder) for remote in dataset.files]
    if dataset.is_archive:
        return _extract_verified(dataset, paths[0], folder)
    return folder
