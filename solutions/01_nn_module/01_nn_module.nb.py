# %% [markdown readonly id=intro]
# # Assignment 1 — `nn.Module` from the inside
#
# You will build, in five graded parts:
#
# 1. a from-scratch `Parameter` and `Module` that register parameters and sub-modules (5 points);
# 2. a small CNN for the 8×8 digits, as a real `nn.Module` with specified shapes (5 points);
# 3. the conversion of a channels-last image batch to the NCHW tensor a `Conv2d` expects (3 points);
# 4. a forward-hook recorder of activation statistics that cleans up after itself (4 points);
# 5. a parameter count (3 points).
#
# Each part states its contract, then gives you an answer cell (replace `raise NotImplementedError()`)
# and a visible test cell. The visible tests check the contract; when you submit, hidden tests check
# more (other inputs, edge cases, gradients, the grading device). Press **Validate** to run everything.
# Read lecture 1 first: every idea you need is shown there.

# %% [readonly id=setup]
import numpy as np
import torch
from torch import nn

from grader.checks import check, check_close, check_equal, check_shape, check_type, student_call
from grader.device import describe_device, grading_device, to_device

torch.manual_seed(0)
print(describe_device())

# %% [markdown readonly id=part1]
# ## Part 1 — a minimal `Parameter` and `Module` (5 points)
#
# `torch.nn.Module` finds your layers and weights because its `__setattr__` intercepts every
# `self.name = value` and files parameters and sub-modules in two registries. Build that mechanism.
#
# **`Parameter(data)`** — a trainable tensor.
# - `data`: a float tensor. Store it as the attribute `.data`, as a *leaf* tensor with
#   `requires_grad=True`, so that `loss.backward()` fills `.data.grad`.
#
# **`Module`** — the base class.
# - `__init__(self)`: creates two empty dicts, `self._parameters` and `self._modules`.
# - `__setattr__(self, name, value)`: a `Parameter` is recorded in `_parameters[name]`, a `Module`
#   in `_modules[name]`; anything else is not recorded. In every case the attribute is also set
#   normally, so `self.name` works afterwards.
# - `parameters(self)`: yields this module's own parameters in the order they were assigned, then
#   those of each sub-module in the order the sub-modules were assigned, recursively.
# - `named_parameters(self)`: yields `(name, parameter)` pairs in the same order, with dotted names
#   like PyTorch's: `"lin1.weight"`, `"block.lin.bias"`.
# - `__call__(self, *args, **kwargs)`: returns `self.forward(*args, **kwargs)`.

# %% [answer id=scratch_module]
class Parameter:
    def __init__(self, data):
        ### BEGIN SOLUTION
        self.data = data.detach().clone().requires_grad_(True)
        ### END SOLUTION


class Module:
    def __init__(self):
        ### BEGIN SOLUTION
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        ### END SOLUTION

    def __setattr__(self, name, value):
        ### BEGIN SOLUTION
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)
        ### END SOLUTION

    def parameters(self):
        ### BEGIN SOLUTION
        for _, parameter in self.named_parameters():
            yield parameter
        ### END SOLUTION

    def named_parameters(self):
        ### BEGIN SOLUTION
        yield from self._parameters.items()
        for module_name, module in self._modules.items():
            for name, parameter in module.named_parameters():
                yield f"{module_name}.{name}", parameter
        ### END SOLUTION

    def __call__(self, *args, **kwargs):
        ### BEGIN SOLUTION
        return self.forward(*args, **kwargs)
        ### END SOLUTION

    def forward(self, *args, **kwargs):
        raise NotImplementedError("subclasses define forward")

# %% [tests id=test_scratch_module points=2]
class Linear(Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = Parameter(torch.randn(n_in, n_out) / n_in**0.5)
        self.bias = Parameter(torch.zeros(n_out))
        self.scale = 1.0  # a plain attribute: not a parameter

    def forward(self, x):
        return (x @ self.weight.data + self.bias.data) * self.scale


class TwoLayer(Module):
    def __init__(self):
        super().__init__()
        self.lin1 = Linear(4, 8)
        self.lin2 = Linear(8, 2)

    def forward(self, x):
        return self.lin2(self.lin1(x).relu())


net = student_call("TwoLayer()", TwoLayer)
names = [name for name, _ in student_call("named_parameters()", lambda: list(net.named_parameters()))]
check_equal(names, ["lin1.weight", "lin1.bias", "lin2.weight", "lin2.bias"], "names from named_parameters()",
            mistakes={"parameters() does not recurse into sub-modules: only the top level is searched": []})
check_equal(len(list(net.parameters())), 4, "number of tensors from parameters()")
check_shape(student_call("net(x)", net, torch.randn(3, 4)), (3, 2), "net(x) for x of shape (3, 4)")
print("Part 1 visible tests passed.")

# %% [tests id=test_scratch_module_hidden points=3]
# Hidden tests for Parameter and Module run here when your work is graded.
### BEGIN HIDDEN TESTS
class _Leaf(Module):
    def __init__(self):
        super().__init__()
        self.w = Parameter(torch.full((2, 3), 0.5))
        self.constant = torch.ones(3)  # a plain tensor is not a parameter
        self.name = "leaf"

    def forward(self, x):
        return x @ self.w.data


class _Block(Module):
    def __init__(self):
        super().__init__()
        self.gain = Parameter(torch.tensor(2.0))
        self.inner = _Leaf()

    def forward(self, x):
        return self.inner(x) * self.gain.data


class _Deep(Module):
    def __init__(self):
        super().__init__()
        self.first = _Block()
        self.second = _Block()
        self.bias = Parameter(torch.zeros(3))

    def forward(self, x):
        return self.second(self.first(x)[:, :2]) + self.bias.data


deep = student_call("a 3-level module", _Deep)
expected_names = ["bias", "first.gain", "first.inner.w", "second.gain", "second.inner.w"]
got_names = [n for n, _ in student_call("named_parameters() of a 3-level module", lambda: list(deep.named_parameters()))]
check_equal(got_names, expected_names, "named_parameters() of a 3-level module",
            mistakes={"parameters() does not recurse into sub-modules: only the top level is searched": ["bias"],
                      "named_parameters() drops the sub-module prefix (expected dotted names like 'first.gain')":
                      ["bias", "gain", "w", "gain", "w"],
                      "every tensor was registered: only Parameter objects are parameters":
                      lambda names: any(name.endswith("constant") for name in names)})
check(all(isinstance(p, Parameter) for p in deep.parameters()), "parameters() must yield Parameter objects.")
leaf = _Leaf()
check(getattr(leaf, "name", None) == "leaf" and getattr(leaf, "w", None) is leaf._parameters.get("w"),
      "attributes must still be readable after assignment (self.name = ... then self.name).",
      hint="__setattr__ must also set the attribute itself: object.__setattr__(self, name, value)")
check_equal([n for n, _ in leaf.named_parameters()], ["w"], "parameters of a module holding a plain tensor",
            hint="every tensor was registered: only Parameter objects are parameters")
x = torch.randn(4, 2)
out = student_call("calling a module", deep, x)
check_shape(out, (4, 3), "deep(x)", hint="__call__ must pass its arguments to forward and return its result")
student_call("out.sum().backward()", out.sum().backward,
             known_errors={"does not require grad": "Parameter.data must be a leaf tensor with requires_grad=True"})
check(all(p.data.grad is not None for p in deep.parameters()),
      "after backward(), every parameter's .data.grad must be set.",
      hint="Parameter.data must be a leaf tensor with requires_grad=True")
source = torch.randn(2, 2)
p = Parameter(source)
check(p.data.is_leaf and p.data.requires_grad, "Parameter.data must be a leaf tensor that requires grad.",
      hint="Parameter.data must be a leaf tensor with requires_grad=True")
### END HIDDEN TESTS

# %% [markdown readonly id=part2]
# ## Part 2 — a small CNN for the digits (5 points)
#
# **`SmallCNN(n_classes=10)`**, a subclass of `torch.nn.Module`, maps a batch of 8×8 grey digits
# `(N, 1, 8, 8)` (float32) to logits `(N, n_classes)`, for **any** batch size `N`:
#
# | step | layer | output shape |
# |---|---|---|
# | 1 | `Conv2d(1, 16, kernel_size=3, padding=1)`, ReLU, `MaxPool2d(2)` | `(N, 16, 4, 4)` |
# | 2 | `Conv2d(16, 32, kernel_size=3, padding=1)`, ReLU, `MaxPool2d(2)` | `(N, 32, 2, 2)` |
# | 3 | flatten all but the batch dimension | `(N, 128)` |
# | 4 | `Linear(128, n_classes)` | `(N, n_classes)` |
#
# Organise the layers as you like (attributes, `nn.Sequential`, `nn.ModuleList`…), as long as
# PyTorch registers them: `model.parameters()` must return all six weight and bias tensors.

# %% [answer id=small_cnn]
class SmallCNN(nn.Module):
    def __init__(self, n_classes=10):
        ### BEGIN SOLUTION
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Linear(128, n_classes)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.head(self.features(x).flatten(1))
        ### END SOLUTION

# %% [tests id=test_small_cnn points=2]
_cnn_errors = {
    "before Module.__init__() call": "super().__init__() is not called first in __init__",
    "is invalid for input of size": "a hard-coded batch size in view/reshape: use x.flatten(1)",
    "mat1 and mat2 shapes cannot be multiplied": "the flattened features are not (N, 128): "
                                                 "check padding=1 and flatten(1), which keeps the batch dimension",
}
model = student_call("SmallCNN()", SmallCNN, known_errors=_cnn_errors)
for batch in (2, 5):
    logits = student_call(f"SmallCNN()(x) with x of shape ({batch}, 1, 8, 8)", model,
                          torch.randn(batch, 1, 8, 8), known_errors=_cnn_errors)
    check_shape(logits, (batch, 10), f"logits for a batch of {batch}",
                hint="flatten keeps the batch dimension: x.flatten(1), not x.flatten() or x.view(-1)")
x = torch.randn(2, 1, 8, 8)
check_close(model(x), model(x), "two forward passes on the same input",
            hint="layers are created inside forward(), so they get new random weights at every call")
n_tensors = len(list(model.parameters()))
check_equal(n_tensors, 6, "number of parameter tensors registered in SmallCNN",
            mistakes={"the layers live in a plain Python list, which nn.Module does not register: "
                      "use nn.ModuleList or nn.Sequential": lambda n: n < 6})
check_shape(SmallCNN(n_classes=3)(torch.randn(1, 1, 8, 8)), (1, 3), "logits with n_classes=3")
print("Part 2 visible tests passed.")

# %% [tests id=test_small_cnn_hidden points=3]
# Hidden tests for SmallCNN run here when your work is graded.
### BEGIN HIDDEN TESTS
import torch.nn.functional as F


def _reference_cnn(x, weights):
    h = F.max_pool2d(F.relu(F.conv2d(x, weights[(16, 1, 3, 3)], weights[(16,)], padding=1)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, weights[(32, 16, 3, 3)], weights[(32,)], padding=1)), 2)
    return F.linear(h.flatten(1), weights[(10, 128)], weights[(10,)])


torch.manual_seed(1)
model = to_device(student_call("SmallCNN()", SmallCNN, known_errors=_cnn_errors))
x = to_device(torch.randn(64, 1, 8, 8))
first = student_call("model(x)", model, x, known_errors=_cnn_errors)
check_close(model(x), first, "two forward passes on the same input",
            hint="layers are created inside forward(), so they get new random weights at every call")
weights = {tuple(p.shape): p for p in model.parameters()}
check_equal(sorted(weights), sorted([(16, 1, 3, 3), (16,), (32, 16, 3, 3), (32,), (10, 128), (10,)]),
            "shapes of the registered parameters",
            mistakes={"the layers live in a plain Python list, which nn.Module does not register: "
                      "use nn.ModuleList or nn.Sequential": lambda shapes: len(shapes) < 6})
check_equal(sum(p.numel() for p in model.parameters()), 6090, "number of trainable values in SmallCNN")
with torch.no_grad():
    expected = _reference_cnn(x, weights)
check_close(first, expected, "logits compared with the specified architecture", atol=1e-4,
            hint="check the order conv → ReLU → max-pool in each step, and that flatten(1) is used")
first.sum().backward()
check(all(p.grad is not None for p in model.parameters()),
      "after backward(), every parameter of SmallCNN must have a gradient.")
model.eval()
check(all(not m.training for m in model.modules()), "model.eval() must reach every sub-module.")
### END HIDDEN TESTS

# %% [markdown readonly id=part3]
# ## Part 3 — channels-last images to an NCHW batch (3 points)
#
# Image libraries (PIL, OpenCV, NumPy arrays from files) store pixels channels-last: `(N, H, W, C)`,
# `uint8` in 0‥255. A `Conv2d` expects `(N, C, H, W)` floats.
#
# **`images_to_batch(images)`**
# - `images`: a NumPy `uint8` array of shape `(N, H, W, C)`.
# - returns: a `torch.float32` tensor of shape `(N, C, H, W)` with values in `[0, 1]` (pixel / 255),
#   where `out[n, c, h, w] == images[n, h, w, c] / 255`.

# %% [answer id=images_to_batch]
def images_to_batch(images):
    ### BEGIN SOLUTION
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    ### END SOLUTION

# %% [tests id=test_images_to_batch points=1]
from courselib.data import digits_nhwc_uint8

images = digits_nhwc_uint8(4)  # (4, 8, 8, 3) uint8, channels-last
batch = student_call("images_to_batch(images)", images_to_batch, images)
check_type(batch, torch.Tensor, "images_to_batch(images)")
check_shape(batch, (4, 3, 8, 8), "images_to_batch(images)",
            mistakes={"the channels-last array was not permuted to NCHW: use .permute(0, 3, 1, 2)": (4, 8, 8, 3)})
check_equal(batch.dtype, torch.float32, "dtype of images_to_batch(images)",
            hint="divide by 255 after converting to float32: NumPy's images / 255.0 gives float64")
print("Part 3 visible tests passed.")

# %% [tests id=test_images_to_batch_hidden points=2]
# Hidden tests for images_to_batch run here when your work is graded.
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(3)
images = rng.integers(0, 256, size=(5, 6, 7, 3), dtype=np.uint8)  # non-square on purpose
batch = student_call("images_to_batch on a (5, 6, 7, 3) array", images_to_batch, images)
raw = torch.from_numpy(images)
check_shape(batch, (5, 3, 6, 7), "images_to_batch on a (5, 6, 7, 3) array",
            mistakes={"the channels-last array was not permuted to NCHW: use .permute(0, 3, 1, 2)": (5, 6, 7, 3),
                      "height and width are swapped: permute(0, 3, 2, 1) transposes the image; "
                      "use permute(0, 3, 1, 2)": (5, 3, 7, 6)})
check_equal(batch.dtype, torch.float32, "dtype of images_to_batch(...)",
            hint="divide by 255 after converting to float32: NumPy's images / 255.0 gives float64")
expected = raw.permute(0, 3, 1, 2).float() / 255
check_close(batch, expected, "pixel values of images_to_batch(...)",
            mistakes={"reshape/view was used to change the layout: it keeps memory order and scrambles "
                      "pixels across channels; use permute(0, 3, 1, 2)": raw.reshape(5, 3, 6, 7).float() / 255,
                      "pixels were not scaled to [0, 1]: divide by 255": raw.permute(0, 3, 1, 2).float()})
### END HIDDEN TESTS

# %% [markdown readonly id=part4]
# ## Part 4 — recording activation statistics with forward hooks (4 points)
#
# **`ActivationStats(modules)`** records, at every forward call, the mean and standard deviation of
# the **output** of each watched module.
# - `modules`: a dict `{name: module}`; the hooks are registered in `__init__`.
# - `self.means[name]` and `self.stds[name]`: lists of Python floats, one per forward call of that
#   module, in call order (`output.mean().item()`, `output.std().item()` — torch's default std).
# - `remove()`: removes every hook it registered; after it, forward calls record nothing.
#   Calling it twice is harmless.
# - It is a context manager: `with ActivationStats(...) as stats:` returns the recorder and removes
#   the hooks on exit, even when the block raises.

# %% [answer id=activation_stats]
class ActivationStats:
    def __init__(self, modules):
        ### BEGIN SOLUTION
        self.means = {name: [] for name in modules}
        self.stds = {name: [] for name in modules}

        def recorder(name):
            def hook(module, inputs, output):
                self.means[name].append(output.detach().mean().item())
                self.stds[name].append(output.detach().std().item())
            return hook

        self.handles = [module.register_forward_hook(recorder(name)) for name, module in modules.items()]
        ### END SOLUTION

    def remove(self):
        ### BEGIN SOLUTION
        for handle in self.handles:
            handle.remove()
        self.handles = []
        ### END SOLUTION

    def __enter__(self):
        ### BEGIN SOLUTION
        return self
        ### END SOLUTION

    def __exit__(self, *exc_info):
        ### BEGIN SOLUTION
        self.remove()
        ### END SOLUTION

# %% [tests id=test_activation_stats points=2]
torch.manual_seed(0)
mlp = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
x = torch.randn(16, 4)
with student_call("ActivationStats({...})", ActivationStats, {"hidden": mlp[0], "out": mlp[2]}) as stats:
    mlp(x)
    mlp(x)
check_equal(sorted(stats.means), ["hidden", "out"], "keys of stats.means")
check_equal(len(stats.means["hidden"]), 2, "number of means recorded for two forward calls",
            mistakes={"each call overwrites the previous statistics instead of appending": 1})
check_type(stats.means["hidden"][0], float, "stats.means['hidden'][0]",
           hint="store output.mean().item(), a float, not the tensor (which keeps the graph alive)")
check_close(stats.means["hidden"][0], mlp[0](x).mean().item(), "mean of the hidden layer's output",
            mistakes={"the hook records the module's input, not its output": x.mean().item()})
mlp(x)
check_equal(len(stats.means["hidden"]), 2, "statistics recorded after the with-block ended",
            hint="hooks were never removed: keep the handles from register_forward_hook and call .remove()")
print("Part 4 visible tests passed.")

# %% [tests id=test_activation_stats_hidden points=2]
# Hidden tests for ActivationStats run here when your work is graded.
### BEGIN HIDDEN TESTS
torch.manual_seed(5)
conv = to_device(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 3)))
inputs = [to_device(torch.randn(n, 3, 9, 9)) for n in (2, 7, 3)]
expected_means = {"conv1": [conv[0](x).mean().item() for x in inputs],
                  "relu": [conv[1](conv[0](x)).mean().item() for x in inputs],
                  "conv2": [conv(x).mean().item() for x in inputs]}
expected_stds = {"conv2": [conv(x).std().item() for x in inputs]}
population_stds = [conv(x).std(unbiased=False).item() for x in inputs]
variances = [conv(x).var().item() for x in inputs]
recorder = student_call("ActivationStats", ActivationStats, {"conv1": conv[0], "relu": conv[1], "conv2": conv[2]})
for x in inputs:
    conv(x)
check_close(torch.tensor(recorder.means["relu"]), torch.tensor(expected_means["relu"]),
            "means of the ReLU's outputs over 3 calls",
            mistakes={"the hook records the module's input, not its output":
                      torch.tensor(expected_means["conv1"])})
check_close(torch.tensor(recorder.means["conv2"]), torch.tensor(expected_means["conv2"]), "means of conv2's outputs")
check_close(torch.tensor(recorder.stds["conv2"]), torch.tensor(expected_stds["conv2"]), "stds of conv2's outputs",
            mistakes={"the std is the population std (unbiased=False); use torch's default output.std()":
                      torch.tensor(population_stds),
                      "the variance was recorded, not the standard deviation: use output.std()":
                      torch.tensor(variances)})
recorder.remove()
recorder.remove()
check(all(len(m._forward_hooks) == 0 and len(m._forward_pre_hooks) == 0 for m in conv),
      "after remove(), the modules must have no hooks left.",
      hint="hooks were never removed: keep the handles from register_forward_hook and call .remove()")
try:
    with ActivationStats({"conv1": conv[0]}):
        raise KeyboardInterrupt  # any exception inside the block
except KeyboardInterrupt:
    pass
check(len(conv[0]._forward_hooks) == 0, "hooks must be removed when the with-block raises.",
      hint="__exit__ must call remove() whatever happened in the block")
### END HIDDEN TESTS

# %% [markdown readonly id=part5]
# ## Part 5 — counting parameters (3 points)
#
# **`count_parameters(model)`** returns the number of trainable values (scalars) in the parameters
# of an `nn.Module`, as a Python `int`. A parameter shared by two layers counts once; buffers (such as
# BatchNorm's running statistics) are not parameters.

# %% [answer id=count_parameters]
def count_parameters(model):
    ### BEGIN SOLUTION
    return sum(p.numel() for p in model.parameters())
    ### END SOLUTION

# %% [tests id=test_count_parameters points=1]
lin = nn.Linear(3, 4)
count = student_call("count_parameters(nn.Linear(3, 4))", count_parameters, lin)
check_equal(count, 16, "count_parameters(nn.Linear(3, 4))",
            mistakes={"counted parameter tensors instead of their values: sum p.numel()": 2})
check_type(count, int, "count_parameters(...)")
print("Part 5 visible tests passed.")

# %% [tests id=test_count_parameters_hidden points=2]
# Hidden tests for count_parameters run here when your work is graded.
### BEGIN HIDDEN TESTS
import torchvision

net = torchvision.models.resnet18(weights=None)
expected = sum(p.numel() for p in net.parameters())
check_equal(student_call("count_parameters(resnet18)", count_parameters, net), expected,
            "count_parameters(resnet18)",
            mistakes={"counted parameter tensors instead of their values: sum p.numel()": len(list(net.parameters())),
                      "counted the state_dict, which also holds buffers (BatchNorm running statistics)":
                      sum(t.numel() for t in net.state_dict().values()),
                      "parameters were counted once per enclosing module: model.parameters() already recurses":
                      sum(p.numel() for m in net.modules() for p in m.parameters())})


class _Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(5, 3, bias=False)
        self.unembed = nn.Linear(3, 5, bias=False)
        self.unembed.weight = nn.Parameter(self.embed.weight.T.contiguous())
        self.decoder = nn.Linear(5, 3, bias=False)
        self.decoder.weight = self.embed.weight  # the same Parameter in two layers


tied = _Tied()
check_equal(count_parameters(tied), 30, "count_parameters of a model whose weight is shared by two layers",
            hint="a shared parameter counts once: model.parameters() yields each Parameter once")
### END HIDDEN TESTS
