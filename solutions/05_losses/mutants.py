"""Surviving mutants of assignment 5 that are equivalent under the contract (see grader.mutants)."""

_CPU_ONLY = ("survives only where grading runs on the CPU: on a CUDA grader the hidden tests move logits to "
             "the GPU (to_device) and a weight tensor left on the CPU raises a device mismatch")
_FLOAT_PROMOTION = ("a float32 tensor of ones (or alpha) multiplied with float64 values promotes to float64: "
                    "the same numbers")

EQUIVALENT = {
    "logsumexp@9bc1c7195a": "the maximum's gradient cancels exactly (d/dm of m + log Σ exp(x − m) is 0): "
                            "detaching it changes nothing",
    "logsumexp@4f7ba2d76b": "any finite constant in place of an infinite maximum gives the same logsumexp "
                            "(−inf − c = −inf, exp → 0, log 0 + c = −inf; +inf stays +inf)",
    "cross_entropy@c8f0d414be": _FLOAT_PROMOTION,
    "cross_entropy@7d3809b7fd": _FLOAT_PROMOTION,
    "cross_entropy@68ccb9a68d": _CPU_ONLY,
    "cross_entropy@d1deca6cf8": _CPU_ONLY,
    "cross_entropy@f3b8b388ef": _CPU_ONLY,
    "cross_entropy@cc381df6f4": "ignored targets are masked out of the loss and the weights; the placeholder "
                                "index (0 or 1) only has to be a valid class, and every test has C >= 2",
    "focal_loss@087017adf0": "the contract asks for a floating-point alpha buffer; float64 is one",
    "focal_loss@3f29d65eb7": "FocalLoss takes (N, C) logits: log_softmax's implicit dim for a 2-D input is 1",
    "focal_loss@9b66271783": "FocalLoss takes (N, C) logits: log_softmax's implicit dim for a 2-D input is 1",
    "focal_loss@812fc81f78": "FocalLoss takes (N, C) logits: log_softmax's implicit dim for a 2-D input is 1",
    "focal_loss@6865509970": _FLOAT_PROMOTION,
    "focal_loss@7b4accba00": _FLOAT_PROMOTION,
    "robust_losses@e44c55c53e": "at d == delta both branches give delta²/2 and the same gradient: < and <= agree",
    "robust_losses@be517ec786": "at d == beta both branches give beta/2 and the same gradient: < and <= agree",
    "softmax_cross_entropy@fa23ac8617": "advanced indexing accepts CPU index tensors for a tensor on any device",
    "softmax_cross_entropy@76f89f51a4": "advanced indexing accepts CPU index tensors for a tensor on any device",
    "softmax_cross_entropy@7b2797743f": "advanced indexing accepts CPU index tensors for a tensor on any device",
}
