"""The course command's JupyterLab: nbgrader's extensions load, Validate and the Assignment List work.

Starts a real JupyterLab server on a published copy of the course (as `make course` does on
the repository, without a browser; the copy keeps the clone clean) and drives nbgrader's
server endpoints the way the lab's buttons do.
"""
import json
import urllib.error
import urllib.parse
import urllib.request

import pytest

from grader import notebooks
from grader.cli import main as grader_main
from grader.config import COURSE_ID
from grader.paths import ASSIGNMENTS_DIR, SOLUTIONS_DIR
from tests.course_copy import make_course_copy
from tests.lab_server import running_lab

TOKEN = "course-test-token"
ASSIGNMENT = "01_nn_module"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = make_course_copy(tmp_path_factory.mktemp("lab") / "course")
    # Only the unit under test: a unit being edited elsewhere must not stop this test.
    assert grader_main(["publish", "--course", str(root), ASSIGNMENT]) == 0
    return root


@pytest.fixture(scope="module")
def lab(course):
    with running_lab(course, TOKEN, course.parent / "jupyterlab.log") as base:
        yield base


def request(url, data=None):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(req, timeout=300) as response:
        return response.read().decode()


def test_lab_page_loads_the_nbgrader_extension(lab):
    assert "@jupyter/nbgrader" in request(f"{lab}/lab")


def test_validate_reports_failures_on_the_blank_release(lab):
    path = f"assignments/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    reply = json.loads(request(f"{lab}/assignments/validate", {"path": path}))
    assert reply["success"], reply
    failed = reply["value"]["failed"]
    # Concise (grader/lab.py): each failure is its part and its one-line verdict, not the
    # test cell's source and a traceback.
    assert failed[0]["source"] == ("Part 1 — a minimal Parameter and Module: visible tests "
                                   "(test_scratch_module)")
    # The verdict is the checks' message (one line per failed clause), not a traceback.
    assert failed[0]["raw_error"].startswith("CheckFailed: ")
    assert "TwoLayer(): not implemented yet (it raised NotImplementedError)." in failed[0]["raw_error"]
    assert all("\n" not in f["source"] and "Traceback" not in f["raw_error"]
               and "student_call(" not in f["raw_error"] for f in failed)
    assert len(failed) == 5  # the five parts' visible tests


def test_lab_opens_the_students_copy_of_lecture_1(lab):
    req = urllib.request.Request(f"{lab}/", headers={"Authorization": f"token {TOKEN}"})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None
    try:
        urllib.request.build_opener(NoRedirect).open(req, timeout=30)
        location = None
    except urllib.error.HTTPError as redirect:
        location = redirect.headers["Location"]
    assert location.rstrip("?") == "/lab/tree/work/lectures/lecture_01_nn_module.ipynb"


def test_validate_passes_a_completed_notebook(lab, course):
    source = notebooks.read(notebooks.notebook_path(SOLUTIONS_DIR / ASSIGNMENT))
    release = notebooks.read(notebooks.notebook_path(ASSIGNMENTS_DIR / ASSIGNMENT))
    completed = course / "work" / "lab-check" / f"{ASSIGNMENT}.ipynb"
    notebooks.write(notebooks.filled_in_release(source, release), completed)
    reply = json.loads(request(f"{lab}/assignments/validate",
                               {"path": str(completed.relative_to(course))}))
    assert reply["success"], reply
    assert reply["value"] == {}, reply["value"]  # nbgrader's "Success! Your notebook passes all the tests."


def test_assignments_tab_lists_the_released_assignments(lab):
    reply = json.loads(request(f"{lab}/assignments?course_id={COURSE_ID}"))
    assert reply["success"], reply
    released = {a["assignment_id"] for a in reply["value"] if a["status"] == "released"}
    assert ASSIGNMENT in released
