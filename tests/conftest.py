"""Shared fixtures: each assignment's demo class is graded once per test session."""
import pytest

from grader.bank import GradedClass, grade_class, load_bank
from grader.paths import assignment_names

_graded: dict[str, GradedClass] = {}


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """graded_class(assignment) -> GradedClass, graded on first use and cached."""
    def get(assignment: str) -> GradedClass:
        if assignment not in _graded:
            _graded[assignment] = grade_class(assignment, load_bank(assignment),
                                              tmp_path_factory.mktemp(assignment) / "course")
        return _graded[assignment]
    return get


def class_members() -> list[tuple[str, str]]:
    """(assignment, student) for every member of every assignment's demo class."""
    return [(a, name) for a in assignment_names()
            for name in ["solution", "release", *(e.name for e in load_bank(a))]]
