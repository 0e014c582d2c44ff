"""Benchmark: what grading a class costs per student, three ways, and how long the suite takes.

    make benchmark                      # everything
    python tests/benchmark.py --skip-suite [--students N] [ASSIGNMENT]

For one class of N copies of an assignment's solution (hidden tests included), per student:
  own cell time   the notebook's cells in a kernel that has already imported its libraries
  bare nbclient   executing the notebook with nbclient (a kernel per student, one at a time)
  stock nbgrader  `nbgrader autograde` + feedback with nbgrader's own Execute, one at a time
  course grader   the course's pipeline: sandboxed engine, --jobs = cores, then nbgrader records
Prints figures and ratios; asserts nothing (speed is measured here, never in tests).
"""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from grader import notebooks
from grader.engine import nbgrader_execute
from grader.paths import REPO_ROOT
from grader.pipeline import GradingRun

WARM_UP = "import numpy, torch, torchvision, matplotlib.pyplot\nimport grader.checks, grader.device"


def graded_notebook(run: GradingRun) -> nbformat.NotebookNode:
    """The solution as nbgrader runs it: the student's answers with the hidden tests restored."""
    nb = notebooks.filled_in_release(run.source_notebook, run.release_notebook)
    source_tests = notebooks.cells_by_id(run.source_notebook)
    for cell in nb.cells:
        if notebooks.is_test_cell(cell):
            cell.source = source_tests[notebooks.grade_id(cell)].source
    return nb


def own_cell_time(nb, cwd: Path) -> float:
    """Seconds the notebook's cells take once the kernel has imported its libraries."""
    warm = nbformat.from_dict(nb)
    warm.cells.insert(0, nbformat.v4.new_code_cell(WARM_UP))
    client = NotebookClient(warm, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    client.execute()
    total = 0.0
    for cell in warm.cells[1:]:
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            from datetime import datetime
            start = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
            total += (end - start).total_seconds()
    return total


def bare_nbclient(nb, cwd: Path, students: int) -> float:
    start = time.perf_counter()
    for _ in range(students):
        NotebookClient(nbformat.from_dict(nb), timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(cwd)}}).execute()
    return (time.perf_counter() - start) / students


def grade_class(assignment: str, nb, students: int, stock: bool, tmp: Path) -> float:
    run = GradingRun(assignment, tmp / ("stock" if stock else "course"), stock_nbgrader=stock)
    for index in range(students):
        run.submit(f"student{index:03d}", nb)
    start = time.perf_counter()
    results = run.grade(jobs=os.cpu_count())
    seconds = (time.perf_counter() - start) / students
    scores = {r.score for r in results.values()}
    assert scores == {run_max(results)}, f"the solution did not get full marks: {scores}"
    nbgrader_execute.close_shared_engine()
    return seconds


def run_max(results) -> float:
    return next(iter(results.values())).max_score


def benchmark(assignment: str, students: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run = GradingRun(assignment, tmp / "probe")
        nb = graded_notebook(run)
        cwd = run.workdir / "solutions" / assignment
        own = own_cell_time(nb, cwd)
        bare = bare_nbclient(nb, cwd, min(students, 3))
        stock = grade_class(assignment, nb, min(students, 3), True, tmp)
        course = grade_class(assignment, nb, students, False, tmp)
    print(f"\n{assignment}, {students} students, {os.cpu_count()} cores (seconds per student):")
    print(f"  own cell time      {own:6.2f}")
    print(f"  bare nbclient      {bare:6.2f}   ({bare / own:.1f}x own cell time)")
    print(f"  stock nbgrader     {stock:6.2f}   ({stock / own:.1f}x own cell time)")
    print(f"  course grader      {course:6.2f}   ({course / own:.1f}x own cell time; "
          f"{stock / course:.1f}x faster than stock nbgrader)")


def time_suite() -> tuple[float, int]:
    start = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "pytest", "tests", "lectures", "--nbval",
                                "-p", "no:cacheprovider", "-q"], cwd=REPO_ROOT,
                               env=os.environ | {"PYTHONWARNINGS": "ignore"})
    return time.perf_counter() - start, completed.returncode


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    students = int(sys.argv[sys.argv.index("--students") + 1]) if "--students" in sys.argv else 8
    args = [a for a in args if a != str(students)]
    print(f"machine: {os.cpu_count()} CPU cores; python {sys.version.split()[0]}")
    for assignment in args or ["01_nn_module"]:
        benchmark(assignment, students)
    if "--skip-suite" not in sys.argv:
        seconds, code = time_suite()
        print(f"\nfull test suite: {seconds / 60:.1f} min (pytest exit code {code})")


if __name__ == "__main__":
    main()
