"""The reader's side of every chapter, checked on the sources: one code policy, real tables.

Every code cell is the parameters cell, removed whole (``remove-cell``: set-up, glue) or shows
its output under a collapsed input (``hide-input``); no chapter shows code any other way. A
cell that displays a ``book_table`` renders its Markdown as MyST (``markdown_format: myst``),
or Sphinx would print the ``{table}`` directive as text instead of a numbered table.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "notebooks").glob("*.py"))


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_every_code_cell_follows_the_one_code_policy(source: Path) -> None:
    notebook = jupytext.read(source)
    for i, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        tags = set(cell.metadata.get("tags", []))
        assert tags & {"parameters", "remove-cell", "hide-input"}, (
            f"{source.name}, cell {i}: code shown to the reader (tag it remove-cell or "
            f"hide-input): {cell.source[:60]!r}"
        )
        assert "remove-input" not in tags, f"{source.name}, cell {i}: use hide-input"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_table_cells_render_as_myst(source: Path) -> None:
    notebook = jupytext.read(source)
    for i, cell in enumerate(notebook.cells):
        last = cell.source.strip().splitlines()[-1:] if cell.cell_type == "code" else []
        shows_table = bool(re.search(r"^\s*book_table\(", cell.source, re.M)) and not any(
            line.startswith(("glue(", "#")) for line in last
        )
        if shows_table:
            fmt = cell.metadata.get("mystnb", {}).get("markdown_format")
            assert fmt == "myst", f"{source.name}, cell {i}: book_table without markdown_format"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_tables_are_tables_not_glued_figures(source: Path) -> None:
    """A ``{glue:figure}`` shows a figure (``fig-`` label); a table is a ``book_table``, so
    Sphinx numbers it as a table, with its caption above and no index column."""
    for cell in jupytext.read(source).cells:
        if cell.cell_type != "markdown":
            continue
        for block in re.findall(r"\{glue:figure\}[^`]*", cell.source):
            name = re.search(r":name:\s*(\S+)", block)
            assert name and name.group(1).startswith("fig-"), (
                f"{source.name}: a glued figure that is not a figure: {block[:80]!r}"
            )


def test_chapters_link_each_other_instead_of_naming_them() -> None:
    for source in SOURCES:
        notebook = jupytext.read(source)
        for cell in notebook.cells:
            if cell.cell_type != "markdown":
                continue
            text = re.sub(r"\{doc\}`[^`]*`", "", cell.source)
            found = re.search(r".{0,30}\b[Cc]hapter \d\d\b.{0,20}", text)
            assert found is None, f"{source.name}: name a chapter with {{doc}}: {found.group(0)!r}"
