"""Every chapter: clean py:percent text, parameterised, and executed with the ci profile.

The execution tests run each notebook of the table of contents with papermill under ci.yaml
(through the same runner as ``mammo book``), check that every figure cell produced an image and
that no output holds a log, warning or progress line, and render the whole book with warnings
as errors: chapters numbered in the sidebar, formulas typeset by the MathJax copied into the
book (no CDN), papermill's injected parameters cell left out.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

from mammo_lib.book import (
    NotebookRun,
    chapter_title,
    execute_all,
    kernel_log,
    log_lines,
    render,
    stage,
    toc_notebooks,
    with_values,
)
from mammo_lib.config import PROFILES, load_profile

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = toc_notebooks(ROOT)
SOURCES = sorted((ROOT / "notebooks").glob("*.py"))


def _parameters_cell(name: str) -> nbformat.NotebookNode:
    notebook = jupytext.read(ROOT / "notebooks" / f"{name}.py")
    cells = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{name}: {len(cells)} cells tagged 'parameters' (want exactly one)"
    return cells[0]


def test_every_chapter_in_the_toc_exists_and_every_notebook_is_listed() -> None:
    assert CHAPTERS, "the table of contents lists no notebook"
    assert sorted(CHAPTERS) == sorted(p.stem for p in SOURCES)


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_source_is_clean_percent_text(source: Path) -> None:
    text = source.read_text()
    assert text.startswith("# %%"), f"{source.name}: not py:percent (jupytext) text"
    notebook = jupytext.reads(text, fmt="py:percent")
    assert notebook.cells[0].cell_type == "markdown"
    assert notebook.cells[0].source.lstrip().startswith("# "), "first cell must hold the title"
    for cell in notebook.cells:
        assert not cell.get("outputs"), f"{source.name} carries outputs"
    compile(jupytext.writes(notebook, fmt="py:percent"), str(source), "exec")


def test_no_generated_notebook_is_tracked() -> None:
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    tracked = subprocess.run(
        ["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked == []


@pytest.mark.parametrize("profile", PROFILES)
def test_profiles_only_set_parameters_the_notebooks_declare(profile: str) -> None:
    for name, values in load_profile(profile).items():
        assert name in CHAPTERS, f"params/{profile}.yaml: {name} is not a chapter"
        cell = _parameters_cell(name)
        declared = {
            target.id
            for node in ast.walk(ast.parse(cell.source))
            if isinstance(node, ast.Assign | ast.AnnAssign)
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Name)
        }
        unknown = set(values) - declared
        assert not unknown, f"params/{profile}.yaml sets {unknown} that {name} does not declare"


def test_log_lines_are_found_and_results_are_not() -> None:
    stream = nbformat.v4.new_output
    cell = nbformat.v4.new_code_cell("train()")
    cell.outputs = [
        stream("stream", name="stdout", text="accuracy 0.75 on 120 tiles\nrun folder: runs/x\n"),
        stream("stream", name="stdout", text="WARNING:tensorflow:5 out of the last 5 calls\n"),
        stream("stream", name="stdout", text="I0000 00:00:1796155592.07 cudart_stub.cc:31] no\n"),
        stream("stream", name="stdout", text=" 40%|####      | 4/10 [00:01<00:02, 3.1it/s]\n"),
        stream("stream", name="stdout", text="x.py:3: UserWarning: Do not pass input_shape\n"),
        stream("stream", name="stderr", text="anything at all on stderr\n"),
    ]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    found = log_lines(notebook)
    assert len(found) == 5, found
    assert not any("accuracy" in line or "run folder" in line for line in found)


def test_parameters_cell_is_shown_with_the_values_used() -> None:
    source = 'seed = 0\nepochs = 30  # the study: 30\nroots = [\n    "a",\n]  # list\nkeep = 1\n'
    shown = with_values(source, {"epochs": 2, "roots": None, "missing": 5})
    assert shown == "seed = 0\nepochs = 2  # the study: 30\nroots = None  # list\nkeep = 1\n"


def test_staging_leaves_out_chapters_that_were_not_executed(tmp_path: Path) -> None:
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "book", tmp_path / "book")
    executed = tmp_path / "out" / f"{CHAPTERS[-1]}.ipynb"
    executed.parent.mkdir()
    executed.write_text("{}")
    runs = [NotebookRun(CHAPTERS[-1], executed, 0.0, reused=True)]
    staged = stage(tmp_path, runs)
    toc = yaml.safe_load((staged / "_toc.yml").read_text())
    assert toc_notebooks(staged) == [CHAPTERS[-1]]
    assert toc["root"] == "book/intro"
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    assert files == [f"notebooks/{CHAPTERS[-1]}", "book/references"]  # empty parts dropped
    for name in CHAPTERS[:-1]:  # all present: the toc is kept whole
        shutil.copy2(executed, executed.with_name(f"{name}.ipynb"))
    runs = [NotebookRun(n, executed.with_name(f"{n}.ipynb"), 0.0, reused=True) for n in CHAPTERS]
    staged = stage(tmp_path, runs)
    assert yaml.safe_load((staged / "_toc.yml").read_text()) == yaml.safe_load(
        (ROOT / "_toc.yml").read_text()
    )


def test_staging_unlinks_links_and_glue_into_left_out_chapters(tmp_path: Path) -> None:
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "book", tmp_path / "book")
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    kept, left_out = CHAPTERS[0], CHAPTERS[1]
    text = (
        f"See {{doc}}`the next chapter <{left_out}>`, {{doc}}`{left_out}` "
        f"and {{doc}}`this one <{kept}>`; {{glue:text}}`{left_out}.ipynb::c02_x:s` "
        f"beside {{glue}}`{kept}.ipynb::c01_y`; {{numref}}`fig-02-x`, {{numref}}`tbl-01-y`."
    )
    executed = tmp_path / "out" / f"{kept}.ipynb"
    executed.parent.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)]), executed)
    staged = stage(tmp_path, [NotebookRun(kept, executed, 0.0, reused=True)])
    cell = nbformat.read(staged / "notebooks" / f"{kept}.ipynb", as_version=4).cells[0].source
    title = chapter_title(ROOT / "notebooks" / f"{left_out}.py")
    assert title != left_out  # the chapter's own heading
    assert cell == (
        f"See *the next chapter* (not in this build), *{title}* (not in this build) "
        f"and {{doc}}`this one <{kept}>`; *(a result of {title}, not in this build)* "
        f"beside {{glue}}`{kept}.ipynb::c01_y`; *a figure of {title}* (not in this build), "
        "{numref}`tbl-01-y`."
    )


def test_kernel_stderr_goes_to_the_chapters_log_not_the_terminal(tmp_path: Path, capfd) -> None:
    """What a started process writes to its standard error (as a chapter's kernel does with
    TensorFlow's start-up lines) lands in the log file; the terminal gets it back after."""
    import sys

    log = tmp_path / "executed" / "06_training.log"
    with kernel_log(log):
        subprocess.run([sys.executable, "-c", "import os; os.write(2, b'I0000 port.cc] x\\n')"])
    subprocess.run([sys.executable, "-c", "import os; os.write(2, b'after\\n')"])
    assert log.read_text() == "I0000 port.cc] x\n"
    assert capfd.readouterr().err == "after\n"


@pytest.fixture(scope="session")
def ci_book(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, NotebookRun]]:
    """Execute every chapter once with the ci profile, in a copy of the book's sources."""
    root = tmp_path_factory.mktemp("book")
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(ROOT / name, root / name)
    for folder in ("book", "notebooks", "params"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("*.ipynb"))
    runs = execute_all(root, "ci", force=True, keep_going=True, timeout=900)
    return root, {run.name: run for run in runs}


@pytest.mark.slow
@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_executes_with_ci_profile_and_draws_its_figures(
    ci_book: tuple[Path, dict[str, NotebookRun]], name: str
) -> None:
    run = ci_book[1][name]
    assert run.error is None, run.error
    assert run.output.with_suffix(".log").is_file(), "the kernel's stderr has no log file"
    notebook = nbformat.read(run.output, as_version=4)
    figures = [c for c in notebook.cells if "figure" in c.metadata.get("mystnb", {})]
    for cell in figures:
        images = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        label = cell.metadata["mystnb"]["figure"].get("name")
        assert len(images) == 1, f"{name}: figure {label} has {len(images)} images"
    errors = [
        o for c in notebook.cells for o in c.get("outputs", []) if o["output_type"] == "error"
    ]
    assert not errors
    injected = [c for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert all("remove-cell" in c.metadata["tags"] for c in injected)
    # The page's parameters cell shows the values this run used (the profile's), not defaults.
    shown: dict = {}
    cells = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    exec(cells[0].source, {}, shown)
    for key, value in load_profile("ci").get(name, {}).items():
        assert shown[key] == value, (name, key, shown[key], value)


@pytest.mark.slow
@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_output_has_no_log_or_warning_line(
    ci_book: tuple[Path, dict[str, NotebookRun]], name: str
) -> None:
    run = ci_book[1][name]
    assert run.error is None, run.error
    found = log_lines(nbformat.read(run.output, as_version=4))
    assert not found, f"{name}: log/warning lines in the outputs:\n" + "\n".join(found[:20])


@pytest.mark.slow
def test_book_builds_with_warnings_as_errors(ci_book: tuple[Path, dict[str, NotebookRun]]) -> None:
    root, runs = ci_book
    index = render(root, stage(root, list(runs.values())), strict=True)
    assert index.is_file()
    for name in CHAPTERS:
        page = root / "_build" / "html" / "notebooks" / f"{name}.html"
        assert page.is_file(), f"{name} was not rendered"
    first = (root / "_build" / "html" / "notebooks" / f"{CHAPTERS[0]}.html").read_text()
    assert "Traceback" not in first
    # MathJax is served with the book: the packaged copy, referenced locally, no CDN.
    html = root / "_build" / "html"
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert (html / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()
    for name in CHAPTERS:
        page = (html / "notebooks" / f"{name}.html").read_text()
        assert "cdn.jsdelivr.net/npm/mathjax" not in page, name
        if "math notranslate" in page:
            assert 'src="../_static/mathjax/tex-chtml.js' in page, name
        assert "# Parameters" not in page, f"{name} shows papermill's injected cell"
    # Chapters are numbered in the sidebar, in the order of the table of contents.
    sidebar = (html / "book" / "references.html").read_text()
    for number, name in enumerate(CHAPTERS, start=1):
        link = re.search(rf'href="../notebooks/{name}.html">\s*([^<]*)<', sidebar)
        assert link and link.group(1).strip().startswith(f"{number}. "), (name, link)
