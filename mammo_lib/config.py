"""Where data and results live, and the run profiles (ci / quick / paper).

Environment variables
---------------------
MAMMO_DATA_HOME
    Folder for downloaded data (default: the user cache dir, e.g. ``~/.cache/mammo``).
MAMMO_DATA_MIRROR
    A folder laid out like the project's data mirror (``uci/``, ``mias/``, ``cbis-ddsm/``);
    when set, registry files are taken from there instead of the network, verified by hash.
MAMMO_WORK_DIR
    Folder for generated artefacts: synthetic scan trees, datasets, training runs
    (default: ``$MAMMO_DATA_HOME/work``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import platformdirs
import yaml

#: Root of the repository when the package is used from a checkout (None when installed elsewhere).
REPO_ROOT: Path | None = (
    Path(__file__).resolve().parent.parent
    if (Path(__file__).resolve().parent.parent / "_toc.yml").exists()
    else None
)

PROFILES = ("ci", "quick", "paper")
DEFAULT_PROFILE = "quick"
#: Top-level profile keys with this prefix hold shared blocks (YAML anchors), not notebooks.
SHARED_PREFIX = "x-"


def data_home() -> Path:
    """Return the folder that holds downloaded data (created if missing)."""
    env = os.environ.get("MAMMO_DATA_HOME")
    path = Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("mammo"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_mirror() -> Path | None:
    """Return the local data mirror named by ``MAMMO_DATA_MIRROR``, or None."""
    env = os.environ.get("MAMMO_DATA_MIRROR")
    return Path(env).expanduser().resolve() if env else None


def work_dir() -> Path:
    """Return the folder for generated artefacts (created if missing)."""
    env = os.environ.get("MAMMO_WORK_DIR")
    path = Path(env).expanduser() if env else data_home() / "work"
    path.mkdir(parents=True, exist_ok=True)
    return path


def params_dir() -> Path:
    """Return the folder holding the profile files ``ci.yaml``, ``quick.yaml``, ``paper.yaml``."""
    if REPO_ROOT is None:
        raise FileNotFoundError(
            "profiles live in the repository's params/ folder; run from a checkout"
        )
    return REPO_ROOT / "params"


def load_profile(
    name: str = DEFAULT_PROFILE, path: Path | None = None
) -> dict[str, dict[str, Any]]:
    """Load a parameter profile: a mapping from notebook name to its papermill parameters.

    Parameters
    ----------
    name
        Profile name (``ci``, ``quick`` or ``paper``), used when `path` is None.
    path
        An explicit YAML file laid out like ``params/quick.yaml``.

    Returns
    -------
    dict
        ``{notebook_stem: {parameter: value}}``; notebooks absent from the file run with the
        defaults of their ``parameters`` cell. Top-level keys starting with
        :data:`SHARED_PREFIX` are no notebook: they hold YAML anchors that the notebooks'
        sections merge (``<<: *study``), and are left out.
    """
    file = Path(path) if path is not None else params_dir() / f"{name}.yaml"
    if not file.exists():
        raise FileNotFoundError(f"{file}: no such parameter profile (known: {', '.join(PROFILES)})")
    content = yaml.safe_load(file.read_text()) or {}
    if not isinstance(content, dict) or not all(isinstance(v, dict) for v in content.values()):
        raise ValueError(f"{file}: a profile maps notebook names to mappings of parameters")
    return {k: v for k, v in content.items() if not str(k).startswith(SHARED_PREFIX)}
