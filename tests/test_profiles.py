"""Chapters 05 to 09 share one study run, written once per profile.

Chapter 06 trains the book's study run (:class:`mammo_lib.train.study.StudyRun`), chapter 05
describes its dataset, 07 and 08 evaluate and map it, and 09 starts its transfer folds from
it. Each asks the content-keyed caches for the same build and run, which they reuse only when
the chapters' knobs agree: a mismatch fails no chapter, it silently trains a second copy and
the chapters describe different models. So every profile writes the knobs once, as the YAML
anchors ``x-dataset`` and ``x-study`` that the chapters' sections merge (``<<: *study``), and
the parameters cells (what a chapter runs with outside a profile) default to
:class:`StudyRun`'s values. The files are read with ``yaml.compose`` and the parameters cells
with ``ast`` (nothing is executed).
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from mammo_lib.config import PROFILES, load_profile
from mammo_lib.train.study import DATASET_FIELDS, StudyRun

ROOT = Path(__file__).resolve().parents[1]
#: Chapter -> the shared block its section merges.
MERGES = {
    "05_dataset_creation": "x-dataset",
    "06_training": "x-study",
    "07_results": "x-study",
    "08_whole_scan": "x-study",
    "09_real_mias": "x-study",
}
#: Chapters that build the whole study run from their parameters (``from_parameters``).
WHOLE_RUN = ("06_training", "07_results", "08_whole_scan")
DEFAULTS = {f.name: f.default for f in dataclasses.fields(StudyRun)}


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


def _entries(node: yaml.MappingNode) -> dict[str, yaml.Node]:
    return {key.value: value for key, value in node.value}


@pytest.mark.parametrize("profile", PROFILES)
def test_each_profile_writes_the_study_run_once(profile: str) -> None:
    path = ROOT / "params" / f"{profile}.yaml"
    top = _entries(yaml.compose(path.read_text()))
    blocks = {name: top[name] for name in ("x-dataset", "x-study")}
    loaded = yaml.safe_load(path.read_text())
    assert set(loaded["x-dataset"]) <= set(DATASET_FIELDS), f"{path}: x-dataset holds more"
    assert set(loaded["x-study"]) <= set(DEFAULTS), f"{path}: x-study holds more than knobs"
    assert _entries(blocks["x-study"]).get("<<") is blocks["x-dataset"], (
        f"{path}: x-study does not merge x-dataset"
    )
    sections = load_profile(profile)
    for stem, block in MERGES.items():
        section = _entries(top[stem])
        assert section.get("<<") is blocks[block], f"{path}: {stem} does not merge *{block}"
        restated = sorted(set(section) & set(DEFAULTS))
        assert not restated, f"{path}: {stem} restates knobs of the study run: {restated}"
        shared = {k: v for k, v in sections[stem].items() if k in DEFAULTS}
        assert shared == loaded[block], f"{path}: {stem} runs another study run"


@pytest.mark.parametrize("stem", MERGES)
def test_parameters_cells_default_to_the_study_run(stem: str) -> None:
    values = parameters_cell(stem)
    if stem in WHOLE_RUN:
        missing = [name for name in DEFAULTS if name not in values]
        assert not missing, f"{stem}: parameters cell lacks study knobs {missing}"
    elif stem == "05_dataset_creation":
        missing = [name for name in DATASET_FIELDS if name not in values]
        assert not missing, f"{stem}: parameters cell lacks dataset knobs {missing}"
    differ = {
        name: (values[name], default)
        for name, default in DEFAULTS.items()
        if name in values and values[name] != default
    }
    assert not differ, f"{stem}: defaults differ from StudyRun's (cell, StudyRun): {differ}"
