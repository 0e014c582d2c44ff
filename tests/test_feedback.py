"""The feedback preprocessor keeps only verdicts from cells with hidden tests."""
import nbformat

from grader.feedback import STDERR_NOTE, HideHiddenTestCode


def cell_with(source):
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [
        nbformat.v4.new_output("error", ename="CheckFailed", evalue="f(3): expected 9, got 6.",
                               traceback=["---> 3 check_equal(f(3), 9, 'f(3)')", "CheckFailed: f(3): expected 9, got 6."]),
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning\n  check_equal(f(3), 9, 'f(3)')\n"),
        nbformat.v4.new_output("stream", name="stdout", text="student print\n"),
    ]
    return cell


def test_cells_with_hidden_tests_keep_only_the_verdict_and_stdout():
    cell = cell_with("### BEGIN HIDDEN TESTS\ncheck_equal(f(3), 9, 'f(3)')\n### END HIDDEN TESTS")
    cell, _ = HideHiddenTestCode().preprocess_cell(cell, {}, 0)
    error, stderr, stdout = cell.outputs
    assert error.traceback == ["\x1b[0;31mCheckFailed\x1b[0m: f(3): expected 9, got 6."]
    assert stderr.text == STDERR_NOTE
    assert stdout.text == "student print\n"


def test_visible_test_cells_are_left_alone():
    cell = cell_with("check_equal(f(3), 9, 'f(3)')")
    before = nbformat.from_dict(cell)
    cell, _ = HideHiddenTestCode().preprocess_cell(cell, {}, 0)
    assert cell == before


def test_the_preprocessor_runs_without_being_enabled_in_config():
    assert HideHiddenTestCode().enabled
