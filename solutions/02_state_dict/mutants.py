"""Surviving mutants of assignment 2 that are equivalent under its contract (see grader/mutants.py)."""

_CPU_ONLY = ("survives only where grading runs on the CPU: without a GPU the file holds no CUDA tensors and no CUDA "
             "RNG state, so map_location and the CUDA branch change nothing")
_WEIGHTS_ONLY_DEFAULT = "torch.load's default is weights_only=True since PyTorch 2.6 (the pinned version is later)"
_KAIMING_DEFAULTS = ("kaiming_normal_ defaults to mode='fan_in', accepts the mode in any case, and its default "
                     "nonlinearity leaky_relu with a=0 has the same gain sqrt(2) as relu")

EQUIVALENT = {
    "load_matching@4625ee8eed": "strict=None is falsy: load_state_dict treats it as strict=False",
    "checkpoint@865da65c5b": _CPU_ONLY,
    "checkpoint@f8f228fe0a": _CPU_ONLY,
    "checkpoint@cab0638e7f": _CPU_ONLY,
    "checkpoint@bba21ba3e7": _CPU_ONLY,
    "checkpoint@552a145bd9": _CPU_ONLY,
    "checkpoint@6122fc3b3a": _CPU_ONLY,
    "checkpoint@65167116ff": _WEIGHTS_ONLY_DEFAULT,
    "checkpoint@6c27fb29ce": _WEIGHTS_ONLY_DEFAULT,
    "checkpoint@4c3932707e": _WEIGHTS_ONLY_DEFAULT,
    "init_weights@72cb68bc44": _KAIMING_DEFAULTS,
    "init_weights@b21584098c": _KAIMING_DEFAULTS,
    "init_weights@e7e5656cd0": _KAIMING_DEFAULTS,
    "init_weights@8fcb1c6077": _KAIMING_DEFAULTS,
}
