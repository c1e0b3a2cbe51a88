"""Test set-up: real data from the shared mirror, isolated data home and work dir per session."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"

_session_dirs: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """Point the registry at the mirror and give the session its own data home and work dir."""
    if "MAMMO_DATA_MIRROR" not in os.environ and SHARED_DATA.is_dir():
        os.environ["MAMMO_DATA_MIRROR"] = str(SHARED_DATA)
    root = tempfile.mkdtemp(prefix="mammo-tests-")
    _session_dirs.append(root)
    os.environ["MAMMO_DATA_HOME"] = os.path.join(root, "data")
    os.environ["MAMMO_WORK_DIR"] = os.path.join(root, "work")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's temporary folders."""
    for root in _session_dirs:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The real-data mirror the tests read (``MAMMO_DATA_MIRROR``)."""
    path = Path(os.environ["MAMMO_DATA_MIRROR"])
    assert path.is_dir(), f"MAMMO_DATA_MIRROR={path} is not a folder"
    return path
