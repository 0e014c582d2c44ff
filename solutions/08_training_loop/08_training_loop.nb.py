# %% [markdown readonly id=intro]
# # Assignment 8 — The training and inference loop, and a Learner with callbacks
#
# You will write, in six graded parts, the loop that lecture 8 takes apart, then a `Learner`:
#
# 1. `train_one_epoch`: gradient accumulation (with a partial last group), a scheduler stepped per
#    optimizer step, gradient clipping and autocast (6 points);
# 2. `evaluate`: eval mode, no autograd, per-sample averages, the model's modes restored (4 points);
# 3. `fit`: early stopping, best and last checkpoints, an exact resume (6 points);
# 4. `predict` and `write_submission`: probabilities in dataset order, a CSV in a fixed format (3 points);
# 5. a `Learner` with six callback events, callbacks run by `order`, and three cancel exceptions (6 points);
# 6. five callbacks: metrics, device, LR finder, one-cycle, activation statistics (6 points).
#
# **Each part is graded on its own.** When the hidden tests grade `fit`, correct versions of
# `train_one_epoch` and `evaluate` stand in for yours (the names in this notebook); when they grade the
# callbacks of Part 6, a correct learner drives them. So a mistake costs points in its own part only
# (the visible tests use your own functions throughout).
#
# Each part states its contract, then gives you an answer cell (replace `raise NotImplementedError()`)
# and a visible test cell. The visible tests check the contract and double as examples; when you
# submit, hidden tests check more (models with dropout and BatchNorm, models already in eval mode,
# unequal last batches, checkpoint files opened and compared bit for bit, every cancel exception raised
# at every point), on the grading device. Tests write files only into temporary folders.
# Press **Validate** to run everything. Read lecture 8 first.

# %% [readonly id=setup]
import copy
import csv
import math
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from grader.checks import (CheckFailed, Clauses, check, check_close, check_equal, check_shape, check_type,
                           describe, fail, student_call)
from grader.device import describe_device, grading_device, to_device

torch.manual_seed(0)
print(describe_device())
NOTEBOOK = globals()  # the namespace your answers live in


class CancelFitException(Exception):
    """Raised by a callback (or the model, or the loss) to end the whole fit early."""


class CancelEpochException(Exception):
    """Raised to end the current phase (training or validation pass) early."""


class CancelBatchException(Exception):
    """Raised to end the current batch early."""


class Callback:
    """Base class of Part 5 and 6's callbacks: run in increasing ``order`` (ties: in the order given)."""
    order = 0


def toy_data(n, features=4, classes=3, seed=0):
    """``n`` samples: float32 inputs (n, features) and int64 labels (n,) in [0, classes)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=g)
    y = torch.randint(0, classes, (n,), generator=g)
    return x, y


def toy_loader(n, batch_size, features=4, classes=3, seed=0, shuffle=False):
    """A DataLoader over ``toy_data(n, ...)`` (the last batch is short when batch_size does not divide n)."""
    return DataLoader(TensorDataset(*toy_data(n, features, classes, seed)), batch_size=batch_size, shuffle=shuffle)


def toy_model(kind="linear", features=4, classes=3, seed=0):
    """A tiny classifier: "linear", "dropout" (Linear-ReLU-Dropout-Linear) or "batchnorm" (with BatchNorm1d)."""
    torch.manual_seed(seed)
    if kind == "linear":
        return nn.Linear(features, classes)
    if kind == "dropout":
        return nn.Sequential(nn.Linear(features, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, classes))
    return nn.Sequential(nn.Linear(features, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, classes))


def accuracy(outputs, y):
    """The batch's accuracy, a 0-dim float tensor."""
    return (outputs.argmax(dim=1) == y).float().mean()


def params_of(model):
    """A CPU copy of every parameter and buffer (to compare models bit for bit)."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


class Probe(nn.Module):
    """Wraps a model and records, at each forward: the model's mode, autograd, inference mode, autocast."""

    def __init__(self, inner, log=None):
        super().__init__()
        self.inner, self.log, self.seen = inner, log, []

    def forward(self, x):
        device = x.device.type
        self.seen.append(dict(training=self.training, grad=torch.is_grad_enabled(),
                              inference=torch.is_inference_mode_enabled(), n=len(x), device=device,
                              autocast=torch.is_autocast_enabled(device),
                              autocast_dtype=torch.get_autocast_dtype(device)))
        if self.log is not None:
            self.log.append("forward")
        return self.inner(x)


class LoggingSGD(torch.optim.SGD):
    """SGD that writes "zero_grad" and "step" into ``log`` and remembers the gradient norm at each step."""

    def __init__(self, params, log, **kwargs):
        super().__init__(params, **kwargs)
        self.log, self.grad_norms = log, []

    def zero_grad(self, set_to_none=True):
        self.log.append("zero_grad")
        super().zero_grad(set_to_none)

    def step(self, closure=None):
        grads = [p.grad.detach().flatten() for g in self.param_groups for p in g["params"] if p.grad is not None]
        self.grad_norms.append(float(torch.cat(grads).norm()) if grads else 0.0)
        self.log.append("step")
        return super().step(closure)


class LoggingScheduler(torch.optim.lr_scheduler.LambdaLR):
    """A LambdaLR (lr halves at each step) that writes "scheduler" into ``log`` at each step()."""

    def __init__(self, optimizer, log):
        self.log, self.ready = log, False
        super().__init__(optimizer, lambda step: 0.5 ** step)  # (this calls step() once: not logged)
        self.ready = True

    def step(self, *args, **kwargs):
        if self.ready:
            self.log.append("scheduler")
        return super().step(*args, **kwargs)


class GraphCounter(torch.autograd.Function):
    """Identity whose autograd node is counted while alive: ``GraphCounter.alive`` is the number of
    graphs (of this identity's calls) still held in memory, ``GraphCounter.peak`` the most at once."""
    alive, peak = 0, 0

    class _Token:
        def __init__(self):
            GraphCounter.alive += 1
            GraphCounter.peak = max(GraphCounter.peak, GraphCounter.alive)

        def __del__(self):
            GraphCounter.alive -= 1

    @staticmethod
    def forward(ctx, x):
        ctx.token = GraphCounter._Token()
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad


class Counted(nn.Module):
    """``inner`` whose output goes through :class:`GraphCounter` (to see graphs kept alive)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return GraphCounter.apply(self.inner(x))

# %% [markdown readonly id=part1]
# ## Part 1 — `train_one_epoch` (6 points)
#
# **`train_one_epoch(model, loader, loss_fn, optimizer, accum_steps=1, scheduler=None, max_grad_norm=None,
# autocast_dtype=None)`** trains `model` for one pass over `loader` and returns the epoch's loss.
#
# - `loader` yields batches `(x, y)` (on the CPU); move both to the device of the model's first parameter,
#   `next(model.parameters()).device`. The batch size `n` of a batch is `len(y)`; the last batch may be short.
# - Put the model in training mode (`model.train()`) before the first batch; it is left in training mode.
# - `loss_fn(model(x), y)` returns the **mean** loss of the batch (a 0-dim tensor).
# - **Gradient accumulation.** The batches are taken in the loader's order in consecutive *groups* of
#   `accum_steps` batches; when the number of batches is not a multiple of `accum_steps`, the last group
#   holds the remaining batches (it is *not* dropped). There is one optimizer step per group, and the
#   gradient at that step must be the gradient of the **mean loss over all the samples of the group** —
#   the step one batch made of the whole group would take. So each batch of the group contributes
#   `loss × n / N` to the gradient, where `N` is the number of samples in the group (for groups of equal
#   batches this is `loss / accum_steps`, but not for the last group, nor when a batch is short).
# - Each group: the gradients are zeroed (`optimizer.zero_grad()`) before the group's first backward, so
#   whatever `.grad` held before the call (or from the previous group) never leaks into a step; then the
#   group's backwards; then, when `max_grad_norm` is not `None`, the gradient is clipped with
#   `torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)`; then `optimizer.step()`; then, when
#   `scheduler` is not `None`, `scheduler.step()` — once per optimizer step (not per batch).
# - When `autocast_dtype` is not `None` (e.g. `torch.bfloat16`), the forward pass **and** `loss_fn` run
#   under `torch.autocast(device_type=<the model's device type>, dtype=autocast_dtype)`; the backward,
#   clipping and step run outside it.
# - Returns a Python `float`: the **per-sample** mean loss of the epoch, `Σ loss_b × n_b / Σ n_b` over all
#   batches, where `loss_b` is the batch's (unscaled) mean loss at its forward pass. No batch's autograd
#   graph may be kept alive after its backward (accumulate numbers, e.g. with `.item()`, not tensors).

# %% [answer id=train_one_epoch]
def train_one_epoch(model, loader, loss_fn, optimizer, accum_steps=1, scheduler=None, max_grad_norm=None,
                    autocast_dtype=None):
    ### BEGIN SOLUTION
    device = next(model.parameters()).device
    model.train()
    total, count = 0.0, 0

    def step(group):
        nonlocal total, count
        group_size = sum(len(y) for _, y in group)
        optimizer.zero_grad()
        for x, y in group:
            x, y = x.to(device), y.to(device)
            if autocast_dtype is None:
                loss = loss_fn(model(x), y)
            else:
                with torch.autocast(device_type=device.type, dtype=autocast_dtype):
                    loss = loss_fn(model(x), y)
            (loss * (len(y) / group_size)).backward()
            total += loss.item() * len(y)
            count += len(y)
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()

    group = []
    for batch in loader:
        group.append(batch)
        if len(group) == accum_steps:
            step(group)
            group = []
    if group:
        step(group)
    return total / count
    ### END SOLUTION

# %% [tests id=test_train_one_epoch points=2]
model = toy_model("linear")
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loader = toy_loader(10, batch_size=4)              # batches of 4, 4 and 2 samples
x_all, y_all = toy_data(10)
reference, batch_losses = copy.deepcopy(model), []   # the same epoch, done by hand
reference_optimizer = torch.optim.SGD(reference.parameters(), lr=0.1)
for i in range(0, 10, 4):
    reference_optimizer.zero_grad()
    loss = F.cross_entropy(reference(x_all[i:i + 4]), y_all[i:i + 4])
    loss.backward()
    reference_optimizer.step()
    batch_losses.append((loss.item(), len(y_all[i:i + 4])))
expected_loss = sum(l * n for l, n in batch_losses) / 10
got = student_call("train_one_epoch(linear model, loader of 10 samples in batches of 4, cross_entropy, SGD)",
                   train_one_epoch, model, loader, F.cross_entropy, optimizer)
check_type(got, float, "train_one_epoch's return value")
check_close(got, expected_loss, "the per-sample mean loss of the epoch (batches of 4, 4, 2)", atol=1e-5,
            mistakes={"the loss was averaged over batches (a mean of batch means), not over samples":
                      sum(l for l, _ in batch_losses) / 3})
check(model.training, "train_one_epoch must leave the model in training mode (model.train()).")
# One group of all three batches (accum_steps=3) is one step on the whole data set:
model = toy_model("linear")
big = copy.deepcopy(model)
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
student_call("train_one_epoch(..., accum_steps=3)", train_one_epoch, model, loader, F.cross_entropy, optimizer,
             accum_steps=3)
F.cross_entropy(big(x_all), y_all).backward()
torch.optim.SGD(big.parameters(), lr=0.5).step()
check_close(model.weight.detach(), big.weight.detach(), "weight after one accumulated step (3 batches, accum_steps=3) "
            "vs one step on the 10 samples at once", atol=1e-6)
print(f"epoch loss {got:.4f}")
print("Part 1 visible tests passed.")

# %% [tests id=test_train_one_epoch_hidden points=4]
# Hidden tests for train_one_epoch run here when your work is graded.
### BEGIN HIDDEN TESTS
def _groups_step(model, x, y, bounds, lr=0.3, momentum=0.9, max_norm=None, scheduler_halves=False):
    """Reference: one SGD step per group on the concatenated samples of the group (bounds: (start, end))."""
    ref = copy.deepcopy(model).cpu()
    opt = torch.optim.SGD(ref.parameters(), lr=lr, momentum=momentum)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 ** s) if scheduler_halves else None
    for start, end in bounds:
        opt.zero_grad()
        F.cross_entropy(ref(x[start:end]), y[start:end]).backward()
        if max_norm is not None:
            torch.nn.utils.clip_grad_norm_(ref.parameters(), max_norm)
        opt.step()
        if sched:
            sched.step()
    return params_of(ref)


def _run(what, model, loader, accum_steps=1, log=None, scheduler=False, max_norm=None, autocast=None, lr=0.3,
         momentum=0.9, dirty_grads=False):
    model = to_device(model)
    log = [] if log is None else log
    opt = LoggingSGD(model.parameters(), log, lr=lr, momentum=momentum)
    sched = LoggingScheduler(opt, log) if scheduler else None
    if dirty_grads:  # gradients left over from an earlier computation
        for p in model.parameters():
            p.grad = torch.full_like(p, 3.0)
    kwargs = dict(accum_steps=accum_steps)
    if scheduler:
        kwargs["scheduler"] = sched
    if max_norm is not None:
        kwargs["max_grad_norm"] = max_norm
    if autocast is not None:
        kwargs["autocast_dtype"] = autocast
    loss = student_call(what, train_one_epoch, model, loader, F.cross_entropy, opt, **kwargs)
    return model, opt, loss, log


clauses = Clauses(points=4)
_x, _y = toy_data(22, seed=3)
_loader = DataLoader(TensorDataset(_x, _y), batch_size=4)   # 6 batches: 4, 4, 4, 4, 4, 2
_loader16 = DataLoader(TensorDataset(_x[:16], _y[:16]), batch_size=4)   # 4 batches of 4


def _clipped_per_batch(model, x, y, groups, max_norm, lr=0.3, momentum=0.9):
    """The weight when clip_grad_norm_ runs after every backward of a group (groups: lists of (start, end))."""
    ref = copy.deepcopy(model).cpu()
    opt = torch.optim.SGD(ref.parameters(), lr=lr, momentum=momentum)
    for group in groups:
        opt.zero_grad()
        n_group = sum(e - s for s, e in group)
        for start, end in group:
            (F.cross_entropy(ref(x[start:end]), y[start:end]) * ((end - start) / n_group)).backward()
            torch.nn.utils.clip_grad_norm_(ref.parameters(), max_norm)
        opt.step()
    return params_of(ref)["weight"]
with clauses.clause("accumulation: one step per group, equal to one large-batch step, groups in the loader's "
                    "order, a partial last group kept (and scaled by its own samples), short batches weighted "
                    "by their samples", points=1):
    # the step of a partial last group with a short batch: 3 batches of 4, 4, 2 and accum_steps=2
    _m = toy_model("linear", seed=5)
    _x2, _y2 = toy_data(10, seed=6)
    _expected = _groups_step(_m, _x2, _y2, [(0, 8), (8, 10)])
    _by_accum = copy.deepcopy(_m)  # what dividing by accum_steps in the last group gives
    _o = torch.optim.SGD(_by_accum.parameters(), lr=0.3, momentum=0.9)
    for _s, _e, _div in ((0, 8, 1), (8, 10, 2)):
        _o.zero_grad(); (F.cross_entropy(_by_accum(_x2[_s:_e]), _y2[_s:_e]) / _div).backward(); _o.step()
    _dropped = _groups_step(_m, _x2, _y2, [(0, 8)])  # what dropping the last, partial group gives
    _got, _, _, _ = _run("train_one_epoch(10 samples in batches of 4, 4, 2, accum_steps=2)", _m,
                         DataLoader(TensorDataset(_x2, _y2), batch_size=4), accum_steps=2)
    check_close(params_of(_got)["weight"], _expected["weight"], "weight after the partial last group (one batch of 2 "
                "samples, accum_steps=2)", atol=1e-5,
                mistakes={"each batch's loss was divided by accum_steps, also in the last, partial group; scale "
                          "each batch by its share of the group's samples, n / N": params_of(_by_accum)["weight"],
                          "the last, partial group of batches was dropped (no step for it)": _dropped["weight"]})
    _m = toy_model("linear", seed=5)
    _unequal = _groups_step(_m, _x2, _y2, [(0, 10)])
    _bycount = copy.deepcopy(_m)
    _o = torch.optim.SGD(_bycount.parameters(), lr=0.3, momentum=0.9)
    sum(F.cross_entropy(_bycount(_x2[_s:_e]), _y2[_s:_e]) / 3 for _s, _e in ((0, 4), (4, 8), (8, 10))).backward()
    _o.step()
    _got, _, _, _ = _run("train_one_epoch(10 samples in batches of 4, 4, 2, accum_steps=3)", _m,
                         DataLoader(TensorDataset(_x2, _y2), batch_size=4), accum_steps=3)
    check_close(params_of(_got)["weight"], _unequal["weight"], "weight after one group of batches of 4, 4 and 2 "
                "samples (accum_steps=3) vs one step on the 10 samples", atol=1e-5,
                mistakes={"each batch's mean loss was divided by the number of batches in its group; a short "
                          "batch must count by its samples: loss × n / N": params_of(_bycount)["weight"]})
    for _accum, _bounds in ((2, [(0, 8), (8, 16), (16, 22)]), (4, [(0, 16), (16, 22)]), (5, [(0, 20), (20, 22)]),
                            (1, [(i, min(i + 4, 22)) for i in range(0, 22, 4)])):
        _m = toy_model("linear", seed=4)
        _expected = _groups_step(_m, _x, _y, _bounds)
        _got, _opt, _, _log = _run(f"train_one_epoch(22 samples in batches of 4 (the last of 2), accum_steps={_accum}, "
                                   f"SGD with momentum)", _m, _loader, accum_steps=_accum)
        check_equal(_log.count("step"), len(_bounds), f"number of optimizer steps with 6 batches and accum_steps={_accum}",
                    mistakes={"the last, partial group of batches was dropped (no step for it)": len(_bounds) - 1,
                              "the optimizer stepped after every batch, not once per group of accum_steps batches": 6})
        for _k, _v in _expected.items():
            check_close(params_of(_got)[_k], _v, f"parameter {_k} after one epoch with accum_steps={_accum} "
                        f"(22 samples in batches of 4, the last of 2), compared with one SGD step per group on the "
                        f"group's samples at once", atol=1e-5)
with clauses.clause("gradients zeroed before each group's first backward: stale .grad never reaches a step", points=1):
    # (equal groups from here on: batches of 4 in groups of 2, so that any weighting of the batches that is
    # right for equal groups gives the right steps, and only the clause's own requirement is tested)
    _m = toy_model("linear", seed=7)
    _expected = _groups_step(_m, _x, _y, [(0, 8), (8, 16)], momentum=0.0)
    _log = []
    _got, _, _, _log = _run("train_one_epoch(model whose .grad already holds 3.0 everywhere, accum_steps=2)",
                            Probe(_m, _log), _loader16, accum_steps=2, momentum=0.0, dirty_grads=True, log=_log)
    check_close(params_of(_got.inner)["weight"], _expected["weight"], "weight after an epoch started with stale "
                "gradients (3.0) in .grad", atol=1e-5,
                hint="the stale gradient reached the first step: zero the gradients before each group's first "
                     "backward (zero_grad after step leaves the first step unprotected)"
                if "zero_grad" in _log and "zero_grad" not in _log[:_log.index("forward") if "forward" in _log else 0]
                else None)
    _m = toy_model("linear", seed=7)
    _expected = _groups_step(_m, _x, _y, [(0, 8), (8, 16)], momentum=0.0)
    _got, _, _, _ = _run("train_one_epoch(accum_steps=2, no momentum)", _m, _loader16, accum_steps=2, momentum=0.0)
    check_close(params_of(_got)["weight"], _expected["weight"], "weight after an epoch of 2 groups (accum_steps=2)",
                atol=1e-5, hint=None)
with clauses.clause("scheduler stepped once per optimizer step, right after it; clipping with clip_grad_norm_ "
                    "before each step", points=1):
    _log = []
    _m = toy_model("linear", seed=8)
    _expected_w = _groups_step(_m, _x, _y, [(0, 8), (8, 16)], scheduler_halves=True)["weight"]
    _got, _opt, _, _log = _run("train_one_epoch(16 samples in 4 batches of 4, accum_steps=2, scheduler=LambdaLR)", _m,
                               _loader16, accum_steps=2, scheduler=True, log=_log)
    _events = [e for e in _log if e in ("step", "scheduler")]
    check_equal(_events, ["step", "scheduler", "step", "scheduler"], "order of optimizer and scheduler steps with "
                "4 batches, accum_steps=2",
                mistakes={"the scheduler was stepped after every batch (micro-batch), not once per optimizer step":
                          lambda ev: ev.count("scheduler") == 4,
                          "the scheduler was stepped before the optimizer step":
                          ["scheduler", "step", "scheduler", "step"]})
    check_close(params_of(_got)["weight"], _expected_w,
                "weight after 2 steps with a scheduler that halves the lr after each", atol=1e-5)
    for _norm in (0.05, 0.2):
        _m = toy_model("linear", seed=9)
        _expected_w = _groups_step(_m, _x, _y, [(0, 8), (8, 16)], max_norm=_norm)["weight"]
        _per_batch = _clipped_per_batch(_m, _x, _y, [[(0, 4), (4, 8)], [(8, 12), (12, 16)]], _norm)
        _got, _opt, _, _ = _run(f"train_one_epoch(16 samples in batches of 4, accum_steps=2, max_grad_norm={_norm})", _m,
                                _loader16, accum_steps=2, max_norm=_norm)
        check(max(_opt.grad_norms) <= _norm * (1 + 1e-4), f"with max_grad_norm={_norm} the gradient norms at the "
              f"optimizer steps were {[round(v, 4) for v in _opt.grad_norms]}: each must be at most {_norm}.")
        check_close(params_of(_got)["weight"], _expected_w,
                    f"weight after an epoch with max_grad_norm={_norm} (accum_steps=2)", atol=1e-5,
                    mistakes={"the gradient was clipped after every backward; clip once per group, after its last "
                              "backward and before optimizer.step()": _per_batch})
with clauses.clause("training mode from any start, batches on the model's device, autocast around forward and loss "
                    "only, per-sample mean loss as a float, no graph kept alive", points=1):
    _inner = to_device(toy_model("batchnorm", seed=10)).eval()
    _probe = Probe(_inner)
    _seen_loss = []

    def _loss(out, y):
        _seen_loss.append((torch.is_autocast_enabled(out.device.type), torch.get_autocast_dtype(out.device.type)))
        return F.cross_entropy(out, y)
    _opt = torch.optim.SGD(_probe.parameters(), lr=0.1)
    _got = student_call("train_one_epoch(BatchNorm model already in eval mode, autocast_dtype=torch.bfloat16)",
                        train_one_epoch, _probe, _loader, _loss, _opt, autocast_dtype=torch.bfloat16)
    check(all(s["training"] for s in _probe.seen) and _inner.training,
          "a model passed in eval mode must be trained in training mode (model.train() before the first batch).",
          hint=None)
    check(all(s["device"] == grading_device().type for s in _probe.seen),
          f"batches must be moved to the model's device ({grading_device().type}).")
    check(all(s["autocast"] and s["autocast_dtype"] == torch.bfloat16 for s in _probe.seen),
          "with autocast_dtype=torch.bfloat16 the forward pass must run under torch.autocast(device_type=..., "
          "dtype=torch.bfloat16).")
    check(all(a and d == torch.bfloat16 for a, d in _seen_loss),
          "with autocast_dtype=torch.bfloat16 loss_fn must also run under the autocast context.")
    check_type(_got, float, "train_one_epoch's return value (with autocast)")
    _probe16 = Probe(to_device(toy_model("linear", seed=16)))
    _seen_loss.clear()
    student_call("train_one_epoch(linear model, autocast_dtype=torch.float16)", train_one_epoch, _probe16,
                 DataLoader(TensorDataset(_x[:8], _y[:8]), batch_size=4), _loss,
                 torch.optim.SGD(_probe16.parameters(), lr=0.1), autocast_dtype=torch.float16)
    check(all(s["autocast"] and s["autocast_dtype"] == torch.float16 for s in _probe16.seen)
          and all(a and d == torch.float16 for a, d in _seen_loss),
          "with autocast_dtype=torch.float16 the forward pass and loss_fn must run under torch.autocast(device_type=..., "
          f"dtype=torch.float16); the autocast dtypes seen were {sorted({str(s['autocast_dtype']) for s in _probe16.seen})}.")
    _probe2 = Probe(to_device(toy_model("linear", seed=11)))
    _student_sees = []
    _opt = torch.optim.SGD(_probe2.parameters(), lr=0.1)
    student_call("train_one_epoch(linear model, autocast_dtype=None)", train_one_epoch, _probe2, _loader,
                 F.cross_entropy, _opt)
    check(not any(s["autocast"] for s in _probe2.seen), "without autocast_dtype no autocast may be active.")
    # the per-sample mean, on batches of 4, 4, 4, 4, 4, 2 (weights before each batch's step)
    _m = toy_model("batchnorm", seed=12)
    _m.eval()
    _plain = to_device(_m)
    _ref = copy.deepcopy(_plain).cpu()
    _ref_opt = torch.optim.SGD(_ref.parameters(), lr=0.2)
    torch.manual_seed(13)
    _ref.train()
    _losses = []
    for _xb, _yb in _loader:  # iterating a DataLoader draws from the global random state: the same here
        _ref_opt.zero_grad()
        _l = F.cross_entropy(_ref(_xb), _yb)
        _l.backward(); _ref_opt.step()
        _losses.append((_l.item(), len(_yb)))
    torch.manual_seed(13)
    _got = student_call("train_one_epoch(BatchNorm model, 22 samples in batches of 4 (last of 2))", train_one_epoch,
                        _plain, _loader, F.cross_entropy, torch.optim.SGD(_plain.parameters(), lr=0.2))
    _expected = sum(l * n for l, n in _losses) / 22
    check_close(_got, _expected, "the epoch's per-sample mean loss (22 samples, batches of 4, last of 2)", atol=1e-4,
                mistakes={"the loss was averaged over batches (a mean of batch means), not over samples":
                          sum(l for l, _ in _losses) / len(_losses)})
    GraphCounter.alive, GraphCounter.peak = 0, 0
    _counted = to_device(Counted(toy_model("linear", seed=14)))
    _long = DataLoader(TensorDataset(*toy_data(40, seed=15)), batch_size=4)
    student_call("train_one_epoch(10 batches)", train_one_epoch, _counted, _long, F.cross_entropy,
                 torch.optim.SGD(_counted.parameters(), lr=0.1))
    check(GraphCounter.peak <= 3, f"during an epoch of 10 batches, up to {GraphCounter.peak} batches' autograd graphs "
          f"were alive at once: each batch's graph must be freed after its backward.",
          hint="the loss tensors themselves were summed (total += loss), which keeps every batch's graph alive; "
               "accumulate loss.item() instead" if GraphCounter.peak >= 9 else None)
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part2]
# ## Part 2 — `evaluate` (4 points)
#
# **`evaluate(model, loader, loss_fn, metrics=None)`** measures `model` on every batch of `loader` and
# returns a `dict`.
#
# - `loader` yields `(x, y)` batches (on the CPU), at least one, of unequal sizes possibly; move both to the
#   device of the model's first parameter. `loss_fn(outputs, y)` and each metric `fn(outputs, y)` of the dict `metrics`
#   (`name -> fn`; `None` means no metrics) return the **mean over the batch** (a 0-dim tensor or a number).
# - The result: `{"loss": ..., <name>: ... for each metric, in the order of metrics}`, every value a Python
#   `float`: the **per-sample** average over the whole loader, each batch's value weighted by its number of
#   samples `len(y)` (not a mean of batch means).
# - Every forward pass, loss and metric runs in **eval mode** (`model.eval()`: dropout off, BatchNorm uses
#   and does not update its running statistics) and under **`torch.inference_mode()`**.
# - On return, **every** submodule's `training` flag is what it was before the call (a model passed in eval
#   mode stays in eval mode; one in training mode goes back to training mode; a model whose submodules were
#   in mixed modes gets each one's mode back). Parameters and buffers are left unchanged.

# %% [answer id=evaluate]
def evaluate(model, loader, loss_fn, metrics=None):
    ### BEGIN SOLUTION
    metrics = metrics or {}
    device = next(model.parameters()).device
    modes = {module: module.training for module in model.modules()}
    totals = {"loss": 0.0, **{name: 0.0 for name in metrics}}
    count = 0
    model.eval()
    try:
        with torch.inference_mode():
            for x, y in loader:
                x, y = x.to(device), y.to(device)
                outputs = model(x)
                n = len(y)
                totals["loss"] += float(loss_fn(outputs, y)) * n
                for name, fn in metrics.items():
                    totals[name] += float(fn(outputs, y)) * n
                count += n
    finally:
        for module, training in modes.items():
            module.training = training
    return {name: total / count for name, total in totals.items()}
    ### END SOLUTION

# %% [tests id=test_evaluate points=1]
model = toy_model("dropout").train()
loader = toy_loader(10, batch_size=4)                 # batches of 4, 4 and 2
x_all, y_all = toy_data(10)
got = student_call("evaluate(dropout model in training mode, 10 samples in batches of 4, cross_entropy, "
                   "{'acc': accuracy})", evaluate, model, loader, F.cross_entropy, {"acc": accuracy})
check_type(got, dict, "evaluate's result")
check_equal(list(got), ["loss", "acc"], "evaluate's keys, in order")
check(model.training, "evaluate must give the model back in the mode it had (here: training mode).")
model.eval()
with torch.no_grad():
    expected_loss = F.cross_entropy(model(x_all), y_all).item()
    expected_acc = accuracy(model(x_all), y_all).item()
check_type(got["loss"], float, "evaluate(...)['loss']")
check_close(got["loss"], expected_loss, "evaluate(...)['loss'] (per-sample mean over 10 samples)", atol=1e-5)
check_close(got["acc"], expected_acc, "evaluate(...)['acc'] (per-sample mean over 10 samples)", atol=1e-6)
print(got)
print("Part 2 visible tests passed.")

# %% [tests id=test_evaluate_hidden points=3]
# Hidden tests for evaluate run here when your work is graded.
### BEGIN HIDDEN TESTS
clauses = Clauses(points=3)
_x, _y = toy_data(11, seed=21)
_loader = DataLoader(TensorDataset(_x, _y), batch_size=4)  # 4, 4, 3
with clauses.clause("per-sample averages of the loss and every metric over unequal batches, as floats, keys in "
                    "order; no metrics when metrics is None", points=1):
    _m = to_device(toy_model("batchnorm", seed=22))
    _m.train()(to_device(torch.randn(16, 4) * 3 + 1))  # BatchNorm statistics that differ from a batch's own
    _m.eval()
    _cpu = copy.deepcopy(_m).cpu()
    with torch.no_grad():
        _out = _cpu(_x)
    _metrics = {"acc": accuracy, "first_logit": lambda o, y: o[:, 0].mean().item(), "zero": lambda o, y: 0}
    _got = student_call("evaluate(BatchNorm model, 11 samples in batches of 4, 4, 3, metrics={'acc', 'first_logit', "
                        "'zero'})", evaluate, _m, _loader, F.cross_entropy, _metrics,
                        known_errors={"object has no attribute 'item'": ".item() was called on a Python number: a metric "
                                      "may return a number (here 'first_logit' returns a float and 'zero' an int); "
                                      "float(value) converts a 0-dim tensor and a number alike"})
    check_type(_got, dict, "evaluate's result")
    check_equal(list(_got), ["loss", "acc", "first_logit", "zero"], "evaluate's keys, in order")
    for _k, _v in _got.items():
        check_type(_v, float, f"evaluate(...)[{_k!r}]")
    _batch_means = [F.cross_entropy(_out[s:s + 4], _y[s:s + 4]).item() for s in (0, 4, 8)]
    check_close(_got["loss"], F.cross_entropy(_out, _y).item(), "evaluate(...)['loss'] over batches of 4, 4, 3",
                atol=1e-5, mistakes={"the loss is a mean of batch means; weight each batch by its number of samples":
                                     sum(_batch_means) / 3})
    check_close(_got["first_logit"], _out[:, 0].mean().item(), "evaluate(...)['first_logit'] (a metric returning a "
                "float) over batches of 4, 4, 3", atol=1e-5,
                mistakes={"the metric is a mean of batch means; weight each batch by its number of samples":
                          sum(_out[s:s + 4, 0].mean().item() for s in (0, 4, 8)) / 3})
    check_close(_got["acc"], accuracy(_out, _y).item(), "evaluate(...)['acc'] over batches of 4, 4, 3", atol=1e-6)
    _got = student_call("evaluate(model, loader, cross_entropy) with metrics left out", evaluate, _m, _loader,
                        F.cross_entropy)
    check_equal(list(_got) if isinstance(_got, dict) else _got, ["loss"], "evaluate's keys without metrics")
with clauses.clause("every forward, loss and metric in eval mode and under torch.inference_mode(); batches on the "
                    "model's device; parameters and buffers unchanged", points=1):
    _probe = Probe(to_device(toy_model("batchnorm", seed=23))).train()
    _before = params_of(_probe)
    _in_metric = []
    student_call("evaluate(BatchNorm model in training mode, ...)", evaluate, _probe, _loader,
                 lambda o, y: (_in_metric.append(("loss", torch.is_inference_mode_enabled())), F.cross_entropy(o, y))[1],
                 {"acc": lambda o, y: (_in_metric.append(("acc", torch.is_inference_mode_enabled())), accuracy(o, y))[1]})
    check(len(_probe.seen) == 3, f"evaluate must run the model once per batch (3 batches), it ran {len(_probe.seen)} times.")
    check(not any(s["training"] for s in _probe.seen), "the model ran in training mode during evaluate: call "
          "model.eval() first (dropout stays on and BatchNorm uses the batch's statistics in training mode).",
          hint="evaluation left the model in training mode")
    check(all(s["inference"] for s in _probe.seen), "the forward passes of evaluate must run under "
          "torch.inference_mode() (torch.no_grad() is not inference mode).")
    check(all(flag for _, flag in _in_metric) and len(_in_metric) == 6, "loss_fn and the metrics must run under "
          "torch.inference_mode() too, once per batch.")
    check(all(s["device"] == grading_device().type for s in _probe.seen), "batches must be moved to the model's device.")
    for _k, _v in params_of(_probe).items():
        check_close(_v, _before[_k], f"{_k} after evaluate (evaluation must not change parameters or buffers)",
                    atol=0, rtol=0, check_dtype=False)
with clauses.clause("every submodule's training flag restored: eval stays eval, train goes back to train, mixed "
                    "modes each restored", points=1):
    for _start in ("eval", "train", "mixed"):
        _m = to_device(toy_model("batchnorm", seed=24))
        _m.train() if _start != "eval" else _m.eval()
        if _start == "mixed":
            _m[1].eval()  # a frozen BatchNorm kept in eval mode inside a model in training mode
        _modes = [mod.training for mod in _m.modules()]
        student_call(f"evaluate(model in {_start} mode, ...)", evaluate, _m, _loader, F.cross_entropy)
        check_equal([mod.training for mod in _m.modules()], _modes, f"the training flags of the model's modules "
                    f"(Sequential, Linear, BatchNorm1d, ReLU, Linear) after evaluate, for a model in {_start} mode",
                    mistakes={"model.train(was_training) restores only the top module's flag; a submodule that was in "
                              "eval mode (a frozen BatchNorm) must stay in eval mode":
                              [True] * len(_modes) if _start == "mixed" else None,
                              "evaluate left the model in eval mode: restore the mode it had":
                              [False] * len(_modes),
                              "evaluate put the model back with model.train(): restore the mode it had (eval stays "
                              "eval)": [True] * len(_modes)})
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part3]
# ## Part 3 — `fit`: early stopping, best and last checkpoints, an exact resume (6 points)
#
# **`fit(model, train_loader, valid_loader, loss_fn, optimizer, epochs, checkpoint_dir, metrics=None,
# monitor="valid_loss", mode="min", patience=None, scheduler=None, resume=False)`** returns the history, a
# `list` of one `dict` per epoch.
#
# For each epoch `e` (0-based, up to `epochs - 1`):
#
# 1. `train_loss = train_one_epoch(model, train_loader, loss_fn, optimizer, scheduler=scheduler)` — your
#    Part 1 function, called by that name, its other arguments left at their defaults;
# 2. `results = evaluate(model, valid_loader, loss_fn, metrics)` — your Part 2 function, by that name;
# 3. the row `{"epoch": e, "train_loss": train_loss, "valid_loss": results["loss"], "valid_<name>": ... for
#    each metric}` (keys in that order) is appended to the history;
# 4. `row[monitor]` is compared with the best value so far: it **improves** when there is no best value yet
#    (the first epoch ever) or it is **strictly** better (smaller when `mode="min"`, larger when `mode="max"`).
#    The first epoch ever improves whatever its value, even `nan`; a `nan` is never strictly better than
#    anything, and nothing is strictly better than a `nan` best.
#    On improvement the best value becomes it, the count of epochs without improvement goes back to 0, and
#    the checkpoint is saved as `checkpoint_dir/"best.pt"`; otherwise the count grows by 1;
# 5. the checkpoint is saved as `checkpoint_dir/"last.pt"` (every epoch, after `best.pt`);
# 6. **early stopping**: when `patience` is not `None` and the count of epochs without improvement has
#    reached `patience`, no further epoch runs. (`patience` is `None` or an `int` ≥ 1. The count is checked
#    before every epoch, the first epoch of a resumed run included.)
#
# **A checkpoint** is one `torch.save`d `dict` with exactly these keys, taken at the moment it is saved:
# `"model"`: `model.state_dict()`; `"optimizer"`: `optimizer.state_dict()`; `"scheduler"`:
# `scheduler.state_dict()`, or `None` without a scheduler; `"epoch"`: the number of epochs completed
# (`e + 1`); `"best"`: the best monitored value so far (a `float`); `"bad_epochs"`: the count of epochs
# without improvement (an `int`); `"history"`: the history so far (a list of the rows); `"rng"`:
# `torch.get_rng_state()`; `"cuda_rng"`: `torch.cuda.get_rng_state_all()` (an empty list without CUDA).
# It must load with `torch.load(path, weights_only=True)`. `checkpoint_dir` (a `str` or a `Path`) is
# created if it does not exist.
#
# **Resume.** With `resume=True` and an existing `checkpoint_dir/"last.pt"`, `fit` first loads it: the
# model, optimizer and scheduler states (`load_state_dict`), the history, the best value, the count of
# epochs without improvement, and the random state (`torch.set_rng_state`, and
# `torch.cuda.set_rng_state_all` when CUDA is available); then it continues with epoch `checkpoint["epoch"]`
# (a run that had already stopped early trains no further). The continued run — weights, optimizer state,
# history and checkpoints — is **bit-identical** to a run that was never interrupted, even when the train
# loader shuffles and the model has dropout. With `resume=True` and no `last.pt`, `fit` starts from scratch.
#
# **On return** the model holds the weights saved in `best.pt` (not those of the last epoch), and `fit`
# returns the whole history (with a resume: the rows from the checkpoint, then the new ones).

# %% [answer id=fit]
def fit(model, train_loader, valid_loader, loss_fn, optimizer, epochs, checkpoint_dir, metrics=None,
        monitor="valid_loss", mode="min", patience=None, scheduler=None, resume=False):
    ### BEGIN SOLUTION
    folder = Path(checkpoint_dir)
    folder.mkdir(parents=True, exist_ok=True)
    history, best, bad_epochs, start = [], None, 0, 0
    if resume and (folder / "last.pt").exists():
        state = torch.load(folder / "last.pt", weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(state["scheduler"])
        history, best, bad_epochs, start = list(state["history"]), state["best"], state["bad_epochs"], state["epoch"]
        torch.set_rng_state(state["rng"])
        if torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])

    def checkpoint(epoch):
        return {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "epoch": epoch + 1, "best": best, "bad_epochs": bad_epochs, "history": list(history),
                "rng": torch.get_rng_state(), "cuda_rng": torch.cuda.get_rng_state_all()}

    for epoch in range(start, epochs):
        if patience is not None and bad_epochs >= patience:
            break
        train_loss = train_one_epoch(model, train_loader, loss_fn, optimizer, scheduler=scheduler)
        results = evaluate(model, valid_loader, loss_fn, metrics)
        row = {"epoch": epoch, "train_loss": train_loss, **{f"valid_{k}": v for k, v in results.items()}}
        history.append(row)
        value = row[monitor]
        if best is None or (value < best if mode == "min" else value > best):
            best, bad_epochs = float(value), 0
            torch.save(checkpoint(epoch), folder / "best.pt")
        else:
            bad_epochs += 1
        torch.save(checkpoint(epoch), folder / "last.pt")
    model.load_state_dict(torch.load(folder / "best.pt", weights_only=True)["model"])
    return history
    ### END SOLUTION

# %% [tests id=test_fit points=2]
torch.manual_seed(0)
model = toy_model("linear")
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
folder = Path(tempfile.mkdtemp()) / "run"
history = student_call("fit(linear model, 3 epochs, metrics={'acc': accuracy}, monitor='valid_acc', mode='max')",
                       fit, model, toy_loader(24, 8, seed=1), toy_loader(12, 5, seed=2), F.cross_entropy, optimizer,
                       epochs=3, checkpoint_dir=folder, metrics={"acc": accuracy}, monitor="valid_acc", mode="max")
check_type(history, list, "fit's history")
check_equal(len(history), 3, "number of rows in the history of 3 epochs")
check_equal(list(history[0]), ["epoch", "train_loss", "valid_loss", "valid_acc"], "keys of a history row")
check_equal([row["epoch"] for row in history], [0, 1, 2], "the rows' epochs")
check((folder / "best.pt").exists() and (folder / "last.pt").exists(), f"fit must save {folder}/best.pt and last.pt.")
last = torch.load(folder / "last.pt", weights_only=True)
check_equal(sorted(last), sorted(["model", "optimizer", "scheduler", "epoch", "best", "bad_epochs", "history", "rng",
                                  "cuda_rng"]), "the keys of the checkpoint last.pt")
check_equal(last["epoch"], 3, "last.pt's 'epoch' after 3 epochs")
check_equal(last["history"], history, "last.pt's 'history' after 3 epochs (all three rows)")
print(history[-1])
print("Part 3 visible tests passed.")

# %% [tests id=test_fit_hidden points=4]
# Hidden tests for fit run here when your work is graded.
### BEGIN HIDDEN TESTS
def _ref_train(model, loader, loss_fn, optimizer, accum_steps=1, scheduler=None, max_grad_norm=None,
               autocast_dtype=None):
    device = next(model.parameters()).device
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total, count = total + loss.item() * len(y), count + len(y)
    return total / count


def _ref_evaluate(model, loader, loss_fn, metrics=None):
    device = next(model.parameters()).device
    metrics, was = metrics or {}, {m: m.training for m in model.modules()}
    totals, count = {"loss": 0.0, **{k: 0.0 for k in metrics}}, 0
    model.eval()
    with torch.inference_mode():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            out = model(x)
            totals["loss"] += float(loss_fn(out, y)) * len(y)
            for k, fn in metrics.items():
                totals[k] += float(fn(out, y)) * len(y)
            count += len(y)
    for m, t in was.items():
        m.training = t
    return {k: v / count for k, v in totals.items()}


class _StandIns:
    """Correct train_one_epoch and evaluate (or a scripted evaluate) in place of the notebook's."""

    def __init__(self, evaluate=None, train=None):
        self.evaluate, self.train = evaluate or _ref_evaluate, train or _ref_train

    def __enter__(self):
        self.saved = {k: NOTEBOOK.get(k) for k in ("train_one_epoch", "evaluate")}
        NOTEBOOK["train_one_epoch"], NOTEBOOK["evaluate"] = self.train, self.evaluate

    def __exit__(self, *exc):
        NOTEBOOK.update(self.saved)


def _epochs_run(vals, mode, patience=2, strict=True, flip=False, reset=True):
    """How many epochs run with these scripted monitored values (and, with the flags, a mistake made)."""
    best, bad = None, 0
    for i, v in enumerate(vals):
        if bad >= patience:
            return i
        lower = (mode == "min") != flip
        better = best is None or (v < best if lower else v > best) or (not strict and v == best)
        best, bad = (v, 0 if reset else bad) if better else (best, bad + 1)
    return len(vals)


def _scripted(values, snapshots):
    """An evaluate whose results are scripted per call: values[i] = {'loss': ..., 'acc': ...}; it records the
    weights it sees (those of the end of each epoch)."""
    calls = iter(values)

    def evaluate_(model, loader, loss_fn, metrics=None):
        snapshots.append(params_of(model))
        return dict(next(calls))
    return evaluate_


def _setup(seed=31, kind="dropout", shuffle=True, with_scheduler=True, init=None):
    torch.manual_seed(seed)
    model = to_device(toy_model(kind, seed=seed if init is None else init))
    opt = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.7) if with_scheduler else None
    train = DataLoader(TensorDataset(*toy_data(20, seed=seed + 1)), batch_size=6, shuffle=shuffle)
    valid = DataLoader(TensorDataset(*toy_data(10, seed=seed + 2)), batch_size=4)
    return model, opt, sched, train, valid


def _fit(what, folder, epochs, seed=31, resume=False, **kwargs):
    model, opt, sched, train, valid = _setup(seed)
    torch.manual_seed(1000 + seed)  # the training's own random stream
    kwargs.setdefault("metrics", {"acc": accuracy})
    hist = student_call(what, fit, model, train, valid, F.cross_entropy, opt, epochs=epochs, checkpoint_dir=folder,
                        scheduler=sched, resume=resume, **kwargs)
    return model, opt, sched, hist


def _load(path, what):
    check(Path(path).exists(), f"{what}: no file {path}.")
    try:
        return torch.load(path, weights_only=True)
    except Exception as error:
        fail(f"{what}: torch.load({Path(path).name}, weights_only=True) raised {type(error).__name__}: {error}",
             hint=None)


def _same_tensors(got, expected, what):
    """Two nested structures of tensors/numbers, compared bit for bit."""
    if isinstance(expected, dict):
        check_type(got, dict, what)
        check_equal(sorted(map(str, got)), sorted(map(str, expected)), f"keys of {what}")
        for k in expected:
            _same_tensors(got[k], expected[k], f"{what}[{k!r}]")
    elif isinstance(expected, (list, tuple)):
        check_type(got, (list, tuple), what)
        check_equal(len(got), len(expected), f"length of {what}")
        for i, (g, e) in enumerate(zip(got, expected)):
            _same_tensors(g, e, f"{what}[{i}]")
    elif isinstance(expected, torch.Tensor):
        check_close(got, expected.cpu() if isinstance(got, torch.Tensor) and got.device.type == "cpu" else expected,
                    what, atol=0, rtol=0)
    else:
        check_equal(got, expected, what)


clauses = Clauses(points=4)
with _StandIns():
    with clauses.clause("history rows (keys, order, values) and the checkpoint's contents: exactly the keys, "
                        "model, optimizer, scheduler, epoch, best, bad_epochs, history, rng, cuda_rng", points=1):
        _folder = Path(tempfile.mkdtemp()) / "a" / "nested"
        _m, _o, _s, _h = _fit("fit(dropout model, shuffled loader, StepLR, 3 epochs, into a folder that does not "
                              "exist yet)", str(_folder), 3)
        # the reference: the same run, done by the tests
        _rm, _ro, _rs, _rt, _rv = _setup(31)
        torch.manual_seed(1031)
        _rows, _states = [], []
        for _e in range(3):
            _tl = _ref_train(_rm, _rt, F.cross_entropy, _ro, scheduler=_rs)
            _r = _ref_evaluate(_rm, _rv, F.cross_entropy, {"acc": accuracy})
            _rows.append({"epoch": _e, "train_loss": _tl, "valid_loss": _r["loss"], "valid_acc": _r["acc"]})
            _states.append(dict(model=copy.deepcopy(_rm.state_dict()), optimizer=copy.deepcopy(_ro.state_dict()),
                                scheduler=copy.deepcopy(_rs.state_dict()), rng=torch.get_rng_state()))
        check_type(_h, list, "fit's history")
        check_equal(len(_h), 3, "rows in the history of 3 epochs")
        for _i, (_g, _e) in enumerate(zip(_h, _rows)):
            check_type(_g, dict, f"history[{_i}]")
            check_equal(list(_g), list(_e), f"keys of history[{_i}]")
            for _k in _e:
                check_close(_g[_k], _e[_k], f"history[{_i}][{_k!r}]", atol=1e-6)
        _last = _load(_folder / "last.pt", "last.pt")
        check_type(_last, dict, "the checkpoint last.pt")
        check_equal(sorted(_last), sorted(["model", "optimizer", "scheduler", "epoch", "best", "bad_epochs", "history",
                                           "rng", "cuda_rng"]), "the keys of last.pt",
                    mistakes={"the checkpoint lacks the optimizer state": lambda k: "optimizer" not in k,
                              "the checkpoint lacks the random state ('rng')": lambda k: "rng" not in k})
        _best_epoch = min(range(3), key=lambda i: (_rows[i]["valid_loss"], i))
        _same_tensors(_last["model"], _states[2]["model"], "last.pt['model'] (the weights after epoch 3)")
        _same_tensors(_last["optimizer"], _states[2]["optimizer"], "last.pt['optimizer'] (optimizer.state_dict() "
                      "after epoch 3)")
        _same_tensors(_last["scheduler"], _states[2]["scheduler"], "last.pt['scheduler'] (scheduler.state_dict())")
        _same_tensors(_last["rng"], _states[2]["rng"], "last.pt['rng'] (torch.get_rng_state() when last.pt was saved)")
        check_equal(_last["epoch"], 3, "last.pt['epoch'] after 3 epochs (epochs completed)",
                    mistakes={"'epoch' holds the index of the last epoch (e), not the number completed (e + 1)": 2})
        check_type(_last["best"], float, "last.pt['best']")
        check_close(_last["best"], _rows[_best_epoch]["valid_loss"], "last.pt['best'] (the best valid_loss)", atol=1e-6)
        check_equal(_last["bad_epochs"], 2 - _best_epoch, "last.pt['bad_epochs'] (epochs since the best)")
        check_equal(len(_last["history"]), 3, "length of last.pt['history']")
        check_equal(list(_last["cuda_rng"]) if isinstance(_last["cuda_rng"], (list, tuple)) else _last["cuda_rng"],
                    [] if not torch.cuda.is_available() else list(_last["cuda_rng"]),
                    "last.pt['cuda_rng'] (torch.cuda.get_rng_state_all())")
        _best = _load(_folder / "best.pt", "best.pt")
        check_equal(_best["epoch"], _best_epoch + 1, "best.pt['epoch'] (the epoch of the lowest valid_loss, + 1)")
        _same_tensors(_best["model"], _states[_best_epoch]["model"], "best.pt['model'] (the weights of the best epoch)")
        check_equal(_best["bad_epochs"], 0, "best.pt['bad_epochs']")
        _model, _opt, _, _train, _valid = _setup(33, with_scheduler=False)
        _folder2 = Path(tempfile.mkdtemp())
        student_call("fit(..., scheduler=None, 1 epoch)", fit, _model, _train, _valid, F.cross_entropy, _opt, epochs=1,
                     checkpoint_dir=_folder2)
        check(_load(_folder2 / "last.pt", "last.pt without a scheduler")["scheduler"] is None,
              "without a scheduler, the checkpoint's 'scheduler' must be None.")
    with clauses.clause("early stopping: strict improvement by mode, patience counted from the last improvement, "
                        "best.pt saved only on improvement, the best weights in the model on return", points=1):
        for _mode, _monitor, _vals, _n_run, _best_i in (
                ("max", "valid_acc", [0.5, 0.7, 0.6, 0.7, 0.9, 0.95], 4, 1),
                ("min", "valid_loss", [2.0, 1.5, 1.6, 1.4, 1.45, 1.41, 1.0], 6, 3),
                ("min", "valid_loss", [2.0, 1.5, 1.5, 1.6, 1.0], 4, 1),
                ("min", "valid_loss", [3.0, 2.0, 1.0], 3, 2)):
            _snaps = []
            _script = [{"loss": v, "acc": 1 - v} if _mode == "min" else {"loss": 1 - v, "acc": v} for v in _vals]
            with _StandIns(_scripted(_script, _snaps)):
                _folder = Path(tempfile.mkdtemp())
                _m, _, _, _h = _fit(f"fit(monitor={_monitor!r}, mode={_mode!r}, patience=2) with validation values "
                                    f"{_vals} scripted per epoch", _folder, len(_vals), monitor=_monitor, mode=_mode,
                                    patience=2)
            _variants = {"an equal value was counted as an improvement (it must be strictly better)":
                         _epochs_run(_vals, _mode, strict=False),
                         "early stopping compared in the wrong direction (mode ignored)": _epochs_run(_vals, _mode, flip=True),
                         "the count of epochs without improvement was not reset to 0 on improvement":
                         _epochs_run(_vals, _mode, reset=False)}
            check_equal(len(_h), _n_run, f"epochs run with mode={_mode!r}, patience=2 and {_monitor} = {_vals}",
                        mistakes={k: v for k, v in _variants.items() if v != _n_run
                                  and list(_variants.values()).count(v) == 1})
            _best = _load(_folder / "best.pt", "best.pt")
            check_equal(_best["epoch"], _best_i + 1, f"best.pt['epoch'] with {_monitor} = {_vals[:_n_run]}")
            check_close(_best["best"], _vals[_best_i], "best.pt['best']", atol=1e-9)
            check_equal(_load(_folder / "last.pt", "last.pt")["epoch"], _n_run, "last.pt['epoch'] after early stopping")
            _what = f"the model's weights on return (those of epoch {_best_i}, the best {_monitor})"
            if _best_i != _n_run - 1 and all(torch.equal(v, _snaps[-1][k]) for k, v in params_of(_m).items()):
                fail(f"{_what}: the model holds the weights of the last epoch ({_n_run - 1}).",
                     hint="on return, load best.pt's 'model' into the model (model.load_state_dict)")
            _same_tensors(params_of(_m), _snaps[_best_i], _what)
        # the first epoch ever improves, even with a nan value (no best yet is not a best of +-inf)
        _snaps = []
        _folder = Path(tempfile.mkdtemp())
        with _StandIns(_scripted([{"loss": v, "acc": 0.5} for v in (math.nan, 0.5, 0.4)], _snaps)):
            _fit("fit(epochs=3, mode='min') with valid_loss = nan, 0.5, 0.4 scripted per epoch", _folder, 3)
        _best = _load(_folder / "best.pt", "best.pt")
        check_equal(_best["epoch"], 1, "best.pt['epoch'] with valid_loss = nan, 0.5, 0.4 (the first epoch ever improves, "
                    "whatever its value, and nothing is strictly better than a nan best)",
                    mistakes={"the best value started at +-inf (or another number) instead of 'no best value yet': the "
                              "first epoch ever improves, even with a nan value": 3})
        _last = _load(_folder / "last.pt", "last.pt")
        check(isinstance(_last["best"], float) and math.isnan(_last["best"]), f"last.pt['best'] with valid_loss = nan, "
              f"0.5, 0.4: expected nan (the first epoch's value), got {describe(_last['best'])}.")
        check_equal(_last["bad_epochs"], 2, "last.pt['bad_epochs'] with valid_loss = nan, 0.5, 0.4")
        # a run that had stopped early, resumed with the same arguments, trains no further
        _snaps, _trained = [], []

        def _counting_train(*args, **kwargs):
            _trained.append(1)
            return _ref_train(*args, **kwargs)
        _vals = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        _folder = Path(tempfile.mkdtemp())
        with _StandIns(_scripted([{"loss": v, "acc": 0.5} for v in _vals], _snaps)):
            _fit("fit(epochs=6, patience=1) with valid_loss = 1.0, 2.0, ... scripted per epoch", _folder, 6, patience=1)
        _first_hist = _load(_folder / "last.pt", "last.pt after early stopping")["history"]
        _last_bytes, _best = (_folder / "last.pt").read_bytes(), _load(_folder / "best.pt", "best.pt")
        _trained.clear()
        with _StandIns(_scripted([{"loss": v, "acc": 0.5} for v in _vals[len(_first_hist):]], []), _counting_train):
            _m, _, _, _h = _fit("fit(epochs=6, patience=1, resume=True) from the last.pt of that run, which stopped "
                                "early after 2 epochs", _folder, 6, resume=True, patience=1)
        # one epoch trained: either the count was not loaded (it restarted at 0 and reached 1 again) or it was
        # loaded and checked only after the epoch (1 + 1 = 2); the rewritten last.pt tells them apart
        _hint = None
        if len(_trained) == 1:
            try:
                _count = torch.load(_folder / "last.pt", weights_only=True)["bad_epochs"]
            except Exception:
                _count = None
            _hint = {2: "the early-stopping check runs only after an epoch; a resumed run that had already stopped "
                        "early must stop before training: check the count before each epoch",
                     1: "the count of epochs without improvement was not restored on resume: load "
                        "checkpoint['bad_epochs'] with the best value and the epoch"}.get(_count)
        check_equal(len(_trained), 0, "epochs trained by fit(resume=True, patience=1) when the run in last.pt had "
                    "already stopped early (it must train no further)", hint=_hint)
        check_equal(len(_h) if isinstance(_h, list) else _h, len(_first_hist), "rows in the history returned by that "
                    "resumed fit (those of last.pt, none new)")
        check((_folder / "last.pt").read_bytes() == _last_bytes, "that resumed fit rewrote last.pt: a run that had "
              "already stopped early trains no further (and saves nothing new).")
        _same_tensors(params_of(_m), _best["model"], "the model on return from that resumed fit (best.pt's weights)")
    with clauses.clause("resume: continues bit-identically from last.pt (weights, optimizer, scheduler, history, "
                        "checkpoints), with a shuffling loader and dropout", points=2):
        _full = Path(tempfile.mkdtemp())
        _mA, _oA, _sA, _hA = _fit("fit(4 epochs, uninterrupted)", _full, 4)
        _part = Path(tempfile.mkdtemp())
        _fit("fit(2 epochs)", _part, 2)
        torch.manual_seed(12345)  # anything may happen to the random state between the two runs
        torch.rand(17)
        _model, _opt, _sched, _train, _valid = _setup(31, init=99)  # fresh objects, other initial weights
        _hB = student_call("fit(resume=True, epochs=4) from the last.pt of a 2-epoch run", fit, _model, _train, _valid,
                           F.cross_entropy, _opt, epochs=4, checkpoint_dir=_part, metrics={"acc": accuracy},
                           scheduler=_sched, resume=True)
        _lastA, _lastB = _load(_full / "last.pt", "uninterrupted last.pt"), _load(_part / "last.pt", "resumed last.pt")
        check_equal(_lastB["epoch"], 4, "resumed last.pt['epoch'] (the resumed run must go on to epoch 4)")
        check_equal(len(_hB), 4, "rows in the history returned by the resumed fit (2 restored + 2 new)",
                    mistakes={"the history from the checkpoint was not restored": 2})
        # the scheduler's and the random state first, so that the message names the state that was not restored
        _steps = _lastA["scheduler"]["last_epoch"] // 2  # scheduler steps in each half of the run
        check_equal(_lastB["scheduler"]["last_epoch"], _lastA["scheduler"]["last_epoch"], "resumed "
                    "last.pt['scheduler']['last_epoch'] vs uninterrupted (the scheduler's step count)",
                    mistakes={"the resumed scheduler counts only the steps of the resumed epochs: load its state from "
                              "last.pt on resume (scheduler.load_state_dict)": _steps})
        _same_tensors(_lastB["rng"], _lastA["rng"], "resumed last.pt['rng'] vs uninterrupted last.pt['rng'] (the random "
                      "state must be restored on resume and saved when last.pt is written, so that the resumed "
                      "epochs draw the same shuffles and dropout masks)")
        for _k in ("scheduler", "model", "optimizer", "history", "best", "bad_epochs"):
            _same_tensors(_lastB[_k], _lastA[_k], f"resumed last.pt[{_k!r}] vs uninterrupted last.pt[{_k!r}]")
        _same_tensors(_hB, _hA, "the resumed run's history vs the uninterrupted run's")
        _same_tensors(params_of(_model), params_of(_mA), "the model on return, resumed vs uninterrupted")
        _fresh = Path(tempfile.mkdtemp())
        _m1, _, _, _h1 = _fit("fit(resume=True) with no last.pt (starts from scratch)", _fresh, 2, resume=True)
        check_equal(len(_h1), 2, "rows after fit(resume=True, epochs=2) in an empty folder")
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part4]
# ## Part 4 — `predict` and `write_submission` (3 points)
#
# **`predict(model, dataset, batch_size=64)`** returns the class probabilities of every sample of `dataset`.
#
# - Each item of `dataset` is a tuple whose first element is the input tensor (a test set may carry a
#   placeholder label after it, which `predict` ignores). Batch the items with a `DataLoader` of
#   `batch_size` **without shuffling**, and move each batch to the device of the model's first parameter.
# - Returns a `float32` tensor **on the CPU** of shape `(len(dataset), C)`: row `i` is
#   `softmax(model(x_i), dim=1)` for item `i` of the dataset (**dataset order**), each row summing to 1.
#   The softmax is taken in `float32` (`outputs.float()` first).
# - As in `evaluate`: eval mode, `torch.inference_mode()`, and every submodule's `training` flag restored.
#
# **`write_submission(path, ids, probs, classes)`** writes a submission file and returns `None`.
#
# - `ids`: a sequence of `N` ids (ints or strings); `probs`: an `(N, C)` tensor; `classes`: a sequence of `C`
#   class names. The label of row `i` is `classes[j]` for the `j` of its largest probability (on ties, the
#   first such `j`, as `torch.argmax` gives).
# - The file is UTF-8 text: the header line `id,label`, then one line `<id>,<label>` per sample, in the order
#   given, with `str(id)` and the class name as they are (no quotes, no index column, no spaces; ids and class
#   names contain no comma, quote or line break). **Every** line,
#   the last included, ends with `"\n"` (not `"\r\n"`, which is the `csv` module's default line ending).

# %% [answer id=predict]
def predict(model, dataset, batch_size=64):
    ### BEGIN SOLUTION
    device = next(model.parameters()).device
    modes = {module: module.training for module in model.modules()}
    model.eval()
    rows = []
    try:
        with torch.inference_mode():
            for batch in DataLoader(dataset, batch_size=batch_size, shuffle=False):
                rows.append(torch.softmax(model(batch[0].to(device)).float(), dim=1).cpu())
    finally:
        for module, training in modes.items():
            module.training = training
    return torch.cat(rows)
    ### END SOLUTION


def write_submission(path, ids, probs, classes):
    ### BEGIN SOLUTION
    labels = probs.argmax(dim=1).tolist()
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["id", "label"])
        writer.writerows([str(i), classes[j]] for i, j in zip(ids, labels))
    ### END SOLUTION

# %% [tests id=test_predict points=1]
model = toy_model("linear")
x_test, _ = toy_data(5, seed=3)
probs = student_call("predict(linear model, TensorDataset(x of 5 samples))", predict, model, TensorDataset(x_test))
check_shape(probs, (5, 3), "predict's result")
check_close(probs, torch.softmax(model(x_test), dim=1).detach(), "predict's probabilities", atol=1e-6)
path = Path(tempfile.mkdtemp()) / "submission.csv"
student_call("write_submission(path, [10, 11, 12], probs, ['cat', 'dog', 'fox'])", write_submission, path,
             [10, 11, 12], torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3], [0.1, 0.1, 0.8]]), ["cat", "dog", "fox"])
check_equal(path.read_bytes().decode(), "id,label\n10,dog\n11,cat\n12,fox\n", "the submission file's text")
print(probs)
print("Part 4 visible tests passed.")

# %% [tests id=test_predict_hidden points=2]
# Hidden tests for predict and write_submission run here when your work is graded.
### BEGIN HIDDEN TESTS
class _Indexed(torch.utils.data.Dataset):
    """Items (x_i, -1): a test set with placeholder labels; it records the order it is read in."""

    def __init__(self, x):
        self.x, self.read = x, []

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        self.read.append(i)
        return self.x[i], -1


clauses = Clauses(points=2)
with clauses.clause("predict: float32 CPU probabilities in dataset order, eval mode, inference mode, every "
                    "module's mode restored", points=1):
    _x = toy_data(23, seed=41)[0] * 2
    for _kind, _start in (("dropout", "train"), ("batchnorm", "eval"), ("batchnorm", "mixed")):
        _m = to_device(toy_model(_kind, seed=42))
        if _kind == "batchnorm":
            _m.train()(to_device(torch.randn(16, 4) + 2))
        _m.train() if _start != "eval" else _m.eval()
        if _start == "mixed":
            _m[1].eval()
        _modes = [mod.training for mod in _m.modules()]
        _probe = Probe(_m)
        _probe.training = _m.training
        _cpu = copy.deepcopy(_m).cpu().eval()
        with torch.no_grad():
            _expected = torch.softmax(_cpu(_x), dim=1)
        _ds = _Indexed(_x)
        _got = student_call(f"predict({_kind} model in {_start} mode, a dataset of 23 items (x, -1), batch_size=5)",
                            predict, _probe, _ds, batch_size=5)
        check_type(_got, torch.Tensor, "predict's result")
        check(_got.device.type == "cpu", f"predict must return a tensor on the CPU, got one on {_got.device}.")
        check_close(_got, _expected, f"predict({_kind} model in {_start} mode, 23 items, batch_size=5)", atol=1e-5,
                    mistakes={"the predictions are not in dataset order (was the DataLoader shuffled?)":
                              lambda t: t.shape == _expected.shape and not torch.allclose(t.cpu(), _expected, atol=1e-5)
                              and torch.allclose(t.cpu().sort(0).values, _expected.sort(0).values, atol=1e-5),
                              "predict returned logits, not probabilities (softmax)": _cpu(_x).detach(),
                              "the model ran in training mode (dropout or BatchNorm batch statistics): call model.eval()":
                              lambda t: t.shape == _expected.shape and not torch.allclose(t.cpu(), _expected, atol=1e-5)
                              and not torch.allclose(t.cpu().sort(0).values, _expected.sort(0).values, atol=1e-5)})
        check(all(s["inference"] for s in _probe.seen) and len(_probe.seen) == 5,
              "predict must run the model under torch.inference_mode(), once per batch (5 batches of 5, 5, 5, 5, 3).")
        check_equal([mod.training for mod in _m.modules()], _modes, f"the modules' training flags after predict "
                    f"(model in {_start} mode)",
                    mistakes={"predict left the model in eval mode: give every module back the mode it had":
                              [False] * len(_modes) if any(_modes) else None,
                              "predict put the model back with model.train(): give every module back the mode it had":
                              [True] * len(_modes) if not all(_modes) else None})
    _m16 = to_device(toy_model("linear", seed=43)).to(torch.float64)
    _got = student_call("predict(float64 model, float64 inputs)", predict, _m16, TensorDataset(_x.double()))
    check(_got.dtype == torch.float32, f"predict must return float32 probabilities, got {_got.dtype}.")
    # a bfloat16 model: the softmax is taken in float32 (outputs.float() first), not in bfloat16
    _mb = to_device(toy_model("linear", seed=44)).to(torch.bfloat16)
    _xb = (toy_data(12, seed=45)[0] * 3).to(torch.bfloat16)
    with torch.inference_mode():
        _outs = [_mb(to_device(_xb[_i:_i + 5])) for _i in range(0, 12, 5)]  # the batches predict runs
        _expected = torch.cat([torch.softmax(_o.float(), dim=1).cpu() for _o in _outs])
        _in_bf16 = torch.cat([torch.softmax(_o, dim=1).float().cpu() for _o in _outs])
    _got = student_call("predict(bfloat16 model, bfloat16 inputs, batch_size=5)", predict, _mb, TensorDataset(_xb),
                        batch_size=5)
    check(_got.dtype == torch.float32, f"predict must return float32 probabilities, got {_got.dtype}.")
    check_close(_got, _expected, "predict(bfloat16 model): softmax(outputs.float(), dim=1)", atol=1e-5, rtol=0,
                mistakes={"the softmax was taken in bfloat16 and converted afterwards: call .float() on the outputs "
                          "first (softmax in float32)": _in_bf16})
with clauses.clause("write_submission: header, one line per sample in order, argmax labels (first on ties), str ids, "
                    "'\\n' line endings", points=1):
    _folder = Path(tempfile.mkdtemp())
    _probs = torch.tensor([[0.2, 0.2, 0.6], [0.4, 0.4, 0.2], [0.9, 0.05, 0.05], [0.3, 0.3, 0.4], [0.1, 0.8, 0.1]])
    _ids = ["img_007", "img_003", 42, "a-b", 0]
    _classes = ("circle", "cross", "ring")
    _ret = student_call("write_submission(path, ids, probs of 5 rows, ('circle', 'cross', 'ring'))", write_submission,
                        _folder / "sub.csv", _ids, _probs, _classes)
    check(_ret is None, f"write_submission must return None, got {describe(_ret)}.")
    _text = (_folder / "sub.csv").read_bytes()
    _expected = "id,label\nimg_007,ring\nimg_003,circle\n42,circle\na-b,ring\n0,cross\n"
    check_equal(_text, _expected.encode(), "the bytes of the submission file",
                mistakes={"lines end with '\\r\\n' (the csv module's default): pass lineterminator='\\n'":
                          _expected.replace("\n", "\r\n").encode(),
                          "the file has an index column": lambda b: b.startswith(b",") or b.startswith(b"index")})
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part5]
# ## Part 5 — a `Learner` with callbacks (6 points)
#
# **`Learner(model, train_loader, valid_loader, loss_fn, opt, cbs=())`** keeps its arguments as the
# attributes `model`, `train_loader`, `valid_loader`, `loss_fn`, `opt` and `cbs` (a new `list` of the callbacks).
#
# **`learn.fit(n_epochs, train=True, valid=True, cbs=())`** sets `learn.n_epochs = n_epochs`, then:
#
# ```
# before_fit
# for learn.epoch in 0 .. n_epochs - 1:
#     if train: one phase with learn.training = True  over learn.train_loader
#     if valid: one phase with learn.training = False over learn.valid_loader, under torch.no_grad()
# after_fit
# ```
#
# - **A phase**: `learn.training` set; `learn.model.train(learn.training)`; `learn.dl` = the phase's loader;
#   `before_epoch`; then for each batch, with `learn.iter` its index in the phase (0, 1, ...) and `learn.batch` the
#   batch as the loader gives it: `learn.preds = learn.loss = None`; `before_batch` (a callback may replace
#   `learn.batch`); then the **step**: `x, y = learn.batch`; `learn.preds = learn.model(x)`;
#   `learn.loss = learn.loss_fn(learn.preds, y)`; when training: `learn.loss.backward()`, `learn.opt.step()`,
#   `learn.opt.zero_grad()`; then `after_batch`. After the last batch: `after_epoch`. The whole validation
#   phase, its events included, runs under `torch.no_grad()`.
# - **An event** `name` calls `cb.name(learn)` on every callback that has a method `name`, in increasing
#   `cb.order` (all callbacks have an `order`; `Callback.order` is 0); callbacks of equal order run in the order
#   they were given: `learn.cbs` first, then the `cbs` passed to `fit`. The callbacks passed to `fit` take part in
#   that call only: they are removed from `learn.cbs` when it returns (and when it raises).
# - **Cancel exceptions** (given in the setup cell). An exception raised by a callback stops the remaining
#   callbacks of that event. Then:
#   - `CancelBatchException` raised in `before_batch` or in the step: the rest of the step is skipped,
#     `after_batch` **still runs**, and the phase goes on with the next batch. Raised in `after_batch`: the rest of
#     that `after_batch` is skipped and the phase goes on with the next batch.
#   - `CancelEpochException` raised in `before_epoch`, `before_batch`, the step or `after_batch`: the rest of the
#     phase is skipped (no more batches, and no `after_batch` for the interrupted batch unless it was raised in
#     `after_batch` itself), `after_epoch` **still runs**, and `fit` goes on with the next phase (the validation
#     phase of the same epoch, or the next epoch). Raised in `after_epoch`: the rest of that `after_epoch` is
#     skipped and `fit` goes on with the next phase.
#   - `CancelFitException` raised anywhere from `before_fit` to `after_epoch`: everything still to come is
#     skipped (no `after_batch`, no `after_epoch` for the interrupted ones, no further phase), `after_fit` **still
#     runs**, and `fit` returns normally. Raised in `after_fit`: the rest of `after_fit` is skipped and `fit`
#     returns normally.
#   - Any other exception propagates out of `fit` (after the `fit` callbacks are removed). So does a cancel
#     exception raised where its rule above does not list it (`CancelBatchException` in `before_fit`,
#     `before_epoch`, `after_epoch` or `after_fit`; `CancelEpochException` in `before_fit` or `after_fit`).
# - `fit` returns `None`.

# %% [answer id=learner]
class Learner:
    ### BEGIN SOLUTION
    def __init__(self, model, train_loader, valid_loader, loss_fn, opt, cbs=()):
        self.model, self.train_loader, self.valid_loader = model, train_loader, valid_loader
        self.loss_fn, self.opt, self.cbs = loss_fn, opt, list(cbs)

    EVENTS = ("before_fit", "before_epoch", "before_batch", "after_batch", "after_epoch", "after_fit")

    def callback(self, name):
        for method in self._methods[name]:
            method(self)

    def _with_events(self, name, body, cancel):
        try:
            try:
                self.callback(f"before_{name}")
                body()
            except cancel:
                pass
            self.callback(f"after_{name}")
        except cancel:
            pass

    def _step(self):
        x, y = self.batch
        self.preds = self.model(x)
        self.loss = self.loss_fn(self.preds, y)
        if self.training:
            self.loss.backward()
            self.opt.step()
            self.opt.zero_grad()

    def _batches(self):
        for self.iter, self.batch in enumerate(self.dl):
            self.preds = self.loss = None
            try:
                try:
                    self.callback("before_batch")
                    self._step()
                except CancelBatchException:
                    pass
                self.callback("after_batch")
            except CancelBatchException:
                pass

    def _phase(self, training):
        self.training = training
        self.model.train(training)
        self.dl = self.train_loader if training else self.valid_loader
        self._with_events("epoch", self._batches, CancelEpochException)

    def _epochs(self):
        for self.epoch in range(self.n_epochs):
            if self.train:
                self._phase(True)
            if self.valid:
                with torch.no_grad():
                    self._phase(False)

    def fit(self, n_epochs, train=True, valid=True, cbs=()):
        self.n_epochs, self.train, self.valid = n_epochs, train, valid
        added = list(cbs)
        self.cbs.extend(added)
        # each event's bound methods, in increasing order (sorted is stable: ties keep the order given),
        # looked up once per fit rather than at every event
        ordered = sorted(self.cbs, key=lambda cb: cb.order)
        self._methods = {name: [m for m in (getattr(cb, name, None) for cb in ordered) if m is not None]
                         for name in self.EVENTS}
        try:
            self._with_events("fit", self._epochs, CancelFitException)
        finally:
            for cb in added:
                self.cbs.remove(cb)
    ### END SOLUTION

# %% [tests id=test_learner points=1]
class Recorder(Callback):
    """Writes every event into ``log`` as (event, epoch, training, iter)."""

    def __init__(self, log, order=0, tag=""):
        self.log, self.order, self.tag = log, order, tag

    def _record(self, name, learn):
        self.log.append((self.tag + name, getattr(learn, "epoch", None) if name != "before_fit" else None,
                         getattr(learn, "training", None) if "batch" in name or "epoch" in name else None,
                         learn.iter if "batch" in name else None))

    def before_fit(self, learn): self._record("before_fit", learn)
    def before_epoch(self, learn): self._record("before_epoch", learn)
    def before_batch(self, learn): self._record("before_batch", learn)
    def after_batch(self, learn): self._record("after_batch", learn)
    def after_epoch(self, learn): self._record("after_epoch", learn)
    def after_fit(self, learn): self._record("after_fit", learn)


log = []
model = toy_model("linear")
learn = Learner(model, toy_loader(6, 4), toy_loader(3, 4), F.cross_entropy,
                torch.optim.SGD(model.parameters(), lr=0.1), cbs=[Recorder(log)])
before = model.weight.detach().clone()
student_call("Learner(...).fit(1) with 2 training batches and 1 validation batch", learn.fit, 1)
check_equal([e[0] for e in log], ["before_fit", "before_epoch", "before_batch", "after_batch", "before_batch",
                                  "after_batch", "after_epoch", "before_epoch", "before_batch", "after_batch",
                                  "after_epoch", "after_fit"], "the events of fit(1)")
check_equal([e[2] for e in log if e[0] == "before_epoch"], [True, False], "learn.training in the two phases")
check(not torch.equal(model.weight.detach(), before), "fit(1) must train the model (the weights did not change).")
log.clear()
order_log = []
learn = Learner(model, toy_loader(4, 4), toy_loader(4, 4), F.cross_entropy, torch.optim.SGD(model.parameters(), lr=0.1),
                cbs=[Recorder(order_log, order=5, tag="late:"), Recorder(order_log, order=-1, tag="early:")])
student_call("fit(1, valid=False) with callbacks of order 5 and -1", learn.fit, 1, valid=False)
check_equal([e[0] for e in order_log][:2], ["early:before_fit", "late:before_fit"], "the order callbacks run in")


class StopAfterFirstBatch(Callback):
    order = 1  # after the Recorder

    def after_batch(self, learn):
        raise CancelFitException()


log.clear()
learn = Learner(model, toy_loader(8, 4), toy_loader(4, 4), F.cross_entropy, torch.optim.SGD(model.parameters(), lr=0.1),
                cbs=[Recorder(log)])
student_call("fit(2, cbs=[a callback raising CancelFitException in after_batch])", learn.fit, 2,
             cbs=[StopAfterFirstBatch()])
check_equal([e[0] for e in log], ["before_fit", "before_epoch", "before_batch", "after_batch", "after_fit"],
            "the events when CancelFitException is raised in the first after_batch")
check_equal(len(learn.cbs), 1, "len(learn.cbs) after fit(cbs=[one more]) returns")
print("Part 5 visible tests passed.")

# %% [tests id=test_learner_hidden points=5]
# Hidden tests for the Learner run here when your work is graded.
### BEGIN HIDDEN TESTS
class _RefLearner:
    """A correct learner (the tests' reference)."""
    def __init__(self, model, train_loader, valid_loader, loss_fn, opt, cbs=()):
        self.model, self.train_loader, self.valid_loader = model, train_loader, valid_loader
        self.loss_fn, self.opt, self.cbs = loss_fn, opt, list(cbs)

    def callback(self, name):
        for cb in sorted(self.cbs, key=lambda cb: cb.order):
            method = getattr(cb, name, None)
            if method is not None:
                method(self)

    def _with_events(self, name, body, cancel):
        try:
            try:
                self.callback(f"before_{name}")
                body()
            except cancel:
                pass
            self.callback(f"after_{name}")
        except cancel:
            pass

    def _step(self):
        x, y = self.batch
        self.preds = self.model(x)
        self.loss = self.loss_fn(self.preds, y)
        if self.training:
            self.loss.backward()
            self.opt.step()
            self.opt.zero_grad()

    def _batches(self):
        for self.iter, self.batch in enumerate(self.dl):
            self.preds = self.loss = None
            try:
                try:
                    self.callback("before_batch")
                    self._step()
                except CancelBatchException:
                    pass
                self.callback("after_batch")
            except CancelBatchException:
                pass

    def _phase(self, training):
        self.training = training
        self.model.train(training)
        self.dl = self.train_loader if training else self.valid_loader
        self._with_events("epoch", self._batches, CancelEpochException)

    def _epochs(self):
        for self.epoch in range(self.n_epochs):
            if self.train:
                self._phase(True)
            if self.valid:
                with torch.no_grad():
                    self._phase(False)

    def fit(self, n_epochs, train=True, valid=True, cbs=()):
        self.n_epochs, self.train, self.valid = n_epochs, train, valid
        added = list(cbs)
        self.cbs.extend(added)
        try:
            self._with_events("fit", self._epochs, CancelFitException)
        finally:
            for cb in added:
                self.cbs.remove(cb)


class _Rec(Callback):
    """Records (tag+event, epoch, training, iter, grad enabled, model mode, preds/loss None) at every event."""

    def __init__(self, log, order=0, tag=""):
        self.log, self.order, self.tag = log, order, tag

    def _r(self, name, learn):
        self.log.append((self.tag + name, getattr(learn, "epoch", None) if name != "before_fit" else None,
                         getattr(learn, "training", None) if "batch" in name or "epoch" in name else None,
                         getattr(learn, "iter", None) if "batch" in name else None))

    def before_fit(self, learn): self._r("before_fit", learn)
    def before_epoch(self, learn): self._r("before_epoch", learn)
    def before_batch(self, learn): self._r("before_batch", learn)
    def after_batch(self, learn): self._r("after_batch", learn)
    def after_epoch(self, learn): self._r("after_epoch", learn)
    def after_fit(self, learn): self._r("after_fit", learn)


class _Raise(Callback):
    """Raises ``exc`` at the ``at``-th call of ``event`` (0-based)."""

    def __init__(self, event, exc, at=0, order=0):
        self.event, self.exc, self.at, self.order, self.calls = event, exc, at, order, 0

    def __getattr__(self, name):
        if name == self.__dict__.get("event"):
            return self._maybe
        raise AttributeError(name)

    def _maybe(self, learn):
        self.calls += 1
        if self.calls - 1 == self.at:
            raise self.exc()


def _trace(cls, n_train=7, n_valid=5, epochs=2, cbs=(), fit_cbs=(), loss_raise=None, **fit_kwargs):
    log = []
    torch.manual_seed(0)
    model = to_device(toy_model("linear", seed=51))
    calls = {"n": 0}

    def loss_fn(p, y):
        calls["n"] += 1
        if loss_raise is not None and calls["n"] - 1 == loss_raise[1]:
            raise loss_raise[0]()
        return F.cross_entropy(p, y)
    mk = lambda c: (_Rec(log) if c == "rec" else copy.copy(c))  # a fresh copy per run
    learn = cls(model, toy_loader(n_train, 3, seed=52), toy_loader(n_valid, 3, seed=53), loss_fn,
                torch.optim.SGD(model.parameters(), lr=0.1), cbs=[mk(c) for c in cbs])
    learn.fit(epochs, cbs=[mk(c) for c in fit_cbs], **fit_kwargs)
    return log, learn


def _must_propagate(exc, event):
    """fit must let ``exc`` raised in ``event`` (a point its rule does not list) propagate."""
    try:
        _trace(Learner, cbs=("rec",), fit_cbs=(_Raise(event, exc, 0),))
    except exc:
        return
    except CheckFailed:
        raise
    except Exception as error:
        fail(f"fit(2) with {exc.__name__} raised in the first {event} raised {type(error).__name__} instead: a cancel "
             f"exception raised where its rule does not list it propagates out of fit.")
    fail(f"fit(2) with {exc.__name__} raised in the first {event} returned normally: a cancel exception raised where "
         f"its rule does not list it ({exc.__name__} in {event}) propagates out of fit.")


def _events(log, tags=True):
    """The events as text; with tags=False only the events' names (what the cancel clauses are about: the
    attributes epoch, training and iter are the first clause's, so a mistake in them costs that clause only)."""
    if not tags:
        return [e[0] for e in log]
    return [e[0] + (f"(e{e[1]},{'train' if e[2] else 'valid'},i{e[3]})" if e[3] is not None else
                    f"(e{e[1]},{'train' if e[2] else 'valid'})" if e[2] is not None else "") for e in log]


def _compare_trace(what, tags=False, **kwargs):
    """Runs fit on the reference and on the student's Learner; compares the events in the order they ran (with
    tags=True also each event's epoch, training flag and iter)."""
    exp_log, _ = _trace(_RefLearner, **kwargs)
    try:
        got_log, learn = _trace(Learner, **kwargs)
    except CheckFailed:
        raise
    except Exception as error:
        fail(f"{what}: fit raised {type(error).__name__}{f': {error}' if str(error) else ''}; the exception must be "
             f"caught by the learner.")
    got, exp = _events(got_log, tags), _events(exp_log, tags)
    if got != exp:
        i = next((k for k, (a, b) in enumerate(zip(got, exp)) if a != b), min(len(got), len(exp)))
        fail(f"{what}: the events differ from the {i + 1}-th on.\n  expected ... {exp[max(0, i - 2):i + 4]}\n"
             f"  got      ... {got[max(0, i - 2):i + 4]}\n  ({len(exp)} events expected, {len(got)} got)")
    return learn


clauses = Clauses(points=5)
with clauses.clause("the events of fit, phases, learn.epoch / training / iter / batch / preds / loss, train/valid "
                    "flags, the model's mode per phase, no_grad in validation, the training step", points=1):
    for _kw in ({}, {"train": False}, {"valid": False}, {"epochs": 3}):
        _compare_trace(f"fit({_kw.get('epochs', 2)}, {', '.join(f'{k}={v}' for k, v in _kw.items() if k != 'epochs')}) "
                       f"with 7 training samples and 5 validation samples in batches of 3", tags=True, cbs=("rec",),
                       **_kw)

    class _Look(Callback):
        def __init__(self):
            self.seen = []

        def before_batch(self, learn):
            self.seen.append(("before_batch", learn.training, learn.model.training, torch.is_grad_enabled(),
                              learn.preds is None and learn.loss is None, learn.dl is (learn.train_loader if learn.training
                                                                                       else learn.valid_loader),
                              learn.n_epochs))

        def after_batch(self, learn):
            self.seen.append(("after_batch", learn.training, learn.model.training, torch.is_grad_enabled(),
                              isinstance(learn.preds, torch.Tensor) and isinstance(learn.loss, torch.Tensor),
                              learn.preds is not None and tuple(learn.preds.shape) == (len(learn.batch[1]), 3),
                              learn.n_epochs))

        def before_epoch(self, learn):
            self.seen.append(("before_epoch", learn.training, learn.model.training, torch.is_grad_enabled(), True, True,
                              learn.n_epochs))

    _look = _Look()
    _m = to_device(toy_model("dropout", seed=54)).eval()
    _learn = Learner(_m, toy_loader(7, 3, seed=55), toy_loader(4, 3, seed=56), F.cross_entropy,
                     torch.optim.SGD(_m.parameters(), lr=0.1), cbs=[_look])
    check_equal(list(_learn.cbs) if isinstance(_learn.cbs, list) else None, [_look], "learn.cbs (a list)")
    _ret = student_call("Learner(dropout model in eval mode, ...).fit(1)", _learn.fit, 1,
                        known_errors={"object has no attribute 'preds'": "learn.preds was read in before_batch before "
                                      "any step: set learn.preds = learn.loss = None before before_batch",
                                      "object has no attribute 'loss'": "learn.loss was read in before_batch before any "
                                      "step: set learn.preds = learn.loss = None before before_batch"})
    check(_ret is None, f"fit must return None, got {describe(_ret)}.")
    for _event, _training, _mode, _grad, _ok1, _ok2, _n in _look.seen:
        _phase = "training" if _training else "validation"
        check(_mode == _training, f"in the {_phase} phase ({_event}), the model's mode must be "
              f"{'train' if _training else 'eval'} (learn.model.train(learn.training)).")
        check(_grad == _training, f"in the {_phase} phase ({_event}), torch.is_grad_enabled() was {_grad}: the validation "
              f"phase, events included, runs under torch.no_grad(); the training phase with autograd on.")
        check(_ok1 and _ok2, f"{_event} of the {_phase} phase: learn.preds and learn.loss must be None before the batch "
              f"and tensors (preds of shape (batch, classes)) after it; learn.dl must be the phase's loader.")
        check(_n == 1, f"learn.n_epochs must be the n_epochs passed to fit (1), got {_n}.")
    # the training step: plain SGD on each batch, in the loader's order
    _m = to_device(toy_model("linear", seed=57))
    _r = copy.deepcopy(_m).cpu()
    _learn = Learner(_m, toy_loader(7, 3, seed=58), toy_loader(4, 3), F.cross_entropy, torch.optim.SGD(_m.parameters(), lr=0.3))
    student_call("Learner(linear model, ...).fit(2, valid=False)", _learn.fit, 2, valid=False)
    _o = torch.optim.SGD(_r.parameters(), lr=0.3)
    for _e in range(2):
        for _x, _y in toy_loader(7, 3, seed=58):
            F.cross_entropy(_r(_x), _y).backward(); _o.step(); _o.zero_grad()
    check_close(params_of(_m)["weight"], params_of(_r)["weight"], "the weights after fit(2, valid=False): one SGD step "
                "per training batch (backward, step, zero_grad)", atol=1e-6)
    _m = to_device(toy_model("linear", seed=57))
    _before = params_of(_m)
    _learn = Learner(_m, toy_loader(7, 3), toy_loader(4, 3), F.cross_entropy, torch.optim.SGD(_m.parameters(), lr=0.3))
    student_call("Learner(...).fit(1, train=False)", _learn.fit, 1, train=False)
    check_close(params_of(_m)["weight"], _before["weight"], "the weights after fit(1, train=False) (validation never "
                "steps)", atol=0, rtol=0)

    class _Swap(Callback):
        def before_batch(self, learn):
            x, y = learn.batch
            learn.batch = (x * 0, y)

    _m = to_device(toy_model("linear", seed=59))
    _learn = Learner(_m, toy_loader(3, 3), toy_loader(3, 3), F.cross_entropy, torch.optim.SGD(_m.parameters(), lr=0.0),
                     cbs=[_Swap(), _Look()])
    student_call("fit(1) with a callback that replaces learn.batch in before_batch", _learn.fit, 1)
    check_close(_learn.preds.cpu(), params_of(_m)["bias"].expand(3, 3), "learn.preds after a before_batch that zeroed the "
                "inputs of learn.batch (the step must read learn.batch after before_batch)", atol=1e-6)
with clauses.clause("callbacks run in increasing order, ties in the order given (learn.cbs, then fit's cbs); fit's "
                    "cbs removed after fit returns or raises", points=1):
    _log = []
    _a, _b, _c, _d = _Rec(_log, 3, "a:"), _Rec(_log, -2, "b:"), _Rec(_log, 3, "c:"), _Rec(_log, 0, "d:")
    _m = to_device(toy_model("linear"))
    _learn = Learner(_m, toy_loader(3, 3), toy_loader(3, 3), F.cross_entropy, torch.optim.SGD(_m.parameters(), lr=0.1),
                     cbs=[_a, _b])
    student_call("fit(1, cbs=[order 3, order 0]) on a learner with callbacks of order 3 and -2", _learn.fit, 1,
                 cbs=[_c, _d])
    check_equal([e[0] for e in _log[:4]], ["b:before_fit", "d:before_fit", "a:before_fit", "c:before_fit"],
                "the order of before_fit over callbacks of order 3 (learner), -2 (learner), 3 (fit), 0 (fit)",
                mistakes={"callbacks ran in the order given, not sorted by order":
                          ["a:before_fit", "b:before_fit", "c:before_fit", "d:before_fit"],
                          "callbacks ran in decreasing order": ["a:before_fit", "c:before_fit", "d:before_fit",
                                                                "b:before_fit"],
                          "on equal order, the callbacks passed to fit ran before learn.cbs (learn.cbs come first)":
                          ["b:before_fit", "d:before_fit", "c:before_fit", "a:before_fit"]})
    check_equal([e[0] for e in _log[-4:]], ["b:after_fit", "d:after_fit", "a:after_fit", "c:after_fit"],
                "the order of after_fit")
    check_equal(list(_learn.cbs), [_a, _b], "learn.cbs after fit(cbs=[...]) returned")

    class _Boom(Callback):
        def before_epoch(self, learn):
            raise ValueError("boom")

    try:
        _learn.fit(1, cbs=[_Boom()])
        fail("fit must let a ValueError raised by a callback propagate.")
    except ValueError:
        pass
    _names = lambda cbs: f"{len(cbs)} ({', '.join(type(cb).__name__ for cb in cbs)})"
    check(list(_learn.cbs) == [_a, _b], f"learn.cbs after fit(cbs=[a _Boom callback raising ValueError]) raised: expected "
          f"the learner's own 2 callbacks (_Rec, _Rec), got {_names(list(_learn.cbs))}.",
          hint="the callbacks passed to fit stayed in learn.cbs when fit raised: remove them in a finally: block"
          if list(_learn.cbs)[:2] == [_a, _b] and len(_learn.cbs) == 3 and type(_learn.cbs[2]).__name__ == "_Boom"
          else None)
with clauses.clause("CancelBatchException: after_batch still runs, the phase goes on; raised in after_batch the phase "
                    "goes on", points=1):
    for _event, _at in (("before_batch", 1), ("before_batch", 3), ("after_batch", 0), ("after_batch", 4)):
        _compare_trace(f"fit(2) with CancelBatchException raised at the {_at + 1}-th {_event} by a callback of order 1",
                       cbs=("rec",), fit_cbs=(_Raise(_event, CancelBatchException, _at, order=1),))
        _compare_trace(f"fit(2) with CancelBatchException raised at the {_at + 1}-th {_event} by a callback of order -1",
                       cbs=("rec",), fit_cbs=(_Raise(_event, CancelBatchException, _at, order=-1),))
    _compare_trace("fit(2) with CancelBatchException raised by loss_fn at its 2nd call", cbs=("rec",),
                   loss_raise=(CancelBatchException, 1))
    for _event in ("before_epoch", "after_epoch"):
        _must_propagate(CancelBatchException, _event)
with clauses.clause("CancelEpochException: after_epoch still runs, fit goes on with the next phase", points=1):
    for _event, _at in (("before_epoch", 0), ("before_epoch", 1), ("before_batch", 1), ("after_batch", 2),
                        ("after_batch", 3), ("after_epoch", 0)):
        for _order in (1, -1):
            _compare_trace(f"fit(2) with CancelEpochException raised at the {_at + 1}-th {_event} (callback of order "
                           f"{_order})", cbs=("rec",), fit_cbs=(_Raise(_event, CancelEpochException, _at, order=_order),))
    _compare_trace("fit(2) with CancelEpochException raised by loss_fn at its 4th call", cbs=("rec",),
                   loss_raise=(CancelEpochException, 3))
    for _event in ("before_fit", "after_fit"):
        _must_propagate(CancelEpochException, _event)
with clauses.clause("CancelFitException: after_fit still runs, fit returns normally", points=1):
    for _event, _at in (("before_fit", 0), ("before_epoch", 1), ("before_batch", 2), ("after_batch", 4),
                        ("after_epoch", 0), ("after_epoch", 2), ("after_fit", 0)):
        for _order in (1, -1):
            _compare_trace(f"fit(2) with CancelFitException raised at the {_at + 1}-th {_event} (callback of order "
                           f"{_order})", cbs=("rec",), fit_cbs=(_Raise(_event, CancelFitException, _at, order=_order),))
    _compare_trace("fit(2) with CancelFitException raised by loss_fn at its 3rd call", cbs=("rec",),
                   loss_raise=(CancelFitException, 2))
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part6]
# ## Part 6 — five callbacks (6 points)
#
# Each is a `Callback` subclass (its `order` is 0 unless said otherwise) whose methods take the learner of
# Part 5, `learn`, and use only what Part 5's contract gives it (`learn.model`, `learn.opt`, `learn.batch`,
# `learn.preds`, `learn.loss`, `learn.training`, `learn.epoch`, `learn.n_epochs`, `learn.train_loader`, ...).
# One callback object may take part in several fits: its lists (`history`, `lrs`, `losses`, `means`, `stds`)
# are emptied only at construction, and each fit appends to them.
#
# **`MetricsCallback(metrics)`** — `metrics`: a dict `name -> fn(preds, y)` returning a batch mean.
# `self.history` is a list, empty at construction. The sums start at zero at construction, in `before_epoch`
# and again at the end of every `after_epoch` (so a phase whose `before_epoch` another callback cancelled
# counts from zero too). `after_batch`, when `learn.loss is not None` (a batch cancelled before its loss counts
# for nothing), adds `loss.item() × n` and `float(fn(learn.preds, y)) × n` for each metric, with
# `y = learn.batch[1]` and `n = len(y)`. `after_epoch`, when at least one batch was counted since the sums last
# started, appends `{"epoch": learn.epoch, "phase": "train" or "valid", "loss": ..., <name>: ... for each
# metric}` (keys in that order) with the **per-sample** means (Python floats).
#
# **`DeviceCallback(device)`**, `order = -10`: `before_fit` moves the model (`learn.model.to(device)`);
# `before_batch` replaces `learn.batch` by the tuple of its tensors moved to `device`.
#
# **`LRFinderCallback(start_lr=1e-6, end_lr=10.0, num_iter=100, div=4.0)`** — `self.lrs` and `self.losses`:
# lists, empty at construction. `before_fit` saves deep copies of `learn.model.state_dict()` and
# `learn.opt.state_dict()`. `before_epoch` of a validation phase raises `CancelEpochException` (the finder never
# validates). `before_batch` of a training batch sets the learning rate of **every** parameter group to
# `start_lr × (end_lr / start_lr) ** (i / (num_iter − 1))`, where `i` is the number of losses recorded so far
# (`len(self.losses)`: a training batch cancelled before its loss does not count; `num_iter` ≥ 2).
# `after_batch` of a training batch with a loss appends the learning rate this callback set in `before_batch`
# (even if another callback has changed the optimizer's lr since) to `lrs` and `loss.item()` to `losses`, then
# raises `CancelFitException` when `num_iter` losses are recorded, or the loss is not finite, or it exceeds
# `div ×` the smallest loss recorded. `after_fit` **restores** the model's and the optimizer's states saved in
# `before_fit` (`load_state_dict`), whatever ended the fit (this callback's `CancelFitException`, another
# callback's, or the last epoch), so finding a learning rate leaves no trace.
#
# **`OneCycleCallback(max_lr, pct_start=0.3)`** — `before_fit` creates `self.scheduler =
# torch.optim.lr_scheduler.OneCycleLR(learn.opt, max_lr=max_lr, total_steps=learn.n_epochs ×
# len(learn.train_loader), pct_start=pct_start)`; `after_batch` of **every training** batch (one cancelled
# before its step included) calls `self.scheduler.step()`.
#
# **`ActivationStatsCallback(modules)`** — `modules`: a list of modules of the model. `self.means` and
# `self.stds`: one empty list per module, made at construction. `before_fit` registers a forward hook on each
# module (the hooks exist only from `before_fit` to `after_fit`: none after construction, none after `fit`);
# the hook of module `k`, while `learn.training` is `True`, appends `output.mean().item()` to `self.means[k]`
# and `output.std().item()` (torch's default, unbiased) to `self.stds[k]`; it records nothing in validation.
# `after_fit` removes every hook (the modules have none of this callback's hooks after `fit`).

# %% [answer id=callbacks]
class MetricsCallback(Callback):
    ### BEGIN SOLUTION
    def __init__(self, metrics):
        self.metrics, self.history = dict(metrics), []
        self.before_epoch(None)

    def before_epoch(self, learn):
        self.sums, self.count = {"loss": 0.0, **{name: 0.0 for name in self.metrics}}, 0

    def after_batch(self, learn):
        if learn.loss is None:
            return
        y = learn.batch[1]
        n = len(y)
        self.sums["loss"] += learn.loss.item() * n
        for name, fn in self.metrics.items():
            self.sums[name] += float(fn(learn.preds, y)) * n
        self.count += n

    def after_epoch(self, learn):
        if self.count:
            self.history.append({"epoch": learn.epoch, "phase": "train" if learn.training else "valid",
                                 **{name: total / self.count for name, total in self.sums.items()}})
        self.before_epoch(learn)
    ### END SOLUTION


class DeviceCallback(Callback):
    ### BEGIN SOLUTION
    order = -10

    def __init__(self, device):
        self.device = device

    def before_fit(self, learn):
        learn.model.to(self.device)

    def before_batch(self, learn):
        learn.batch = tuple(t.to(self.device) for t in learn.batch)
    ### END SOLUTION


class LRFinderCallback(Callback):
    ### BEGIN SOLUTION
    def __init__(self, start_lr=1e-6, end_lr=10.0, num_iter=100, div=4.0):
        self.start_lr, self.end_lr, self.num_iter, self.div = start_lr, end_lr, num_iter, div
        self.lrs, self.losses = [], []

    def before_fit(self, learn):
        self.saved = copy.deepcopy(learn.model.state_dict()), copy.deepcopy(learn.opt.state_dict())

    def before_epoch(self, learn):
        if not learn.training:
            raise CancelEpochException()

    def before_batch(self, learn):
        if learn.training:
            self.lr = self.start_lr * (self.end_lr / self.start_lr) ** (len(self.losses) / (self.num_iter - 1))
            for group in learn.opt.param_groups:
                group["lr"] = self.lr

    def after_batch(self, learn):
        if not learn.training or learn.loss is None:
            return
        loss = learn.loss.item()
        self.lrs.append(self.lr)
        self.losses.append(loss)
        if len(self.losses) >= self.num_iter or not math.isfinite(loss) or loss > self.div * min(self.losses):
            raise CancelFitException()

    def after_fit(self, learn):
        learn.model.load_state_dict(self.saved[0])
        learn.opt.load_state_dict(self.saved[1])
    ### END SOLUTION


class OneCycleCallback(Callback):
    ### BEGIN SOLUTION
    def __init__(self, max_lr, pct_start=0.3):
        self.max_lr, self.pct_start = max_lr, pct_start

    def before_fit(self, learn):
        self.scheduler = torch.optim.lr_scheduler.OneCycleLR(
            learn.opt, max_lr=self.max_lr, total_steps=learn.n_epochs * len(learn.train_loader),
            pct_start=self.pct_start)

    def after_batch(self, learn):
        if learn.training:
            self.scheduler.step()
    ### END SOLUTION


class ActivationStatsCallback(Callback):
    ### BEGIN SOLUTION
    def __init__(self, modules):
        self.modules = list(modules)
        self.means = [[] for _ in self.modules]
        self.stds = [[] for _ in self.modules]

    def before_fit(self, learn):
        def hook(k):
            def record(module, inputs, output):
                if learn.training:
                    self.means[k].append(output.mean().item())
                    self.stds[k].append(output.std().item())
            return record
        self.handles = [m.register_forward_hook(hook(k)) for k, m in enumerate(self.modules)]

    def after_fit(self, learn):
        for handle in self.handles:
            handle.remove()
    ### END SOLUTION

# %% [tests id=test_callbacks points=1]
model = toy_model("linear")
metrics_cb = MetricsCallback({"acc": accuracy})
learn = Learner(model, toy_loader(10, 4), toy_loader(5, 4, seed=1), F.cross_entropy,
                torch.optim.SGD(model.parameters(), lr=0.1), cbs=[metrics_cb, DeviceCallback(torch.device("cpu"))])
student_call("Learner(..., cbs=[MetricsCallback, DeviceCallback]).fit(1)", learn.fit, 1)
check_equal([(row["epoch"], row["phase"]) for row in metrics_cb.history], [(0, "train"), (0, "valid")],
            "MetricsCallback.history's (epoch, phase) after fit(1)")
check_equal(list(metrics_cb.history[1]), ["epoch", "phase", "loss", "acc"], "keys of a MetricsCallback row")
x_valid, y_valid = toy_data(5, seed=1)
with torch.no_grad():
    check_close(metrics_cb.history[1]["loss"], F.cross_entropy(model(x_valid), y_valid).item(),
                "the validation loss (5 samples in batches of 4 and 1)", atol=1e-5)
before = params_of(model)
finder = LRFinderCallback(num_iter=5)
student_call("fit(3, cbs=[LRFinderCallback(num_iter=5)])", learn.fit, 3, cbs=[finder])
check_equal(len(finder.losses), 5, "number of losses the LR finder recorded with num_iter=5")
check_close(params_of(model)["weight"], before["weight"], "the weights after the LR finder (restored)", atol=0, rtol=0)
print([round(lr, 8) for lr in finder.lrs])
print("Part 6 visible tests passed.")

# %% [tests id=test_callbacks_hidden points=5]
# Hidden tests for the callbacks run here when your work is graded (a correct learner drives your callbacks).
### BEGIN HIDDEN TESTS
class _RefLearner:
    """A correct learner (the tests' reference)."""
    def __init__(self, model, train_loader, valid_loader, loss_fn, opt, cbs=()):
        self.model, self.train_loader, self.valid_loader = model, train_loader, valid_loader
        self.loss_fn, self.opt, self.cbs = loss_fn, opt, list(cbs)

    def callback(self, name):
        for cb in sorted(self.cbs, key=lambda cb: cb.order):
            method = getattr(cb, name, None)
            if method is not None:
                method(self)

    def _with_events(self, name, body, cancel):
        try:
            try:
                self.callback(f"before_{name}")
                body()
            except cancel:
                pass
            self.callback(f"after_{name}")
        except cancel:
            pass

    def _step(self):
        x, y = self.batch
        self.preds = self.model(x)
        self.loss = self.loss_fn(self.preds, y)
        if self.training:
            self.loss.backward()
            self.opt.step()
            self.opt.zero_grad()

    def _batches(self):
        for self.iter, self.batch in enumerate(self.dl):
            self.preds = self.loss = None
            try:
                try:
                    self.callback("before_batch")
                    self._step()
                except CancelBatchException:
                    pass
                self.callback("after_batch")
            except CancelBatchException:
                pass

    def _phase(self, training):
        self.training = training
        self.model.train(training)
        self.dl = self.train_loader if training else self.valid_loader
        self._with_events("epoch", self._batches, CancelEpochException)

    def _epochs(self):
        for self.epoch in range(self.n_epochs):
            if self.train:
                self._phase(True)
            if self.valid:
                with torch.no_grad():
                    self._phase(False)

    def fit(self, n_epochs, train=True, valid=True, cbs=()):
        self.n_epochs, self.train, self.valid = n_epochs, train, valid
        added = list(cbs)
        self.cbs.extend(added)
        try:
            self._with_events("fit", self._epochs, CancelFitException)
        finally:
            for cb in added:
                self.cbs.remove(cb)


def _learner(model, cbs, n_train=10, n_valid=7, bs=4, lr=0.1, momentum=0.0):
    return _RefLearner(model, toy_loader(n_train, bs, seed=61), toy_loader(n_valid, bs, seed=62), F.cross_entropy,
                       torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum), cbs=cbs)


class _CancelAt(Callback):
    """Raises CancelBatchException in before_batch of the given training iterations."""
    order = -20

    def __init__(self, iters):
        self.iters = iters

    def before_batch(self, learn):
        if learn.training and learn.iter in self.iters:
            raise CancelBatchException()


clauses = Clauses(points=5)
with clauses.clause("MetricsCallback: per-sample means per phase, rows and keys in order, cancelled batches not "
                    "counted, sums reset per phase", points=1):
    _m = to_device(toy_model("dropout", seed=63))
    _cb = student_call("MetricsCallback({'acc': accuracy, 'one': lambda p, y: 1.0})", MetricsCallback,
                       {"acc": accuracy, "one": lambda p, y: 1.0})
    check_equal(_cb.history, [], "MetricsCallback(...).history at construction")
    _preds = []

    class _Keep(Callback):
        order = 50

        def after_batch(self, learn):
            if learn.loss is not None:
                _preds.append((learn.training, learn.epoch, learn.loss.item(), accuracy(learn.preds, learn.batch[1]).item(),
                               len(learn.batch[1])))

    student_call("fit(2) with MetricsCallback (training batches of 4, 4, 2; validation 4, 3; the 2nd training batch "
                 "cancelled in before_batch)", _learner(_m, [_cb, _Keep(), _CancelAt({1})]).fit, 2)
    check_type(_cb.history, list, "MetricsCallback.history")
    check_equal([(r.get("epoch"), r.get("phase")) for r in _cb.history],
                [(0, "train"), (0, "valid"), (1, "train"), (1, "valid")], "(epoch, phase) of the rows after fit(2)")
    for _row, (_train, _epoch) in zip(_cb.history, [(True, 0), (False, 0), (True, 1), (False, 1)]):
        _kept = [p for p in _preds if p[0] == _train and p[1] == _epoch]
        _n = sum(p[4] for p in _kept)
        check_equal(list(_row), ["epoch", "phase", "loss", "acc", "one"], "keys of a MetricsCallback row")
        _what = f"MetricsCallback row of epoch {_epoch}, {'train' if _train else 'valid'}"
        check_close(_row["loss"], sum(p[2] * p[4] for p in _kept) / _n, f"{_what}: loss", atol=1e-5,
                    mistakes={"the loss is a mean of batch means; weight each batch by len(y)":
                              sum(p[2] for p in _kept) / len(_kept)})
        check_close(_row["acc"], sum(p[3] * p[4] for p in _kept) / _n, f"{_what}: acc", atol=1e-6,
                    mistakes={"the metric is a mean of batch means; weight each batch by len(y)":
                              sum(p[3] for p in _kept) / len(_kept)})
        check_close(_row["one"], 1.0, f"{_what}: a metric that is always 1.0", atol=1e-9)
        for _k in ("loss", "acc", "one"):
            check_type(_row[_k], float, f"{_what}: {_k}")

    class _CancelValid(Callback):
        def before_epoch(self, learn):
            if not learn.training:
                raise CancelEpochException()

    for _cancel, _kept_phase, _story in ((_CancelValid(), "train", "CancelEpochException in every validation "
                                          "before_epoch"),
                                         (_CancelAt({0, 1, 2}), "valid", "CancelBatchException in the before_batch of "
                                          "every training batch")):
        _cb = MetricsCallback({"acc": accuracy})
        student_call(f"fit(2) with MetricsCallback and {_story}", _learner(to_device(toy_model("linear", seed=68)),
                     [_cb, _cancel]).fit, 2)
        check_equal([(r.get("epoch"), r.get("phase")) for r in _cb.history], [(0, _kept_phase), (1, _kept_phase)],
                    f"(epoch, phase) of MetricsCallback's rows after fit(2) with {_story} (a phase in which no batch "
                    f"was counted appends no row)")

    class _CancelEvery(Callback):
        def before_epoch(self, learn):
            raise CancelEpochException()

    # a callback given before MetricsCallback (same order) cancels before_epoch: MetricsCallback's never runs
    for _cancel, _expected, _story in ((_CancelValid(), [(0, "train"), (1, "train")], "every validation before_epoch"),
                                       (_CancelEvery(), [], "every before_epoch")):
        _cb = MetricsCallback({"acc": accuracy})
        student_call(f"fit(2) with cbs=[a callback raising CancelEpochException in {_story}, MetricsCallback] (so "
                     f"MetricsCallback's before_epoch does not run there)",
                     _learner(to_device(toy_model("linear", seed=68)), [_cancel, _cb]).fit, 2)
        check_equal([(r.get("epoch"), r.get("phase")) for r in _cb.history], _expected,
                    f"(epoch, phase) of MetricsCallback's rows after fit(2) with CancelEpochException raised in "
                    f"{_story} by a callback that runs before it (the sums start again at the end of every "
                    f"after_epoch: a phase whose before_epoch was cancelled counts from zero and appends no row)",
                    mistakes={"the sums were not started again at the end of after_epoch: a validation phase whose "
                              "before_epoch was cancelled appended a row of the training phase's sums":
                              [(0, "train"), (0, "valid"), (1, "train"), (1, "valid")] if _expected else None})
    # one MetricsCallback in two fits: the rows accumulate
    _cb = MetricsCallback({"acc": accuracy})
    _l = _learner(to_device(toy_model("linear", seed=69)), [_cb])
    student_call("fit(1) with MetricsCallback", _l.fit, 1)
    student_call("a second fit(1) with the same MetricsCallback", _l.fit, 1)
    check_equal([(r.get("epoch"), r.get("phase")) for r in _cb.history],
                [(0, "train"), (0, "valid"), (0, "train"), (0, "valid")], "(epoch, phase) of MetricsCallback's rows "
                "after two fit(1) with the same callback (only construction empties history; each fit appends)",
                mistakes={"history was emptied when the second fit began: only construction empties it, each fit "
                          "appends its rows": [(0, "train"), (0, "valid")]})
with clauses.clause("DeviceCallback: order -10, the model and every batch tensor moved to the device", points=1):
    _cb = student_call("DeviceCallback(grading device)", DeviceCallback, grading_device())
    check_equal(_cb.order, -10, "DeviceCallback.order")
    _m = toy_model("linear", seed=64)
    _seen = []

    class _See(Callback):
        order = -5

        def before_batch(self, learn):
            _seen.append(tuple(t.device.type for t in learn.batch))

    _learner(_m, [_See(), _cb]).fit(1)
    check(next(_m.parameters()).device.type == grading_device().type, "DeviceCallback must move the model in before_fit.")
    check(all(_s == (grading_device().type,) * 2 for _s in _seen), f"learn.batch's tensors must be on "
          f"{grading_device().type} for the callbacks of order above -10 (got {_seen[:2]}).")
    _l = _learner(to_device(toy_model("linear")), [])
    _l.batch = [torch.zeros(2, 4), torch.zeros(2, dtype=torch.long)]
    _cb.before_batch(_l)
    check_type(_l.batch, tuple, "learn.batch after DeviceCallback.before_batch")
with clauses.clause("LRFinderCallback: geometric lrs on every group, losses recorded, stops at num_iter or divergence, "
                    "never validates, restores weights and optimizer state", points=1):
    _m = to_device(nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 3)))
    torch.manual_seed(65)
    _opt = torch.optim.SGD([{"params": _m[0].parameters()}, {"params": list(_m[1].parameters()) + list(_m[2].parameters()),
                                                             "lr": 0.5}], lr=0.1, momentum=0.9)
    _opt.zero_grad(); F.cross_entropy(_m(to_device(torch.randn(5, 4))), to_device(torch.tensor([0, 1, 2, 0, 1]))).backward()
    _opt.step(); _opt.zero_grad()  # momentum buffers that must survive
    _before, _opt_before = params_of(_m), copy.deepcopy(_opt.state_dict())
    _finder = student_call("LRFinderCallback(start_lr=1e-4, end_lr=1.0, num_iter=7)", LRFinderCallback, 1e-4, 1.0, 7)
    _seen = []

    class _Lr(Callback):
        order = 5

        def before_batch(self, learn):
            _seen.append((learn.training, [g["lr"] for g in learn.opt.param_groups]))

    _l = _RefLearner(_m, toy_loader(12, 4, seed=66), toy_loader(8, 4), F.cross_entropy, _opt, cbs=[_finder, _Lr()])
    _l.fit(5)
    _expected = [1e-4 * (1.0 / 1e-4) ** (i / 6) for i in range(7)]
    check(all(t for t, _ in _seen), "the LR finder must skip validation (CancelEpochException in before_epoch of a "
          "validation phase).")
    check_equal(len(_finder.losses), 7, "losses recorded with num_iter=7 over 5 epochs of 3 batches")
    check_close(torch.tensor(_finder.lrs, dtype=torch.float64), torch.tensor(_expected, dtype=torch.float64),
                "LRFinderCallback.lrs (start_lr=1e-4, end_lr=1, num_iter=7)", rtol=1e-6, atol=0,
                mistakes={"i is learn.iter (it restarts every epoch); i is the number of losses recorded so far":
                          torch.tensor([1e-4 * (1.0 / 1e-4) ** ((i % 3) / 6) for i in range(7)], dtype=torch.float64)})
    check(all(lrs == [lr, lr] for (_, lrs), lr in zip(_seen, _expected)), "before_batch must set the lr of every "
          "parameter group (two groups here).")
    _same = all(torch.equal(v, _before[k]) for k, v in params_of(_m).items())
    check(_same, "the LR finder must restore the model's weights and buffers (BatchNorm's running statistics too) "
          "in after_fit.")
    _after = _opt.state_dict()
    check(_after["param_groups"] == _opt_before["param_groups"] and all(
        torch.equal(_after["state"][k]["momentum_buffer"].cpu(), _opt_before["state"][k]["momentum_buffer"].cpu())
        for k in _opt_before["state"]), "the LR finder must restore the optimizer's state (learning rates and "
        "momentum buffers) in after_fit.")
    # divergence: a loss above div x the smallest ends the search at once
    _finder = LRFinderCallback(1e-3, 1e3, 100, div=2.0)
    _losses = iter([1.0, 0.8, 1.5, 1.6, 1.7, 1.61, 5.0, 1.0, 1.0])

    class _FakeLoss(Callback):
        order = -1

        def before_batch(self, learn):
            pass

    _calls = {"n": 0}

    def _loss_fn(p, y):
        _calls["n"] += 1
        return F.cross_entropy(p, y) * 0 + next(_losses)
    _m = to_device(toy_model("linear"))
    _RefLearner(_m, toy_loader(40, 4), toy_loader(8, 4), _loss_fn, torch.optim.SGD(_m.parameters(), lr=0.1),
                cbs=[_finder]).fit(1)
    check_equal([round(v, 4) for v in _finder.losses], [1.0, 0.8, 1.5, 1.6, 1.7],
                "the losses recorded by LRFinderCallback(div=2.0) with batch losses 1.0, 0.8, 1.5, 1.6, 1.7, ...: it "
                "stops once a loss exceeds 2 x the smallest (0.8); 1.6 = 2 x 0.8 does not exceed it",
                mistakes={"the finder stopped at a loss equal to div x the smallest; it stops only when the loss "
                          "exceeds it (>)": [1.0, 0.8, 1.5, 1.6]})
    # the defaults (start_lr=1e-6, end_lr=10, num_iter=100, div=4), a training batch cancelled before its loss,
    # and the lr recorded is the one set in before_batch (another callback changes the lr after the step)
    _losses = iter([1.0, 2.0, 3.0, 4.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])

    class _LrAfter(Callback):
        order = -1

        def after_batch(self, learn):
            for _g in learn.opt.param_groups:
                _g["lr"] = 123.0
    _finder = student_call("LRFinderCallback()", LRFinderCallback)
    _m = to_device(toy_model("linear"))
    _RefLearner(_m, toy_loader(40, 4), toy_loader(8, 4), lambda p, y: F.cross_entropy(p, y) * 0 + next(_losses),
                torch.optim.SGD(_m.parameters(), lr=0.1), cbs=[_finder, _CancelAt({1}), _LrAfter()]).fit(1)
    check_equal([round(v, 4) for v in _finder.losses], [1.0, 2.0, 3.0, 4.5],
                "the losses recorded by LRFinderCallback() (div=4 by default) with batch losses 1.0, 2.0, 3.0, 4.5, "
                "1.0, ... and the 2nd training batch cancelled before its loss")
    check_close(torch.tensor(_finder.lrs, dtype=torch.float64),
                torch.tensor([1e-6 * (10.0 / 1e-6) ** (i / 99) for i in range(4)], dtype=torch.float64),
                "LRFinderCallback().lrs (defaults start_lr=1e-6, end_lr=10, num_iter=100; i counts the recorded "
                "losses, so a cancelled batch does not advance it; each lr is the one set in before_batch)",
                rtol=1e-6, atol=0)
    # a training batch cancelled after the finder's before_batch (loss_fn raises): i is still len(self.losses)
    _losses = iter([1.0, 2.0, 3.0, 4.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    _calls = {"n": 0}

    def _loss_fn(p, y):
        _calls["n"] += 1
        if _calls["n"] == 2:
            raise CancelBatchException()
        return F.cross_entropy(p, y) * 0 + next(_losses)
    _finder = LRFinderCallback()
    _m = to_device(toy_model("linear"))
    student_call("fit(1) with LRFinderCallback() and a loss_fn that raises CancelBatchException at the 2nd training "
                 "batch", _RefLearner(_m, toy_loader(40, 4), toy_loader(8, 4), _loss_fn,
                                      torch.optim.SGD(_m.parameters(), lr=0.1), cbs=[_finder]).fit, 1)
    check_close(torch.tensor(_finder.lrs, dtype=torch.float64),
                torch.tensor([1e-6 * (10.0 / 1e-6) ** (i / 99) for i in range(4)], dtype=torch.float64),
                "LRFinderCallback().lrs when loss_fn raises CancelBatchException at the 2nd training batch (after the "
                "finder's before_batch): i is the number of losses recorded, which that batch does not advance",
                rtol=1e-6, atol=0,
                mistakes={"i counts the training batches the finder's before_batch saw; it is len(self.losses), so a "
                          "batch cancelled before its loss (even after before_batch) does not advance it":
                          torch.tensor([1e-6 * (10.0 / 1e-6) ** (i / 99) for i in (0, 2, 3, 4)], dtype=torch.float64)})
    # a fit that ends before num_iter losses (the last epoch ends it): after_fit still restores both states
    _m = to_device(toy_model("linear", seed=70))
    _opt = torch.optim.SGD(_m.parameters(), lr=0.1, momentum=0.9)
    _opt.zero_grad(); F.cross_entropy(_m(to_device(torch.randn(5, 4))), to_device(torch.tensor([0, 1, 2, 0, 1]))).backward()
    _opt.step(); _opt.zero_grad()
    _before, _opt_before = params_of(_m), copy.deepcopy(_opt.state_dict())
    _finder = LRFinderCallback(1e-3, 1.0, num_iter=50)
    _l = _RefLearner(_m, toy_loader(12, 4, seed=71), toy_loader(8, 4), F.cross_entropy, _opt, cbs=[_finder])
    student_call("fit(1) with LRFinderCallback(1e-3, 1.0, num_iter=50) and 3 training batches (the fit ends before 50 "
                 "losses)", _l.fit, 1)
    _after = _opt.state_dict()
    check(all(torch.equal(v, _before[k]) for k, v in params_of(_m).items()) and
          _after["param_groups"] == _opt_before["param_groups"] and all(
              torch.equal(_after["state"][k]["momentum_buffer"].cpu(), _opt_before["state"][k]["momentum_buffer"].cpu())
              for k in _opt_before["state"]),
          "after fit(1) with LRFinderCallback(num_iter=50) and only 3 training batches, the weights, learning rates and "
          "momentum buffers must be those from before the fit (after_fit restores them whatever ended the fit).",
          hint="the states were restored only when the finder raised CancelFitException; after_fit restores them "
               "whatever ended the fit")
    # the same finder in a second fit: lrs and losses accumulate (i goes on from len(self.losses))
    _first = list(_finder.losses)
    student_call("a second fit(1) with the same LRFinderCallback", _l.fit, 1)
    check_equal(len(_finder.losses), 6, "len(LRFinderCallback.losses) after two fit(1) of 3 training batches each "
                "(each fit appends; only construction empties the lists)",
                mistakes={"the lists were emptied when the second fit began: only construction empties them": 3})
    check_equal(len(_finder.lrs), 6, "len(LRFinderCallback.lrs) after those two fits")
    check_close(torch.tensor(_finder.lrs[3:], dtype=torch.float64),
                torch.tensor([1e-3 * (1.0 / 1e-3) ** (i / 49) for i in range(3, 6)], dtype=torch.float64),
                "LRFinderCallback.lrs of the second fit (i = len(self.losses) goes on: 3, 4, 5)", rtol=1e-6, atol=0)
with clauses.clause("OneCycleCallback: torch's OneCycleLR over n_epochs x len(train_loader) steps, stepped after each "
                    "training batch only", points=1):
    _m = to_device(toy_model("linear", seed=67))
    _cb = student_call("OneCycleCallback(max_lr=0.4, pct_start=0.25)", OneCycleCallback, 0.4, pct_start=0.25)
    _seen = []

    class _Lr(Callback):
        order = 5

        def before_batch(self, learn):
            _seen.append((learn.training, learn.opt.param_groups[0]["lr"], learn.opt.param_groups[0]["momentum"]))

    _opt = torch.optim.SGD(_m.parameters(), lr=0.1, momentum=0.9)
    _l = _RefLearner(_m, toy_loader(10, 4), toy_loader(8, 4), F.cross_entropy, _opt, cbs=[_cb, _Lr()])
    _l.fit(3)
    _ro = torch.optim.SGD(toy_model("linear").parameters(), lr=0.1, momentum=0.9)
    _rs = torch.optim.lr_scheduler.OneCycleLR(_ro, max_lr=0.4, total_steps=9, pct_start=0.25)
    _expected = []
    for _e in range(3):
        for _b in range(3):
            _expected.append((True, _ro.param_groups[0]["lr"], _ro.param_groups[0]["momentum"]))
            _ro.step(); _rs.step()
        _expected += [(False, _ro.param_groups[0]["lr"], _ro.param_groups[0]["momentum"])] * 2
    check_equal(len(_seen), len(_expected), "number of batches seen")
    for _i, (_g, _e) in enumerate(zip(_seen, _expected)):
        check_close(_g[1], _e[1], f"the lr before batch {_i} of fit(3) ({'training' if _e[0] else 'validation'}) with "
                    f"OneCycleCallback(0.4, pct_start=0.25), 3 training batches per epoch", rtol=1e-6, atol=1e-12)
        check_close(_g[2], _e[2], f"the momentum before batch {_i} (OneCycleLR cycles it)", rtol=1e-6, atol=1e-12)
    _cb = student_call("OneCycleCallback(max_lr=0.4)", OneCycleCallback, 0.4)
    _seen.clear()
    _m = to_device(toy_model("linear", seed=67))
    _RefLearner(_m, toy_loader(10, 4), toy_loader(8, 4), F.cross_entropy, torch.optim.SGD(_m.parameters(), lr=0.1,
                momentum=0.9), cbs=[_cb, _Lr(), _CancelAt({1})]).fit(2, valid=False)
    _ro = torch.optim.SGD(toy_model("linear").parameters(), lr=0.1, momentum=0.9)
    _rs = torch.optim.lr_scheduler.OneCycleLR(_ro, max_lr=0.4, total_steps=6, pct_start=0.3)
    _ref_lrs = []
    for _k in range(6):
        _ref_lrs.append(_ro.param_groups[0]["lr"])
        _ro.step(); _rs.step()
    check_equal(len(_seen), 4, "training batches not cancelled in fit(2) (3 per epoch, the 2nd cancelled)")
    for _k, _g in zip((0, 2, 3, 5), _seen):
        check_close(_g[1], _ref_lrs[_k], f"the lr before training batch {_k % 3} of epoch {_k // 3} of fit(2) with "
                    f"OneCycleCallback(0.4) (pct_start=0.3 by default; the 2nd batch of each epoch cancelled in "
                    f"before_batch, which still steps the scheduler)", rtol=1e-6, atol=1e-12)
with clauses.clause("ActivationStatsCallback: mean and unbiased std per module per training batch, nothing in "
                    "validation, hooks removed after fit (also after a cancelled fit)", points=1):
    _m = to_device(nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3)))
    _cb = student_call("ActivationStatsCallback([model[0], model[2]])", ActivationStatsCallback, [_m[0], _m[2]])
    check_equal(_cb.means, [[], []], "ActivationStatsCallback(...).means at construction")
    check(not _m[0]._forward_hooks and not _m[2]._forward_hooks, "ActivationStatsCallback(modules) registered forward "
          "hooks at construction: the hooks exist only from before_fit to after_fit.",
          hint="register the hooks in before_fit, not in __init__ (a hook registered at construction and removed in "
               "after_fit is gone in the next fit)")
    _stats, _biased = {0: [], 2: []}, {0: [], 2: []}

    class _Out(Callback):
        order = 50

        def before_fit(self, learn):
            self.hs = [_m[k].register_forward_hook(lambda mod, i, o, k=k: (_stats[k].append(
                (learn.training, o.detach().mean().item(), o.detach().std().item())), _biased[k].append(
                (learn.training, o.detach().std(unbiased=False).item())), None)[-1]) for k in (0, 2)]

        def after_fit(self, learn):
            for h in self.hs:
                h.remove()

    _l = _learner(_m, [_cb, _Out()])
    _l.fit(2)
    for _j, _k in enumerate((0, 2)):
        _train = [s for s in _stats[_k] if s[0]]
        for _name, _vals in (("means", _cb.means[_j]), ("stds", _cb.stds[_j])):
            check(all(type(_v) is float for _v in _vals), f"ActivationStatsCallback.{_name}[{_j}] must hold Python "
                  f"floats (.item()), got {sorted({type(_v).__name__ for _v in _vals})}.")
        check_close(torch.tensor(_cb.means[_j], dtype=torch.float64), torch.tensor([s[1] for s in _train], dtype=torch.float64),
                    f"ActivationStatsCallback.means[{_j}] after fit(2) (3 training batches per epoch, validation not "
                    f"recorded)", atol=1e-6)
        check_close(torch.tensor(_cb.stds[_j], dtype=torch.float64), torch.tensor([s[2] for s in _train], dtype=torch.float64),
                    f"ActivationStatsCallback.stds[{_j}] (unbiased std)", atol=1e-6,
                    mistakes={"the std is biased (unbiased=False); use torch's default":
                              torch.tensor([s[1] for s in _biased[_k] if s[0]], dtype=torch.float64)})
    check(not _m[0]._forward_hooks and not _m[2]._forward_hooks, "ActivationStatsCallback must remove its hooks in after_fit.")
    # the same callback in a second fit: hooks registered again, the lists grow
    _n = [len(v) for v in _cb.means]
    student_call("a second fit(1) with the same ActivationStatsCallback", _learner(_m, [_cb]).fit, 1)
    check_equal([len(v) for v in _cb.means], [k + 3 for k in _n], "len of each ActivationStatsCallback.means list after "
                "a second fit(1) of 3 training batches with the same callback (each fit appends)",
                mistakes={"the second fit recorded nothing: register the hooks in every before_fit": _n})
    check(not _m[0]._forward_hooks and not _m[2]._forward_hooks, "ActivationStatsCallback must remove its hooks in "
          "after_fit (after a second fit too).")
    _cb2 = ActivationStatsCallback([_m[0]])
    _RefLearner(_m, toy_loader(8, 4), toy_loader(4, 4), F.cross_entropy, torch.optim.SGD(_m.parameters(), lr=0.1),
                cbs=[_cb2, _CancelAt(set())]).fit(2, cbs=[type("_Stop", (Callback,), {"after_batch": lambda self, learn: (_ for _ in ()).throw(CancelFitException())})()])
    check_equal(len(_cb2.means[0]), 1, "values recorded by ActivationStatsCallback when fit is cancelled after the first batch")
    check(not _m[0]._forward_hooks, "ActivationStatsCallback must remove its hooks in after_fit, also when fit was cancelled.")
clauses.verdict()
### END HIDDEN TESTS
