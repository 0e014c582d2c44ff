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
        message='count_parameters(frozen Linear(3, 3), trainable_only=True): expected 0, got 12',
        fails=("test_count_parameters", "test_count_parameters_hidden"),
    ),
    Wrong(
        "count_trainable_always",
        "filters on requires_grad whatever trainable_only says, so the default leaves frozen parameters out",
        edits={"count_parameters": Replace(" if p.requires_grad or not trainable_only", " if p.requires_grad")},
        message='the default counted only the trainable parameters',
        fails=("test_count_parameters_hidden",),
    ),
    Wrong(
        "count_per_module_shared_twice",
        "sums each module's own parameters, so a weight shared by two layers counts twice",
        edits={"count_parameters": Replace(
            "for p in model.parameters()", "for m in model.modules() for p in m.parameters(recurse=False)")},
        message='a shared parameter was counted twice',
        fails=("test_count_parameters_hidden",),
    ),
    Wrong(
        "count_by_concatenation",
        "counts the values of one big concatenated tensor, which fails for a model without (trainable) parameters",
        edits={"count_parameters": """def count_parameters(model, trainable_only=False):
    kept = [p.flatten() for p in model.parameters() if p.requires_grad or not trainable_only]
    return torch.cat(kept).numel()
"""},
        message='count_parameters(nn.ReLU()) raised ValueError',
        fails=("test_count_parameters_hidden",),
    ),
    # ---- Part 2: freeze -----------------------------------------------------------------------
    Wrong(
        "freeze_without_batchnorm_eval",
        "sets requires_grad=False and believes the frozen layers can no longer change",
        edits={"freeze": Replace('''    for name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and not trainable(name):
            module.eval()
''', "")},
        message='the frozen BatchNorm layer body.1 changed its running statistics',
        fails=("test_freeze", "test_freeze_hidden"),
    ),
    Wrong(
        "freeze_calls_model_eval",
        "puts the whole model in eval mode, so the trainable head's BatchNorm and Dropout stop training",
        edits={"freeze": Replace('''    for name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and not trainable(name):
            module.eval()
''', "    model.eval()\n")},
        message="that left training mode: expected [], got ['head.1', 'head.2']",
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
        message="'head.0.weight': expected True, got False",
        fails=("test_freeze", "test_freeze_hidden"),
    ),
    Wrong(
        "freeze_never_unfreezes",
        "only switches requires_grad off outside the prefixes, so a kept parameter that was frozen stays frozen",
        edits={"freeze": Replace("        parameter.requires_grad_(trainable(name))",
                                 "        if not trainable(name):\n            parameter.requires_grad_(False)")},
        message="a video model whose stem was frozen before, ('stem', 'blocks.1')): 4 value(s) differ",
        fails=("test_freeze_hidden",),
    ),
    Wrong(
        "freeze_batchnorm_concrete_classes",
        "finds BatchNorm layers by the classes BatchNorm1d/2d/3d, missing SyncBatchNorm",
        edits={"freeze": Replace("isinstance(module, nn.modules.batchnorm._BatchNorm)",
                                 "isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d))")},
        message='SyncBatchNorm was not treated as a BatchNorm layer',
        fails=("test_freeze_hidden",),
    ),
    Wrong(
        "freeze_sets_trainable_batchnorm_train",
        "puts kept BatchNorm layers in train mode explicitly, so freezing a model in eval mode wakes them up",
        edits={"freeze": Replace("        if isinstance(module, nn.modules.batchnorm._BatchNorm) and not trainable(name):\n"
                                 "            module.eval()",
                                 "        if isinstance(module, nn.modules.batchnorm._BatchNorm):\n"
                                 "            module.train(trainable(name))")},
        message="expected [], got ['blocks.1.1', 'stem.1']",
        fails=("test_freeze_hidden",),
    ),
    Wrong(
        "freeze_bn_by_its_parameters",
        "puts a BatchNorm layer in eval mode when none of its own parameters trains, which also stops a kept "
        "BatchNorm without parameters (affine=False) (found by the self-check)",
        edits={"freeze": Replace("if isinstance(module, nn.modules.batchnorm._BatchNorm) and not trainable(name):",
                                 "if isinstance(module, nn.modules.batchnorm._BatchNorm) and "
                                 "not any(p.requires_grad for p in module.parameters()):")},
        message="BatchNorm layers of a model whose BatchNorm layers have no parameters (affine=False) whose running "
                "statistics changed",
        fails=("test_freeze_hidden",),
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
        message="got ['encoder.module.weight', 'model.bias', 'dule.w']",
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
        message='replace_prefix returned the dict it was given',
        fails=("test_replace_prefix_hidden",),
    ),
    Wrong(
        "prefix_replace_first_occurrence",
        "uses key.replace(old, new, 1), which rewrites the first occurrence even when the key does not start with it",
        edits={"replace_prefix": """def replace_prefix(state_dict, old_prefix, new_prefix):
    return OrderedDict((key.replace(old_prefix, new_prefix, 1), value) for key, value in state_dict.items())
"""},
        message="got ['encoder.module.weight', 'model.bias', 'head.w']",
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
        message='raised RuntimeError: Error(s) in loading state_dict for Sequential',
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
        message='buffers (BatchNorm running statistics) were left out',
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
    Wrong(
        "load_matching_assigns_data",
        "assigns the checkpoint's tensors to .data, so the model shares memory with the checkpoint and takes "
        "its dtype",
        edits={"load_matching": Replace("    model.load_state_dict(matching, strict=False)\n",
                                        "    live = model.state_dict(keep_vars=True)\n"
                                        "    for key, value in matching.items():\n"
                                        "        live[key].data = value\n")},
        message="expected ['torch.float32'], got ['torch.float64']",
        fails=("test_load_matching_hidden",),
    ),
    Wrong(
        "load_matching_new_parameters",
        "replaces each matching parameter by a new nn.Parameter, so an optimizer built before holds stale ones",
        edits={"load_matching": Replace("    model.load_state_dict(matching, strict=False)\n",
                                        "    params = dict(model.named_parameters())\n"
                                        "    for key, value in matching.items():\n"
                                        "        owner, _, leaf = key.rpartition('.')\n"
                                        "        module = model.get_submodule(owner)\n"
                                        "        if key in params:\n"
                                        "            setattr(module, leaf, nn.Parameter(value.clone().to(params[key].device)))\n"
                                        "        else:\n"
                                        "            getattr(module, leaf).copy_(value)\n")},
        message='parameters of the model that are new objects after load_matching',
        fails=("test_load_matching_hidden",),
    ),
    Wrong(
        "load_matching_deletes_from_input",
        "deletes the mismatched and unexpected keys from the checkpoint it was given, then loads it",
        edits={"load_matching": Replace("    model.load_state_dict(matching, strict=False)\n",
                                        "    for key in report[\"mismatched\"] + report[\"unexpected\"]:\n"
                                        "        del state_dict[key]\n"
                                        "    model.load_state_dict(state_dict, strict=False)\n")},
        message='keys of the checkpoint after load_matching (they must not change)',
        fails=("test_load_matching_hidden",),
    ),
    # ---- Part 5: checkpoints --------------------------------------------------------------------
    Wrong(
        "checkpoint_whole_model_object",
        "saves the model object itself (pickled) instead of its state_dict",
        edits={"checkpoint": [
            Replace('"model": model.state_dict(),', '"model": model,'),
            Replace('model.load_state_dict(checkpoint["model"])',
                    'model.load_state_dict(checkpoint["model"].state_dict())'),
        ]},
        message='it holds torch.nn.modules.container.Sequential',
        fails=("test_checkpoint", "test_checkpoint_hidden"),
    ),
    Wrong(
        "checkpoint_without_optimizer",
        "saves and restores only the model, so momentum restarts from zero after resuming",
        edits={"checkpoint": [
            Replace('        "optimizer": optimizer.state_dict(),\n', ""),
            Replace('    optimizer.load_state_dict(checkpoint["optimizer"])\n', ""),
        ]},
        message="keys missing from the saved checkpoint: expected [], got ['optimizer']",
        fails=("test_checkpoint", "test_checkpoint_hidden"),
    ),
    Wrong(
        "checkpoint_optimizer_not_loaded",
        "saves the optimizer state but forgets to load it back",
        edits={"checkpoint": Replace('    optimizer.load_state_dict(checkpoint["optimizer"])\n', "")},
        message="the optimizer's learning rate (saved in the file)",
        fails=("test_checkpoint", "test_checkpoint_hidden"),
    ),
    Wrong(
        "checkpoint_without_rng",
        "saves model, optimizer, scheduler and epoch but no random number generator state",
        edits={"checkpoint": '''def save_checkpoint(path, model, optimizer, scheduler, epoch, generator):
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "epoch": epoch}, path)


def load_checkpoint(path, model, optimizer, scheduler, generator):
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    return checkpoint["epoch"]
'''},
        message="keys missing from the saved checkpoint: expected [], got ['rng']",
        fails=("test_checkpoint", "test_checkpoint_hidden"),
    ),
    Wrong(
        "checkpoint_reseeds_instead_of_restoring",
        "re-seeds torch with the epoch number on loading instead of restoring the saved generator state",
        edits={"checkpoint": Replace('    torch.set_rng_state(rng["torch"])\n',
                                     '    torch.manual_seed(checkpoint["epoch"])\n')},
        message='the global torch RNG (saved in the file)',
        fails=("test_checkpoint", "test_checkpoint_hidden"),
    ),
    Wrong(
        "checkpoint_python_rng_forgotten",
        "restores torch's generator but not Python's random module, which drives the augmentation",
        edits={"checkpoint": Replace('    random.setstate(rng["python"])\n', "")},
        message="Python's random module (saved in the file)",
        fails=("test_checkpoint", "test_checkpoint_hidden"),
    ),
    Wrong(
        "checkpoint_numpy_rng_state",
        "also saves numpy's RNG state, a tuple holding a numpy array, which weights_only=True cannot load",
        edits={"checkpoint": [
            Replace('"generator": generator.get_state()},',
                    '"generator": generator.get_state(), "numpy": __import__("numpy").random.get_state()},'),
            Replace('    random.setstate(rng["python"])\n',
                    '    random.setstate(rng["python"])\n    __import__("numpy").random.set_state(rng["numpy"])\n'),
        ]},
        message='it holds numpy._core.multiarray._reconstruct',
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
        message="a checkpoint with 'module.' keys loaded into the bare resnet18 without any error",
        fails=("test_checkpoint_hidden",),
    ),
    Wrong(
        "checkpoint_returns_next_epoch",
        "returns epoch + 1 from load_checkpoint, as the epoch to start from",
        edits={"checkpoint": Replace('return checkpoint["epoch"]', 'return checkpoint["epoch"] + 1')},
        message='saved with epoch=7: expected 7, got 8',
        fails=("test_checkpoint", "test_checkpoint_hidden"),
    ),
    Wrong(
        "checkpoint_without_scheduler",
        "saves and restores model, optimizer, epoch and RNGs as in the lecture, but not the scheduler",
        edits={"checkpoint": [
            Replace('        "scheduler": scheduler.state_dict(),\n', ""),
            Replace('    scheduler.load_state_dict(checkpoint["scheduler"])\n', ""),
        ]},
        message="keys missing from the saved checkpoint: expected [], got ['scheduler']",
        fails=("test_checkpoint", "test_checkpoint_hidden"),
    ),
    Wrong(
        "checkpoint_scheduler_not_loaded",
        "saves the scheduler's state but never loads it back",
        edits={"checkpoint": Replace('    scheduler.load_state_dict(checkpoint["scheduler"])\n', "")},
        message="the scheduler's step count (saved in the file)",
        fails=("test_checkpoint", "test_checkpoint_hidden"),
    ),
    Wrong(
        "checkpoint_generator_ignored",
        "treats the data-order generator as covered by torch.get_rng_state() and never saves it",
        edits={"checkpoint": [
            Replace(', "generator": generator.get_state()}', "}"),
            Replace('    generator.set_state(rng["generator"])\n', ""),
        ]},
        message='keys missing from checkpoint["rng"]: expected [], got [\'generator\']',
        fails=("test_checkpoint", "test_checkpoint_hidden"),
    ),
    Wrong(
        "checkpoint_generator_reseeded",
        "saves the generator's state but on loading re-seeds the generator with the epoch instead",
        edits={"checkpoint": Replace('    generator.set_state(rng["generator"])\n',
                                     '    generator.manual_seed(checkpoint["epoch"])\n')},
        message='the generator passed to load_checkpoint (saved in the file)',
        fails=("test_checkpoint", "test_checkpoint_hidden"),
    ),
    Wrong(
        "checkpoint_scheduler_object",
        "saves the scheduler object itself instead of its state_dict, which weights_only=True refuses",
        edits={"checkpoint": [
            Replace('"scheduler": scheduler.state_dict(),', '"scheduler": scheduler,'),
            Replace('scheduler.load_state_dict(checkpoint["scheduler"])',
                    'scheduler.load_state_dict(checkpoint["scheduler"].state_dict())'),
        ]},
        message='it holds torch.optim.lr_scheduler.StepLR',
        fails=("test_checkpoint", "test_checkpoint_hidden"),
    ),
    # ---- Part 6: init_weights -------------------------------------------------------------------
    Wrong(
        "init_xavier_everywhere",
        "uses Xavier for every layer, ReLU layers included",
        edits={"init_weights": Replace('nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")',
                                       "nn.init.xavier_uniform_(module.weight)")},
        message="expected 0.176777, got 0.079129, which is Xavier's std for this layer",
        fails=("test_init_weights", "test_init_weights_hidden"),
    ),
    Wrong(
        "init_kaiming_everywhere",
        "uses Kaiming for every layer, the output layer included",
        edits={"init_weights": Replace("nn.init.xavier_uniform_(module.weight)",
                                       'nn.init.kaiming_normal_(module.weight, nonlinearity="relu")')},
        message="layer '5' (not a ReLU layer, fan_in=128, fan_out=128): expected 0.0883883, got 0.124433",
        fails=("test_init_weights", "test_init_weights_hidden"),
    ),
    Wrong(
        "init_kaiming_fan_out",
        "copies torchvision's ResNet init, kaiming_normal_ with mode='fan_out'",
        edits={"init_weights": Replace('mode="fan_in"', 'mode="fan_out"')},
        message="got 0.0887603, which is Kaiming's with mode='fan_out' std",
        fails=("test_init_weights", "test_init_weights_hidden"),
    ),
    Wrong(
        "init_biases_untouched",
        "initialises the weights and forgets the biases",
        edits={"init_weights": Replace('''            if module.bias is not None:
                nn.init.zeros_(module.bias)
''', "")},
        message="the bias of an MLP's layer '0' must be all zeros",
        fails=("test_init_weights", "test_init_weights_hidden"),
    ),
    Wrong(
        "init_bias_none",
        "zeroes module.bias without checking for layers built with bias=False",
        edits={"init_weights": Replace('''            if module.bias is not None:
                nn.init.zeros_(module.bias)
''', '''            nn.init.zeros_(module.bias)
''')},
        message="'NoneType' object has no attribute 'zero_'",
        fails=("test_init_weights_hidden",),
    ),
    Wrong(
        "init_relu_must_be_next",
        "looks only at the very next module, so Conv2d -> BatchNorm2d -> ReLU gets Xavier",
        edits={"init_weights": Replace(
            "after = [c for c in children[i + 1:] if not isinstance(c, nn.modules.batchnorm._BatchNorm)]",
            "after = children[i + 1:]")},
        message="layer '2' (ReLU layer, BatchNorm before its ReLU, fan_in=256, fan_out=128): expected 0.0883883, got 0.0718989",
        fails=("test_init_weights", "test_init_weights_hidden"),
    ),
    Wrong(
        "init_next_in_modules_order",
        "takes the module registered right after a layer (in model.modules() order) as what follows it, so "
        "layers outside a Sequential count as ReLU layers",
        edits={"init_weights": Replace("""    for module in model.modules():
        if isinstance(module, nn.Sequential):
            children = list(module)
            for i, child in enumerate(children):
                after = [c for c in children[i + 1:] if not isinstance(c, nn.modules.batchnorm._BatchNorm)]
                if after and isinstance(after[0], nn.ReLU):
                    relu_layers.add(child)
""", """    every = [m for m in model.modules() if not isinstance(m, (nn.Sequential, nn.ModuleList))]
    for i, module in enumerate(every):
        after = [c for c in every[i + 1:] if not isinstance(c, nn.modules.batchnorm._BatchNorm)]
        if after and isinstance(after[0], nn.ReLU):
            relu_layers.add(module)
""")},
        message="layer 'features.4.block.2.fc2' (not a ReLU layer, fan_in=24, fan_out=96): expected 0.129099, got 0.288666",
        fails=("test_init_weights_hidden",),
    ),
    Wrong(
        "init_new_parameters",
        "builds fresh nn.Parameter weights and assigns them, which is not in place and unfreezes frozen layers",
        edits={"init_weights": Replace("""        if isinstance(module, (nn.Linear, nn.Conv2d)):
            if module in relu_layers:""", """        if isinstance(module, (nn.Linear, nn.Conv2d)):
            module.weight = nn.Parameter(torch.empty_like(module.weight))
            if module.bias is not None:
                module.bias = nn.Parameter(torch.empty_like(module.bias))
            if module in relu_layers:""")},
        message='parameters that are new objects after init_weights',
        fails=("test_init_weights_hidden",),
    ),
    Wrong(
        "init_skips_frozen_layers",
        "initialises only the layers that require grad, leaving frozen layers with their old weights",
        edits={"init_weights": Replace("        if isinstance(module, (nn.Linear, nn.Conv2d)):",
                                       "        if isinstance(module, (nn.Linear, nn.Conv2d)) and module.weight.requires_grad:")},
        message="the frozen layer '2' kept its old weight",
        fails=("test_init_weights_hidden",),
    ),
    # ---- Alternative correct submissions ---------------------------------------------------------
    Correct(
        "freeze_with_module_requires_grad_by_class_name",
        "freezes the whole model with requires_grad_(False), then unfreezes the kept sub-modules; "
        "BatchNorm found by its class name",
        edits={"freeze": '''def freeze(model, except_prefixes=()):
    def kept(name):
        return any(name == p or name.startswith(p + ".") for p in except_prefixes)

    model.requires_grad_(False)
    for name, parameter in model.named_parameters():
        if kept(name):
            parameter.requires_grad = True
    for name, module in model.named_modules():
        if "BatchNorm" in type(module).__name__ and not kept(name):
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
        "prefix_keeps_metadata_and_copies",
        "clones every value and carries over _metadata with its module paths renamed the same way",
        edits={"replace_prefix": """def replace_prefix(state_dict, old_prefix, new_prefix):
    def rename(key):
        return new_prefix + key[len(old_prefix):] if key.startswith(old_prefix) else key

    result = OrderedDict((rename(key), value.clone()) for key, value in state_dict.items())
    metadata = getattr(state_dict, "_metadata", None)
    if metadata is not None:
        result._metadata = type(metadata)((rename(k + ".").rstrip(".") if k else k, v) for k, v in metadata.items())
    return result
"""},
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
        "a different layout of the same checkpoint: helper for the RNGs, cuda restored when available, "
        "scheduler loaded before the optimizer",
        edits={"checkpoint": '''def _rng_state(generator):
    return {"torch": torch.random.get_rng_state(), "python": random.getstate(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "generator": generator.get_state().clone()}


def save_checkpoint(path, model, optimizer, scheduler, epoch, generator):
    checkpoint = dict(epoch=int(epoch), model=model.state_dict(), optimizer=optimizer.state_dict(),
                      scheduler=scheduler.state_dict(), rng=_rng_state(generator))
    torch.save(checkpoint, str(path))


def load_checkpoint(path, model, optimizer, scheduler, generator):
    checkpoint = torch.load(str(path), map_location=torch.device("cpu"), weights_only=True)
    model.load_state_dict(checkpoint["model"], strict=True)
    scheduler.load_state_dict(checkpoint["scheduler"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    random.setstate(checkpoint["rng"]["python"])
    torch.random.set_rng_state(checkpoint["rng"]["torch"])
    generator.set_state(checkpoint["rng"]["generator"])
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
    # --- found by the blind check -----------------------------------------------------------
    Wrong(
        name="count_leaf_modules_only",
        story="Counts the parameters of leaf modules only, so a parameter held by a module with children "
              "(a class token) is missed.",
        edits={"count_parameters": Replace(
            old="    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)",
            new="""    seen = {}
    for module in model.modules():
        if not list(module.children()):
            for p in module.parameters(recurse=False):
                if p.requires_grad or not trainable_only:
                    seen[id(p)] = p.numel()
    return sum(seen.values())""")},
        message="only the parameters of leaf modules were counted",
        fails=("test_count_parameters_hidden",),
    ),
    Wrong(
        name="init_resets_batchnorm",
        story="init_weights also resets every BatchNorm layer's weight to 1 and bias to 0.",
        edits={"init_weights": Replace(
            old="    return model",
            new="""    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.affine:
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    return model""")},
        message="init_weights must not change the BatchNorm layer",
        fails=("test_init_weights_hidden",),
    ),
]
