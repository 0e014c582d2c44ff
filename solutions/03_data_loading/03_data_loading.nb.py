# %% [markdown readonly id=intro]
# # Assignment 3 — Datasets and DataLoaders
#
# You will build, in eight graded parts:
#
# 1. a `Dataset` that reads images lazily from class folders on disk, like `ImageFolder` (4 points);
# 2. per-channel mean and std, streamed batch by batch, on the training split only (4 points);
# 3. a padding `collate_fn` for variable-length sequences that also returns the lengths (3 points);
# 4. per-sample weights for `WeightedRandomSampler` from the labels (3 points);
# 5. an `IterableDataset` that shards a stream across DataLoader workers (3 points);
# 6. from scratch: a sequential sampler, a random sampler and a batch sampler (3 points);
# 7. from scratch: the default collate function (3 points);
# 8. from scratch: a DataLoader with a pool of worker processes (5 points).
#
# Each part states its contract, then gives you an answer cell (replace `raise NotImplementedError()`)
# and a visible test cell. The visible tests check the contract; when you submit, hidden tests check
# more (fresh data, edge cases, comparisons with `torch.utils.data`). Press **Validate** to run
# everything. Read lecture 3 first: every idea you need is shown there.

# %% [readonly id=setup]
import csv
import math
import multiprocessing as mp
import os
import queue
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info

from courselib.dataloading import OUT_OF_ORDER, call_with_timeout, check_same_batch, check_same_batches
from courselib.shapes_dataset import CLASSES, ensure_shapes_dataset, write_labelled_images
from grader.checks import (CheckFailed, check, check_close, check_dtype, check_equal, check_shape,
                           check_type, student_call)
from grader.device import describe_device

torch.manual_seed(0)
SHAPES = ensure_shapes_dataset()  # generated on the first run (about a second), then cached
print(describe_device())
print("shapes dataset:", SHAPES)

# %% [markdown readonly id=part1]
# ## Part 1 — an image-folder `Dataset` (4 points)
#
# Many image datasets come as one folder per class: the layout `torchvision.datasets.ImageFolder`
# reads. Each split of the shapes dataset is laid out that way (beside a `labels.csv` that this part
# does not use):
#
# ```
# SHAPES/train/
#     labels.csv                        a file, not a class folder
#     circle/0000.png  circle/0001.png  ...
#     cross/0000.png   ...
# ```
#
# **`ImageFolderDataset(root, transform=None)`**, a subclass of `torch.utils.data.Dataset`:
# - `self.classes`: the names of the sub-folders of `root` (directories only: a file in `root` is not
#   a class), sorted with `sorted()`; `self.class_to_idx`: a dict mapping each name to its position
#   in `self.classes`.
# - `self.samples`: a list of `(path, class_index)` pairs (`path` a `str` or a `Path`), one for each
#   **image file** in a class folder: a file whose name ends with one of `IMG_EXTENSIONS` (given in
#   the answer cell), **ignoring case** (`photo.PNG` is an image; `notes.txt` and `.DS_Store` are not).
#   The order: class by class, in the order of `self.classes`; within a class, the file names sorted
#   with `sorted()` (code-point order: `B.png` comes before `a.png`, `img10.png` before `img9.png`).
#   `os.listdir`, `os.scandir`, `Path.iterdir` and `glob` list names in an arbitrary order: sort them.
#   This is exactly `torchvision.datasets.ImageFolder(root).samples`. (Class folders hold no
#   sub-folders here.)
# - `__init__` only lists folders: it must **not** open the images (a real dataset does not fit in
#   memory; images are read lazily, one at a time, in `__getitem__`).
# - `__len__()`: the number of samples.
# - `__getitem__(i)`: returns `(image, label)` for `self.samples[i]`:
#   - `image`: the file read as RGB (a greyscale file too), as a `float32` tensor of shape `(3, H, W)`
#     (channels first) with values in `[0, 1]` (the 8-bit value divided by 255); then, if `transform`
#     is not `None`, `transform(image)` is returned instead.
#   - `label`: the class index, a Python `int` (or a 0-d `int64` tensor).
#
# Write the folder scan yourself with `os` or `pathlib`, not with `torchvision.datasets`
# (`ImageFolder`, `DatasetFolder`): the hidden tests compare your dataset with `ImageFolder`.
# `os`, `numpy as np`, `PIL.Image` and `Path` are imported in the setup cell.

# %% [answer id=image_folder_dataset]
IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")  # ImageFolder's


class ImageFolderDataset(Dataset):
    ### BEGIN SOLUTION
    def __init__(self, root, transform=None):
        self.root = Path(root)
        self.transform = transform
        self.classes = sorted(entry.name for entry in os.scandir(self.root) if entry.is_dir())
        self.class_to_idx = {name: index for index, name in enumerate(self.classes)}
        self.samples = []
        for name in self.classes:
            for file in sorted(os.listdir(self.root / name)):
                if file.lower().endswith(IMG_EXTENSIONS):
                    self.samples.append((self.root / name / file, self.class_to_idx[name]))

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, label = self.samples[index]
        with Image.open(path) as file:
            pixels = np.array(file.convert("RGB"))
        image = torch.from_numpy(pixels).permute(2, 0, 1).float() / 255
        if self.transform is not None:
            image = self.transform(image)
        return image, label
    ### END SOLUTION

# %% [tests id=test_image_folder_dataset points=1]
from grader.checks import fail, likely_mistake

_FILE_AS_CLASS = "a file in root (labels.csv) taken as a class: the classes are the sub-folders of root only"
_UNSORTED_CLASSES = ("classes not sorted: os.listdir, scandir, iterdir and glob list names in an arbitrary "
                     "order; sort them")
_ORDER = ("samples not in the contract's order: class by class in the order of classes, each class's files "
          "sorted by name (os.listdir, scandir, iterdir and glob list them in an arbitrary order)")
_COUNTS_FOLDERS = "__len__ counts the class folders, not the image files"


def _sample_names(dataset):
    """``dataset.samples`` as ("class_folder/file_name", class_index) pairs."""
    return student_call("reading dataset.samples as (path, class_index) pairs",
                        lambda: [(f"{Path(p).parent.name}/{Path(p).name}", int(y)) for p, y in dataset.samples])


def _check_samples(got, expected, what, mistakes=None):
    """The same samples in the same order; a failure names the first position that differs."""
    if got == expected:
        return
    first = next((i for i, (g, e) in enumerate(zip(got, expected)) if g != e), min(len(got), len(expected)))
    fail(f"{what}: expected {len(expected)} samples, got {len(got)}; the first difference is at position "
         f"{first}: expected {expected[first] if first < len(expected) else 'no more samples'}, "
         f"got {got[first] if first < len(got) else 'no more samples'}.", likely_mistake(got, mistakes))


train = student_call("ImageFolderDataset(SHAPES / 'train')", ImageFolderDataset, SHAPES / "train",
                     known_errors={"Not a directory": _FILE_AS_CLASS})
check_equal(list(train.classes), list(CLASSES), "dataset.classes of SHAPES / 'train'",
            mistakes={_FILE_AS_CLASS: lambda g: "labels.csv" in g,
                      _UNSORTED_CLASSES: lambda g: sorted(g) == list(CLASSES)})
check_equal(dict(train.class_to_idx), {name: i for i, name in enumerate(CLASSES)}, "dataset.class_to_idx")
_expected = [(f"{name}/{i:04d}.png", label) for label, name in enumerate(CLASSES) for i in range(200)]
_check_samples(_sample_names(train), _expected, "dataset.samples of SHAPES / 'train' (as 'class/file', label)",
               mistakes={_ORDER: lambda g: sorted(g) == sorted(_expected)})
check_equal(student_call("len(dataset)", len, train), 1000, "len(ImageFolderDataset(SHAPES / 'train'))",
            mistakes={_COUNTS_FOLDERS: len(CLASSES), "__len__ is off by one": lambda g: g in (999, 1001)})
image, label = student_call("dataset[0]", train.__getitem__, 0)
check_shape(image, (3, 32, 32), "image from dataset[0]",
            mistakes={"the HWC image was not permuted to CHW (use .permute(2, 0, 1))": (32, 32, 3)})
check_dtype(image, torch.float32, "image from dataset[0]")
check(0 <= image.min() and image.max() <= 1, f"image values: expected them in [0, 1], got "
      f"[{image.min():.4g}, {image.max():.4g}].", hint="pixels not scaled to [0, 1]: divide by 255")
check(isinstance(label, int) or (isinstance(label, torch.Tensor) and label.dtype == torch.int64),
      f"label from dataset[0]: expected an int, got {label!r}.",
      hint="label returned as a float: class indices must be integers (CrossEntropyLoss needs int64)")
check_equal(int(label), 0, "label of dataset[0] (a circle)")
print("Part 1 visible tests passed.")

# %% [tests id=test_image_folder_dataset_hidden points=3]
# Hidden tests for ImageFolderDataset run here when your work is graded.
### BEGIN HIDDEN TESTS
def _image_tensor(pixels):
    return torch.from_numpy(pixels).permute(2, 0, 1).float() / 255


def _hidden_image_folder_dataset():
    import torchvision.datasets.folder as tv_folder

    rng = np.random.default_rng(31)
    root = Path(tempfile.mkdtemp()) / "split"
    labels = ["zebra", "ant", "moth", "ant", "zebra", "ant", "bee", "owl"]  # class folders made unsorted
    pixels = {f"{label}/{i:04d}.png": rng.integers(0, 256, size=(6, 10, 3), dtype=np.uint8)
              for i, label in enumerate(labels)}  # H=6, W=10
    write_labelled_images(root, list(pixels.values()), labels)  # also writes root/labels.csv
    for name in ("ant/img9.png", "ant/img10.png", "ant/Cat.PNG", "ant/Big.PNG"):  # written unsorted
        pixels[name] = rng.integers(0, 256, size=(6, 10, 3), dtype=np.uint8)
        Image.fromarray(pixels[name]).save(root / name)
    grey = rng.integers(0, 256, size=(6, 10), dtype=np.uint8)
    Image.fromarray(grey).save(root / "moth" / "grey.png")  # an 8-bit greyscale (mode "L") file
    pixels["moth/grey.png"] = np.repeat(grey[:, :, None], 3, axis=2)
    (root / "ant" / "notes.txt").write_text("drawn by hand\n")
    (root / "bee" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    classes = ["ant", "bee", "moth", "owl", "zebra"]
    expected = ([(f"ant/{f}", 0) for f in ("0001.png", "0003.png", "0005.png", "Big.PNG", "Cat.PNG",
                                           "img10.png", "img9.png")]
                + [("bee/0006.png", 1), ("moth/0002.png", 2), ("moth/grey.png", 2), ("owl/0007.png", 3),
                   ("zebra/0000.png", 4), ("zebra/0004.png", 4)])
    reference = tv_folder.ImageFolder(str(root))
    assert (reference.classes, _sample_names(reference)) == (classes, expected), "the contract is ImageFolder's"

    # Build the student's dataset while recording any use of torchvision's folder scan.
    used = []
    originals = tv_folder.find_classes, tv_folder.make_dataset
    tv_folder.find_classes = lambda *a, **k: used.append("find_classes") or originals[0](*a, **k)
    tv_folder.make_dataset = lambda *a, **k: used.append("make_dataset") or originals[1](*a, **k)
    try:
        dataset = student_call("ImageFolderDataset(root)", ImageFolderDataset, root,
                               known_errors={"Not a directory": _FILE_AS_CLASS})
    finally:
        tv_folder.find_classes, tv_folder.make_dataset = originals
    check(not used and not isinstance(dataset, tv_folder.DatasetFolder),
          "ImageFolderDataset(root): expected a folder scan written with os or pathlib, got one made by "
          "torchvision.datasets.", hint="used torchvision's ImageFolder: this part asks you to write the scan")
    check_equal(list(dataset.classes), classes, "dataset.classes for class folders made in the order "
                "zebra, ant, moth, bee, owl (and a labels.csv file in root)",
                mistakes={_FILE_AS_CLASS: lambda g: "labels.csv" in g,
                          _UNSORTED_CLASSES: lambda g: sorted(g) == classes})
    check_equal(dict(dataset.class_to_idx), {c: i for i, c in enumerate(classes)}, "dataset.class_to_idx")
    without_upper = sorted(s for s in expected if not s[0].endswith(".PNG"))
    _check_samples(_sample_names(dataset), expected,
                   "dataset.samples (as 'class/file', label) compared with torchvision's ImageFolder(root).samples, "
                   "for class folders with files img9.png, img10.png, Big.PNG, notes.txt, .DS_Store, ...",
                   mistakes={"non-image files taken as samples: keep only the files whose name ends with an "
                             "image extension": lambda g: any(n.endswith(("notes.txt", ".DS_Store")) for n, _ in g),
                             "upper-case extensions skipped (Big.PNG, Cat.PNG): compare the extension ignoring "
                             "case": lambda g: sorted(g) == without_upper,
                             _ORDER: lambda g: sorted(g) == sorted(expected)})
    check_equal(student_call("len(dataset)", len, dataset), 13, "len(dataset) for 13 image files in 5 class folders",
                mistakes={_COUNTS_FOLDERS: 5, "__len__ is off by one": lambda g: g in (12, 14)})

    # An image file changes after the dataset was built: a lazy dataset returns the new pixels.
    old_first = _image_tensor(pixels["zebra/0000.png"])
    pixels["zebra/0000.png"] = rng.integers(0, 256, size=(6, 10, 3), dtype=np.uint8)
    Image.fromarray(pixels["zebra/0000.png"]).save(root / "zebra" / "0000.png")
    for index, (name, target) in enumerate(expected):
        image, label = student_call(f"dataset[{index}] ({name})", dataset.__getitem__, index,
                                    known_errors={"number of dimensions": "the image was not converted to RGB: a "
                                                  "greyscale file has no channel axis (use .convert('RGB'))"})
        hwc = torch.from_numpy(pixels[name]).float() / 255
        mistakes = {
            "the HWC image was not permuted to CHW (use .permute(2, 0, 1))": lambda g: g.shape == (6, 10, 3),
            "reshape/view used instead of permute: the shape is (3, H, W) but the pixels are scrambled":
                hwc.reshape(3, 6, 10),
            "pixels not scaled to [0, 1]: divide by 255": hwc.permute(2, 0, 1) * 255,
        }
        if name == "zebra/0000.png":
            mistakes = {"images read in __init__, not lazily in __getitem__: the file changed on disk after the "
                        "dataset was built and the dataset returned the old pixels": old_first} | mistakes
        check_close(image, hwc.permute(2, 0, 1), f"image from dataset[{index}] ({name}, a 6x10 file)",
                    mistakes=mistakes)
        is_int = isinstance(label, int) or (isinstance(label, torch.Tensor) and label.dtype == torch.int64
                                            and label.dim() == 0)
        check(is_int, f"label from dataset[{index}]: expected an int, got {label!r}.",
              hint="label returned as a float: class indices must be integers (CrossEntropyLoss needs int64)")
        check_equal(int(label), target, f"label of dataset[{index}] ({name})")
    flipped = student_call("ImageFolderDataset(root, transform=flip)", ImageFolderDataset, root,
                           transform=lambda x: x.flip(-1))
    image, _ = student_call("dataset[6] with a transform", flipped.__getitem__, 6)
    check_close(image, _image_tensor(pixels["ant/img9.png"]).flip(-1),
                "image from a dataset with transform=lambda x: x.flip(-1)",
                hint="the transform must be applied to the (3, H, W) float tensor before returning it")
    batch_images, batch_labels = next(iter(DataLoader(dataset, batch_size=13)))
    check_dtype(batch_labels, torch.int64, "labels of a DataLoader batch",
                hint="label returned as a float: class indices must be integers (CrossEntropyLoss needs int64)")
    check_shape(batch_images, (13, 3, 6, 10), "images of a DataLoader batch")

    # A freshly generated, imbalanced shapes dataset: the same as ImageFolder, sample for sample.
    fresh = ensure_shapes_dataset(image_size=16, per_class=(2, 3, 1), imbalance=3, seed=5,
                                  root=Path(tempfile.mkdtemp())) / "valid"
    reference = tv_folder.ImageFolder(str(fresh))
    dataset = student_call("ImageFolderDataset(a fresh imbalanced shapes split)", ImageFolderDataset, fresh)
    check_equal(list(dataset.classes), reference.classes, "dataset.classes of a fresh shapes split",
                mistakes={_UNSORTED_CLASSES: lambda g: sorted(g) == reference.classes})
    expected = _sample_names(reference)
    _check_samples(_sample_names(dataset), expected, "dataset.samples of a fresh, imbalanced shapes split "
                   "compared with ImageFolder's", mistakes={_ORDER: lambda g: sorted(g) == sorted(expected)})
    check_equal(len(dataset), len(reference), "len(dataset) of a fresh, imbalanced shapes split")
    for index in (0, len(reference) - 1):
        with Image.open(reference.samples[index][0]) as file:
            target = _image_tensor(np.array(file.convert("RGB")))
        image, label = student_call(f"dataset[{index}]", dataset.__getitem__, index)
        check_close(image, target, f"image from dataset[{index}] of a fresh shapes split")
        check_equal(int(label), reference.samples[index][1], f"label of dataset[{index}] of a fresh shapes split")


_hidden_image_folder_dataset()
print("Part 1 hidden tests passed.")
### END HIDDEN TESTS

# %% [markdown readonly id=part2]
# ## Part 2 — normalisation statistics, streamed, on the training split only (4 points)
#
# `transforms.Normalize(mean, std)` needs the per-channel mean and standard deviation of the
# *training* images: computing them on validation or test data leaks those splits into training.
# A real dataset does not fit in memory, so the statistics are accumulated one batch at a time.
#
# **`channel_stats(batches)`**
# - `batches`: an iterable (e.g. a `DataLoader`) of `(images, labels)` pairs, `images` a float
#   tensor of shape `(B, C, H, W)`; batches may have different sizes `B` (the last one often does).
# - Go through `batches` once, keeping only running per-channel sums (do not keep the batches).
# - Returns `(mean, std)`, two `float32` tensors of shape `(C,)`: the mean and the **population**
#   standard deviation (divide by N, not N - 1) of each channel over *every pixel of every image*,
#   exactly what you would get from all images at once. Accumulate in `float64` for accuracy.
#
# **`training_split_stats(root, batch_size=64)`**
# - `root`: a dataset folder with `train/`, `valid/` and `test/` splits (like `SHAPES`).
# - Returns `channel_stats` of your `ImageFolderDataset` on the **training split only**, read with a
#   `DataLoader` of this `batch_size`.

# %% [answer id=channel_stats]
def channel_stats(batches):
    ### BEGIN SOLUTION
    count, total, total_sq = 0, 0.0, 0.0
    for images, _ in batches:
        images = images.double()
        count += images.numel() // images.shape[1]  # pixels per channel in this batch
        total = total + images.sum(dim=(0, 2, 3))
        total_sq = total_sq + (images ** 2).sum(dim=(0, 2, 3))
    mean = total / count
    std = (total_sq / count - mean ** 2).clamp(min=0).sqrt()
    return mean.float(), std.float()
    ### END SOLUTION


def training_split_stats(root, batch_size=64):
    ### BEGIN SOLUTION
    loader = DataLoader(ImageFolderDataset(Path(root) / "train"), batch_size=batch_size)
    return channel_stats(loader)
    ### END SOLUTION

# %% [tests id=test_channel_stats points=1]
_x = torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).reshape(2, 3, 2, 2)
mean, std = student_call("channel_stats([(x, labels)])", channel_stats, [(_x, torch.zeros(2))])
check_close(mean, torch.tensor([7.5, 11.5, 15.5]), "mean of a (2, 3, 2, 2) batch 0..23")
# Channel 0 holds 0, 1, 2, 3, 12, 13, 14, 15: its population std is sqrt(37.25) = 6.1033.
check_close(std, torch.full((3,), 37.25 ** 0.5), "std of a (2, 3, 2, 2) batch 0..23",
            mistakes={"unbiased std (divides by N - 1): the contract asks for the population std (N)":
                      torch.full((3,), (37.25 * 8 / 7) ** 0.5)})
mean, std = student_call("training_split_stats(SHAPES)", training_split_stats, SHAPES)
check_shape(mean, (3,), "mean from training_split_stats(SHAPES)")
check_shape(std, (3,), "std from training_split_stats(SHAPES)")
print("mean", mean, "std", std)
print("Part 2 visible tests passed.")

# %% [tests id=test_channel_stats_hidden points=3]
# Hidden tests for channel_stats and training_split_stats run here when your work is graded.
### BEGIN HIDDEN TESTS
def _reference_stats(images):
    flat = images.double().transpose(0, 1).reshape(images.shape[1], -1)
    return flat.mean(dim=1).float(), flat.std(dim=1, correction=0).float()


def _hidden_channel_stats():
    g = torch.Generator().manual_seed(3)
    sizes = [16, 16, 16, 3]  # the last batch is smaller, as with a DataLoader
    batches = [(torch.rand(n, 4, 5, 7, generator=g) * torch.tensor([1.0, 2.0, 0.5, 3.0]).view(1, 4, 1, 1)
                + torch.tensor([0.0, 1.0, -1.0, 5.0]).view(1, 4, 1, 1), torch.zeros(n)) for n in sizes]
    # A small, very bright batch: per-batch averaging now visibly differs from the exact result.
    batches.append((torch.rand(2, 4, 5, 7, generator=g) + 10, torch.zeros(2)))
    everything = torch.cat([images for images, _ in batches])
    mean, std = _reference_stats(everything)
    batch_means = torch.stack([_reference_stats(images)[0] for images, _ in batches])
    batch_stds = torch.stack([_reference_stats(images)[1] for images, _ in batches])
    got_mean, got_std = student_call("channel_stats(batches)", channel_stats, iter(batches))
    check_close(got_mean, mean, "mean over 5 batches of sizes 16, 16, 16, 3, 2 with 4 channels",
                mistakes={"averaged the per-batch means: batches of different sizes need weighting by "
                          "their number of pixels": batch_means.mean(0)})
    flat = everything.double().transpose(0, 1).reshape(4, -1)
    check_close(got_std, std, "std over 5 batches of sizes 16, 16, 16, 3, 2 with 4 channels",
                mistakes={"averaged the per-batch stds: the std of the whole data is not the mean of the "
                          "batches' stds (accumulate sums of x and x**2)": lambda g: any(
                              torch.allclose(g.double(), s.double(), atol=1e-5)
                              for s in (batch_stds.mean(0), (batch_stds ** 2).mean(0).sqrt())),
                          "unbiased std (divides by N - 1): the contract asks for the population std (N)":
                              flat.std(dim=1).float()})

    # A dataset whose validation and test images are much brighter than its training images.
    root = Path(tempfile.mkdtemp())
    rng = np.random.default_rng(5)
    splits = {"train": (0, 100), "valid": (150, 256), "test": (200, 256)}
    arrays = {}
    for split, (low, high) in splits.items():
        n = {"train": 9, "valid": 4, "test": 3}[split]
        arrays[split] = [rng.integers(low, high, size=(4, 6, 3), dtype=np.uint8) for _ in range(n)]
        write_labelled_images(root / split, arrays[split], ["a", "b", "c"] * (n // 3) + ["a"] * (n % 3))

    def stats_of(*names):
        images = torch.stack([torch.from_numpy(a).permute(2, 0, 1).float() / 255
                              for name in names for a in arrays[name]])
        return _reference_stats(images)

    got_mean, got_std = student_call("training_split_stats(root, batch_size=4)", training_split_stats,
                                     root, batch_size=4)
    train_mean, train_std = stats_of("train")
    all_mean, _ = stats_of("train", "valid", "test")
    leaks = "statistics over every split (train + valid + test): compute them on the training split only"
    check_close(got_mean, train_mean, "mean from training_split_stats on a dataset with 9 training images",
                mistakes={leaks: all_mean, "statistics of the validation split, not the training split":
                          stats_of("valid")[0]})
    check_close(got_std, train_std, "std from training_split_stats on a dataset with 9 training images")


_hidden_channel_stats()
print("Part 2 hidden tests passed.")
### END HIDDEN TESTS

# %% [markdown readonly id=part3]
# ## Part 3 — a padding `collate_fn` (3 points)
#
# Sequences of different lengths cannot be stacked into one tensor: `default_collate` fails with
# `stack expects each tensor to be equal size`. A padding `collate_fn` fills the short ones up.
#
# **`pad_collate(batch, pad_value=0)`**
# - `batch`: a list of `(sequence, label)` samples; `sequence` a tensor of shape `(L_i, *)` (any
#   dtype, the same trailing dimensions `*` for all; `L_i` may be 0), `label` an `int`.
# - Returns `(padded, lengths, labels)`, in the order of `batch` (do not sort it):
#   - `padded`: shape `(B, L_max, *)`, the dtype of the sequences; row `i` is sequence `i` followed
#     by `pad_value` up to `L_max` (padding on the **right**);
#   - `lengths`: `int64` tensor of shape `(B,)`, the original `L_i`;
#   - `labels`: `int64` tensor of shape `(B,)`.
#
# Use it as `DataLoader(..., collate_fn=pad_collate)` (or `functools.partial(pad_collate, pad_value=-1)`).

# %% [answer id=pad_collate]
def pad_collate(batch, pad_value=0):
    ### BEGIN SOLUTION
    sequences = [sequence for sequence, _ in batch]
    lengths = torch.tensor([len(sequence) for sequence in sequences], dtype=torch.int64)
    padded = sequences[0].new_full((len(batch), int(lengths.max()), *sequences[0].shape[1:]), pad_value)
    for i, sequence in enumerate(sequences):
        padded[i, : len(sequence)] = sequence
    labels = torch.tensor([label for _, label in batch], dtype=torch.int64)
    return padded, lengths, labels
    ### END SOLUTION

# %% [tests id=test_pad_collate points=1]
_batch = [(torch.tensor([5, 6, 7]), 1), (torch.tensor([8]), 0)]
padded, lengths, labels = student_call("pad_collate(batch)", pad_collate, _batch)
check_close(padded, torch.tensor([[5, 6, 7], [8, 0, 0]]), "padded for sequences [5, 6, 7] and [8]",
            mistakes={"padding on the left: pad on the right, after each sequence": torch.tensor([[5, 6, 7], [0, 0, 8]])})
check_close(lengths, torch.tensor([3, 1]), "lengths for sequences [5, 6, 7] and [8]")
check_close(labels, torch.tensor([1, 0]), "labels for labels 1 and 0")
print("Part 3 visible tests passed.")

# %% [tests id=test_pad_collate_hidden points=2]
# Hidden tests for pad_collate run here when your work is graded.
### BEGIN HIDDEN TESTS
def _pad(sequences, value, left=False):
    longest = max(len(s) for s in sequences)
    out = sequences[0].new_full((len(sequences), longest, *sequences[0].shape[1:]), value)
    for i, s in enumerate(sequences):
        if len(s):
            if left:
                out[i, longest - len(s):] = s
            else:
                out[i, : len(s)] = s
    return out


def _hidden_pad_collate():
    g = torch.Generator().manual_seed(11)
    lengths = [2, 7, 0, 4, 7, 1]
    sequences = [torch.randn(n, 3, generator=g) for n in lengths]  # (L_i, 3) float features
    labels = [4, 0, 2, 2, 1, 3]
    batch = list(zip(sequences, labels))
    padded, got_lengths, got_labels = student_call("pad_collate(batch, pad_value=-1.0)", pad_collate,
                                                   batch, pad_value=-1.0)
    order = sorted(range(6), key=lambda i: -lengths[i])
    check_close(padded, _pad(sequences, -1.0), "padded for 6 sequences of shape (L_i, 3), pad_value=-1",
                mistakes={"padding on the left: pad on the right, after each sequence": _pad(sequences, -1.0, left=True),
                          "pad_value ignored: the padding must be pad_value, not always 0": _pad(sequences, 0.0),
                          "the batch was sorted by length: keep the samples in the order given":
                              _pad([sequences[i] for i in order], -1.0)})
    check_close(got_lengths, torch.tensor(lengths), "lengths for sequences of lengths 2, 7, 0, 4, 7, 1",
                hint="lengths must be an int64 tensor of the original lengths, in the order of the batch")
    check_close(got_labels, torch.tensor(labels), "labels",
                mistakes={"the batch was sorted by length: keep the samples in the order given":
                          torch.tensor([labels[i] for i in order])})
    tokens = [torch.randint(1, 50, (n,), generator=g) for n in (3, 5, 1)]
    loader = DataLoader(list(zip(tokens, [0, 1, 0])), batch_size=3, collate_fn=pad_collate)
    padded, got_lengths, got_labels = student_call("next(iter(DataLoader(..., collate_fn=pad_collate)))",
                                                   lambda: next(iter(loader)))
    check_close(padded, _pad(tokens, 0), "padded int64 token ids from a DataLoader with collate_fn=pad_collate")
    check_dtype(got_lengths, torch.int64, "lengths")
    check_dtype(got_labels, torch.int64, "labels",
                hint="labels returned as floats: class indices must be int64")
    single, single_lengths, _ = student_call("pad_collate([one sample])", pad_collate, [(tokens[0], 1)])
    check_close(single, tokens[0].unsqueeze(0), "padded for a batch of one sequence")


_hidden_pad_collate()
print("Part 3 hidden tests passed.")
### END HIDDEN TESTS

# %% [markdown readonly id=part4]
# ## Part 4 — weights for `WeightedRandomSampler` (3 points)
#
# On an imbalanced dataset, `WeightedRandomSampler(weights, num_samples)` can draw every class
# equally often. It wants **one weight per sample** (not per class): the probability of drawing
# sample `i` is `weights[i] / weights.sum()`.
#
# **`balanced_sample_weights(labels)`**
# - `labels`: `int64` tensor of shape `(N,)` of class indices (not every index need occur:
#   labels may be, say, only 0, 3 and 7).
# - Returns a floating-point tensor of shape `(N,)`: sample `i` gets weight `1 / count(labels[i])`,
#   so that every class that occurs has the same total weight. (Any positive multiple of these
#   weights is also accepted: only their ratios matter.)

# %% [answer id=sample_weights]
def balanced_sample_weights(labels):
    ### BEGIN SOLUTION
    counts = torch.bincount(labels)
    return 1.0 / counts[labels].double()
    ### END SOLUTION

# %% [tests id=test_sample_weights points=1]
_labels = torch.tensor([0, 0, 0, 1, 0, 1])
weights = student_call("balanced_sample_weights(labels)", balanced_sample_weights, _labels)
check_type(weights, torch.Tensor, "weights")
check_shape(weights, (6,), "weights for 6 labels",
            mistakes={"one weight per class: WeightedRandomSampler needs one weight per sample": (2,)})
check(weights.is_floating_point(), f"weights dtype: expected a floating-point dtype, got {weights.dtype}.")
_expected = torch.tensor([1 / 4, 1 / 4, 1 / 4, 1 / 2, 1 / 4, 1 / 2], dtype=weights.dtype)
check_close(weights / weights.sum(), _expected / _expected.sum(),
            "weights (normalised to sum to 1) for labels [0, 0, 0, 1, 0, 1]",
            mistakes={"weights proportional to the class counts: use their inverse, 1 / count":
                      lambda w: w.shape == (6,) and bool(w[0] > w[3])})
print("Part 4 visible tests passed.")

# %% [tests id=test_sample_weights_hidden points=2]
# Hidden tests for balanced_sample_weights run here when your work is graded.
### BEGIN HIDDEN TESTS
def _hidden_sample_weights():
    g = torch.Generator().manual_seed(7)
    counts = {0: 60, 3: 6, 7: 24}
    labels = torch.cat([torch.full((n,), c) for c, n in counts.items()])[torch.randperm(90, generator=g)]
    weights = student_call("balanced_sample_weights(labels with classes 0, 3, 7)", balanced_sample_weights,
                           labels, known_errors={"out of bounds": "class counts indexed as if classes were "
                                                 "0..C-1 without gaps (torch.unique's counts are per distinct label)"})
    check_type(weights, torch.Tensor, "weights")
    check_shape(weights, (90,), "weights for 90 labels of classes 0, 3, 7",
                mistakes={"one weight per class: WeightedRandomSampler needs one weight per sample":
                          lambda s: s in [(3,), (8,)]})
    check(weights.is_floating_point(), f"weights dtype: expected a floating-point dtype, got {weights.dtype}.")
    expected = torch.tensor([1 / counts[int(c)] for c in labels], dtype=torch.float64)
    got = weights.double() / weights.double().sum()
    check_close(got, expected / expected.sum(), "weights (normalised to sum to 1) for classes 0, 3, 7 of "
                "sizes 60, 6, 24", check_dtype=False,
                mistakes={"weights proportional to the class counts: use their inverse, 1 / count":
                          lambda w: bool(w[labels == 0][0] > w[labels == 3][0])})
    sampler = torch.utils.data.WeightedRandomSampler(weights, num_samples=9000, replacement=True,
                                                     generator=torch.Generator().manual_seed(0))
    drawn = torch.bincount(labels[list(sampler)], minlength=8)[[0, 3, 7]] / 9000
    check(bool(((drawn - 1 / 3).abs() < 0.05).all()), f"class frequencies drawn by WeightedRandomSampler: "
          f"expected about 1/3 each, got {[round(x, 3) for x in drawn.tolist()]}.")


_hidden_sample_weights()
print("Part 4 hidden tests passed.")
### END HIDDEN TESTS

# %% [markdown readonly id=part5]
# ## Part 5 — an `IterableDataset` sharded across workers (3 points)
#
# With `num_workers=k`, a `DataLoader` copies an `IterableDataset` into each of its `k` worker
# processes and iterates every copy: unless each copy yields only its own share, every record
# comes out `k` times.
#
# **`ShardedStream(records)`**, a subclass of `torch.utils.data.IterableDataset`:
# - `records`: a list (think of it as the lines of a file).
# - `__iter__()`: in the main process (`get_worker_info()` is `None`) yields every record, in
#   order. In worker `id` of `num_workers` (from `get_worker_info()`), yields only that worker's
#   share, chosen so that, over all workers, **every record comes out exactly once**: no duplicates,
#   no gaps, for any number of workers (even more workers than records) and any number of records.

# %% [answer id=sharded_stream]
class ShardedStream(IterableDataset):
    ### BEGIN SOLUTION
    def __init__(self, records):
        self.records = list(records)

    def __iter__(self):
        info = get_worker_info()
        if info is None:
            return iter(self.records)
        per_worker = math.ceil(len(self.records) / info.num_workers)
        start = info.id * per_worker
        return iter(self.records[start:start + per_worker])
    ### END SOLUTION

# %% [tests id=test_sharded_stream points=1]
_records = [f"line {i}" for i in range(10)]
check_equal(student_call("list(ShardedStream(records))", lambda: list(ShardedStream(_records))), _records,
            "records from ShardedStream in the main process")
_loader = DataLoader(ShardedStream(_records), batch_size=None, num_workers=2, timeout=30)
_got = call_with_timeout(lambda: list(_loader), 40, "list(DataLoader(ShardedStream(records), num_workers=2))")
check_equal(sorted(_got), sorted(_records), "records (sorted) through a DataLoader with num_workers=2",
            mistakes={"every worker yields the whole stream: shard it with get_worker_info()":
                      lambda g: len(g) == 20})
print("Part 5 visible tests passed.")

# %% [tests id=test_sharded_stream_hidden points=2]
# Hidden tests for ShardedStream run here when your work is graded.
### BEGIN HIDDEN TESTS
def _hidden_sharded_stream():
    import warnings
    warnings.filterwarnings("ignore", message="This DataLoader will create")  # more workers than cores
    for n_records, workers in [(11, 3), (2, 3), (7, 4)]:
        records = [n_records * 100 + i for i in range(n_records)]
        loader = DataLoader(ShardedStream(records), batch_size=None, num_workers=workers, timeout=30)
        got = call_with_timeout(lambda: [int(x) for x in loader], 40,
                                f"a DataLoader over ShardedStream of {n_records} records, num_workers={workers}")
        what = f"records (sorted) from {n_records} records through a DataLoader with num_workers={workers}"
        duplicates = sorted({x for x in got if got.count(x) > 1})
        missing = sorted(set(records) - set(got))
        check_equal(sorted(got), records, what,
                    mistakes={"every worker yields the whole stream: shard it with get_worker_info()":
                              lambda g: len(g) == workers * n_records,
                              "gaps: records at the end are lost (floor division drops the remainder; "
                              f"here {missing} are missing)": lambda g: len(set(g)) == len(g) and bool(missing),
                              f"duplicates: records {duplicates} come out more than once (shards overlap)":
                                  lambda g: bool(duplicates)})
    loader = DataLoader(ShardedStream(list(range(5))), batch_size=2, num_workers=2, timeout=30)
    batches = call_with_timeout(lambda: list(loader), 40, "batches of 2 from ShardedStream(range(5))")
    check_equal(sorted(int(x) for b in batches for x in b), list(range(5)), "records in batches of 2, 2 workers")


_hidden_sharded_stream()
print("Part 5 hidden tests passed.")
### END HIDDEN TESTS

# %% [markdown readonly id=part6]
# ## Part 6 — from scratch: samplers and a batch sampler (3 points)
#
# A `DataLoader` asks its *sampler* for the order of the indices and its *batch sampler* for how
# to group them. Build your own (do not use `torch.utils.data`'s samplers).
#
# **`SequentialSampler(n)`**: iterating yields `0, 1, ..., n - 1`; `len()` is `n`.
#
# **`RandomSampler(n, generator=None)`**: **each** iteration (each epoch) yields a new permutation
# of `0 .. n - 1`, drawn as `torch.randperm(n, generator=self.generator).tolist()`; `len()` is `n`.
# With the same seeded generator its first epoch is the same as `torch.utils.data.RandomSampler`'s.
#
# **`BatchSampler(sampler, batch_size, drop_last)`**: `sampler` is any iterable of indices with a
# `len()` (one of yours, or a plain list). Iterating yields lists of `batch_size` indices in the
# sampler's order; the last list may be shorter, unless `drop_last` is true, in which case it is
# dropped. `len()` is the number of lists an iteration yields.

# %% [answer id=samplers]
class SequentialSampler:
    ### BEGIN SOLUTION
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n
    ### END SOLUTION


class RandomSampler:
    ### BEGIN SOLUTION
    def __init__(self, n, generator=None):
        self.n = n
        self.generator = generator

    def __iter__(self):
        return iter(torch.randperm(self.n, generator=self.generator).tolist())

    def __len__(self):
        return self.n
    ### END SOLUTION


class BatchSampler:
    ### BEGIN SOLUTION
    def __init__(self, sampler, batch_size, drop_last):
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return math.ceil(len(self.sampler) / self.batch_size)
    ### END SOLUTION

# %% [tests id=test_samplers points=1]
check_equal(list(SequentialSampler(4)), [0, 1, 2, 3], "list(SequentialSampler(4))")
check_equal(len(SequentialSampler(4)), 4, "len(SequentialSampler(4))")
_order = list(RandomSampler(6, torch.Generator().manual_seed(0)))
check_equal(sorted(_order), list(range(6)), "sorted(RandomSampler(6))")
check_equal(list(BatchSampler(SequentialSampler(7), 3, False)), [[0, 1, 2], [3, 4, 5], [6]],
            "list(BatchSampler(SequentialSampler(7), 3, drop_last=False))",
            mistakes={"the last, partial batch is dropped even though drop_last is False":
                      [[0, 1, 2], [3, 4, 5]]})
check_equal(len(BatchSampler(SequentialSampler(7), 3, False)), 3, "len(BatchSampler(SequentialSampler(7), 3, False))",
            mistakes={"len() uses floor division even though drop_last is False": 2})
print("Part 6 visible tests passed.")

# %% [tests id=test_samplers_hidden points=2]
# Hidden tests for the samplers run here when your work is graded.
### BEGIN HIDDEN TESTS
def _hidden_samplers():
    from torch.utils.data import BatchSampler as TorchBatchSampler, RandomSampler as TorchRandomSampler
    torch_order = list(TorchRandomSampler(range(13), generator=torch.Generator().manual_seed(42)))
    sampler = student_call("RandomSampler(13, generator)", RandomSampler, 13, torch.Generator().manual_seed(42))
    first = student_call("list(RandomSampler(13, generator))", list, sampler)
    check_equal(first, torch_order, "first epoch of RandomSampler(13) with a generator seeded 42",
                mistakes={"the generator is ignored: pass generator=self.generator to torch.randperm":
                          lambda g: sorted(g) == list(range(13))})
    second = list(sampler)
    check(sorted(second) == list(range(13)) and second != first,
          f"second epoch of RandomSampler(13): expected a new permutation, got {second} (first epoch {first}).",
          hint="the permutation is drawn once in __init__: every epoch would see the same order")
    check_equal(len(sampler), 13, "len(RandomSampler(13))")
    for n, size, drop in [(10, 4, True), (10, 4, False), (12, 4, True), (12, 4, False), (3, 5, True), (3, 5, False)]:
        indices = torch.randperm(n).tolist()
        expected = list(TorchBatchSampler(indices, size, drop))
        what = f"BatchSampler(a list of {n} indices, batch_size={size}, drop_last={drop})"
        check_equal(student_call(f"list({what})", lambda: list(BatchSampler(indices, size, drop))), expected,
                    f"list({what})", mistakes={"the last, partial batch is dropped even though drop_last is False":
                                               expected[:-1], "drop_last ignored: the last, partial batch is kept":
                                               list(TorchBatchSampler(indices, size, False))})
        check_equal(len(BatchSampler(indices, size, drop)), len(expected), f"len({what})",
                    mistakes={"len() uses floor division even though drop_last is False": n // size,
                              "len() rounds up even though drop_last is True": math.ceil(n / size)})


_hidden_samplers()
print("Part 6 hidden tests passed.")
### END HIDDEN TESTS

# %% [markdown readonly id=part7]
# ## Part 7 — from scratch: the default collate function (3 points)
#
# A `DataLoader` turns a list of samples into a batch with `collate_fn`; by default with
# `torch.utils.data.default_collate`. Write your own version of it (do not call `default_collate`).
#
# **`collate(batch)`**: `batch` is a non-empty list of samples of the same structure. Returns:
# - samples are tensors (all of one shape) → one tensor, stacked along a **new** first dimension;
# - Python `int`s → an `int64` tensor; Python `float`s → a `float64` tensor (as PyTorch does);
# - `str`s → the list of strings, unchanged;
# - tuples or lists (each sample a sequence of fields) → a list whose element `i` is `collate` of
#   the samples' `i`-th fields;
# - dicts → a dict with the same keys, each value `collate` of the samples' values for that key.
# Nesting works: samples like `(image, {"label": 3, "weight": 0.5})` are collated recursively.

# %% [answer id=collate]
def collate(batch):
    ### BEGIN SOLUTION
    first = batch[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(batch)
    if isinstance(first, bool) or isinstance(first, int):
        return torch.tensor(batch, dtype=torch.int64)
    if isinstance(first, float):
        return torch.tensor(batch, dtype=torch.float64)
    if isinstance(first, str):
        return list(batch)
    if isinstance(first, dict):
        return {key: collate([sample[key] for sample in batch]) for key in first}
    if isinstance(first, (tuple, list)):
        return [collate(list(fields)) for fields in zip(*batch)]
    raise TypeError(f"collate: cannot batch samples of type {type(first).__name__}")
    ### END SOLUTION

# %% [tests id=test_collate points=1]
from torch.utils.data import default_collate

_samples = [(torch.ones(2, 3), 1), (torch.zeros(2, 3), 0)]
_got = student_call("collate([(tensor(2, 3), 1), (tensor(2, 3), 0)])", collate, _samples)
check_type(_got, (list, tuple), "collate of (image, label) samples")
check_shape(_got[0], (2, 2, 3), "images collated from two (2, 3) tensors",
            mistakes={"torch.cat joins the samples along their first dimension: torch.stack adds a new batch "
                      "dimension": (4, 3)})
check_same_batch(_got, default_collate(_samples), "collate([(tensor(2, 3), 1), (tensor(2, 3), 0)])")
print("Part 7 visible tests passed.")

# %% [tests id=test_collate_hidden points=2]
# Hidden tests for collate run here when your work is graded.
### BEGIN HIDDEN TESTS
def _hidden_collate():
    g = torch.Generator().manual_seed(2)
    cases = {
        "tensors of shape (3, 4)": [torch.randn(3, 4, generator=g) for _ in range(5)],
        "ints": [3, 1, 4],
        "floats": [0.5, 1.5, -2.0],
        "(tensor, float, str) tuples": [(torch.randn(2, generator=g), float(i), f"id{i}") for i in range(4)],
        "dicts {'x': tensor, 'y': int}": [{"x": torch.randint(0, 9, (3,), generator=g), "y": i} for i in range(3)],
        "nested (tensor, {'label': int, 'weight': float})": [(torch.randn(1, 2, 2, generator=g),
                                                              {"label": i, "weight": i / 4}) for i in range(3)],
        "[int, int] lists": [[1, 2], [3, 4], [5, 6]],
    }
    for what, samples in cases.items():
        expected = default_collate(samples)
        got = student_call(f"collate(samples: {what})", collate, samples)
        check_same_batch(got, expected, f"collate of {what}",
                         mistakes={"floats collated to float32: PyTorch's default_collate gives float64":
                                   lambda t: t.dtype == torch.float32 and t.dim() == 1})


_hidden_collate()
print("Part 7 hidden tests passed.")
### END HIDDEN TESTS

# %% [markdown readonly id=part8]
# ## Part 8 — from scratch: a DataLoader with a pool of worker processes (5 points)
#
# **`MiniDataLoader(dataset, batch_size=1, shuffle=False, sampler=None, drop_last=False,
# collate_fn=None, num_workers=0, generator=None)`**, built from your Parts 6 and 7:
# - the index order is `sampler` if given (any iterable of indices with a `len()`), else
#   `RandomSampler(len(dataset), generator)` if `shuffle`, else `SequentialSampler(len(dataset))`;
#   indices are grouped by your `BatchSampler(order, batch_size, drop_last)`;
# - a batch is `collate_fn([dataset[i] for i in indices])`, with your `collate` when `collate_fn` is `None`;
# - `len(loader)` is the number of batches; iterating yields the batches **in the order of the
#   batch sampler**: the same batches as `torch.utils.data.DataLoader` with the same arguments and
#   the same index order;
# - `num_workers=0`: batches are made in the main process. `num_workers=k > 0`: each iteration
#   starts `k` worker processes (`multiprocessing`, e.g. `mp.get_context("fork")`) that make the
#   batches; the main process hands out index lists, collects the batches and yields them in order
#   (a worker that finishes early must not make its batch come out early). Keep at most a few
#   batches per worker in flight. When the iteration ends, the workers are stopped (none left
#   running).
# - each worker calls `torch.set_num_threads(1)` before anything else, as PyTorch's own workers do:
#   a forked process inherits a broken copy of torch's thread pool, and a multi-threaded op in it
#   (a reduction over a large tensor) can wait forever;
# - an exception raised by the dataset inside a worker must reach the main process as an
#   exception whose message includes the original message (not a hang).
#
# `mp` (`multiprocessing`) and `queue` are imported in the setup cell.

# %% [answer id=mini_dataloader]
### BEGIN SOLUTION
def _worker_loop(dataset, collate_fn, index_queue, result_queue):
    # The forked copy of the parent's torch thread pool is unusable: stay single-threaded.
    torch.set_num_threads(1)
    # Exit without waiting for the result queue to flush: the main process has
    # received every result it wants by the time it asks this worker to stop.
    result_queue.cancel_join_thread()
    while True:
        task = index_queue.get()
        if task is None:
            return
        batch_number, indices = task
        try:
            result_queue.put((batch_number, collate_fn([dataset[i] for i in indices]), None))
        except Exception as error:
            result_queue.put((batch_number, None, f"{type(error).__name__}: {error}"))
### END SOLUTION


class MiniDataLoader:
    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, drop_last=False,
                 collate_fn=None, num_workers=0, generator=None):
        ### BEGIN SOLUTION
        if sampler is None:
            sampler = RandomSampler(len(dataset), generator) if shuffle else SequentialSampler(len(dataset))
        self.dataset = dataset
        self.batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.collate_fn = collate_fn if collate_fn is not None else collate
        self.num_workers = num_workers
        self.prefetch_factor = 2
        ### END SOLUTION

    def __len__(self):
        ### BEGIN SOLUTION
        return len(self.batch_sampler)
        ### END SOLUTION

    def __iter__(self):
        ### BEGIN SOLUTION
        if self.num_workers == 0:
            for indices in self.batch_sampler:
                yield self.collate_fn([self.dataset[i] for i in indices])
            return
        context = mp.get_context("fork")
        results = context.Queue()
        index_queues = [context.Queue() for _ in range(self.num_workers)]
        workers = [context.Process(target=_worker_loop, daemon=True,
                                   args=(self.dataset, self.collate_fn, index_queue, results))
                   for index_queue in index_queues]
        for worker in workers:
            worker.start()
        tasks = enumerate(self.batch_sampler)
        sent = 0

        def send_one():
            nonlocal sent
            task = next(tasks, None)
            if task is not None:
                index_queues[task[0] % self.num_workers].put((task[0], list(task[1])))
                sent += 1

        try:
            for _ in range(self.prefetch_factor * self.num_workers):
                send_one()
            arrived = {}
            for batch_number in range(len(self.batch_sampler)):
                if batch_number >= sent:
                    break
                while batch_number not in arrived:
                    try:
                        number, batch, error = results.get(timeout=1.0)
                    except queue.Empty:
                        if not all(worker.is_alive() for worker in workers):
                            raise RuntimeError("a DataLoader worker exited unexpectedly") from None
                        continue
                    arrived[number] = (batch, error)
                batch, error = arrived.pop(batch_number)
                if error is not None:
                    raise RuntimeError(f"a worker failed on batch {batch_number}: {error}")
                send_one()
                yield batch
        finally:
            for index_queue in index_queues:
                index_queue.put(None)
            for worker in workers:
                worker.join(timeout=2)
                if worker.is_alive():
                    worker.terminate()
                    worker.join()
        ### END SOLUTION

# %% [tests id=test_mini_dataloader points=2]
_data = torch.utils.data.TensorDataset(torch.arange(20.0).view(10, 2), torch.arange(10))
for _workers in (0, 2):
    _mine = student_call(f"MiniDataLoader(dataset, batch_size=4, num_workers={_workers})", MiniDataLoader,
                         _data, batch_size=4, num_workers=_workers)
    check_equal(student_call("len(loader)", len, _mine), 3, "len(MiniDataLoader) of 10 samples, batch_size=4")
    _got = call_with_timeout(lambda: list(_mine), 30, f"list(MiniDataLoader(..., num_workers={_workers}))")
    check_same_batches(_got, list(DataLoader(_data, batch_size=4)),
                       f"batches of MiniDataLoader(dataset of 10, batch_size=4, num_workers={_workers})")
print("Part 8 visible tests passed.")

# %% [tests id=test_mini_dataloader_hidden points=3]
# Hidden tests for MiniDataLoader run here when your work is graded.
### BEGIN HIDDEN TESTS
class _Records(Dataset):
    """Samples with a tensor, an int and a dict; item 0..2 can be slow; item `fail_at` raises."""

    def __init__(self, n, slow=(), fail_at=None):
        g = torch.Generator().manual_seed(n)
        self.x = torch.randn(n, 3, generator=g)
        self.slow, self.fail_at = set(slow), fail_at

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        if i in self.slow:
            time.sleep(0.4)
        if i == self.fail_at:
            raise ValueError(f"corrupt record {i}")
        return self.x[i], i, {"pid": os.getpid(), "half": i / 2}


class _Standardised(Dataset):
    def __init__(self, images):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        image = self.images[i]
        return (image - image.mean()) / image.std()


def _hidden_mini_dataloader():
    data = _Records(23)
    order = torch.randperm(23, generator=torch.Generator().manual_seed(1)).tolist()
    for workers, drop in [(0, False), (2, True), (3, False)]:
        what = f"MiniDataLoader(dataset of 23, batch_size=5, sampler=a permutation, drop_last={drop}, num_workers={workers})"
        loader = student_call(what, MiniDataLoader, data, batch_size=5, sampler=order, drop_last=drop,
                              num_workers=workers)
        expected = list(DataLoader(data, batch_size=5, sampler=order, drop_last=drop))
        check_equal(len(loader), len(expected), f"len({what})")
        got = call_with_timeout(lambda: list(loader), 30, f"list({what})")
        check_equal(len(got), len(expected), f"number of batches from {what}",
                    mistakes={"drop_last ignored: the last, partial batch is kept": len(expected) + 1})
        for batch in got:  # pids differ between processes: check them apart
            check_type(batch, (list, tuple), f"a batch from {what}")
            check_type(batch[2], dict, f"the dict field of a batch from {what}")
            pids = set(batch[2].pop("pid").tolist())
            check(workers > 0 or pids == {os.getpid()}, "num_workers=0: batches must be made in the main process.")
            check(workers == 0 or os.getpid() not in pids, f"{what}: expected the batches to be made in worker "
                  f"processes, but they were made in the main process.",
                  hint="num_workers ignored: the batches were made in the main process")
        for batch in expected:
            batch[2].pop("pid")
        check_same_batches(got, expected, f"batches of {what}")

    # Batch 0 is slow to make: a pool that yields batches as they finish yields it late.
    slow = _Records(12, slow=(0,))
    loader = student_call("MiniDataLoader(dataset, batch_size=2, num_workers=2)", MiniDataLoader, slow,
                          batch_size=2, num_workers=2)
    got = call_with_timeout(lambda: [int(b[1][0]) for b in loader], 30, "a pass over a dataset whose first item is slow")
    check_equal(got, [0, 2, 4, 6, 8, 10], "first index of each batch when batch 0 is slow to make (num_workers=2)",
                mistakes={OUT_OF_ORDER: lambda g: sorted(g) == [0, 2, 4, 6, 8, 10]})

    shuffled = [student_call("MiniDataLoader(dataset, batch_size=4, shuffle=True, generator=seeded)", MiniDataLoader,
                             data, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(5))
                for _ in range(2)]
    first, again = [[int(i) for b in loader for i in b[1]] for loader in shuffled]
    check_equal(sorted(first), list(range(23)), "indices of one shuffled epoch (sorted)")
    check(first != list(range(23)), "shuffle=True: expected a shuffled order, got 0, 1, 2, ... in order.",
          hint="shuffle ignored: use RandomSampler when shuffle is true")
    check_equal(again, first, "indices of two shuffled loaders with generators seeded alike",
                hint="the generator is ignored: shuffling with it must be reproducible")
    counts = list(MiniDataLoader(data, batch_size=6, collate_fn=len))
    check_equal(counts, [6, 6, 6, 5], "batches with collate_fn=len", hint="collate_fn ignored")

    failing = MiniDataLoader(_Records(8, fail_at=5), batch_size=2, num_workers=2)
    def consume():
        try:
            list(failing)
        except Exception as error:
            return str(error)
        return None
    message = call_with_timeout(consume, 30, "a pass over a dataset that raises ValueError('corrupt record 5')",
                                hint="a worker died on the exception and the main process waits for its batch "
                                     "forever: catch it in the worker and send it back")
    check(message is not None and "corrupt record 5" in message, "a dataset that raises ValueError('corrupt record 5') "
          f"in a worker: expected an exception mentioning it in the main process, got "
          f"{'no exception' if message is None else repr(message)}.")

    # Samples normalised one by one (a reduction over 3x128x128 values, which torch runs on its
    # thread pool), after the main process has used that pool itself.
    (torch.randn(256, 3, 32, 32) ** 2).sum(dim=(0, 2, 3))
    images = _Standardised(torch.randn(6, 3, 128, 128, generator=torch.Generator().manual_seed(4)))
    loader = MiniDataLoader(images, batch_size=3, num_workers=2)
    got = call_with_timeout(lambda: list(loader), 20, "MiniDataLoader over 6 standardised images (3, 128, 128), "
                            "batch_size=3, num_workers=2", hint="a forked worker that uses torch's thread pool can wait "
                            "forever: call torch.set_num_threads(1) first in each worker")
    expected = list(DataLoader(images, batch_size=3))
    check_equal(len(got), len(expected), "number of batches of standardised images")
    for i, (batch, reference) in enumerate(zip(got, expected)):
        check_close(batch, reference, f"batch {i} of standardised images")  # threads may round differently

    before = {p.pid for p in mp.active_children()}
    list(MiniDataLoader(data, batch_size=5, num_workers=2))
    deadline = time.monotonic() + 3
    while {p.pid for p in mp.active_children()} - before and time.monotonic() < deadline:
        time.sleep(0.1)
    left = {p.pid for p in mp.active_children()} - before
    check(not left, f"worker processes after a finished epoch: expected none left running, got {len(left)}.",
          hint="workers never stopped: send each a stop signal (or close the pool) when the iteration ends")


_hidden_mini_dataloader()
print("Part 8 hidden tests passed.")
### END HIDDEN TESTS
