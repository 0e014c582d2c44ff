"""The instructor's course on one machine: what ``python -m grader publish`` (run by ``make course``) sets up.

A course is a folder holding ``solutions/``, ``assignments/``, ``lectures/`` and
``nbgrader_config.py`` (the repository, or a copy of it). Publishing it

* registers every assignment in the gradebook exactly as ``nbgrader generate_assignment``
  does (its notebooks, grade and solution cells: what autograde and Formgrader need), by
  running generate_assignment into nbgrader's release folder ``.course/release/``, ignored by
  git, and checks that this release is byte-identical to the committed ``assignments/``;
* releases every assignment into the course's exchange (``.course/exchange/``, or the shared
  one that ``COURSE_EXCHANGE`` names), where JupyterLab's *Assignment List* finds it;
* gives the student their own copies of the lectures in ``work/lectures/`` (ignored by git),
  so running a lecture never modifies a tracked file and ``git pull`` never conflicts.

Nothing here writes to a committed file.
"""
import filecmp
import hashlib
import json
import shutil
from pathlib import Path

from grader.paths import REPO_ROOT

# Lecture copies carry a prefix so a lecture's tab and its assignment's tab differ
# (lectures/01_nn_module.ipynb and work/01_nn_module/01_nn_module.ipynb share a file name).
LECTURE_COPY_PREFIX = "lecture_"


def work_area(root: Path) -> Path:
    return Path(root) / ".course"


def student_dir(root: Path) -> Path:
    return Path(root) / "work"


def lecture_copy(root: Path, lecture: str) -> Path:
    """Where the student's copy of ``lectures/<lecture>`` lives."""
    return student_dir(root) / "lectures" / f"{LECTURE_COPY_PREFIX}{lecture}"


def first_lecture_url(root: Path = REPO_ROOT) -> str:
    """The JupyterLab path (below the server's root) that opens the student's copy of lecture 1."""
    first = sorted(p.name for p in (Path(root) / "lectures").glob("*.ipynb"))[0]
    return "/lab/tree/" + lecture_copy(root, first).relative_to(root).as_posix()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_lectures(root: Path = REPO_ROOT) -> list[str]:
    """Copy each lecture into ``work/lectures/``; refresh a copy whose lecture changed upstream.

    A refreshed copy that the student had modified is kept beside it as ``*.previous.ipynb``.
    Returns one line per file written.
    """
    root = Path(root)
    target = student_dir(root) / "lectures"
    target.mkdir(parents=True, exist_ok=True)
    manifest_path = target / ".copied-from.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    written = []
    for lecture in sorted((root / "lectures").glob("*.ipynb")):
        copy = lecture_copy(root, lecture.name)
        known = manifest.get(lecture.name, {})
        if copy.exists() and known.get("lecture") == _sha(lecture):
            continue  # up to date (the student may have run or edited it: theirs to keep)
        if copy.exists() and known.get("copy") != _sha(copy):
            previous = copy.with_suffix(".previous.ipynb")
            copy.replace(previous)
            written.append(f"kept your previous copy as {previous.relative_to(root)}")
        shutil.copyfile(lecture, copy)
        manifest[lecture.name] = {"lecture": _sha(lecture), "copy": _sha(copy)}
        written.append(f"copied {lecture.relative_to(root)} -> {copy.relative_to(root)}")
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return written


def _student_nbgrader_config(root: Path) -> str:
    return (
        "# Written by `python -m grader publish`: JupyterLab's Assignment List reloads nbgrader's\n"
        "# settings from the folder it fetches into, and from there only; this points it at the course.\n"
        "from pathlib import Path\n\n"
        "from grader.config import course_config\n\n"
        f"_root = Path({str(Path(root).resolve())!r})\n"
        "c = get_config()  # noqa: F821\n"
        "c.merge(course_config(_root, work=_root / '.course'))\n"
    )


def _differing(generated: Path, committed: Path) -> list[str]:
    comparison = filecmp.dircmp(generated, committed, ignore=["__pycache__", ".ipynb_checkpoints"])
    found = []

    def walk(cmp, prefix=""):
        found.extend(prefix + name for name in cmp.left_only + cmp.right_only + cmp.diff_files)
        for name, sub in cmp.subdirs.items():
            walk(sub, prefix + name + "/")
    walk(comparison)
    # dircmp compares shallowly (size and mtime) first; confirm by content.
    return sorted(name for name in found
                  if not ((generated / name).is_file() and (committed / name).is_file()
                          and (generated / name).read_bytes() == (committed / name).read_bytes()))


def publish(root: Path = REPO_ROOT, assignments: list[str] | None = None, log=print) -> int:
    """Register, release and hand out the course at ``root``; 0 on success."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from grader.config import course_config

    root = Path(root).resolve()
    config = course_config(root, work=work_area(root))
    coursedir = CourseDirectory(config=config)
    Path(config.Exchange.root).mkdir(parents=True, exist_ok=True)
    students = student_dir(root)
    students.mkdir(exist_ok=True)
    (students / "nbgrader_config.py").write_text(_student_nbgrader_config(root))
    api = NbGraderAPI(coursedir=coursedir, config=config)
    names = assignments or sorted(p.name for p in (root / "solutions").iterdir()
                                  if p.is_dir() and any(p.glob("*.ipynb")))
    for assignment in names:
        if not (root / "assignments" / assignment).is_dir():
            log(f"skipped {assignment}: not released yet (no assignments/{assignment}/; "
                "`python -m grader release` writes it)")
            continue
        # generate_assignment records the notebooks and their grade cells in the gradebook
        # (autograde needs them), into the ignored release folder, never assignments/.
        outcome = api.generate_assignment(assignment, force=True)
        if not outcome["success"]:
            log(outcome.get("log", ""), outcome.get("error", ""))
            return 1
        generated = Path(coursedir.format_path(coursedir.release_directory, ".", assignment))
        stale = _differing(generated, root / "assignments" / assignment)
        if stale:
            log(f"assignments/{assignment} is out of sync with solutions/ ({', '.join(stale)}): "
                "run `python -m grader release`")
            return 1
        api.unrelease(assignment)
        outcome = api.release_assignment(assignment)
        if not outcome["success"]:
            log(outcome.get("log", ""), outcome.get("error", ""))
            return 1
        log(f"released {assignment} to {config.Exchange.root}")
    for line in copy_lectures(root):
        log(line)
    return 0
