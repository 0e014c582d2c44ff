"""A grading run: nbgrader's real pipeline on an isolated course folder.

    run = GradingRun("01_nn_module", workdir)     # copies the source, runs generate_assignment
    run.submit("alice", notebook)                  # into submitted/alice/01_nn_module/
    results = run.grade()                          # autograde each student, then generate_feedback
    run.export_csv(path)                           # nbgrader's own CSV export

Each student is autograded by a separate nbgrader call, so a submission that breaks nbgrader
(malformed JSON) costs only that student's grade and its error is reported against that student
alone. nbgrader executes each notebook through the course's sandboxed engine (grader/engine,
configured in grader/config.py); ``grade`` first runs every submission there in parallel, so
nbgrader's own pass only records what already ran.
"""
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins import CsvExportPlugin

from grader import notebooks
from grader.config import CELL_TIMEOUT_S, COURSE_ID, course_config
from grader.engine import nbgrader_execute
from grader.engine.jobs import Job
from grader.paths import SOLUTIONS_DIR


class GradingError(RuntimeError):
    """nbgrader could not prepare the assignment itself (not a student's fault)."""


@dataclass
class CellGrade:
    grade_id: str
    score: float
    max_score: float


@dataclass
class StudentResult:
    student: str
    score: float
    max_score: float
    cells: dict[str, CellGrade] = field(default_factory=dict)
    feedback_html: Path | None = None
    error: str | None = None  # why the submission could not be graded, if it could not
    flags: list[str] = field(default_factory=list)  # reasons for an instructor to review it

    @property
    def lost_cells(self) -> list[str]:
        return [c.grade_id for c in self.cells.values() if c.score < c.max_score]

    def feedback_text(self) -> str:
        return self.feedback_html.read_text() if self.feedback_html else ""


_EXCEPTION_LINE = re.compile(r"^\s*([\w.]*(?:Error|Exception|Timeout)\w*: .+)$")


def _error_summary(log: str) -> str:
    """Why nbgrader could not grade a submission, in one line: the last exception it logged."""
    exceptions = [m.group(1) for m in map(_EXCEPTION_LINE.match, log.splitlines()) if m]
    if exceptions:
        return exceptions[-1]
    errors = [line for line in log.splitlines() if line.startswith("[ERROR]")]
    return errors[0] if errors else log.strip()[-300:]


class GradingRun:
    def __init__(self, assignment: str, workdir: Path, cell_timeout_s: int = CELL_TIMEOUT_S,
                 stock_nbgrader: bool = False):
        self.assignment = assignment
        self.workdir = Path(workdir).resolve()
        if self.workdir.exists():
            shutil.rmtree(self.workdir)
        source = SOLUTIONS_DIR / assignment
        if not source.is_dir():
            raise GradingError(f"no assignment {assignment!r} in {SOLUTIONS_DIR}")
        shutil.copytree(source, self.workdir / "solutions" / assignment,
                        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        self.cell_timeout_s = cell_timeout_s
        self.config = course_config(self.workdir, cell_timeout_s)
        self.stock_nbgrader = stock_nbgrader
        if stock_nbgrader:  # nbgrader's own Execute in a plain kernel, one student after another (benchmarks)
            del self.config.Autograde["autograde_preprocessors"]
        self.coursedir = CourseDirectory(config=self.config)
        self.api = NbGraderAPI(coursedir=self.coursedir, config=self.config)
        outcome = self.api.generate_assignment(assignment)
        if not outcome["success"]:
            raise GradingError(f"generate_assignment failed:\n{outcome.get('error')}\n{outcome.get('log')}")
        self.notebook_name = notebooks.notebook_path(self.release_dir).name
        self.students: list[str] = []

    @property
    def release_dir(self) -> Path:
        return self.workdir / "assignments" / self.assignment

    @property
    def source_notebook(self) -> NotebookNode:
        return notebooks.read(self.workdir / "solutions" / self.assignment / self.notebook_name)

    @property
    def release_notebook(self) -> NotebookNode:
        return notebooks.read(self.release_dir / self.notebook_name)

    def _student_dir(self, kind: str, student: str) -> Path:
        return self.workdir / getattr(self.coursedir, f"{kind}_directory") / student / self.assignment

    def submit(self, student: str, notebook: NotebookNode | Path | bytes) -> None:
        """Hand in a submission: a notebook object, a file, or raw bytes (possibly malformed)."""
        destination = self._student_dir("submitted", student) / self.notebook_name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(notebook, Path):
            shutil.copyfile(notebook, destination)
        elif isinstance(notebook, bytes):
            destination.write_bytes(notebook)
        else:
            nbformat.write(notebook, str(destination))
        self.students.append(student)

    def submitted_notebook(self, student: str) -> NotebookNode:
        return notebooks.read(self._student_dir("submitted", student) / self.notebook_name)

    def _predicted_job(self, student: str) -> Job | None:
        """What nbgrader will hand the engine for this student: the submission after nbgrader's
        own sanitizing steps (tests restored from the gradebook), beside the instructor's files."""
        from nbgrader.preprocessors import (CheckCellMetadata, ClearOutput, DeduplicateIds, OverwriteCells,
                                            OverwriteKernelspec)
        from nbgrader.utils import find_all_files

        path = self._student_dir("submitted", student) / self.notebook_name
        try:
            nb = notebooks.read(path)
            resources = {"nbgrader": {"student": student, "assignment": self.assignment,
                                      "notebook": path.stem, "db_url": self.coursedir.db_url}}
            for step in (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata):
                nb, resources = step(config=self.config).preprocess(nb, resources)
        except Exception:  # nbgrader will report what is wrong with this submission
            return None
        source = self.workdir / "solutions" / self.assignment
        files = {Path(f).relative_to(source).as_posix(): Path(f).read_bytes()
                 for f in find_all_files(str(source), self.coursedir.ignore + ["*.ipynb"])}
        return Job.from_notebook(nb, files)

    def grade(self, progress=None, jobs: int | None = None) -> dict[str, StudentResult]:
        """Autograde every submitted student, generate their feedback, read the gradebook.

        ``jobs``: notebooks run at once (default: the machine's cores)."""
        if not self.stock_nbgrader:
            predicted = [job for student in self.students if (job := self._predicted_job(student))]
            nbgrader_execute.precompute(predicted, parallel=jobs or os.cpu_count() or 1,
                                        cell_timeout_s=self.cell_timeout_s)
        errors = {}
        for student in self.students:
            if progress:
                progress(student)
            outcome = self.api.autograde(self.assignment, student)
            graded = (self._student_dir("autograded", student) / self.notebook_name).exists()
            if not (outcome["success"] and graded):
                # The log holds the cause; the "error" field only says that autograde failed.
                errors[student] = _error_summary(outcome.get("log") or outcome.get("error", ""))
        self.api.generate_feedback(self.assignment)
        return {student: self._result(student, errors.get(student)) for student in self.students}

    def _result(self, student: str, error: str | None) -> StudentResult:
        with Gradebook(self.coursedir.db_url, COURSE_ID) as gradebook:
            assignment = gradebook.find_assignment(self.assignment)
            max_score = assignment.max_score
            cells = {}
            score = 0.0
            if error is None:
                try:
                    submission = gradebook.find_submission(self.assignment, student)
                except MissingEntry:
                    error = "no grades were recorded for this submission"
                else:
                    score = submission.score
                    for nb in submission.notebooks:
                        for grade in nb.grades:
                            cells[grade.name] = CellGrade(grade.name, grade.score, grade.max_score)
        feedback = self._student_dir("feedback", student) / self.notebook_name.replace(".ipynb", ".html")
        flags = self._flags(student)
        if error is None and not feedback.exists():  # graded but no feedback: never silently
            flags.append("no feedback page could be produced for this submission")
        return StudentResult(student, score, max_score, cells,
                             feedback if feedback.exists() else None, error, flags)

    def _flags(self, student: str) -> list[str]:
        """Why an instructor should look at this submission (tampering, the static scan, a crash)."""
        path = self._student_dir("autograded", student) / self.notebook_name
        try:
            found = notebooks.read(path).metadata.get(nbgrader_execute.METADATA_KEY, {})
        except Exception:
            return []
        flags = [f"tampering: {reason}" for reason in found.get("tamper", [])]
        flags += [f"suspicious code: {reason}" for reason in found.get("suspicious", [])]
        if found.get("status") not in (None, "ok"):
            flags.append(f"{found['status']}: {found.get('detail', '')}")
        return flags

    def export_csv(self, path: Path) -> Path:
        """Write nbgrader's grade export (one row per student and assignment) to ``path``."""
        exporter = CsvExportPlugin(config=self.config)
        exporter.to = str(path)
        with Gradebook(self.coursedir.db_url, COURSE_ID) as gradebook:
            exporter.export(gradebook)
        self._add_review_column(Path(path))
        return Path(path)

    def _add_review_column(self, path: Path) -> None:
        """nbgrader's CSV plus a last column, ``review``: why to look at a submission by hand."""
        import csv

        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows:
            return
        for row in rows:
            flags = self._flags(row["student_id"]) if row.get("assignment") == self.assignment else []
            row["review"] = "; ".join(flags)
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
            writer.writeheader()
            writer.writerows(rows)
