"""Unit 8's benchmark: the from-scratch Learner against a plain loop, and the lecture's reference training.

    python tests/benchmark_learner.py [--epochs N] [--repeats R] [--profile] [--skip-reference]

Prints figures and ratios, never asserts on time. The Learner is the **solution's** (Parts 5 and 6 of
``solutions/08_training_loop``, instructor-only, read from the notebook source so there is one copy of it);
the model, data and settings are the lecture's (``courselib.training``). The plain loop does the same work as
the Learner (the same data, step and ``no_grad`` validation; with metrics, the same per-batch ``.item()``
and ``float`` calls as ``MetricsCallback``); the runs are interleaved, their order alternating, and the
figures are medians. Goal: the Learner's time per epoch within 1.05x of the plain loop's.
"""
import argparse
import os
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


def solution_namespace(source: Path = SOLUTION) -> dict:
    """The solution's setup cell and its Learner and callbacks, executed into one namespace."""
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in parse(source.read_text()).cells}
    namespace: dict = {}
    for cell_id in ("setup", "learner", "callbacks"):
        exec(compile(cells[cell_id], f"{source.name}:{cell_id}", "exec"), namespace)
    return namespace


def loaders(data, seed=0):
    train = DataLoader(TensorDataset(data.x_train, data.y_train), batch_size=REFERENCE["batch_size"], shuffle=True,
                       generator=torch.Generator().manual_seed(seed))
    valid = DataLoader(TensorDataset(data.x_valid, data.y_valid), batch_size=REFERENCE["batch_size"])
    return train, valid


def accuracy(preds, y):
    return (preds.argmax(1) == y).float().mean()


def plain_epochs(ns, data, epochs, metrics):
    """A hand-written loop doing the Learner's work (and, with ``metrics``, MetricsCallback's: per-sample loss and
    accuracy of every phase, ``loss.item()`` and ``float(acc)`` per batch)."""
    seed_everything(0)
    model = digits_cnn()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    train, valid = loaders(data)
    history = []

    def phase(training, loader):
        model.train(training)
        loss_sum = acc_sum = 0.0
        count = 0
        for x, y in loader:
            preds = model(x)
            loss = F.cross_entropy(preds, y)
            if training:
                loss.backward()
                opt.step()
                opt.zero_grad()
            if metrics:
                n = len(y)
                loss_sum += loss.item() * n
                acc_sum += float(accuracy(preds, y)) * n
                count += n
        if metrics and count:
            history.append({"loss": loss_sum / count, "acc": acc_sum / count})

    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(epochs):
        phase(True, train)
        with torch.no_grad():
            phase(False, valid)
    return (time.perf_counter() - start) / epochs, (time.process_time() - cpu) / epochs


def learner_epochs(ns, data, epochs, metrics):
    seed_everything(0)
    model = digits_cnn()
    train, valid = loaders(data)
    cbs = [ns["MetricsCallback"]({"acc": accuracy})] if metrics else []
    learn = ns["Learner"](model, train, valid, F.cross_entropy, torch.optim.AdamW(model.parameters(), lr=1e-3), cbs=cbs)
    start, cpu = time.perf_counter(), time.process_time()
    learn.fit(epochs)
    return (time.perf_counter() - start) / epochs, (time.process_time() - cpu) / epochs


def compare(ns, data, epochs, repeats, metrics):
    """``repeats`` interleaved rounds (the order alternates each round, so that drifting load on the machine hits
    both alike). For the wall-clock and the process CPU time (which other processes' load disturbs far less):
    the medians per epoch, the median of the rounds' ratios and its range."""
    plain, learner = [], []
    for r in range(repeats):
        runs = [(plain_epochs, plain), (learner_epochs, learner)]
        for fn, times in (runs if r % 2 == 0 else runs[::-1]):
            times.append(fn(ns, data, epochs, metrics))
    figures = {}
    for k, clock in enumerate(("wall", "cpu")):
        ratios = [l[k] / p[k] for p, l in zip(plain, learner)]
        figures[clock] = (statistics.median(p[k] for p in plain), statistics.median(l[k] for l in learner),
                          statistics.median(ratios), min(ratios), max(ratios))
    return figures


def profile_learner(ns, data, epochs):
    """Where the Learner's own time goes: cProfile of fit, the Learner's and the callbacks' functions."""
    import cProfile
    import pstats
    seed_everything(0)
    model = digits_cnn()
    train, valid = loaders(data)
    learn = ns["Learner"](model, train, valid, F.cross_entropy, torch.optim.AdamW(model.parameters(), lr=1e-3),
                          cbs=[ns["MetricsCallback"]({"acc": accuracy})])
    profiler = cProfile.Profile()
    profiler.runcall(learn.fit, epochs)
    stats = pstats.Stats(profiler)
    rows = [(tottime, calls, f"{func[2]} ({Path(func[0]).name}:{func[1]})")
            for func, (calls, _, tottime, _, _) in stats.stats.items() if ".nb.py:" in func[0]]
    print(f"profile of Learner.fit({epochs}) with MetricsCallback: own time of the solution's functions")
    for tottime, calls, name in sorted(rows, reverse=True)[:10]:
        print(f"  {tottime * 1e3:8.2f} ms  {calls:6d} calls  {name}")
    print(f"  total in the solution's code: {sum(r[0] for r in rows) * 1e3:.2f} ms of "
          f"{sum(v[2] for v in stats.stats.values()) * 1e3:.0f} ms")


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
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--profile", action="store_true", help="also profile the Learner's own functions")
    parser.add_argument("--skip-reference", action="store_true", help="skip the lecture's reference training")
    parser.add_argument("--solution", type=Path, default=SOLUTION, help="the notebook source whose Learner to time")
    args = parser.parse_args()
    torch.set_num_threads(1)
    ns = solution_namespace(args.solution)
    data = digits_train_valid_test()
    for metrics in (False, True):  # warm-up
        plain_epochs(ns, data, 1, metrics), learner_epochs(ns, data, 1, metrics)
    load = os.getloadavg()
    print(f"digits CNN, {len(data.y_train)} training + {len(data.y_valid)} validation samples, batch "
          f"{REFERENCE['batch_size']}, one CPU thread; {args.repeats} interleaved rounds of {args.epochs} epochs "
          f"each; load average {load[0]:.2f} on {os.cpu_count()} CPUs")
    for metrics, what in ((False, "no metrics"), (True, "loss + accuracy per phase (MetricsCallback / by hand)")):
        print(f"  {what}:")
        for clock, (p, l, ratio, low, high) in compare(ns, data, args.epochs, args.repeats, metrics).items():
            print(f"    {clock:4s}  plain loop {p * 1000:7.1f} ms/epoch, Learner {l * 1000:7.1f} ms/epoch (medians); "
                  f"ratio {ratio:.3f}x (median of rounds, range {low:.3f}-{high:.3f}; goal <= 1.05x)")
    print(f"  load average at the end {os.getloadavg()[0]:.2f}")
    if args.profile:
        profile_learner(ns, data, args.epochs)
    if not args.skip_reference:
        seconds, accs = reference_training(ns, data)
        print(f"reference training (lecture 8): {REFERENCE['epochs']} epochs of one-cycle AdamW through the Learner "
              f"in {seconds:.1f} s; validation accuracy per epoch {[round(a, 3) for a in accs]}; best {max(accs):.3f} "
              f"(stated: at least 0.97)")


if __name__ == "__main__":
    main()
