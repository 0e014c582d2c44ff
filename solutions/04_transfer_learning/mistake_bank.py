"""Wrong and alternative-correct submissions of assignment 4 (see grader.bank)."""
from grader.bank import Correct, Replace, Wrong

_FIND_LAST = '''    found = None
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            found = (name, module)
'''
_NEW_LINEAR = '''    new = nn.Linear(old.in_features, num_classes, bias=old.bias is not None,
                    device=old.weight.device, dtype=old.weight.dtype)
'''
_HOOK = '''    keep_backbone_in_eval(model, ())
    model.register_forward_pre_hook(keep_backbone_in_eval)
'''
_DECAYS = 'decays = not (name.endswith("bias") or id(parameter) in in_norm)'
_FEATURES_LOOP = '''    model.eval()
    features, labels = [], []
'''

BANK = [
    # Part 1: find_head / replace_head
    Wrong("head_by_attribute_name",
          "looks for model.fc, then for model.classifier[-1], as the torchvision tutorials do",
          {"replace_head": Replace(_FIND_LAST, '''    if hasattr(model, "fc"):
        return "fc", model.fc
    found = (f"classifier.{len(model.classifier) - 1}", model.classifier[-1])
''')},
          message="the head was looked up by a family's attribute name", fails=("test_replace_head_hidden",)),
    Wrong("last_child_as_head",
          "takes the model's last child as the head",
          {"replace_head": Replace(_FIND_LAST, '''    found = list(model.named_children())[-1]
''')},
          message="the head was taken to be the model's last child",
          fails=("test_replace_head", "test_replace_head_hidden")),
    Wrong("first_linear_as_head",
          "stops at the first nn.Linear it meets",
          {"replace_head": Replace("            found = (name, module)\n",
                                   "            found = (name, module)\n            break\n")},
          message="the first nn.Linear was taken", fails=("test_replace_head", "test_replace_head_hidden")),
    Wrong("head_edited_in_place",
          "changes out_features of the existing head instead of building a new layer",
          {"replace_head": Replace(_NEW_LINEAR + "    setattr(parent, attribute, new)\n",
                                   "    old.out_features = num_classes\n")},
          message="the old head was edited", fails=("test_replace_head", "test_replace_head_hidden")),
    Wrong("new_head_keeps_old_weights",
          "copies the old head's weights into the new one for the classes they share (found by the blind check)",
          {"replace_head": Replace("    setattr(parent, attribute, new)\n", """    with torch.no_grad():
        k = min(num_classes, old.out_features)
        new.weight[:k] = old.weight[:k]
    setattr(parent, attribute, new)
""")},
          message="it must be freshly initialised", fails=("test_replace_head_hidden",)),
    Wrong("new_head_default_dtype",
          "builds the new head with nn.Linear's defaults and moves it to the device only",
          {"replace_head": Replace(_NEW_LINEAR, '''    new = nn.Linear(old.in_features, num_classes, bias=old.bias is not None).to(old.weight.device)
''')},
          message="created with the default dtype", fails=("test_replace_head_hidden",)),
    Wrong("new_head_default_device",
          "keeps the old head's dtype but creates the new head on the default device",
          {"replace_head": Replace(_NEW_LINEAR, '''    new = nn.Linear(old.in_features, num_classes, bias=old.bias is not None, dtype=old.weight.dtype)
''')},
          message="created on the default device", fails=("test_replace_head_hidden",)),
    Wrong("new_head_always_has_bias",
          "always builds the new head with a bias",
          {"replace_head": Replace("bias=old.bias is not None,\n", "\n")},
          message="new head has a bias", fails=("test_replace_head_hidden",)),
    Wrong("setattr_on_the_model",
          "sets the dotted name on the model itself, which registers a new unused module",
          {"replace_head": Replace("    setattr(parent, attribute, new)\n", "    setattr(model, name, new)\n")},
          message="must be a new nn.Linear", fails=("test_replace_head", "test_replace_head_hidden")),
    Wrong("replace_head_returns_a_copy",
          "works on a deep copy so that the caller's model is not modified",
          {"replace_head": Replace("    name, old = find_head(model)\n",
                                   "    import copy\n    model = copy.deepcopy(model)\n    name, old = find_head(model)\n")},
          message="must return the model it was given", fails=("test_replace_head", "test_replace_head_hidden")),

    # Part 2: freeze_backbone
    Wrong("requires_grad_only",
          "freezes the backbone with requires_grad=False and nothing else",
          {"freeze_backbone": Replace(_HOOK, "")},
          message="these modules outside the head ran in training mode", fails=("test_freeze_backbone", "test_freeze_backbone_hidden")),
    Wrong("eval_does_not_survive_train",
          "puts the backbone in eval mode once, inside freeze_backbone",
          {"freeze_backbone": Replace(_HOOK, "    keep_backbone_in_eval(model, ())\n")},
          message="did not survive model.train()", fails=("test_freeze_backbone", "test_freeze_backbone_hidden")),
    Wrong("head_frozen_too",
          "freezes every parameter, the head's included",
          {"freeze_backbone": Replace("parameter.requires_grad_(id(parameter) in head_parameters)",
                                      "parameter.requires_grad_(False)")},
          message="the head was frozen too", fails=("test_freeze_backbone", "test_freeze_backbone_hidden")),
    Wrong("whole_model_kept_in_eval",
          "registers a hook that puts the whole model in eval mode, the head included",
          {"freeze_backbone": Replace("        for leaf in backbone_leaves:\n            leaf.eval()\n",
                                      "        module.eval()\n")},
          message="the head was kept in eval mode too", fails=("test_freeze_backbone_hidden",)),
    Wrong("only_batchnorm_in_eval",
          "keeps only the backbone's BatchNorm layers in eval mode, leaving Dropout and StochasticDepth training",
          {"freeze_backbone": Replace("if m not in head_modules and not list(m.children())]",
                                      "if m not in head_modules and isinstance(m, nn.modules.batchnorm._BatchNorm)]")},
          message="only some kinds of layers were kept in eval mode", fails=("test_freeze_backbone_hidden",)),
    Wrong("batchnorm2d_and_dropout_only",
          "keeps only the backbone's nn.BatchNorm2d and nn.Dropout layers in eval mode (found by the blind check)",
          {"freeze_backbone": Replace("if m not in head_modules and not list(m.children())]",
                                      "if m not in head_modules and isinstance(m, (nn.BatchNorm2d, nn.Dropout))]")},
          message="only some kinds of layers were kept in eval mode", fails=("test_freeze_backbone_hidden",)),
    Wrong("hook_keeps_head_training",
          "registers a hook that puts the model in eval mode and the head back in training mode before every "
          "forward pass, so model.eval() no longer reaches the head (found by the blind check)",
          {"freeze_backbone": Replace("        for leaf in backbone_leaves:\n            leaf.eval()\n",
                                      "        module.eval()\n        head.train()\n")},
          message="the head's Dropout must be off", fails=("test_freeze_backbone_hidden",)),
    Wrong("frozen_batchnorm_swap",
          "swaps each backbone BatchNorm2d for torchvision's FrozenBatchNorm2d, which drops num_batches_tracked",
          {"freeze_backbone": Replace(_HOOK, '''    from torchvision.ops import FrozenBatchNorm2d
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.BatchNorm2d) and child not in head_modules:
                frozen = FrozenBatchNorm2d(child.num_features, child.eps).to(child.weight.device)
                for key in ("weight", "bias", "running_mean", "running_var"):
                    getattr(frozen, key).copy_(getattr(child, key).detach())
                setattr(module, child_name, frozen)
''')},
          message="the state_dict keys", fails=("test_freeze_backbone_hidden",)),

    # Part 3: parameter_groups
    Wrong("frozen_parameters_in_optimizer",
          "puts every parameter in a group, frozen ones included",
          {"parameter_groups": Replace("        if not parameter.requires_grad:\n            continue\n", "")},
          message="frozen parameters were given to the optimizer", fails=("test_parameter_groups_hidden",)),
    Wrong("head_in_two_groups",
          "gives model.parameters() the backbone rate and adds a second group for the head",
          {"parameter_groups": '''def parameter_groups(model, head, head_lr, backbone_lr, weight_decay):
    return [{"params": [p for p in model.parameters() if p.requires_grad], "lr": backbone_lr,
             "weight_decay": weight_decay},
            {"params": list(head.parameters()), "lr": head_lr, "weight_decay": weight_decay}]
'''},
          message="is in more than one group", fails=("test_parameter_groups", "test_parameter_groups_hidden")),
    Wrong("decay_on_norm_weights",
          "exempts the biases from weight decay but not the normalisation layers' weights",
          {"parameter_groups": Replace(_DECAYS, 'decays = not name.endswith("bias")')},
          message="BatchNorm's weights still decay", fails=("test_parameter_groups", "test_parameter_groups_hidden")),
    Wrong("only_batchnorm_is_a_norm",
          "recognises BatchNorm as the only normalisation layer",
          {"parameter_groups": Replace("if isinstance(m, NORM_LAYERS)", "if isinstance(m, nn.modules.batchnorm._BatchNorm)")},
          message="only BatchNorm layers were exempted", fails=("test_parameter_groups_hidden",)),
    Wrong("one_dimensional_means_no_decay",
          "exempts every parameter with at most one dimension",
          {"parameter_groups": Replace(_DECAYS, "decays = parameter.ndim > 1")},
          message="every 1-D parameter was exempted", fails=("test_parameter_groups_hidden",)),
    Wrong("norms_found_by_name",
          "recognises normalisation layers by 'bn' or 'norm' in the parameter's name",
          {"parameter_groups": Replace(_DECAYS, 'decays = not (name.endswith("bias") or "bn" in name or "norm" in name.lower())')},
          message="recognised by their name", fails=("test_parameter_groups_hidden",)),
    Wrong("learning_rates_swapped",
          "gives the backbone the head's learning rate and the head the backbone's",
          {"parameter_groups": Replace('"lr": float(head_lr if is_head else backbone_lr)', '"lr": float(backbone_lr if is_head else head_lr)')},
          message="head_lr and backbone_lr were swapped", fails=("test_parameter_groups", "test_parameter_groups_hidden")),
    Wrong("head_argument_ignored",
          "finds the head itself with find_head instead of using the head it is given (found by the blind check)",
          {"parameter_groups": Replace("    in_head = {id(p) for p in head.parameters()}\n",
                                       "    in_head = {id(p) for p in find_head(model)[1].parameters()}\n")},
          message="the head argument was ignored", fails=("test_parameter_groups_hidden",)),
    Wrong("shared_parameter_twice",
          "walks the modules and takes each module's own parameters, so a shared weight comes twice",
          {"parameter_groups": Replace("    for name, parameter in model.named_parameters():\n",
                                       "    for name, parameter in ((f'{m}.{n}', p) for m, module in model.named_modules()\n"
                                       "                            for n, p in module.named_parameters(recurse=False)):\n")},
          message="in more than one group (or twice in one)", fails=("test_parameter_groups_hidden",)),

    # Part 4: extract_features
    Wrong("features_in_train_mode",
          "runs the backbone without switching it to eval mode",
          {"extract_features": Replace(_FEATURES_LOOP, "    features, labels = [], []\n")},
          message="model.eval() was not called before extracting the features",
          fails=("test_extract_features_hidden",)),
    Wrong("no_grad_not_inference_mode",
          "uses torch.no_grad() instead of torch.inference_mode()",
          {"extract_features": Replace("with torch.inference_mode():", "with torch.no_grad():")},
          message="torch.no_grad() was used where the contract asks for torch.inference_mode()",
          fails=("test_extract_features_hidden",)),
    Wrong("inference_tensors_returned",
          "concatenates the features inside inference_mode",
          {"extract_features": [
              Replace("                labels.append(y.cpu())\n",
                      "                labels.append(y.cpu())\n"
                      "            dataset = TensorDataset(torch.cat(features), torch.cat(labels).to(torch.int64))\n"),
              Replace("    return TensorDataset(torch.cat(features).clone(), torch.cat(labels).to(torch.int64).clone())",
                      "    return dataset")]},
          message="inference tensors", fails=("test_extract_features", "test_extract_features_hidden")),
    Wrong("only_model_flag_restored",
          "restores the mode with model.train(was_training)",
          {"extract_features": [
              Replace("    modes = {module: module.training for module in model.modules()}\n",
                      "    was_training = model.training\n"),
              Replace("        for module, training in modes.items():\n            module.training = training\n",
                      "        model.train(was_training)\n")]},
          message="instead of restoring each module's own flag", fails=("test_extract_features_hidden",)),
    Wrong("mode_not_restored",
          "leaves the backbone in eval mode",
          {"extract_features": Replace("        for module, training in modes.items():\n            module.training = training\n",
                                       "        pass\n")},
          message="the model was left in eval mode", fails=("test_extract_features_hidden",)),
    Wrong("softmaxed_features",
          "applies softmax to the backbone's outputs",
          {"extract_features": Replace("features.append(torch.flatten(model(x.to(device)), 1).cpu())",
                                       "features.append(torch.softmax(torch.flatten(model(x.to(device)), 1), dim=1).cpu())")},
          message="softmax was applied to the features", fails=("test_extract_features", "test_extract_features_hidden")),
    Wrong("dataset_order",
          "reads loader.dataset with a loader of its own, ignoring the given loader's sampler",
          {"extract_features": Replace("            for x, y in loader:\n",
                                       "            for x, y in DataLoader(loader.dataset, batch_size=loader.batch_size):\n")},
          message="the dataset was read in its own order", fails=("test_extract_features_hidden",)),

    # Part 5: train_probe
    Wrong("probe_not_seeded",
          "does not seed torch inside train_probe",
          {"train_probe": Replace("    torch.manual_seed(seed)\n", "")},
          message="torch.manual_seed(seed) is not called in train_probe", fails=("test_train_probe_hidden",)),
    Wrong("probe_seed_ignored",
          "seeds with a fixed 0 instead of the seed argument",
          {"train_probe": Replace("    torch.manual_seed(seed)\n", "    torch.manual_seed(0)\n")},
          message="a fixed seed was used instead of the seed argument", fails=("test_train_probe_hidden",)),
    Wrong("probe_standardises_in_place",
          "standardises the features in place before training",
          {"train_probe": Replace("    torch.manual_seed(seed)\n",
                                  "    torch.manual_seed(seed)\n    features -= features.mean(dim=0)\n")},
          message="standardised in place", fails=("test_train_probe_hidden",)),
    Wrong("probe_learning_rate_too_small",
          "trains with plain SGD at lr 0.001 for 100 steps",
          {"train_probe": Replace("torch.optim.Adam(probe.parameters(), lr=0.01)", "torch.optim.SGD(probe.parameters(), lr=0.001)")},
          message="the target is 90 %", fails=("test_train_probe", "test_train_probe_hidden")),
    Wrong("probe_returns_sequential_with_softmax",
          "returns the linear layer followed by a softmax",
          {"train_probe": Replace("    return probe", "    return nn.Sequential(probe, nn.Softmax(dim=1))")},
          message="expected a Linear", fails=("test_train_probe", "test_train_probe_hidden")),

    # Part 6: predict
    Wrong("imagenet_statistics",
          "preprocesses with the ImageNet mean and std that every tutorial shows",
          {"predict": Replace("    transform = weights.transforms()\n", '''    transform = torchvision.transforms.Compose([
        torchvision.transforms.Resize((32, 32)), torchvision.transforms.ToTensor(),
        torchvision.transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
''')},
          message="ImageNet's normalisation statistics were applied", fails=("test_predict_hidden",)),
    Wrong("transforms_skipped",
          "converts each image to a tensor and nothing else",
          {"predict": Replace("    transform = weights.transforms()\n",
                              "    transform = torchvision.transforms.ToTensor()\n")},
          message="not passed through weights.transforms()", fails=("test_predict_hidden",)),
    Wrong("predict_in_train_mode",
          "runs the model without switching it to eval mode",
          {"predict": Replace("    model.eval()\n", "")},
          message="the model ran in training mode", fails=("test_predict_hidden",)),
    Wrong("indices_not_names",
          "returns the predicted class indices",
          {"predict": Replace("    return [categories[i] for i in scores.argmax(dim=1).tolist()]",
                              "    return scores.argmax(dim=1).tolist()")},
          message="each prediction: expected a str", fails=("test_predict", "test_predict_hidden")),
    Wrong("course_transforms_hardcoded",
          "uses the course weights' transforms and categories whatever weights it is given",
          {"predict": [Replace("    transform = weights.transforms()\n", "    transform = CourseNet_Weights.DEFAULT.transforms()\n"),
                       Replace('categories = weights.meta["categories"]', 'categories = CourseNet_Weights.DEFAULT.meta["categories"]')]},
          message="the course weights' transforms or categories were used", fails=("test_predict_hidden",)),
    Wrong("predict_records_gradients",
          "runs the model without inference_mode or no_grad (found by the blind check)",
          {"predict": Replace("    with torch.inference_mode():\n        scores = model(batch.to(next(model.parameters()).device))\n",
                              "    scores = model(batch.to(next(model.parameters()).device))\n")},
          message="with gradient recording on", fails=("test_predict_hidden",)),
    Wrong("params_as_generators",
          "gives each group a generator of parameters instead of a list (found by the blind check)",
          {"parameter_groups": Replace('[{"params": params,', '[{"params": (p for p in params),')},
          message="expected a list", fails=("test_parameter_groups", "test_parameter_groups_hidden")),
    Wrong("predict_mode_not_restored",
          "switches the model to eval mode and leaves it there",
          {"predict": Replace("    model.train(was_training)\n", "")},
          message="model.eval() was called without restoring", fails=("test_predict_hidden",)),
    Wrong("new_head_zero_initialised",
          "zero-initialises the new head, as torchvision does for the vision transformer's head (found by the blind check)",
          {"replace_head": Replace("    setattr(parent, attribute, new)\n",
                                   "    nn.init.zeros_(new.weight)\n    if new.bias is not None:\n"
                                   "        nn.init.zeros_(new.bias)\n    setattr(parent, attribute, new)\n")},
          message="has an all-zero weight or bias", fails=("test_replace_head_hidden",)),
    Wrong("train_override_not_applied_at_freeze",
          "gives the model a train method that keeps the backbone in eval mode, but does not call it in "
          "freeze_backbone (found by the blind check)",
          {"freeze_backbone": Replace(_HOOK, '''    import types

    def train(self, mode=True):
        nn.Module.train(self, mode)
        keep_backbone_in_eval(self, ())
        return self

    model.train = types.MethodType(train, model)
''')},
          message="in the forward pass right after freeze_backbone (before any model.train())",
          fails=("test_freeze_backbone_hidden",)),
    Wrong("batchnorm_momentum_zero",
          "sets the backbone's BatchNorm momentum to 0 and its Dropout p to 0 instead of eval mode (found by the "
          "blind check)",
          {"freeze_backbone": Replace(_HOOK, '''    for leaf in backbone_leaves:
        if isinstance(leaf, nn.modules.batchnorm._BatchNorm):
            leaf.momentum = 0.0
        if isinstance(leaf, nn.modules.dropout._DropoutNd):
            leaf.p = 0.0
''')},
          message="these modules outside the head ran in training mode", fails=("test_freeze_backbone_hidden",)),
    Wrong("empty_groups_kept",
          "builds the four (head | backbone) x (decay | no decay) groups and returns them all, even empty ones "
          "(found by the blind check)",
          {"parameter_groups": Replace("    groups = {}\n",
                                       "    groups = {(h, d): [] for h in (True, False) for d in (True, False)}\n")},
          message="holds an empty group", fails=("test_parameter_groups_hidden",)),
    Wrong("head_parameters_by_name_prefix",
          "recognises the head's parameters by the head's name as a prefix, so a sibling fc2 of fc counts as head "
          "(found by the blind check)",
          {"parameter_groups": Replace("    in_head = {id(p) for p in head.parameters()}\n",
                                       "    head_name = next(n for n, m in model.named_modules() if m is head)\n"
                                       "    in_head = {id(p) for n, p in model.named_parameters() if n.startswith(head_name)}\n")},
          message="the lr of each parameter", fails=("test_parameter_groups_hidden",)),
    Wrong("settings_not_floats",
          "passes the learning rates through as given and writes the no-decay rate as the int 0 (found by the "
          "blind check)",
          {"parameter_groups": Replace('''"lr": float(head_lr if is_head else backbone_lr),
             "weight_decay": float(weight_decay) if decays else 0.0}''', '''"lr": head_lr if is_head else backbone_lr,
             "weight_decay": weight_decay if decays else 0}''')},
          message="expected a float, got a int", fails=("test_parameter_groups_hidden",)),
    Wrong("labels_not_cast_to_int64",
          "returns the labels in the dtype the loader gives them (found by the blind check)",
          {"extract_features": Replace("torch.cat(labels).to(torch.int64).clone()", "torch.cat(labels).clone()")},
          message="convert them to int64", fails=("test_extract_features_hidden",)),

    # Alternative correct submissions
    Correct("head_by_exact_type_reversed",
            "walks the modules backwards and stops at the first whose type is exactly nn.Linear",
            {"replace_head": Replace(_FIND_LAST, '''    found = None
    for name, module in reversed(list(model.named_modules())):
        if type(module) is nn.Linear:
            found = (name, module)
            break
''')}),
    Correct("head_replaced_through_parent_modules",
            "walks down the dotted name with getattr and assigns the new layer with setattr, copying factory kwargs",
            {"replace_head": Replace(_NEW_LINEAR + "    setattr(parent, attribute, new)\n", '''    *path, last = name.split(".")
    parent = model
    for part in path:
        parent = getattr(parent, part)
    new = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
    setattr(parent, last, new.to(device=old.weight.device, dtype=old.weight.dtype))
''')}),
    Correct("train_method_override",
            "gives the model its own train method that puts the backbone's leaves back in eval mode",
            {"freeze_backbone": Replace(_HOOK, '''    import types

    def train(self, mode=True):
        nn.Module.train(self, mode)
        keep_backbone_in_eval(self, ())
        return self

    keep_backbone_in_eval(model, ())
    model.train = types.MethodType(train, model)
''')}),
    Correct("modules_that_ignore_train",
            "puts every backbone leaf in eval mode and replaces each one's train method by one that does nothing",
            {"freeze_backbone": Replace(_HOOK, """    for leaf in backbone_leaves:
        leaf.eval()
        leaf.train = (lambda module: (lambda mode=True: module))(leaf)
""")}),
    Correct("four_named_groups",
            "builds four fixed groups and drops the empty ones",
            {"parameter_groups": '''def parameter_groups(model, head, head_lr, backbone_lr, weight_decay):
    head_ids = {id(p) for p in head.parameters()}
    norm_ids = set()
    for module in model.modules():
        if isinstance(module, NORM_LAYERS):
            norm_ids |= {id(p) for p in module.parameters(recurse=False)}
    buckets = {"head": [], "head_no_decay": [], "body": [], "body_no_decay": []}
    for name, p in model.named_parameters():
        if p.requires_grad:
            key = "head" if id(p) in head_ids else "body"
            if name.endswith("bias") or id(p) in norm_ids:
                key += "_no_decay"
            buckets[key].append(p)
    settings = {"head": (head_lr, weight_decay), "head_no_decay": (head_lr, 0.0),
                "body": (backbone_lr, weight_decay), "body_no_decay": (backbone_lr, 0.0)}
    return [{"params": params, "lr": float(settings[key][0]), "weight_decay": float(settings[key][1])}
            for key, params in buckets.items() if params]
'''}),
    Correct("features_with_decorator_and_no_grad_model_copy",
            "records each module's mode, extracts under an inference_mode decorator, clones outside",
            {"extract_features": '''@torch.inference_mode()
def _features_of(model, loader, device):
    out, ys = [], []
    for x, y in loader:
        out.append(model(x.to(device)).flatten(start_dim=1).cpu())
        ys.append(y.long())
    return torch.cat(out), torch.cat(ys)


def extract_features(model, loader):
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    features, labels = _features_of(model, loader, next(model.parameters()).device)
    for m, training in modes:
        m.training = training
    return TensorDataset(features.clone(), labels.clone())
'''}),
    Correct("probe_with_lbfgs_and_standardisation_folded",
            "standardises a copy of the features, fits with LBFGS, and folds the standardisation into the layer",
            {"train_probe": '''def train_probe(features, labels, num_classes, seed=0):
    torch.manual_seed(seed)
    mean, std = features.mean(dim=0), features.std(dim=0) + 1e-6
    z = (features - mean) / std
    probe = nn.Linear(features.shape[1], num_classes).to(features.device)
    optimizer = torch.optim.LBFGS(probe.parameters(), lr=0.5, max_iter=50)

    def closure():
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(probe(z), labels) + 1e-3 * probe.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        folded = nn.Linear(features.shape[1], num_classes).to(features.device)
        folded.weight.copy_(probe.weight / std)
        folded.bias.copy_(probe.bias - (probe.weight * mean / std).sum(dim=1))
    return folded
'''}),
    Correct("probe_zero_initialised_without_randomness",
            "seeds, then starts from a zero-initialised layer: no random number is drawn, so the seed changes nothing "
            "(found by the blind check)",
            {"train_probe": Replace("    optimizer = torch.optim.Adam(probe.parameters(), lr=0.01)\n",
                                    "    nn.init.zeros_(probe.weight)\n    nn.init.zeros_(probe.bias)\n"
                                    "    optimizer = torch.optim.Adam(probe.parameters(), lr=0.01)\n")}),
    Correct("probe_with_squared_error_on_one_hot",
            "fits the linear layer to one-hot targets with the squared error instead of cross-entropy",
            {"train_probe": Replace("        loss = nn.functional.cross_entropy(probe(features), labels)\n",
                                    "        target = nn.functional.one_hot(labels, num_classes).float()\n"
                                    "        loss = ((probe(features) - target) ** 2).mean()\n")}),
    Correct("predict_with_softmax_and_no_grad",
            "takes the argmax of the softmax probabilities, batch by batch, and restores the mode in a finally",
            {"predict": '''def predict(model, weights, images):
    preprocess = weights.transforms()
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    names = []
    try:
        with torch.inference_mode():
            for start in range(0, len(images), 16):
                batch = torch.stack([preprocess(im) for im in images[start:start + 16]]).to(device)
                probabilities = model(batch).softmax(dim=1)
                names += [weights.meta["categories"][int(i)] for i in probabilities.argmax(dim=1)]
    finally:
        model.train(was_training)
    return names
'''}),
]
