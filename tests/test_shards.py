"""Grading on several machines: a class graded as 2 shards and merged equals one-machine grading.

The class is the solution, the blank release and two mistake-bank entries (grader.bank.build_class).
It is graded once whole and once as shards 0/2 and 1/2 (two `python -m grader autograde
--shard` processes at once, as two machines would), then `python -m grader merge` joins the
shards. The merged nbgrader gradebook must hold the same grades and comments, nbgrader's CSV
export the same rows, and each student the same feedback, as the one-machine run.
"""
import csv
import subprocess
import sys

import pytest

from grader import notebooks
from grader.bank import build_class, load_bank
from grader.paths import ASSIGNMENTS_DIR, REPO_ROOT, SOLUTIONS_DIR
from grader.shards import db_url, parse_shard, shard

ASSIGNMENT = "01_nn_module"


def cli(*args):
    return subprocess.Popen([sys.executable, "-m", "grader", *args], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(process, timeout=900):
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output
    return output


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("shards")
    source = notebooks.read(notebooks.notebook_path(SOLUTIONS_DIR / ASSIGNMENT))
    release = notebooks.read(notebooks.notebook_path(ASSIGNMENTS_DIR / ASSIGNMENT))
    wrong = [e for e in load_bank(ASSIGNMENT) if not e.expect_full_marks][:2]
    students = build_class(source, release, wrong)
    folder = tmp / "submissions"
    for name, (nb, _) in students.items():
        notebooks.write(nb, folder / f"{name}.ipynb")
    whole = cli("autograde", ASSIGNMENT, str(folder), "--workdir", str(tmp / "one-machine"))
    shards = [cli("autograde", ASSIGNMENT, str(folder), "--shard", f"{k}/2", "--workdir", str(tmp / f"shard{k}"))
              for k in range(2)]
    outputs = {"whole": finish(whole), "shards": [finish(p) for p in shards]}
    outputs["merge"] = finish(cli("merge", str(tmp / "merged"), str(tmp / "shard0"), str(tmp / "shard1")))
    return tmp, sorted(students), outputs


def gradebook_contents(folder):
    from nbgrader.api import Gradebook

    with Gradebook(db_url(folder), "pytorch-course") as gradebook:
        grades, comments, scores = {}, {}, {}
        for assignment in gradebook.assignments:
            for submission in assignment.submissions:
                key = (assignment.name, submission.student.id)
                scores[key] = (submission.score, submission.max_score, submission.timestamp)
                for nb in submission.notebooks:
                    for g in nb.grades:
                        grades[(*key, nb.name, g.name)] = (g.auto_score, g.manual_score, g.extra_credit,
                                                           g.max_score, g.needs_manual_grade)
                    for c in nb.comments:
                        comments[(*key, nb.name, c.name)] = (c.auto_comment, c.manual_comment)
        return grades, comments, scores


def csv_rows(path):
    return sorted(tuple(sorted(row.items())) for row in csv.DictReader(path.open()))


def test_shards_partition_the_sorted_ids():
    ids = ["eve", "ann", "dan", "bob", "cy"]
    assert shard(ids, "0/2") == ["ann", "cy", "eve"] and shard(ids, "1/2") == ["bob", "dan"]
    assert sorted(sum((shard(ids, f"{k}/3") for k in range(3)), [])) == sorted(ids)
    assert shard(ids, "4/5") == ["eve"] and shard(ids, "0/9") == ["ann"] and shard(ids, "8/9") == []
    for bad in ["2/2", "-1/2", "1", "a/b"]:
        with pytest.raises(ValueError):
            parse_shard(bad)


def test_each_shard_graded_only_its_students(graded):
    tmp, students, outputs = graded
    for k in range(2):
        first, second = gradebook_contents(tmp / f"shard{k}")[2], shard(students, f"{k}/2")
        assert sorted(student for _, student in first) == second
    assert "Merged 2 shard(s), 4 student(s)" in outputs["merge"]


def test_merged_gradebook_equals_one_machine_grading(graded):
    tmp, students, _ = graded
    merged, whole = gradebook_contents(tmp / "merged"), gradebook_contents(tmp / "one-machine")
    assert sorted(student for _, student in merged[2]) == students
    scores = {student: score for (_, student), (score, _, _) in merged[2].items()}
    assert scores["solution"] == 20 and scores["release"] == 0
    assert 0 < min(scores[s] for s in students if s not in ("solution", "release")) < 20
    assert merged == whole  # every grade, comment and score


def test_merged_csv_equals_one_machine_csv(graded):
    tmp, _, _ = graded
    merged, whole = csv_rows(tmp / "merged" / "grades.csv"), csv_rows(tmp / "one-machine" / "grades.csv")
    assert len(merged) == 4
    assert merged == whole


def test_merged_feedback_equals_one_machine_feedback(graded):
    tmp, students, _ = graded
    for student in students:
        name = f"{student}/{ASSIGNMENT}/{ASSIGNMENT}.html"
        merged = (tmp / "merged" / "feedback" / name).read_text()
        assert notebooks.visible_text(merged) == notebooks.visible_text(
            (tmp / "one-machine" / "feedback" / name).read_text())


def test_merge_refuses_a_student_graded_twice(graded, tmp_path):
    tmp, _, _ = graded
    done = subprocess.run([sys.executable, "-m", "grader", "merge", str(tmp_path / "twice"),
                           str(tmp / "shard0"), str(tmp / "shard0")],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "handed in 01_nn_module in more than one shard" in done.stdout


def test_slurm_array_task_runs_its_shard(tmp_path):
    """deploy/slurm/autograde.sbatch, run as Slurm runs array task 1 of 2, calls the grader with
    --shard 1/2 (an empty submissions folder stops it right after the arguments parse)."""
    import os

    env = {**os.environ, "SLURM_ARRAY_TASK_COUNT": "2", "SLURM_ARRAY_TASK_ID": "1",
           "SLURM_ARRAY_TASK_MIN": "0", "SLURM_CPUS_PER_TASK": "1", "COURSE_DIR": str(REPO_ROOT)}
    (tmp_path / "empty").mkdir()
    done = subprocess.run(["bash", str(REPO_ROOT / "deploy" / "slurm" / "autograde.sbatch"), ASSIGNMENT,
                           str(tmp_path / "empty"), str(tmp_path / "out")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "No submissions" in done.stdout, done.stdout + done.stderr
    env["SLURM_ARRAY_TASK_MIN"] = "1"
    done = subprocess.run(["bash", str(REPO_ROOT / "deploy" / "slurm" / "autograde.sbatch"), ASSIGNMENT,
                           str(tmp_path / "empty"), str(tmp_path / "out")], env=env, capture_output=True, text=True)
    assert done.returncode == 2 and "0-based" in done.stderr


def test_kubernetes_indexed_job_runs_one_shard_per_index():
    import yaml

    job = yaml.safe_load((REPO_ROOT / "deploy" / "kubernetes" / "autograde-job.yaml").read_text())
    spec = job["spec"]
    container = spec["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"] == int(env["SHARDS"])
    command = " ".join(container["args"])
    assert '--shard "$JOB_COMPLETION_INDEX/$SHARDS"' in command and "grader autograde" in command
    merge = yaml.safe_load((REPO_ROOT / "deploy" / "kubernetes" / "merge-job.yaml").read_text())
    assert "grader merge" in " ".join(merge["spec"]["template"]["spec"]["containers"][0]["args"])
