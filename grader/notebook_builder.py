"""Build course notebooks from their ``.nb.py`` sources (see grader.notebook_source).

Solution notebooks are written without outputs. Lecture notebooks are executed (seeded,
on the CPU) so that they are committed with the outputs nbval later reproduces.
"""
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from grader import notebook_source
from grader.paths import LECTURES_DIR, REPO_ROOT, SOLUTIONS_DIR

LECTURE_TIMEOUT_S = 600


def execute(nb, cwd: Path) -> None:
    NotebookClient(nb, timeout=LECTURE_TIMEOUT_S, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute()


def build_all(check: bool = False, force: bool = False, only: list[str] = ()) -> int:
    """Rebuild notebooks whose cells differ from their source (all of them with ``force``).

    ``only``: restrict to sources whose path contains one of these strings.
    """
    stale = []
    for source in notebook_source.sources(SOLUTIONS_DIR, LECTURES_DIR):
        if only and not any(part in str(source) for part in only):
            continue
        target = notebook_source.notebook_for(source)
        nb = notebook_source.parse(source.read_text())
        up_to_date = target.exists() and notebook_source.same_cells(nb, nbformat.read(str(target), 4))
        name = target.relative_to(REPO_ROOT)
        if check or (up_to_date and not force):
            if not up_to_date:
                stale.append(str(name))
            continue
        if LECTURES_DIR in target.parents:
            print(f"executing {name} ...")
            execute(nb, target.parent)
        nbformat.write(nb, str(target))
        print(f"wrote {name}")
    if stale:
        print("Notebooks out of date with their .nb.py sources (run `python -m grader notebooks`):\n  "
              + "\n  ".join(stale))
        return 1
    if check:
        print("every notebook matches its .nb.py source")
    return 0
