"""Surviving mutants of assignment 4 that are equivalent under the contract (see grader.mutants)."""

_CPU_ONLY = ("survives only where grading runs on the CPU, the only device there: on a CUDA grader the hidden "
             "tests put the model (or the features, or the loader's batches) on the GPU and check the device, "
             "or the forward pass raises a device mismatch")
_HEAD_EXISTS = ("the contract guarantees that the model has an nn.Linear below itself, so find_head always finds "
                "one: what happens without one is unspecified")
_HOOK_ARGUMENTS = "keep_backbone_in_eval ignores its arguments (a forward pre-hook's module and args)"
_FIRST_EVAL = ("the forward pre-hook puts the backbone in eval mode before every forward pass of model; the contract "
               "asks for training == False whenever such a module runs, not between calls")
_NORM_CHILDREN = ("differs only for a normalisation layer that holds sub-modules with parameters: none of "
                  "NORM_LAYERS in torch or torchvision does, and a normalisation layer's parameters are its own")
_CAT_COPIES = ("torch.cat outside inference_mode already returns a new ordinary tensor (not an inference tensor, "
               "sharing no storage): the clone is redundant")
_PROBE_FREE = ("the probe still meets the stated target (90 % test accuracy within 10 s); the contract leaves the "
               "optimizer, learning rate and schedule free")

EQUIVALENT = {
    "replace_head@79f59a4c39": _HEAD_EXISTS,
    "replace_head@ad870e9139": _HEAD_EXISTS,
    "replace_head@e5a1cf0f09": _HEAD_EXISTS,
    "freeze_backbone@9a7cfe7df6": _FIRST_EVAL,
    "freeze_backbone@2ea7f505e6": _HOOK_ARGUMENTS,
    "freeze_backbone@0f9928e904": _HOOK_ARGUMENTS,
    "parameter_groups@8b5f580227": "recurse=None is falsy: Module.parameters treats it as recurse=False",
    "parameter_groups@4bc37ee6fb": _NORM_CHILDREN,
    "parameter_groups@def444b6f5": _NORM_CHILDREN,
    "extract_features@1f740df852": _CPU_ONLY,
    "extract_features@dc78ba6934": _CPU_ONLY,
    "extract_features@d9862600b6": _CPU_ONLY,
    "extract_features@f1357e7ca8": _CPU_ONLY,
    "extract_features@319210e3c3": _CPU_ONLY,
    "extract_features@8fc4558505": _CAT_COPIES,
    "extract_features@3517bfa667": _CAT_COPIES + " (and .to(torch.int64) of int64 labels returns that tensor)",
    "train_probe@6cb3e8364b": _CPU_ONLY,
    "train_probe@d7f3c831e6": _CPU_ONLY,
    "train_probe@5c45a1c40a": _PROBE_FREE + " (Adam's default lr 0.001)",
    "train_probe@ebd3fb7a36": _PROBE_FREE + " (Adam's default lr 0.001)",
    "train_probe@cb66e52766": _PROBE_FREE + " (lr 1.01)",
    "train_probe@8034c6fe6d": _PROBE_FREE + " (101 steps instead of 100)",
    "train_probe@65f823f7f6": _PROBE_FREE + " (without zero_grad the Adam steps follow accumulated gradients)",
    "predict@4751077e73": _CPU_ONLY,
    "predict@97ff246d6b": _CPU_ONLY,
    "predict@7aa351002f": "list indexing with a 0-d integer tensor goes through __index__: the same category names",
}
