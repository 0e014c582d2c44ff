"""grader.device: hidden tests written once run the same on the CPU and on a CUDA grader."""
import torch

from grader import device


def test_a_leaf_that_requires_grad_stays_a_leaf_on_another_device():
    # The meta device stands in for CUDA: any other device makes `.to` copy the tensor.
    x = torch.randn(3, requires_grad=True)
    moved = device._move(x, torch.device("meta"))
    assert moved.device.type == "meta"
    assert moved.is_leaf and moved.requires_grad


def test_moving_to_the_same_device_returns_the_object_itself():
    x = torch.randn(3, requires_grad=True)
    assert device._move(x, torch.device("cpu")) is x
    module = torch.nn.Linear(2, 2)
    assert device.to_device(module) is module


def test_grading_disables_tf32_and_nondeterministic_cudnn():
    assert not torch.backends.cudnn.allow_tf32
    assert not torch.backends.cuda.matmul.allow_tf32
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark


def test_no_address_space_rlimit_where_a_gpu_is_visible():
    # A CUDA context reserves more virtual address space than any sensible RLIMIT_AS: on an H200
    # every allocation under the 16 GiB limit failed with "CUDA error: out of memory".
    from grader.engine.sandbox import Limits, address_space_limit, describe

    limits = Limits()
    assert address_space_limit(limits, gpu_visible=False) == limits.address_space_bytes
    assert address_space_limit(limits, gpu_visible=True) is None
    assert "no memory bound" in describe(True, cgroup_active=False, gpu_visible=True)
    assert "no memory bound" not in describe(True, cgroup_active=True, gpu_visible=True)
