"""The model and data of unit 8's reference training (the lecture and ``tests/benchmark_learner.py``).

Nothing here is a graded answer: a digits split with a test part, a small CNN, and the settings
with which the lecture trains it to its stated accuracy on the CPU.
"""
from dataclasses import dataclass

import torch
from torch import nn

from courselib.data import load_digits_split

# The lecture's reference training: AdamW, one-cycle, these settings, seed 0.
REFERENCE = dict(epochs=6, batch_size=64, max_lr=1e-2, weight_decay=1e-2)


@dataclass(frozen=True)
class DigitsTrainValidTest:
    """The course's digits split with its validation half split again: 1438 train, 180 valid, 179 test."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_valid: torch.Tensor
    y_valid: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor  # kept for grading a submission; a real test split would not have it


def digits_train_valid_test() -> DigitsTrainValidTest:
    """The fixed digits split of ``courselib.data``; its 359 validation images become 180 valid + 179 test."""
    d = load_digits_split()
    return DigitsTrainValidTest(d.x_train, d.y_train, d.x_valid[:180], d.y_valid[:180], d.x_valid[180:],
                                d.y_valid[180:])


def digits_cnn(dropout: float = 0.25) -> nn.Sequential:
    """A small CNN for 1x8x8 digits (about 10 k parameters), with BatchNorm and dropout."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1, stride=2), nn.BatchNorm2d(32), nn.ReLU(),   # 32 x 4 x 4
        nn.Flatten(), nn.Dropout(dropout), nn.Linear(32 * 4 * 4, 10))
