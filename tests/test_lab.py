"""The course command's JupyterLab: nbgrader's extensions load, Validate and the Assignment List work.

Starts a real JupyterLab server on a published copy of the course (as `make course` does on
the repository, without a browser; the copy keeps the clone clean) and drives nbgrader's
server endpoints the way the lab's buttons do.
"""
import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from grader import notebooks
from grader.cli import main as grader_main
from grader.config import COURSE_ID
from grader.paths import ASSIGNMENTS_DIR, SOLUTIONS_DIR
from tests.course_copy import make_course_copy

TOKEN = "course-test-token"
ASSIGNMENT = "01_nn_module"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = make_course_copy(tmp_path_factory.mktemp("lab") / "course")
    assert grader_main(["publish", "--course", str(root)]) == 0
    return root


@pytest.fixture(scope="module")
def lab(course):
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={course}", "--allow-root"],
        cwd=course, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("JupyterLab did not start: " + server.stderr.read().decode()[-2000:])
    yield base
    server.terminate()
    server.wait(timeout=30)


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
    failed_sources = [cell["source"] for cell in reply["value"]["failed"]]
    assert any("Part 1 visible tests passed" in source for source in failed_sources)


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
