"""Grading beyond one machine: shards of a class, graded apart, merged into one gradebook.

    python -m grader autograde ASSIGNMENT DIR --shard K/N --workdir SHARD_DIR   (on each machine)
    python -m grader merge OUT SHARD_DIR...                                       (once, at the end)

Shard ``K/N`` (``0 <= K < N``, 0-based like a Kubernetes Indexed Job's completion index and a
Slurm array started at 0) holds the students at positions K, K+N, K+2N, ... of the sorted
student ids: every student is in exactly one shard, whatever machine grades it, and shards
stay the same size within one student.

Each shard is an ordinary isolated grading run (its own nbgrader gradebook, ``gradebook.db``,
autograded notebooks and feedback). ``merge`` copies every submission with its grades and
comments into one gradebook through nbgrader's own API, matching cells by name (each shard's
generate_assignment gives cells ids of its own), copies the feedback and autograded folders,
and exports nbgrader's CSV: the same gradebook and CSV as grading the whole class on one
machine. deploy/ has a Slurm array job and a Kubernetes Indexed Job that do this.
"""
import csv
import shutil
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import CsvExportPlugin

from grader.config import COURSE_ID


class MergeError(RuntimeError):
    pass


def parse_shard(spec: str) -> tuple[int, int]:
    """"K/N" -> (K, N), with 0 <= K < N."""
    try:
        k, n = (int(part) for part in spec.split("/"))
    except ValueError:
        raise ValueError(f"--shard {spec!r}: expected K/N, e.g. 0/4") from None
    if not 0 <= k < n:
        raise ValueError(f"--shard {spec!r}: K must be in 0..N-1")
    return k, n


def shard(students, spec: str) -> list[str]:
    """The students of shard ``spec`` ("K/N"): positions K, K+N, ... of the sorted ids."""
    k, n = parse_shard(spec)
    return sorted(students)[k::n]


def db_url(folder: Path) -> str:
    return f"sqlite:///{Path(folder).resolve() / 'gradebook.db'}"


def _structure(gradebook: Gradebook) -> dict:
    """Assignment -> notebook -> cell -> max score: what must agree between shards."""
    return {a.name: {nb.name: {c.name: c.max_score for c in nb.grade_cells}
                     for nb in a.notebooks}
            for a in gradebook.assignments}


@dataclass
class Merged:
    gradebook: Path
    csv: Path
    students: list[str]


def _copy_submission(source, merged: Gradebook, assignment: str) -> None:
    student = source.student
    merged.update_or_create_student(student.id, first_name=student.first_name,
                                    last_name=student.last_name, email=student.email,
                                    lms_user_id=student.lms_user_id)
    try:
        merged.find_submission(assignment, student.id)
    except MissingEntry:
        pass
    else:
        raise MergeError(f"{student.id!r} handed in {assignment} in more than one shard")
    extra = {"timestamp": source.timestamp} if source.timestamp is not None else {}
    if source.extension is not None:
        extra["extension"] = source.extension
    target = merged.add_submission(assignment, student.id, **extra)
    grades = {(nb.name, g.name): g for nb in target.notebooks for g in nb.grades}
    comments = {(nb.name, c.name): c for nb in target.notebooks for c in nb.comments}
    flags = {nb.name: nb for nb in target.notebooks}
    for nb in source.notebooks:
        flags[nb.name].flagged = nb.flagged
        for grade in nb.grades:
            copy = grades[(nb.name, grade.name)]
            copy.auto_score, copy.manual_score = grade.auto_score, grade.manual_score
            copy.extra_credit, copy.needs_manual_grade = grade.extra_credit, grade.needs_manual_grade
        for comment in nb.comments:
            copy = comments[(nb.name, comment.name)]
            copy.auto_comment, copy.manual_comment = comment.auto_comment, comment.manual_comment
    merged.db.commit()


def _complete_csv(path: Path, shard_csvs: list[Path], order: dict[str, int]) -> None:
    """Give nbgrader's export of the merged gradebook the columns that the shards' CSVs add to
    nbgrader's (e.g. the pipeline's ``review``), and one row order: assignment, then student id."""
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        columns, rows = list(reader.fieldnames or []), list(reader)
    extra: dict[tuple[str, str], dict] = {}
    for shard_csv in shard_csvs:
        if not shard_csv.is_file():
            continue
        with open(shard_csv, newline="") as f:
            reader = csv.DictReader(f)
            columns += [c for c in reader.fieldnames or [] if c not in columns]
            for row in reader:
                # A shard's CSV lists every student of its gradebook; keep the row of the shard
                # that graded the submission (the one with a timestamp or a score), else the first.
                key = (row["assignment"], row["student_id"])
                if key not in extra or row.get("timestamp") or row.get("raw_score") not in ("", "0.0"):
                    extra[key] = row
    for row in rows:
        shard_row = extra.get((row["assignment"], row["student_id"]), {})
        for column in columns:
            row.setdefault(column, shard_row.get(column, ""))
    rows.sort(key=lambda r: (order.get(r["assignment"], len(order)), r["student_id"]))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def merge(out: Path, shard_dirs: list[Path], csv_path: Path | None = None) -> Merged:
    """Merge the shards' gradebooks, feedback and autograded notebooks into ``out``."""
    out = Path(out)
    shard_dirs = [Path(d) for d in shard_dirs]
    missing = [str(d) for d in shard_dirs if not (d / "gradebook.db").is_file()]
    if missing:
        raise MergeError(f"no gradebook.db in {', '.join(missing)}")
    if (out / "gradebook.db").exists():
        raise MergeError(f"{out / 'gradebook.db'} exists; merge into a new folder")
    out.mkdir(parents=True, exist_ok=True)
    # The first shard's gradebook holds the assignments, notebooks and cells (and its own
    # submissions); every other shard's submissions are added to it.
    shutil.copyfile(shard_dirs[0] / "gradebook.db", out / "gradebook.db")
    with Gradebook(db_url(out), COURSE_ID) as merged:
        expected = _structure(merged)
        for shard_dir in shard_dirs[1:]:
            with Gradebook(db_url(shard_dir), COURSE_ID) as source:
                if _structure(source) != expected:
                    raise MergeError(f"{shard_dir} graded a different version of the assignments "
                                     f"than {shard_dirs[0]}")
                for assignment in source.assignments:
                    for submission in assignment.submissions:
                        _copy_submission(submission, merged, assignment.name)
        students = sorted(s.id for s in merged.students)
        csv_path = Path(csv_path) if csv_path else out / "grades.csv"
        exporter = CsvExportPlugin()
        exporter.to = str(csv_path)
        exporter.export(merged)
        order = {a.name: i for i, a in enumerate(merged.assignments)}
    _complete_csv(csv_path, [d / "grades.csv" for d in shard_dirs], order)
    for shard_dir in shard_dirs:
        for kind in ["autograded", "feedback"]:
            if (shard_dir / kind).is_dir():
                shutil.copytree(shard_dir / kind, out / kind, dirs_exist_ok=True)
    return Merged(out / "gradebook.db", csv_path, students)
