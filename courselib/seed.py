"""One call that makes a notebook's numbers repeatable."""
import random

import numpy as np
import torch


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch, force deterministic kernels, return a seeded generator.

    Lectures call this first so that their stored outputs (checked by nbval) reproduce.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return torch.Generator().manual_seed(seed)
