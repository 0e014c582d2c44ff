"""nbgrader's whole instructor workflow, with the `nbgrader` commands, on the course after `make course`.

A copy of the course is published (what `make course` runs); a student fetches and submits
with nbgrader's commands, then the instructor collects, autogrades, regenerates the
assignment (Formgrader's Generate button), generates and releases feedback and exports the
grades. No step may touch a committed file.
"""
import csv
import getpass
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader import notebooks
from grader.course import lecture_copy
from tests.course_copy import fingerprint, make_course_copy

ASSIGNMENT = "01_nn_module"
BIN = Path(sys.executable).parent


def nbgrader(*args, cwd):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("COURSE_EXCHANGE", None)
    done = subprocess.run([str(BIN / "nbgrader"), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = make_course_copy(tmp_path_factory.mktemp("course") / "pytorch-course")
    committed = fingerprint(root)
    done = subprocess.run([sys.executable, "-m", "grader", "publish", "--course", str(root), ASSIGNMENT],
                          cwd=root, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return root, committed


@pytest.fixture(scope="module")
def graded(course):
    """The student submits the solution; the instructor runs the whole pipeline."""
    root, committed = course
    work = root / "work"
    nbgrader("fetch_assignment", ASSIGNMENT, cwd=work)
    fetched = work / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    source = notebooks.read(notebooks.notebook_path(root / "solutions" / ASSIGNMENT))
    notebooks.write(notebooks.filled_in_release(source, notebooks.read(fetched)), fetched)
    nbgrader("submit", ASSIGNMENT, cwd=work)
    logs = {"collect": nbgrader("collect", ASSIGNMENT, cwd=root),
            "autograde": nbgrader("autograde", ASSIGNMENT, cwd=root),
            # Formgrader's Generate button: generate_assignment --force, with submissions present.
            "generate": nbgrader("generate_assignment", ASSIGNMENT, "--force", cwd=root),
            "feedback": nbgrader("generate_feedback", ASSIGNMENT, cwd=root),
            "release_feedback": nbgrader("release_feedback", ASSIGNMENT, cwd=root),
            "fetch_feedback": nbgrader("fetch_feedback", ASSIGNMENT, cwd=work),
            "export": nbgrader("export", "--to", str(root / ".course" / "grades.csv"), cwd=root)}
    return root, committed, logs


def test_publish_registers_the_notebooks_autograde_needs(course):
    from nbgrader.api import Gradebook

    root, _ = course
    with Gradebook(f"sqlite:///{root / '.course' / 'gradebook.db'}", "pytorch-course") as gradebook:
        assignment = gradebook.find_assignment(ASSIGNMENT)
        assert [nb.name for nb in assignment.notebooks] == [ASSIGNMENT]
        assert assignment.max_score == 20
    assert (root / ".course" / "exchange" / "pytorch-course" / "outbound" / ASSIGNMENT).is_dir()


def test_publish_gives_students_copies_of_the_lectures(course):
    root, _ = course
    copy = lecture_copy(root, f"{ASSIGNMENT}.ipynb")
    assert copy.read_bytes() == (root / "lectures" / f"{ASSIGNMENT}.ipynb").read_bytes()
    assert copy.name != f"{ASSIGNMENT}.ipynb"  # its tab differs from the assignment's


def test_solution_scores_full_marks_in_the_exported_csv(graded):
    root, _, _ = graded
    rows = list(csv.DictReader((root / ".course" / "grades.csv").open()))
    mine = [r for r in rows if r["assignment"] == ASSIGNMENT and r["student_id"] == getpass.getuser()]
    assert [(float(r["score"]), float(r["max_score"])) for r in mine] == [(20.0, 20.0)]


def test_student_receives_feedback(graded):
    root, _, _ = graded
    feedback = list((root / "work" / ASSIGNMENT / "feedback").rglob(f"{ASSIGNMENT}.html"))
    assert len(feedback) == 1
    text = feedback[0].read_text()
    assert "Score: 20.0 / 20.0" in notebooks.visible_text(text)
    contents = notebooks.visible_text(text[text.index('id="toc"'):text.index("</ol>")])
    # The contents list names each part, not nbgrader's bare "Test cell".
    assert "Part 1 — a minimal Parameter and Module: visible tests (Score: 2.0 / 2.0)" in contents
    assert "Part 5 — counting parameters: hidden tests (Score: 2.0 / 2.0)" in contents
    assert "Test cell" not in contents


def test_generate_with_submissions_rewrites_only_the_work_area(graded):
    root, committed, logs = graded
    assert "Cannot modify existing assignment" not in logs["generate"]
    assert str(root / ".course" / "release" / ASSIGNMENT) in logs["generate"]
    assert str(root / "assignments") not in logs["generate"]


def test_no_step_touches_a_committed_file(graded):
    root, committed, _ = graded
    assert fingerprint(root) == committed


def test_lecture_copies_follow_upstream_and_keep_the_students_edits(tmp_path):
    from grader.course import copy_lectures

    root = tmp_path / "course"
    (root / "lectures").mkdir(parents=True)
    lecture = root / "lectures" / "01_x.ipynb"
    lecture.write_text('{"v": 1}')
    copy = lecture_copy(root, "01_x.ipynb")
    assert copy_lectures(root) and copy.read_text() == '{"v": 1}'
    assert copy_lectures(root) == []  # nothing new upstream: nothing written
    lecture.write_text('{"v": 2}')  # upstream changes; the student had not touched the copy
    copy_lectures(root)
    assert copy.read_text() == '{"v": 2}' and not copy.with_suffix(".previous.ipynb").exists()
    copy.write_text('{"v": 2, "my notes": true}')  # the student runs or edits it
    assert copy_lectures(root) == [] and "my notes" in copy.read_text()
    lecture.write_text('{"v": 3}')
    copy_lectures(root)
    assert copy.read_text() == '{"v": 3}'
    assert "my notes" in copy.with_suffix(".previous.ipynb").read_text()
