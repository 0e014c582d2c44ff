"""Keep hidden tests hidden in feedback, and keep a submission's output harmless there.

nbgrader's ClearHiddenTests removes hidden-test *source* from feedback, but outputs can quote it
or what it fed the student's code: a failing cell's traceback shows the lines that raised, a
warning shows the line that triggered it, and anything the student's functions print while the
hidden tests call them can reveal the hidden inputs. This preprocessor, run before
ClearHiddenTests, keeps only what a student needs from a cell with hidden tests: the last line of
its error (the check's verdict: expected, got, the likely mistake), the verdicts of partial
credit, and the notes about warnings (which cost no points); other output is replaced by a note.

Student output elsewhere is shown, as text: HTML, JavaScript and SVG outputs are dropped here,
and the HTML exporter sanitizes the rest (``HTMLExporter.sanitize_html`` in grader/config.py).
"""
import html

from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor

from grader.checks import VERDICT_METADATA
from grader.engine.executor import WARNING_PREFIX

OUTPUT_NOTE = "(output printed while the hidden tests ran is not shown)\n"
ACTIVE_MIME_TYPES = ("text/html", "application/javascript", "image/svg+xml", "text/markdown", "text/latex")


def _has_hidden_tests(cell) -> bool:
    return ClearHiddenTests.begin_test_delimeter.default_value in cell.source


def _is_verdict(output) -> bool:
    metadata = output.get("metadata", {})
    return all(metadata.get(key) == value for key, value in VERDICT_METADATA.items())


def _hidden_cell_outputs(outputs: list) -> list:
    kept, dropped = [], False
    for output in outputs:
        kind = output.output_type
        if kind == "error":
            output.traceback = [f"\x1b[0;31m{output.ename}\x1b[0m: {output.evalue}"]
            kept.append(output)
        elif kind == "execute_result" or (kind == "display_data" and _is_verdict(output)):
            kept.append(output)
        elif kind == "stream":
            notes = "".join(line for line in output.text.splitlines(True) if line.startswith(WARNING_PREFIX))
            dropped = dropped or notes != output.text
            if notes:
                output.name, output.text = "stdout", notes
                kept.append(output)
        else:
            dropped = True
    if dropped:
        kept.insert(0, {"output_type": "stream", "name": "stdout", "text": OUTPUT_NOTE})
    return kept


def _is_locked(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("locked") or meta.get("grade") or meta.get("solution") is False and meta.get("grade_id"))


class HideHiddenTestCode(NbGraderPreprocessor):  # enabled by default, unlike nbconvert's base
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown" and not _is_locked(cell):
            # A student's own markdown is shown as text: markdown passes raw HTML (and scripts) through.
            cell.source = html.escape(cell.source)
            return cell, resources
        if cell.cell_type != "code":
            return cell, resources
        if _has_hidden_tests(cell):
            from nbformat import from_dict
            cell.outputs = [from_dict(o) for o in _hidden_cell_outputs(cell.get("outputs", []))]
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data:
                for mime in ACTIVE_MIME_TYPES:
                    data.pop(mime, None)
                if not data:
                    data["text/plain"] = "(a rich output that feedback does not show)"
        return cell, resources
