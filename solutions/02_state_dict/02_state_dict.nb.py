# %% [markdown readonly id=intro]
# # Assignment 2 — Parameters, buffers and `state_dict`
#
# You will write, in six graded parts, the small tools every training project ends up needing:
#
# 1. `count_parameters` — all values, or only the trainable ones (3 points);
# 2. `freeze` — freeze a model except some sub-modules, BatchNorm statistics included (4 points);
# 3. `replace_prefix` — strip or add a `state_dict` key prefix such as `module.` (3 points);
# 4. `load_matching` — load every key whose name and shape match, and report the rest (4 points);
# 5. `save_checkpoint` / `load_checkpoint` — resume training bit for bit (5 points);
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

from grader.checks import (CheckFailed, check, check_close, check_equal, check_same, check_type,
                           student_call)
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
total = student_call("count_parameters(net)", count_parameters, net)
check_type(total, int, "count_parameters(net)")
check_equal(total, 29, "count_parameters(net) for Linear(4, 3), BatchNorm1d(3), Linear(3, 2)",
            mistakes={"buffers were counted as parameters: the state_dict also holds BatchNorm's "
                      "running statistics": 36,
                      "counted parameter tensors instead of their values: sum p.numel()": 6})
net[0].requires_grad_(False)  # freeze the first layer: 15 values
trainable = student_call("count_parameters(net, trainable_only=True)", count_parameters, net, trainable_only=True)
check_equal(trainable, 14, "count_parameters(net, trainable_only=True) with the first Linear frozen",
            mistakes={"trainable_only=True must skip parameters with requires_grad=False": 29,
                      "trainable_only=True counted the frozen parameters instead of the trainable ones": 15})
print("Part 1 visible tests passed.")

# %% [tests id=test_count_parameters_hidden points=2]
# Hidden tests for count_parameters run here when your work is graded.
### BEGIN HIDDEN TESTS
import torchvision

_net = to_device(torchvision.models.resnet18(weights=None))
for _name, _p in _net.named_parameters():
    _p.requires_grad_(_name.startswith(("layer4.", "fc.")))
_all = sum(p.numel() for p in _net.parameters())
_trainable = sum(p.numel() for p in _net.parameters() if p.requires_grad)
_buffers = sum(b.numel() for b in _net.buffers())
_count_mistakes = {
    "buffers were counted as parameters: the state_dict also holds BatchNorm's running statistics":
        _all + _buffers,
    "counted parameter tensors instead of their values: sum p.numel()": len(list(_net.parameters())),
    "parameters were counted once per enclosing module: model.parameters() already recurses":
        sum(p.numel() for m in _net.modules() for p in m.parameters()),
    "trainable_only=True must skip parameters with requires_grad=False": _all,
    "trainable_only=True counted the frozen parameters instead of the trainable ones": _all - _trainable,
}
_got = student_call("count_parameters(resnet18)", count_parameters, _net)
check_type(_got, int, "count_parameters(resnet18)")
check_equal(_got, _all, "count_parameters(resnet18)", mistakes=_count_mistakes)
check_equal(student_call("count_parameters(resnet18, trainable_only=True)", count_parameters, _net,
                         trainable_only=True),
            _trainable, "count_parameters(resnet18 with only layer4 and fc trainable, trainable_only=True)",
            mistakes=_count_mistakes)


class _Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(5, 3, bias=False)
        self.decoder = nn.Linear(5, 3, bias=False)
        self.decoder.weight = self.embed.weight  # one Parameter, two layers
        self.register_buffer("scale", torch.ones(7))


check_equal(student_call("count_parameters(tied)", count_parameters, _Tied()), 15,
            "count_parameters of a model whose weight is shared by two layers (and with a buffer)",
            mistakes={"a shared parameter was counted twice: model.parameters() yields each Parameter once": 30,
                      "buffers were counted as parameters: the state_dict also holds BatchNorm's "
                      "running statistics": 37})
### END HIDDEN TESTS

# %% [markdown readonly id=part2]
# ## Part 2 — freezing, BatchNorm included (4 points)
#
# **`freeze(model, except_prefixes=())`** prepares a model for feature extraction and returns it.
# - `except_prefixes`: a tuple or list of module paths such as `("layer4", "fc")`. A name is *under*
#   a prefix `p` when it equals `p` or starts with `p + "."`: `"features.1"` covers
#   `features.1.conv.weight` but **not** `features.10.conv.weight`.
# - Every parameter whose name (from `named_parameters()`) is under one of the prefixes gets
#   `requires_grad=True`; every other parameter gets `requires_grad=False`.
# - `requires_grad=False` does not stop a BatchNorm layer from updating its running statistics in
#   training mode. So every BatchNorm layer (`BatchNorm1d`, `2d` or `3d`) whose name (from
#   `named_modules()`) is **not** under a prefix is switched to eval mode. Leave the mode of every
#   other module as it is: trainable BatchNorm layers and Dropout keep training.
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


net = small_net().train()
returned = student_call('freeze(net, ["head"])', freeze, net, ["head"])
check(returned is net, "freeze must return the model it was given.")
got = {name: p.requires_grad for name, p in net.named_parameters()}
expected = {name: name.startswith("head.") for name, _ in net.named_parameters()}
check_same(got, expected, "requires_grad of each parameter after freeze(net, ['head'])",
            mistakes={"except_prefixes were compared with ==: a prefix such as 'head' must keep 'head.0.weight' trainable":
                      {name: False for name in expected}})
frozen_bn, trainable_bn = net.body[1], net.head[1]
before = {name: t.clone() for name, t in net.state_dict().items()}
net(torch.randn(16, 4))  # a training-mode forward pass
check(torch.equal(frozen_bn.running_mean, before["body.1.running_mean"])
      and torch.equal(frozen_bn.num_batches_tracked, before["body.1.num_batches_tracked"]),
      "a frozen BatchNorm layer's running statistics changed during a forward pass in train() mode.",
      hint="requires_grad=False does not stop BatchNorm from updating its running statistics in "
           "train() mode: put frozen BatchNorm layers in eval()")
check(trainable_bn.training and net.head[2].training,
      "the BatchNorm and Dropout layers of the trainable head must stay in training mode.",
      hint="model.eval() was called on the whole model: only the frozen BatchNorm layers go to eval()")
print("Part 2 visible tests passed.")

# %% [tests id=test_freeze_hidden points=3]
# Hidden tests for freeze run here when your work is graded.
### BEGIN HIDDEN TESTS
import torchvision

_BN = nn.modules.batchnorm._BatchNorm


def _under(name, prefixes):
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _check_freeze(model, prefixes, x, what):
    model = to_device(model).train()
    returned = student_call(f"freeze({what}, {prefixes})", freeze, model, prefixes)
    check(returned is model, "freeze must return the model it was given.")
    got = {n: p.requires_grad for n, p in model.named_parameters()}
    expected = {n: _under(n, prefixes) for n, _ in model.named_parameters()}
    plain = {n: n.startswith(tuple(prefixes)) for n, _ in model.named_parameters()}
    check_same(got, expected, f"requires_grad of each parameter after freeze({what}, {prefixes})",
                mistakes={
                    "prefixes were matched as plain strings: 'features.1' must not match "
                    "'features.10...' (a name is under p when it equals p or starts with p + '.')": plain,
                    "except_prefixes were compared with ==: a prefix such as 'head' must keep 'head.0.weight' trainable":
                        {n: False for n in expected}})
    bns = {n: m for n, m in model.named_modules() if isinstance(m, _BN)}
    before = {n: (m.running_mean.clone(), m.num_batches_tracked.clone()) for n, m in bns.items()}
    with torch.no_grad():
        model(to_device(x))
    for name, bn in bns.items():
        moved = not torch.equal(bn.running_mean, before[name][0])
        if _under(name, prefixes):
            check(moved, f"the trainable BatchNorm layer {name!r} must keep updating its statistics "
                         f"in train() mode, but they did not change.",
                  hint="model.eval() was called on the whole model: only the frozen BatchNorm layers go to eval()")
        else:
            check(not moved and torch.equal(bn.num_batches_tracked, before[name][1]),
                  f"the frozen BatchNorm layer {name!r} changed its running statistics during a "
                  f"forward pass in train() mode.",
                  hint="requires_grad=False does not stop BatchNorm from updating its running statistics "
                       "in train() mode: put frozen BatchNorm layers in eval()")
    again = student_call(f"freeze called a second time on {what}", freeze, model, prefixes)
    check_same({n: p.requires_grad for n, p in again.named_parameters()}, expected,
                f"requires_grad after calling freeze twice on {what}")


torch.manual_seed(0)
_x = torch.randn(2, 3, 32, 32)
_check_freeze(torchvision.models.resnet18(weights=None), ("layer4", "fc"), _x, "resnet18")
_check_freeze(torchvision.models.mobilenet_v2(weights=None), ["features.1", "classifier"], _x, "mobilenet_v2")


class _Video(nn.Module):  # BatchNorm3d and BatchNorm1d, nested, not in torchvision order
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv3d(2, 4, 3, padding=1), nn.BatchNorm3d(4), nn.ReLU())
        self.blocks = nn.ModuleList([nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4)) for _ in range(12)])

    def forward(self, x):
        h = self.stem(x).mean(dim=(2, 3, 4))
        for block in self.blocks:
            h = block(h)
        return h


_check_freeze(_Video(), ("stem", "blocks.1"), torch.randn(3, 2, 4, 4, 4), "a video model")
_check_freeze(_Video(), (), torch.randn(3, 2, 4, 4, 4), "a video model with nothing kept trainable")
### END HIDDEN TESTS

# %% [markdown readonly id=part3]
# ## Part 3 — key prefixes (3 points)
#
# A model wrapped in `nn.DataParallel` or `DistributedDataParallel` saves keys such as
# `module.conv1.weight`; the bare model expects `conv1.weight`. And loading a backbone into a bigger
# model needs `backbone.` added in front of every key.
#
# **`replace_prefix(state_dict, old_prefix, new_prefix)`**
# - Returns a **new** dict (`dict` or `OrderedDict`) with the same values (the input's tensors: no
#   need to copy them) in the same key order. Each key that **starts with** `old_prefix` has that leading `old_prefix`
#   replaced by `new_prefix`; every other key is kept as it is.
# - Stripping is `replace_prefix(sd, "module.", "")`; adding is `replace_prefix(sd, "", "backbone.")`.
# - The input dict must not be modified.

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
stripped = student_call('replace_prefix(sd, "module.", "")', replace_prefix, wrapped.state_dict(), "module.", "")
check_type(stripped, dict, 'replace_prefix(sd, "module.", "")')
check_equal(list(stripped), ["weight", "bias"], 'keys of replace_prefix(sd, "module.", "")')
student_call("nn.Linear(3, 2).load_state_dict(stripped)", nn.Linear(3, 2).load_state_dict, stripped)
added = student_call('replace_prefix(sd, "", "backbone.")', replace_prefix,
                     {"weight": torch.ones(2, 3), "bias": torch.zeros(2)}, "", "backbone.")
check_equal(list(added), ["backbone.weight", "backbone.bias"], 'keys of replace_prefix(sd, "", "backbone.")',
            mistakes={"str.replace changed every occurrence of the prefix, not only a leading one":
                      lambda keys: any(k.count("backbone.") > 1 for k in keys)})
print("Part 3 visible tests passed.")

# %% [tests id=test_replace_prefix_hidden points=2]
# Hidden tests for replace_prefix run here when your work is graded.
### BEGIN HIDDEN TESTS
import torchvision


def _prefix_case(sd, old, new):
    what = f"replace_prefix(sd, {old!r}, {new!r})"
    original = [(k, id(v)) for k, v in sd.items()]
    got = student_call(what, replace_prefix, sd, old, new)
    check_type(got, dict, what)
    check_equal([(k, id(v)) for k, v in sd.items()] == original, True, f"the input state_dict after {what} (it must not change)",
                hint="the input state_dict was modified: build and return a new dict")
    expected = [new + k[len(old):] if k.startswith(old) else k for k in sd]
    check_equal(list(got), expected, f"keys of {what} for keys {list(sd)}",
                mistakes={
                    "str.replace changed every occurrence of the prefix, not only a leading one":
                        [k.replace(old, new) for k in sd],
                    "str.lstrip removes a set of characters, not a prefix: use removeprefix or slicing":
                        [new + k.lstrip(old) if k.startswith(old) else k for k in sd],
                    "keys that do not start with the prefix must be kept unchanged":
                        lambda keys: keys != expected and all(g != k for g, k in zip(keys, sd) if not k.startswith(old)),
                })
    check(all(got[e] is v or torch.equal(got[e], v) for e, v in zip(expected, sd.values())),
          f"the values of {what} must be the input's tensors, under their new keys.")
    return got


def _t(*keys):
    return OrderedDict((k, torch.full((2,), float(i))) for i, k in enumerate(keys))


_prefix_case(_t("module.encoder.module.weight", "module.model.bias", "head.module.w"), "module.", "")
_prefix_case(_t("encoder.weight", "encoder.bias", "head.weight"), "encoder.", "backbone.")
_prefix_case(_t("a.module.x", "b"), "module.", "")
_prefix_case(_t("x", "layer.x"), "", "backbone.")

# A real DataParallel checkpoint loads into the bare model after stripping.
_bare = to_device(torchvision.models.resnet18(weights=None, num_classes=7))
_dp_sd = nn.DataParallel(torchvision.models.resnet18(weights=None, num_classes=7)).state_dict()
_stripped = _prefix_case(_dp_sd, "module.", "")
student_call("resnet18.load_state_dict(stripped DataParallel state_dict)", _bare.load_state_dict, _stripped)
check(torch.equal(_bare.fc.weight.cpu(), _dp_sd["module.fc.weight"].cpu()),
      "after loading the stripped state_dict, the model's weights must equal the checkpoint's.")
# and adding a prefix lets a backbone load into a wrapper
_wrapper = nn.Sequential(OrderedDict(backbone=nn.Linear(4, 4), head=nn.Linear(4, 2)))
_added = _prefix_case(nn.Linear(4, 4).state_dict(), "", "backbone.")
student_call("wrapper.load_state_dict(prefixed, strict=False)", _wrapper.load_state_dict, _added, strict=False)
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
#   **and** persistent buffers) with the same shape; touches nothing else. The model stays on its
#   device. The input `state_dict` must not be modified.
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
target = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 3))  # a new 3-class head
report = student_call("load_matching(target, checkpoint)", load_matching, target, checkpoint,
                      known_errors={"size mismatch": "strict=False does not skip keys whose shape differs: "
                                                     "load_state_dict still raises 'size mismatch'; "
                                                     "leave those keys out"})
check_type(report, dict, "load_matching(...)")
expected = {"loaded": ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                       "1.num_batches_tracked"],
            "missing": [], "mismatched": ["2.weight", "2.bias"], "unexpected": ["extra.weight"]}
mistakes = {"loaded": {"buffers (BatchNorm running statistics) were not loaded: iterate model.state_dict(), "
                       "not named_parameters()": sorted(["0.weight", "0.bias", "1.weight", "1.bias"])},
            "missing": {'keys with a shape mismatch were also reported as "missing": the four lists do not overlap':
                        ["2.bias", "2.weight"]}}
for name, keys in expected.items():
    check_same(report.get(name, []), keys, f'report["{name}"]', mistakes=mistakes.get(name))
check(torch.equal(target[0].weight, source[0].weight) and torch.equal(target[1].running_mean, source[1].running_mean),
      "the matching keys (weights and BatchNorm buffers) must be loaded into the model.")
print(report)
print("Part 4 visible tests passed.")

# %% [tests id=test_load_matching_hidden points=3]
# Hidden tests for load_matching run here when your work is graded.
### BEGIN HIDDEN TESTS
import torchvision

torch.manual_seed(1)
_src = torchvision.models.resnet18(weights=None)  # 1000 classes
_src.bn1.running_var.fill_(2.0)
_ckpt = _src.state_dict()
_ckpt_copy = dict(_ckpt)
_model = to_device(torchvision.models.resnet18(weights=None, num_classes=10))
_fc_before = _model.fc.weight.detach().clone()
_keys = list(_model.state_dict())
_buffer_keys = {n for n, _ in _model.named_buffers()}
_report = student_call("load_matching(resnet18 with 10 classes, a 1000-class resnet18 checkpoint)",
                       load_matching, _model, _ckpt,
                       known_errors={"size mismatch": "strict=False does not skip keys whose shape differs: "
                                                      "load_state_dict still raises 'size mismatch'; "
                                                      "leave those keys out"})
check_type(_report, dict, "load_matching(...)")
_expected_loaded = sorted(k for k in _keys if not k.startswith("fc."))
check_same(_report.get("loaded", []), _expected_loaded, 'report["loaded"] for resnet18',
            mistakes={"buffers (BatchNorm running statistics) were not loaded: iterate model.state_dict(), "
                      "not named_parameters()": sorted(set(_expected_loaded) - _buffer_keys)})
check_same(_report.get("mismatched", []), ["fc.bias", "fc.weight"], 'report["mismatched"] for resnet18')
check_same(_report.get("missing", []), [], 'report["missing"] for resnet18',
            mistakes={'keys with a shape mismatch were also reported as "missing": the four lists do not overlap':
                      ["fc.bias", "fc.weight"]})
check_same(_report.get("unexpected", []), [], 'report["unexpected"] for resnet18')
check(_ckpt.keys() == _ckpt_copy.keys(), "the checkpoint passed to load_matching must not be modified.",
      hint="the input state_dict was modified: build a new dict of the matching entries")
_now = _model.state_dict()
for _k in _expected_loaded:
    check(torch.equal(_now[_k].cpu(), _ckpt[_k]), f"{_k!r} was not loaded from the checkpoint.",
          hint="buffers (BatchNorm running statistics) were not loaded: iterate model.state_dict(), "
               "not named_parameters()" if _k in _buffer_keys else None)
check(torch.equal(_model.fc.weight, _fc_before), "the mismatched fc.weight must keep its own values.")
check(all(t.device.type == grading_device().type for t in _model.state_dict().values()),
      f"after load_matching every tensor of the model must still be on {grading_device()}.",
      hint="assigning param.data = checkpoint tensor moves it to the checkpoint's device; "
           "copy values with load_state_dict or param.copy_()")


class _WithExtras(nn.Module):  # a persistent and a non-persistent buffer, a nested block
    def __init__(self, n_out):
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
        self.head = nn.Linear(4, n_out)
        self.register_buffer("scale", torch.ones(n_out))
        self.register_buffer("cache", torch.zeros(5), persistent=False)


_old = _WithExtras(6)
_old.scale.fill_(3.0)
_old_sd = _old.state_dict()
del _old_sd["block.1.running_var"]
_old_sd["decoder.weight"] = torch.ones(2, 2)
_new = to_device(_WithExtras(6))
_report = student_call("load_matching on a model with buffers", load_matching, _new, _old_sd)
for _name, _keys in {"loaded": sorted(k for k in _old.state_dict() if k != "block.1.running_var"),
                     "missing": ["block.1.running_var"], "mismatched": [],
                     "unexpected": ["decoder.weight"]}.items():
    check_same(_report.get(_name, []), _keys, f'report["{_name}"] for a model with buffers',
                mistakes={"a non-persistent buffer is not part of the state_dict: it is neither loaded nor missing":
                          lambda got: "cache" in got})
check(torch.equal(_new.scale.cpu(), _old.scale), "the persistent buffer 'scale' must be loaded.")
### END HIDDEN TESTS

# %% [markdown readonly id=part5]
# ## Part 5 — checkpoints that resume exactly (5 points)
#
# A checkpoint must hold everything the next epoch depends on: the weights and buffers, the
# optimizer's state (momentum, Adam's moments), the epoch counter and the random number generators
# (dropout masks, shuffling, augmentation).
#
# **`save_checkpoint(path, model, optimizer, epoch)`** writes, with `torch.save`, a dict with keys
# - `"model"`: `model.state_dict()` (never the model object itself);
# - `"optimizer"`: `optimizer.state_dict()`;
# - `"epoch"`: `epoch`, an `int`: the number of epochs completed;
# - `"rng"`: a dict with `"torch"`: `torch.get_rng_state()`, `"python"`: `random.getstate()` and
#   `"cuda"`: `torch.cuda.get_rng_state_all()` (an empty list on a machine without a GPU).
#
# **`load_checkpoint(path, model, optimizer)`** reads the file safely with
# `torch.load(path, map_location="cpu", weights_only=True)` (it must never run code hidden in a
# file), loads the model strictly (a checkpoint of another model must raise an error), loads the
# optimizer, restores the three RNG states, and returns the saved `epoch`. The model may be on
# any device; it stays there.
#
# After `load_checkpoint`, training on the CPU continues **bit for bit** as if it had never stopped.

# %% [answer id=checkpoint]
def save_checkpoint(path, model, optimizer, epoch):
    ### BEGIN SOLUTION
    torch.save({
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": epoch,
        "rng": {"torch": torch.get_rng_state(), "python": random.getstate(),
                "cuda": torch.cuda.get_rng_state_all()},
    }, path)
    ### END SOLUTION


def load_checkpoint(path, model, optimizer):
    ### BEGIN SOLUTION
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    rng = checkpoint["rng"]
    torch.set_rng_state(rng["torch"])
    random.setstate(rng["python"])
    if rng["cuda"]:
        torch.cuda.set_rng_state_all(rng["cuda"])
    return checkpoint["epoch"]
    ### END SOLUTION

# %% [tests id=test_checkpoint points=2]
import copy
import re


def train_epochs(model, optimizer, x, y, epochs):
    """A tiny training loop that uses every RNG: shuffling, dropout and a random augmentation."""
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x)).to(x.device)
        for start in range(0, len(x), 8):
            batch = order[start:start + 8]
            xb = x[batch] * (1 + 0.1 * random.random())  # augmentation drawn from Python's RNG
            loss = nn.functional.cross_entropy(model(xb), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def resume_matches(make_model, make_optimizer, x, y, load_fn=None, what="the model"):
    """Train 2 epochs, checkpoint, train 2 more; then resume a fresh model from the checkpoint."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "checkpoint.pt"
        torch.manual_seed(0)
        random.seed(0)
        model = make_model()
        optimizer = make_optimizer(model)
        train_epochs(model, optimizer, x, y, 2)
        student_call("save_checkpoint(path, model, optimizer, 2)", save_checkpoint, path, model, optimizer, 2)
        saved_rng = (torch.get_rng_state(), random.getstate())
        saved_optimizer = copy.deepcopy(optimizer.state_dict())
        train_epochs(model, optimizer, x, y, 2)  # the uninterrupted run
        check(path.exists(), "save_checkpoint must write the file at path.")
        try:
            content = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:
            found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(error))
            culprit = found.group(1) if found else type(error).__name__
            if found and not culprit.startswith(("numpy", "builtins", "collections")):
                hint = ("the checkpoint holds a pickled model object, not model.state_dict(): "
                        "torch.load(weights_only=True) refuses it")
            else:
                hint = ("the checkpoint holds objects other than tensors and plain Python values "
                        "(numpy arrays, for example): weights_only=True refuses them")
            raise CheckFailed(f"torch.load(path, weights_only=True) refused the checkpoint: it holds "
                              f"{culprit}, not only tensors and plain values.\nLikely mistake: {hint}") from None
        check_type(content, dict, "the saved checkpoint")
        check_equal(sorted({"epoch", "model", "optimizer", "rng"} - set(content)), [],
                    "keys missing from the saved checkpoint",
                    mistakes={"the optimizer state is not saved: momentum or Adam moments restart from zero "
                              "after resuming": ["optimizer"],
                              "the RNG states are not saved: dropout masks and shuffling after resuming differ "
                              "from the uninterrupted run": ["rng"]})

        torch.manual_seed(1234)  # the resumed run starts from another state, as after a restart
        random.seed(1234)
        fresh = make_model()
        fresh_optimizer = make_optimizer(fresh)
        epoch = student_call("load_checkpoint(path, fresh_model, fresh_optimizer)", load_fn or load_checkpoint,
                             path, fresh, fresh_optimizer)
        check_equal(epoch, 2, "the epoch returned by load_checkpoint", mistakes={
            "load_checkpoint must return the saved epoch (the number of epochs completed), not epoch + 1": 3})
        check(torch.equal(torch.get_rng_state(), saved_rng[0]),
              "after load_checkpoint the torch RNG state must equal the one at saving time.",
              hint="the torch RNG state was not restored: dropout masks and shuffling after resuming differ "
                   "from the uninterrupted run")
        check(random.getstate() == saved_rng[1],
              "after load_checkpoint Python's random state must equal the one at saving time.",
              hint="Python's random state was not restored: random augmentations after resuming differ "
                   "from the uninterrupted run")
        state = fresh_optimizer.state_dict()["state"]
        check(len(state) == len(saved_optimizer["state"]) and all(
              torch.equal(a.cpu(), b.cpu()) for i in state for a, b in
              zip(state[i].values(), saved_optimizer["state"][i].values()) if isinstance(a, torch.Tensor)),
              "after load_checkpoint the optimizer's state must equal the saved one.",
              hint="the optimizer state was not restored: momentum or Adam moments restart from zero after resuming")
        train_epochs(fresh, fresh_optimizer, x, y, 2)  # the resumed run
        exact = grading_device().type == "cpu" or next(model.parameters()).device.type == "cpu"
        for (name, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
            same = torch.equal(a, b) if exact else torch.allclose(a.double(), b.double(), atol=1e-4, rtol=1e-3)
            check(same, f"after resuming, {what}'s {name!r} differs from uninterrupted training "
                        f"(largest difference {(a.double() - b.double()).abs().max().item():.3g}).")


torch.manual_seed(0)
x, y = torch.randn(32, 6), torch.randint(0, 3, (32,))
resume_matches(lambda: nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3)),
               lambda m: torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9), x, y)
print("Part 5 visible tests passed: resumed training equals uninterrupted training.")

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
resume_matches(lambda: to_device(_ConvNet()), lambda m: torch.optim.AdamW(m.parameters(), lr=0.01),
               _x, _y, what="a conv net with BatchNorm trained with AdamW")

with tempfile.TemporaryDirectory() as _folder:
    _path = Path(_folder) / "ckpt.pt"
    # A checkpoint of a DataParallel-wrapped resnet18 (keys "module.*") must not load silently
    # into the bare model: with strict=False not a single weight would be loaded.
    _wrapped = nn.DataParallel(torchvision.models.resnet18(weights=None))
    _opt_wrapped = torch.optim.SGD(_wrapped.parameters(), lr=0.1)
    student_call("save_checkpoint(path, DataParallel(resnet18), ...)", save_checkpoint, _path, _wrapped,
                 _opt_wrapped, 5)
    _bare = to_device(torchvision.models.resnet18(weights=None))
    _opt_bare = torch.optim.SGD(_bare.parameters(), lr=0.1)
    try:
        load_checkpoint(_path, _bare, _opt_bare)
    except Exception:
        pass
    else:
        raise CheckFailed("a checkpoint with 'module.' keys loaded into the bare resnet18 without any error.\n"
                          "Likely mistake: load_state_dict(strict=False) hid a mismatch: a checkpoint of "
                          "another model must raise, not load half a model")

    # A file with code hidden in it must not run that code.
    class _Payload:
        def __reduce__(self):
            return (exec, ("import builtins; builtins._checkpoint_code_ran = True",))

    _net = to_device(nn.Linear(2, 2))
    _opt = torch.optim.SGD(_net.parameters(), lr=0.1)
    torch.save({"model": _net.state_dict(), "optimizer": _opt.state_dict(), "epoch": _Payload(),
                "rng": {"torch": torch.get_rng_state(), "python": random.getstate(), "cuda": []}}, _path)
    builtins._checkpoint_code_ran = False
    try:
        load_checkpoint(_path, _net, _opt)
    except Exception:
        pass
    check(not builtins._checkpoint_code_ran, "loading an untrusted checkpoint ran code hidden in the file.",
          hint="torch.load(..., weights_only=False) unpickles arbitrary objects: load with weights_only=True")
### END HIDDEN TESTS

# %% [markdown readonly id=part6]
# ## Part 6 — weight initialisation (3 points)
#
# **`init_weights(model)`** re-initialises, in place, the weight of every `nn.Linear` and `nn.Conv2d`
# layer of `model` (at any depth) and returns `model`:
# - a layer is a **ReLU layer** when, in the `nn.Sequential` that contains it, the next module that is
#   not a BatchNorm layer is an `nn.ReLU`; e.g. `Conv2d → BatchNorm2d → ReLU` or `Linear → ReLU`.
#   Its weight gets **Kaiming** initialisation for ReLU with `mode="fan_in"`: standard deviation
#   $\sqrt{2 / \text{fan\_in}}$ (`nn.init.kaiming_normal_` or `kaiming_uniform_` with
#   `nonlinearity="relu"`);
# - every other Linear/Conv2d layer gets **Xavier** (Glorot) initialisation with gain 1: standard
#   deviation $\sqrt{2 / (\text{fan\_in} + \text{fan\_out})}$ (`nn.init.xavier_uniform_` or `xavier_normal_`);
# - every bias of those layers is set to zero (some layers have `bias=None`);
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
    """Check every Linear/Conv2d layer's weight std, its bias, and that BatchNorm is untouched.

    relu_layers maps the name of each ReLU layer to whether a BatchNorm sits between it and its ReLU.
    """
    fans = nn.init._calculate_fan_in_and_fan_out
    before = {n: t.clone() for n, t in model.state_dict().items() if ".running" in n or "num_batches" in n}
    bn_before = {n: (m.weight.clone(), m.bias.clone()) for n, m in model.named_modules()
                 if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine}
    torch.manual_seed(0)
    returned = student_call(f"init_weights({what})", init_weights, model,
                            known_errors={"'NoneType' object has no attribute":
                                          "a layer built with bias=False has bias None: check it before zeroing it",
                                          "fewer than 2 dimensions":
                                          "only Linear and Conv2d weights are initialised: BatchNorm weights are 1-D "
                                          "and must be left alone"})
    check(returned is model, "init_weights must return the model it was given.")
    for name, layer in model.named_modules():
        if not isinstance(layer, (nn.Linear, nn.Conv2d)):
            continue
        if layer.bias is not None:
            check(bool((layer.bias == 0).all()), f"the bias of {what}'s layer {name!r} must be all zeros.",
                  hint="biases were left at their default random values: set them to zero")
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
        if is_relu and relu_layers[name]:
            mistakes = {"a layer followed by BatchNorm and then ReLU is a ReLU layer too: skip BatchNorm "
                        "layers when looking for the ReLU": near(xavier)}
        elif is_relu:
            mistakes = {"Xavier used for a ReLU layer: ReLU zeroes half the signal, so activations shrink "
                        "layer after layer; use Kaiming (gain sqrt(2))": near(xavier)}
        else:
            mistakes = {"Kaiming used for a layer not followed by ReLU (such as the output layer): use "
                        "Xavier there": near(kaiming)}
        mistakes |= {"Kaiming with mode='fan_out' used: this contract wants fan_in, which keeps the forward "
                     "activations' variance constant": near((2 / fan_out) ** 0.5),
                     "the weights keep PyTorch's default initialisation (kaiming_uniform_ with a=sqrt(5))":
                     near((1 / (3 * fan_in)) ** 0.5)}
        check_close(std, kaiming if is_relu else xavier,
                    f"std of the weight of {what}'s layer {name!r} ({'ReLU layer' if is_relu else 'not a ReLU layer'}, "
                    f"fan_in={fan_in}, fan_out={fan_out})", rtol=tolerance, atol=0, mistakes=mistakes)
    for name, t in before.items():
        check(torch.equal(model.state_dict()[name], t), f"init_weights must not change the buffer {name!r}.")
    for name, (w, b) in bn_before.items():
        module = model.get_submodule(name)
        check(torch.equal(module.weight, w) and torch.equal(module.bias, b),
              f"init_weights must not change the BatchNorm layer {name!r}.",
              hint="only Linear and Conv2d weights are initialised: BatchNorm weights are 1-D "
                   "and must be left alone")


mlp = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128), nn.BatchNorm1d(128), nn.ReLU(),
                    nn.Linear(128, 128))
check_init(mlp, {"0": False, "2": True}, "an MLP")
print("Part 6 visible tests passed.")

# %% [tests id=test_init_weights_hidden points=2]
# Hidden tests for init_weights run here when your work is graded.
### BEGIN HIDDEN TESTS
import torchvision


class _Nested(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(16, 32, 3, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True))
        self.body = nn.ModuleList([nn.Sequential(nn.Sequential(nn.Conv2d(32, 64, 3), nn.ReLU()),
                                                 nn.Conv2d(64, 32, 1))])
        self.gate = nn.Conv2d(32, 96, 1)  # not in a Sequential: not a ReLU layer
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(96, 96), nn.Tanh(), nn.Linear(96, 40))


_net = to_device(_Nested())
check_init(_net, {"stem.0": True, "body.0.0.0": False}, "a nested model")
_mobile = to_device(torchvision.models.mobilenet_v3_small(weights=None))
_relu = {}
for _n, _m in _mobile.named_modules():
    if isinstance(_m, nn.Sequential):
        _kids = list(_m.named_children())
        for _i, (_k, _c) in enumerate(_kids):
            _after = [c for _, c in _kids[_i + 1:] if not isinstance(c, nn.modules.batchnorm._BatchNorm)]
            if _after and isinstance(_after[0], nn.ReLU):
                _relu[f"{_n}.{_k}" if _n else _k] = isinstance(_kids[_i + 1][1], nn.modules.batchnorm._BatchNorm)
check_init(_mobile, _relu, "mobilenet_v3_small")
### END HIDDEN TESTS
