"""Surviving mutants of assignment 3 that are equivalent under its contract (see grader/mutants.py)."""

_INT64_DEFAULT = "torch.tensor of Python ints is int64 by default: dtype=torch.int64 changes nothing"
_WORKER_DEATH = ("only matters when a worker process dies without reporting (killed from outside), which the "
                 "contract does not cover: the batches, their order and the stopping are the same")
_STOPPING = "the workers are still stopped (joined or terminated) when the iteration ends: only the time it takes differs"
_DISTINCT_ITERATIONS = "any numbering that gives each iteration a new number tells abandoned results apart as well"

EQUIVALENT = {
    "image_folder_dataset@26c581c9a8": "a uint8 tensor divided by 255 is already float32 in torch",
    "channel_stats@250a2f1601": "true division of the pixel count gives the same float64 mean and std",
    "channel_stats@1039c10c74": "the statistics do not depend on the DataLoader's batch size",
    "channel_stats@af7a6b3911": "the statistics do not depend on the DataLoader's batch size",
    "pad_collate@803bce8791": _INT64_DEFAULT,
    "pad_collate@4dd88f8a2c": _INT64_DEFAULT,
    "pad_collate@2fa52fc3c0": _INT64_DEFAULT,
    "pad_collate@1de731a488": _INT64_DEFAULT,
    "pad_collate@52d55e513c": _INT64_DEFAULT,
    "pad_collate@7ff229e031": _INT64_DEFAULT,
    "pad_collate@7f079e763a": "new_full accepts a 0-d int64 tensor as a size",
    "sample_weights@8da21af8cc": "any positive multiple of the weights is accepted: only their ratios matter",
    "sample_weights@bfc1ad7bda": "float32 weights are floating-point weights too",
    "sharded_stream@7092b598f7": "the records are only read, never modified: a copy is not needed",
    "sharded_stream@bee45ca0fd": "worker 0 takes every record and the others none: still each record exactly once, "
                                 "which is all the contract asks (it does not ask for balanced shards)",
    "collate@dd060431f8": "bool is a subclass of int: the int branch gives the same int64 tensor",
    "collate@1e57592ade": _INT64_DEFAULT,
    "collate@fd1b268e5b": _INT64_DEFAULT,
    "collate@c616d52eb9": _INT64_DEFAULT,
    "collate@68713b9078": "the batch is already a list of the strings",
    "collate@741efed3f0": "collate of a tuple of fields equals collate of the same fields as a list "
                          "(torch.stack and torch.tensor take either; strings may come back as a tuple, "
                          "which the tests accept, as PyTorch returns either)",
    "collate@0a3e2ff85d": "collate of a tuple of fields equals collate of the same fields as a list (see above)",
    "collate@15e05e83a4": "the contract does not say what happens to samples of another type",
    "mini_dataloader@b6c90d7a30": "cancel_join_thread only shortens a worker's exit; it changes no batch",
    "mini_dataloader@f0597f653c": "a worker that keeps waiting after the stop signal is terminated by close(): "
                                  + _STOPPING,
    "mini_dataloader@b27bcef930": "the RuntimeError still includes the original message",
    "mini_dataloader@75e150eac2": _DISTINCT_ITERATIONS,
    "mini_dataloader@71e99db196": _DISTINCT_ITERATIONS,
    "mini_dataloader@aae84d05da": _DISTINCT_ITERATIONS,
    "mini_dataloader@0b4b05e00d": _STOPPING,
    "mini_dataloader@f171ef6771": _STOPPING,
    "mini_dataloader@36e04b7d88": _STOPPING,
    "mini_dataloader@d0662efe38": _STOPPING,
    "mini_dataloader@5f1ed415ab": _STOPPING,
    "mini_dataloader@6f4871af4d": _STOPPING,
    "mini_dataloader@3c1c3f3eeb": "the default start method on Linux is fork",
    "mini_dataloader@0c48ad96a1": "daemon only matters when the main process exits with workers alive; close() "
                                  "stops them first",
    "mini_dataloader@76d19d22d3": "daemon only matters when the main process exits with workers alive; close() "
                                  "stops them first",
    "mini_dataloader@1c1827259d": "daemon only matters when the main process exits with workers alive; close() "
                                  "stops them first",
    "mini_dataloader@bedbd61078": "the batch sampler already yields lists",
    "mini_dataloader@71d4858c3e": _WORKER_DEATH,
    "mini_dataloader@dba970adfe": _WORKER_DEATH,
    "mini_dataloader@9392c21846": _WORKER_DEATH,
    "mini_dataloader@ce4ce669e9": _WORKER_DEATH,
    "mini_dataloader@7b1991e4c1": "falling through to the loop's next turn is what continue does here",
}
