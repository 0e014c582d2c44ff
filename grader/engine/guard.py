"""What the test cells rely on, captured before any student code runs, and put back before each.

A submission's answer cells run in the same process as the tests, so they can replace what the
tests use: a check helper, its code object, ``torch.allclose``, a built-in, a method of
``torch.Tensor`` or ``nn.Module``. The :class:`Guard` keeps the originals. ``restore()`` runs
before and after every test cell: it puts back every replaced or deleted entry, and returns a
description of each one it had to put back (which the engine reports as tampering). Entries
added by student code are left alone: they cannot change what the tests call.
"""
import builtins
import math
import sys
import types

_PROTECTED_MODULES = ("builtins", "math", "json", "grader.checks", "grader.device", "grader.engine.executor",
                      "torch", "torch.nn", "torch.nn.functional", "torch.testing", "numpy", "numpy.testing")


def _protected_namespaces() -> dict[str, dict]:
    """Name -> the live namespace dict to protect (modules, and classes that tests call through)."""
    import torch

    import grader.checks as checks

    spaces = {name: vars(sys.modules[name]) for name in _PROTECTED_MODULES if name in sys.modules}
    for cls in _classes_by_name():
        spaces[f"{cls.__module__}.{cls.__qualname__}"] = cls.__dict__
    return spaces


class Guard:
    def __init__(self):
        self._live = _protected_namespaces()
        self._classes = {f"{cls.__module__}.{cls.__qualname__}": cls for cls in _classes_by_name()}
        self._saved = {name: dict(space) for name, space in self._live.items()}
        # Code objects of the checks' functions and methods (replacing __code__ keeps identity).
        self._code = {}
        for name in ("grader.checks", "grader.engine.executor"):
            for attr, value in self._saved[name].items():
                for function in self._functions_of(value):
                    self._code[function] = function.__code__
        self._modules = {name: sys.modules[name] for name in _PROTECTED_MODULES if name in sys.modules}

    @staticmethod
    def _functions_of(value) -> list:
        if isinstance(value, types.FunctionType):
            return [value]
        if isinstance(value, type) and value.__module__ in ("grader.checks", "grader.engine.executor"):
            return [v for v in vars(value).values() if isinstance(v, types.FunctionType)]
        return []

    def restore(self) -> list[str]:
        """Undo every replacement; describe each one (empty when nothing was touched)."""
        problems = []
        for name, module in self._modules.items():
            if sys.modules.get(name) is not module:
                problems.append(f"sys.modules[{name!r}] was replaced")
                sys.modules[name] = module
        for name, saved in self._saved.items():
            live = self._live[name]
            for key, value in saved.items():
                current = live.get(key, _MISSING)
                if current is not value:
                    problems.append(f"{name}.{key} was {'deleted' if current is _MISSING else 'replaced'}")
                    if isinstance(live, dict):
                        live[key] = value
                    else:  # a class's mappingproxy
                        type.__setattr__(self._classes[name], key, value)
        for function, code in self._code.items():
            if function.__code__ is not code:
                problems.append(f"the code of {function.__module__}.{function.__qualname__} was replaced")
                function.__code__ = code
        return problems


def _classes_by_name():
    import json

    import torch

    import grader.checks as checks
    from grader.engine import executor
    return [torch.Tensor, torch.nn.Module, torch.nn.Parameter, checks.CheckFailed, checks.Clauses,
            checks.PartialCredit, executor.NotebookExecutor, executor._OutputSink, executor._Stream,
            json.JSONEncoder]


class _Missing:
    pass


_MISSING = _Missing()
_ = (builtins, math)  # imported so that they are in sys.modules before the snapshot
