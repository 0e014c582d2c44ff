# %% [markdown readonly id=intro]
# # Assignment 7 — Metrics, written from scratch
#
# You will write, in five graded parts, the metrics that lecture 7 measures, each one equal to the
# reference implementation (`sklearn.metrics`, or the definition stated in the contract):
#
# 1. a vectorised `confusion_matrix` (5 points);
# 2. `precision_recall_f1` per class and averaged (`None`, `"macro"`, `"micro"`, `"weighted"`),
#    with `zero_division` (7 points);
# 3. `roc_auc` and `average_precision`, binary and one-vs-rest macro, with tied scores (7 points);
# 4. ranking metrics: `mrr`, `ndcg_at_k` and `map_at_k` (6 points);
# 5. `StreamingMetrics`, an object that accumulates accuracy, macro-F1 and mean loss over batches of
#    any size and merges with the partial results of other workers (7 points).
#
# **The rules.** Compute with tensor operations. scikit-learn and torchmetrics are off limits inside
# your code (the tests notice a call into either, and the part then scores zero); so is converting
# the inputs to NumPy. Every function takes its arguments in scikit-learn's order: **targets first**,
# then predictions or scores. Inputs can live on any device (the hidden tests run on the GPU when the
# grader has one); return tensors on the inputs' device. Never modify an input, whatever its dtype
# (`x.double()`, `x.float()` or `x.to(device)` return `x` itself when nothing changes: not a copy).
#
# **Each part is graded on its own.** You may call your functions of earlier parts (e.g. your
# `confusion_matrix` from Part 2 or Part 5); while the tests of a later part run, a correct version
# stands in for them (in the visible and the hidden tests), so a Part 1 mistake costs points in
# Part 1 only.
#
# Each part states its contract, then gives you an answer cell (replace `raise NotImplementedError()`)
# and a visible test cell. When you submit, hidden tests compare your functions with scikit-learn on
# fresh random inputs and on the edge cases where implementations differ: classes absent from the
# data, tied scores, zero divisions, `k` larger than the list, batches of unequal size. Press
# **Validate** to run everything.

# %% [readonly id=setup]
import math
import os
import sys
from contextlib import contextmanager

import torch
from torch.overrides import TorchFunctionMode

import grader.checks
from grader.checks import CheckFailed, Clauses, check, check_close, check_equal, check_type, describe, student_call
from grader.device import describe_device, grading_device, to_device

torch.manual_seed(0)
print(describe_device())

NOTEBOOK = globals()  # the namespace your answers live in


_TRUSTED = {"depth": 0}


def _trusted(correct):
    """A correct function standing in for yours: what it calls is not charged to your code."""
    def stand_in(*args, **kwargs):
        _TRUSTED["depth"] += 1
        try:
            return correct(*args, **kwargs)
        finally:
            _TRUSTED["depth"] -= 1
    return stand_in


@contextmanager
def stand_ins(**correct):
    """While active, the given correct functions replace yours (by name) in this notebook."""
    saved = {name: NOTEBOOK[name] for name in correct if name in NOTEBOOK}
    NOTEBOOK.update({name: _trusted(fn) for name, fn in correct.items()})
    try:
        yield
    finally:
        for name in correct:
            if name in saved:
                NOTEBOOK[name] = saved[name]
            else:
                NOTEBOOK.pop(name, None)


_OFF_LIMITS = {"sklearn": "scikit-learn", "torchmetrics": "torchmetrics"}
_NUMPY_CONVERSIONS = {"numpy", "__array__", "tolist"}
_GRADER_DIR = os.path.dirname(os.path.realpath(grader.checks.__file__))
_LIBRARY_ROOTS = tuple(sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}))


class _Watch(TorchFunctionMode):
    """Watches one call of your code: the lines of your code that run, torch calls, conversions to
    NumPy or lists, and calls into scikit-learn or torchmetrics. Past ``budget`` lines or torch calls
    it stops the call (a loop over the samples)."""

    def __init__(self, what, budget=None):
        super().__init__()
        self.what, self.budget = what, budget
        self.lines = self.torch_calls = 0
        self.library, self.conversion, self._kinds = None, None, {}

    def _kind(self, filename):
        kind = self._kinds.get(filename)
        if kind is None:
            parts = filename.replace("\\", "/").split("/")
            library = next((name for package, name in _OFF_LIMITS.items() if package in parts), None)
            if library:
                kind = library
            elif filename.startswith(("<test cell", "<frozen")):
                kind = "other"
            else:
                real = filename if filename.startswith("<") else os.path.realpath(filename)
                kind = "other" if real.startswith(_LIBRARY_ROOTS + (_GRADER_DIR,)) else "yours"
            self._kinds[filename] = kind
        return kind

    def _over_budget(self):
        raise CheckFailed(f"{self.what}: ran more than {self.budget} lines of your code or torch calls for one "
                          f"input; that is a Python loop over the samples. Count with tensor operations "
                          f"(e.g. bincount or index_put_ with accumulate=True) instead.")

    def _global(self, frame, event, arg):
        if _TRUSTED["depth"]:
            return None
        kind = self._kind(frame.f_code.co_filename)
        if kind == "yours":
            return self._local
        if kind != "other" and self.library is None:
            self.library = kind
        return None

    def _local(self, frame, event, arg):
        if event == "line":
            self.lines += 1
            if self.budget is not None and self.lines > self.budget:
                self._over_budget()
        return self._local

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if _TRUSTED["depth"]:
            return func(*args, **(kwargs or {}))
        name = getattr(func, "__name__", "")
        self.torch_calls += 1
        if name in _NUMPY_CONVERSIONS and self.conversion is None:
            self.conversion = name
        if self.budget is not None and self.torch_calls > self.budget:
            self._over_budget()
        return func(*args, **(kwargs or {}))

    def run(self, fn, *args, **kwargs):
        previous = sys.gettrace()
        sys.settrace(self._global)
        try:
            with self:
                return student_call(self.what, fn, *args, **kwargs)
        finally:
            sys.settrace(previous)


def watched_call(what, fn, *args, budget=None, **kwargs):
    """``student_call(what, fn, ...)``; fails if your code called scikit-learn or torchmetrics, or
    converted a tensor to NumPy or a list. Returns the result and the watch (lines, torch calls)."""
    watch = _Watch(what, budget)
    try:
        result = watch.run(fn, *args, **kwargs)
    except CheckFailed:
        if watch.library is None:
            raise
        result = None
    if watch.library is not None:
        raise CheckFailed(f"{what} called {watch.library}: this assignment asks you to compute the metric "
                          f"yourself, with tensor operations.")
    if watch.conversion is not None:
        raise CheckFailed(f"{what} converted a tensor with `.{watch.conversion}()` (to NumPy or a list): compute "
                          f"with tensor operations, on the inputs' device.")
    return result, watch


def call(what, fn, *args, **kwargs):
    """Your ``fn(*args, **kwargs)``, called as :func:`watched_call` calls it; returns the result."""
    return watched_call(what, fn, *args, **kwargs)[0]


def library_gate(what, fn, *args, **kwargs):
    """Fail (the whole test cell) if ``fn`` calls scikit-learn or torchmetrics or converts to NumPy;
    any other failure is left to the checks that follow."""
    try:
        call(what, fn, *args, **kwargs)
    except CheckFailed as failure:
        if "this assignment asks you" in str(failure) or "to NumPy or a list" in str(failure):
            raise


def on_cpu(value):
    """A tensor result copied to the CPU for comparison (anything else as it is)."""
    return value.detach().cpu() if isinstance(value, torch.Tensor) else value


def given(tensor):
    """A fresh copy of a test input on the grading device: what your code receives, so that the
    test's own copy (and every reference value, computed before your code runs) stays as it was."""
    return to_device(tensor.detach().clone())


def reference_confusion_matrix(targets, preds, num_classes):
    """A correct ``confusion_matrix`` (scikit-learn's): it stands in for yours in the tests of Parts 2 and 5."""
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix
    counts = sk_confusion_matrix(targets.cpu().numpy(), preds.cpu().numpy(), labels=list(range(num_classes)))
    return torch.as_tensor(counts, dtype=torch.int64).to(targets.device)


def reference_precision_recall_f1(targets, preds, num_classes, average=None, zero_division=0.0):
    """A correct ``precision_recall_f1`` (scikit-learn's): it stands in for yours in the tests of Part 5."""
    import warnings
    from sklearn.metrics import precision_recall_fscore_support
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = precision_recall_fscore_support(targets.cpu().numpy(), preds.cpu().numpy(),
                                                 labels=list(range(num_classes)), average=average,
                                                 zero_division=zero_division)[:3]
    return tuple(torch.as_tensor(v, dtype=torch.float64).to(targets.device) for v in values)


_FLOAT32_PRECISION = ("the values agree to about 7 significant digits only: that is float32 precision (a step "
                      "computed in float32, then converted to float64) or a small epsilon added somewhere; "
                      "compute in float64 throughout, without epsilons")


def _show(value, digits):
    flat = value.flatten().tolist()
    items = ", ".join(f"{v:.{digits}g}" for v in flat[:6]) + (", ..." if len(flat) > 6 else "")
    return f"[{items}]" if value.dim() else items


def check_metric(got, expected, what, *, atol=1e-12, rtol=1e-10, mistakes=None, strict=True, values=True):
    """A metric value: a tensor on the grading device, float64, of ``expected``'s shape, equal to it.

    ``strict=False`` (clauses that do not own the type sentences of a contract): the value only. A
    tensor of another dtype or device, or a Python float, is compared by value; a float32 one within
    float32 precision (atol 1e-6, rtol 1e-5), so that a dtype mistake costs the type clause only.
    ``values=False`` (with ``strict``): the type, device, dtype and shape only, so that a wrong value
    costs the clause that owns it only.
    """
    expected = torch.as_tensor(expected, dtype=torch.float64)
    was_float64 = not isinstance(got, torch.Tensor) or got.dtype == torch.float64
    if strict:
        check_type(got, torch.Tensor, what)
        check(got.device.type == grading_device().type,
              f"{what}: expected a tensor on the inputs' device ({grading_device().type}), got one on {got.device}.")
        check(got.dtype == torch.float64, f"{what}: expected dtype torch.float64, got {got.dtype}.")
        check(tuple(got.shape) == tuple(expected.shape),
              f"{what}: expected shape {tuple(expected.shape)}, got {tuple(got.shape)}.")
        if not values:
            return
    else:
        if isinstance(got, (int, float)) and not isinstance(got, bool):
            got = torch.tensor(float(got), dtype=torch.float64)
        check_type(got, torch.Tensor, what)
        if got.is_floating_point() and got.dtype != torch.float64:  # checked before any conversion
            atol, rtol = max(atol, 1e-6), max(rtol, 1e-5)
        got = got.detach().cpu()
        if not got.is_complex():
            got = got.double()
        if got.numel() == expected.numel():
            got = got.reshape(expected.shape)
    got = on_cpu(got).double() if not on_cpu(got).is_complex() else on_cpu(got)
    check(tuple(got.shape) == tuple(expected.shape),
          f"{what}: expected shape {tuple(expected.shape)}, got {tuple(got.shape)}.")
    if torch.allclose(got, expected, atol=atol, rtol=rtol, equal_nan=True):
        return
    named = {}
    for description, value in (mistakes or {}).items():
        if not callable(value) or isinstance(value, torch.Tensor):
            try:
                value = torch.as_tensor(value, dtype=torch.float64).cpu()
            except (TypeError, ValueError, RuntimeError):
                continue
            if value.numel() != expected.numel():
                continue
            value = value.reshape(expected.shape)
            # a mistake is only a candidate where its result differs from the right one
            if torch.allclose(value, expected, atol=1e-9, rtol=0, equal_nan=True):
                continue
        named[description] = value
    diff = torch.nan_to_num((got - expected).abs(), nan=math.inf)
    hint = grader.checks.likely_mistake(got, named)
    close_to_float32 = bool(torch.isfinite(got).all() and torch.isfinite(expected).all()
                            and torch.allclose(got, expected, atol=1e-7, rtol=1e-5))
    if hint is None and was_float64 and close_to_float32:
        hint = _FLOAT32_PRECISION
    digits = 17 if diff.max().item() < 1e-4 else 4  # enough digits to see the difference
    worst = tuple(int(i) for i in torch.unravel_index(diff.argmax(), diff.shape)) if diff.dim() else ()
    grader.checks.fail(f"{what}: values differ from the expected ones (largest difference "
                       f"{diff.max().item():.4g}{f' at index {worst}' if worst else ''}).\n"
                       f"  expected {_show(expected, digits)}\n  got      {_show(got, digits)}", hint)


def unchanged(before, after, what):
    """An input tensor left as it was (values, dtype and shape)."""
    check(torch.equal(on_cpu(before), on_cpu(after)) and before.dtype == after.dtype,
          f"{what} modified its input in place: it must be left unmodified.")


def int_targets(n, classes, generator=None, absent=()):
    """``n`` class indices in [0, classes), never one of ``absent``."""
    allowed = torch.tensor([c for c in range(classes) if c not in absent])
    return allowed[torch.randint(len(allowed), (n,), generator=generator)]

# %% [markdown readonly id=part1]
# ## Part 1 — a vectorised confusion matrix (5 points)
#
# **`confusion_matrix(targets, preds, num_classes)`**
# - `targets`, `preds`: `int64` tensors of shape `(N,)`, `N ≥ 1`, on the same device, every value in
#   `[0, num_classes)`; `num_classes`: a Python `int ≥ 1`.
# - Returns an `int64` tensor of shape `(num_classes, num_classes)` on the inputs' device whose entry
#   `[i, j]` is the number of samples with target `i` and prediction `j`: **rows are true classes,
#   columns predicted classes**. Every class in `range(num_classes)` has its row and column, also a
#   class that appears in neither `targets` nor `preds` (its row and column are zeros). Exactly
#   `sklearn.metrics.confusion_matrix(targets, preds, labels=range(num_classes))`.
# - **Vectorised**: no Python loop over the samples (a loop over classes is fine), and no `.tolist()`
#   or `.numpy()`. The tests count the lines of your code that run and the torch calls it makes on
#   50,000 samples of 4 classes: both must stay under 5,000.

# %% [answer id=confusion_matrix]
def confusion_matrix(targets, preds, num_classes):
    ### BEGIN SOLUTION
    index = targets * num_classes + preds
    counts = torch.bincount(index, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)
    ### END SOLUTION

# %% [tests id=test_confusion_matrix points=1]
targets = torch.tensor([0, 0, 1, 2, 2, 2])
preds = torch.tensor([0, 1, 1, 2, 0, 2])
got = call("confusion_matrix(targets=[0, 0, 1, 2, 2, 2], preds=[0, 1, 1, 2, 0, 2], num_classes=4)",
           confusion_matrix, targets, preds, 4)
expected = torch.tensor([[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]])
check_equal(on_cpu(got), expected, "confusion_matrix(targets=[0, 0, 1, 2, 2, 2], preds=[0, 1, 1, 2, 0, 2], num_classes=4)",
            mistakes={"the matrix is transposed: rows must be true classes, columns predicted classes": expected.t()})
print(got)
print("Part 1 visible tests passed.")

# %% [tests id=test_confusion_matrix_hidden points=4]
# Hidden tests for confusion_matrix run here when your work is graded.
### BEGIN HIDDEN TESTS
from sklearn.metrics import confusion_matrix as _sk_confusion_matrix

library_gate("confusion_matrix(targets, preds, 3)", confusion_matrix, to_device(torch.tensor([0, 1, 2])),
             to_device(torch.tensor([0, 2, 2])), 3)
_g = torch.Generator().manual_seed(71)
clauses = Clauses(points=4)


def _expected_cm(t, p, c):
    return torch.as_tensor(_sk_confusion_matrix(t.cpu().numpy(), p.cpu().numpy(), labels=list(range(c))))


with clauses.clause("entry [i, j] counts target i predicted j (rows true, columns predicted), "
                    "equal to sklearn's confusion_matrix on random inputs", points=1):
    for _n, _c in [(200, 5), (37, 3), (1, 2), (500, 10)]:
        _t, _p = int_targets(_n, _c, _g), int_targets(_n, _c, _g)
        _exp = _expected_cm(_t, _p, _c)
        _what = f"confusion_matrix(targets, preds of {_n} random labels, num_classes={_c})"
        _got = call(_what, confusion_matrix, given(_t), given(_p), _c)
        check_type(_got, torch.Tensor, _what)
        check_equal(on_cpu(_got), _exp, _what, mistakes={
                        "the matrix is transposed: rows must be true classes, columns predicted classes": _exp.t()})
with clauses.clause("every class in range(num_classes) has its row and column, also classes absent from "
                    "targets, from preds, or from both", points=1):
    for _c, _absent_t, _absent_p in [(6, (2, 5), (2, 5)), (5, (0,), (4,)), (4, (3,), (3,)), (5, (1, 2), ())]:
        _t, _p = int_targets(60, _c, _g, _absent_t), int_targets(60, _c, _g, _absent_p)
        _exp = _expected_cm(_t, _p, _c)
        _what = (f"confusion_matrix(targets without classes {list(_absent_t)}, preds without classes "
                 f"{list(_absent_p)}, num_classes={_c})")
        _got = call(_what, confusion_matrix, given(_t), given(_p), _c)
        check_type(_got, torch.Tensor, _what)
        check_equal(on_cpu(_got), _exp, _what, mistakes={
            "classes absent from the data were dropped (or the size came from the largest label seen): "
            "the matrix has num_classes rows and columns whatever the data holds":
                lambda v, e=_exp: tuple(v.shape) != tuple(e.shape) and v.numel() < e.numel(),
            "the matrix is transposed: rows must be true classes, columns predicted classes": _exp.t()})
with clauses.clause("an int64 tensor of shape (num_classes, num_classes) on the inputs' device; "
                    "inputs left unmodified", points=1):
    _t, _p = int_targets(50, 4, _g), int_targets(50, 4, _g)
    _td, _pd = given(_t), given(_p)
    _what = "confusion_matrix(targets, preds of 50 labels, num_classes=4)"
    _got = call(_what, confusion_matrix, _td, _pd, 4)
    check_type(_got, torch.Tensor, _what)
    check(_got.dtype == torch.int64, f"{_what}: expected dtype torch.int64 (counts), got {_got.dtype}.")
    check(tuple(_got.shape) == (4, 4), f"{_what}: expected shape (4, 4), got {tuple(_got.shape)}.")
    check(_got.device.type == grading_device().type,
          f"{_what}: expected a tensor on the inputs' device ({grading_device().type}), got one on {_got.device}.")
    unchanged(_t, _td, _what)
    unchanged(_p, _pd, _what)
with clauses.clause("vectorised: no Python loop over the samples (under 5,000 lines of your code and torch "
                    "calls for 50,000 samples of 4 classes)", points=1):
    _t, _p = int_targets(50_000, 4, _g), int_targets(50_000, 4, _g)
    _what = "confusion_matrix(targets, preds of 50,000 labels, num_classes=4)"
    _exp = _expected_cm(_t, _p, 4)
    _got, _watch = watched_call(_what, confusion_matrix, given(_t), given(_p), 4, budget=5000)
    check_equal(on_cpu(_got), _exp, _what)
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part2]
# ## Part 2 — precision, recall and F1, averaged four ways (7 points)
#
# **`precision_recall_f1(targets, preds, num_classes, average=None, zero_division=0.0)`**
# - `targets`, `preds`, `num_classes`: as in Part 1. `average`: `None`, `"macro"`, `"micro"` or
#   `"weighted"`; `zero_division`: `0.0` or `1.0`.
# - Per class `c` of `range(num_classes)`, with `TP`, `FP`, `FN` counted from the confusion matrix:
#   precision `TP / (TP + FP)`, recall `TP / (TP + FN)`, F1 `2·TP / (2·TP + FP + FN)`; where a
#   denominator is 0 that value is `zero_division` instead (e.g. the precision of a class never
#   predicted).
# - `average=None`: the three per-class tensors, shape `(num_classes,)`.
#   `"macro"`: the unweighted mean of the per-class values over **all** `num_classes` classes, absent
#   ones included. `"weighted"`: the mean of the per-class values weighted by each class's support
#   (its number of targets). `"micro"`: precision, recall and F1 computed once from `TP`, `FP`, `FN`
#   summed over the classes (not a mean of per-class values). Averages are 0-dim tensors.
# - Returns a tuple `(precision, recall, f1)` of `float64` tensors on the inputs' device; exactly
#   `sklearn.metrics.precision_recall_fscore_support(targets, preds, labels=range(num_classes),
#   average=average, zero_division=zero_division)[:3]`.

# %% [answer id=precision_recall_f1]
def precision_recall_f1(targets, preds, num_classes, average=None, zero_division=0.0):
    ### BEGIN SOLUTION
    cm = confusion_matrix(targets, preds, num_classes).double()
    tp, predicted, support = cm.diagonal(), cm.sum(dim=0), cm.sum(dim=1)
    if average == "micro":
        tp, predicted, support = tp.sum(), predicted.sum(), support.sum()

    def ratio(numerator, denominator):
        safe = torch.where(denominator > 0, denominator, torch.ones_like(denominator))
        return torch.where(denominator > 0, numerator / safe, torch.full_like(numerator, float(zero_division)))

    precision, recall, f1 = ratio(tp, predicted), ratio(tp, support), ratio(2 * tp, predicted + support)
    if average == "macro":
        return precision.mean(), recall.mean(), f1.mean()
    if average == "weighted":
        weights = support / support.sum()
        return (precision * weights).sum(), (recall * weights).sum(), (f1 * weights).sum()
    return precision, recall, f1
    ### END SOLUTION

# %% [tests id=test_precision_recall_f1 points=1]
targets = torch.tensor([0, 0, 0, 1, 1, 2])
preds = torch.tensor([0, 0, 1, 1, 1, 1])
with stand_ins(confusion_matrix=reference_confusion_matrix):  # a Part 1 mistake costs points in Part 1 only
    got = call("precision_recall_f1([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 1, 1], 3)", precision_recall_f1, targets, preds, 3)
    check_type(got, tuple, "precision_recall_f1(...) result")
    check_metric(got[0], torch.tensor([1.0, 0.5, 0.0], dtype=torch.float64), "precision per class (class 2 never predicted: 0)", strict=False, atol=1e-6, rtol=1e-5)
    check_metric(got[1], torch.tensor([2 / 3, 1.0, 0.0], dtype=torch.float64), "recall per class", strict=False, atol=1e-6, rtol=1e-5)
    check_metric(got[2], torch.tensor([0.8, 2 / 3, 0.0], dtype=torch.float64), "F1 per class", strict=False, atol=1e-6, rtol=1e-5)
    macro = call("precision_recall_f1(..., average='macro')", precision_recall_f1, targets, preds, 3, average="macro")
    check_metric(macro[2], torch.tensor((0.8 + 2 / 3) / 3, dtype=torch.float64), "macro F1", strict=False, atol=1e-6, rtol=1e-5)
print(got, macro)
print("Part 2 visible tests passed (to float32 precision: the hidden tests ask for float64 exactness).")

# %% [tests id=test_precision_recall_f1_hidden points=6]
# Hidden tests for precision_recall_f1 run here when your work is graded.
### BEGIN HIDDEN TESTS
import warnings as _warnings

from sklearn.metrics import confusion_matrix as _sk_cm
from sklearn.metrics import precision_recall_fscore_support as _sk_prfs


def _cm_reference(targets, preds, num_classes):
    return torch.as_tensor(_sk_cm(targets.cpu().numpy(), preds.cpu().numpy(), labels=list(range(num_classes)))).to(targets.device)


def _prf(t, p, c, average=None, zero_division=0.0):
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        return tuple(torch.as_tensor(v, dtype=torch.float64) for v in
                     _sk_prfs(t.numpy(), p.numpy(), labels=list(range(c)), average=average,
                              zero_division=zero_division)[:3])


def _counts(t, p, c):
    cm = _sk_cm(t.numpy(), p.numpy(), labels=list(range(c)))
    cm = torch.as_tensor(cm, dtype=torch.float64)
    return cm.diagonal(), cm.sum(0), cm.sum(1)


def _run_prf(t, p, c, average, zero_division, strict, mistakes_for=None):
    """The value clauses compare to float32 precision: the float64 exactness has its own (the type) clause."""
    _what = (f"precision_recall_f1(targets, preds of {len(t)} labels with targets of classes "
             f"{sorted(set(t.tolist()))} and preds classes {sorted(set(p.tolist()))}, num_classes={c}, "
             f"average={average!r}, zero_division={zero_division})")
    # every reference value first: your code receives copies of the inputs, after them
    _exp = _prf(t, p, c, average, zero_division)
    _mistakes = {_name: (mistakes_for(_name) if mistakes_for else None) for _name in ("precision", "recall", "f1")}
    _got = call(_what, precision_recall_f1, given(t), given(p), c, average=average, zero_division=zero_division)
    check(isinstance(_got, (tuple, list)) and len(_got) == 3,
          f"{_what}: expected a tuple (precision, recall, f1), got {describe(_got)}.")
    for _name, _g_v, _e_v in zip(("precision", "recall", "f1"), _got, _exp):
        check_metric(_g_v, _e_v, f"{_name} of {_what}", strict=strict, mistakes=_mistakes[_name], atol=1e-6, rtol=1e-5)
    return _got


with stand_ins(confusion_matrix=_cm_reference):  # a Part 1 mistake costs Part 1 only
    library_gate("precision_recall_f1(targets, preds, 3)", precision_recall_f1, to_device(torch.tensor([0, 1, 2])),
                 to_device(torch.tensor([0, 2, 2])), 3)
_g = torch.Generator().manual_seed(72)
clauses = Clauses(points=6)
with stand_ins(confusion_matrix=_cm_reference):
    with clauses.clause("average=None: per-class precision, recall and F1 equal to sklearn", points=1):
        for _n, _c in [(120, 4), (33, 7), (500, 3)]:
            _run_prf(int_targets(_n, _c, _g), int_targets(_n, _c, _g), _c, None, 0.0, strict=False)
    with clauses.clause("zero_division: a 0 denominator gives zero_division (0.0 or 1.0) for precision, "
                        "recall and F1, never nan", points=1):
        for _zd in (0.0, 1.0):
            # class 1 never predicted, class 3 never a target, class 4 absent from both,
            # class 5 never right (TP = 0 with FP and FN > 0: precision = recall = 0, F1 = 0 whatever zero_division)
            _t = torch.tensor([0, 0, 1, 1, 2, 2, 2, 0, 1, 2, 5, 0])
            _p = torch.tensor([0, 3, 0, 2, 2, 3, 2, 0, 0, 2, 0, 5])

            def _zd_mistakes(name, t=_t, p=_p, zd=_zd, avg=None):
                out = {"a zero denominator gave nan (or inf): use zero_division instead":
                       lambda v: not torch.isfinite(torch.as_tensor(v, dtype=torch.float64)).all()}
                if name == "recall":
                    rc, support = _prf(t, p, 6, None, zd)[1], _counts(t, p, 6)[2]
                    rc0 = torch.where(support > 0, rc, torch.zeros_like(rc))
                    out["recall of a class with no support (never a target) set to 0: it is zero_division there, like "
                        "every 0 denominator"] = {None: rc0, "macro": rc0.mean(), "weighted": (rc0 * support).sum() / support.sum()}[avg]
                if name == "f1":
                    pr, rc, _ = _prf(t, p, 6, None, zd)
                    harmonic = torch.where(pr + rc > 0, 2 * pr * rc / (pr + rc).clamp(min=1e-300), torch.tensor(zd, dtype=torch.float64))
                    support = _counts(t, p, 6)[2]
                    value = {None: harmonic, "macro": harmonic.mean(), "weighted": (harmonic * support).sum() / support.sum()}[avg]
                    out["F1 set to zero_division where precision + recall = 0: F1 is 2·TP / (2·TP + FP + FN), so it is 0 "
                        "there unless that denominator is 0 too"] = value
                return out
            for _avg in (None, "macro", "weighted"):
                _run_prf(_t, _p, 6, _avg, _zd, strict=False, mistakes_for=lambda name, a=_avg: _zd_mistakes(name, avg=a))
    with clauses.clause("macro: the plain mean over all num_classes classes, absent ones included", points=1):
        for _zd, (_c, _absent) in [(0.0, (6, (1, 4))), (1.0, (6, (1, 4))), (0.0, (3, ())), (1.0, (5, (0,)))]:
            _t, _p = int_targets(80, _c, _g, _absent), int_targets(80, _c, _g, _absent)
            _present = sorted(set(_t.tolist()) | set(_p.tolist()))

            def _present_only(name, t=_t, p=_p, c=_c, zd=_zd, present=_present):
                per = _prf(t, p, c, None, zd)[("precision", "recall", "f1").index(name)]
                return {"macro averaged over the classes present in the data only: the mean runs over all "
                        "num_classes classes": per[present].mean(),
                        "macro weighted by support: 'macro' is the unweighted mean over classes":
                            (per * _counts(t, p, c)[2]).sum() / len(t)}
            _run_prf(_t, _p, _c, "macro", _zd, strict=False, mistakes_for=_present_only)
    with clauses.clause("weighted: the per-class values weighted by support (number of targets per class)", points=1):
        for _zd, _c, _absent in [(0.0, 5, (2,)), (1.0, 4, ()), (0.0, 6, (0, 5))]:
            _t, _p = int_targets(90, _c, _g, _absent), int_targets(90, _c, _g)

            def _weighted_mistakes(name, t=_t, p=_p, c=_c, zd=_zd):
                per = _prf(t, p, c, None, zd)[("precision", "recall", "f1").index(name)]
                _tp, _pred, _sup = _counts(t, p, c)
                return {"weighted by the number of predictions of each class: 'weighted' uses the support "
                        "(number of targets)": (per * _pred).sum() / _pred.sum(),
                        "weighted average was not divided by the total support": (per * _sup).sum()}
            _run_prf(_t, _p, _c, "weighted", _zd, strict=False, mistakes_for=_weighted_mistakes)
    with clauses.clause("micro: computed once from TP, FP, FN summed over the classes", points=1):
        for _zd, _c, _absent in [(0.0, 5, (3,)), (1.0, 4, ()), (0.0, 3, ())]:
            _t, _p = int_targets(70, _c, _g, _absent), int_targets(70, _c, _g)

            def _micro_mistakes(name, t=_t, p=_p, c=_c, zd=_zd):
                per = _prf(t, p, c, None, zd)[("precision", "recall", "f1").index(name)]
                return {"micro computed per class then averaged (that is macro): micro sums TP, FP and FN over "
                        "the classes first": per.mean()}
            _run_prf(_t, _p, _c, "micro", _zd, strict=False, mistakes_for=_micro_mistakes)
    with clauses.clause("a tuple of three float64 tensors on the inputs' device, computed in float64 (exact to "
                        "1e-12): shape (num_classes,) per class, 0-dim averages; inputs left unmodified", points=1):
        _t, _p = int_targets(40, 4, _g), int_targets(40, 4, _g)
        _td, _pd = given(_t), given(_p)
        for _avg in (None, "macro", "micro", "weighted"):
            _what = f"precision_recall_f1(targets, preds of 40 labels, 4, average={_avg!r})"
            _exp = _prf(_t, _p, 4, _avg)
            _got = call(_what, precision_recall_f1, _td, _pd, 4, average=_avg)
            check_type(_got, tuple, _what)
            check_equal(len(_got), 3, f"number of values returned by {_what}")
            for _name, _g_v, _e_v in zip(("precision", "recall", "f1"), _got, _exp):
                check_metric(_g_v, _e_v, f"{_name} of {_what}", strict=True, values=False)
                # a value within float32 precision of the right one: float32 arithmetic (a wrong value is
                # charged to the clause of its average)
                _near = torch.allclose(on_cpu(_g_v).double(), _e_v, atol=1e-6, rtol=1e-5)
                check(not _near or torch.allclose(on_cpu(_g_v).double(), _e_v, atol=1e-12, rtol=1e-10),
                      f"{_name} of {_what}: values differ from the expected ones by up to "
                      f"{(on_cpu(_g_v).double() - _e_v).abs().max().item():.3g}.", _FLOAT32_PRECISION)
        unchanged(_t, _td, "precision_recall_f1")
        unchanged(_p, _pd, "precision_recall_f1")
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part3]
# ## Part 3 — ROC-AUC and average precision, with ties (7 points)
#
# **`roc_auc(targets, scores)`** and **`average_precision(targets, scores)`**
# - **Binary**: `scores` a floating-point tensor of shape `(N,)` (higher means more likely positive,
#   any real values, ties allowed); `targets` an `int64` tensor of shape `(N,)` of 0s and 1s holding
#   at least one of each.
# - **Multi-class, one-vs-rest**: `scores` of shape `(N, C)`, `C ≥ 2`, column `c` scoring class `c`
#   (any real values, probabilities or not); `targets` of shape `(N,)` with values in `[0, C)`, every
#   class present and absent at least once. The result is the unweighted mean over the `C` classes
#   of the binary metric of column `c` against `targets == c`.
# - `roc_auc`: the area under the ROC curve, i.e. the probability that a random positive scores
#   higher than a random negative, **a tie counting one half**. Binary: exactly
#   `sklearn.metrics.roc_auc_score(targets, scores)`. Multi-class: exactly the mean over `c` of the
#   binary `roc_auc_score(targets == c, scores[:, c])`, for any real scores. (Where every row of
#   `scores` holds probabilities summing to 1, that is `roc_auc_score(targets, scores,
#   multi_class="ovr", average="macro")`, which refuses other scores.)
# - `average_precision`: `AP = Σₙ (Rₙ − Rₙ₋₁) · Pₙ`, a **step sum** (not a trapezoid) over the
#   distinct score thresholds from the highest down, where `Pₙ` and `Rₙ` are the precision and recall
#   of "positive ⇔ score ≥ n-th threshold" (tied scores cross the threshold together) and `R₀ = 0`.
#   Exactly `sklearn.metrics.average_precision_score` (multi-class: on the one-hot targets,
#   `average="macro"`).
# - Each returns a 0-dim `float64` tensor on the inputs' device, for float32 and float64 scores alike,
#   and leaves `targets` and `scores` unmodified.

# %% [answer id=ranking_auc]
# Suggested structure (you may change it): a binary metric of a boolean mask `positive` and scores of
# shape (N,), and `_one_vs_rest`, which applies it to (N,) scores or to each column of (N, C) scores.
def _binary_roc_auc(positive, scores):
    ### BEGIN SOLUTION
    scores = scores.double()
    _, inverse, counts = torch.unique(scores, return_inverse=True, return_counts=True)
    # rank of each distinct value (1-based), averaged over its ties
    group_rank = counts.cumsum(0).double() - (counts.double() - 1) / 2
    ranks = group_rank[inverse]
    n_pos = positive.sum().double()
    n_neg = positive.numel() - n_pos
    return (ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    ### END SOLUTION


def _binary_average_precision(positive, scores):
    ### BEGIN SOLUTION
    _, inverse = torch.unique(scores.double(), return_inverse=True)
    groups = int(inverse.max()) + 1
    pos_per = torch.zeros(groups, dtype=torch.float64, device=scores.device).index_add_(0, inverse, positive.double())
    all_per = torch.bincount(inverse, minlength=groups).double()
    pos_per, all_per = pos_per.flip(0), all_per.flip(0)  # from the highest threshold down
    precision = pos_per.cumsum(0) / all_per.cumsum(0)
    return (pos_per / pos_per.sum() * precision).sum()
    ### END SOLUTION


def _one_vs_rest(binary, targets, scores):
    if scores.dim() == 1:
        return binary(targets == 1, scores)
    return torch.stack([binary(targets == c, scores[:, c]) for c in range(scores.shape[1])]).mean()


def roc_auc(targets, scores):
    ### BEGIN SOLUTION
    return _one_vs_rest(_binary_roc_auc, targets, scores)
    ### END SOLUTION


def average_precision(targets, scores):
    ### BEGIN SOLUTION
    return _one_vs_rest(_binary_average_precision, targets, scores)
    ### END SOLUTION

# %% [tests id=test_ranking_auc points=1]
targets = torch.tensor([0, 0, 1, 1, 0, 1])
scores = torch.tensor([0.1, 0.4, 0.35, 0.8, 0.4, 0.4])
auc = call("roc_auc([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.4, 0.4])", roc_auc, targets, scores)
# the positive scored 0.4 is tied with two negatives: 7/9 or 5/9 if those ties count as wins or as losses
check_metric(auc, torch.tensor(2 / 3, dtype=torch.float64), "roc_auc([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.4, 0.4])",
             strict=False, mistakes={"tied scores were not counted as one half (decided by the samples' order, or "
                                     "all won or all lost): a positive tied with a negative counts one half":
                                     lambda v: min(abs(float(v) - 7 / 9), abs(float(v) - 5 / 9)) < 1e-9})
ap = call("average_precision([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.4, 0.4])", average_precision, targets, scores)
check_metric(ap, torch.tensor(1 / 3 * 1 + 1 / 3 * 0.5 + 1 / 3 * 0.6, dtype=torch.float64),
             "average_precision([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.4, 0.4])", strict=False,
             mistakes={"tied scores were split apart (one step per sample): samples with the same score cross the "
                       "threshold together": (1 + 1 + 0.6) / 3,
                       "average precision by the trapezoid rule: AP is the step sum Σ (Rₙ − Rₙ₋₁) Pₙ":
                       (1 / 3) * 1 + (1 / 3) * (1 + 0.5) / 2 + (1 / 3) * (0.5 + 0.6) / 2})
print(auc, ap)
print("Part 3 visible tests passed.")

# %% [tests id=test_ranking_auc_hidden points=6]
# Hidden tests for roc_auc and average_precision run here when your work is graded.
### BEGIN HIDDEN TESTS
from sklearn.metrics import average_precision_score as _sk_ap
from sklearn.metrics import roc_auc_score as _sk_auc


def _trapezoid_ap(t, s):
    from sklearn.metrics import auc as _sk_area, precision_recall_curve as _sk_prc
    precision, recall, _ = _sk_prc(t.numpy(), s.numpy())
    return torch.tensor(_sk_area(recall, precision), dtype=torch.float64)


def _strict_auc(t, s):
    """AUC counting a tie as 0 (or as a win): what sorting every sample apart gives, at worst."""
    pos, neg = s[t == 1].double(), s[t == 0].double()
    diff = pos[:, None] - neg[None, :]
    return (diff > 0).double().mean(), (diff >= 0).double().mean()


def _per_sample_auc(t, s):
    """Trapezoid over a ROC curve with one point per sample (stable sort, ties split apart)."""
    order = torch.sort(s.double(), descending=True, stable=True).indices
    y = t[order].double()
    tpr = torch.cat([torch.zeros(1, dtype=torch.float64), y.cumsum(0) / y.sum()])
    fpr = torch.cat([torch.zeros(1, dtype=torch.float64), (1 - y).cumsum(0) / (1 - y).sum()])
    return torch.trapezoid(tpr, fpr)


def _ordered_ties_auc(t, s):
    """AUC with each tie won by the later sample (ordinal ranks from a stable ascending sort)."""
    idx = torch.arange(len(t))
    pos, neg = s[t == 1].double(), s[t == 0].double()
    diff = pos[:, None] - neg[None, :]
    later = idx[t == 1][:, None] > idx[t == 0][None, :]
    return ((diff > 0) | ((diff == 0) & later)).double().mean()


def _auc_mistakes(t, s):
    low, high = _strict_auc(t, s)
    by_order = (float(_per_sample_auc(t, s)), float(_ordered_ties_auc(t, s)))
    return {"ties broken by sample order (a trapezoid over one ROC point per sample, or ordinal ranks from "
            "argsort): tied scores must count one half":
                lambda v, o=by_order: any(abs(float(v) - x) < 1e-9 for x in o),
            "a tie counted as a loss: a positive tied with a negative counts one half": low,
            "a tie counted as a win: a positive tied with a negative counts one half": high,
            "the AUC of the reversed scores (1 - AUC): higher scores mean positive": 1 - _sk_auc(t.numpy(), s.numpy())}


def _per_sample_ap(t, s, later_first):
    """The step sum with one step per sample: tied scores split apart in sample order."""
    order = torch.sort(s.double(), stable=True).indices.flip(0) if later_first else \
        torch.sort(s.double(), descending=True, stable=True).indices
    hit = t[order].double()
    precision = hit.cumsum(0) / torch.arange(1, len(hit) + 1, dtype=torch.float64)
    return float((hit * precision).sum() / hit.sum())


def _ap_mistakes(t, s):
    split = (_per_sample_ap(t, s, False), _per_sample_ap(t, s, True))
    return {"average precision by the trapezoid rule: AP is the step sum Σ (Rₙ − Rₙ₋₁) Pₙ": _trapezoid_ap(t, s),
            "tied scores were split apart (one step per sample): samples with the same score cross the threshold "
            "together": lambda v, x=split: any(abs(float(v) - e) < 1e-9 for e in x)}


def _binary_case(n, g, ties):
    while True:
        t = torch.randint(2, (n,), generator=g)
        if 0 < t.sum() < n:
            break
    s = torch.randint(ties, (n,), generator=g).float() / ties if ties else torch.randn(n, generator=g)
    return t, s


library_gate("roc_auc(targets, scores)", roc_auc, to_device(torch.tensor([0, 1, 1])), to_device(torch.tensor([0.1, 0.3, 0.2])))
library_gate("average_precision(targets, scores)", average_precision, to_device(torch.tensor([0, 1, 1])),
             to_device(torch.tensor([0.1, 0.3, 0.2])))
_g = torch.Generator().manual_seed(73)


_SOFTMAX = ("softmax applied to the (N, C) scores: column c is used as it is, whatever the scores (a softmax "
            "changes how the samples rank within a column)")


def _ovr_auc(t, s):
    """The mean over the columns of the binary roc_auc_score(targets == c, scores[:, c])."""
    return sum(_sk_auc((t == k).long().numpy(), s[:, k].numpy()) for k in range(s.shape[1])) / s.shape[1]


def _check_value(fn, what, t, s, expected, mistakes=None):
    """``fn`` on copies of ``t`` and ``s`` (the reference values were computed before) equals ``expected``."""
    check_metric(call(what, fn, given(t), given(s)), expected, what, strict=False, mistakes=mistakes)


clauses = Clauses(points=6)
with clauses.clause("binary roc_auc equals roc_auc_score on distinct scores", points=1):
    for _n in (50, 7, 300):
        _t, _s = _binary_case(_n, _g, 0)
        _check_value(roc_auc, f"roc_auc(targets, scores) on {_n} samples with distinct scores", _t, _s,
                     _sk_auc(_t.numpy(), _s.numpy()), _auc_mistakes(_t, _s))
    # 6001 positives: n_pos (n_pos + 1) / 2 = 18009001 and the rank sums exceed 2**24, where float32 stops
    # holding every integer (counts divided as integers give float32); the result must stay exact in float64
    _gl = torch.Generator().manual_seed(7)
    _t = torch.cat([torch.ones(6001, dtype=torch.int64), torch.zeros(1000, dtype=torch.int64)])
    _t = _t[torch.randperm(len(_t), generator=_gl)]
    _s = torch.randn(len(_t), generator=_gl, dtype=torch.float64)
    _auc = _sk_auc(_t.numpy(), _s.numpy())
    _check_value(roc_auc, "roc_auc(targets, float64 scores) on 7001 samples (6001 positives) with distinct scores",
                 _t, _s, _auc, {"the AUC of the reversed scores (1 - AUC): higher scores mean positive": 1 - _auc})
with clauses.clause("binary roc_auc with tied scores: a tie counts one half, exactly as roc_auc_score", points=1):
    for _n, _ties in ((60, 4), (200, 10), (12, 2)):
        _t, _s = _binary_case(_n, _g, _ties)
        _check_value(roc_auc, f"roc_auc(targets, scores) on {_n} samples whose scores take only {_ties} distinct values",
                     _t, _s, _sk_auc(_t.numpy(), _s.numpy()), _auc_mistakes(_t, _s))
    _t, _s = torch.tensor([1, 0, 0, 1, 1, 0]), torch.tensor([0.5, 0.5, 0.5, 0.5, 0.5, 0.5])
    _check_value(roc_auc, "roc_auc(targets, scores) when every score is 0.5", _t, _s, 0.5, _auc_mistakes(_t, _s))
with clauses.clause("binary average_precision equals average_precision_score (step sum, tied scores cross "
                    "the threshold together)", points=1):
    for _n, _ties in ((50, 0), (80, 5), (9, 0), (300, 20), (10, 1)):
        _t, _s = _binary_case(_n, _g, _ties)
        _what = (f"average_precision(targets, scores) on {_n} samples"
                 + (f" whose scores take only {_ties} distinct values" if _ties else " with distinct scores"))
        _check_value(average_precision, _what, _t, _s, _sk_ap(_t.numpy(), _s.numpy()), _ap_mistakes(_t, _s))
with clauses.clause("one-vs-rest macro roc_auc for (N, C) scores: the mean over the classes of the binary "
                    "roc_auc_score (= roc_auc_score(multi_class='ovr') on probabilities)", points=1):
    for _n, _c, _ties in ((90, 3, 0), (120, 5, 6)):
        while True:
            _t = torch.randint(_c, (_n,), generator=_g)
            if len(set(_t.tolist())) == _c:
                break
        _s = torch.randint(_ties, (_n, _c), generator=_g).float() if _ties else torch.randn(_n, _c, generator=_g)
        _p = torch.softmax(_s.double(), dim=1)
        _check_value(roc_auc, f"roc_auc(targets of {_c} classes, softmax probabilities of shape ({_n}, {_c}))", _t, _p,
                     _sk_auc(_t.numpy(), _p.numpy(), multi_class="ovr", average="macro"),
                     {"one-vs-rest weighted by class frequency: the macro mean is unweighted":
                      _sk_auc(_t.numpy(), _p.numpy(), multi_class="ovr", average="weighted"),
                      _SOFTMAX: _ovr_auc(_t, torch.softmax(_p, dim=1))})
        _check_value(roc_auc, f"roc_auc(targets of {_c} classes, raw scores of shape ({_n}, {_c}))", _t, _s,
                     _ovr_auc(_t, _s), {_SOFTMAX: _ovr_auc(_t, torch.softmax(_s.double(), dim=1)),
                                        "one-vs-rest weighted by class frequency: the macro mean is unweighted":
                                        sum((_t == k).sum().item() * _sk_auc((_t == k).long().numpy(), _s[:, k].numpy())
                                            for k in range(_c)) / _n})
with clauses.clause("one-vs-rest macro average_precision for (N, C) scores equals average_precision_score "
                    "on one-hot targets", points=1):
    for _n, _c, _ties in ((90, 3, 0), (150, 4, 5)):
        while True:
            _t = torch.randint(_c, (_n,), generator=_g)
            if len(set(_t.tolist())) == _c:
                break
        _s = torch.randint(_ties, (_n, _c), generator=_g).float() if _ties else torch.randn(_n, _c, generator=_g)
        _onehot = torch.nn.functional.one_hot(_t, _c)
        _check_value(average_precision, f"average_precision(targets of {_c} classes, scores of shape ({_n}, {_c}))",
                     _t, _s, _sk_ap(_onehot.numpy(), _s.numpy(), average="macro"),
                     {"one-vs-rest weighted by class frequency: the macro mean is unweighted":
                      _sk_ap(_onehot.numpy(), _s.numpy(), average="weighted"),
                      "micro-averaged over all (sample, class) pairs: the result is the mean of the per-class APs":
                      _sk_ap(_onehot.numpy(), _s.numpy(), average="micro"),
                      _SOFTMAX: _sk_ap(_onehot.numpy(), torch.softmax(_s.double(), dim=1).numpy(), average="macro")})
_t, _s = _binary_case(40, _g, 5)
_t3 = torch.arange(30) % 3
_s3 = torch.randn(30, 3, generator=_g, dtype=torch.float64)
_cases = [("targets, float32 scores of 40 samples", _t, _s),
          ("targets, float64 scores of 40 samples", _t, _s.double()),
          ("targets of 3 classes, float32 scores of shape (30, 3)", _t3, _s3.float()),
          ("targets of 3 classes, float64 scores of shape (30, 3)", _t3, _s3)]
with clauses.clause("both return 0-dim float64 tensors on the inputs' device, for float32 and float64 scores",
                    points=0.5):
    for _name, _fn in (("roc_auc", roc_auc), ("average_precision", average_precision)):
        for _args, _tc, _sc in _cases:
            _what = f"{_name}({_args})"
            check_metric(call(_what, _fn, given(_tc), given(_sc)), 0.5, _what, strict=True, values=False)
with clauses.clause("both leave their inputs unmodified (targets and scores; float32 and float64 scores, binary "
                    "and (N, C))", points=0.5):
    for _name, _fn in (("roc_auc", roc_auc), ("average_precision", average_precision)):
        _returned = 0
        for _args, _tc, _sc in _cases:
            _what = f"{_name}({_args})"
            _td, _sd = given(_tc), given(_sc)
            try:
                call(_what, _fn, _td, _sd)
                _returned += 1
            except CheckFailed:
                pass  # a call that fails is charged to the clause above; here only the inputs count
            unchanged(_tc, _td, _what)
            unchanged(_sc, _sd, _what)
        check(_returned > 0, f"{_name} failed on every input above, so whether it leaves them unmodified is unknown.")
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part4]
# ## Part 4 — ranking metrics: MRR, NDCG@k, MAP@k (6 points)
#
# A retrieval system scores `D` documents for each of `Q` queries. All three functions take
# **`relevance`**, a floating-point tensor of shape `(Q, D)` of non-negative graded relevances
# (`0` = irrelevant; a document is *relevant* when its relevance is `> 0`), and **`scores`**, a
# floating-point tensor of shape `(Q, D)`, `D ≥ 2`: each query ranks its documents by descending
# score, rank 1 first (the scores of one query are distinct). `k` is a Python `int ≥ 1` and may exceed
# `D` (then all `D` documents count). Each returns the **mean over the `Q` queries** as a 0-dim
# `float64` tensor on the inputs' device (for float32 and float64 inputs alike), and leaves
# `relevance` and `scores` unmodified.
#
# - **`mrr(relevance, scores)`**: per query `1 / rank` of the first relevant document in the whole
#   ranking, `0` when the query has no relevant document.
# - **`ndcg_at_k(relevance, scores, k)`**: per query `DCG@k / IDCG@k`, where
#   `DCG@k = Σ_{i=1}^{min(k, D)} rel_i / log₂(i + 1)` with `rel_i` the relevance of the document at
#   rank `i`, and `IDCG@k` the same sum over the relevances sorted from the largest down (the best
#   possible ranking); `0` for a query whose relevances are all 0. Exactly
#   `sklearn.metrics.ndcg_score(relevance, scores, k=k)`.
# - **`map_at_k(relevance, scores, k)`**: per query
#   `AP@k = (1 / min(k, R)) · Σ_{i=1}^{min(k, D)} P@i · hit_i`, where `hit_i` is 1 when the document
#   at rank `i` is relevant (else 0), `P@i` is the number of relevant documents among ranks `1..i`
#   divided by `i`, and `R` is the number of relevant documents of the query (in the whole list);
#   `AP@k = 0` when `R = 0`. (torchmetrics' `RetrievalMAP(top_k=k)` divides by the relevant documents
#   found in the top `k` instead: a different metric.)

# %% [answer id=ranking]
def _ranked_relevance(relevance, scores):
    order = scores.argsort(dim=1, descending=True)
    return relevance.gather(1, order).double()


def mrr(relevance, scores):
    ### BEGIN SOLUTION
    hits = _ranked_relevance(relevance, scores) > 0
    ranks = torch.arange(1, hits.shape[1] + 1, device=hits.device, dtype=torch.float64)
    reciprocal = torch.where(hits, 1.0 / ranks, torch.zeros_like(ranks))
    return reciprocal.max(dim=1).values.mean()
    ### END SOLUTION


def ndcg_at_k(relevance, scores, k):
    ### BEGIN SOLUTION
    ranked = _ranked_relevance(relevance, scores)[:, :k]
    ideal = relevance.double().sort(dim=1, descending=True).values[:, :k]
    discount = 1.0 / torch.log2(torch.arange(2, ranked.shape[1] + 2, device=ranked.device, dtype=torch.float64))
    dcg, idcg = (ranked * discount).sum(dim=1), (ideal * discount).sum(dim=1)
    return torch.where(idcg > 0, dcg / torch.where(idcg > 0, idcg, torch.ones_like(idcg)), torch.zeros_like(dcg)).mean()
    ### END SOLUTION


def map_at_k(relevance, scores, k):
    ### BEGIN SOLUTION
    hits = (_ranked_relevance(relevance, scores) > 0).double()
    top = hits[:, :k]
    ranks = torch.arange(1, top.shape[1] + 1, device=top.device, dtype=torch.float64)
    precision_at_i = top.cumsum(dim=1) / ranks
    relevant = hits.sum(dim=1).clamp(max=k)
    ap = (precision_at_i * top).sum(dim=1) / relevant.clamp(min=1)
    return torch.where(relevant > 0, ap, torch.zeros_like(ap)).mean()
    ### END SOLUTION

# %% [tests id=test_ranking points=1]
relevance = torch.tensor([[0.0, 2.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0]])
scores = torch.tensor([[0.9, 0.8, 0.7, 0.1], [0.2, 0.4, 0.3, 0.1]])
check_metric(call("mrr(relevance, scores)", mrr, relevance, scores), 0.5 * (1 / 2 + 1 / 3), "mrr(relevance, scores)", strict=False)
ideal = 2 + 1 / math.log2(3)
check_metric(call("ndcg_at_k(relevance, scores, k=2)", ndcg_at_k, relevance, scores, 2),
             0.5 * ((2 / math.log2(3)) / ideal + 0.0), "ndcg_at_k(relevance, scores, k=2)", strict=False,
             mistakes={"binary gains (a relevant document counts 1): the gain is the graded relevance itself":
                       0.5 * ((1 / math.log2(3)) / (1 + 1 / math.log2(3)) + 0.0)})
check_metric(call("map_at_k(relevance, scores, k=4)", map_at_k, relevance, scores, 4),
             0.5 * ((1 / 2 + 2 / 4) / 2 + (1 / 3) / 1), "map_at_k(relevance, scores, k=4)", strict=False)
print("Part 4 visible tests passed.")

# %% [tests id=test_ranking_hidden points=5]
# Hidden tests for mrr, ndcg_at_k and map_at_k run here when your work is graded.
### BEGIN HIDDEN TESTS
from sklearn.metrics import ndcg_score as _sk_ndcg


def _ranking_case(q, d, g, levels=4, empty_rows=()):
    rel = torch.randint(levels, (q, d), generator=g).double()
    rel[list(empty_rows)] = 0
    scores = torch.rand(q, d, generator=g, dtype=torch.float64)
    return rel, scores


def _ranked(rel, scores):
    return [[float(rel[i, j]) for j in torch.argsort(scores[i], descending=True).tolist()] for i in range(len(rel))]


def _ref_mrr(rel, scores, no_hit=0.0):
    return sum(next((1 / (i + 1) for i, r in enumerate(row) if r > 0), no_hit) for row in _ranked(rel, scores)) / len(rel)


def _ref_map(rel, scores, k, divide="min"):
    total = 0.0
    for row in _ranked(rel, scores):
        R = sum(r > 0 for r in row)
        hits, s = 0, 0.0
        for i, r in enumerate(row[:k]):
            if r > 0:
                hits += 1
                s += hits / (i + 1)
        den = {"min": min(k, R), "k": k, "R": R, "hits": hits}[divide]
        total += s / den if den else 0.0
    return total / len(rel)


def _ref_dcg(rel, scores, k, log_of_i=False, ideal_from_pred=False, exp_gain=False, ideal_from_topk=False,
             binary_gain=False, ideal_all_docs=False):
    """Mean NDCG@k by the definition, or by one of the usual mistakes."""
    total = 0.0
    for row in _ranked(rel, scores):
        gains = [(2 ** r - 1) if exp_gain else float(r > 0) if binary_gain else r for r in row]
        ideal = gains if ideal_from_pred else sorted(gains[:k] if ideal_from_topk else gains, reverse=True)
        # rank i (from 1) is discounted by log2(i + 1); the mistake uses log2(i), rank 1 left undiscounted
        disc = [1 / math.log2(max(i, 2)) if log_of_i else 1 / math.log2(i + 1) for i in range(1, len(row) + 1)]
        dcg = sum(g * w for g, w in zip(gains[:k], disc))
        idcg = sum(g * w for g, w in zip(ideal if ideal_all_docs else ideal[:k], disc))
        total += dcg / idcg if idcg > 0 else 0.0
    return total / len(rel)


def _ndcg_mistakes(rel, scores, k):
    return {"DCG discounted by log2(i) instead of log2(i + 1) (rank i counted from 1)": _ref_dcg(rel, scores, k, log_of_i=True),
            "IDCG taken from the predicted order: the ideal DCG sorts the relevances from the largest down":
                _ref_dcg(rel, scores, k, ideal_from_pred=True),
            "IDCG from the relevances of the predicted top k only: the ideal ranking sorts all of the query's "
            "relevances": _ref_dcg(rel, scores, k, ideal_from_topk=True),
            "gain 2^rel - 1 instead of rel: sklearn's ndcg_score uses the relevance itself as the gain":
                _ref_dcg(rel, scores, k, exp_gain=True),
            "binary gains (a relevant document counts 1): the gain is the graded relevance itself":
                _ref_dcg(rel, scores, k, binary_gain=True),
            "IDCG summed over all D documents: the ideal DCG stops at rank k, like the DCG":
                _ref_dcg(rel, scores, k, ideal_all_docs=True)}


def _map_mistakes(rel, scores, k):
    return {"AP@k divided by k instead of by min(k, R), the number of relevant documents (at most k)":
                _ref_map(rel, scores, k, "k"),
            "AP@k divided by R, all relevant documents of the query, instead of min(k, R)": _ref_map(rel, scores, k, "R"),
            "AP@k divided by the relevant documents found in the top k instead of by min(k, R)":
                _ref_map(rel, scores, k, "hits")}


library_gate("ndcg_at_k(relevance, scores, 2)", ndcg_at_k, to_device(torch.tensor([[1.0, 0.0, 2.0]])),
             to_device(torch.tensor([[0.3, 0.2, 0.1]])), 2)


def _check_rank(what, fn, rel, s, args, expected, **kwargs):
    """``fn`` on copies of ``rel`` and ``s`` (the reference values were computed before) equals ``expected``."""
    check_metric(call(what, fn, given(rel), given(s), *args), expected, what, **kwargs)


_g = torch.Generator().manual_seed(74)
clauses = Clauses(points=5)
with clauses.clause("mrr: mean over queries of 1 / rank of the first relevant document, 0 for a query without one", points=1):
    for _q, _d, _empty in ((20, 6, (3, 7)), (5, 12, ()), (8, 2, (0,))):
        _rel, _s = _ranking_case(_q, _d, _g, levels=2, empty_rows=_empty)
        _rel = _rel * (torch.rand(_q, _d, generator=_g) < 0.5)  # sparser, so the first hit is often late
        _what = f"mrr(relevance of shape ({_q}, {_d}) with {len(_empty)} all-irrelevant queries, scores)"
        _check_rank(_what, mrr, _rel, _s, (), _ref_mrr(_rel, _s), strict=False, mistakes={
            "queries without a relevant document were left out of the mean: they count 0":
                lambda v, r=_rel, s=_s: _empty != () and abs(float(v) - _ref_mrr(r[r.sum(1) > 0], s[r.sum(1) > 0])) < 1e-9,
            "a query without a relevant document counted as a hit at rank 1 (argmax of all-False hits is 0): it "
            "counts 0": _ref_mrr(_rel, _s, no_hit=1.0)})
with clauses.clause("ndcg_at_k equals sklearn's ndcg_score (linear gain, 1/log2(i + 1), ideal from sorted "
                    "relevances, 0 for all-irrelevant queries)", points=1):
    for _q, _d, _k, _empty in ((15, 8, 3, ()), (10, 5, 5, (2,)), (6, 10, 1, ()), (12, 6, 4, (0, 5)), (9, 7, 7, ())):
        _rel, _s = _ranking_case(_q, _d, _g, levels=4, empty_rows=_empty)
        _what = f"ndcg_at_k(graded relevance 0-3 of shape ({_q}, {_d}){' with all-irrelevant queries' if _empty else ''}, scores, k={_k})"
        _check_rank(_what, ndcg_at_k, _rel, _s, (_k,),
                     _sk_ndcg(_rel.numpy(), _s.numpy(), k=_k), strict=False, mistakes=_ndcg_mistakes(_rel, _s, _k))
    # fractional relevances below 1 (an ideal DCG below 1) and sparse queries
    _rel = torch.rand(12, 6, generator=_g, dtype=torch.float64) * (torch.rand(12, 6, generator=_g) < 0.3)
    _rel[0] = 0
    _s = torch.rand(12, 6, generator=_g, dtype=torch.float64)
    _what = "ndcg_at_k(sparse fractional relevances in [0, 1) of shape (12, 6), scores, k=3)"
    _check_rank(_what, ndcg_at_k, _rel, _s, (3,), _sk_ndcg(_rel.numpy(), _s.numpy(), k=3),
                 strict=False, mistakes=_ndcg_mistakes(_rel, _s, 3))
with clauses.clause("map_at_k as defined: P@i at the hits in the top k, divided by min(k, R); 0 when R = 0", points=1):
    for _q, _d, _k, _empty in ((20, 10, 3, (1,)), (10, 6, 5, ()), (15, 8, 1, (0, 4)), (6, 12, 8, ())):
        _rel, _s = _ranking_case(_q, _d, _g, levels=3, empty_rows=_empty)
        _what = f"map_at_k(relevance of shape ({_q}, {_d}), scores, k={_k})"
        _check_rank(_what, map_at_k, _rel, _s, (_k,), _ref_map(_rel, _s, _k),
                     strict=False, mistakes=_map_mistakes(_rel, _s, _k))
with clauses.clause("k larger than the number of documents: all D documents count (ndcg_at_k, map_at_k)", points=1):
    for _q, _d, _k in ((8, 4, 10), (5, 3, 50)):
        _rel, _s = _ranking_case(_q, _d, _g, levels=3, empty_rows=(1,))
        _what = f"ndcg_at_k(relevance of shape ({_q}, {_d}), scores, k={_k})"
        _check_rank(_what, ndcg_at_k, _rel, _s, (_k,),
                     _sk_ndcg(_rel.numpy(), _s.numpy(), k=_k), strict=False)
        _what = f"map_at_k(relevance of shape ({_q}, {_d}), scores, k={_k})"
        _check_rank(_what, map_at_k, _rel, _s, (_k,), _ref_map(_rel, _s, _k),
                     strict=False, mistakes=_map_mistakes(_rel, _s, _k))
_rel, _s = _ranking_case(10, 5, _g, levels=3, empty_rows=(2,))
_cases = [("float32", _rel.float(), _s.float()), ("float64", _rel, _s)]
_calls = (("mrr", mrr, ()), ("ndcg_at_k", ndcg_at_k, (3,)), ("map_at_k", map_at_k, (3,)))
with clauses.clause("each returns a 0-dim float64 tensor on the inputs' device, for float32 and float64 inputs",
                    points=0.5):
    for _dtype, _relc, _sc in _cases:
        for _name, _fn, _args in _calls:
            _what = f"{_name}({_dtype} relevance of shape (10, 5), {_dtype} scores{', k=3' if _args else ''})"
            check_metric(call(_what, _fn, given(_relc), given(_sc), *_args), 0.5, _what, strict=True, values=False)
with clauses.clause("each leaves relevance and scores unmodified (float32 and float64 inputs)", points=0.5):
    _returned = {}
    for _dtype, _relc, _sc in _cases:
        for _name, _fn, _args in _calls:
            _what = f"{_name}({_dtype} relevance of shape (10, 5), {_dtype} scores{', k=3' if _args else ''})"
            _reld, _sd = given(_relc), given(_sc)
            try:
                call(_what, _fn, _reld, _sd, *_args)
                _returned[_name] = _returned.get(_name, 0) + 1
            except CheckFailed:
                pass  # a call that fails is charged to the clause above; here only the inputs count
            unchanged(_relc, _reld, _what)
            unchanged(_sc, _sd, _what)
    for _name, _fn, _args in _calls:
        check(_returned.get(_name, 0) > 0,
              f"{_name} failed on every input above, so whether it leaves them unmodified is unknown.")
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part5]
# ## Part 5 — a streaming metric that merges (7 points)
#
# An evaluation loop sees the data one batch at a time, and a distributed one sees it on several
# workers; the metric must come out as if computed once over all samples.
#
# **`StreamingMetrics(num_classes, device="cpu")`**
# - `num_classes`: a Python `int ≥ 1`; `device`: where the state lives, given either as a string
#   (`"cpu"`, `"cuda"`) or as a `torch.device` (both must work).
# - `update(targets, preds, batch_loss)`: `targets`, `preds` as in Part 1 (one batch, `B ≥ 1` samples,
#   on `device`); `batch_loss` a 0-dim floating-point tensor on `device`, the **mean** loss of this
#   batch's `B` samples (what `F.cross_entropy` returns); it may require grad. Adds the batch to the
#   state; returns `None`; leaves its inputs unmodified.
# - `compute()`: returns a `dict` with exactly the keys `"accuracy"`, `"macro_f1"` and `"loss"`, each a
#   0-dim `float64` tensor on `device` that does not require grad, over **all samples** given since
#   the object was created or last reset: accuracy (correct / samples), macro-F1 over all
#   `num_classes` classes with `zero_division=0` (Part 2's `average="macro"`), and the mean loss per
#   sample, `Σ_b B_b · batch_loss_b / Σ_b B_b`. It does not change the state: calling it twice gives
#   the same values. With no samples (a new object, or one just reset), `accuracy` and `loss` are
#   `nan` (0 / 0) and `macro_f1` is `0.0` (every class's F1 has a zero denominator: `zero_division=0`).
# - `reset()`: forgets every update (the object is then as if just created); returns `None`.
# - `merge(other)`: `other` is another `StreamingMetrics` with the same `num_classes` and device (a
#   shard of the data seen by another worker). Adds `other`'s samples to this object's state, so
#   that `compute()` then equals one object updated with both shards' batches; returns `self`.
#   Leaves `other` unmodified and shares no tensor with it: later calls on either object
#   (`update`, `merge`, `reset`) never change what the other computes.
# - Exactness: counts are exact, and the loss is accumulated in `float64`, so any split of the same
#   samples into batches and shards, merged in any order, gives the same values as one pass
#   (to 1e-12).

# %% [answer id=streaming]
class StreamingMetrics:
    ### BEGIN SOLUTION
    def __init__(self, num_classes, device="cpu"):
        self.num_classes = num_classes
        self.device = torch.device(device)
        self.reset()

    def reset(self):
        self.confusion = torch.zeros(self.num_classes, self.num_classes, dtype=torch.int64, device=self.device)
        self.loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)

    def update(self, targets, preds, batch_loss):
        self.confusion += confusion_matrix(targets, preds, self.num_classes)
        self.loss_sum += batch_loss.detach().double() * targets.numel()

    def compute(self):
        cm = self.confusion.double()
        count = cm.sum()
        tp, predicted, support = cm.diagonal(), cm.sum(dim=0), cm.sum(dim=1)
        denominator = predicted + support
        f1 = torch.where(denominator > 0, 2 * tp / denominator.clamp(min=1), torch.zeros_like(tp))
        return {"accuracy": tp.sum() / count, "macro_f1": f1.mean(), "loss": self.loss_sum / count}

    def merge(self, other):
        self.confusion += other.confusion
        self.loss_sum += other.loss_sum
        return self
    ### END SOLUTION

# %% [tests id=test_streaming points=1]
# a mistake of Part 1 or 2 costs points in its own part only: correct versions stand in for them here
with stand_ins(confusion_matrix=reference_confusion_matrix, precision_recall_f1=reference_precision_recall_f1):
    metric = StreamingMetrics(3)
    metric.update(torch.tensor([0, 1, 2, 2]), torch.tensor([0, 1, 1, 2]), torch.tensor(1.0))
    metric.update(torch.tensor([1]), torch.tensor([1]), torch.tensor(3.0))
    result = call("StreamingMetrics(3).compute() after batches of 4 and 1 samples", metric.compute)
    check_type(result, dict, "StreamingMetrics.compute()")
    check_metric(result.get("accuracy"), 0.8, "accuracy after batches of 4 and 1 samples (4 of 5 correct)", strict=False)
    # to float32 precision: the float64 exactness of the loss is a hidden clause of its own
    check_metric(result.get("loss"), (4 * 1.0 + 1 * 3.0) / 5, "mean loss after batches of 4 (mean 1.0) and 1 (mean 3.0) samples",
                 strict=False, atol=1e-6, rtol=1e-5, mistakes={"the mean of the batch means: weight each batch's mean loss by its number of samples": 2.0})
    other = StreamingMetrics(3)
    other.update(torch.tensor([0]), torch.tensor([2]), torch.tensor(2.0))
    merged = call("metric.merge(other)", metric.merge, other)
    check(merged is metric, "metric.merge(other) must return metric itself (self).")
    check_metric(metric.compute().get("accuracy"), 4 / 6, "accuracy after merging a shard of 1 wrong sample", strict=False)
    print(metric.compute())
print("Part 5 visible tests passed.")

# %% [tests id=test_streaming_hidden points=6]
# Hidden tests for StreamingMetrics run here when your work is graded.
### BEGIN HIDDEN TESTS
from sklearn.metrics import confusion_matrix as _sk_cm
from sklearn.metrics import f1_score as _sk_f1

_dev = grading_device()


def _cm_reference(targets, preds, num_classes):
    return torch.as_tensor(_sk_cm(targets.cpu().numpy(), preds.cpu().numpy(), labels=list(range(num_classes)))).to(targets.device)


def _prf_reference(targets, preds, num_classes, average=None, zero_division=0.0):
    from sklearn.metrics import precision_recall_fscore_support
    out = precision_recall_fscore_support(targets.cpu().numpy(), preds.cpu().numpy(), labels=list(range(num_classes)),
                                          average=average, zero_division=zero_division)[:3]
    return tuple(torch.as_tensor(v, dtype=torch.float64).to(targets.device) for v in out)


def _data(n, c, g, absent=()):
    t, p = int_targets(n, c, g, absent), int_targets(n, c, g, absent)
    p = torch.where(torch.rand(n, generator=g) < 0.5, t, p)  # about half right
    losses = torch.rand(n, generator=g) * 3
    return t, p, losses


def _split(n, g, pieces):
    cuts = sorted(torch.randperm(n - 1, generator=g)[:pieces - 1].add(1).tolist())
    return [(a, b) for a, b in zip([0] + cuts, cuts + [n])]


def _batch_loss(losses, a, b, requires_grad=False):
    return losses[a:b].mean().to(_dev).requires_grad_(requires_grad)


def _expected(t, p, losses, c, batches):
    loss = sum((b - a) * float(losses[a:b].mean()) for a, b in batches) / len(t)
    return {"accuracy": float((t == p).double().mean()),
            "macro_f1": float(_sk_f1(t.numpy(), p.numpy(), labels=list(range(c)), average="macro", zero_division=0)),
            "loss": loss}


def _feed(metric, t, p, losses, batches, requires_grad=False):
    """Updates ``metric`` with copies of the batches (the reference values are computed before)."""
    for a, b in batches:
        call(f"StreamingMetrics.update(a batch of {b - a} samples)", metric.update,
             given(t[a:b]), given(p[a:b]), _batch_loss(losses, a, b, requires_grad))


_LOSS_TOLERANCE = {"atol": 1e-6, "rtol": 1e-5}  # the float64 exactness of the loss has its own clause


def _check_result(result, expected, what, strict=False, extra=None, exact_loss=False):
    check_type(result, dict, what)
    check_equal(sorted(result), ["accuracy", "loss", "macro_f1"], f"the keys of {what}")
    for key in ("accuracy", "macro_f1", "loss"):
        mistakes = dict((extra or {}).get(key, {}))
        tolerance = _LOSS_TOLERANCE if key == "loss" and not exact_loss else {}
        check_metric(result[key], expected[key], f"{key} of {what}", strict=strict, mistakes=mistakes, **tolerance)


def _new(c):
    return student_call(f"StreamingMetrics({c}, device={_dev.type!r})", StreamingMetrics, c, device=_dev.type)


def _snapshot(metric, what):
    """compute() of ``metric`` copied to the CPU, to compare bit for bit later."""
    result = call(what, metric.compute)
    check_type(result, dict, what)
    return {k: on_cpu(v).clone() if isinstance(v, torch.Tensor) else v for k, v in result.items()}


def _same_snapshot(before, after):
    return before.keys() == after.keys() and all(
        isinstance(before[k], torch.Tensor) and isinstance(after[k], torch.Tensor) and before[k].shape == after[k].shape
        and torch.allclose(before[k].double(), after[k].double(), atol=0, rtol=0, equal_nan=True) for k in before)


def _shares_tensor(a, b):
    """Whether objects ``a`` and ``b`` hold a tensor with the same storage (an alias)."""
    tensors = lambda o: [v for v in getattr(o, "__dict__", {}).values() if isinstance(v, torch.Tensor) and v.numel()]
    return any(x.untyped_storage().data_ptr() == y.untyped_storage().data_ptr() for x in tensors(a) for y in tensors(b))


def _show_snapshot(snapshot):
    return ", ".join(f"{k}={float(v):.6g}" if isinstance(v, torch.Tensor) and v.numel() == 1 else f"{k}={v!r}"
                     for k, v in snapshot.items())


_g = torch.Generator().manual_seed(75)
_t0, _p0, _l0 = _data(30, 4, _g)
with stand_ins(confusion_matrix=_cm_reference, precision_recall_f1=_prf_reference):  # a Part 1/2 mistake: not here
    _gate = _new(4)
    library_gate("StreamingMetrics.update", _gate.update, given(_t0), given(_p0), _batch_loss(_l0, 0, 30))
    library_gate("StreamingMetrics.compute", _gate.compute)
clauses = Clauses(points=6)
with stand_ins(confusion_matrix=_cm_reference, precision_recall_f1=_prf_reference):
    with clauses.clause("batches of unequal size: accuracy, macro-F1 over all classes and the per-sample mean "
                        "loss equal the one-shot values", points=1.5):
        for _n, _c, _pieces, _absent in ((97, 5, 6, (3,)), (40, 3, 2, ()), (61, 6, 9, (0, 5))):
            _t, _p, _l = _data(_n, _c, _g, _absent)
            _batches = _split(_n, _g, _pieces)
            _exp = _expected(_t, _p, _l, _c, _batches)
            _sizes = [b - a for a, b in _batches]
            _what = f"compute() after batches of {_sizes} samples (num_classes={_c})"
            _batch_mean = sum(float(_l[a:b].mean()) for a, b in _batches) / len(_batches)
            _present = sorted(set(_t.tolist()) | set(_p.tolist()))
            _per_class = _sk_f1(_t.numpy(), _p.numpy(), labels=list(range(_c)), average=None, zero_division=0)
            _extra = {
                "loss": {"the mean of the batch means: weight each batch's mean loss by its number of samples": _batch_mean,
                         "the sum of the batch losses was divided by the number of samples (weight each batch's "
                         "mean by its size)": sum(float(_l[a:b].mean()) for a, b in _batches) / _n},
                "macro_f1": {"macro-F1 averaged over the classes present only (it runs over all num_classes classes)":
                             float(_per_class[_present].mean()),
                             "macro-F1 averaged over batches: compute it once from the accumulated counts":
                             sum(_sk_f1(_t[a:b].numpy(), _p[a:b].numpy(), labels=list(range(_c)), average="macro",
                                        zero_division=0) for a, b in _batches) / len(_batches)},
                "accuracy": {"the mean of the per-batch accuracies: count correct samples over all batches":
                             sum(float((_t[a:b] == _p[a:b]).double().mean()) for a, b in _batches) / len(_batches)}}
            _m = _new(_c)
            _feed(_m, _t, _p, _l, _batches, requires_grad=True)
            _check_result(call(_what, _m.compute), _exp, _what, extra=_extra)
    with clauses.clause("the loss is accumulated in float64: over many batches of float32 and float64 losses it "
                        "equals the one-pass value to 1e-12", points=0.5):
        for _dtype in (torch.float32, torch.float64):
            _n = 600
            _t, _p, _ = _data(_n, 3, _g)
            _l = (torch.rand(_n, generator=_g, dtype=torch.float64) * 7).to(_dtype)
            _batches = _split(_n, _g, 150)
            _exp = _expected(_t, _p, _l, 3, _batches)
            _what = f"compute() after {len(_batches)} batches of {str(_dtype).replace('torch.', '')} losses"
            _m = _new(3)
            _feed(_m, _t, _p, _l, _batches)
            _result = call(_what, _m.compute)
            check_type(_result, dict, _what)
            check_metric(_result.get("loss"), _exp["loss"], f"loss of {_what}", strict=False, mistakes={
                "the loss was accumulated (or multiplied by the batch size) in float32: convert batch_loss to float64 "
                "before multiplying and adding": lambda v, e=_exp["loss"]: 1e-12 < abs(float(v) - e) <= 1e-5 * abs(e)})
    with clauses.clause("merge: shards of any split, merged in any order, equal one pass over all samples; returns "
                        "self; leaves other unmodified", points=1):
        for _n, _c, _shards in ((90, 4, 3), (50, 5, 2), (120, 3, 4)):
            _t, _p, _l = _data(_n, _c, _g)
            _bounds = _split(_n, _g, _shards)
            _plan = [[(_a + x, _a + y) for x, y in _split(_b - _a, _g, min(3, _b - _a))] if _b - _a > 2 else [(_a, _b)]
                     for _a, _b in _bounds]
            _all_batches = [batch for batches in _plan for batch in batches]
            _exp = _expected(_t, _p, _l, _c, _all_batches)
            _order = torch.randperm(_shards, generator=_g).tolist()
            _sizes = [b - a for a, b in _bounds]
            _what = f"compute() after merging shards of {_sizes} samples in the order {_order}"
            _shard_means = [sum((b - a) * float(_l[a:b].mean()) for a, b in _all_batches if s[0] <= a < s[1]) / (s[1] - s[0])
                            for s in _bounds]
            _extra = {"loss": {"merge added (or averaged) the shards' mean losses: merge sums and counts, then divide":
                               lambda v, m=_shard_means, k=_shards: any(abs(float(v) - x) < 1e-9 for x in (sum(m), sum(m) / k))}}
            _metrics = []
            for _batches in _plan:
                _m = _new(_c)
                _feed(_m, _t, _p, _l, _batches)
                _metrics.append(_m)
            _first = _metrics[_order[0]]
            _last_alone = call("compute() of the last shard before merging", _metrics[_order[-1]].compute)
            _last_alone = {k: float(v) for k, v in _last_alone.items()}
            for _i in _order[1:]:
                _back = call("merge(other)", _first.merge, _metrics[_i])
                check(_back is _first, "merge(other) must return self (the object merged into).")
            _check_result(call(_what, _first.compute), _exp, _what, extra=_extra)
            _after = call("compute() of a shard after it was merged into another", _metrics[_order[-1]].compute)
            _check_result(_after, _last_alone,
                          "compute() of a shard after it was merged into another (merge must leave other unmodified)")
    with clauses.clause("merge shares no state with other: later update, merge or reset of either object leaves "
                        "what the other computes unchanged", points=1):
        _t, _p, _l = _data(80, 4, _g)
        _shard, _rest, _third = _new(4), _new(4), _new(4)
        _feed(_shard, _t, _p, _l, [(0, 12), (12, 30)])
        _feed(_rest, _t, _p, _l, [(30, 55)])
        _feed(_third, _t, _p, _l, [(55, 80)])
        _hint = ("merge kept a reference to other's tensors (e.g. self.x = other.x when self is empty) and a later "
                 "in-place += changed them: copy them (other.x.clone(), or self.x = self.x + other.x)")
        for _into_fresh in (True, False):
            _target = _new(4) if _into_fresh else _rest
            _start = "a new object" if _into_fresh else "an object with samples"
            _before = _snapshot(_shard, "compute() of a shard before merging it")
            call("merge(shard)", _target.merge, _shard)
            _later = f"merge(shard) into {_start}, then update(...) and merge(another shard)"
            _feed(_target, _t, _p, _l, [(30, 40)] if _into_fresh else [(0, 10)])
            call("merge(another shard)", _target.merge, _third)
            _after = _snapshot(_shard, f"compute() of the shard after {_later}")
            check(_same_snapshot(_before, _after),
                  f"{_later} changed what the shard computes: before {_show_snapshot(_before)}, after "
                  f"{_show_snapshot(_after)}. merge must share no state with other.",
                  _hint if _shares_tensor(_target, _shard) else None)
        # the other way round: the shard's later calls never reach the object it was merged into
        _target = _new(4)
        call("merge(shard)", _target.merge, _shard)
        _before = _snapshot(_target, "compute() after merge(shard) into a new object")
        _feed(_shard, _t, _p, _l, [(40, 50)])
        call("shard.merge(another shard)", _shard.merge, _third)
        _after = _snapshot(_target, "compute() of the object a shard was merged into, after shard.update(...)")
        check(_same_snapshot(_before, _after),
              f"total.merge(shard) into a new object, then shard.update(...) and shard.merge(...) changed what total "
              f"computes: before {_show_snapshot(_before)}, after {_show_snapshot(_after)}. merge must share no "
              f"state with other.", _hint if _shares_tensor(_target, _shard) else None)
        call("shard.reset()", _shard.reset)
        _after = _snapshot(_target, "compute() of the object a shard was merged into, after shard.reset()")
        check(_same_snapshot(_before, _after),
              f"total.merge(shard) into a new object, then shard.reset() changed what total computes: before "
              f"{_show_snapshot(_before)}, after {_show_snapshot(_after)}. merge must share no state with other.")
    with clauses.clause("compute returns 0-dim float64 tensors on the device (given as a torch.device here), without "
                        "grad, and does not change the state (twice gives the same values); update leaves its inputs "
                        "unmodified", points=1):
        _t, _p, _l = _data(45, 4, _g)
        _batches = _split(45, _g, 3)
        _exp = _expected(_t, _p, _l, 4, _batches)
        _m = student_call(f"StreamingMetrics(4, device=torch.device({_dev.type!r}))", StreamingMetrics, 4, device=_dev)
        _td, _pd = given(_t), given(_p)
        for _a, _b in _batches:
            _bl = _batch_loss(_l, _a, _b, requires_grad=True)
            _before = _bl.detach().clone()
            call("update(targets, preds, batch_loss)", _m.update, _td[_a:_b], _pd[_a:_b], _bl)
            unchanged(_before, _bl.detach(), "update(targets, preds, batch_loss)")
        unchanged(_t, _td, "update(targets, preds, batch_loss)")
        unchanged(_p, _pd, "update(targets, preds, batch_loss)")
        _first = call("compute()", _m.compute)
        _check_result(_first, _exp, "compute() after 3 batches", strict=True)
        for _k, _v in _first.items():
            check(not _v.requires_grad, f"compute()[{_k!r}] requires grad: the state must hold detached values "
                                        f"(batch_loss.detach()), not the autograd graph.")
        _check_result(call("compute() again", _m.compute), _exp, "compute() called a second time", strict=True)
    with clauses.clause("reset forgets every update: the object then behaves as if just created", points=0.5):
        _t, _p, _l = _data(40, 3, _g)
        _t2, _p2, _l2 = _data(25, 3, _g)
        _b2 = _split(25, _g, 3)
        _exp2 = _expected(_t2, _p2, _l2, 3, _b2)
        _b1 = _split(40, _g, 2)
        _exp12 = _expected(torch.cat([_t, _t2]), torch.cat([_p, _p2]), torch.cat([_l, _l2]), 3,
                           _b1 + [(40 + a, 40 + b) for a, b in _b2])
        _sum1 = sum((b - a) * float(_l[a:b].mean()) for a, b in _b1)
        _sum2 = _exp2["loss"] * 25
        _kept = "reset() left part of the state (here {}) as it was: reset must clear every sum and count"
        _extra = {"accuracy": {_kept.format("the counts"): _exp12["accuracy"]},
                  "macro_f1": {_kept.format("the counts"): _exp12["macro_f1"]},
                  "loss": {_kept.format("the loss sum or the sample count"):
                           lambda v, c=((_sum1 + _sum2) / 25, (_sum1 + _sum2) / 65, _sum2 / 65):
                           any(abs(float(v) - x) < 1e-9 for x in c)}}
        _m = _new(3)
        _feed(_m, _t, _p, _l, _b1)
        call("compute()", _m.compute)
        check(call("reset()", _m.reset) is None, "reset() must return None.")
        _feed(_m, _t2, _p2, _l2, _b2)
        _check_result(call("compute() after reset() and 3 new batches", _m.compute), _exp2,
                      "compute() after reset() and 3 new batches", extra=_extra)
        _fresh = _new(3)
        _feed(_fresh, _t2, _p2, _l2, _b2)
        _m.reset()
        _m.merge(_fresh)
        _check_result(call("compute() after reset() then merge(a shard)", _m.compute), _exp2,
                      "compute() after reset() then merge(a shard)")
    with clauses.clause("with no samples (a new object) compute gives accuracy nan, macro_f1 0.0, loss nan",
                        points=0.5):
        _m = _new(3)
        _empty = {"accuracy": math.nan, "macro_f1": 0.0, "loss": math.nan}
        _guarded = "with no samples, 0 / 0 was guarded (e.g. clamp(min=1)) and gave 0: the contract asks for nan there"
        _extra = {"accuracy": {_guarded: 0.0}}
        _check_result(call("compute() of a new StreamingMetrics(3), before any update", _m.compute), _empty,
                      "compute() before any update", extra=_extra)  # after reset(): the reset clause
clauses.verdict()
### END HIDDEN TESTS
