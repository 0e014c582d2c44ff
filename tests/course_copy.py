"""A private copy of the course for tests that run it as an instructor or a student would.

The copy holds what a clone holds (solutions/, assignments/, lectures/, nbgrader_config.py);
its nbgrader_config.py makes the copy's folder the course, so publishing, JupyterLab and the
``nbgrader`` commands write their gradebook, exchange and student work into the copy and the
clone stays as the test found it.
"""
import hashlib
import shutil
from pathlib import Path

from grader.paths import REPO_ROOT

COMMITTED = ["solutions", "assignments", "lectures", "nbgrader_config.py"]


def make_course_copy(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
    for name in COMMITTED:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copyfile(source, target / name)
    return target


def fingerprint(course: Path) -> dict[str, str]:
    """Path -> sha256 of every committed file of a course copy."""
    found = {}
    for name in COMMITTED:
        top = course / name
        for path in sorted([top] if top.is_file() else top.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                found[path.relative_to(course).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found
