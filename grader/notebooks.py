"""Reading course notebooks and turning solutions into student submissions.

A student submission is the *released* notebook with each answer cell filled in. Building
it from the release (not from the source notebook) means a submission has exactly what a
student's file has: no hidden tests, the released test cells, the student's answers.
"""
import html
import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

BEGIN_SOLUTION = ClearSolutions.begin_solution_delimeter.default_value
END_SOLUTION = ClearSolutions.end_solution_delimeter.default_value


def read(path: Path) -> NotebookNode:
    return nbformat.read(str(path), as_version=4)


def write(nb: NotebookNode, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def nbgrader_meta(cell: NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell: NotebookNode) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def is_answer_cell(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and bool(nbgrader_meta(cell).get("solution"))


def is_test_cell(cell: NotebookNode) -> bool:
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution")


def cells_by_id(nb: NotebookNode) -> dict[str, NotebookNode]:
    return {grade_id(c): c for c in nb.cells if grade_id(c)}


def solution_code(source: str) -> str:
    """The answer a student would type: the source cell without the solution markers."""
    return "\n".join(line for line in source.splitlines()
                     if BEGIN_SOLUTION not in line and END_SOLUTION not in line)


def notebook_path(folder: Path) -> Path:
    """The one notebook of an assignment folder."""
    notebooks = sorted(p for p in folder.glob("*.ipynb"))
    if len(notebooks) != 1:
        raise ValueError(f"{folder} must hold exactly one notebook, found {len(notebooks)}")
    return notebooks[0]


def filled_in_release(source_nb: NotebookNode, release_nb: NotebookNode) -> NotebookNode:
    """The release notebook with every answer cell holding the source's solution."""
    solutions = cells_by_id(source_nb)
    submission = nbformat.from_dict(release_nb)
    for cell in submission.cells:
        if is_answer_cell(cell):
            cell.source = solution_code(solutions[grade_id(cell)].source)
    return submission


def read_copy(nb: NotebookNode) -> NotebookNode:
    return nbformat.from_dict(nb)


def visible_text(html_text: str) -> str:
    """What a reader of an HTML page sees: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


# Shorter fragments of hidden code (a closing bracket, `else:`, an argument list that a verdict
# quotes on purpose) disclose nothing.
MIN_LEAK_LENGTH = 25


def hidden_test_lines(source_nb: NotebookNode, release_nb: NotebookNode) -> set[str]:
    """Lines of hidden-test code that appear nowhere in the released notebook, not even inside
    a longer line, so that finding one in a student's feedback means hidden code leaked."""
    begin = ClearHiddenTests.begin_test_delimeter.default_value
    end = ClearHiddenTests.end_test_delimeter.default_value
    released = {line.strip() for cell in release_nb.cells for line in cell.source.splitlines()}
    hidden = set()
    for cell in source_nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if begin in line:
                inside = True
            elif end in line:
                inside = False
            elif inside and len(line.strip()) >= MIN_LEAK_LENGTH:
                hidden.add(line.strip())
    return {line for line in hidden if not any(line in shown for shown in released)}


def solution_region_lines(source: str) -> set[str]:
    """Stripped lines that occur only inside the cell's solution regions (never in its skeleton)."""
    inside, outside, in_region = set(), set(), False
    for line in source.splitlines():
        if BEGIN_SOLUTION in line:
            in_region = True
        elif END_SOLUTION in line:
            in_region = False
        else:
            (inside if in_region else outside).add(line.strip())
    return inside - outside - {""}
