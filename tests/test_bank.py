"""Guarantees 3 and 4, proven through nbgrader's real autograde and feedback.

For every assignment: the solution scores full marks, the untouched release scores zero,
every wrong submission in the mistake bank loses points where it says and its feedback names
the mistake, every alternative correct submission scores full marks.
"""
import pytest

from grader.bank import Correct, Wrong, load_bank
from grader.paths import assignment_names
from tests.conftest import class_members


@pytest.mark.parametrize("assignment,student", class_members())
def test_graded_as_expected(graded_class, assignment, student):
    assert graded_class(assignment).problems(student) == []


@pytest.mark.parametrize("assignment", assignment_names())
def test_bank_is_big_enough(assignment):
    bank = load_bank(assignment)
    assert sum(isinstance(e, Wrong) for e in bank) >= 10
    assert sum(isinstance(e, Correct) for e in bank) >= 3


@pytest.mark.parametrize("assignment", assignment_names())
def test_every_test_cell_catches_some_mistake(assignment, graded_class):
    """A test cell that no wrong submission fails is not proven to test anything."""
    graded = graded_class(assignment)
    solution = graded.results["solution"]
    caught = {cell for name, result in graded.results.items() if name != "solution"
              and name != "release" for cell in result.lost_cells}
    assert set(solution.cells) - caught == set()


@pytest.mark.parametrize("assignment", assignment_names())
def test_feedback_says_which_device_graded(assignment, graded_class):
    from grader.notebooks import visible_text

    feedback = visible_text(graded_class(assignment).results["solution"].feedback_text())
    assert "Graded on: cpu (CPU)" in feedback or "Graded on: cuda" in feedback
