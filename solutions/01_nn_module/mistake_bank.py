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
            old='''        for module_name, module in self._modules.items():
            for name, parameter in module.named_parameters():
                yield f"{module_name}.{name}", parameter
''', new="")},
        message="parameters() does not recurse into sub-modules",
        fails=("test_scratch_module", "test_scratch_module_hidden"),
    ),
    Wrong(
        name="scratch_no_prefix",
        story="Recurses, but yields the sub-module's names without the 'lin1.' prefix.",
        edits={"scratch_module": Replace(old='yield f"{module_name}.{name}", parameter',
                                         new="yield name, parameter")},
        message="drops the sub-module prefix",
        fails=("test_scratch_module_hidden",),
    ),
    Wrong(
        name="scratch_registers_every_tensor",
        story="__setattr__ registers any torch.Tensor as a parameter, so constants become parameters.",
        edits={"scratch_module": Replace(old="if isinstance(value, Parameter):",
                                         new="if isinstance(value, (Parameter, torch.Tensor)):")},
        message="only Parameter objects are parameters",
        fails=("test_scratch_module_hidden",),
    ),
    Wrong(
        name="scratch_attribute_not_set",
        story="__setattr__ files values in the registries but never sets the attribute itself.",
        edits={"scratch_module": Replace(
            old='''            self._modules[name] = value
        object.__setattr__(self, name, value)''',
            new='''            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)''')},
        message="__setattr__ must also set the attribute itself",
        fails=("test_scratch_module_hidden",),
    ),
    Wrong(
        name="scratch_parameter_without_grad",
        story="Parameter stores the tensor as given, so it never requires grad and backward() fills nothing.",
        edits={"scratch_module": Replace(old="self.data = data.detach().clone().requires_grad_(True)",
                                         new="self.data = data")},
        message="Parameter.data must be a leaf tensor with requires_grad=True",
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
        message="plain Python list",
        fails=("test_small_cnn", "test_small_cnn_hidden"),
    ),
    Wrong(
        name="cnn_missing_super_init",
        story="Forgets super().__init__(), so the first layer assignment fails.",
        edits={"small_cnn": Replace(old="        super().__init__()\n", new="")},
        message="super().__init__() is not called",
        fails=("test_small_cnn", "test_small_cnn_hidden"),
    ),
    Wrong(
        name="cnn_layers_built_in_forward",
        story="Creates the convolutions inside forward(), so they are new random layers at every call.",
        edits={"small_cnn": "class SmallCNN(nn.Module):\n"
                            "    def __init__(self, n_classes=10):\n"
                            "        super().__init__()\n"
                            "        self.head = nn.Linear(128, n_classes)\n\n"
                            "    def forward(self, x):\n"
                            "        features = nn.Sequential(\n"
                            "            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),\n"
                            "            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))\n"
                            "        return self.head(features(x).flatten(1))"},
        message="layers are created inside forward()",
        fails=("test_small_cnn", "test_small_cnn_hidden"),
    ),
    Wrong(
        name="cnn_hardcoded_batch_size",
        story="Flattens with x.view(64, -1), which only works for batches of 64.",
        edits={"small_cnn": Replace(old="return self.head(self.features(x).flatten(1))",
                                    new="return self.head(self.features(x).view(64, -1))")},
        message="a hard-coded batch size in view/reshape",
        fails=("test_small_cnn",),
    ),
    Wrong(
        name="cnn_flatten_everything",
        story="Uses torch.flatten(x), which also flattens the batch dimension.",
        edits={"small_cnn": Replace(old="return self.head(self.features(x).flatten(1))",
                                    new="return self.head(torch.flatten(self.features(x)))")},
        message="flatten(1), which keeps the batch dimension",
        fails=("test_small_cnn",),
    ),
    Wrong(
        name="cnn_average_pooling",
        story="Uses average pooling where the specification asks for max pooling; every shape is right.",
        edits={"small_cnn": Replace(old="nn.ReLU(), nn.MaxPool2d(2),\n        )",
                                    new="nn.ReLU(), nn.AvgPool2d(2),\n        )")},
        message="check the order conv → ReLU → max-pool",
        fails=("test_small_cnn_hidden",),
    ),
    # --- Part 3: images_to_batch --------------------------------------------------------------
    Wrong(
        name="nhwc_not_permuted",
        story="Converts and scales, but leaves the channels last.",
        edits={"images_to_batch": Replace(old=".permute(0, 3, 1, 2)", new="")},
        message="was not permuted to NCHW",
        fails=("test_images_to_batch", "test_images_to_batch_hidden"),
    ),
    Wrong(
        name="nhwc_reshaped",
        story="Uses reshape to get the NCHW shape, which scrambles pixels across channels.",
        edits={"images_to_batch": "def images_to_batch(images):\n"
                                  "    n, h, w, c = images.shape\n"
                                  "    return torch.from_numpy(images).reshape(n, c, h, w).float() / 255"},
        message="reshape/view was used to change the layout",
        fails=("test_images_to_batch_hidden",),
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
                                  "    return torch.from_numpy(images / 255.0).permute(0, 3, 1, 2)"},
        message="NumPy's images / 255.0 gives float64",
        fails=("test_images_to_batch", "test_images_to_batch_hidden"),
    ),
    Wrong(
        name="nhwc_not_scaled",
        story="Forgets to scale the pixels to [0, 1].",
        edits={"images_to_batch": Replace(old=".float() / 255", new=".float()")},
        message="pixels were not scaled to [0, 1]",
        fails=("test_images_to_batch_hidden",),
    ),
    # --- Part 4: ActivationStats --------------------------------------------------------------
    Wrong(
        name="hooks_never_removed",
        story="remove() forgets the handles, so the hooks keep recording forever.",
        edits={"activation_stats": Replace(old="        for handle in self.handles:\n"
                                               "            handle.remove()\n", new="")},
        message="hooks were never removed",
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
        story="Stores the mean tensors themselves, keeping every autograd graph alive.",
        edits={"activation_stats": Replace(old="self.means[name].append(output.detach().mean().item())",
                                           new="self.means[name].append(output.mean())")},
        message="store output.mean().item(), a float, not the tensor",
        fails=("test_activation_stats",),
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
        message="overwrites the previous statistics instead of appending",
        fails=("test_activation_stats", "test_activation_stats_hidden"),
    ),
    Wrong(
        name="hooks_kept_after_with_block",
        story="__exit__ does nothing, so hooks stay registered after the with-block.",
        edits={"activation_stats": Replace(old="    def __exit__(self, *exc_info):\n        self.remove()",
                                           new="    def __exit__(self, *exc_info):\n        pass")},
        message="hooks were never removed",
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
        message="a shared parameter counts once",
        fails=("test_count_parameters_hidden",),
    ),
    # --- Other correct ways -------------------------------------------------------------------
    Correct(
        name="scratch_iterative_and_dict_attributes",
        story="Registers through self.__dict__ and walks sub-modules with an explicit stack.",
        edits={"scratch_module": [
            Replace(old='        object.__setattr__(self, "_parameters", {})\n'
                        '        object.__setattr__(self, "_modules", {})',
                    new='        self.__dict__["_parameters"] = {}\n'
                        '        self.__dict__["_modules"] = {}'),
            Replace(old="        object.__setattr__(self, name, value)\n",
                    new="        self.__dict__[name] = value\n"),
            Replace(old="        yield from self._parameters.items()\n"
                        "        for module_name, module in self._modules.items():\n"
                        "            for name, parameter in module.named_parameters():\n"
                        '                yield f"{module_name}.{name}", parameter',
                    new='        stack = [("", self)]\n'
                        "        while stack:\n"
                        "            prefix, module = stack.pop()\n"
                        "            for name, parameter in module._parameters.items():\n"
                        "                yield prefix + name, parameter\n"
                        '            stack.extend(reversed([(prefix + n + ".", m) for n, m in module._modules.items()]))'),
        ]},
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
        name="cnn_modulelist_head_first",
        story="Defines the head before the convolutions and keeps the blocks in an nn.ModuleList.",
        edits={"small_cnn": "class SmallCNN(nn.Module):\n"
                            "    def __init__(self, n_classes=10):\n"
                            "        super().__init__()\n"
                            "        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(128, n_classes))\n"
                            "        self.blocks = nn.ModuleList(\n"
                            "            nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))\n"
                            "            for c_in, c_out in [(1, 16), (16, 32)]\n"
                            "        )\n\n"
                            "    def forward(self, x):\n"
                            "        for block in self.blocks:\n"
                            "            x = block(x)\n"
                            "        return self.classifier(x)"},
    ),
    Correct(
        name="images_movedim_and_handles_popped",
        story="Uses movedim and torch.as_tensor, and removes hooks by popping the handle list.",
        edits={
            "images_to_batch": "def images_to_batch(images):\n"
                               "    return torch.as_tensor(images).movedim(-1, 1).to(torch.float32).div(255.0)",
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
]
