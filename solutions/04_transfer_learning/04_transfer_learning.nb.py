# %% [markdown readonly id=intro]
# # Assignment 4 — Pretrained models and transfer learning
#
# You will write, in six graded parts, the tools that turn a pretrained network into a model for
# your own task:
#
# 1. `find_head` / `replace_head` — find the classification head of any torchvision family and
#    replace it (4 points);
# 2. `freeze_backbone` — feature extraction that survives `model.train()` (4 points);
# 3. `parameter_groups` — discriminative learning rates, no weight decay on biases and
#    normalisation layers (4 points);
# 4. `extract_features` — a backbone's features as a `TensorDataset` (4 points);
# 5. `train_probe` — a linear probe that reaches a stated accuracy (3 points);
# 6. `predict` — inference on raw images with the weights' own transforms (3 points).
#
# The pretrained network is the course's own: `course_model(weights=CourseNet_Weights.DEFAULT)`
# works like `torchvision.models.resnet18(weights=ResNet18_Weights.DEFAULT)`, with weights that the
# course pretrained on 24 classes of synthetic shapes (no download). The *target* task is the
# course's shapes dataset: 5 other shape classes (circle, cross, ring, square, triangle).
#
# Each part states its contract, then gives you an answer cell (replace `raise NotImplementedError()`)
# and a visible test cell. When you submit, hidden tests check every sentence of the contracts on
# other models (resnet, mobilenet_v3, efficientnet, vision transformer, convnext and models of
# their own) on the grading device. Press **Validate** to run everything. Lecture 4 shows every
# idea you need.

# %% [readonly id=setup]
import copy
import time

import torch
import torchvision
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torchvision.models.convnext import CNBlockConfig, ConvNeXt
from torchvision.models.vision_transformer import VisionTransformer

from courselib.pretrained import CourseNet_Weights, course_model, target_images
from grader.checks import (CheckFailed, Clauses, check, check_close, check_equal, check_same, check_type,
                           student_call)
from grader.device import describe_device, grading_device, to_device

torch.manual_seed(0)
torch.set_num_threads(1)  # small models and batches: one thread is fastest, and graders run students in parallel
print(describe_device())

# The normalisation layers of part 3 (torchvision's LayerNorm2d is an nn.LayerNorm).
NORM_LAYERS = (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm, nn.LayerNorm,
               nn.GroupNorm, nn.RMSNorm)


def build(family):
    """A randomly initialised model of a torchvision family (weights=None, nothing downloads).

    The vision transformer and ConvNeXt are built small (same classes and head names as
    vit_b_16 and convnext_tiny, fewer and narrower layers) so that the tests stay fast.
    """
    if family == "resnet18":
        return torchvision.models.resnet18(weights=None)
    if family == "mobilenet_v3_small":
        return torchvision.models.mobilenet_v3_small(weights=None)
    if family == "efficientnet_b0":
        return torchvision.models.efficientnet_b0(weights=None)
    if family == "vit":
        return VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32,
                                 mlp_dim=64)
    if family == "convnext":
        return ConvNeXt([CNBlockConfig(16, 32, 1), CNBlockConfig(32, None, 1)])
    if family == "coursenet":
        return course_model(weights=None)
    raise ValueError(family)


weights = CourseNet_Weights.DEFAULT
preprocess = weights.transforms()


def shapes_tensors(split, per_class=None):
    """The shapes target task's split, preprocessed with the course weights' transforms."""
    images, labels, classes = target_images("shapes", split, per_class)
    return torch.stack([preprocess(image) for image in images]), labels


def pretrained_backbone():
    """The course's pretrained network with its head replaced by nn.Identity: images -> 128 features."""
    model = course_model(weights=weights)
    model.fc = nn.Identity()
    return model.eval()

# %% [markdown readonly id=part1]
# ## Part 1 — finding and replacing the head (4 points)
#
# A torchvision classifier is a *backbone* that turns an image into a feature vector, followed by a
# *head*: the last `nn.Linear`, which turns the features into one score per class. Its name depends
# on the family: `resnet.fc`, `mobilenet_v3.classifier[3]`, `efficientnet.classifier[1]`,
# `vit.heads.head`, `convnext.classifier[2]`. Your code must not rely on those names.
#
# **`find_head(model)`**
# - Returns a tuple `(name, module)`: the **last** module of `model.named_modules()` that is an
#   instance of `nn.Linear`, and its name exactly as `named_modules()` gives it (e.g. `"classifier.3"`).
#   The model always has one, below the model itself.
#
# **`replace_head(model, num_classes)`**
# - Replaces that module, in place, by a **new** `nn.Linear` with the old head's `in_features`,
#   `out_features=num_classes`, a bias exactly when the old head had one, freshly initialised
#   (`nn.Linear`'s own initialisation), on the old head's device and with its dtype. The new head is
#   trainable (`requires_grad=True`) even when the old one was frozen.
# - Nothing else changes: every other module of the model stays the same object at the same place.
# - Returns `model`. Afterwards `model(x)` has shape `(N, num_classes)`.

# %% [answer id=replace_head]
def find_head(model):
    ### BEGIN SOLUTION
    found = None
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            found = (name, module)
    if found is None:
        raise ValueError("the model has no nn.Linear layer")
    return found
    ### END SOLUTION


def replace_head(model, num_classes):
    ### BEGIN SOLUTION
    name, old = find_head(model)
    parent_name, _, attribute = name.rpartition(".")
    parent = model.get_submodule(parent_name)
    new = nn.Linear(old.in_features, num_classes, bias=old.bias is not None,
                    device=old.weight.device, dtype=old.weight.dtype)
    setattr(parent, attribute, new)
    return model
    ### END SOLUTION

# %% [tests id=test_replace_head points=1]
for family, expected in [("resnet18", "fc"), ("mobilenet_v3_small", "classifier.3")]:
    net = build(family)
    name, head = student_call(f"find_head({family})", find_head, net)
    check_equal(name, expected, f"the name find_head({family}) returns")
    check(head is net.get_submodule(expected), f"find_head({family}) must return the module itself.")
    returned = student_call(f"replace_head({family}, 5)", replace_head, net, 5)
    check(returned is net, "replace_head must return the model it was given.")
    new = net.get_submodule(expected)
    check(type(new) is nn.Linear and new is not head, f"{family}.{expected} must be a new nn.Linear.")
    out = net.eval()(torch.randn(2, 3, 32, 32))
    check_equal(tuple(out.shape), (2, 5), f"output shape of {family} after replace_head(model, 5)")
print("Part 1 visible tests passed.")

# %% [tests id=test_replace_head_hidden points=3]
# Hidden tests for find_head and replace_head run here when your work is graded.
### BEGIN HIDDEN TESTS
_EXPECTED = {"resnet18": "fc", "mobilenet_v3_small": "classifier.3", "efficientnet_b0": "classifier.1",
             "vit": "heads.head", "convnext": "classifier.2", "coursenet": "fc"}


class _Nested(nn.Module):  # a head named "out", deeper than the classifier; an earlier Linear; no bias
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(12, 16)
        self.blocks = nn.ModuleDict({"mix": nn.Sequential(nn.ReLU(), nn.LayerNorm(16)),
                                     "decoder": nn.Sequential(nn.Dropout(0.1), nn.ModuleList([nn.Linear(16, 9, bias=False)]))})

    def forward(self, x):
        return self.blocks["decoder"][1][0](self.blocks["decoder"][0](self.blocks["mix"](self.embed(x))))


def _naming(model):
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    children = [n for n, _ in model.named_children()]
    return {"the head was taken to be the model's last child: the head is the last nn.Linear inside it":
            children[-1],
            "the first nn.Linear was taken: the head is the last one": names[0]}


_HEAD_ERRORS = {f"no attribute '{a}'": "the head was looked up by a family's attribute name ('fc', 'classifier', "
                "'head'): find the last nn.Linear instead, whatever its name" for a in ("fc", "classifier", "head", "heads")}
_models = {f: build(f) for f in _EXPECTED}
_models["nested"] = _Nested()
_EXPECTED["nested"] = "blocks.decoder.1.0"
_inputs = {f: torch.randn(2, 12) if f == "nested" else torch.randn(2, 3, 32, 32) for f in _models}

# The head-finding clause checks every model; the two replacement clauses are checked on the
# models whose head find_head found, so that a wrong find_head costs its own clause only.
_found, _finding_failures = [], []
for _family, _model in _models.items():
    try:
        _name, _module = student_call(f"find_head({_family})", find_head, _model, known_errors=_HEAD_ERRORS)
        check_equal(_name, _EXPECTED[_family], f"the name find_head({_family}) returns", mistakes=_naming(_model))
        check(_module is _model.get_submodule(_EXPECTED[_family]),
              f"find_head({_family}) must return the module named {_EXPECTED[_family]!r} itself.")
        _found.append(_family)
    except CheckFailed as _failure:
        _finding_failures.append(str(_failure))

clauses = Clauses(points=3)
with clauses.clause("find_head returns the last nn.Linear and its name, on every family", points=1):
    if _finding_failures:
        raise CheckFailed(_finding_failures[0] + (f"\n(find_head also failed on {len(_finding_failures) - 1} "
                                                  f"other model(s))" if len(_finding_failures) > 1 else ""))

with clauses.clause("replace_head puts a new nn.Linear(in_features, num_classes) at the head's place, "
                    "and nothing else changes", points=1):
    check(_found, "find_head found the head of none of the models, so replace_head cannot work.")
    for _family in _found:
        _model = to_device(copy.deepcopy(_models[_family]))
        _old = _model.get_submodule(_EXPECTED[_family])
        _others = [(n, m) for n, m in _model.named_modules() if m is not _old]
        _returned = student_call(f"replace_head({_family}, 7)", replace_head, _model, 7, known_errors=_HEAD_ERRORS)
        check(_returned is _model, "replace_head must return the model it was given.")
        _new = _model.get_submodule(_EXPECTED[_family])
        check(type(_new) is nn.Linear and _new is not _old,
              f"after replace_head({_family}, 7), {_EXPECTED[_family]!r} must be a new nn.Linear, "
              f"got the {'same module' if _new is _old else type(_new).__name__}.",
              hint="the old head was edited (out_features changed) instead of replaced: its weight keeps the old "
                   "shape" if _new is _old and _new.out_features == 7 else None)
        check_equal((_new.in_features, _new.out_features), (_old.in_features, 7),
                    f"(in_features, out_features) of {_family}'s new head")
        _fresh = [_new.weight.detach()] + ([_new.bias.detach()] if _new.bias is not None else [])
        check(all(bool(t.abs().sum() > 0) for t in _fresh),
              f"the new head of {_family} has an all-zero weight or bias: it must be freshly initialised "
              f"(nn.Linear's own initialisation, uniform within 1/sqrt(in_features)).")
        _bound = _new.in_features ** -0.5
        _largest = max(t.abs().max().item() for t in _fresh)
        check(_largest <= _bound * (1 + 1e-5),
              f"the new head of {_family} holds values up to {_largest:.3g}, beyond the bound 1/sqrt(in_features) = "
              f"{_bound:.3g} of nn.Linear's own initialisation: it must be freshly initialised by nn.Linear.")
        check(not torch.equal(_new.weight[:7].detach(), _old.weight[:7].detach()),
              f"the new head of {_family} starts with the old head's weights: it must be freshly initialised "
              f"(nn.Linear's own initialisation).")
        check_equal([(n, id(m)) for n, m in _model.named_modules() if m is not _new], [(n, id(m)) for n, m in _others],
                    f"the other modules of {_family} (name, identity) after replace_head",
                    hint=None)
        with torch.no_grad():
            _out = _model.eval()(to_device(_inputs[_family]))
        check_equal(tuple(_out.shape), (2, 7), f"output shape of {_family} after replace_head(model, 7)")

with clauses.clause("the new head has a bias exactly when the old one had, is trainable, and keeps the old "
                    "head's dtype and device", points=1):
    check(_found, "find_head found the head of none of the models, so replace_head cannot work.")
    for _family in [f for f in ("resnet18", "vit", "nested", "convnext", "mobilenet_v3_small") if f in _found][:3]:
        _model = to_device(copy.deepcopy(_models[_family])).double()
        _model.requires_grad_(False)  # a frozen model, in float64
        _old = _model.get_submodule(_EXPECTED[_family])
        student_call(f"replace_head(frozen float64 {_family}, 4)", replace_head, _model, 4, known_errors=_HEAD_ERRORS)
        _new = _model.get_submodule(_EXPECTED[_family])
        check_equal(_new.bias is not None, _old.bias is not None,
                    f"whether {_family}'s new head has a bias (the old one {'had' if _old.bias is not None else 'had none'})")
        check(all(p.requires_grad for p in _new.parameters()),
              f"the new head of a frozen {_family} must be trainable (requires_grad=True).")
        check_equal(str(_new.weight.dtype), "torch.float64", f"dtype of the new head of a float64 {_family}",
                    hint="the new nn.Linear was created with the default dtype: pass dtype=old.weight.dtype")
        check_equal(str(_new.weight.device), str(_old.weight.device), f"device of {_family}'s new head")
    for _family in [f for f in ("resnet18", "nested", "vit") if f in _found][:1]:
        _model = copy.deepcopy(_models[_family]).to("meta")  # a device other than the default one, on any grader
        student_call(f"replace_head({_family} on the meta device, 4)", replace_head, _model, 4,
                     known_errors=_HEAD_ERRORS)
        check_equal(str(_model.get_submodule(_EXPECTED[_family]).weight.device), "meta",
                    f"device of the new head of a {_family} whose parameters are on the meta device",
                    mistakes={"the new nn.Linear was created on the default device (the CPU): create it on the old "
                              "head's device (device=old.weight.device)": "cpu"})
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part2]
# ## Part 2 — feature extraction that survives `model.train()` (4 points)
#
# For feature extraction the backbone is frozen and only the head learns. `requires_grad=False`
# stops the gradients, but not BatchNorm: in training mode it normalises with the batch's statistics
# and updates its running statistics. And a training loop calls `model.train()` at the start of
# every epoch, which switches every module back to training mode.
#
# **`freeze_backbone(model, head)`** — `head` is a sub-module of `model` (e.g. from `find_head`).
# - Every parameter of `head` gets `requires_grad=True`; every other parameter of `model` gets
#   `requires_grad=False`.
# - From this call on, also after any later `model.train()`, every forward pass of `model` computes
#   the backbone exactly as in eval mode: each module **outside** `head` whose behaviour depends on
#   its mode — BatchNorm layers, Dropout layers of any kind, torchvision's `StochasticDepth` — has
#   `training == False` whenever it runs. So BatchNorm normalises with its running statistics and
#   leaves them unchanged, and Dropout outside the head is off. (Putting every module outside the
#   head in eval mode is the simplest way.)
# - The modules of `head` keep following `model.train()` / `model.eval()` (a Dropout inside the head
#   is active after `model.train()`).
# - The model keeps its modules and its `state_dict` keys. Returns `model`. Calling it twice is harmless.
#
# PyTorch has no switch for this. Two ways that work: a forward pre-hook on `model`
# (`model.register_forward_pre_hook`) that puts those modules in eval mode before each forward
# pass, or giving the model its own `train` method (an instance attribute) that does it after
# `nn.Module.train`.

# %% [answer id=freeze_backbone]
def freeze_backbone(model, head):
    ### BEGIN SOLUTION
    head_modules = set(head.modules())
    head_parameters = {id(p) for p in head.parameters()}
    for parameter in model.parameters():
        parameter.requires_grad_(id(parameter) in head_parameters)
    backbone_leaves = [m for m in model.modules() if m not in head_modules and not list(m.children())]

    def keep_backbone_in_eval(module, args):
        for leaf in backbone_leaves:
            leaf.eval()

    keep_backbone_in_eval(model, ())
    model.register_forward_pre_hook(keep_backbone_in_eval)
    return model
    ### END SOLUTION

# %% [tests id=test_freeze_backbone points=1]
net = pretrained_backbone()
net.fc = nn.Linear(128, 5)
net.train()
returned = student_call("freeze_backbone(net, net.fc)", freeze_backbone, net, net.fc)
check(returned is net, "freeze_backbone must return the model it was given.")
check_same({n: p.requires_grad for n, p in net.named_parameters()},
           {n: n.startswith("fc.") for n, _ in net.named_parameters()},
           "requires_grad of each parameter after freeze_backbone(net, net.fc)")
before = net.bn1.running_mean.clone()
net.train()  # what every training loop does at the start of an epoch
net(torch.randn(8, 3, 32, 32))
check(torch.equal(net.bn1.running_mean, before),
      "bn1's running statistics changed during a forward pass after model.train().")
print("Part 2 visible tests passed.")

# %% [tests id=test_freeze_backbone_hidden points=3]
# Hidden tests for freeze_backbone run here when your work is graded.
### BEGIN HIDDEN TESTS
_BN = nn.modules.batchnorm._BatchNorm
_MODE_DEPENDENT = (_BN, nn.modules.dropout._DropoutNd, torchvision.ops.StochasticDepth)


class _DropHead(nn.Module):  # BatchNorm2d, BatchNorm1d and Dropout in the backbone; Dropout inside the head
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                  nn.Flatten(), nn.BatchNorm1d(8), nn.Dropout(0.5))
        self.head = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5), nn.Linear(8, 3))

    def forward(self, x):
        return self.head(self.body(x))


def _with_statistics(model, x):
    """The model after a few training-mode passes: BatchNorm statistics that differ from a batch's."""
    model.train()
    with torch.no_grad():
        for k in range(3):
            model(x * (1 + k) + k)
    return model


def _bn_state(model):
    return {n: (m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.clone())
            for n, m in model.named_modules() if isinstance(m, _BN)}


torch.manual_seed(0)
_x = to_device(torch.randn(6, 3, 32, 32))
_cases = {}
for _family in ("resnet18", "efficientnet_b0", "coursenet"):
    _m = to_device(build(_family))
    _cases[_family] = (_with_statistics(_m, _x), {"resnet18": "fc", "efficientnet_b0": "classifier.1",
                                                   "coursenet": "fc"}[_family])
_cases["a model whose head holds Dropout"] = (_with_statistics(to_device(_DropHead()), _x), "head")

clauses = Clauses(points=3)
with clauses.clause("the head's parameters are trainable, all others frozen; the model keeps its state_dict "
                    "keys and is returned", points=1):
    for _what, (_model, _head_name) in _cases.items():
        _model = copy.deepcopy(_model)
        _head = _model.get_submodule(_head_name)
        _head.requires_grad_(False)  # frozen before: freeze_backbone must make it trainable
        _keys = list(_model.state_dict())
        _returned = student_call(f"freeze_backbone({_what}, head)", freeze_backbone, _model, _head)
        check(_returned is _model, "freeze_backbone must return the model it was given.")
        _ids = {id(p) for p in _head.parameters()}
        _expected = {n: id(p) in _ids for n, p in _model.named_parameters()}
        check_same({n: p.requires_grad for n, p in _model.named_parameters()}, _expected,
                   f"requires_grad of each parameter after freeze_backbone({_what}, head)",
                   mistakes={"the head was frozen too: only the backbone's parameters get requires_grad=False":
                             {n: False for n in _expected}})
        check_equal(list(_model.state_dict()), _keys, f"the state_dict keys of {_what} after freeze_backbone")

with clauses.clause("from the call on, also after model.train(), BatchNorm, Dropout and StochasticDepth outside the "
                    "head run in eval mode, and BatchNorm's running statistics stay unchanged", points=1):
    for _what, (_model, _head_name) in _cases.items():
        _model = copy.deepcopy(_model).train()
        _head = _model.get_submodule(_head_name)
        with torch.no_grad():
            _expected = copy.deepcopy(_model).eval()(_x)
        _state = _bn_state(_model)
        # Each mode-dependent module outside the head records its training flag whenever it runs (a forward hook
        # registered before the student's code and run first: the flag the module has just computed with).
        _ran = {"during freeze_backbone": [], "right after freeze_backbone": [], "after model.train()": []}
        _phase = "during freeze_backbone"
        _watched = [(n, m) for n, m in _model.named_modules()
                    if isinstance(m, _MODE_DEPENDENT) and not any(m is h for h in _head.modules())]
        for _n, _m in _watched:
            _m.register_forward_hook(lambda module, args, out, n=_n: _ran[_phase].append((n, module, module.training)),
                                     prepend=True)
        student_call(f"freeze_backbone({_what}, head)", freeze_backbone, _model, _head)
        _phase = "right after freeze_backbone"
        with torch.no_grad():
            _model(_x)  # a forward pass right after freezing, before any model.train()
        _phase = "after model.train()"
        _outputs = []
        for _epoch in range(2):
            _model.train()  # what a training loop does at the start of every epoch
            with torch.no_grad():
                _outputs.append(_model(_x))
        _train_names = sorted({n for n, _, training in _ran["after model.train()"] if training})
        _first_names = sorted({n for n, _, training in _ran["right after freeze_backbone"] if training})
        if _train_names:
            _kinds_training = {type(m) for _, m, training in _ran["after model.train()"] if training}
            _kinds_eval = {type(m) for _, m, training in _ran["after model.train()"] if not training}
            _hint = None
            if not set(_train_names) & set(_first_names):
                _hint = ("the eval mode set by freeze_backbone did not survive model.train(): a training loop calls "
                         "model.train() every epoch, which puts every module back in training mode")
            elif _kinds_eval and not _kinds_training & _kinds_eval:
                _hint = (f"only some kinds of layers were kept in eval mode ({', '.join(sorted(k.__name__ for k in _kinds_eval))} "
                         f"but not {', '.join(sorted(k.__name__ for k in _kinds_training))}): every module outside the "
                         f"head whose behaviour depends on its mode (BatchNorm of any dimension, Dropout, "
                         f"StochasticDepth) must run in eval mode")
            check(False, f"{_what}: after freeze_backbone and model.train(), these modules outside the head ran in "
                         f"training mode: {', '.join(_train_names[:4])}{' ...' if len(_train_names) > 4 else ''}.",
                  hint=_hint)
        check(not _first_names, f"{_what}: in the forward pass right after freeze_backbone (before any model.train()) "
                                f"these modules outside the head ran in training mode: {', '.join(_first_names[:4])}; "
                                f"after model.train() they ran in eval mode. The backbone must compute as in eval "
                                f"mode from the call on.")
        _moved = [n for n, m in _model.named_modules() if isinstance(m, _BN)
                  and not (torch.equal(m.running_mean, _state[n][0]) and torch.equal(m.running_var, _state[n][1]))]
        check(not _moved, f"{_what}: the running mean or variance of BatchNorm layers outside the head "
                          f"({', '.join(_moved[:3])}) changed in forward passes after freeze_backbone.")
        _counted = [n for n, m in _model.named_modules() if isinstance(m, _BN)
                    and not torch.equal(m.num_batches_tracked, _state[n][2])]
        check(not _counted, f"{_what}: the num_batches_tracked of BatchNorm layers outside the head "
                            f"({', '.join(_counted[:3])}) changed in forward passes after freeze_backbone: they counted "
                            f"training batches.")
        if _head_name != "head":  # a head without Dropout: the whole output must be the eval-mode output
            for _got in _outputs:
                check_close(_got, _expected, f"{_what}'s output in training mode after freeze_backbone (expected: "
                                             f"the eval-mode output)", atol=1e-4)

with clauses.clause("the head's modules keep following model.train() and model.eval()", points=1):
    _model = copy.deepcopy(_cases["a model whose head holds Dropout"][0])
    _head = _model.head
    student_call("freeze_backbone(model, model.head)", freeze_backbone, _model, _head)
    _model.train()
    with torch.no_grad():
        _a, _b = _model(_x), _model(_x)
    check(_head[1].training and not torch.equal(_a, _b),
          "after model.train(), the Dropout inside the head must be active (two forward passes of the same "
          "batch must differ), but it was off.",
          hint="the head was kept in eval mode too: only the modules outside the head stay in eval mode"
          if not _head[1].training else None)
    # Whether the backbone runs in eval mode is the clause above's: here, a second call must change nothing.
    _backbone_training = [m.training for m in _model.body]
    _model.eval()
    with torch.no_grad():
        _a, _b = _model(_x), _model(_x)
    check(not _head[1].training and torch.equal(_a, _b), "after model.eval(), the head's Dropout must be off.")
    student_call("freeze_backbone called a second time", freeze_backbone, _model, _head)
    _model.train()
    with torch.no_grad():
        _model(_x)
    check(_head[1].training, "after calling freeze_backbone twice and model.train(), the head's Dropout must be active.")
    check_equal([m.training for m in _model.body], _backbone_training,
                "the training flags of the backbone's modules after calling freeze_backbone twice and model.train() "
                "(expected: as after one call)")
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part3]
# ## Part 3 — parameter groups (4 points)
#
# Fine-tuning gives the new head a larger learning rate than the pretrained backbone, and applies
# weight decay only to weights that multiply inputs: decaying a bias or a normalisation layer's
# scale and shift toward zero only hurts.
#
# **`parameter_groups(model, head, head_lr, backbone_lr, weight_decay)`** returns a list of
# parameter groups for `torch.optim` (e.g. `torch.optim.AdamW(parameter_groups(...))`):
# - each group is a dict with exactly the keys `"params"` (a **list** of parameters, never empty),
#   `"lr"` and `"weight_decay"` (floats);
# - the groups hold exactly the parameters of `model` with `requires_grad=True`, each in exactly
#   one group, once (a parameter shared by two layers is one parameter);
# - a parameter of `head` gets `lr=head_lr`; every other one `lr=backbone_lr`;
# - a parameter gets `weight_decay=0.0` when its name from `model.named_parameters()` ends with
#   `"bias"`, or when it belongs to a normalisation layer (a module that is an instance of one of
#   `NORM_LAYERS`, defined in the setup cell); every other parameter gets `weight_decay=weight_decay`.
# - How many groups, and in which order, is up to you.

# %% [answer id=parameter_groups]
def parameter_groups(model, head, head_lr, backbone_lr, weight_decay):
    ### BEGIN SOLUTION
    in_head = {id(p) for p in head.parameters()}
    in_norm = {id(p) for m in model.modules() if isinstance(m, NORM_LAYERS) for p in m.parameters(recurse=False)}
    groups = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        decays = not (name.endswith("bias") or id(parameter) in in_norm)
        groups.setdefault((id(parameter) in in_head, decays), []).append(parameter)
    return [{"params": params, "lr": float(head_lr if is_head else backbone_lr),
             "weight_decay": float(weight_decay) if decays else 0.0}
            for (is_head, decays), params in groups.items()]
    ### END SOLUTION

# %% [tests id=test_parameter_groups points=1]
def group_settings(groups, model, what):
    """{parameter name: (lr, weight_decay)} for each parameter in the groups; fails on repeats."""
    check_type(groups, list, what)
    names = {id(p): n for n, p in model.named_parameters()}
    settings = {}
    for group in groups:
        check_type(group, dict, f"each group of {what}")
        check_equal(sorted(group), ["lr", "params", "weight_decay"], f"the keys of a group of {what}")
        check_type(group["params"], list, f"group['params'] of {what}")
        check(len(group["params"]) > 0, f"{what} holds an empty group.")
        for p in group["params"]:
            name = names.get(id(p), "a tensor that is not a parameter of the model")
            check(name not in settings, f"{what}: the parameter {name!r} is in more than one group (or twice in one).")
            settings[name] = (group["lr"], group["weight_decay"])
    return settings


net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4, 2))
groups = student_call("parameter_groups(net, net[3], 0.1, 0.01, 0.05)", parameter_groups, net, net[3], 0.1, 0.01, 0.05)
check_same(group_settings(groups, net, "parameter_groups(net, net[3], 0.1, 0.01, 0.05)"),
           {"0.weight": (0.01, 0.05), "0.bias": (0.01, 0.0), "1.weight": (0.01, 0.0), "1.bias": (0.01, 0.0),
            "3.weight": (0.1, 0.05), "3.bias": (0.1, 0.0)},
           "(lr, weight_decay) of each parameter")
torch.optim.AdamW(groups)
print("Part 3 visible tests passed.")

# %% [tests id=test_parameter_groups_hidden points=3]
# Hidden tests for parameter_groups run here when your work is graded.
### BEGIN HIDDEN TESTS
class _Tied(nn.Module):  # a shared weight, a PReLU (1-D weight, not a normalisation layer), GroupNorm
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(6, 6)
        self.norm = nn.GroupNorm(2, 6)
        self.act = nn.PReLU(6)
        self.decode = nn.Linear(6, 6, bias=False)
        self.decode.weight = self.embed.weight
        self.out = nn.Linear(6, 2)


class _Prefixed(nn.Module):  # the head "fc" has no bias, and a sibling "fc2" in the backbone: a prefix of its name
    def __init__(self):
        super().__init__()
        self.fc2 = nn.Linear(6, 6)
        self.bn = nn.BatchNorm1d(6)
        self.fc = nn.Linear(6, 2, bias=False)


def _expected_settings(model, head, head_lr, backbone_lr, wd):
    in_head = {id(p) for p in head.parameters()}
    in_norm = {id(p) for m in model.modules() if isinstance(m, NORM_LAYERS) for p in m.parameters(recurse=False)}
    return {n: (head_lr if id(p) in in_head else backbone_lr, 0.0 if n.endswith("bias") or id(p) in in_norm else wd)
            for n, p in model.named_parameters() if p.requires_grad}


def _variant(model, head, head_lr, backbone_lr, wd, no_decay):
    in_head = {id(p) for p in head.parameters()}
    return {n: (head_lr if id(p) in in_head else backbone_lr, 0.0 if no_decay(n, p) else wd)
            for n, p in model.named_parameters() if p.requires_grad}


def _cases():
    resnet = to_device(build("resnet18"))
    resnet.conv1.requires_grad_(False)
    resnet.layer1.requires_grad_(False)  # partly frozen: frozen parameters stay out of the optimizer
    yield "resnet18 with conv1 and layer1 frozen", resnet, resnet.fc
    vit = to_device(build("vit"))
    yield "a vision transformer", vit, vit.heads.head
    convnext = to_device(build("convnext"))  # the head passed is the whole classifier, LayerNorm2d included
    yield "convnext with its whole classifier as head", convnext, convnext.classifier
    tied = to_device(_Tied())
    yield "a model with a shared weight, PReLU and GroupNorm", tied, tied.out
    effnet = to_device(build("efficientnet_b0"))
    yield "efficientnet_b0 with its whole classifier as head", effnet, effnet.classifier
    prefixed = to_device(_Prefixed())
    yield "a model whose head fc has no bias and a sibling fc2", prefixed, prefixed.fc


def _lenient_settings(groups, model):
    """{name: (lr, weight_decay)} for the parameters in the groups, whatever iterable holds them."""
    names = {id(p): n for n, p in model.named_parameters()}
    return {names.get(id(p), "?"): (g.get("lr"), g.get("weight_decay")) for g in groups for p in list(g["params"])}


clauses = Clauses(points=3)
_got_all, _expected_all = {}, {}
for _what, _model, _head in _cases():
    _call = f"parameter_groups({_what}, head, 0.01, 0.001, 0.05)"
    try:
        _got_all[_what] = _lenient_settings(parameter_groups(_model, _head, 0.01, 0.001, 0.05), _model)
    except Exception:
        pass  # the first clause reports it
    _expected_all[_what] = (_model, _head, _expected_settings(_model, _head, 0.01, 0.001, 0.05))
with clauses.clause("the groups hold exactly the trainable parameters, each once, as non-empty lists in dicts with "
                    "the keys params, lr and weight_decay (floats)", points=1):
    for _what, (_model, _head, _expected) in _expected_all.items():
        _call = f"parameter_groups({_what}, head, 0.01, 0.001, 0.05)"
        _groups = student_call(_call, parameter_groups, _model, _head, 0.01, 0.001, 0.05)
        _got = group_settings(_groups, _model, _call)
        for _group in _groups:
            check_type(_group["lr"], float, f"group['lr'] of {_call}")
            check_type(_group["weight_decay"], float, f"group['weight_decay'] of {_call}")
        _frozen = sorted(n for n in _got if n not in _expected)
        check(not _frozen, f"{_call} holds frozen parameters (requires_grad=False), e.g. {_frozen[:3]}.",
              hint="frozen parameters were given to the optimizer: keep only those with requires_grad=True")
        check_equal(sorted(set(_expected) - set(_got)), [], f"trainable parameters missing from {_call}")
        student_call(f"torch.optim.AdamW({_call})", torch.optim.AdamW, _groups)
    _model, _head, _ = _expected_all["a model whose head fc has no bias and a sibling fc2"]
    _call = "parameter_groups(a model, head, head_lr=1, backbone_lr=0.001, weight_decay=0), the ints 1 and 0"
    for _group in student_call(_call, parameter_groups, _model, _head, 1, 0.001, 0):
        check_type(_group["lr"], float, f"group['lr'] of {_call}")
        check_type(_group["weight_decay"], float, f"group['weight_decay'] of {_call}")

# The two settings clauses judge the trainable parameters that the groups hold (which parameters they hold is
# the first clause's).
with clauses.clause("head parameters get head_lr, all others backbone_lr", points=1):
    check(len(_got_all) == len(_expected_all), "parameter_groups raised an error (see the clause above).")
    for _what, _got in _got_all.items():
        _model, _head, _expected = _expected_all[_what]
        _got = {n: v for n, v in _got.items() if n in _expected}
        _expected = {n: v for n, v in _expected.items() if n in _got}
        check(_got, f"parameter_groups({_what}, ...) holds none of the model's trainable parameters.")
        check_same({n: lr for n, (lr, _) in _got.items()}, {n: lr for n, (lr, _) in _expected.items()},
                   f"the lr of each parameter from parameter_groups({_what}, head, head_lr=0.01, backbone_lr=0.001, ...)",
                   mistakes={"head_lr and backbone_lr were swapped":
                             {n: 0.001 if lr == 0.01 else 0.01 for n, (lr, _) in _expected.items()},
                             "the head argument was ignored and the model's last nn.Linear used instead: the head "
                             "passed here is a whole classifier": {n: lr for n, (lr, _) in _variant(
                                 _model, [m for m in _model.modules() if isinstance(m, nn.Linear)][-1], 0.01, 0.001,
                                 0.05, lambda n, p: False).items()}})

with clauses.clause("weight_decay=0 exactly for biases and normalisation-layer parameters", points=1):
    check(len(_got_all) == len(_expected_all), "parameter_groups raised an error (see the clause above).")
    for _what, _got in _got_all.items():
        _model, _head, _expected = _expected_all[_what]
        _got = {n: v for n, v in _got.items() if n in _expected}
        _expected = {n: v for n, v in _expected.items() if n in _got}
        check(_got, f"parameter_groups({_what}, ...) holds none of the model's trainable parameters.")
        _wd = lambda settings: {n: wd for n, (_, wd) in settings.items()}
        _norm_types = {
            "only BatchNorm layers were exempted from weight decay: LayerNorm, GroupNorm and the other "
            "NORM_LAYERS are normalisation layers too": (nn.modules.batchnorm._BatchNorm,),
            "BatchNorm's weights still decay: only biases were exempted, but a normalisation layer's weight "
            "(its scale) gets no decay either": (),
        }
        _mistakes = {}
        for _text, _types in _norm_types.items():
            _norm_ids = {id(p) for m in _model.modules() if isinstance(m, _types) for p in m.parameters(recurse=False)} \
                if _types else set()
            _mistakes[_text] = _wd(_variant(_model, _head, 0.01, 0.001, 0.05,
                                            lambda n, p: n.endswith("bias") or id(p) in _norm_ids))
        _mistakes["every 1-D parameter was exempted from weight decay: the contract exempts biases and "
                  "normalisation layers only (a PReLU weight decays)"] = _wd(
            _variant(_model, _head, 0.01, 0.001, 0.05, lambda n, p: p.ndim <= 1))
        _mistakes["normalisation layers were recognised by their name ('bn', 'norm'): recognise them by their "
                  "type (isinstance with NORM_LAYERS)"] = _wd(
            _variant(_model, _head, 0.01, 0.001, 0.05,
                     lambda n, p: n.endswith("bias") or "bn" in n or "norm" in n.lower()))
        check_same(_wd(_got), _wd(_expected), f"the weight_decay of each parameter from parameter_groups({_what}, "
                                              f"head, 0.01, 0.001, weight_decay=0.05)", mistakes=_mistakes)
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part4]
# ## Part 4 — extracting features (4 points)
#
# With a frozen backbone, its features can be computed once and a small head trained on them many
# times, in milliseconds.
#
# **`extract_features(model, loader)`** — `model` maps a batch of images to features (e.g.
# `pretrained_backbone()` from the setup cell: the course network with `fc = nn.Identity()`);
# `loader` yields batches `(x, y)`.
# - Runs `model` in **eval mode** under **`torch.inference_mode()`** on every batch, in the order the
#   loader yields them, on the device of the model's parameters (move `x` there).
# - Returns a `TensorDataset(features, labels)`: `features` is the concatenation of
#   `torch.flatten(model(x), 1)` over the batches, shape `(N, D)`; `labels` the concatenation of the
#   `y`s, shape `(N,)`, dtype `int64`; both on the **CPU**. Both must be ordinary tensors, usable to
#   train a head with autograd: tensors created under `inference_mode` are *inference tensors*, which
#   autograd refuses (`.clone()` one outside `inference_mode` to get an ordinary tensor).
# - Afterwards every module of `model` has the `training` flag it had before the call (some may have
#   been in eval mode and others not).

# %% [answer id=extract_features]
def extract_features(model, loader):
    ### BEGIN SOLUTION
    modes = {module: module.training for module in model.modules()}
    device = next(model.parameters()).device
    model.eval()
    features, labels = [], []
    try:
        with torch.inference_mode():
            for x, y in loader:
                features.append(torch.flatten(model(x.to(device)), 1).cpu())
                labels.append(y.cpu())
    finally:
        for module, training in modes.items():
            module.training = training
    return TensorDataset(torch.cat(features).clone(), torch.cat(labels).to(torch.int64).clone())
    ### END SOLUTION

# %% [tests id=test_extract_features points=1]
x_small, y_small = shapes_tensors("train", per_class=4)
backbone = pretrained_backbone()
dataset = student_call("extract_features(backbone, loader of 20 images)", extract_features, backbone,
                       DataLoader(TensorDataset(x_small, y_small), batch_size=8))
check_type(dataset, TensorDataset, "extract_features(...)")
features, labels = dataset.tensors
check_equal(tuple(features.shape), (20, 128), "the features' shape")
check_equal(labels.tolist(), y_small.tolist(), "the labels, in loader order")
with torch.no_grad():
    check_close(features, backbone(x_small), "the features", atol=1e-4)
check(not features.is_inference(), "the features are inference tensors: autograd cannot train a head on them.")
print("Part 4 visible tests passed.")

# %% [tests id=test_extract_features_hidden points=3]
# Hidden tests for extract_features run here when your work is graded.
### BEGIN HIDDEN TESTS
class _Recorder:
    """A forward pre-hook that records inference mode, the BatchNorm's mode, the batch's device and whether
    gradients are recorded, at each call."""

    def __init__(self, bn):
        self.bn, self.calls, self.grad_enabled = bn, [], []

    def __call__(self, module, args):
        self.calls.append((torch.is_inference_mode_enabled(), self.bn.training, args[0].device.type))
        self.grad_enabled.append(torch.is_grad_enabled())


class _Spatial(nn.Module):  # a backbone whose output is a (N, C, H, W) feature map
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3, stride=4), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.5))

    def forward(self, x):
        return self.body(x)


torch.manual_seed(1)
_x, _y = shapes_tensors("test", per_class=6)  # 30 images
_order = torch.randperm(len(_x)).tolist()  # the loader visits the dataset in this order
_loader = DataLoader(TensorDataset(_x, _y), batch_size=7, sampler=_order)

_model = to_device(pretrained_backbone())
_model.train()
_model.layer2.eval()  # mixed modes: layer2 frozen in eval, the rest training
_modes = {n: m.training for n, m in _model.named_modules()}
_state = {k: v.clone() for k, v in _model.state_dict().items()}
_recorder = _Recorder(_model.bn1)
_hook = _model.register_forward_pre_hook(_recorder)
_result = student_call("extract_features(pretrained course backbone in train mode, loader with a sampler)",
                       extract_features, _model, _loader)
_hook.remove()
with torch.no_grad():
    _reference = copy.deepcopy(_model).eval()(to_device(_x)).cpu()
    _as_is = copy.deepcopy(_model)  # layer2 in eval, the rest training: the model as it was handed over
    _as_is.load_state_dict(_state)
    _train_mode = torch.cat([_as_is(to_device(_x[_order[i:i + 7]])).cpu() for i in range(0, len(_x), 7)])

# The features are compared with the model's outputs in the mode it ran in: whether it ran in eval mode is the
# second clause's, so that one mistake costs one clause.
_ran_in_training = [training for _, training, _ in _recorder.calls]
_in_eval = not any(_ran_in_training)

clauses = Clauses(points=3)
with clauses.clause("a TensorDataset of the features torch.flatten(model(x), 1), shape (N, D), and the labels as "
                    "int64, both on the CPU, in loader order", points=1):
    check_type(_result, TensorDataset, "extract_features(...)")
    check_equal(len(_result.tensors), 2, "the number of tensors in the returned TensorDataset")
    _features, _labels = _result.tensors
    check_equal(str(_labels.dtype), "torch.int64", "the labels' dtype")
    check_equal(_labels.tolist(), _y[_order].tolist(), "the labels (the loader visits the dataset through a sampler)",
                mistakes={"the dataset was read in its own order instead of the loader's": _y.tolist()})
    check_equal(str(_features.device), "cpu", "the features' device")
    check_close(_features, _reference[_order] if _in_eval else _train_mode,
                f"the features of the 30 images, in loader order (computed in the {'eval' if _in_eval else 'training'} "
                f"mode the model ran in)", atol=1e-4,
                mistakes={"the dataset was read in its own order instead of the loader's": _reference,
                          "softmax was applied to the features: features are the backbone's raw outputs":
                              torch.softmax(_reference[_order], dim=1)} if _in_eval else None)
    # A backbone with (N, C, H, W) outputs, in eval mode (its mode is not what this clause is about); a loader on the
    # grading device whose labels are int32.
    _spatial = to_device(_Spatial()).eval()
    _out = student_call("extract_features(a backbone whose output is (N, 4, 8, 8), loader whose batches are on the "
                        "grading device, with int32 labels)", extract_features,
                        _spatial, DataLoader(TensorDataset(*to_device(_x[:5], _y[:5].to(torch.int32))), batch_size=2))
    check_type(_out, TensorDataset, "extract_features(...)")
    check_equal([str(t.device) for t in _out.tensors], ["cpu", "cpu"],
                "the devices of the features and labels when the loader yields batches on the grading device")
    check_equal(str(_out.tensors[1].dtype), "torch.int64", "the labels' dtype when the loader yields int32 labels",
                mistakes={"the labels were returned as the loader gave them: convert them to int64": "torch.int32"})
    check_equal(_out.tensors[1].tolist(), _y[:5].tolist(), "the labels when the loader yields int32 labels")
    with torch.no_grad():
        _expected = torch.flatten(copy.deepcopy(_spatial)(to_device(_x[:5])), 1).cpu()
    check_close(_out.tensors[0], _expected, "features of a backbone with (N, 4, 8, 8) outputs: torch.flatten(out, 1)",
                atol=1e-4, mistakes={"softmax was applied to the features: features are the backbone's raw outputs":
                                     torch.softmax(_expected, dim=1)})
with clauses.clause("the forward passes run under torch.inference_mode(), in eval mode, on the model's device", points=1):
    check(len(_recorder.calls) > 0, "the model was never called.")
    _no_inference = not any(inference for inference, _, _ in _recorder.calls)
    check(all(inference for inference, _, _ in _recorder.calls),
          "the forward passes did not run under torch.inference_mode().",
          hint="torch.no_grad() was used where the contract asks for torch.inference_mode()" if
          _no_inference and not any(_recorder.grad_enabled) else None)
    check(not any(_ran_in_training), "the model ran in training mode: BatchNorm normalised with each batch's statistics.",
          hint="model.eval() was not called before extracting the features" if all(_ran_in_training) else None)
    check_equal({device for _, _, device in _recorder.calls}, {grading_device().type},
                "the device of the batches given to the model")
    check(torch.equal(_model.state_dict()["bn1.running_mean"].cpu(), _state["bn1.running_mean"].cpu()),
          "extract_features changed BatchNorm's running statistics.")
with clauses.clause("ordinary tensors usable by autograd; every module's mode restored", points=1):
    check(not _result.tensors[0].is_inference() and not _result.tensors[1].is_inference(),
          "the returned tensors are inference tensors (created under torch.inference_mode()): autograd refuses "
          "them when a head is trained on them.",
          hint="the features were concatenated inside inference_mode: clone them (or concatenate) outside it")
    check(not _result.tensors[0].requires_grad, "the features must not require grad.")
    _after = {n: m.training for n, m in _model.named_modules()}
    check_same(_after, _modes, "the training flag of every module after extract_features",
               mistakes={"the modes were reset with model.train(...) instead of restoring each module's own flag: "
                         "modules that were in eval mode before (layer2 here) must stay in eval mode":
                         {n: True for n in _modes},
                         "the model was left in eval mode: restore each module's previous mode":
                         {n: False for n in _modes}})
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part5]
# ## Part 5 — a linear probe (3 points)
#
# **`train_probe(features, labels, num_classes, seed=0)`** trains a linear classifier on extracted
# features.
# - `features`: `(N, D)` float32, `labels`: `(N,)` int64, both on the same device.
# - Calls `torch.manual_seed(seed)` first, so that the result depends only on the arguments: two
#   calls with the same arguments return identical weights.
# - Returns an `nn.Linear(D, num_classes)` (float32, on the features' device) trained to classify
#   the **raw** `features` (the cross-entropy loss is the usual choice; if you standardise the
#   features inside, fold that into the returned layer). `features` and `labels` must not be modified.
# - **Target**: on the course backbone's features of the first 10 training images per class of the
#   shapes target task (50 images), the probe must classify at least **90 %** of the 250 test images
#   correctly, and `train_probe` must return within **10 seconds** on the grader's CPU (a good
#   probe takes well under one).
#
# Any optimizer and schedule that meets the target is fine (full-batch Adam with lr 0.01 for a hundred
# steps does).

# %% [answer id=train_probe]
def train_probe(features, labels, num_classes, seed=0):
    ### BEGIN SOLUTION
    torch.manual_seed(seed)
    probe = nn.Linear(features.shape[1], num_classes).to(features.device)
    optimizer = torch.optim.Adam(probe.parameters(), lr=0.01)
    for _ in range(100):
        loss = nn.functional.cross_entropy(probe(features), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return probe
    ### END SOLUTION

# %% [tests id=test_train_probe points=1]
def probe_accuracy(probe, backbone, per_class, test_x, test_y):
    """Fit train_probe on the features of the first per_class training images; return (accuracy, seconds)."""
    x, y = shapes_tensors("train", per_class=per_class)
    with torch.no_grad():
        train_features, test_features = backbone(x), backbone(test_x)
    start = time.perf_counter()
    head = student_call(f"train_probe(features of {len(x)} images, labels, 5)", probe, train_features, y, 5)
    seconds = time.perf_counter() - start
    check_type(head, nn.Linear, "train_probe(...)")
    with torch.no_grad():
        accuracy = (head(test_features).argmax(1) == test_y).double().mean().item()
    return accuracy, seconds


test_x, test_y = shapes_tensors("test")
accuracy, seconds = probe_accuracy(train_probe, pretrained_backbone(), 10, test_x, test_y)
print(f"probe: test accuracy {accuracy:.1%} in {seconds:.2f} s")
check(accuracy >= 0.9, f"the probe classifies {accuracy:.1%} of the 250 test images correctly; the target is 90 %.")
print("Part 5 visible tests passed.")

# %% [tests id=test_train_probe_hidden points=2]
# Hidden tests for train_probe run here when your work is graded.
### BEGIN HIDDEN TESTS
_backbone = pretrained_backbone()
_test_x, _test_y = shapes_tensors("test")
torch.manual_seed(5)
_f = to_device(torch.randn(40, 16) * 3 + 1)
_l = to_device(torch.randint(0, 4, (40,)))

clauses = Clauses(points=2)
with clauses.clause("reaches 90 % test accuracy within 10 s", points=1):
    _accuracy, _seconds = probe_accuracy(train_probe, _backbone, 10, _test_x, _test_y)
    check(_accuracy >= 0.9, f"the probe trained on 10 images per class classifies {_accuracy:.1%} of the 250 test "
                            f"images correctly; the target is 90 %.")
    check(_seconds <= 10, f"train_probe took {_seconds:.1f} s; the limit is 10 s.")
with clauses.clause("an nn.Linear(D, num_classes) in float32 on the features' device, seeded, inputs unchanged",
                    points=1):
    _f_copy, _l_copy = _f.clone(), _l.clone()
    # Before each call the global generator is seeded with another value: after the call, torch.initial_seed() tells
    # which seed train_probe set (torch.manual_seed(seed) sets it), and a probe that depends only on its arguments
    # comes out the same.
    torch.manual_seed(123)
    _a = student_call("train_probe(features (40, 16), labels, 4)", train_probe, _f, _l, 4)
    _seed_a = torch.initial_seed()
    torch.manual_seed(456)
    _b = student_call("train_probe(features (40, 16), labels, 4) again", train_probe, _f, _l, 4)
    torch.manual_seed(789)
    _c = student_call("train_probe(features (40, 16), labels, 4, seed=1)", train_probe, _f, _l, 4, seed=1)
    _seed_c = torch.initial_seed()
    check_type(_a, nn.Linear, "train_probe(...)")
    check_equal((_a.in_features, _a.out_features), (16, 4), "(in_features, out_features) of the probe")
    check_equal(str(_a.weight.dtype), "torch.float32", "the probe's dtype")
    check_equal(str(_a.weight.device.type), grading_device().type, "the probe's device")
    check(torch.equal(_f, _f_copy) and torch.equal(_l, _l_copy), "train_probe modified its inputs.",
          hint="the features were standardised in place (-= or /=): work on a copy" if torch.equal(_l, _l_copy)
          and not torch.equal(_f, _f_copy) and torch.allclose(_f.mean(dim=0), torch.zeros_like(_f[0]), atol=1e-4)
          else None)
    check_equal((_seed_a, _seed_c), (0, 1), "torch.initial_seed() after train_probe(..., seed=0) and after "
                                            "train_probe(..., seed=1), the global seed being 123 and 789 before",
                mistakes={"torch.manual_seed(seed) is not called in train_probe": (123, 789),
                          "a fixed seed was used instead of the seed argument":
                              lambda got: got[0] == got[1] and got[0] not in (123, 789)})
    check(torch.equal(_a.weight, _b.weight) and torch.equal(_a.bias, _b.bias),
          "two calls of train_probe with the same arguments (the global generator seeded differently before each) "
          "returned different weights: torch.manual_seed(seed) must come first, before any random number is drawn, "
          "and every random number must come from torch's generator.")
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part6]
# ## Part 6 — predicting on raw images (3 points)
#
# A pretrained model expects its inputs exactly as it saw them during pretraining: same size, same
# normalisation statistics. `weights.transforms()` builds that preprocessing for you.
#
# **`predict(model, weights, images)`**
# - `model`: a classifier for the categories of `weights` (e.g. `course_model(weights=weights)`);
#   `weights`: a torchvision-style weights entry (`CourseNet_Weights.DEFAULT`, or any other);
#   `images`: a list of RGB PIL images, of any sizes.
# - Preprocesses each image with the weights' own transforms (`weights.transforms()`), runs the
#   model on them in eval mode without recording gradients (under `torch.inference_mode()` or
#   `torch.no_grad()`) on the model's device, and returns a
#   Python list of the predicted category names (`weights.meta["categories"]`), one per image, in order.
# - Afterwards `model.training` is what it was before the call.

# %% [answer id=predict]
def predict(model, weights, images):
    ### BEGIN SOLUTION
    transform = weights.transforms()
    batch = torch.stack([transform(image) for image in images])
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        scores = model(batch.to(next(model.parameters()).device))
    model.train(was_training)
    categories = weights.meta["categories"]
    return [categories[i] for i in scores.argmax(dim=1).tolist()]
    ### END SOLUTION

# %% [tests id=test_predict points=1]
from courselib.pretrained import source_images

images, labels = source_images("test", per_class=2)  # two images of each of the 24 source classes
classifier = course_model(weights=weights)
names = student_call("predict(course model, weights, 48 images)", predict, classifier, weights, images)
check_type(names, list, "predict(...)")
check_equal(len(names), 48, "the number of predictions")
check_type(names[0], str, "each prediction")
correct = sum(name == weights.meta["categories"][label] for name, label in zip(names, labels.tolist()))
print(f"{correct} of 48 source-task images classified correctly")
check(correct >= 40, f"only {correct} of 48 images were classified correctly (the weights reach 95 %).")
print("Part 6 visible tests passed.")

# %% [tests id=test_predict_hidden points=2]
# Hidden tests for predict run here when your work is graded.
### BEGIN HIDDEN TESTS
import numpy as np
from functools import partial
from PIL import Image
from torchvision.models._api import Weights, WeightsEnum
from torchvision.transforms._presets import ImageClassification

from courselib.pretrained import draw_source_image

_rng = np.random.default_rng(7)
# Raw images of several sizes (drawn at 32, 40 and 48 pixels): the transforms resize them.
_raw = [draw_source_image(int(c), np.random.default_rng([7, k]), size=[32, 40, 48][k % 3])
        for k, c in enumerate(_rng.integers(0, 24, size=36))]


def _reference(model, weights_entry, images):
    transform = weights_entry.transforms()
    batch = to_device(torch.stack([transform(im) for im in images]))
    with torch.no_grad():
        scores = copy.deepcopy(model).eval()(batch)
    return [weights_entry.meta["categories"][i] for i in scores.argmax(1).tolist()]


def _variant_names(model, weights_entry, images, mean, std, size=None):
    out = []
    for im in images:
        if size:
            im = im.resize((size, size), Image.BILINEAR)
        out.append(torchvision.transforms.functional.to_tensor(im))
    if mean is not None:
        out = [torchvision.transforms.functional.normalize(t, mean, std) for t in out]
    try:
        batch = to_device(torch.stack(out))
        with torch.no_grad():
            scores = copy.deepcopy(model).eval()(batch)
        return [weights_entry.meta["categories"][i] for i in scores.argmax(1).tolist()]
    except RuntimeError:
        return None


def _train_mode_names(model, weights_entry, images):
    transform = weights_entry.transforms()
    with torch.no_grad():
        scores = copy.deepcopy(model).train()(to_device(torch.stack([transform(im) for im in images])))
    return [weights_entry.meta["categories"][i] for i in scores.argmax(1).tolist()]


_classifier = to_device(course_model(weights=weights)).train()


class _Other(WeightsEnum):  # other weights: other statistics, other size, other categories
    V1 = Weights(url="", transforms=partial(ImageClassification, crop_size=28, resize_size=30,
                                            mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3)),
                 meta={"categories": [f"category {k}" for k in range(24)]})


_IMAGE_ERRORS = {"stack expects each tensor to be equal size":
                 "the images were not passed through weights.transforms(), which resizes them to the model's input size"}

clauses = Clauses(points=2)
with clauses.clause("category names predicted with the weights' own transforms, in eval mode", points=1):
    for _what, _weights in (("CourseNet_Weights.DEFAULT", weights), ("another weights entry", _Other.V1)):
        _expected = _reference(_classifier, _weights, _raw)
        _got = student_call(f"predict(course model in train mode, {_what}, 36 raw images of sizes 32, 40 and 48)",
                            predict, _classifier, _weights, _raw, known_errors=_IMAGE_ERRORS)
        check_type(_got, list, "predict(...)")
        _mistakes = {
            "ImageNet's normalisation statistics were applied: these weights have their own (weights.transforms())":
                _variant_names(_classifier, _weights, _raw, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), 32),
            "the images were not normalised: use weights.transforms(), which normalises with the weights' statistics":
                _variant_names(_classifier, _weights, _raw, None, None, 32),
            "the model ran in training mode: BatchNorm used the batch's statistics; call model.eval()":
                _train_mode_names(_classifier, _weights, _raw),
        }
        if _weights is _Other.V1:
            _mistakes["the course weights' transforms or categories were used instead of those of the weights "
                      "argument"] = _reference(_classifier, weights, _raw)
        check_equal(_got, _expected, f"predict(model, {_what}, 36 raw images)", mistakes=_mistakes)
with clauses.clause("no gradients are recorded, and the model's mode is restored", points=1):
    _classifier.train()
    _grad_modes = []
    _hook = _classifier.register_forward_pre_hook(lambda module, args: _grad_modes.append(torch.is_grad_enabled()))
    try:
        student_call("predict(model in train mode, ...)", predict, _classifier, weights, _raw[:4],
                     known_errors=_IMAGE_ERRORS)
    finally:
        _hook.remove()
    check(_grad_modes and not any(_grad_modes), "predict ran the model with gradient recording on: wrap the "
                                                "forward pass in torch.inference_mode() (or torch.no_grad()).")
    check(_classifier.training, "predict left a model that was in training mode in eval mode.",
          hint="model.eval() was called without restoring the previous mode afterwards")
    _classifier.eval()
    student_call("predict(model in eval mode, ...)", predict, _classifier, weights, _raw[:4], known_errors=_IMAGE_ERRORS)
    check(not _classifier.training, "predict left a model that was in eval mode in training mode.")
clauses.verdict()
### END HIDDEN TESTS
