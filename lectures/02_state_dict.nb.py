# %% [markdown]
# # Lecture 2 — Parameters, buffers and `state_dict`
#
# A model is more than its code: it is a set of tensors that training changes. This lecture asks
# where those tensors live, which of them an optimizer sees, which of them a checkpoint stores, and
# how to move them between models safely:
#
# 1. `nn.Parameter`, a tensor that a module registers;
# 2. `parameters()`, `named_parameters()` and `state_dict()` — and the buffers only the last one holds;
# 3. freezing, what `requires_grad=False` does **not** do, and when an optimizer moves a frozen parameter;
# 4. `load_state_dict`: `strict`, missing and unexpected keys, `module.` prefixes, shape mismatches,
#    partial loading;
# 5. checkpoints that resume training to the same numbers (optimizer, scheduler, RNG states),
#    `weights_only=True` and `add_safe_globals`, `map_location`, `assign=True`, tied weights;
# 6. weight initialisation: Kaiming or Xavier, and why.
#
# Everything runs on the CPU in well under a minute, and every number is seeded. Assignment 2 asks
# you to turn each of these into a reusable, tested function.

# %%
import copy
import random
import tempfile
from collections import OrderedDict
from pathlib import Path

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

from courselib.data import load_digits_split
from courselib.seed import seed_everything

generator = seed_everything(0)  # seeds Python, NumPy and torch

# %% [markdown]
# ## 1. A `Parameter` is a tensor that a module registers
#
# What is an `nn.Parameter`? A subclass of `torch.Tensor` whose `requires_grad` is on by default.

# %%
p = nn.Parameter(torch.randn(2, 3))
print(isinstance(p, torch.Tensor), type(p).__name__, p.requires_grad, p.is_leaf)
print("grad before backward:", p.grad)

# %% [markdown]
# It behaves like any tensor in computations; `backward()` fills its `.grad`.

# %%
loss = (p * 2).sum()
loss.backward()
print(p.grad)

# %% [markdown]
# `.data` is the same storage without autograd: a change made through it is invisible to the
# gradient tape. To change weights by hand, prefer `torch.no_grad()` with an in-place operation.

# %%
with torch.no_grad():
    p.mul_(0)  # in place and gradient-free, yet autograd sees it (next cell)
print("p.data requires grad:", p.data.requires_grad, "| same storage as p:", p.data.data_ptr() == p.data_ptr())
print("p after the update:", p.detach().sum().item(), "| still a leaf that requires grad:", p.is_leaf and p.requires_grad)

# %% [markdown]
# What does "invisible" cost? Autograd saves the tensors that `backward()` will need, and every
# tensor carries a version counter that an in-place change increments; `backward()` refuses to use
# a saved tensor whose version has changed. An in-place change under `no_grad()` counts; a change
# through `.data` does not:

# %%
def change_then_backward(through_data):
    w = nn.Parameter(torch.tensor([1.0, 2.0, 3.0]))
    loss = (w * w).sum()  # backward needs w as it is now: d loss / dw = 2w = [2, 4, 6]
    if through_data:
        w.data.mul_(10)
    else:
        with torch.no_grad():
            w.mul_(10)
    try:
        loss.backward()
        return f"version counter {w._version}, gradient {w.grad.tolist()}"
    except RuntimeError as error:
        return f"version counter {w._version}, RuntimeError: {str(error)[:62]} ..."


print("change through .data:  ", change_then_backward(through_data=True))
print("change under no_grad():", change_then_backward(through_data=False))

# %% [markdown]
# Through `.data` the gradient is computed with the changed values, `[20, 40, 60]` instead of
# `[2, 4, 6]`, without a word; under `no_grad()` the same change is caught.

# %% [markdown]
# Why the subclass? Because `nn.Module.__setattr__` registers a value as a parameter only if it is a
# `Parameter`. A plain tensor attribute is invisible to `parameters()`, so no optimizer would train it.

# %%
class Scale(nn.Module):
    def __init__(self):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(3))  # registered
        self.offset = torch.zeros(3)  # a plain tensor: not registered


print([name for name, _ in Scale().named_parameters()])

# %% [markdown]
# ## 2. `parameters()`, `named_parameters()`, `state_dict()`
#
# Take a small CNN for the 8×8 digits, with a BatchNorm layer. What does each method return?

# %%
def small_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.2), nn.Linear(8 * 4 * 4, 10),
    )


model = small_cnn()
print("parameters():      ", len(list(model.parameters())), "tensors")
print("named_parameters():", [name for name, _ in model.named_parameters()])
print("state_dict():      ", list(model.state_dict()))

# %% [markdown]
# The `state_dict` holds three more entries than the parameters: BatchNorm's **buffers**.

# %%
params = {name for name, _ in model.named_parameters()}
print(sorted(set(model.state_dict()) - params))
print({name: tuple(b.shape) for name, b in model.named_buffers()})

# %% [markdown]
# Buffers are state that training changes without gradients: the running mean and variance that
# BatchNorm uses in eval mode, and a counter. The optimizer never sees them (`parameters()` skips
# them), but a checkpoint must store them.
#
# The values of a `state_dict` are detached tensors that **share storage** with the model: they are
# views, not copies. Keeping "the best weights so far" therefore needs a deep copy.

# %%
snapshot = model.state_dict()
best = copy.deepcopy(model.state_dict())
with torch.no_grad():
    model[0].bias.add_(1.0)  # training goes on and changes the weights in place
print("snapshot follows the model:", torch.equal(snapshot["0.bias"], model[0].bias))
print("deep copy kept the old values:", torch.equal(best["0.bias"], model[0].bias))
print("state_dict tensors require grad:", snapshot["0.bias"].requires_grad)

# %% [markdown]
# ## 3. Buffers: `register_buffer` and `persistent=False`
#
# When a module needs a tensor that is not trained — a normalisation constant, a mask, a cache — it
# registers it as a buffer. A persistent buffer goes into the `state_dict`; a non-persistent one does
# not (it is recomputed, or too big to save), yet both follow the module in `.to()`.

# %%
class Normalize(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean))  # saved with the model
        self.register_buffer("inv_std", 1 / torch.tensor(std), persistent=False)  # derived: not saved
        self.plain = torch.tensor(std)  # a plain attribute: neither saved nor moved

    def forward(self, x):
        return (x - self.mean) * self.inv_std


norm = Normalize(0.5, 0.25)
print("named_buffers:", [name for name, _ in norm.named_buffers()])
print("state_dict:   ", list(norm.state_dict()))
norm = norm.to(torch.float64)
print("dtypes after .to(float64):", norm.mean.dtype, norm.inv_std.dtype, norm.plain.dtype)

# %% [markdown]
# Both buffers were converted with the module; the plain attribute was left behind, which is the
# classic source of "expected all tensors to be on the same device" errors after `model.cuda()`.
#
# ## 4. BatchNorm's running statistics
#
# When do the buffers change? In training mode, every forward pass moves the running mean a step
# (`momentum=0.1`) towards the batch mean and increments `num_batches_tracked`; in eval mode nothing moves.

# %%
seed_everything(0)
bn = nn.BatchNorm1d(3)
x = torch.randn(64, 3) * 2 + 5  # features with mean about 5
bn.train()
bn(x)
print("after a train-mode pass:", bn.running_mean, bn.num_batches_tracked.item())
bn.eval()
bn(x)
print("after an eval-mode pass:", bn.running_mean, bn.num_batches_tracked.item())

# %% [markdown]
# ## 5. Freezing, and what `requires_grad=False` does not do
#
# Freezing a layer means: no gradient for its parameters, so the optimizer cannot change them.

# %%
seed_everything(0)
model = small_cnn()
for name, parameter in model.named_parameters():
    parameter.requires_grad_(name.startswith("6."))  # train only the last Linear (index 6)
trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
total = sum(p.numel() for p in model.parameters())
print(f"trainable {trainable} of {total} parameter values")

# %%
images = torch.rand(16, 1, 8, 8)
F.cross_entropy(model(images), torch.randint(0, 10, (16,))).backward()
print({name: p.grad is not None for name, p in model.named_parameters()})

# %% [markdown]
# Is the frozen part really fixed now? Not in training mode: BatchNorm's statistics are buffers, not
# parameters, and `requires_grad` does not govern them.

# %%
model.train()
before = model[1].running_mean.clone()
with torch.no_grad():
    model(torch.rand(16, 1, 8, 8) + 1.0)  # a batch from a brighter distribution
print("frozen BatchNorm statistics moved:", not torch.equal(before, model[1].running_mean))
print(model[1].running_mean)

# %% [markdown]
# A frozen feature extractor whose normalisation drifts towards the new data is no longer the model
# that was trained, and its running statistics are also saved in every checkpoint. The fix: put the
# frozen BatchNorm layers in eval mode — after each `model.train()`, which switches every sub-module
# back to training.

# %%
def set_frozen_batchnorm_eval(model):
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            if not any(p.requires_grad for p in module.parameters()):
                module.eval()


model.train()
set_frozen_batchnorm_eval(model)
before = model[1].running_mean.clone()
with torch.no_grad():
    model(torch.rand(16, 1, 8, 8) + 1.0)
print("statistics moved:", not torch.equal(before, model[1].running_mean),
      "| Dropout still training:", model[5].training)

# %% [markdown]
# A frozen parameter is still *in* `model.parameters()`. Does an optimizer that was given all of them
# move the frozen ones through weight decay or momentum? Not as long as their `.grad` is `None`:
# `SGD` and `AdamW` skip every parameter whose `grad` is `None` (`if p.grad is not None` in
# `_init_group` of `torch/optim/sgd.py` and of `torch/optim/adam.py`, which `AdamW` subclasses). It changes once a frozen parameter
# *has* a gradient tensor — for instance because it was trained before being frozen, and
# `zero_grad(set_to_none=False)` leaves a tensor of zeros instead of `None`:

# %%
x_demo, y_demo = torch.rand(16, 1, 8, 8), torch.randint(0, 10, (16,))


def frozen_conv_moves(optimizer_class, train_first, set_to_none, **options):
    seed_everything(0)
    net = small_cnn()
    optimizer = optimizer_class(net.parameters(), lr=0.1, weight_decay=0.1, **options)  # all parameters
    if train_first:  # one step with everything trainable: every parameter gets a .grad
        F.cross_entropy(net(x_demo), y_demo).backward()
        optimizer.step()
    for name, parameter in net.named_parameters():
        parameter.requires_grad_(name.startswith("6."))
    before = net[0].weight.detach().clone()
    for step in range(3):
        optimizer.zero_grad(set_to_none=set_to_none)
        F.cross_entropy(net(x_demo), y_demo).backward()
        optimizer.step()
    grad = net[0].weight.grad
    return not torch.equal(before, net[0].weight), "None" if grad is None else f"zeros {tuple(grad.shape)}"


for optimizer_class, options in ((torch.optim.SGD, dict(momentum=0.9)), (torch.optim.AdamW, {})):
    for train_first, set_to_none in ((False, True), (False, False), (True, True), (True, False)):
        moved, grad = frozen_conv_moves(optimizer_class, train_first, set_to_none, **options)
        print(f"{optimizer_class.__name__:5s} trained before freezing: {train_first!s:5s} "
              f"set_to_none={set_to_none!s:5s}  frozen conv moved: {moved!s:5s} (its grad: {grad})")

# %% [markdown]
# Frozen from the start, the convolution never gets a `grad` and never moves, whatever `zero_grad`
# does (it only zeroes gradients that exist). Trained first and then zeroed with
# `set_to_none=False`, it keeps a zero gradient, and the optimizer applies weight decay and its
# momentum (SGD) or its moment estimates (AdamW) to it: the "frozen" layer drifts. With
# `set_to_none=True` (the default) its gradient becomes `None` and it stays put.
#
# Passing only the trainable parameters (`[p for p in model.parameters() if p.requires_grad]`) rules
# the stale-gradient case out: an optimizer cannot touch a parameter it was never given.
#
# ## 6. `load_state_dict`: strict keys, prefixes, shapes
#
# `load_state_dict` copies values by **key**. What happens when the keys do not match? Here the same
# architecture is written as a class with named attributes instead of an `nn.Sequential`.

# %%
class NamedCNN(nn.Module):
    def __init__(self, n_classes=10):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.head = nn.Linear(8 * 4 * 4, n_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
        return self.head(x.flatten(1))


seed_everything(0)
source = small_cnn()
target = NamedCNN()
try:
    target.load_state_dict(source.state_dict())
except RuntimeError as error:
    print(error)

# %% [markdown]
# With `strict=True` (the default) every key must match: the error lists the model's keys that the
# checkpoint lacks (*missing*) and the checkpoint's keys that the model lacks (*unexpected*).
#
# Why 9 unexpected but only 8 missing? `bn.num_batches_tracked` is missing too, yet not reported.
# BatchNorm overrides `_load_from_state_dict` (`_NormBase` in `torch/nn/modules/batchnorm.py`): when
# the checkpoint's metadata for the layer's prefix has no `version` (or one below 2, from before the
# counter existed), it inserts the model's own `num_batches_tracked` into the dict being loaded. The
# metadata travels in `state_dict._metadata`, keyed by module prefix; here it is stored under `"1"`,
# and the target looks under `"bn"`:

# %%
print("metadata keys in the checkpoint:", list(source.state_dict()._metadata))
print("version found for prefix 'bn':", source.state_dict()._metadata.get("bn"))

# %% [markdown]
# With a matching prefix the counter is reported like any other key:

# %%
checkpoint = NamedCNN().state_dict()
del checkpoint["bn.num_batches_tracked"]
print(NamedCNN().load_state_dict(checkpoint, strict=False))
# `strict=False` does not fix anything: it returns the same two lists and loads nothing for them.

# %%
result = target.load_state_dict(source.state_dict(), strict=False)
print("missing:   ", result.missing_keys[:3], "...")
print("unexpected:", result.unexpected_keys[:3], "...")
print("weights loaded:", torch.equal(target.conv.weight, source[0].weight))

# %% [markdown]
# `strict=False` is for *deliberate* gaps (a new head, an extra layer). Used to silence a mismatch, it
# gives a model that runs and is still randomly initialised. Always read the returned lists.
#
# The commonest mismatch is a prefix. `nn.DataParallel` and `DistributedDataParallel` wrap the model
# in an attribute called `module`, so every key starts with `module.` (and `torch.compile` adds
# `_orig_mod.`).

# %%
wrapped = nn.DataParallel(small_cnn())  # works without a GPU: it only wraps
wrapped_keys = list(wrapped.state_dict())
print(wrapped_keys[:3])

# %% [markdown]
# The fix renames the keys: strip the **leading** prefix only. PyTorch ships a helper for it, which
# edits the dict in place.

# %%
from torch.nn.modules.utils import consume_prefix_in_state_dict_if_present

state = wrapped.state_dict()
consume_prefix_in_state_dict_if_present(state, "module.")
print(list(state)[:3])
print(small_cnn().load_state_dict(state))

# %% [markdown]
# Why "leading only"? Because `module` is also an ordinary attribute name: `key.replace("module.", "")`
# would also rewrite a key like `encoder.module.weight`, and `key.lstrip("module.")` strips
# *characters*, not a prefix.

# %%
key = "module.model.encoder.module.weight"
print("replace:     ", key.replace("module.", ""))
print("lstrip:      ", key.lstrip("module."))
print("removeprefix:", key.removeprefix("module."))

# %% [markdown]
# Now a shape mismatch: a digits model (10 classes) reused for a 3-class task. Even `strict=False`
# refuses to copy a tensor into a parameter of another shape.

# %%
seed_everything(0)
pretrained = NamedCNN(n_classes=10)
with torch.no_grad():  # "pretraining": train-mode passes move BatchNorm's running statistics
    for _ in range(5):
        pretrained(torch.rand(32, 1, 8, 8) * 2)
new_task = NamedCNN(n_classes=3)
try:
    new_task.load_state_dict(pretrained.state_dict(), strict=False)
except RuntimeError as error:
    print(error)

# %% [markdown]
# Partial loading keeps exactly the entries whose name **and** shape match, loads them, and reports
# the rest — which here is the new head, as intended. Beware: the call that raised has already
# copied every entry that fitted (the error is raised after the whole walk), so a model whose load
# failed is half-loaded. And the BatchNorm statistics were "pretrained" above, so the comparison
# before loading shows that the check can fail:

# %%
print("the failed call above already copied the rest: conv equal:",
      torch.equal(new_task.conv.weight, pretrained.conv.weight))
new_task = NamedCNN(n_classes=3)  # so start again from a fresh model
own = new_task.state_dict()
matching = {k: v for k, v in pretrained.state_dict().items() if k in own and v.shape == own[k].shape}
skipped = sorted(set(own) - set(matching))
print("before loading, BatchNorm statistics equal:", torch.equal(new_task.bn.running_var, pretrained.bn.running_var),
      "| counter:", new_task.bn.num_batches_tracked.item())
print(new_task.load_state_dict(matching, strict=False))
print("skipped:", skipped)
print("conv loaded:", torch.equal(new_task.conv.weight, pretrained.conv.weight),
      "| BatchNorm statistics loaded:", torch.equal(new_task.bn.running_var, pretrained.bn.running_var),
      "| counter:", new_task.bn.num_batches_tracked.item())

# %% [markdown]
# ## 7. Checkpoints that resume to the same numbers
#
# What does a training run depend on, besides the weights? The optimizer's state (momentum buffers,
# Adam's moments), the epoch counter, and every random number generator that shuffles, drops out or
# augments. A checkpoint that stores them all lets training resume as if it had never stopped.
#
# The run: an MLP with dropout on the digits, SGD with momentum, and a small random brightness
# augmentation drawn from Python's `random` module.

# %%
digits = load_digits_split()
x_train, y_train = digits.x_train.flatten(1), digits.y_train


def make_model():
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Dropout(0.3), nn.Linear(64, 10))


def make_optimizer(model):
    return torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)


def train_one_epoch(model, optimizer, batch_size=64):
    model.train()
    order = torch.randperm(len(x_train))  # shuffling: torch's RNG
    total = 0.0
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        xb = x_train[batch] * random.uniform(0.9, 1.1)  # augmentation: Python's RNG
        loss = F.cross_entropy(model(xb), y_train[batch])  # dropout: torch's RNG
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(batch)
    return total / len(order)

# %% [markdown]
# First, four epochs without interruption.

# %%
seed_everything(0)
model = make_model()
optimizer = make_optimizer(model)
uninterrupted = [round(train_one_epoch(model, optimizer), 6) for epoch in range(4)]
final_uninterrupted = copy.deepcopy(model.state_dict())
print(uninterrupted)

# %% [markdown]
# A checkpoint is a dict of plain values and tensors: state_dicts, an int, RNG states. Saving the
# state_dict, not the model object, keeps the file independent of your code and loadable with
# `weights_only=True`.

# %%
def save_checkpoint(path, model, optimizer, epoch):
    torch.save({
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": epoch,
        "rng": {"torch": torch.get_rng_state(), "python": random.getstate(),
                "cuda": torch.cuda.get_rng_state_all()},
    }, path)


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    torch.set_rng_state(checkpoint["rng"]["torch"])
    random.setstate(checkpoint["rng"]["python"])
    if checkpoint["rng"]["cuda"]:
        torch.cuda.set_rng_state_all(checkpoint["rng"]["cuda"])
    return checkpoint["epoch"]

# %% [markdown]
# Now the same run, stopped after two epochs; a "new process" (fresh model, fresh optimizer, other
# seeds) loads the checkpoint and trains the remaining two.

# %%
folder = tempfile.TemporaryDirectory()  # checkpoints never go into the repository
path = Path(folder.name) / "checkpoint.pt"

seed_everything(0)
model = make_model()
optimizer = make_optimizer(model)
losses = [round(train_one_epoch(model, optimizer), 6) for epoch in range(2)]
save_checkpoint(path, model, optimizer, epoch=2)

seed_everything(123)  # the restarted process starts from other random states
model = make_model()
optimizer = make_optimizer(model)
start = load_checkpoint(path, model, optimizer)
losses += [round(train_one_epoch(model, optimizer), 6) for epoch in range(start, 4)]
print(losses)
print("same losses:", losses == uninterrupted)
print("same final weights:", all(torch.equal(a, b) for a, b in
                                 zip(final_uninterrupted.values(), model.state_dict().values())))

# %% [markdown]
# Bit for bit. What if the checkpoint had kept only the weights? The resumed run restarts momentum
# from zero and draws other dropout masks and shuffles: it trains, but it is another run.

# %%
seed_everything(123)
model = make_model()
optimizer = make_optimizer(model)
model.load_state_dict(torch.load(path, weights_only=True)["model"])  # weights only
weights_only_run = losses[:2] + [round(train_one_epoch(model, optimizer), 6) for epoch in range(2)]
print(weights_only_run)
print("same losses:", weights_only_run == uninterrupted)

# %% [markdown]
# ### A learning-rate scheduler has state too
#
# A scheduler counts the epochs it has seen (`last_epoch`); the learning rate it sets depends on that
# count. The optimizer's `state_dict` stores the *current* learning rate, but not the count, so a
# resumed run without the scheduler's state restarts the schedule. A `StepLR` that divides the rate
# by 10 every 3 epochs, stopped after epoch 2:

# %%
def make_scheduled():
    optimizer = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    return optimizer, torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.1)


def run_epochs(optimizer, scheduler, epochs):
    lrs = []
    for epoch in epochs:
        lrs.append(round(optimizer.param_groups[0]["lr"], 6))
        optimizer.step()  # (the epoch's training)
        scheduler.step()
    return lrs


optimizer, scheduler = make_scheduled()
print("uninterrupted:          ", run_epochs(optimizer, scheduler, range(6)))

optimizer, scheduler = make_scheduled()
first_half = run_epochs(optimizer, scheduler, range(2))
saved = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}
print("scheduler state:", {k: saved["scheduler"][k] for k in ("last_epoch", "base_lrs", "step_size", "gamma")})
for with_scheduler in (False, True):
    optimizer, scheduler = make_scheduled()
    optimizer.load_state_dict(saved["optimizer"])
    if with_scheduler:
        scheduler.load_state_dict(saved["scheduler"])
    print(f"resumed, scheduler state {'loaded' if with_scheduler else 'lost  '}:",
          first_half + run_epochs(optimizer, scheduler, range(2, 6)))

# %% [markdown]
# Without its state the scheduler decays at epoch 5 instead of 3. A checkpoint therefore also stores
# `scheduler.state_dict()` (and, with mixed precision, the `torch.amp.GradScaler`'s).
#
# ### On a GPU
#
# Bit-for-bit resumption on a GPU also needs the CUDA generators (stored above) and deterministic
# kernels: `torch.use_deterministic_algorithms(True)` makes PyTorch choose deterministic
# implementations and raise an error for an operation that has none (`seed_everything` here calls it
# with `warn_only=True`, which warns instead). Many training scripts also set the environment
# variable `CUBLAS_WORKSPACE_CONFIG=:4096:8` (or `:16:8`): older PyTorch versions raised an error
# for every cuBLAS matrix product in deterministic mode unless it was set before the first CUDA
# operation, because cuBLAS results are reproducible only when each stream has a workspace of its
# own (NVIDIA's cuBLAS documentation, "Results reproducibility"). PyTorch now allocates a cuBLAS
# workspace per handle and stream itself, and dropped that check (pull request pytorch/pytorch#161749): this course's PyTorch no longer requires the variable, which now
# only sets the workspace size (`torch.backends.cuda.cublas_workspace_size` overrides it). Code that
# must reproduce on older versions still sets it, in the shell or in `os.environ` before any CUDA work:

# %%
import os

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # read when cuBLAS is first used
print(os.environ["CUBLAS_WORKSPACE_CONFIG"], "| deterministic mode:", torch.are_deterministic_algorithms_enabled(),
      "| warn only:", torch.is_deterministic_algorithms_warn_only_enabled())

# %% [markdown]
#
# ### `weights_only=True`: loading is running code
#
# `torch.load` unpickles, and unpickling can call any function named in the file. With
# `weights_only=True` (the default since PyTorch 2.6) it accepts only tensors and plain containers.
# A checkpoint that pickled the model *object* is refused:

# %%
object_path = Path(folder.name) / "whole_model.pt"
torch.save({"model": make_model()}, object_path)  # the object, not its state_dict
try:
    torch.load(object_path, weights_only=True)
except Exception as error:
    print(type(error).__name__ + ":", str(error).splitlines()[0][:60], "...")
    print([line.strip() for line in str(error).splitlines() if "Unsupported global" in line][0][:90])

# %% [markdown]
# Never answer with `weights_only=False` for a file you did not make yourself: save state_dicts, and
# everything loads safely.
#
# What if a checkpoint holds a small object of your own, such as a configuration? The error message
# names the way out: allow that one class, and nothing else, with `torch.serialization.add_safe_globals`
# (for the whole process) or the `torch.serialization.safe_globals` context manager (for one load):

# %%
from dataclasses import dataclass


@dataclass
class TrainConfig:
    lr: float
    hidden: int


config_path = Path(folder.name) / "with_config.pt"
torch.save({"model": make_model().state_dict(), "config": TrainConfig(lr=0.05, hidden=64)}, config_path)
try:
    torch.load(config_path, weights_only=True)
except Exception as error:
    print(type(error).__name__ + ":", [line.strip() for line in str(error).splitlines()
                                       if "Unsupported global" in line][0][:75], "...")
with torch.serialization.safe_globals([TrainConfig]):
    print("inside safe_globals:", torch.load(config_path, weights_only=True)["config"])
torch.serialization.add_safe_globals([TrainConfig])
print("after add_safe_globals:", torch.load(config_path, weights_only=True)["config"])

# %% [markdown]
# Allowing a class means trusting every file that names it: allow plain data classes, never a class
# whose construction runs code you would not run.
#
# ### `map_location`: where loaded tensors go
#
# Every saved tensor remembers its device. A checkpoint written on a GPU machine holds CUDA tensors,
# and loading it on a CPU-only machine fails with *"Attempting to deserialize object on a CUDA device
# but torch.cuda.is_available() is False"* — unless `map_location` says where to put them. This cell
# saves from whatever device this machine has (the stored output was produced on a CPU-only machine,
# so it cannot show a CUDA checkpoint); the load below is the same code either way.

# %%
# NBVAL_IGNORE_OUTPUT
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
device_path = Path(folder.name) / "device_checkpoint.pt"
torch.save(make_model().to(device).state_dict(), device_path)
print("saved from:", device)

# %%
state = torch.load(device_path, map_location="cpu", weights_only=True)
print({tensor.device.type for tensor in state.values()})
state = torch.load(device_path, map_location=torch.device("cpu"), weights_only=True)  # same thing
cpu_model = make_model()
print(cpu_model.load_state_dict(state))

# %% [markdown]
# `map_location` also takes a dict such as `{"cuda:1": "cuda:0"}` to move a checkpoint from one GPU to
# another. And by default (`assign=False`) `load_state_dict` copies values *into* the model's existing
# tensors, so the model keeps its own device and dtype whatever the state_dict's. With `assign=True`
# it puts the state_dict's tensors into the model instead (wrapped as `Parameter`s), and the model
# takes *their* device and dtype. The usual use: a model built on the `meta` device (shapes only, no
# memory), then filled from a checkpoint. A float64 checkpoint shows the difference:

# %%
import warnings

state64 = {key: value.double() for key, value in make_model().state_dict().items()}
for assign in (False, True):
    target = make_model()
    target.load_state_dict(state64, assign=assign)
    print(f"assign={assign!s:5}: model dtype after loading a float64 state_dict: {target[0].weight.dtype}")

with torch.device("meta"):
    skeleton = make_model()  # no memory allocated
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    skeleton.load_state_dict(make_model().state_dict())  # assign=False: copying into meta does nothing
print("assign=False on meta:", skeleton[0].weight.device, "| warning:", str(caught[0].message)[:60], "...")
skeleton.load_state_dict(make_model().state_dict(), assign=True)
print("assign=True  on meta:", skeleton[0].weight.device, type(skeleton[0].weight).__name__)

# %% [markdown]
# ### Tied weights: one parameter, two keys
#
# When two layers share one `Parameter` (lecture 1), the `state_dict` has a key for each name. How do
# they survive saving and loading?

# %%
class TiedLM(nn.Module):
    def __init__(self, vocab=10, dim=4):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.head = nn.Linear(dim, vocab, bias=False)
        self.head.weight = self.embed.weight  # tied

    def forward(self, tokens):
        return self.head(self.embed(tokens))


tied = TiedLM()
tied_path = Path(folder.name) / "tied.pt"
torch.save(tied.state_dict(), tied_path)
loaded = torch.load(tied_path, weights_only=True)
print("keys:", list(loaded), "| one storage after loading:",
      loaded["embed.weight"].data_ptr() == loaded["head.weight"].data_ptr())
tokens = torch.tensor([1, 2, 2, 7])
after_adam = {}
for assign in (False, True):
    model = TiedLM()
    model.load_state_dict(loaded, assign=assign)
    print(f"assign={assign!s:5}: still tied: {model.head.weight is model.embed.weight!s:5}, "
          f"parameter tensors: {len(list(model.parameters()))}, "
          f"one storage: {model.head.weight.data_ptr() == model.embed.weight.data_ptr()}")
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    for step in range(3):
        optimizer.zero_grad()
        model(tokens).square().sum().backward()
        optimizer.step()
    after_adam[assign] = model.embed.weight.detach().clone()
print("3 Adam steps from the same values, same weights either way:", torch.equal(after_adam[False], after_adam[True]),
      "| Adam states after assign=True:", len(optimizer.state))
model.double()  # the assign=True model
print("after .double(), one storage:", model.head.weight.data_ptr() == model.embed.weight.data_ptr())

# %% [markdown]
# `torch.save` keeps the sharing (the storage is written once), and the default load copies both
# entries into the one shared tensor: the model stays tied. `assign=True` puts a separate
# `Parameter` under each name. Both still view the one storage that was loaded, but `parameters()`
# now yields two tensors, and the optimizer treats them as two: each gets its own state (here Adam's
# moments; momentum and weight decay likewise) and every step writes two updates into the same
# memory, so training no longer matches the tied model. The first conversion (`.double()`, `.to()`)
# gives each its own storage, and the tie is gone for good. Re-tie after an assign-load
# (`model.head.weight = model.embed.weight`).

# %%
folder.cleanup()

# %% [markdown]
# ## 8. Weight initialisation: Kaiming or Xavier, and why
#
# Why care about the initial weights? Because the scale of the activations is multiplied at every
# layer. Push a batch through 20 layers of `Linear(256, 256)` + ReLU and watch the standard deviation.

# %%
def activation_stds(init, depth=20, width=256):
    seed_everything(0)
    layers = [nn.Linear(width, width) for _ in range(depth)]
    for layer in layers:
        if init is not None:  # None: keep the layer exactly as PyTorch initialised it
            init(layer.weight)
            nn.init.zeros_(layer.bias)
    h = torch.randn(512, width)
    stds = []
    with torch.no_grad():
        for layer in layers:
            h = torch.relu(layer(h))
            stds.append(h.std().item())
    return stds


inits = {
    "PyTorch default (as constructed)": None,
    "Xavier (xavier_uniform_)": nn.init.xavier_uniform_,
    "Kaiming (kaiming_normal_, relu)": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
}
curves = {name: activation_stds(init) for name, init in inits.items()}
for name, stds in curves.items():
    print(f"{name:42s} layer 1: {stds[0]:.3f}   layer 20: {stds[-1]:.2e}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, stds in curves.items():
    ax.plot(range(1, 21), stds, marker="o", markersize=3, label=name)
ax.set(yscale="log", xlabel="layer", ylabel="std of the activations", title="20 × (Linear + ReLU)")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# PyTorch's default is the only curve with biases: `nn.Linear.reset_parameters`
# (`torch/nn/modules/linear.py`) draws the weight with `kaiming_uniform_(a=√5)`, which is uniform in
# $\pm 1/\sqrt{\text{fan\_in}}$ ($\text{Var}(w) = 1/(3\,\text{fan\_in})$), and the bias uniformly in the same
# range. Its curve stops falling at about 0.02 — is the signal kept? The std over all activations
# mixes two things: how the units differ from each other, and how one unit varies from one input to
# another. Only the second carries information about the input:

# %%
seed_everything(0)
layers = [nn.Linear(256, 256) for _ in range(20)]  # PyTorch's default initialisation
h = torch.randn(512, 256)
with torch.no_grad():
    for depth, layer in enumerate(layers, start=1):
        h = torch.relu(layer(h))
        if depth in (1, 5, 10, 20):
            print(f"layer {depth:2d}: std of all activations {h.std():.3f}, "
                  f"std across the 512 inputs (mean over units) {h.std(dim=0).mean():.1e}")

# %% [markdown]
# The plateau is the biases: the weights shrink the input-dependent part by a factor of about
# $\sqrt{6} \approx 2.4$ per layer, and by layer 20 the activations vary across inputs by less than $10^{-8}$: every input
# gives the same output. The network computes a constant.
#
# Kaiming keeps the scale of the order of the input's through all 20 layers (0.83 to 0.62: like any
# initialisation it holds on average over random weights, not exactly for one draw — lecture 1).
# The reason is one line of arithmetic. A layer's output variance is
# $\text{fan\_in} \cdot \text{Var}(w) \cdot E[x^2]$. Xavier (Glorot) picks $\text{Var}(w) = 2 / (\text{fan\_in} + \text{fan\_out})$,
# which keeps the variance when the activation is roughly linear around zero (tanh, sigmoid, no
# activation). ReLU zeroes half of its input, halving $E[x^2]$ at every layer; Kaiming (He) compensates
# with a gain of $\sqrt{2}$: $\text{Var}(w) = 2 / \text{fan\_in}$. After 20 layers, the factor $2^{-1/2}$ per layer
# that Xavier loses is $2^{-10} \approx 10^{-3}$. PyTorch's default, $\text{Var}(w) = 1/(3\,\text{fan\_in})$, loses a
# factor 3 in the layer and 2 in the ReLU: $\sqrt{6}$ in standard deviation per layer.
#
# `nn.init` knows the gains:

# %%
print({name: round(nn.init.calculate_gain(name), 4) for name in ["linear", "tanh", "relu", "leaky_relu"]})

# %% [markdown]
# The usual recipe: Kaiming for layers that feed a ReLU, Xavier for the others (an output layer feeds
# the loss, not a ReLU), biases at zero. `model.apply(fn)` would hand `fn` one sub-module at a
# time, but whether a `Linear` feeds a ReLU depends on the layer after it; so `init_mlp` walks the
# `nn.Sequential` in order and looks at each layer's successor.

# %%
def init_mlp(model):
    layers = list(model)
    for layer, after in zip(layers, layers[1:] + [None]):
        if isinstance(layer, nn.Linear):
            if isinstance(after, nn.ReLU):
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            else:
                nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return model


seed_everything(0)
mlp = init_mlp(nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10)))
print(f"hidden layer std {mlp[0].weight.std():.4f} (Kaiming target {(2 / 64) ** 0.5:.4f})")
print(f"output layer std {mlp[2].weight.std():.4f} (Xavier target  {(2 / 266) ** 0.5:.4f})")

# %% [markdown]
# With BatchNorm after every convolution (as in ResNets) the initial scale matters less, since
# BatchNorm rescales each layer's output; it still matters for the first steps and for networks
# without normalisation. torchvision's ResNet uses `kaiming_normal_(mode="fan_out")`, which keeps the
# *gradients'* variance in the backward pass instead of the activations' in the forward pass.
#
# ## Summary
#
# - A `Parameter` is a tensor that a module registers; `parameters()` yields them for the optimizer,
#   `named_parameters()` with their dotted names.
# - `state_dict()` holds parameters **and** persistent buffers (BatchNorm's running statistics), as
#   detached tensors that share storage with the model: deep-copy a snapshot you want to keep.
# - `requires_grad=False` stops gradients, not BatchNorm's statistics: frozen BatchNorm layers go to
#   `eval()`, again after every `model.train()`.
# - Optimizers skip parameters whose `grad` is `None`; a frozen parameter that keeps a zero gradient
#   (`zero_grad(set_to_none=False)`) still moves with weight decay and momentum. Give the optimizer
#   only the trainable parameters.
# - `load_state_dict` matches keys; `strict=False` tolerates missing and unexpected keys but never a
#   shape mismatch (and a failed load is half done). BatchNorm fills in a missing
#   `num_batches_tracked` when the checkpoint's metadata has no version for its prefix. Strip leading
#   prefixes only; load partially by filtering name *and* shape.
# - A resumable checkpoint holds the model, optimizer and scheduler state_dicts, the epoch, and the
#   RNG states; load it with `weights_only=True` (allow your own plain classes with
#   `torch.serialization.add_safe_globals`) and `map_location`. `assign=True` makes the model take the
#   checkpoint's tensors (device, dtype) and splits tied weights into two parameters: re-tie them.
# - Kaiming for ReLU layers, Xavier for the rest, zero biases. PyTorch's default `Linear` init makes a
#   deep ReLU stack compute a constant.
#
# ## Exercises
#
# 1. Replace SGD with AdamW in the checkpoint section. Which entries does `optimizer.state_dict()` hold now?
# 2. Remove the Python RNG state from the checkpoint. Which epoch's loss is the first to differ, and why?
# 3. Load the 10-class `NamedCNN` into a 3-class one with `conv` renamed `features`. Which keys does
#    partial loading report?
# 4. Repeat the 20-layer experiment with `tanh` instead of ReLU. Which initialisation keeps the scale now?
