"""The course's grading harness, built on nbgrader.

What a student's kernel imports (the in-notebook runtime, shipped to students on its own by
``python -m grader distribution``): only these two modules, dependency-light.
    checks      assertions that tests call; failures say expected vs got and name the mistake;
                ``Clauses`` for credit per contract clause
    device      the device grading runs on (CUDA when present) and how tests move data there

What the instructor runs (never imported by a notebook):
    config      nbgrader settings for this repository's layout (one source of truth)
    engine/     the one execution engine for grading, the mistake bank and mutation analysis:
                sandboxed fork servers (bubblewrap), guarded test cells, nbgrader's Execute replaced
    pipeline    a grading run: generate, autograde (through the engine), feedback, export
    feedback    what feedback shows: verdicts, never hidden tests or a submission's active HTML
    bank        the mistake bank: wrong and alternative-correct submissions per assignment
    mutants     mutation analysis of an assignment's tests
    shards      grading a class as shards on several machines, and merging them
    course, lab, distribution   the live course, JupyterLab, and what students receive
    notebooks, notebook_source, notebook_builder   notebooks and their .nb.py text sources
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
