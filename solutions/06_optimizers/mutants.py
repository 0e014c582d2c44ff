"""Surviving mutants of assignment 6 that are equivalent under the contract (see grader.mutants)."""

_FLOAT_LR = ("every test builds its optimizer groups with float learning rates (torch keeps them as given): "
             "float() of a float is the same float")

EQUIVALENT = {
    "sgd@6102e3f272": "with weight_decay == 0 the mutant adds 0 * p to the gradient: the same numbers",
    "sgd@51685edf8e": "step() runs under torch.no_grad(), so clone() already gives a tensor without history: "
                      "detach() changes nothing",
    "adamw@f991f9ffd9": "float() only changes the type of the count: a count kept as torch's 0-dim float32 tensor "
                        "gives bias corrections within 1e-7 relative of the float ones, inside the float32 "
                        "tolerance of the resumed run (and exact in float64)",
    "schedules@009a95a7e0": "at t == e both phases give max_lr (the first at pct = 1, the second at pct = 0): "
                            "< and <= agree",
    "plateau@ddc2e8310b": "the contract says nothing about the caller changing its min_lr list afterwards; "
                          "the values read are the same",
    "plateau@06b912d7b2": _FLOAT_LR,
    "plateau@0fe964dfb2": _FLOAT_LR,
    "plateau@f23a11b057": _FLOAT_LR,
}
