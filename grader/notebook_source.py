"""Notebook sources as plain text: ``name.nb.py`` beside each ``name.ipynb``.

Lectures and solution notebooks are written and reviewed as percent-format Python files
(diffable, greppable, lintable); the ``.ipynb`` files are built from them by
``python -m grader notebooks`` and checked to be in sync by the test suite.

Cell markers, one per cell, at the start of a line:

    # %% [markdown]                   markdown: each following line starts with '# ' (or is '#')
    # %%                              a code cell
    # %% [answer id=NAME]             autograded answer cell (nbgrader "solution", grade_id NAME)
    # %% [tests id=NAME points=N]     autograded test cell, locked; may hold hidden tests
    # %% [readonly id=NAME]           a locked code cell (setup the student must not change)
    # %% [markdown readonly id=NAME]  a locked markdown cell
"""
import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode

SUFFIX = ".nb.py"
_MARKER = re.compile(r"^# %%(?: \[(?P<spec>[^\]]*)\])?\s*$")
_KERNEL = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _nbgrader_metadata(kinds: list[str], options: dict[str, str]) -> dict | None:
    base = dict(grade=False, solution=False, locked=False, task=False, schema_version=3)
    if "answer" in kinds:
        return base | dict(solution=True, grade_id=options["id"])
    if "tests" in kinds:
        return base | dict(grade=True, locked=True, grade_id=options["id"],
                           points=int(options["points"]))
    if "readonly" in kinds:
        return base | dict(locked=True, grade_id=options["id"])
    return None


def _strip_blank_edges(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return lines


def parse(text: str) -> NotebookNode:
    """The notebook (without outputs) that a ``.nb.py`` source describes."""
    chunks: list[tuple[str | None, list[str]]] = []
    for line in text.splitlines():
        match = _MARKER.match(line)
        if match:
            chunks.append((match.group("spec"), []))
        elif chunks:
            chunks[-1][1].append(line)
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": _KERNEL, "language_info": {"name": "python"}})
    for index, (spec, lines) in enumerate(chunks):
        words = (spec or "").split()
        kinds = [w for w in words if "=" not in w]
        options = dict(w.split("=", 1) for w in words if "=" in w)
        lines = _strip_blank_edges(lines)
        if "markdown" in kinds:
            cell = nbformat.v4.new_markdown_cell(
                "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines))
        else:
            cell = nbformat.v4.new_code_cell("\n".join(lines))
        metadata = _nbgrader_metadata(kinds, options)
        if metadata:
            cell.metadata["nbgrader"] = metadata
        # Stable ids keep rebuilt notebooks free of spurious diffs.
        cell.id = options.get("id", f"cell-{index:03d}")
        nb.cells.append(cell)
    return nb


def sources(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders for p in folder.rglob(f"*{SUFFIX}"))


def notebook_for(source: Path) -> Path:
    return source.with_name(source.name[: -len(SUFFIX)] + ".ipynb")


def same_cells(a: NotebookNode, b: NotebookNode) -> bool:
    """Whether two notebooks have the same cells (type, source, metadata), outputs aside."""
    def key(nb):
        return [(c.cell_type, c.source, c.get("id"), dict(c.metadata.get("nbgrader", {})))
                for c in nb.cells]
    return key(a) == key(b)
