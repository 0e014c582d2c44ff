# nbgrader reads this file from the directory it runs in (the repository root), as do
# JupyterLab's nbgrader extensions. All settings live in grader/config.py; the course is the
# folder this file is in (a copy of the course, e.g. a test's, is a course of its own).
from pathlib import Path

from grader.config import course_config

_root = Path(__file__).resolve().parent
c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
c.merge(course_config(_root, work=_root / ".course"))
