"""Mistake bank for assignment 2 (parameters, buffers, state_dict, checkpoints, initialisation).

Each Wrong entry is a mistake students really make, as the one change to an otherwise correct
submission; its message is the named mistake that the tests print. Each Correct entry is
another right way to meet the contract, which must score full marks.
"""
from grader.bank import Correct, Replace, Wrong

BANK = [
    # ---- Part 1: count_parameters -------------------------------------------------------------
    Wrong(
        "count_buffers_as_parameters",
        "counts every tensor of the state_dict, so BatchNorm's running statistics count as parameters",
        edits={"count_parameters": '''def count_parameters(model, trainable_only=False):
    if trainable_only:
        return sum(p.numel() for p in model.parameters() if p.requires_grad)
    return sum(t.numel() for t in model.state_dict().values())
'''},
        message="buffers were counted as parameters: the state_dict also holds BatchNorm's running statistics",
        fails=("test_count_parameters", "test_count_parameters_hidden"),
    ),
    Wrong(
        "trainable_only_ignored",
        "accepts trainable_only but always counts every parameter",
        edits={"count_parameters": Replace(" if p.requires_grad or not trainable_only", "")},
        message="trainable_only=True must skip parameters with requires_grad=False",
        fails=("test_count_parameters", "test_count_parameters_hidden"),
    ),
    # ---- Part 2: freeze -----------------------------------------------------------------------
    Wrong(
        "freeze_without_batchnorm_eval",
        "sets requires_grad=False and believes the frozen layers can no longer change",
        edits={"freeze": Replace('''    for name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and not trainable(name):
            module.eval()
''', "")},
        message="requires_grad=False does not stop BatchNorm from updating its running statistics in "
                "train() mode: put frozen BatchNorm layers in eval()",
        fails=("test_freeze", "test_freeze_hidden"),
    ),
    Wrong(
        "freeze_calls_model_eval",
        "puts the whole model in eval mode, so the trainable head's BatchNorm and Dropout stop training",
        edits={"freeze": Replace('''    for name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and not trainable(name):
            module.eval()
''', "    model.eval()\n")},
        message="model.eval() was called on the whole model: only the frozen BatchNorm layers go to eval()",
        fails=("test_freeze", "test_freeze_hidden"),
    ),
    Wrong(
        "freeze_plain_startswith",
        "matches prefixes with str.startswith, so 'features.1' also unfreezes features.10 to features.18",
        edits={"freeze": Replace('return any(name == p or name.startswith(p + ".") for p in except_prefixes)',
                                 "return name.startswith(tuple(except_prefixes))")},
        message="prefixes were matched as plain strings: 'features.1' must not match 'features.10...'",
        fails=("test_freeze_hidden",),
    ),
    Wrong(
        "freeze_exact_names",
        "compares parameter names with the prefixes for equality, so nothing stays trainable",
        edits={"freeze": Replace('return any(name == p or name.startswith(p + ".") for p in except_prefixes)',
                                 "return name in except_prefixes")},
        message="except_prefixes were compared with ==: a prefix such as 'head' must keep 'head.0.weight' trainable",
        fails=("test_freeze", "test_freeze_hidden"),
    ),
    # ---- Part 3: replace_prefix ----------------------------------------------------------------
    Wrong(
        "prefix_str_replace",
        "uses str.replace, which rewrites every occurrence of the prefix, not only the leading one",
        edits={"replace_prefix": '''def replace_prefix(state_dict, old_prefix, new_prefix):
    return {key.replace(old_prefix, new_prefix): value for key, value in state_dict.items()}
'''},
        message="str.replace changed every occurrence of the prefix, not only a leading one",
        fails=("test_replace_prefix", "test_replace_prefix_hidden"),
    ),
    Wrong(
        "prefix_lstrip",
        "strips the prefix with str.lstrip, which removes any of its characters from the left",
        edits={"replace_prefix": Replace("key = new_prefix + key[len(old_prefix):]",
                                         "key = new_prefix + key.lstrip(old_prefix)")},
        message="str.lstrip removes a set of characters, not a prefix",
        fails=("test_replace_prefix_hidden",),
    ),
    Wrong(
        "prefix_cut_from_every_key",
        "cuts len(old_prefix) characters from every key, also from keys that do not start with it",
        edits={"replace_prefix": '''def replace_prefix(state_dict, old_prefix, new_prefix):
    return {new_prefix + key[len(old_prefix):]: value for key, value in state_dict.items()}
'''},
        message="keys that do not start with the prefix must be kept unchanged",
        fails=("test_replace_prefix_hidden",),
    ),
    Wrong(
        "prefix_modifies_input",
        "renames the keys in the dict it was given and returns that same dict",
        edits={"replace_prefix": '''def replace_prefix(state_dict, old_prefix, new_prefix):
    for key in list(state_dict):
        if key.startswith(old_prefix):
            state_dict[new_prefix + key[len(old_prefix):]] = state_dict.pop(key)
    return state_dict
'''},
        message="the input state_dict was modified: build and return a new dict",
        fails=("test_replace_prefix_hidden",),
    ),
    # ---- Part 4: load_matching ------------------------------------------------------------------
    Wrong(
        "load_matching_strict_false",
        "trusts strict=False to skip whatever does not fit, shape mismatches included",
        edits={"load_matching": '''def load_matching(model, state_dict):
    result = model.load_state_dict(state_dict, strict=False)
    return {"loaded": [k for k in state_dict if k in model.state_dict()], "missing": result.missing_keys,
            "mismatched": [], "unexpected": result.unexpected_keys}
'''},
        message="strict=False does not skip keys whose shape differs: load_state_dict still raises "
                "'size mismatch'; leave those keys out",
        fails=("test_load_matching", "test_load_matching_hidden"),
    ),
    Wrong(
        "load_matching_parameters_only",
        "walks named_parameters(), so BatchNorm's running statistics are never loaded",
        edits={"load_matching": '''def load_matching(model, state_dict):
    own = dict(model.named_parameters())
    report = {"loaded": [], "missing": [], "mismatched": [], "unexpected": []}
    with torch.no_grad():
        for key, parameter in own.items():
            if key not in state_dict:
                report["missing"].append(key)
            elif state_dict[key].shape != parameter.shape:
                report["mismatched"].append(key)
            else:
                parameter.copy_(state_dict[key])
                report["loaded"].append(key)
    report["unexpected"] = [key for key in state_dict if key not in own]
    return report
'''},
        message="buffers (BatchNorm running statistics) were not loaded: iterate model.state_dict(), "
                "not named_parameters()",
        fails=("test_load_matching", "test_load_matching_hidden"),
    ),
    Wrong(
        "load_matching_mismatched_also_missing",
        "reports load_state_dict's missing_keys, which include the keys it left out for their shape",
        edits={"load_matching": '''def load_matching(model, state_dict):
    own = model.state_dict()
    matching = {k: v for k, v in state_dict.items() if k in own and v.shape == own[k].shape}
    result = model.load_state_dict(matching, strict=False)
    return {"loaded": list(matching), "missing": result.missing_keys,
            "mismatched": [k for k, v in state_dict.items() if k in own and v.shape != own[k].shape],
            "unexpected": [k for k in state_dict if k not in own]}
'''},
        message='keys with a shape mismatch were also reported as "missing": the four lists do not overlap',
        fails=("test_load_matching", "test_load_matching_hidden"),
    ),
    # ---- Part 5: checkpoints --------------------------------------------------------------------
    Wrong(
        "checkpoint_whole_model_object",
        "saves the model object itself (pickled) and loads it back with weights_only=False",
        edits={"checkpoint": [
            Replace('"model": model.state_dict(),', '"model": model,'),
            Replace('checkpoint = torch.load(path, map_location="cpu", weights_only=True)',
                    'checkpoint = torch.load(path, map_location="cpu", weights_only=False)'),
            Replace('model.load_state_dict(checkpoint["model"])',
                    'model.load_state_dict(checkpoint["model"].state_dict())'),
        ]},
        message="the checkpoint holds a pickled model object, not model.state_dict(): "
                "torch.load(weights_only=True) refuses it",
        fails=("test_checkpoint", "test_checkpoint_hidden"),
    ),
    Wrong(
        "checkpoint_without_optimizer",
        "saves and restores only the model, so momentum restarts from zero after resuming",
        edits={"checkpoint": [
            Replace('        "optimizer": optimizer.state_dict(),\n', ""),
            Replace('    optimizer.load_state_dict(checkpoint["optimizer"])\n', ""),
        ]},
        message="the optimizer state is not saved: momentum or Adam moments restart from zero after resuming",
        fails=("test_checkpoint", "test_checkpoint_hidden"),
    ),
    Wrong(
        "checkpoint_optimizer_not_loaded",
        "saves the optimizer state but forgets to load it back",
        edits={"checkpoint": Replace('    optimizer.load_state_dict(checkpoint["optimizer"])\n', "")},
        message="the optimizer state was not restored: momentum or Adam moments restart from zero after resuming",
        fails=("test_checkpoint", "test_checkpoint_hidden"),
    ),
    Wrong(
        "checkpoint_without_rng",
        "saves model, optimizer and epoch but no random number generator state",
        edits={"checkpoint": '''def save_checkpoint(path, model, optimizer, epoch):
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}, path)


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint["epoch"]
'''},
        message="the RNG states are not saved: dropout masks and shuffling after resuming differ "
                "from the uninterrupted run",
        fails=("test_checkpoint", "test_checkpoint_hidden"),
    ),
    Wrong(
        "checkpoint_reseeds_instead_of_restoring",
        "re-seeds torch with the epoch number on loading instead of restoring the saved generator state",
        edits={"checkpoint": Replace('    torch.set_rng_state(rng["torch"])\n',
                                     '    torch.manual_seed(checkpoint["epoch"])\n')},
        message="the torch RNG state was not restored: dropout masks and shuffling after resuming differ "
                "from the uninterrupted run",
        fails=("test_checkpoint", "test_checkpoint_hidden"),
    ),
    Wrong(
        "checkpoint_python_rng_forgotten",
        "restores torch's generator but not Python's random module, which drives the augmentation",
        edits={"checkpoint": Replace('    random.setstate(rng["python"])\n', "")},
        message="Python's random state was not restored: random augmentations after resuming differ "
                "from the uninterrupted run",
        fails=("test_checkpoint", "test_checkpoint_hidden"),
    ),
    Wrong(
        "checkpoint_numpy_rng_state",
        "also saves numpy's RNG state, a tuple holding a numpy array, which weights_only=True cannot load",
        edits={"checkpoint": [
            Replace('"cuda": torch.cuda.get_rng_state_all()},',
                    '"cuda": torch.cuda.get_rng_state_all(), "numpy": __import__("numpy").random.get_state()},'),
            Replace('    random.setstate(rng["python"])\n',
                    '    random.setstate(rng["python"])\n    __import__("numpy").random.set_state(rng["numpy"])\n'),
        ]},
        message="the checkpoint holds objects other than tensors and plain Python values "
                "(numpy arrays, for example): weights_only=True refuses them",
        fails=("test_checkpoint", "test_checkpoint_hidden"),
    ),
    Wrong(
        "checkpoint_weights_only_false",
        "loads with weights_only=False, copied from an old tutorial, so a malicious file runs its code",
        edits={"checkpoint": Replace('checkpoint = torch.load(path, map_location="cpu", weights_only=True)',
                                     'checkpoint = torch.load(path, map_location="cpu", weights_only=False)')},
        message="torch.load(..., weights_only=False) unpickles arbitrary objects: load with weights_only=True",
        fails=("test_checkpoint_hidden",),
    ),
    Wrong(
        "checkpoint_strict_false",
        "loads the model with strict=False 'to be safe', which silently skips every key that does not fit",
        edits={"checkpoint": Replace('model.load_state_dict(checkpoint["model"])',
                                     'model.load_state_dict(checkpoint["model"], strict=False)')},
        message="load_state_dict(strict=False) hid a mismatch: a checkpoint of another model must raise, "
                "not load half a model",
        fails=("test_checkpoint_hidden",),
    ),
    Wrong(
        "checkpoint_returns_next_epoch",
        "returns epoch + 1 from load_checkpoint, as the epoch to start from",
        edits={"checkpoint": Replace('return checkpoint["epoch"]', 'return checkpoint["epoch"] + 1')},
        message="load_checkpoint must return the saved epoch (the number of epochs completed), not epoch + 1",
        fails=("test_checkpoint", "test_checkpoint_hidden"),
    ),
    # ---- Part 6: init_weights -------------------------------------------------------------------
    Wrong(
        "init_xavier_everywhere",
        "uses Xavier for every layer, ReLU layers included",
        edits={"init_weights": Replace('nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")',
                                       "nn.init.xavier_uniform_(module.weight)")},
        message="Xavier used for a ReLU layer: ReLU zeroes half the signal, so activations shrink "
                "layer after layer; use Kaiming (gain sqrt(2))",
        fails=("test_init_weights", "test_init_weights_hidden"),
    ),
    Wrong(
        "init_kaiming_everywhere",
        "uses Kaiming for every layer, the output layer included",
        edits={"init_weights": Replace("nn.init.xavier_uniform_(module.weight)",
                                       'nn.init.kaiming_normal_(module.weight, nonlinearity="relu")')},
        message="Kaiming used for a layer not followed by ReLU (such as the output layer): use Xavier there",
        fails=("test_init_weights", "test_init_weights_hidden"),
    ),
    Wrong(
        "init_kaiming_fan_out",
        "copies torchvision's ResNet init, kaiming_normal_ with mode='fan_out'",
        edits={"init_weights": Replace('mode="fan_in"', 'mode="fan_out"')},
        message="Kaiming with mode='fan_out' used",
        fails=("test_init_weights", "test_init_weights_hidden"),
    ),
    Wrong(
        "init_biases_untouched",
        "initialises the weights and forgets the biases",
        edits={"init_weights": Replace('''            if module.bias is not None:
                nn.init.zeros_(module.bias)
''', "")},
        message="biases were left at their default random values: set them to zero",
        fails=("test_init_weights", "test_init_weights_hidden"),
    ),
    Wrong(
        "init_bias_none",
        "zeroes module.bias without checking for layers built with bias=False",
        edits={"init_weights": Replace('''            if module.bias is not None:
                nn.init.zeros_(module.bias)
''', '''            nn.init.zeros_(module.bias)
''')},
        message="a layer built with bias=False has bias None: check it before zeroing it",
        fails=("test_init_weights_hidden",),
    ),
    Wrong(
        "init_relu_must_be_next",
        "looks only at the very next module, so Conv2d -> BatchNorm2d -> ReLU gets Xavier",
        edits={"init_weights": Replace(
            "after = [c for c in children[i + 1:] if not isinstance(c, nn.modules.batchnorm._BatchNorm)]",
            "after = children[i + 1:]")},
        message="a layer followed by BatchNorm and then ReLU is a ReLU layer too",
        fails=("test_init_weights", "test_init_weights_hidden"),
    ),
    # ---- Alternative correct submissions ---------------------------------------------------------
    Correct(
        "freeze_with_module_requires_grad",
        "freezes the whole model with requires_grad_(False), then unfreezes the kept sub-modules; "
        "BatchNorm found by its concrete classes",
        edits={"freeze": '''def freeze(model, except_prefixes=()):
    def kept(name):
        return any(name == p or name.startswith(p + ".") for p in except_prefixes)

    model.requires_grad_(False)
    for name, parameter in model.named_parameters():
        if kept(name):
            parameter.requires_grad = True
    for name, module in model.named_modules():
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)) and not kept(name):
            module.train(False)
    return model
'''},
    ),
    Correct(
        "prefix_with_regex_and_removeprefix",
        "renames keys with a dict comprehension and str.removeprefix (Python 3.9+)",
        edits={"replace_prefix": '''def replace_prefix(state_dict, old_prefix, new_prefix):
    return {(new_prefix + key.removeprefix(old_prefix) if key.startswith(old_prefix) else key): value
            for key, value in state_dict.items()}
'''},
    ),
    Correct(
        "load_matching_copy_into_state_dict",
        "copies values in place into the tensors of model.state_dict(), which share storage with the model",
        edits={"load_matching": '''def load_matching(model, state_dict):
    own = model.state_dict()
    report = {"loaded": [], "missing": [], "mismatched": [], "unexpected": []}
    for key in state_dict:
        if key not in own:
            report["unexpected"].append(key)
    with torch.no_grad():
        for key, tensor in own.items():
            if key not in state_dict:
                report["missing"].append(key)
            elif tuple(state_dict[key].shape) != tuple(tensor.shape):
                report["mismatched"].append(key)
            else:
                tensor.copy_(state_dict[key])
                report["loaded"].append(key)
    return report
'''},
    ),
    Correct(
        "checkpoint_named_steps",
        "a different layout of the same checkpoint: helper for the RNG, cuda restored when available",
        edits={"checkpoint": '''def _rng_state():
    return {"torch": torch.random.get_rng_state(), "python": random.getstate(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def save_checkpoint(path, model, optimizer, epoch):
    checkpoint = dict(epoch=int(epoch), model=model.state_dict(), optimizer=optimizer.state_dict(),
                      rng=_rng_state())
    torch.save(checkpoint, str(path))


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(str(path), map_location=torch.device("cpu"), weights_only=True)
    missing, unexpected = model.load_state_dict(checkpoint["model"], strict=True)
    optimizer.load_state_dict(checkpoint["optimizer"])
    random.setstate(checkpoint["rng"]["python"])
    torch.random.set_rng_state(checkpoint["rng"]["torch"])
    if torch.cuda.is_available() and checkpoint["rng"]["cuda"]:
        torch.cuda.set_rng_state_all(checkpoint["rng"]["cuda"])
    return checkpoint["epoch"]
'''},
    ),
    Correct(
        "init_uniform_kaiming_normal_xavier",
        "kaiming_uniform_ and xavier_normal_ (same standard deviations), ReLU layers found by index",
        edits={"init_weights": '''def init_weights(model):
    bn = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
    relu_layers = []
    for seq in model.modules():
        if not isinstance(seq, nn.Sequential):
            continue
        for i in range(len(seq)):
            j = i + 1
            while j < len(seq) and isinstance(seq[j], bn):
                j += 1
            if j < len(seq) and isinstance(seq[j], nn.ReLU):
                relu_layers.append(seq[i])
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            if any(m is layer for layer in relu_layers):
                nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
            else:
                nn.init.xavier_normal_(m.weight)
            if m.bias is not None:
                m.bias.data.zero_()
    return model
'''},
    ),
]
