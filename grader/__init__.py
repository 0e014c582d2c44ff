"""The course's grading harness, built on nbgrader.

Modules:
    config      nbgrader settings for this repository's layout (one source of truth)
    checks      assertions that tests call; failures say expected vs got and name the mistake
    device      the device grading runs on (CUDA when present) and how tests move data there
    feedback    the preprocessor that keeps hidden-test code out of feedback
    notebooks   reading solution/release notebooks and building student submissions
    pipeline    a grading run: generate, autograde, feedback and export with nbgrader's API
    bank        the mistake bank: wrong and alternative-correct submissions per assignment
    cli         ``python -m grader <verb>`` for instructors
"""
import os
import sys
from pathlib import Path

# nbgrader runs the `alembic` script of its own environment by name; put this environment's
# scripts on PATH so grading works without activating the virtual environment first.
_scripts = str(Path(sys.executable).parent)
if _scripts not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _scripts + os.pathsep + os.environ.get("PATH", "")
