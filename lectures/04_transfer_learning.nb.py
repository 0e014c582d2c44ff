# %% [markdown]
# # Lecture 4 — Pretrained models and transfer learning
#
# Training a network from scratch needs many labelled images. Most projects have few. This lecture
# answers one question: **how do you reuse a network trained on one task for another task, and
# when does it pay off?**
#
# The plan:
#
# 1. torchvision's `weights=` API, and the course's own pretrained weights that work the same way;
# 2. anatomy: every classifier is a *backbone* followed by a *head*;
# 3. three ways to train on a new task — from scratch, feature extraction, fine-tuning — and the
#    traps in each (BatchNorm in a "frozen" backbone, optimizer groups);
# 4. a measured comparison on two target tasks, one similar to the pretraining task and one not;
# 5. what the input transforms must match, and what it costs when they do not.

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
import torchvision
from torch import nn
from tqdm.auto import tqdm

from courselib.plots import show
from courselib.pretrained import (SOURCE_CLASSES, CourseNet_Weights, course_model, source_images,
                                  target_images)
from courselib.seed import seed_everything

_ = seed_everything(0)
# Small models and batches: one thread is as fast as several, and the numbers below then do not
# depend on how many cores the machine has.
torch.set_num_threads(1)

# %% [markdown]
# ## 1. Pretrained weights in torchvision
#
# Every torchvision model builder takes a `weights=` argument. `weights=None` gives random
# initialisation; a *weights entry* gives a pretrained network. The entry is an enum member that
# carries everything needed to use the weights — and reading it downloads nothing:

# %%
from torchvision.models import ResNet18_Weights, resnet18

weights = ResNet18_Weights.DEFAULT  # the best weights available for this architecture
print(weights)
print("categories:", len(weights.meta["categories"]), weights.meta["categories"][:3])
print("parameters:", weights.meta["num_params"])
print("accuracy:", weights.meta["_metrics"])

# %% [markdown]
# `weights.transforms()` builds the preprocessing that the network saw during pretraining. Read it:
# resize, centre crop, scale to `[0, 1]`, then normalise with ImageNet's per-channel mean and std.

# %%
print(weights.transforms())

# %% [markdown]
# The code you write at home, online, is two lines:
#
# ```python
# model = resnet18(weights=ResNet18_Weights.DEFAULT)  # downloads 45 MB once, into the torch cache
# preprocess = ResNet18_Weights.DEFAULT.transforms()
# ```
#
# The download goes to `torch.hub.get_dir()/checkpoints` (set `TORCH_HOME` to move it) and is
# reused afterwards. This course never downloads: the next cell uses the ImageNet weights only if
# they are already in the cache, and classifies one of the photos that ship with scikit-learn.

# %%
# NBVAL_IGNORE_OUTPUT
from sklearn.datasets import load_sample_image
from PIL import Image

checkpoint = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
if checkpoint.exists():
    imagenet_model = resnet18(weights=weights).eval()  # found in the cache: nothing is downloaded
    photo = Image.fromarray(load_sample_image("china.jpg"))
    with torch.inference_mode():
        probabilities = imagenet_model(weights.transforms()(photo).unsqueeze(0)).softmax(dim=1)[0]
    top = probabilities.topk(3)
    print([(weights.meta["categories"][i], round(p, 3)) for p, i in zip(top.values.tolist(), top.indices.tolist())])
else:
    print(f"{checkpoint.name} is not in the torch cache ({checkpoint.parent}): the rest of this lecture uses "
          f"the course's own pretrained weights.")

# %% [markdown]
# ### The course's weights
#
# Without ImageNet weights the lesson would be fake, so the course pretrains its own network on a
# *source task* it generates: 24 classes of synthetic shapes (8 shapes × 3 fill styles).
# `courselib.pretrained` wraps the result in the same API as torchvision's:

# %%
course_weights = CourseNet_Weights.DEFAULT
print(course_weights)
print("categories:", len(course_weights.meta["categories"]), course_weights.meta["categories"][:4])
print("parameters:", course_weights.meta["num_params"])
print("accuracy:", course_weights.meta["_metrics"])
print(course_weights.meta["source_task"])
print(course_weights.transforms())

# %% [markdown]
# The source task, one image per class:

# %%
images, labels = source_images("test", per_class=1)
fig, axes = plt.subplots(3, 8, figsize=(10, 4.2))
for ax, image, label in zip(axes.T.flatten(), images, labels.tolist()):
    ax.imshow(image)
    ax.set_title(SOURCE_CLASSES[label], fontsize=8)
    ax.axis("off")
show(fig)

# %% [markdown]
# `weights.get_state_dict()` is what a builder loads. torchvision's downloads the file once into the
# cache; its builders call it with `check_hash=True`, so on download the file's sha256 must start with
# the hex digits in its name (`f37072fd` above; `torch.hub.load_state_dict_from_url`), and a file
# already cached is not checked again. The course's reads the committed file and checks its full
# sha256, recorded in `meta`, on every call:

# %%
state_dict = course_weights.get_state_dict()
print(len(state_dict), "tensors, e.g.", list(state_dict)[:3])
print("sha256", course_weights.meta["sha256"])

# %% [markdown]
# `course_model(weights=...)` mirrors `resnet18(weights=...)`: it builds the architecture, loads that
# state_dict, and returns the model. With the weights' own transforms it classifies raw source images:

# %%
model = course_model(weights=course_weights).eval()
preprocess = course_weights.transforms()
images, labels = source_images("test", per_class=10)
with torch.inference_mode():
    predicted = model(torch.stack([preprocess(image) for image in images])).argmax(dim=1)
print(f"source test accuracy on {len(images)} images: {(predicted == labels).float().mean():.1%}")

# %% [markdown]
# ## 2. Anatomy: backbone and head
#
# A classifier is a **backbone** — everything that turns an image into a feature vector — followed
# by a **head**, the last `nn.Linear`, which turns the features into one score per class. The head
# is the only part that knows the classes. Its name differs from family to family. Build the
# smallest member of five families, randomly initialised (`weights=None` downloads nothing):

# %%
families = {
    "resnet18": (torchvision.models.resnet18, "fc", lambda m: m.fc),
    "mobilenet_v3_small": (torchvision.models.mobilenet_v3_small, "classifier[-1]", lambda m: m.classifier[-1]),
    "efficientnet_b0": (torchvision.models.efficientnet_b0, "classifier[-1]", lambda m: m.classifier[-1]),
    "vit_b_16": (torchvision.models.vit_b_16, "heads.head", lambda m: m.heads.head),
    "convnext_tiny": (torchvision.models.convnext_tiny, "classifier[-1]", lambda m: m.classifier[-1]),
}
for name, (builder, path, get_head) in families.items():
    net = builder(weights=None)
    head = get_head(net)
    total = sum(p.numel() for p in net.parameters())
    print(f"{name:19s} head = model.{path:15s} {str(head):55s} backbone {(total - sum(p.numel() for p in head.parameters())) / 1e6:5.2f} M parameters")
    last_linear = [n for n, m in net.named_modules() if isinstance(m, nn.Linear)][-1]
    assert net.get_submodule(last_linear) is head  # in every family, the head is the last nn.Linear
del net

# %% [markdown]
# Notice three things. The head's `in_features` is the backbone's feature size (512, 1024, 1280,
# 768, 768). ImageNet's 1,000 classes cost the head `in_features × 1000 + 1000` parameters, at most
# 1.3 M: small next to the backbones of ResNet, ViT and ConvNeXt (0.5 M beside 11.2 M for resnet18),
# but not in the mobile families, where the head is 1.0 M beside mobilenet_v3_small's 1.5 M backbone
# and 1.3 M beside efficientnet_b0's 4.0 M. And in every family the head is the **last
# `nn.Linear`** (the `assert` checks it), which is how code can find it without knowing the
# family — your first graded part.
#
# Some heads sit inside a `Sequential` with other layers: `mobilenet_v3.classifier` is
# `Linear → Hardswish → Dropout → Linear` (printed below), `convnext.classifier` is
# `LayerNorm2d → Flatten → Linear` (`ConvNeXt.__init__` in `torchvision/models/convnext.py`).
# Replacing the *whole* `classifier` by one `Linear` would drop those layers; replace only the last.

# %%
print(torchvision.models.mobilenet_v3_small(weights=None).classifier)

# %% [markdown]
# The course network has ResNet's anatomy: a backbone `conv1 … layer3, avgpool` that maps an image
# to 128 features, and a head `fc`.

# %%
print(model.fc, "  parameters in the head:", sum(p.numel() for p in model.fc.parameters()),
      " in the backbone:", sum(p.numel() for p in model.parameters()) - sum(p.numel() for p in model.fc.parameters()))

# %% [markdown]
# ### Replacing the head
#
# To classify other classes, keep the backbone and put a new, randomly initialised `Linear` with
# the same `in_features` in the head's place:

# %%
def with_new_head(num_classes, weights=course_weights):
    """The course network with pretrained weights (or none) and a fresh head for num_classes."""
    net = course_model(weights=weights)
    net.fc = nn.Linear(net.fc.in_features, num_classes)
    return net


net = with_new_head(5)
print(net.fc, net(torch.randn(2, 3, 32, 32)).shape)

# %% [markdown]
# ## 3. The target tasks
#
# Two target tasks, both with 32×32 RGB images:
#
# - **shapes** — *related* to the source task: five shape classes the source task never shows
#   (circle, cross, ring, square, triangle; the course's shapes dataset from lecture 3);
# - **digits** — *dissimilar*: scikit-learn's handwritten digits, grey, blown up from 8×8 pixels.

# %%
fig, axes = plt.subplots(2, 10, figsize=(10, 2.4))
for row, task in zip(axes, ("shapes", "digits")):
    task_images, task_labels, task_classes = target_images(task, "train", per_class=2)
    for ax, image, label in zip(row, task_images, task_labels.tolist()):
        ax.imshow(image)
        ax.set_title(task_classes[label], fontsize=8)
        ax.axis("off")
show(fig)

# %% [markdown]
# Every image goes through the course weights' transforms once, into tensors:

# %%
def load(task, split, per_class=None):
    task_images, task_labels, task_classes = target_images(task, split, per_class)
    return torch.stack([preprocess(image) for image in task_images]), task_labels, len(task_classes)


data = {task: {"train": load(task, "train", per_class=30), "test": load(task, "test")} for task in ("shapes", "digits")}
for task, splits in data.items():
    print(task, {split: tuple(x.shape) for split, (x, y, n) in splits.items()}, "classes:", splits["test"][2])

# %% [markdown]
# ## 4. Three ways to train on the target task
#
# **From scratch**: random weights, everything trains. **Feature extraction**: the pretrained
# backbone is frozen, only a new head trains. **Fine-tuning**: everything trains, starting from the
# pretrained weights, the backbone more gently than the head.
#
# ### Feature extraction, and the BatchNorm trap
#
# Freezing means `requires_grad=False` on the backbone's parameters. But BatchNorm's running
# statistics are *buffers*, updated by every forward pass in training mode, gradients or not:

# %%
net = with_new_head(5)
for name, parameter in net.named_parameters():
    parameter.requires_grad_(name.startswith("fc."))
x_shapes = data["shapes"]["train"][0]
before = net.bn1.running_mean.clone()
net.train()  # what every training loop calls at the start of an epoch
net(x_shapes[:32])
print(f"running_mean moved by {(net.bn1.running_mean - before).abs().max().item():.3g}")

# %% [markdown]
# The "frozen" backbone changed: its statistics now drift toward the target images, and in training
# mode it normalises with each batch's statistics instead of the pretrained ones. The fix is eval mode
# for the backbone — and it has to survive `model.train()`, which switches every module back to
# training mode. One way: a module whose `train` puts the backbone back in eval mode.

# %%
class FrozenBackbone(nn.Module):
    """A pretrained backbone that stays in eval mode and never trains, and a head that does."""

    def __init__(self, backbone, head):
        super().__init__()
        self.backbone, self.head = backbone.requires_grad_(False), head

    def train(self, mode=True):
        super().train(mode)
        self.backbone.eval()  # whatever mode was asked for, the backbone computes as in eval
        return self

    def forward(self, x):
        return self.head(self.backbone(x))


pretrained = course_model(weights=course_weights)
pretrained.fc = nn.Identity()  # the backbone alone: images -> 128 features
frozen = FrozenBackbone(pretrained, nn.Linear(128, 5)).train()
before = pretrained.bn1.running_mean.clone()
frozen(x_shapes[:32])
print("backbone in training mode:", pretrained.training, "| running_mean moved by",
      f"{(pretrained.bn1.running_mean - before).abs().max().item():.3g}")

# %% [markdown]
# Since the backbone never changes, its features can be computed **once**, under
# `torch.inference_mode()`, and a linear classifier (a *linear probe*) trained on them in milliseconds.
# Tensors created under `inference_mode` are *inference tensors* that autograd refuses to save, so
# the features are cloned outside it before training on them:

# %%
def features_of(backbone, x, batch_size=256):
    backbone.eval()
    with torch.inference_mode():
        features = torch.cat([backbone(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
    return features.clone()  # an ordinary tensor: autograd may use it


def train_probe(features, labels, num_classes, steps=100):
    torch.manual_seed(0)
    probe = nn.Linear(features.shape[1], num_classes)
    optimizer = torch.optim.Adam(probe.parameters(), lr=0.01)
    for _ in range(steps):
        loss = nn.functional.cross_entropy(probe(features), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return probe


x, y, n = data["shapes"]["train"]
x_test, y_test, _ = data["shapes"]["test"]
probe = train_probe(features_of(pretrained, x), y, n)
with torch.inference_mode():
    accuracy = (probe(features_of(pretrained, x_test)).argmax(1) == y_test).float().mean()
print(f"linear probe on 30 images per class: {accuracy:.1%} of {len(y_test)} test images")

# %% [markdown]
# ### Fine-tuning with discriminative learning rates
#
# Fine-tuning trains the backbone too, but the pretrained weights are already good: a large step
# would destroy them, while the new head starts from random numbers and needs large steps. Optimizers
# take **parameter groups**, each a dict with its own `lr` (and any other option). A parameter may
# be in only one group (`Optimizer.add_param_group` raises a `ValueError` otherwise), and one left
# out of every group is silently never updated, so put each trainable parameter in exactly one.

# %%
net = with_new_head(5)
head_parameters = list(net.fc.parameters())
backbone_parameters = [p for name, p in net.named_parameters() if not name.startswith("fc.")]
optimizer = torch.optim.AdamW([
    {"params": head_parameters, "lr": 1e-2},
    {"params": backbone_parameters, "lr": 1e-3},
], weight_decay=1e-4)
for group in optimizer.param_groups:
    print(len(group["params"]), "tensors, lr", group["lr"], "weight_decay", group["weight_decay"])

# %% [markdown]
# Weight decay pulls every value toward zero. For a weight that multiplies its input that is
# regularisation; for a bias or a normalisation layer's scale and shift it is just a wrong pull (a
# BatchNorm scale decayed toward 0 flattens its channel to the constant shift, whatever the input).
# So real recipes put biases and normalisation parameters in groups with `weight_decay=0`
# (torchvision's helper for the normalisation ones is `torchvision.ops._utils.split_normalization_params`,
# which tests the same layer classes as the cell below). In the course network they are these:

# %%
norm_layers = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm)
no_decay = [name for module_name, module in net.named_modules() for name, _ in module.named_parameters(
    prefix=module_name, recurse=False) if name.endswith("bias") or isinstance(module, norm_layers)]
print(len(no_decay), "of", len(list(net.parameters())), "tensors:", no_decay[:5], "...")

# %% [markdown]
# ## 5. The measured comparison
#
# Now the question of the lecture, measured. For each target task and each number of labelled images
# per class (1, 5, 30), train the three ways and measure the accuracy on the whole test split.
# Scratch and fine-tuning get the same budget: 50 steps of Adam on batches of up to 32 images; the
# backbone's BatchNorm stays in eval mode during fine-tuning (batches of a few images would give
# useless statistics). The probe trains on the frozen features.

# %%
def first_per_class(x, y, k):
    keep = torch.cat([(y == c).nonzero().flatten()[:k] for c in range(int(y.max()) + 1)])
    return x[keep], y[keep]


def train_network(net, groups, x, y, steps=50, batch_size=32, freeze_bn=False):
    optimizer = torch.optim.Adam(groups)
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        net.train()
        if freeze_bn:
            for module in net.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.eval()
        batch = torch.randint(0, len(x), (min(batch_size, len(x)),), generator=generator)
        loss = nn.functional.cross_entropy(net(x[batch]), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net


def accuracy_of(net, x, y):
    net.eval()
    with torch.inference_mode():
        return (net(x).argmax(1) == y).float().mean().item()


def compare(task, k):
    x, y, n = data[task]["train"]
    x, y = first_per_class(x, y, k)
    x_test, y_test, _ = data[task]["test"]
    torch.manual_seed(0)
    scratch = with_new_head(n, weights=None)
    train_network(scratch, [{"params": scratch.parameters(), "lr": 1e-2}], x, y)
    torch.manual_seed(0)
    tuned = with_new_head(n)
    train_network(tuned, [{"params": tuned.fc.parameters(), "lr": 1e-2},
                          {"params": [p for name, p in tuned.named_parameters() if not name.startswith("fc.")],
                           "lr": 1e-3}], x, y, freeze_bn=True)
    probe = train_probe(features_of(pretrained, x), y, n)
    with torch.inference_mode():
        probe_accuracy = (probe(features_of(pretrained, x_test)).argmax(1) == y_test).float().mean().item()
    return {"from scratch": accuracy_of(scratch, x_test, y_test), "feature extraction": probe_accuracy,
            "fine-tuning": accuracy_of(tuned, x_test, y_test)}


# %%
# NBVAL_IGNORE_OUTPUT
sizes = (1, 5, 30)
results = {(task, k): compare(task, k) for task in tqdm(("shapes", "digits")) for k in sizes}
for (task, k), accuracies in results.items():
    print(f"{task:7s} {k:3d} per class: " + "  ".join(f"{method} {value:.1%}" for method, value in accuracies.items()))

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
for ax, task in zip(axes, ("shapes", "digits")):
    for method in ("from scratch", "feature extraction", "fine-tuning"):
        ax.plot(sizes, [results[task, k][method] for k in sizes], marker="o", label=method)
    ax.set(xscale="log", xticks=sizes, xticklabels=sizes, xlabel="labelled images per class",
           title=f"{task}: {'related to' if task == 'shapes' else 'unlike'} the source task")
axes[0].set_ylabel("test accuracy")
axes[1].legend()
show(fig)

# %% [markdown]
# What the measurements say (the cell below checks each sentence on the numbers above):

# %%
def lead(task, k, method):
    """How many points `method` is ahead of training from scratch."""
    return results[task, k][method] - results[task, k]["from scratch"]


print("On shapes, with 1 and 5 images per class, feature extraction and fine-tuning both beat training from "
      "scratch by more than 20 points:",
      all(lead("shapes", k, method) > 0.2 for k in (1, 5) for method in ("feature extraction", "fine-tuning")))
print("On shapes, feature extraction is within 3 points of the best method at every size:",
      all(results["shapes", k]["feature extraction"] >= max(results["shapes", k].values()) - 0.03 for k in sizes))
print("On digits, the best pretrained method's lead over scratch at 5 images per class is less than half "
      "of its lead on shapes:", max(lead("digits", 5, m) for m in ("feature extraction", "fine-tuning"))
      < 0.5 * max(lead("shapes", 5, m) for m in ("feature extraction", "fine-tuning")))
print("On digits, fine-tuning beats feature extraction at 5 and at 30 images per class:",
      all(results["digits", k]["fine-tuning"] > results["digits", k]["feature extraction"] for k in (5, 30)))
print("On digits with 5 images per class, feature extraction loses even to training from scratch:",
      results["digits", 5]["feature extraction"] < results["digits", 5]["from scratch"])

# %% [markdown]
# Which gives the usual decision, by data size × similarity to the pretraining task:
#
# | | target **similar** to the source | target **unlike** the source |
# |---|---|---|
# | **little data** (here 1–5 per class) | feature extraction: a linear probe is enough, cheap, and has few parameters to overfit with (645 here) | fine-tune gently (small backbone learning rate) once there are a few examples per class; frozen features may lose even to scratch |
# | **much data** (here 30 per class) | fine-tuning or feature extraction, both near the top | fine-tune; training from scratch is still 11 points behind here, no better at 30 per class than at 5 |
#
# Pretrained features transfer when the target task needs the same kind of features: edges, corners,
# filled vs outlined regions. The shapes need exactly those, so a frozen backbone is enough from one
# image per class. The digits need strokes the source task never showed, so frozen shape features
# lag behind, and fine-tuning, which adapts the backbone, wins as soon as there are a few examples
# per class (5 and 30 here). On digits with a single example per class nothing works well: no
# method reaches 50%, and fine-tuning does no better than training from scratch.

# %% [markdown]
# ## 6. What the transforms must match
#
# A pretrained network has learnt on inputs with particular statistics and size. The same source
# test images, preprocessed four ways:

# %%
from torchvision.transforms import v2

images, labels = source_images("test", per_class=10)
to_float = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
imagenet = ResNet18_Weights.DEFAULT.transforms()
variants = {
    "the weights' transforms": course_weights.transforms(),
    "ImageNet's mean and std": v2.Compose(to_float + [v2.Normalize(imagenet.mean, imagenet.std)]),
    "no normalisation": v2.Compose(to_float),
    "resized to 64x64": v2.Compose([v2.Resize(64)] + to_float + [v2.Normalize(preprocess.mean, preprocess.std)]),
}
model.eval()
for name, transform in variants.items():
    with torch.inference_mode():
        predicted = model(torch.stack([transform(image) for image in images])).argmax(1)
    print(f"{name:24s} accuracy {(predicted == labels).float().mean():.1%}")

# %% [markdown]
# Nothing raised an error: the network accepts any 3-channel float tensor of any height and width
# (its global average pooling makes it size-agnostic), and silently gets worse. ImageNet's
# statistics happen to be close to this source task's (compare the two `transforms()` printed in
# section 1), so here they cost little. With no normalisation at all, 42 points are lost (52.5%
# instead of 94.6%); at twice the size, nearly everything is (8.3%, against 4.2% for guessing one of
# 24 classes). Normalisation statistics and input size are part of the weights — which is why
# torchvision attaches `transforms()` to each entry, and why you should use them instead of typing
# ImageNet's numbers from memory.
#
# ## Summary
#
# - `weights=` gives a model with pretrained weights; `weights.transforms()` and `weights.meta` say how
#   to feed it and what it predicts. Nothing needs a download to be read.
# - A classifier = backbone + head; the head is the last `nn.Linear`. Replace it to change the classes.
# - Feature extraction freezes the backbone — `requires_grad=False` *and* eval mode for BatchNorm,
#   surviving `model.train()`. Features can be computed once under `inference_mode`.
# - Fine-tuning uses parameter groups: a larger learning rate for the head, and no weight decay on
#   biases and normalisation parameters.
# - With little data, the better of the two pretrained methods beats scratch at every size measured
#   here — by more than 60 points on the related task, by 7 to 11 on the unlike one, where frozen
#   features alone can lose to scratch; the more the target resembles the source, the more a frozen
#   backbone is enough.
#
# **Assignment 4** (`assignments/04_transfer_learning/`) asks you to write these tools so that they
# work on any torchvision family.
