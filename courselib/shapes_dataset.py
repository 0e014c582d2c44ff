"""A small, offline image dataset that the course generates on disk: coloured shapes.

``ensure_shapes_dataset()`` returns a folder laid out the way real image datasets are::

    <root>/
      classes.txt                 one class name per line, sorted
      train/labels.csv            columns ``file,label``: ``circle/0007.png,circle``
      train/circle/0007.png       32x32 RGB PNG files, one folder per class
      ...
      valid/labels.csv, valid/<class>/*.png
      test/labels.csv,  test/<class>/*.png

so it can be read with a labels CSV (unit 3's ``Dataset``) or as class folders
(``torchvision.datasets.ImageFolder(root / "train")``). Every image is drawn from a seed
derived from (seed, split, index): the same arguments give byte-identical files on every
machine. The first call draws the images (about a second for the default 1,500); later calls
find them in the cache under ``.course/data/`` (ignored by git) and return at once.

``imbalance=r`` makes the class counts fall geometrically from the first class to the last,
so that the last class has ``r`` times fewer images than the first, in every split.
"""
import csv
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CLASSES = ("circle", "cross", "ring", "square", "triangle")
DATA_DIR = Path(__file__).resolve().parent.parent / ".course" / "data"
SPLITS = ("train", "valid", "test")
_SPLIT_SALT = {"train": 0, "valid": 1, "test": 2}
_COMPLETE = "dataset.json"


def class_counts(per_class: int, imbalance: float = 1.0, n_classes: int = len(CLASSES)) -> list[int]:
    """Images per class: ``per_class`` for the first, falling to ``per_class / imbalance`` for the last."""
    if imbalance < 1:
        raise ValueError(f"imbalance must be >= 1, got {imbalance}")
    steps = max(n_classes - 1, 1)
    return [max(1, round(per_class * imbalance ** (-k / steps))) for k in range(n_classes)]


def _polygon(cx, cy, radius, angle, corners):
    return [(cx + radius * np.cos(angle + 2 * np.pi * k / corners),
             cy + radius * np.sin(angle + 2 * np.pi * k / corners)) for k in range(corners)]


def draw_shape(shape: str, rng: np.random.Generator, size: int = 32) -> Image.Image:
    """One ``size`` x ``size`` RGB image of ``shape`` on a noisy, coloured background."""
    background = rng.uniform(0, 160, size=3)
    noise = rng.normal(0, 18, size=(size, size, 3))
    pixels = np.clip(background + noise, 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)
    colour = tuple(int(c) for c in rng.uniform(90, 255, size=3))
    radius = rng.uniform(0.22, 0.38) * size
    cx, cy = rng.uniform(radius + 1, size - radius - 1, size=2)
    angle = rng.uniform(0, 2 * np.pi)
    box = (cx - radius, cy - radius, cx + radius, cy + radius)
    width = max(2, round(size / 10))
    if shape == "circle":
        draw.ellipse(box, fill=colour)
    elif shape == "ring":
        draw.ellipse(box, outline=colour, width=width)
    elif shape == "square":
        draw.polygon(_polygon(cx, cy, radius, angle, 4), fill=colour)
    elif shape == "triangle":
        draw.polygon(_polygon(cx, cy, radius, angle, 3), fill=colour)
    elif shape == "cross":
        for k in range(2):
            a = angle + k * np.pi / 2
            dx, dy = radius * np.cos(a), radius * np.sin(a)
            draw.line((cx - dx, cy - dy, cx + dx, cy + dy), fill=colour, width=width)
    else:
        raise ValueError(f"unknown shape {shape!r}; expected one of {CLASSES}")
    return image


def dataset_name(image_size: int, per_class: tuple, imbalance: float, seed: int) -> str:
    tag = f"shapes-{image_size}px-{'-'.join(map(str, per_class))}-seed{seed}"
    return tag + (f"-imbalance{imbalance:g}" if imbalance != 1 else "")


def _generate(folder: Path, image_size: int, per_class: tuple, imbalance: float, seed: int) -> None:
    (folder / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    for split, n in zip(SPLITS, per_class):
        rows = []
        for class_index, (shape, count) in enumerate(zip(CLASSES, class_counts(n, imbalance))):
            (folder / split / shape).mkdir(parents=True)
            for i in range(count):
                rng = np.random.default_rng([seed, _SPLIT_SALT[split], class_index, i])
                file = f"{shape}/{i:04d}.png"
                draw_shape(shape, rng, image_size).save(folder / split / file)
                rows.append((file, shape))
        # Rows in a seeded, shuffled order: a CSV is not sorted by class in real life either.
        order = np.random.default_rng([seed, _SPLIT_SALT[split], 99]).permutation(len(rows))
        with open(folder / split / "labels.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(("file", "label"))
            writer.writerows(rows[i] for i in order)


def ensure_shapes_dataset(image_size: int = 32, per_class: tuple = (200, 50, 50),
                          imbalance: float = 1.0, seed: int = 0, root: Path | None = None) -> Path:
    """The folder of the shapes dataset with these settings, generated on the first call.

    ``per_class`` is (train, valid, test) images per class (for the first class when
    ``imbalance`` > 1). ``root`` defaults to ``.course/data/`` in the repository.
    """
    per_class = tuple(int(n) for n in per_class)
    root = Path(root) if root is not None else DATA_DIR
    folder = root / dataset_name(image_size, per_class, imbalance, seed)
    if (folder / _COMPLETE).exists():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    # Draw into a scratch folder and rename it into place, so that a run interrupted
    # half-way (or two runs at once) never leaves a half-written dataset behind.
    scratch = Path(tempfile.mkdtemp(prefix=".partial-", dir=root))
    try:
        _generate(scratch, image_size, per_class, imbalance, seed)
        settings = dict(image_size=image_size, per_class=per_class, imbalance=imbalance, seed=seed,
                        classes=CLASSES)
        (scratch / _COMPLETE).write_text(json.dumps(settings, indent=1))
        try:
            os.rename(scratch, folder)
        except OSError:  # another process finished first, or a stale incomplete folder is there
            if not (folder / _COMPLETE).exists():
                shutil.rmtree(folder, ignore_errors=True)
                os.rename(scratch, folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder


def write_labelled_images(split_dir: Path, images: list, labels: list[str]) -> Path:
    """Save ``images`` (HxWx3 uint8 arrays) as ``<label>/<index>.png`` with a ``labels.csv``.

    Tests use it to build small, fresh datasets in a temporary folder.
    """
    split_dir = Path(split_dir)
    rows = []
    for i, (pixels, label) in enumerate(zip(images, labels)):
        (split_dir / label).mkdir(parents=True, exist_ok=True)
        file = f"{label}/{i:04d}.png"
        Image.fromarray(np.asarray(pixels, dtype=np.uint8), "RGB").save(split_dir / file)
        rows.append((file, label))
    with open(split_dir / "labels.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(("file", "label"))
        writer.writerows(rows)
    return split_dir
