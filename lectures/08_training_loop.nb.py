# %% [markdown]
# # Lecture 8 — The training and inference loop, and a Learner with callbacks
#
# Units 1–7 gave us modules, parameters, data loaders, losses, optimizers and metrics. This lecture
# puts them together into the loop that trains a real model on the course's digits, and asks, at each
# line, what goes wrong without it:
#
# 1. one step of the loop, line by line; then four classic bugs, each with its symptom;
# 2. validation under `no_grad` vs `inference_mode`; device placement;
# 3. gradient accumulation (equal to a large batch, partial last step included), mixed precision,
#    gradient clipping;
# 4. a full training run: a progress bar, curves, best and last checkpoints, an exact resume, early
#    stopping, reproducibility, and a submission CSV for the test split;
# 5. the same training through a `Learner` built from scratch with callbacks (metrics, LR finder,
#    one-cycle, activation statistics).
#
# Everything runs on the CPU in well under a minute, seeded; the same code runs on a GPU when there is one.

# %%
import copy
import csv
import tempfile
import time
import weakref
from pathlib import Path

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm

from courselib.plots import plot_activation_stats, show
from courselib.seed import seed_everything
from courselib.training import REFERENCE, digits_cnn, digits_train_valid_test

seed_everything(0)
torch.set_num_threads(1)  # a tiny model: extra threads cost more than they save on a shared machine
data = digits_train_valid_test()
print("train", tuple(data.x_train.shape), "valid", tuple(data.x_valid.shape), "test", tuple(data.x_test.shape))

# %% [markdown]
# The test split's labels are kept apart (a real competition would not give them): the model is chosen on
# the validation split only, and the test split gets a submission file at the end.

# %%
train_ds = TensorDataset(data.x_train, data.y_train)
valid_ds = TensorDataset(data.x_valid, data.y_valid)
train_dl = DataLoader(train_ds, batch_size=64, shuffle=True)
valid_dl = DataLoader(valid_ds, batch_size=64)           # 64, 64, 52: the last batch is short
model = digits_cnn()
print(model)
print(sum(p.numel() for p in model.parameters()), "parameters")

# %% [markdown]
# ## 1. One step, line by line
#
# Each line has a job: `train()` switches dropout on and makes BatchNorm use (and update) batch statistics;
# `zero_grad()` clears the gradients the last step left in `.grad` (backward *adds* to them); the forward pass
# and the loss build a graph; `backward()` fills `.grad`; `step()` changes the weights; a scheduler, if any,
# then moves the learning rate.

# %%
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
x, y = next(iter(train_dl))
model.train()
optimizer.zero_grad()
loss = F.cross_entropy(model(x), y)
loss.backward()
optimizer.step()
scheduler.step()
with torch.no_grad():
    print(f"loss before the step {loss.item():.4f}, after {F.cross_entropy(model(x), y).item():.4f}, "
          f"lr now {scheduler.get_last_lr()[0]}")

# %% [markdown]
# ### Bug 1: no `zero_grad`
# Backward **adds** into `.grad`. Without `zero_grad`, two backwards of the same batch give exactly twice the
# gradient (in eval mode, so that no dropout mask is drawn and both forwards are identical), and each step
# uses the sum of every gradient since the start.

# %%
model.eval()
w = model[-1].weight
optimizer.zero_grad()
F.cross_entropy(model(x), y).backward()
once = w.grad.norm().item()
F.cross_entropy(model(x), y).backward()       # no zero_grad in between
print(f"gradient norm after one backward {once:.4f}, after two {w.grad.norm().item():.4f}")
optimizer.zero_grad()

# %% [markdown]
# The symptom in training: one epoch of the same SGD from the same start, with and without `zero_grad`.
# Without it the summed gradients grow step after step, and the loss climbs instead of falling.

# %%
for zero in (True, False):
    seed_everything(0)
    m = digits_cnn()
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for xb, yb in DataLoader(train_ds, batch_size=64, shuffle=True):
        if zero:
            opt.zero_grad()
        loss = F.cross_entropy(m(xb), yb)
        loss.backward()
        opt.step()
        losses.append(round(loss.item(), 2))
    print(f"zero_grad {'yes' if zero else 'no '}: loss every 4th batch {losses[::4]}, last {losses[-1]}")

# %% [markdown]
# ### Bug 2: validating in training mode
# In training mode dropout zeroes each feature with probability 1/4 (and scales the rest by 4/3), and
# BatchNorm normalises with the batch's own statistics **and updates its running ones**: the "validation"
# loss changes from one call to the next, and merely validating changes the model.

# %%
def valid_loss(model):
    with torch.no_grad():
        return sum(F.cross_entropy(model(xb), yb, reduction="sum").item() for xb, yb in valid_dl) / len(valid_ds)


model.train()
bn_mean = model[1].running_mean.clone()
print("train mode:", [round(valid_loss(model), 4) for _ in range(3)],
      "| BatchNorm running mean changed:", not torch.equal(bn_mean, model[1].running_mean))
model.eval()
print("eval mode: ", [round(valid_loss(model), 4) for _ in range(3)])

# %% [markdown]
# ### Bug 3: summing loss tensors
# `total += loss` adds **tensors**: each sum is a new node of the graph, which keeps every batch's graph, and
# the activations saved for its backward, alive until `total` dies. A `saved_tensors_hooks` pack hook sees
# every tensor autograd saves; a weak reference to each tells how many bytes are still alive (each storage
# counted once, the parameters left out: they live on anyway). Here there is no backward, as in a validation
# loop that forgot `no_grad`: every activation stays. (In a training loop `backward()` frees each graph's saved
# activations, and what piles up is the chain of graph nodes: less memory, just as unbounded.)
# `total += loss.item()` keeps a number: only the current batch's graph is alive, the one `loss` still names.

# %%
def saved_bytes_alive(accumulate, batches=10):
    alive = []
    parameters = {p.untyped_storage().data_ptr() for p in model.parameters()}

    def pack(t):
        saved = t.detach()  # what the graph keeps: alive exactly as long as the graph is
        storage = t.untyped_storage()
        if storage.data_ptr() not in parameters:
            alive.append((weakref.ref(saved), storage.data_ptr(), storage.nbytes()))
        return saved
    total, grown = 0.0, []
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        for i, (xb, yb) in zip(range(batches), train_dl):
            loss = F.cross_entropy(model(xb), yb)
            total = accumulate(total, loss)
            storages = {ptr: n for ref, ptr, n in alive if ref() is not None}  # one entry per storage
            grown.append(sum(storages.values()) // 1024)
    return grown


print("KiB saved for backward still alive, after each batch")
print("total += loss        :", saved_bytes_alive(lambda t, l: t + l))
print("total += loss.item() :", saved_bytes_alive(lambda t, l: t + l.item()))

# %% [markdown]
# ### Bug 4: a mean of batch means
# With 180 validation samples in batches of 64, 64 and 52, averaging the three batch means gives the last
# 52 samples the weight of 64. Weight each batch by its size (or sum with `reduction="sum"`):

# %%
model.eval()
with torch.no_grad():
    means = [(F.cross_entropy(model(xb), yb).item(), len(yb)) for xb, yb in valid_dl]
    exact = F.cross_entropy(model(data.x_valid), data.y_valid).item()
print(f"mean of batch means {sum(m for m, _ in means) / len(means):.5f}, "
      f"per-sample mean {sum(m * n for m, n in means) / len(valid_ds):.5f}, whole set at once {exact:.5f}")

# %% [markdown]
# ## 2. `no_grad` vs `inference_mode`; devices
# Both switch off graph building. `inference_mode` also marks its outputs as inference tensors, skipping
# the version counters autograd needs; autograd can never save them for a backward later (the error says
# the way out: a `.clone()` made outside the mode, or `no_grad` instead), which is why it is only for code
# that will not backpropagate.

# %%
with torch.no_grad():
    a = model(x)
with torch.inference_mode():
    b = model(x)
print("requires_grad:", a.requires_grad, b.requires_grad, "| inference tensor:", a.is_inference(), b.is_inference())
try:
    F.linear(b, torch.ones(3, 10, requires_grad=True)).sum().backward()
except RuntimeError as error:
    print("RuntimeError:", str(error).split(". ")[0])

# %% [markdown]
# A model and its batches must be on the same device: move the model once, each batch as it arrives
# (`non_blocking=True` overlaps the copy with compute when the loader pins memory). Below, a model on the
# `meta` device (shapes, no data) stands in for a model on a GPU, so that a CPU-only machine shows the error
# too; on a GPU the message names `cuda:0` and `cpu`. The code after this runs unchanged on a GPU.

# %%
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
try:
    digits_cnn().to("meta")(x)  # the model on one device, the batch x on the CPU
except RuntimeError as error:
    print("RuntimeError:", error)


def to_device(batch, device):
    return tuple(t.to(device, non_blocking=True) for t in batch)

# %% [markdown]
# ## 3. Gradient accumulation, mixed precision, clipping
# A batch of 256 may not fit in memory; four micro-batches of 64 with one step can give the same update
# (up to float rounding), **if** each micro-batch's mean loss is scaled by its share of the samples
# (`n / N`, which is `1/4` for equal micro-batches). The last group of an epoch is often partial: here 1438 samples give 22 batches
# of 64 and one of 30, so the last group of 4 holds 3 batches (158 samples), and its scale is `n / 158`.

# %%
def accumulated_step(model, batches):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    optimizer.zero_grad()
    group = sum(len(yb) for _, yb in batches)
    for xb, yb in batches:
        (F.cross_entropy(model(xb), yb) * len(yb) / group).backward()
    optimizer.step()


def big_batch_step(model, batches):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    optimizer.zero_grad()
    F.cross_entropy(model(torch.cat([b[0] for b in batches])), torch.cat([b[1] for b in batches])).backward()
    optimizer.step()


plain = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))       # no BatchNorm: batch statistics would differ
batches = list(DataLoader(train_ds, batch_size=64))
for name, group in (("a full group of 4", batches[:4]), ("the partial last group (3 batches)", batches[20:])):
    m1, m2 = copy.deepcopy(plain), copy.deepcopy(plain)
    accumulated_step(m1, group)
    big_batch_step(m2, group)
    print(f"{name}: {sum(len(b[1]) for b in group)} samples, largest weight difference "
          f"{(m1[1].weight - m2[1].weight).abs().max().item():.1e}")

# %% [markdown]
# **Mixed precision.** Under `torch.autocast`, matrix products and convolutions run in a 16-bit type while
# reductions such as the loss stay in `float32`. On the CPU the type is `bfloat16` (float32's range, fewer
# digits: no scaling needed); on a GPU, `float16` has a small range, so a `GradScaler` multiplies the loss
# before backward and divides the gradients before the step, skipping steps whose gradients overflowed.

# %%
with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
    out = model(x)
    loss = F.cross_entropy(out, y)
print("under CPU autocast: logits", out.dtype, "| loss", loss.dtype)
if torch.cuda.is_available():  # float16 + GradScaler on a GPU (this cell prints the same on a CPU machine)
    gpu_model = copy.deepcopy(model).to(device)
    gpu_opt = torch.optim.SGD(gpu_model.parameters(), lr=0.01)
    scaler = torch.amp.GradScaler("cuda")
    xb, yb = to_device((x, y), device)
    with torch.autocast(device_type="cuda", dtype=torch.float16):
        gpu_loss = F.cross_entropy(gpu_model(xb), yb)
    scaler.scale(gpu_loss).backward()
    scaler.unscale_(gpu_opt)                     # real gradients, e.g. for clipping
    scaler.step(gpu_opt)
    scaler.update()

# %% [markdown]
# **Gradient clipping.** `clip_grad_norm_` rescales all gradients together so that their joint norm is at
# most `max_norm`, and returns the norm they had before: a bad batch cannot throw the weights far.

# %%
optimizer.zero_grad()
(F.cross_entropy(model(x), y) * 100).backward()
before = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
after = torch.cat([p.grad.flatten() for p in model.parameters()]).norm()
print(f"gradient norm before clipping {before:.2f}, after {after:.2f}")

# %% [markdown]
# ## 4. A full training run
# Two functions do the work: `train_epoch` (one pass, with a one-cycle schedule stepped per batch) and
# `evaluate` (eval mode, `inference_mode`, per-sample means, the mode given back). Checkpoints hold
# everything an exact resume needs: model, optimizer, scheduler, epoch, best value, the early-stopping count
# (epochs since the best) and the random state (the shuffling and the dropout draw from it; on a GPU the
# dropout draws from the CUDA generator, so its state is saved too).

# %%
def train_epoch(model, loader, optimizer, scheduler):
    model.train()
    total, count = 0.0, 0
    for xb, yb in loader:
        xb, yb = to_device((xb, yb), device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        scheduler.step()
        total, count = total + loss.item() * len(yb), count + len(yb)
    return total / count


def evaluate(model, loader):
    was_training = model.training
    model.eval()
    loss, correct = 0.0, 0
    with torch.inference_mode():
        for xb, yb in loader:
            xb, yb = to_device((xb, yb), device)
            out = model(xb)
            loss += F.cross_entropy(out, yb, reduction="sum").item()
            correct += (out.argmax(1) == yb).sum().item()
    model.train(was_training)
    return loss / len(loader.dataset), correct / len(loader.dataset)


def checkpoint(model, optimizer, scheduler, epoch, best, bad_epochs, history):
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "epoch": epoch, "best": best, "bad_epochs": bad_epochs, "history": list(history),
            "rng": torch.get_rng_state(), "cuda_rng": torch.cuda.get_rng_state_all()}  # [] without a GPU

# %%
def train(epochs, folder, patience=3, resume=False, stop_after=None, seed=0, progress=True):
    seed_everything(seed)
    model = digits_cnn().to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=REFERENCE["max_lr"], weight_decay=REFERENCE["weight_decay"])
    loader = DataLoader(train_ds, batch_size=REFERENCE["batch_size"], shuffle=True)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, REFERENCE["max_lr"], total_steps=epochs * len(loader))
    history, best, start, bad_epochs = [], 0.0, 0, 0
    if resume:
        state = torch.load(folder / "last.pt", weights_only=True)
        model.load_state_dict(state["model"]); optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"]); torch.cuda.set_rng_state_all(state["cuda_rng"])
        history, best, bad_epochs, start = state["history"], state["best"], state["bad_epochs"], state["epoch"]
    bar = tqdm(range(start, stop_after or epochs), desc="epochs", disable=not progress)
    for epoch in bar:
        train_loss = train_epoch(model, loader, optimizer, scheduler)
        val_loss, val_acc = evaluate(model, DataLoader(valid_ds, batch_size=64))
        history.append({"train_loss": train_loss, "valid_loss": val_loss, "valid_acc": val_acc})
        bar.set_postfix(train_loss=f"{train_loss:.3f}", valid_acc=f"{val_acc:.3f}")
        if val_acc > best:
            best, bad_epochs = val_acc, 0
        else:
            bad_epochs += 1
        state = checkpoint(model, optimizer, scheduler, epoch + 1, best, bad_epochs, history)
        if bad_epochs == 0:  # a new best
            torch.save(state, folder / "best.pt")
        torch.save(state, folder / "last.pt")
        if bad_epochs >= patience:
            break
    model.load_state_dict(torch.load(folder / "best.pt", weights_only=True)["model"])
    return model, history

# %% [markdown]
# The reference training: a one-cycle AdamW run of six epochs (about a second on one CPU core). Its stated
# target: a best validation accuracy of at least 0.97.

# %%
# NBVAL_IGNORE_OUTPUT
folder = Path(tempfile.mkdtemp())
started = time.perf_counter()
model, history = train(REFERENCE["epochs"], folder)
print(f"{time.perf_counter() - started:.1f} s")

# %%
for epoch, row in enumerate(history):
    print(epoch, {k: round(v, 4) for k, v in row.items()})
best_acc = max(row["valid_acc"] for row in history)
print(f"best validation accuracy {best_acc:.3f} (the stated target: at least 0.97)")

# %%
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3))
ax_loss.plot([r["train_loss"] for r in history], label="train")
ax_loss.plot([r["valid_loss"] for r in history], label="valid")
ax_loss.set(title="loss (per sample)", xlabel="epoch")
ax_loss.legend()
ax_acc.plot([r["valid_acc"] for r in history])
ax_acc.set(title="validation accuracy", xlabel="epoch")
show(fig)

# %% [markdown]
# **Best and last.** `best.pt` holds the epoch with the highest validation accuracy (the model we keep);
# `last.pt` the latest one (where to resume). **An exact resume**: stop after three epochs, start again from
# `last.pt`, and the run ends bit for bit where the uninterrupted one did — because the optimizer's
# momentum, the scheduler's position and the random state were saved too. (Bit for bit on the CPU; on a GPU
# some kernels are not deterministic unless `torch.use_deterministic_algorithms(True)`.)

# %%
split = Path(tempfile.mkdtemp())
train(REFERENCE["epochs"], split, stop_after=3, progress=False)
torch.manual_seed(1234)  # whatever happened in between
resumed, resumed_history = train(REFERENCE["epochs"], split, resume=True, progress=False)
uninterrupted = torch.load(folder / "last.pt", weights_only=True)["model"]
print("resumed run identical:", all(torch.equal(v, uninterrupted[k]) for k, v in
                                    torch.load(split / "last.pt", weights_only=True)["model"].items()),
      "| same history:", resumed_history == history)

# %% [markdown]
# **Early stopping** ends a run once the validation metric has not improved for `patience` epochs, and keeps
# the best checkpoint. **Reproducibility**: with the same seed the same curve comes back, exactly.
# Notice where the 30-epoch run stops: its one-cycle schedule is stretched over 30 epochs and peaks at 30 %
# of the steps (after 9 epochs), so the learning rate was still rising. A schedule whose length is fixed in
# advance and early stopping pull against each other; give `patience` room, or pair early stopping with a
# constant rate or `ReduceLROnPlateau`.

# %%
_, again = train(REFERENCE["epochs"], Path(tempfile.mkdtemp()), progress=False)
_, other_seed = train(REFERENCE["epochs"], Path(tempfile.mkdtemp()), seed=1, progress=False)
print("seed 0 twice, same curve:", again == history, "| seed 1, same curve:", other_seed == history)
_, short = train(30, Path(tempfile.mkdtemp()), patience=2, progress=False)
print(f"with patience 2, a 30-epoch budget stopped after {len(short)} epochs; "
      f"best accuracy {max(r['valid_acc'] for r in short):.3f}")

# %% [markdown]
# ## Inference and a submission file
# Predict in eval mode, in the dataset's order (never a shuffled loader), then write one row per test
# sample. Here we can score the submission, because we kept the test labels.

# %%
def predict(model, dataset):
    model.eval()
    with torch.inference_mode():
        return torch.cat([F.softmax(model(xb.to(device)), dim=1).cpu()
                          for xb, *_ in DataLoader(dataset, batch_size=128)])


probs = predict(model, TensorDataset(data.x_test))
submission = Path(tempfile.mkdtemp()) / "submission.csv"
with open(submission, "w", newline="") as f:
    writer = csv.writer(f, lineterminator="\n")
    writer.writerow(["id", "label"])
    writer.writerows([i, int(c)] for i, c in enumerate(probs.argmax(1)))
print(submission.read_text().splitlines()[:4])
print(f"test accuracy of the submission {(probs.argmax(1) == data.y_test).float().mean():.3f}")

# %% [markdown]
# ## 5. A `Learner` with callbacks
# The loop above mixes the essential (forward, loss, backward, step) with extras (metrics, schedules,
# progress, checkpoints). A `Learner` keeps the essential loop and calls **callbacks** at fixed events —
# `before_fit`, `before_epoch`, `before_batch`, `after_batch`, `after_epoch`, `after_fit` — in the order of
# each callback's `order`. A callback ends the whole fit by raising `CancelFitException`, which `fit` catches
# (`after_fit` still runs). Here is a small training-only version; assignment 8 asks for the full one: a
# validation phase, per-fit callbacks, and `CancelBatchException` / `CancelEpochException` too, which end a
# batch or an epoch the same way (caught at their level, `after_batch` / `after_epoch` still run).

# %%
class CancelFitException(Exception):
    pass


class Callback:
    order = 0


class Learner:
    def __init__(self, model, loader, loss_fn, opt, cbs=()):
        self.model, self.loader, self.loss_fn, self.opt, self.cbs = model, loader, loss_fn, opt, list(cbs)

    def event(self, name):
        for cb in sorted(self.cbs, key=lambda cb: cb.order):
            getattr(cb, name, lambda learn: None)(self)

    def fit(self, n_epochs):
        self.n_epochs = n_epochs
        try:
            self.event("before_fit")
            for self.epoch in range(n_epochs):
                self.model.train()
                self.event("before_epoch")
                for self.batch in self.loader:
                    self.event("before_batch")
                    self.preds = self.model(self.batch[0])
                    self.loss = self.loss_fn(self.preds, self.batch[1])
                    self.loss.backward()
                    self.opt.step()
                    self.opt.zero_grad()  # after the step, ready for the next batch (the fit starts with no .grad)
                    self.event("after_batch")
                self.event("after_epoch")
        except CancelFitException:
            pass
        self.event("after_fit")

# %% [markdown]
# Callbacks do the rest. A device callback moves model and batches; a one-cycle callback owns the schedule;
# a metrics callback weights each batch's loss by its size and validates after each epoch.

# %%
class DeviceCB(Callback):
    order = -10

    def before_fit(self, learn):
        learn.model.to(device)

    def before_batch(self, learn):
        learn.batch = to_device(learn.batch, device)


class OneCycleCB(Callback):
    def __init__(self, max_lr):
        self.max_lr = max_lr

    def before_fit(self, learn):
        self.sched = torch.optim.lr_scheduler.OneCycleLR(learn.opt, self.max_lr,
                                                         total_steps=learn.n_epochs * len(learn.loader))

    def after_batch(self, learn):
        self.sched.step()


class MetricsCB(Callback):
    def __init__(self, valid_dl):
        self.valid_dl, self.history = valid_dl, []

    def before_epoch(self, learn):
        self.total, self.count = 0.0, 0

    def after_batch(self, learn):
        self.total += learn.loss.item() * len(learn.batch[1])
        self.count += len(learn.batch[1])

    def after_epoch(self, learn):
        valid_loss, valid_acc = evaluate(learn.model, self.valid_dl)
        self.history.append({"train_loss": self.total / self.count, "valid_loss": valid_loss, "valid_acc": valid_acc})

# %%
seed_everything(0)
learn_model = digits_cnn()
metrics = MetricsCB(DataLoader(valid_ds, batch_size=64))
learn = Learner(learn_model, DataLoader(train_ds, batch_size=REFERENCE["batch_size"], shuffle=True), F.cross_entropy,
                torch.optim.AdamW(learn_model.parameters(), lr=REFERENCE["max_lr"], weight_decay=REFERENCE["weight_decay"]),
                cbs=[metrics, DeviceCB(), OneCycleCB(REFERENCE["max_lr"])])
learn.fit(REFERENCE["epochs"])
print("valid accuracy per epoch:", [round(r["valid_acc"], 3) for r in metrics.history])
print("the same numbers as the plain loop:", metrics.history == history)

# %% [markdown]
# The callbacks reproduce the plain loop exactly: same seed, same batches, same updates.
#
# **An LR finder** is one more callback: it raises the learning rate geometrically batch after batch,
# records the loss, and cancels the fit once the loss explodes. It must not leave a trace, so it saves the
# weights and the optimizer's state first and restores them after the fit. Pick a rate somewhat below the
# loss's minimum, where it still falls steeply.

# %%
class LRFinderCB(Callback):
    def __init__(self, start_lr=1e-5, end_lr=10, num_iter=60):
        self.start_lr, self.factor, self.num_iter = start_lr, (end_lr / start_lr) ** (1 / (num_iter - 1)), num_iter
        self.lrs, self.losses = [], []

    def before_fit(self, learn):
        self.saved = copy.deepcopy(learn.model.state_dict()), copy.deepcopy(learn.opt.state_dict())

    def before_batch(self, learn):
        for group in learn.opt.param_groups:
            group["lr"] = self.start_lr * self.factor ** len(self.losses)

    def after_batch(self, learn):
        self.lrs.append(learn.opt.param_groups[0]["lr"])
        self.losses.append(learn.loss.item())
        if len(self.losses) == self.num_iter or self.losses[-1] > 4 * min(self.losses):
            raise CancelFitException()

    def after_fit(self, learn):
        learn.model.load_state_dict(self.saved[0])
        learn.opt.load_state_dict(self.saved[1])


seed_everything(0)
finder_model = digits_cnn()
weights_before = copy.deepcopy(finder_model.state_dict())
finder = LRFinderCB()
Learner(finder_model, DataLoader(train_ds, batch_size=64, shuffle=True), F.cross_entropy,
        torch.optim.AdamW(finder_model.parameters()), cbs=[finder]).fit(10)
print(f"{len(finder.losses)} batches, stopped at lr {finder.lrs[-1]:.2g}; weights restored:",
      all(torch.equal(v, weights_before[k]) for k, v in finder_model.state_dict().items()))
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(finder.lrs, finder.losses)
ax.set(xscale="log", xlabel="learning rate", ylabel="training loss", title="LR finder")
show(fig)

# %% [markdown]
# **Activation statistics.** A callback that registers forward hooks in `before_fit` (and removes them in
# `after_fit`) records the mean and std of each layer's output at every batch. A hidden layer whose std
# collapses towards 0 (dead units) or blows up is a training going wrong, often before the loss shows it.
# Here nothing does: conv1's std stays near 0.3 and conv2's settles near 1, while the head's logits spread
# out, as they should while the model grows confident and the loss falls.

# %%
class ActivationStatsCB(Callback):
    def __init__(self, modules):
        self.modules = modules
        self.means = {name: [] for name in modules}
        self.stds = {name: [] for name in modules}

    def before_fit(self, learn):
        def hook(name):
            def record(module, inputs, output):
                self.means[name].append(output.detach().mean().item())
                self.stds[name].append(output.detach().std().item())
            return record
        self.handles = [m.register_forward_hook(hook(name)) for name, m in self.modules.items()]

    def after_fit(self, learn):
        for handle in self.handles:
            handle.remove()


seed_everything(0)
stats_model = digits_cnn()
stats = ActivationStatsCB({"conv1": stats_model[0], "conv2": stats_model[3], "head": stats_model[-1]})
Learner(stats_model, DataLoader(train_ds, batch_size=64, shuffle=True), F.cross_entropy,
        torch.optim.AdamW(stats_model.parameters(), lr=REFERENCE["max_lr"]), cbs=[stats]).fit(2)
print("hooks left on conv1:", len(stats_model[0]._forward_hooks))
plot_activation_stats(stats.means, stats.stds, title="activation statistics over two epochs")

# %% [markdown]
# ## Summary
# - The loop is `train()`, `zero_grad`, forward, loss, `backward`, `step`, scheduler; validation is
#   `eval()` plus `no_grad`/`inference_mode`, and gives the model its mode back.
# - Averages are per sample; numbers are accumulated with `.item()`, never as tensors.
# - Accumulation scales each micro-batch by its share of the group, the partial last group included;
#   autocast, `GradScaler` and clipping wrap the same loop.
# - A checkpoint for an exact resume holds model, optimizer, scheduler, epoch, best value, early-stopping count
#   and random state.
# - A `Learner` with callbacks keeps that loop in one place and everything else in small, ordered pieces.
#
# Assignment 8 asks you to write `train_one_epoch`, `evaluate`, `fit`, `predict`, the full `Learner` and its
# callbacks, each against a precise contract.
