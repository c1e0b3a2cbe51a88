"""Build the book: run the notebooks with papermill under a profile, render with Jupyter Book.

The notebooks (``notebooks/NN_name.py``, py:percent) are converted with jupytext, executed with
papermill into ``_build/executed/`` with the parameters of the chosen profile, staged with the
book's pages into ``_build/book/``, and rendered by Jupyter Book with execution off (the pages show
the papermill outputs) and warnings as errors. A notebook whose source, parameters and library code
are unchanged since its last successful run is not executed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
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


def execute_notebook(
    source: Path,
    output: Path,
    parameters: dict[str, Any],
    *,
    cwd: Path,
    timeout: int | None = None,
) -> float:
    """Convert a py:percent notebook and execute it with papermill; return the seconds taken.

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
    # The kernel inherits this process's environment; a non-inline MPLBACKEND (e.g. Agg in a
    # test session) would make every figure vanish from the pages.
    backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        papermill.execute_notebook(
            str(converted),
            str(output),
            parameters=parameters,
            cwd=str(cwd),
            kernel_name="python3",
            progress_bar=False,
            execution_timeout=timeout,
            coalesce_streams=True,
        )
    except papermill.PapermillExecutionError as err:
        raise NotebookFailed(f"{source}: {err.ename}: {err.evalue} (see {output})") from err
    finally:
        converted.unlink(missing_ok=True)
        if backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = backend
    return time.perf_counter() - start


def execute_all(
    root: Path,
    profile: str = DEFAULT_PROFILE,
    *,
    only: list[str] | None = None,
    force: bool = False,
    keep_going: bool = True,
    timeout: int | None = None,
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
    """
    params = load_profile(profile)
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
) -> Path:
    """Execute every notebook under `profile` and render the book; return ``index.html``.

    When `only` is given, the other notebooks are taken from earlier runs where they exist.
    Raises RuntimeError listing the notebooks that failed (after rendering what exists).
    """
    runs = execute_all(root, profile, only=only, force=force)
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
