"""Checks that visible and hidden tests call.

Every check raises :class:`CheckFailed` with a message in one fixed shape:

    <what was checked>: expected <expected>, got <got>.
    Likely mistake: <the mistake that produces exactly this result>

Tests name likely mistakes by computing what a mistaken solution would return and
passing it in ``mistakes={"description": value_or_predicate}``; when the student's result
matches one, the message names it. The message is the whole story: feedback shows only
the last line of a hidden test's traceback (see grader.feedback).

Credit per clause: a test cell that checks several sentences of a contract groups its checks
in :class:`Clauses`, so one mistake costs the points of the clause it breaks and the other
clauses are still checked and reported (see :class:`Clauses`).

Comparisons never call methods of the student's objects: a returned value whose type overrides
``__eq__`` (or a tensor subclass overriding ``__torch_function__``) cannot make a check pass.
"""
import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch

Mistakes = Mapping[str, Any] | None


class CheckFailed(AssertionError):
    """A test's verdict on a submission: what was expected, what came back, why."""


def _plain_tensor(value: torch.Tensor) -> torch.Tensor:
    """``value`` as a plain, detached tensor: a subclass's ``__torch_function__`` cannot interfere."""
    with torch._C.DisableTorchFunctionSubclass():
        return torch.Tensor._make_subclass(torch.Tensor, value.detach()) if type(value) is not torch.Tensor \
            else value.detach()


_PLAIN_TYPES = (bool, int, float, complex, str, bytes, tuple, list, dict, set, frozenset, type(None))


def _overrides_equality(value: Any) -> bool:
    """Whether ``value``'s type redefines ``==``/``!=`` on top of a built-in type (a forged result)."""
    cls = type(value)
    if cls in _PLAIN_TYPES or isinstance(value, torch.Size):
        return False
    base = next((t for t in _PLAIN_TYPES if isinstance(value, t)), None)
    if base is None:
        return False
    return cls.__eq__ is not base.__eq__ or cls.__ne__ is not base.__ne__


def _same(got: Any, expected: Any) -> bool:
    """``got == expected``, decided by the expected value's type and never by a forged ``__eq__``."""
    if _overrides_equality(got):
        return False
    if isinstance(got, (list, tuple)) and isinstance(expected, (list, tuple)):
        same_kind = isinstance(got, list) == isinstance(expected, list)
        return same_kind and len(got) == len(expected) and all(_same(g, e) for g, e in zip(got, expected))
    if isinstance(got, dict) and isinstance(expected, dict):
        return got.keys() == expected.keys() and all(_same(got[k], expected[k]) for k in expected)
    if isinstance(got, torch.Tensor) or isinstance(expected, torch.Tensor):
        return isinstance(got, torch.Tensor) and isinstance(expected, torch.Tensor) and \
            _tensors_close(got, expected, atol=0, rtol=0)
    try:
        return bool(expected == got)
    except Exception:
        return False


def describe(value: Any, max_items: int = 6) -> str:
    """A short, readable rendering of a value for a failure message."""
    if isinstance(value, torch.Tensor):
        value = _plain_tensor(value)
        flat = value.flatten()
        items = ", ".join(f"{v:.4g}" if flat.is_floating_point() else str(int(v))
                          for v in flat[:max_items].tolist())
        more = ", ..." if flat.numel() > max_items else ""
        return f"tensor(shape={tuple(value.shape)}, dtype={value.dtype}, values=[{items}{more}])"
    if isinstance(value, torch.Size):
        return str(tuple(value))
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _matches(got: Any, candidate: Any) -> bool:
    if callable(candidate) and not isinstance(candidate, torch.Tensor):
        try:
            return bool(candidate(got))
        except Exception:  # a predicate that cannot judge this value does not match it
            return False
    if isinstance(candidate, torch.Tensor) or isinstance(got, torch.Tensor):
        return _tensors_close(got, candidate, atol=1e-5, rtol=1e-4)
    try:
        return bool(got == candidate)
    except Exception:
        return False


def likely_mistake(got: Any, mistakes: Mistakes) -> str | None:
    """The description of the first known mistake whose result equals ``got``."""
    for description, candidate in (mistakes or {}).items():
        if _matches(got, candidate):
            return description
    return None


def fail(message: str, hint: str | None = None) -> None:
    raise CheckFailed(message + (f"\nLikely mistake: {hint}" if hint else ""))


def check(condition: bool, message: str, hint: str | None = None) -> None:
    """Fail with ``message`` (and ``hint`` as the likely mistake) unless ``condition`` holds."""
    if not condition:
        fail(message, hint)


def check_equal(got: Any, expected: Any, what: str, mistakes: Mistakes = None,
                hint: str | None = None) -> None:
    """``got == expected`` for plain values (ints, strings, tuples, dicts, sets)."""
    if isinstance(got, torch.Size):
        got = tuple(got)
    if isinstance(expected, torch.Size):
        expected = tuple(expected)
    if not _same(got, expected):
        fail(f"{what}: expected {describe(expected)}, got {describe(got)}.",
             likely_mistake(got, mistakes) or hint)


def check_same(got: Any, expected: Mapping | list | tuple | set, what: str, mistakes: Mistakes = None,
               hint: str | None = None) -> None:
    """A dict equal to ``expected``, or a collection with the same items in any order.

    Unlike :func:`check_equal`, a failure lists what differs (values, absent keys, extra or
    repeated keys) instead of two long reprs cut at 200 characters.
    """
    if isinstance(expected, Mapping):
        check_type(got, dict, what)
        if _same(got, expected):
            return
        differ = [f"{k!r}: expected {describe(expected[k])}, got {describe(got[k])}"
                  for k in expected if k in got and not _same(got[k], expected[k])]
        absent = [k for k in expected if k not in got]
        extra = [k for k in got if k not in expected]
    else:
        check_type(got, (list, tuple, set), what)
        if any(_overrides_equality(item) for item in got):
            fail(f"{what}: expected plain values, got objects that redefine equality.")
        got = sorted(got)
        if _same(got, sorted(expected)):
            return
        differ = []
        absent = sorted(set(expected) - set(got))
        extra = sorted(set(got) - set(expected)) or sorted({k for k in got if got.count(k) > 1})
    parts = ([f"{len(differ)} value(s) differ, e.g. " + "; ".join(differ[:3])] if differ else []) + \
            ([f"{len(absent)} expected key(s) absent, e.g. {absent[:3]}"] if absent else []) + \
            ([f"{len(extra)} unexpected or repeated key(s), e.g. {extra[:3]}"] if extra else [])
    fail(f"{what}: " + "; ".join(parts) + ".", likely_mistake(got, mistakes) or hint)


def check_type(got: Any, expected_type: type | tuple, what: str, hint: str | None = None) -> None:
    if not isinstance(got, expected_type):
        names = (" or ".join(t.__name__ for t in expected_type)
                 if isinstance(expected_type, tuple) else expected_type.__name__)
        fail(f"{what}: expected a {names}, got a {type(got).__name__} ({describe(got)}).", hint)


def check_shape(tensor: Any, expected: tuple, what: str, mistakes: Mistakes = None,
                hint: str | None = None) -> None:
    check_type(tensor, torch.Tensor, what)
    check_equal(tuple(tensor.shape), tuple(expected), f"{what} shape", mistakes, hint)


def check_dtype(tensor: Any, expected: torch.dtype, what: str, hint: str | None = None) -> None:
    check_type(tensor, torch.Tensor, what)
    check(tensor.dtype == expected, f"{what} dtype: expected {expected}, got {tensor.dtype}.", hint)


def _tensors_close(a: Any, b: Any, atol: float, rtol: float) -> bool:
    if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
        return False
    a, b = _plain_tensor(a).cpu(), _plain_tensor(b).cpu()
    if a.shape != b.shape:
        return False
    if not (a.is_floating_point() or b.is_floating_point()):
        return torch.equal(a, b)
    return torch.allclose(a.double(), b.double(), atol=atol, rtol=rtol, equal_nan=True)


def check_close(got: Any, expected: torch.Tensor | float, what: str, *, atol: float = 1e-5,
                rtol: float = 1e-4, check_dtype: bool = True, mistakes: Mistakes = None,
                hint: str | None = None) -> None:
    """Tensor (or float) ``got`` equals ``expected`` within tolerance, with the same shape and dtype.

    On failure the message gives the largest difference and where it is.
    """
    if not isinstance(expected, torch.Tensor):
        check_type(got, (int, float, torch.Tensor), what, hint)
        got_value = float(got)
        if not math.isclose(got_value, float(expected), rel_tol=rtol, abs_tol=atol):
            fail(f"{what}: expected {float(expected):.6g}, got {got_value:.6g}.",
                 likely_mistake(got_value, mistakes) or hint)
        return
    check_type(got, torch.Tensor, what, hint)
    got = _plain_tensor(got)
    if got.shape != expected.shape:
        fail(f"{what} shape: expected {tuple(expected.shape)}, got {tuple(got.shape)}.",
             likely_mistake(got, mistakes) or hint)
    if check_dtype and got.dtype != expected.dtype:
        fail(f"{what} dtype: expected {expected.dtype}, got {got.dtype}.",
             likely_mistake(got, mistakes) or hint)
    if not _tensors_close(got, expected, atol, rtol):
        diff = (got.detach().cpu().double() - expected.detach().cpu().double()).abs()
        diff = torch.nan_to_num(diff, nan=math.inf)
        worst = tuple(int(i) for i in torch.unravel_index(diff.argmax(), diff.shape)) if diff.dim() else ()
        fail(f"{what}: values differ from the expected ones (largest difference "
             f"{diff.max().item():.4g} at index {worst}).\n"
             f"  expected {describe(expected)}\n  got      {describe(got)}",
             likely_mistake(got, mistakes) or hint)


def student_call(what: str, fn: Callable, *args, known_errors: Mapping[str, str] | None = None,
                 **kwargs) -> Any:
    """Call the student's ``fn``; turn its exception into a verdict that says what was called.

    ``known_errors`` maps a substring of an exception message to the mistake that causes it.
    """
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        fail(f"{what}: not implemented yet (it raised NotImplementedError).")
    except CheckFailed:
        raise
    except Exception as error:
        message = f"{what} raised {type(error).__name__}: {error}"
        hint = next((h for text, h in (known_errors or {}).items() if text in str(error)), None)
        raise CheckFailed(message + (f"\nLikely mistake: {hint}" if hint else "")) from error


# Display metadata that marks a verdict published by the checks (shown in feedback even for
# hidden-test cells, whose other output is withheld: it could quote hidden inputs).
VERDICT_METADATA = {"grader": "verdict"}


def _publish_verdict(text: str) -> None:
    try:
        from IPython.core.getipython import get_ipython as _ipython
        shell = _ipython()
    except ImportError:
        shell = None
    if shell is None:
        print(text)
        return
    from IPython.display import publish_display_data
    publish_display_data({"text/plain": text}, metadata=VERDICT_METADATA)


class PartialCredit(float):
    """The points a test cell earned when some of its clauses failed (nbgrader's partial credit).

    The grading engine turns only this type into a test cell's result: a number that student
    code returns on a test cell's last line is never mistaken for a score.
    """


class Clauses:
    """Credit per clause: the checks of one test cell, grouped by the contract sentence they test.

        clauses = Clauses(points=3)
        with clauses.clause("names are dotted", points=1):
            check_equal(...)
        with clauses.clause("gradients reach every parameter", points=2):
            check(...)
        clauses.verdict()          # the cell's last line

    A failed check ends its own clause only; the other clauses still run. ``verdict()`` then
    shows every failed clause, and makes the cell worth the points of the clauses that held:
    nothing to add when all held (full marks), the earned points as the cell's result when some
    held (nbgrader's partial credit), a :class:`CheckFailed` listing them all when none did.
    """

    def __init__(self, points: float):
        self.points = points
        self.earned = 0.0
        self.failures: list[str] = []
        self._declared = 0.0

    @contextmanager
    def clause(self, what: str, points: float) -> Iterator[None]:
        self._declared += points
        try:
            yield
        except CheckFailed as failure:
            self.failures.append(f"[{_points(points)}] {failure}")
        except Exception as error:  # the student's code raised outside a student_call
            self.failures.append(f"[{_points(points)}] {what}: raised {type(error).__name__}: {error}")
        else:
            self.earned += points

    def verdict(self) -> "PartialCredit | None":
        if abs(self._declared - self.points) > 1e-9:
            raise RuntimeError(f"test cell error: clauses declare {self._declared:g} points, "
                               f"the cell is worth {self.points:g}")
        if not self.failures:
            return None
        lost = self.points - self.earned
        summary = (f"{len(self.failures)} clause(s) failed, {_points(lost)} lost, "
                   f"{_points(self.earned)} of {_points(self.points)} earned:\n"
                   + "\n".join(self.failures))
        if self.earned <= 0:
            raise CheckFailed(summary)
        _publish_verdict(summary)
        return PartialCredit(round(self.earned, 6))


def _points(value: float) -> str:
    return f"{value:g} point" + ("" if value == 1 else "s")


def _show_verdict_only(shell, etype, value, tb, tb_offset=None):
    """IPython handler: a failed check shows its message, not a traceback into this file."""
    stb = [f"\x1b[0;31m{etype.__name__}\x1b[0m: {value}"]
    shell._showtraceback(etype, value, stb)
    return stb


def _install_notebook_display() -> None:
    try:
        shell = get_ipython()  # noqa: F821 (defined inside IPython only)
    except NameError:
        return
    shell.set_custom_exc((CheckFailed,), _show_verdict_only)


_install_notebook_display()
