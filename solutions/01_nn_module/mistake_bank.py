"""Mistake bank of assignment 1 (instructor-only: never released).

Every entry is the solution with one realistic change. See grader/bank.py for the format.
"""
from grader.bank import Correct, Replace, Wrong

BANK = [
    # --- Part 1: from-scratch Parameter and Module --------------------------------------------
    Wrong(
        name="scratch_no_recursion",
        story="named_parameters() yields only the module's own parameters and never visits sub-modules.",
        edits={"scratch_module": Replace(
            old="            for name, child in module._modules.items():\n"
                "                yield from walk(child, prefix + name + \".\")\n", new="")},
        message="3 levels deep: expected ['bias', 'first.gain', 'first.inner.w', 'second.gain', 'second.inner.w'], got ['bias'].",
        fails=("test_scratch_module", "test_scratch_module_hidden"),
    ),
    Wrong(
        name="scratch_no_prefix",
        story="Recurses, but yields the sub-module's names without the 'lin1.' prefix.",
        edits={"scratch_module": Replace(old='yield from walk(child, prefix + name + ".")',
                                         new='yield from walk(child, "")')},
        message="got ['bias', 'gain', 'w', 'gain', 'w']",
        fails=("test_scratch_module", "test_scratch_module_hidden"),
    ),
    Wrong(
        name="scratch_registers_every_tensor",
        story="__setattr__ registers any torch.Tensor as a parameter, so constants become parameters.",
        edits={"scratch_module": Replace(old="if isinstance(value, Parameter):",
                                         new="if isinstance(value, (Parameter, torch.Tensor)):")},
        message="got ['constant', 'w']",
        fails=("test_scratch_module_hidden",),
    ),
    Wrong(
        name="scratch_attribute_not_set",
        story="__setattr__ files Parameters and Modules in the registries but only sets other attributes.",
        edits={"scratch_module": [
            Replace(old="            self._parameters[name] = value\n",
                    new="            self._parameters[name] = value\n            return\n"),
            Replace(old="            self._modules[name] = value\n",
                    new="            self._modules[name] = value\n            return\n")]},
        message='reading those attributes back must give the assigned values',
        fails=("test_scratch_module_hidden",),
    ),
    Wrong(
        name="scratch_parameter_without_grad",
        story="Parameter stores the tensor as given, so it never requires grad and backward() fills nothing.",
        edits={"scratch_module": Replace(old="self.data = data.detach().clone().requires_grad_(True)",
                                         new="self.data = data")},
        message='Parameter(torch.randn(2, 2)).data must be a leaf tensor that requires grad',
        fails=("test_scratch_module_hidden",),
    ),
    Wrong(
        name="scratch_parameter_flags_input",
        story="Parameter sets requires_grad on the tensor it was given, changing the caller's tensor "
              "(and leaving a computed, non-leaf tensor non-leaf).",
        edits={"scratch_module": Replace(old="self.data = data.detach().clone().requires_grad_(True)",
                                         new="self.data = data.requires_grad_(True)")},
        message='Parameter(data) changed its input',
        fails=("test_scratch_module_hidden",),
    ),
    Wrong(
        name="scratch_parameter_clone_keeps_graph",
        story="Parameter clones without detaching: a tensor computed from one that requires grad stays a "
              "non-leaf, so backward() never fills its .grad.",
        edits={"scratch_module": Replace(old="self.data = data.detach().clone().requires_grad_(True)",
                                         new="self.data = data.clone().requires_grad_(True)")},
        message='got is_leaf=False, requires_grad=True',
        fails=("test_scratch_module_hidden",),
    ),
    Wrong(
        name="scratch_class_level_registries",
        story="Declares _parameters and _modules as class attributes, so every Module shares one pair of dicts.",
        edits={"scratch_module": [
            Replace(old="class Module:\n    def __init__(self):\n",
                    new="class Module:\n    _parameters = {}\n    _modules = {}\n\n    def __init__(self):\n"),
            Replace(old='        object.__setattr__(self, "_parameters", {})\n'
                        '        object.__setattr__(self, "_modules", {})\n',
                    new="        pass\n")]},
        message="got ['bias', 'w', 'weight']",
        fails=("test_scratch_module", "test_scratch_module_hidden"),
    ),
    Wrong(
        name="scratch_reassignment_keeps_stale_entry",
        story="__setattr__ only ever adds to the registries: a tensor assigned over a Parameter leaves the "
              "old Parameter registered.",
        edits={"scratch_module": [
            Replace(old="            self._modules.pop(name, None)\n            self._parameters[name] = value",
                    new="            self._parameters[name] = value"),
            Replace(old="            self._parameters.pop(name, None)\n            self._modules[name] = value",
                    new="            self._modules[name] = value"),
            Replace(old="        else:\n            self._parameters.pop(name, None)\n"
                        "            self._modules.pop(name, None)\n", new="")]},
        message="(the name must leave _parameters): expected [], got ['w']",
        fails=("test_scratch_module_hidden",),
    ),
    Wrong(
        name="scratch_shared_yielded_twice",
        story="named_parameters() yields every (name, parameter) pair, so a shared weight comes out twice.",
        edits={"scratch_module": Replace(
            old="        seen = set()\n"
                "        for name, parameter in walk(self, \"\"):\n"
                "            if id(parameter) not in seen:\n"
                "                seen.add(id(parameter))\n"
                "                yield name, parameter",
            new="        yield from walk(self, \"\")")},
        message="got ['tail', 'embed.w', 'decode.w', 'again.w']",
        fails=("test_scratch_module_hidden",),
    ),
    Wrong(
        name="scratch_call_drops_kwargs",
        story="__call__ passes only the positional arguments on and drops keyword arguments.",
        edits={"scratch_module": Replace(old="        return self.forward(*args, **kwargs)",
                                         new="        return self.forward(*args)")},
        message='module(x, 1.0, scale=3.0) for forward(x, shift, *, scale): values differ',
        fails=("test_scratch_module_hidden",),
    ),
    Wrong(
        name="scratch_children_before_own",
        story="Visits the sub-modules before the module's own parameters.",
        edits={"scratch_module": Replace(
            old="            for name, parameter in module._parameters.items():\n"
                "                yield prefix + name, parameter\n"
                "            for name, child in module._modules.items():\n"
                "                yield from walk(child, prefix + name + \".\")",
            new="            for name, child in module._modules.items():\n"
                "                yield from walk(child, prefix + name + \".\")\n"
                "            for name, parameter in module._parameters.items():\n"
                "                yield prefix + name, parameter")},
        message="got ['first.inner.w', 'first.gain', 'second.inner.w', 'second.gain', 'bias']",
        fails=("test_scratch_module_hidden",),
    ),
    # --- Part 2: SmallCNN ---------------------------------------------------------------------
    Wrong(
        name="cnn_plain_list",
        story="Keeps the layers in a plain Python list, which nn.Module does not register.",
        edits={"small_cnn": [
            Replace(old="self.features = nn.Sequential(", new="self.layers = ["),
            Replace(old="nn.MaxPool2d(2),\n        )", new="nn.MaxPool2d(2),\n        ]"),
            Replace(old="return self.head(self.features(x).flatten(1))",
                    new="for layer in self.layers:\n            x = layer(x)\n"
                        "        return self.head(x.flatten(1))"),
        ]},
        message='got [(10,), (10, 128)]',
        fails=("test_small_cnn", "test_small_cnn_hidden"),
    ),
    Wrong(
        name="cnn_missing_super_init",
        story="Forgets super().__init__(), so the first layer assignment fails.",
        edits={"small_cnn": Replace(old="        super().__init__()\n", new="")},
        message='cannot assign module before Module.__init__() call',
        fails=("test_small_cnn", "test_small_cnn_hidden"),
    ),
    Wrong(
        name="cnn_layers_built_in_forward",
        story="Creates the layers inside forward(), so they are new random layers at every call.",
        edits={"small_cnn": "class SmallCNN(nn.Module):\n"
                            "    def __init__(self, n_classes=10):\n"
                            "        super().__init__()\n"
                            "        self.n_classes = n_classes\n\n"
                            "    def forward(self, x):\n"
                            "        net = nn.Sequential(\n"
                            "            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),\n"
                            "            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),\n"
                            "            nn.Flatten(), nn.Linear(128, self.n_classes))\n"
                            "        return net(x)"},
        message='number of parameter tensors registered in SmallCNN(): expected 6, got 0',
        fails=("test_small_cnn", "test_small_cnn_hidden"),
    ),
    Wrong(
        name="cnn_hardcoded_batch_size",
        story="Flattens with x.view(64, -1), which only works for batches of 64.",
        edits={"small_cnn": Replace(old="return self.head(self.features(x).flatten(1))",
                                    new="return self.head(self.features(x).view(64, -1))")},
        message='(64x4 and 128x10)',
        fails=("test_small_cnn", "test_small_cnn_hidden"),
    ),
    Wrong(
        name="cnn_flatten_everything",
        story="Uses torch.flatten(x), which also flattens the batch dimension.",
        edits={"small_cnn": Replace(old="return self.head(self.features(x).flatten(1))",
                                    new="return self.head(torch.flatten(self.features(x)))")},
        message='(1x256 and 128x10)',
        fails=("test_small_cnn", "test_small_cnn_hidden"),
    ),
    Wrong(
        name="cnn_average_pooling",
        story="Uses average pooling where the specification asks for max pooling; every shape is right.",
        edits={"small_cnn": Replace(old="nn.ReLU(), nn.MaxPool2d(2),\n        )",
                                    new="nn.ReLU(), nn.AvgPool2d(2),\n        )")},
        message='values=[0.1682, -0.009026',
        fails=("test_small_cnn_hidden",),
    ),
    Wrong(
        name="cnn_softmax_output",
        story="Returns probabilities (a softmax over the logits) where the contract asks for logits.",
        edits={"small_cnn": Replace(old="return self.head(self.features(x).flatten(1))",
                                    new="return torch.softmax(self.head(self.features(x).flatten(1)), dim=1)")},
        message="softmax applied to the output: the contract asks for logits",
        fails=("test_small_cnn_hidden",),
    ),
    Wrong(
        name="cnn_squeeze",
        story="Squeezes the features to drop 'empty' dimensions, which also drops the batch dimension of a "
              "batch of one.",
        edits={"small_cnn": Replace(old="return self.head(self.features(x).flatten(1))",
                                    new="return self.head(self.features(x).flatten(1).squeeze())")},
        message='expected (1, 3), got (3,)',
        fails=("test_small_cnn_hidden",),
    ),
    Wrong(
        name="cnn_n_classes_ignored",
        story="Hard-codes 10 outputs and ignores n_classes.",
        edits={"small_cnn": Replace(old="self.head = nn.Linear(128, n_classes)",
                                    new="self.head = nn.Linear(128, 10)")},
        message='expected (1, 3), got (1, 10)',
        fails=("test_small_cnn", "test_small_cnn_hidden"),
    ),
    Wrong(
        name="cnn_leaky_relu",
        story="Uses LeakyReLU where the table says ReLU; every shape is right.",
        edits={"small_cnn": [Replace(old="nn.Conv2d(1, 16, kernel_size=3, padding=1), nn.ReLU()",
                                     new="nn.Conv2d(1, 16, kernel_size=3, padding=1), nn.LeakyReLU(0.1)"),
                             Replace(old="nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.ReLU()",
                                     new="nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.LeakyReLU(0.1)")]},
        message='values=[0.3552, 0.04532',
        fails=("test_small_cnn_hidden",),
    ),
    # --- Part 3: images_to_batch --------------------------------------------------------------
    Wrong(
        name="nhwc_not_permuted",
        story="Converts and scales, but leaves the channels last.",
        edits={"images_to_batch": Replace(old=".permute(0, 3, 1, 2)", new="")},
        message='images_to_batch on a (5, 6, 7, 3) array shape: expected (5, 3, 6, 7), got (5, 6, 7, 3)',
        fails=("test_images_to_batch", "test_images_to_batch_hidden"),
    ),
    Wrong(
        name="nhwc_reshaped",
        story="Uses reshape to get the NCHW shape, which scrambles pixels across channels.",
        edits={"images_to_batch": "def images_to_batch(images):\n"
                                  "    n, h, w, c = images.shape\n"
                                  "    return torch.from_numpy(np.ascontiguousarray(images)).reshape(n, c, h, w).float() / 255"},
        message="reshape/view was used to change the layout",
        fails=("test_images_to_batch", "test_images_to_batch_hidden"),
    ),
    Wrong(
        name="nhwc_height_width_swapped",
        story="Permutes with (0, 3, 2, 1), which transposes every image; square digits hide it.",
        edits={"images_to_batch": Replace(old=".permute(0, 3, 1, 2)", new=".permute(0, 3, 2, 1)")},
        message="height and width are swapped",
        fails=("test_images_to_batch_hidden",),
    ),
    Wrong(
        name="nhwc_float64",
        story="Divides the NumPy array by 255.0 first, which makes float64.",
        edits={"images_to_batch": "def images_to_batch(images):\n"
                                  "    return torch.from_numpy(np.ascontiguousarray(images) / 255.0).permute(0, 3, 1, 2)"},
        message='dtype of images_to_batch on a (3, 5, 6, 3) array: expected torch.float32, got torch.float64',
        fails=("test_images_to_batch", "test_images_to_batch_hidden"),
    ),
    Wrong(
        name="nhwc_not_scaled",
        story="Forgets to scale the pixels to [0, 1].",
        edits={"images_to_batch": Replace(old=".float() / 255", new=".float()")},
        message="pixels were not scaled to [0, 1]",
        fails=("test_images_to_batch", "test_images_to_batch_hidden"),
    ),
    Wrong(
        name="nhwc_divide_by_max",
        story="Scales by the largest pixel of the batch instead of 255; images whose largest pixel is 255 hide it.",
        edits={"images_to_batch": "def images_to_batch(images):\n"
                                  "    batch = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()\n"
                                  "    return batch / batch.max()"},
        message="pixels divided by the largest pixel of the batch, not by 255",
        fails=("test_images_to_batch_hidden",),
    ),
    Wrong(
        name="nhwc_negative_strides",
        story="Calls torch.from_numpy on the array as given, which refuses a flipped view (negative strides).",
        edits={"images_to_batch": Replace(old="torch.from_numpy(np.ascontiguousarray(images))",
                                          new="torch.from_numpy(images)")},
        message='images_to_batch(images[..., ::-1]) raised ValueError: At least one stride',
        fails=("test_images_to_batch_hidden",),
    ),
    Wrong(
        name="nhwc_three_channels_assumed",
        story="Stacks channels 0, 1 and 2 by hand, which assumes every image has exactly three channels.",
        edits={"images_to_batch": "def images_to_batch(images):\n"
                                  "    t = torch.from_numpy(np.ascontiguousarray(images)).float() / 255\n"
                                  "    return torch.stack([t[..., 0], t[..., 1], t[..., 2]], dim=1)"},
        message='images_to_batch on a (2, 4, 9, 1) array raised IndexError',
        fails=("test_images_to_batch_hidden",),
    ),
    # --- Part 4: ActivationStats --------------------------------------------------------------
    Wrong(
        name="hooks_never_removed",
        story="remove() forgets the handles, so the hooks keep recording forever.",
        edits={"activation_stats": Replace(old="        for handle in self.handles:\n"
                                               "            handle.remove()\n", new="")},
        message='means recorded for one call before remove() and one after: expected 1, got 2',
        fails=("test_activation_stats", "test_activation_stats_hidden"),
    ),
    Wrong(
        name="hook_records_input",
        story="Records the statistics of the module's input instead of its output.",
        edits={"activation_stats": [
            Replace(old="self.means[name].append(output.detach().mean().item())",
                    new="self.means[name].append(inputs[0].detach().mean().item())"),
            Replace(old="self.stds[name].append(output.detach().std().item())",
                    new="self.stds[name].append(inputs[0].detach().std().item())"),
        ]},
        message="the hook records the module's input, not its output",
        fails=("test_activation_stats", "test_activation_stats_hidden"),
    ),
    Wrong(
        name="hook_keeps_tensors",
        story="Stores the mean and std tensors themselves, keeping every autograd graph alive.",
        edits={"activation_stats": [
            Replace(old="self.means[name].append(output.detach().mean().item())",
                    new="self.means[name].append(output.mean())"),
            Replace(old="self.stds[name].append(output.detach().std().item())",
                    new="self.stds[name].append(output.std())")]},
        message='expected a list of Python floats, got [tensor(',
        fails=("test_activation_stats", "test_activation_stats_hidden"),
    ),
    Wrong(
        name="hook_overwrites",
        story="Assigns the latest statistics instead of appending them, keeping only one call.",
        edits={"activation_stats": [
            Replace(old="self.means[name].append(output.detach().mean().item())",
                    new="self.means[name] = [output.detach().mean().item()]"),
            Replace(old="self.stds[name].append(output.detach().std().item())",
                    new="self.stds[name] = [output.detach().std().item()]"),
        ]},
        message="number of means recorded for 'hidden' after two forward calls: expected 2, got 1",
        fails=("test_activation_stats", "test_activation_stats_hidden"),
    ),
    Wrong(
        name="hooks_kept_after_with_block",
        story="__exit__ does nothing, so hooks stay registered after the with-block.",
        edits={"activation_stats": Replace(old="    def __exit__(self, *exc_info):\n        self.remove()",
                                           new="    def __exit__(self, *exc_info):\n        pass")},
        message='__exit__ does not call remove()',
        fails=("test_activation_stats", "test_activation_stats_hidden"),
    ),
    Wrong(
        name="hook_population_std",
        story="Uses the population standard deviation (unbiased=False) instead of torch's default.",
        edits={"activation_stats": Replace(old="self.stds[name].append(output.detach().std().item())",
                                           new="self.stds[name].append(output.detach().std(unbiased=False).item())")},
        message="the std is the population std",
        fails=("test_activation_stats_hidden",),
    ),
    Wrong(
        name="hook_records_variance",
        story="Records output.var() where the contract asks for the standard deviation.",
        edits={"activation_stats": Replace(old="self.stds[name].append(output.detach().std().item())",
                                           new="self.stds[name].append(output.detach().var().item())")},
        message="the variance was recorded, not the standard deviation",
        fails=("test_activation_stats_hidden",),
    ),
    Wrong(
        name="hook_remove_clears_every_hook",
        story="remove() empties each module's hook dict, which also deletes hooks that other code registered.",
        edits={"activation_stats": [
            Replace(old="        self.handles = [module.register_forward_hook(recorder(name)) for name, module in modules.items()]",
                    new="        self.modules = dict(modules)\n"
                        "        for name, module in modules.items():\n"
                        "            module.register_forward_hook(recorder(name))"),
            Replace(old="        for handle in self.handles:\n            handle.remove()\n        self.handles = []",
                    new="        for module in self.modules.values():\n            module._forward_hooks.clear()")]},
        message='(one before remove(), one after): expected 2, got 1',
        fails=("test_activation_stats_hidden",),
    ),
    Wrong(
        name="hook_exit_swallows_exception",
        story="__exit__ returns True after removing the hooks, which silently swallows any exception in the block.",
        edits={"activation_stats": Replace(old="    def __exit__(self, *exc_info):\n        self.remove()",
                                           new="    def __exit__(self, *exc_info):\n        self.remove()\n"
                                               "        return True")},
        message='did not propagate',
        fails=("test_activation_stats_hidden",),
    ),
    Wrong(
        name="hook_enter_returns_none",
        story="__enter__ registers nothing and returns nothing, so `with ... as stats` binds None.",
        edits={"activation_stats": Replace(old="    def __enter__(self):\n        return self",
                                           new="    def __enter__(self):\n        pass")},
        message='entered must be the recorder itself',
        fails=("test_activation_stats", "test_activation_stats_hidden"),
    ),
    Wrong(
        name="hook_lists_created_lazily",
        story="Creates a name's lists at its first forward call, so a watched module that has not run has no entry.",
        edits={"activation_stats": [
            Replace(old="        self.means = {name: [] for name in modules}\n        self.stds = {name: [] for name in modules}",
                    new="        self.means = {}\n        self.stds = {}"),
            Replace(old="self.means[name].append(output.detach().mean().item())",
                    new="self.means.setdefault(name, []).append(output.detach().mean().item())"),
            Replace(old="self.stds[name].append(output.detach().std().item())",
                    new="self.stds.setdefault(name, []).append(output.detach().std().item())")]},
        message="recorder.means before any forward call: expected {'conv1': [], 'relu': [], 'conv2': [], 'unused': []}, got {}",
        fails=("test_activation_stats_hidden",),
    ),
    Wrong(
        name="hook_remove_twice_fails",
        story="remove() deletes the handle list, so a second call raises AttributeError.",
        edits={"activation_stats": Replace(old="        self.handles = []\n", new="        del self.handles\n")},
        message='recorder.remove() a second time raised AttributeError',
        fails=("test_activation_stats_hidden",),
    ),
    # --- Part 5: count_parameters -------------------------------------------------------------
    Wrong(
        name="count_tensors",
        story="Counts parameter tensors, not the values in them.",
        edits={"count_parameters": Replace(old="sum(p.numel() for p in model.parameters())",
                                           new="len(list(model.parameters()))")},
        message="counted parameter tensors instead of their values",
        fails=("test_count_parameters", "test_count_parameters_hidden"),
    ),
    Wrong(
        name="count_state_dict",
        story="Counts the state_dict, which includes BatchNorm's running statistics.",
        edits={"count_parameters": Replace(old="sum(p.numel() for p in model.parameters())",
                                           new="sum(t.numel() for t in model.state_dict().values())")},
        message="counted the state_dict, which also holds buffers",
        fails=("test_count_parameters_hidden",),
    ),
    Wrong(
        name="count_per_module",
        story="Sums every module's parameters() over model.modules(), counting nested weights repeatedly.",
        edits={"count_parameters": Replace(old="sum(p.numel() for p in model.parameters())",
                                           new="sum(p.numel() for m in model.modules() for p in m.parameters())")},
        message="counted once per enclosing module",
        fails=("test_count_parameters_hidden",),
    ),
    Wrong(
        name="count_shared_twice",
        story="Walks every module's own weights, so a weight shared by two layers is counted twice.",
        edits={"count_parameters": Replace(
            old="sum(p.numel() for p in model.parameters())",
            new="sum(p.numel() for m in model.modules() for p in m.parameters(recurse=False))")},
        message="a weight shared by two layers was counted twice",
        fails=("test_count_parameters_hidden",),
    ),
    Wrong(
        name="count_trainable_only",
        story="Counts only the parameters that require grad, leaving frozen ones out.",
        edits={"count_parameters": Replace(old="sum(p.numel() for p in model.parameters())",
                                           new="sum(p.numel() for p in model.parameters() if p.requires_grad)")},
        message="frozen parameters were left out",
        fails=("test_count_parameters_hidden",),
    ),
    Wrong(
        name="count_numpy_int",
        story="Multiplies each shape with np.prod, so the sum is a numpy.int64, not a Python int.",
        edits={"count_parameters": Replace(old="sum(p.numel() for p in model.parameters())",
                                           new="sum(np.prod(p.shape) for p in model.parameters())")},
        message='got a int64',
        fails=("test_count_parameters", "test_count_parameters_hidden"),
    ),
    Wrong(
        name="count_tensor_result",
        story="Sums the sizes as tensors, so the result is a 0-d tensor, not a Python int.",
        edits={"count_parameters": Replace(old="sum(p.numel() for p in model.parameters())",
                                           new="sum(torch.tensor(p.shape).prod() for p in model.parameters())")},
        message='expected a int, got a Tensor',
        fails=("test_count_parameters", "test_count_parameters_hidden"),
    ),
    Wrong(
        name="count_params_without_grad",
        story="Counts the parameters whose .grad is None, taking them for the trainable ones of a fresh model "
              "(found by the self-check: a fresh model hid it).",
        edits={"count_parameters": Replace(old="sum(p.numel() for p in model.parameters())",
                                           new="sum(p.numel() for p in model.parameters() if p.grad is None)")},
        message="after one backward()): expected 29, got 15",
        fails=("test_count_parameters_hidden",),
    ),
    # --- Other correct ways -------------------------------------------------------------------
    Correct(
        name="scratch_dict_attributes_and_stack",
        story="Registers through self.__dict__ (popping stale names by hand) and walks sub-modules with an "
              "explicit stack, skipping parameters already seen.",
        edits={"scratch_module": [
            Replace(old='        object.__setattr__(self, "_parameters", {})\n'
                        '        object.__setattr__(self, "_modules", {})',
                    new='        self.__dict__["_parameters"] = {}\n'
                        '        self.__dict__["_modules"] = {}'),
            Replace(old="        object.__setattr__(self, name, value)\n",
                    new="        self.__dict__[name] = value\n"),
            Replace(old="        def walk(module, prefix):\n"
                        "            for name, parameter in module._parameters.items():\n"
                        "                yield prefix + name, parameter\n"
                        "            for name, child in module._modules.items():\n"
                        "                yield from walk(child, prefix + name + \".\")\n"
                        "\n"
                        "        seen = set()\n"
                        "        for name, parameter in walk(self, \"\"):\n"
                        "            if id(parameter) not in seen:\n"
                        "                seen.add(id(parameter))\n"
                        "                yield name, parameter",
                    new='        stack, seen = [("", self)], []\n'
                        "        while stack:\n"
                        "            prefix, module = stack.pop()\n"
                        "            for name, parameter in module._parameters.items():\n"
                        "                if not any(parameter is s for s in seen):\n"
                        "                    seen.append(parameter)\n"
                        "                    yield prefix + name, parameter\n"
                        '            stack.extend(reversed([(prefix + n + ".", m) for n, m in module._modules.items()]))'),
        ]},
    ),
    Correct(
        name="scratch_parameter_aliases_input",
        story="Parameter keeps a detached view of its input (sharing memory, leaving the input's flag alone) "
              "and __setattr__ deletes stale names with `del`.",
        edits={"scratch_module": [
            Replace(old="self.data = data.detach().clone().requires_grad_(True)",
                    new="self.data = data.detach()\n        self.data.requires_grad = True"),
            Replace(old="        else:\n            self._parameters.pop(name, None)\n"
                        "            self._modules.pop(name, None)\n",
                    new="        else:\n"
                        "            for registry in (self._parameters, self._modules):\n"
                        "                if name in registry:\n"
                        "                    del registry[name]\n")]},
    ),
    Correct(
        name="cnn_explicit_layers_functional",
        story="Names each layer as an attribute and applies ReLU and pooling with torch.nn.functional.",
        edits={"small_cnn": "class SmallCNN(nn.Module):\n"
                            "    def __init__(self, n_classes=10):\n"
                            "        super().__init__()\n"
                            "        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)\n"
                            "        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)\n"
                            "        self.fc = nn.Linear(32 * 2 * 2, n_classes)\n\n"
                            "    def forward(self, x):\n"
                            "        x = nn.functional.max_pool2d(nn.functional.relu(self.conv1(x)), 2)\n"
                            "        x = nn.functional.max_pool2d(nn.functional.relu(self.conv2(x)), 2)\n"
                            "        return self.fc(x.reshape(x.shape[0], -1))"},
    ),
    Correct(
        name="cnn_modulelist_pool_before_relu",
        story="Defines the head first, keeps the blocks in an nn.ModuleList and pools before the ReLU "
              "(max-pooling commutes with ReLU, so the logits are the same).",
        edits={"small_cnn": "class SmallCNN(nn.Module):\n"
                            "    def __init__(self, n_classes=10):\n"
                            "        super().__init__()\n"
                            "        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(128, n_classes))\n"
                            "        self.blocks = nn.ModuleList(\n"
                            "            nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.MaxPool2d(2), nn.ReLU(inplace=True))\n"
                            "            for c_in, c_out in [(1, 16), (16, 32)]\n"
                            "        )\n\n"
                            "    def forward(self, x):\n"
                            "        for block in self.blocks:\n"
                            "            x = block(x)\n"
                            "        return self.classifier(x)"},
    ),
    Correct(
        name="images_multiply_reciprocal_and_handles_popped",
        story="Copies the array, multiplies by 1/255 (one ulp off /255 for some pixels) and removes hooks by "
              "popping the handle list.",
        edits={
            "images_to_batch": "def images_to_batch(images):\n"
                               "    return torch.as_tensor(images.copy()).movedim(-1, 1).to(torch.float32) * (1 / 255)",
            "activation_stats": Replace(old="        for handle in self.handles:\n"
                                            "            handle.remove()\n"
                                            "        self.handles = []",
                                        new="        while self.handles:\n"
                                            "            self.handles.pop().remove()"),
        },
    ),
    Correct(
        name="count_named_parameters",
        story="Counts through named_parameters() into a dict (a shared weight appears once) and casts to int.",
        edits={"count_parameters": Replace(old="return sum(p.numel() for p in model.parameters())",
                                           new="sizes = {name: p.numel() for name, p in model.named_parameters()}\n"
                                               "    return int(sum(sizes.values()))")},
    ),
    Correct("scratch_pytorch_style_getattr",
            "stores parameters and sub-modules only in the registries (not in __dict__) and finds them in __getattr__, "
            "as torch.nn.Module does; named_parameters recurses with a shared memo set",
            {"scratch_module": '''class Parameter:
    def __init__(self, data):
        self.data = torch.tensor(data.tolist(), dtype=data.dtype, requires_grad=True)


class Module:
    def __init__(self):
        self.__dict__["_parameters"] = {}
        self.__dict__["_modules"] = {}

    def __getattr__(self, name):
        for registry in ("_parameters", "_modules"):
            found = self.__dict__.get(registry, {})
            if name in found:
                return found[name]
        raise AttributeError(name)

    def __setattr__(self, name, value):
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self.__dict__.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        else:
            self.__dict__[name] = value

    def parameters(self):
        return (p for _, p in self.named_parameters())

    def named_parameters(self, prefix="", memo=None):
        memo = set() if memo is None else memo
        for name, p in self._parameters.items():
            if id(p) not in memo:
                memo.add(id(p))
                yield prefix + name, p
        for name, m in self._modules.items():
            yield from m.named_parameters(prefix + name + ".", memo)

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("subclasses define forward")
'''}),
    Correct("numpy_transpose_and_dict_handles",
            "converts with NumPy (transpose, astype float32, / 255), keeps hook handles in a dict, "
            "deduplicates parameters by id when counting",
            {"images_to_batch": '''def images_to_batch(images):
    return torch.from_numpy(np.transpose(images, (0, 3, 1, 2)).astype(np.float32) / 255)
''',
             "count_parameters": '''def count_parameters(model):
    unique = {id(p): p for p in model.parameters()}
    return int(sum(p.numel() for p in unique.values()))
'''}),
]
