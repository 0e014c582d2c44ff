# %% [markdown readonly id=intro]
# # Assignment 5 — Losses, written from scratch
#
# You will write, in six graded parts, the losses that lecture 5 takes apart, each one matching
# PyTorch's own function in value **and** gradient:
#
# 1. a numerically stable `logsumexp` and `log_softmax` (5 points);
# 2. `cross_entropy` with `weight`, `ignore_index`, `reduction` and `label_smoothing`, for
#    class-index and for probability targets (9 points);
# 3. `binary_cross_entropy_with_logits` with `weight` and `pos_weight` (4 points);
# 4. focal loss: the binary `sigmoid_focal_loss` and a multi-class `FocalLoss` module (5 points);
# 5. `huber_loss` and `smooth_l1_loss` (3 points);
# 6. `SoftmaxCrossEntropy`, a `torch.autograd.Function` with a hand-written backward (4 points).
#
# **The one rule.** Each part re-implements a PyTorch function: inside your code for a part you may
# not call PyTorch's version of what that part asks you to write (each part lists those functions,
# under any spelling: `torch.X`, `torch.nn.functional.X`, `tensor.X()`, `torch.special.X`, the
# `nn` module that wraps it). Any other operation is allowed: `exp`, `log`, `log1p`, `amax`, `max`,
# `gather`, `where`, `sigmoid`, `softplus`, `logsigmoid`, `clamp`, indexing, and the functions you
# wrote in earlier parts. The tests run your code with the forbidden functions switched off; calling
# one makes the part's tests fail.
#
# **Each part is graded on its own.** When the tests call your `log_softmax`, a correct `logsumexp`
# stands in for yours; when they call your code for Parts 2–6, correct `logsumexp` and `log_softmax`
# stand in for yours (the names `logsumexp` and `log_softmax` in this notebook). So a Part 1
# mistake costs points in Part 1 only.
#
# Each part states its contract, then gives you an answer cell (replace `raise NotImplementedError()`)
# and a visible test cell. The visible tests check the contract and double as examples; when you
# submit, hidden tests compare your functions with PyTorch on fresh random inputs, edge cases
# (logits of ±10⁴, ignored targets, `-inf`) and gradients, on the grading device. Press **Validate**
# to run everything.

# %% [readonly id=setup]
import inspect
import math
from contextlib import contextmanager

import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torch.overrides import TorchFunctionMode

from grader.checks import (CheckFailed, Clauses, check, check_close, check_equal, check_shape,
                           check_type, describe, student_call)
from grader.device import describe_device, to_device

torch.manual_seed(0)
print(describe_device())

# The PyTorch functions each part re-implements (by name, under any spelling).
SOFTMAX_FAMILY = ("logsumexp", "log_softmax", "softmax", "special_logsumexp", "special_log_softmax",
                  "special_softmax")
CROSS_ENTROPY_FAMILY = ("cross_entropy", "cross_entropy_loss", "nll_loss", "nll_loss2d", "nll_loss_nd")
BCE_FAMILY = ("binary_cross_entropy_with_logits", "binary_cross_entropy")
ROBUST_FAMILY = ("huber_loss", "smooth_l1_loss")


class _Forbidden(TorchFunctionMode):
    """While active, a call to one of torch's functions named in ``names`` fails the test."""

    def __init__(self, names, what):
        super().__init__()
        self.names, self.what = set(names), what

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in self.names and not _TRUSTED["depth"] and name in ("grad", "backward"):
            raise CheckFailed(f"{self.what} ran autograd (`torch.autograd.{name}`): the backward must compute the "
                              f"gradient from its formula, by hand.")
        if name in self.names and not _TRUSTED["depth"]:
            raise CheckFailed(f"{self.what} called PyTorch's own `{name}`, which this part asks you to "
                              f"write yourself (off limits here: {', '.join(sorted(self.names))}).")
        return func(*args, **(kwargs or {}))


def _focal_blocked(inputs, targets, alpha=0.25, gamma=2, reduction="none"):
    raise RuntimeError("torchvision.ops.sigmoid_focal_loss is off limits in this part")


NOTEBOOK = globals()  # the namespace your answers live in


# The functions of earlier parts, by the part that asks for them.
_PART_OF = {"logsumexp": 1, "log_softmax": 1, "cross_entropy": 2, "binary_cross_entropy_with_logits": 3}
_STAND_IN = {"names": ()}
_TRUSTED = {"depth": 0}


def _trusted(torch_function):
    """PyTorch's own function, standing in for yours: the part under test may call it freely."""
    def stand_in(*args, **kwargs):
        _TRUSTED["depth"] += 1
        try:
            return torch_function(*args, **kwargs)
        finally:
            _TRUSTED["depth"] -= 1
    return stand_in


_REFERENCES = {"logsumexp": _trusted(torch.logsumexp), "log_softmax": _trusted(torch.log_softmax),
               "cross_entropy": _trusted(F.cross_entropy),
               "binary_cross_entropy_with_logits": _trusted(F.binary_cross_entropy_with_logits)}


_ARITY = {"logsumexp": 3, "log_softmax": 2}  # (x, dim, keepdim) and (x, dim)


def _with_your_defaults(reference, yours, arity):
    """``reference``, called with the arguments bound as your function's signature binds them (so a
    default ``dim`` you gave your function is honoured)."""
    try:
        signature = inspect.signature(yours) if arity and callable(yours) else None
    except (TypeError, ValueError):
        signature = None
    if signature is None:
        return reference

    def stand_in(*args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            args, kwargs = tuple(bound.arguments.values())[:arity], {}
        except TypeError:
            pass
        return reference(*args, **kwargs)
    return stand_in


def grading_part(part):
    """The tests that follow grade ``part``: PyTorch's versions of the functions of earlier parts
    stand in for yours (under the same names), so a mistake is charged in its own part only."""
    _STAND_IN["names"] = tuple(name for name, owner in _PART_OF.items() if owner < part)


@contextmanager
def stand_ins(names=None):
    """While active, PyTorch's versions of the functions named in ``names`` (by default: those of the
    parts before the one under test) replace yours in this notebook."""
    names = _STAND_IN["names"] if names is None else names
    saved = {name: NOTEBOOK[name] for name in names if name in NOTEBOOK}
    NOTEBOOK.update({name: _with_your_defaults(_REFERENCES[name], saved.get(name), _ARITY.get(name)) for name in names})
    try:
        yield
    finally:
        for name in names:
            if name in saved:
                NOTEBOOK[name] = saved[name]
            else:
                NOTEBOOK.pop(name, None)


def call_without(forbidden, what, fn, *args, stand_in=None, **kwargs):
    """``student_call(what, fn, ...)`` with torch's functions named in ``forbidden`` switched off
    (torchvision's ``sigmoid_focal_loss`` too, when "sigmoid_focal_loss" is among them), and PyTorch's
    versions of the earlier parts' functions standing in for yours (see :func:`stand_ins`)."""
    focal = torchvision.ops.focal_loss.sigmoid_focal_loss
    code = focal.__code__
    if "sigmoid_focal_loss" in forbidden:
        focal.__code__ = _focal_blocked.__code__
    try:
        with stand_ins(stand_in), _Forbidden(forbidden, what):
            return student_call(what, fn, *args, **kwargs,
                                known_errors={"sigmoid_focal_loss is off limits":
                                              "called torchvision's sigmoid_focal_loss, which this part "
                                              "asks you to write yourself"})
    finally:
        focal.__code__ = code


def forbidden_gate(forbidden, what, fn, *args, **kwargs):
    """Fail (the whole test cell) if ``fn`` calls one of the functions its part re-implements;
    any other failure is left to the checks that follow."""
    try:
        call_without(forbidden, what, fn, *args, **kwargs)
    except CheckFailed as failure:
        if "off limits" in str(failure):
            raise


def upstream_like(out):
    """A fixed, non-uniform upstream gradient for ``out`` (so a wrong sum/mean shows in the gradient)."""
    return torch.linspace(0.5, 1.5, max(out.numel(), 1), dtype=out.dtype, device=out.device)[:out.numel()].reshape(out.shape)


def value_and_grad(what, fn, x, *args, forbidden=(), stand_in=None, **kwargs):
    """``fn(x, *args, **kwargs)`` and the gradient, with respect to ``x``, of ``(out * upstream).sum()``.

    ``x`` is copied into a fresh leaf that requires grad; the call runs as in :func:`call_without`.
    """
    x = x.detach().clone().requires_grad_(True)
    out = call_without(forbidden, what, fn, x, *args, stand_in=stand_in, **kwargs)
    check_type(out, torch.Tensor, what)
    if not out.requires_grad:
        raise CheckFailed(f"{what}: the result carries no gradient back to the input (requires_grad=False).\n"
                          f"Likely mistake: the computation left autograd (.item(), .detach(), numpy, or "
                          f"torch.no_grad())")
    with stand_ins(stand_in):
        (out * upstream_like(out.detach())).sum().backward()
    return _ValueAndGrad((out.detach(), x.grad), x.detach())


class _ValueAndGrad(tuple):
    """``(value, grad)``, remembering the input they were computed at (for the messages)."""

    def __new__(cls, pair, x):
        self = super().__new__(cls, pair)
        self.input = x
        return self


def _input_at_worst(got, expected, x):
    """' (the input there is x[i] = v)' at the index where ``got`` and ``expected`` differ most."""
    try:
        if not (torch.is_tensor(got) and got.shape == expected.shape == x.shape) or got.dim() == 0:
            return ""
        diff = (got.double() - expected.double()).abs().nan_to_num(nan=math.inf)
        worst = tuple(int(i) for i in torch.unravel_index(diff.argmax(), diff.shape))
        return f"\nAt index {worst} (the largest difference) the input is {x[worst].item():.6g}."
    except Exception:
        return ""


def check_value_and_grad(got, expected, what, atol=1e-6, rtol=1e-5, mistakes=None, grad_mistakes=None,
                         strict=True):
    """Compare two ``(value, grad)`` pairs from :func:`value_and_grad`.

    ``strict=False`` (the clauses about one option): a result of another shape with the same number
    of values, or of another floating dtype, is compared as if it had the expected ones; the clause
    that owns shape and dtype charges those (a mistake costs the points of one clause).
    """
    value = got[0]
    # A named mistake is only a candidate where its result differs from the right one.
    mistakes = {m: v for m, v in (mistakes or {}).items()
                if not (isinstance(v, torch.Tensor) and v.shape == expected[0].shape
                        and torch.allclose(v.double(), expected[0].double(), atol=1e-5, rtol=1e-4, equal_nan=True))}
    if not strict and isinstance(value, torch.Tensor):
        atol, rtol = max(atol, 1e-6), max(rtol, 1e-6)  # precision is the strict clause's business
        if value.numel() == expected[0].numel():
            value = value.reshape(expected[0].shape)
        if value.is_floating_point() and value.dtype != expected[0].dtype:
            value = value.to(expected[0].dtype)
            atol, rtol = max(atol, 1e-3), max(rtol, 1e-4)
    if strict and expected[0].dtype == torch.float64:
        mistakes["the result is accurate to about 1e-7 only: float64 inputs were computed in float32 somewhere "
                 "(or an epsilon was added); compute in the inputs' dtype"] = \
            lambda v: (isinstance(v, torch.Tensor) and v.shape == expected[0].shape
                       and torch.allclose(v.double(), expected[0].double(), atol=1e-5, rtol=1e-5))
    check_close(value, expected[0], what, atol=atol, rtol=rtol, mistakes=mistakes)
    if got[1] is None:
        raise CheckFailed(f"gradient of {what} with respect to its first input: none reached the input.")
    try:
        check_close(got[1], expected[1], f"gradient of {what} with respect to its first input",
                    atol=atol, rtol=rtol, mistakes=grad_mistakes)
    except CheckFailed as failure:
        x = getattr(got, "input", None)
        extra = _input_at_worst(got[1], expected[1], x) if x is not None else ""
        if not extra:
            raise
        raise CheckFailed(str(failure) + extra) from None


def lenient(value, expected):
    """``value`` reshaped and cast like ``expected`` when it holds as many values (for the clauses
    that do not own the shape and dtype sentences of a contract)."""
    if isinstance(value, torch.Tensor) and isinstance(expected, torch.Tensor) and value.numel() == expected.numel():
        value = value.reshape(expected.shape)
        if value.is_floating_point() and expected.is_floating_point():
            value = value.to(expected.dtype)
    return value


def extreme_logits(rows=4, classes=5, dtype=torch.float32):
    """Logits of ±10⁴ (and rows far apart) that overflow a naive exp."""
    x = torch.tensor([[1e4, -1e4, 0.0, 3.0, -2.0],
                      [-1e4, -1e4, -1e4 + 1, -1e4 + 0.5, -1e4 - 3],
                      [5000.0, 5000.5, -3.0, 1e4, 9999.0],
                      [-2.0, 0.5, 1.0, -1.0, 0.0]], dtype=dtype)
    return x[:rows, :classes]


def extreme_tol(dtype):
    """Tolerances for logits of ±1e4: float32 keeps about 3 decimals at 1e4, float64 about 12."""
    return dict(atol=1e-3, rtol=1e-4) if dtype == torch.float32 else dict(atol=1e-9, rtol=1e-9)

# %% [markdown readonly id=part1]
# ## Part 1 — a stable `logsumexp` and `log_softmax` (5 points)
#
# `log Σ exp(x)` overflows as soon as one `x` exceeds about 88 in `float32` (`exp(89)` is `inf`)
# and underflows to `log 0 = -inf` when every `x` is below about −104. Subtracting the maximum `m`
# first, `m + log Σ exp(x − m)`, gives the same number without either problem.
#
# **`logsumexp(x, dim, keepdim=False)`**
# - `x`: a floating-point tensor (`float32` or `float64`) of any shape, on any device; `dim`: one
#   `int` (negative values count from the end).
# - Returns `log(exp(x).sum(dim, keepdim))` computed stably: same dtype and device as `x`; shape of
#   `x` with `dim` removed, or kept with size 1 when `keepdim=True`. Exactly `torch.logsumexp`.
# - Finite values from `float32` inputs of any magnitude up to 10⁴ (no `inf`, no `nan`).
# - `-inf` entries (masked logits) contribute `exp(-inf) = 0`; a slice whose entries are **all**
#   `-inf` gives `-inf` (not `nan`).
# - Differentiable by autograd with the same gradient as `torch.logsumexp` (the softmax).
#
# **`log_softmax(x, dim)`**: the log of the softmax of `x` along `dim`, `x − logsumexp(x, dim)`,
# with the shape, dtype and device of `x`; stable like `logsumexp`; exactly `torch.log_softmax`
# in value and gradient.
#
# Off limits in this part: torch's `logsumexp`, `log_softmax` and `softmax`.

# %% [answer id=logsumexp]
def logsumexp(x, dim, keepdim=False):
    ### BEGIN SOLUTION
    m = x.amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isinf(m), torch.zeros_like(m), m)  # an all -inf slice stays -inf, not nan
    out = m + torch.log(torch.exp(x - m).sum(dim=dim, keepdim=True))
    return out if keepdim else out.squeeze(dim)
    ### END SOLUTION


def log_softmax(x, dim):
    ### BEGIN SOLUTION
    return x - logsumexp(x, dim, keepdim=True)
    ### END SOLUTION

# %% [tests id=test_logsumexp points=1]
grading_part(1)
x = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
got = call_without(SOFTMAX_FAMILY, "logsumexp(x, dim=1)", logsumexp, x, dim=1, stand_in=())
check_close(got, torch.logsumexp(x, dim=1), "logsumexp([[1, 2, 3], [0, 0, 0]], dim=1)")
check_shape(call_without(SOFTMAX_FAMILY, "logsumexp(x, dim=0, keepdim=True)", logsumexp, x, 0, keepdim=True, stand_in=()),
            (1, 3), "logsumexp(x of shape (2, 3), dim=0, keepdim=True)")
check_close(call_without(SOFTMAX_FAMILY, "log_softmax(x, dim=1)", log_softmax, x, 1, stand_in=("logsumexp",)),
            torch.log_softmax(x, dim=1), "log_softmax([[1, 2, 3], [0, 0, 0]], dim=1)")
big = torch.tensor([[1000.0, 1000.0], [-1000.0, -1001.0]])
check_close(call_without(SOFTMAX_FAMILY, "logsumexp(big, dim=1)", logsumexp, big, 1, stand_in=()),
            torch.logsumexp(big, dim=1), "logsumexp([[1000, 1000], [-1000, -1001]], dim=1)",
            mistakes={"exp overflowed or underflowed: subtract the maximum of each slice before exp "
                      "and add it back after the log": lambda t: not torch.isfinite(t).all()})
print(got)
print("Part 1 visible tests passed.")

# %% [tests id=test_logsumexp_hidden points=4]
# Hidden tests for logsumexp and log_softmax run here when your work is graded.
### BEGIN HIDDEN TESTS
grading_part(1)
_NAIVE = ("exp overflowed or underflowed (non-finite values): subtract the maximum of each slice along "
          "dim (not one maximum of the whole tensor) before exp, and add it back after the log")
_LSE_ONLY = ()                # logsumexp is tested on its own
_LS_ONLY = ("logsumexp",)     # log_softmax is tested with a correct logsumexp standing in for yours
forbidden_gate(SOFTMAX_FAMILY, "logsumexp(x, dim=1)", logsumexp, to_device(torch.randn(3, 4)), 1, stand_in=_LSE_ONLY)
forbidden_gate(SOFTMAX_FAMILY, "log_softmax(x, dim=1)", log_softmax, to_device(torch.randn(3, 4)), 1, stand_in=_LS_ONLY)
clauses = Clauses(points=4)
torch.manual_seed(51)
with clauses.clause("logsumexp matches torch.logsumexp in value, shape (keepdim), dtype and gradient", points=1):
    for _shape, _dim, _keep, _dtype in [((6, 7), 1, False, torch.float32), ((6, 7), 0, True, torch.float64),
                                        ((3, 4, 5), -1, False, torch.float64), ((3, 4, 5), 1, True, torch.float32),
                                        ((8,), 0, False, torch.float64), ((1, 6), 1, False, torch.float64),
                                        ((4, 1, 3), 2, False, torch.float32)]:
        _x = to_device(torch.randn(_shape, dtype=_dtype) * 3)
        _what = f"logsumexp(x of shape {_shape} {_dtype}, dim={_dim}, keepdim={_keep})"
        _got = value_and_grad(_what, logsumexp, _x, _dim, keepdim=_keep, forbidden=SOFTMAX_FAMILY, stand_in=_LSE_ONLY)
        _exp = value_and_grad(_what, torch.logsumexp, _x, _dim, keepdim=_keep)
        check_value_and_grad(_got, _exp, _what, mistakes={
            "the maximum was subtracted but not added back after the log":
                torch.logsumexp(_x, _dim, keepdim=_keep) - _x.amax(_dim, keepdim=_keep),
            "keepdim was ignored": lambda t, s=torch.logsumexp(_x, _dim, keepdim=not _keep).shape: t.shape == s})
with clauses.clause("log_softmax matches torch.log_softmax in value and gradient along any dim, "
                    "for ordinary logits and logits of ±1e4", points=1):
    _cases = [(torch.randn(5, 5, dtype=torch.float64) * 3, 0), (torch.randn(5, 5) * 3, 1),
              (torch.randn(2, 3, 4, dtype=torch.float64) * 3, 1), (torch.randn(4, 6, dtype=torch.float64) * 3, -1),
              (extreme_logits(dtype=torch.float64), 1), (extreme_logits(), 1), (extreme_logits().t().contiguous(), 0)]
    for _x, _dim in _cases:
        _x = to_device(_x)
        _what = f"log_softmax(x of shape {tuple(_x.shape)} {_x.dtype}{' with logits of ±1e4' if _x.abs().max() > 100 else ''}, dim={_dim})"
        _got = value_and_grad(_what, log_softmax, _x, _dim, forbidden=SOFTMAX_FAMILY, stand_in=_LS_ONLY)
        _exp = value_and_grad(_what, torch.log_softmax, _x, _dim)
        check_value_and_grad(_got, _exp, _what, **extreme_tol(_x.dtype), mistakes={
            "logsumexp was subtracted without keepdim=True, so it broadcast along the wrong dimension":
                _x - torch.logsumexp(_x, _dim) if _x.dim() == 2 and _x.shape[0] == _x.shape[1] else None,
            "log_softmax returned the softmax (no log)": torch.softmax(_x, _dim),
            "log_softmax was taken over the wrong dimension": torch.log_softmax(_x, (_dim + 1) % _x.dim()),
            "non-finite values: the log of a softmax that underflowed to 0 (or an exp that overflowed); "
            "compute x - logsumexp(x) instead": lambda t: not torch.isfinite(t).all()})
with clauses.clause("logsumexp is stable for logits of ±1e4 (finite, exact values and gradients)", points=1):
    for _dtype in (torch.float32, torch.float64):
        _x = to_device(extreme_logits(dtype=_dtype))
        for _x_dim, _dim in ((_x, 1), (_x.t().contiguous(), 0), (_x, -1)):
            _what = f"logsumexp(logits of ±1e4 of shape {tuple(_x_dim.shape)} {_dtype}, dim={_dim})"
            _got = value_and_grad(_what, logsumexp, _x_dim, _dim, forbidden=SOFTMAX_FAMILY, stand_in=_LSE_ONLY)
            _exp = value_and_grad(_what, torch.logsumexp, _x_dim, _dim)
            check_value_and_grad(_got, _exp, _what, **extreme_tol(_dtype), strict=False,
                                 mistakes={_NAIVE: lambda t: not torch.isfinite(t).all()})
with clauses.clause("logsumexp: -inf entries contribute 0, and an all -inf slice gives -inf", points=1):
    _ninf = -math.inf
    _x = to_device(torch.tensor([[0.5, _ninf, 2.0, _ninf], [_ninf, _ninf, _ninf, _ninf], [1.0, 1.0, _ninf, 3.0]]))
    for _keep in (False, True):
        _what = f"logsumexp([[0.5, -inf, 2, -inf], [-inf, -inf, -inf, -inf], [1, 1, -inf, 3]], dim=1, keepdim={_keep})"
        _expected = torch.logsumexp(_x, 1, keepdim=_keep)
        check_close(lenient(call_without(SOFTMAX_FAMILY, _what, logsumexp, _x, 1, keepdim=_keep, stand_in=_LSE_ONLY), _expected),
                    _expected, _what,
                    mistakes={"a slice of all -inf has maximum -inf, and x - max is then -inf - (-inf) = nan: "
                              "replace an infinite maximum by 0 before subtracting it":
                              lambda t: bool(torch.isnan(t.flatten()[1])) and bool(torch.isfinite(t.flatten()[[0, 2]]).all())})
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part2]
# ## Part 2 — `cross_entropy`, every option (9 points)
#
# **`cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0)`**
# computes exactly what `torch.nn.functional.cross_entropy` computes, with the same arguments.
# - `logits`: unnormalised scores, `float32` or `float64`, of shape `(N, C)` or `(N, C, d1, …, dk)`:
#   the classes are along dim 1 (an image segmentation model gives `(N, C, H, W)`).
# - `target` comes in one of two kinds:
#   - **class indices**: an `int64` tensor of shape `(N,)` or `(N, d1, …, dk)`, each value in
#     `[0, C)` or equal to `ignore_index`;
#   - **class probabilities**: a floating-point tensor with the shape and dtype of `logits`.
#   A floating-point `target` means probabilities; an integer one means indices.
# - `weight`: `None` or a 1-D tensor of `C` class weights (dtype and device of `logits`); below,
#   `w[c] = 1` for every class when it is `None`. `ε = label_smoothing`, in `[0, 1)`.
#   `log p = log_softmax(logits)` along dim 1.
#
# **Class indices.** For each element `i` (a sample, or a sample's position `(d1, …, dk)`) with
# target `y_i`:
#
#     ℓ_i = (1 − ε) · w[y_i] · (−log p_i[y_i])  +  (ε / C) · Σ_c w[c] · (−log p_i[c])
#
# (label smoothing moves `ε` of the target's mass to the uniform distribution: `ε / C` to **every**
# class, the true one included). An element with `y_i == ignore_index` has `ℓ_i = 0` and counts
# nowhere; `ignore_index` may be any integer, a valid class index too.
# - `reduction="none"`: the tensor of `ℓ_i`, shaped like `target`;
# - `reduction="sum"`: `Σ ℓ_i`;
# - `reduction="mean"`: `Σ ℓ_i / Σ w[y_i]`, the second sum over the elements that are not ignored:
#   the weighted mean is divided by the summed weights of the counted targets, **not** by `N`
#   (without `weight`, by the number of targets that are not ignored). If every target is ignored,
#   `"mean"` gives `nan` (0 / 0) and `"sum"` gives `0`.
#
# **Class probabilities** `t` (each slice `t_i[·]` along dim 1 is a distribution):
# smoothed `t' = (1 − ε) · t + ε / C`, then `ℓ_i = −Σ_c w[c] · t'_i[c] · log p_i[c]`; `"none"` gives
# the `ℓ_i` (shape `(N, d1, …, dk)`), `"sum"` their sum, and `"mean"` divides that sum by the number
# of elements `N · d1 ⋯ dk` (**not** by the weights, unlike class indices). `ignore_index` does not
# apply to probabilities (it is left at its default).
#
# The result has the dtype and device of `logits` (a 0-d tensor for `"mean"` and `"sum"`), carries
# torch's gradient with respect to `logits`, is exact for logits of ±10⁴ (no `inf`, no `nan`), and
# neither `logits` nor `target` is modified.
#
# Off limits in this part: torch's `cross_entropy` and `nll_loss` (`nn.CrossEntropyLoss`,
# `nn.NLLLoss`). Your `log_softmax` from Part 1 is what you need (torch's is allowed too).

# %% [answer id=cross_entropy]
def cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    ### BEGIN SOLUTION
    classes = logits.shape[1]
    logp = log_softmax(logits, dim=1)
    if weight is None:
        weight = torch.ones(classes, dtype=logits.dtype, device=logits.device)
    class_shape = [1] * logits.dim()
    class_shape[1] = classes
    w = weight.view(class_shape)
    if target.is_floating_point():
        soft = target * (1 - label_smoothing) + label_smoothing / classes
        loss = -(w * soft * logp).sum(dim=1)
        if reduction == "mean":
            return loss.sum() / loss.numel()
        return loss.sum() if reduction == "sum" else loss
    keep = target != ignore_index
    safe = torch.where(keep, target, torch.zeros_like(target))
    nll = -logp.gather(1, safe.unsqueeze(1)).squeeze(1)
    w_target = torch.where(keep, weight[safe], torch.zeros_like(nll))
    smooth = -(w * logp).sum(dim=1)
    loss = (1 - label_smoothing) * w_target * nll + (label_smoothing / classes) * smooth
    loss = torch.where(keep, loss, torch.zeros_like(loss))
    if reduction == "mean":
        return loss.sum() / w_target.sum()
    return loss.sum() if reduction == "sum" else loss
    ### END SOLUTION

# %% [tests id=test_cross_entropy points=2]
grading_part(2)
clauses = Clauses(points=2)
logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-1.0, 3.0, 0.0], [1.0, 1.0, 1.0]])
target = torch.tensor([0, 2, 1, -100])
with clauses.clause("class-index targets: mean, sum and none like F.cross_entropy", points=1):
    for reduction in ("mean", "sum", "none"):
        what = f"cross_entropy(logits, target, reduction={reduction!r})"
        got = call_without(CROSS_ENTROPY_FAMILY, what, cross_entropy, logits, target.clone(), reduction=reduction)
        check_close(got, F.cross_entropy(logits, target, reduction=reduction), what,
                    mistakes={"the sample with target -100 (= ignore_index) was counted in the mean's denominator":
                              F.cross_entropy(logits, target, reduction="sum") / 4})
with clauses.clause("weight, label_smoothing and probability targets like F.cross_entropy", points=1):
    target = torch.tensor([0, 2, 1, 1])
    weight = torch.tensor([1.0, 2.0, 0.5])
    what = "cross_entropy(logits, target, weight=[1, 2, 0.5])"
    expected = F.cross_entropy(logits, target, weight=weight)
    print(what, "should be", expected)
    check_close(call_without(CROSS_ENTROPY_FAMILY, what, cross_entropy, logits, target, weight=weight), expected, what,
                mistakes={"the weighted mean was divided by the number of targets: torch divides by the sum "
                          "of the weights of the counted targets":
                          F.cross_entropy(logits, target, weight=weight, reduction="sum") / 4})
    what = "cross_entropy(logits, target, label_smoothing=0.1)"
    check_close(call_without(CROSS_ENTROPY_FAMILY, what, cross_entropy, logits, target, label_smoothing=0.1),
                F.cross_entropy(logits, target, label_smoothing=0.1), what)
    probs = torch.softmax(torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 0.0], [3.0, 1.0, 0.0]]), dim=1)
    what = "cross_entropy(logits, probability targets)"
    check_close(call_without(CROSS_ENTROPY_FAMILY, what, cross_entropy, logits, probs),
                F.cross_entropy(logits, probs), what)
clauses.verdict()

# %% [tests id=test_cross_entropy_hidden points=7]
# Hidden tests for cross_entropy run here when your work is graded.
### BEGIN HIDDEN TESTS
grading_part(2)
def _ce_variant(logits, target, weight=None, ignore_index=-100, reduction="mean", ls=0.0, mistake=None):
    """torch's cross_entropy, or what a named mistake computes instead (for the messages)."""
    C = logits.shape[1]
    lp = torch.log_softmax(torch.softmax(logits, 1) if mistake == "softmax_first" else logits, 1)
    lp = lp.movedim(1, -1).reshape(-1, C)
    w = torch.ones(C, dtype=logits.dtype, device=logits.device) if weight is None else weight
    if mistake == "weight_ignored":
        w = torch.ones_like(w)
    if target.is_floating_point():
        t = target.movedim(1, -1).reshape(-1, C)
        if mistake != "no_smoothing":
            t = t * (1 - ls) + ls / C
        per = -(lp * t * w).sum(1)
        shape = target.movedim(1, -1).shape[:-1]
        if reduction == "none":
            return per.reshape(shape)
        if reduction == "sum":
            return per.sum()
        if mistake == "prob_div_n":
            return per.sum() / target.shape[0]
        return per.sum() / ((t * w).sum() if mistake == "prob_div_weights" else per.numel())
    y = target.reshape(-1)
    keep = y != ignore_index
    ys = torch.where(keep, y, torch.zeros_like(y))
    nll = -lp.gather(1, ys[:, None])[:, 0]
    wy = w[ys]
    wk = torch.where(keep, wy, torch.zeros_like(wy))
    eps = 0.0 if mistake == "no_smoothing" else ls
    smooth = -((lp * (1 if mistake == "smooth_unweighted" else w)).sum(1))
    if mistake == "k_minus_1":
        per = (1 - eps) * wk * nll + eps / (C - 1) * (smooth - wk * nll)
    else:
        per = (1 - eps) * wk * nll + eps / C * smooth
    if mistake == "smooth_weighted_by_target":
        per = wk * ((1 - eps) * nll + eps / C * (-lp.sum(1)))
    if mistake != "ignored_not_zeroed":
        per = torch.where(keep, per, torch.zeros_like(per))
    if reduction == "none":
        return per.reshape(target.shape)
    if reduction == "sum":
        return per.sum()
    if mistake == "div_n":
        return per.sum() / keep.sum()
    if mistake == "denominator_all":
        return per.sum() / wy.sum()
    if mistake == "mean_of_weighted":
        return per.sum() / y.numel()
    return per.sum() / wk.sum()


_CE_MISTAKES = {
    "div_n": "the weighted mean was divided by the number of targets: torch divides by the sum of the "
             "weights of the counted targets",
    "denominator_all": "ignored targets were counted in the mean's denominator",
    "mean_of_weighted": "the mean was taken over all N targets, ignored ones included (torch divides by "
                        "the summed weights of the counted targets)",
    "k_minus_1": "label smoothing spread ε over the C − 1 other classes; torch gives ε / C to every class, "
                 "the true one included",
    "smooth_unweighted": "the label-smoothing term was not weighted by the class weights (torch uses "
                         "Σ_c w[c]·(−log p[c]))",
    "smooth_weighted_by_target": "the label-smoothing term was weighted by the target's class weight w[y] "
                                 "instead of each class's own weight w[c]",
    "ignored_not_zeroed": "ignored targets must contribute a loss of exactly 0",
    "no_smoothing": "label_smoothing was ignored",
    "weight_ignored": "the weight argument was ignored",
    "softmax_first": "softmax was applied to the logits before log_softmax: cross_entropy takes raw logits "
                     "(a softmax first squashes them and the loss barely moves)",
    "prob_div_weights": "with probability targets torch's mean divides by the number of elements, not "
                        "by the weights",
    "prob_div_n": "with probability targets of shape (N, C, d1, ..., dk), 'mean' divides by the number of "
                  "elements N·d1⋯dk, not by N",
}


def _ce_case(what, logits, target, check_target_unchanged=False, strict=False, charge_mean=False, **options):
    """Check value and gradient of cross_entropy(logits, target, **options) against torch.

    ``strict``: this clause owns the shape and dtype sentences. Unless ``charge_mean``, a "mean" over
    class indices is skipped when the plain (or weighted) mean already failed: charged once.
    """
    weight = options.get("weight")
    ls = options.get("label_smoothing", 0.0)
    reduction = options.get("reduction", "mean")
    ignore_index = options.get("ignore_index", -100)
    if reduction == "mean" and not target.is_floating_point() and not charge_mean:
        if not _mean_ok or (weight is not None and not _weighted_mean_ok):
            return
    mistakes = {}
    for key, message in _CE_MISTAKES.items():
        variant = _ce_variant(logits, target, weight, ignore_index, reduction, ls, mistake=key)
        mistakes.setdefault(message, variant)
    if ignore_index != -100 and not target.is_floating_point():
        mistakes[f"the targets equal to ignore_index={ignore_index} were not ignored: the mask must compare the "
                 f"target with the ignore_index argument (not with -100, not with target < 0)"] = _ce_variant(
            logits, target, weight, -100, reduction, ls)
    mistakes["reduction='sum' and 'mean' were swapped"] = _ce_variant(
        logits, target, weight, ignore_index, {"sum": "mean", "mean": "sum"}.get(reduction, reduction), ls)
    expected = value_and_grad(what, F.cross_entropy, logits, target, **options)
    given = target if check_target_unchanged else target.clone()
    before = target.clone()
    got = value_and_grad(what, cross_entropy, logits, given, forbidden=CROSS_ENTROPY_FAMILY, **options)
    if check_target_unchanged and not torch.equal(given, before):
        given.copy_(before)
        raise CheckFailed(f"{what} modified its target argument in place (target {before.tolist()} became "
                          f"something else): work on a copy.")
    tol = 1e-9 if logits.dtype == torch.float64 else 1e-5
    check_value_and_grad(got, expected, what, atol=tol, rtol=tol * 10, mistakes=mistakes, strict=strict)


def _ce_agrees(logits, target, **options):
    """Whether the student's cross_entropy matches torch here (to charge a mistake in one clause only)."""
    try:
        _ce_case("", logits, target, charge_mean=True, **options)
        return True
    except CheckFailed:
        return False


torch.manual_seed(52)
_N, _C = 7, 5
_logits64 = to_device(torch.randn(_N, _C, dtype=torch.float64) * 2)
_logits32 = _logits64.float()
_y = to_device(torch.tensor([0, 4, 2, 2, 1, 3, 4]))
_w64 = to_device(torch.tensor([0.3, 2.0, 1.0, 0.7, 4.0], dtype=torch.float64))
_y_ign = to_device(torch.tensor([0, -100, 2, 2, -100, 3, 4]))
_y_ign2 = to_device(torch.tensor([0, 1, 2, 2, 1, 3, 4]))  # ignore_index=1 below: a valid class index
_mean_ok = _ce_agrees(_logits64, _y)
_weighted_mean_ok = _ce_agrees(_logits64, _y, weight=_w64)

forbidden_gate(CROSS_ENTROPY_FAMILY, "cross_entropy(logits, target)", cross_entropy, _logits32, _y)
clauses = Clauses(points=7)
with clauses.clause("class indices: value and gradient for each reduction, float32 and float64", points=1):
    for _logits in (_logits64, _logits32):
        for _r in ("mean", "sum", "none"):
            _ce_case(f"cross_entropy(logits {tuple(_logits.shape)} {_logits.dtype}, target, reduction={_r!r})",
                     _logits, _y, strict=True, charge_mean=True, reduction=_r)
with clauses.clause("weight: the weighted mean is divided by the summed weights of the targets", points=1):
    for _r in ("mean", "sum", "none"):
        _ce_case(f"cross_entropy(logits, target, weight={_w64.tolist()}, reduction={_r!r})",
                 _logits64, _y, charge_mean=True, weight=_w64, reduction=_r)
with clauses.clause("ignore_index: ignored targets give 0 and count nowhere (all ignored: mean nan, sum 0); "
                    "target not modified", points=1):
    for _target, _ii in ((_y_ign, -100), (_y_ign2, 1)):
        for _r, _w in (("mean", None), ("sum", None), ("none", None), ("sum", _w64), ("none", _w64), ("mean", _w64)):
            _ce_case(f"cross_entropy(logits, target {_target.tolist()}, ignore_index={_ii}, "
                     f"weight={None if _w is None else _w.tolist()}, reduction={_r!r})",
                     _logits64, _target, check_target_unchanged=True, ignore_index=_ii, weight=_w, reduction=_r)
    _all = to_device(torch.full((3,), 2))
    for _r in ("sum", "none") + (("mean",) if _mean_ok else ()):
        _what = f"cross_entropy(logits, target [2, 2, 2], ignore_index=2, reduction={_r!r}) (every target ignored)"
        _got = call_without(CROSS_ENTROPY_FAMILY, _what, cross_entropy, _logits64[:3], _all.clone(), ignore_index=2, reduction=_r)
        _expected = F.cross_entropy(_logits64[:3], _all, ignore_index=2, reduction=_r)
        check_close(lenient(_got, _expected), _expected, _what, atol=1e-6, rtol=1e-6,
                    mistakes={"a batch whose targets are all ignored must give nan for 'mean' (a sum of 0 divided by "
                              "0 counted targets), as torch does, not 0": lambda t: _r == "mean" and t.numel() == 1 and float(t) == 0.0})
with clauses.clause("label_smoothing: ε / C to every class, weighted by w[c], zero for ignored targets", points=1):
    for _w, _target, _r in ((None, _y, "mean"), (_w64, _y, "sum"), (_w64, _y_ign, "none"), (_w64, _y_ign, "sum"),
                            (None, _y_ign, "none"), (_w64, _y, "mean")):
        _ce_case(f"cross_entropy(logits, target {_target.tolist()}, label_smoothing=0.2, "
                 f"weight={None if _w is None else _w.tolist()}, reduction={_r!r})",
                 _logits64, _target, weight=_w, label_smoothing=0.2, reduction=_r)
with clauses.clause("inputs of shape (N, C, d1, ..., dk): classes along dim 1", points=1):
    _img = to_device(torch.randn(2, 4, 3, 5, dtype=torch.float64))
    _seg = to_device(torch.randint(0, 4, (2, 3, 5)))
    for _r in ("mean", "none"):
        _ce_case(f"cross_entropy(logits (2, 4, 3, 5), target (2, 3, 5), reduction={_r!r})", _img, _seg, reduction=_r)
    _ce_case("cross_entropy(logits (3, 3, 4), target (3, 4))", to_device(torch.randn(3, 3, 4, dtype=torch.float64)),
             to_device(torch.randint(0, 3, (3, 4))))
    _pimg = torch.softmax(to_device(torch.randn(2, 4, 3, 5, dtype=torch.float64)), 1)
    for _r in ("mean", "none"):  # (weights with probability targets are the next clause's business)
        _ce_case(f"cross_entropy(logits (2, 4, 3, 5), probability targets (2, 4, 3, 5), reduction={_r!r})",
                 to_device(torch.randn(2, 4, 3, 5, dtype=torch.float64)), _pimg, reduction=_r)
    # With every option, the (N, C, d1, ..., dk) loss must be the loss of the same elements laid out as (M, C).
    _seg[0, 1, 2] = -100
    _flat_logits, _flat_target = _img.movedim(1, -1).reshape(-1, 4), _seg.reshape(-1)
    for _r in ("mean", "none"):
        _opts = dict(weight=_w64[:4], label_smoothing=0.1, reduction=_r)
        _what = f"cross_entropy(logits (2, 4, 3, 5), target (2, 3, 5) with an ignored element, {_r!r}, weight, label_smoothing=0.1)"
        _got = call_without(CROSS_ENTROPY_FAMILY, _what, cross_entropy, _img, _seg.clone(), **_opts)
        _flat = call_without(CROSS_ENTROPY_FAMILY, "cross_entropy(the same elements as (30, 4) logits)", cross_entropy,
                             _flat_logits, _flat_target.clone(), **_opts)
        _flat = _flat.reshape(2, 3, 5) if _r == "none" and _flat.numel() == 30 else _flat
        check_close(lenient(_got, _flat), _flat,
                    _what + " compared with your cross_entropy on the same elements laid out as (30, 4) logits",
                    atol=1e-6, rtol=1e-6)
with clauses.clause("probability targets: smoothing t' = (1 − ε) t + ε / C, weights, mean over elements", points=1):
    _p = torch.softmax(to_device(torch.randn(_N, _C, dtype=torch.float64)), 1)
    for _opts in ({}, {"weight": _w64}, {"label_smoothing": 0.3}, {"weight": _w64, "label_smoothing": 0.1, "reduction": "none"},
                  {"weight": _w64, "reduction": "sum"}):
        _ce_case(f"cross_entropy(logits, probability targets, {_opts})", _logits64, _p, **_opts)
with clauses.clause("stable for logits of ±1e4 (values and gradients), logits not modified", points=1):
    for _dtype in (torch.float32, torch.float64):
        _x = to_device(extreme_logits(dtype=_dtype))
        _x_before = _x.clone()
        _t = to_device(torch.tensor([1, 0, 4, 2]))
        for _opts in ({"reduction": "none"}, {"reduction": "sum"}) + (({},) if _mean_ok else ()):
            _what = f"cross_entropy(logits of ±1e4 {_dtype}, target {_t.tolist()}, {_opts})"
            _got = value_and_grad(_what, cross_entropy, _x, _t, forbidden=CROSS_ENTROPY_FAMILY, **_opts)
            check_value_and_grad(_got, value_and_grad(_what, F.cross_entropy, _x, _t, **_opts), _what, **extreme_tol(_dtype), strict=False,
                                 mistakes={"exp overflowed or a probability underflowed to 0 before the log "
                                           "(non-finite loss): use a stable log_softmax":
                                           lambda t: not torch.isfinite(t).all()})
        _what = f"cross_entropy(logits of ±1e4 {_dtype}, probability targets)"
        _pt = torch.softmax(to_device(torch.randn(4, 5, dtype=_dtype)), 1)
        check_value_and_grad(value_and_grad(_what, cross_entropy, _x, _pt, forbidden=CROSS_ENTROPY_FAMILY),
                             value_and_grad(_what, F.cross_entropy, _x, _pt), _what, **extreme_tol(_dtype), strict=False,
                             mistakes={"exp overflowed or a probability underflowed to 0 before the log "
                                       "(non-finite loss): use a stable log_softmax":
                                       lambda t: not torch.isfinite(t).all()})
        call_without(CROSS_ENTROPY_FAMILY, "cross_entropy(logits, target)", cross_entropy, _x, _t)
        check(torch.equal(_x, _x_before), "cross_entropy modified its logits argument in place: work on a copy "
              "(e.g. x - x.max(...) instead of x -= ...).")
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part3]
# ## Part 3 — `binary_cross_entropy_with_logits` (4 points)
#
# Multi-label classification (several labels can be true at once) scores each label with its own
# sigmoid. `BCEWithLogitsLoss` takes the logits, not the probabilities, because `σ(x)` rounds to
# exactly `1.0` for large `x`, and `log(1 − σ(x))` is then `log 0`.
#
# **`binary_cross_entropy_with_logits(logits, target, weight=None, pos_weight=None, reduction="mean")`**
# computes exactly `torch.nn.functional.binary_cross_entropy_with_logits`:
# - `logits`: a `float32` or `float64` tensor of any shape; `target`: the same shape and dtype, values
#   in `[0, 1]` (soft labels such as 0.3 are allowed).
# - Element-wise, with `x` a logit and `t` its target:
#
#       ℓ = −w · [ p · t · log σ(x)  +  (1 − t) · log(1 − σ(x)) ]
#
#   `p = pos_weight` multiplies the **positive** term only; it broadcasts against `logits` like any
#   tensor, so a `pos_weight` of shape `(C,)` gives one weight per label (the last dim) of a
#   `(N, C)` batch. `w = weight` broadcasts the same way (shape `(C,)`, `(N, 1)` or the full shape).
#   Either is 1 when `None`.
# - `reduction="none"`: the element-wise `ℓ` (shape of `logits`); `"sum"`: their sum; `"mean"`:
#   their mean over **all elements** (divided by `logits.numel()`, not by the weights).
# - Stable: `log σ(x) = −softplus(−x)` and `log(1 − σ(x)) = −softplus(x)`; exact and finite for
#   logits of ±10⁴. The result has the dtype and device of `logits`, torch's gradient with respect to
#   `logits`, and the inputs are not modified.
#
# Off limits in this part: torch's `binary_cross_entropy_with_logits` and `binary_cross_entropy`
# (`nn.BCEWithLogitsLoss`, `nn.BCELoss`). `F.softplus`, `F.logsigmoid` and `torch.sigmoid` are fine.

# %% [answer id=bce_with_logits]
def binary_cross_entropy_with_logits(logits, target, weight=None, pos_weight=None, reduction="mean"):
    ### BEGIN SOLUTION
    log_p = F.logsigmoid(logits)        # log σ(x), stable
    log_not_p = F.logsigmoid(-logits)   # log(1 − σ(x)) = log σ(−x)
    positive = target * log_p
    if pos_weight is not None:
        positive = pos_weight * positive
    loss = -(positive + (1 - target) * log_not_p)
    if weight is not None:
        loss = weight * loss
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss
    ### END SOLUTION

# %% [tests id=test_bce_with_logits points=1]
grading_part(3)
_SATURATED = ("the loss saturates for large logits (the exact loss is about |x|): clamping the probabilities "
              "or the log (as BCELoss does) caps it; work with the logits (logsigmoid / softplus)")
logits = torch.tensor([[2.0, -1.0, 0.0], [-3.0, 0.5, 4.0]])
target = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
for kwargs in ({}, {"reduction": "none"}, {"pos_weight": torch.tensor([1.0, 3.0, 0.5])}):
    what = f"binary_cross_entropy_with_logits(logits, target, {kwargs})"
    got = call_without(BCE_FAMILY, what, binary_cross_entropy_with_logits, logits, target, **kwargs)
    check_close(got, F.binary_cross_entropy_with_logits(logits, target, **kwargs), what)
what = "binary_cross_entropy_with_logits([1e4, -1e4], [0, 1], reduction='none')"
got = call_without(BCE_FAMILY, what, binary_cross_entropy_with_logits, torch.tensor([1e4, -1e4]),
                   torch.tensor([0.0, 1.0]), reduction="none")
check_close(got, torch.tensor([1e4, 1e4]), what,
            mistakes={"log(sigmoid(x)) is log 0 = -inf once sigmoid rounds to 0 or 1: use logsigmoid / softplus":
                      lambda t: torch.isinf(t).any() or torch.isnan(t).any(),
                      _SATURATED: lambda t: bool(torch.isfinite(t).all()) and bool((t < 5000).all())})
print(got)
print("Part 3 visible tests passed.")

# %% [tests id=test_bce_with_logits_hidden points=3]
# Hidden tests for binary_cross_entropy_with_logits run here when your work is graded.
### BEGIN HIDDEN TESTS
grading_part(3)
_SATURATED = ("the loss saturates for large logits (the exact loss is about |x|): clamping the probabilities "
              "or the log (as BCELoss does) caps it; work with the logits (logsigmoid / softplus)")
def _bce_variant(x, t, weight=None, pos_weight=None, reduction="mean", mistake=None):
    ls, lns = F.logsigmoid(x), F.logsigmoid(-x)
    pw = 1 if pos_weight is None else pos_weight
    if mistake == "pos_on_negatives":
        per = -(t * ls + pw * (1 - t) * lns)
    elif mistake == "pos_on_both":
        per = -pw * (t * ls + (1 - t) * lns)
    else:
        per = -(pw * t * ls + (1 - t) * lns)
    w = 1 if weight is None or mistake == "weight_ignored" else weight
    per = w * per
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    if mistake == "mean_by_weights":
        return per.sum() / (w * torch.ones_like(per)).sum()
    if mistake == "mean_over_rows":
        return per.sum(-1).mean()
    return per.mean()


_BCE_MISTAKES = {
    "pos_on_negatives": "pos_weight was applied to the negative term: it multiplies t · log σ(x) only",
    "pos_on_both": "pos_weight multiplied the whole loss: it multiplies the positive term t · log σ(x) only",
    "weight_ignored": "the weight argument was ignored",
    "mean_by_weights": "the mean was divided by the sum of the weights: BCE's mean divides by the number of elements",
    "mean_over_rows": "the loss was summed over the labels and averaged over the rows: 'mean' averages over every element",
}


def _bce_case(what, x, t, strict=False, charge_mean=False, check_unchanged=False, **options):
    if options.get("reduction", "mean") == "mean" and not charge_mean and not _bce_mean_ok:
        return  # a wrong "mean" is charged once, in the first clause
    mistakes = {message: _bce_variant(x, t, mistake=key, **options) for key, message in _BCE_MISTAKES.items()}
    mistakes["log(sigmoid(x)) is log 0 = -inf once sigmoid rounds to 0 or 1: use logsigmoid / softplus "
             "on the logits"] = lambda v: not torch.isfinite(v).all()
    _big = F.binary_cross_entropy_with_logits(x, t, reduction="none", **{k: v for k, v in options.items()
                                                                          if k != "reduction"}) > 1000
    if options.get("reduction") == "none" and bool(_big.any()):
        mistakes[_SATURATED] = lambda v: bool(torch.isfinite(v).all()) and v.shape == _big.shape and bool((v[_big] < 1000).all())
    given = {"target": t.clone(), **{k: v.clone() for k, v in options.items() if torch.is_tensor(v)}}
    before = {k: v.clone() for k, v in given.items()}
    got = value_and_grad(what, binary_cross_entropy_with_logits, x, given["target"], forbidden=BCE_FAMILY,
                         **{**options, **{k: v for k, v in given.items() if k != "target"}})
    if check_unchanged:
        for _name, _value in given.items():
            check(torch.equal(_value, before[_name]),
                  f"{what} modified its {_name} argument in place ({describe(before[_name])} became "
                  f"{describe(_value)}): work on a copy (x = x * p, not x *= p on an argument or an alias of it).")
    expected = value_and_grad(what, F.binary_cross_entropy_with_logits, x, t, **options)
    tol = 1e-9 if x.dtype == torch.float64 else 1e-5
    check_value_and_grad(got, expected, what, atol=tol, rtol=tol * 10, mistakes=mistakes, strict=strict)


torch.manual_seed(53)
_x = to_device(torch.randn(6, 4, dtype=torch.float64) * 3)
_t = to_device(torch.tensor([[1.0, 0, 0, 1], [0, 0, 0, 0], [1, 1, 1, 0], [0, 1, 0, 0], [0.3, 0.9, 0.0, 0.5], [1, 0, 1, 1]],
                            dtype=torch.float64))
_pw = to_device(torch.tensor([3.0, 0.5, 2.0, 10.0], dtype=torch.float64))
_wrow = to_device(torch.tensor([[1.0], [0.5], [2.0], [0.0], [1.5], [3.0]], dtype=torch.float64))
forbidden_gate(BCE_FAMILY, "binary_cross_entropy_with_logits(logits, target)", binary_cross_entropy_with_logits, _x, _t)
try:
    _bce_case("", _x, _t, charge_mean=True)
    _bce_mean_ok = True
except CheckFailed:
    _bce_mean_ok = False
_pos_weight_ok = False  # set when the pos_weight clause holds: stability with pos_weight is checked only then
clauses = Clauses(points=3)
with clauses.clause("values and gradients for each reduction and soft targets, float32 and float64", points=1):
    for _r in ("mean", "sum", "none"):
        _bce_case(f"binary_cross_entropy_with_logits(logits (6, 4) float64, target, reduction={_r!r})", _x, _t,
                  strict=True, charge_mean=True, reduction=_r)
    _bce_case("binary_cross_entropy_with_logits(logits (6, 4) float32, target)", _x.float(), _t.float(), strict=True,
              charge_mean=True)
    _bce_case("binary_cross_entropy_with_logits(logits (2, 3, 4), target)", to_device(torch.randn(2, 3, 4, dtype=torch.float64)),
              to_device(torch.rand(2, 3, 4, dtype=torch.float64)), strict=True, charge_mean=True)
with clauses.clause("pos_weight multiplies the positive term per label; weight broadcasts; mean over elements", points=1):
    for _opts in ({"pos_weight": _pw}, {"pos_weight": _pw, "reduction": "none"}, {"weight": _wrow},
                  {"weight": _pw, "reduction": "sum"}, {"weight": _wrow, "pos_weight": _pw}):
        _bce_case(f"binary_cross_entropy_with_logits(logits (6, 4), target, "
                  f"{ {k: tuple(v.shape) if torch.is_tensor(v) else v for k, v in _opts.items()} })", _x, _t,
                  check_unchanged=True, **_opts)
    _pos_weight_ok = True
with clauses.clause("stable for logits of ±1e4 (exact values and gradients)", points=1):
    for _dtype in (torch.float32, torch.float64):
        _xe = to_device(torch.tensor([[1e4, -1e4, 50.0, -50.0], [-1e4, 1e4, 0.0, 200.0]], dtype=_dtype))
        _te = to_device(torch.tensor([[0.0, 1.0, 0.0, 1.0], [0.0, 1.0, 0.5, 0.0]], dtype=_dtype))
        for _opts in ({"reduction": "none"}, {"reduction": "sum"}, {"reduction": "mean"}) + \
                     (({"pos_weight": _pw.to(_dtype), "reduction": "none"},) if _pos_weight_ok else ()):
            _bce_case(f"binary_cross_entropy_with_logits(logits of ±1e4 {_dtype}, target, "
                      f"{ {k: 'tensor' if torch.is_tensor(v) else v for k, v in _opts.items()} })", _xe, _te, **_opts)
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part4]
# ## Part 4 — focal loss, binary and multi-class (5 points)
#
# Focal loss (Lin et al., 2017) multiplies each example's cross-entropy by `(1 − p_t)^γ`, where
# `p_t` is the probability the model gives the **true** label: examples the model already gets right
# (`p_t` near 1) fade out, so a flood of easy negatives no longer drowns the rare positives.
#
# **`sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="none")`** computes exactly
# `torchvision.ops.sigmoid_focal_loss` (note its default `reduction="none"`):
# - `inputs`: logits of any shape (`float32`/`float64`); `targets`: same shape and dtype, in `[0, 1]`.
# - `p = σ(inputs)`; `ce` = the element-wise binary cross-entropy with logits (no weights);
#   `p_t = p · t + (1 − p) · (1 − t)`; `loss = ce · (1 − p_t)^γ`.
# - If `alpha >= 0`: `loss = α_t · loss` with `α_t = α · t + (1 − α) · (1 − t)`: `alpha` weights the
#   **positives**, `1 − alpha` the negatives. A negative `alpha` (torchvision uses −1) means no
#   weighting.
# - `reduction`: `"none"` (element-wise, shape of `inputs`), `"mean"` (over all elements) or `"sum"`.
#   Stable for logits of ±10⁴; torch's gradient with respect to `inputs`.
#
# **`FocalLoss(alpha=None, gamma=2.0, reduction="mean")`**, an `nn.Module` for `C` classes:
# - `alpha`: `None` or `C` per-class weights (a list of floats or a 1-D tensor). The module stores it
#   with `register_buffer` as a floating-point tensor named `alpha` (or registers `None` when not
#   given), so that `.to(...)` moves it and `state_dict()` saves it; `gamma` and `reduction` are
#   stored as attributes of the same names.
# - `forward(logits, target)`: `logits` `(N, C)` (`float32`/`float64`), `target` `(N,)` `int64`
#   class indices. With `log p_t = log_softmax(logits)[i, y_i]` and `p_t = exp(log p_t)`:
#
#       ℓ_i = −α[y_i] · (1 − p_t)^γ · log p_t         (α[y] = 1 when alpha is None)
#
# - `"none"`: the `(N,)` tensor of `ℓ_i`; `"sum"`: their sum; `"mean"`: `Σ ℓ_i / Σ α[y_i]`, the
#   normalisation of `cross_entropy`'s weighted mean, so that with `gamma=0`
#   `FocalLoss(alpha, gamma=0)(logits, target)` equals `F.cross_entropy(logits, target, weight=alpha)`
#   (plain cross-entropy when `alpha` is `None`).
# - The result has the dtype and device of `logits`; stable for logits of ±10⁴.
#
# Off limits in this part: torchvision's `sigmoid_focal_loss`. Torch's `binary_cross_entropy_with_logits`,
# `cross_entropy` and `log_softmax` are allowed here (so are yours).

# %% [answer id=focal_loss]
def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    ### BEGIN SOLUTION
    p = torch.sigmoid(inputs)
    ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss
    ### END SOLUTION


class FocalLoss(nn.Module):
    def __init__(self, alpha=None, gamma=2.0, reduction="mean"):
        super().__init__()
        ### BEGIN SOLUTION
        self.register_buffer("alpha", None if alpha is None else torch.as_tensor(alpha, dtype=torch.float32))
        self.gamma = gamma
        self.reduction = reduction
        ### END SOLUTION

    def forward(self, logits, target):
        ### BEGIN SOLUTION
        log_pt = F.log_softmax(logits, dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
        loss = -(1 - log_pt.exp()) ** self.gamma * log_pt
        if self.alpha is None:
            alpha_t = torch.ones_like(loss)
        else:
            alpha_t = self.alpha.to(logits.dtype)[target]
        loss = alpha_t * loss
        if self.reduction == "mean":
            return loss.sum() / alpha_t.sum()
        return loss.sum() if self.reduction == "sum" else loss
        ### END SOLUTION

# %% [tests id=test_focal_loss points=1]
grading_part(4)
x = torch.tensor([[2.0, -1.0], [0.0, 3.0], [-2.0, -0.5]])
t = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
for kwargs in ({}, {"alpha": 0.75, "gamma": 1.0, "reduction": "mean"}):
    what = f"sigmoid_focal_loss(x, t, {kwargs})"
    got = call_without(("sigmoid_focal_loss",), what, sigmoid_focal_loss, x, t, **kwargs)
    check_close(got, torchvision.ops.sigmoid_focal_loss(x, t, **kwargs), what,
                mistakes={"alpha weighted the negatives and 1 - alpha the positives: alpha_t = alpha * t + (1 - alpha) * (1 - t)":
                          torchvision.ops.sigmoid_focal_loss(x, t, **{**kwargs, "alpha": 1 - kwargs.get("alpha", 0.25)})})
logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-1.0, 3.0, 0.0]])
target = torch.tensor([0, 1, 1])
focal = student_call("FocalLoss(alpha=[1.0, 2.0, 0.5], gamma=0.0)", FocalLoss, alpha=[1.0, 2.0, 0.5], gamma=0.0)
check_type(focal, nn.Module, "FocalLoss(...)")
what = "FocalLoss(alpha=[1, 2, 0.5], gamma=0)(logits, target)"
check_close(call_without(("sigmoid_focal_loss",), what, focal, logits, target),
            F.cross_entropy(logits, target, weight=torch.tensor([1.0, 2.0, 0.5])), what + ", which must equal cross_entropy")
print("Part 4 visible tests passed.")

# %% [tests id=test_focal_loss_hidden points=4]
# Hidden tests for sigmoid_focal_loss and FocalLoss run here when your work is graded.
### BEGIN HIDDEN TESTS
grading_part(4)
def _focal_ref(logits, target, alpha=None, gamma=2.0, reduction="mean", mistake=None):
    lp = torch.log_softmax(logits, 1)
    lpt = lp.gather(1, target[:, None])[:, 0]
    if mistake == "sigmoid_pt":
        lpt = F.logsigmoid(logits.gather(1, target[:, None])[:, 0])
    per = -(1 - lpt.exp()) ** gamma * lpt
    if mistake == "gamma_on_pt":
        per = -(lpt.exp()) ** gamma * lpt
    a = torch.ones_like(per) if alpha is None else alpha.to(logits.dtype)[target]
    if mistake == "alpha_pred" and alpha is not None:
        a = alpha.to(logits.dtype)[logits.argmax(1)]
    per = a * per
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    if mistake == "mean_n":
        return per.mean()
    return per.sum() / a.sum()


_FOCAL_MISTAKES = {
    "alpha_pred": "alpha was indexed by the predicted class: it is the weight of the target class, alpha[target]",
    "mean_n": "the mean was divided by N: like cross_entropy's weighted mean, it divides by the sum of alpha[target]",
    "gamma_on_pt": "the modulating factor was p_t ** gamma: it is (1 - p_t) ** gamma",
    "sigmoid_pt": "p_t was taken from a sigmoid of the target's logit: the multi-class loss uses the softmax",
}
def _binary_focal_p_variant(x, t, opts):
    """The binary focal loss with (1 - p) ** gamma in place of (1 - p_t) ** gamma."""
    alpha, gamma, reduction = opts.get("alpha", 0.25), opts.get("gamma", 2.0), opts.get("reduction", "none")
    p = torch.sigmoid(x)
    per = F.binary_cross_entropy_with_logits(x, t, reduction="none") * (1 - p) ** gamma
    if alpha >= 0:
        per = per * (alpha * t + (1 - alpha) * (1 - t))
    return {"none": per, "mean": per.mean(), "sum": per.sum()}[reduction]


def _focal_saturated(expected):
    """A predicate: finite everywhere, and capped (between 1 and 1000) wherever the exact loss exceeds 1000."""
    big = expected > 1000
    if not bool(big.any()):
        return None
    def saturated(v):
        if not (torch.is_tensor(v) and v.shape == expected.shape and bool(torch.isfinite(v).all())):
            return False
        return bool((v[big] < 1000).all()) and bool((v[big] > 1).all())
    return saturated


def _binary_focal_variant(x, t, alpha, gamma, reduction):
    """torchvision's formula with the alpha weighting applied whatever the sign of alpha."""
    per = torchvision.ops.sigmoid_focal_loss(x, t, alpha=-1, gamma=gamma) * (alpha * t + (1 - alpha) * (1 - t))
    return {"none": per, "mean": per.mean(), "sum": per.sum()}[reduction]


torch.manual_seed(54)
forbidden_gate(("sigmoid_focal_loss",), "sigmoid_focal_loss(inputs, targets)", sigmoid_focal_loss,
             to_device(torch.randn(3, 2)), to_device(torch.rand(3, 2)))
clauses = Clauses(points=4)
with clauses.clause("sigmoid_focal_loss equals torchvision's in value and gradient (alpha, gamma, reductions, ±1e4)", points=1):
    _x = to_device(torch.randn(5, 4, dtype=torch.float64) * 3)
    _t = to_device((torch.rand(5, 4) > 0.6).double())
    _t[0, 0] = 0.3
    _cases = [(_x, _t, {}), (_x, _t, {"alpha": 0.8, "gamma": 1.0, "reduction": "mean"}),
              (_x, _t, {"alpha": -1, "gamma": 2.0, "reduction": "sum"}), (_x, _t, {"alpha": 0.25, "gamma": 0.0}),
              (_x, _t, {"alpha": 0.0, "reduction": "sum"}),
              (_x.float(), _t.float(), {"gamma": 3.0, "reduction": "mean"}),
              (to_device(torch.tensor([[1e4, -1e4, 30.0], [-1e4, 1e4, -30.0]])),
               to_device(torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])), {"reduction": "none"})]
    for _xi, _ti, _opts in _cases:
        _what = f"sigmoid_focal_loss(inputs {tuple(_xi.shape)} {_xi.dtype}, targets, {_opts})"
        _alpha = _opts.get("alpha", 0.25)
        _got = value_and_grad(_what, sigmoid_focal_loss, _xi, _ti, forbidden=("sigmoid_focal_loss",), **_opts)
        _exp = value_and_grad(_what, torchvision.ops.sigmoid_focal_loss, _xi, _ti, **_opts)
        _tol = 1e-9 if _xi.dtype == torch.float64 else 1e-5
        check_value_and_grad(_got, _exp, _what, atol=_tol, rtol=_tol * 10, mistakes={
            "alpha weighted the negatives and 1 - alpha the positives: alpha_t = alpha * t + (1 - alpha) * (1 - t)":
                torchvision.ops.sigmoid_focal_loss(_xi, _ti, **{**_opts, "alpha": 1 - _alpha}) if _alpha >= 0 else None,
            "a negative alpha must switch the alpha weighting off (torchvision applies it only when alpha >= 0)":
                _binary_focal_variant(_xi, _ti, _alpha, _opts.get("gamma", 2.0), _opts.get("reduction", "none"))
                if _alpha < 0 else None,
            "the modulating factor used p = sigmoid(x) for every element: it is (1 - p_t) ** gamma with "
            "p_t = p * t + (1 - p) * (1 - t)": _binary_focal_p_variant(_xi, _ti, _opts),
            "log(sigmoid(x)) is -inf once sigmoid rounds to 0 or 1: compute the cross-entropy from the logits":
                lambda v: not torch.isfinite(v).all(),
            "alpha=0 was treated as 'no weighting': torchvision weights whenever alpha >= 0 (alpha=0 gives the "
            "positives weight 0), and only a negative alpha switches the weighting off":
                torchvision.ops.sigmoid_focal_loss(_xi, _ti, **{**_opts, "alpha": -1}) if _alpha == 0 else None,
            "the loss saturates at the logits of ±1e4 (the exact loss there is thousands): the cross-entropy "
            "came from clamped probabilities or logs; compute it from the logits (logsigmoid / softplus)":
                _focal_saturated(_exp[0]) if _opts.get("reduction", "none") == "none" else None})
_xm = to_device(torch.randn(8, 4, dtype=torch.float64) * 2)
_ym = to_device(torch.tensor([0, 1, 2, 3, 3, 1, 0, 2]))
_alpha = [0.25, 1.0, 2.0, 0.5]
_alpha_t = to_device(torch.tensor(_alpha, dtype=torch.float64))


def _focal_case(what, module, logits, target, alpha, gamma, reduction):
    got = value_and_grad(what, module, logits, target, forbidden=("sigmoid_focal_loss",))
    expected = value_and_grad(what, _focal_ref, logits, target, alpha=alpha, gamma=gamma, reduction=reduction)
    mistakes = {m: _focal_ref(logits, target, alpha, gamma, reduction, mistake=k) for k, m in _FOCAL_MISTAKES.items()}
    check_value_and_grad(got, expected, what, atol=1e-9, rtol=1e-8, mistakes=mistakes)


_b_ok = False
with clauses.clause("FocalLoss: ℓ_i = −alpha[y]·(1 − p_t)^gamma·log p_t, reductions 'none' and 'sum'", points=1):
    for _a, _g, _r in ((_alpha, 2.0, "none"), (_alpha, 1.5, "sum"), (_alpha, 3.0, "none"), (None, 2.0, "none")):
        _m = to_device(student_call(f"FocalLoss(alpha={_a}, gamma={_g}, reduction={_r!r})", FocalLoss,
                                    alpha=_a, gamma=_g, reduction=_r))
        _focal_case(f"FocalLoss(alpha={_a}, gamma={_g}, reduction={_r!r})(logits (8, 4) float64, target)",
                    _m, _xm, _ym, None if _a is None else _alpha_t, _g, _r)
    _b_ok = True
with clauses.clause("FocalLoss 'mean' divides by Σ alpha[target]; with gamma=0 it is cross_entropy(weight=alpha)", points=1):
    for _a in (_alpha, None):
        _mean = to_device(student_call(f"FocalLoss(alpha={_a}, gamma=2.0)", FocalLoss, alpha=_a, gamma=2.0))
        _sum = to_device(student_call(f"FocalLoss(alpha={_a}, gamma=2.0, reduction='sum')", FocalLoss, alpha=_a,
                                      gamma=2.0, reduction="sum"))
        _what = f"FocalLoss(alpha={_a}, gamma=2)(logits, target) (reduction='mean')"
        _got = call_without(("sigmoid_focal_loss",), _what, _mean, _xm, _ym)
        _total = call_without(("sigmoid_focal_loss",), _what, _sum, _xm, _ym)
        _norm = _alpha_t[_ym].sum() if _a is not None else torch.tensor(float(len(_ym)), dtype=torch.float64)
        check_close(lenient(_got, _total / _norm), _total / _norm, _what + ", compared with your reduction='sum' result divided by "
                    + ("Σ alpha[target]" if _a is not None else "N"), atol=1e-9, rtol=1e-8,
                    mistakes={"the mean was divided by N: like cross_entropy's weighted mean, it divides by the sum "
                              "of alpha[target]": _total / len(_ym)})
        if _b_ok:  # a mistake in the per-sample formula is charged in the clause above only
            _m0 = to_device(student_call(f"FocalLoss(alpha={_a}, gamma=0.0)", FocalLoss, alpha=_a, gamma=0.0))
            _what = f"FocalLoss(alpha={_a}, gamma=0)(logits, target)"
            _w = None if _a is None else _alpha_t
            check_value_and_grad(value_and_grad(_what, _m0, _xm, _ym, forbidden=("sigmoid_focal_loss",)),
                                 value_and_grad(_what, F.cross_entropy, _xm, _ym, weight=_w),
                                 _what + " (must equal cross_entropy)", atol=1e-9, rtol=1e-8, strict=False)
with clauses.clause("FocalLoss is an nn.Module whose alpha is a buffer (moves with .to, saved in state_dict); "
                    "stable for ±1e4", points=1):
    _m = student_call(f"FocalLoss(alpha={_alpha})", FocalLoss, alpha=_alpha)
    check_type(_m, nn.Module, "FocalLoss(...)")
    _buffers = dict(_m.named_buffers())
    check("alpha" in _buffers and torch.is_tensor(_buffers["alpha"]),
          f"FocalLoss(alpha={_alpha}) must register alpha as a buffer named 'alpha'; its buffers are {sorted(_buffers)}"
          + (", and alpha is a plain attribute: register_buffer('alpha', ...) lets .to(device) move it"
             if "alpha" in vars(_m) else
             ", and alpha is a Parameter (trained by the optimizer): register it as a buffer"
             if "alpha" in _m._parameters else "") + ".")
    check(_buffers["alpha"].is_floating_point(), "the alpha buffer must be a floating-point tensor.")
    check_close(_buffers["alpha"].double(), torch.tensor(_alpha, dtype=torch.float64), "the alpha buffer's values", atol=1e-6)
    check("alpha" in _m.state_dict(), "FocalLoss(alpha=...).state_dict() must hold 'alpha' (a persistent buffer).")
    _m = _m.to(torch.float64)
    check(_m.alpha.dtype == torch.float64, "after FocalLoss(...).to(torch.float64) the alpha buffer must be float64: "
          "register it with register_buffer.")
    _mt = student_call("FocalLoss(alpha=torch.tensor([...], dtype=torch.float64))", FocalLoss,
                       alpha=torch.tensor(_alpha, dtype=torch.float64))
    check("alpha" in dict(_mt.named_buffers()), "FocalLoss(alpha=<a 1-D tensor>) must register alpha as a buffer named 'alpha'.")
    check_close(_mt.alpha.double().cpu(), torch.tensor(_alpha, dtype=torch.float64),
                "the alpha buffer of FocalLoss(alpha=<a 1-D tensor>)", atol=1e-6)
    _mi = student_call("FocalLoss(alpha=[1, 2, 1, 3])", FocalLoss, alpha=[1, 2, 1, 3])
    check(dict(_mi.named_buffers()).get("alpha") is not None and _mi.alpha.is_floating_point(),
          "FocalLoss(alpha=[1, 2, 1, 3]) (integer weights) must store alpha as a floating-point tensor.",
          hint="torch.tensor of a list of ints is an int64 tensor: give it a floating dtype")
    _none = student_call("FocalLoss(alpha=None)", FocalLoss)
    check(getattr(_none, "alpha", "absent") is None, "FocalLoss(alpha=None).alpha must be None.")
    check("alpha" in _none._buffers,
          "FocalLoss(alpha=None) must register alpha as a buffer set to None (register_buffer('alpha', None)), so "
          "that a later module.alpha = tensor is a buffer too; its buffers are "
          f"{sorted(_none._buffers)}" + (", and alpha is a plain attribute" if "alpha" in vars(_none) else "") + ".")
    _xe = to_device(extreme_logits(dtype=torch.float64)[:, :4])
    _ye = to_device(torch.tensor([1, 0, 3, 2]))
    _me = to_device(student_call("FocalLoss(reduction='none')", FocalLoss, reduction="none"))
    _what = "FocalLoss(reduction='none')(logits of ±1e4, target)"
    _got = value_and_grad(_what, _me, _xe, _ye, forbidden=("sigmoid_focal_loss",))
    check(bool(torch.isfinite(_got[0]).all()) and bool(torch.isfinite(_got[1]).all()),
          f"{_what}: the loss or its gradient is not finite ({describe(_got[0])}).",
          hint="p_t or log p_t was computed from a softmax that under- or overflowed: take log p_t from log_softmax")
    if _b_ok:
        check_value_and_grad(_got, value_and_grad(_what, _focal_ref, _xe, _ye, gamma=2.0, reduction="none"), _what,
                             atol=1e-9, rtol=1e-8, strict=False)
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part5]
# ## Part 5 — Huber and Smooth L1 (3 points)
#
# Both are quadratic near zero and linear beyond a threshold, so a few outliers pull on the fit
# with a constant force instead of one that grows with the error. They differ by a scale: with
# `d = |input − target|`,
#
# **`huber_loss(input, target, delta=1.0, reduction="mean")`** (exactly `F.huber_loss`):
# `ℓ = 0.5 · d²` if `d < delta`, else `delta · (d − 0.5 · delta)`;
#
# **`smooth_l1_loss(input, target, beta=1.0, reduction="mean")`** (exactly `F.smooth_l1_loss`):
# `ℓ = 0.5 · d² / beta` if `d < beta`, else `d − 0.5 · beta`. So `smooth_l1_loss` with `beta = δ` is
# `huber_loss` with `delta = δ` divided by `δ`. `beta=0` gives exactly `d` (the L1 loss), with a
# finite gradient: no division by zero, not even in a branch that `torch.where` discards.
#
# For both: `input` and `target` are floating-point tensors of the same shape, dtype and device;
# `delta` and `beta` are Python floats (`delta > 0`, `beta >= 0`); `reduction` is `"none"`
# (element-wise, shape of `input`), `"mean"` (over all elements) or `"sum"`. The result has the dtype
# and device of `input` and torch's gradient with respect to `input`.
#
# Off limits in this part: torch's `huber_loss` and `smooth_l1_loss` (`nn.HuberLoss`, `nn.SmoothL1Loss`).

# %% [answer id=robust_losses]
def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def huber_loss(input, target, delta=1.0, reduction="mean"):
    ### BEGIN SOLUTION
    d = (input - target).abs()
    loss = torch.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta))
    return _reduce(loss, reduction)
    ### END SOLUTION


def smooth_l1_loss(input, target, beta=1.0, reduction="mean"):
    ### BEGIN SOLUTION
    d = (input - target).abs()
    if beta == 0:
        return _reduce(d, reduction)
    loss = torch.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)
    return _reduce(loss, reduction)
    ### END SOLUTION

# %% [tests id=test_robust_losses points=1]
grading_part(5)
pred = torch.tensor([0.0, 0.5, 2.0, -4.0])
truth = torch.zeros(4)
for fn, reference, option in ((huber_loss, F.huber_loss, "delta"), (smooth_l1_loss, F.smooth_l1_loss, "beta")):
    for value in (1.0, 2.5):
        what = f"{fn.__name__}(pred, truth, {option}={value}, reduction='none')"
        got = call_without(ROBUST_FAMILY, what, fn, pred, truth, reduction="none", **{option: value})
        other = F.smooth_l1_loss if reference is F.huber_loss else F.huber_loss
        check_close(got, reference(pred, truth, reduction="none", **{option: value}), what,
                    mistakes={"Huber and Smooth L1 were swapped: they differ by a factor of delta (beta)":
                              other(pred, truth, reduction="none", **{("beta" if option == "delta" else "delta"): value})})
print(huber_loss(pred, truth, reduction="none"), smooth_l1_loss(pred, truth, beta=2.5, reduction="none"))
print("Part 5 visible tests passed.")

# %% [tests id=test_robust_losses_hidden points=2]
# Hidden tests for huber_loss and smooth_l1_loss run here when your work is graded.
### BEGIN HIDDEN TESTS
grading_part(5)
torch.manual_seed(55)
_pred = to_device(torch.randn(4, 6, dtype=torch.float64) * 3)
_true = to_device(torch.randn(4, 6, dtype=torch.float64))
_pred[0, 0] = _true[0, 0] + 1.5  # exactly at the threshold 1.5 below
_pred[0, 1] = _true[0, 1]        # zero error


def _robust_case(name, fn, reference, other, option, value, x, y, reduction):
    what = f"{name}(input {tuple(x.shape)} {x.dtype}, target, {option}={value}, reduction={reduction!r})"
    got = value_and_grad(what, fn, x, y, forbidden=ROBUST_FAMILY, reduction=reduction, **{option: value})
    expected = value_and_grad(what, reference, x, y, reduction=reduction, **{option: value})
    swapped = {"delta": "beta", "beta": "delta"}[option]
    mistakes = {"Huber and Smooth L1 were swapped: they differ by a factor of delta (beta)":
                    other(x, y, reduction=reduction, **{swapped: value}) if value > 0 else None}
    if value != 1.0:
        mistakes[f"{option} was ignored: the threshold stayed at 1"] = reference(x, y, reduction=reduction, **{option: 1.0})
    if reduction == "mean":
        mistakes["'mean' was divided by the batch size input.shape[0]: it averages over all elements"] = \
            reference(x, y, reduction="sum", **{option: value}) / x.shape[0]
    mistakes["'mean' and 'sum' were swapped"] = reference(x, y, reduction={"mean": "sum", "sum": "mean"}.get(reduction, reduction),
                                                          **{option: value})
    tol = 1e-9 if x.dtype == torch.float64 else 1e-5
    check_value_and_grad(got, expected, what, atol=tol, rtol=tol * 10, mistakes=mistakes,
                         grad_mistakes={"the gradient is nan: a division by beta = 0 in a branch that torch.where "
                                        "discards still poisons the gradient (0 * inf = nan); handle beta == 0 "
                                        "separately": lambda g: bool(torch.isnan(g).any())})


forbidden_gate(ROBUST_FAMILY, "huber_loss(input, target)", huber_loss, _pred, _true)
forbidden_gate(ROBUST_FAMILY, "smooth_l1_loss(input, target)", smooth_l1_loss, _pred, _true)
clauses = Clauses(points=2)
with clauses.clause("huber_loss equals F.huber_loss in value and gradient for each delta and reduction", points=1):
    for _delta, _r in ((1.0, "mean"), (1.5, "none"), (0.3, "sum"), (4.0, "mean")):
        _robust_case("huber_loss", huber_loss, F.huber_loss, F.smooth_l1_loss, "delta", _delta, _pred, _true, _r)
    _robust_case("huber_loss", huber_loss, F.huber_loss, F.smooth_l1_loss, "delta", 2.0, _pred.float(), _true.float(), "mean")
with clauses.clause("smooth_l1_loss equals F.smooth_l1_loss for each beta (beta=0 included) and reduction", points=1):
    for _beta, _r in ((1.0, "mean"), (1.5, "none"), (0.3, "sum"), (0.0, "none"), (0.0, "mean")):
        _robust_case("smooth_l1_loss", smooth_l1_loss, F.smooth_l1_loss, F.huber_loss, "beta", _beta, _pred, _true, _r)
    _robust_case("smooth_l1_loss", smooth_l1_loss, F.smooth_l1_loss, F.huber_loss, "beta", 2.0, _pred.float(), _true.float(), "sum")
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part6]
# ## Part 6 — softmax cross-entropy as a `torch.autograd.Function` (4 points)
#
# Autograd differentiates `log_softmax` and the indexing for you. Here you write the gradient by
# hand: for the mean cross-entropy of `N` rows, `∂loss/∂logits = (softmax(logits) − onehot(target)) / N`.
#
# **`SoftmaxCrossEntropy`**, a subclass of `torch.autograd.Function`, used as
# `loss = SoftmaxCrossEntropy.apply(logits, target)`:
# - `logits`: `(N, C)`, `float32` or `float64`; `target`: `(N,)` `int64` class indices in `[0, C)`.
# - `forward(ctx, logits, target)` (a `@staticmethod`) returns a 0-d tensor, the mean over the `N`
#   rows of `−log_softmax(logits)[i, target_i]` (exactly `F.cross_entropy(logits, target)`), with
#   the dtype and device of `logits`, stable for logits of ±10⁴. It saves what backward needs with
#   `ctx.save_for_backward` and does not modify `logits`.
# - `backward(ctx, grad_output)` (a `@staticmethod`) returns one gradient per input of `forward`:
#   `grad_output · (softmax(logits) − onehot(target)) / N` for `logits` (its shape and dtype), and
#   `None` for `target`. `grad_output` is the gradient of the final result with respect to this
#   loss: 1 when you call `loss.backward()`, 3 for `(3 * loss).backward()`.
# - It passes `torch.autograd.gradcheck` in `float64`.
#
# Off limits in this part, in `forward` and in `backward`: torch's `cross_entropy` and `nll_loss`; and
# `backward` may not run autograd itself (`torch.autograd.grad`, `.backward()`): it computes the formula.
# `log_softmax`, `softmax` (torch's or yours), `exp`, `gather`, `scatter` and indexing are fine.

# %% [answer id=softmax_cross_entropy]
class SoftmaxCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits, target):
        ### BEGIN SOLUTION
        logp = log_softmax(logits, dim=1)
        ctx.save_for_backward(logp, target)
        return -logp.gather(1, target.unsqueeze(1)).mean()
        ### END SOLUTION

    @staticmethod
    def backward(ctx, grad_output):
        ### BEGIN SOLUTION
        logp, target = ctx.saved_tensors
        grad = logp.exp()
        grad[torch.arange(len(target), device=grad.device), target] -= 1
        return grad * (grad_output / len(target)), None
        ### END SOLUTION

# %% [tests id=test_softmax_cross_entropy points=1]
grading_part(6)
logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]], requires_grad=True)
target = torch.tensor([0, 2])
loss = call_without(CROSS_ENTROPY_FAMILY, "SoftmaxCrossEntropy.apply(logits, target)",
                    SoftmaxCrossEntropy.apply, logits, target)
check_close(loss, F.cross_entropy(logits.detach(), target), "SoftmaxCrossEntropy.apply(logits, target)")
student_call("loss.backward()", loss.backward,
             known_errors={"incorrect number of gradients": "backward must return one gradient per input of "
                                                            "forward: (grad_logits, None)"})
expected_grad = (torch.softmax(logits.detach(), 1) - F.one_hot(target, 3)) / 2
check_close(logits.grad, expected_grad, "logits.grad after SoftmaxCrossEntropy.apply(logits, target).backward()",
            mistakes={"the gradient was not divided by N: the loss is a mean over the rows": expected_grad * 2})
print(loss, logits.grad)
print("Part 6 visible tests passed.")

# %% [tests id=test_softmax_cross_entropy_hidden points=3]
# Hidden tests for SoftmaxCrossEntropy run here when your work is graded.
### BEGIN HIDDEN TESTS
grading_part(6)
torch.manual_seed(56)
_SCE_GRAD = {"incorrect number of gradients": "backward must return one gradient per input of forward: (grad_logits, None)",
             "modified by an inplace operation": "a tensor saved with ctx.save_for_backward was modified in place "
             "after it was saved (in forward, or by an in-place operation such as exp_() or -= in backward, which "
             "breaks the next backward through the same graph): compute on a copy"}


def _sce_grad(what, logits, target, scale):
    x = logits.detach().clone().requires_grad_(True)
    loss = call_without(CROSS_ENTROPY_FAMILY, what, SoftmaxCrossEntropy.apply, x, target)
    check_type(loss, torch.Tensor, what)
    check(type(loss.grad_fn).__name__ == "SoftmaxCrossEntropyBackward",
          f"{what}: the result's grad_fn is {type(loss.grad_fn).__name__}, not SoftmaxCrossEntropy's backward node "
          f"(the gradient must come from your backward).")
    scaled = scale * loss
    # The autograd engine is called directly so that the switched-off functions stay off inside your
    # backward (Tensor.backward would switch them back on for the whole backward pass).
    from torch.autograd.variable import Variable

    def run_backward():
        Variable._execution_engine.run_backward((scaled,), (torch.ones_like(scaled),), False, False, (),
                                                allow_unreachable=True, accumulate_grad=True)

    with stand_ins(), _Forbidden(CROSS_ENTROPY_FAMILY + ("grad", "backward"), f"the backward of {what}"):
        student_call(f"({scale} * {what}).backward()", run_backward, known_errors=_SCE_GRAD)
    return loss.detach(), x.grad


forbidden_gate(CROSS_ENTROPY_FAMILY, "SoftmaxCrossEntropy.apply(logits, target)", SoftmaxCrossEntropy.apply,
             to_device(torch.randn(3, 4)), to_device(torch.tensor([0, 1, 3])))
clauses = Clauses(points=3)
_x = to_device(torch.randn(9, 6, dtype=torch.float64) * 2)
_y = to_device(torch.randint(0, 6, (9,)))
with clauses.clause("forward: the mean cross-entropy as a 0-d tensor of the logits' dtype, stable for ±1e4, "
                    "logits not modified", points=1):
    for _xi, _yi in ((_x, _y), (_x.float(), _y), (to_device(extreme_logits()), to_device(torch.tensor([1, 0, 4, 2]))),
                     (to_device(extreme_logits(dtype=torch.float64)), to_device(torch.tensor([0, 2, 3, 3])))):
        _before = _xi.clone()
        _what = f"SoftmaxCrossEntropy.apply(logits {tuple(_xi.shape)} {_xi.dtype}, target)"
        _got = call_without(CROSS_ENTROPY_FAMILY, _what, SoftmaxCrossEntropy.apply, _xi, _yi)
        check_close(_got, F.cross_entropy(_xi, _yi), _what, **extreme_tol(_xi.dtype), mistakes={
            "exp overflowed (non-finite loss): use a stable log_softmax": lambda t: not torch.isfinite(t).all(),
            "the loss was summed over the rows instead of averaged": F.cross_entropy(_xi, _yi, reduction="sum")})
        check(torch.equal(_xi, _before), f"{_what} modified the logits in place: work on a copy.")
    _xs = _x.clone().requires_grad_(True)
    _what = "SoftmaxCrossEntropy.apply(logits (9, 6) float64 that require grad, target)"
    _node = call_without(CROSS_ENTROPY_FAMILY, _what, SoftmaxCrossEntropy.apply, _xs, _y).grad_fn
    check(_node is not None, f"{_what}: the result has no grad_fn (it carries no gradient back to the logits).")
    _stashed = sorted(k for k, v in vars(_node).items() if torch.is_tensor(v)) if hasattr(_node, "__dict__") else []
    check(not _stashed, f"{_what} stored tensors as attributes of ctx ({', '.join('ctx.' + k for k in _stashed)}): "
          f"save the tensors backward needs with ctx.save_for_backward(...) and read them with ctx.saved_tensors "
          f"(autograd then frees them after backward and detects in-place changes to them).")
    check(len(student_call(f"{_what}.grad_fn.saved_tensors", lambda: _node.saved_tensors)) > 0,
          f"{_what} saved no tensors with ctx.save_for_backward: save what backward needs with it.")
try:  # a forward that loses float64 precision is charged in the forward clause only
    _fwd64 = call_without(CROSS_ENTROPY_FAMILY, "SoftmaxCrossEntropy.apply", SoftmaxCrossEntropy.apply, _x.clone(), _y)
    _fwd64_ok = _fwd64.dtype == torch.float64 and torch.allclose(_fwd64, F.cross_entropy(_x, _y), atol=1e-9, rtol=1e-9)
except Exception:
    _fwd64_ok = False
try:  # gradcheck also tests that backward multiplies by grad_output: that is the last clause's business
    _grad_output_ok = torch.equal(_sce_grad("SoftmaxCrossEntropy.apply", _x, _y, 0.0)[1], torch.zeros_like(_x))
except Exception:
    _grad_output_ok = False
with clauses.clause("backward: (softmax − onehot) / N when grad_output is 1; passes gradcheck in float64", points=1):
    for _xi, _yi in ((_x, _y), (_x.float(), _y), (to_device(extreme_logits()), to_device(torch.tensor([1, 0, 4, 2])))):
        _what = f"SoftmaxCrossEntropy.apply(logits {tuple(_xi.shape)} {_xi.dtype}, target)"
        _loss, _grad = _sce_grad(_what, _xi, _yi, 1.0)
        _expected = (torch.softmax(_xi, 1) - F.one_hot(_yi, _xi.shape[1]).to(_xi.dtype)) / len(_yi)
        _tol = extreme_tol(_xi.dtype) if _fwd64_ok else extreme_tol(torch.float32)
        check_close(lenient(_grad, _expected) if not _fwd64_ok else _grad, _expected,
                    f"logits.grad after {_what}.backward()", **_tol, mistakes={
            "the gradient was not divided by N: the loss is a mean over the rows": _expected * len(_yi),
            "the gradient is softmax alone: subtract 1 at each row's target class": torch.softmax(_xi, 1) / len(_yi),
            "the gradient's sign is flipped: it is softmax - onehot": -_expected})
    _xg = to_device(torch.randn(5, 4, dtype=torch.float64, requires_grad=True))
    _yg = to_device(torch.tensor([3, 0, 1, 1, 2]))

    def _gradcheck():
        with stand_ins():
            # on a copy of the logits (modifying them is the forward clause's business); an undefined
            # grad_output is the grad_output clause's business
            return torch.autograd.gradcheck(lambda x, y: SoftmaxCrossEntropy.apply(x.clone(), y), (_xg, _yg),
                                            eps=1e-6, atol=1e-5, raise_exception=False, check_undefined_grad=False)

    # (skipped when the forward loses float64 precision or backward ignores grad_output: charged in their clauses)
    check(not (_fwd64_ok and _grad_output_ok)
          or student_call("torch.autograd.gradcheck(SoftmaxCrossEntropy.apply, (logits (5, 4) float64, target))",
                          _gradcheck, known_errors=_SCE_GRAD),
          "torch.autograd.gradcheck(SoftmaxCrossEntropy.apply, (logits (5, 4) float64, target)) failed: the analytical "
          "gradient from backward differs from the numerical one.")
with clauses.clause("backward multiplies by grad_output (the gradient of 3·loss is 3 times that of loss)", points=1):
    for _xi, _yi, _scale in ((_x, _y, 3.0), (_x.float(), _y, -0.5), (_x, _y, 0.0)):
        _what = f"SoftmaxCrossEntropy.apply(logits {tuple(_xi.shape)} {_xi.dtype}, target)"
        _, _unit = _sce_grad(_what, _xi, _yi, 1.0)
        _, _scaled = _sce_grad(_what, _xi, _yi, _scale)
        check_close(_scaled, _scale * _unit, f"logits.grad after ({_scale} * {_what}).backward(), compared with "
                    f"{_scale} times your gradient of the loss itself", atol=1e-7, rtol=1e-6, mistakes={
                        "grad_output was not multiplied in: backward must return grad_output * (softmax - onehot) / N":
                            _unit})
clauses.verdict()
### END HIDDEN TESTS
