"""The checks that tests call: verdicts say expected vs got and name known mistakes."""
import pytest
import torch

from grader.checks import (CheckFailed, check, check_close, check_dtype, check_equal, check_same,
                           check_shape, check_type, describe, likely_mistake, student_call)


def verdict(fn, *args, **kwargs) -> str:
    with pytest.raises(CheckFailed) as failure:
        fn(*args, **kwargs)
    return str(failure.value)


def test_check_equal_passes_and_fails_with_expected_and_got():
    check_equal(3, 3, "count")
    message = verdict(check_equal, 2, 3, "count")
    assert message == "count: expected 3, got 2."


def test_known_mistake_is_named_when_the_result_matches_it():
    message = verdict(check_equal, 2, 16, "count", mistakes={"counted tensors, not values": 2})
    assert message.endswith("Likely mistake: counted tensors, not values")
    unnamed = verdict(check_equal, 5, 16, "count", mistakes={"counted tensors, not values": 2})
    assert "Likely mistake" not in unnamed


def test_mistake_predicates_and_broken_predicates():
    assert likely_mistake(3, {"too few": lambda n: n < 6}) == "too few"
    assert likely_mistake("x", {"crashes": lambda n: n < 6}) is None


def test_hint_is_used_only_when_no_mistake_matches():
    message = verdict(check_equal, 5, 16, "count", mistakes={"a": 2}, hint="general hint")
    assert message.endswith("Likely mistake: general hint")


def test_check_close_reports_shape_dtype_and_largest_difference():
    expected = torch.zeros(2, 3)
    check_close(expected + 1e-7, expected, "t")
    assert "shape: expected (2, 3), got (3, 2)" in verdict(check_close, torch.zeros(3, 2), expected, "t")
    assert "dtype: expected torch.float32, got torch.float64" in verdict(
        check_close, expected.double(), expected, "t")
    got = expected.clone()
    got[1, 2] = 0.5
    message = verdict(check_close, got, expected, "t")
    assert "largest difference 0.5 at index (1, 2)" in message


def test_check_close_names_a_tensor_mistake():
    x = torch.arange(6.0)
    message = verdict(check_close, x * 255, x, "pixels", mistakes={"not scaled": x * 255})
    assert "Likely mistake: not scaled" in message


def test_check_close_on_floats():
    check_close(1.0 + 1e-9, 1.0, "value")
    assert verdict(check_close, 1.5, 1.0, "value") == "value: expected 1, got 1.5."


def test_check_shape_type_dtype_and_condition():
    check_shape(torch.zeros(2, 3), (2, 3), "x")
    assert "x shape: expected (2, 3), got (3,)" in verdict(check_shape, torch.zeros(3), (2, 3), "x")
    assert "expected a Tensor, got a list" in verdict(check_shape, [1], (1,), "x")
    assert "expected torch.int64, got torch.float32" in verdict(check_dtype, torch.zeros(1), torch.int64, "y")
    assert "expected a int or float" in verdict(check_type, "s", (int, float), "z")
    assert verdict(check, False, "must hold", hint="why") == "must hold\nLikely mistake: why"


def test_student_call_turns_errors_into_verdicts():
    def unfinished():
        raise NotImplementedError()

    def broken():
        raise RuntimeError("shape '[64, -1]' is invalid for input of size 256")

    assert "not implemented yet" in verdict(student_call, "f()", unfinished)
    message = verdict(student_call, "g()", broken, known_errors={"is invalid for input": "hard-coded batch"})
    assert message.startswith("g() raised RuntimeError: shape '[64, -1]'")
    assert message.endswith("Likely mistake: hard-coded batch")
    assert student_call("h()", lambda a, b=1: a + b, 1, b=2) == 3


def test_describe_is_short_for_big_tensors():
    text = describe(torch.arange(1000))
    assert text.startswith("tensor(shape=(1000,), dtype=torch.int64, values=[0, 1, 2, 3, 4, 5, ...")
    assert len(describe(list(range(1000)))) <= 200


def test_check_same_lists_what_differs():
    check_same({"a": 1, "b": 2}, {"b": 2, "a": 1}, "report")
    check_same(["x", "y"], ("y", "x"), "keys")
    message = verdict(check_same, {"a": 1, "c": 3}, {"a": 2, "b": 2}, "report")
    assert message == ("report: 1 value(s) differ, e.g. 'a': expected 2, got 1; "
                       "1 expected key(s) absent, e.g. ['b']; 1 unexpected or repeated key(s), e.g. ['c'].")
    assert verdict(check_same, ["x", "x", "y"], ["x", "y"], "keys") == \
        "keys: 1 unexpected or repeated key(s), e.g. ['x']."
    assert "Likely mistake: kept buffers" in verdict(check_same, ["w", "running_mean"], ["w"], "keys",
                                                     mistakes={"kept buffers": ["running_mean", "w"]})



def test_clauses_give_credit_per_clause_and_report_every_failure(capsys):
    from grader.checks import Clauses

    clauses = Clauses(points=3)
    with clauses.clause("first", points=1):
        check_equal(1, 1, "one")
    with clauses.clause("second", points=1):
        check_equal(2, 3, "two")
    with clauses.clause("third", points=1):
        raise ValueError("student code broke")
    assert clauses.verdict() == 1
    printed = capsys.readouterr().out
    assert "two: expected 3, got 2." in printed and "third: raised ValueError: student code broke" in printed


def test_clauses_all_passing_give_no_result_and_none_passing_raise():
    from grader.checks import Clauses

    clauses = Clauses(points=2)
    with clauses.clause("a", points=2):
        check(True, "fine")
    assert clauses.verdict() is None
    failing = Clauses(points=1)
    with failing.clause("a", points=1):
        check(False, "broken")
    assert "broken" in verdict(failing.verdict)


def test_clauses_whose_points_do_not_add_up_are_a_test_error():
    from grader.checks import Clauses

    clauses = Clauses(points=3)
    with clauses.clause("a", points=1):
        pass
    with pytest.raises(RuntimeError, match="declare 1 points"):
        clauses.verdict()


def test_forged_equality_cannot_pass_a_check():
    class AlwaysEqual(int):
        def __eq__(self, other):
            return True

        def __ne__(self, other):
            return False

    class ForgedTensor(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            if func is torch.allclose:
                return True
            return super().__torch_function__(func, types, args, kwargs or {})

    assert "expected 16" in verdict(check_equal, AlwaysEqual(2), 16, "count")
    forged = torch.zeros(3).as_subclass(ForgedTensor)
    assert "values differ" in verdict(check_close, forged, torch.ones(3), "values", check_dtype=False)
