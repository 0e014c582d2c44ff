"""The course's own pretrained weights, served through torchvision's ``weights=`` API.

Offline there are no ImageNet weights, so the course pretrains a small backbone itself, on a
*source task* it generates: 24 classes of coloured shapes (8 shapes x 3 fill styles, see
:data:`SOURCE_CLASSES`), none of which is a class of the shapes dataset that later units
transfer to. The result behaves like a torchvision model and its weights::

    from courselib.pretrained import CourseNet_Weights, course_model

    weights = CourseNet_Weights.DEFAULT            # like ResNet18_Weights.DEFAULT
    model = course_model(weights=weights)          # like resnet18(weights=...)
    preprocess = weights.transforms()              # resize, crop, to float, normalise
    weights.meta["categories"], weights.meta["_metrics"], weights.meta["num_params"]
    state_dict = weights.get_state_dict()          # checks the file's sha256 first

The checkpoint ``courselib/weights/coursenet_shapes24-<sha256 prefix>.pt`` (about 1.2 MB) is
committed; ``python -m courselib.pretrained`` regenerates it from scratch (seeded, one CPU thread,
a few minutes) and prints its sha256 and accuracy. A regenerated file is identical on the same
machine and software; on other hardware floating-point rounding may change its bytes, in which
case the script says so and :data:`WEIGHTS_SHA256` must be updated with the printed hash.
"""
import hashlib
import io
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import nn
from torchvision.models._api import Weights, WeightsEnum
from torchvision.models.resnet import BasicBlock
from torchvision.transforms._presets import ImageClassification

from courselib.shapes_dataset import _polygon

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
WEIGHTS_SHA256 = "3c34e09328af8d997a3413b6602564508782bd84c400cb7d37b91a606440f90c"
WEIGHTS_FILE = WEIGHTS_DIR / f"coursenet_shapes24-{WEIGHTS_SHA256[:8]}.pt"

SOURCE_SHAPES = ("arrow", "diamond", "ellipse", "hexagon", "pentagon", "semicircle", "star", "trapezoid")
SOURCE_STYLES = ("filled", "outline", "striped")
SOURCE_CLASSES = tuple(f"{style} {shape}" for shape in SOURCE_SHAPES for style in SOURCE_STYLES)
IMAGE_SIZE = 32
PRETRAIN_SEED = 0
SOURCE_PER_CLASS = {"train": 400, "test": 40}  # images per class of the source task
_SPLIT_SALT = {"train": 10, "test": 12}


# --------------------------------------------------------------------------------------------
# The source task: shapes the target tasks never show
# --------------------------------------------------------------------------------------------

def _outline_points(shape: str, cx: float, cy: float, radius: float, angle: float) -> list:
    """The polygon of ``shape``: a list of (x, y) corners."""
    def radial(radii):
        n = len(radii)
        return [(cx + r * np.cos(angle + 2 * np.pi * k / n), cy + r * np.sin(angle + 2 * np.pi * k / n))
                for k, r in enumerate(radii)]

    def rotated(points):  # points relative to the centre, in units of radius
        c, s = np.cos(angle), np.sin(angle)
        return [(cx + radius * (x * c - y * s), cy + radius * (x * s + y * c)) for x, y in points]

    if shape == "pentagon":
        return _polygon(cx, cy, radius, angle, 5)
    if shape == "hexagon":
        return _polygon(cx, cy, radius, angle, 6)
    if shape == "star":
        return radial([radius, 0.42 * radius] * 5)
    if shape == "diamond":
        return radial([radius, 0.5 * radius] * 2)
    if shape == "ellipse":
        return rotated([(np.cos(t), 0.5 * np.sin(t)) for t in np.linspace(0, 2 * np.pi, 24, endpoint=False)])
    if shape == "semicircle":
        return rotated([(np.cos(t), np.sin(t) - 0.4) for t in np.linspace(0, np.pi, 13)])
    if shape == "arrow":
        return rotated([(-1, -0.25), (0.1, -0.25), (0.1, -0.7), (1, 0), (0.1, 0.7), (0.1, 0.25), (-1, 0.25)])
    if shape == "trapezoid":
        return rotated([(-1, 0.6), (1, 0.6), (0.45, -0.6), (-0.45, -0.6)])
    raise ValueError(f"unknown source shape {shape!r}; expected one of {SOURCE_SHAPES}")


def draw_source_image(class_index: int, rng: np.random.Generator, size: int = IMAGE_SIZE) -> Image.Image:
    """One ``size`` x ``size`` RGB image of source class ``SOURCE_CLASSES[class_index]``."""
    style, shape = SOURCE_CLASSES[class_index].split(" ")
    background = rng.uniform(0, 160, size=3)
    pixels = np.clip(background + rng.normal(0, 18, size=(size, size, 3)), 0, 255)
    colour = rng.uniform(90, 255, size=3)
    radius = rng.uniform(0.25, 0.4) * size
    cx, cy = rng.uniform(radius + 1, size - radius - 1, size=2)
    points = _outline_points(shape, cx, cy, radius, rng.uniform(0, 2 * np.pi))
    mask_image = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(mask_image)
    if style == "outline":
        draw.line(points + points[:1], fill=255, width=max(2, round(size / 12)), joint="curve")
    else:
        draw.polygon(points, fill=255)
    mask = np.asarray(mask_image, dtype=np.float64) / 255
    if style == "striped":
        period = rng.uniform(0.11, 0.16) * size
        direction = rng.uniform(0, np.pi)
        ys, xs = np.mgrid[0:size, 0:size]
        mask = mask * (((xs * np.cos(direction) + ys * np.sin(direction)) / period) % 1 < 0.5)
    pixels = pixels * (1 - mask[..., None]) + colour * mask[..., None]
    return Image.fromarray(pixels.astype(np.uint8), "RGB")


def source_images(split: str, per_class: int | None = None, seed: int = PRETRAIN_SEED) -> tuple[list, torch.Tensor]:
    """``split`` ("train" or "test") of the source task: a list of PIL images and their int64 labels.

    Image ``i`` of class ``c`` is drawn from the seed (seed, split, c, i): the same arguments
    give the same images on every machine. Labels are in class order (class 0's images first).
    """
    per_class = SOURCE_PER_CLASS[split] if per_class is None else per_class
    images, labels = [], []
    for c in range(len(SOURCE_CLASSES)):
        for i in range(per_class):
            images.append(draw_source_image(c, np.random.default_rng([seed, _SPLIT_SALT[split], c, i])))
            labels.append(c)
    return images, torch.tensor(labels, dtype=torch.int64)


# --------------------------------------------------------------------------------------------
# The architecture: a narrow ResNet for 32x32 images, with ResNet's names (conv1 ... layer3, fc)
# --------------------------------------------------------------------------------------------

class CourseNet(nn.Module):
    """A narrow ResNet for 32x32 images, built from torchvision's ``BasicBlock``.

    Same anatomy and attribute names as ``torchvision.models.resnet18``: a backbone
    (``conv1``, ``bn1``, ``relu``, ``layer1`` ... ``layer3``, ``avgpool``) that turns an image into
    ``num_features`` = 128 numbers, and a head ``fc`` (one ``nn.Linear``) that turns them into
    class scores. Widths 16-32-64-128, one block per stage, about 0.3 M parameters.
    """

    def __init__(self, num_classes: int = len(SOURCE_CLASSES), widths: tuple = (16, 32, 64, 128)):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], kernel_size=3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        stages = []
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=2, bias=False), nn.BatchNorm2d(c_out))
            stages.append(nn.Sequential(BasicBlock(c_in, c_out, stride=2, downsample=downsample)))
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.num_features = widths[-1]
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The backbone: (N, 3, H, W) images -> (N, 128) features."""
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return torch.flatten(self.avgpool(x), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.forward_features(x))


# --------------------------------------------------------------------------------------------
# The weights, as torchvision describes its own
# --------------------------------------------------------------------------------------------

# Per-channel statistics of the source training images (computed by pretrain(); see its output).
SOURCE_MEAN = (0.3697, 0.3675, 0.3685)
SOURCE_STD = (0.2294, 0.2308, 0.2294)
_SOURCE_METRICS = {"acc@1": 95.83}  # percent, on the 960 source test images
_NUM_PARAMS = 305_960


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class CourseNet_Weights(WeightsEnum):
    """Weights of :class:`CourseNet`, used like ``torchvision.models.ResNet18_Weights``.

    ``get_state_dict()`` reads the committed file (never the network) after checking its sha256.
    """

    SHAPES24_V1 = Weights(
        url=WEIGHTS_FILE.as_uri(),
        transforms=partial(ImageClassification, crop_size=IMAGE_SIZE, resize_size=IMAGE_SIZE,
                           mean=SOURCE_MEAN, std=SOURCE_STD),
        meta={
            "categories": list(SOURCE_CLASSES),
            "num_params": _NUM_PARAMS,
            "min_size": (IMAGE_SIZE, IMAGE_SIZE),
            "source_task": (f"24 classes of synthetic shapes ({len(SOURCE_SHAPES)} shapes x "
                            f"{len(SOURCE_STYLES)} fill styles), {SOURCE_PER_CLASS['train']} training "
                            f"images per class, generated by courselib.pretrained.source_images"),
            "recipe": "python -m courselib.pretrained",
            "sha256": WEIGHTS_SHA256,
            "_metrics": {"Shapes24-test": _SOURCE_METRICS},
            "_docs": "Pretrained by the course on its own synthetic source task; no download needed.",
        },
    )
    DEFAULT = SHAPES24_V1

    def get_state_dict(self, *args, check_hash: bool = True, **kwargs) -> dict:
        """The state_dict stored in the weights file, after checking the file's sha256."""
        path = Path(self.url.removeprefix("file://"))
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: regenerate it with `python -m courselib.pretrained`")
        if check_hash and _sha256(path) != self.meta["sha256"]:
            raise RuntimeError(f"{path} does not match its recorded sha256 {self.meta['sha256']}: "
                               f"the file is corrupt or was regenerated without updating WEIGHTS_SHA256")
        return torch.load(path, map_location="cpu", weights_only=True)


def course_model(*, weights: CourseNet_Weights | str | None = None, progress: bool = True,
                 num_classes: int | None = None) -> CourseNet:
    """A :class:`CourseNet`, with pretrained weights when ``weights`` is given (like ``resnet18``).

    As in torchvision, ``num_classes`` must match the weights' categories when weights are
    given; to transfer to another task, build with weights and then replace ``model.fc``.
    """
    weights = CourseNet_Weights.verify(weights)
    if weights is not None:
        categories = len(weights.meta["categories"])
        if num_classes is not None and num_classes != categories:
            raise ValueError(f"num_classes={num_classes} does not match the weights' {categories} categories")
        num_classes = categories
    model = CourseNet(num_classes=num_classes or len(SOURCE_CLASSES))
    if weights is not None:
        model.load_state_dict(weights.get_state_dict(progress=progress, check_hash=True))
    return model


# --------------------------------------------------------------------------------------------
# Target tasks: one related to the source task, one not
# --------------------------------------------------------------------------------------------

TARGET_TASKS = ("shapes", "digits")


def target_images(task: str, split: str, per_class: int | None = None) -> tuple[list, torch.Tensor, tuple]:
    """A target task's ``split`` as (list of 32x32 RGB PIL images, int64 labels, class names).

    - ``"shapes"`` (related to the source task): the 5 classes of the course's shapes dataset
      (circle, cross, ring, square, triangle; see :mod:`courselib.shapes_dataset`), shapes that
      the source task never shows; splits "train" (200 per class), "valid" and "test" (50 per class).
    - ``"digits"`` (dissimilar): scikit-learn's 8x8 handwritten digits, grey, scaled up to 32x32;
      splits "train" (the course's fixed training split, about 144 per class) and "test" (its
      validation split, 360 images).

    ``per_class=k`` keeps the first ``k`` images of each class (in the split's fixed order), so
    a smaller labelled set is always part of a larger one. Images come class by class.
    """
    if task == "shapes":
        from courselib.shapes_dataset import CLASSES, ensure_shapes_dataset

        root = ensure_shapes_dataset() / split
        images, labels = [], []
        for c, name in enumerate(CLASSES):
            files = sorted((root / name).glob("*.png"))[:per_class]
            for file in files:
                with Image.open(file) as image:
                    images.append(image.convert("RGB"))
                labels.append(c)
        return images, torch.tensor(labels, dtype=torch.int64), CLASSES
    if task == "digits":
        from courselib.data import load_digits_split

        digits = load_digits_split()
        x, y = (digits.x_train, digits.y_train) if split == "train" else (digits.x_valid, digits.y_valid)
        if split not in ("train", "test"):
            raise ValueError(f"digits has the splits 'train' and 'test', not {split!r}")
        order = [i for c in range(10) for i in (y == c).nonzero().flatten().tolist()[:per_class]]
        images = [Image.fromarray((x[i, 0].numpy() * 255).round().astype(np.uint8), "L")
                  .resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR).convert("RGB") for i in order]
        return images, y[order].clone(), tuple(str(d) for d in range(10))
    raise ValueError(f"unknown target task {task!r}; expected one of {TARGET_TASKS}")


# --------------------------------------------------------------------------------------------
# Pretraining (python -m courselib.pretrained)
# --------------------------------------------------------------------------------------------

def _to_tensor(images: list) -> torch.Tensor:
    return torch.from_numpy(np.stack([np.asarray(im) for im in images])).permute(0, 3, 1, 2).float() / 255


def pretrain(epochs: int = 15, batch_size: int = 64, seed: int = PRETRAIN_SEED, log=print) -> tuple:
    """Train :class:`CourseNet` on the source task; returns (state_dict, mean, std, test accuracy).

    Deterministic: one CPU thread, seeded data, seeded initialisation and shuffling.
    """
    torch.set_num_threads(1)
    start = time.perf_counter()
    x_train = _to_tensor(source_images("train", seed=seed)[0])
    y_train = source_images("train", per_class=SOURCE_PER_CLASS["train"], seed=seed)[1]
    test_images, y_test = source_images("test", seed=seed)
    x_test = _to_tensor(test_images)
    mean = x_train.mean(dim=(0, 2, 3))
    std = x_train.std(dim=(0, 2, 3))
    mean, std = [round(v, 4) for v in mean.tolist()], [round(v, 4) for v in std.tolist()]
    log(f"source task: {len(x_train)} training images, {len(x_test)} test images, "
        f"{len(SOURCE_CLASSES)} classes; mean {mean}, std {std} ({time.perf_counter() - start:.1f} s)")
    m, s = torch.tensor(mean).view(1, 3, 1, 1), torch.tensor(std).view(1, 3, 1, 1)
    x_train, x_test = (x_train - m) / s, (x_test - m) / s

    torch.manual_seed(seed)
    model = CourseNet()
    generator = torch.Generator().manual_seed(seed)
    steps = epochs * (len(x_train) // batch_size)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=steps)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        for i in range(len(x_train) // batch_size):
            batch = order[i * batch_size:(i + 1) * batch_size]
            x = x_train[batch]
            flip = torch.rand(len(batch), generator=generator) < 0.5  # shapes may appear mirrored
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
            loss = nn.functional.cross_entropy(model(x), y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
        accuracy = evaluate(model, x_test, y_test)
        log(f"epoch {epoch + 1}/{epochs}: loss {loss.item():.3f}, source test accuracy {accuracy:.3f} "
            f"({time.perf_counter() - start:.0f} s)")
    return model.state_dict(), mean, std, accuracy


@torch.inference_mode()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> float:
    model.eval()
    correct = sum((model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum().item()
                  for i in range(0, len(x), batch_size))
    return correct / len(x)


def serialise(state_dict: dict) -> bytes:
    """The checkpoint's bytes: ``torch.save`` into memory, so that no file name ends up in the archive."""
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    return buffer.getvalue()


def main() -> None:
    state_dict, mean, std, accuracy = pretrain()
    WEIGHTS_DIR.mkdir(exist_ok=True)
    data = serialise(state_dict)
    digest = hashlib.sha256(data).hexdigest()
    target = WEIGHTS_DIR / f"coursenet_shapes24-{digest[:8]}.pt"
    target.write_bytes(data)
    params = sum(v.numel() for k, v in state_dict.items() if "running" not in k and "num_batches" not in k)
    print(f"wrote {target} ({target.stat().st_size / 1e6:.2f} MB)\n"
          f"sha256 {digest}\nmean {tuple(mean)}\nstd {tuple(std)}\n"
          f"source test accuracy {accuracy:.4f}\nparameters {params}")
    if digest != WEIGHTS_SHA256:
        print("The hash differs from courselib.pretrained.WEIGHTS_SHA256: to use this file, set "
              "WEIGHTS_SHA256, SOURCE_MEAN, SOURCE_STD, _SOURCE_METRICS and _NUM_PARAMS to the values above.",
              file=sys.stderr)


if __name__ == "__main__":
    main()
