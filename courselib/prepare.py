"""Generate, once, the cached data that notebooks read: ``python -m courselib.prepare``.

Notebooks call ``ensure_shapes_dataset()`` and friends, which generate their data on first use.
A graded notebook cannot: it runs in a sandbox where the course folder is read-only. The grader
therefore calls :func:`prepare_course_data` before it starts grading, and the sandbox sees the
result read-only (grader/engine/sandbox.py). Add here every dataset a notebook builds by default.
"""
from pathlib import Path


def prepare_course_data() -> list[Path]:
    """Build every default dataset the lectures and assignments use; return their folders."""
    from courselib.shapes_dataset import ensure_shapes_dataset

    return [ensure_shapes_dataset()]


if __name__ == "__main__":
    for folder in prepare_course_data():
        print(folder)
