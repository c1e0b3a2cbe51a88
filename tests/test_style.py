"""The code is ruff-clean (lint rules and formatting from pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUFF = Path(sys.executable).with_name("ruff")


@pytest.mark.skipif(not RUFF.exists(), reason="ruff is installed by requirements.txt")
@pytest.mark.parametrize(
    "command",
    [
        ["check", "mammo_lib", "tests", "benchmarks", "notebooks"],
        ["format", "--check", "mammo_lib", "tests", "benchmarks"],
    ],
    ids=["lint", "format"],
)
def test_ruff(command: list[str]) -> None:
    result = subprocess.run([str(RUFF), *command], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
