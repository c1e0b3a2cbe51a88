"""The package's layering rule (stated in ``mammo_lib/__init__.py``): no import runs back up.

Every module of ``mammo_lib`` is parsed (``ast``; imports inside functions and under
``TYPE_CHECKING`` count too) and each import of another part of the package is checked
against the stage order. A module may import from its own part or from an earlier stage;
the top floor (``commands``, ``cli``, ``book``) may also import from itself.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import mammo_lib

PACKAGE = Path(mammo_lib.__file__).parent

#: Stage of each top-level part of the package; lower stages come first.
STAGES: dict[str, int] = {
    "__init__": 0,
    "io": 0,
    "config": 0,
    "imaging": 1,
    "sources": 2,
    "extract": 3,
    "dataset": 4,
    "models": 5,
    "train": 6,
    "evaluate": 7,
    "scan": 7,
    "tabular": 7,
    "report": 7,
    "commands": 8,
    "cli": 8,
    "book": 8,
}
TOP = max(STAGES.values())

#: Imports that break the rule on purpose, as ``(importing part, imported part): why``.
#: Empty: none is needed today.
ALLOWED: dict[tuple[str, str], str] = {}


def _module_name(path: Path) -> str:
    parts = ("mammo_lib", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_part(name: str) -> bool:
    return (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file()


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every import of ``mammo_lib`` in a file (relative ones resolved)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = "." * node.level + (node.module or "")
            module = importlib.util.resolve_name(target, package) if node.level else target
            if module == "mammo_lib":  # from mammo_lib import x: x is a part, or a name of it
                found += [
                    (node.lineno, f"mammo_lib.{a.name}" if _is_part(a.name) else module)
                    for a in node.names
                ]
            else:
                found.append((node.lineno, module))
    return [(line, m) for line, m in found if m == "mammo_lib" or m.startswith("mammo_lib.")]


def _violations() -> list[str]:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _part(_module_name(path))
        if source not in STAGES:
            problems.append(f"{path}: part {source!r} has no stage in STAGES (add it)")
            continue
        for line, module in _imports(path):
            target = _part(module)
            if target == source or (source, target) in ALLOWED:
                continue
            if target not in STAGES:
                problems.append(f"{path}:{line}: imports {module}, whose part has no stage")
            elif STAGES[target] > STAGES[source] or (
                STAGES[target] == STAGES[source] and STAGES[source] != TOP
            ):
                problems.append(
                    f"{path.relative_to(PACKAGE.parent)}:{line}: {source} (stage "
                    f"{STAGES[source]}) imports {module} (stage {STAGES[target]})"
                )
    return problems


def test_no_module_imports_from_a_later_stage() -> None:
    problems = _violations()
    assert not problems, "layering broken:\n" + "\n".join(problems)


def test_every_part_of_the_package_has_a_stage() -> None:
    parts = {_part(_module_name(p)) for p in PACKAGE.rglob("*.py")}
    assert parts == set(STAGES), f"parts without a stage: {sorted(parts - set(STAGES))}"


def test_the_check_sees_a_backward_import(tmp_path: Path, monkeypatch) -> None:
    """The checker itself: an imaging module importing from dataset is reported."""
    fake = tmp_path / "mammo_lib"
    for part in ("imaging", "dataset", "scan"):
        (fake / part).mkdir(parents=True)
        (fake / part / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "imaging" / "bad.py").write_text(
        "def f():\n    from ..dataset.plan import plan\n    from mammo_lib import scan\n"
    )
    monkeypatch.setattr(f"{__name__}.PACKAGE", fake)
    problems = [p for p in _violations() if "bad.py" in p]
    assert len(problems) == 2 and all("imaging (stage 1) imports" in p for p in problems)
    assert "mammo_lib.dataset.plan" in problems[0] and "mammo_lib.scan" in problems[1]
