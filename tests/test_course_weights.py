"""The course's own pretrained weights (courselib.pretrained): committed, intact, offline, torchvision-like."""
import hashlib

import numpy as np
import pytest
import torch
from PIL import Image

import courselib.pretrained as pretrained
from courselib.pretrained import (SOURCE_CLASSES, WEIGHTS_FILE, WEIGHTS_SHA256, CourseNet, CourseNet_Weights,
                                  course_model, source_images, target_images)


def test_committed_file_matches_its_recorded_hash():
    assert WEIGHTS_FILE.exists(), f"{WEIGHTS_FILE} is missing: python -m courselib.pretrained regenerates it"
    assert hashlib.sha256(WEIGHTS_FILE.read_bytes()).hexdigest() == WEIGHTS_SHA256
    assert WEIGHTS_FILE.name == f"coursenet_shapes24-{WEIGHTS_SHA256[:8]}.pt"  # torchvision's naming
    assert WEIGHTS_FILE.stat().st_size <= 2_000_000
    # Saved the way `python -m courselib.pretrained` saves it (no file name inside the archive), so
    # that a regenerated checkpoint with the same tensors has the same bytes and hash.
    state_dict = torch.load(WEIGHTS_FILE, map_location="cpu", weights_only=True)
    assert pretrained.serialise(state_dict) == WEIGHTS_FILE.read_bytes()


def test_weights_load_offline_like_torchvision(monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("the course weights must never be downloaded")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    weights = CourseNet_Weights.DEFAULT
    assert weights is CourseNet_Weights.SHAPES24_V1
    assert CourseNet_Weights.verify("CourseNet_Weights.DEFAULT") is weights
    model = course_model(weights="DEFAULT")
    assert isinstance(model, CourseNet) and model.fc.out_features == len(SOURCE_CLASSES)
    state_dict = weights.get_state_dict()
    assert all(torch.equal(state_dict[k], v) for k, v in model.state_dict().items())
    assert weights.meta["categories"] == list(SOURCE_CLASSES)
    assert weights.meta["num_params"] == sum(p.numel() for p in model.parameters())
    assert weights.meta["sha256"] == WEIGHTS_SHA256
    assert weights.meta["_metrics"]["Shapes24-test"]["acc@1"] > 90
    with pytest.raises(ValueError):
        course_model(weights=weights, num_classes=5)
    assert course_model(weights=None, num_classes=5).fc.out_features == 5


def test_a_corrupt_file_is_refused(monkeypatch):
    monkeypatch.setattr(pretrained, "_sha256", lambda path: "0" * 64)
    with pytest.raises(RuntimeError, match="sha256"):
        CourseNet_Weights.DEFAULT.get_state_dict()


def test_transforms_resize_and_normalise_with_the_source_statistics():
    preprocess = CourseNet_Weights.DEFAULT.transforms()
    grey = Image.fromarray(np.full((48, 40, 3), 128, dtype=np.uint8))
    x = preprocess(grey)
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32
    expected = (128 / 255 - torch.tensor(pretrained.SOURCE_MEAN)) / torch.tensor(pretrained.SOURCE_STD)
    assert torch.allclose(x[:, 16, 16], expected, atol=1e-4)


def test_the_weights_reach_their_recorded_accuracy_on_the_source_task():
    images, labels = source_images("test", per_class=10)  # 240 of the 960 test images
    preprocess = CourseNet_Weights.DEFAULT.transforms()
    model = course_model(weights=CourseNet_Weights.DEFAULT).eval()
    with torch.inference_mode():
        predicted = model(torch.stack([preprocess(im) for im in images])).argmax(1)
    assert (predicted == labels).double().mean().item() >= 0.9


def test_source_and_target_images_are_deterministic_and_disjoint():
    a, la = source_images("train", per_class=2)
    b, lb = source_images("train", per_class=2)
    assert all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b)) and torch.equal(la, lb)
    test, _ = source_images("test", per_class=2)
    assert not any(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, test))
    for task, classes in (("shapes", 5), ("digits", 10)):
        images, labels, names = target_images(task, "train", per_class=3)
        assert len(images) == 3 * classes and labels.tolist() == [c for c in range(classes) for _ in range(3)]
        assert images[0].size == (32, 32) and images[0].mode == "RGB"
        assert not set(names) & {name.split(" ")[1] for name in SOURCE_CLASSES}
