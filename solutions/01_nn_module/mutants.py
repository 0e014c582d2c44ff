"""Surviving mutants of assignment 1 that are equivalent under its contract (see grader/mutants.py)."""

EQUIVALENT = {
    "scratch_module@017c173bde": "Parameter may share memory with its input (the contract accepts both): "
                                 "detach() without clone() is allowed",
    "images_to_batch@a11cf5d516": "a uint8 tensor divided by 255 is already float32 in torch: .float() changes nothing",
    "activation_stats@0fe51f7430": ".item() gives the same float with or without detach()",
    "activation_stats@202dbce8e4": ".item() gives the same float with or without detach()",
    "activation_stats@252dbd50da": "removing a RemovableHandle twice is a no-op, so forgetting to empty the list "
                                   "keeps a second remove() harmless",
}
