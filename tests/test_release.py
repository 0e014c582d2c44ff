"""Guarantee 5 and the layout: releases are generated from the solutions and leak nothing."""
import pytest

from grader import notebook_source, notebooks
from grader.bank import load_bank
from grader.cli import main
from grader.notebook_builder import build_all
from grader.paths import ASSIGNMENTS_DIR, SOLUTIONS_DIR, assignment_names
from tests.conftest import class_members


def test_assignments_are_in_sync_with_solutions(capsys):
    assert main(["release", "--check"]) == 0, capsys.readouterr().out


def test_notebooks_are_in_sync_with_their_text_sources(capsys):
    assert build_all(check=True) == 0, capsys.readouterr().out


@pytest.mark.parametrize("assignment", assignment_names())
def test_release_holds_no_solution_and_no_hidden_test(assignment):
    source = notebooks.read(notebooks.notebook_path(SOLUTIONS_DIR / assignment))
    release = notebooks.read(notebooks.notebook_path(ASSIGNMENTS_DIR / assignment))
    text = "\n".join(cell.source for cell in release.cells)
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    assert notebooks.hidden_test_lines(source, release), "this assignment has no hidden tests"
    released = notebooks.cells_by_id(release)
    answers = [cell for cell in source.cells if notebooks.is_answer_cell(cell)]
    assert answers, "this assignment has no answer cells"
    for cell in answers:
        released_lines = {line.strip() for line in released[notebooks.grade_id(cell)].source.splitlines()}
        assert notebooks.solution_region_lines(cell.source) & released_lines == set()
    for name in ["mistake_bank.py", f"{assignment}.nb.py"]:
        assert not (ASSIGNMENTS_DIR / assignment / name).exists()


@pytest.mark.parametrize("assignment,student", class_members())
def test_feedback_never_shows_hidden_tests(graded_class, assignment, student):
    graded = graded_class(assignment)
    source, release = graded.run.source_notebook, graded.run.release_notebook
    feedback = notebooks.visible_text(graded.results[student].feedback_text())
    assert feedback, "no feedback was generated"
    own_code = "\n".join(cell.source for cell in graded.run.submitted_notebook(student).cells)
    leaked = [line for line in notebooks.hidden_test_lines(source, release)
              if line in feedback and line not in own_code]
    assert leaked == []


def test_bank_entries_edit_only_answer_cells():
    for assignment in assignment_names():
        answer_ids = {notebooks.grade_id(c) for c in notebooks.read(
            notebooks.notebook_path(SOLUTIONS_DIR / assignment)).cells if notebooks.is_answer_cell(c)}
        for entry in load_bank(assignment):
            assert set(entry.edits) <= answer_ids, entry.name


def test_hidden_test_lines_ignore_code_the_release_shows():
    source = notebook_source.parse(
        "# %% [tests id=t points=1]\n"
        "check_equal(f(2), 4, 'f(2)', mistakes={'squared': 16})\n"
        "### BEGIN HIDDEN TESTS\n"
        "check_equal(f(3), 9, 'f(3)', mistakes={'squared': 81})\n"
        "check_equal(f(2), 4, 'f(2)', mistakes={'squared': 16})\n"
        "mistakes={'squared': 16}\n"
        "x)\n"
        "### END HIDDEN TESTS\n")
    release = notebook_source.parse(
        "# %% [tests id=t points=1]\ncheck_equal(f(2), 4, 'f(2)', mistakes={'squared': 16})\n")
    assert notebooks.hidden_test_lines(source, release) == {"check_equal(f(3), 9, 'f(3)', mistakes={'squared': 81})"}
