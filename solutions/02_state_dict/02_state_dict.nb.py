# %% [markdown readonly id=intro]
# # Assignment 2 — Parameters, buffers and `state_dict`
#
# You will write, in six graded parts, the small tools every training project ends up needing:
#
# 1. `count_parameters` — all values, or only the trainable ones (3 points);
# 2. `freeze` — freeze a model except some sub-modules, BatchNorm statistics included (4 points);
# 3. `replace_prefix` — strip or add a `state_dict` key prefix such as `module.` (3 points);
# 4. `load_matching` — load every key whose name and shape match, and report the rest (4 points);
# 5. `save_checkpoint` / `load_checkpoint` — resume training bit for bit, scheduler and data-order
#    generator included (5 points);
# 6. `init_weights` — Kaiming for ReLU layers, Xavier otherwise, zero biases (3 points).
#
# Each part states its contract, then gives you an answer cell (replace `raise NotImplementedError()`)
# and a visible test cell. The visible tests check the contract and double as examples; when you
# submit, hidden tests compare your functions with PyTorch's own behaviour on models you have not
# seen (torchvision architectures, models with buffers, nested modules) on the grading device.
# Press **Validate** to run everything. Lecture 2 shows every idea you need.

# %% [readonly id=setup]
import random
import tempfile
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

from grader.checks import (CheckFailed, Clauses, check, check_close, check_equal, check_same, check_type,
                           fail, student_call)
from grader.device import describe_device, grading_device, to_device

torch.manual_seed(0)
print(describe_device())

# %% [markdown readonly id=part1]
# ## Part 1 — counting parameters (3 points)
#
# **`count_parameters(model, trainable_only=False)`**
# - `model`: any `nn.Module`.
# - Returns a Python `int`: the number of values (scalars) in the model's parameters. With
#   `trainable_only=True`, only parameters with `requires_grad=True` count.
# - Buffers (BatchNorm's `running_mean`, `running_var`, `num_batches_tracked`) are **not**
#   parameters. A parameter shared by two layers counts once.

# %% [answer id=count_parameters]
def count_parameters(model, trainable_only=False):
    ### BEGIN SOLUTION
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
    ### END SOLUTION

# %% [tests id=test_count_parameters points=1]
net = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))  # 15 + 6 + 8 values
clauses = Clauses(points=1)
with clauses.clause("all parameter values, as a Python int", points=0.5):
    total = student_call("count_parameters(net)", count_parameters, net)
    check_type(total, int, "count_parameters(net)")
    check_equal(total, 29, "count_parameters(net) for Linear(4, 3), BatchNorm1d(3), Linear(3, 2)")
with clauses.clause("trainable_only=True counts only parameters that require grad", points=0.5):
    frozen = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
    frozen[0].requires_grad_(False)  # freeze the first layer: 15 values
    trainable = student_call("count_parameters(net, trainable_only=True)", count_parameters, frozen,
                             trainable_only=True)
    check_equal(trainable, 14, "count_parameters(net, trainable_only=True) with the first Linear frozen")
clauses.verdict()

# %% [tests id=test_count_parameters_hidden points=2]
# Hidden tests for count_parameters run here when your work is graded.
### BEGIN HIDDEN TESTS
import torchvision


def _resnet_layer4_fc_trainable():
    net = torchvision.models.resnet18(weights=None)
    for name, p in net.named_parameters():
        p.requires_grad_(name.startswith(("layer4.", "fc.")))
    return net


class _WithToken(nn.Module):
    """A parameter of a module that has children (like ViT's class token), beside a Linear(8, 8)."""

    def __init__(self):
        super().__init__()
        self.token = nn.Parameter(torch.zeros(1, 1, 8))
        self.body = nn.Linear(8, 8)


class _Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(5, 3, bias=False)
        self.decoder = nn.Linear(5, 3, bias=False)
        self.decoder.weight = self.embed.weight  # one Parameter, two layers
        self.register_buffer("scale", torch.ones(7))


clauses = Clauses(points=2)
with clauses.clause("every parameter value of a large model, buffers excluded, as a Python int", points=0.5):
    net = to_device(_resnet_layer4_fc_trainable())
    everything = sum(p.numel() for p in net.parameters())
    got = student_call("count_parameters(resnet18)", count_parameters, net)
    check_type(got, int, "count_parameters(resnet18)")
    check_equal(got, everything, "count_parameters(resnet18 with only layer4 and fc trainable)",
                mistakes={"counted parameter tensors instead of their values: sum p.numel()":
                          len(list(net.parameters())),
                          "buffers were counted as parameters: the state_dict also holds BatchNorm's running "
                          "statistics": everything + sum(b.numel() for b in net.buffers()),
                          "the default counted only the trainable parameters: trainable_only is False unless "
                          "asked": sum(p.numel() for p in net.parameters() if p.requires_grad)})
    check_equal(student_call("count_parameters(a module with a parameter of its own beside a Linear(8, 8))",
                             count_parameters, _WithToken()), 80,
                "count_parameters of a module holding an (1, 1, 8) parameter of its own and a Linear(8, 8)",
                mistakes={"only the parameters of leaf modules were counted: a module with children can hold "
                          "parameters of its own (like ViT's class token)": 72})
with clauses.clause("trainable_only=True (by keyword or by position) counts the parameters that require grad",
                    points=0.5):
    net = to_device(_resnet_layer4_fc_trainable())
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    for how, args, kwargs in [("trainable_only=True", (), {"trainable_only": True}), ("True", (True,), {})]:
        got = student_call(f"count_parameters(resnet18, {how})", count_parameters, net, *args, **kwargs)
        check_equal(got, trainable, f"count_parameters(resnet18 with only layer4 and fc trainable, {how})",
                    mistakes={"trainable_only=True counted the frozen parameters instead of the trainable ones":
                              sum(p.numel() for p in net.parameters() if not p.requires_grad)})
with clauses.clause("a parameter shared by two layers counts once (also among the trainable ones)", points=0.5):
    tied = _Tied()
    check_equal(student_call("count_parameters(tied)", count_parameters, tied), 15,
                "count_parameters of a model with a 7-value buffer whose 15-value weight is shared by two layers",
                mistakes={"a shared parameter was counted twice: model.parameters() yields each Parameter once": 30})
    check_equal(student_call("count_parameters(tied, trainable_only=True)", count_parameters, tied,
                             trainable_only=True), 15,
                "count_parameters(tied, trainable_only=True) for that model")
with clauses.clause("a model without parameters, or with every parameter frozen, counts 0 trainable values",
                    points=0.5):
    got = student_call("count_parameters(nn.ReLU())", count_parameters, nn.ReLU())
    check_type(got, int, "count_parameters(nn.ReLU())")
    check_equal(got, 0, "count_parameters(nn.ReLU())")
    frozen = nn.Linear(3, 3).requires_grad_(False)
    got = student_call("count_parameters(frozen Linear(3, 3), trainable_only=True)", count_parameters, frozen,
                       trainable_only=True)
    check_type(got, int, "count_parameters(frozen Linear(3, 3), trainable_only=True)")
    check_equal(got, 0, "count_parameters(frozen Linear(3, 3), trainable_only=True)")
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part2]
# ## Part 2 — freezing, BatchNorm included (4 points)
#
# **`freeze(model, except_prefixes=())`** prepares a model for feature extraction and returns it
# (the same object, changed in place).
# - `except_prefixes`: a tuple or list of module paths such as `("layer4", "fc")`. A name is *under*
#   a prefix `p` when it equals `p` or starts with `p + "."`: `"features.1"` covers
#   `features.1.conv.weight` but **not** `features.10.conv.weight`.
# - Every parameter whose name (from `named_parameters()`) is under one of the prefixes gets
#   `requires_grad=True` (also when it was frozen before the call); every other parameter gets
#   `requires_grad=False`.
# - `requires_grad=False` does not stop a BatchNorm layer from updating its running statistics in
#   training mode. So every BatchNorm layer whose name (from `named_modules()`) is **not** under a
#   prefix is switched to eval mode. A *BatchNorm layer* is any instance of
#   `nn.modules.batchnorm._BatchNorm`: `BatchNorm1d`, `2d`, `3d` and `SyncBatchNorm`.
# - Leave the mode of every other module as it is: trainable BatchNorm layers and Dropout keep the
#   mode they had (training if the model was in training mode, eval if it was in eval mode).
# - `model.train()` switches every sub-module back to training mode, so a training loop calls
#   `freeze` again after each `model.train()`; calling it twice gives the same result.

# %% [answer id=freeze]
def freeze(model, except_prefixes=()):
    ### BEGIN SOLUTION
    def trainable(name):
        return any(name == p or name.startswith(p + ".") for p in except_prefixes)

    for name, parameter in model.named_parameters():
        parameter.requires_grad_(trainable(name))
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and not trainable(name):
            module.eval()
    return model
    ### END SOLUTION

# %% [tests id=test_freeze points=1]
def small_net():
    return nn.Sequential(OrderedDict(
        body=nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU()),
        head=nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 2)),
    ))


clauses = Clauses(points=1)
with clauses.clause("parameters under a prefix train, the others are frozen; the model is returned", points=0.5):
    net = small_net().train()
    returned = student_call('freeze(net, ["head"])', freeze, net, ["head"])
    check(returned is net, "freeze(net, ['head']) must return the model it was given.")
    got = {name: p.requires_grad for name, p in net.named_parameters()}
    expected = {name: name.startswith("head.") for name, _ in net.named_parameters()}
    check_same(got, expected, "requires_grad of each parameter after freeze(net, ['head'])")
with clauses.clause("frozen BatchNorm stops updating; the head's BatchNorm and Dropout keep training", points=0.5):
    net = small_net().train()
    student_call('freeze(net, ["head"])', freeze, net, ["head"])
    frozen_bn, trainable_bn = net.body[1], net.head[1]
    before = frozen_bn.running_mean.clone()
    net(torch.randn(16, 4))  # a training-mode forward pass
    check(torch.equal(frozen_bn.running_mean, before),
          "the frozen BatchNorm layer body.1 changed its running statistics during a forward pass in train() mode.")
    check_equal([name for name in ("head.1", "head.2") if not net.get_submodule(name).training], [],
                "layers of the trainable head (BatchNorm head.1, Dropout head.2) that left training mode")
clauses.verdict()

# %% [tests id=test_freeze_hidden points=3]
# Hidden tests for freeze run here when your work is graded.
### BEGIN HIDDEN TESTS
import torchvision

_BN = nn.modules.batchnorm._BatchNorm


def _under(name, prefixes):
    return any(name == p or name.startswith(p + ".") for p in prefixes)


class _Video(nn.Module):  # BatchNorm3d and BatchNorm1d, nested, not in torchvision order
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv3d(2, 4, 3, padding=1), nn.BatchNorm3d(4), nn.ReLU())
        self.blocks = nn.ModuleList([nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Dropout(0.1))
                                     for _ in range(12)])

    def forward(self, x):
        h = self.stem(x).mean(dim=(2, 3, 4))
        for block in self.blocks:
            h = block(h)
        return h


def _requires_grad_case(model, prefixes, what):
    model = to_device(model)
    got_model = student_call(f"freeze({what}, {prefixes!r})", freeze, model, prefixes)
    check(got_model is model, f"freeze({what}, {prefixes!r}) must return the model it was given.")
    got = {n: p.requires_grad for n, p in model.named_parameters()}
    expected = {n: _under(n, prefixes) for n, _ in model.named_parameters()}
    check_same(got, expected, f"requires_grad of each parameter after freeze({what}, {prefixes!r})",
               mistakes={"prefixes were matched as plain strings: 'features.1' must not match "
                         "'features.10...' (a name is under p when it equals p or starts with p + '.')":
                         {n: n.startswith(tuple(prefixes)) for n in expected}})


def _statistics_case(model, prefixes, x, what):
    model = to_device(model).train()
    student_call(f"freeze({what}, {prefixes!r})", freeze, model, prefixes)
    bns = {n: m for n, m in model.named_modules() if isinstance(m, _BN)}
    before = {n: (m.running_mean.clone(), m.num_batches_tracked.clone()) for n, m in bns.items()}
    with torch.no_grad():
        model(to_device(x))
    moved = sorted(n for n, m in bns.items() if not torch.equal(m.running_mean, before[n][0])
                   or not torch.equal(m.num_batches_tracked, before[n][1]))
    expected = sorted(n for n in bns if _under(n, prefixes))
    check_equal(moved, expected, f"BatchNorm layers of {what} whose running statistics changed in a train() "
                f"forward pass after freeze(..., {prefixes!r}) (only those under a prefix may change)")


clauses = Clauses(points=3)
with clauses.clause("requires_grad follows the prefixes ('features.1' covers features.1.* only)", points=0.5):
    torch.manual_seed(0)
    _requires_grad_case(torchvision.models.resnet18(weights=None), ("layer4", "fc"), "resnet18")
    _requires_grad_case(torchvision.models.mobilenet_v2(weights=None), ["features.1", "classifier"], "mobilenet_v2")
with clauses.clause("parameters under a prefix become trainable even when they were frozen before", points=0.5):
    model = _Video()
    model.stem.requires_grad_(False)  # frozen already, and under a prefix
    _requires_grad_case(model, ("stem", "blocks.1"), "a video model whose stem was frozen before")
with clauses.clause("every frozen BatchNorm layer (1d, 2d, 3d) stops updating; those under a prefix go on",
                    points=0.5):
    torch.manual_seed(0)
    _statistics_case(torchvision.models.resnet18(weights=None), ("layer4", "fc"),
                     torch.randn(2, 3, 32, 32), "resnet18")
    _statistics_case(_Video(), ("stem", "blocks.1"), torch.randn(3, 2, 4, 4, 4), "a video model")
    _statistics_case(_Video(), (), torch.randn(3, 2, 4, 4, 4), "a video model with nothing kept trainable")
    no_affine = nn.Sequential(OrderedDict(body=nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, affine=False)),
                                          head=nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4, affine=False))))
    _statistics_case(no_affine, ("head",), torch.randn(5, 3), "a model whose BatchNorm layers have no parameters "
                     "(affine=False)")
with clauses.clause("a SyncBatchNorm layer is a BatchNorm layer too", points=0.5):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.SyncBatchNorm(4), nn.ReLU(), nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4),
                          nn.Flatten(), nn.Linear(4, 2))
    model.train()
    student_call("freeze(a model with a SyncBatchNorm layer '1' and a BatchNorm2d layer '4', ('6',))", freeze,
                 model, ("6",))
    if model[1].training:
        fail("after freeze(model, ('6',)), the frozen SyncBatchNorm layer '1' is still in training mode (it updates "
             "running statistics in train() mode like any BatchNorm)"
             + (", while the BatchNorm2d layer '4' went to eval mode." if not model[4].training else "."),
             hint="SyncBatchNorm was not treated as a BatchNorm layer: find them with "
                  "isinstance(module, nn.modules.batchnorm._BatchNorm)" if not model[4].training else None)
with clauses.clause("the mode of every other module is left as it was", points=0.5):
    model = to_device(_Video()).eval()  # a model already in eval mode
    student_call("freeze(a video model in eval mode, ('stem', 'blocks.1'))", freeze, model, ("stem", "blocks.1"))
    switched = sorted(n for n, m in model.named_modules() if m.training)
    check_equal(switched, [], "modules in training mode after freeze() of a model that was in eval mode "
                "(freeze switches modules to eval, never to train)")
    model = to_device(_Video()).train()
    student_call("freeze(a video model in train mode, ('stem', 'blocks.1'))", freeze, model, ("stem", "blocks.1"))
    expected = sorted(n for n, m in model.named_modules() if not (isinstance(m, _BN) and not _under(n, ("stem", "blocks.1"))))
    check_equal(sorted(n for n, m in model.named_modules() if m.training), expected,
                "modules still in training mode after freeze(a video model in train mode, ('stem', 'blocks.1')) "
                "(all but the frozen BatchNorm layers)")
with clauses.clause("calling freeze twice gives the same result", points=0.5):
    model = to_device(_Video()).train()
    student_call("freeze(video, ('blocks.1',))", freeze, model, ("blocks.1",))
    first = ({n: p.requires_grad for n, p in model.named_parameters()},
             {n: m.training for n, m in model.named_modules()})
    again = student_call("freeze(video, ('blocks.1',)) a second time", freeze, model, ("blocks.1",))
    check(again is model, "a second call of freeze must return the model it was given.")
    check_same({n: p.requires_grad for n, p in model.named_parameters()}, first[0],
               "requires_grad after calling freeze twice")
    check_same({n: m.training for n, m in model.named_modules()}, first[1], "modes after calling freeze twice")
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part3]
# ## Part 3 — key prefixes (3 points)
#
# A model wrapped in `nn.DataParallel` or `DistributedDataParallel` saves keys such as
# `module.conv1.weight`; the bare model expects `conv1.weight`. And loading a backbone into a bigger
# model needs `backbone.` added in front of every key.
#
# **`replace_prefix(state_dict, old_prefix, new_prefix)`**
# - Returns a **new** dict (`dict` or `OrderedDict`, never the input object itself) with the same
#   values in the same key order. Each key that **starts with** `old_prefix` has that leading
#   `old_prefix` replaced by `new_prefix` (once: an `old_prefix` further inside the key stays);
#   every other key is kept as it is.
# - The values may be the input's tensors themselves or copies of them (both are accepted).
# - Stripping is `replace_prefix(sd, "module.", "")`; adding is `replace_prefix(sd, "", "backbone.")`.
# - The input dict must not be modified (its keys, their order, its values).
# - Whether the result carries the input's `_metadata` attribute (the version information that
#   `state_dict()` attaches) is up to you: `load_state_dict` works either way, and it is not checked.

# %% [answer id=replace_prefix]
def replace_prefix(state_dict, old_prefix, new_prefix):
    ### BEGIN SOLUTION
    result = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith(old_prefix):
            key = new_prefix + key[len(old_prefix):]
        result[key] = value
    return result
    ### END SOLUTION

# %% [tests id=test_replace_prefix points=1]
wrapped = nn.DataParallel(nn.Linear(3, 2))  # works without a GPU too: it only adds the prefix
print(list(wrapped.state_dict()))
clauses = Clauses(points=1)
with clauses.clause("stripping 'module.' gives keys the bare model loads", points=0.5):
    stripped = student_call('replace_prefix(sd, "module.", "")', replace_prefix, wrapped.state_dict(), "module.", "")
    check_type(stripped, dict, 'replace_prefix(sd, "module.", "")')
    check_equal(list(stripped), ["weight", "bias"], 'keys of replace_prefix(sd, "module.", "")')
    student_call("nn.Linear(3, 2).load_state_dict(stripped)", nn.Linear(3, 2).load_state_dict, stripped)
with clauses.clause("an empty old prefix adds the new prefix to every key", points=0.5):
    added = student_call('replace_prefix(sd, "", "backbone.")', replace_prefix,
                         {"weight": torch.ones(2, 3), "bias": torch.zeros(2)}, "", "backbone.")
    check_equal(list(added), ["backbone.weight", "backbone.bias"], 'keys of replace_prefix(sd, "", "backbone.")')
clauses.verdict()

# %% [tests id=test_replace_prefix_hidden points=2]
# Hidden tests for replace_prefix run here when your work is graded.
### BEGIN HIDDEN TESTS
import torchvision


def _t(*keys):
    return OrderedDict((k, torch.full((2,), float(i))) for i, k in enumerate(keys))


def _keys_case(sd, old, new):
    what = f"replace_prefix(sd, {old!r}, {new!r})"
    got = student_call(what, replace_prefix, sd, old, new)
    check_type(got, dict, what)
    expected = [new + k[len(old):] if k.startswith(old) else k for k in sd]
    check_equal(list(got), expected, f"keys of {what} for keys {list(sd)}",
                mistakes={"str.replace changed every occurrence of the prefix, not only a leading one":
                          [k.replace(old, new) for k in sd],
                          "str.lstrip removes a set of characters, not a prefix: use removeprefix or slicing":
                          [new + k.lstrip(old) if k.startswith(old) else k for k in sd]})
    return got


clauses = Clauses(points=2)
with clauses.clause("only a leading old_prefix is replaced, once; other keys are kept; the order is kept",
                    points=0.5):
    _keys_case(_t("module.encoder.module.weight", "module.model.bias", "head.module.w"), "module.", "")
    _keys_case(_t("encoder.weight", "encoder.bias", "head.weight", "encoder_extra.w"), "encoder.", "backbone.")
    _keys_case(_t("a.module.x", "b"), "module.", "")
    _keys_case(_t("mmodule.x", "module.module.y", "le.z"), "module.", "m.")
with clauses.clause("a new dict is returned and the input is left as it was", points=0.5):
    sd = _t("module.a", "module.b", "c")
    before = [(k, id(v), v.clone()) for k, v in sd.items()]
    got = student_call("replace_prefix(sd, 'module.', '')", replace_prefix, sd, "module.", "")
    check(got is not sd, "replace_prefix returned the dict it was given: it must return a new dict.")
    check_equal([k for k, _, _ in before], list(sd), "keys of the input state_dict after replace_prefix (they must "
                "not change)")
    check(all(id(sd[k]) == i and torch.equal(sd[k], v) for k, i, v in before),
          "the input state_dict's values changed during replace_prefix.")
    same = student_call("replace_prefix(sd, 'x.', 'x.') (old and new prefix equal)", replace_prefix, sd, "x.", "x.")
    check(same is not sd, "replace_prefix(sd, 'x.', 'x.') returned the input dict itself: it must return a new dict.")
with clauses.clause("the values are the input's tensors (or equal copies), under their new keys", points=0.5):
    sd = _t("module.encoder.w", "module.head.b", "scale")
    got = student_call("replace_prefix(sd, 'module.', 'net.')", replace_prefix, sd, "module.", "net.")
    for old_key, new_key in [("module.encoder.w", "net.encoder.w"), ("module.head.b", "net.head.b"), ("scale", "scale")]:
        check(new_key in got and isinstance(got[new_key], torch.Tensor) and torch.equal(got[new_key], sd[old_key]),
              f"replace_prefix(sd, 'module.', 'net.')[{new_key!r}] must equal sd[{old_key!r}].")
with clauses.clause("a DataParallel resnet18 state_dict, stripped, loads into the bare model; an added prefix "
                    "loads into a wrapper", points=0.5):
    bare = to_device(torchvision.models.resnet18(weights=None, num_classes=7))
    dp_sd = nn.DataParallel(torchvision.models.resnet18(weights=None, num_classes=7)).state_dict()
    stripped = _keys_case(dp_sd, "module.", "")
    student_call("resnet18.load_state_dict(stripped DataParallel state_dict)", bare.load_state_dict, stripped)
    check(torch.equal(bare.fc.weight.cpu(), dp_sd["module.fc.weight"].cpu()),
          "after loading the stripped state_dict, the model's weights must equal the checkpoint's.")
    wrapper = nn.Sequential(OrderedDict(backbone=nn.Linear(4, 4), head=nn.Linear(4, 2)))
    added = _keys_case(nn.Linear(4, 4).state_dict(), "", "backbone.")
    student_call("wrapper.load_state_dict(prefixed, strict=False)", wrapper.load_state_dict, added, strict=False)
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part4]
# ## Part 4 — partial loading (4 points)
#
# Transfer learning loads a checkpoint into a model that differs from it: a new head with another
# number of classes, a layer that was added or removed. `load_state_dict(sd, strict=False)` forgives
# missing and unexpected keys but still **raises** on a shape mismatch.
#
# **`load_matching(model, state_dict)`**
# - Copies into `model` every entry of `state_dict` whose key is in `model.state_dict()` (parameters
#   **and** persistent buffers) with the same shape; touches nothing else.
# - The values are **copied** into the model's own tensors: its `Parameter` objects stay the same
#   objects (an optimizer built before the call still updates them), each keeps its device, dtype
#   and `requires_grad`, and none shares memory with `state_dict` afterwards.
# - The input `state_dict` must not be modified (its keys, its values).
# - Returns a report, a dict of four lists of keys (in any order):
#   - `"loaded"`: the model's keys that were loaded;
#   - `"missing"`: the model's keys absent from `state_dict`;
#   - `"mismatched"`: keys in both, with different shapes (not loaded, and not in `"missing"`);
#   - `"unexpected"`: keys of `state_dict` that the model does not have.

# %% [answer id=load_matching]
def load_matching(model, state_dict):
    ### BEGIN SOLUTION
    own = model.state_dict()
    report = {"loaded": [], "missing": [], "mismatched": [], "unexpected": []}
    matching = {}
    for key, target in own.items():
        if key not in state_dict:
            report["missing"].append(key)
        elif state_dict[key].shape != target.shape:
            report["mismatched"].append(key)
        else:
            matching[key] = state_dict[key]
            report["loaded"].append(key)
    report["unexpected"] = [key for key in state_dict if key not in own]
    model.load_state_dict(matching, strict=False)
    return report
    ### END SOLUTION

# %% [tests id=test_load_matching points=1]
torch.manual_seed(0)
source = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 10))
source[1].running_mean.fill_(0.5)
checkpoint = source.state_dict()
checkpoint["extra.weight"] = torch.zeros(1)
expected = {"loaded": ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                       "1.num_batches_tracked"],
            "missing": [], "mismatched": ["2.weight", "2.bias"], "unexpected": ["extra.weight"]}
clauses = Clauses(points=1)
with clauses.clause("the report's four lists", points=0.5):
    target = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 3))  # a new 3-class head
    report = student_call("load_matching(target, checkpoint)", load_matching, target, checkpoint)
    check_type(report, dict, "load_matching(...)")
    check_equal(sorted(report), ["loaded", "mismatched", "missing", "unexpected"], "keys of the report")
    for name, keys in expected.items():
        check_same(report.get(name, []), keys, f'report["{name}"]')
with clauses.clause("the matching weights and BatchNorm buffers are loaded", points=0.5):
    target = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 3))
    student_call("load_matching(target, checkpoint)", load_matching, target, checkpoint)
    check(torch.equal(target[0].weight, source[0].weight) and torch.equal(target[1].running_mean,
                                                                          source[1].running_mean),
          "the matching keys (weights and BatchNorm buffers) must be loaded into the model.")
clauses.verdict()

# %% [tests id=test_load_matching_hidden points=3]
# Hidden tests for load_matching run here when your work is graded.
### BEGIN HIDDEN TESTS
import torchvision


class _WithExtras(nn.Module):  # a persistent and a non-persistent buffer, a nested block
    def __init__(self, n_out):
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
        self.head = nn.Linear(4, n_out)
        self.register_buffer("scale", torch.ones(n_out))
        self.register_buffer("cache", torch.zeros(5), persistent=False)


def _resnet_case():
    torch.manual_seed(1)
    src = torchvision.models.resnet18(weights=None)  # 1000 classes
    src.bn1.running_var.fill_(2.0)
    ckpt = src.state_dict()
    model = to_device(torchvision.models.resnet18(weights=None, num_classes=10))
    fc_before = model.fc.weight.detach().clone()
    report = student_call("load_matching(resnet18 with 10 classes, a 1000-class resnet18 checkpoint)",
                          load_matching, model, ckpt)
    check_type(report, dict, "load_matching(resnet18 with 10 classes, a 1000-class resnet18 checkpoint)")
    return ckpt, model, fc_before, report


clauses = Clauses(points=3)
with clauses.clause('report["loaded"] lists every matching parameter and buffer', points=0.5):
    ckpt, model, _, report = _resnet_case()
    buffers = {n for n, _ in model.named_buffers()}
    expected = sorted(k for k in model.state_dict() if not k.startswith("fc."))
    check_same(report.get("loaded", []), expected, 'report["loaded"] for resnet18',
               mistakes={"buffers (BatchNorm running statistics) were left out: iterate model.state_dict(), "
                         "not named_parameters()": sorted(set(expected) - buffers)})
with clauses.clause('"mismatched", "missing" and "unexpected" are disjoint and complete', points=0.5):
    ckpt, model, _, report = _resnet_case()
    check_same(report.get("mismatched", []), ["fc.bias", "fc.weight"], 'report["mismatched"] for resnet18')
    check_same(report.get("missing", []), [], 'report["missing"] for resnet18',
               mistakes={'keys with a shape mismatch were also reported as "missing": the four lists do not overlap':
                         ["fc.bias", "fc.weight"]})
    check_same(report.get("unexpected", []), [], 'report["unexpected"] for resnet18')
    old = _WithExtras(6)
    old_sd = old.state_dict()
    del old_sd["block.1.running_var"]
    old_sd["decoder.weight"] = torch.ones(2, 2)
    report = student_call("load_matching on a model with a non-persistent buffer", load_matching,
                          to_device(_WithExtras(6)), old_sd)
    for name, keys in {"loaded": sorted(k for k in old.state_dict() if k != "block.1.running_var"),
                       "missing": ["block.1.running_var"], "mismatched": [],
                       "unexpected": ["decoder.weight"]}.items():
        check_same(report.get(name, []), keys, f'report["{name}"] for a model with a persistent buffer "scale" '
                   'and a non-persistent buffer "cache"')
with clauses.clause("matching values (buffers included) are loaded; mismatched ones keep their values", points=0.5):
    ckpt, model, fc_before, _ = _resnet_case()
    now = model.state_dict()
    not_loaded = [k for k in now if not k.startswith("fc.") and not torch.equal(now[k].cpu(), ckpt[k])]
    check_equal(not_loaded, [], "keys of resnet18 whose values differ from the checkpoint after load_matching")
    check(torch.equal(model.fc.weight.detach(), fc_before), "the mismatched fc.weight must keep its own values.")
    old = _WithExtras(6)
    old.scale.fill_(3.0)
    new = to_device(_WithExtras(6))
    student_call("load_matching on a model with buffers", load_matching, new, old.state_dict())
    check(torch.equal(new.scale.cpu(), old.scale), "the persistent buffer 'scale' must be loaded.")
with clauses.clause("the input state_dict is not modified", points=0.5):
    torch.manual_seed(2)
    ckpt = _WithExtras(3).state_dict()
    ckpt["head.weight"] = torch.ones(9, 4)  # a shape mismatch
    ckpt["decoder.weight"] = torch.ones(2, 2)
    before = [(k, v.clone()) for k, v in ckpt.items()]
    model = to_device(_WithExtras(3))
    student_call("load_matching(model, checkpoint)", load_matching, model, ckpt)
    check_equal(list(ckpt), [k for k, _ in before], "keys of the checkpoint after load_matching (they must not change)")
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)  # training goes on
    changed = [k for k, v in before if not torch.equal(ckpt[k], v)]
    check_equal(changed, [], "checkpoint entries whose values changed after load_matching and one update of the "
                "model's parameters (the model must not share memory with the checkpoint)")
with clauses.clause("the model keeps its Parameter objects, devices, dtypes and requires_grad", points=0.5):
    model = to_device(_WithExtras(3))
    model.head.requires_grad_(False)
    params = {n: p for n, p in model.named_parameters()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    ckpt = {k: v.double() for k, v in _WithExtras(3).state_dict().items() if v.is_floating_point()}
    student_call("load_matching(float32 model, float64 checkpoint)", load_matching, model, ckpt)
    replaced = sorted(n for n, p in model.named_parameters() if p is not params[n])
    check_equal(replaced, [], "parameters of the model that are new objects after load_matching (an optimizer "
                "built before still holds the old ones)")
    check_equal(sorted({str(t.dtype) for t in model.state_dict().values() if t.is_floating_point()}),
                ["torch.float32"], "dtypes of the model's floating-point tensors after loading a float64 checkpoint")
    check_equal(sorted({t.device.type for t in model.state_dict().values()}), [grading_device().type],
                "devices of the model's tensors after load_matching")
    check_equal({n: p.requires_grad for n, p in model.named_parameters()},
                {n: not n.startswith("head.") for n in params}, "requires_grad of each parameter after load_matching")
    check(all(p is q for p, q in zip(optimizer.param_groups[0]["params"], model.parameters())),
          "the optimizer's parameters are no longer the model's parameters.")
with clauses.clause("loading works into a model on any device, from a CPU checkpoint", points=0.5):
    model = to_device(torchvision.models.resnet18(weights=None, num_classes=10))
    ckpt = torchvision.models.resnet18(weights=None, num_classes=10).state_dict()
    student_call("load_matching(resnet18 on the grading device, a CPU checkpoint)", load_matching, model, ckpt)
    check(torch.equal(model.conv1.weight.detach().cpu(), ckpt["conv1.weight"]),
          "conv1.weight was not loaded from a CPU checkpoint into the model on the grading device.")
    check_equal(sorted({t.device.type for t in model.state_dict().values()}), [grading_device().type],
                "devices of the model's tensors after loading a CPU checkpoint")
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part5]
# ## Part 5 — checkpoints that resume exactly (5 points)
#
# A checkpoint must hold everything the next epoch depends on. Lecture 2 saved the weights and
# buffers, the optimizer's state, the epoch counter and the global random number generators. A real
# training loop has two more pieces of state: a **learning-rate scheduler** (its step count decides
# the next learning rate) and a **dedicated `torch.Generator`** that shuffles the data
# (`DataLoader(..., generator=g)`), which `torch.get_rng_state()` does not cover.
#
# **`save_checkpoint(path, model, optimizer, scheduler, epoch, generator)`** writes, with
# `torch.save`, a dict with (at least) the keys
# - `"model"`: `model.state_dict()` (never the model object itself);
# - `"optimizer"`: `optimizer.state_dict()`; `"scheduler"`: `scheduler.state_dict()`;
# - `"epoch"`: `epoch`, an `int`: the number of epochs completed;
# - `"rng"`: a dict with `"torch"`: `torch.get_rng_state()`, `"python"`: `random.getstate()`,
#   `"cuda"`: `torch.cuda.get_rng_state_all()` (an empty list on a machine without a GPU) and
#   `"generator"`: `generator.get_state()`.
#
# **`load_checkpoint(path, model, optimizer, scheduler, generator)`** reads the file safely with
# `torch.load(path, map_location="cpu", weights_only=True)` (it must never run code hidden in a
# file), loads the model strictly (a checkpoint of another model must raise an error), loads the
# optimizer and the scheduler, restores the three global RNG states and the generator's state, and
# returns the saved `epoch`. The model may be on any device; it stays there.
#
# After `load_checkpoint`, training on the CPU continues **bit for bit** as if it had never stopped:
# same shuffling, same dropout masks, same augmentations, same learning rates.

# %% [answer id=checkpoint]
def save_checkpoint(path, model, optimizer, scheduler, epoch, generator):
    ### BEGIN SOLUTION
    torch.save({
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "epoch": epoch,
        "rng": {"torch": torch.get_rng_state(), "python": random.getstate(),
                "cuda": torch.cuda.get_rng_state_all(), "generator": generator.get_state()},
    }, path)
    ### END SOLUTION


def load_checkpoint(path, model, optimizer, scheduler, generator):
    ### BEGIN SOLUTION
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    rng = checkpoint["rng"]
    torch.set_rng_state(rng["torch"])
    random.setstate(rng["python"])
    if rng["cuda"]:
        torch.cuda.set_rng_state_all(rng["cuda"])
    generator.set_state(rng["generator"])
    return checkpoint["epoch"]
    ### END SOLUTION

# %% [tests id=test_checkpoint points=2]
import copy
import re


def train_epochs(model, optimizer, scheduler, generator, x, y, epochs):
    """A tiny training loop that uses every RNG and the scheduler: shuffling with `generator`,
    dropout (the global torch RNG), a random augmentation (Python's RNG), one scheduler step per epoch."""
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=generator).to(x.device)
        for start in range(0, len(x), 8):
            batch = order[start:start + 8]
            xb = x[batch] * (1 + 0.1 * random.random())  # augmentation drawn from Python's RNG
            loss = nn.functional.cross_entropy(model(xb), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        scheduler.step()


def read_checkpoint(path):
    """The saved file, read as load_checkpoint must read it; a refusal says what the file holds."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(error))
        culprit = found.group(1) if found else type(error).__name__
        raise CheckFailed(f"torch.load(path, weights_only=True) refused the checkpoint: it holds "
                          f"{culprit}, not only tensors and plain Python values (save state_dicts and "
                          f"RNG states, not objects).") from None


def resume_matches(make_model, make_optimizer, make_scheduler, x, y, what="the model"):
    """Train 2 epochs, checkpoint, train 2 more; then resume fresh objects from the checkpoint.

    Returns (uninterrupted model, resumed model, the saved file's content, the epoch returned)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "checkpoint.pt"
        torch.manual_seed(0)
        random.seed(0)
        generator = torch.Generator().manual_seed(7)
        model = make_model()
        optimizer = make_optimizer(model)
        scheduler = make_scheduler(optimizer)
        train_epochs(model, optimizer, scheduler, generator, x, y, 2)
        student_call("save_checkpoint(path, model, optimizer, scheduler, 2, generator)", save_checkpoint,
                     path, model, optimizer, scheduler, 2, generator)
        train_epochs(model, optimizer, scheduler, generator, x, y, 2)  # the uninterrupted run
        check(path.exists(), "save_checkpoint must write the file at path.")
        content = read_checkpoint(path)

        torch.manual_seed(1234)  # the resumed run starts from other states, as after a restart
        random.seed(1234)
        fresh_generator = torch.Generator().manual_seed(1234)
        fresh = make_model()
        fresh_optimizer = make_optimizer(fresh)
        fresh_scheduler = make_scheduler(fresh_optimizer)
        epoch = student_call("load_checkpoint(path, fresh_model, fresh_optimizer, fresh_scheduler, fresh_generator)",
                             load_checkpoint, path, fresh, fresh_optimizer, fresh_scheduler, fresh_generator)
        train_epochs(fresh, fresh_optimizer, fresh_scheduler, fresh_generator, x, y, 2)  # the resumed run
        return model, fresh, content, epoch


def check_resumed(model, fresh, what):
    exact = grading_device().type == "cpu" or next(model.parameters()).device.type == "cpu"
    differ = []
    for (name, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
        same = torch.equal(a, b) if exact else torch.allclose(a.double(), b.double(), atol=1e-4, rtol=1e-3)
        if not same:
            differ.append(f"{name} (largest difference {(a.double() - b.double()).abs().max().item():.3g})")
    check(not differ, f"after resuming, {len(differ)} entries of {what}'s state_dict differ from uninterrupted "
                      f"training, e.g. {differ[:2]}.")


def _make_mlp():
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))


torch.manual_seed(0)
x, y = torch.randn(32, 6), torch.randint(0, 3, (32,))
clauses = Clauses(points=2)
with clauses.clause("the file holds model, optimizer, scheduler, epoch and rng, readable with weights_only=True",
                    points=1):
    _, _, content, epoch = resume_matches(_make_mlp, lambda m: torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9),
                                          lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.1), x, y)
    check_type(content, dict, "the saved checkpoint")
    check_equal(sorted({"epoch", "model", "optimizer", "scheduler", "rng"} - set(content)), [],
                "keys missing from the saved checkpoint")
    check_equal(epoch, 2, "the epoch returned by load_checkpoint")
with clauses.clause("training resumed from the checkpoint equals uninterrupted training, bit for bit", points=1):
    model, fresh, _, _ = resume_matches(_make_mlp, lambda m: torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9),
                                        lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.1), x, y)
    check_resumed(model, fresh, "an MLP with dropout, SGD with momentum and StepLR(step_size=3)")
clauses.verdict()

# %% [tests id=test_checkpoint_hidden points=3]
# Hidden tests for save_checkpoint and load_checkpoint run here when your work is graded.
### BEGIN HIDDEN TESTS
import builtins

import torchvision


class _ConvNet(nn.Module):  # BatchNorm buffers, nested blocks, dropout
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                      nn.Sequential(nn.Conv2d(4, 4, 3), nn.BatchNorm2d(4), nn.ReLU()))
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(4 * 6 * 6, 3))

    def forward(self, x):
        return self.head(self.features(x))


# On a GPU, resumption is compared with a tolerance: ask cuDNN for its deterministic kernels anyway.
torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
torch.manual_seed(3)
_x, _y = to_device(torch.randn(24, 1, 8, 8), torch.randint(0, 3, (24,)))


def _conv_case():
    return resume_matches(lambda: to_device(_ConvNet()), lambda m: torch.optim.AdamW(m.parameters(), lr=0.01),
                          lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=3), _x, _y)


clauses = Clauses(points=3)
with clauses.clause("the saved dict holds each state named in the contract", points=0.5):
    model, _, content, _ = _conv_case()
    check_type(content, dict, "the saved checkpoint")
    check_equal(sorted({"epoch", "model", "optimizer", "scheduler", "rng"} - set(content)), [],
                "keys missing from the saved checkpoint")
    check_type(content["epoch"], int, 'checkpoint["epoch"]')
    check_type(content["model"], dict, 'checkpoint["model"] (model.state_dict(), not the model)')
    check_equal(sorted(content["model"]), sorted(model.state_dict()), 'keys of checkpoint["model"]')
    check_type(content["scheduler"], dict, 'checkpoint["scheduler"] (scheduler.state_dict())')
    check_equal(content["scheduler"].get("last_epoch"), 2, 'checkpoint["scheduler"]["last_epoch"] after 2 epochs')
    check_type(content["rng"], dict, 'checkpoint["rng"]')
    check_equal(sorted({"torch", "python", "cuda", "generator"} - set(content["rng"])), [],
                'keys missing from checkpoint["rng"]')
with clauses.clause("training a conv net with BatchNorm, AdamW and a cosine schedule resumes bit for bit",
                    points=1):
    model, fresh, _, _ = _conv_case()
    check_resumed(model, fresh, "a conv net with BatchNorm trained with AdamW and CosineAnnealingLR")
with clauses.clause("load_checkpoint restores each state and returns the epoch", points=0.5):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "state.pt"
        net = nn.Linear(3, 2)
        opt = torch.optim.SGD(net.parameters(), lr=0.5)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        for _ in range(3):
            opt.step()
            sched.step()
        gen = torch.Generator().manual_seed(11)
        torch.randperm(5, generator=gen)
        torch.manual_seed(21)
        random.seed(21)
        saved = (torch.get_rng_state(), random.getstate(), gen.get_state())
        student_call("save_checkpoint(path, ..., epoch=7, generator)", save_checkpoint, path, net, opt, sched, 7, gen)
        torch.manual_seed(99)
        random.seed(99)
        net2 = nn.Linear(3, 2)
        opt2 = torch.optim.SGD(net2.parameters(), lr=0.5)
        sched2 = torch.optim.lr_scheduler.StepLR(opt2, step_size=1, gamma=0.5)
        gen2 = torch.Generator().manual_seed(99)
        epoch = student_call("load_checkpoint(path, fresh model, optimizer, scheduler, generator)", load_checkpoint,
                             path, net2, opt2, sched2, gen2)
        check_equal(epoch, 7, "the epoch returned by load_checkpoint for a checkpoint saved with epoch=7")
        check_type(epoch, int, "the epoch returned by load_checkpoint")
        restored = {"the global torch RNG": torch.equal(torch.get_rng_state(), saved[0]),
                    "Python's random module": random.getstate() == saved[1],
                    "the generator passed to load_checkpoint": torch.equal(gen2.get_state(), saved[2]),
                    "the scheduler's step count": sched2.last_epoch == 3,
                    "the optimizer's learning rate": opt2.param_groups[0]["lr"] == 0.0625,
                    "the model's weights": torch.equal(net2.weight, net.weight)}
        try:
            content = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:
            content = {}
        rng = content.get("rng", {}) if isinstance(content, dict) else {}
        rng = rng if isinstance(rng, dict) else {}
        in_file = {"the global torch RNG": "torch" in rng, "Python's random module": "python" in rng,
                   "the generator passed to load_checkpoint": "generator" in rng,
                   "the scheduler's step count": "scheduler" in content,
                   "the optimizer's learning rate": "optimizer" in content, "the model's weights": "model" in content}
        check_equal([f"{name} ({'saved in the file' if in_file[name] else 'not in the file'})"
                     for name, ok in restored.items() if not ok], [],
                    "states that load_checkpoint did not restore to their values at saving time")
with clauses.clause("a checkpoint of another model raises instead of loading silently", points=0.5):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ckpt.pt"
        wrapped = nn.DataParallel(torchvision.models.resnet18(weights=None))
        opt = torch.optim.SGD(wrapped.parameters(), lr=0.1)
        student_call("save_checkpoint(path, DataParallel(resnet18), ...)", save_checkpoint, path, wrapped, opt,
                     torch.optim.lr_scheduler.StepLR(opt, 1), 5, torch.Generator())
        bare = to_device(torchvision.models.resnet18(weights=None))
        opt = torch.optim.SGD(bare.parameters(), lr=0.1)
        try:
            load_checkpoint(path, bare, opt, torch.optim.lr_scheduler.StepLR(opt, 1), torch.Generator())
        except Exception:
            pass
        else:
            fail("a checkpoint with 'module.' keys loaded into the bare resnet18 without any error.")
with clauses.clause("loading a file never runs code hidden in it", points=0.5):
    class _Payload:
        def __reduce__(self):
            return (exec, ("import builtins; builtins._checkpoint_code_ran = True",))

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ckpt.pt"
        net = to_device(nn.Linear(2, 2))
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        sched = torch.optim.lr_scheduler.StepLR(opt, 1)
        valid = {"model": net.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                 "epoch": 4, "rng": {"torch": torch.get_rng_state(), "python": random.getstate(), "cuda": [],
                                     "generator": torch.Generator().get_state()}}
        torch.save(valid, path)
        check_equal(student_call("load_checkpoint(a valid checkpoint written by torch.save)", load_checkpoint, path,
                                 net, opt, sched, torch.Generator()), 4,
                    "the epoch returned by load_checkpoint for a valid checkpoint written by torch.save")
        torch.save(dict(valid, epoch=_Payload()), path)
        builtins._checkpoint_code_ran = False
        try:
            load_checkpoint(path, net, opt, sched, torch.Generator())
        except Exception:
            pass
        check(not builtins._checkpoint_code_ran, "loading an untrusted checkpoint ran code hidden in the file.",
              hint="torch.load(..., weights_only=False) unpickles arbitrary objects: load with weights_only=True")
clauses.verdict()
### END HIDDEN TESTS

# %% [markdown readonly id=part6]
# ## Part 6 — weight initialisation (3 points)
#
# **`init_weights(model)`** re-initialises, in place, the weight of every `nn.Linear` and `nn.Conv2d`
# layer of `model` (at any depth) and returns `model`:
# - a layer is a **ReLU layer** when it is a direct child of an `nn.Sequential` and the next module
#   after it **in that same `nn.Sequential`** that is not a BatchNorm layer is an `nn.ReLU`; e.g.
#   `Conv2d → BatchNorm2d → ReLU` or `Linear → ReLU`. Nothing else makes a ReLU layer: a layer that
#   is the last of its `nn.Sequential`, an attribute of another module, or an element of an
#   `nn.ModuleList` is not a ReLU layer, even when a ReLU (a module or `F.relu` in `forward`) follows
#   it at run time.
#   Its weight gets **Kaiming** initialisation for ReLU with `mode="fan_in"`: standard deviation
#   $\sqrt{2 / \text{fan\_in}}$ (`nn.init.kaiming_normal_` or `kaiming_uniform_` with
#   `nonlinearity="relu"`);
# - every other Linear/Conv2d layer gets **Xavier** (Glorot) initialisation with gain 1: standard
#   deviation $\sqrt{2 / (\text{fan\_in} + \text{fan\_out})}$ (`nn.init.xavier_uniform_` or `xavier_normal_`);
# - every bias of those layers is set to zero (some layers have `bias=None`);
# - *in place* means the model keeps its `Parameter` objects, with their `requires_grad` flags (a
#   frozen layer is re-initialised too, and stays frozen);
# - nothing else changes (BatchNorm weights and buffers keep their values).
#
# `fan_in` and `fan_out` are as `torch.nn.init` computes them: for a `Conv2d` weight of shape
# `(out, in/groups, kH, kW)`, fan_in $= \text{in/groups} \times kH \times kW$ and
# fan_out $= \text{out} \times kH \times kW$.

# %% [answer id=init_weights]
def init_weights(model):
    ### BEGIN SOLUTION
    relu_layers = set()
    for module in model.modules():
        if isinstance(module, nn.Sequential):
            children = list(module)
            for i, child in enumerate(children):
                after = [c for c in children[i + 1:] if not isinstance(c, nn.modules.batchnorm._BatchNorm)]
                if after and isinstance(after[0], nn.ReLU):
                    relu_layers.add(child)
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            if module in relu_layers:
                nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
            else:
                nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return model
    ### END SOLUTION

# %% [tests id=test_init_weights points=1]
def check_init(model, relu_layers, what):
    """Check every Linear/Conv2d layer's weight std and bias, and that BatchNorm is untouched.

    relu_layers maps the name of each ReLU layer to whether a BatchNorm sits between it and its ReLU.
    """
    fans = nn.init._calculate_fan_in_and_fan_out
    with torch.no_grad():  # BatchNorm that is not at its defaults: resetting it would show
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                if module.affine:
                    module.weight.uniform_(0.5, 1.5)
                    module.bias.uniform_(-0.5, 0.5)
                if module.track_running_stats:
                    module.running_mean.uniform_(-0.5, 0.5)
                    module.running_var.uniform_(0.5, 1.5)
    before = {n: t.clone() for n, t in model.state_dict().items() if ".running" in n or "num_batches" in n}
    bn_before = {n: (m.weight.clone(), m.bias.clone()) for n, m in model.named_modules()
                 if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine}
    torch.manual_seed(0)
    returned = student_call(f"init_weights({what})", init_weights, model)
    check(returned is model, f"init_weights({what}) must return the model it was given.")
    for name, layer in model.named_modules():
        if not isinstance(layer, (nn.Linear, nn.Conv2d)):
            continue
        if layer.bias is not None:
            check(bool((layer.bias == 0).all()), f"the bias of {what}'s layer {name!r} must be all zeros.")
        fan_in, fan_out = fans(layer.weight)
        n = layer.weight.numel()
        if n < 500:  # too few values to measure a standard deviation
            continue
        std = layer.weight.detach().double().std().item()
        kaiming, xavier = (2 / fan_in) ** 0.5, (2 / (fan_in + fan_out)) ** 0.5
        tolerance = 0.01 + 5 / (2 * n) ** 0.5

        def near(target):
            return lambda s: abs(s - target) <= tolerance * target

        is_relu = name in relu_layers
        target = kaiming if is_relu else xavier
        if abs(std - target) > tolerance * target:
            # Say which known formula the measured std matches: an observation, not a guess.
            formulas = {"Kaiming's (fan_in, ReLU gain)": kaiming, "Xavier's": xavier,
                        "Kaiming's with mode='fan_out'": (2 / fan_out) ** 0.5,
                        "PyTorch's default initialisation's": (1 / (3 * fan_in)) ** 0.5}
            matches = [label for label, value in formulas.items() if near(value)(std)]
            fail(f"std of the weight of {what}'s layer {name!r} ({'ReLU layer' if is_relu else 'not a ReLU layer'}"
                 f"{', BatchNorm before its ReLU' if is_relu and relu_layers[name] else ''}, fan_in={fan_in}, "
                 f"fan_out={fan_out}): expected {target:.6g}, got {std:.6g}"
                 + (f", which is {' and '.join(matches)} std for this layer." if matches else "."))
    for name, t in before.items():
        check(torch.equal(model.state_dict()[name], t), f"init_weights must not change the buffer {name!r}.")
    for name, (w, b) in bn_before.items():
        module = model.get_submodule(name)
        check(torch.equal(module.weight, w) and torch.equal(module.bias, b),
              f"init_weights must not change the BatchNorm layer {name!r}.")


mlp = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128), nn.BatchNorm1d(128), nn.ReLU(),
                    nn.Linear(128, 128))
clauses = Clauses(points=1)
with clauses.clause("Kaiming for ReLU layers, Xavier for the others, zero biases, BatchNorm untouched", points=1):
    check_init(mlp, {"0": False, "2": True}, "an MLP")
clauses.verdict()

# %% [tests id=test_init_weights_hidden points=2]
# Hidden tests for init_weights run here when your work is graded.
### BEGIN HIDDEN TESTS
import torchvision


class _Nested(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(16, 32, 3, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True))
        self.body = nn.Sequential(nn.Sequential(nn.Conv2d(32, 64, 3), nn.ReLU()), nn.Conv2d(64, 32, 1))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(96, 96), nn.Tanh(), nn.Linear(96, 40))


class _Outside(nn.Module):
    """Layers that a ReLU follows at run time but that are not ReLU layers under the contract."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(256, 256)            # an attribute, F.relu applied in forward
        self.act = nn.ReLU()                       # registered right after proj, but not in a Sequential
        self.stack = nn.ModuleList([nn.Linear(256, 256), nn.ReLU()])
        self.block = nn.Sequential(nn.Sequential(nn.Linear(256, 128)), nn.ReLU())  # last of its Sequential
        self.out = nn.Sequential(nn.Linear(128, 256), nn.Dropout(0.1), nn.ReLU())  # Dropout comes first

    def forward(self, x):
        x = self.act(self.proj(x))
        x = self.stack[1](self.stack[0](x))
        return self.out(self.block(x))


clauses = Clauses(points=2)
with clauses.clause("ReLU layers in nested Sequentials (BatchNorm between allowed) get Kaiming, others Xavier",
                    points=0.5):
    check_init(to_device(_Nested()), {"stem.0": True, "body.0.0": False}, "a nested model")
with clauses.clause("a layer is a ReLU layer only through the next module of its own Sequential", points=0.5):
    check_init(to_device(_Outside()), {}, "a model whose only ReLUs follow layers outside their Sequential")
with clauses.clause("in place: the same Parameter objects, requires_grad kept, frozen layers re-initialised",
                    points=0.5):
    model = to_device(nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64)))
    model[2].requires_grad_(False)
    params = {n: p for n, p in model.named_parameters()}
    old = {n: p.detach().clone() for n, p in params.items()}
    student_call("init_weights(an MLP whose last layer is frozen)", init_weights, model)
    check_equal(sorted(n for n, p in model.named_parameters() if p is not params[n]), [],
                "parameters that are new objects after init_weights (it must work in place)")
    check_equal({n: p.requires_grad for n, p in model.named_parameters()},
                {"0.weight": True, "0.bias": True, "2.weight": False, "2.bias": False},
                "requires_grad of each parameter after init_weights")
    check(not torch.equal(model[2].weight.detach(), old["2.weight"]),
          "the frozen layer '2' kept its old weight: init_weights re-initialises every Linear/Conv2d layer.")
with clauses.clause("mobilenet_v3_small: every layer by the rule, BatchNorm untouched", points=0.5):
    mobile = to_device(torchvision.models.mobilenet_v3_small(weights=None))
    relu = {}
    for n, m in mobile.named_modules():
        if isinstance(m, nn.Sequential):
            kids = list(m.named_children())
            for i, (k, c) in enumerate(kids):
                after = [c for _, c in kids[i + 1:] if not isinstance(c, nn.modules.batchnorm._BatchNorm)]
                if after and isinstance(after[0], nn.ReLU):
                    relu[f"{n}.{k}" if n else k] = isinstance(kids[i + 1][1], nn.modules.batchnorm._BatchNorm)
    check_init(mobile, relu, "mobilenet_v3_small")
clauses.verdict()
### END HIDDEN TESTS
