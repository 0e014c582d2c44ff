"""JupyterLab settings for the course: `make course` runs `jupyter lab --config=grader/jupyter_server_config.py`.

* The course's concise Validate (grader/lab.py) replaces nbgrader's validate_assignment extension.
* JupyterLab opens (and prints the URL of) the student's copy of lecture 1 in work/lectures/,
  not the Launcher. The course is the server's working directory.

* No news feed or update check (courses run offline).

The student distribution (grader/distribution.py) has its own, which also switches off
nbgrader's instructor tools.
"""
from pathlib import Path

from grader.course import first_lecture_url

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
c.ServerApp.jpserver_extensions = {
    "nbgrader.server_extensions.validate_assignment": False,
    "grader.lab": True,
}
# Courses run offline, often on closed networks: no news feed, no update check, no prompt for them.
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
if (Path.cwd() / "lectures").is_dir():
    c.LabApp.default_url = first_lecture_url(Path.cwd())
