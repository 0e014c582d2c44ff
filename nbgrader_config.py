# nbgrader reads this file from the directory it runs in (the repository root), as do
# JupyterLab's nbgrader extensions. All settings live in grader/config.py.
from grader.config import course_config

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
c.merge(course_config())
