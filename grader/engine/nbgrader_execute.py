"""nbgrader's Execute preprocessor, replaced by the course's sandboxed engine.

``grader/config.py`` puts :class:`SandboxedExecute` in ``Autograde.autograde_preprocessors``
where nbgrader has its ``Execute``, so ``nbgrader autograde``, Formgrader and the ``grader``
command line all run submissions the same way: in a bubblewrap sandbox, through the engine,
with the grades written afterwards, outside the sandbox, by nbgrader itself.

Grading a class fast: :func:`precompute` runs many submissions in parallel before nbgrader
walks through them one by one; ``SandboxedExecute`` then finds each notebook's outcome ready
(looked up by what the notebook will run, so a prediction that differs simply runs again).
"""
import atexit
import os
import threading
from pathlib import Path

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Integer

from grader.engine.jobs import Job, Outcome, apply_outcome, folder_files
from grader.engine.pool import Engine
from grader.engine.sandbox import Limits
from grader.engine.scan import is_tampering, scan_job

UNSAFE_ENV = "GRADER_UNSAFE_NO_SANDBOX"
METADATA_KEY = "grader"

_engine: Engine | None = None
_engine_lock = threading.Lock()
_ready: dict[str, Outcome] = {}


def unsafe_requested() -> bool:
    return os.environ.get(UNSAFE_ENV, "") == "1"


def shared_engine(jobs: int = 1, cell_timeout_s: float = 60) -> Engine:
    """The process's engine (started on first use, closed at exit)."""
    global _engine
    with _engine_lock:
        if _engine is None or _engine.limits.cell_timeout_s != cell_timeout_s or _engine.jobs < jobs:
            if _engine is not None:
                _engine.close()
            _engine = Engine(jobs=jobs, sandboxed=not unsafe_requested(), limits=Limits(cell_timeout_s=cell_timeout_s))
        return _engine


@atexit.register
def close_shared_engine() -> None:
    global _engine
    if _engine is not None:
        _engine.close()
        _engine = None


def precompute(jobs: list[Job], parallel: int, cell_timeout_s: float) -> None:
    """Run ``jobs`` in parallel now; SandboxedExecute will find their outcomes."""
    engine = shared_engine(parallel, cell_timeout_s)
    todo = {job.key(): job for job in jobs if job.key() not in _ready}
    for key, outcome in zip(todo, engine.map(list(todo.values()))):
        _ready[key] = outcome


def source_files(source_folder: Path) -> set[str]:
    """Names of the instructor's files of an assignment: the only files a notebook runs beside."""
    return set(folder_files(source_folder, exclude=set()))


def job_for(nb: NotebookNode, folder: Path, allowed_files: set[str] | None) -> Job:
    files = folder_files(folder, exclude=set())
    if allowed_files is not None:
        files = {name: data for name, data in files.items() if name in allowed_files}
    return Job.from_notebook(nb, files)


class SandboxedExecute(NbGraderPreprocessor):
    """Runs the notebook in the sandboxed engine and records what it found in the metadata."""

    timeout = Integer(60, help="Seconds a cell may run.").tag(config=True)
    unsafe_no_sandbox = Bool(False, help="Grade without a sandbox (trusted submissions only).").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict):
        if self.unsafe_no_sandbox:
            os.environ[UNSAFE_ENV] = "1"
        folder = Path(resources.get("metadata", {}).get("path") or ".")
        job = job_for(nb, folder, self._source_files(resources))
        key = job.key()
        outcome = _ready.pop(key, None) or shared_engine(cell_timeout_s=self.timeout).run(job)
        found = scan_job(job)
        static_tampering = [reason for reason in found if is_tampering(reason)]
        apply_outcome(nb, outcome, void_tests=static_tampering)
        nb.metadata[METADATA_KEY] = {"status": outcome.status, "detail": outcome.detail,
                                     "tamper": static_tampering + outcome.tamper,
                                     "suspicious": [reason for reason in found if not is_tampering(reason)],
                                     "seconds": outcome.seconds}
        return nb, resources

    def _source_files(self, resources: dict) -> set[str] | None:
        assignment = resources.get("nbgrader", {}).get("assignment")
        if not assignment:
            return None
        from nbgrader.coursedir import CourseDirectory

        coursedir = CourseDirectory(parent=self)
        source = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
        return source_files(source) if source.is_dir() else None
