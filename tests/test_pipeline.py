"""The grading pipeline's own helpers."""
from grader.pipeline import _error_summary


def test_grading_errors_are_summed_up_in_one_line():
    log = ("[ERROR] There was an error processing assignment\n"
           "    json.decoder.JSONDecodeError: Expecting value: line 1 column 12 (char 11)\n"
           "    nbformat.reader.NotJSONError: Notebook does not appear to be JSON: '{\"cells\": ['\n"
           "[ERROR] Please see the above traceback\n")
    assert _error_summary(log) == "nbformat.reader.NotJSONError: Notebook does not appear to be JSON: '{\"cells\": ['"
    assert _error_summary("[INFO] x\n[ERROR] no traceback here\n") == "[ERROR] no traceback here"


def test_parallel_grading_gives_the_serial_gradebook_and_feedback(tmp_path):
    """--jobs changes how fast a class is graded, never a grade or a word of feedback."""
    import re

    from grader.bank import grade_class, load_bank
    from grader.engine import nbgrader_execute
    from grader.notebooks import visible_text

    assignment = "02_state_dict"
    entries = load_bank(assignment)[:3]

    def graded(jobs):
        from grader.pipeline import GradingRun

        original = GradingRun.grade
        GradingRun.grade = lambda self, progress=None, jobs_=None: original(self, progress, jobs=jobs)
        try:
            result = grade_class(assignment, entries, tmp_path / f"jobs{jobs}")
        finally:
            GradingRun.grade = original
            nbgrader_execute.close_shared_engine()
        return {name: (r.score, {c.grade_id: c.score for c in r.cells.values()},
                       re.sub(r"\s+", " ", visible_text(r.feedback_text())))
                for name, r in result.results.items()}

    serial, parallel = graded(1), graded(2)
    assert serial.keys() == parallel.keys()
    for student in serial:
        assert serial[student] == parallel[student], student
