"""The grading engine on small notebooks: what a test cell's outputs are, what the sandbox allows.

One sandboxed engine runs every notebook of this file (grader/engine). Each test builds the few
cells it needs and checks the outputs nbgrader will score.
"""
import json

import nbformat
import pytest

from grader.engine import sandbox
from grader.engine.executor import WARNING_PREFIX
from grader.engine.jobs import Job, apply_outcome
from grader.engine.pool import Engine, SandboxUnavailable
from grader.paths import REPO_ROOT

pytestmark = pytest.mark.skipif(sandbox.sandbox_problem() is not None,
                                reason=f"no sandbox here: {sandbox.sandbox_problem()}")
SETUP = "from grader.checks import Clauses, check, check_equal, student_call"


@pytest.fixture(scope="module")
def engine():
    with Engine(jobs=1, limits=sandbox.Limits(cell_timeout_s=5)) as engine:
        yield engine


def run(engine, *cells):
    """Run (kind, source) cells after the setup cell; the outputs of each, without the setup's."""
    job = Job([{"kind": "setup", "source": SETUP}] + [{"kind": k, "source": s} for k, s in cells])
    outcome = engine.run(job)
    return outcome, [r["outputs"] for r in outcome.results[1:]]


def kinds(outputs):
    return [(o["output_type"], o.get("name") or o.get("ename")) for o in outputs]


def test_a_warning_in_a_test_cell_is_a_note_on_stdout_not_stderr(engine):
    _, (outputs,) = run(engine, ("test", "import warnings\nwarnings.warn('old API')\n"
                                          "import sys\nprint('to stderr', file=sys.stderr)\ncheck(True, 'ok')"))
    assert all(o["output_type"] == "stream" and o["name"] == "stdout" for o in outputs), outputs
    text = "".join(o["text"] for o in outputs)
    assert f"{WARNING_PREFIX}UserWarning: old API" in text and f"{WARNING_PREFIX}to stderr" in text


def test_a_warning_repeated_by_every_call_is_one_note(engine):
    student = "import warnings\ndef noisy(x):\n    warnings.warn('slow path')\n    return x\n"
    _, (_, outputs) = run(engine, ("code", student),
                          # The oracle silencing its own warnings resets Python's once-per-line registry.
                          ("test", "for i in range(25):\n    noisy(i)\n    with warnings.catch_warnings():\n"
                                   "        warnings.simplefilter('ignore')\n"
                                   "warnings.warn('another')\ncheck(True, 'ok')"))
    text = "".join(o["text"] for o in outputs)
    assert text.count("slow path") == 1 and text.count("another") == 1, text


def test_stderr_of_an_answer_cell_stays_stderr(engine):
    _, (outputs,) = run(engine, ("code", "import sys\nprint('answer says', file=sys.stderr)"))
    assert kinds(outputs) == [("stream", "stderr")]


def test_a_failed_check_is_an_error_with_only_its_verdict(engine):
    _, (outputs,) = run(engine, ("test", "check_equal(2, 3, 'count')"))
    assert kinds(outputs) == [("error", "CheckFailed")]
    assert outputs[0]["traceback"] == ["\x1b[0;31mCheckFailed\x1b[0m: count: expected 3, got 2."]


def test_only_a_verdict_is_a_test_cells_score(engine):
    partial = ("clauses = Clauses(points=2)\nwith clauses.clause('a', points=1):\n    check(False, 'broken')\n"
               "with clauses.clause('b', points=1):\n    check(True, 'fine')\nclauses.verdict()")
    _, (scored, student_number) = run(engine, ("test", partial), ("test", "def f():\n    return 0.0\nf()"))
    results = [o for o in scored if o["output_type"] == "execute_result"]
    assert [r["data"]["text/plain"] for r in results] == ["1.0"]
    assert student_number == []  # a number on a test cell's last line is not a score


def test_hidden_test_cells_leave_nothing_behind_for_later_cells(engine):
    _, (_, later) = run(engine, ("hidden_test", "secret_input = [1, 2, 3]\ndef _hidden_helper():\n    pass"),
                        ("code", "print('secret_input' in globals(), '_hidden_helper' in globals())"))
    assert later[0]["text"] == "False False\n"


def test_a_hidden_tests_helper_never_replaces_the_students_helper_of_the_same_name(engine):
    # Found by a blind check: a student's own `_counts`, called by their function, was replaced by
    # the hidden test's `_counts` while the test ran, and correct work lost its points.
    student = "def _counts(x):\n    return x + 1\n\ndef answer(x):\n    return _counts(x) * 10\n"
    hidden = ("### BEGIN HIDDEN TESTS\n"
              "before = _counts(1)  # the test reads the notebook's value until it rebinds the name\n"
              "def _counts(x):\n    return -1\n"
              "def uses_helper():\n    return _counts(0)\n"
              "check_equal(before, 2, 'the student helper, read before the test rebinds it')\n"
              "check_equal(uses_helper(), -1, 'the test helper, seen by the test')\n"
              "check_equal(student_call('answer(1)', answer, 1), 20, 'answer(1)')\n"
              "### END HIDDEN TESTS")
    _, (_, outputs, after) = run(engine, ("code", student), ("hidden_test", hidden),
                                 ("code", "print(answer(1), _counts(1))"))
    assert kinds(outputs) == [], outputs
    assert after[0]["text"] == "20 2\n"


def test_keep_apart_renames_module_names_only():
    import ast

    from grader.engine.names import keep_apart

    tree = ast.parse("import helper\nhelper = 1\ndef f(helper):\n    return helper\n"
                     "def g():\n    global helper\n    helper = 2\n"
                     "h = [helper for helper in range(3)]\nk = dict(helper=helper)")
    assert keep_apart(tree, {"helper"}, "t") == {"helper": "_hidden_helper_t"}
    assert ast.unparse(tree) == ("import helper as _hidden_helper_t\n_hidden_helper_t = 1\n\n"
                                 "def f(helper):\n    return helper\n\n"
                                 "def g():\n    global _hidden_helper_t\n    _hidden_helper_t = 2\n"
                                 "h = [helper for helper in range(3)]\nk = dict(helper=_hidden_helper_t)")


def test_a_runaway_cell_times_out_and_the_next_cell_still_runs(engine):
    _, (looping, after) = run(engine, ("code", "while True:\n    pass"), ("test", "check(True, 'ok')"))
    assert kinds(looping) == [("error", "CellTimeoutError")]
    assert after == []


def test_a_crash_costs_the_cells_from_there_on(engine):
    outcome, ran = run(engine, ("test", "check(True, 'ok')"), ("code", "import os\nos._exit(3)"),
                       ("test", "check(True, 'never runs')"))
    assert ran == [[]]  # the first test cell passed; nothing came back from the crashing one
    assert outcome.status == "crashed" and "status 3" in outcome.detail
    nb = nbformat.v4.new_notebook()
    for source, meta in [(SETUP, {"locked": True}), ("check(True, 'ok')", {"grade": True, "points": 1}),
                         ("import os\nos._exit(3)", {"solution": True}), ("check(True, 'x')", {"grade": True, "points": 1})]:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["nbgrader"] = meta
        nb.cells.append(cell)
    apply_outcome(nb, outcome)
    assert nb.cells[1].outputs == []
    assert [o.ename for o in nb.cells[2].outputs] == ["DeadKernelError"]
    assert [o.ename for o in nb.cells[3].outputs] == ["NotRun"]


def test_huge_output_is_truncated(engine):
    _, (outputs,) = run(engine, ("code", "for i in range(100_000):\n    print('spam', i)"))
    text = "".join(o["text"] for o in outputs)
    assert len(text) < 25_000 and "output truncated" in text


def test_forged_results_on_the_channel_are_caught(engine):
    forged = json.dumps({"outputs": [], "execution_count": 1, "tamper": []})
    outcome, _ = run(engine, ("code", f"import os\nfor fd in range(3, 40):\n    try:\n"
                                      f"        os.write(fd, b'{forged}\\n' * 5)\n    except OSError:\n        pass"),
                     ("test", "check(False, 'must fail')"))
    assert outcome.status == "tampered"


def test_replaced_checks_are_restored_and_reported(engine):
    outcome, (_, test) = run(engine, ("code", "import grader.checks as c\nc.check_equal = lambda *a, **k: None"),
                             ("test", "from grader.checks import check_equal\ncheck_equal(1, 2, 'x')"))
    assert kinds(test) == [("error", "CheckFailed")]
    assert any("check_equal was replaced" in reason for reason in outcome.tamper)


def test_the_sandbox_hides_the_course_and_the_network(engine):
    probe = (f"import os, socket\nprint(os.path.exists({str(REPO_ROOT / 'solutions')!r}), "
             f"os.path.exists({str(REPO_ROOT / 'grader')!r}), os.environ.get('HOME'), os.getcwd())\n"
             "try:\n    socket.create_connection(('1.1.1.1', 80), timeout=2)\n    print('network')\n"
             "except OSError:\n    print('no network')\n"
             "try:\n    open('/usr/lib/planted', 'w')\nexcept OSError:\n    print('read-only')")
    _, (outputs,) = run(engine, ("code", probe))
    text = "".join(o.get("text", "") for o in outputs)
    assert text == f"False True {sandbox.SANDBOX_HOME} {sandbox.SANDBOX_WORKDIR}\nno network\nread-only\n", text


def test_files_do_not_carry_over_to_the_next_notebook(engine):
    run(engine, ("code", "open('left.txt', 'w').write('x')\nopen('/tmp/left.txt', 'w').write('x')"))
    _, (outputs,) = run(engine, ("code", "import os\nprint(os.path.exists('left.txt'), os.path.exists('/tmp/left.txt'))"))
    assert outputs[0]["text"] == "False False\n"


def test_without_a_sandbox_grading_refuses_unless_asked(monkeypatch):
    monkeypatch.setattr(sandbox, "sandbox_problem", lambda: "namespaces are forbidden here")
    with pytest.raises(SandboxUnavailable, match="--unsafe-no-sandbox"):
        Engine(jobs=1)
