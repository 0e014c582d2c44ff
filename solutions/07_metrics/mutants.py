"""Surviving mutants of assignment 7 that are equivalent under the contract (see grader.mutants)."""

_CPU_ONLY = ("survives only where grading runs on the CPU: on a CUDA grader the hidden tests pass inputs on the GPU "
             "(to_device) and a tensor left on the CPU raises a device mismatch or comes back on the wrong device")
_GUARDED = ("the value at a zero denominator is replaced by the outer torch.where, so what the inner guard divides "
            "by there (0 or 1) never reaches the result")
_EXACT_COUNTS = ("the counts stay exact integers in this dtype (far beyond any test's sample count) and are cast "
                 "to float64 before any division: the same numbers")
_SAME_GROUPS = ("float32 to float64 is exact and keeps the order: torch.unique finds the same tie groups in the same "
                "order, and only the groups' order and sizes (never the score values) reach the result")
_FULL_BINCOUNT = ("inverse takes every value in [0, groups) (each distinct score is some sample's), so bincount "
                  "returns `groups` counts without minlength")

EQUIVALENT = {
    "confusion_matrix@e5556c0dae": "bincount returns a contiguous tensor: view and reshape agree",
    "precision_recall_f1@5d905ad485": _GUARDED,
    "precision_recall_f1@327daabfdc": "a denominator of 1 replaced by 1 is the same number",
    "precision_recall_f1@70cd92a891": _GUARDED,
    "precision_recall_f1@9eb73e5d91": "zero_division is a float (0.0 or 1.0) by contract: float() changes nothing",
    "ranking@c66bc39c97": _CPU_ONLY,
    "ranking@8c31cb14f7": _CPU_ONLY,
    "ranking@1506876a4a": "relevance is (Q, D): sort's default dim (-1) is dim 1",
    "ranking@cec152f1c6": ("a float32 relevance times the float64 discount promotes to float64 with the same values: "
                           "the ideal DCG is the same number"),
    "ranking@eba28f7edf": "scaling every discount by 2 scales DCG and IDCG alike: the ratio is unchanged",
    "ranking@7b2042a9c3": _CPU_ONLY,
    "ranking@d3554c0362": _CPU_ONLY,
    "ranking@91aff15f07": "where the ideal DCG is 0 the DCG is 0 too, and 0 / 1 is the 0 the other branch gives",
    "ranking@52828d3732": _GUARDED,
    "ranking@019aed3c16": _GUARDED,
    "ranking@ec1f0c22e6": ("boolean hits: cumsum counts them as integers and the divisions promote to float64 "
                           "(ranks are float64): the same numbers"),
    "ranking@284055e0dd": _CPU_ONLY,
    "ranking@fdc27a108f": _CPU_ONLY,
    "ranking@ac38343e67": "hits are float64, so P@i = cumsum / ranks is float64 whatever the ranks' dtype: same values",
    "ranking@8e0c2d6f3d": "hits are float64, so P@i = cumsum / ranks is float64 whatever the ranks' dtype: same values",
    "ranking@e37830f04d": "hits are float64, so P@i = cumsum / ranks is float64 whatever the ranks' dtype: same values",
    "ranking@c5eb46ee6c": "ranks up to D are exact in float32 and hits are float64: P@i is the same float64 value",
    "ranking@2fa24c3d64": "with no relevant document the sum of hits is 0 and 0 / 1 is the 0 the other branch gives",
    "streaming@01b32a21de": _CPU_ONLY,
    "streaming@4b05c045f1": _EXACT_COUNTS,
    "streaming@0e4de96fe1": _CPU_ONLY,
    "streaming@f462f0785f": _EXACT_COUNTS,
    "streaming@9e8dae75bb": _CPU_ONLY,
    "streaming@1b3b53ed39": _CPU_ONLY,
    "streaming@1e0969b344": _EXACT_COUNTS,
    "streaming@3edf7dbcc9": _CPU_ONLY,
    "streaming@94a06eaeb7": _CPU_ONLY,
    "streaming@983a50a0fc": _CPU_ONLY,
    "streaming@6623e4d3a2": "a denominator of 0 means TP = 0, so 2·TP / 1 is the 0 the other branch gives",
    "streaming@6c650000a2": "a denominator of 1 means TP = 0 (2·TP ≤ 1): both branches give 0",
    "streaming@c21e50971a": "a denominator of 1 means TP = 0, so dividing 0 by 2 instead of 1 still gives 0",
    "ranking_auc@1fd2a27cb9": _SAME_GROUPS,
    "ranking_auc@5ddb218d40": _SAME_GROUPS,
    "ranking_auc@1f6595b526": _SAME_GROUPS,
    "ranking_auc@bb6b0d1ece": ("an int64 cumulative count minus a float64 promotes to float64, exactly (counts below "
                               "2**53): the same ranks"),
    "ranking_auc@c117481682": ("(counts - 1) / 2 of int64 counts is float32, exact for every tie group of fewer than "
                               "2**24 + 2 samples; telling it apart needs ~17 M samples tied to one score "
                               "(gigabytes and tens of seconds per run of the cell), beyond any test's size"),
    "ranking_auc@c5565d9e4d": "a 0-dim integer tensor given as a size is read through __index__: the same integer",
    "ranking_auc@3910cab10f": _CPU_ONLY,
    "ranking_auc@e2cfa42437": _CPU_ONLY,
    "ranking_auc@d19b8fe541": _CPU_ONLY,
    "ranking_auc@d3842b1ed2": ("the float64 cumulative positives divided by the int64 cumulative counts promote to "
                               "float64, and the counts are exact: the same precisions"),
    "ranking_auc@db2fa3f6a9": _FULL_BINCOUNT,
    "ranking_auc@55f09199ee": _FULL_BINCOUNT,
}
