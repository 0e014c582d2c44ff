"""The course's JupyterLab server extension: nbgrader's Validate button, concise.

nbgrader's Validate dialog shows, for every failing test cell, the cell's whole source above
its error, and the error is the whole traceback. The course's test cells are long and their
verdicts are short (``grader.checks``: expected, got, the likely mistake), so this
extension serves the same ``/assignments/validate`` endpoint, for the same lab button, with
the failing *part* ("Part 1 — ...: visible tests (test_scratch_module)") in place of the
source and the verdict (the exception message) in place of the traceback. It replaces nbgrader's
``validate_assignment`` server extension (``grader/jupyter_server_config.py`` switches it).
"""
import traceback
from pathlib import Path

import nbformat
from jupyter_server.utils import url_path_join
from nbconvert.filters import strip_ansi
from nbgrader.server_extensions.validate_assignment.handlers import (
    NbGraderVersionHandler,
    ValidateAssignmentHandler,
)
from nbgrader.validator import Validator
from tornado import web


def part_titles(nb) -> dict[str, str]:
    """grade_id of each test cell -> "Part N — title: visible tests" (from the part's ## heading)."""
    titles, part = {}, ""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## "):
            heading = cell.source.splitlines()[0][3:].replace("`", "")
            part = heading.rsplit(" (", 1)[0] if heading.endswith("points)") else heading
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            grade_id = meta["grade_id"]
            kind = "hidden tests" if grade_id.endswith("_hidden") else "visible tests"
            titles[grade_id] = f"{part}: {kind} ({grade_id})" if part else f"test cell {grade_id}"
    return titles


class ConciseValidator(Validator):
    """nbgrader's Validator reporting each failure as its part and its verdict line."""

    def _extract_error(self, cell) -> str:
        errors = [f"{strip_ansi(o.ename)}: {strip_ansi(o.evalue)}"
                  for o in cell.get("outputs", []) if o.output_type == "error"]
        return "\n".join(errors) if errors else super()._extract_error(cell)

    def validate(self, filename: str) -> dict:
        results = super().validate(filename)
        if "failed" in results:
            nb = nbformat.read(filename, as_version=4)
            by_source = {cell.source.strip(): cell for cell in nb.cells}
            titles = part_titles(nb)
            for failure in results["failed"]:
                cell = by_source.get(failure["source"])
                grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") if cell else None
                if grade_id in titles:
                    failure["source"] = titles[grade_id]
        return results


class ConciseValidateHandler(ValidateAssignmentHandler):
    def validate_notebook(self, path):
        root = Path(self.root_dir).resolve()
        target = (root / path).resolve()
        if not target.is_relative_to(root):
            raise web.HTTPError(403, "Access denied: path outside allowed directory")
        try:
            result = ConciseValidator(config=self.load_config()).validate(str(target))
        except Exception:
            self.log.error(traceback.format_exc())
            return {"success": False, "value": traceback.format_exc()}
        return {"success": True, "value": result}


def _jupyter_server_extension_points():
    return [{"module": "grader.lab"}]


def _load_jupyter_server_extension(serverapp):
    webapp = serverapp.web_app
    webapp.settings["root_dir"] = serverapp.root_dir
    base_url = webapp.settings["base_url"]
    webapp.add_handlers(".*$", [
        (url_path_join(base_url, "/assignments/validate"), ConciseValidateHandler),
        (url_path_join(base_url, "/nbgrader_version"), NbGraderVersionHandler),
    ])
    serverapp.log.info("grader.lab: concise nbgrader Validate at /assignments/validate")

