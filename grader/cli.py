"""``python -m grader <verb>``: the instructor's commands.

    notebooks [--check|--force] [NAME...]
                                 build solutions/ and lectures/ notebooks from their .nb.py sources
    release [--check]            regenerate assignments/ from solutions/ with nbgrader
    validate [ASSIGNMENT...]     solutions must score full marks, releases zero (exit 1 otherwise)
    autograde ASSIGNMENT DIR     grade a folder of submissions; print scores, write a CSV
    demo [ASSIGNMENT]            grade a class built from the solution and the mistake bank
    bank [ASSIGNMENT...]         grade the mistake banks and check every entry's expectation
    mutants [ASSIGNMENT...]      mutation analysis of the tests (score >= 90 % or exit 1)
    publish [--course DIR] [ASSIGNMENT...]
                                 register and release every assignment to the exchange, copy the
                                 lectures into work/lectures/ (what `make course` runs)
    distribution OUTDIR          build what students of a graded course receive (no solutions)
    autograde ... --shard K/N    grade one shard of the class (several machines: deploy/)
    merge OUT SHARD_DIR...       merge the shards' gradebooks, feedback and CSV into OUT
"""
import argparse
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

from grader import notebooks
from grader.engine import nbgrader_execute
from grader.engine.pool import SandboxUnavailable
from grader.paths import ASSIGNMENTS_DIR, REPO_ROOT, STUDENT_WORK_DIR, WORK_AREA, assignment_names


def _print_table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip())


def _grade_class(assignment: str, entries, workdir: Path):
    """Grade solution + release + ``entries``; return rows of (student, result, problems)."""
    from grader.bank import grade_class

    graded = grade_class(assignment, entries, workdir,
                         progress=lambda s: print(f"  autograding {s} ...", file=sys.stderr))
    return graded.run, [(name, graded.results[name], graded.problems(name)) for name in graded.results]


def _score(result) -> str:
    return f"{result.score:g}/{result.max_score:g}"


def _lost(result) -> str:
    """The test cells that lost points, short: "-" for none, "all" for every one."""
    if not result.lost_cells:
        return "-"
    if len(result.lost_cells) == len(result.cells):
        return "all"
    return ", ".join(cell.removeprefix("test_") for cell in result.lost_cells)


def cmd_notebooks(args) -> int:
    from grader.notebook_builder import build_all

    return build_all(check=args.check, force=args.force, only=args.only)


def _differing_files(generated: Path, committed: Path) -> list[str]:
    """Files (relative names) that differ between two folders or exist in only one of them."""
    def files(folder):
        return {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()} \
            if folder.exists() else {}
    new, old = files(generated), files(committed)
    return sorted(name for name in new.keys() | old.keys()
                  if name not in new or name not in old or new[name].read_bytes() != old[name].read_bytes())


def cmd_release(args) -> int:
    from grader.pipeline import GradingRun

    stale = []
    for assignment in assignment_names():
        with tempfile.TemporaryDirectory() as tmp:
            generated = GradingRun(assignment, Path(tmp) / "course").release_dir
            target = ASSIGNMENTS_DIR / assignment
            if args.check:
                stale += [f"assignments/{assignment}/{name}" for name in _differing_files(generated, target)]
            else:
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(generated, target)
                print(f"wrote assignments/{assignment}/")
    extra = {p.name for p in ASSIGNMENTS_DIR.iterdir() if p.is_dir()} - set(assignment_names())
    stale += [f"assignments/{name} (no source in solutions/)" for name in sorted(extra)]
    if stale:
        print("Out of sync with solutions/ (run `python -m grader release`):\n  " + "\n  ".join(stale))
        return 1
    if args.check:
        print("assignments/ is in sync with solutions/")
    return 0


def cmd_validate(args) -> int:
    failures = 0
    for assignment in args.assignments or assignment_names():
        with tempfile.TemporaryDirectory() as tmp:
            _, rows = _grade_class(assignment, [], Path(tmp) / "course")
        for name, result, problems in rows:
            status = "ok" if not problems else "FAIL: " + "; ".join(problems)
            print(f"{assignment}: {name} scored {_score(result)} -> {status}")
            failures += bool(problems)
    return 1 if failures else 0


def _submissions_in(folder: Path) -> dict[str, Path]:
    """Student id -> notebook, from ``DIR/<student>.ipynb`` or ``DIR/<student>/<any>.ipynb``."""
    found = {p.stem: p for p in folder.glob("*.ipynb")}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        candidates = sorted(sub.rglob("*.ipynb"))
        candidates = [c for c in candidates if ".ipynb_checkpoints" not in c.parts]
        if len(candidates) == 1:
            found[sub.name] = candidates[0]
        elif candidates:
            raise SystemExit(f"{sub}: expected one notebook, found {len(candidates)}")
    return dict(sorted(found.items()))


def cmd_autograde(args) -> int:
    from grader.pipeline import GradingRun

    folder = Path(args.submissions)
    submissions = _submissions_in(folder)
    if not submissions:
        print(f"No submissions (*.ipynb or <student>/*.ipynb) in {folder}")
        return 1
    if args.shard:
        from grader.shards import parse_shard, shard

        chosen = set(shard(submissions, args.shard))
        submissions = {student: path for student, path in submissions.items() if student in chosen}
        k, n = parse_shard(args.shard)
        print(f"Shard {k}/{n}: {len(submissions)} student(s): {', '.join(submissions) or 'none'}")
    default = WORK_AREA / "runs" / args.assignment
    if args.shard:
        default = default / "shard-{}-of-{}".format(*parse_shard(args.shard))
    workdir = Path(args.workdir or default)
    if args.unsafe_no_sandbox:
        os.environ[nbgrader_execute.UNSAFE_ENV] = "1"
    run = GradingRun(args.assignment, workdir)
    for student, path in submissions.items():
        run.submit(student, path)
    try:
        results = run.grade(progress=lambda s: print(f"  recording {s} ...", file=sys.stderr), jobs=args.jobs)
    except SandboxUnavailable as error:
        print(f"Not graded: {error}")
        return 2
    print(f"Ran in: {nbgrader_execute.shared_engine().description}\n")
    rows = []
    for student, result in results.items():
        lost = _lost(result)
        rows.append([student, _score(result), lost if not result.error else "NOT GRADED: " + result.error.splitlines()[-1],
                     _review(result)])
    _print_table(rows, ["student", "score", "tests that lost points", "review"])
    csv_path = run.export_csv(Path(args.csv) if args.csv else workdir / "grades.csv")
    print(f"\nGrades CSV: {csv_path}\nFeedback:   {workdir / 'feedback'}/<student>/{args.assignment}/")
    return 0


def _review(result) -> str:
    """Why an instructor should look at a submission, short ("-" when nothing calls for it)."""
    if not result.flags:
        return "-"
    more = f" (+{len(result.flags) - 1} more)" if len(result.flags) > 1 else ""
    return "FLAGGED: " + result.flags[0] + more


def cmd_demo(args) -> int:
    from grader.bank import load_bank

    assignment = args.assignment or assignment_names()[0]
    workdir = WORK_AREA / "demo" / assignment
    print(f"Grading a demo class for {assignment}: the solution, the blank release and "
          f"every mistake-bank entry, with nbgrader autograde.\n")
    run, rows = _grade_class(assignment, load_bank(assignment), workdir)
    table = [[name, _score(result), _lost(result),
              "as expected" if not problems else "UNEXPECTED: " + "; ".join(problems)]
             for name, result, problems in rows]
    _print_table(table, ["student", "score", "tests that lost points", "verdict"])
    csv_path = run.export_csv(workdir / "grades.csv")
    print(f"\nGradebook: {workdir / 'gradebook.db'}\nGrades CSV: {csv_path}")
    print(f"Feedback HTML: {workdir / 'feedback'}/<student>/{assignment}/{run.notebook_name.replace('.ipynb', '.html')}")
    return 1 if any(problems for _, _, problems in rows) else 0


def cmd_bank(args) -> int:
    from grader.bank import load_bank

    failures = 0
    for assignment in args.assignments or assignment_names():
        with tempfile.TemporaryDirectory() as tmp:
            _, rows = _grade_class(assignment, load_bank(assignment), Path(tmp) / "course")
        for name, result, problems in rows:
            print(f"{assignment}: {name:32s} {_score(result):>8s}  {'ok' if not problems else 'FAIL: ' + '; '.join(problems)}")
            failures += bool(problems)
    return 1 if failures else 0


def cmd_mutants(args) -> int:
    """Mutation analysis of each assignment's tests; exit 1 when one scores under 90 %."""
    from grader.mutants import REQUIRED_SCORE, run_mutants

    failures = 0
    for assignment in args.assignments or assignment_names():
        report = run_mutants(assignment, jobs=args.jobs, limit=args.limit,
                             sandboxed=not args.unsafe_no_sandbox)
        for mutant in report.survived:
            print(f"SURVIVED {mutant.id}\n{mutant.diff}")
        for mutant, reason in report.equivalent:
            print(f"equivalent {mutant.id}: {reason}")
        for mutant_id in report.stale_equivalences:
            print(f"note: {mutant_id} is recorded as equivalent but no longer survives (remove it)")
        print(report.summary() + ("" if report.score >= REQUIRED_SCORE else f"  BELOW {REQUIRED_SCORE:.0%}"))
        failures += report.score < REQUIRED_SCORE
    return 1 if failures else 0


def cmd_publish(args) -> int:
    """Register every assignment's notebooks, release them to the exchange, copy the lectures."""
    from grader.course import publish

    return publish(Path(args.course) if args.course else REPO_ROOT, args.assignments or None)


def cmd_merge(args) -> int:
    """Merge the gradebooks, feedback and autograded notebooks of autograde shards."""
    from grader.shards import MergeError, merge

    try:
        merged = merge(Path(args.out), [Path(s) for s in args.shards], args.csv)
    except MergeError as error:
        print(f"Not merged: {error}")
        return 1
    print(f"Merged {len(args.shards)} shard(s), {len(merged.students)} student(s)\n"
          f"Gradebook:  {merged.gradebook}\nGrades CSV: {merged.csv}\n"
          f"Feedback:   {Path(args.out) / 'feedback'}/<student>/<assignment>/")
    return 0


def cmd_distribution(args) -> int:
    """Build what the students of a graded course receive (no solutions, hidden tests or tools)."""
    from grader.distribution import build

    files = build(Path(args.outdir))
    print(f"wrote {len(files)} files to {args.outdir} (students run `make course` there)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = parser.add_subparsers(dest="verb", required=True)
    p = verbs.add_parser("notebooks", help="build notebooks from their .nb.py sources")
    p.add_argument("--check", action="store_true", help="fail if a notebook is out of date")
    p.add_argument("--force", action="store_true", help="rebuild (and re-execute) every notebook")
    p.add_argument("only", nargs="*", help="only sources whose path contains one of these, e.g. 01_")
    p.set_defaults(run=cmd_notebooks)
    p = verbs.add_parser("release", help="regenerate assignments/ from solutions/")
    p.add_argument("--check", action="store_true", help="fail if assignments/ is out of sync")
    p.set_defaults(run=cmd_release)
    p = verbs.add_parser("validate", help="solutions score full marks, releases zero")
    p.add_argument("assignments", nargs="*")
    p.set_defaults(run=cmd_validate)
    p = verbs.add_parser("autograde", help="grade a folder of submissions")
    p.add_argument("assignment")
    p.add_argument("submissions", help="folder of <student>.ipynb or <student>/<notebook>.ipynb")
    p.add_argument("--csv", help="where to write the grades CSV (default: in the work folder)")
    p.add_argument("--workdir", help=f"nbgrader work folder (default: {WORK_AREA}/runs/ASSIGNMENT)")
    p.add_argument("--jobs", type=int, default=None, help="notebooks run at once (default: the CPU cores)")
    p.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="grade without a sandbox where none can run (only for submissions you trust)")
    p.add_argument("--shard", metavar="K/N",
                   help="grade only shard K (0-based) of N: the students at positions K, K+N, ... "
                        "of the sorted ids (merge the shards with `merge`)")
    p.set_defaults(run=cmd_autograde)
    p = verbs.add_parser("merge", help="merge shards' gradebooks and feedback into one")
    p.add_argument("out", help="a new folder for the merged gradebook.db, grades.csv and feedback")
    p.add_argument("shards", nargs="+", help="the shards' work folders (autograde --workdir)")
    p.add_argument("--csv", help="where to write the merged grades CSV (default: OUT/grades.csv)")
    p.set_defaults(run=cmd_merge)
    p = verbs.add_parser("demo", help="grade a demo class from the solution and the mistake bank")
    p.add_argument("assignment", nargs="?")
    p.set_defaults(run=cmd_demo)
    p = verbs.add_parser("bank", help="check every mistake-bank entry's expectation")
    p.add_argument("assignments", nargs="*")
    p.set_defaults(run=cmd_bank)
    p = verbs.add_parser("mutants", help="mutation analysis: do the tests catch small changes of the solution?")
    p.add_argument("assignments", nargs="*")
    p.add_argument("--jobs", type=int, default=None, help="parallel workers (default: the CPU cores)")
    p.add_argument("--limit", type=int, default=None, help="only the first N mutants (a quick look)")
    p.add_argument("--unsafe-no-sandbox", action="store_true", help="run mutants without the sandbox")
    p.set_defaults(run=cmd_mutants)
    p = verbs.add_parser("publish", help="release all assignments to the local exchange")
    p.add_argument("--course", help="the course folder (default: this repository)")
    p.add_argument("assignments", nargs="*", help="only these (default: every assignment)")
    p.set_defaults(run=cmd_publish)
    p = verbs.add_parser("distribution", help="build the student distribution of a graded course")
    p.add_argument("outdir", help="a new folder")
    p.set_defaults(run=cmd_distribution)
    args = parser.parse_args(argv)
    # nbgrader 0.9.6's own SQLAlchemy usage warns on every autograde; it is harmless noise here.
    warnings.filterwarnings("ignore", module="nbgrader.api")
    return args.run(args)
