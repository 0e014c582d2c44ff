"""Guarantee 3, second half: the tests catch what the contract forbids, not only the bank.

Every assignment's tests must kill at least 90 % of the systematic mutants of its solution
(grader/mutants.py), the equivalent ones recorded with a reason in solutions/<a>/mutants.py.
The scores are printed (pytest -s shows them; the CLI prints each survivor as a diff).
"""
import pytest

from grader.mutants import REQUIRED_SCORE, load_equivalent, mutants_of_cell, run_mutants
from grader.paths import assignment_names


@pytest.mark.parametrize("assignment", assignment_names())
def test_the_tests_kill_at_least_90_percent_of_mutants(assignment):
    report = run_mutants(assignment)
    print(report.summary())
    survivors = "\n".join(mutant.diff for mutant in report.survived[:10])
    assert report.score >= REQUIRED_SCORE, f"{report.summary()}\nsurvivors (first 10):\n{survivors}"


@pytest.mark.parametrize("assignment", assignment_names())
def test_recorded_equivalences_have_a_reason(assignment):
    for mutant_id, reason in load_equivalent(assignment).items():
        assert "@" in mutant_id and len(reason.strip()) > 10, (mutant_id, reason)


def test_mutants_change_only_the_solution_regions():
    source = ("def f(x):\n    y = 1  # given\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\n")
    mutants = mutants_of_cell("f", source)
    assert mutants, "no mutant of `return x + y`"
    assert all("y = 1" in m.source for m in mutants)
    assert any("x - y" in m.source for m in mutants)
    assert all(m.id.startswith("f@") for m in mutants)
