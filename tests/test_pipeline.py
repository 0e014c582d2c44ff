"""The grading pipeline's own helpers."""
from grader.pipeline import _error_summary


def test_grading_errors_are_summed_up_in_one_line():
    log = ("[ERROR] There was an error processing assignment\n"
           "    json.decoder.JSONDecodeError: Expecting value: line 1 column 12 (char 11)\n"
           "    nbformat.reader.NotJSONError: Notebook does not appear to be JSON: '{\"cells\": ['\n"
           "[ERROR] Please see the above traceback\n")
    assert _error_summary(log) == "nbformat.reader.NotJSONError: Notebook does not appear to be JSON: '{\"cells\": ['"
    assert _error_summary("[INFO] x\n[ERROR] no traceback here\n") == "[ERROR] no traceback here"
