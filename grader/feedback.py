"""Keep hidden tests hidden in feedback.

nbgrader's ClearHiddenTests removes hidden-test *source* from feedback, but a failing
cell's traceback quotes the lines that raised, so hidden-test code would still show.
This preprocessor, run before ClearHiddenTests, cuts the traceback of every cell with
hidden tests down to its last line: the exception's name and message. The grader's
checks put everything a student needs (expected, got, likely mistake) in that message.
"""
from nbconvert.preprocessors import Preprocessor
from nbgrader.preprocessors import ClearHiddenTests


def _has_hidden_tests(cell) -> bool:
    return ClearHiddenTests.begin_test_delimeter.default_value in cell.source


class HideHiddenTestTracebacks(Preprocessor):
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and _has_hidden_tests(cell):
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"\x1b[0;31m{output.ename}\x1b[0m: {output.evalue}"]
        return cell, resources
