"""The student distribution (`python -m grader distribution OUTDIR`): nothing instructor-only leaks,
and the released notebooks run their setup from the distribution alone."""
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from grader import notebooks
from grader.paths import ASSIGNMENTS_DIR, LECTURES_DIR, REPO_ROOT, SOLUTIONS_DIR
from tests.lab_server import free_port

RUNTIME = {"grader/__init__.py", "grader/checks.py", "grader/device.py", "grader/lab.py"}
INSTRUCTOR_ONLY_NAMES = {"mistake_bank.py", "bank.py", "pipeline.py", "cli.py", "config.py",
                         "notebook_builder.py", "notebook_source.py", "course.py", "distribution.py",
                         "feedback.py", "paths.py", "gradebook.db"}


def released_assignments() -> list[str]:
    return sorted(p.name for p in ASSIGNMENTS_DIR.iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist") / "pytorch-course-students"
    done = subprocess.run([sys.executable, "-m", "grader", "distribution", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def files(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()}


def readable_text(path: Path) -> str:
    """What a student can read in a file: a notebook's cell sources and outputs, or the file's text."""
    if path.suffix == ".ipynb":
        nb = notebooks.read(path)
        parts = []
        for cell in nb.cells:
            parts.append(cell.source)
            for output in cell.get("outputs", []):
                parts.append(json.dumps(output))
        return "\n".join(parts)
    try:
        return path.read_text()
    except UnicodeDecodeError:
        return ""  # binary (e.g. model weights)


def instructor_lines() -> set[str]:
    """Hidden-test lines and solution lines of every released assignment that students never see
    anywhere in what the repository gives them legitimately (releases, lectures, shared code)."""
    lines = set()
    legitimate = [*LECTURES_DIR.glob("*.ipynb"), *ASSIGNMENTS_DIR.rglob("*.ipynb"),
                  *(REPO_ROOT / "courselib").rglob("*.py"), *(REPO_ROOT / name for name in RUNTIME)]
    shown = "\n".join(readable_text(p) for p in legitimate)
    for assignment in released_assignments():
        source = notebooks.read(notebooks.notebook_path(SOLUTIONS_DIR / assignment))
        release = notebooks.read(notebooks.notebook_path(ASSIGNMENTS_DIR / assignment))
        lines |= notebooks.hidden_test_lines(source, release)
        for cell in source.cells:
            if notebooks.is_answer_cell(cell):
                lines |= {line for line in notebooks.solution_region_lines(cell.source)
                          if len(line) >= notebooks.MIN_LEAK_LENGTH}
    return {line for line in lines if line not in shown}


def test_distribution_holds_exactly_the_student_material(dist):
    found = files(dist)
    assert {name for name in found if name.startswith("grader/")} == RUNTIME
    assert not any(name.startswith(("solutions/", "tests/", ".course/")) for name in found)
    assert not [name for name in found if Path(name).name in INSTRUCTOR_ONLY_NAMES or name.endswith(".nb.py")]
    for assignment in released_assignments():
        for name, path in files(ASSIGNMENTS_DIR / assignment).items():
            assert found[f"assignments/{assignment}/{name}"].read_bytes() == path.read_bytes()
    for lecture in LECTURES_DIR.glob("*.ipynb"):
        assert found[f"lectures/{lecture.name}"].read_bytes() == lecture.read_bytes()
    for name in ["README.md", "Makefile", "requirements.txt", "environment.yml", "nbgrader_config.py"]:
        assert name in found


def test_no_solution_or_hidden_test_line_leaks(dist):
    secrets = instructor_lines()
    assert len(secrets) > 50  # the scan has something to find
    leaks = {name: sorted(line for line in secrets if line in text)
             for name, text in ((name, readable_text(path)) for name, path in files(dist).items())}
    assert {name: found for name, found in leaks.items() if found} == {}


def test_the_scan_would_catch_a_leaked_solution(tmp_path):
    leaked = tmp_path / "leaked.ipynb"
    leaked.write_bytes(notebooks.notebook_path(SOLUTIONS_DIR / released_assignments()[0]).read_bytes())
    assert any(line in readable_text(leaked) for line in instructor_lines())


def test_released_setup_cells_run_from_the_distribution_alone(dist):
    """Each released notebook's setup cell (its imports of grader.checks, grader.device and
    courselib) runs with only the distribution on the path, and imports nothing from elsewhere."""
    setups = []
    for assignment in released_assignments():
        release = notebooks.read(notebooks.notebook_path(dist / "assignments" / assignment))
        setups.append(next(cell.source for cell in release.cells if notebooks.grade_id(cell) == "setup"))
    probe = "\n".join(f"exec({setup!r})" for setup in setups) + (
        "\nimport sys\n"
        "mine = {n: m.__file__ for n, m in list(sys.modules.items())\n"
        "        if n.split('.')[0] in ('grader', 'courselib') and getattr(m, '__file__', None)}\n"
        f"outside = {{n: f for n, f in mine.items() if not f.startswith({str(dist)!r})}}\n"
        "assert mine and not outside, outside\n"
        "print('imports from the distribution:', sorted(mine))\n")
    # The distribution's folder first on the path, as its Makefile sets it; run elsewhere.
    env = {**os.environ, "PYTHONPATH": str(dist)}
    done = subprocess.run([sys.executable, "-c", probe], cwd=dist / "work", env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "grader.checks" in done.stdout and "grader.device" in done.stdout


def test_make_course_opens_the_students_lab_without_instructor_tools(dist):
    """The distribution's `make course` (with this environment standing in for the one it would
    install): copies into work/, JupyterLab on lecture 1, the concise Validate, no Formgrader
    server extension, the Create Assignment and Course List plugins disabled."""
    (dist / ".venv").mkdir()
    (dist / ".venv" / "bin").symlink_to(Path(sys.executable).parent)
    (dist / ".venv" / ".installed").touch()  # newer than requirements.txt: nothing to install
    os.utime(dist / "requirements.txt", (0, 0))
    port = free_port()
    server = subprocess.Popen(
        ["make", "course", f"LAB_ARGS=--no-browser --port={port} --ip=127.0.0.1 --ServerApp.token=dist "
                           f"--LabApp.workspaces_dir={dist.parent / 'ws'}"],
        cwd=dist, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                page = urllib.request.urlopen(f"{base}/lab?token=dist", timeout=5).read().decode()
                break
            except OSError:
                assert server.poll() is None, "make course exited"
                time.sleep(0.5)
        assert (dist / "work" / "lectures" / "lecture_01_nn_module.ipynb").is_file()
        first = released_assignments()[0]
        assert (dist / "work" / first / f"{first}.ipynb").read_bytes() == \
            (dist / "assignments" / first / f"{first}.ipynb").read_bytes()
        opened = urllib.request.urlopen(f"{base}/?token=dist", timeout=30)
        assert opened.url.split("?")[0].endswith("/lab/tree/work/lectures/lecture_01_nn_module.ipynb")
        config = json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S).group(1))
        assert {"@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:course-list"} <= set(config["disabledExtensions"])
        with pytest.raises(urllib.error.HTTPError) as formgrader:
            urllib.request.urlopen(f"{base}/formgrader?token=dist", timeout=30)
        assert formgrader.value.code == 404
        validate = urllib.request.Request(f"{base}/assignments/validate?token=dist", method="POST",
                                          data=f"path=work/{first}/{first}.ipynb".encode())
        reply = json.loads(urllib.request.urlopen(validate, timeout=300).read())
        assert reply["success"], reply
        assert reply["value"]["failed"][0]["source"].startswith("Part 1 — ")  # the concise Validate
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
