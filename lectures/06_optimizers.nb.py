# %% [markdown]
# # Lecture 6 — Optimizers and learning-rate schedules
#
# A loss gives every weight a gradient; an **optimizer** turns gradients into a change of the weights,
# and a **scheduler** changes the optimizer's learning rate as training goes on. This lecture asks what
# `torch.optim` really does, step by step:
#
# 1. what `step()` and `zero_grad()` do, `set_to_none`, and gradients that pile up when `zero_grad` is forgotten;
# 2. SGD, momentum, Nesterov, Adam, AdamW and RMSprop as update rules, and as paths on a 2-D loss surface;
# 3. L2 penalty vs decoupled weight decay, and why they differ for Adam (numbers);
# 4. parameter groups; the optimizer's `state_dict` and resuming a run exactly;
# 5. every scheduler plotted over a run: `StepLR`, `MultiStepLR`, `ExponentialLR`, `CosineAnnealingLR`,
#    `OneCycleLR`, linear warm-up then cosine, and `ReduceLROnPlateau` driven by a validation metric;
# 6. per-batch vs per-epoch stepping, and the call order (with the warning torch gives);
# 7. an LR range test: its plot, and how to read it.
#
# Everything runs on the CPU in a few seconds, seeded. Assignment 6 asks you to write SGD, AdamW, the
# schedules, `ReduceLROnPlateau` and the LR range test yourself, and match `torch.optim` step for step.

# %%
import copy
import math
import warnings

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim import lr_scheduler

from courselib.data import load_digits_split
from courselib.plots import show
from courselib.seed import seed_everything

seed_everything(0)
torch.set_num_threads(1)  # the models here are tiny: extra threads cost more than they save
digits = load_digits_split()
x_train, y_train = digits.x_train.flatten(1), digits.y_train   # 8x8 images as 64 features
x_valid, y_valid = digits.x_valid.flatten(1), digits.y_valid
print(x_train.shape, x_valid.shape)

# %% [markdown]
# ## 1. `step()` and `zero_grad()`
#
# What does `optimizer.step()` change? Only the parameters it was given, in place, from their `.grad`.
# For plain SGD the rule is `p ← p − lr · p.grad`, and we can check it by hand:

# %%
w = nn.Parameter(torch.tensor([1.0, -2.0]))
opt = torch.optim.SGD([w], lr=0.1)
loss = (w ** 2).sum()          # gradient 2w = [2, -4]
loss.backward()
expected = w.detach() - 0.1 * w.grad
opt.step()
print("grad:", w.grad, " after step:", w.data, " by hand:", expected)

# %% [markdown]
# `backward()` **adds** into `.grad`; it never overwrites it. Forget `zero_grad()` and the next step
# uses the sum of every gradient so far:

# %%
w = nn.Parameter(torch.tensor([1.0]))
for i in range(3):
    (3 * w).sum().backward()   # the gradient of 3w is 3, every time
    print(f"after backward {i + 1}: w.grad = {w.grad.item()}")

# %% [markdown]
# That is a bug in a training loop, and a feature for **gradient accumulation** (several small batches
# summed before one step). `zero_grad()` clears it; since PyTorch 2.0 its default `set_to_none=True`
# sets `.grad` to `None` instead of filling zeros (no memset, and the next `backward()` just assigns):

# %%
opt = torch.optim.SGD([w], lr=0.1)
opt.zero_grad(set_to_none=False)
print("set_to_none=False ->", w.grad)
opt.zero_grad()
print("set_to_none=True (default) ->", w.grad)

# %% [markdown]
# A `None` gradient matters to the optimizer: **a parameter whose `.grad` is `None` is skipped**, while a
# zero gradient still moves it when there is momentum or weight decay:

# %%
for grad in (None, torch.zeros(1)):
    p = nn.Parameter(torch.tensor([1.0]))
    opt = torch.optim.SGD([p], lr=0.1, weight_decay=0.5)
    p.grad = grad
    opt.step()
    print(f"grad {grad}: p = {p.item():.3f}")

# %% [markdown]
# ## 2. Update rules, and their paths on a loss surface
#
# Each optimizer is a rule that maps the gradient `g` (and the state it keeps) to a step. PyTorch's
# documentation pages list them as pseudo-code (for example
# [`torch.optim.SGD`](https://pytorch.org/docs/stable/generated/torch.optim.SGD.html)):
#
# | optimizer | state per parameter | step |
# |---|---|---|
# | SGD | — | `p -= lr · g` |
# | momentum | `b = μ b + (1 − τ) g` (first `b = g`) | `p -= lr · b` |
# | Nesterov | same `b` | `p -= lr · (g + μ b)` |
# | RMSprop | `v = α v + (1 − α) g²` | `p -= lr · g / (√v + ε)` |
# | Adam | `m = β₁ m + (1 − β₁) g`, `v = β₂ v + (1 − β₂) g²`, step `t` | `p -= lr · m̂ / (√v̂ + ε)`, `m̂ = m/(1 − β₁ᵗ)`, `v̂ = v/(1 − β₂ᵗ)` |
# | AdamW | as Adam | first `p -= lr · λ · p`, then as Adam |
#
# The symbols are the constructor's arguments: `μ = momentum`, `τ = dampening`, `α = alpha`,
# `(β₁, β₂) = betas`, `ε = eps`, `λ = weight_decay`. In SGD, RMSprop and Adam, `weight_decay=λ` first
# replaces `g` by `g + λ p` (an L2 penalty's gradient, section 3); only AdamW decays `p` itself. The
# code is in `torch/optim/sgd.py` (`_single_tensor_sgd`), `rmsprop.py` and `adam.py` (`_single_tensor_adam`).
#
# What the state looks like after one step:

# %%
for make in (lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: torch.optim.RMSprop(ps, lr=0.01),
             lambda ps: torch.optim.Adam(ps, lr=0.01)):
    p = nn.Parameter(torch.tensor([1.0, 2.0]))
    opt = make([p])
    p.grad = torch.tensor([0.5, -1.0])
    opt.step()
    print(type(opt).__name__, {k: (v.tolist() if v.dim() else v.item()) for k, v in opt.state[p].items()})

# %% [markdown]
# A loss surface where the rules differ: a long, narrow valley `f(x, y) = 0.05 x² + 2 y²` (curvature 40
# times larger across the valley than along it), with the minimum at the origin.

# %%
def valley(xy):
    return 0.05 * xy[0] ** 2 + 2.0 * xy[1] ** 2


def trajectory(make_optimizer, steps=60, start=(-9.0, 1.5)):
    xy = nn.Parameter(torch.tensor(start))
    opt = make_optimizer([xy])
    path = [xy.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        valley(xy).backward()
        opt.step()
        path.append(xy.detach().clone())
    return torch.stack(path)


optimizers = {
    "SGD lr=0.4": lambda ps: torch.optim.SGD(ps, lr=0.4),
    "momentum 0.9, lr=0.05": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9),
    "Nesterov 0.9, lr=0.05": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    "RMSprop lr=0.3": lambda ps: torch.optim.RMSprop(ps, lr=0.3),
    "Adam lr=0.8": lambda ps: torch.optim.Adam(ps, lr=0.8),
    "AdamW lr=0.8, wd=0.1": lambda ps: torch.optim.AdamW(ps, lr=0.8, weight_decay=0.1),
}
paths = {name: trajectory(make) for name, make in optimizers.items()}
for name, path in paths.items():
    print(f"{name:24s} loss after 60 steps: {valley(path[-1]).item():.2e}   end {[round(v, 3) for v in path[-1].tolist()]}")

# %%
gx, gy = torch.meshgrid(torch.linspace(-10, 3, 200), torch.linspace(-2.5, 2.5, 200), indexing="xy")
fig, axes = plt.subplots(2, 3, figsize=(13, 6), sharex=True, sharey=True)
for ax, (name, path) in zip(axes.flat, paths.items()):
    ax.contour(gx, gy, valley(torch.stack([gx, gy])), levels=[0.1, 0.5, 1, 2, 4, 6, 9], colors="0.7")
    ax.plot(path[:, 0], path[:, 1], ".-", ms=3)
    ax.plot(0, 0, "k*")
    ax.set_title(name)
show(fig)

# %% [markdown]
# What to notice: plain SGD must keep its learning rate below `2 / 4 = 0.5` (the steep direction's
# curvature is 4), so it crawls along the flat direction and is still far from the minimum after 60
# steps; momentum builds speed along the valley and overshoots it (its end point is past the minimum,
# at x > 0); Nesterov, which adds `μ b` to the gradient once more, ends closer; RMSprop divides each
# coordinate by its own gradient scale, so both directions move at the same pace and it lands on the
# minimum; Adam does the same with momentum, and with a fixed lr of 0.8 it is still circling the minimum
# at the end. AdamW's lower loss here is a coincidence of this surface: its decay pulls towards 0, where
# this minimum happens to be. The ranking holds for this surface and these learning rates only.
#
# ## 3. L2 penalty vs decoupled weight decay
#
# With plain SGD, adding `λ/2 · ‖p‖²` to the loss (gradient `+ λ p`) and shrinking `p ← p − lr λ p`
# are the same update. With Adam they are not: the L2 gradient goes through `m / √v`, so a parameter
# with **large** gradients (large `v`) is barely decayed, and one with tiny gradients is decayed hard.
# AdamW (Loshchilov & Hutter) decouples it: `p ← p (1 − lr λ)` for every parameter alike. Two weights of
# value 1, one with large gradients, one with small ones, 100 steps:

# %%
def decay_run(make):
    p = nn.Parameter(torch.ones(2))
    opt = make([p])
    g = torch.Generator().manual_seed(0)
    for _ in range(100):
        noise = torch.randn(2, generator=g)
        p.grad = noise * torch.tensor([10.0, 0.01])   # zero-mean gradients of very different scales
        opt.step()
    return p.detach()


for name, make in {"Adam, no decay": lambda ps: torch.optim.Adam(ps, lr=0.01),
                   "Adam, weight_decay=0.1 (L2)": lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=0.1),
                   "AdamW, weight_decay=0.1": lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1)}.items():
    print(f"{name:30s} p = {[round(v, 4) for v in decay_run(make).tolist()]}")

# %% [markdown]
# Read it against the first line: L2 inside Adam leaves the weight with large gradients where it
# was, while the one with small gradients is pulled towards 0 (its L2 gradient dominates `v`); AdamW
# shrinks both by about the same factor, `(1 − 0.01 · 0.1)¹⁰⁰ ≈ 0.905`, on top of what Adam does anyway
# (1.0544 / 1.1587 ≈ 0.91 and 0.8073 / 0.8992 ≈ 0.90).
#
# In torch 2.x the two are one code path: `_single_tensor_adam` in `torch/optim/adam.py` branches on
# `decoupled_weight_decay` (`param.mul_(1 - lr * weight_decay)` or `grad + weight_decay * param`), and
# `AdamW` (`torch/optim/adamw.py`) is `Adam` with that flag set:

# %%
adamw = decay_run(lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1))
adam_decoupled = decay_run(lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True))
print("Adam(decoupled_weight_decay=True) == AdamW:", torch.equal(adam_decoupled, adamw))

# %% [markdown]
# ## 4. Parameter groups, and the optimizer's `state_dict`
#
# One optimizer can hold several **parameter groups**, each with its own settings (a smaller learning
# rate for a pretrained backbone, no weight decay for biases); keys a group does not set come from the
# defaults given to the constructor:

# %%
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
decay = [p for n, p in model.named_parameters() if n.endswith("weight")]
no_decay = [p for n, p in model.named_parameters() if n.endswith("bias")]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}], lr=3e-3)
for i, group in enumerate(opt.param_groups):
    print(i, len(group["params"]), "tensors", {k: group[k] for k in ("lr", "weight_decay", "betas")})

# %% [markdown]
# `state_dict()` holds two things: `state` (per parameter, indexed by its position across the groups)
# and `param_groups` (the settings, with parameter indices instead of tensors):

# %%
def train_steps(model, opt, steps, start=0):
    for k in range(start, start + steps):
        idx = torch.arange(k * 32, (k + 1) * 32) % len(x_train)
        opt.zero_grad()
        F.cross_entropy(model(x_train[idx]), y_train[idx]).backward()
        opt.step()


train_steps(model, opt, 5)
sd = opt.state_dict()
print("state keys:", list(sd["state"]), " state of parameter 0:", {k: tuple(v.shape) for k, v in sd["state"][0].items()})
print("param_groups[1]:", {k: v for k, v in sd["param_groups"][1].items() if k in ("params", "lr", "weight_decay")})

# %% [markdown]
# Resuming needs both the model's and the optimizer's state: a fresh Adam restarts its moments and its
# step count (bias correction starts over), so the run goes elsewhere. Ten steps, saved after five:

# %%
def fresh():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    return m, torch.optim.Adam(m.parameters(), lr=3e-3)


straight, straight_opt = fresh()
train_steps(straight, straight_opt, 10)
first, first_opt = fresh()
train_steps(first, first_opt, 5)
checkpoint = {"model": copy.deepcopy(first.state_dict()), "optimizer": copy.deepcopy(first_opt.state_dict())}
for with_optimizer in (True, False):
    resumed, resumed_opt = fresh()
    resumed.load_state_dict(checkpoint["model"])
    if with_optimizer:
        resumed_opt.load_state_dict(checkpoint["optimizer"])
    train_steps(resumed, resumed_opt, 5, start=5)
    gap = max((a - b).abs().max().item() for a, b in zip(resumed.parameters(), straight.parameters()))
    print(f"optimizer state restored: {with_optimizer!s:5}  largest difference from the straight run: {gap:.2e}")

# %% [markdown]
# ## 5. Learning-rate schedules
#
# A scheduler wraps an optimizer and rewrites `group["lr"]` each time its `step()` is called;
# `get_last_lr()` reads what it set. Every schedule over 100 steps, from `lr = 0.1`:

# %%
def lr_curve(make_scheduler, steps=100, lr=0.1):
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=lr, momentum=0.9)
    scheduler = make_scheduler(opt)
    lrs = []
    for _ in range(steps):
        lrs.append(scheduler.get_last_lr()[0])
        opt.step()
        scheduler.step()
    return lrs


def warmup_cosine(opt, warmup=10, total=100):
    return lr_scheduler.SequentialLR(opt, [lr_scheduler.LinearLR(opt, start_factor=0.01, total_iters=warmup),
                                           lr_scheduler.CosineAnnealingLR(opt, T_max=total - warmup)],
                                     milestones=[warmup])


schedules = {
    "StepLR(step_size=30, gamma=0.1)": lambda o: lr_scheduler.StepLR(o, step_size=30, gamma=0.1),
    "MultiStepLR([50, 80], gamma=0.1)": lambda o: lr_scheduler.MultiStepLR(o, milestones=[50, 80], gamma=0.1),
    "ExponentialLR(gamma=0.96)": lambda o: lr_scheduler.ExponentialLR(o, gamma=0.96),
    "CosineAnnealingLR(T_max=100)": lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=100),
    "OneCycleLR(max_lr=0.1, total_steps=100)": lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=100),
    "LinearLR warm-up (10) then cosine": warmup_cosine,
}
curves = {name: lr_curve(make) for name, make in schedules.items()}
fig, axes = plt.subplots(2, 3, figsize=(13, 6), sharex=True)
for ax, (name, lrs) in zip(axes.flat, curves.items()):
    ax.plot(lrs)
    ax.set(title=name, xlabel="scheduler steps", ylabel="lr")
show(fig)
for name, lrs in curves.items():
    print(f"{name:42s} lr at 0, 10, 50, 99: {[f'{lrs[t]:.2e}' for t in (0, 10, 50, 99)]}")

# %% [markdown]
# Note `OneCycleLR`: it starts at `max_lr / div_factor` (0.004), rises to `max_lr` over the first 30 %
# (`pct_start`), then anneals to `max_lr / div_factor / final_div_factor` (4e-7). It also cycles the
# momentum the other way, from `max_momentum=0.95` down to `base_momentum=0.85` while the lr rises, and
# back (it needs an optimizer with a `momentum` or `betas` setting; the SGD's own 0.9 is overwritten):

# %%
opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
scheduler = lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=100)
momenta = []
for _ in range(100):
    momenta.append(opt.param_groups[0]["momentum"])
    opt.step()
    scheduler.step()
print("OneCycleLR momentum at steps 0, 29, 99:", [round(momenta[t], 3) for t in (0, 29, 99)])

# %% [markdown]
# The warm-up keeps the first steps small while Adam's moments or BatchNorm statistics are still noisy.
#
# ### `ReduceLROnPlateau`: driven by a validation metric
#
# This one does not follow a clock: `scheduler.step(metric)`, once per epoch **after validation**,
# counts the epochs without improvement and multiplies the lr by `factor` after more than `patience`
# of them. What counts as an improvement is set by `mode` (`"min"` for a loss, `"max"` for an accuracy)
# and `threshold`: in `"rel"` mode a new loss must be below `best · (1 − threshold)`, in `"abs"` mode
# below `best − threshold` (for `"max"`, above `best · (1 + threshold)` or `best + threshold`). With
# `best = 0.8` and `threshold = 0.01`, which new values count as an improvement?

# %%
def improves(best, new, **kwargs):
    scheduler = lr_scheduler.ReduceLROnPlateau(torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1), **kwargs)
    scheduler.step(best)
    scheduler.step(new)
    return scheduler.num_bad_epochs == 0     # 0 bad epochs after `new`: it was an improvement


for mode, new_values in (("min", [0.795, 0.791, 0.789]), ("max", [0.805, 0.809, 0.811])):
    for threshold_mode in ("rel", "abs"):
        verdicts = {v: improves(0.8, v, mode=mode, threshold=0.01, threshold_mode=threshold_mode) for v in new_values}
        print(f"mode={mode!r}, threshold_mode={threshold_mode!r}: {verdicts}")

# %% [markdown]
# The bars are 0.792 (`rel`) and 0.79 (`abs`) for `"min"`, 0.808 and 0.81 for `"max"`; the comparison
# is in `ReduceLROnPlateau._is_better` (`torch/optim/lr_scheduler.py`). After a reduction, the next
# `cooldown` epochs are not counted as bad, and `min_lr` is a floor under the lr. On a scripted metric,
# with `cooldown=2` and then, in the last two columns, `cooldown=0` and `cooldown=0, min_lr=0.02`:

# %%
def plateau_trace(metrics, **kwargs):
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    rows = []
    for m in metrics:
        scheduler.step(m)
        rows.append((m, scheduler.best, scheduler.num_bad_epochs, scheduler.cooldown_counter, scheduler.get_last_lr()[0]))
    return rows


metrics = [1.0, 0.8, 0.7999, 0.81, 0.80, 0.80, 0.79, 0.79, 0.79, 0.6]
settings = dict(mode="min", factor=0.5, patience=1, threshold=1e-3)
trace = plateau_trace(metrics, cooldown=2, **settings)
lr_no_cooldown = [row[4] for row in plateau_trace(metrics, cooldown=0, **settings)]
lr_floor = [row[4] for row in plateau_trace(metrics, cooldown=0, min_lr=0.02, **settings)]
print(settings)
print("epoch  metric   best    bad  cooldown  lr (cooldown=2) | lr (cooldown=0)  lr (cooldown=0, min_lr=0.02)")
for epoch, (row, lr0, lr_min) in enumerate(zip(trace, lr_no_cooldown, lr_floor)):
    print(f"{epoch:5d}  {row[0]:.4f}  {row[1]:.4f}  {row[2]:3d}  {row[3]:8d}  {row[4]:.4f}          | {lr0:.4f}           {lr_min:.4f}")

# %% [markdown]
# Epoch 2's 0.7999 is lower than 0.8 but not by 0.1 %, so it is a bad epoch; after the second bad
# epoch (epoch 3, more than `patience=1`) the lr halves and the counter resets. The cooldown counter
# then covers epochs 4 and 5, whose 0.80s are not counted; without cooldown they are two more bad
# epochs and the lr halves again at epoch 5. The tie at 0.79 (epochs 7 and 8) is never an improvement,
# so every run cuts at epoch 8, where `min_lr` stops the last one at 0.02 instead of 0.0125.
# Now on a real run: a small classifier on digits, validated every epoch:

# %%
seed_everything(0)
model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
scheduler = lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.3, patience=2, threshold=1e-2, cooldown=1)
history = []
g = torch.Generator().manual_seed(0)
for epoch in range(30):
    model.train()
    for idx in torch.randperm(len(x_train), generator=g).split(64):
        opt.zero_grad()
        F.cross_entropy(model(x_train[idx]), y_train[idx]).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        val_loss = F.cross_entropy(model(x_valid), y_valid).item()
    scheduler.step(val_loss)                      # after validation, with the metric
    history.append((val_loss, scheduler.get_last_lr()[0]))
fig, ax = plt.subplots(figsize=(7, 3))
ax.plot([h[0] for h in history], label="validation loss")
ax2 = ax.twinx()
ax2.step(range(30), [h[1] for h in history], color="C1", where="post", label="lr")
ax.set(xlabel="epoch", ylabel="validation loss")
ax2.set(ylabel="lr", yscale="log")
fig.legend(loc="upper center")
show(fig)
print("lr changed after epochs:", [e for e in range(1, 30) if history[e][1] != history[e - 1][1]],
      " final lr:", f"{history[-1][1]:.3g}", " final validation loss:", f"{history[-1][0]:.3f}")

# %% [markdown]
# The lr of 0.5 is too large: the validation loss climbs again after epoch 3, and the first cut comes
# after epoch 6. Once the loss has flattened, the lr is cut every 4 epochs (17, 21, 25, 29): one epoch of
# cooldown, then `patience + 1 = 3` bad epochs.
#
# ## 6. Per-batch or per-epoch, and the call order
#
# A scheduler counts its own `step()` calls, nothing else: `StepLR(step_size=30)` means 30 calls. Call it
# once per epoch and `T_max`, `step_size`, `milestones` are epochs; call it once per batch (what
# `OneCycleLR` and warm-up schedules expect, `total_steps = epochs × batches per epoch`) and they are
# batches. A cosine set up in epochs but stepped per batch is a common bug: `CosineAnnealingLR` is
# periodic, so after `T_max` calls it climbs back up. Five epochs of 20 batches, lr read at every batch:

# %%
def cosine_lrs(T_max, step_every_batch, epochs=5, batches=20):
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = lr_scheduler.CosineAnnealingLR(opt, T_max=T_max)
    lrs = []
    for epoch in range(epochs):
        for batch in range(batches):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            if step_every_batch:
                scheduler.step()
        if not step_every_batch:
            scheduler.step()
    return lrs


runs = {"per epoch, T_max=5 (epochs)": cosine_lrs(5, False),
        "per batch, T_max=100 (epochs x batches)": cosine_lrs(100, True),
        "per batch, T_max=5 (bug: epochs)": cosine_lrs(5, True)}
fig, ax = plt.subplots(figsize=(7, 3))
for name, lrs in runs.items():
    ax.plot(lrs, label=name)
ax.set(xlabel="batch", ylabel="lr")
ax.legend(fontsize=8)
show(fig)
for name, lrs in runs.items():
    print(f"{name:40s} lr at batch 0, 5, 10, 40, 99: {[f'{lrs[t]:.4f}' for t in (0, 5, 10, 40, 99)]}")

# %% [markdown]
# Per epoch gives a staircase, per batch with `T_max` in batches a smooth curve; the buggy one reaches 0
# at batch 5 and is back at 0.1 at batch 10: ten full cycles in one run.
#
# The order within an iteration is fixed: `optimizer.step()` first, then `scheduler.step()`.
# The other way round, the first learning rate of the schedule is never used, and torch says so (the
# check is in `LRScheduler.step`, `torch/optim/lr_scheduler.py`):

# %%
opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
scheduler = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    scheduler.step()     # wrong: before any optimizer.step()
    opt.step()
for w in caught:
    print(f"{w.category.__name__}: {w.message}")
print("lr used by the first optimizer.step():", opt.param_groups[0]["lr"], "(the schedule's first value, 0.1, was skipped)")

# %% [markdown]
# ## 7. An LR range test (the "LR finder")
#
# Which learning rate to start from? Leslie Smith's range test trains for a few dozen batches while the
# lr grows exponentially from tiny to huge, records a smoothed loss, and stops when the loss explodes.
# Then it puts the model and optimizer back as they were (here with deep copies of their state dicts;
# loading the optimizer's also drops the momentum buffers the test built up).

# %%
def lr_range_test(model, opt, start_lr=1e-5, end_lr=100.0, num_steps=80, beta=0.9, diverge=4.0):
    model_state, opt_state = copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict())
    g = torch.Generator().manual_seed(1)
    lrs, losses, avg = [], [], 0.0
    for i in range(num_steps):
        lr = start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))
        for group in opt.param_groups:
            group["lr"] = lr
        idx = torch.randint(0, len(x_train), (64,), generator=g)
        opt.zero_grad()
        loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
        loss.backward()
        opt.step()
        avg = beta * avg + (1 - beta) * loss.item()
        lrs.append(lr)
        losses.append(avg / (1 - beta ** (i + 1)))       # bias-corrected, like Adam's moments
        if losses[-1] > diverge * min(losses) or not math.isfinite(loss.item()):
            break
    model.load_state_dict(model_state)
    opt.load_state_dict(opt_state)
    return lrs, losses


seed_everything(0)
model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
before = copy.deepcopy(model.state_dict())
lrs, losses = lr_range_test(model, opt)
steepest = min(range(1, len(losses)), key=lambda k: losses[k] - losses[k - 1])
lowest = min(range(len(losses)), key=losses.__getitem__)
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(lrs, losses)
ax.axvline(lrs[steepest], color="C2", ls="--", label=f"steepest descent {lrs[steepest]:.2g}")
ax.axvline(lrs[lowest], color="C3", ls=":", label=f"minimum {lrs[lowest]:.2g}")
ax.set(xscale="log", xlabel="learning rate", ylabel="smoothed loss")
ax.legend()
show(fig)
print(f"{len(lrs)} steps, stopped at lr {lrs[-1]:.2g}; steepest descent at {lrs[steepest]:.2g}, minimum at {lrs[lowest]:.2g}")
print("model restored:", all(torch.equal(v, before[k]) for k, v in model.state_dict().items()),
      " optimizer lr restored:", opt.param_groups[0]["lr"], " momentum buffers left:", len(opt.state))

# %% [markdown]
# How to read it: on the left the lr is too small to move the loss; then the loss falls, fastest around
# the steepest descent; then it flattens, bottoms out and explodes. Pick a learning rate where the
# loss is still falling clearly — at the steepest descent, or about ten times below the minimum — not
# at the minimum itself, where the lr is already close to diverging. It is a quick, noisy estimate for
# the model's **starting** weights; with `OneCycleLR`, the value near the minimum divided by a few is a
# common `max_lr`.
#
# ## Summary
#
# - `backward()` adds into `.grad`; `zero_grad()` (default `set_to_none=True`) clears it; a `None`
#   gradient means "skip this parameter".
# - Optimizers differ by their state: momentum buffers, Adam's two moments and step count; the
#   optimizer's `state_dict()` carries that state and must be saved to resume exactly.
# - With Adam, an L2 penalty is scaled by the adaptive denominator; AdamW's decoupled decay is not.
# - Schedulers count their own `step()` calls; call them after `optimizer.step()`, once per batch or
#   per epoch as the schedule was designed; `ReduceLROnPlateau.step(metric)` after validation.
# - The LR range test picks a starting lr in a few dozen steps, and must leave no trace on the model.
