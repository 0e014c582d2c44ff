# %% [markdown]
# # Lecture 5 — Losses
#
# A loss turns a model's output and a target into one number whose gradient says how to change
# every weight. This lecture asks what PyTorch's losses really compute, option by option, and which
# one to pick:
#
# 1. a loss is an `nn.Module`; the `grad_fn` chain from the loss back to a weight, and what
#    `backward()` fills;
# 2. `cross_entropy` is `log_softmax` + `nll_loss`, and `log_softmax` needs a stable log-sum-exp;
# 3. `CrossEntropyLoss` takes **logits**: a softmax before it trains worse, measured;
# 4. targets as class indices or as probabilities; `reduction`; `weight` and how the weighted mean
#    is normalised; `ignore_index`, down to a batch where every target is ignored;
# 5. `label_smoothing` and what it does to the model's confidence;
# 6. `BCEWithLogitsLoss` for multi-label targets, `pos_weight`, and why `BCELoss` wants probabilities;
# 7. an imbalanced task: class weights against focal loss, measured;
# 8. regression with outliers: MSE, L1, Huber and Smooth L1, and when each fits.
#
# Everything runs on the CPU in about ten seconds, seeded. Assignment 5 asks you to write each of these
# losses yourself and match PyTorch in value and gradient.

# %%
import inspect

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from courselib.data import load_digits_split
from courselib.plots import show
from courselib.seed import seed_everything

seed_everything(0)
torch.set_num_threads(1)  # the models here are tiny: extra threads cost more than they save
digits = load_digits_split()
x_train, y_train = digits.x_train.flatten(1), digits.y_train   # 8x8 images as 64 features
x_valid, y_valid = digits.x_valid.flatten(1), digits.y_valid
print(x_train.shape, y_train.shape, x_valid.shape)

# %% [markdown]
# ## 1. A loss is a module, and `backward()` follows the graph it built
#
# Is `nn.CrossEntropyLoss` anything more than a function? It is an `nn.Module`: it stores its options,
# registers `weight` as a **buffer** (so `.to(device)` moves it and `state_dict()` saves it), and has
# no parameters.

# %%
loss_fn = nn.CrossEntropyLoss(weight=torch.ones(10), label_smoothing=0.1)
print("a Module:", isinstance(loss_fn, nn.Module), "  parameters:", list(loss_fn.parameters()),
      "  buffers:", list(dict(loss_fn.named_buffers())))
print(loss_fn)

# %% [markdown]
# Its `forward` only forwards its options to the functional form:

# %%
print(inspect.getsource(nn.CrossEntropyLoss.forward))

# %% [markdown]
# Calling it on a model's output builds a graph. Each tensor that autograd tracks has a `grad_fn`, the
# node that made it; `next_functions` lead to the nodes that made its inputs, down to an
# `AccumulateGrad` node for each leaf, whose `variable` is the parameter itself.

# %%
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
loss = nn.CrossEntropyLoss()(model(x_train[:8]), y_train[:8])


def walk(node, depth=0):
    """Print the autograd graph below ``node``, one node per line."""
    if node is None:
        return
    leaf = getattr(node, "variable", None)
    name = next((n for n, p in model.named_parameters() if p is leaf), None)
    print("  " * depth + type(node).__name__ + (f"  -> {name} {tuple(leaf.shape)}" if name else ""))
    for child, _ in node.next_functions:
        walk(child, depth + 1)


walk(loss.grad_fn)

# %% [markdown]
# The loss's own node is `NllLossBackward0` under `LogSoftmaxBackward0`: cross-entropy is the negative
# log-likelihood of a log-softmax (section 2). `backward()` runs this graph from the top and fills
# `.grad` of the **leaves** that require grad: the parameters. The logits in between are not leaves and
# keep no `.grad` unless asked with `retain_grad()`.

# %%
logits = model(x_train[:8])
logits.retain_grad()
loss = F.cross_entropy(logits, y_train[:8])
print("before backward:", model[0].weight.grad)
loss.backward()
print("after backward: ", tuple(model[0].weight.grad.shape), "is a leaf:", model[0].weight.is_leaf, logits.is_leaf)
expected = (torch.softmax(logits, 1) - F.one_hot(y_train[:8], 10)) / 8
print("d loss / d logits == (softmax - onehot) / N:", torch.allclose(logits.grad, expected, atol=1e-7))

# %% [markdown]
# Notice the gradient with respect to the logits: `(softmax − onehot) / N`, bounded and simple. That is
# the formula you implement by hand in Part 6 of the assignment. `backward()` *adds* into `.grad`,
# which is why a training loop zeroes gradients each step:

# %%
first = model[2].bias.grad.clone()
F.cross_entropy(model(x_train[:8]), y_train[:8]).backward()
print("second backward doubled the gradient:", torch.allclose(model[2].bias.grad, 2 * first))

# %% [markdown]
# ## 2. `cross_entropy` = `log_softmax` + `nll_loss`, and the stable log-sum-exp
#
# For logits `z` and target class `y`, the loss is `−log softmax(z)[y] = logsumexp(z) − z[y]`.
# PyTorch computes exactly that: `log_softmax`, then `nll_loss` picks `−log p[y]` and averages.

# %%
z = torch.randn(5, 4)
y = torch.tensor([0, 3, 1, 1, 2])
by_hand = (torch.logsumexp(z, dim=1) - z[torch.arange(5), y]).mean()
print(f"{F.cross_entropy(z, y):.5f} {F.nll_loss(F.log_softmax(z, dim=1), y):.5f} {by_hand:.5f}")

# %% [markdown]
# Why `log_softmax` and not `log(softmax(z))`? Because `exp` overflows: `exp(89.)` is already `inf` in
# `float32`. Large logits are not exotic; a confident model produces them.

# %%
big = torch.tensor([1000.0, 1001.0, 1002.0])
naive = torch.log(torch.exp(big) / torch.exp(big).sum())
print("exp(big):           ", torch.exp(big))
print("naive log-softmax:  ", naive)
print("torch.log_softmax:  ", torch.log_softmax(big, dim=0))

# %% [markdown]
# The fix is one line of algebra: for any `m`, `log Σ exp(z) = m + log Σ exp(z − m)`. With `m = max z`
# the largest term is `exp(0) = 1`: nothing overflows, and the sum is at least 1, so nothing underflows
# to `log 0` either.

# %%
def stable_logsumexp(z, dim):
    m = z.amax(dim=dim, keepdim=True)
    return (m + torch.log(torch.exp(z - m).sum(dim=dim, keepdim=True))).squeeze(dim)


for values in ([1000.0, 1001.0, 1002.0], [-1000.0, -1001.0, -1002.0], [1e4, -1e4, 0.0]):
    t = torch.tensor(values)
    print(f"{str(values):26}  naive {torch.log(torch.exp(t).sum()).item():>9.4f}   "
          f"stable {stable_logsumexp(t, 0).item():>10.4f}   torch {torch.logsumexp(t, 0).item():>10.4f}")

# %% [markdown]
# The naive form gives `inf` for large logits and `-inf` for very negative ones; the stable one matches
# `torch.logsumexp`. (`torch.logsumexp` also guards a slice whose entries are all `-inf`, where
# `m = -inf` would give `-inf − (-inf) = nan`: `logsumexp_out_impl` in
# `aten/src/ATen/native/ReduceOps.cpp` replaces an infinite maximum by 0 before subtracting it, so such
# a slice gives `-inf`. The assignment asks you to handle that case too.)
#
# ## 3. `CrossEntropyLoss` takes logits: a softmax before it trains worse
#
# A classic mistake is a model that ends in `nn.Softmax` followed by `nn.CrossEntropyLoss`, which applies
# its own `log_softmax`. The result is a softmax of probabilities. Since those inputs lie in `[0, 1]`,
# the best the loss can do on 10 classes is `p = (1, 0, …, 0)`, and `−log softmax` of that is
# `log(1 + 9/e) ≈ 1.46`: the loss can never go below it.

# %%
best_probs = torch.tensor([[1.0] + [0.0] * 9])
print(f"lowest possible loss after a softmax: {F.cross_entropy(best_probs, torch.tensor([0])):.4f}"
      f" = log(1 + 9/e) = {torch.log(torch.tensor(1 + 9 / torch.e)):.4f}")

# %% [markdown]
# Measured: the same network, trained the same way, with and without a softmax before the loss.

# %%
def mlp(seed=0, out=10):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, out))


def train(model, loss_fn, x, y, steps=200, lr=0.01, head=lambda out: out):
    """Full-batch Adam; returns the loss after each step."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(head(model(x)), y)
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    return history


def accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


plain, with_softmax = mlp(), mlp()
curves = {"logits → CrossEntropyLoss": train(plain, nn.CrossEntropyLoss(), x_train, y_train),
          "softmax → CrossEntropyLoss": train(with_softmax, nn.CrossEntropyLoss(), x_train, y_train,
                                              head=lambda out: torch.softmax(out, dim=1))}
for (name, curve), model in zip(curves.items(), (plain, with_softmax)):
    print(f"{name:28} final training loss {curve[-1]:.2f}   validation accuracy {accuracy(model, x_valid, y_valid):.2f}")
fig, ax = plt.subplots(figsize=(6, 3.2))
for name, curve in curves.items():
    ax.plot(curve, label=name)
ax.axhline(1.4612, color="grey", linestyle=":", label="floor log(1 + 9/e)")
ax.set(xlabel="step", ylabel="training loss", yscale="log")
ax.legend()
show(fig)

# %% [markdown]
# With the extra softmax the loss flattens above its floor of 1.46 and learning is slower for the same
# steps: the gradient through a saturated softmax is small, and the loss can no longer tell a confident
# right answer from a barely right one. Give the loss the raw logits; apply `softmax` only when you
# need probabilities (for reporting, or at inference).
#
# ## 4. Targets, `reduction`, `weight`, `ignore_index`
#
# ### Class indices or probabilities
#
# The target is either an `int64` tensor of class indices of shape `(N,)`, or a floating-point tensor of
# class **probabilities** with the logits' shape `(N, C)`. One-hot probabilities give the same loss
# as the indices; soft ones (from label smoothing, mixup or distillation) are then possible.

# %%
z = torch.randn(4, 3)
y = torch.tensor([2, 0, 1, 1])
one_hot = F.one_hot(y, 3).float()
soft = torch.tensor([[0.1, 0.1, 0.8], [0.7, 0.3, 0.0], [0.0, 1.0, 0.0], [0.2, 0.5, 0.3]])
print(f"indices {F.cross_entropy(z, y):.5f}   one-hot {F.cross_entropy(z, one_hot):.5f}   soft {F.cross_entropy(z, soft):.5f}")

# %% [markdown]
# For an image model the class dimension is dim 1 and targets have the spatial shape: logits
# `(N, C, H, W)` with targets `(N, H, W)` (segmentation); every pixel is one element of the mean (the
# *Shape* section of `nn.CrossEntropyLoss`'s docstring lists these `(N, C, d1, …, dK)` forms).
#
# ### `reduction`

# %%
per_sample = F.cross_entropy(z, y, reduction="none")
print("none:", per_sample, f" sum: {F.cross_entropy(z, y, reduction='sum'):.4f}",
      f" mean: {F.cross_entropy(z, y):.4f} = {per_sample.mean():.4f}")

# %% [markdown]
# `"mean"` (the default) keeps the loss's scale independent of the batch size, so the learning rate
# does not have to change with it; `"none"` is what you need to weight or mask samples yourself.
#
# ### `weight`: a weighted mean, divided by the weights of the counted targets
#
# `weight[c]` multiplies the loss of every sample whose target is `c`. With `reduction="mean"`, PyTorch
# divides the weighted sum by **the sum of the weights of the targets in the batch**, not by `N`:

# %%
w = torch.tensor([1.0, 5.0, 0.5])
terms = w[y] * F.cross_entropy(z, y, reduction="none")
print(f"torch:                 {F.cross_entropy(z, y, weight=w):.5f}")
print(f"sum / sum(w[y]):       {terms.sum() / w[y].sum():.5f}")
print(f"sum / N (not torch's): {terms.sum() / len(y):.5f}")

# %% [markdown]
# So the mean is a proper weighted average (each sample's share is `w[y_i] / Σ w[y_j]`), and a batch
# that happens to hold many heavily weighted samples does not get a larger loss. Two details the
# assignment tests: with **probability** targets the weighted `"mean"` divides by `N` instead, and,
# with class-index targets, a weight `w[c]` of 0 removes the samples of class `c` from both sums.

# %%
print(f"probability targets, weighted mean: {F.cross_entropy(z, soft, weight=w):.5f}"
      f" = sum / N: {-(w * soft * F.log_softmax(z, 1)).sum() / len(z):.5f}")

# %% [markdown]
# ### `ignore_index`
#
# Targets equal to `ignore_index` (default `-100`) contribute nothing: no loss, no gradient, and they are
# left out of the mean's denominator. Padding positions in a batch of sequences are the usual example.

# %%
y_pad = torch.tensor([2, -100, 1, -100])
print(f"ignored mean: {F.cross_entropy(z, y_pad):.5f} = mean over the two kept: "
      f"{F.cross_entropy(z[[0, 2]], y_pad[[0, 2]]):.5f}")
print("per sample:  ", F.cross_entropy(z, y_pad, reduction="none"))

# %% [markdown]
# What if **every** target of a batch is ignored, say the last batch of padding? The mean is `0 / 0`:

# %%
z_leaf = z.clone().requires_grad_()
all_ignored = F.cross_entropy(z_leaf, torch.full((4,), -100))
all_ignored.backward()
print("loss:", all_ignored.item(), " gradient:", z_leaf.grad.abs().sum().item(),
      " sum reduction:", F.cross_entropy(z, torch.full((4,), -100), reduction="sum").item())

# %% [markdown]
# The loss is `nan` while the gradient is zero: training itself survives, but a running average of the
# loss becomes `nan` forever. Guard it where you log (skip batches with no counted target, or sum the
# losses and divide by the count of counted targets over the epoch).
#
# ## 5. `label_smoothing` lowers the model's confidence
#
# With `label_smoothing=ε` the target becomes `(1 − ε)·onehot + ε/C` (every class gets `ε/C`, the true
# one included). The loss is then minimised by a finite logit gap, not an infinite one: the model is
# told never to be 100 % sure. Measured on digits, training long enough to overfit:

# %%
confidences = {}
for eps in (0.0, 0.2):
    model = mlp(seed=1)
    train(model, nn.CrossEntropyLoss(label_smoothing=eps), x_train, y_train, steps=300)
    with torch.no_grad():
        probs = torch.softmax(model(x_valid), dim=1)
    confidence, predicted = probs.max(dim=1)
    confidences[eps] = confidence
    right = predicted == y_valid
    print(f"label_smoothing={eps}: accuracy {right.float().mean():.2f}   mean confidence {confidence.mean():.2f}   "
          f"mean confidence on its mistakes {confidence[~right].mean():.2f}")
fig, ax = plt.subplots(figsize=(6, 3))
for eps, confidence in confidences.items():
    ax.hist(confidence.numpy(), bins=25, range=(0.2, 1.0), alpha=0.6, label=f"label_smoothing={eps}")
ax.axvline(1 - 0.2 + 0.2 / 10, color="grey", linestyle=":", label="1 − ε + ε/C for ε = 0.2")
ax.set(xlabel="confidence (max softmax probability) on the validation set", ylabel="images")
ax.legend()
show(fig)

# %% [markdown]
# Without smoothing nearly every prediction sits at confidence ≈ 1, and even its mistakes are made at
# 0.75 on average. With `ε = 0.2` the confidences gather around `1 − ε + ε/C = 0.82`, the confidence
# that minimises the smoothed loss of a training image (some validation images land above it, none
# near 1), the mistakes are made with much less confidence (0.34), and accuracy is no worse on this
# run. Smoothing is a regulariser on confidence: useful when overconfident
# probabilities hurt (calibration, distillation targets); a knob to tune, not a free gain.
#
# ## 6. Multi-label: `BCEWithLogitsLoss` and `pos_weight`
#
# When several labels can be true at once, each gets its own sigmoid and its own binary cross-entropy.
# Three labels per digit: *even*, *greater than 4*, and the rare *is a zero* (10 % positives).

# %%
def attributes(labels):
    return torch.stack([labels % 2 == 0, labels > 4, labels == 0], dim=1).float()


t_train, t_valid = attributes(y_train), attributes(y_valid)
print("positives per label in train:", t_train.mean(0))

# %% [markdown]
# `BCELoss` expects probabilities and rejects any input outside `[0, 1]`, so logits usually fail loudly
# (logits that happen to lie in `[0, 1]` would be silently read as probabilities). On `sigmoid(logits)`
# it works until the sigmoid rounds to exactly 0 or 1, where `log 0` appears and PyTorch clamps the log
# at −100, so the loss comes out wrong in both directions:

# %%
try:
    nn.BCELoss()(torch.tensor([2.0, -1.0]), torch.tensor([1.0, 0.0]))
except RuntimeError as error:
    print("BCELoss on logits:", error)
wrong_and_sure = torch.tensor([30.0, -30.0, 200.0])   # confident and wrong
target = torch.tensor([0.0, 1.0, 0.0])
print("BCELoss(sigmoid(x)):", nn.BCELoss(reduction="none")(torch.sigmoid(wrong_and_sure), target))
print("BCEWithLogitsLoss:  ", nn.BCEWithLogitsLoss(reduction="none")(wrong_and_sure, target))

# %% [markdown]
# `BCEWithLogitsLoss` works on the logits in a stable form (`log σ(x) = −softplus(−x)`, computed with
# `log1p(exp(−|x|))`), accurate for any `x`, with no overflow and no `log 0`: a confidently wrong
# prediction costs `|x|` and keeps a gradient. Now `pos_weight`: a weight per label that multiplies
# the loss of the **positives** only. The usual choice is `#negatives / #positives` per label.

# %%
pos_weight = (1 - t_train.mean(0)) / t_train.mean(0)
print("pos_weight:", pos_weight)
for name, criterion in (("no pos_weight", nn.BCEWithLogitsLoss()),
                        ("pos_weight", nn.BCEWithLogitsLoss(pos_weight=pos_weight))):
    model = nn.Linear(64, 3)
    nn.init.zeros_(model.weight), nn.init.zeros_(model.bias)
    train(model, criterion, x_train, t_train, steps=60, lr=0.01)
    with torch.no_grad():
        predicted = model(x_valid) > 0            # logit > 0  <=>  probability > 0.5
    positives = t_valid.bool()
    recall = (predicted & positives).sum(0) / positives.sum(0)
    precision = (predicted & positives).sum(0) / predicted.sum(0).clamp(min=1)
    print(f"{name:14} recall per label {recall.numpy().round(2)}   precision {precision.numpy().round(2)}")

# %% [markdown]
# In this short run the rare *zero* label is never predicted without `pos_weight` (recall 0): its
# positives are outvoted nine to one (its precision prints as 0 only because nothing is predicted:
# `0 / 0`, clamped). Weighting the positives raises its recall to 0.97, which is what it is for; the
# price is false positives, a loss of precision: here about 8 % of the predicted zeros are wrong
# (precision 0.92).
#
# ## 7. Imbalanced classes: class weights or focal loss?
#
# Keep each training image of digits 5–9 with probability 5 % (this draw keeps 55 of their 722, about
# 8 %), then compare three losses on the validation set, where every digit has 30 to 51 images:
# plain cross-entropy, cross-entropy with inverse-frequency class `weight`, and focal loss, which multiplies
# each sample's cross-entropy by `(1 − p_t)^γ` so that well-classified samples (`p_t` near 1) fade
# out.

# %%
generator = torch.Generator().manual_seed(0)
keep = (y_train < 5) | (torch.rand(len(y_train), generator=generator) < 0.05)
x_imb, y_imb = x_train[keep], y_train[keep]
counts = torch.bincount(y_imb, minlength=10)
print("training images per class:", counts.tolist())


def focal_loss(logits, target, gamma=2.0):
    ce = F.cross_entropy(logits, target, reduction="none")
    p_t = torch.exp(-ce)                       # the probability of the true class
    return ((1 - p_t) ** gamma * ce).mean()


class_weight = counts.sum() / (10 * counts.float())
recalls = {}
for name, criterion in (("cross-entropy", nn.CrossEntropyLoss()),
                        ("weighted cross-entropy", nn.CrossEntropyLoss(weight=class_weight)),
                        ("focal, gamma=2", focal_loss)):
    model = mlp(seed=3)
    train(model, criterion, x_imb, y_imb, steps=150)
    with torch.no_grad():
        predicted = model(x_valid).argmax(1)
    recalls[name] = torch.stack([(predicted[y_valid == c] == c).float().mean() for c in range(10)])
    print(f"{name:24} accuracy {(predicted == y_valid).float().mean():.2f}   "
          f"mean recall of the rare digits 5-9 {recalls[name][5:].mean():.2f}")
fig, ax = plt.subplots(figsize=(7, 3))
for i, (name, recall) in enumerate(recalls.items()):
    ax.bar(torch.arange(10) + (i - 1) * 0.27, recall.numpy(), width=0.27, label=name)
ax.set(xlabel="digit (5-9 are rare in training)", ylabel="validation recall", xticks=range(10))
ax.legend(fontsize="small")
show(fig)

# %% [markdown]
# Class weights move the decision boundary towards the frequent classes directly and raise the rare
# digits' mean recall from 0.78 to 0.87: about half of the way back to the 0.97–1.00 of the frequent
# digits 0–4 in the plot, not all of it. Focal loss down-weights *easy* samples, whatever their class;
# here it leaves accuracy and the rare digits' mean recall where plain cross-entropy had them (0.89,
# 0.78), only moving recall between rare digits (9 up, 7 down). It was designed for a different
# imbalance, dense object detection, where an enormous number of easy background boxes drown the few
# hard ones, and it is usually combined with an `alpha` weight that balances positives against
# negatives (`torchvision.ops.sigmoid_focal_loss` has both). Rule of thumb: start with class weights
# (or a balanced sampler, lecture 3); try focal loss when easy negatives dominate.
#
# ## 8. Regression with outliers: MSE, L1, Huber, Smooth L1
#
# Which constant `c` minimises each loss over a sample? For MSE it is the **mean**; for L1 it is the
# **median**, because each point pulls on `c` with a force ±1 whatever its distance. Checked by
# gradient descent on data with a few large outliers:

# %%
torch.manual_seed(4)
values = torch.cat([torch.randn(95) + 2.0, torch.full((5,), 40.0)])   # 5 % outliers at 40


def fit_constant(loss_fn, steps=500, lr=0.1):
    c = torch.zeros((), requires_grad=True)
    optimizer = torch.optim.Adam([c], lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn(c.expand_as(values), values).backward()
        optimizer.step()
    return c.item()


print(f"mean {values.mean():.2f}   median {values.median():.2f}")
for name, loss_fn in (("MSE", F.mse_loss), ("L1", F.l1_loss), ("Huber, delta=1", F.huber_loss)):
    print(f"{name:15} minimiser {fit_constant(loss_fn):.2f}")

# %% [markdown]
# The outliers drag the MSE fit to the mean; L1 stays at the median; Huber behaves like MSE for small
# residuals and like L1 for large ones, so it lands near the median too. The same on a line fit:

# %%
torch.manual_seed(5)
xs = torch.linspace(0, 10, 60)
ys = 1.5 * xs + 2 + 0.5 * torch.randn(60)
ys[[8, 20, 33, 47]] += torch.tensor([25.0, 20.0, 30.0, 22.0])   # four gross outliers, all above


def fit_line(loss_fn, steps=800, lr=0.1):
    wb = torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.Adam([wb], lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn(wb[0] * xs + wb[1], ys).backward()
        optimizer.step()
    return wb.detach()


fig, (ax_fit, ax_loss) = plt.subplots(1, 2, figsize=(10, 3.5))
ax_fit.scatter(xs, ys, s=10, color="black")
for name, loss_fn in (("MSE", F.mse_loss), ("L1", F.l1_loss), ("Huber δ=1", F.huber_loss)):
    slope, intercept = fit_line(loss_fn)
    print(f"{name:10} slope {slope:.2f}  intercept {intercept:.2f}   (true 1.50, 2.00)")
    ax_fit.plot(xs, slope * xs + intercept, label=name)
ax_fit.set(title="line fits, four outliers", xlabel="x", ylabel="y")
ax_fit.legend()
r = torch.linspace(-3, 3, 301)
zero = torch.zeros_like(r)
for name, curve in (("MSE", F.mse_loss(r, zero, reduction="none")), ("L1", F.l1_loss(r, zero, reduction="none")),
                    ("Huber δ=2", F.huber_loss(r, zero, delta=2.0, reduction="none")),
                    ("Smooth L1 β=2", F.smooth_l1_loss(r, zero, beta=2.0, reduction="none"))):
    ax_loss.plot(r, curve, label=name)
ax_loss.set(title="loss against residual", xlabel="residual", ylim=(0, 4))
ax_loss.legend()
show(fig)

# %% [markdown]
# The four outliers lift the MSE line by about 2 at the left end; the L1 and Huber lines stay on the bulk
# of the data. On the right, the two robust losses of PyTorch differ only by a scale: with `d = |residual|`,
# Huber is `0.5·d²` below `δ` and `δ·(d − δ/2)` above; Smooth L1 is `0.5·d²/β` below `β` and `d − β/2`
# above. So `huber_loss(δ) = δ · smooth_l1_loss(β=δ)`:

# %%
print(torch.allclose(F.huber_loss(r, zero, delta=2.0, reduction="none"),
                     2.0 * F.smooth_l1_loss(r, zero, beta=2.0, reduction="none")))

# %% [markdown]
# When to choose which:
#
# | loss | estimates | choose it when |
# |---|---|---|
# | MSE (`nn.MSELoss`) | the conditional **mean** | noise is roughly Gaussian and large errors are real signal you must not ignore |
# | L1 (`nn.L1Loss`) | the conditional **median** | heavy-tailed noise or outliers; you want robustness (its gradient is ±1, so it converges less smoothly near 0) |
# | Huber (`nn.HuberLoss`, `delta`) | in between | mostly Gaussian noise plus some outliers: quadratic for residuals below `delta`, linear beyond, so outliers pull with a bounded force |
# | Smooth L1 (`nn.SmoothL1Loss`, `beta`) | as Huber | the same shape scaled by `1/beta`, so its linear part has slope 1 whatever `beta`: the box-regression loss of Fast/Faster R-CNN |
#
# `delta` (or `beta`) sets the residual size you still trust: pick it on the scale of your targets'
# normal noise.
#
# ## Summary
#
# - A loss is a module with options and buffers; `backward()` walks the `grad_fn` graph down to the
#   parameters' `AccumulateGrad` nodes and **adds** into their `.grad`.
# - `cross_entropy` = `log_softmax` + `nll_loss`; `log_softmax` is `z − logsumexp(z)` with the maximum
#   subtracted first. Feed it logits, never probabilities.
# - `weight` makes `"mean"` a weighted average divided by `Σ w[y_i]` (by `N` for probability targets);
#   `ignore_index` drops targets from both sums, and an all-ignored batch gives `nan`.
# - `label_smoothing` pulls confidence down towards `1 − ε + ε/C`; `BCEWithLogitsLoss` (with
#   `pos_weight` for rare positives) is the stable multi-label loss; class weights first, focal loss
#   when easy samples dominate.
# - MSE → mean, L1 → median, Huber/Smooth L1 in between; Huber = δ · Smooth L1(β = δ).
#
# In assignment 5 you write each of these losses from scratch (`logsumexp`, `cross_entropy` with every
# option, `binary_cross_entropy_with_logits`, focal loss, Huber and Smooth L1, and a
# `torch.autograd.Function` with its own backward) and match PyTorch in value and gradient.
