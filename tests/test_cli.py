"""The instructor CLI, run as an instructor runs it: a subprocess on a folder of notebooks."""
import csv
import subprocess
import sys

import pytest

from grader import notebooks
from grader.cli import _submissions_in
from grader.paths import ASSIGNMENTS_DIR, REPO_ROOT, SOLUTIONS_DIR

ASSIGNMENT = "01_nn_module"


def grader_cli(*args, cwd=REPO_ROOT):
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=900)


@pytest.fixture(scope="module")
def autograded(tmp_path_factory):
    """Three students handed in: one complete, one with a wrong count, one blank; graded by the CLI."""
    folder = tmp_path_factory.mktemp("submissions")
    release = notebooks.read(notebooks.notebook_path(ASSIGNMENTS_DIR / ASSIGNMENT))
    source = notebooks.read(notebooks.notebook_path(SOLUTIONS_DIR / ASSIGNMENT))
    complete = notebooks.filled_in_release(source, release)
    notebooks.write(complete, folder / "ada.ipynb")
    wrong = notebooks.filled_in_release(source, release)
    notebooks.cells_by_id(wrong)["count_parameters"].source = (
        "def count_parameters(model):\n    return sum(1 for _ in model.parameters())")
    notebooks.write(wrong, folder / "bob" / "my_attempt.ipynb")  # per-student folder layout
    notebooks.write(release, folder / "cy.ipynb")
    csv_path = folder / "grades.csv"
    workdir = tmp_path_factory.mktemp("work")
    completed = grader_cli("autograde", ASSIGNMENT, str(folder), "--csv", str(csv_path),
                           "--workdir", str(workdir))
    return completed, csv_path, workdir


def test_cli_prints_each_students_score(autograded):
    completed, _, _ = autograded
    assert completed.returncode == 0, completed.stderr
    lines = {line.split()[0]: line for line in completed.stdout.splitlines() if line.strip()}
    assert "20/20" in lines["ada"]
    # Counting tensors breaks the clauses about values; the clause about the returned type still holds.
    assert lines["bob"].split()[1:] == ["18/20", "count_parameters,", "count_parameters_hidden", "-"]
    assert lines["cy"].split()[1:] == ["0/20", "all", "-"]
    assert "Ran in: bubblewrap sandbox" in completed.stdout


def test_cli_exports_nbgrader_csv(autograded):
    _, csv_path, _ = autograded
    rows = {row["student_id"]: row for row in csv.DictReader(csv_path.open())}
    assert {s: float(r["score"]) for s, r in rows.items()} == {"ada": 20.0, "bob": 18.0, "cy": 0.0}
    assert {r["max_score"] for r in rows.values()} == {"20.0"}
    assert {s: r["review"] for s, r in rows.items()} == {"ada": "", "bob": "", "cy": ""}


def test_cli_writes_feedback_naming_the_mistake(autograded):
    _, _, workdir = autograded
    feedback = workdir / "feedback" / "bob" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    text = notebooks.visible_text(feedback.read_text())
    assert "counted parameter tensors instead of their values" in text


def test_submission_folder_layouts(tmp_path):
    (tmp_path / "ann.ipynb").write_text("{}")
    (tmp_path / "ben").mkdir()
    (tmp_path / "ben" / "work.ipynb").write_text("{}")
    (tmp_path / "empty").mkdir()
    assert list(_submissions_in(tmp_path)) == ["ann", "ben"]


def test_validate_exits_zero_when_solutions_are_right():
    completed = grader_cli("validate", ASSIGNMENT)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "solution scored 20/20 -> ok" in completed.stdout
    assert "release scored 0/20 -> ok" in completed.stdout


def test_autograde_rejects_an_empty_folder(tmp_path):
    completed = grader_cli("autograde", ASSIGNMENT, str(tmp_path))
    assert completed.returncode == 1
    assert "No submissions" in completed.stdout


def test_release_check_spots_edited_missing_and_extra_files(tmp_path):
    from grader.cli import _differing_files

    generated, committed = tmp_path / "generated", tmp_path / "committed"
    for folder in (generated, committed):
        folder.mkdir()
        (folder / "same.ipynb").write_text("{}")
    (generated / "edited.ipynb").write_text('{"a": 1}')
    (committed / "edited.ipynb").write_text('{"a": 2}')
    (generated / "missing.csv").write_text("x")
    (committed / "extra.txt").write_text("y")
    assert _differing_files(generated, committed) == ["edited.ipynb", "extra.txt", "missing.csv"]
