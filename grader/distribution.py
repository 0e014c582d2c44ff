"""What the students of a graded course receive: ``python -m grader distribution OUTDIR``.

The repository holds the instructor's course: solutions with hidden tests, mistake banks,
notebook sources and the grading tools. Students of a graded course get a folder built from an
allow-list, never from the repository minus a deny-list:

    lectures/*.ipynb              the lectures, with their outputs
    assignments/<a>/              the released assignments (no solutions, no hidden tests)
    courselib/                    the code lectures and assignments share
    grader/__init__.py, checks.py, device.py
                                  the in-notebook runtime the assignments import
    grader/lab.py                 the concise Validate button (JupyterLab server extension)
    requirements.txt, environment.yml, Makefile, README.md,
    nbgrader_config.py, work/nbgrader_config.py, jupyter_server_config.py,
    jupyter-config/labconfig/page_config.json   (hides nbgrader's instructor-only lab plugins)

``tests/test_distribution.py`` proves that no solution line, hidden test or instructor file
gets in, and that the released notebooks import what they need from the folder alone.
"""
import json
import shutil
from pathlib import Path

from grader.config import COURSE_ID
from grader.paths import ASSIGNMENTS_DIR, LECTURES_DIR, REPO_ROOT

RUNTIME = ["__init__.py", "checks.py", "device.py", "lab.py"]
SKIP = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc", "*.nb.py")

NBGRADER_CONFIG = f'''\
# nbgrader settings for students: where the Assignment List fetches from and submits to.
# On the course's JupyterHub, COURSE_EXCHANGE names the shared exchange the instructor releases
# into; without it the exchange is a local folder (self-study: nothing is collected from it).
import os
from pathlib import Path

_here = Path(__file__).resolve().parent
_root = _here if (_here / "lectures").is_dir() else _here.parent  # also read from work/
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {COURSE_ID!r}
c.Exchange.root = os.environ.get("COURSE_EXCHANGE") or str(_root / ".course" / "exchange")
c.Exchange.assignment_dir = str(_root / "work")
if not os.environ.get("COURSE_EXCHANGE"):
    c.Exchange.cache = str(_root / ".course" / "cache")
'''

JUPYTER_SERVER_CONFIG = '''\
# JupyterLab for students: the concise Validate, no instructor tools, lecture 1 on opening.
c = get_config()  # noqa: F821
c.ServerApp.jpserver_extensions = {
    "nbgrader.server_extensions.validate_assignment": False,
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.course_list": False,
    "grader.lab": True,
}
# The instructor-only plugins of nbgrader's lab extension (Create Assignment, Course List) are
# disabled in jupyter-config/labconfig/page_config.json, on JUPYTER_CONFIG_PATH (see Makefile).
c.LabApp.default_url = "/lab/tree/work/lectures/lecture_01_nn_module.ipynb"
# Offline: no news feed, no update check, no prompt for them.
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
'''

PAGE_CONFIG = {"disabledExtensions": {"@jupyter/nbgrader:create-assignment": True,
                                      "@jupyter/nbgrader:course-list": True}}

MAKEFILE = '''\
# make course: set up the environment (first time), copy lectures and assignments into work/,
# open JupyterLab on lecture 1. Your work lives in work/ only.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
BIN := $(CURDIR)/.venv/bin
LAB_ARGS ?=  # more options for jupyter lab, e.g. --no-browser --port=8890
STAMP := .venv/.installed

.PHONY: course setup
setup: $(STAMP)

$(STAMP): requirements.txt
\t$(PYTHON) -m venv .venv
\t$(BIN)/pip install --disable-pip-version-check -r requirements.txt
\ttouch $(STAMP)

course: $(STAMP)
\tmkdir -p work/lectures
\tfor f in lectures/*.ipynb; do [ -e work/lectures/lecture_$$(basename $$f) ] || cp $$f work/lectures/lecture_$$(basename $$f); done
\tfor d in assignments/*/; do [ -e work/$$(basename $$d) ] || cp -r $$d work/$$(basename $$d); done
\tPATH="$(BIN):$$PATH" PYTHONPATH="$(CURDIR)" JUPYTER_CONFIG_PATH="$(CURDIR)/jupyter-config" \\
\t  jupyter lab --allow-root --ServerApp.root_dir=$(CURDIR) --config=jupyter_server_config.py $(LAB_ARGS)
'''

README = '''\
# PyTorch from the building blocks — student edition

```bash
make course
```

The first run creates `.venv/` with the pinned packages of `requirements.txt` (about 6 GB with
PyTorch; `conda env create -f environment.yml` works too, then run `make course` with that
environment's `python3` first on `PATH`). Each run copies what is new into `work/` and opens
JupyterLab on `work/lectures/lecture_01_nn_module.ipynb`. Work only in `work/`: `lectures/`
and `assignments/` stay as you received them, so an updated edition never overwrites your work.

1. Read each lecture top to bottom and run its cells (`work/lectures/lecture_*.ipynb`).
2. Open the assignment, `work/<assignment>/<assignment>.ipynb` (on the course's JupyterHub:
   *Nbgrader → Assignment List → Fetch*; it lands in the same place).
3. Replace each `raise NotImplementedError()` with your code. Each part states its contract;
   run its visible test cell: a failure says what was expected, what you returned and, when it
   recognises it, the likely mistake.
4. Press **Validate** in the notebook's toolbar: it runs everything and lists each failing
   part with its verdict.
5. Hand in: on the course's JupyterHub, **Submit** from *Nbgrader → Assignment List*, then
   later **Fetch Feedback** there; otherwise upload your `.ipynb` as your instructor says.
   Grading runs hidden tests too (other inputs, edge cases, gradients, the GPU).

`courselib/` is the code the lectures and assignments share; `grader/` is the small runtime the
assignments' tests call (`checks`, `device`) and the Validate button's server extension.
'''


def build(outdir: Path) -> list[Path]:
    """Write the student distribution into ``outdir`` (which must not exist); return its files."""
    outdir = Path(outdir)
    if outdir.exists():
        raise FileExistsError(f"{outdir} exists; choose a new folder")
    (outdir / "lectures").mkdir(parents=True)
    for lecture in sorted(LECTURES_DIR.glob("*.ipynb")):
        shutil.copyfile(lecture, outdir / "lectures" / lecture.name)
    for assignment in sorted(p for p in ASSIGNMENTS_DIR.iterdir() if p.is_dir()):
        shutil.copytree(assignment, outdir / "assignments" / assignment.name, ignore=SKIP)
    shutil.copytree(REPO_ROOT / "courselib", outdir / "courselib", ignore=SKIP)
    (outdir / "grader").mkdir()
    for name in RUNTIME:
        shutil.copyfile(REPO_ROOT / "grader" / name, outdir / "grader" / name)
    shutil.copyfile(REPO_ROOT / "requirements.txt", outdir / "requirements.txt")
    # The conda environment installs the same pins; there is no package to install in editable mode.
    environment = (REPO_ROOT / "environment.yml").read_text()
    (outdir / "environment.yml").write_text(
        "".join(line for line in environment.splitlines(keepends=True) if line.strip() != "- -e ."))
    (outdir / "nbgrader_config.py").write_text(NBGRADER_CONFIG)
    (outdir / "work").mkdir()
    (outdir / "work" / "nbgrader_config.py").write_text(NBGRADER_CONFIG)
    (outdir / "jupyter_server_config.py").write_text(JUPYTER_SERVER_CONFIG)
    (outdir / "jupyter-config" / "labconfig").mkdir(parents=True)
    (outdir / "jupyter-config" / "labconfig" / "page_config.json").write_text(
        json.dumps(PAGE_CONFIG, indent=2) + "\n")
    (outdir / "Makefile").write_text(MAKEFILE)
    (outdir / "README.md").write_text(README)
    return sorted(p for p in outdir.rglob("*") if p.is_file())
