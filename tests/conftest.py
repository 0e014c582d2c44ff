"""Shared fixtures: each assignment's demo class is graded once per test session."""
import pytest

from grader.bank import build_class, judge, load_bank
from grader.paths import assignment_names
from grader.pipeline import GradingRun


class GradedClass:
    """An assignment's solution, blank release and mistake bank, autograded by nbgrader."""

    def __init__(self, assignment: str, workdir):
        self.run = GradingRun(assignment, workdir)
        self.students = build_class(self.run.source_notebook, self.run.release_notebook,
                                    load_bank(assignment))
        for name, (notebook, _) in self.students.items():
            self.run.submit(name, notebook)
        self.results = self.run.grade()

    def problems(self, student: str) -> list[str]:
        return judge(self.students[student][1], self.results[student])


_graded: dict[str, GradedClass] = {}


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """graded_class(assignment) -> GradedClass, graded on first use and cached."""
    def get(assignment: str) -> GradedClass:
        if assignment not in _graded:
            _graded[assignment] = GradedClass(assignment, tmp_path_factory.mktemp(assignment) / "course")
        return _graded[assignment]
    return get


def class_members() -> list[tuple[str, str]]:
    """(assignment, student) for every member of every assignment's demo class."""
    return [(a, name) for a in assignment_names()
            for name in ["solution", "release", *(e.name for e in load_bank(a))]]
