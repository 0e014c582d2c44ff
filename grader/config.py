"""nbgrader's configuration for this course: the single source of truth.

``nbgrader_config.py`` at the repository root (read by the ``nbgrader`` command and by
JupyterLab's nbgrader extensions) and every grading run of the ``grader`` package
call :func:`course_config`, so the command line, the lab and the tests grade alike.
"""
import os
from pathlib import Path

import nbgrader
from traitlets.config import Config

from grader.paths import REPO_ROOT, STUDENT_WORK_DIR, WORK_AREA

COURSE_ID = "pytorch-course"
# Files in solutions/<assignment>/ that are instructor-only and must never be released:
# the mistake bank and the notebook's text source.
INSTRUCTOR_ONLY_FILES = ["mistake_bank.py", "mutants.py", "*.nb.py"]
# Seconds a single cell may run. A cold `import torch` takes a few seconds on a busy
# two-core machine; one minute leaves room for that and still stops an infinite loop.
CELL_TIMEOUT_S = 60


def course_config(root: Path = REPO_ROOT, cell_timeout_s: int = CELL_TIMEOUT_S,
                  work: Path | None = None) -> Config:
    """nbgrader settings for a course rooted at ``root``.

    ``root`` is the repository for the instructor's real course, or a scratch folder
    for an isolated grading run (validation, the mistake bank, ``python -m grader autograde``).
    ``work`` is the course's ignored work area (gradebook, exchange, submissions, nbgrader's
    release folder): ``.course/`` for the repository, ``root`` itself for a scratch folder.
    """
    root = Path(root).resolve()
    work = Path(work).resolve() if work is not None else WORK_AREA if root == REPO_ROOT else root
    # In a course with a work area, nbgrader's release directory lives there: Formgrader's
    # Generate (generate_assignment --force) deletes and rewrites it, so it must never be the
    # committed assignments/ (which `python -m grader release` writes, byte-identical).
    release = "assignments" if work == root else str(Path(work, "release").relative_to(root))
    c = Config()
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.source_directory = "solutions"
    c.CourseDirectory.release_directory = release
    c.CourseDirectory.submitted_directory = str(Path(work, "submitted").relative_to(root))
    c.CourseDirectory.autograded_directory = str(Path(work, "autograded").relative_to(root))
    c.CourseDirectory.feedback_directory = str(Path(work, "feedback").relative_to(root))
    c.CourseDirectory.db_url = f"sqlite:///{work / 'gradebook.db'}"
    c.CourseDirectory.ignore = [
        ".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", *INSTRUCTOR_ONLY_FILES,
    ]

    # A local exchange, so that JupyterLab's Assignments tab can list, fetch and submit;
    # COURSE_EXCHANGE names a shared one instead (JupyterHub: README, "Many students at once").
    c.Exchange.root = os.environ.get("COURSE_EXCHANGE") or str(work / "exchange")
    c.Exchange.assignment_dir = str(STUDENT_WORK_DIR if work == root else root / "work")
    if not os.environ.get("COURSE_EXCHANGE"):
        # The student's record of submissions, by default shared by every course on the machine
        # (~/.local/share/jupyter/nbgrader_cache), belongs to this course.
        c.Exchange.cache = str(work / "cache")

    c.ClearSolutions.code_stub = {
        "python": "# YOUR CODE HERE\nraise NotImplementedError()",
    }
    c.Execute.timeout = cell_timeout_s
    # Autograde runs submissions in the course's sandboxed engine, not in a plain Jupyter kernel
    # (grader/engine): nbgrader's own list with its Execute replaced, everything else kept.
    c.Autograde.autograde_preprocessors = [
        "grader.engine.nbgrader_execute.SandboxedExecute",
        "nbgrader.preprocessors.IgnorePattern",
        "nbconvert.preprocessors.ClearMetadataPreprocessor",
        "nbgrader.preprocessors.LimitOutput",
        "nbgrader.preprocessors.SaveAutoGrades",
        "nbgrader.preprocessors.AssignLatePenalties",
        "nbgrader.preprocessors.CheckCellMetadata",
    ]
    c.SandboxedExecute.timeout = cell_timeout_s
    # Keep what the engine found (status, tampering, the static scan) in the autograded notebook.
    c.ClearMetadataPreprocessor.preserve_nb_metadata_mask = {("language_info", "name"), ("grader",)}
    # A deleted test cell must not delete the points it guards.
    c.OverwriteCells.add_missing_cells = True
    # Feedback shows the student's work and test results, never the hidden tests' code.
    # Student output is untrusted HTML: feedback pages never run a submission's scripts.
    c.HTMLExporter.sanitize_html = True
    c.GenerateFeedback.preprocessors = [
        "nbgrader.preprocessors.GetGrades",
        "grader.feedback.HideHiddenTestCode",
        "nbgrader.preprocessors.ClearHiddenTests",
        "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    ]
    # Feedback's contents list names each test cell's part (grader/templates/feedback/), for
    # feedback pages only: Formgrader's own HTMLExporter is left alone.
    formgrader = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"
    c.GenerateFeedback.HTMLExporter.extra_template_basedirs = [
        str(Path(__file__).parent / "templates"), str(formgrader / "templates")]
    c.GenerateFeedback.HTMLExporter.extra_template_paths = [
        str(formgrader), str(formgrader / "static" / "node_modules" / "bootstrap" / "dist" / "css")]
    return c
