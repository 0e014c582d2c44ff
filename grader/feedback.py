"""Keep hidden tests hidden in feedback.

nbgrader's ClearHiddenTests removes hidden-test *source* from feedback, but two kinds of
output quote that source too: a failing cell's traceback shows the lines that raised, and a
warning on stderr shows the line that triggered it. This preprocessor, run before
ClearHiddenTests, keeps only what a student needs from a cell with hidden tests: the last
line of its error (exception name and message, where the grader's checks put expected, got
and the likely mistake) and its stdout; stderr is replaced by a short note.
"""
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor

STDERR_NOTE = "(warnings raised while the hidden tests ran are not shown)\n"


def _has_hidden_tests(cell) -> bool:
    return ClearHiddenTests.begin_test_delimeter.default_value in cell.source


class HideHiddenTestCode(NbGraderPreprocessor):  # enabled by default, unlike nbconvert's base
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and _has_hidden_tests(cell):
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"\x1b[0;31m{output.ename}\x1b[0m: {output.evalue}"]
                elif output.output_type == "stream" and output.name == "stderr":
                    output.text = STDERR_NOTE
        return cell, resources
