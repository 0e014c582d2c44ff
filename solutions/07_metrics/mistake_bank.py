"""Mistake bank for assignment 7 (metrics written from scratch).

Each Wrong entry is a mistake students really make, as the one change to an otherwise correct
submission; its message is the named mistake (or the failure) that the tests print. Each Correct
entry is another right way to meet the contract, which must score full marks.
"""
from grader.bank import Correct, Replace, Wrong

_CM = ("    index = targets * num_classes + preds\n"
       "    counts = torch.bincount(index, minlength=num_classes * num_classes)\n"
       "    return counts.reshape(num_classes, num_classes)")  # the end of the cell
_RATIO = ("        return torch.where(denominator > 0, numerator / safe, "
          "torch.full_like(numerator, float(zero_division)))\n")
_AUC_BODY = '''    scores = scores.double()
    _, inverse, counts = torch.unique(scores, return_inverse=True, return_counts=True)
    # rank of each distinct value (1-based), averaged over its ties
    group_rank = counts.cumsum(0).double() - (counts.double() - 1) / 2
    ranks = group_rank[inverse]
    n_pos = positive.sum().double()
    n_neg = positive.numel() - n_pos
    return (ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
'''
_AP_BODY = ('''    _, inverse = torch.unique(scores.double(), return_inverse=True)
    groups = int(inverse.max()) + 1
    pos_per = torch.zeros(groups, dtype=torch.float64, device=scores.device).index_add_(0, inverse, positive.double())
    all_per = torch.bincount(inverse, minlength=groups).double()
    pos_per, all_per = pos_per.flip(0), all_per.flip(0)  # from the highest threshold down
''')
_AP_TAIL = ('    precision = pos_per.cumsum(0) / all_per.cumsum(0)\n'
            '    return (pos_per / pos_per.sum() * precision).sum()\n')
_MAP_DIV = "    ap = (precision_at_i * top).sum(dim=1) / relevant.clamp(min=1)\n"
_IDEAL = "    ideal = relevance.double().sort(dim=1, descending=True).values[:, :k]\n"
_DISCOUNT = ("    discount = 1.0 / torch.log2(torch.arange(2, ranked.shape[1] + 2, device=ranked.device, "
             "dtype=torch.float64))\n")
_LOSS_UPDATE = "        self.loss_sum += batch_loss.detach().double() * targets.numel()\n"
_MERGE = ("        self.confusion += other.confusion\n"
          "        self.loss_sum += other.loss_sum\n"
          "        return self")  # the end of the cell

BANK = [
    # ---- Part 1: confusion_matrix ----------------------------------------------------------------
    Wrong("cm_transposed",
          "puts predictions on the rows and targets on the columns",
          {"confusion_matrix": Replace("    index = targets * num_classes + preds\n",
                                       "    index = preds * num_classes + targets\n")},
          message="the matrix is transposed", fails=("test_confusion_matrix", "test_confusion_matrix_hidden")),
    Wrong("cm_size_from_data",
          "sizes the matrix by the largest label seen, so trailing absent classes lose their row and column",
          {"confusion_matrix": Replace("    index = targets * num_classes + preds\n",
                                       "    num_classes = int(torch.maximum(targets.max(), preds.max())) + 1\n"
                                       "    index = targets * num_classes + preds\n")},
          message="classes absent from the data were dropped",
          fails=("test_confusion_matrix", "test_confusion_matrix_hidden")),
    Wrong("cm_unique_labels",
          "maps the labels seen in the data to rows (torch.unique), dropping classes absent from both",
          {"confusion_matrix": Replace(
              "    index = targets * num_classes + preds\n",
              "    labels, both = torch.unique(torch.cat([targets, preds]), return_inverse=True)\n"
              "    num_classes = len(labels)\n"
              "    index = both[:len(targets)] * num_classes + both[len(targets):]\n")},
          message="classes absent from the data were dropped",
          fails=("test_confusion_matrix", "test_confusion_matrix_hidden")),
    Wrong("cm_python_loop",
          "counts with a Python loop over the samples",
          {"confusion_matrix": Replace(_CM,
                                       "    cm = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=targets.device)\n"
                                       "    for t, p in zip(targets, preds):\n"
                                       "        cm[t, p] += 1\n"
                                       "    return cm\n")},
          message="that is a Python loop over the samples", fails=("test_confusion_matrix_hidden",)),
    Wrong("cm_counter_tolist",
          "counts (target, prediction) pairs with collections.Counter over .tolist()",
          {"confusion_matrix": Replace(_CM,
                                       "    from collections import Counter\n"
                                       "    pairs = Counter(zip(targets.tolist(), preds.tolist()))\n"
                                       "    cm = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=targets.device)\n"
                                       "    for (t, p), n in pairs.items():\n"
                                       "        cm[t, p] = n\n"
                                       "    return cm\n")},
          message="converted a tensor with `.tolist()`",
          fails=("test_confusion_matrix", "test_confusion_matrix_hidden")),
    Wrong("cm_histc_float",
          "counts with torch.histc, which returns float counts",
          {"confusion_matrix": Replace(
              "    counts = torch.bincount(index, minlength=num_classes * num_classes)\n",
              "    counts = torch.histc(index.float(), bins=num_classes * num_classes, min=0, "
              "max=num_classes * num_classes - 1)\n")},
          message="expected dtype torch.int64 (counts)", fails=("test_confusion_matrix_hidden",)),
    Wrong("cm_sklearn",
          "calls sklearn.metrics.confusion_matrix",
          {"confusion_matrix": Replace(_CM,
                                       "    from sklearn.metrics import confusion_matrix as sk\n"
                                       "    return torch.as_tensor(sk(targets.cpu(), preds.cpu(), "
                                       "labels=list(range(num_classes)))).to(targets.device)\n")},
          message="called scikit-learn", fails=("test_confusion_matrix", "test_confusion_matrix_hidden")),
    # ---- Part 2: precision_recall_f1 ---------------------------------------------------------------
    Wrong("prf_zero_division_nan",
          "divides without guarding a zero denominator, so a class never predicted gets nan",
          {"precision_recall_f1": Replace(_RATIO, "        return numerator / denominator\n")},
          message="a zero denominator gave nan",
          fails=("test_precision_recall_f1", "test_precision_recall_f1_hidden")),
    Wrong("prf_f1_harmonic_zero_division",
          "computes F1 as the harmonic mean of P and R, with zero_division where P + R = 0",
          {"precision_recall_f1": Replace(
              "    precision, recall, f1 = ratio(tp, predicted), ratio(tp, support), ratio(2 * tp, predicted + support)\n",
              "    precision, recall = ratio(tp, predicted), ratio(tp, support)\n"
              "    f1 = ratio(2 * precision * recall, precision + recall)\n")},
          message="F1 set to zero_division where precision + recall = 0",
          fails=("test_precision_recall_f1_hidden",)),
    Wrong("prf_macro_present_only",
          "averages macro over the classes that occur in targets or preds only",
          {"precision_recall_f1": Replace(
              "        return precision.mean(), recall.mean(), f1.mean()\n",
              "        present = (predicted + support) > 0\n"
              "        return precision[present].mean(), recall[present].mean(), f1[present].mean()\n")},
          message="macro averaged over the classes present in the data only",
          fails=("test_precision_recall_f1_hidden",)),
    Wrong("prf_micro_per_class",
          "computes micro per class and averages it (the macro formula)",
          {"precision_recall_f1": [Replace("        tp, predicted, support = tp.sum(), predicted.sum(), support.sum()\n",
                                           "        pass\n"),
                                   Replace('    if average == "macro":\n',
                                           '    if average in ("macro", "micro"):\n')]},
          message="micro computed per class then averaged", fails=("test_precision_recall_f1_hidden",)),
    Wrong("prf_weighted_by_predictions",
          "weights the classes by how often they are predicted instead of by their support",
          {"precision_recall_f1": Replace("        weights = support / support.sum()\n",
                                          "        weights = predicted / predicted.sum()\n")},
          message="weighted by the number of predictions of each class", fails=("test_precision_recall_f1_hidden",)),
    Wrong("prf_float32",
          "computes in float32 (the counts cast with .float())",
          {"precision_recall_f1": Replace("    cm = confusion_matrix(targets, preds, num_classes).double()\n",
                                          "    cm = confusion_matrix(targets, preds, num_classes).float()\n")},
          message="expected dtype torch.float64", fails=("test_precision_recall_f1_hidden",)),
    # ---- Part 3: roc_auc / average_precision -------------------------------------------------------
    Wrong("auc_trapezoid_per_sample",
          "sorts every sample apart and integrates the ROC curve by trapezoids, so ties depend on sample order",
          {"ranking_auc": Replace(_AUC_BODY,
                                  "    order = torch.sort(scores.double(), descending=True, stable=True).indices\n"
                                  "    y = positive[order].double()\n"
                                  "    tpr = torch.cat([y.new_zeros(1), y.cumsum(0) / y.sum()])\n"
                                  "    fpr = torch.cat([y.new_zeros(1), (1 - y).cumsum(0) / (1 - y).sum()])\n"
                                  "    return torch.trapezoid(tpr, fpr)\n")},
          message="ties broken by sample order", fails=("test_ranking_auc_hidden",)),
    Wrong("auc_tie_as_loss",
          "counts the pairs where the positive scores strictly higher, a tie as 0",
          {"ranking_auc": Replace(_AUC_BODY,
                                  "    diff = scores[positive][:, None].double() - scores[~positive][None, :].double()\n"
                                  "    return (diff > 0).double().mean()\n")},
          message="a tie counted as a loss", fails=("test_ranking_auc", "test_ranking_auc_hidden")),
    Wrong("ap_trapezoid",
          "integrates the precision-recall curve by trapezoids",
          {"ranking_auc": Replace(_AP_TAIL,
                                  "    precision = pos_per.cumsum(0) / all_per.cumsum(0)\n"
                                  "    recall = torch.cat([precision.new_zeros(1), pos_per.cumsum(0) / pos_per.sum()])\n"
                                  "    precision = torch.cat([precision.new_ones(1), precision])\n"
                                  "    return torch.trapezoid(precision, recall)\n")},
          message="average precision by the trapezoid rule", fails=("test_ranking_auc", "test_ranking_auc_hidden")),
    Wrong("ovr_weighted",
          "weights the one-vs-rest AUCs by class frequency",
          {"ranking_auc": Replace(
              "    return torch.stack([binary(targets == c, scores[:, c]) for c in range(scores.shape[1])]).mean()\n",
              "    values = torch.stack([binary(targets == c, scores[:, c]) for c in range(scores.shape[1])])\n"
              "    freq = torch.stack([(targets == c).sum() for c in range(scores.shape[1])]).double()\n"
              "    return (values * freq).sum() / freq.sum()\n")},
          message="one-vs-rest weighted by class frequency", fails=("test_ranking_auc_hidden",)),
    # ---- Part 4: mrr / ndcg_at_k / map_at_k --------------------------------------------------------
    Wrong("dcg_log2_i",
          "discounts rank i by log2(i) (rank 1 left undiscounted) instead of log2(i + 1)",
          {"ranking": Replace(_DISCOUNT,
                              "    discount = 1.0 / torch.log2(torch.arange(1, ranked.shape[1] + 1, device=ranked.device, "
                              "dtype=torch.float64).clamp(min=2))\n")},
          message="DCG discounted by log2(i) instead of log2(i + 1)", fails=("test_ranking", "test_ranking_hidden")),
    Wrong("idcg_predicted_topk",
          "takes the ideal DCG from the relevances of the predicted top k, sorted",
          {"ranking": Replace(_IDEAL, "    ideal = ranked.sort(dim=1, descending=True).values\n")},
          message="IDCG from the relevances of the predicted top k only", fails=("test_ranking", "test_ranking_hidden")),
    Wrong("idcg_predicted_order",
          "computes the ideal DCG from the predicted order itself",
          {"ranking": Replace(_IDEAL, "    ideal = ranked\n")},
          message="IDCG taken from the predicted order", fails=("test_ranking", "test_ranking_hidden")),
    Wrong("ndcg_exponential_gain",
          "uses the gain 2^rel - 1 (another common NDCG) instead of the relevance",
          {"ranking": [Replace("    ranked = _ranked_relevance(relevance, scores)[:, :k]\n",
                               "    ranked = 2 ** _ranked_relevance(relevance, scores)[:, :k] - 1\n"),
                       Replace(_IDEAL, "    ideal = (2 ** relevance.double() - 1).sort(dim=1, descending=True).values[:, :k]\n")]},
          message="gain 2^rel - 1 instead of rel", fails=("test_ranking", "test_ranking_hidden")),
    Wrong("map_divided_by_k",
          "divides each query's AP@k by k",
          {"ranking": Replace(_MAP_DIV, "    ap = (precision_at_i * top).sum(dim=1) / k\n")},
          message="AP@k divided by k instead of by min(k, R)", fails=("test_ranking", "test_ranking_hidden")),
    Wrong("map_divided_by_R",
          "divides each query's AP@k by all its relevant documents, R, not min(k, R)",
          {"ranking": Replace("    relevant = hits.sum(dim=1).clamp(max=k)\n", "    relevant = hits.sum(dim=1)\n")},
          message="AP@k divided by R, all relevant documents", fails=("test_ranking_hidden",)),
    Wrong("map_divided_by_hits",
          "divides AP@k by the relevant documents found in the top k (torchmetrics' RetrievalMAP)",
          {"ranking": Replace("    relevant = hits.sum(dim=1).clamp(max=k)\n", "    relevant = top.sum(dim=1)\n")},
          message="AP@k divided by the relevant documents found in the top k", fails=("test_ranking_hidden",)),
    Wrong("mrr_skips_empty_queries",
          "averages the reciprocal ranks over the queries that have a relevant document only",
          {"ranking": Replace("    return reciprocal.max(dim=1).values.mean()\n",
                              "    found = hits.any(dim=1)\n"
                              "    return reciprocal.max(dim=1).values[found].mean()\n")},
          message="queries without a relevant document were left out of the mean", fails=("test_ranking_hidden",)),
    Wrong("auc_negates_float64_input",
          "negates the scores in place to sort them ascending: .double() of float64 scores is the input itself",
          {"ranking_auc": Replace("    return _one_vs_rest(_binary_roc_auc, targets, scores)\n",
                                  "    s = scores.double()\n"
                                  "    s.neg_()  # lowest first\n"
                                  "    return _one_vs_rest(_binary_roc_auc, targets, -s)\n")},
          message="modified its input in place", fails=("test_ranking_auc_hidden",)),
    Wrong("mrr_negates_float64_scores",
          "negates the scores in place to rank with an ascending argsort: .double() of float64 scores is the input",
          {"ranking": Replace("    hits = _ranked_relevance(relevance, scores) > 0\n",
                              "    s = scores.double()\n"
                              "    s.neg_()  # ascending order of -score = descending order of score\n"
                              "    hits = relevance.gather(1, s.argsort(dim=1)) > 0\n")},
          message="modified its input in place", fails=("test_ranking_hidden",)),
    Wrong("mrr_float32",
          "computes the reciprocal ranks in float32 (1.0 / an integer rank)",
          {"ranking": Replace("    ranks = torch.arange(1, hits.shape[1] + 1, device=hits.device, dtype=torch.float64)\n"
                              "    reciprocal",
                              "    ranks = torch.arange(1, hits.shape[1] + 1, device=hits.device)\n"
                              "    reciprocal")},
          message="expected dtype torch.float64", fails=("test_ranking_hidden",)),
    # ---- Part 5: StreamingMetrics --------------------------------------------------------------
    Wrong("stream_mean_of_batch_means",
          "averages the batch mean losses, whatever the batch sizes",
          {"streaming": [Replace(_LOSS_UPDATE, "        self.loss_sum += batch_loss.detach().double()\n"
                                               "        self.batches += 1\n"),
                         Replace("        self.loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)\n",
                                 "        self.loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)\n"
                                 "        self.batches = 0\n"),
                         Replace('"loss": self.loss_sum / count}', '"loss": self.loss_sum / self.batches}'),
                         Replace("        self.loss_sum += other.loss_sum\n",
                                 "        self.loss_sum += other.loss_sum\n        self.batches += other.batches\n")]},
          message="the mean of the batch means", fails=("test_streaming", "test_streaming_hidden")),
    Wrong("stream_merge_adds_means",
          "keeps a running mean loss and merges by adding the shards' means",
          {"streaming": [Replace(_LOSS_UPDATE,
                                 "        n = self.confusion.sum()\n"
                                 "        self.loss_sum = (self.loss_sum * (n - targets.numel()) + "
                                 "batch_loss.detach().double() * targets.numel()) / n\n"),
                         Replace('"loss": self.loss_sum / count}', '"loss": self.loss_sum.clone()}')]},
          message="merge added (or averaged) the shards' mean losses", fails=("test_streaming_hidden",)),
    Wrong("stream_keeps_graph",
          "accumulates batch_loss without detaching it",
          {"streaming": Replace(_LOSS_UPDATE, "        self.loss_sum = self.loss_sum + batch_loss.double() * targets.numel()\n")},
          message="requires grad", fails=("test_streaming_hidden",)),
    Wrong("stream_merge_resets_other",
          "resets the merged shard so that it cannot be counted twice",
          {"streaming": Replace(_MERGE, "        self.confusion += other.confusion\n"
                                        "        self.loss_sum += other.loss_sum\n"
                                        "        other.reset()\n"
                                        "        return self\n")},
          message="merge must leave other unmodified", fails=("test_streaming_hidden",)),
    Wrong("stream_macro_f1_per_batch",
          "averages the macro-F1 of each batch",
          {"streaming": [Replace("        self.confusion += confusion_matrix(targets, preds, self.num_classes)\n",
                                 "        self.confusion += confusion_matrix(targets, preds, self.num_classes)\n"
                                 "        self.f1_sum += precision_recall_f1(targets, preds, self.num_classes, "
                                 "average='macro')[2]\n"
                                 "        self.batches += 1\n"),
                         Replace("        self.loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)\n",
                                 "        self.loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)\n"
                                 "        self.f1_sum = torch.zeros((), dtype=torch.float64, device=self.device)\n"
                                 "        self.batches = 0\n"),
                         Replace('"macro_f1": f1.mean(),', '"macro_f1": self.f1_sum / self.batches,'),
                         Replace("        self.loss_sum += other.loss_sum\n",
                                 "        self.loss_sum += other.loss_sum\n        self.f1_sum += other.f1_sum\n"
                                 "        self.batches += other.batches\n")]},
          message="macro-F1 averaged over batches", fails=("test_streaming_hidden",)),
    Wrong("stream_compute_resets",
          "resets the state at the end of compute(), like an epoch-end hook",
          {"streaming": Replace('        return {"accuracy": tp.sum() / count, "macro_f1": f1.mean(), "loss": self.loss_sum / count}\n',
                                '        result = {"accuracy": tp.sum() / count, "macro_f1": f1.mean(), "loss": self.loss_sum / count}\n'
                                '        self.reset()\n'
                                '        return result\n')},
          message="compute() called a second time", fails=("test_streaming", "test_streaming_hidden")),
    Wrong("stream_merge_aliases_other",
          "merging into an empty object takes other's tensors themselves, so later += on self changes other",
          {"streaming": Replace(_MERGE, "        if int(self.confusion.sum()) == 0:  # nothing here yet: take the other's state\n"
                                        "            self.confusion, self.loss_sum = other.confusion, other.loss_sum\n"
                                        "            return self\n" + _MERGE)},
          message="merge kept a reference to other's tensors", fails=("test_streaming_hidden",)),
    Wrong("stream_loss_float32",
          "accumulates the loss in a float32 running sum, converted to float64 in compute()",
          {"streaming": [Replace(_LOSS_UPDATE, "        self.loss_sum += batch_loss.detach().float() * targets.numel()\n"),
                         Replace("        self.loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)\n",
                                 "        self.loss_sum = torch.zeros((), dtype=torch.float32, device=self.device)\n"),
                         Replace('"loss": self.loss_sum / count}', '"loss": self.loss_sum.double() / count}')]},
          message="the loss was accumulated (or multiplied by the batch size) in float32",
          fails=("test_streaming_hidden",)),
    Wrong("stream_empty_clamped",
          "guards the division by the sample count with clamp(min=1), so an empty metric gives 0 instead of nan",
          {"streaming": Replace("        count = cm.sum()\n", "        count = cm.sum().clamp(min=1)\n")},
          message="0 / 0 was guarded", fails=("test_streaming_hidden",)),
    # ---- hints added after the second blind check -------------------------------------------------
    Wrong("prf_float32_then_double",
          "computes in float32 and converts the results to float64 at the end",
          {"precision_recall_f1": [Replace("    cm = confusion_matrix(targets, preds, num_classes).double()\n",
                                           "    cm = confusion_matrix(targets, preds, num_classes).float()\n"),
                                   Replace("    return precision, recall, f1",
                                           "    return precision.double(), recall.double(), f1.double()"),
                                   Replace("        return precision.mean(), recall.mean(), f1.mean()\n",
                                           "        return precision.mean().double(), recall.mean().double(), f1.mean().double()\n"),
                                   Replace("        return (precision * weights).sum(), (recall * weights).sum(), (f1 * weights).sum()\n",
                                           "        return tuple((v * weights).sum().double() for v in (precision, recall, f1))\n")]},
          message="that is float32 precision", fails=("test_precision_recall_f1_hidden",)),
    Wrong("prf_recall_no_support_zero",
          "guards the recall's denominator with clamp(min=1), so a class never a target gets recall 0 whatever zero_division",
          {"precision_recall_f1": Replace(
              "ratio(tp, support), ratio(2 * tp, predicted + support)\n",
              "tp / support.clamp(min=1), ratio(2 * tp, predicted + support)\n")},
          message="recall of a class with no support (never a target) set to 0", fails=("test_precision_recall_f1_hidden",)),
    Wrong("auc_ordinal_ranks",
          "ranks the scores with argsort (ordinal ranks), so a tie is decided by the samples' order",
          {"ranking_auc": Replace("    group_rank = counts.cumsum(0).double() - (counts.double() - 1) / 2\n"
                                  "    ranks = group_rank[inverse]\n",
                                  "    ranks = torch.empty_like(scores)\n"
                                  "    ranks[torch.sort(scores, stable=True).indices] = torch.arange(1, len(scores) + 1, "
                                  "dtype=scores.dtype, device=scores.device)\n")},
          message="ties broken by sample order", fails=("test_ranking_auc", "test_ranking_auc_hidden")),
    Wrong("ap_ties_split",
          "sums one step per sample in sorted order, so tied scores do not cross the threshold together",
          {"ranking_auc": Replace(_AP_BODY + _AP_TAIL,
                                  "    order = torch.sort(scores.double(), descending=True, stable=True).indices\n"
                                  "    hit = positive[order].double()\n"
                                  "    precision = hit.cumsum(0) / torch.arange(1, len(hit) + 1, dtype=torch.float64, device=hit.device)\n"
                                  "    return (hit * precision).sum() / hit.sum()\n")},
          message="tied scores were split apart", fails=("test_ranking_auc_hidden",)),
    Wrong("ovr_softmax",
          "applies a softmax to (N, C) scores before the one-vs-rest metrics",
          {"ranking_auc": Replace("    return torch.stack([binary(targets == c, scores[:, c]) for c in range(scores.shape[1])]).mean()\n",
                                  "    scores = torch.softmax(scores.double(), dim=1)\n"
                                  "    return torch.stack([binary(targets == c, scores[:, c]) for c in range(scores.shape[1])]).mean()\n")},
          message="softmax applied to the (N, C) scores", fails=("test_ranking_auc_hidden",)),
    Wrong("idcg_all_documents",
          "sums the ideal DCG over all D documents instead of the top k",
          {"ranking": [Replace(_IDEAL, "    ideal = relevance.double().sort(dim=1, descending=True).values\n"),
                       Replace("    dcg, idcg = (ranked * discount).sum(dim=1), (ideal * discount).sum(dim=1)\n",
                               "    full = 1.0 / torch.log2(torch.arange(2, ideal.shape[1] + 2, device=ideal.device, dtype=torch.float64))\n"
                               "    dcg, idcg = (ranked * discount).sum(dim=1), (ideal * full).sum(dim=1)\n")]},
          message="IDCG summed over all D documents", fails=("test_ranking_hidden",)),
    Wrong("ndcg_binary_gain",
          "uses binary gains (relevant or not) instead of the graded relevance",
          {"ranking": [Replace("    ranked = _ranked_relevance(relevance, scores)[:, :k]\n",
                               "    ranked = (_ranked_relevance(relevance, scores)[:, :k] > 0).double()\n"),
                       Replace(_IDEAL, "    ideal = (relevance > 0).double().sort(dim=1, descending=True).values[:, :k]\n")]},
          message="binary gains", fails=("test_ranking", "test_ranking_hidden")),
    Wrong("mrr_no_hit_rank1",
          "takes the first hit with argmax, so a query with no relevant document counts as a hit at rank 1",
          {"ranking": Replace("    reciprocal = torch.where(hits, 1.0 / ranks, torch.zeros_like(ranks))\n"
                              "    return reciprocal.max(dim=1).values.mean()\n",
                              "    first = hits.double().argmax(dim=1)\n"
                              "    return (1.0 / (first + 1).double()).mean()\n")},
          message="counted as a hit at rank 1", fails=("test_ranking_hidden",)),
    Wrong("stream_reset_keeps_loss",
          "reset() clears the counts but keeps the loss sum",
          {"streaming": [Replace("        self.loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)\n",
                                 "        if not hasattr(self, \"loss_sum\"):\n"
                                 "            self.loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)\n")]},
          message="reset() left part of the state", fails=("test_streaming_hidden",)),
    # ---- mutation triage ----------------------------------------------------------------------------
    Wrong("auc_int_positive_count",
          "keeps the number of positives as an int64 tensor, so n_pos (n_pos + 1) / 2 is divided into float32",
          {"ranking_auc": Replace("    n_pos = positive.sum().double()\n", "    n_pos = positive.sum()\n")},
          message="that is float32 precision", fails=("test_ranking_auc_hidden",)),
    # ---- Alternative correct submissions ---------------------------------------------------------------
    Correct("cm_index_put",
            "counts with index_put_(accumulate=True)",
            {"confusion_matrix": Replace(_CM,
                                         "    cm = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=targets.device)\n"
                                         "    cm.index_put_((targets, preds), torch.ones_like(targets), accumulate=True)\n"
                                         "    return cm\n")}),
    Correct("cm_loop_over_classes",
            "loops over the pairs of classes (not the samples), each a vectorised count",
            {"confusion_matrix": Replace(_CM,
                                         "    return torch.stack([torch.stack([((targets == i) & (preds == j)).sum()\n"
                                         "                                     for j in range(num_classes)])\n"
                                         "                        for i in range(num_classes)])\n")}),
    Correct("prf_micro_is_accuracy",
            "uses that micro precision, recall and F1 all equal the accuracy when every class is counted",
            {"precision_recall_f1": Replace('    if average == "macro":\n',
                                            '    if average == "micro":\n'
                                            '        accuracy = (targets == preds).double().mean()\n'
                                            '        return accuracy, accuracy.clone(), accuracy.clone()\n'
                                            '    if average == "macro":\n')}),
    Correct("auc_pairwise_and_ap_per_positive",
            "AUC from all (positive, negative) pairs with ties worth one half; AP as the mean, over the positives, "
            "of the precision at each positive's score",
            {"ranking_auc": [Replace(_AUC_BODY,
                                     "    diff = scores[positive][:, None].double() - scores[~positive][None, :].double()\n"
                                     "    return ((diff > 0).double() + 0.5 * (diff == 0).double()).mean()\n"),
                             Replace('''    _, inverse = torch.unique(scores.double(), return_inverse=True)
    groups = int(inverse.max()) + 1
    pos_per = torch.zeros(groups, dtype=torch.float64, device=scores.device).index_add_(0, inverse, positive.double())
    all_per = torch.bincount(inverse, minlength=groups).double()
    pos_per, all_per = pos_per.flip(0), all_per.flip(0)  # from the highest threshold down
''' + _AP_TAIL,
                                     "    above = scores[None, :] >= scores[positive][:, None]  # (positives, N)\n"
                                     "    precision = (above & positive[None, :]).sum(1).double() / above.sum(1).double()\n"
                                     "    return precision.mean()\n")]}),
    Correct("ranking_topk_argmax",
            "MRR from the argmax of the hits, NDCG with topk, MAP with an explicit min(k, R)",
            {"ranking": [Replace("    reciprocal = torch.where(hits, 1.0 / ranks, torch.zeros_like(ranks))\n"
                                 "    return reciprocal.max(dim=1).values.mean()\n",
                                 "    first = hits.double().argmax(dim=1)\n"
                                 "    return torch.where(hits.any(dim=1), 1.0 / (first + 1).double(), 0.0).mean()\n"),
                         Replace(_IDEAL, "    ideal = relevance.double().topk(min(k, relevance.shape[1]), dim=1).values\n"),
                         Replace("    relevant = hits.sum(dim=1).clamp(max=k)\n",
                                 "    relevant = torch.minimum(hits.sum(dim=1), torch.tensor(float(k), device=hits.device))\n")]}),
    Correct("stream_separate_counts",
            "keeps counts per class (true positives, predictions, support) and a sample count instead of a matrix",
            {"streaming": '''class StreamingMetrics:
    def __init__(self, num_classes, device="cpu"):
        self.num_classes, self.device = num_classes, device
        self.reset()

    def reset(self):
        zeros = lambda: torch.zeros(self.num_classes, dtype=torch.int64, device=self.device)
        self.tp, self.predicted, self.support = zeros(), zeros(), zeros()
        self.n = 0
        self.loss_total = torch.tensor(0.0, dtype=torch.float64, device=self.device)

    def update(self, targets, preds, batch_loss):
        c = self.num_classes
        self.tp += torch.bincount(targets[targets == preds], minlength=c)
        self.predicted += torch.bincount(preds, minlength=c)
        self.support += torch.bincount(targets, minlength=c)
        self.n += len(targets)
        self.loss_total += len(targets) * batch_loss.item()

    def compute(self):
        tp = self.tp.double()
        den = (self.predicted + self.support).double()
        f1 = torch.where(den > 0, 2 * tp / den.clamp(min=1), 0.0)
        return {"accuracy": tp.sum() / self.n, "macro_f1": f1.mean(),
                "loss": self.loss_total / self.n}

    def merge(self, other):
        self.tp += other.tp
        self.predicted += other.predicted
        self.support += other.support
        self.n += other.n
        self.loss_total += other.loss_total
        return self
'''}),
    Correct("stream_merge_copies_when_empty",
            "merging into an empty object takes copies of other's tensors",
            {"streaming": Replace(_MERGE, "        if int(self.confusion.sum()) == 0:\n"
                                          "            self.confusion, self.loss_sum = other.confusion.clone(), other.loss_sum.clone()\n"
                                          "            return self\n" + _MERGE)}),
    Correct("prf_own_counts_helper",
            "a helper of its own named _counts (the name a hidden test cell uses for its own helper)",
            {"precision_recall_f1": '''def _counts(targets, preds, num_classes):
    cm = confusion_matrix(targets, preds, num_classes).double()
    tp = cm.diagonal()
    return tp, cm.sum(0) - tp, cm.sum(1) - tp, cm.sum(1)


def precision_recall_f1(targets, preds, num_classes, average=None, zero_division=0.0):
    tp, fp, fn, support = _counts(targets, preds, num_classes)
    if average == "micro":
        tp, fp, fn = tp.sum(), fp.sum(), fn.sum()

    def div(num, den):
        return torch.where(den > 0, num / torch.where(den > 0, den, torch.ones_like(den)),
                           torch.full_like(num, float(zero_division)))

    p, r, f = div(tp, tp + fp), div(tp, tp + fn), div(2 * tp, 2 * tp + fp + fn)
    if average == "macro":
        return p.mean(), r.mean(), f.mean()
    if average == "weighted":
        w = support / support.sum()
        return (p * w).sum(), (r * w).sum(), (f * w).sum()
    return p, r, f
'''}),
    Correct("ranking_own_ranked_helper",
            "a ranking helper of its own named _ranked (the name a hidden test cell uses for its own helper)",
            {"ranking": '''def _ranked(relevance, scores):
    return torch.gather(relevance.double(), 1, torch.argsort(-scores.double(), dim=1))


def mrr(relevance, scores):
    r = _ranked(relevance, scores)
    pos = torch.arange(1, r.shape[1] + 1, device=r.device, dtype=torch.float64)
    return (1.0 / torch.where(r > 0, pos, torch.full_like(pos, float("inf"))).min(dim=1).values).mean()


def ndcg_at_k(relevance, scores, k):
    r = _ranked(relevance, scores)[:, :k]
    ideal = relevance.double().sort(dim=1, descending=True).values[:, :k]
    disc = 1.0 / torch.log2(torch.arange(2, r.shape[1] + 2, device=r.device, dtype=torch.float64))
    dcg, idcg = (r * disc).sum(1), (ideal * disc).sum(1)
    return torch.where(idcg > 0, dcg / torch.where(idcg > 0, idcg, torch.ones_like(idcg)), torch.zeros_like(dcg)).mean()


def map_at_k(relevance, scores, k):
    r = _ranked(relevance, scores)
    hit = (r[:, :k] > 0).double()
    prec = hit.cumsum(1) / torch.arange(1, hit.shape[1] + 1, device=r.device, dtype=torch.float64)
    den = (r > 0).sum(1).clamp(max=k).double()
    return torch.where(den > 0, (prec * hit).sum(1) / den.clamp(min=1), torch.zeros_like(den)).mean()
'''}),
]
