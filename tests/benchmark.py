"""Benchmark: how long one autograde and the whole test suite take on this machine.

Prints figures; asserts nothing (speed is measured here, never in tests).
Run with `make benchmark`; `--skip-suite` times the autograde alone.
"""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader import notebooks
from grader.paths import REPO_ROOT, assignment_names
from grader.pipeline import GradingRun


def time_one_autograde(assignment: str) -> tuple[float, float, float]:
    """Seconds to prepare the course (generate_assignment), autograde one solution, make its feedback."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run = GradingRun(assignment, Path(tmp) / "course")
        prepared = time.perf_counter()
        run.submit("student", notebooks.filled_in_release(run.source_notebook, run.release_notebook))
        run.api.autograde(assignment, "student")
        graded = time.perf_counter()
        run.api.generate_feedback(assignment)
        done = time.perf_counter()
    return prepared - start, graded - prepared, done - graded


def time_suite() -> tuple[float, int]:
    start = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "pytest", "tests", "lectures", "--nbval",
                                "-p", "no:cacheprovider", "-q"], cwd=REPO_ROOT,
                               env=os.environ | {"PYTHONWARNINGS": "ignore"})
    return time.perf_counter() - start, completed.returncode


def main() -> None:
    print(f"machine: {os.cpu_count()} CPU cores; python {sys.version.split()[0]}")
    for assignment in assignment_names():
        prepare, autograde, feedback = time_one_autograde(assignment)
        print(f"{assignment}: generate_assignment {prepare:.1f} s, autograde of one submission "
              f"{autograde:.1f} s, generate_feedback {feedback:.1f} s")
    if "--skip-suite" not in sys.argv:
        seconds, code = time_suite()
        print(f"full test suite: {seconds / 60:.1f} min (pytest exit code {code})")


if __name__ == "__main__":
    main()
