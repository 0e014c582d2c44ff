"""JupyterLab settings for the course: `make course` runs `jupyter lab --config=grader/jupyter_server_config.py`.

* The course's concise Validate (grader/lab.py) replaces nbgrader's validate_assignment extension.
* JupyterLab opens (and prints the URL of) the student's copy of lecture 1 in work/lectures/,
  not the Launcher. The course is the server's working directory.

A JupyterHub deployment passes the same file to each student's server (README, "Many students
at once").
"""
from pathlib import Path

from grader.course import first_lecture_url

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
c.ServerApp.jpserver_extensions = {
    "nbgrader.server_extensions.validate_assignment": False,
    "grader.lab": True,
}
if (Path.cwd() / "lectures").is_dir():
    c.LabApp.default_url = first_lecture_url(Path.cwd())
