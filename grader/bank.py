"""The mistake bank: wrong and alternative-correct submissions of an assignment.

Each assignment keeps its bank in ``solutions/<assignment>/mistake_bank.py`` (instructor-only,
never released) as a list ``BANK`` of :class:`Wrong` and :class:`Correct` entries. An entry is
a few small edits to the solution's answer cells: the rest of the submission is the correct
solution, so the entry isolates exactly one mistake (or one other correct way).

The test suite grades every entry through nbgrader and proves: a ``Wrong`` entry loses
points in the test cells it names and its feedback contains its ``message``; a ``Correct``
entry scores full marks.
"""
import importlib.util
from dataclasses import dataclass, field

from nbformat import NotebookNode

from grader import notebooks
from grader.paths import SOLUTIONS_DIR


@dataclass(frozen=True)
class Replace:
    """Replace the one occurrence of ``old`` in an answer cell by ``new``."""

    old: str
    new: str


# An edit of one answer cell: a Replace, several, or the cell's whole new source.
Edit = Replace | list[Replace] | str


@dataclass(frozen=True)
class Wrong:
    name: str
    story: str  # what the student did, in one sentence
    edits: dict[str, Edit]
    message: str  # text that the feedback must contain (the named mistake)
    fails: tuple[str, ...] = ()  # test cells (grade_ids) that must lose points; () = any

    expect_full_marks = False


@dataclass(frozen=True)
class Correct:
    name: str
    story: str
    edits: dict[str, Edit] = field(default_factory=dict)

    expect_full_marks = True


Entry = Wrong | Correct


def _apply(source: str, edit: Edit, where: str) -> str:
    if isinstance(edit, str):
        return edit
    for replace in edit if isinstance(edit, list) else [edit]:
        count = source.count(replace.old)
        if count != 1:
            raise ValueError(f"{where}: the text to replace occurs {count} times, expected once:\n"
                             f"{replace.old}")
        source = source.replace(replace.old, replace.new)
    return source


def apply_edits(submission: NotebookNode, entry: Entry) -> NotebookNode:
    """``submission`` (a correct, filled-in release) with the entry's edits made."""
    answers = {notebooks.grade_id(c): c for c in submission.cells if notebooks.is_answer_cell(c)}
    for cell_id, edit in entry.edits.items():
        if cell_id not in answers:
            raise KeyError(f"bank entry {entry.name!r} edits {cell_id!r}, which is not an answer cell")
        answers[cell_id].source = _apply(answers[cell_id].source, edit, f"{entry.name}/{cell_id}")
    return submission


def load_bank(assignment: str) -> list[Entry]:
    path = SOLUTIONS_DIR / assignment / "mistake_bank.py"
    if not path.exists():
        return []
    spec = importlib.util.spec_from_file_location(f"mistake_bank_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    names = [entry.name for entry in module.BANK]
    duplicated = {n for n in names if names.count(n) > 1}
    if duplicated:
        raise ValueError(f"{path}: duplicated entry names {sorted(duplicated)}")
    return list(module.BANK)


@dataclass(frozen=True)
class Blank:
    """The released notebook handed in untouched: every test must fail."""

    name: str = "release"
    story: str = "the released notebook, handed in without a single answer"
    expect_full_marks = False


Expectation = Entry | Blank
SOLUTION = Correct("solution", "the instructor's solution, as a student would type it")


def build_class(source_nb: NotebookNode, release_nb: NotebookNode,
                entries: list[Entry]) -> dict[str, tuple[NotebookNode, Expectation]]:
    """A class of submissions: the solution, the untouched release, and one student per entry."""
    def filled():
        return notebooks.filled_in_release(source_nb, release_nb)

    students = {"solution": (filled(), SOLUTION), "release": (notebooks.read_copy(release_nb), Blank())}
    for entry in entries:
        students[entry.name] = (apply_edits(filled(), entry), entry)
    return students


def judge(expectation: Expectation, result) -> list[str]:
    """What about this graded submission contradicts its expectation ([] when nothing does)."""
    if result.error:
        return [f"could not be graded: {result.error}"]
    if isinstance(expectation, Blank):
        return [] if result.score == 0 else [f"scored {result.score}/{result.max_score}, expected 0"]
    if expectation.expect_full_marks:
        if result.score == result.max_score:
            return []
        return [f"scored {result.score}/{result.max_score}, expected full marks; "
                f"lost points in {result.lost_cells}"]
    problems = []
    if result.score >= result.max_score:
        problems.append("scored full marks, expected to lose points")
    missed = [cell for cell in expectation.fails if cell not in result.lost_cells]
    if missed:
        problems.append(f"expected to lose points in {missed}; lost them in {result.lost_cells}")
    if expectation.message not in notebooks.visible_text(result.feedback_text()):
        problems.append(f"feedback does not contain the named mistake {expectation.message!r}")
    return problems


@dataclass
class GradedClass:
    """A class of submissions built by :func:`build_class` and autograded by nbgrader."""

    run: "GradingRun"
    expectations: dict[str, Expectation]
    results: dict  # student -> grader.pipeline.StudentResult

    def problems(self, student: str) -> list[str]:
        return judge(self.expectations[student], self.results[student])


def grade_class(assignment: str, entries: list[Entry], workdir, progress=None) -> GradedClass:
    """Grade the solution, the blank release and one student per entry, in one nbgrader course."""
    from grader.pipeline import GradingRun

    run = GradingRun(assignment, workdir)
    students = build_class(run.source_notebook, run.release_notebook, entries)
    for name, (notebook, _) in students.items():
        run.submit(name, notebook)
    return GradedClass(run, {name: expectation for name, (_, expectation) in students.items()},
                       run.grade(progress))
