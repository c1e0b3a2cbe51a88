"""Re-running the imaging chapters (04-08) on a user's own CBIS-DDSM / DDSM download.

The fast tests check the parameter merging of ``mammo book --params/--set`` and the reading of
a download into the frames the chapters use. The slow test is end to end: a ``mammo synth``
tree laid out as the real downloads are (NBIA tree, DDSM ``cases/normals``, the case CSVs in a
folder of their own) is passed as the user's data with ``mammo book --profile ci --params``,
and every chapter must show that it ran on it: the data each glues names the user's folders,
every dataset built was cut from them, and no synthetic tree of the book's own was generated.
"""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from mammo_lib.book import declared_parameters, load_parameters, merge_parameters, parse_set
from mammo_lib.dataset.user_data import scan_data, scan_tree
from mammo_lib.sources.cbis_ddsm import CASE_TABLE_FILES
from mammo_lib.sources.synthetic import generate

ROOT = Path(__file__).resolve().parent.parent
IMAGING = ("04_roi_extraction", "05_dataset_creation", "06_training", "07_results", "08_whole_scan")


@functools.cache
def _declared() -> dict[str, set[str]]:
    return {p.stem: declared_parameters(p) for p in sorted((ROOT / "notebooks").glob("*.py"))}


def test_every_imaging_chapter_takes_the_users_roots() -> None:
    declared = _declared()
    for name in IMAGING:
        assert {"cbis_root", "ddsm_root", "cbis_tables"} <= declared[name], name
    for name in ("06_training", "07_results", "08_whole_scan"):
        assert "dataset_dir" in declared[name], name


def test_global_chapter_and_dotted_keys_are_merged() -> None:
    declared = _declared()
    merged = merge_parameters(
        {"06_training": {"epochs": 2}},
        {"cbis_root": "/data/cbis", "06.epochs": 5, "08_whole_scan": {"eval_cases": 3}},
        declared,
        origin="test",
    )
    for name in IMAGING:
        assert merged[name]["cbis_root"] == "/data/cbis"
    assert "cbis_root" not in merged.get("01_uci_eda", {})
    assert merged["06_training"]["epochs"] == 5
    assert merged["08_whole_scan"]["eval_cases"] == 3


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"no_such_parameter": 1}, "no chapter declares a parameter 'no_such_parameter'"),
        ({"06.no_such_parameter": 1}, "06_training declares no parameter 'no_such_parameter'"),
        ({"06_training": 5}, "06_training must map parameter names"),
    ],
)
def test_unknown_parameters_are_errors(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        merge_parameters({}, overrides, _declared(), origin="my-data.yaml")


def test_set_values_are_yaml_and_come_after_files(tmp_path: Path) -> None:
    assert parse_set(["a=null", "b=5", "c=[1, 2]", "d=~/x"]) == {
        "a": None,
        "b": 5,
        "c": [1, 2],
        "d": "~/x",
    }
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_set(["epochs"])
    file = tmp_path / "my-data.yaml"
    file.write_text(yaml.safe_dump({"ddsm_root": "/from/file", "06_training": {"epochs": 7}}))
    params = load_parameters(
        ROOT, "ci", params_files=[file], sets={"ddsm_root": "/from/set", "seed": 3}
    )
    assert params["04_roi_extraction"]["ddsm_root"] == "/from/set"
    assert params["06_training"]["epochs"] == 7
    assert params["02_uci_classical_ml"]["seed"] == 3


def test_a_missing_root_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="cbis_root"):
        scan_data(tmp_path / "absent", None, synthetic_cases=1)
    with pytest.raises(FileNotFoundError, match="ddsm_root"):
        scan_data(None, tmp_path / "absent", synthetic_cases=1)


@pytest.fixture(scope="module")
def download(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A ``mammo synth`` tree laid out as the user's downloads, case CSVs in their own folder."""
    base = tmp_path_factory.mktemp("user")
    tree = generate(base / "synth", 12, seed=7, size="small")
    tables = base / "case-tables"
    tables.mkdir()
    for name, _, _ in CASE_TABLE_FILES:
        shutil.move(tree.cbis_root / name, tables / name)
    return {
        "cbis_root": tree.cbis_root,
        "ddsm_root": tree.ddsm_root,
        "cbis_tables": tables,
        "truth": base / "synth",
    }


def test_scan_tree_reads_a_download_as_the_generator_wrote_it(download: dict[str, Path]) -> None:
    data = scan_data(
        download["cbis_root"], download["ddsm_root"], download["cbis_tables"], synthetic_cases=1
    )
    assert data.kind == "download"
    assert str(download["cbis_root"]) in data.label and "synthetic" not in data.label
    tree = scan_tree(data)
    truth = pd.read_csv(download["truth"] / "ground_truth_lesions.csv")
    assert len(tree.lesions) == len(truth) > 0
    got = tree.lesions.set_index("roi_id")
    boxes = ["bbox_row0", "bbox_col0", "bbox_row1", "bbox_col1"]
    want = truth.set_index("roi_id")[boxes].astype(int)
    pd.testing.assert_frame_equal(got.loc[want.index, boxes].astype(int), want)
    normals = pd.read_csv(download["truth"] / "ground_truth_normals.csv")
    assert len(tree.normals) == len(normals) > 0
    test_only = scan_tree(data, split="test")
    assert 0 < len(test_only.scans) < len(tree.scans)
    assert set(test_only.scans["split"]) == {"test"}


def _glued(notebook: nbformat.NotebookNode) -> dict[str, str]:
    found = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                text = next(v for k, v in output["data"].items() if k.endswith("text/plain"))
                found[name] = text
    return found


@pytest.mark.slow
def test_the_book_runs_on_the_users_download(
    download: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mammo_lib.cli import main

    root = tmp_path / "book"
    root.mkdir()
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(ROOT / name, root / name)
    for folder in ("book", "notebooks", "params"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("*.ipynb"))
    work = tmp_path / "work"
    monkeypatch.setenv("MAMMO_WORK_DIR", str(work))
    roots = {k: str(download[k]) for k in ("cbis_root", "ddsm_root", "cbis_tables")}
    params = tmp_path / "my-data.yaml"
    params.write_text(yaml.safe_dump({k: roots[k] for k in ("cbis_root", "ddsm_root")}))
    numbers = [name.split("_", 1)[0] for name in IMAGING]
    code = main(
        ["book", "--profile", "ci", "--root", str(root), "--only", *numbers]
        + ["--params", str(params), "--set", f"cbis_tables={roots['cbis_tables']}"]
    )
    assert code == 0
    for name in IMAGING:
        page = root / "_build" / "html" / "notebooks" / f"{name}.html"
        assert page.is_file(), f"{name} was not rendered"
        notebook = nbformat.read(root / "_build" / "executed" / f"{name}.ipynb", as_version=4)
        glued = _glued(notebook)
        labels = {k: v for k, v in glued.items() if k.endswith("_data")}
        assert labels, f"{name} glues no record of its data"
        for key, label in labels.items():
            assert roots["cbis_root"] in label and roots["ddsm_root"] in label, (key, label)
            assert "synthetic" not in label, (key, label)
    assert not (work / "synthetic").exists(), "a chapter generated its own synthetic tree"
    manifests = sorted((work / "datasets").glob("*/manifest.json"))
    assert manifests
    for path in manifests:
        inputs = json.loads(path.read_text())["inputs"]
        for key in ("cbis_root", "ddsm_root", "cbis_tables"):
            assert Path(inputs[key]).resolve() == Path(roots[key]).resolve(), (path, key)
