# %% [markdown]
# # Lecture 7 — Metrics
#
# A loss is what the optimizer follows; a metric is what you report, compare models by and pick a
# threshold with. This lecture asks what each common metric measures, what it hides, and how to
# compute it correctly when the data arrives in batches or on several workers:
#
# 1. metric ≠ loss: why accuracy cannot be trained on;
# 2. accuracy on an imbalanced task, measured;
# 3. the confusion matrix, as a heatmap;
# 4. precision, recall and F1 per class; macro, micro and weighted averages and what each hides;
# 5. ROC and PR curves, ROC-AUC vs PR-AUC (average precision) on imbalanced data, choosing a threshold;
# 6. top-k accuracy;
# 7. regression: MAE, MSE, RMSE, R²;
# 8. ranking: MRR, NDCG@k, MAP@k on a small retrieval example;
# 9. batches of unequal size (the per-batch-mean bug) and merging the partial results of several
#    workers, as a distributed evaluation does.
#
# Every number is checked against `sklearn.metrics` or `torchmetrics`. Everything runs on the CPU in
# a few seconds, seeded. Assignment 7 asks you to write these metrics yourself.

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
import torchmetrics
import torchmetrics.functional as TMF
from torchmetrics.functional.retrieval import retrieval_average_precision, retrieval_reciprocal_rank
from sklearn import metrics as skm

from courselib.data import load_digits_split
from courselib.plots import show
from courselib.seed import seed_everything

seed_everything(0)
torch.set_num_threads(1)  # tiny models: extra threads cost more than they save
digits = load_digits_split()
x_train, y_train = digits.x_train.flatten(1), digits.y_train   # 8x8 images as 64 features
x_valid, y_valid = digits.x_valid.flatten(1), digits.y_valid
print(x_train.shape, x_valid.shape, "torchmetrics", torchmetrics.__version__)

# %% [markdown]
# A model to measure: softmax regression on the digits, trained for a few full-batch steps (kept
# deliberately short, so it still makes mistakes worth looking at).

# %%
def train_linear(x, y, classes, steps=30, lr=0.5, seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Linear(x.shape[1], classes)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model


model = train_linear(x_train, y_train, 10)
with torch.no_grad():
    logits = model(x_valid)
preds = logits.argmax(dim=1)
print(f"validation loss {F.cross_entropy(logits, y_valid):.4f}, accuracy {(preds == y_valid).float().mean():.4f}")

# %% [markdown]
# ## 1. A metric is not a loss
#
# Accuracy counts `argmax(logits) == target`. `argmax` is piecewise constant: nudging a logit either
# changes nothing or flips a prediction, so its gradient is zero almost everywhere and undefined at
# the flips. Autograd says so plainly: the result of `argmax` is an integer tensor with no graph, so
# nothing computed from it can carry a gradient back to the logits.

# %%
z = logits[:4].clone().requires_grad_(True)
accuracy = (z.argmax(dim=1) == y_valid[:4]).float().mean()
loss = F.cross_entropy(z, y_valid[:4])
print("argmax dtype:", z.argmax(dim=1).dtype, "| accuracy requires grad:", accuracy.requires_grad,
      "| loss grad_fn:", type(loss.grad_fn).__name__)
nudged = z.detach() + 0.01 * torch.randn_like(z)
print("a small nudge changes the loss", f"{loss.item():.5f} -> {F.cross_entropy(nudged, y_valid[:4]).item():.5f}",
      "but not the accuracy", accuracy.item(), "->", (nudged.argmax(1) == y_valid[:4]).float().mean().item())

# %% [markdown]
# So training follows a smooth surrogate (cross-entropy) and we *report* accuracy, F1, AUC: the
# numbers someone downstream cares about. The two can disagree: a model can lower its loss by
# growing more confident on examples it already gets right, and not change its accuracy at all.

# %% [markdown]
# ## 2. Accuracy on an imbalanced task
#
# Make a rare-event task from the digits: *is this a 9?* (about one image in ten), then make it
# rarer by keeping only a few of the 9s in the validation set. A "model" that always answers *no*:

# %%
def rare_nines(x, y, keep, seed=0):
    """The images with the 9s subsampled to ``keep`` of them; targets 1 for a 9, else 0."""
    g = torch.Generator().manual_seed(seed)
    nines = torch.nonzero(y == 9).flatten()
    kept = nines[torch.randperm(len(nines), generator=g)[:keep]]
    index = torch.cat([torch.nonzero(y != 9).flatten(), kept])
    return x[index], (y[index] == 9).long()


xb_valid, yb_valid = rare_nines(x_valid, y_valid, keep=8)
always_no = torch.zeros_like(yb_valid)
print(f"{yb_valid.sum().item()} positives in {len(yb_valid)}: accuracy of always 'no' = "
      f"{(always_no == yb_valid).float().mean():.4f}, recall = {skm.recall_score(yb_valid, always_no):.1f}")

# %% [markdown]
# 97.6 % accuracy, and not one 9 found. On an imbalanced task accuracy mostly measures the class
# balance; the metrics below look at each class separately.

# %% [markdown]
# ## 3. The confusion matrix
#
# Entry `[i, j]` counts the samples of true class `i` predicted as `j` (scikit-learn's convention:
# rows true, columns predicted). One `bincount` over `i · C + j` computes it without a loop. Note the
# argument order: torchmetrics takes `(preds, target)`, scikit-learn `(y_true, y_pred)`; swap them and
# you get the transpose, silently.

# %%
def confusion_matrix(targets, preds, num_classes):
    counts = torch.bincount(targets * num_classes + preds, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


cm = confusion_matrix(y_valid, preds, 10)
print("equal to sklearn:", (cm.numpy() == skm.confusion_matrix(y_valid, preds, labels=range(10))).all(),
      "| equal to torchmetrics:", torch.equal(cm, TMF.confusion_matrix(preds, y_valid, task="multiclass", num_classes=10)))
print("torchmetrics with the arguments swapped gives the transpose:",
      torch.equal(cm.T, TMF.confusion_matrix(y_valid, preds, task="multiclass", num_classes=10)))

# %%
fig, ax = plt.subplots(figsize=(4.6, 4))
image = ax.imshow(cm, cmap="Blues")
for i in range(10):
    for j in range(10):
        if cm[i, j]:
            ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if cm[i, j] > cm.max() / 2 else "black")
ax.set(xlabel="predicted", ylabel="true", xticks=range(10), yticks=range(10), title="digits, validation")
fig.colorbar(image, ax=ax, shrink=0.8)
show(fig)
off_diagonal = cm - torch.diag(cm.diagonal())
worst = off_diagonal.flatten().topk(3).indices
print("largest confusions (true -> predicted: count):",
      ", ".join(f"{int(i) // 10} -> {int(i) % 10}: {int(off_diagonal.flatten()[i])}" for i in worst))

# %% [markdown]
# The diagonal holds the correct predictions; an off-diagonal cell names a confusion, printed above
# for the three largest.

# %% [markdown]
# ## 4. Precision, recall, F1, and three ways to average them
#
# Per class `c`: precision `TP/(TP+FP)` (of the samples predicted `c`, how many are `c`), recall
# `TP/(TP+FN)` (of the samples of class `c`, how many were found), F1 `2·TP/(2·TP+FP+FN)`, their
# harmonic mean. All three come from the confusion matrix: `TP` its diagonal, `TP+FP` its column
# sums, `TP+FN` its row sums.

# %%
def precision_recall_f1(cm, zero_division=0.0):
    cm = cm.double()
    tp, predicted, support = cm.diagonal(), cm.sum(0), cm.sum(1)
    ratio = lambda a, b: torch.where(b > 0, a / b.clamp(min=1), torch.tensor(zero_division, dtype=torch.float64))
    return ratio(tp, predicted), ratio(tp, support), ratio(2 * tp, predicted + support), support


# An imbalanced 3-class problem: digits 0, 1 and 8, with most 8s removed from the validation set.
# A prediction of any other digit is counted as 8, so class 8 also collects the model's other mistakes.
keep = (y_valid == 0) | (y_valid == 1) | ((y_valid == 8) & (torch.arange(len(y_valid)) % 6 == 0))
t3 = y_valid[keep]
p3 = torch.where(torch.isin(preds[keep], torch.tensor([0, 1, 8])), preds[keep], torch.tensor(8))
t3, p3 = torch.bucketize(t3, torch.tensor([0, 1, 8])), torch.bucketize(p3, torch.tensor([0, 1, 8]))  # 0, 1, 8 -> 0, 1, 2
precision, recall, f1, support = precision_recall_f1(confusion_matrix(t3, p3, 3))
for name, value in [("precision", precision), ("recall", recall), ("F1", f1), ("support", support)]:
    print(f"{name:>9}: " + "  ".join(f"{v:7.3f}" for v in value.tolist()))
sk = skm.precision_recall_fscore_support(t3, p3, labels=range(3), zero_division=0)
print("equal to sklearn:", all(torch.allclose(a, torch.as_tensor(b, dtype=torch.float64))
                               for a, b in zip((precision, recall, f1, support), sk)))

# %% [markdown]
# Averages over the classes:
# - **macro**: the plain mean over classes; a rare class counts as much as a common one, which hides
#   how few samples stand behind its score (9 samples move it as much as 38);
# - **weighted**: the mean weighted by support; dominated by the common classes, it hides a
#   failing rare class;
# - **micro**: `TP`, `FP`, `FN` summed over classes first; when every class is counted it is exactly
#   the accuracy, and hides the classes altogether.

# %%
tp_all = (t3 == p3).sum().double()
averages = {"macro": f1.mean(), "weighted": (f1 * support).sum() / support.sum(), "micro": tp_all / len(t3)}
for average, value in averages.items():
    print(f"{average:>8} F1 = {value:.4f}   sklearn {skm.f1_score(t3, p3, average=average):.4f}   torchmetrics "
          f"{TMF.f1_score(p3, t3, task='multiclass', num_classes=3, average=average):.4f}")
print(f"accuracy = {(t3 == p3).double().mean():.4f}")

# %% [markdown]
# The rare class (8, with 9 samples) has the lowest F1; macro shows it, weighted and micro barely
# notice it, and micro F1 equals the accuracy. Report macro when every class matters.
#
# Two conventions to know: a class never predicted has precision 0/0, which scikit-learn replaces
# by `zero_division` (0 by default, with a warning); and a class absent from the data still counts
# in scikit-learn's macro average when you pass `labels=range(C)`, which is exactly where scikit-learn
# and torchmetrics part ways:

# %%
t_absent, p_absent = torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 1, 1])  # class 2 never occurs
print("macro F1 over labels 0..2:", skm.f1_score(t_absent, p_absent, labels=[0, 1, 2], average="macro", zero_division=0),
      "| over the classes seen:", skm.f1_score(t_absent, p_absent, average="macro"),
      "| torchmetrics (num_classes=3):", round(TMF.f1_score(p_absent, t_absent, task="multiclass", num_classes=3,
                                                              average="macro").item(), 4))

# %% [markdown]
# torchmetrics' multiclass macro average skips a class absent from both targets and predictions
# (its weight is set to 0 in `_adjust_weights_safe_divide`, torchmetrics/utilities/compute.py), as
# scikit-learn does without `labels`; scikit-learn with explicit `labels` counts it as `zero_division`
# (here 0). Neither is wrong; say which one you report.

# %% [markdown]
# ## 5. ROC and PR curves, and choosing a threshold
#
# A binary classifier outputs a score; a threshold turns it into a decision. The ROC curve plots the
# true-positive rate against the false-positive rate over all thresholds; the PR curve plots precision
# against recall. Train a "is it a 9?" scorer and compare it on validation sets where 9s are common
# and where they are rare.

# %%
scorer = train_linear(x_train, (y_train == 9).long(), 2, steps=15, lr=0.3)
fig, (ax_roc, ax_pr) = plt.subplots(1, 2, figsize=(9, 3.6))
for keep_nines in (30, 8):                                  # all 30 nines, then only 8
    xv, yv = rare_nines(x_valid, y_valid, keep=keep_nines)
    with torch.no_grad():
        score = scorer(xv).softmax(dim=1)[:, 1]
    fpr, tpr, _ = skm.roc_curve(yv, score)
    precision_c, recall_c, _ = skm.precision_recall_curve(yv, score)
    auc, ap = skm.roc_auc_score(yv, score), skm.average_precision_score(yv, score)
    label = f"{yv.float().mean():.1%} positives"
    ax_roc.plot(fpr, tpr, label=f"{label}: ROC-AUC {auc:.3f}")
    ax_pr.step(recall_c, precision_c, where="post", label=f"{label}: AP {ap:.3f}")
    print(f"{label:>15}: ROC-AUC {auc:.4f} (torchmetrics {TMF.auroc(score, yv, task='binary'):.4f}), "
          f"AP {ap:.4f} (torchmetrics {TMF.average_precision(score, yv, task='binary'):.4f})")
ax_roc.plot([0, 1], [0, 1], "k:", lw=1)
ax_roc.set(xlabel="false-positive rate", ylabel="true-positive rate", title="ROC")
ax_pr.set(xlabel="recall", ylabel="precision", title="precision-recall")
ax_roc.legend(fontsize=8), ax_pr.legend(fontsize=8)
show(fig)

# %% [markdown]
# The same scorer keeps about the same ROC-AUC when positives become rare, since both of its rates are
# computed within a class, while its average precision drops, since precision counts the negatives
# that outrank the positives and there are now many more of them per positive. On a rare-event task,
# PR-AUC tells you what the alerts will look like.
#
# Two details that matter when you compute them yourself: `roc_auc_score` counts a positive tied with
# a negative as one half (the Mann-Whitney U statistic), and `average_precision_score` is a step sum
# `Σ (Rₙ − Rₙ₋₁) Pₙ`, not the trapezoid area under the PR curve, which is optimistic. Shown on the
# rare set (2.4 % positives, the last one in the loop above) with its scores rounded to produce ties:

# %%
tied_scores = (score * 4).round() / 4  # to multiples of 0.25
print("distinct scores and their counts:", tied_scores.unique(return_counts=True))
print(f"AP step sum {skm.average_precision_score(yv, tied_scores):.4f} vs trapezoid "
      f"{skm.auc(*skm.precision_recall_curve(yv, tied_scores)[1::-1]):.4f}")
order = torch.sort(tied_scores, descending=True, stable=True).indices  # ties split by sample order
tpr_s = torch.cat([torch.zeros(1), yv[order].cumsum(0) / yv.sum()])
fpr_s = torch.cat([torch.zeros(1), (1 - yv[order]).cumsum(0) / (1 - yv).sum()])
print(f"ROC-AUC with ties as one half {skm.roc_auc_score(yv, tied_scores):.4f} vs ties split by sample order "
      f"{torch.trapezoid(tpr_s, fpr_s):.4f}")

# %% [markdown]
# With only two distinct scores the PR curve has two points besides its start at (recall 0,
# precision 1); the trapezoid draws a straight line from that start, crediting precision the model
# never reaches. The split-by-order AUC is this low because `rare_nines` puts the 9s last, so every
# tie is broken against them; another order would give another number, while tie = ½ gives one.

# %% [markdown]
# **Choosing a threshold.** The default 0.5 is rarely what you want. Choose it on validation data
# for the operating point you need: here the threshold with the best F1, and the highest threshold
# that still finds 90 % of the 9s.

# %%
precision_c, recall_c, thresholds = skm.precision_recall_curve(yv, score)
f1_c = 2 * precision_c[:-1] * recall_c[:-1] / (precision_c[:-1] + recall_c[:-1]).clip(min=1e-12)
best = f1_c.argmax()
high_recall = max(i for i in range(len(thresholds)) if recall_c[i] >= 0.9)
for name, i in [("best F1", best), ("recall >= 0.9", high_recall)]:
    print(f"{name:>14}: threshold {thresholds[i]:.3f}, precision {precision_c[i]:.3f}, recall {recall_c[i]:.3f}")
decision = (score >= 0.5).long()
print(f"{'default 0.5':>14}: precision {skm.precision_score(yv, decision, zero_division=0):.3f}, "
      f"recall {skm.recall_score(yv, decision):.3f}")

# %% [markdown]
# With 8 positives recall moves in steps of 1/8, so "at least 0.9" means all 8 (recall 1.000), at
# a precision of 6 %. The default 0.5 finds none of the 9s: this briefly trained scorer, which saw
# 10 % positives, gives every one of them less than 0.5. In practice the threshold is chosen on a
# validation split and reported on a separate test split: chosen and measured on the same data, it
# flatters the model.

# %% [markdown]
# ## 6. Top-k accuracy
#
# When several answers are acceptable (search suggestions, a shortlist for a human), count a sample as
# correct when its target is among the `k` highest scores.

# %%
topk = logits.topk(5, dim=1).indices
for k in (1, 2, 5):
    hit = (topk[:, :k] == y_valid[:, None]).any(dim=1).float().mean()
    print(f"top-{k} accuracy {hit:.4f}   sklearn {skm.top_k_accuracy_score(y_valid, logits, k=k, labels=range(10)):.4f}"
          f"   torchmetrics {TMF.accuracy(logits, y_valid, task='multiclass', num_classes=10, top_k=k, average='micro'):.4f}")

# %% [markdown]
# ## 7. Regression: MAE, MSE, RMSE, R²
#
# Predict how much ink the bottom half of a digit holds from its top half, by least squares.

# %%
def halves(x):
    images = x.reshape(-1, 8, 8)
    return images[:, :4].flatten(1), images[:, 4:].sum(dim=(1, 2))


top_train, ink_train = halves(x_train)
top_valid, ink_valid = halves(x_valid)
design = lambda t: torch.cat([t, torch.ones(len(t), 1)], dim=1)
weights = torch.linalg.lstsq(design(top_train).double(), ink_train.double()[:, None]).solution
ink_pred = (design(top_valid).double() @ weights).squeeze(1)
error = ink_pred - ink_valid.double()
mae, mse = error.abs().mean(), (error ** 2).mean()
r2 = 1 - (error ** 2).sum() / ((ink_valid - ink_valid.mean()) ** 2).sum()
print(f"MAE {mae:.4f}  MSE {mse:.4f}  RMSE {mse.sqrt():.4f}  R² {r2:.4f}")
print(f"sklearn: MAE {skm.mean_absolute_error(ink_valid, ink_pred):.4f}  MSE {skm.mean_squared_error(ink_valid, ink_pred):.4f}"
      f"  RMSE {skm.root_mean_squared_error(ink_valid, ink_pred):.4f}  R² {skm.r2_score(ink_valid, ink_pred):.4f}")

# %% [markdown]
# MAE is in the target's units and weighs every error alike; MSE squares them, so a few large errors
# dominate it; RMSE brings MSE back to the target's units; R² compares the MSE with that of always
# predicting the mean (1 is perfect, 0 is no better than the mean, negative is worse).

# %% [markdown]
# ## 8. Ranking: MRR, NDCG@k, MAP@k
#
# A search engine scores 6 documents for each of 3 queries; `relevance` holds graded judgements
# (0 irrelevant, 1 relevant, 2 very relevant). Each query ranks its documents by descending score.

# %%
relevance = torch.tensor([[0, 2, 0, 1, 0, 0],
                          [1, 0, 0, 0, 2, 1],
                          [0, 0, 0, 0, 0, 1]], dtype=torch.float64)
scores = torch.tensor([[0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
                       [0.3, 0.9, 0.8, 0.1, 0.6, 0.7],
                       [0.6, 0.5, 0.4, 0.3, 0.2, 0.1]], dtype=torch.float64)
ranked = relevance.gather(1, scores.argsort(dim=1, descending=True))
print("relevance in ranked order:\n", ranked)

# %% [markdown]
# - **MRR**: `1 / rank` of the first relevant document, averaged over queries. It only looks at
#   the first hit.
# - **NDCG@k**: `DCG@k = Σᵢ₌₁ᵏ relᵢ / log₂(i + 1)` rewards relevant documents near the top, using
#   the graded relevances; dividing by the DCG of the ideal order (relevances sorted) puts it in
#   [0, 1].
# - **MAP@k**: per query, the precision at each rank where a relevant document appears (within the
#   top k), summed and divided by `min(k, R)` (`R` = the query's relevant documents), then averaged
#   over queries. Binary relevance only.

# %%
k = 3
ranks = torch.arange(1, ranked.shape[1] + 1, dtype=torch.float64)
hits = ranked > 0
mrr = torch.where(hits, 1 / ranks, 0.0).max(dim=1).values
discount = 1 / torch.log2(ranks[:k] + 1)
ndcg = (ranked[:, :k] * discount).sum(1) / (relevance.sort(dim=1, descending=True).values[:, :k] * discount).sum(1)
precision_at = hits[:, :k].cumsum(1) / ranks[:k]
ap = (precision_at * hits[:, :k]).sum(1) / hits.sum(1).clamp(max=k)
print("per query  MRR", mrr.tolist(), " NDCG@3", [round(v, 4) for v in ndcg.tolist()], " AP@3", ap.tolist())
print(f"means: MRR {mrr.mean():.4f}, NDCG@3 {ndcg.mean():.4f} (sklearn {skm.ndcg_score(relevance, scores, k=k):.4f}), "
      f"MAP@3 {ap.mean():.4f}")
print("torchmetrics: MRR", round(torch.stack([retrieval_reciprocal_rank(s, r > 0) for s, r in zip(scores, relevance)]).mean().item(), 4),
      " MAP@3", round(torch.stack([retrieval_average_precision(s, r > 0, top_k=k) for s, r in zip(scores, relevance)]).mean().item(), 4))

# %% [markdown]
# MRR and NDCG agree with the libraries. MAP@3 does not: the third query's only relevant document is
# ranked 6th, outside the top 3, and both conventions give it 0, but for the first two queries
# torchmetrics divides by the relevant documents *found in the top k* (1 each) where our definition
# divides by `min(k, R)` (2 and 3): 0.5 and 0.333 instead of 0.25 and 0.111. "MAP@k" has several
# definitions in the wild: state the one you use.

# %% [markdown]
# ## 9. Batches of unequal size, and several workers
#
# An evaluation loop sees the validation set in batches. With 359 samples and `batch_size=64` the
# last batch has 39. Averaging the per-batch means weighs those 39 samples like 64:

# %%
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x_valid, y_valid), batch_size=64)
batch_means, batch_accs, sizes = [], [], []
loss_sum, correct, seen = 0.0, 0, 0
with torch.no_grad():
    for xb, yb in loader:
        out = model(xb)
        loss = F.cross_entropy(out, yb)              # the batch's mean
        batch_means.append(loss.item()), batch_accs.append((out.argmax(1) == yb).float().mean().item())
        sizes.append(len(yb))
        loss_sum += loss.item() * len(yb)             # back to a sum: weight by the batch size
        correct += (out.argmax(1) == yb).sum().item()
        seen += len(yb)
print("batch sizes", sizes)
print(f"mean of batch means {sum(batch_means) / len(batch_means):.6f} | per-sample mean {loss_sum / seen:.6f} "
      f"| one shot {F.cross_entropy(model(x_valid), y_valid).item():.6f}")
print(f"accuracy: mean of batch accuracies {sum(batch_accs) / len(batch_accs):.6f} | counted {correct / seen:.6f}")

# %% [markdown]
# The fix is to accumulate **sums and counts** (or a confusion matrix) and divide once at the end.
# The same state makes a distributed evaluation correct: each worker keeps its sums and counts, the
# states are added together, and the metric is computed once from the total. torchmetrics' `Metric`
# works this way: `update` accumulates state, `compute` divides, and the workers' states are combined
# by `merge_state` by hand, or under DDP inside `compute`, by `Metric._sync_dist`
# (torchmetrics/metric.py), which all-gathers each state and reduces it with its `dist_reduce_fx`
# (a sum for counts).

# %%
shards = [torch.arange(i, len(y_valid), 3) for i in range(3)]   # 3 workers, about 120 samples each
shards[2] = shards[2][:50]                                      # ... the last with fewer
workers = []
for index in shards:
    metric = torchmetrics.classification.MulticlassF1Score(num_classes=10, average="macro")
    for chunk in index.split(32):                               # each worker sees its own batches
        metric.update(preds[chunk], y_valid[chunk])
    workers.append(metric)
merged = workers[0]
for other in workers[1:]:
    merged.merge_state(other)
everything = torch.cat(shards)
print(f"macro F1 merged from 3 workers {merged.compute():.6f} | one pass "
      f"{skm.f1_score(y_valid[everything], preds[everything], average='macro'):.6f} | mean of the workers' F1 "
      f"{sum(TMF.f1_score(preds[i], y_valid[i], task='multiclass', num_classes=10, average='macro') for i in shards) / 3:.6f}")

# %% [markdown]
# Merging the state (per-class counts) gives the one-pass value; averaging the workers' F1 does not,
# just as the mean of batch means is not the mean. Non-decomposable metrics such as AUC need the
# scores themselves (or a histogram of them) to be gathered, not averaged: torchmetrics' `BinaryAUROC`
# keeps every score in a list state reduced by concatenation, or, given `thresholds`, a binned count.
#
# **Summary.** Train on a loss, report metrics. On imbalanced data, look past accuracy: per-class
# precision and recall, macro averages, PR-AUC, and a threshold chosen for the operating point you
# need. Accumulate counts and sums, never means, across batches and workers.
