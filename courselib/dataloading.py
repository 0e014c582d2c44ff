"""Helpers for unit 3 (Dataset and DataLoader): timing loaders and checking batches.

Nothing here is a graded answer: the assignment's tests use ``call_with_timeout`` (a
student's worker pool that hangs must cost one test, not the whole notebook) and
``check_same_batch`` (a batch compared field by field with what PyTorch's DataLoader gives);
the lecture uses ``batches_per_second``.
"""
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from grader.checks import CheckFailed, check_close, check_equal, check_type, fail


def call_with_timeout(fn: Callable[[], Any], seconds: float, what: str, hint: str | None = None) -> Any:
    """``fn()``, or a failed check if it has not returned after ``seconds``.

    ``fn`` runs in a daemon thread, so a call that never returns (a worker pool waiting for
    results that will never come) is abandoned instead of blocking the rest of the tests.
    An exception raised by ``fn`` is raised again here.
    """
    outcome: dict[str, Any] = {}

    def target():
        try:
            outcome["value"] = fn()
        except BaseException as error:  # handed to the caller below
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        fail(f"{what}: no result after {seconds:g} s (it seems to hang).", hint)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def check_same_batch(got: Any, expected: Any, what: str, mistakes=None) -> None:
    """``got`` has the structure, types, shapes, dtypes and values of ``expected``.

    Sequences may be lists or tuples on either side (PyTorch itself returns either,
    depending on the type of the samples); tensors must match in dtype and exactly in value.
    """
    if isinstance(expected, torch.Tensor):
        check_close(got, expected, what, atol=0, rtol=0, mistakes=mistakes)
    elif isinstance(expected, Mapping):
        check_type(got, Mapping, what)
        check_equal(sorted(got), sorted(expected), f"keys of {what}")
        for key in expected:
            check_same_batch(got[key], expected[key], f"{what}[{key!r}]", mistakes)
    elif isinstance(expected, Sequence) and not isinstance(expected, str):
        check_type(got, (list, tuple), what)
        check_equal(len(got), len(expected), f"length of {what}")
        for i, (g, e) in enumerate(zip(got, expected)):
            check_same_batch(g, e, f"{what}[{i}]", mistakes)
    else:
        check_equal(got, expected, what, mistakes)


OUT_OF_ORDER = ("batches yielded in the order the workers finish them: yield them in the order of the "
                "batch sampler (hold a batch that arrives early until its turn)")


def _batch_key(batch: Any):
    if isinstance(batch, torch.Tensor):
        t = batch.detach().cpu().contiguous()
        return ("tensor", str(t.dtype), tuple(t.shape), t.numpy().tobytes())
    if isinstance(batch, Mapping):
        return ("dict", tuple(sorted((repr(k), _batch_key(v)) for k, v in batch.items())))
    if isinstance(batch, Sequence) and not isinstance(batch, str):
        return ("seq", tuple(_batch_key(x) for x in batch))
    return ("value", repr(batch))


def check_same_batches(got: list, expected: list, what: str) -> None:
    """The batches a loader yielded equal ``expected``, in order (see :func:`check_same_batch`).

    When they are the right batches in the wrong order, the message says so.
    """
    check_equal(len(got), len(expected), f"number of {what}")
    try:
        check_same_batch(got, expected, what)
    except CheckFailed as failure:
        try:
            reordered = sorted(map(_batch_key, got)) == sorted(map(_batch_key, expected))
        except Exception:  # a batch that cannot be keyed cannot be a reordering
            reordered = False
        if reordered and "Likely mistake" not in str(failure):
            raise CheckFailed(f"{failure}\nLikely mistake: {OUT_OF_ORDER}") from None
        raise


def batches_per_second(loader, max_batches: int | None = None) -> float:
    """How many batches ``loader`` delivers per second over one pass (or ``max_batches``)."""
    start = time.perf_counter()
    count = 0
    for count, _ in enumerate(loader, start=1):
        if max_batches is not None and count >= max_batches:
            break
    return count / (time.perf_counter() - start)
