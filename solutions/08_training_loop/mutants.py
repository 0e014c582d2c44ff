"""Surviving mutants of assignment 8 that are equivalent under the contract (see grader.mutants)."""

_CPU_ONLY = ("survives only where grading runs on the CPU: the batches (or the model) are already on the CPU; on a "
             "CUDA grader the hidden tests move the model to the GPU (to_device) and a batch left on the CPU, or a "
             "model left there, raises a device mismatch")
_CUDA_RNG = "the CUDA random state is restored only when CUDA is available: on a CPU grader this line never runs"
_WEIGHTS_ONLY = ("torch.load's weights_only defaults to True since torch 2.6, and the checkpoint fit wrote itself "
                 "(tensors, lists, dicts, numbers) loads the same with weights_only True, False or None")
_LINUX_TEXT = ("on Linux, text mode writes '\\n' as '\\n' (os.linesep) and the default encoding of the grading "
               "sandbox is UTF-8 (the names are ASCII): the same bytes")
_SAVED_NOW = ("torch.save serialises the history when the checkpoint is written; appending to the list later "
              "cannot change the file (and a loaded list is a fresh one)")

EQUIVALENT = {
    **{f"train_one_epoch@{m}": _CPU_ONLY for m in ("addfd5fea1", "d70d9921fe", "bf65ec9a31", "6142633cbc", "e144a5f3ed")},
    **{f"evaluate@{m}": _CPU_ONLY for m in ("1f740df852", "4a8c554fcd", "038e984d56", "adc46dcc3e", "128473f3e6",
                                            "880ebee886")},
    **{f"predict@{m}": _CPU_ONLY for m in ("1f740df852", "e5e774998a", "041ecf2c50", "c1cf2b7fc2")},
    **{f"callbacks@{m}": _CPU_ONLY for m in ("30ee24f633", "f92ff22bd0", "3a2814b874", "4ec2ba3569", "e20c609bdc",
                                             "369e21174b")},
    **{f"fit@{m}": _CUDA_RNG for m in ("e953d9bd93", "07b9d32b47", "78b40e6e50", "825e293313")},
    **{f"fit@{m}": _WEIGHTS_ONLY for m in ("36e87791e0", "e506b1e318", "b7199b57df", "0a8fa5236d", "db1e6e0d61",
                                           "978f0b017e", "468412e332", "6f6ef293ae")},
    "fit@4a08409461": _SAVED_NOW,
    "fit@4fe505161d": _SAVED_NOW,
    "fit@d2e2877eb6": "the contract's evaluate returns Python floats, so float(value) is value",
    **{f"predict@{m}": "DataLoader's shuffle defaults to False; shuffle=None is falsy (no shuffling)"
       for m in ("52c814d8a6", "22885d4e71", "b2a9cb40cb")},
    "predict@46f4352cc1": "classes[j] with j a 0-dim integer tensor indexes like the int (tensor.__index__)",
    **{f"predict@{m}": _LINUX_TEXT for m in ("7393ada186", "425839ce90", "b3c74686f4", "b483afdccc", "0522a30a2b",
                                             "4c115f6269")},
    "predict@bac52d1b9a": "the csv writer writes str() of an int or a str id: the same text",
    "learner@fe97227a1a": "the callbacks given to fit are added and then removed one by one from learn.cbs; whether "
                          "`added` is a copy of cbs or cbs itself changes nothing (cbs is not modified)",
    "callbacks@ecf79ec45c": "the metrics dict is only read; a copy differs only if the caller mutates it during fit",
    "callbacks@75eccc44b1": "MetricsCallback.before_epoch only starts the sums and never reads learn: calling it with "
                            "None or with learn is the same",
    "callbacks@4dd0d1c31f": "the modules list is only read; a copy differs only if the caller mutates it during fit",
}
