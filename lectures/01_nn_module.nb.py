# %% [markdown]
# # Lecture 1 — `nn.Module`: what a model really is
#
# Every PyTorch model, from a single `Linear` layer to a ResNet, is an `nn.Module`. This lecture
# opens the box: where a module keeps its weights, how it finds its sub-layers, what actually runs
# when you write `model(x)`, and how to watch what happens inside it.
#
# **You will learn**
# 1. why `super().__init__()` must come first;
# 2. `forward` vs `__call__`, why hooks only run through `__call__`, and how a hook can replace an output;
# 3. walking a model: `children()`, `modules()`, `named_modules()`;
# 4. `Sequential`, `ModuleList`, `ModuleDict` — and why a plain Python list registers nothing;
# 5. shared (tied) parameters: one `Parameter`, two names;
# 6. how `train()` / `eval()` reach every layer (and why `eval()` is not `no_grad()`), and what `apply` is for;
# 7. the NCHW layout, the real error an `(N, H, W, C)` batch gives a `Conv2d`, and the
#    `channels_last` *memory format*, which is something else;
# 8. forward hooks that record activation statistics while a model trains;
# 9. a toy `Module` built from scratch, and where the real one differs.
#
# Assignment 1 asks you to build each of these pieces yourself.

# %%
import copy
import math

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
# The hook above returns the value of `calls.append(...)`, which is `None`, and `None` means "keep
# the output". A forward hook that returns anything else **replaces** the module's output, and the
# rest of the model computes with the replacement:

# %%
y_before = net(x)
handle = net.hidden.register_forward_hook(lambda module, inputs, output: torch.zeros_like(output))
y_after = net(x)
handle.remove()
print("output changed:", not torch.equal(y_before, y_after),
      "| now equals out(relu(0)) = out.bias:", torch.equal(y_after[0], net.out.bias))

# %% [markdown]
# A recording hook must therefore return nothing. The replacing happens in `Module._call_impl`
# (`torch/nn/modules/module.py`: `if hook_result is not None: result = hook_result`), which treats
# forward *pre*-hooks the same way: one that returns a value replaces the arguments of `forward`.
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
# ## 6. Shared (tied) parameters: one tensor, two names
#
# Two layers can use the *same* `Parameter` — a language model often ties its output layer to its
# input embedding. Assigning one layer's parameter to another does it. How is it counted?

# %%
class TiedLM(nn.Module):
    """Token ids -> embeddings -> scores over the same vocabulary, with one shared (10, 4) matrix."""

    def __init__(self, vocab=10, dim=4):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)  # weight (10, 4)
        self.head = nn.Linear(dim, vocab, bias=False)  # weight (10, 4) too
        self.head.weight = self.embed.weight  # the same Parameter object from now on

    def forward(self, tokens):
        return self.head(self.embed(tokens))


tied = TiedLM()
print("parameters():          ", len(list(tied.parameters())), "tensor,",
      sum(p.numel() for p in tied.parameters()), "values")
print("named_parameters():    ", [name for name, _ in tied.named_parameters()])
print("remove_duplicate=False:", [name for name, _ in tied.named_parameters(remove_duplicate=False)])
state = tied.state_dict()
print("state_dict():          ", list(state),
      "| same storage:", state["embed.weight"].data_ptr() == state["head.weight"].data_ptr())

# %% [markdown]
# `parameters()` and `named_parameters()` yield a shared `Parameter` **once**, under the first name
# found (`Module._named_members` in `torch/nn/modules/module.py` keeps a `memo` set), so an optimizer
# updates it once and a parameter count counts 40 values, not 80. `state_dict()` lists **both**
# keys, because each module saves its own `_parameters` (`Module._save_to_state_dict`) and loading
# fills each attribute by its key; the two entries share one storage.
#
# Its gradient collects both uses. Compare with an untied copy whose two matrices start equal:

# %%
tokens = torch.tensor([1, 2, 2, 7])
tied(tokens).square().sum().backward()

untied = TiedLM()
untied.head.weight = nn.Parameter(tied.embed.weight.detach().clone())  # equal values, separate tensors
untied.embed.weight = nn.Parameter(tied.embed.weight.detach().clone())
untied(tokens).square().sum().backward()
print("tied grad == embed grad + head grad of the untied copy:",
      torch.allclose(tied.embed.weight.grad, untied.embed.weight.grad + untied.head.weight.grad))

# %% [markdown]
# ## 7. `train()` / `eval()` reach every sub-module; `apply` visits them all
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
# `eval()` is not `torch.no_grad()`. `eval()` changes what `Dropout` and `BatchNorm` compute;
# autograd still records the graph. `no_grad()` stops the recording and changes nothing else:
# dropout still drops. Evaluation code wants both.

# %%
drop_net.eval()
y = drop_net(x)
print("eval() only:           requires_grad", y.requires_grad, "| grad_fn", type(y.grad_fn).__name__)
drop_net.train()
with torch.no_grad():
    y = drop_net(x)
print("no_grad() in train():  requires_grad", y.requires_grad, f"| {(y == 0).float().mean():.0%} zeroed")
drop_net.eval()
with torch.no_grad():
    y = drop_net(x)
print("eval() and no_grad():  requires_grad", y.requires_grad, f"| {(y == 0).float().mean():.0%} zeroed")

# %% [markdown]
# Under `eval()` alone autograd still saves, layer by layer, the tensors a backward pass would need,
# for a backward pass that never comes, which costs memory; under `no_grad()` alone the scores are
# noisy.
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
# ## 8. NCHW: the layout a `Conv2d` expects
#
# PyTorch's convolutions take `(N, C, H, W)`: batch, channels, height, width. Images decoded by an
# image library come with their axes in the order `(N, H, W, C)`. Feed such a tensor to a `Conv2d`
# and dimension 1, the height, is taken for the channel count:

# %%
conv = nn.Conv2d(3, 16, kernel_size=3)
nhwc = torch.zeros(128, 64, 64, 3)
try:
    conv(nhwc)
except RuntimeError as error:
    print("RuntimeError:", error)

# %% [markdown]
# The fix is `permute`, which reorders the axes. `reshape` would produce the right *shape* with the
# wrong *content*, because it keeps the values in their order (last axis fastest) and only cuts
# that sequence into new axes:

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
# The problem above is the **logical** order of the axes (which dimension means what), not the
# order of the bytes in memory. Don't confuse it with `torch.channels_last`, a *memory format* that
# PyTorch supports: a tensor of shape `(N, C, H, W)` whose values are stored pixel by pixel, the
# channels of each pixel side by side. `permute` moves no data, only the strides change, and the
# copies made by `.float()` and `/ 255` keep the layout of their input (`.float()` is
# `.to(torch.float32)`, whose default is `memory_format=torch.preserve_format`), so the batch above
# *is* such a tensor, and `Conv2d` accepts it as it is:

# %%
print("shape:", tuple(batch.shape), "| strides:", batch.stride())
print("contiguous (NCHW memory):   ", batch.is_contiguous())
print("contiguous as channels_last:", batch.is_contiguous(memory_format=torch.channels_last))
dense = batch.contiguous()  # the same values copied into NCHW memory order
print("same conv output either way:", torch.allclose(conv(batch), conv(dense)),
      "| output is channels_last too:", conv(batch).is_contiguous(memory_format=torch.channels_last))
print("back to channels_last:", dense.to(memory_format=torch.channels_last).stride(), "shape", tuple(dense.shape))

# %% [markdown]
# The stride of the channel dimension is 1: the channels of a pixel are neighbours in memory.
# `.to(memory_format=torch.channels_last)` converts a tensor (or, on a model, its 4-D parameters)
# to that layout — a choice made for speed on some hardware; the shape, and so the code, stays NCHW.
#
# ## 9. Watching a model train: forward hooks for activation statistics
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


def deep_cnn(padding_mode="zeros"):
    blocks = [nn.Sequential(nn.Conv2d(1 if i == 0 else 16, 16, 3, padding=1, padding_mode=padding_mode), nn.ReLU())
              for i in range(5)]
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


def valid_accuracy(model):
    with torch.no_grad():
        return (model.eval()(digits.x_valid).argmax(1) == digits.y_valid).float().mean().item()


digits = load_digits_split()
seed_everything(0)
default_model = deep_cnn()
recorder, last_loss = train_one_epoch(default_model, digits)
print(f"last batch loss {last_loss:.3f} (ln 10 = {math.log(10):.3f}) | "
      f"validation accuracy {valid_accuracy(default_model):.1%}")
print("std of each block's output, first vs last batch:")
for name in recorder.stds:
    print(f"  {name}: {recorder.stds[name][0]:.4f} -> {recorder.stds[name][-1]:.4f}")

# %%
plot_activation_stats(recorder.means, recorder.stds, "PyTorch's default initialisation")

# %% [markdown]
# With PyTorch's default initialisation each block shrinks the signal: the deepest block starts with
# a tiny standard deviation, and the stds barely move in a whole epoch. The last loss is ln 10, the cross-entropy of a uniform guess among ten classes, and the
# validation accuracy is that of chance: after one epoch this network has learned **nothing**.
#
# Re-initialising the convolutions with Kaiming's scheme — made for ReLU, and applied with `apply` —
# changes that:

# %%
seed_everything(0)
kaiming_model = deep_cnn().apply(init_weights)
initial_model = copy.deepcopy(kaiming_model)  # kept to compare with after training
recorder, last_loss = train_one_epoch(kaiming_model, digits)
print(f"last batch loss {last_loss:.3f} | validation accuracy {valid_accuracy(kaiming_model):.1%}")
for name in recorder.stds:
    print(f"  {name}: {recorder.stds[name][0]:.4f} -> {recorder.stds[name][-1]:.4f}")
plot_activation_stats(recorder.means, recorder.stds, "Kaiming initialisation")

# %% [markdown]
# The network learns. But look at what the plot shows: Kaiming does **not** keep the scale constant.
# At the first batch the std still falls by half over the five blocks, and during training it grows,
# with spikes, to two to four times its starting value in the deep blocks. Why?
#
# - Kaiming picks $\text{Var}(w) = 2/\text{fan\_in}$ so that the **second moment** $E[h^2]$ of a block's
#   output equals that of its input **on average over random draws of the weights**. It says nothing
#   about one draw: 16 filters are a small sample. It is also not the std: a ReLU output has a
#   positive mean, so its std is below its root mean square.
# - Zero padding: on an 8×8 image, 28 of the 64 pixels are on the border, where a 3×3 kernel sees
#   only 4 or 6 real inputs instead of 9, so the effective fan-in is smaller than the one Kaiming
#   divides by.
# - Initialisation only sets the starting point. From the first SGD step on, the weights are what
#   training makes of them, and the growth is training's doing (next cell).
#
# The same batch through the network before and after its epoch of training:

# %%
def block_stds(model, images):
    stds, h = [], images
    with torch.no_grad():
        for block in list(model)[:5]:
            h = block(h)
            stds.append(round(h.std().item(), 3))
    return stds


xb = digits.x_train[:64]
print("output std, initial weights:", block_stds(initial_model, xb))
print("output std, trained weights:", block_stds(kaiming_model, xb))
for i in (1, 4):
    w0, w1 = initial_model[i][0].weight, kaiming_model[i][0].weight
    print(f"block{i} weights: changed by {(w1 - w0).norm() / w0.norm():.0%} of their norm, "
          f"norm grew by {w1.norm() / w0.norm() - 1:.0%}")

randomly_moved = copy.deepcopy(initial_model)  # the same size of change, in random directions
with torch.no_grad():
    for i in range(5):
        w0, change = randomly_moved[i][0].weight, kaiming_model[i][0].weight - initial_model[i][0].weight
        noise = torch.randn_like(w0)
        w0.add_(noise * change.norm() / noise.norm())
print("output std, random change: ", block_stds(randomly_moved, xb))

# %% [markdown]
# Training changed the weights of blocks 1 and 4 by about a tenth of their norm and hardly changed
# their size, yet the outputs of blocks 2 to 4 grew two-and-a-half- to nearly fourfold; a change of
# the same size in random directions leaves them where they were. The direction of the gradient
# steps, which depends on the data, is what made each block pass on more of its input.
#
# The first two points, measured on 100 independent Kaiming draws of the same network, on 16
# images of that batch (the spread comes from the weights, not the images), with zero padding and
# with circular padding (where every pixel sees 9 real inputs):

# %%
def second_moments(padding, images, draws=100):
    """E[h²] after each of the five blocks of `deep_cnn`, for `draws` independent Kaiming draws.

    All draws run at once: network d owns channels 16d to 16d+15, and a grouped convolution
    (groups=draws) keeps the networks apart. Biases are zero, as `init_weights` sets them.
    """
    h = images.repeat(1, draws, 1, 1)  # (N, draws, 8, 8): every network sees the same images
    moments = []
    with torch.no_grad():
        for block in range(5):
            weight = torch.empty(draws * 16, h.shape[1] // draws, 3, 3)
            nn.init.kaiming_normal_(weight, nonlinearity="relu")  # fan_in = in_channels × 9, as in deep_cnn
            h = torch.relu(nn.functional.conv2d(nn.functional.pad(h, (1, 1, 1, 1), mode=padding), weight,
                                                groups=draws))
            moments.append(h.unflatten(1, (draws, 16)).square().mean(dim=(0, 2, 3, 4)))
    return torch.stack(moments, dim=1)  # (draws, 5)


print(f"input: root mean square {xb[:16].square().mean().sqrt():.3f}")
zero_pad, circular = second_moments("constant", xb[:16]), second_moments("circular", xb[:16])
print("        sqrt(E[h²]) averaged over draws      single draws (zero padding)")
print("        zero padding   circular padding")
for i in range(5):
    print(f"block{i}: {zero_pad[:, i].mean().sqrt():8.3f} {circular[:, i].mean().sqrt():14.3f}"
          f"             {zero_pad[:, i].sqrt().min():.3f} to {zero_pad[:, i].sqrt().max():.3f}")

h = xb  # the draw trained above: its std is below its root mean square, as ReLU outputs are >= 0
with torch.no_grad():
    for i, block in enumerate(list(initial_model)[:5]):
        h = block(h)
        print(f"trained draw, block{i}: std {h.std():.3f}, root mean square {h.square().mean().sqrt():.3f}")

# %% [markdown]
# Averaged over draws, Kaiming does roughly what it promises: with circular padding the root mean
# square stays within about 10% of the input's 0.50 through all five blocks (100 draws are a small
# sample of a quantity with a long tail), while with zero padding it falls block after block, to
# about 0.41. A single draw, though — and a network is a single draw — lands anywhere from a quarter
# to more than twice the input's value. Initialisation sets a sensible order of magnitude *on
# average*, at the start; it does not hold the scale of one network, nor during training.
#
# ## 10. From scratch: how `nn.Module` finds your layers
#
# No magic is involved. `nn.Module.__setattr__` (in `torch/nn/modules/module.py`) intercepts every
# `self.name = value`: a `Parameter` goes into `self._parameters`, a `Module` into `self._modules`.
# `parameters()` walks those dictionaries, and `__call__` wraps `forward`. A toy version that
# registers parameters (`Param` is a stand-in for `nn.Parameter` that wraps a tensor in `.data`):

# %%
class Param:
    def __init__(self, data):
        self.data = data.detach().clone().requires_grad_(True)


class TinyModule:
    def __init__(self):
        object.__setattr__(self, "_params", {})  # bypasses our __setattr__, as nn.Module.__init__ does

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
# The toy shows the registration idea; the real classes differ in two ways you can see:
#
# - A real `Parameter` **is** the tensor (a `torch.Tensor` subclass); the model computes with `p`
#   itself, and autograd fills `p.grad`. Its `p.data` is *not* the parameter: it is a new tensor
#   object, detached from autograd, that shares the storage. The toy's `Param.data` plays the role
#   of the real parameter.
# - The toy also stores the attribute in the instance `__dict__`. `nn.Module.__setattr__` does not:
#   a parameter lives **only** in `_parameters`, and `self.weight` is found by `Module.__getattr__`,
#   which Python calls only when the normal lookup fails. `_parameters` is the one place the
#   parameter lives, so `parameters()`, `state_dict()`, `.to()` and later assignments to the name all
#   go through it; `__setattr__` refuses to put a plain tensor under a registered parameter's name.

# %%
real = nn.Linear(3, 3)
print("toy:  'w' in __dict__:", "w" in affine.__dict__)
print("real: 'weight' in __dict__:", "weight" in real.__dict__,
      "| in _parameters:", "weight" in real._parameters,
      "| real.weight is real._parameters['weight']:", real.weight is real._parameters["weight"])
print("real.weight is a Tensor:", isinstance(real.weight, torch.Tensor),
      "| real.weight.data: type", type(real.weight.data).__name__,
      "requires_grad", real.weight.data.requires_grad,
      "same object:", real.weight.data is real.weight,
      "same storage:", real.weight.data.data_ptr() == real.weight.data_ptr())
try:
    real.weight = torch.zeros(3, 3)  # a plain tensor where a parameter is registered
except TypeError as error:
    print("TypeError:", error)

# %% [markdown]
# The toy also stops at one level: it ignores sub-modules. Registering them, walking them
# recursively and producing dotted names is part 1 of the assignment.
#
# ## Summary
#
# - Call `super().__init__()` first; then every `self.x = layer_or_parameter` is registered.
# - Always call `model(x)`: `__call__` runs hooks around `forward`; a hook that returns a value
#   replaces the output.
# - `children()` is one level, `modules()` / `named_modules()` are recursive.
# - Keep layers in `nn.Sequential`, `nn.ModuleList` or `nn.ModuleDict`, never in a plain list.
# - A shared parameter is yielded once by `parameters()` but has one `state_dict` key per name.
# - `train()` / `eval()` and `apply()` reach every sub-module; `eval()` does not stop autograd.
# - Convolutions take NCHW shapes; convert `(N, H, W, C)` images with `permute`, never `reshape`. The
#   result is NCHW in shape and `channels_last` in memory, which `Conv2d` accepts.
# - Forward hooks record what flows through a model; keep their handles and remove them.
# - Kaiming initialisation keeps the second moment on average over weight draws, not the std of
#   one network, and not during training; PyTorch's default starts this deep ReLU CNN too small to learn.
#
# ## Exercises
#
# 1. Register a forward *pre*-hook on `net.out` that prints the shape of its input. When does it run?
# 2. Replace `nn.ReLU()` by `nn.Tanh()` in `deep_cnn` and compare the activation plots.
# 3. What does `model.apply(print)` print, and in which order? Why is the root last?
