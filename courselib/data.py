"""Offline datasets shared by the units. Nothing here downloads.

``load_digits_split`` wraps scikit-learn's bundled 8x8 handwritten digits (1,797 images that
ship inside the scikit-learn wheel) as tensors, with one fixed train/validation split so that
every unit, lecture and grader sees the same samples.
"""
from dataclasses import dataclass

import torch
from sklearn.datasets import load_digits

DIGITS_SPLIT_SEED = 0
DIGITS_VALID_FRACTION = 0.2


@dataclass(frozen=True)
class DigitsSplit:
    """Digits as NCHW float images in [0, 1] and int64 labels, split once and for all."""

    x_train: torch.Tensor  # (1437, 1, 8, 8) float32
    y_train: torch.Tensor  # (1437,) int64
    x_valid: torch.Tensor  # (360, 1, 8, 8) float32
    y_valid: torch.Tensor  # (360,) int64
    classes: tuple

    def train_dataset(self) -> torch.utils.data.TensorDataset:
        return torch.utils.data.TensorDataset(self.x_train, self.y_train)

    def valid_dataset(self) -> torch.utils.data.TensorDataset:
        return torch.utils.data.TensorDataset(self.x_valid, self.y_valid)


def load_digits_split() -> DigitsSplit:
    """Return scikit-learn's digits with the course's fixed train/validation split.

    Pixel values in the raw data are integers 0..16; they are scaled to [0, 1].
    The split is a seeded permutation, so it is identical on every machine.
    """
    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.tensor(digits.target, dtype=torch.int64)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(DIGITS_SPLIT_SEED))
    n_valid = round(len(labels) * DIGITS_VALID_FRACTION)
    valid, train = order[:n_valid], order[n_valid:]
    return DigitsSplit(
        x_train=images[train],
        y_train=labels[train],
        x_valid=images[valid],
        y_valid=labels[valid],
        classes=tuple(range(10)),
    )


def digits_nhwc_uint8(n: int = 16) -> "numpy.ndarray":
    """The first ``n`` digits as an (n, 8, 8, 3) uint8 array: channels-last, as image libraries store them.

    Unit 1 uses it to show why a Conv2d needs NCHW input.
    """
    import numpy as np

    gray = (load_digits().images[:n] * (255 / 16)).round().astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=-1)
