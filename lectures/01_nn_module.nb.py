# %% [markdown]
# # Lecture 1 — `nn.Module`: what a model really is
#
# Every PyTorch model, from a single `Linear` layer to a ResNet, is an `nn.Module`. This lecture
# opens the box: where a module keeps its weights, how it finds its sub-layers, what actually runs
# when you write `model(x)`, and how to watch what happens inside it.
#
# **You will learn**
# 1. why `super().__init__()` must come first;
# 2. `forward` vs `__call__`, and why hooks only run through `__call__`;
# 3. walking a model: `children()`, `modules()`, `named_modules()`;
# 4. `Sequential`, `ModuleList`, `ModuleDict` — and why a plain Python list registers nothing;
# 5. how `train()` / `eval()` reach every layer, and what `apply` is for;
# 6. the NCHW layout, and the real error a channels-last batch gives a `Conv2d`;
# 7. forward hooks that record activation statistics while a model trains;
# 8. a minimal `Module` built from scratch — the mechanism behind all of the above.
#
# Assignment 1 asks you to build each of these pieces yourself.

# %%
import numpy as np
import torch
from torch import nn

from courselib.data import digits_nhwc_uint8, load_digits_split
from courselib.plots import plot_activation_stats
from courselib.seed import seed_everything

seed_everything(0)
torch.set_printoptions(precision=4, sci_mode=False)

# %% [markdown]
# ## 1. A module holds parameters and a `forward`
#
# The smallest useful module is `nn.Linear`: a weight matrix, a bias, and a `forward` that computes
# `x @ W.T + b`. Its parameters are found by name:

# %%
layer = nn.Linear(3, 2)
for name, p in layer.named_parameters():
    print(f"{name:6s} shape={tuple(p.shape)} requires_grad={p.requires_grad}")
print(layer(torch.ones(4, 3)).shape)

# %% [markdown]
# Our own modules subclass `nn.Module`, create their layers in `__init__` and say what to compute
# in `forward`:

# %%
class TwoLayerNet(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()  # first: sets up the registries the next lines fill
        self.hidden = nn.Linear(n_in, n_hidden)
        self.out = nn.Linear(n_hidden, n_out)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)))


net = TwoLayerNet(64, 32, 10)
print([name for name, _ in net.named_parameters()])

# %% [markdown]
# Notice the dotted names: the module found the parameters *inside* its sub-modules by itself.
#
# ## 2. Why `super().__init__()` comes first
#
# `nn.Module.__init__` creates the dictionaries in which `self.hidden = ...` is recorded. Skip it
# and the very first assignment of a layer fails:

# %%
class Forgetful(nn.Module):
    def __init__(self):
        self.layer = nn.Linear(2, 2)  # no super().__init__() above


try:
    Forgetful()
except AttributeError as error:
    print("AttributeError:", error)

# %% [markdown]
# ## 3. `forward` vs `__call__`
#
# You call `net(x)`, never `net.forward(x)`. `nn.Module.__call__` runs the forward *hooks* and
# pre-hooks around `forward`; calling `forward` directly skips them silently.

# %%
calls = []
handle = net.hidden.register_forward_hook(lambda module, inputs, output: calls.append(tuple(output.shape)))
x = torch.randn(5, 64)
net(x)
print("after net(x):        ", calls)
net.forward(x)  # forward of net still calls self.hidden(...) through __call__
print("after net.forward(x):", calls)
net.hidden.forward(x)  # bypasses hidden's __call__: no hook
print("after hidden.forward:", calls)
handle.remove()

# %% [markdown]
# The hook ran for the two calls that went through `hidden.__call__` and not for the direct
# `hidden.forward(x)`.
#
# ## 4. Walking a model: `children()`, `modules()`, `named_modules()`

# %%
model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
    nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU()),
    nn.Flatten(), nn.Linear(8 * 8 * 8, 10),
)
print("children (direct sub-modules):", [type(m).__name__ for m in model.children()])
print("modules (recursive, self first):", [type(m).__name__ for m in model.modules()])
for name, module in model.named_modules():
    print(f"{name or '<root>':8s} {type(module).__name__}")

# %% [markdown]
# `children()` goes one level down; `modules()` and `named_modules()` go all the way, starting with
# the model itself, whose name is the empty string.
#
# ## 5. Containers — and the plain-list trap
#
# Layers kept in a Python `list` are invisible to `nn.Module`: not in `parameters()`, so the
# optimizer never updates them; not in `state_dict()`, so they are never saved; not moved by `.to()`.

# %%
class ListNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = [nn.Linear(4, 4) for _ in range(3)]  # a plain list


class ModuleListNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(4, 4) for _ in range(3))


class ModuleDictNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.heads = nn.ModuleDict({"digit": nn.Linear(4, 10), "parity": nn.Linear(4, 2)})


for cls in (ListNet, ModuleListNet, ModuleDictNet):
    m = cls()
    print(f"{cls.__name__:14s} parameter tensors: {len(list(m.parameters()))}, "
          f"state_dict keys: {len(m.state_dict())}")

# %% [markdown]
# Same layers, zero parameters: the list version would train nothing. Use `nn.ModuleList` for a
# sequence you loop over yourself, `nn.ModuleDict` for named branches, `nn.Sequential` when the
# layers simply run one after another.
#
# ## 6. `train()` / `eval()` reach every sub-module; `apply` visits them all
#
# Some layers behave differently in training: `Dropout` zeroes random activations, `BatchNorm` uses
# batch statistics. `model.train()` and `model.eval()` set the `training` flag of every sub-module.

# %%
drop_net = nn.Sequential(nn.Linear(16, 16), nn.Dropout(p=0.5), nn.Sequential(nn.Dropout(p=0.5)))
drop_net.eval()
print("after eval(): ", [m.training for m in drop_net.modules()])
drop_net.train()
print("after train():", [m.training for m in drop_net.modules()])
x = torch.ones(100, 16)
for mode in ("train", "eval"):
    getattr(drop_net, mode)()
    zeros = (drop_net(x) == 0).float().mean().item()
    print(f"{mode:5s} mode: {zeros:.0%} of outputs zeroed, two calls equal? "
          f"{torch.equal(drop_net(x), drop_net(x))}")

# %% [markdown]
# Two dropout layers each keeping half the values leave about a quarter in training mode; in
# evaluation mode nothing is dropped and the output is deterministic.
#
# `apply(fn)` calls `fn` on every sub-module (children first, then the module itself) — the usual
# way to initialise weights by layer type:

# %%
def init_weights(module):
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        nn.init.zeros_(module.bias)


model.apply(init_weights)
print({name: round(p.std().item(), 3) for name, p in model.named_parameters() if name.endswith("weight")})

# %% [markdown]
# ## 7. NCHW: the layout a `Conv2d` expects
#
# PyTorch's convolutions take `(N, C, H, W)`: batch, channels, height, width. Images loaded from
# files are usually channels-last, `(N, H, W, C)`. Feed one to a `Conv2d` and the height is taken
# for the channel count:

# %%
conv = nn.Conv2d(3, 16, kernel_size=3)
channels_last = torch.zeros(128, 64, 64, 3)
try:
    conv(channels_last)
except RuntimeError as error:
    print("RuntimeError:", error)

# %% [markdown]
# The fix is `permute`, which reorders the axes. `reshape` would produce the right *shape* with the
# wrong *content*, because it keeps the memory order:

# %%
images = digits_nhwc_uint8(2)  # (2, 8, 8, 3) uint8: how an image library hands them over
batch = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
print("permuted:", tuple(batch.shape), "->", tuple(conv(batch).shape))

tiny = torch.arange(12).reshape(1, 2, 2, 3)  # one 2x2 image, 3 channels, channels-last
print("channel 0 via permute:", tiny.permute(0, 3, 1, 2)[0, 0].tolist())
print("channel 0 via reshape:", tiny.reshape(1, 3, 2, 2)[0, 0].tolist())

# %% [markdown]
# Channel 0 should hold the values at positions 0, 3, 6, 9 (every third value); `reshape` took the
# first four values instead, mixing the channels.
#
# ## 8. Watching a model train: forward hooks for activation statistics
#
# A forward hook sees every layer's output. Recording its mean and standard deviation at each
# batch is the cheapest way to see whether signals die out (std → 0) or blow up as they go deeper.
# Here is a recorder, and a deep plain CNN trained for one epoch on the digits:

# %%
class StatsRecorder:
    def __init__(self, modules):
        self.means = {name: [] for name in modules}
        self.stds = {name: [] for name in modules}
        self.handles = [m.register_forward_hook(self._hook(name)) for name, m in modules.items()]

    def _hook(self, name):
        def hook(module, inputs, output):
            self.means[name].append(output.detach().mean().item())
            self.stds[name].append(output.detach().std().item())
        return hook

    def remove(self):
        for handle in self.handles:
            handle.remove()


def deep_cnn():
    blocks = [nn.Sequential(nn.Conv2d(1 if i == 0 else 16, 16, 3, padding=1), nn.ReLU()) for i in range(5)]
    return nn.Sequential(*blocks, nn.Flatten(), nn.Linear(16 * 8 * 8, 10))


def train_one_epoch(model, data, lr=0.1, batch_size=64):
    recorder = StatsRecorder({f"block{i}": model[i] for i in range(5)})
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loader = torch.utils.data.DataLoader(data.train_dataset(), batch_size=batch_size, shuffle=True,
                                         generator=torch.Generator().manual_seed(0))
    for xb, yb in loader:
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    recorder.remove()  # hooks cost time and memory: always remove them
    return recorder, loss.item()


digits = load_digits_split()
seed_everything(0)
recorder, last_loss = train_one_epoch(deep_cnn(), digits)
print(f"last batch loss {last_loss:.3f}")
print("std of each block's output, first vs last batch:")
for name in recorder.stds:
    print(f"  {name}: {recorder.stds[name][0]:.4f} -> {recorder.stds[name][-1]:.4f}")

# %%
plot_activation_stats(recorder.means, recorder.stds, "PyTorch's default initialisation")

# %% [markdown]
# With PyTorch's default initialisation each block shrinks the signal: the deepest block starts with
# a tiny standard deviation, so its gradients are tiny too and training crawls. Re-initialising the
# convolutions with Kaiming's scheme — made for ReLU, and applied with `apply` — keeps the scale:

# %%
seed_everything(0)
kaiming_model = deep_cnn().apply(init_weights)
recorder, last_loss = train_one_epoch(kaiming_model, digits)
print(f"last batch loss {last_loss:.3f}")
for name in recorder.stds:
    print(f"  {name}: {recorder.stds[name][0]:.4f} -> {recorder.stds[name][-1]:.4f}")
plot_activation_stats(recorder.means, recorder.stds, "Kaiming initialisation")

# %% [markdown]
# ## 9. From scratch: how `nn.Module` finds your layers
#
# No magic is involved. `nn.Module.__setattr__` intercepts every `self.name = value`: a `Parameter`
# goes into `self._parameters`, a `Module` into `self._modules`. `parameters()` walks those
# dictionaries, and `__call__` wraps `forward`. A minimal version that registers parameters:

# %%
class Param:
    def __init__(self, data):
        self.data = data.detach().clone().requires_grad_(True)


class TinyModule:
    def __init__(self):
        object.__setattr__(self, "_params", {})  # plain set: our own __setattr__ is not ready yet

    def __setattr__(self, name, value):
        if isinstance(value, Param):
            self._params[name] = value
        object.__setattr__(self, name, value)  # the attribute itself, as usual

    def parameters(self):
        return list(self._params.values())

    def __call__(self, *args):
        return self.forward(*args)


class Affine(TinyModule):
    def __init__(self):
        super().__init__()
        self.w = Param(torch.ones(3))
        self.b = Param(torch.zeros(3))
        self.note = "not a parameter"

    def forward(self, x):
        return x * self.w.data + self.b.data


affine = Affine()
print("registered:", list(affine._params), "| parameters():", len(affine.parameters()))
affine(torch.tensor([1.0, 2.0, 3.0])).sum().backward()
print("gradient of w:", affine.w.data.grad)

# %% [markdown]
# This version stops at one level: it ignores sub-modules. Registering them, walking them
# recursively and producing dotted names is part 1 of the assignment.
#
# ## Summary
#
# - Call `super().__init__()` first; then every `self.x = layer_or_parameter` is registered.
# - Always call `model(x)`: `__call__` runs hooks around `forward`.
# - `children()` is one level, `modules()` / `named_modules()` are recursive.
# - Keep layers in `nn.Sequential`, `nn.ModuleList` or `nn.ModuleDict`, never in a plain list.
# - `train()` / `eval()` and `apply()` reach every sub-module.
# - Convolutions take NCHW; convert channels-last images with `permute`, never `reshape`.
# - Forward hooks record what flows through a model; keep their handles and remove them.
#
# ## Exercises
#
# 1. Register a forward *pre*-hook on `net.out` that prints the shape of its input. When does it run?
# 2. Replace `nn.ReLU()` by `nn.Tanh()` in `deep_cnn` and compare the activation plots.
# 3. What does `model.apply(print)` print, and in which order? Why is the root last?
