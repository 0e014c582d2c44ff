"""The device tests grade on: the GPU when the runtime has one, else the CPU.

Hidden tests move models and inputs with :func:`to_device` so one test runs on both, and
the assignment's first cell prints :func:`describe_device`, which feedback then shows.
"""
import torch


# The same submission gets the same result on every device: on CUDA, convolutions would otherwise
# run in TF32 (about 3 significant digits, torch's default for cuDNN) and cuDNN may pick a
# nondeterministic algorithm, so a correct answer could miss a tolerance the CPU meets.
torch.backends.cudnn.allow_tf32 = False
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.deterministic = True
torch.backends.cudnn.benchmark = False


def grading_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def _move(obj, device: torch.device):
    # A leaf tensor that requires grad stays a leaf on the new device: `x.to("cuda")` would return
    # a non-leaf copy whose .grad backward() never fills, unlike on the CPU, where .to returns x.
    if isinstance(obj, torch.Tensor) and obj.is_leaf and obj.requires_grad and obj.device != device:
        return obj.detach().to(device).requires_grad_()
    return obj.to(device)


def to_device(*objects):
    """Move tensors/modules to the grading device; returns one object or a tuple.

    Modules move in place (as ``Module.to`` does); a tensor that requires grad comes back as a
    leaf on the grading device, so its ``.grad`` is filled by ``backward()`` there too.
    """
    device = grading_device()
    moved = tuple(_move(obj, device) for obj in objects)
    return moved[0] if len(moved) == 1 else moved


def describe_device() -> str:
    device = grading_device()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    return f"Graded on: {device.type} ({name}), torch {torch.__version__}"
