"""Unit 8's benchmark: the from-scratch Learner against a plain loop, and the lecture's reference training.

    python tests/benchmark_learner.py [--epochs N] [--repeats R]

Prints figures and ratios, never asserts on time. The Learner is the **solution's** (Parts 5 and 6 of
``solutions/08_training_loop``, instructor-only, read from the notebook source so there is one copy of it);
the model, data and settings are the lecture's (``courselib.training``). Goal: the Learner's time per
epoch within 1.05x of the plain loop's.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from courselib.seed import seed_everything  # noqa: E402
from courselib.training import REFERENCE, digits_cnn, digits_train_valid_test  # noqa: E402
from grader.notebook_source import parse  # noqa: E402

SOLUTION = ROOT / "solutions" / "08_training_loop" / "08_training_loop.nb.py"


def solution_namespace() -> dict:
    """The solution's setup cell and its Learner and callbacks, executed into one namespace."""
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in parse(SOLUTION.read_text()).cells}
    namespace: dict = {}
    for cell_id in ("setup", "learner", "callbacks"):
        exec(compile(cells[cell_id], f"{SOLUTION.name}:{cell_id}", "exec"), namespace)
    return namespace


def loaders(data, seed=0):
    train = DataLoader(TensorDataset(data.x_train, data.y_train), batch_size=REFERENCE["batch_size"], shuffle=True,
                       generator=torch.Generator().manual_seed(seed))
    valid = DataLoader(TensorDataset(data.x_valid, data.y_valid), batch_size=REFERENCE["batch_size"])
    return train, valid


def plain_epochs(data, epochs):
    seed_everything(0)
    model = digits_cnn()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    train, valid = loaders(data)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for x, y in train:
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()
        model.eval()
        with torch.no_grad():
            for x, y in valid:
                F.cross_entropy(model(x), y)
    return (time.perf_counter() - start) / epochs


def learner_epochs(ns, data, epochs):
    seed_everything(0)
    model = digits_cnn()
    train, valid = loaders(data)
    learn = ns["Learner"](model, train, valid, F.cross_entropy, torch.optim.AdamW(model.parameters(), lr=1e-3))
    start = time.perf_counter()
    learn.fit(epochs)
    return (time.perf_counter() - start) / epochs


def reference_training(ns, data):
    seed_everything(0)
    model = digits_cnn()
    train, valid = loaders(data)
    metrics = ns["MetricsCallback"]({"acc": lambda p, y: (p.argmax(1) == y).float().mean()})
    opt = torch.optim.AdamW(model.parameters(), lr=REFERENCE["max_lr"], weight_decay=REFERENCE["weight_decay"])
    learn = ns["Learner"](model, train, valid, F.cross_entropy, opt,
                          cbs=[metrics, ns["OneCycleCallback"](REFERENCE["max_lr"])])
    start = time.perf_counter()
    learn.fit(REFERENCE["epochs"])
    return time.perf_counter() - start, [row["acc"] for row in metrics.history if row["phase"] == "valid"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    ns = solution_namespace()
    data = digits_train_valid_test()
    plain_epochs(data, 1), learner_epochs(ns, data, 1)  # warm-up
    plain, learner = [], []
    for _ in range(args.repeats):  # interleaved, so that load on the machine hits both alike
        plain.append(plain_epochs(data, args.epochs))
        learner.append(learner_epochs(ns, data, args.epochs))
    p, l = statistics.median(plain), statistics.median(learner)
    print(f"digits CNN, {len(data.y_train)} training + {len(data.y_valid)} validation samples, batch "
          f"{REFERENCE['batch_size']}, one CPU thread, median of {args.repeats} x {args.epochs} epochs")
    print(f"  plain loop          {p * 1000:8.1f} ms per epoch")
    print(f"  Learner (solution)  {l * 1000:8.1f} ms per epoch   ratio {l / p:.3f}x (goal <= 1.05x)")
    seconds, accs = reference_training(ns, data)
    print(f"reference training (lecture 8): {REFERENCE['epochs']} epochs of one-cycle AdamW through the Learner in "
          f"{seconds:.1f} s; validation accuracy per epoch {[round(a, 3) for a in accs]}; best {max(accs):.3f} "
          f"(stated: at least 0.97)")


if __name__ == "__main__":
    main()
