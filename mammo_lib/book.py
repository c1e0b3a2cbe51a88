"""Build the book: run the notebooks with papermill under a profile, render with Jupyter Book.

The notebooks (``notebooks/NN_name.py``, py:percent) are converted with jupytext, executed with
papermill into ``_build/executed/`` with the parameters of the chosen profile, staged with the
book's pages into ``_build/book/``, and rendered by Jupyter Book with execution off (the pages show
the papermill outputs) and warnings as errors. A notebook whose source, parameters and library code
are unchanged since its last successful run is not executed again.

Parameters come from the profile (``params/<profile>.yaml``), then from the user's own files
(``--params my-data.yaml``, laid out like a profile, or with global keys that apply to every
chapter declaring them), then from ``--set KEY=VALUE`` (``06_training.epochs=5`` for one
chapter, ``cbis_root=~/CBIS-DDSM`` for all that declare it). A parameter no chapter declares
is an error, never silently ignored.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import papermill
import yaml

from mammo_lib.config import DEFAULT_PROFILE, load_profile


class NotebookFailed(RuntimeError):
    """A notebook raised while papermill executed it."""


@dataclass
class NotebookRun:
    """The outcome of executing one notebook."""

    name: str
    output: Path
    seconds: float
    reused: bool
    error: str | None = None


def toc_notebooks(root: Path) -> list[str]:
    """Return the notebook stems the table of contents lists, in order (``notebooks/NN_x``)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            file = node.get("file") or node.get("root")
            if isinstance(file, str) and file.startswith("notebooks/"):
                found.append(Path(file).stem)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return found


def declared_parameters(source: Path) -> set[str]:
    """Names assigned in the notebook's cell tagged ``parameters`` (read, not executed)."""
    notebook = jupytext.read(source)
    cells = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"{source}: {len(cells)} cells tagged 'parameters' (want exactly one)")
    names: set[str] = set()
    for node in ast.walk(ast.parse(cells[0].source, filename=str(source))):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def _chapter_of(key: str, chapters: list[str]) -> str | None:
    """The chapter stem `key` names (its stem or its number prefix ``"06"``), or None."""
    for name in chapters:
        if key == name or key == name.split("_", 1)[0]:
            return name
    return None


def parse_set(items: list[str]) -> dict[str, Any]:
    """Parse ``KEY=VALUE`` strings; each VALUE is read as YAML (``null``, ``5``, ``[1, 2]``)."""
    parsed: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set {item!r}: expected KEY=VALUE")
        parsed[key.strip()] = yaml.safe_load(value) if value.strip() else None
    return parsed


def merge_parameters(
    params: dict[str, dict[str, Any]],
    overrides: dict[str, Any],
    declared: dict[str, set[str]],
    *,
    origin: str,
) -> dict[str, dict[str, Any]]:
    """Return a copy of `params` with `overrides` applied.

    Parameters
    ----------
    params
        ``{chapter: {parameter: value}}`` (a loaded profile).
    overrides
        Keys ``chapter`` (its value a mapping), ``chapter.parameter``, or ``parameter``
        (applied to every chapter that declares it); chapters by stem or number prefix.
    declared
        The parameters each chapter declares (:func:`declared_parameters`).
    origin
        Where the overrides come from, for error messages.

    Raises
    ------
    ValueError
        Naming `origin` and the key, when a chapter or parameter is unknown.
    """
    chapters = list(declared)
    merged = {name: dict(values) for name, values in params.items()}

    def put(chapter: str, name: str, value: Any) -> None:
        if name not in declared[chapter]:
            raise ValueError(f"{origin}: {chapter} declares no parameter {name!r}")
        merged.setdefault(chapter, {})[name] = value

    for key, value in overrides.items():
        chapter = _chapter_of(key, chapters)
        if chapter is not None:
            if not isinstance(value, dict):
                raise ValueError(f"{origin}: {key} must map parameter names to values")
            for name, item in value.items():
                put(chapter, name, item)
        elif "." in key and _chapter_of(key.split(".", 1)[0], chapters) is not None:
            head, name = key.split(".", 1)
            put(_chapter_of(head, chapters) or head, name, value)
        else:
            users = [c for c in chapters if key in declared[c]]
            if not users:
                raise ValueError(f"{origin}: no chapter declares a parameter {key!r}")
            for chapter in users:
                merged.setdefault(chapter, {})[key] = value
    return merged


def load_parameters(
    root: Path,
    profile: str = DEFAULT_PROFILE,
    *,
    params_files: list[Path] | None = None,
    sets: dict[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """The parameters of every chapter: the profile, then `params_files`, then `sets`."""
    params = load_profile(profile)
    if not params_files and not sets:
        return params
    names = toc_notebooks(root)
    declared = {n: declared_parameters(root / "notebooks" / f"{n}.py") for n in names}
    for file in params_files or []:
        file = Path(file).expanduser()
        if not file.is_file():
            raise FileNotFoundError(f"{file}: no such parameter file")
        content = yaml.safe_load(file.read_text()) or {}
        if not isinstance(content, dict):
            raise ValueError(f"{file}: a parameter file maps names to values")
        params = merge_parameters(params, content, declared, origin=str(file))
    if sets:
        params = merge_parameters(params, sets, declared, origin="--set")
    return params


#: Lines of an executed chapter's output that are logs, warnings or progress bars, not results:
#: glog/absl (``I0000 00:00:...``, ``W1201 ...``), Python logging's default format
#: (``WARNING:tensorflow:...``), ``warnings`` (``UserWarning: ...``), CUDA and TensorFlow
#: start-up messages, tqdm bars (``40%|####``).
LOG_LINE = re.compile(
    r"^\s*[IWEF]\d{4} \d\d:\d\d:\d\d"
    r"|^\s*(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL)\b[:\s]"
    r"|\b\w*Warning: "
    r"|\bcu(Init|da_|DNN|BLAS|FFT)\w*|CUDA|oneDNN|TensorFlow binary|absl::"
    r"|\d+%\|"
    r"|\bit/s\]|\bs/it\]"
)


def log_lines(notebook: nbformat.NotebookNode) -> list[str]:
    """Every log, warning or progress line in a notebook's outputs, as ``cell N: line``.

    All of a stream's lines count when it is stderr; on stdout, the lines :data:`LOG_LINE`
    matches. Results a chapter prints (tables, numbers) are neither.
    """
    found = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") != "stream":
                continue
            lines = [line for line in str(output.get("text", "")).splitlines() if line.strip()]
            if output.get("name") != "stderr":
                lines = [line for line in lines if LOG_LINE.search(line)]
            found += [f"cell {index}: {line.strip()[:200]}" for line in lines]
    return found


def with_values(source: str, values: dict[str, Any]) -> str:
    """The parameters cell `source` with the right-hand side of each top-level assignment of a
    name in `values` replaced by that value's ``repr`` (comments and layout kept)."""
    lines = source.splitlines(keepends=True)
    edits = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in values:
                edits.append((node.value, repr(values[target.id])))
    for value, text in sorted(edits, key=lambda e: (e[0].lineno, e[0].col_offset), reverse=True):
        first, last = value.lineno - 1, (value.end_lineno or value.lineno) - 1
        head = lines[first].encode()[: value.col_offset].decode()
        tail = lines[last].encode()[value.end_col_offset :].decode()
        lines[first : last + 1] = [head + text + tail]
    return "".join(lines)


def show_parameters_used(path: Path, parameters: dict[str, Any]) -> None:
    """Make an executed notebook's page show the parameters its run used, once.

    papermill runs the chapter's ``parameters`` cell and then its own injected ``# Parameters``
    cell with the profile's values. On the page the chapter's cell (with its comments) now
    shows the values used, and the injected cell is tagged ``remove-cell``.
    """
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
        elif "parameters" in tags and parameters:
            cell.source = with_values(cell.source, parameters)
    nbformat.write(notebook, path)


def _library_digest() -> str:
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _run_key(source: Path, parameters: dict[str, Any], library: str) -> str:
    digest = hashlib.sha256(source.read_bytes())
    digest.update(json.dumps(parameters, sort_keys=True, default=str).encode())
    digest.update(library.encode())
    return digest.hexdigest()


#: Environment of the kernels that execute the chapters (they inherit this process's). A
#: non-inline MPLBACKEND (e.g. Agg in a test session) would make every figure vanish from the
#: pages; progress bars are for a terminal, not for a page.
KERNEL_ENV = {"MPLBACKEND": "module://matplotlib_inline.backend_inline", "TQDM_DISABLE": "1"}

#: ipykernel forwards what native libraries write to the process's stderr (TensorFlow's and
#: CUDA's start-up lines, which TF_CPP_MIN_LOG_LEVEL does not reach) into the cell's output;
#: off, those lines go to the kernel's stderr, which :func:`kernel_log` sends to a file. The
#: kernel's own log is kept to errors: ipykernel 7 warns on every start that its 127.0.0.1
#: TCP sockets are unencrypted, one line per chapter that says nothing about it.
KERNEL_ARGUMENTS = ["--IPKernelApp.capture_fd_output=False", "--IPKernelApp.log_level=ERROR"]


@contextlib.contextmanager
def kernel_log(path: Path) -> Iterator[Path]:
    """Send this process's standard error (file descriptor 2), and so that of the kernels it
    starts, to `path` while the block runs; the terminal keeps the build's own lines."""
    sys.stderr.flush()
    path.parent.mkdir(parents=True, exist_ok=True)
    saved = os.dup(2)
    try:
        with open(path, "wb") as log:
            os.dup2(log.fileno(), 2)
            try:
                yield path
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def execute_notebook(
    source: Path,
    output: Path,
    parameters: dict[str, Any],
    *,
    cwd: Path,
    timeout: int | None = None,
) -> float:
    """Convert a py:percent notebook and execute it with papermill; return the seconds taken.

    What the kernel writes to its standard error (native libraries' start-up lines) goes to
    `output` with the suffix ``.log``, not to the terminal.

    Raises
    ------
    NotebookFailed
        Naming the notebook and the error; the failed notebook (with its traceback cell) is
        still written to `output` for inspection.
    """
    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    converted = output.with_name(output.stem + ".input.ipynb")
    nbformat.write(notebook, converted)
    start = time.perf_counter()
    saved = {name: os.environ.get(name) for name in KERNEL_ENV}
    os.environ.update(KERNEL_ENV)
    log = output.with_suffix(".log")
    try:
        with kernel_log(log):
            papermill.execute_notebook(
                str(converted),
                str(output),
                parameters=parameters,
                cwd=str(cwd),
                kernel_name="python3",
                progress_bar=False,
                execution_timeout=timeout,
                coalesce_streams=True,
                extra_arguments=KERNEL_ARGUMENTS,
            )
    except papermill.PapermillExecutionError as err:
        raise NotebookFailed(
            f"{source}: {err.ename}: {err.evalue} (see {output}; kernel log {log})"
        ) from err
    except Exception:
        print(f"[book] {source.name}: failed; the kernel's log is {log}", file=sys.stderr)
        raise
    finally:
        if output.is_file():
            show_parameters_used(output, parameters)
        converted.unlink(missing_ok=True)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return time.perf_counter() - start


def execute_all(
    root: Path,
    profile: str = DEFAULT_PROFILE,
    *,
    only: list[str] | None = None,
    force: bool = False,
    keep_going: bool = True,
    timeout: int | None = None,
    params_files: list[Path] | None = None,
    sets: dict[str, Any] | None = None,
) -> list[NotebookRun]:
    """Execute the table of contents' notebooks under `profile` into ``_build/executed``.

    Parameters
    ----------
    root
        The repository root (holding ``_toc.yml`` and ``notebooks/``).
    profile
        Name of a profile in ``params/``.
    only
        Notebook stems or their number prefixes (``"03"``) to run; None runs all.
    force
        Execute even when a cached run with the same inputs exists.
    keep_going
        Continue with the next notebook after a failure (the failures are returned).
    timeout
        Seconds allowed per cell.
    params_files, sets
        The user's parameter files and ``KEY=VALUE`` settings (see :func:`load_parameters`).
    """
    params = load_parameters(root, profile, params_files=params_files, sets=sets)
    library = _library_digest()
    names = toc_notebooks(root)
    if only:
        names = [n for n in names if any(n == o or n.split("_", 1)[0] == o for o in only)]
        if not names:
            raise ValueError(f"no notebook in _toc.yml matches {only}")
    out_dir = root / "_build" / "executed"
    runs: list[NotebookRun] = []
    for name in names:
        source = root / "notebooks" / f"{name}.py"
        parameters = dict(params.get(name, {}))
        output = out_dir / f"{name}.ipynb"
        stamp = out_dir / f"{name}.key"
        key = _run_key(source, {"profile": profile, **parameters}, library)
        if not force and output.is_file() and stamp.is_file() and stamp.read_text() == key:
            runs.append(NotebookRun(name, output, 0.0, reused=True))
            print(f"[book] {name}: unchanged, reusing {output.relative_to(root)}", flush=True)
            continue
        stamp.unlink(missing_ok=True)
        print(f"[book] {name}: executing with profile {profile!r} {parameters}", flush=True)
        try:
            seconds = execute_notebook(
                source, output, parameters, cwd=source.parent, timeout=timeout
            )
        except NotebookFailed as err:
            runs.append(NotebookRun(name, output, 0.0, reused=False, error=str(err)))
            print(f"[book] {name}: FAILED: {err}", file=sys.stderr, flush=True)
            if not keep_going:
                break
            continue
        stamp.write_text(key)
        runs.append(NotebookRun(name, output, seconds, reused=False))
        print(f"[book] {name}: done in {seconds:.1f} s", flush=True)
    return runs


def _drop_from_toc(node: Any, missing: set[str]) -> Any:
    """A copy of a ``_toc.yml`` tree without the entries whose ``file`` is in `missing`."""
    if isinstance(node, list):
        kept = [_drop_from_toc(item, missing) for item in node]
        return [item for item in kept if item is not None]
    if isinstance(node, dict):
        if node.get("file") in missing:
            return None
        out = {key: _drop_from_toc(value, missing) for key, value in node.items()}
        if "chapters" in node and not out["chapters"]:
            return None  # a part left without chapters
        return out
    return node


_DOC_ROLE = re.compile(r"\{doc\}`(?:(?P<text>[^`<]*?)\s*<(?P<target>[^`>]+)>|(?P<bare>[^`<>]+))`")
_REF_ROLE = re.compile(
    r"\{(?:numref|ref)\}`(?:[^`<]*?<)?(?P<label>(?P<kind>fig|tbl|eq)-(?P<chapter>\d\d)-[^`>]+)>?`"
)
_KIND_WORDS = {"fig": "a figure", "tbl": "a table", "eq": "an equation"}
_GLUE_ROLE = re.compile(r"\{glue(?::[a-z]+)?\}`(?P<stem>[^`:]+)\.ipynb::[^`]+`")


def chapter_title(source: Path) -> str:
    """The first Markdown heading of a chapter's py:percent source (its stem if none)."""
    for line in source.read_text().splitlines():
        match = re.match(r"#\s+#\s+(.+)", line)
        if match:
            return match.group(1).strip()
    return source.stem


def unlink_missing(text: str, titles: dict[str, str]) -> str:
    """`text` with every ``{doc}`` link to a chapter in `titles` replaced by its plain words.

    A partial build leaves chapters out of the table of contents; a link into one of them would
    fail the ``-W`` render, so it becomes the link's text (or the chapter's title), in italics.
    A ``{glue}`` reference to a number of such a chapter (``NAME.ipynb::key``) and a
    ``{numref}`` or ``{ref}`` to one of its figures or tables (labels ``fig-NN-...``,
    ``tbl-NN-...``, ``eq-NN-...`` with NN the chapter's number) fail the same way; each
    becomes a note naming the chapter.
    """

    def replace(match: re.Match[str]) -> str:
        target = match.group("target") or match.group("bare")
        stem = Path(target.strip()).name
        if stem not in titles:
            return match.group(0)
        words = (match.group("text") or "").strip() or titles[stem]
        return f"*{words}* (not in this build)"

    def replace_glue(match: re.Match[str]) -> str:
        stem = match.group("stem").strip()
        if stem not in titles:
            return match.group(0)
        return f"*(a result of {titles[stem]}, not in this build)*"

    by_number = {stem.split("_", 1)[0]: stem for stem in titles}

    def replace_ref(match: re.Match[str]) -> str:
        stem = by_number.get(match.group("chapter"))
        if stem is None:
            return match.group(0)
        return f"*{_KIND_WORDS[match.group('kind')]} of {titles[stem]}* (not in this build)"

    text = _DOC_ROLE.sub(replace, text)
    text = _REF_ROLE.sub(replace_ref, text)
    return _GLUE_ROLE.sub(replace_glue, text)


def _unlink_notebook(path: Path, titles: dict[str, str]) -> None:
    """Rewrite the Markdown cells of a staged notebook, and the Markdown its code cells
    output (tables rendered as MyST), with :func:`unlink_missing`."""
    source = path.read_text()
    if not any(role in source for role in ("{doc}", "{glue", "{numref}", "{ref}")):
        return
    notebook = nbformat.read(path, as_version=4)
    changed = False
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            text = unlink_missing(cell.source, titles)
            changed |= text != cell.source
            cell.source = text
        for output in cell.get("outputs", []):
            markdown = output.get("data", {}).get("text/markdown")
            if isinstance(markdown, str):
                text = unlink_missing(markdown, titles)
                changed |= text != markdown
                output["data"]["text/markdown"] = text
    if changed:
        nbformat.write(notebook, path)


def stage(root: Path, runs: list[NotebookRun]) -> Path:
    """Lay out the book's sources with the executed notebooks in ``_build/book``; return it.

    A chapter with no executed notebook (e.g. after ``--only`` on a fresh checkout) is left
    out of the staged table of contents, with a message, so the rest still renders.
    """
    staging = root / "_build" / "book"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    shutil.copy2(root / "_config.yml", staging / "_config.yml")
    shutil.copytree(root / "book", staging / "book")
    (staging / "notebooks").mkdir()
    for run in runs:
        if run.output.is_file():
            shutil.copy2(run.output, staging / "notebooks" / run.output.name)
    missing = {
        f"notebooks/{name}"
        for name in toc_notebooks(root)
        if not (staging / "notebooks" / f"{name}.ipynb").is_file()
    }
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    if missing:
        print(f"[book] not executed, left out of this build: {sorted(missing)}", flush=True)
        toc = _drop_from_toc(toc, missing)
        titles = {
            Path(name).name: chapter_title(root / f"{name}.py")
            if (root / f"{name}.py").is_file()
            else Path(name).name
            for name in missing
        }
        for staged in (staging / "notebooks").glob("*.ipynb"):
            _unlink_notebook(staged, titles)
    (staging / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    return staging


def render(root: Path, staging: Path, *, strict: bool = True) -> Path:
    """Render the staged book to ``_build/html`` with Jupyter Book; return ``index.html``."""
    command = [
        str(Path(sys.executable).with_name("jupyter-book")),
        "build",
        str(staging),
        "--path-output",
        str(root),
        "--keep-going",
    ]
    if strict:
        command += ["-W", "-n"]
    result = subprocess.run(command, cwd=root, check=False)
    index = root / "_build" / "html" / "index.html"
    if result.returncode != 0:
        raise RuntimeError(
            f"jupyter-book build failed (exit {result.returncode}); see output above"
        )
    return index


def build_book(
    root: Path,
    profile: str = DEFAULT_PROFILE,
    *,
    only: list[str] | None = None,
    force: bool = False,
    strict: bool = True,
    params_files: list[Path] | None = None,
    sets: dict[str, Any] | None = None,
) -> Path:
    """Execute every notebook under `profile` and render the book; return ``index.html``.

    When `only` is given, the other notebooks are taken from earlier runs where they exist.
    Raises RuntimeError listing the notebooks that failed (after rendering what exists).
    """
    runs = execute_all(root, profile, only=only, force=force, params_files=params_files, sets=sets)
    if only:
        ran = {r.name for r in runs}
        out_dir = root / "_build" / "executed"
        for name in toc_notebooks(root):
            if name not in ran and (out_dir / f"{name}.ipynb").is_file():
                runs.append(NotebookRun(name, out_dir / f"{name}.ipynb", 0.0, reused=True))
    failed = [r for r in runs if r.error]
    staging = stage(root, runs)
    if failed:
        raise RuntimeError("notebooks failed:\n" + "\n".join(r.error or "" for r in failed))
    return render(root, staging, strict=strict)
