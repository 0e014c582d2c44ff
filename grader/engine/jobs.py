"""What the engine runs (a :class:`Job`: a notebook's code cells and its folder's files) and what
comes back (an :class:`Outcome`), and how both map onto an nbformat notebook.

A crash or a runaway cell costs only the cells from that point on: they get an error output
that says why they did not run, and nbgrader scores them zero like any failed test. Tampering
found while the tests ran (grader.engine.executor) zeroes the test cell where it was found and
every test cell after it, and is reported in :attr:`Outcome.tamper`.
"""
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from nbformat import NotebookNode, from_dict

from grader.engine.sandbox import address_space_limit, gpu_devices

BEGIN_HIDDEN_TESTS = "### BEGIN HIDDEN TESTS"


def cell_kind(cell: NotebookNode) -> str | None:
    """How the engine runs a cell: None for markdown and raw cells."""
    if cell.cell_type != "code":
        return None
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if meta.get("grade") and not meta.get("solution"):
        return "hidden_test" if BEGIN_HIDDEN_TESTS in cell.source else "test"
    if meta.get("locked") and not meta.get("solution"):
        return "setup"
    return "code"


@dataclass
class Job:
    cells: list[dict]  # {"kind", "source"}, code cells only, in notebook order
    files: dict[str, bytes] = field(default_factory=dict)  # the assignment folder, beside the notebook
    stop_on_test_failure: bool = False

    @classmethod
    def from_notebook(cls, nb: NotebookNode, files: dict[str, bytes] | None = None, **options) -> "Job":
        cells = [{"kind": kind, "source": c.source} for c in nb.cells if (kind := cell_kind(c))]
        return cls(cells, dict(files or {}), **options)

    def message(self, workdir: str, limits, wipe: list[str]) -> dict:
        return {"cells": self.cells, **_process_settings(workdir, limits, wipe, limits.cpu_seconds),
                "stop_on_test_failure": self.stop_on_test_failure}

    def deadline_s(self, limits) -> float:
        return len(self.cells) * (limits.cell_timeout_s + 15) + 30

    def parse(self, message: dict) -> "Outcome":
        return Outcome.from_message(message)

    def failed(self, detail: str) -> "Outcome":
        return Outcome.failed(detail)

    def key(self) -> str:
        """Identifies what runs: equal keys, equal outcomes (grading is deterministic)."""
        digest = hashlib.sha256(json.dumps(self.cells, sort_keys=True).encode())
        for name in sorted(self.files):
            digest.update(name.encode() + b"\0" + hashlib.sha256(self.files[name]).digest())
        return digest.hexdigest()


def _process_settings(workdir: str, limits, wipe: list[str], cpu_seconds: int) -> dict:
    """Where a job's child runs and what bounds it, as the zygote reads them."""
    return {"cwd": workdir, "wipe": wipe, "cell_timeout_s": limits.cell_timeout_s,
            "memory_bytes": address_space_limit(limits, bool(gpu_devices())), "cpu_seconds": cpu_seconds,
            "file_bytes": limits.file_bytes, "threads": 1}


def folder_files(folder: Path, exclude: set[str]) -> dict[str, bytes]:
    """The files of an assignment folder a notebook may read (its own notebooks excluded)."""
    folder = Path(folder)
    files = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and relative not in exclude and ".ipynb_checkpoints" not in path.parts \
                and not path.name.endswith(".ipynb"):
            files[relative] = path.read_bytes()
    return files


@dataclass
class Outcome:
    results: list[dict]  # per code cell that ran: {"outputs", "execution_count", "tamper"}
    status: str  # "ok", "timeout", "crashed"
    detail: str = ""
    seconds: float = 0.0
    log_tail: str = ""

    @classmethod
    def from_message(cls, message: dict) -> "Outcome":
        return cls(message["results"], message["status"], message.get("detail", ""),
                   message.get("seconds", 0.0), message.get("log_tail", ""))

    @classmethod
    def failed(cls, detail: str) -> "Outcome":
        return cls([], "crashed", detail)

    @property
    def tamper(self) -> list[str]:
        seen = []
        for result in self.results:
            for reason in result.get("tamper", []):
                if reason not in seen:
                    seen.append(reason)
        return seen

    def to_message(self) -> dict:
        return {"results": self.results, "status": self.status, "detail": self.detail,
                "seconds": self.seconds, "log_tail": self.log_tail}


def _error(ename: str, evalue: str) -> dict:
    return {"output_type": "error", "ename": ename, "evalue": evalue,
            "traceback": [f"\x1b[0;31m{ename}\x1b[0m: {evalue}"]}


def apply_outcome(nb: NotebookNode, outcome: Outcome, void_tests: list[str] = ()) -> NotebookNode:
    """Write the outcome's outputs into ``nb``'s code cells (in place; also returned).

    ``void_tests``: reasons (the static scan's tampering) that void every test cell."""
    code_cells = [c for c in nb.cells if cell_kind(c)]
    tampered = bool(void_tests)
    reasons = "; ".join([*void_tests, *outcome.tamper])
    for index, cell in enumerate(code_cells):
        kind = cell_kind(cell)
        if index < len(outcome.results):
            result = outcome.results[index]
            cell.outputs = [from_dict(o) for o in result["outputs"]]
            cell.execution_count = result["execution_count"]
            if result.get("tamper"):
                tampered = True
            if tampered and kind in ("test", "hidden_test"):
                # First, and with no partial-credit result left: nbgrader scores the first of them.
                cell.outputs = [from_dict(_error(
                    "TamperingDetected", f"this test cannot be trusted: {reasons}. Flagged for manual review."))] + \
                    [o for o in cell.outputs if o.output_type != "execute_result"]
        else:
            cell.execution_count = None
            if index == len(outcome.results) and outcome.status != "ok":
                ename = "CellTimeoutError" if outcome.status == "timeout" else "DeadKernelError"
                cell.outputs = [from_dict(_error(ename, outcome.detail))]
            else:
                cell.outputs = [from_dict(_error("NotRun", "this cell did not run: an earlier cell "
                                                           f"stopped the notebook ({outcome.detail})"))]
    return nb


@dataclass
class VariantsJob:
    """Mutation analysis: ``prefix`` cells run once, then each variant (the rest of the notebook,
    with one cell changed) runs alone from that state and is judged killed or survived."""

    prefix: list[dict]
    variants: list[list[dict]]
    files: dict[str, bytes] = field(default_factory=dict)

    def message(self, workdir: str, limits, wipe: list[str]) -> dict:
        return {"mode": "variants", "prefix": self.prefix, "variants": self.variants,
                **_process_settings(workdir, limits, wipe, limits.cpu_seconds * (1 + len(self.variants)))}

    def deadline_s(self, limits) -> float:
        cells = len(self.prefix) + sum(len(v) for v in self.variants)
        return cells * (limits.cell_timeout_s + 2) + 60

    def parse(self, message: dict) -> dict:
        return message

    def failed(self, detail: str) -> dict:
        return {"error": detail}
