"""Chapters 06, 07 and 08 share one training run in every profile.

Chapter 06 trains the model; 07 and 08 ask ``ensure_trained`` for the same config and reuse
the finished run, but only when their effective parameters (the parameters cell's default,
overridden by the profile's section) give the same dataset and model. A mismatch does not
fail any chapter: it silently trains a second copy and doubles the build time, and the
chapters then describe different models. These tests read the parameters cells with ``ast``
(nothing is executed) and compare the effective values.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from mammo_lib.config import PROFILES, load_profile

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ("06_training", "07_results", "08_whole_scan")
#: Parameters that define the dataset and the trained run (names shared by the chapters).
SHARED = (
    "seed",
    "synthetic_cases",
    "scan_size",
    "val_fraction",
    "model_name",
    "image_size",
    "epochs",
    "batch_size",
    "pos_weight",
    "model_width",
    "bn_momentum",
    "mixed_precision",
    "augment",
)
#: Parameters only some of the chapters have; where present they must agree.
SHARED_IF_PRESENT = ("dataset_dir", "recipe", "labels")


def parameters_cell(stem: str) -> dict[str, Any]:
    """Return the literal assignments of a notebook's cell tagged ``parameters``."""
    path = ROOT / "notebooks" / f"{stem}.py"
    cells = path.read_text().split("\n# %%")
    tagged = [c for c in cells if c.lstrip().startswith('tags=["parameters"]')]
    if len(tagged) != 1:
        raise AssertionError(f"{path}: expected one parameters cell, found {len(tagged)}")
    body = tagged[0].split("\n", 1)[1]
    values: dict[str, Any] = {}
    for node in ast.parse(body, filename=str(path)).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                values[target.id] = ast.literal_eval(node.value)
    return values


def effective(stem: str, profile: str) -> dict[str, Any]:
    """The parameters a chapter runs with under a profile."""
    values = parameters_cell(stem)
    overrides = load_profile(profile).get(stem, {})
    unknown = sorted(set(overrides) - set(values))
    if unknown:
        raise AssertionError(f"params/{profile}.yaml [{stem}]: unknown parameters {unknown}")
    return {**values, **overrides}


def test_parameters_cells_parse() -> None:
    for stem in CHAPTERS:
        values = parameters_cell(stem)
        missing = [name for name in SHARED if name not in values]
        assert not missing, f"{stem}: parameters cell lacks {missing}"


@pytest.mark.parametrize("profile", PROFILES)
def test_training_chapters_share_one_run(profile: str) -> None:
    params = {stem: effective(stem, profile) for stem in CHAPTERS}
    reference = params["06_training"]
    for stem in CHAPTERS[1:]:
        names = SHARED + tuple(n for n in SHARED_IF_PRESENT if n in params[stem])
        differ = {
            name: (reference[name], params[stem][name])
            for name in names
            if reference[name] != params[stem][name]
        }
        assert not differ, f"profile {profile}: {stem} differs from 06_training: {differ}"


@pytest.mark.parametrize("profile", PROFILES)
def test_results_chapter_main_recipe_is_the_training_recipe(profile: str) -> None:
    training = effective("06_training", profile)
    results = effective("07_results", profile)
    assert results["binary_recipes"][0] == training["recipe"]
    assert training["labels"] == "binary"
