"""The feedback preprocessor keeps only verdicts and warning notes from cells with hidden tests,
and never lets a submission's HTML or scripts into a feedback page."""
import nbformat

from grader.checks import VERDICT_METADATA
from grader.engine.executor import WARNING_PREFIX
from grader.feedback import OUTPUT_NOTE, HideHiddenTestCode


def cell_with(source):
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout",
                               text=f"hidden input was [1, 2, 3]\n{WARNING_PREFIX}UserWarning: deprecated\n"),
        nbformat.v4.new_output("display_data", data={"text/plain": "1 clause(s) failed"}, metadata=VERDICT_METADATA),
        nbformat.v4.new_output("display_data", data={"text/plain": "student display"}),
        nbformat.v4.new_output("error", ename="CheckFailed", evalue="f(3): expected 9, got 6.",
                               traceback=["---> 3 check_equal(f(3), 9, 'f(3)')", "CheckFailed: f(3): expected 9, got 6."]),
    ]
    return cell


def test_cells_with_hidden_tests_keep_only_verdicts_and_warning_notes():
    cell = cell_with("### BEGIN HIDDEN TESTS\ncheck_equal(f(3), 9, 'f(3)')\n### END HIDDEN TESTS")
    cell, _ = HideHiddenTestCode().preprocess_cell(cell, {}, 0)
    note, warning, verdict, error = cell.outputs
    assert note.text == OUTPUT_NOTE
    assert warning.text == f"{WARNING_PREFIX}UserWarning: deprecated\n"
    assert verdict.data["text/plain"] == "1 clause(s) failed"
    assert error.traceback == ["\x1b[0;31mCheckFailed\x1b[0m: f(3): expected 9, got 6."]
    assert "hidden input" not in str(cell.outputs)


def test_visible_test_cells_keep_their_output():
    cell = cell_with("check_equal(f(3), 9, 'f(3)')")
    before = nbformat.from_dict(cell)
    cell, _ = HideHiddenTestCode().preprocess_cell(cell, {}, 0)
    assert cell == before


def test_active_content_is_dropped_from_every_cell():
    cell = nbformat.v4.new_code_cell("print('hi')")
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "text/html": "<script>alert(1)</script>", "text/plain": "<IPython.core.display.HTML object>"}),
        nbformat.v4.new_output("display_data", data={"application/javascript": "alert(1)"})]
    cell, _ = HideHiddenTestCode().preprocess_cell(cell, {}, 0)
    assert "script" not in str(cell.outputs) and "alert" not in str(cell.outputs)


def test_the_preprocessor_runs_without_being_enabled_in_config():
    assert HideHiddenTestCode().enabled
