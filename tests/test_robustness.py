"""Guarantee 7: a bad submission costs only its own grade.

One class of unit 1 submissions, graded in a single nbgrader run, mixes broken submissions
(malformed file, dead kernel, endless loop, deleted or edited test cells, huge output, a
foreign kernelspec) with a correct one. Each broken one gets a clear result; the correct one
still scores full marks.
"""
import nbformat
import pytest

from grader import notebooks
from grader.bank import apply_edits, load_bank
from grader.pipeline import GradingRun

ASSIGNMENT = "01_nn_module"
# Short enough to keep the endless loop cheap, long enough for a cold `import torch`.
CELL_TIMEOUT_S = 20


def _entry(name):
    return next(e for e in load_bank(ASSIGNMENT) if e.name == name)


def _with_answer(nb, grade_id, source):
    notebooks.cells_by_id(nb)[grade_id].source = source
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    run = GradingRun(ASSIGNMENT, tmp_path_factory.mktemp("robustness") / "course", CELL_TIMEOUT_S)

    def solution():
        return notebooks.filled_in_release(run.source_notebook, run.release_notebook)

    deleted_tests = solution()
    deleted_tests.cells = [c for c in deleted_tests.cells if not notebooks.is_test_cell(c)]
    edited_tests = apply_edits(solution(), _entry("count_tensors"))
    for cell in edited_tests.cells:
        if notebooks.is_test_cell(cell):
            cell.source = "pass  # tests? what tests?"
    foreign_kernel = solution()
    foreign_kernel.metadata.kernelspec = {"name": "ir", "display_name": "R", "language": "R"}
    deleted_answer = solution()
    deleted_answer.cells = [c for c in deleted_answer.cells if notebooks.grade_id(c) != "count_parameters"]

    submissions = {
        "malformed_json": b'{"cells": [{"cell_type": "code", "source": ',
        "not_a_notebook": b'{"hello": "world"}',
        "kernel_crash": _with_answer(solution(), "images_to_batch", "import os\nos._exit(1)"),
        "endless_loop": _with_answer(solution(), "count_parameters",
                                     "def count_parameters(model):\n    while True:\n        pass"),
        "deleted_tests": deleted_tests,
        "edited_tests": edited_tests,
        "huge_output": _with_answer(solution(), "count_parameters",
                                    "for i in range(200_000):\n    print('spam', i)\n\n"
                                    + notebooks.solution_code(
                                        notebooks.cells_by_id(run.source_notebook)["count_parameters"].source)),
        "foreign_kernelspec": foreign_kernel,
        "deleted_answer_cell": deleted_answer,
        "good_student": solution(),
    }
    for student, submission in submissions.items():
        run.submit(student, submission)
    return run.grade()


def test_a_correct_submission_is_unaffected_by_broken_classmates(graded):
    assert graded["good_student"].score == graded["good_student"].max_score == 20


@pytest.mark.parametrize("student,reason", [("malformed_json", "NotJSONError: Notebook does not appear to be JSON"),
                                            ("not_a_notebook", "Notebook")])
def test_unreadable_notebooks_get_a_clear_error_and_zero(graded, student, reason):
    result = graded[student]
    assert result.score == 0
    assert reason in result.error


def test_a_crashed_kernel_costs_the_parts_from_the_crash_on_and_is_reported(graded):
    result = graded["kernel_crash"]
    # Parts 1 and 2 ran before the answer that ends the process: their points stand.
    assert result.error is None
    assert result.score == 10
    assert result.lost_cells[0] == "test_images_to_batch"
    assert any("exited with status 1" in flag for flag in result.flags), result.flags
    assert "DeadKernelError" in notebooks.visible_text(result.feedback_text())


def test_an_endless_loop_costs_only_the_tests_that_call_it(graded):
    result = graded["endless_loop"]
    assert result.error is None
    assert sorted(result.lost_cells) == ["test_count_parameters", "test_count_parameters_hidden"]
    assert "CellTimeoutError" in notebooks.visible_text(result.feedback_text()) or \
        "KeyboardInterrupt" in notebooks.visible_text(result.feedback_text())


def test_deleted_test_cells_are_restored(graded):
    assert graded["deleted_tests"].score == 20


def test_edited_test_cells_are_overwritten(graded):
    result = graded["edited_tests"]
    assert sorted(result.lost_cells) == ["test_count_parameters", "test_count_parameters_hidden"]
    assert "counted parameter tensors instead of their values" in notebooks.visible_text(result.feedback_text())


def test_huge_output_is_truncated_and_graded(graded):
    result = graded["huge_output"]
    assert result.score == 20
    assert result.feedback_html.stat().st_size < 2_000_000


def test_a_foreign_kernelspec_is_replaced(graded):
    assert graded["foreign_kernelspec"].score == 20


def test_a_deleted_answer_cell_loses_only_its_part(graded):
    assert sorted(graded["deleted_answer_cell"].lost_cells) == ["test_count_parameters",
                                                                 "test_count_parameters_hidden"]
