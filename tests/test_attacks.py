"""Guarantee 7 against a dishonest student: the attack bank (tests/attack_bank.py).

One class of assignment 1 submissions mixes every attack with honest students graded before,
between and after them, through the real pipeline (nbgrader autograde with the sandboxed engine,
two notebooks at a time). Proven: no attack steals a point, the recognisable ones are flagged
for review, the honest students keep full marks, feedback pages carry no script or forged
verdict, and no process or file that an attack created outlives grading.
"""
import subprocess
from pathlib import Path

import pytest

from grader import notebooks
from grader.engine import nbgrader_execute
from grader.engine.sandbox import sandbox_problem
from grader.pipeline import GradingRun
from tests.attack_bank import ATTACKS, HOST_FILE, MARKER

ASSIGNMENT = "01_nn_module"
CELL_TIMEOUT_S = 20
HONEST = ["aaa_honest", "mmm_honest", "zzz_honest"]

pytestmark = pytest.mark.skipif(sandbox_problem() is not None, reason=f"no sandbox here: {sandbox_problem()}")


def _attack_notebook(run: GradingRun, attack) -> dict:
    nb = notebooks.read_copy(run.release_notebook)
    first_answer = next(c for c in nb.cells if notebooks.is_answer_cell(c))
    first_answer.source = attack.code
    if attack.edit_notebook:
        attack.edit_notebook(nb)
    return nb


def _survivors() -> list[str]:
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout.splitlines()
    return [p for p in processes if MARKER in p and "ps -eo" not in p]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    Path(HOST_FILE).unlink(missing_ok=True)
    run = GradingRun(ASSIGNMENT, tmp_path_factory.mktemp("attacks") / "course", CELL_TIMEOUT_S)
    solution = notebooks.filled_in_release(run.source_notebook, run.release_notebook)
    run.submit(HONEST[0], solution)
    for index, attack in enumerate(ATTACKS):
        run.submit(attack.name, _attack_notebook(run, attack))
        if index == len(ATTACKS) // 2:
            run.submit(HONEST[1], solution)
    run.submit(HONEST[2], solution)
    results = run.grade(jobs=2)
    slot_roots = [slot.root for slot in nbgrader_execute.shared_engine(cell_timeout_s=CELL_TIMEOUT_S).slots]
    nbgrader_execute.close_shared_engine()
    return results, slot_roots


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_the_attack_steals_no_point(graded, attack):
    result = graded[0][attack.name]
    assert result.score == 0, f"{attack.name} took {result.score} points: {result.cells}"


@pytest.mark.parametrize("attack", [a for a in ATTACKS if a.flagged], ids=lambda a: a.name)
def test_the_attack_is_flagged_for_review(graded, attack):
    assert graded[0][attack.name].flags, f"{attack.name} was not flagged"


def test_a_submission_nbgrader_rejects_is_reported_not_skipped(graded):
    result = graded[0]["tampered_test_metadata"]
    assert result.score == 0 and result.error, result


def test_honest_classmates_keep_full_marks(graded):
    for student in HONEST:
        result = graded[0][student]
        assert result.score == result.max_score, (student, result.lost_cells, result.flags)
        assert result.flags == []


def test_feedback_pages_carry_no_script_and_no_forged_verdict(graded):
    for attack in ATTACKS:
        html = graded[0][attack.name].feedback_text()
        assert "<script>document.title" not in html
        assert "<img src=x" not in html  # the student's markdown shows escaped, as text
        assert "<h1>All tests passed" not in html and "<b>All tests passed" not in html


def test_hidden_tests_and_solutions_stay_out_of_attackers_feedback(graded):
    results = graded[0]
    run_source = notebooks.read(Path(__file__).parent.parent / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    release = notebooks.read(Path(__file__).parent.parent / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    hidden = notebooks.hidden_test_lines(run_source, release)
    for attack in ("steal_the_solution", "read_callers_frame", "kernel_connection_files"):
        text = notebooks.visible_text(results[attack].feedback_text())
        assert not [line for line in hidden if line in text], attack


def test_no_process_outlives_grading(graded):
    assert _survivors() == []


def test_no_file_outlives_grading(graded):
    _, slot_roots = graded
    assert not Path(HOST_FILE).exists()
    assert [root for root in slot_roots if root.exists()] == []
