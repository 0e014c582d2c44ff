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

from grader.checks import (Clauses, check, check_close, check_equal, check_shape, check_type, describe,
                           fail, student_call)
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
# - `data`: a float tensor; it may itself require grad or be the result of a computation.
# - Stores the attribute `.data`: a *leaf* tensor with `requires_grad=True` and the values of `data`,
#   so that `loss.backward()` fills `.data.grad`. Whether `.data` shares memory with `data` is up to
#   you (both are accepted), but `data` itself must not change: not its values, not its
#   `requires_grad` flag.
#
# **`Module`** — the base class.
# - `__init__(self)`: creates two empty dicts, `self._parameters` and `self._modules`, new ones for
#   each instance.
# - `__setattr__(self, name, value)`: a `Parameter` is recorded in `_parameters[name]`, a `Module`
#   in `_modules[name]`; anything else is not recorded. In every case the attribute is also set
#   normally, so `self.name` works afterwards. The registries always agree with the attributes:
#   assigning a new `Parameter` (or `Module`) to a registered name replaces the old one, and
#   assigning anything else (a tensor, `None`, a number) to a registered name removes that name
#   from its registry.
# - `parameters(self)`: yields this module's own parameters in the order they were assigned, then
#   those of each sub-module in the order the sub-modules were assigned, recursively. A `Parameter`
#   object reachable through several names (a weight shared by two layers, or one sub-module
#   assigned twice) is yielded **once**, where it is first met, as PyTorch does. Every call starts a
#   new pass: calling it twice yields the same parameters twice over.
# - `named_parameters(self)`: yields `(name, parameter)` pairs in the same order (and with the same
#   rule for shared parameters), with dotted names like PyTorch's: `"lin1.weight"`, `"block.lin.bias"`.
# - `__call__(self, *args, **kwargs)`: returns `self.forward(*args, **kwargs)`, positional and
#   keyword arguments passed on unchanged.

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
            self._modules.pop(name, None)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._parameters.pop(name, None)
            self._modules[name] = value
        else:
            self._parameters.pop(name, None)
            self._modules.pop(name, None)
        object.__setattr__(self, name, value)
        ### END SOLUTION

    def parameters(self):
        ### BEGIN SOLUTION
        for _, parameter in self.named_parameters():
            yield parameter
        ### END SOLUTION

    def named_parameters(self):
        ### BEGIN SOLUTION
        def walk(module, prefix):
            for name, parameter in module._parameters.items():
                yield prefix + name, parameter
            for name, child in module._modules.items():
                yield from walk(child, prefix + name + ".")

        seen = set()
        for name, parameter in walk(self, ""):
            if id(parameter) not in seen:
                seen.add(id(parameter))
                yield name, parameter
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


clauses = Clauses(points=2)
with clauses.clause("named_parameters() yields dotted names recursively", points=1):
    net = student_call("TwoLayer()", TwoLayer)
    names = [name for name, _ in student_call("list(TwoLayer().named_parameters())",
                                              lambda: list(net.named_parameters()))]
    check_equal(names, ["lin1.weight", "lin1.bias", "lin2.weight", "lin2.bias"],
                "names from TwoLayer().named_parameters()")
    check_equal(len(student_call("list(TwoLayer().parameters())", lambda: list(net.parameters()))), 4,
                "number of tensors from TwoLayer().parameters()")
with clauses.clause("calling a module runs its forward", points=1):
    net = student_call("TwoLayer()", TwoLayer)
    check_shape(student_call("TwoLayer()(x) for x of shape (3, 4)", net, torch.randn(3, 4)), (3, 2),
                "TwoLayer()(x) for x of shape (3, 4)")
clauses.verdict()

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
        self.inner = _Leaf()  # a sub-module assigned before the module's own parameter
        self.gain = Parameter(torch.tensor(2.0))

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


class _Scaled(Module):
    def __init__(self):
        super().__init__()
        self.w = Parameter(torch.ones(2))

    def forward(self, x, shift=0.0, *, scale=1.0):
        return (x * self.w.data + shift) * scale


class _Shared(Module):
    def __init__(self):
        super().__init__()
        self.embed = _Leaf()
        self.decode = _Leaf()
        self.decode.w = self.embed.w  # one Parameter, two layers
        self.again = self.embed       # one sub-module under two names
        self.tail = Parameter(torch.zeros(1))


clauses = Clauses(points=3)
with clauses.clause("__setattr__ records Parameters and Modules (and nothing else) in per-instance dicts",
                    points=0.5):
    leaf = student_call("_Leaf() (a Parameter, a plain tensor and a string assigned)", _Leaf)
    check_equal(sorted(student_call("leaf._parameters", lambda: dict(leaf._parameters))), ["w"],
                "names in leaf._parameters after assigning a Parameter, a plain tensor and a string")
    check(leaf._parameters["w"] is leaf.w, "leaf._parameters['w'] must be the Parameter assigned to self.w.")
    block = student_call("_Block()", _Block)
    check_equal(sorted(block._modules), ["inner"], "names in block._modules")
    check(block._modules["inner"] is block.inner, "block._modules['inner'] must be the Module assigned.")
    other = _Leaf()
    check(other._parameters is not leaf._parameters and other._parameters["w"] is other.w,
          "two instances share one _parameters dict: each Module needs its own registries, "
          "created in __init__ (not as class attributes).")
with clauses.clause("attributes are set normally and the registries follow reassignment", points=0.5):
    leaf = _Leaf()
    check(getattr(leaf, "name", None) == "leaf" and isinstance(getattr(leaf, "w", None), Parameter)
          and isinstance(getattr(leaf, "constant", None), torch.Tensor),
          "after self.w = Parameter(...), self.constant = tensor, self.name = 'leaf', reading those "
          "attributes back must give the assigned values.")
    replacement = Parameter(torch.zeros(2, 3))
    student_call("leaf.w = a new Parameter", setattr, leaf, "w", replacement)
    check(leaf._parameters.get("w") is replacement and leaf.w is replacement,
          "after assigning a new Parameter to leaf.w, leaf._parameters['w'] must be the new Parameter.")
    student_call("leaf.w = torch.zeros(2, 3) (a plain tensor over a registered Parameter)",
                 setattr, leaf, "w", torch.zeros(2, 3))
    check_equal([n for n, _ in leaf.named_parameters()], [],
                "named_parameters() after a plain tensor was assigned over the Parameter leaf.w "
                "(the name must leave _parameters)")
    block = _Block()
    student_call("block.inner = None (over a registered sub-module)", setattr, block, "inner", None)
    check_equal([n for n, _ in block.named_parameters()], ["gain"],
                "named_parameters() after block.inner = None (the name must leave _modules)")
    block = _Block()
    student_call("block.inner = Parameter(...) (a Parameter over a registered sub-module)", setattr, block, "inner",
                 Parameter(torch.ones(1)))
    check_equal(sorted(n for n, _ in block.named_parameters()), ["gain", "inner"],
                "named_parameters() after a Parameter was assigned over the sub-module block.inner")
    leaf = _Leaf()
    student_call("leaf.w = _Leaf() (a sub-module over a registered Parameter)", setattr, leaf, "w", _Leaf())
    check_equal([n for n, _ in leaf.named_parameters()], ["w.w"],
                "named_parameters() after a sub-module was assigned over the Parameter leaf.w")
with clauses.clause("parameters()/named_parameters(): own first, then sub-modules in assignment order, "
                    "recursively, with dotted names, a new pass per call", points=0.5):
    deep = student_call("a 3-level module", _Deep)
    expected_names = ["bias", "first.gain", "first.inner.w", "second.gain", "second.inner.w"]
    pairs = student_call("list(named_parameters()) of a 3-level module", lambda: list(deep.named_parameters()))
    check_equal([n for n, _ in pairs], expected_names,
                "names from named_parameters() of a module whose sub-modules are assigned before its "
                "own parameter, 3 levels deep")
    listed = student_call("list(parameters()) of a 3-level module", lambda: list(deep.parameters()))
    check(len(listed) == 5 and all(a is b for a, b in zip(listed, [p for _, p in pairs])),
          "parameters() must yield the same Parameter objects as named_parameters(), in the same order.")
    again = student_call("list(parameters()) called a second time", lambda: list(deep.parameters()))
    check_equal(len(again), 5, "number of parameters from a second call of parameters()")
with clauses.clause("a Parameter reachable through several names is yielded once, where first met",
                    points=0.5):
    shared = student_call("a module with a shared weight and a sub-module under two names", _Shared)
    check_equal([n for n, _ in student_call("list(named_parameters())", lambda: list(shared.named_parameters()))],
                ["tail", "embed.w"],
                "named_parameters() of a module whose two layers share one weight and whose sub-module is "
                "assigned under two names")
    check_equal(len(list(shared.parameters())), 2, "number of parameters yielded by parameters() of that module")
with clauses.clause("__call__ passes positional and keyword arguments to forward and returns its result",
                    points=0.5):
    scaled = _Scaled()
    x = torch.tensor([1.0, 2.0])
    got = student_call("module(x, 1.0, scale=3.0) for forward(self, x, shift=0.0, *, scale=1.0)", scaled, x, 1.0,
                       scale=3.0)
    check_close(got, torch.tensor([6.0, 9.0]), "module(x, 1.0, scale=3.0) for forward(x, shift, *, scale)")
    got = student_call("module(x=x, shift=2.0)", scaled, x=x, shift=2.0)
    check_close(got, torch.tensor([3.0, 4.0]), "module(x=x, shift=2.0) with every argument given by keyword")
with clauses.clause("Parameter.data is a leaf that requires grad, holds data's values, and data is unchanged",
                    points=0.5):
    source = torch.randn(2, 2)
    values = source.clone()
    p = student_call("Parameter(a plain tensor)", Parameter, source)
    check(isinstance(getattr(p, "data", None), torch.Tensor) and p.data.is_leaf and p.data.requires_grad,
          "Parameter(torch.randn(2, 2)).data must be a leaf tensor that requires grad.")
    check(not source.requires_grad and torch.equal(source, values),
          "Parameter(data) changed its input: data.requires_grad is now "
          f"{source.requires_grad} (it was False).")
    weight = torch.randn(2, 3, requires_grad=True)
    computed = weight * 2  # the result of a computation: not a leaf
    p = student_call("Parameter(w * 2) for w that requires grad", Parameter, computed)
    check(p.data.is_leaf and p.data.requires_grad,
          "Parameter(w * 2), for a w that requires grad, must store a leaf tensor that requires grad "
          f"(got is_leaf={p.data.is_leaf}, requires_grad={p.data.requires_grad}).")
    check_close(p.data.detach(), (weight * 2).detach(), "Parameter(w * 2).data values")
    deep = _Deep()
    out = student_call("deep(x)", deep, torch.randn(4, 2))
    student_call("deep(x).sum().backward()", out.sum().backward)
    missing = [n for n, q in deep.named_parameters() if q.data.grad is None]
    check_equal(missing, [], "parameters whose .data.grad is still None after backward()")
clauses.verdict()
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
clauses = Clauses(points=2)
with clauses.clause("logits of shape (N, n_classes) for any batch size", points=1):
    model = student_call("SmallCNN()", SmallCNN)
    for batch in (2, 5):
        logits = student_call(f"SmallCNN()(x) with x of shape ({batch}, 1, 8, 8)", model, torch.randn(batch, 1, 8, 8))
        check_shape(logits, (batch, 10), f"SmallCNN()(x) for a batch of {batch}")
    check_shape(student_call("SmallCNN(n_classes=3)(x)", SmallCNN(n_classes=3), torch.randn(1, 1, 8, 8)), (1, 3),
                "SmallCNN(n_classes=3)(x) for x of shape (1, 1, 8, 8)")
with clauses.clause("the six weight and bias tensors are registered", points=1):
    model = student_call("SmallCNN()", SmallCNN)
    check_equal(len(list(model.parameters())), 6, "number of parameter tensors registered in SmallCNN()")
clauses.verdict()

# %% [tests id=test_small_cnn_hidden points=3]
# Hidden tests for SmallCNN run here when your work is graded.
### BEGIN HIDDEN TESTS
import torch.nn.functional as F

_SHAPES = [(16, 1, 3, 3), (16,), (32, 16, 3, 3), (32,), (10, 128), (10,)]


def _reference_cnn(x, weights):
    h = F.max_pool2d(F.relu(F.conv2d(x, weights[(16, 1, 3, 3)], weights[(16,)], padding=1)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, weights[(32, 16, 3, 3)], weights[(32,)], padding=1)), 2)
    return F.linear(h.flatten(1), weights[(10, 128)], weights[(10,)])


clauses = Clauses(points=3)
with clauses.clause("the registered parameters have the specified shapes", points=0.5):
    torch.manual_seed(1)
    model = student_call("SmallCNN()", SmallCNN)
    check_equal(sorted(tuple(p.shape) for p in model.parameters()), sorted(_SHAPES),
                "shapes of the tensors from SmallCNN().parameters()")
with clauses.clause("the logits are those of the specified architecture, for N = 64 and N = 1", points=1):
    torch.manual_seed(1)
    model = to_device(student_call("SmallCNN()", SmallCNN))
    weights = {tuple(p.shape): p.detach() for p in model.parameters()}
    _missing = [shape for shape in _SHAPES if shape not in weights]
    check(not _missing, f"the logits cannot be compared with the specified architecture: SmallCNN() has no "
                        f"parameter of shape {_missing[0] if _missing else ()} (its parameter shapes: "
                        f"{sorted(weights)})")
    for n in (64, 1):
        x = to_device(torch.randn(n, 1, 8, 8))
        got = student_call(f"SmallCNN()(x) for x of shape ({n}, 1, 8, 8)", model, x)
        with torch.no_grad():
            expected = _reference_cnn(x, weights)
        check_close(got, expected, f"SmallCNN()(x) for x of shape ({n}, 1, 8, 8), compared with conv → ReLU → "
                    f"max-pool twice, flatten(1), linear (using the model's own weights)", atol=1e-4,
                    mistakes={"softmax applied to the output: the contract asks for logits":
                              torch.softmax(expected, dim=1)})
with clauses.clause("n_classes sets the number of outputs (by keyword or by position)", points=0.5):
    check_shape(student_call("SmallCNN(n_classes=7)(x)", lambda: SmallCNN(n_classes=7)(torch.randn(3, 1, 8, 8))),
                (3, 7), "SmallCNN(n_classes=7)(x) for x of shape (3, 1, 8, 8)")
    check_shape(student_call("SmallCNN(4)(x)", lambda: SmallCNN(4)(torch.randn(2, 1, 8, 8))), (2, 4),
                "SmallCNN(4)(x) for x of shape (2, 1, 8, 8)")
with clauses.clause("a forward pass is a function of its input: same result twice, input unchanged",
                    points=0.5):
    model = to_device(student_call("SmallCNN()", SmallCNN))
    x = to_device(torch.randn(8, 1, 8, 8) - 0.5)
    kept = x.clone()
    first = student_call("model(x)", model, x)
    second = student_call("model(x) a second time", model, x)
    check_close(second, first, "a second forward pass on the same input")
    check(torch.equal(x, kept), "model(x) modified its input x (an in-place operation on the input).")
with clauses.clause("gradients reach every parameter and eval() reaches every layer", points=0.5):
    model = to_device(student_call("SmallCNN()", SmallCNN))
    x = to_device(torch.randn(4, 1, 8, 8, requires_grad=True))
    student_call("model(x).sum().backward()", lambda: model(x).sum().backward())
    check_equal([n for n, p in model.named_parameters() if p.grad is None], [],
                "parameters of SmallCNN without a gradient after backward()")
    check(x.grad is not None, "after backward(), the input x (which requires grad) must have a gradient.")
    model.eval()
    check(all(not m.training for m in model.modules()), "model.eval() must reach every sub-module.")
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part3]
# ## Part 3 — channels-last images to an NCHW batch (3 points)
#
# Image libraries (PIL, OpenCV, NumPy arrays from files) store pixels channels-last: `(N, H, W, C)`,
# `uint8` in 0‥255. A `Conv2d` expects `(N, C, H, W)` floats.
#
# **`images_to_batch(images)`**
# - `images`: a NumPy `uint8` array of shape `(N, H, W, C)`, any `N`, `H`, `W` and any number of
#   channels `C`; it may be a non-contiguous view such as `images[..., ::-1]` (BGR to RGB). It must
#   not be modified.
# - returns: a `torch.float32` tensor of shape `(N, C, H, W)` with
#   `out[n, c, h, w] == images[n, h, w, c] / 255` (the fixed 255, whatever the largest pixel is),
#   to within `1e-6` (so `x * (1 / 255)` is accepted as well as `x / 255`).

# %% [answer id=images_to_batch]
def images_to_batch(images):
    ### BEGIN SOLUTION
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255
    ### END SOLUTION

# %% [tests id=test_images_to_batch points=1]
from courselib.data import digits_nhwc_uint8

images = digits_nhwc_uint8(4)  # (4, 8, 8, 3) uint8, channels-last
clauses = Clauses(points=1)
with clauses.clause("a float32 tensor of shape (N, C, H, W)", points=0.5):
    batch = student_call("images_to_batch(images)", images_to_batch, images)
    check_type(batch, torch.Tensor, "images_to_batch(images)")
    check_shape(batch, (4, 3, 8, 8), "images_to_batch(images) for images of shape (4, 8, 8, 3)")
    check_equal(batch.dtype, torch.float32, "dtype of images_to_batch(images)")
with clauses.clause("values are pixel / 255", points=0.5):
    batch = student_call("images_to_batch(images)", images_to_batch, images)
    check_close(batch.double(), torch.from_numpy(images).permute(0, 3, 1, 2).double() / 255,
                "images_to_batch(images) for the first 4 digits", atol=1e-6, rtol=0)
clauses.verdict()

# %% [tests id=test_images_to_batch_hidden points=2]
# Hidden tests for images_to_batch run here when your work is graded.
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(3)


def _expected_batch(images):
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255


clauses = Clauses(points=2)
with clauses.clause("the layout is (N, C, H, W) with out[n, c, h, w] = images[n, h, w, c], for any H, W, C",
                    points=0.5):
    for shape in [(5, 6, 7, 3), (2, 4, 9, 1), (1, 3, 5, 4)]:
        images = _rng.integers(0, 256, size=shape, dtype=np.uint8)
        n, h, w, c = shape
        batch = student_call(f"images_to_batch on a {shape} array", images_to_batch, images)
        check_shape(batch, (n, c, h, w), f"images_to_batch on a {shape} array",
                    mistakes={"height and width are swapped: permute(0, 3, 2, 1) transposes the image; "
                              "use permute(0, 3, 1, 2)": (n, c, w, h)})
        raw = torch.from_numpy(images)
        check_close(batch.float(), _expected_batch(images).float(), f"images_to_batch on a {shape} array",
                    atol=1e-6, rtol=0, check_dtype=False,
                    mistakes={"reshape/view was used to change the layout: it keeps memory order and scrambles "
                              "pixels across channels; use permute(0, 3, 1, 2)":
                              lambda got: torch.allclose(got.double(), raw.reshape(n, c, h, w).double() / 255,
                                                         atol=1e-6, rtol=0)})
with clauses.clause("the dtype is float32", points=0.5):
    images = _rng.integers(0, 256, size=(3, 5, 6, 3), dtype=np.uint8)
    batch = student_call("images_to_batch on a (3, 5, 6, 3) array", images_to_batch, images)
    check_type(batch, torch.Tensor, "images_to_batch on a (3, 5, 6, 3) array")
    check_equal(batch.dtype, torch.float32, "dtype of images_to_batch on a (3, 5, 6, 3) array")
with clauses.clause("values are pixel / 255 (a fixed 255, not the largest pixel)", points=0.5):
    dim = _rng.integers(0, 101, size=(2, 5, 6, 3), dtype=np.uint8)  # a dark image: its largest pixel is 100
    batch = student_call("images_to_batch on a dark image (pixels 0..100)", images_to_batch, dim)
    expected = _expected_batch(dim)
    check_close(batch.double(), expected.double(), "images_to_batch on a dark image whose pixels are 0..100",
                atol=1e-6, rtol=0,
                mistakes={"pixels divided by the largest pixel of the batch, not by 255":
                          expected.double() * 255 / float(dim.max()),
                          "pixels were not scaled to [0, 1]: divide by 255": expected.double() * 255})
with clauses.clause("a non-contiguous view (images[..., ::-1]) is accepted and the input is not modified",
                    points=0.5):
    images = _rng.integers(0, 256, size=(2, 4, 5, 3), dtype=np.uint8)
    kept = images.copy()
    rgb = images[..., ::-1]  # BGR to RGB: negative strides
    batch = student_call("images_to_batch(images[..., ::-1])", images_to_batch, rgb)
    check_close(batch.double(), _expected_batch(rgb).double(), "images_to_batch(images[..., ::-1])",
                atol=1e-6, rtol=0)
    check(np.array_equal(images, kept) and images.dtype == np.uint8,
          "images_to_batch modified the array it was given.")
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part4]
# ## Part 4 — recording activation statistics with forward hooks (4 points)
#
# **`ActivationStats(modules)`** records, at every forward call, the mean and standard deviation of
# the **output** of each watched module.
# - `modules`: a dict `{name: module}`; the hooks are registered in `__init__`.
# - `self.means[name]` and `self.stds[name]`: for every name of `modules`, from the start (an empty
#   list until that module runs), a list of Python `float`s, one per forward call of that module, in
#   call order (`output.mean().item()`, `output.std().item()` — torch's default std, which divides
#   by n − 1).
# - `remove()`: removes every hook **it** registered (hooks that others registered on the same
#   modules stay and keep running); after it, forward calls record nothing. Calling it twice is
#   harmless.
# - It is a context manager: `with ActivationStats(...) as stats:` gives the recorder itself and
#   removes its hooks on exit, also when the block raises; the exception still propagates (do not
#   swallow it).

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
clauses = Clauses(points=2)
with clauses.clause("one float per forward call, the mean of the module's output", points=1):
    with student_call("ActivationStats({...})", ActivationStats, {"hidden": mlp[0], "out": mlp[2]}) as stats:
        mlp(x)
        mlp(x)
    check_equal(sorted(stats.means), ["hidden", "out"], "keys of stats.means")
    check_equal(len(stats.means["hidden"]), 2, "number of means recorded for 'hidden' after two forward calls")
    check_type(stats.means["hidden"][0], float, "stats.means['hidden'][0]")
    check_close(stats.means["hidden"][0], mlp[0](x).mean().item(), "stats.means['hidden'][0]")
with clauses.clause("the with-block removes the hooks on exit", points=1):
    with student_call("ActivationStats({...})", ActivationStats, {"hidden": mlp[0]}) as stats:
        mlp(x)
    mlp(x)
    check_equal(len(stats.means["hidden"]), 1, "number of means recorded for one call inside the with-block "
                "and one after it")
clauses.verdict()

# %% [tests id=test_activation_stats_hidden points=2]
# Hidden tests for ActivationStats run here when your work is graded.
### BEGIN HIDDEN TESTS
import copy

torch.manual_seed(5)
conv = to_device(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 3)))
inputs = [to_device(torch.randn(n, 3, 5, 5)) for n in (2, 7, 3)]  # small outputs: n and n - 1 differ
with torch.no_grad():
    expected_means = {"conv1": [conv[0](x).mean().item() for x in inputs],
                      "relu": [conv[1](conv[0](x)).mean().item() for x in inputs],
                      "conv2": [conv(x).mean().item() for x in inputs]}
    expected_stds = [conv(x).std().item() for x in inputs]
    population_stds = [conv(x).std(unbiased=False).item() for x in inputs]
    variances = [conv(x).var().item() for x in inputs]


def _fresh():
    """A copy of the conv net, so that hooks one clause leaves behind cannot affect another."""
    return copy.deepcopy(conv)


def _hook_count(module):
    return len(module._forward_hooks)


clauses = Clauses(points=2)
with clauses.clause("means: one float per call, in call order, of each module's output; an empty list "
                    "before the first call", points=0.5):
    net = _fresh()
    recorder = student_call("ActivationStats({conv1, relu, conv2, unused})", ActivationStats,
                            {"conv1": net[0], "relu": net[1], "conv2": net[2], "unused": nn.Linear(2, 2)})
    check_equal(student_call("recorder.means before any forward call", lambda: dict(recorder.means)),
                {"conv1": [], "relu": [], "conv2": [], "unused": []},
                "recorder.means before any forward call")
    for x in inputs:
        net(x)
    got = recorder.means["relu"]
    check(isinstance(got, list) and all(type(v) is float for v in got),
          f"recorder.means['relu']: expected a list of Python floats, got {describe(got)}.")
    check_close(torch.tensor(got), torch.tensor(expected_means["relu"]),
                "means of the ReLU's outputs over 3 calls (batches of 2, 7, 3)",
                mistakes={"the hook records the module's input, not its output": torch.tensor(expected_means["conv1"])})
    check_close(torch.tensor(recorder.means["conv2"]), torch.tensor(expected_means["conv2"]),
                "means of conv2's outputs over 3 calls")
    check_equal(recorder.means["unused"], [], "means of a watched module that never ran")
with clauses.clause("stds: torch's default (n - 1) standard deviation of each output", points=0.5):
    net = _fresh()
    recorder = student_call("ActivationStats({conv2})", ActivationStats, {"conv2": net[2]})
    for x in inputs:
        net(x)
    got = recorder.stds["conv2"]
    check(isinstance(got, list) and all(type(v) is float for v in got),
          f"recorder.stds['conv2']: expected a list of Python floats, got {describe(got)}.")
    check_close(torch.tensor(got), torch.tensor(expected_stds), "stds of conv2's outputs over 3 calls",
                mistakes={"the std is the population std (unbiased=False); use torch's default output.std()":
                          torch.tensor(population_stds),
                          "the variance was recorded, not the standard deviation: use output.std()":
                          torch.tensor(variances)})
with clauses.clause("remove() removes its own hooks only, and twice is harmless", points=0.5):
    net = _fresh()
    calls = []
    other = net[0].register_forward_hook(lambda m, i, o: calls.append(1))  # someone else's hook
    recorder = student_call("ActivationStats({conv1})", ActivationStats, {"conv1": net[0]})
    net(inputs[0])
    student_call("recorder.remove()", recorder.remove)
    student_call("recorder.remove() a second time", recorder.remove)
    net(inputs[0])
    check_equal(len(recorder.means["conv1"]), 1, "means recorded for one call before remove() and one after")
    check_equal(len(calls), 2, "calls of a hook that another piece of code registered on the same module "
                "(one before remove(), one after)")
    other.remove()
    check_equal(_hook_count(net[0]), 0, "forward hooks left on the module after remove()")
with clauses.clause("the with-block gives the recorder, removes the hooks when the block raises, and lets "
                    "the exception through", points=0.5):
    net = _fresh()
    recorder = student_call("ActivationStats({conv1})", ActivationStats, {"conv1": net[0]})
    propagated = False
    try:
        with recorder as entered:
            check(entered is recorder, "`with recorder as entered`: entered must be the recorder itself.")
            raise KeyError("raised inside the with-block")
    except KeyError:
        propagated = True
    check(propagated, "an exception raised inside the with-block did not propagate: __exit__ must not "
                      "swallow it (return None, not True).")
    left = _hook_count(net[0])
    if left:
        student_call("recorder.remove()", recorder.remove)
        removed_by_remove = _hook_count(net[0]) == 0
        fail(f"forward hooks left on the module after a with-block that raised: expected 0, got {left}"
             + ("." if removed_by_remove else " (and calling remove() did not remove them either)."),
             hint="__exit__ does not call remove(): remove() itself removes them" if removed_by_remove else None)
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part5]
# ## Part 5 — counting parameters (3 points)
#
# **`count_parameters(model)`** returns the number of values (scalars) in the parameters of an
# `nn.Module`, as a Python `int`. Every parameter counts, frozen ones (`requires_grad=False`)
# included; a parameter shared by two layers counts once; buffers (such as BatchNorm's running
# statistics) are not parameters. A model without parameters has `0`.

# %% [answer id=count_parameters]
def count_parameters(model):
    ### BEGIN SOLUTION
    return sum(p.numel() for p in model.parameters())
    ### END SOLUTION

# %% [tests id=test_count_parameters points=1]
clauses = Clauses(points=1)
with clauses.clause("the number of values in the parameters", points=0.5):
    count = student_call("count_parameters(nn.Linear(3, 4))", count_parameters, nn.Linear(3, 4))
    check_equal(count, 16, "count_parameters(nn.Linear(3, 4))",
                mistakes={"counted parameter tensors instead of their values: sum p.numel()": 2})
with clauses.clause("a Python int", points=0.5):
    count = student_call("count_parameters(nn.Linear(3, 4))", count_parameters, nn.Linear(3, 4))
    check_type(count, int, "count_parameters(nn.Linear(3, 4))")
clauses.verdict()

# %% [tests id=test_count_parameters_hidden points=2]
# Hidden tests for count_parameters run here when your work is graded.
### BEGIN HIDDEN TESTS
import torchvision


class _Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(5, 3, bias=False)
        self.unembed = nn.Linear(3, 5, bias=False)
        self.unembed.weight = nn.Parameter(self.embed.weight.T.contiguous())
        self.decoder = nn.Linear(5, 3, bias=False)
        self.decoder.weight = self.embed.weight  # the same Parameter in two layers
        self.register_buffer("scale", torch.ones(7))  # not a parameter


clauses = Clauses(points=2)
with clauses.clause("every parameter value counts once; buffers do not count", points=0.5):
    net = torchvision.models.resnet18(weights=None)
    expected = sum(p.numel() for p in net.parameters())
    check_equal(student_call("count_parameters(resnet18)", count_parameters, net), expected,
                "count_parameters(resnet18)",
                mistakes={"counted parameter tensors instead of their values: sum p.numel()": len(list(net.parameters())),
                          "counted the state_dict, which also holds buffers (BatchNorm running statistics)":
                          sum(t.numel() for t in net.state_dict().values()),
                          "parameters were counted once per enclosing module: model.parameters() already recurses":
                          sum(p.numel() for m in net.modules() for p in m.parameters())})
with clauses.clause("the result is a Python int, also for a model without parameters", points=0.5):
    small = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    got = student_call("count_parameters(nn.Sequential(nn.Linear(2, 3), nn.ReLU()))", count_parameters, small)
    check_type(got, int, "count_parameters(nn.Sequential(nn.Linear(2, 3), nn.ReLU()))")
    empty = student_call("count_parameters(nn.ReLU())", count_parameters, nn.ReLU())
    check_type(empty, int, "count_parameters(nn.ReLU()), a model without parameters")
    check_equal(empty, 0, "count_parameters(nn.ReLU())")
with clauses.clause("a parameter shared by two layers counts once", points=0.5):
    check_equal(student_call("count_parameters(tied)", count_parameters, _Tied()), 30,
                "count_parameters of a model with a 7-value buffer whose weight is shared by two layers "
                "(15 + 15 values, one weight of 15 shared)",
                mistakes={"a weight shared by two layers was counted twice: model.parameters() yields each "
                          "Parameter once": 45})
with clauses.clause("frozen parameters (requires_grad=False) count too, in a model that has been trained",
                    points=0.5):
    frozen = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))  # 15 + 6 + 8
    frozen[0].requires_grad_(False)
    frozen(torch.randn(4, 4)).sum().backward()  # the trainable parameters now hold gradients
    check_equal(student_call("count_parameters(a model whose first layer is frozen)", count_parameters, frozen), 29,
                "count_parameters(Linear(4, 3) frozen, BatchNorm1d(3), Linear(3, 2), after one backward())",
                mistakes={"frozen parameters were left out: this count includes parameters with "
                          "requires_grad=False": 14})
clauses.verdict()
### END HIDDEN TESTS
