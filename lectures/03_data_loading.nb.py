# %% [markdown]
# # Lecture 3 — Datasets and DataLoaders
#
# A model eats batches: `(B, C, H, W)` float tensors and `(B,)` integer labels. A dataset is files
# on a disk. This lecture answers one question, piece by piece: **how does a batch get from files
# on disk into the model, correctly and fast?**
#
# Three objects do the work:
#
# - a **`Dataset`** says what sample `i` is (read a file, decode it, transform it);
# - a **sampler** says in which order the indices are visited (and a *batch sampler* how they are grouped);
# - a **`DataLoader`** turns the groups into batches (`collate_fn`), optionally in worker processes.
#
# At the end we build all three from scratch and check them against PyTorch.

# %%
import collections
import csv
import itertools
import multiprocessing as mp
import os
import time
from functools import partial
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info

from courselib.seed import seed_everything
from courselib.shapes_dataset import ensure_shapes_dataset

# Seeds Python, NumPy and torch, so that the outputs below reproduce.
_ = seed_everything(0)

# %% [markdown]
# ## 1. A dataset on disk
#
# The course generates its own small image dataset (offline, deterministic, cached under
# `.course/data/` after the first call): 32×32 RGB pictures of five shapes, one folder per class,
# and a `labels.csv` per split.

# %%
root = ensure_shapes_dataset()
print(sorted(p.name for p in root.iterdir()))
print(sorted(p.name for p in (root / "train").iterdir()))
print((root / "train" / "labels.csv").read_text().splitlines()[:4])

# %% [markdown]
# An image file decodes to an array of shape `(H, W, C)` with `uint8` values: channels **last**,
# the way image libraries store pixels.

# %%
with Image.open(root / "train" / "circle" / "0000.png") as file:
    pixels = np.array(file.convert("RGB"))
print(pixels.shape, pixels.dtype, pixels.min(), pixels.max())

# %% [markdown]
# PyTorch layers want channels **first** and floats. `permute(2, 0, 1)` moves the axes (a `reshape`
# would keep the numbers in memory order and scramble the picture); dividing by 255 maps to `[0, 1]`.

# %%
image = torch.from_numpy(pixels).permute(2, 0, 1).float() / 255
print(image.shape, image.dtype, f"{image.min():.3f}..{image.max():.3f}")

# %% [markdown]
# ## 2. The `Dataset` protocol
#
# A map-style dataset is anything with `__len__` and `__getitem__(i)`. The constructor should be
# cheap: it reads the CSV (file names and labels), not the images. The images are read **lazily**,
# one per `__getitem__`, so memory does not grow with the dataset and start-up is instant.
#
# Labels are strings in the CSV; a loss wants integers. `classes` (index → name) and
# `class_to_idx` (name → index) are built from the **sorted** names, so that the mapping does not
# depend on the order in which the CSV lists the files. A split can also be given the class list
# to use (`classes=`); why that matters comes right after.

# %%
class ShapesCSV(Dataset):
    """Images listed in ``split_dir/labels.csv``, read lazily, as (float CHW image, int label)."""

    def __init__(self, split_dir, transform=None, classes=None):
        self.split_dir = Path(split_dir)
        self.transform = transform
        with open(self.split_dir / "labels.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        self.files = [row["file"] for row in rows]
        self.labels = [row["label"] for row in rows]
        self.classes = list(classes) if classes is not None else sorted(set(self.labels))
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        with Image.open(self.split_dir / self.files[i]) as file:
            pixels = np.array(file.convert("RGB"))
        image = torch.from_numpy(pixels).permute(2, 0, 1).float() / 255
        if self.transform is not None:
            image = self.transform(image)
        return image, self.class_to_idx[self.labels[i]]


train_ds = ShapesCSV(root / "train")
valid_ds = ShapesCSV(root / "valid")
print(len(train_ds), len(valid_ds), train_ds.classes)
print(train_ds.class_to_idx)
image, label = train_ds[0]
print(image.shape, image.dtype, label, "->", train_ds.classes[label])

# %% [markdown]
# Sorted names give every split the same mapping **only if every split holds every class**. A split
# that lacks one — a small test set, a filtered subset — sorts fewer names, and the indices shift.
# Here is the validation split without its circles:

# %%
import tempfile

scratch = tempfile.TemporaryDirectory()
no_circles = Path(scratch.name)  # a throw-away split: a labels.csv pointing at the valid images
with open(root / "valid" / "labels.csv", newline="") as f:
    kept = [row for row in csv.DictReader(f) if row["label"] != "circle"]
with open(no_circles / "labels.csv", "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=["file", "label"])
    writer.writeheader()
    writer.writerows({"file": str(root / "valid" / row["file"]), "label": row["label"]} for row in kept)

own = ShapesCSV(no_circles)
print("its own mapping:     ", own.class_to_idx)
print("'cross' is", own.class_to_idx["cross"], "there, but", train_ds.class_to_idx["cross"], "in the training split")
given = ShapesCSV(no_circles, classes=train_ds.classes)
print("with classes= given: ", given.class_to_idx)
print("the dataset's classes.txt:", (root / "classes.txt").read_text().split())
scratch.cleanup()

# %% [markdown]
# A model trained with `cross = 1` would be scored against labels where `cross = 0`. Take the class
# list from one place — the training split, or a file shipped with the data such as `classes.txt` —
# and give it to every split.

# %% [markdown]
# ## 3. Transforms
#
# A transform is a function applied to each sample in `__getitem__`. Random augmentations draw new
# random numbers on every call, so the same index gives a different image each epoch.

# %%
from torchvision.transforms import v2

augment = v2.Compose([v2.RandomHorizontalFlip(), v2.RandomRotation(20)])
augmented_ds = ShapesCSV(root / "train", transform=augment)
first, second = augmented_ds[3][0], augmented_ds[3][0]
print("same index, same image twice?", torch.equal(first, second))

# %% [markdown]
# ## 4. The same files through torchvision's `ImageFolder`
#
# The images also sit in one folder per class, the layout `torchvision.datasets.ImageFolder` reads.
# It ignores `labels.csv`: the classes are the names of the sub-folders, sorted (`find_classes` in
# `torchvision/datasets/folder.py`), and `samples` lists `(path, class index)` for every image file,
# class by class, in sorted file order. (Assignment 3 asks you to write this scan yourself and
# compares your dataset with `ImageFolder`.)

# %%
from torchvision.datasets import ImageFolder

folder_ds = ImageFolder(root / "train")
print(len(folder_ds), "images | classes", folder_ds.classes, "| same class_to_idx as ours:",
      folder_ds.class_to_idx == train_ds.class_to_idx)
relative = [(Path(path).relative_to(root / "train").as_posix(), label) for path, label in folder_ds.samples]
print(relative[:2], "...", relative[-1:])
image, label = folder_ds[0]
print("a sample:", f"{type(image).__module__}.{type(image).__name__}", image.size, image.mode, "and label", label)

# %% [markdown]
# Without a transform a sample is a PIL image. `v2.ToImage()` (PIL → `(C, H, W)` uint8 tensor) and
# `v2.ToDtype(torch.float32, scale=True)` (÷255) turn it into the tensor our dataset returns:

# %%
to_tensor = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
folder_ds = ImageFolder(root / "train", transform=to_tensor)
ours = train_ds[train_ds.files.index("circle/0000.png")]
theirs = folder_ds[relative.index(("circle/0000.png", 0))]
print("same label:", ours[1] == theirs[1], "| largest pixel difference:", (ours[0] - theirs[0]).abs().max().item())

# %% [markdown]
# The same image, to within float rounding. `ImageFolder` takes the labels from the folder names
# only; a dataset whose labels live in a file needs a `Dataset` like ours.
#
# ## 5. Splitting a dataset, and augmenting the training split only
#
# When a dataset comes as one pile, `torch.utils.data.random_split` cuts it into disjoint random
# `Subset`s. Fractions are allowed, and a seeded `generator` makes the split the same on every run:

# %%
from torch.utils.data import Subset, random_split

pile = ShapesCSV(root / "train")
fit, held_out = random_split(pile, [0.8, 0.2], generator=torch.Generator().manual_seed(0))
print(len(fit), len(held_out), "| disjoint:", set(fit.indices).isdisjoint(held_out.indices))
again = random_split(pile, [0.8, 0.2], generator=torch.Generator().manual_seed(0))
print("same split with the same seed:", again[1].indices == held_out.indices)
print("both subsets read one dataset object:", fit.dataset is held_out.dataset)

# %% [markdown]
# Augmentation belongs to the training split only: a validation score must measure the model on
# the images as they are, the same at every epoch. But the two `Subset`s share one dataset, and with
# it one transform — augmenting "the training subset" augments both:

# %%
pile.transform = augment  # meant for `fit` only
print("held-out sample stable?", torch.equal(held_out[0][0], held_out[0][0]))
pile.transform = None

# %% [markdown]
# The fix: one dataset object per split, each with its own transform, and the split done on the
# indices:

# %%
train_part = Subset(ShapesCSV(root / "train", transform=augment), fit.indices)
valid_part = Subset(ShapesCSV(root / "train"), held_out.indices)
print("training sample changes between reads:", not torch.equal(train_part[0][0], train_part[0][0]))
print("held-out sample stable:", torch.equal(valid_part[0][0], valid_part[0][0]))

# %% [markdown]
# ## 6. Normalisation statistics, on the training split only
#
# `v2.Normalize(mean, std)` subtracts a per-channel mean and divides by a per-channel std. Those
# numbers are part of the model's training: they must come from the **training** split alone, or
# the validation score is measured on data that helped build the model.
#
# A real dataset does not fit in memory, so we stream: keep per-channel sums of `x` and `x²` (in
# `float64`) and the pixel count, one batch at a time. Averaging per-batch means or stds instead
# gives the wrong answer when batches differ in size or content.

# %%
def channel_stats(loader):
    count, total, total_sq = 0, 0.0, 0.0
    for images, _ in loader:
        images = images.double()
        count += images.numel() // images.shape[1]
        total = total + images.sum(dim=(0, 2, 3))
        total_sq = total_sq + (images ** 2).sum(dim=(0, 2, 3))
    mean = total / count
    return mean.float(), (total_sq / count - mean ** 2).sqrt().float()


mean, std = channel_stats(DataLoader(train_ds, batch_size=300))
everything = torch.stack([train_ds[i][0] for i in range(len(train_ds))])
print("streamed:", mean, std)
print("at once: ", everything.mean(dim=(0, 2, 3)), everything.std(dim=(0, 2, 3), correction=0))

# %% [markdown]
# With batches of 300 the last one has 100 images; the naive per-batch average is off:

# %%
batch_stds = [images.std(dim=(0, 2, 3), correction=0) for images, _ in DataLoader(train_ds, batch_size=300)]
print("mean of the per-batch stds:", torch.stack(batch_stds).mean(0))

# %% [markdown]
# After normalising, the training split has mean 0 and std 1 per channel; the validation split is
# close, not exact, which is the honest situation a deployed model is in.

# %%
normalize = v2.Normalize(mean.tolist(), std.tolist())
valid_images = torch.stack([normalize(valid_ds[i][0]) for i in range(len(valid_ds))])
train_images = normalize(everything)
print("train:", train_images.mean(dim=(0, 2, 3)).round(decimals=3) + 0.0,  # + 0.0: no "-0."
      train_images.std(dim=(0, 2, 3)).round(decimals=3))
print("valid:", valid_images.mean(dim=(0, 2, 3)).round(decimals=3), valid_images.std(dim=(0, 2, 3)).round(decimals=3))

# %% [markdown]
# ## 7. A batch, as a picture
#
# The `DataLoader` stacks samples into a batch: images `(B, 3, 32, 32)`, labels `(B,)` `int64`.

# %%
from torchvision.utils import make_grid

loader = DataLoader(train_ds, batch_size=16, shuffle=True)
images, labels = next(iter(loader))
print(images.shape, images.dtype, labels.shape, labels.dtype)
plt.figure(figsize=(8, 2.4))
plt.imshow(make_grid(images, nrow=8, padding=2).permute(1, 2, 0))
plt.title(" ".join(train_ds.classes[i][:3] for i in labels), fontsize=8)
plt.axis("off")
plt.show()

# %% [markdown]
# ## 8. Every `DataLoader` argument, doing something you can see
#
# ### `batch_size`
# The number of samples per batch; the last batch holds what is left.

# %%
loader = DataLoader(train_ds, batch_size=64)
print(len(loader), "batches;", "last batch:", len(train_ds) - 64 * (len(loader) - 1), "samples")

# %% [markdown]
# Index-only datasets make the remaining arguments easy to watch: sample `i` is just `i`.

# %%
indices = list(range(10))
print([b.tolist() for b in DataLoader(indices, batch_size=4)])

# %% [markdown]
# ### `shuffle`
# `shuffle=True` draws a new permutation every epoch; `shuffle=False` keeps the index order.

# %%
loader = DataLoader(indices, batch_size=10, shuffle=True)
for epoch in range(2):
    print("epoch", epoch, next(iter(loader)).tolist())

# %% [markdown]
# ### `generator`
# The permutation comes from a random generator: by default torch's global one, so the order
# depends on everything else that used it. A `generator` of the loader's own makes it reproducible
# on its own (it also seeds the workers, see `worker_init_fn` below).

# %%
def first_epoch(seed):
    loader = DataLoader(indices, batch_size=10, shuffle=True, generator=torch.Generator().manual_seed(seed))
    return next(iter(loader)).tolist()


torch.rand(5)  # someone else uses the global generator: no effect on the loader's own
print(first_epoch(0), first_epoch(0), first_epoch(1), sep="\n")

# %% [markdown]
# ### `sampler`
# A sampler yields the indices to visit. `SubsetRandomSampler` visits only some of them.
# `WeightedRandomSampler` draws indices with replacement, with a probability per **sample**: on an
# imbalanced dataset, weights `1 / count(class)` make every class equally frequent in the batches.

# %%
from torch.utils.data import SubsetRandomSampler, WeightedRandomSampler

print(list(DataLoader(indices, batch_size=3, sampler=SubsetRandomSampler([0, 2, 4, 6]))))

imbalanced = ShapesCSV(ensure_shapes_dataset(imbalance=10) / "train")
labels = torch.tensor([imbalanced.class_to_idx[name] for name in imbalanced.labels])
counts = torch.bincount(labels)
weights = 1.0 / counts[labels].double()
sampler = WeightedRandomSampler(weights, num_samples=len(labels), generator=torch.Generator().manual_seed(0))
print("class counts on disk:         ", counts.tolist())
print("drawn with shuffle=True:      ", torch.bincount(labels[torch.randperm(len(labels))]).tolist())
print("drawn by WeightedRandomSampler:", torch.bincount(labels[list(sampler)], minlength=5).tolist())

# %% [markdown]
# ### `batch_sampler`
# A batch sampler yields whole lists of indices, so it decides the grouping too. Here each batch
# holds a single class (useful for contrastive or few-shot training).

# %%
class OneClassPerBatch:
    def __init__(self, labels, batch_size):
        self.groups = [torch.nonzero(labels == c).flatten().tolist() for c in labels.unique()]
        self.batch_size = batch_size

    def __iter__(self):
        for group in self.groups:
            for start in range(0, len(group), self.batch_size):
                yield group[start:start + self.batch_size]

    def __len__(self):
        return sum((len(g) + self.batch_size - 1) // self.batch_size for g in self.groups)


loader = DataLoader(imbalanced, batch_sampler=OneClassPerBatch(labels, 32))
print(len(loader), "batches; labels in the first three:",
      [targets.unique().tolist() for _, targets in itertools.islice(loader, 3)])

# %% [markdown]
# Because the batch sampler already decides order and size, the arguments that would do the same
# job are refused: `batch_size`, `shuffle`, `sampler` and `drop_last` with `batch_sampler`, and
# `shuffle` with `sampler`.

# %%
tries = {
    "batch_sampler + batch_size=8": dict(batch_sampler=OneClassPerBatch(labels, 32), batch_size=8),
    "batch_sampler + shuffle": dict(batch_sampler=OneClassPerBatch(labels, 32), shuffle=True),
    "batch_sampler + drop_last": dict(batch_sampler=OneClassPerBatch(labels, 32), drop_last=True),
    "sampler + shuffle": dict(sampler=sampler, shuffle=True),
}
for what, kwargs in tries.items():
    try:
        DataLoader(imbalanced, **kwargs)
    except ValueError as error:
        print(f"{what:30s} ValueError: {error}")

# %% [markdown]
# ### `drop_last`
# `drop_last=True` discards the last, incomplete batch. Good for training (BatchNorm dislikes tiny
# batches); wrong for evaluation, where it silently skips samples. Here a simple nearest-mean
# classifier is scored on the 250 validation images in batches of 64 (3 full batches + 58).

# %%
train_targets = torch.tensor([train_ds.class_to_idx[name] for name in train_ds.labels])
centroids = torch.stack([everything[train_targets == c].mean(0) for c in range(len(train_ds.classes))])


def predict(images):
    distances = ((images[:, None] - centroids[None]) ** 2).flatten(2).sum(-1)
    return distances.argmin(1)


for drop_last in (False, True):
    correct = seen = 0
    batch_accuracies = []
    for images, targets in DataLoader(valid_ds, batch_size=64, drop_last=drop_last):
        hits = (predict(images) == targets).sum().item()
        correct, seen = correct + hits, seen + len(targets)
        batch_accuracies.append(hits / len(targets))
    print(f"drop_last={drop_last!s:5}: {seen} of {len(valid_ds)} images scored, accuracy {correct / seen:.4f} "
          f"(mean of per-batch accuracies: {np.mean(batch_accuracies):.4f})")

# %% [markdown]
# Only the run that sees all 250 images and weights by samples gives the true accuracy; the mean
# of per-batch accuracies over-weights the small last batch.
#
# ### `collate_fn`
# The `collate_fn` turns a list of samples into a batch. The default stacks tensors, which fails
# for sequences of different lengths:

# %%
sentences = [(torch.tensor([4, 8, 15]), 0), (torch.tensor([16, 23]), 1), (torch.tensor([42, 7, 9, 11]), 0)]
try:
    next(iter(DataLoader(sentences, batch_size=3)))
except RuntimeError as error:
    print("RuntimeError:", str(error).splitlines()[0])

# %% [markdown]
# A padding `collate_fn` pads on the right with a pad value and returns the true lengths, which
# masks and `pack_padded_sequence` need.

# %%
def pad_collate(batch, pad_value=0):
    sequences, labels = zip(*batch)
    lengths = torch.tensor([len(s) for s in sequences])
    padded = torch.full((len(batch), int(lengths.max())), pad_value, dtype=sequences[0].dtype)
    for i, s in enumerate(sequences):
        padded[i, : len(s)] = s
    return padded, lengths, torch.tensor(labels)


print(next(iter(DataLoader(sentences, batch_size=3, collate_fn=pad_collate))))

# %% [markdown]
# PyTorch ships the padding step: `torch.nn.utils.rnn.pad_sequence` stacks tensors of different
# lengths, padded with `padding_value` (on the right by default; `padding_side="left"` exists too).
# `batch_first=True` gives `(B, T)`; without it the result is `(T, B)`, the layout of PyTorch's RNNs.

# %%
from torch.nn.utils.rnn import pad_sequence

sequences = [s for s, _ in sentences]
print(pad_sequence(sequences, batch_first=True, padding_value=0))
print("same as pad_collate:", torch.equal(pad_sequence(sequences, batch_first=True), pad_collate(sentences)[0]),
      "| without batch_first:", tuple(pad_sequence(sequences).shape))

# %% [markdown]
# ### `num_workers` and `pin_memory`
# With `num_workers=k`, `k` worker processes call `__getitem__` and `collate_fn` while the main
# process trains. This pays off when reading a sample is slow. Here every read first waits 10 ms, as
# a network disk might: the read is **I/O-bound**, a waiting worker uses no CPU core. We time two
# epochs with `persistent_workers=True` (section below): the first includes starting the workers,
# the second does not. The timings change from run to run (their output is not checked).

# %%
class SlowDisk(Dataset):
    """Wraps a dataset; every read waits ``delay`` seconds first, like a slow disk."""

    def __init__(self, dataset, delay=0.002):
        self.dataset, self.delay = dataset, delay

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        time.sleep(self.delay)
        return self.dataset[i]


def images_per_second(loader):
    start = time.perf_counter()
    seen = sum(len(targets) for _, targets in loader)
    return seen / (time.perf_counter() - start)


slow = SlowDisk(torch.utils.data.Subset(train_ds, range(96)), delay=0.01)

# %%
# NBVAL_IGNORE_OUTPUT
import warnings

warnings.filterwarnings("ignore", message=".*worker processes in total.*")  # see below
print("CPU cores:", os.cpu_count())
print(f"{'num_workers':>11} {'epoch 1 images/s':>17} {'epoch 2 images/s':>17}")
for workers in (0, 2, 4, 8):
    loader = DataLoader(slow, batch_size=16, num_workers=workers, persistent_workers=workers > 0)
    epoch_1 = images_per_second(loader)
    epoch_2 = images_per_second(loader) if workers else epoch_1
    print(f"{workers:>11} {epoch_1:>17.0f} {epoch_2:>17.0f}")

# %% [markdown]
# With reads that wait, more workers overlap more waits — also past the number of cores: once they
# are running (epoch 2), 8 workers read more than twice as fast as 2, even on a machine with 2 cores
# (the epoch's 6 batches take 2 workers three rounds of reads, and 8 workers one).
# The first epoch pays for starting them, which is why `persistent_workers` matters. PyTorch warns
# when `num_workers` exceeds the number of cores (`check_worker_number_rationality` in
# `torch/utils/data/dataloader.py`; silenced above): that advice fits **CPU-bound** reading —
# decoding, augmenting — where workers beyond the number of cores only share the same cores. Measure
# your own dataset before choosing.
#
# `pin_memory=True` puts batches in page-locked memory, which a GPU can copy from asynchronously:
# `tensor.to("cuda", non_blocking=True)` then returns at once and the copy overlaps compute. On a
# machine without a GPU there is nothing to pin for (PyTorch warns and skips it):

# %%
# NBVAL_IGNORE_OUTPUT
warnings.filterwarnings("ignore", message=".*pin_memory.*")  # no accelerator here: pinning is skipped
images, targets = next(iter(DataLoader(train_ds, batch_size=32, pin_memory=True)))
print("pinned:", images.is_pinned())
if torch.cuda.is_available():
    on_gpu = images.to("cuda", non_blocking=True)  # asynchronous: needs the pinned source
    torch.cuda.synchronize()
    print(on_gpu.device)

# %% [markdown]
# ### How a worker starts: `fork` or `spawn`
# How does a worker get its copy of the dataset? That depends on the *start method* of Python's
# `multiprocessing`. On Linux (up to Python 3.13) it is `fork`: the operating system copies the main
# process, dataset included, and nothing is pickled. On macOS (since Python 3.8) and Windows it is
# `spawn`: a fresh interpreter starts and receives the dataset **pickled**. (Python 3.14 makes
# `forkserver`, which pickles too, the default on Linux.) A `DataLoader` uses the default unless its
# `multiprocessing_context` names another.

# %%
import pickle
import subprocess
import sys

print("start method here:", torch.multiprocessing.get_start_method())
print("a loader that asks for spawn:",
      type(DataLoader(indices, num_workers=2, multiprocessing_context="spawn").multiprocessing_context).__name__)
print("what a spawned worker receives names the class:", b"__main__" in pickle.dumps(SlowDisk(indices)))
fresh = subprocess.run([sys.executable, "-c", "import pickle, sys; pickle.loads(sys.stdin.buffer.read())"],
                       input=pickle.dumps(SlowDisk(indices)), capture_output=True)
print("a fresh interpreter unpickling it:", fresh.stderr.decode().strip().splitlines()[-1])

# %% [markdown]
# A pickle stores a class by its module and name. A class defined in a notebook lives in `__main__`,
# which a fresh interpreter does not have — and unpickling is the first thing a spawned worker does
# (`_main` in `multiprocessing/spawn.py`). So on macOS this lecture's datasets would kill their
# workers, and the loader would report a worker that "exited unexpectedly". The portable fix: define
# datasets, `collate_fn` and `worker_init_fn` in a `.py` module that you import, and in a script put
# the training loop under `if __name__ == "__main__":`. Everything below that relies on workers
# *inheriting* objects (shared counters, the from-scratch pool) is `fork` behaviour.
#
# ### `timeout`
# How long the main process waits for a worker's batch before giving up (0 = forever). A stuck
# read (a hung network mount, here a 3 s sleep) becomes an error instead of a silent freeze.

# %%
try:
    next(iter(DataLoader(SlowDisk(indices, delay=3), num_workers=1, timeout=1)))
except RuntimeError as error:
    print("RuntimeError:", error)

# %% [markdown]
# ### `worker_init_fn`: seeding what torch does not seed
# In each worker, torch seeds its own generator, Python's `random` and NumPy's global state
# differently. It cannot know about a generator **your dataset owns**, such as a NumPy
# `default_rng` created in `__init__`: every worker starts with an identical copy, so every worker
# draws the same "random" augmentations.

# %%
class Jitter(Dataset):
    """Sample i is i plus random noise from the dataset's own NumPy generator."""

    def __init__(self, n):
        self.n = n
        self.rng = np.random.default_rng(0)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i + round(self.rng.random(), 3)


def show_batches(**kwargs):
    loader = DataLoader(Jitter(8), batch_size=2, num_workers=2, generator=torch.Generator().manual_seed(0), **kwargs)
    for batch in loader:
        print(batch.tolist())


show_batches()

# %% [markdown]
# Batches 0 and 1 (from workers 0 and 1) got the same noise, and so did batches 2 and 3. It also
# repeats from one **epoch** to the next: each epoch starts new workers, copied again from the main
# process, whose generator was never used. Every epoch sees the same "random" augmentations:

# %%
def epochs(n_epochs=2, **kwargs):
    loader = DataLoader(Jitter(4), batch_size=2, num_workers=2, generator=torch.Generator().manual_seed(0), **kwargs)
    for epoch in range(n_epochs):
        print(f"epoch {epoch}:", [batch.tolist() for batch in loader])


epochs()

# %% [markdown]
# A `worker_init_fn` runs in each worker after it starts; it can reseed the dataset's generator from
# the worker's seed, `info.seed`, which torch derives from a base seed drawn from the loader's
# `generator` at every epoch, plus the worker id:

# %%
def seed_dataset_rng(worker_id):
    info = get_worker_info()
    info.dataset.rng = np.random.default_rng(info.seed)


show_batches(worker_init_fn=seed_dataset_rng)
epochs(worker_init_fn=seed_dataset_rng)

# %% [markdown]
# Different noise in every worker and every epoch, and, because the loader has a seeded
# `generator`, the same noise on every run.
#
# ### `prefetch_factor`
# Each worker keeps `prefetch_factor` batches in flight ahead of the training loop. We count the
# samples read (in a counter shared with the workers) after the loop has taken only its first batch.

# %%
class Counting(Dataset):
    def __init__(self, n):
        self.n, self.reads = n, mp.Value("i", 0)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        with self.reads.get_lock():
            self.reads.value += 1
        return i


for prefetch in (1, 2, 4):
    data = Counting(100)
    iterator = iter(DataLoader(data, batch_size=4, num_workers=1, prefetch_factor=prefetch))
    next(iterator)
    time.sleep(0.5)  # the training step; the worker reads ahead meanwhile
    print(f"prefetch_factor={prefetch}: {data.reads.value // 4} batches read after the first was taken")
    del iterator

# %% [markdown]
# With one worker: `prefetch_factor` batches were requested up front, plus one more to replace
# the batch the loop took.
#
# ### `persistent_workers`
# By default the workers are stopped at the end of every epoch and new ones started for the next
# (with a fresh copy of the dataset). `persistent_workers=True` keeps them, saving the start-up.

# %%
class WhoReads(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return os.getpid()


for persistent in (False, True):
    loader = DataLoader(WhoReads(), batch_size=2, num_workers=2, persistent_workers=persistent)
    epoch_pids = [set(torch.cat(list(loader)).tolist()) for _ in range(2)]
    print(f"persistent_workers={persistent!s:5}: same worker processes in epoch 2: {epoch_pids[0] == epoch_pids[1]}")

# %% [markdown]
# ## 9. `IterableDataset`: streams, and sharding across workers
#
# An `IterableDataset` has `__iter__` instead of `__getitem__`: for data that comes as a stream
# (lines of a huge file, a database cursor). With workers, **each worker gets a copy and iterates
# it**, so a naive stream comes out once per worker:

# %%
class Lines(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))


got = list(DataLoader(Lines(6), batch_size=None, num_workers=2))
print(got, "duplicates:", {x: c for x, c in collections.Counter(int(v) for v in got).items() if c > 1})

# %% [markdown]
# `get_worker_info()` tells the copy which worker it is in (`id`, `num_workers`), or returns `None`
# in the main process; each copy then yields its own shard. Here worker `k` takes every
# `num_workers`-th line starting at line `k`.

# %%
class ShardedLines(Lines):
    def __iter__(self):
        info = get_worker_info()
        if info is None:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))


for workers in (0, 1, 2):
    print(f"num_workers={workers}:", [int(x) for x in DataLoader(ShardedLines(7), batch_size=None, num_workers=workers)])

# %% [markdown]
# ## 10. From scratch: sampler, batch sampler, collate, DataLoader
#
# Nothing above is magic. A sampler is an iterable of indices, a batch sampler groups them, a
# collate function stacks samples, and a loader ties them together.

# %%
class MySequentialSampler:
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


class MyRandomSampler(MySequentialSampler):
    def __init__(self, n, generator=None):
        super().__init__(n)
        self.generator = generator

    def __iter__(self):  # a new permutation every epoch
        return iter(torch.randperm(self.n, generator=self.generator).tolist())


class MyBatchSampler:
    def __init__(self, sampler, batch_size, drop_last=False):
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        full, rest = divmod(len(self.sampler), self.batch_size)
        return full + (rest > 0 and not self.drop_last)


def my_collate(samples):
    """Tensors are stacked along a new first dimension; tuples are collated field by field."""
    first = samples[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(samples)
    if isinstance(first, int):
        return torch.tensor(samples)
    if isinstance(first, tuple):
        return [my_collate(list(fields)) for fields in zip(*samples)]
    raise TypeError(f"cannot collate {type(first).__name__}")


print(list(MyBatchSampler(MySequentialSampler(7), 3)), list(MyBatchSampler(MySequentialSampler(7), 3, drop_last=True)))
print(list(MyRandomSampler(7, torch.Generator().manual_seed(0))))
print(my_collate([(torch.zeros(2), 1), (torch.ones(2), 2)]))

# %% [markdown]
# The loader. With no workers it is a loop: take an index list, read the samples, collate. With
# workers, the obvious version hands every index list to a `multiprocessing.Pool` through
# `Pool.imap`, which returns results in the order the tasks were given. It has two flaws, which a
# dataset that logs its reads makes visible:

# %%
class ReadLog(Dataset):
    """Sample i is i. Every read, in any process, appends i to a log file; pickling is counted."""

    pickled = 0

    def __init__(self, n, log):
        self.n, self.log = n, Path(log)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        with open(self.log, "a") as f:
            f.write(f"{i}\n")
        return i

    def __getstate__(self):  # called whenever the dataset is pickled (in this process)
        ReadLog.pickled += 1
        return self.__dict__

    def read_so_far(self):
        return sorted(int(i) for i in self.log.read_text().split()) if self.log.exists() else []


def make_batch(dataset, collate_fn, indices):
    return collate_fn([dataset[i] for i in indices])


def imap_batches(dataset, batch_sampler, num_workers=2):  # the obvious version
    with mp.get_context("fork").Pool(num_workers) as pool:
        yield from pool.imap(partial(make_batch, dataset, my_collate), batch_sampler)


logs = tempfile.TemporaryDirectory()
logged = ReadLog(100, Path(logs.name) / "imap.log")
batches = imap_batches(logged, MyBatchSampler(MySequentialSampler(100), 4))
first = next(batches)
time.sleep(0.5)  # the training step on the first batch
print("batches read after taking one:", len(logged.read_so_far()) // 4, "of 25 | dataset pickled",
      ReadLog.pickled, "times")
batches.close()  # leaves the `with`: the pool is terminated

# %% [markdown]
# `Pool.imap` puts no limit on the tasks in flight: a thread of the pool feeds the whole epoch's
# tasks to the workers as fast as they take them, so the whole epoch is read ahead while the loop is
# still on its first batch — for a real dataset, the whole epoch in memory. And each task carries
# `partial(make_batch, dataset, ...)`, so the dataset is pickled once per batch and the workers
# unpickle a new copy every time.
#
# The fix for both: give each worker the dataset **once**, when it starts (the pool's `initializer`;
# with `fork` that is not even a pickle), and keep only a few batches in flight: submit `prefetch`
# of them with `apply_async`, and submit one more each time the loop takes one. A `deque` of pending
# results, taken from the left, keeps the batches in sampler order.

# %%
_worker_data = {}  # in each worker process: its dataset and collate function


def _start_worker(dataset, collate_fn):
    torch.set_num_threads(1)  # see the note on fork below
    _worker_data.update(dataset=dataset, collate_fn=collate_fn)


def _batch_in_worker(indices):
    return make_batch(_worker_data["dataset"], _worker_data["collate_fn"], indices)


def load_batches(dataset, batch_sampler, collate_fn=my_collate, num_workers=0, prefetch=2):
    """Yield the collated batches of one epoch, in sampler order, with at most ``prefetch`` in flight."""
    if num_workers == 0:
        for indices in batch_sampler:
            yield make_batch(dataset, collate_fn, indices)
        return
    pool = mp.get_context("fork").Pool(num_workers, initializer=_start_worker, initargs=(dataset, collate_fn))
    with pool:  # the workers are stopped when the epoch ends, or when the loop stops early
        index_lists = iter(batch_sampler)
        pending = collections.deque(pool.apply_async(_batch_in_worker, (indices,))
                                    for indices in itertools.islice(index_lists, prefetch))
        while pending:
            batch = pending.popleft().get()  # the oldest batch: waits for it if need be
            for indices in itertools.islice(index_lists, 1):  # refill the freed slot
                pending.append(pool.apply_async(_batch_in_worker, (indices,)))
            yield batch


# %% [markdown]
# The same experiment:

# %%
ReadLog.pickled = 0
for prefetch in (1, 2, 4):
    logged = ReadLog(100, Path(logs.name) / f"bounded-{prefetch}.log")
    batches = load_batches(logged, MyBatchSampler(MySequentialSampler(100), 4), num_workers=2, prefetch=prefetch)
    first = next(batches)
    time.sleep(0.5)
    read = logged.read_so_far()
    print(f"prefetch={prefetch}: batches read after taking one: {len(read) // 4} (indices {read[0]}..{read[-1]})"
          f" | dataset pickled {ReadLog.pickled} times")
    batches.close()
logs.cleanup()

# %% [markdown]
# The batch that was taken plus `prefetch` more, whatever the length of the epoch, and no pickling
# of the dataset at all. PyTorch's `DataLoader` follows the same rule with `prefetch_factor`
# batches per worker (section 8).
#
# One trap remains: a `fork`ed worker copies a process whose torch thread pool was already running,
# and the copy of that pool in the child is broken: a multi-threaded op there (a reduction over a
# large tensor, say) can wait forever. Each worker therefore first calls `torch.set_num_threads(1)`,
# as PyTorch's own DataLoader workers do (`_worker_loop` in `torch/utils/data/_utils/worker.py`).
#
# Does it give PyTorch's batches for the same index order, with and without workers?

# %%
order = torch.randperm(len(valid_ds), generator=torch.Generator().manual_seed(0)).tolist()
reference = list(DataLoader(valid_ds, batch_size=64, sampler=order))
for workers in (0, 2):
    mine = list(load_batches(valid_ds, MyBatchSampler(order, 64), num_workers=workers))
    same = len(mine) == len(reference) and all(
        torch.equal(a, c) and torch.equal(b, d) for (a, b), (c, d) in zip(mine, reference))
    print(f"num_workers={workers}: {len(mine)} batches, identical to torch's: {same}")

# %% [markdown]
# The assignment asks for the full version: the default collate for ints, floats, strings, dicts
# and nesting; a worker pool you manage yourself that keeps batches in order, reports a worker's
# exception and stops its workers.
#
# ## Summary
#
# - A map-style `Dataset` is `__len__` + `__getitem__`; read files lazily in `__getitem__`, return
#   `(C, H, W)` float images and integer labels; sort class names for the label ↔ index maps, and
#   give every split the same class list. `ImageFolder` does this for one-folder-per-class data.
# - `random_split` splits indices; augment the training split only, with its own dataset object.
# - Normalisation statistics come from the training split only, accumulated as sums over pixels.
# - The sampler decides order (`shuffle`, `sampler`, `generator`), the batch sampler grouping
#   (`batch_size`, `drop_last`, `batch_sampler`), `collate_fn` how samples become a batch.
# - Workers (`num_workers`, `prefetch_factor`, `persistent_workers`, `timeout`, `worker_init_fn`)
#   make loading run beside training; for I/O-bound reads more workers than cores still pay off.
#   Workers are forked on Linux (up to Python 3.13; Python 3.14 defaults to `forkserver`), spawned
#   on macOS and Windows (define datasets in an importable module). Seed what torch does not seed,
#   or it repeats across workers and epochs; shard `IterableDataset`s with `get_worker_info`.
# - A loader keeps a bounded number of batches in flight and gives each worker the dataset once.
#
# ## Exercises
#
# 1. Give `OneClassPerBatch` a `generator` and shuffle the groups and their members every epoch.
# 2. Time `persistent_workers=True` against `False` over five short epochs of `slow`.
# 3. Make `ShardedLines` shard contiguous blocks instead of interleaving; check for gaps with 7 lines and 3 workers.
# 4. Run the `worker_init_fn` cell without `generator=`: which outputs change between runs, and why?
