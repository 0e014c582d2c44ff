"""Where things live in the repository."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS_DIR = REPO_ROOT / "solutions"
ASSIGNMENTS_DIR = REPO_ROOT / "assignments"
LECTURES_DIR = REPO_ROOT / "lectures"
# nbgrader's working area (gradebook, exchange, submissions, feedback); ignored by git.
WORK_AREA = REPO_ROOT / ".course"
# Where JupyterLab's Assignments tab fetches released assignments to (ignored by git).
STUDENT_WORK_DIR = REPO_ROOT / "work"


def assignment_names() -> list[str]:
    """Assignments in course order: every folder of solutions/ holding a notebook."""
    return sorted(p.name for p in SOLUTIONS_DIR.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))
