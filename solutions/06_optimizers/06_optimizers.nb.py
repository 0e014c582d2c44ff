# %% [markdown readonly id=intro]
# # Assignment 6 — Optimizers and learning-rate schedules, written from scratch
#
# You will write, in five graded parts, what lecture 6 takes apart, each one matching PyTorch step
# for step:
#
# 1. `SGD`, a `torch.optim.Optimizer` with momentum, dampening, Nesterov, weight decay and
#    parameter groups, equal to `torch.optim.SGD` (8 points);
# 2. `AdamW`, with bias correction, and Adam's coupled L2 penalty behind a flag, equal to
#    `torch.optim.AdamW` and `torch.optim.Adam` (8 points);
# 3. five learning-rate schedules as closed-form functions, equal to torch's schedulers (5 points);
# 4. `ReduceLROnPlateau`, driven by a validation metric, equal to torch's (5 points);
# 5. `lr_find`, an LR range test that restores the model and the optimizer exactly (6 points).
#
# **The one rule.** Parts 1 and 2 may not use `torch.optim.SGD`, `torch.optim.Adam`, `torch.optim.AdamW`
# or the functional `torch.optim._functional` / `torch._foreach_*` helpers; Parts 3 and 4 may not use
# `torch.optim.lr_scheduler`. Part 5 may use any optimizer it is given (that is its job). The tests
# run the first four parts with those names switched off.
#
# Each part states its contract, then gives you an answer cell (replace `raise NotImplementedError()`)
# and a visible test cell. The visible tests check the contract and double as examples; when you
# submit, hidden tests compare your code with `torch.optim` and `torch.optim.lr_scheduler` over long
# runs, with non-default settings, several parameter groups, parameters without gradients, `float64`,
# resumed runs and repeated calls, on the grading device. Press **Validate** to run everything.

# %% [readonly id=setup]
import copy
import math
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from grader.checks import (CheckFailed, Clauses, check, check_close, check_equal, check_type, describe, fail,
                           student_call)
from grader.device import describe_device, to_device

torch.manual_seed(0)
print(describe_device())

_TORCH_OPTIMIZERS = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW}


def _blocked(name):
    def blocked(*args, **kwargs):
        raise CheckFailed(f"your code used PyTorch's own `{name}`, which this part asks you to write yourself.")
    return blocked


@contextmanager
def without_torch_optimizers():
    """While active, torch.optim.SGD/Adam/AdamW, the functional optimizers and the schedulers fail when called."""
    import torch.optim._functional as functional
    import torch.optim.lr_scheduler as schedulers
    saved = []
    targets = [(torch.optim, name) for name in _TORCH_OPTIMIZERS]
    targets += [(functional, name) for name in ("sgd", "adam", "adamw")]
    targets += [(schedulers, name) for name in ("StepLR", "MultiStepLR", "CosineAnnealingLR", "OneCycleLR",
                                               "ReduceLROnPlateau", "LambdaLR", "SequentialLR", "LinearLR")]
    for module, name in targets:
        if hasattr(module, name):
            saved.append((module, name, getattr(module, name)))
            setattr(module, name, _blocked(f"{module.__name__}.{name}"))
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


def call(what, fn, *args, **kwargs):
    """``student_call`` with torch's own optimizers and schedulers switched off."""
    with without_torch_optimizers():
        return student_call(what, fn, *args, **kwargs)


class Net(nn.Module):
    """A small regression model; ``unused`` never takes part in forward, so its ``.grad`` stays None."""

    def __init__(self, dtype=torch.float32):
        super().__init__()
        self.fc1 = nn.Linear(6, 12, dtype=dtype)
        self.fc2 = nn.Linear(12, 3, dtype=dtype)
        self.unused = nn.Linear(2, 2, dtype=dtype)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


def make_net(seed=0, dtype=torch.float32):
    torch.manual_seed(seed)
    return to_device(Net(dtype))


def make_batches(count, seed=0, dtype=torch.float32, rows=8):
    g = torch.Generator().manual_seed(seed)
    return [(to_device(torch.randn(rows, 6, generator=g, dtype=dtype)),
             to_device(torch.randn(rows, 3, generator=g, dtype=dtype))) for _ in range(count)]


def param_groups(net, spec):
    """``spec``: a list of (parameter names, options); the groups to give an optimizer."""
    named = dict(net.named_parameters())
    return [dict({"params": [named[n] for n in names]}, **options) for names, options in spec]


def backward_on(net, batch, none_grad=()):
    x, y = batch
    F.mse_loss(net(x), y).backward()
    named = dict(net.named_parameters())
    for name in none_grad:
        named[name].grad = None


def compare_params(what, net, ref, atol, rtol):
    for (name, p), q in zip(net.named_parameters(), ref.parameters()):
        check_close(p.detach().cpu(), q.detach().cpu(), f"{what}: parameter {name}", atol=atol, rtol=rtol)


def lockstep(what, yours, net, ref_opt, ref_net, batches, steps, start=0, none_grad=lambda k: (),
             atol=1e-6, rtol=1e-5, zero_grad=True):
    """Steps ``yours`` (on ``net``) and ``ref_opt`` (on ``ref_net``) together on the same batches,
    comparing every parameter after every step; returns the number of steps taken."""
    for k in range(start, start + steps):
        for model, opt, mine in ((net, yours, True), (ref_net, ref_opt, False)):
            if zero_grad:
                if mine:
                    call(f"{what}: zero_grad()", opt.zero_grad)
                else:
                    opt.zero_grad()
            backward_on(model, batches[k % len(batches)], none_grad(k))
        call(f"{what}: step() number {k + 1}", yours.step)
        ref_opt.step()
        compare_params(f"{what}, after step {k + 1}", net, ref_net, atol, rtol)
    return start + steps


def scripted(what, make_opt, tensors, grads, dtype=torch.float64, yours=True, return_opt=False):
    """Parameters (copies of ``tensors``) stepped by ``make_opt(params)`` with the given gradients:
    ``grads[k][i]`` is the gradient of parameter i at step k (None: no gradient at that step).
    Returns the parameters after every step, on the CPU."""
    params = [to_device(t.clone().to(dtype)).requires_grad_(True) for t in tensors]
    opt = call(f"{what} constructor", make_opt, params) if yours else make_opt(params)
    history = []
    for k, step_grads in enumerate(grads):
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else to_device(g.clone().to(dtype))
        if yours:
            call(f"{what}: step() number {k + 1}", opt.step)
        else:
            opt.step()
        history.append([p.detach().cpu().clone() for p in params])
    return (history, opt, params) if return_opt else history


def check_state_tensors(what, opt, params, keys):
    """Every tensor ``opt.state[p][key]`` has p's shape, dtype and device."""
    for i, p in enumerate(params):
        if p not in opt.state:
            continue
        for key in keys:
            value = opt.state[p].get(key)
            if torch.is_tensor(value):
                check((value.shape, value.dtype, value.device) == (p.shape, p.dtype, p.device),
                      f"{what}: state[parameter {i}]['{key}'] has shape {tuple(value.shape)}, dtype {value.dtype}, "
                      f"device {value.device}; the contract asks for the parameter's: {tuple(p.shape)}, {p.dtype}, "
                      f"{p.device} (torch.zeros_like(p) / a clone of the gradient keep all three)")


def check_state_entries(what, yours, ref):
    """``yours.state_dict()['state']`` has entries for exactly the parameters torch's optimizer keeps state for."""
    sd = call(f"{what}: state_dict()", yours.state_dict)
    got, exp = sorted(sd["state"]), sorted(ref.state_dict()["state"])
    empty = {i for i, st in sd["state"].items() if not st}
    check_equal(got, exp, f"{what}: the parameter indices in state_dict()['state'] (the parameters that have "
                f"an entry in self.state)", mistakes={
                    "an empty self.state[p] entry was created for a parameter that needs no state (no gradient, "
                    "or a group with momentum 0): self.state is a defaultdict, so reading self.state[p] creates "
                    "the entry; read it only once the parameter really gets state":
                        lambda ids: set(exp) < set(ids) and set(ids) - set(exp) <= empty})


def whole_run_mistakes(got, variants, kinds):
    """The named mistakes (as always-true predicates) whose whole scripted run equals ``got``: a mistake
    is named only when every parameter after every step is what it gives."""
    def same(x, y):
        return all(torch.allclose(a.double(), b.double(), atol=1e-9, rtol=1e-7)
                   for x_step, y_step in zip(x, y) for a, b in zip(x_step, y_step))

    matched = [kind for kind, run in variants.items() if same(got, run)]
    # several mistakes giving this very run cannot be told apart: then none is named
    return {kinds[matched[0]]: lambda value: True} if len(matched) == 1 else {}


def same_floats(expected, rtol=1e-9, atol=1e-12):
    """A predicate: a list of numbers equal to ``expected`` within rounding (for naming a mistake)."""
    return lambda got: isinstance(got, list) and len(got) == len(expected) and all(
        math.isclose(a, b, rel_tol=rtol, abs_tol=atol) for a, b in zip(got, expected))


def same_lrs(got, expected, what, mistakes=None, rtol=1e-9, atol=1e-12,
             element="the learning rate after {} scheduler steps"):
    """``got`` is a list of Python floats equal to ``expected`` (a list of floats) within rounding;
    ``element`` names element i of the list (``element.format(i)``)."""
    check_type(got, list, what)
    check(all(type(v) is float for v in got),
          f"{what}: expected a list of Python floats, got elements of types "
          f"{sorted({type(v).__name__ for v in got})}.")
    close = len(got) == len(expected) and all(math.isclose(a, b, rel_tol=rtol, abs_tol=atol)
                                              for a, b in zip(got, expected))
    if close:
        return
    from grader.checks import likely_mistake
    if len(got) != len(expected):
        fail(f"{what}: expected a list of {len(expected)} values, got {len(got)}.",
             likely_mistake(got, mistakes))
    first = next(i for i, (a, b) in enumerate(zip(got, expected)) if not math.isclose(a, b, rel_tol=rtol, abs_tol=atol))
    fail(f"{what}: element {first} ({element.format(first)}) should be "
         f"{expected[first]:.10g}, got {got[first]:.10g}.\n  expected {describe(expected)}\n  got      {describe(got)}",
         likely_mistake(got, mistakes))


def lr_mistakes(expected, extra=None):
    """Named mistakes for a learning-rate list: one step early or late."""
    out = {}
    n = len(expected)
    if n >= 3 and any(not math.isclose(a, b) for a, b in zip(expected[1:], expected[:-1])):
        out["the schedule is one step late (element t is torch's element t-1): element 0 is the learning "
            "rate right after construction, before any scheduler.step()"] = \
            lambda got: isinstance(got, list) and len(got) == n and all(
                math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) for a, b in zip(got[1:], expected[:-1]))
        out["the schedule is one step early (element t is torch's element t+1): element 0 is the learning "
            "rate right after construction, before any scheduler.step()"] = \
            lambda got: isinstance(got, list) and len(got) == n and all(
                math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) for a, b in zip(got[:-1], expected[1:]))
    out.update(extra or {})
    return out


def torch_lrs(make_scheduler, base_lr, steps, momentum=0.0):
    """``get_last_lr()[0]`` of a torch scheduler after 0, 1, ..., steps-1 calls to ``step()``."""
    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base_lr, momentum=momentum)
    scheduler = make_scheduler(opt)
    lrs = []
    for t in range(steps):
        lrs.append(float(scheduler.get_last_lr()[0]))
        if t < steps - 1:
            opt.step()
            scheduler.step()
    return lrs

# %% [markdown readonly id=part1]
# ## Part 1 — `SGD` (8 points)
#
# **`SGD(params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False)`**, a subclass
# of `torch.optim.Optimizer`.
# - `params`: an iterable of parameters or of parameter-group dicts, exactly as for
#   `torch.optim.SGD`. Call `super().__init__(params, defaults)` with
#   `defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
#   nesterov=nesterov)`, so that every group in `self.param_groups` carries these five keys (a group's
#   own value wins over the default).
# - Raises `ValueError` if `nesterov=True` and (`momentum <= 0` or `dampening != 0`). No other argument is
#   checked by the tests: raising `ValueError` for other invalid settings (a negative `lr`, say, as torch
#   does) is allowed, not required.
# - `step(closure=None)` updates every parameter of **every** group that has a `.grad` (a parameter
#   whose `.grad` is `None` is skipped and gets no state: no entry in `self.state` at all, not even an empty
#   dict, as with `torch.optim.SGD`), in place, under `torch.no_grad()`, with its
#   group's settings. For a parameter `p` with gradient `g`:
#   1. `d = g + weight_decay * p` (weight decay is added to the gradient **first**);
#   2. if `momentum != 0`: at the parameter's **first** update its buffer is `b = d` (a copy, not zero);
#      afterwards `b = momentum * b + (1 - dampening) * d`. Then `d = d + momentum * b` if `nesterov`,
#      else `d = b`;
#   3. `p = p - lr * d`.
#
#   It returns `closure()`'s value (called with gradients enabled) when a closure is given, else `None`.
# - The buffer lives in `self.state[p]["momentum_buffer"]` (a tensor with `p`'s shape, dtype and device,
#   one per parameter, that is not `p.grad` itself); a parameter of a group whose `momentum` is 0 has no
#   entry in `self.state` (not even an empty dict). With these key names, `state_dict()` / `load_state_dict()` (inherited) resume
#   a run exactly, and state dicts interchange with `torch.optim.SGD`'s.
# - `step()` never modifies `.grad` and never replaces a parameter (the same tensors are updated in place).
#
# Together: your `SGD` gives the same parameters as `torch.optim.SGD` with the same arguments after
# every step, for `float32` and `float64` parameters, on any device.

# %% [answer id=sgd]
class SGD(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        ### BEGIN SOLUTION
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov)
        super().__init__(params, defaults)
        ### END SOLUTION

    @torch.no_grad()
    def step(self, closure=None):
        ### BEGIN SOLUTION
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            weight_decay, nesterov = group["weight_decay"], group["nesterov"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                d = p.grad
                if weight_decay != 0:
                    d = d.add(p, alpha=weight_decay)
                if momentum != 0:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        buf = state["momentum_buffer"] = d.clone().detach()
                    else:
                        buf = state["momentum_buffer"]
                        buf.mul_(momentum).add_(d, alpha=1 - dampening)
                    d = d.add(buf, alpha=momentum) if nesterov else buf
                p.add_(d, alpha=-lr)
        return loss
        ### END SOLUTION

# %% [tests id=test_sgd points=1]
net, ref_net = make_net(1), make_net(1)
batches = make_batches(4, seed=1)
yours = call("SGD(net.parameters(), lr=0.1, momentum=0.9)", SGD, net.parameters(), lr=0.1, momentum=0.9)
check(isinstance(yours, torch.optim.Optimizer), "SGD(...) must be a torch.optim.Optimizer subclass.")
check_equal(sorted(k for k in yours.param_groups[0] if k != "params"),
            sorted(["lr", "momentum", "dampening", "weight_decay", "nesterov"]),
            "the keys of SGD(...).param_groups[0] other than 'params'",
            mistakes={"defaults was not passed to super().__init__ as a dict of the five settings":
                      lambda keys: isinstance(keys, list) and len(keys) < 5})
lockstep("SGD(lr=0.1, momentum=0.9)", yours, net, torch.optim.SGD(ref_net.parameters(), lr=0.1, momentum=0.9),
         ref_net, batches, steps=5)
print("state of fc1.weight:", sorted(yours.state[net.fc1.weight]))
print("Part 1 visible tests passed.")

# %% [tests id=test_sgd_hidden points=7]
# Hidden tests for SGD run here when your work is graded.
### BEGIN HIDDEN TESTS
clauses = Clauses(points=7)
_p0 = [torch.tensor([1.0, -2.0, 0.5]), torch.tensor([[0.3, -0.7], [1.5, 2.0]])]
_g = [[torch.tensor([0.2, -0.1, 0.4]), torch.tensor([[1.0, 0.5], [-0.3, 0.2]])],
      [torch.tensor([-0.3, 0.6, 0.1]), torch.tensor([[0.2, -0.4], [0.6, 0.9]])],
      [torch.tensor([0.5, 0.2, -0.6]), torch.tensor([[-0.7, 0.1], [0.3, -0.5]])]]


def _sgd_variant(lr, momentum, dampening, wd, nesterov, kind="", per_param=None):
    """The parameters after each scripted step under a known mistake (for naming it); ``per_param``: the
    settings (lr, momentum, dampening, wd, nesterov) of each parameter, if they differ."""
    params = [p.clone().double() for p in _p0]
    bufs = [None] * len(params)
    out = []
    for grads in _g:
        for i, (p, g) in enumerate(zip(params, grads)):
            if per_param is not None:
                lr, momentum, dampening, wd, nesterov = per_param[i]
            g = g.double()
            d = g if kind == "decay_after_momentum" else g + wd * p
            if momentum:
                if bufs[i] is None:
                    bufs[i] = (1 - dampening) * d if kind == "zero_buffer" else d.clone()
                else:
                    bufs[i] = momentum * bufs[i] + (1 - dampening) * d
                if nesterov:
                    d = (g + momentum * bufs[i]) if kind == "nesterov_raw_grad" else \
                        (bufs[i] + momentum * d if kind == "nesterov_swapped" else d + momentum * bufs[i])
                else:
                    d = bufs[i]
            if kind == "decay_after_momentum":
                d = d + wd * p
            params[i] = p - lr * d
        out.append([p.clone() for p in params])
    return out


def _scripted_check(what, kwargs, kinds):
    got, _opt, _ps = scripted(what, lambda ps: SGD(ps, **kwargs), _p0, _g, return_opt=True)
    check_state_tensors(what, _opt, _ps, ["momentum_buffer"])
    exp = scripted(what, lambda ps: torch.optim.SGD(ps, **kwargs), _p0, _g, yours=False)
    args = (kwargs.get("lr", 1e-3), kwargs.get("momentum", 0.0), kwargs.get("dampening", 0.0),
            kwargs.get("weight_decay", 0.0), kwargs.get("nesterov", False))
    variants = {kind: _sgd_variant(*args, kind) for kind in kinds}
    mistakes = whole_run_mistakes(got, variants, kinds)
    for k in range(len(_g)):
        for i in range(len(_p0)):
            check_close(got[k][i], exp[k][i], f"{what}: parameter {i} (float64, gradients set by hand) after "
                        f"step {k + 1}", atol=1e-12, rtol=1e-10, mistakes=mistakes)


_ZERO = "the momentum buffer started at zero: at a parameter's first update the buffer is the gradient itself (b = d), not (1 - dampening) * d"
with clauses.clause("momentum with dampening: the buffer starts as the first gradient, then "
                    "b = momentum * b + (1 - dampening) * d; weight decay added to the gradient first", points=1):
    _scripted_check("SGD(lr=0.1, momentum=0.8, dampening=0.3, weight_decay=0.05)",
                    dict(lr=0.1, momentum=0.8, dampening=0.3, weight_decay=0.05),
                    {"zero_buffer": _ZERO,
                     "decay_after_momentum": "weight decay was added after momentum: it is added to the gradient "
                                             "(d = g + weight_decay * p) before the buffer is updated"})
    _scripted_check("SGD(lr=0.05, momentum=0.9)", dict(lr=0.05, momentum=0.9), {"zero_buffer": _ZERO})
with clauses.clause("Nesterov: d = d + momentum * b (after the buffer update)", points=1):
    _scripted_check("SGD(lr=0.1, momentum=0.7, nesterov=True, weight_decay=0.1)",
                    dict(lr=0.1, momentum=0.7, nesterov=True, weight_decay=0.1),
                    {"nesterov_swapped": "Nesterov on the wrong term: the step is d + momentum * b, not b + momentum * d",
                     "nesterov_raw_grad": "Nesterov used the raw gradient: weight decay must be included (d = g + "
                                          "weight_decay * p, then d + momentum * b)",
                     "zero_buffer": _ZERO})
with clauses.clause("Nesterov needs momentum > 0 and dampening 0 (ValueError otherwise, also for a negative momentum)", points=1):
    for _kw in (dict(momentum=0.0, nesterov=True), dict(momentum=-0.5, nesterov=True),
                dict(momentum=0.9, dampening=0.1, nesterov=True)):
        _what = f"SGD(params, lr=0.1, {', '.join(f'{k}={v}' for k, v in _kw.items())})"
        try:
            with without_torch_optimizers():
                SGD([nn.Parameter(torch.zeros(2))], lr=0.1, **_kw)
        except ValueError:
            pass
        except Exception as _error:
            fail(f"{_what} raised {type(_error).__name__}: {_error}; expected a ValueError.")
        else:
            fail(f"{_what} raised nothing; expected a ValueError.")
    call("SGD(params, lr=0.1, momentum=0.9, nesterov=True)", SGD, [nn.Parameter(torch.zeros(2))], lr=0.1,
         momentum=0.9, nesterov=True)
_SETTINGS = ("lr", "momentum", "dampening", "weight_decay")
_DEFAULTS = dict(lr=0.05, momentum=0.5, dampening=0.1, weight_decay=0.01)
_GROUPS = [dict(lr=0.1, momentum=0.8, dampening=0.3, weight_decay=0.05), dict(lr=0.2, momentum=0.0, weight_decay=0.1)]


def _groups_check():
    """Two groups (one parameter each) whose own settings all differ from the defaults."""
    what = f"SGD([{{'params': [p0], **{_GROUPS[0]}}}, {{'params': [p1], **{_GROUPS[1]}}}], **{_DEFAULTS})"

    def make(opt_class):
        return lambda ps: opt_class([dict(params=[ps[0]], **_GROUPS[0]), dict(params=[ps[1]], **_GROUPS[1])],
                                    **_DEFAULTS)
    got = scripted(what, make(SGD), _p0, _g)
    exp = scripted(what, make(torch.optim.SGD), _p0, _g, yours=False)
    own = [tuple(dict(_DEFAULTS, **group)[k] for k in _SETTINGS) + (False,) for group in _GROUPS]
    kinds = {key: f"the group's own {key} was ignored: {key} was read from the defaults (self.defaults or the "
                  f"constructor's argument) instead of group['{key}']" for key in _SETTINGS}
    variants = {key: _sgd_variant(*own[0], per_param=[tuple(_DEFAULTS[k] if k == key else v for k, v in
                                                            zip(_SETTINGS, settings[:4])) + (False,)
                                                      for settings in own]) for key in _SETTINGS}
    mistakes = whole_run_mistakes(got, variants, kinds)
    for k in range(len(_g)):
        for i in range(len(_p0)):
            check_close(got[k][i], exp[k][i], f"{what}: parameter {i} (float64, gradients set by hand) after "
                        f"step {k + 1}", atol=1e-12, rtol=1e-10, mistakes=mistakes)


with clauses.clause("equal to torch.optim.SGD over 120 steps on a model, with two parameter groups of different "
                    "settings, a parameter that never has a gradient and one that gets its first gradient at step 7, "
                    "float32 and float64; no self.state entry for a parameter without state", points=2):
    _groups_check()
    for _dtype, _tol in ((torch.float64, dict(atol=1e-10, rtol=1e-9)), (torch.float32, dict(atol=2e-5, rtol=1e-4))):
        _spec = [(["fc1.weight", "fc1.bias"], dict(lr=0.05, momentum=0.9, dampening=0.2, weight_decay=0.01)),
                 (["unused.weight", "fc2.bias", "fc2.weight", "unused.bias"],
                  dict(momentum=0.6, nesterov=True, weight_decay=0.003))]
        _net, _ref_net = make_net(3, _dtype), make_net(3, _dtype)
        _what = f"SGD with two parameter groups ({_dtype})"
        _yours = call(f"{_what} constructor", SGD, param_groups(_net, _spec), lr=0.02)
        _ref = torch.optim.SGD(param_groups(_ref_net, _spec), lr=0.02)
        _none = (lambda k: ("fc2.bias",) if k < 6 else ())
        lockstep(_what, _yours, _net, _ref, _ref_net, make_batches(10, 3, _dtype), 120, none_grad=_none, **_tol)
        check_state_entries(_what, _yours, _ref)
        check_equal(sorted(_yours.state.get(_net.fc1.weight, {})), ["momentum_buffer"],
                    f"{_what}: the keys of state[fc1.weight]")
    # a group with momentum 0 keeps no state; a plain group with no settings uses the defaults
    _net, _ref_net = make_net(4), make_net(4)
    _spec = [(["fc1.weight", "fc1.bias"], dict(momentum=0.0)), (["fc2.weight", "fc2.bias"], dict(lr=0.3))]
    _yours = call("SGD(groups, lr=0.1, momentum=0.5, dampening=0.5)", SGD, param_groups(_net, _spec), lr=0.1,
                  momentum=0.5, dampening=0.5)
    _ref = torch.optim.SGD(param_groups(_ref_net, _spec), lr=0.1, momentum=0.5, dampening=0.5)
    lockstep("SGD(groups, lr=0.1, momentum=0.5, dampening=0.5)", _yours, _net, _ref, _ref_net, make_batches(5, 4), 12)
    check(not _yours.state.get(_net.fc1.weight), "SGD: a parameter of a group with momentum 0 got state "
          f"{sorted(_yours.state.get(_net.fc1.weight, {}))}; it needs none.")
    check_state_entries("SGD(groups with momentum 0 and 0.5, lr=0.1, momentum=0.5, dampening=0.5) after 12 steps",
                        _yours, _ref)
with clauses.clause("state_dict()/load_state_dict() resume exactly, and interchange with torch.optim.SGD's", points=1):
    _kw = dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.02)
    _net, _ref_net = make_net(5), make_net(5)
    _batches = make_batches(6, 5)
    _yours = call("SGD(net.parameters(), lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.02)", SGD,
                  _net.parameters(), **_kw)
    _ref = torch.optim.SGD(_ref_net.parameters(), **_kw)
    _k = lockstep("SGD", _yours, _net, _ref, _ref_net, _batches, 50)
    _saved = copy.deepcopy(call("SGD.state_dict()", _yours.state_dict))
    _resumed = call("a new SGD(...) then load_state_dict(the first one's state_dict())", SGD, _net.parameters(), **_kw)
    call("SGD.load_state_dict(state_dict)", _resumed.load_state_dict, _saved)
    _k = lockstep("SGD resumed from its state_dict after 50 steps", _resumed, _net, _ref, _ref_net, _batches, 30, _k)
    _from_torch = call("a new SGD(...)", SGD, _net.parameters(), **_kw)
    call("SGD.load_state_dict(torch.optim.SGD's state_dict())", _from_torch.load_state_dict,
         copy.deepcopy(_ref.state_dict()))
    _k = lockstep("SGD resumed from torch.optim.SGD's state_dict after 80 steps", _from_torch, _net, _ref, _ref_net,
                  _batches, 20, _k)
    _to_torch = torch.optim.SGD(_ref_net.parameters(), **_kw)
    _to_torch.load_state_dict(copy.deepcopy(call("SGD.state_dict()", _from_torch.state_dict)))
    _k = lockstep("torch.optim.SGD resumed from your SGD's state_dict after 100 steps", _from_torch, _net, _to_torch,
                  _ref_net, _batches, 10, _k)
with clauses.clause("step() leaves .grad unmodified, updates the same parameter tensors in place, keeps a buffer "
                    "that is not .grad, and returns closure()'s value", points=1):
    _p = to_device(torch.tensor([1.0, 2.0, -1.0])).requires_grad_(True)
    _ptr = _p.data_ptr()
    _opt = call("SGD([p], lr=0.1, momentum=0.9, weight_decay=0.5)", SGD, [_p], lr=0.1, momentum=0.9, weight_decay=0.5)
    _p.grad = to_device(torch.tensor([0.5, -0.5, 1.0]))
    _grad = _p.grad.clone()
    call("SGD.step()", _opt.step)
    check_close(_p.grad.cpu(), _grad.cpu(), "p.grad after SGD(lr=0.1, momentum=0.9, weight_decay=0.5).step()",
                mistakes={"the gradient was modified in place (e.g. grad.add_(p, alpha=weight_decay)): "
                          "use an out-of-place add": lambda t: not torch.equal(t, _grad.cpu())})
    check(_p.data_ptr() == _ptr, "SGD.step() replaced the parameter's storage: update it in place (p.add_(...)).")
    # without weight decay the first buffer would be the gradient tensor itself unless copied
    _p = to_device(torch.tensor([1.0, 2.0, -1.0])).requires_grad_(True)
    _opt = call("SGD([p], lr=0.1, momentum=0.9)", SGD, [_p], lr=0.1, momentum=0.9)
    _p.grad = to_device(torch.tensor([0.5, -0.5, 1.0]))
    call("SGD.step()", _opt.step)
    _buf = _opt.state[_p].get("momentum_buffer")
    check(_buf is None or (_buf is not _p.grad and _buf.data_ptr() != _p.grad.data_ptr()),
          "state[p]['momentum_buffer'] is p.grad itself: the first buffer must be a copy of the gradient "
          "(zero_grad(set_to_none=False) would zero it)")
    _opt.zero_grad(set_to_none=False)
    call("SGD.step() after zero_grad(set_to_none=False)", _opt.step)
    _ref_p = to_device(torch.tensor([1.0, 2.0, -1.0])).requires_grad_(True)
    _ref_opt = torch.optim.SGD([_ref_p], lr=0.1, momentum=0.9)
    _ref_p.grad = to_device(torch.tensor([0.5, -0.5, 1.0]))
    _ref_opt.step()
    _ref_opt.zero_grad(set_to_none=False)
    _ref_opt.step()
    check_close(_p.detach().cpu(), _ref_p.detach().cpu(), "p after SGD(lr=0.1, momentum=0.9): step(), "
                "zero_grad(set_to_none=False), step()")
    _calls = []

    def _closure():
        _calls.append(torch.is_grad_enabled())
        return torch.tensor(3.5)

    _loss = call("SGD.step(closure)", _opt.step, _closure)
    check(_calls == [True], f"SGD.step(closure) must call closure() once with gradients enabled; calls "
          f"(grad enabled?): {_calls}")
    check(torch.is_tensor(_loss) and float(_loss) == 3.5, f"SGD.step(closure) must return closure()'s value "
          f"(tensor(3.5)), got {describe(_loss)}")
    check(call("SGD.step()", _opt.step) is None, "SGD.step() without a closure must return None")
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part2]
# ## Part 2 — `AdamW`, and Adam's L2 penalty (8 points)
#
# **`AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, decoupled=True)`**, a
# subclass of `torch.optim.Optimizer`; `defaults = dict(lr=lr, betas=betas, eps=eps,
# weight_decay=weight_decay, decoupled=decoupled)` is passed to `super().__init__`, so every group carries
# these five keys (a group's own value wins).
#
# `step(closure=None)` updates every parameter of every group that has a `.grad` (one whose `.grad` is
# `None` is skipped and its state is neither created nor advanced: a parameter that never had a gradient has
# no entry in `self.state`, not even an empty dict), in place, under `torch.no_grad()`.
# For a parameter `p` with gradient `g`, with its group's `lr`, `(β1, β2) = betas`, `eps`, `λ = weight_decay`:
# 1. `t = t + 1`, the parameter's **own** step count (it starts at 0; a parameter that first gets a
#    gradient late starts late);
# 2. weight decay: if `decoupled`, `p = p * (1 - lr * λ)` (AdamW: the decay is not scaled by the
#    adaptive term); else `g = g + λ * p` (Adam's L2 penalty, which then goes through the moments);
# 3. `m = β1 * m + (1 - β1) * g`, `v = β2 * v + (1 - β2) * g²` (both start at zero);
# 4. `m̂ = m / (1 - β1**t)`, `v̂ = v / (1 - β2**t)`;
# 5. `p = p - lr * m̂ / (sqrt(v̂) + eps)` (`eps` is added **outside** the square root).
#
# It returns `closure()`'s value (called with gradients enabled) when a closure is given, else `None`, and
# never modifies `.grad`. State per parameter: `self.state[p]["step"]` (the count `t`: a Python number,
# or a 0-dim tensor as `torch.optim` stores it — your `step()` must accept both, so a state dict saved
# by `torch.optim.AdamW` can be loaded into yours), `self.state[p]["exp_avg"]` (`m`) and `self.state[p]["exp_avg_sq"]`
# (`v`), tensors with `p`'s shape, dtype and device, one set per parameter.
#
# Together: with `decoupled=True` your optimizer gives the parameters of `torch.optim.AdamW(params, lr,
# betas, eps, weight_decay)` after every step; with `decoupled=False` those of `torch.optim.Adam(params,
# lr, betas, eps, weight_decay)`. `float32` and `float64`, any device.

# %% [answer id=adamw]
class AdamW(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, decoupled=True):
        ### BEGIN SOLUTION
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, decoupled=decoupled)
        super().__init__(params, defaults)
        ### END SOLUTION

    @torch.no_grad()
    def step(self, closure=None):
        ### BEGIN SOLUTION
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            weight_decay = group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] = t = float(state["step"]) + 1
                if group["decoupled"]:
                    p.mul_(1 - lr * weight_decay)
                else:
                    g = g.add(p, alpha=weight_decay)
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_(g, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                denom = (v.sqrt() / math.sqrt(1 - beta2 ** t)).add_(eps)
                p.addcdiv_(m, denom, value=-lr / (1 - beta1 ** t))
        return loss
        ### END SOLUTION

# %% [tests id=test_adamw points=1]
net, ref_net = make_net(2), make_net(2)
batches = make_batches(4, seed=2)
yours = call("AdamW(net.parameters(), lr=0.01)", AdamW, net.parameters(), lr=0.01)
check(isinstance(yours, torch.optim.Optimizer), "AdamW(...) must be a torch.optim.Optimizer subclass.")
lockstep("AdamW(lr=0.01)", yours, net, torch.optim.AdamW(ref_net.parameters(), lr=0.01), ref_net, batches, steps=5)
net, ref_net = make_net(2), make_net(2)
yours = call("AdamW(net.parameters(), lr=0.01, weight_decay=0.1, decoupled=False)", AdamW, net.parameters(), lr=0.01,
             weight_decay=0.1, decoupled=False)
lockstep("AdamW(lr=0.01, weight_decay=0.1, decoupled=False)", yours, net,
         torch.optim.Adam(ref_net.parameters(), lr=0.01, weight_decay=0.1), ref_net, batches, steps=5)
print("state of fc1.weight:", sorted(yours.state[net.fc1.weight]))
print("Part 2 visible tests passed.")

# %% [tests id=test_adamw_hidden points=7]
# Hidden tests for AdamW run here when your work is graded.
### BEGIN HIDDEN TESTS
clauses = Clauses(points=7)
_p0 = [torch.tensor([1.0, -2.0, 0.5]), torch.tensor([[0.3, -0.7], [1.5, 2.0]])]
_g = [[torch.tensor([0.2, -0.1, 0.4]), None],
      [torch.tensor([-0.3, 0.6, 1e-4]), torch.tensor([[0.2, -0.4], [0.6, 0.9]])],
      [torch.tensor([0.5, 0.2, -0.6]), torch.tensor([[-0.7, 0.1], [3e-4, -0.5]])],
      [torch.tensor([0.1, -0.2, 0.3]), torch.tensor([[0.4, 0.1], [-0.2, 0.05]])],
      [None, torch.tensor([[0.3, -0.2], [0.1, 0.6]])]]


def _adam_variant(lr, betas, eps, wd, decoupled, kind=""):
    params = [p.clone().double() for p in _p0]
    states = [None] * len(params)
    shared_t = 0
    out = []
    for grads in _g:
        shared_t += 1
        for i, (p, g) in enumerate(zip(params, grads)):
            if g is None and kind != "none_as_zero":
                continue
            g = torch.zeros_like(p) if g is None else g.double()
            if states[i] is None:
                states[i] = [0, torch.zeros_like(p), torch.zeros_like(p)]
            states[i][0] += 1
            t = shared_t if kind == "global_step" else states[i][0]
            if kind == "bias_off_by_one":
                t += 1
            if decoupled:
                if kind != "decay_scaled":
                    p = p * (1 - (lr * wd if kind != "decay_no_lr" else wd))
            elif kind != "l2_missing":
                g = g + wd * p
            m = betas[0] * states[i][1] + (1 - betas[0]) * g
            v = betas[1] * states[i][2] + (1 - betas[1]) * g * g
            states[i][1], states[i][2] = m, v
            mh, vh = m / (1 - betas[0] ** t), v / (1 - betas[1] ** t)
            if kind == "no_bias_correction":
                mh, vh = m, v
            denom = (vh + eps).sqrt() if kind == "eps_inside" else vh.sqrt() + eps
            if kind == "eps_before_correction":
                denom = vh.sqrt() + eps / math.sqrt(1 - betas[1] ** t)
            upd = mh / denom
            if kind == "decay_scaled":
                upd = (mh + wd * p) / denom
                p = p - lr * upd
            elif kind == "decay_after_update":
                p = (params[i] - lr * upd) * (1 - lr * wd)
            else:
                p = p - lr * upd
            params[i] = p
        out.append([p.clone() for p in params])
    return out


_ADAM_KINDS = {
    "eps_inside": "eps was added inside the square root: the denominator is sqrt(v̂) + eps",
    "bias_off_by_one": "bias correction is one step off: at the first update t = 1, so m̂ = m / (1 - β1)",
    "no_bias_correction": "the moments were not bias-corrected: m̂ = m / (1 - β1**t), v̂ = v / (1 - β2**t)",
    "global_step": "one step count shared by all parameters: each parameter counts its own updates "
                   "(one that first gets a gradient late starts at t = 1)",
    "eps_before_correction": "eps was added before the bias correction of v: the denominator is sqrt(v̂) + eps with "
                             "v̂ = v / (1 - β2**t), not (sqrt(v) + eps) / sqrt(1 - β2**t)",
    "none_as_zero": "a parameter whose .grad is None was stepped as if its gradient were zero: skip it (its step "
                    "count, moments and weight decay must not advance)",
}


def _adam_scripted(what, kwargs, kinds, decoupled):
    got, _opt, _ps = scripted(what, lambda ps: AdamW(ps, **kwargs), _p0, _g, return_opt=True)
    check_state_tensors(what, _opt, _ps, ["exp_avg", "exp_avg_sq"])
    ref_kwargs = {k: v for k, v in kwargs.items() if k != "decoupled"}
    oracle = torch.optim.AdamW if decoupled else torch.optim.Adam
    exp = scripted(what, lambda ps: oracle(ps, **ref_kwargs), _p0, _g, yours=False)
    args = (kwargs["lr"], kwargs["betas"], kwargs["eps"], kwargs["weight_decay"], decoupled)
    variants = {kind: _adam_variant(*args, kind) for kind in kinds}
    mistakes = whole_run_mistakes(got, variants, kinds)
    for k in range(len(_g)):
        for i in range(len(_p0)):
            check_close(got[k][i], exp[k][i], f"{what}: parameter {i} (float64, gradients set by hand; parameter 1 "
                        f"has no gradient at step 1) after step {k + 1}", atol=1e-12, rtol=1e-10, mistakes=mistakes)


_KW = dict(lr=0.1, betas=(0.8, 0.95), eps=1e-3, weight_decay=0.3)
with clauses.clause("the update: moments, bias correction with the parameter's own step count, eps outside the "
                    "square root (no weight decay)", points=2):
    _adam_scripted("AdamW(lr=0.1, betas=(0.8, 0.95), eps=1e-3, weight_decay=0.0)", dict(_KW, weight_decay=0.0),
                   _ADAM_KINDS, True)
with clauses.clause("decoupled=True: p = p * (1 - lr * weight_decay), not scaled by the adaptive term (equal to "
                    "torch.optim.AdamW)", points=1):
    _adam_scripted("AdamW(lr=0.1, betas=(0.8, 0.95), eps=1e-3, weight_decay=0.3)", _KW, {
        "decay_scaled": "the decay went through the adaptive term (divided by sqrt(v̂) + eps): AdamW decays "
                        "p = p * (1 - lr * weight_decay) directly",
        "decay_no_lr": "the decoupled decay was not multiplied by lr: p = p * (1 - lr * weight_decay)",
        "decay_after_update": "the decoupled decay was applied after the Adam update: decay first "
                              "(p = p * (1 - lr * weight_decay)), then subtract lr * m̂ / (sqrt(v̂) + eps)",
        "none_as_zero": _ADAM_KINDS["none_as_zero"]}, True)
with clauses.clause("decoupled=False: g = g + weight_decay * p before the moments (equal to torch.optim.Adam)", points=1):
    _adam_scripted("AdamW(lr=0.1, betas=(0.8, 0.95), eps=1e-3, weight_decay=0.3, decoupled=False)",
                   dict(_KW, decoupled=False), {
                       "l2_missing": "decoupled=False ignored the weight decay: Adam adds weight_decay * p to the "
                                     "gradient",
                       "none_as_zero": _ADAM_KINDS["none_as_zero"]}, False)
with clauses.clause("equal to torch.optim.AdamW / Adam over 100 steps on a model, with two parameter groups of "
                    "different settings, parameters whose grad is None (no self.state entry for one that never has "
                    "a gradient), float32 and float64", points=1):
    for _dtype, _tol in ((torch.float64, dict(atol=1e-10, rtol=1e-9)), (torch.float32, dict(atol=5e-5, rtol=1e-4))):
        for _decoupled in (True, False):
            _spec = [(["fc1.weight", "fc1.bias"], dict(lr=0.02, betas=(0.85, 0.99), weight_decay=0.05)),
                     (["unused.weight", "fc2.bias", "fc2.weight", "unused.bias"], dict(eps=1e-6))]
            _net, _ref_net = make_net(6, _dtype), make_net(6, _dtype)
            _what = f"AdamW(two parameter groups, lr=0.005, decoupled={_decoupled}) ({_dtype})"
            _yours = call(f"{_what} constructor", AdamW, param_groups(_net, _spec), lr=0.005, decoupled=_decoupled)
            _oracle = torch.optim.AdamW if _decoupled else torch.optim.Adam
            _ref = _oracle(param_groups(_ref_net, _spec), lr=0.005, weight_decay=0.01)
            lockstep(_what, _yours, _net, _ref, _ref_net, make_batches(10, 6, _dtype), 100,
                     none_grad=lambda k: ("fc2.bias",) if k < 9 or k % 7 == 0 else (), **_tol)
            check(not _yours.state.get(_net.unused.weight),
                  f"{_what}: a parameter whose .grad is always None got optimizer state; it must be skipped.")
            check_state_entries(_what, _yours, _ref)
            check_equal(sorted(_yours.state.get(_net.fc1.weight, {})), ["exp_avg", "exp_avg_sq", "step"],
                        f"{_what}: the keys of state[fc1.weight]")
            check_close(float(_yours.state[_net.fc2.bias]["step"]), float(_ref.state[_ref_net.fc2.bias]["step"]),
                        f"{_what}: state[fc2.bias]['step'] (it had no gradient at 22 of the 100 steps)")
with clauses.clause("state_dict()/load_state_dict() resume exactly, also with the per-parameter state saved by "
                    "torch.optim.AdamW (whose step is a tensor)", points=1):
    _kw = dict(lr=0.01, betas=(0.9, 0.99), eps=1e-7, weight_decay=0.05)
    _net, _ref_net = make_net(7), make_net(7)
    _batches = make_batches(6, 7)
    _yours = call("AdamW(net.parameters(), lr=0.01, betas=(0.9, 0.99), eps=1e-7, weight_decay=0.05)", AdamW,
                  _net.parameters(), **_kw)
    _ref = torch.optim.AdamW(_ref_net.parameters(), **_kw)
    _k = lockstep("AdamW", _yours, _net, _ref, _ref_net, _batches, 30, atol=2e-5, rtol=1e-4)
    _resumed = call("a new AdamW(...)", AdamW, _net.parameters(), **_kw)
    call("AdamW.load_state_dict(the first one's state_dict())", _resumed.load_state_dict,
         copy.deepcopy(call("AdamW.state_dict()", _yours.state_dict)))
    _k = lockstep("AdamW resumed from its state_dict after 30 steps", _resumed, _net, _ref, _ref_net, _batches, 20, _k,
                  atol=2e-5, rtol=1e-4)
    _from_torch = call("a new AdamW(...)", AdamW, _net.parameters(), **_kw)
    _sd = copy.deepcopy(call("AdamW.state_dict()", _from_torch.state_dict))
    _sd["state"] = copy.deepcopy(_ref.state_dict()["state"])
    call("AdamW.load_state_dict(a state dict whose 'state' comes from torch.optim.AdamW)", _from_torch.load_state_dict, _sd)
    lockstep("AdamW resumed from torch.optim.AdamW's state_dict after 50 steps", _from_torch, _net, _ref, _ref_net,
             _batches, 20, _k, atol=2e-5, rtol=1e-4)
with clauses.clause("step() leaves .grad unmodified, updates in place, one state per parameter, returns "
                    "closure()'s value", points=1):
    _a = to_device(torch.tensor([1.0, 2.0, -1.0])).requires_grad_(True)
    _b = to_device(torch.tensor([0.5, -0.5, 3.0])).requires_grad_(True)
    _ptr = _a.data_ptr()
    _opt = call("AdamW([a, b], lr=0.1, weight_decay=0.5, decoupled=False)", AdamW, [_a, _b], lr=0.1, weight_decay=0.5,
                decoupled=False)
    _a.grad = to_device(torch.tensor([0.5, -0.5, 1.0]))
    _b.grad = to_device(torch.tensor([-1.0, 0.25, 2.0]))
    _grad = _a.grad.clone()
    call("AdamW.step()", _opt.step)
    check_close(_a.grad.cpu(), _grad.cpu(), "a.grad after AdamW(decoupled=False, weight_decay=0.5).step()",
                mistakes={"the gradient was modified in place (e.g. grad.add_(p, alpha=weight_decay)): "
                          "use an out-of-place add": lambda t: not torch.equal(t, _grad.cpu())})
    check(_a.data_ptr() == _ptr, "AdamW.step() replaced the parameter's storage: update it in place.")
    check(_opt.state[_a]["exp_avg"] is not _opt.state[_b]["exp_avg"]
          and _opt.state[_a]["exp_avg"].data_ptr() != _opt.state[_b]["exp_avg"].data_ptr(),
          "state[a]['exp_avg'] and state[b]['exp_avg'] are the same tensor: each parameter needs its own state")
    _loss = call("AdamW.step(closure)", _opt.step, lambda: torch.tensor(2.5) if torch.is_grad_enabled() else None)
    check(torch.is_tensor(_loss) and float(_loss) == 2.5, "AdamW.step(closure) must call closure() with gradients "
          f"enabled and return its value (tensor(2.5)), got {describe(_loss)}")
    check(call("AdamW.step()", _opt.step) is None, "AdamW.step() without a closure must return None")
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part3]
# ## Part 3 — five schedules in closed form (5 points)
#
# Each function returns a **list of `steps` Python floats**: element `t` is the learning rate in effect
# after `t` calls to `scheduler.step()`, i.e. what `scheduler.get_last_lr()[0]` of the named torch
# scheduler returns then, for an optimizer whose single group starts at `lr = base_lr` (element 0 is the
# rate right after the scheduler is built). Compute each element from `t` directly (no torch scheduler).
#
# - **`step_lr(base_lr, steps, step_size, gamma=0.1)`** — `StepLR(opt, step_size, gamma)`:
#   `base_lr * gamma ** (t // step_size)`.
# - **`multistep_lr(base_lr, steps, milestones, gamma=0.1)`** — `MultiStepLR(opt, milestones, gamma)`:
#   `base_lr * gamma ** k`, `k` the number of entries of `milestones` that are `<= t`. `milestones` is a
#   list of ints in any order; a value listed twice counts twice.
# - **`cosine_annealing_lr(base_lr, steps, T_max, eta_min=0.0)`** — `CosineAnnealingLR(opt, T_max,
#   eta_min)`: `eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2`, for every `t`, also past
#   `T_max` (the cosine goes back up, as torch's does).
# - **`one_cycle_lr(max_lr, total_steps, pct_start=0.3, anneal_strategy="cos", div_factor=25.0,
#   final_div_factor=1e4)`** — `OneCycleLR(opt, max_lr, total_steps=total_steps, pct_start=pct_start,
#   anneal_strategy=anneal_strategy, div_factor=div_factor, final_div_factor=final_div_factor)`, a list
#   of `total_steps` rates. With `initial = max_lr / div_factor`, `final = initial / final_div_factor`
#   and `e = pct_start * total_steps - 1` (a float): for `t <= e`, anneal from `initial` to `max_lr`
#   with `pct = t / e`; otherwise from `max_lr` to `final` with `pct = (t - e) / (total_steps - 1 - e)`.
#   Annealing from `a` to `b`: `"cos"` gives `b + (a - b) * (1 + cos(pi * pct)) / 2`, `"linear"` gives
#   `a + (b - a) * pct`. The tests never use `pct_start * total_steps == 1` (there `e = 0`, and
#   `OneCycleLR` itself raises `ZeroDivisionError` when it is built).
# - **`warmup_cosine_lr(base_lr, steps, warmup_steps, total_steps, eta_min=0.0)`** — linear warm-up, then
#   cosine decay (torch's `LambdaLR` with this factor): for `t < warmup_steps`, `base_lr * t /
#   warmup_steps` (so element 0 is 0); for `t >= warmup_steps`, with `progress = min(1, (t - warmup_steps)
#   / (total_steps - warmup_steps))`, `eta_min + (base_lr - eta_min) * (1 + cos(pi * progress)) / 2`.
#   `0 <= warmup_steps < total_steps`; past `total_steps` the rate stays `eta_min`.
#
# Off limits: `torch.optim.lr_scheduler`. Use `math` (the results are Python floats).

# %% [answer id=schedules]
def step_lr(base_lr, steps, step_size, gamma=0.1):
    ### BEGIN SOLUTION
    return [base_lr * gamma ** (t // step_size) for t in range(steps)]
    ### END SOLUTION


def multistep_lr(base_lr, steps, milestones, gamma=0.1):
    ### BEGIN SOLUTION
    return [base_lr * gamma ** sum(1 for m in milestones if m <= t) for t in range(steps)]
    ### END SOLUTION


def cosine_annealing_lr(base_lr, steps, T_max, eta_min=0.0):
    ### BEGIN SOLUTION
    return [eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t / T_max)) / 2 for t in range(steps)]
    ### END SOLUTION


def one_cycle_lr(max_lr, total_steps, pct_start=0.3, anneal_strategy="cos", div_factor=25.0, final_div_factor=1e4):
    ### BEGIN SOLUTION
    initial = max_lr / div_factor
    final = initial / final_div_factor
    e = pct_start * total_steps - 1

    def anneal(a, b, pct):
        if anneal_strategy == "cos":
            return b + (a - b) * (1 + math.cos(math.pi * pct)) / 2
        return a + (b - a) * pct

    return [anneal(initial, max_lr, t / e) if t <= e else anneal(max_lr, final, (t - e) / (total_steps - 1 - e))
            for t in range(total_steps)]
    ### END SOLUTION


def warmup_cosine_lr(base_lr, steps, warmup_steps, total_steps, eta_min=0.0):
    ### BEGIN SOLUTION
    out = []
    for t in range(steps):
        if t < warmup_steps:
            out.append(base_lr * t / warmup_steps)
        else:
            progress = min(1.0, (t - warmup_steps) / (total_steps - warmup_steps))
            out.append(eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * progress)) / 2)
    return out
    ### END SOLUTION

# %% [tests id=test_schedules points=1]
from torch.optim import lr_scheduler

same_lrs(call("step_lr(0.1, 7, step_size=3)", step_lr, 0.1, 7, 3),
         torch_lrs(lambda o: lr_scheduler.StepLR(o, 3), 0.1, 7), "step_lr(0.1, 7, step_size=3)")
same_lrs(call("multistep_lr(0.1, 8, [2, 5])", multistep_lr, 0.1, 8, [2, 5]),
         torch_lrs(lambda o: lr_scheduler.MultiStepLR(o, [2, 5]), 0.1, 8), "multistep_lr(0.1, 8, [2, 5])")
same_lrs(call("cosine_annealing_lr(0.1, 6, T_max=5)", cosine_annealing_lr, 0.1, 6, 5),
         torch_lrs(lambda o: lr_scheduler.CosineAnnealingLR(o, 5), 0.1, 6), "cosine_annealing_lr(0.1, 6, T_max=5)")
same_lrs(call("one_cycle_lr(1.0, 10)", one_cycle_lr, 1.0, 10),
         torch_lrs(lambda o: lr_scheduler.OneCycleLR(o, 1.0, total_steps=10), 0.1, 10, momentum=0.9),
         "one_cycle_lr(1.0, 10)")
_w = call("warmup_cosine_lr(1.0, 7, warmup_steps=2, total_steps=6)", warmup_cosine_lr, 1.0, 7, 2, 6)
same_lrs(_w, [0.0, 0.5, 1.0, (1 + math.cos(math.pi / 4)) / 2, 0.5, (1 + math.cos(3 * math.pi / 4)) / 2, 0.0],
         "warmup_cosine_lr(1.0, 7, warmup_steps=2, total_steps=6)")
print([round(v, 4) for v in _w])
print("Part 3 visible tests passed.")

# %% [tests id=test_schedules_hidden points=4]
# Hidden tests for the schedules run here when your work is graded.
### BEGIN HIDDEN TESTS
from torch.optim import lr_scheduler as _S

clauses = Clauses(points=4)
with clauses.clause("step_lr and multistep_lr equal StepLR and MultiStepLR (unsorted and repeated milestones)", points=1):
    for _base, _steps, _size, _gamma in ((0.3, 20, 4, 0.5), (2.0, 9, 1, 0.9), (0.05, 6, 10, 0.1)):
        _what = f"step_lr({_base}, {_steps}, step_size={_size}, gamma={_gamma})"
        _exp = torch_lrs(lambda o: _S.StepLR(o, _size, _gamma), _base, _steps)
        same_lrs(call(_what, step_lr, _base, _steps, _size, gamma=_gamma), _exp, _what, lr_mistakes(_exp))
    for _base, _steps, _ms, _gamma in ((0.3, 15, [3, 8], 0.5), (0.1, 14, [10, 2, 6], 0.3), (1.0, 9, [4, 4, 7], 0.5),
                                       (0.2, 5, [0, 3], 0.5)):
        _what = f"multistep_lr({_base}, {_steps}, milestones={_ms}, gamma={_gamma})"
        _exp = torch_lrs(lambda o: _S.MultiStepLR(o, _ms, _gamma), _base, _steps)
        _ms_copy = list(_ms)
        same_lrs(call(_what, multistep_lr, _base, _steps, _ms_copy, gamma=_gamma), _exp, _what, lr_mistakes(_exp, {
            "a milestone listed twice must count twice (MultiStepLR multiplies by gamma once per occurrence)":
                lambda got, ms=_ms: len(set(ms)) < len(ms) and isinstance(got, list) and len(got) == len(_exp) and all(
                    math.isclose(a, _base * _gamma ** len({m for m in ms if m <= t})) for t, a in enumerate(got))}))
        check_equal(_ms_copy, _ms, f"{_what}: the milestones list after the call (it must not be modified)")
with clauses.clause("cosine_annealing_lr equals CosineAnnealingLR, with eta_min and past T_max", points=1):
    for _base, _steps, _T, _min in ((0.1, 12, 11, 0.0), (0.5, 25, 6, 0.01), (1.0, 4, 10, 0.2)):
        _what = f"cosine_annealing_lr({_base}, {_steps}, T_max={_T}, eta_min={_min})"
        _exp = torch_lrs(lambda o: _S.CosineAnnealingLR(o, _T, _min), _base, _steps)
        same_lrs(call(_what, cosine_annealing_lr, _base, _steps, _T, eta_min=_min), _exp, _what, lr_mistakes(_exp, {
            "eta_min was ignored: the cosine runs from base_lr down to eta_min":
                [(_base) * (1 + math.cos(math.pi * t / _T)) / 2 for t in range(_steps)] if _min else None,
            "the rate was held at eta_min past T_max: torch's cosine goes back up": [
                _min + (_base - _min) * (1 + math.cos(math.pi * min(t, _T) / _T)) / 2 for t in range(_steps)]}))
def _one_cycle(max_lr, total, pct_start=0.3, anneal_strategy="cos", div_factor=25.0, final_div_factor=1e4,
               int_e=False):
    """one_cycle_lr as in the contract; ``int_e``: with e = int(pct_start * total) - 1 (for naming that mistake)."""
    initial = max_lr / div_factor
    final = initial / final_div_factor
    e = (int(pct_start * total) if int_e else pct_start * total) - 1

    def anneal(a, b, pct):
        return b + (a - b) * (1 + math.cos(math.pi * pct)) / 2 if anneal_strategy == "cos" else a + (b - a) * pct
    return [anneal(initial, max_lr, t / e) if t <= e else anneal(max_lr, final, (t - e) / (total - 1 - e))
            for t in range(total)]


with clauses.clause("one_cycle_lr equals OneCycleLR (pct_start, div factors, cos and linear)", points=1):
    for _max, _total, _kw in ((1.0, 100, {}), (0.4, 37, dict(pct_start=0.25, div_factor=10.0, final_div_factor=100.0)),
                              (0.2, 20, dict(anneal_strategy="linear", pct_start=0.45)),
                              (3.0, 13, dict(anneal_strategy="linear", div_factor=4.0, final_div_factor=3.0))):
        _what = f"one_cycle_lr({_max}, {_total}{''.join(f', {k}={v!r}' for k, v in _kw.items())})"
        _exp = torch_lrs(lambda o: _S.OneCycleLR(o, _max, total_steps=_total, **_kw), 0.1, _total, momentum=0.9)
        same_lrs(call(_what, one_cycle_lr, _max, _total, **_kw), _exp, _what, lr_mistakes(_exp, {
            "e was rounded to an integer: e = pct_start * total_steps - 1 is a float (OneCycleLR does not round it)":
                same_floats(_int_e) if not same_floats(_exp)(_int_e := _one_cycle(_max, _total, int_e=True, **_kw))
                else None}))
with clauses.clause("warmup_cosine_lr: warm-up from 0, cosine to eta_min, flat past total_steps, no warm-up when "
                    "warmup_steps is 0", points=1):
    def _wc(base, steps, w, total, eta_min=0.0):
        lam = lambda t: (t / w if t < w else (eta_min / base + (1 - eta_min / base) *
                                               (1 + math.cos(math.pi * min(1, (t - w) / (total - w)))) / 2))
        return torch_lrs(lambda o: _S.LambdaLR(o, lam), base, steps)
    for _args in ((0.5, 30, 5, 25, 0.02), (1.0, 12, 0, 10, 0.0), (0.1, 8, 3, 8, 0.0), (2.0, 40, 10, 30, 0.5)):
        _what = f"warmup_cosine_lr({_args[0]}, {_args[1]}, warmup_steps={_args[2]}, total_steps={_args[3]}, eta_min={_args[4]})"
        _exp = _wc(*_args)
        same_lrs(call(_what, warmup_cosine_lr, *_args[:4], eta_min=_args[4]), _exp, _what, lr_mistakes(_exp, {
            "the warm-up starts above 0: element t of the warm-up is base_lr * t / warmup_steps": [
                _args[0] * (t + 1) / _args[2] if t < _args[2] else v for t, v in enumerate(_exp)] if _args[2] else None,
            "the cosine's progress was not clamped: past total_steps the rate stays eta_min (progress = min(1, ...))":
                same_floats([v if t < _args[3] else _args[4] + (_args[0] - _args[4]) * (1 + math.cos(
                    math.pi * (t - _args[2]) / (_args[3] - _args[2]))) / 2 for t, v in enumerate(_exp)])
                if _args[1] > _args[3] + 1 else None}))
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part4]
# ## Part 4 — `ReduceLROnPlateau` (5 points)
#
# **`ReduceLROnPlateau(optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
# threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8)`** — torch's scheduler of the same name,
# from scratch (a plain class; no torch scheduler).
# - Raises `ValueError` if `factor >= 1.0`. `min_lr`: one float for every group, or a list with one per
#   parameter group (a list of another length is not tested; torch raises `ValueError` for it).
# - Attributes, as torch's: `best` (starts at `inf` for `mode="min"`, `-inf` for `"max"`),
#   `num_bad_epochs` (starts at 0), `cooldown_counter` (starts at 0).
# - `step(metric)` (a Python number or a 0-dim tensor; convert it with `float()`), once per epoch after
#   validation, in this order:
#   1. if `metric` is **better** than `best`: `best = metric`, `num_bad_epochs = 0`; else
#      `num_bad_epochs += 1`. Better means, for `mode="min"`: `metric < best * (1 - threshold)` (`"rel"`)
#      or `metric < best - threshold` (`"abs"`); for `mode="max"`: `metric > best * (1 + threshold)`
#      (`"rel"`) or `metric > best + threshold` (`"abs"`). A tie is not better.
#   2. if `cooldown_counter > 0`: `cooldown_counter -= 1` and `num_bad_epochs = 0`;
#   3. if `num_bad_epochs > patience`: in every parameter group `i`, `new = max(lr * factor, min_lr_i)`,
#      and the group's `lr` becomes `new` only if `lr - new > eps`; then `cooldown_counter = cooldown`,
#      `num_bad_epochs = 0`.
# - `get_last_lr()` returns a new list of the groups' `lr` values (Python floats) as of the latest
#   `step()`, or as they were when the scheduler was built if `step()` was never called. The tests never
#   change a group's `lr` by hand, so keeping the list in `step()` (as torch does) and reading the groups'
#   `lr` when `get_last_lr()` is called are both correct.

# %% [answer id=plateau]
class ReduceLROnPlateau:
    ### BEGIN SOLUTION
    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0.0, eps=1e-8):
        if factor >= 1.0:
            raise ValueError("factor should be < 1.0")
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        groups = len(optimizer.param_groups)
        self.min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * groups
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self._last_lr = [float(g["lr"]) for g in optimizer.param_groups]

    def is_better(self, a, best):
        if self.mode == "min":
            return a < best * (1 - self.threshold) if self.threshold_mode == "rel" else a < best - self.threshold
        return a > best * (1 + self.threshold) if self.threshold_mode == "rel" else a > best + self.threshold

    def step(self, metric):
        current = float(metric)
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, min_lr)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [float(g["lr"]) for g in self.optimizer.param_groups]

    def get_last_lr(self):
        return list(self._last_lr)
    ### END SOLUTION

# %% [tests id=test_plateau points=1]
def plateau_run(make, metrics, lrs=(0.1,)):
    opt = torch.optim.SGD([{"params": [nn.Parameter(torch.zeros(1))], "lr": lr} for lr in lrs])
    scheduler = make(opt)
    out = []
    for metric in metrics:
        scheduler.step(metric)
        out.append(scheduler.get_last_lr())
    return out


_metrics = [1.0, 0.9, 0.95, 0.9, 0.91, 0.92, 0.5, 0.6, 0.7]
got = plateau_run(lambda o: call("ReduceLROnPlateau(opt, patience=2, factor=0.5)", ReduceLROnPlateau, o, patience=2,
                                 factor=0.5), _metrics)
exp = plateau_run(lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, patience=2, factor=0.5), _metrics)
check_equal(got, exp, f"get_last_lr() after each step(metric) for metrics {_metrics}, patience=2, factor=0.5")
print(got)
print("Part 4 visible tests passed.")

# %% [tests id=test_plateau_hidden points=4]
# Hidden tests for ReduceLROnPlateau run here when your work is graded.
### BEGIN HIDDEN TESTS
clauses = Clauses(points=4)
_TORCH_PLATEAU = torch.optim.lr_scheduler.ReduceLROnPlateau


def _plateau_compare(kwargs, metrics, lrs=(0.1,), as_tensor=False, mistakes=None):
    _what = (f"ReduceLROnPlateau(opt with group lrs {list(lrs)}, {', '.join(f'{k}={v!r}' for k, v in kwargs.items())}), "
             f"then step(m) for m in {metrics}")
    _ms = [to_device(torch.tensor(m)) for m in metrics] if as_tensor else metrics
    opt_a = torch.optim.SGD([{"params": [to_device(nn.Parameter(torch.zeros(1)))], "lr": lr} for lr in lrs])
    opt_b = torch.optim.SGD([{"params": [nn.Parameter(torch.zeros(1))], "lr": lr} for lr in lrs])
    yours = call(_what, ReduceLROnPlateau, opt_a, **kwargs)
    ref = _TORCH_PLATEAU(opt_b, **kwargs)
    check_equal(call(f"{_what}: get_last_lr() before any step", yours.get_last_lr), ref.get_last_lr(),
                f"{_what}: get_last_lr() before any step")
    got, exp, states, ref_states = [], [], [], []
    for m in _ms:
        call(f"{_what}: step({float(m)!r})", yours.step, m)
        ref.step(float(m))
        got.append(call(f"{_what}: get_last_lr()", yours.get_last_lr))
        exp.append(ref.get_last_lr())
        states.append((getattr(yours, "best", None), getattr(yours, "num_bad_epochs", None),
                       getattr(yours, "cooldown_counter", None)))
        ref_states.append((ref.best, ref.num_bad_epochs, ref.cooldown_counter))
    check_equal(got, exp, f"{_what}: get_last_lr() after each step", mistakes=mistakes)
    check_equal([[float(g["lr"]) for g in opt_a.param_groups]], [exp[-1]], f"{_what}: the optimizer's group lrs at the end")
    check_equal(states, ref_states, f"{_what}: (best, num_bad_epochs, cooldown_counter) after each step")
    return yours


def _variant(kwargs, metrics, lrs=(0.1,), kind=""):
    """get_last_lr() after each step under a known mistake."""
    mode, factor = kwargs.get("mode", "min"), kwargs.get("factor", 0.1)
    patience, threshold = kwargs.get("patience", 10), kwargs.get("threshold", 1e-4)
    tmode, cooldown = kwargs.get("threshold_mode", "rel"), kwargs.get("cooldown", 0)
    if kind == "abs_as_rel":
        tmode = "rel"
    min_lr = kwargs.get("min_lr", 0.0)
    min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * len(lrs)
    if kind == "min_lr_first":
        min_lrs = [min_lrs[0]] * len(lrs)
    eps = -math.inf if kind == "eps_ignored" else kwargs.get("eps", 1e-8)
    lr = list(lrs)
    best, bad, cool = (math.inf if mode == "min" else -math.inf), 0, 0
    out = []
    for m in metrics:
        th = 0.0 if kind == "no_threshold" else threshold
        if mode == "min":
            better = (m < best * (1 - th)) if tmode == "rel" else (m < best - th)
            if kind == "ties_better":
                better = (m <= best * (1 - th)) if tmode == "rel" else (m <= best - th)
        else:
            better = (m > best * (1 + th)) if tmode == "rel" else (m > best + th)
        if better:
            best, bad = m, 0
        else:
            bad += 1
        if cool > 0 and kind != "no_cooldown":
            cool -= 1
            bad = 0
        if (bad >= patience) if kind == "patience_ge" else (bad > patience):
            lr = [max(l * factor, mn) if l - max(l * factor, mn) > eps else l for l, mn in zip(lr, min_lrs)]
            cool, bad = cooldown, 0
        out.append(list(lr))
    return out


_PLATEAU_NAMES = {
    "no_threshold": "the comparison ignores the threshold: better means metric < best * (1 - threshold) (rel) or "
                    "metric < best - threshold (abs)",
    "no_cooldown": "cooldown was not applied: while cooldown_counter > 0, decrement it and reset num_bad_epochs to 0",
    "ties_better": "a tie counted as an improvement: better is strict (<, >)",
    "patience_ge": "the rate was reduced one epoch early: reduce when num_bad_epochs > patience",
    "abs_as_rel": "threshold_mode='abs' used the relative formula: 'abs' compares with best - threshold (min) or "
                  "best + threshold (max)",
    "min_lr_first": "min_lr[0] was used for every group: group i's floor is min_lr[i]",
    "eps_ignored": "eps was ignored: a group's lr changes only if lr - new > eps",
}


def _named(kwargs, metrics, lrs=(0.1,), kinds=_PLATEAU_NAMES):
    """The mistakes whose run differs from the right one and from every other mistake's run."""
    exp = _variant(kwargs, metrics, lrs)
    runs = {kind: _variant(kwargs, metrics, lrs, kind) for kind in kinds}
    return {kinds[kind]: v for kind, v in runs.items()
            if v != exp and sum(1 for w in runs.values() if w == v) == 1}


with clauses.clause("mode='min' with a relative threshold, ties, patience (metrics as numbers and as 0-dim tensors)",
                    points=1):
    _m = [1.0, 1.0, 0.99995, 0.9999, 0.95, 0.95, 0.95, 0.9499, 0.96, 0.94, 0.8, 0.8, 0.8, 0.8, 0.8]
    _kw = dict(patience=2, factor=0.5, threshold=1e-3)
    _plateau_compare(_kw, _m, mistakes=_named(_kw, _m))
    _kw = dict(patience=0, factor=0.3)
    _plateau_compare(_kw, [2.0, 2.0, 1.0, 1.0, 0.5], as_tensor=True, mistakes=_named(_kw, [2.0, 2.0, 1.0, 1.0, 0.5]))
    _m = [100.0, 99.95, 99.9, 99.0, 98.95, 98.9, 98.0]
    _kw = dict(patience=0, factor=0.5, threshold=1e-3)
    _plateau_compare(_kw, _m, mistakes=_named(_kw, _m))
    _m = [1.0] + [1.0] * 24
    _plateau_compare({}, _m, mistakes=_named({}, _m))
    _s = call("ReduceLROnPlateau(opt)", ReduceLROnPlateau, torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1))
    check_equal((getattr(_s, "best", None), getattr(_s, "num_bad_epochs", None), getattr(_s, "cooldown_counter", None)),
                (math.inf, 0, 0), "ReduceLROnPlateau(opt): (best, num_bad_epochs, cooldown_counter) before any step")
    _m = [3.0, 3.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0]
    for _kw in (dict(patience=1, factor=0.5, threshold=0.0), dict(patience=1, factor=0.5, threshold=0.0,
                                                                  threshold_mode="abs")):
        _plateau_compare(_kw, _m, mistakes=_named(_kw, _m))
with clauses.clause("threshold_mode='abs' and mode='max' (rel and abs)", points=1):
    _m = [0.5, 0.52, 0.525, 0.56, 0.56, 0.561, 0.58, 0.57, 0.575, 0.6, 0.6]
    for _kw in (dict(mode="max", patience=1, factor=0.5, threshold=0.02, threshold_mode="abs"),
                dict(mode="max", patience=1, factor=0.5, threshold=0.05, threshold_mode="rel"),
                dict(mode="min", patience=1, factor=0.2, threshold=0.5, threshold_mode="abs")):
        _mm = _m if _kw["mode"] == "max" else [10.0, 9.6, 9.4, 9.0, 8.6, 8.4, 7.0, 7.2, 6.9]
        _plateau_compare(_kw, _mm, mistakes=_named(_kw, _mm))
with clauses.clause("cooldown: decremented once per step, bad epochs ignored during it", points=1):
    _m = [5.0] + [5.0] * 14
    for _kw in (dict(patience=1, cooldown=3, factor=0.5), dict(patience=0, cooldown=1, factor=0.5)):
        _plateau_compare(_kw, _m, mistakes=_named(_kw, _m))
    _m = [3.0, 3.0, 3.0, 2.0, 2.5, 2.5, 2.5, 1.0, 1.5, 1.5]
    _kw = dict(patience=1, cooldown=2, factor=0.1)
    _plateau_compare(_kw, _m, mistakes=_named(_kw, _m))
with clauses.clause("several parameter groups: min_lr (one float or one per group), eps, factor >= 1 rejected",
                    points=1):
    _m = [1.0] * 12
    for _kw, _lrs in ((dict(patience=0, factor=0.5, min_lr=[0.01, 0.3, 0.0]), (0.1, 1.0, 1e-7)),
                      (dict(patience=1, factor=0.1, min_lr=0.002), (0.5, 0.05)),
                      (dict(patience=0, factor=0.5, eps=0.01), (0.1, 0.04))):
        _plateau_compare(_kw, _m, _lrs, mistakes=_named(_kw, _m, _lrs))
    for _factor in (1.0, 2.0):
        _opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
        try:
            with without_torch_optimizers():
                ReduceLROnPlateau(_opt, factor=_factor)
        except ValueError:
            pass
        except Exception as _error:
            fail(f"ReduceLROnPlateau(opt, factor={_factor}) raised {type(_error).__name__}: {_error}; expected a ValueError.")
        else:
            fail(f"ReduceLROnPlateau(opt, factor={_factor}) raised nothing; expected a ValueError.")
    _opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    _s = call("ReduceLROnPlateau(opt, patience=0)", ReduceLROnPlateau, _opt, patience=0)
    _l = call("get_last_lr()", _s.get_last_lr)
    _l.append(99.0)
    check_equal(call("get_last_lr()", _s.get_last_lr), [0.1], "get_last_lr() after the caller appended to the list "
                "it returned (each call returns a new list)")
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part5]
# ## Part 5 — an LR range test that leaves no trace (6 points)
#
# **`lr_find(model, optimizer, loss_fn, batches, start_lr=1e-7, end_lr=10.0, num_steps=100, beta=0.98,
# diverge=4.0)`** returns `(lrs, losses, suggestion)`.
# - `batches`: a list of `(x, y)` pairs already on the model's device; step `i` uses
#   `batches[i % len(batches)]`. `num_steps >= 2`.
# - Before step `i` (`i = 0, 1, …, num_steps - 1`) the `lr` of **every** parameter group is set to
#   `lr_i = start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))` (an exponential ramp from `start_lr`
#   to `end_lr`).
# - Step `i`, with the model in training mode: `optimizer.zero_grad()`, `loss = loss_fn(model(x), y)`,
#   `loss.backward()`, `optimizer.step()`; `raw_i = loss.item()`. If `raw_i` is not finite (`nan` or
#   `±inf`), stop at once: step `i` is not recorded.
# - Smoothing: `avg_i = beta * avg_{i-1} + (1 - beta) * raw_i` with `avg_{-1} = 0`, and the recorded
#   loss is the bias-corrected `smoothed_i = avg_i / (1 - beta ** (i + 1))`. Append `lr_i` to `lrs` and
#   `smoothed_i` to `losses`.
# - Divergence: after recording step `i >= 1`, stop if `smoothed_i > diverge * min(losses)` (the
#   minimum over the recorded losses, this one included); step `i` stays recorded.
# - `lrs` and `losses`: lists of Python floats of the same length (floats also when `start_lr` and
#   `end_lr` are ints). `suggestion`: `None` if fewer than 2
#   losses were recorded; otherwise `lrs[j]` for the `j >= 1` at which `losses[j] - losses[j - 1]` is
#   smallest (the steepest descent; the first such `j` on ties), a Python float.
# - **On return, nothing shows that it ran:** the model's parameters and buffers hold exactly the values
#   they had (the same tensor objects, updated in place), every submodule is back in the training or
#   eval mode it was in, the optimizer's state and every group's settings (`lr` included) are exactly
#   as before (its `state_dict()` equals the one before the call), and every parameter's `.grad` is
#   `None` (also a parameter that held a gradient before the call: gradients are not restored). This
#   holds however the function returns (finished, diverged, or stopped on a non-finite loss).

# %% [answer id=lr_find]
def lr_find(model, optimizer, loss_fn, batches, start_lr=1e-7, end_lr=10.0, num_steps=100, beta=0.98, diverge=4.0):
    ### BEGIN SOLUTION
    model_state = copy.deepcopy(model.state_dict())
    optimizer_state = copy.deepcopy(optimizer.state_dict())
    modes = {module: module.training for module in model.modules()}
    lrs, losses = [], []
    avg = 0.0
    try:
        model.train()
        for i in range(num_steps):
            lr = start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = batches[i % len(batches)]
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            raw = loss.item()
            if not math.isfinite(raw):
                break
            avg = beta * avg + (1 - beta) * raw
            smoothed = avg / (1 - beta ** (i + 1))
            lrs.append(lr)
            losses.append(smoothed)
            if i >= 1 and smoothed > diverge * min(losses):
                break
    finally:
        model.load_state_dict(model_state)
        optimizer.load_state_dict(optimizer_state)
        for module, training in modes.items():
            module.training = training
        for p in model.parameters():
            p.grad = None
    suggestion = None
    if len(losses) >= 2:
        j = min(range(1, len(losses)), key=lambda k: losses[k] - losses[k - 1])
        suggestion = lrs[j]
    return lrs, losses, suggestion
    ### END SOLUTION

# %% [tests id=test_lr_find points=1]
def classifier(seed=0):
    torch.manual_seed(seed)
    return to_device(nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3)))


def class_batches(count, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [(to_device(torch.randn(16, 6, generator=g)), to_device(torch.randint(0, 3, (16,), generator=g)))
            for _ in range(count)]


model = classifier(0)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
before = copy.deepcopy(model.state_dict())
lrs, losses, suggestion = call("lr_find(model, optimizer, F.cross_entropy, batches, 1e-4, 100.0, num_steps=30)",
                               lr_find, model, optimizer, F.cross_entropy, class_batches(5), 1e-4, 100.0, num_steps=30)
check_equal(len(lrs), len(losses), "len(lrs) and len(losses)")
check_close(lrs[0], 1e-4, "lrs[0]", rtol=1e-9)
check_close(lrs[1], 1e-4 * 1e6 ** (1 / 29), "lrs[1]", rtol=1e-9)
for name, value in model.state_dict().items():
    check(torch.equal(value, before[name]), f"model.state_dict()['{name}'] changed: lr_find must restore the model.")
check_equal(optimizer.param_groups[0]["lr"], 0.01, "optimizer.param_groups[0]['lr'] after lr_find")
print(len(lrs), "steps; suggestion", suggestion)
print("Part 5 visible tests passed.")

# %% [tests id=test_lr_find_hidden points=5]
# Hidden tests for lr_find run here when your work is graded.
### BEGIN HIDDEN TESTS
clauses = Clauses(points=5)


def _ref_lr_find(model, optimizer, loss_fn, batches, start_lr=1e-7, end_lr=10.0, num_steps=100, beta=0.98,
                 diverge=4.0, smoothing=True, train=True, divergence_stop=True):
    lrs, losses, avg = [], [], 0.0
    if train:
        model.train()
    for i in range(num_steps):
        lr = start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = batches[i % len(batches)]
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        raw = loss.item()
        if not math.isfinite(raw):
            break
        avg = beta * avg + (1 - beta) * raw
        lrs.append(lr)
        losses.append(avg / (1 - beta ** (i + 1)) if smoothing else raw)
        if divergence_stop and i >= 1 and losses[-1] > diverge * min(losses):
            break
    sug = None
    if len(losses) >= 2:
        j = min(range(1, len(losses)), key=lambda k: losses[k] - losses[k - 1])
        sug = lrs[j]
    return _Result((lrs, losses, sug))


def _setup(seed, opt_kind):
    """A classifier with BatchNorm whose optimizer already carries state (3 steps taken). ``opt_kind``: "sgd"
    (two groups with different lr), "sgd1" (one group) or "adam" (one group)."""
    model = classifier(seed)
    if opt_kind == "sgd1":
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-3)
    elif opt_kind == "sgd":
        opt = torch.optim.SGD([{"params": list(model[0].parameters()), "lr": 0.02},
                               {"params": list(model[1].parameters()) + list(model[3].parameters()), "lr": 0.005,
                                "weight_decay": 1e-3}], momentum=0.9)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=0.003, weight_decay=0.01)
    for x, y in class_batches(3, seed + 100):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    opt.zero_grad()
    return model, opt


def _nan_from(k):
    """cross_entropy, but nan from its k-th call on (calls counted from 0)."""
    calls = [0]

    def loss_fn(logits, target):
        calls[0] += 1
        loss = F.cross_entropy(logits, target)
        return loss * float("nan") if calls[0] > k else loss
    return loss_fn


def _scripted_loss(values):
    """A loss whose value at call i is values[i] (its gradient is zero)."""
    calls = [0]

    def loss_fn(logits, target):
        calls[0] += 1
        return logits.sum() * 0 + values[calls[0] - 1]
    return loss_fn


def _scripted_run(values, **kwargs):
    model, opt = _setup(30, "sgd")
    what = f"lr_find(..., a loss whose values are {values} in turn, {', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
    got = call(what, lr_find, model, opt, _scripted_loss(values), class_batches(2, 30), **kwargs)
    ref_model, ref_opt = _setup(30, "sgd")
    exp = _ref_lr_find(ref_model, ref_opt, _scripted_loss(values), class_batches(2, 30), **kwargs)
    exp.variant = lambda **changes: _ref_lr_find(*_setup(30, "sgd"), _scripted_loss(values), class_batches(2, 30),
                                                 **dict(kwargs, **changes))
    return what, got, exp


def _recording(loss_fn, optimizer, into):
    """``loss_fn`` that first appends the lr of every group of ``optimizer`` to ``into``."""
    def recorded(logits, target):
        into.append([group["lr"] for group in optimizer.param_groups])
        return loss_fn(logits, target)
    return recorded


def _run(seed, opt_kind, kwargs, eval_parts=(), nan_from=None, grads_before=False):
    model, opt = _setup(seed, opt_kind)
    for idx in eval_parts:
        model[idx].eval()
    if grads_before:  # gradients left by someone else's backward
        _x, _y = class_batches(1, seed + 200)[0]
        F.cross_entropy(model(_x), _y).backward()
    ref_model, ref_opt = copy.deepcopy((model, opt))
    start = copy.deepcopy((model, opt))  # for the runs of named mistakes
    before_model = copy.deepcopy(model.state_dict())
    before_opt = copy.deepcopy(opt.state_dict())
    params = list(model.parameters())
    modes = [m.training for m in model.modules()]
    batches = class_batches(4, seed)
    loss_name = "cross_entropy" if nan_from is None else f"a loss that is nan from step {nan_from} on"
    what = (f"lr_find(model with BatchNorm and an optimizer carrying state ({opt_kind}), {loss_name}, 4 batches, "
            f"{', '.join(f'{k}={v!r}' for k, v in kwargs.items())})")
    new_loss = (lambda: F.cross_entropy) if nan_from is None else (lambda: _nan_from(nan_from))
    start_group_lrs = [group["lr"] for group in opt.param_groups]
    seen, ref_seen = [], []
    got = call(what, lr_find, model, opt, _recording(new_loss(), opt, seen), batches, **kwargs)
    exp = _ref_lr_find(ref_model, ref_opt, _recording(new_loss(), ref_opt, ref_seen), batches, **kwargs)
    exp.group_lrs = (seen, ref_seen, start_group_lrs)
    exp.grads_before = grads_before

    def variant(**changes):
        """The reference run with ``changes`` (a named mistake), from the state the call started from."""
        m, o = copy.deepcopy(start)
        return _ref_lr_find(m, o, new_loss(), batches, **dict(kwargs, **changes))
    exp.variant = variant
    # the optimizer's state at the end of the run, before any restoring
    exp.end_state = {i: {k: v.detach().cpu().clone() if torch.is_tensor(v) else v for k, v in st.items()}
                     for i, st in ref_opt.state_dict()["state"].items()}
    if eval_parts and nan_from is None:
        exp.untrained = lambda: variant(train=False)[1]
    return what, got, exp, (model, opt, before_model, before_opt, params, modes, exp)


class _Result(tuple):
    """(lrs, losses, suggestion) of the reference, with attributes for naming mistakes."""


def _check_curve(what, got, exp):
    check_type(got, tuple, f"{what}: the result")
    check_equal(len(got), 3, f"{what}: the number of returned values")
    lrs, losses, sug = got
    check_type(lrs, list, f"{what}: lrs")
    check_type(losses, list, f"{what}: losses")
    check(all(type(v) is float for v in lrs + losses), f"{what}: lrs and losses must hold Python floats.")

    def no_divergence_stop(n):
        """The run is the one without the divergence stop (the losses too, not only their number)."""
        if n <= len(exp[1]) or not hasattr(exp, "variant"):
            return False
        return same_floats(exp.variant(divergence_stop=False)[1], 1e-5, 1e-6)(losses)

    def non_finite_recorded(n):
        """The run is the expected one plus the step with a non-finite loss, recorded before stopping."""
        return n == len(exp[1]) + 1 and not math.isfinite(losses[-1]) and same_floats(exp[1], 1e-5, 1e-6)(losses[:-1])

    check_equal(len(losses), len(exp[1]), f"{what}: the number of recorded steps",
                mistakes={"the diverging step was not recorded: step i stays in the curve when it triggers the stop":
                          len(exp[1]) - 1,
                          "the run did not stop on divergence: after recording step i >= 1, stop if smoothed_i > "
                          "diverge * min(losses)": no_divergence_stop,
                          "the step with a non-finite loss was recorded before stopping: check raw_i before "
                          "appending, step i is not recorded": non_finite_recorded})
    same_lrs(lrs, exp[0], f"{what}: lrs", rtol=1e-9, element="the learning rate of step {}")
    untrained = getattr(exp, "untrained", None)
    same_lrs(losses, exp[1], f"{what}: losses (smoothed)", rtol=1e-5, atol=1e-6, element="the loss recorded at step {}",
             mistakes=None if untrained is None else {
                 "the model was not put in training mode (model.train()) for the steps: its BatchNorm, handed over in "
                 "eval mode, used its running statistics": lambda got: same_floats(untrained(), 1e-5, 1e-6)(got)})


def _check_group_lrs(what, exp):
    """At every step, every parameter group had lr_i when the loss was computed."""
    seen, expected, start = exp.group_lrs
    for i, (got_i, exp_i) in enumerate(zip(seen, expected)):
        if len(got_i) == len(exp_i) and all(isinstance(a, (int, float)) and math.isclose(a, b, rel_tol=1e-9)
                                            for a, b in zip(got_i, exp_i)):
            continue
        first_only = [exp_i[0]] + start[1:]
        fail(f"{what}: the lr of each parameter group (in optimizer.param_groups order) when loss_fn was called at "
             f"step {i}: expected {describe(exp_i)}, got {describe(got_i)}",
             "only the first group's lr was set: set lr_i in every parameter group"
             if len(start) > 1 and len(got_i) == len(exp_i) and all(
                 isinstance(a, (int, float)) and math.isclose(a, b, rel_tol=1e-9) for a, b in zip(got_i, first_only))
             else None)


def _check_model_restored(what, ctx):
    model, opt, before_model, before_opt, params, modes, exp = ctx
    check(all(a is b for a, b in zip(model.parameters(), params)),
          f"{what}: the model's parameters are not the same tensor objects as before: restore them in place "
          f"(model.load_state_dict), since the optimizer refers to them.")
    for name, value in model.state_dict().items():
        check_close(value.cpu(), before_model[name].cpu(), f"{what}: model.state_dict()['{name}'] after the call "
                    f"(it must equal the value before)", atol=0, rtol=0,
                    hint=None)
    check_equal([m.training for m in model.modules()], modes, f"{what}: the training flag of every submodule, in "
                f"model.modules() order, after the call")
    check(all(p.grad is None for p in model.parameters()), f"{what}: every parameter's .grad must be None on return"
          + (" (they held gradients before the call; those are not restored)." if exp.grads_before else "."))


def _check_opt_restored(what, ctx):
    model, opt, before_model, before_opt, params, modes, exp = ctx
    after = opt.state_dict()
    check_equal([{k: v for k, v in g.items() if k != "params"} for g in after["param_groups"]],
                [{k: v for k, v in g.items() if k != "params"} for g in before_opt["param_groups"]],
                f"{what}: the optimizer's param_groups settings after the call")
    check_equal(sorted(after["state"]), sorted(before_opt["state"]), f"{what}: the parameters with optimizer state")
    for idx, st in before_opt["state"].items():
        for key, value in st.items():
            got_value = after["state"][idx].get(key)
            end = exp.end_state.get(idx, {}).get(key)
            check_close(got_value.cpu() if torch.is_tensor(got_value) else got_value,
                        value.cpu() if torch.is_tensor(value) else value,
                        f"{what}: optimizer state of parameter {idx}, '{key}', after the call", atol=0, rtol=0,
                        mistakes={"the optimizer's state is the one at the end of the run: optimizer.state_dict() "
                                  "holds references to the live state tensors, so copy it (copy.deepcopy) before the "
                                  "run and load the copy back": lambda v: torch.is_tensor(end) and torch.is_tensor(v)
                                  and not torch.equal(end, value.cpu()) and torch.allclose(v.double(), end.double(),
                                                                                          rtol=1e-5, atol=1e-7)})


with clauses.clause("the ramp: lr_i on every group, exponential from start_lr to end_lr, the batches cycled", points=1):
    _what, _got, _exp, _ = _run(10, "sgd", dict(start_lr=1e-3, end_lr=0.5, num_steps=9))
    _check_group_lrs(_what + " (two groups)", _exp)
    _check_curve(_what, _got, _exp)
    _what, _got, _exp, _ = _run(10, "sgd", dict(start_lr=1e-3, end_lr=0.5, num_steps=9), eval_parts=(1,))
    _check_curve(_what.replace("BatchNorm", "BatchNorm in eval mode"), _got, _exp)
    _what, _got, _exp = _scripted_run([2.0, 1.5, 1.2], start_lr=1, end_lr=4, num_steps=3, beta=0.0)
    _check_curve(_what + " (int start_lr and end_lr)", _got, _exp)
with clauses.clause("smoothing (bias-corrected exponential average) and the divergence stop", points=1):
    for _seed, _kind, _kw in ((11, "sgd1", dict(start_lr=1e-4, end_lr=1e4, num_steps=40)),
                              (12, "adam", dict(start_lr=1e-5, end_lr=50.0, num_steps=60, beta=0.7, diverge=2.0))):
        _what, _got, _exp, _ = _run(_seed, _kind, _kw)
        check(len(_exp[1]) < _kw["num_steps"], "test error: the reference run should diverge")
        _check_curve(_what, _got, _exp)
    for _values in ([1.0, 5.0, 1.0, 1.0], [1.0, 4.0, 3.0, 4.5, 0.5], [2.0, 2.5, 9.0, 1.0, 1.0]):
        _what, _got, _exp = _scripted_run(_values, start_lr=0.01, end_lr=1.0, num_steps=len(_values), beta=0.0)
        _check_curve(_what, _got, _exp)
with clauses.clause("a non-finite loss stops the run unrecorded; suggestion is lrs[j] at the steepest drop "
                    "(None under two points)", points=1):
    _what, _got, _exp, _ = _run(13, "sgd1", dict(start_lr=1e-4, end_lr=1.0, num_steps=40, diverge=1e30), nan_from=17)
    check(len(_exp[1]) == 17, "test error: the reference run should meet a non-finite loss")
    _check_curve(_what, _got, _exp)
    for _seed, _kw in ((14, dict(start_lr=1e-3, end_lr=1.0, num_steps=25, beta=0.5)),
                       (15, dict(start_lr=1e-2, end_lr=1e4, num_steps=30))):
        _what, _got, _exp, _ = _run(_seed, "adam", _kw)
        check(isinstance(_got, tuple) and len(_got) == 3, f"{_what}: expected a tuple (lrs, losses, suggestion)")
        check(type(_got[2]) is float, f"{_what}: the suggestion must be a Python float, got {describe(_got[2])}")
        _j = _got[0].index(_got[2]) if _got[2] in _got[0] else None
        check_close(_got[2], _exp[2], f"{_what}: suggestion", rtol=1e-9, mistakes={
            "the suggestion is the learning rate at the minimum loss, not at the steepest drop":
                _exp[0][min(range(len(_exp[1])), key=_exp[1].__getitem__)],
            "the suggestion is one step off: it is lrs[j] where losses[j] - losses[j - 1] is smallest":
                lambda v: any(math.isclose(v, _exp[0][k], rel_tol=1e-9) for k in range(len(_exp[0]))
                              if abs(k - _exp[0].index(_exp[2])) == 1)})
    for _values in ([3.0, 1.0, 0.9, 0.8], [1.0, 0.5, float("nan"), 1.0], [3.0, 2.0, 2.5, 1.5, 1.4]):
        _what, _got, _exp = _scripted_run(_values, start_lr=0.01, end_lr=1.0, num_steps=len(_values), beta=0.0)
        check(isinstance(_got, tuple) and len(_got) == 3, f"{_what}: expected a tuple (lrs, losses, suggestion)")
        check_equal(_got[2], _exp[2], f"{_what}: suggestion (the drops losses[j] - losses[j - 1] are "
                    f"{[round(_b - _a, 6) for _a, _b in zip(_exp[1], _exp[1][1:])]} for j = 1, 2, ...)", mistakes={
                        "on a tie the suggestion must be the first j with the steepest drop, not the last":
                            _exp[0][3]} if _values[:3] == [3.0, 2.0, 2.5] else None)
    _what, _got, _exp, _ = _run(16, "sgd", dict(start_lr=1e-3, end_lr=1.0, num_steps=20), nan_from=1)
    check(len(_exp[1]) < 2, "test error: the reference run should stop before two points")
    check(isinstance(_got, tuple) and len(_got) == 3 and _got[2] is None,
          f"{_what}: with fewer than 2 recorded losses the suggestion must be None, got "
          f"{describe(_got[2] if isinstance(_got, tuple) and len(_got) == 3 else _got)}")
with clauses.clause("the model is restored exactly: parameters and BatchNorm buffers in place, modes of every "
                    "submodule, .grad None", points=1):
    for _kind, _kw, _eval in (("sgd", dict(start_lr=1e-4, end_lr=1e3, num_steps=30), (1,)),
                              ("adam", dict(start_lr=1e-3, end_lr=1.0, num_steps=30), (3,))):
        _what, _got, _exp, (_model, _opt, _bm, _bo, _params, _modes, _) = _run(
            20, _kind, _kw, eval_parts=_eval, nan_from=12 if _kind == "adam" else None, grads_before=_kind == "sgd")
        _check_model_restored(_what, (_model, _opt, _bm, _bo, _params, _modes, _exp))
    _model = classifier(21).eval()
    _opt = torch.optim.SGD(_model.parameters(), lr=0.1)
    _bm = copy.deepcopy(_model.state_dict())
    call("lr_find(model in eval mode, ...)", lr_find, _model, _opt, F.cross_entropy, class_batches(3, 21), 1e-3, 1.0,
         num_steps=5)
    check(not any(m.training for m in _model.modules()), "lr_find(model in eval mode): the model must be back in "
          "eval mode on return")
with clauses.clause("the optimizer is restored exactly (state and settings), and training goes on as if "
                    "lr_find had never run", points=1):
    for _kind in ("sgd", "adam"):
        _what, _got, _exp, (_model, _opt, _bm, _bo, _params, _modes, _) = _run(
            22, _kind, dict(start_lr=1e-4, end_lr=10.0, num_steps=25))
        _check_opt_restored(_what, (_model, _opt, _bm, _bo, _params, _modes, _exp))
        with torch.no_grad():  # the model's restoration is the previous clause's business
            for _p, _v in zip(_model.parameters(), [_bm[n] for n, _ in _model.named_parameters()]):
                _p.copy_(_v)
            for _n, _b in _model.named_buffers():
                _b.copy_(_bm[_n])
        _model.train()
        _ref_model, _ref_opt = _setup(22, _kind)
        for _x, _y in class_batches(2, 99):
            for _m, _o in ((_model, _opt), (_ref_model, _ref_opt)):
                _o.zero_grad()
                F.cross_entropy(_m(_x), _y).backward()
                _o.step()
        compare_params(f"{_what}: two training steps after the call, compared with a run without it", _model,
                       _ref_model, atol=1e-6, rtol=1e-5)
clauses.verdict()
### END HIDDEN TESTS
