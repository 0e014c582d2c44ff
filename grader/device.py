"""The device tests grade on: the GPU when the runtime has one, else the CPU.

Hidden tests move models and inputs with :func:`to_device` so one test runs on both, and
the assignment's first cell prints :func:`describe_device`, which feedback then shows.
"""
import torch


def grading_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def to_device(*objects):
    """Move tensors/modules to the grading device; returns one object or a tuple."""
    device = grading_device()
    moved = tuple(obj.to(device) for obj in objects)
    return moved[0] if len(moved) == 1 else moved


def describe_device() -> str:
    device = grading_device()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    return f"Graded on: {device.type} ({name}), torch {torch.__version__}"
