"""Mistake bank for assignment 5 (losses written from scratch).

Each Wrong entry is a mistake students really make, as the one change to an otherwise correct
submission; its message is the named mistake (or the failure) that the tests print. Each Correct
entry is another right way to meet the contract, which must score full marks.
"""
from grader.bank import Correct, Replace, Wrong

_LSE = "    out = m + torch.log(torch.exp(x - m).sum(dim=dim, keepdim=True))\n"
_MASK = "    m = torch.where(torch.isinf(m), torch.zeros_like(m), m)  # an all -inf slice stays -inf, not nan\n"
_CE_MEAN = "        return loss.sum() / w_target.sum()\n"
_CE_SMOOTH = "    loss = (1 - label_smoothing) * w_target * nll + (label_smoothing / classes) * smooth\n"

BANK = [
    # ---- Part 1: logsumexp / log_softmax ------------------------------------------------------
    Wrong("naive_logsumexp",
          "computes log(exp(x).sum()) directly, without subtracting the maximum",
          {"logsumexp": [Replace(_LSE, "    out = torch.log(torch.exp(x).sum(dim=dim, keepdim=True))\n")]},
          message="exp overflowed or underflowed", fails=("test_logsumexp", "test_logsumexp_hidden")),
    Wrong("max_not_added_back",
          "subtracts the maximum before exp but forgets to add it back",
          {"logsumexp": Replace(_LSE, "    out = torch.log(torch.exp(x - m).sum(dim=dim, keepdim=True))\n")},
          message="the maximum was subtracted but not added back after the log",
          fails=("test_logsumexp", "test_logsumexp_hidden")),
    Wrong("global_max",
          "subtracts one maximum of the whole tensor instead of one per slice",
          {"logsumexp": Replace("    m = x.amax(dim=dim, keepdim=True).detach()\n", "    m = x.max().detach()\n")},
          # The hint covers both ways of not subtracting each slice's own maximum (this and naive_logsumexp).
          message="exp overflowed or underflowed (non-finite values): subtract the maximum of each slice along dim "
                  "(not one maximum of the whole tensor)", fails=("test_logsumexp_hidden",)),
    Wrong("no_keepdim_in_log_softmax",
          "subtracts logsumexp(x, dim) without keepdim, so it broadcasts along the wrong axis",
          {"logsumexp": Replace("    return x - logsumexp(x, dim, keepdim=True)", "    return x - logsumexp(x, dim)")},
          message="logsumexp was subtracted without keepdim=True", fails=("test_logsumexp_hidden",)),
    Wrong("all_minus_inf_nan",
          "subtracts the maximum without guarding a slice whose maximum is -inf",
          {"logsumexp": Replace(_MASK, "")},
          message="a slice of all -inf has maximum -inf", fails=("test_logsumexp_hidden",)),
    Wrong("log_of_softmax",
          "computes log_softmax as the log of a (stable) softmax, which underflows to log 0",
          {"logsumexp": Replace("    return x - logsumexp(x, dim, keepdim=True)",
                                "    e = torch.exp(x - x.amax(dim=dim, keepdim=True))\n"
                                "    return torch.log(e / e.sum(dim=dim, keepdim=True))")},
          message="the log of a softmax that underflowed to 0", fails=("test_logsumexp_hidden",)),
    Wrong("calls_torch_logsumexp",
          "calls torch.logsumexp inside logsumexp",
          {"logsumexp": Replace(_LSE, "    out = torch.logsumexp(x, dim=dim, keepdim=True)\n")},
          message="called PyTorch's own `logsumexp`", fails=("test_logsumexp", "test_logsumexp_hidden")),
    # ---- Part 2: cross_entropy ----------------------------------------------------------------
    Wrong("weighted_mean_divided_by_n",
          "divides the weighted sum by the number of counted targets",
          {"cross_entropy": Replace(_CE_MEAN, "        return loss.sum() / keep.sum()\n")},
          message="the weighted mean was divided by the number of targets",
          fails=("test_cross_entropy", "test_cross_entropy_hidden")),
    Wrong("ignored_in_denominator",
          "masks ignored targets out of the loss but not out of the mean's denominator",
          {"cross_entropy": Replace("    w_target = torch.where(keep, weight[safe], torch.zeros_like(nll))\n",
                                    "    w_target = weight[safe]\n")},
          message="counted in the mean's denominator", fails=("test_cross_entropy", "test_cross_entropy_hidden")),
    Wrong("smoothing_over_k_minus_1",
          "spreads label smoothing over the C - 1 wrong classes",
          {"cross_entropy": Replace(_CE_SMOOTH,
                                    "    loss = (1 - label_smoothing) * w_target * nll + "
                                    "(label_smoothing / (classes - 1)) * (smooth - w_target * nll)\n")},
          message="label smoothing spread ε over the C − 1 other classes",
          fails=("test_cross_entropy", "test_cross_entropy_hidden")),
    Wrong("smoothing_unweighted",
          "leaves the class weights out of the label-smoothing term",
          {"cross_entropy": Replace("    smooth = -(w * logp).sum(dim=1)\n", "    smooth = -logp.sum(dim=1)\n")},
          message="the label-smoothing term was not weighted by the class weights",
          fails=("test_cross_entropy_hidden",)),
    Wrong("ignored_smoothing_kept",
          "zeroes the weight of ignored targets but keeps their label-smoothing term",
          {"cross_entropy": Replace("    loss = torch.where(keep, loss, torch.zeros_like(loss))\n", "")},
          message="ignored targets must contribute a loss of exactly 0", fails=("test_cross_entropy_hidden",)),
    Wrong("prob_mean_by_weights",
          "normalises the probability-target mean by the weights, as for class indices",
          {"cross_entropy": Replace("            return loss.sum() / loss.numel()\n",
                                    "            return loss.sum() / (w * soft).sum()\n")},
          message="with probability targets torch's mean divides by the number of elements",
          fails=("test_cross_entropy_hidden",)),
    Wrong("prob_no_smoothing",
          "applies label smoothing to class indices only",
          {"cross_entropy": Replace("        soft = target * (1 - label_smoothing) + label_smoothing / classes\n",
                                    "        soft = target\n")},
          message="label_smoothing was ignored", fails=("test_cross_entropy_hidden",)),
    Wrong("softmax_before_log_softmax",
          "normalises the logits with a softmax first, then takes log_softmax",
          {"cross_entropy": Replace("    logp = log_softmax(logits, dim=1)\n",
                                    "    logp = log_softmax(torch.exp(log_softmax(logits, dim=1)), dim=1)\n")},
          message="softmax was applied to the logits before log_softmax",
          fails=("test_cross_entropy", "test_cross_entropy_hidden")),
    Wrong("target_modified_in_place",
          "replaces the ignored targets by 0 in the caller's tensor",
          {"cross_entropy": Replace("    safe = torch.where(keep, target, torch.zeros_like(target))\n",
                                    "    target[~keep] = 0\n    safe = target\n")},
          message="modified its target argument in place", fails=("test_cross_entropy_hidden",)),
    Wrong("all_ignored_returns_zero",
          "guards the 0 / 0 of an all-ignored batch by returning 0",
          {"cross_entropy": Replace(_CE_MEAN,
                                    "        if not keep.any():\n"
                                    "            return loss.sum() * 0\n" + _CE_MEAN)},
          message="a batch whose targets are all ignored must give nan", fails=("test_cross_entropy_hidden",)),
    Wrong("classes_on_last_dim",
          "takes the classes from the last dimension, which is dim 1 only for (N, C) logits",
          {"cross_entropy": [Replace("    classes = logits.shape[1]\n", "    classes = logits.shape[-1]\n"),
                             Replace("    logp = log_softmax(logits, dim=1)\n", "    logp = log_softmax(logits, dim=-1)\n")]},
          message="cross_entropy(logits (2, 4, 3, 5)", fails=("test_cross_entropy_hidden",)),
    Wrong("calls_torch_cross_entropy",
          "wraps F.cross_entropy",
          {"cross_entropy": '''def cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    return F.cross_entropy(logits, target, weight=weight, ignore_index=ignore_index, reduction=reduction,
                           label_smoothing=label_smoothing)
'''},
          message="called PyTorch's own `cross_entropy`", fails=("test_cross_entropy", "test_cross_entropy_hidden")),
    # ---- Part 3: binary_cross_entropy_with_logits ---------------------------------------------
    Wrong("bce_log_of_sigmoid",
          "takes log(sigmoid(x)) and log(1 - sigmoid(x)) directly",
          {"bce_with_logits": [Replace("    log_p = F.logsigmoid(logits)        # log σ(x), stable\n",
                                       "    log_p = torch.log(torch.sigmoid(logits))\n"),
                               Replace("    log_not_p = F.logsigmoid(-logits)   # log(1 − σ(x)) = log σ(−x)\n",
                                       "    log_not_p = torch.log(1 - torch.sigmoid(logits))\n")]},
          message="log(sigmoid(x)) is log 0 = -inf", fails=("test_bce_with_logits", "test_bce_with_logits_hidden")),
    Wrong("bce_clamped_log",
          "clamps the logs of the probabilities at -100, as BCELoss does",
          {"bce_with_logits": [Replace("    log_p = F.logsigmoid(logits)        # log σ(x), stable\n",
                                       "    log_p = torch.log(torch.sigmoid(logits)).clamp(min=-100)\n"),
                               Replace("    log_not_p = F.logsigmoid(-logits)   # log(1 − σ(x)) = log σ(−x)\n",
                                       "    log_not_p = torch.log(1 - torch.sigmoid(logits)).clamp(min=-100)\n")]},
          message="the loss saturates for large logits", fails=("test_bce_with_logits", "test_bce_with_logits_hidden")),
    Wrong("pos_weight_on_negatives",
          "multiplies the negative term by pos_weight",
          {"bce_with_logits": [Replace("        positive = pos_weight * positive\n", "        log_not_p = pos_weight * log_not_p\n")]},
          message="pos_weight was applied to the negative term", fails=("test_bce_with_logits", "test_bce_with_logits_hidden")),
    Wrong("bce_mean_by_weights",
          "divides the weighted sum by the sum of the weights",
          {"bce_with_logits": Replace("    if reduction == \"mean\":\n        return loss.mean()\n",
                                      "    if reduction == \"mean\":\n"
                                      "        return loss.sum() / (torch.ones_like(loss) * (1 if weight is None else weight)).sum()\n")},
          message="the mean was divided by the sum of the weights", fails=("test_bce_with_logits_hidden",)),
    # ---- Part 4: focal loss -------------------------------------------------------------------
    Wrong("focal_alpha_on_negatives",
          "weights the negatives by alpha and the positives by 1 - alpha",
          {"focal_loss": Replace("(alpha * targets + (1 - alpha) * (1 - targets))",
                                 "(alpha * (1 - targets) + (1 - alpha) * targets)")},
          message="alpha weighted the negatives and 1 - alpha the positives",
          fails=("test_focal_loss", "test_focal_loss_hidden")),
    Wrong("focal_negative_alpha_applied",
          "always applies the alpha weighting, even for alpha = -1",
          {"focal_loss": Replace("    if alpha >= 0:\n", "    if True:\n")},
          message="a negative alpha must switch the alpha weighting off", fails=("test_focal_loss_hidden",)),
    Wrong("focal_mean_over_n",
          "averages the multi-class focal loss over N instead of the summed alphas",
          {"focal_loss": Replace("            return loss.sum() / alpha_t.sum()\n", "            return loss.mean()\n")},
          message="the mean was divided by N", fails=("test_focal_loss", "test_focal_loss_hidden")),
    Wrong("focal_alpha_of_prediction",
          "looks alpha up by the predicted class instead of the target",
          {"focal_loss": Replace("            alpha_t = self.alpha.to(logits.dtype)[target]\n",
                                 "            alpha_t = self.alpha.to(logits.dtype)[logits.argmax(dim=1)]\n")},
          message="alpha was indexed by the predicted class", fails=("test_focal_loss", "test_focal_loss_hidden")),
    Wrong("focal_alpha_plain_attribute",
          "stores alpha as a plain tensor attribute",
          {"focal_loss": Replace('        self.register_buffer("alpha", None if alpha is None else torch.as_tensor(alpha, dtype=torch.float32))\n',
                                 "        self.alpha = None if alpha is None else torch.tensor(alpha)\n")},
          message="alpha is a plain attribute", fails=("test_focal_loss_hidden",)),
    # ---- Part 5: Huber / SmoothL1 -------------------------------------------------------------
    Wrong("huber_is_smooth_l1",
          "writes Huber with SmoothL1's formula (divided by delta)",
          {"robust_losses": Replace("    loss = torch.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta))\n",
                                    "    loss = torch.where(d < delta, 0.5 * d * d / delta, d - 0.5 * delta)\n")},
          message="Huber and Smooth L1 were swapped", fails=("test_robust_losses", "test_robust_losses_hidden")),
    Wrong("smooth_l1_beta_zero_nan_grad",
          "divides by beta in both branches of torch.where, so beta = 0 gives a nan gradient",
          {"robust_losses": Replace("    if beta == 0:\n        return _reduce(d, reduction)\n", "")},
          message="the gradient is nan: a division by beta = 0", fails=("test_robust_losses_hidden",)),
    # ---- Part 6: SoftmaxCrossEntropy ----------------------------------------------------------
    Wrong("backward_missing_1_over_n",
          "returns softmax - onehot without dividing by N",
          {"softmax_cross_entropy": Replace("        return grad * (grad_output / len(target)), None",
                                            "        return grad * grad_output, None")},
          message="the gradient was not divided by N",
          fails=("test_softmax_cross_entropy", "test_softmax_cross_entropy_hidden")),
    Wrong("backward_ignores_grad_output",
          "returns (softmax - onehot) / N without multiplying by grad_output",
          {"softmax_cross_entropy": Replace("        return grad * (grad_output / len(target)), None",
                                            "        return grad / len(target), None")},
          message="grad_output was not multiplied in", fails=("test_softmax_cross_entropy_hidden",)),
    Wrong("backward_returns_one_gradient",
          "returns only the gradient of the logits",
          {"softmax_cross_entropy": Replace("        return grad * (grad_output / len(target)), None",
                                            "        return grad * (grad_output / len(target))")},
          message="backward must return one gradient per input of forward",
          fails=("test_softmax_cross_entropy", "test_softmax_cross_entropy_hidden")),
    Wrong("function_forward_naive_softmax",
          "computes the forward's softmax with a plain exp",
          {"softmax_cross_entropy": Replace("        logp = log_softmax(logits, dim=1)\n",
                                            "        logp = torch.log(torch.exp(logits) / torch.exp(logits).sum(dim=1, keepdim=True))\n")},
          message="exp overflowed (non-finite loss)", fails=("test_softmax_cross_entropy_hidden",)),
    Wrong("function_forward_calls_cross_entropy",
          "computes the forward with F.cross_entropy",
          {"softmax_cross_entropy": Replace("        return -logp.gather(1, target.unsqueeze(1)).mean()\n",
                                            "        return F.cross_entropy(logits, target)\n")},
          message="called PyTorch's own `cross_entropy`",
          fails=("test_softmax_cross_entropy", "test_softmax_cross_entropy_hidden")),
    Wrong("backward_in_place_on_saved_logits",
          "subtracts the max from the logits in place in forward",
          {"softmax_cross_entropy": Replace("        logp = log_softmax(logits, dim=1)\n",
                                            "        logits -= logits.amax(dim=1, keepdim=True)\n"
                                            "        logp = log_softmax(logits, dim=1)\n")},
          message="modified the logits in place", fails=("test_softmax_cross_entropy_hidden",)),

    # ---- found by the independently written submissions ----------------------------------------
    Wrong("logsumexp_squeeze_all",
          "drops the reduced dimension with squeeze(), which also drops every other size-1 dimension",
          {"logsumexp": Replace("    return out if keepdim else out.squeeze(dim)", "    return out if keepdim else out.squeeze()")},
          message="shape: expected (1,), got ()", fails=("test_logsumexp_hidden",)),
    Wrong("cross_entropy_in_float32",
          "computes the log-softmax in float32 whatever the logits' dtype",
          {"cross_entropy": Replace("    logp = log_softmax(logits, dim=1)\n", "    logp = log_softmax(logits.float(), dim=1).to(logits.dtype)\n")},
          message="float64 inputs were computed in float32", fails=("test_cross_entropy_hidden",)),
    Wrong("none_keeps_class_dim",
          "returns the per-element losses of reduction='none' with the gathered class dimension kept",
          {"cross_entropy": Replace("\n    return loss.sum() if reduction == \"sum\" else loss",
                                    "\n    return loss.sum() if reduction == \"sum\" else loss.unsqueeze(1)")},
          message="shape: expected (7,), got (7, 1)", fails=("test_cross_entropy", "test_cross_entropy_hidden")),
    Wrong("prob_targets_weight_ignored",
          "applies the class weights to class-index targets only",
          {"cross_entropy": Replace("        loss = -(w * soft * logp).sum(dim=1)\n", "        loss = -(soft * logp).sum(dim=1)\n")},
          message="the weight argument was ignored", fails=("test_cross_entropy_hidden",)),
    Wrong("bce_clamped_probabilities",
          "clamps sigmoid's output to [1e-7, 1 - 1e-7] before taking logs",
          {"bce_with_logits": [Replace("    log_p = F.logsigmoid(logits)        # log σ(x), stable\n",
                                       "    p = torch.sigmoid(logits).clamp(1e-7, 1 - 1e-7)\n    log_p = torch.log(p)\n"),
                               Replace("    log_not_p = F.logsigmoid(-logits)   # log(1 − σ(x)) = log σ(−x)\n",
                                       "    log_not_p = torch.log(1 - p)\n")]},
          message="the loss saturates for large logits", fails=("test_bce_with_logits", "test_bce_with_logits_hidden")),
    Wrong("focal_pt_from_ce",
          "takes p_t = exp(-ce), which holds for hard labels only",
          {"focal_loss": Replace("    p_t = p * targets + (1 - p) * (1 - targets)\n", "    p_t = torch.exp(-ce)\n")},
          message="sigmoid_focal_loss(inputs (5, 4) torch.float64, targets, {})", fails=("test_focal_loss_hidden",)),
    Wrong("focal_alpha_parameter",
          "stores alpha as a frozen nn.Parameter",
          {"focal_loss": Replace('        self.register_buffer("alpha", None if alpha is None else torch.as_tensor(alpha, dtype=torch.float32))\n',
                                 "        self.alpha = None if alpha is None else nn.Parameter(torch.as_tensor(alpha, dtype=torch.float32), requires_grad=False)\n")},
          message="must register alpha as a buffer named 'alpha'", fails=("test_focal_loss_hidden",)),
    Wrong("backward_recomputes_naive_softmax",
          "saves the logits and recomputes the softmax in backward with a plain exp",
          {"softmax_cross_entropy": [Replace("        ctx.save_for_backward(logp, target)\n", "        ctx.save_for_backward(logits, target)\n"),
                                     Replace("        logp, target = ctx.saved_tensors\n        grad = logp.exp()\n",
                                             "        logits, target = ctx.saved_tensors\n"
                                             "        grad = logits.exp() / logits.exp().sum(dim=1, keepdim=True)\n")]},
          message="logits.grad after SoftmaxCrossEntropy.apply(logits (4, 5) torch.float32, target).backward()",
          fails=("test_softmax_cross_entropy_hidden",)),

    Wrong("ignore_index_hard_coded",
          "compares the targets with -100 instead of the ignore_index argument",
          {"cross_entropy": Replace("    keep = target != ignore_index\n", "    keep = target != -100\n")},
          message="the mask must compare the target with the ignore_index argument", fails=("test_cross_entropy_hidden",)),
    Wrong("ignore_only_negative_targets",
          "ignores the negative targets (target >= 0 kept), so a valid class given as ignore_index is still counted",
          {"cross_entropy": Replace("    keep = target != ignore_index\n", "    keep = target >= 0\n")},
          message="the targets equal to ignore_index=1 were not ignored: the mask must compare the target with the "
                  "ignore_index argument", fails=("test_cross_entropy_hidden",)),
    Wrong("bce_mean_over_rows",
          "sums the loss over the labels, then averages over the rows",
          {"bce_with_logits": Replace("    if reduction == \"mean\":\n        return loss.mean()\n",
                                      "    if reduction == \"mean\":\n        return loss.sum(-1).mean()\n")},
          message="the loss was summed over the labels and averaged over the rows",
          fails=("test_bce_with_logits", "test_bce_with_logits_hidden")),
    Wrong("huber_delta_ignored",
          "keeps the threshold of Huber at 1 whatever delta is",
          {"robust_losses": Replace("    loss = torch.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta))\n",
                                    "    loss = torch.where(d < 1.0, 0.5 * d * d, d - 0.5)\n")},
          message="delta was ignored: the threshold stayed at 1", fails=("test_robust_losses_hidden",)),
    Wrong("focal_modulated_by_p",
          "modulates the binary focal loss by (1 - p) ** gamma instead of (1 - p_t) ** gamma",
          {"focal_loss": Replace("    loss = ce * (1 - p_t) ** gamma\n", "    loss = ce * (1 - p) ** gamma\n")},
          message="the modulating factor used p = sigmoid(x) for every element",
          fails=("test_focal_loss", "test_focal_loss_hidden")),

    Wrong("backward_by_autograd",
          "lets autograd compute the gradient inside backward, from F.cross_entropy",
          {"softmax_cross_entropy": Replace("""        logp, target = ctx.saved_tensors
        grad = logp.exp()
        grad[torch.arange(len(target), device=grad.device), target] -= 1
        return grad * (grad_output / len(target)), None""", """        logp, target = ctx.saved_tensors
        with torch.enable_grad():
            z = logp.detach().requires_grad_()
            (grad,) = torch.autograd.grad(F.cross_entropy(z, target), z)
        return grad * grad_output, None""")},
          message="called PyTorch's own `cross_entropy`", fails=("test_softmax_cross_entropy_hidden",)),
    Wrong("backward_by_autograd_on_own_formula",
          "lets autograd differentiate its own log-softmax formula inside backward",
          {"softmax_cross_entropy": Replace("""        logp, target = ctx.saved_tensors
        grad = logp.exp()
        grad[torch.arange(len(target), device=grad.device), target] -= 1
        return grad * (grad_output / len(target)), None""", """        logp, target = ctx.saved_tensors
        with torch.enable_grad():
            z = logp.detach().requires_grad_()
            shifted = z - z.amax(1, keepdim=True)
            loss = -(shifted - shifted.exp().sum(1, keepdim=True).log()).gather(1, target[:, None]).mean()
            (grad,) = torch.autograd.grad(loss, z)
        return grad * grad_output, None""")},
          message="ran autograd (`torch.autograd.grad`)", fails=("test_softmax_cross_entropy_hidden",)),

    Wrong("class_weight_as_row",
          "shapes the class weights as a (1, C) row, which broadcasts along the last dim of (N, C, H, W) logits",
          {"cross_entropy": Replace("    w = weight.view(class_shape)\n", "    w = weight.view(1, -1)\n")},
          message="cross_entropy(logits (2, 4, 3, 5)", fails=("test_cross_entropy_hidden",)),
    Wrong("pos_weight_thresholded_targets",
          "applies pos_weight to the whole loss of elements whose target exceeds 0.5",
          {"bce_with_logits": Replace("""    positive = target * log_p
    if pos_weight is not None:
        positive = pos_weight * positive
    loss = -(positive + (1 - target) * log_not_p)
""", """    loss = -(target * log_p + (1 - target) * log_not_p)
    if pos_weight is not None:
        loss = torch.where(target > 0.5, pos_weight * loss, loss)
""")},
          message="binary_cross_entropy_with_logits(logits (6, 4), target, {'pos_weight': (4,)})",
          fails=("test_bce_with_logits_hidden",)),
    Wrong("bce_pos_weight_scales_target_in_place",
          "scales the target by pos_weight through an alias (pt = target; pt *= pos_weight): the caller's target changes",
          {"bce_with_logits": Replace("""    positive = target * log_p
    if pos_weight is not None:
        positive = pos_weight * positive
""", """    pt = target
    if pos_weight is not None:
        pt *= pos_weight
    positive = pt * log_p
""")},
          message="modified its target argument in place",
          fails=("test_bce_with_logits", "test_bce_with_logits_hidden")),
    Wrong("focal_alpha_none_not_registered",
          "registers alpha as a buffer when given, but keeps a plain attribute self.alpha = None when not",
          {"focal_loss": Replace('        self.register_buffer("alpha", None if alpha is None else torch.as_tensor(alpha, dtype=torch.float32))\n',
                                 """        if alpha is None:
            self.alpha = None
        else:
            self.register_buffer("alpha", torch.as_tensor(alpha, dtype=torch.float32))
""")},
          message="must register alpha as a buffer set to None", fails=("test_focal_loss_hidden",)),
    Wrong("backward_exp_in_place_on_saved",
          "turns the saved log-probabilities into probabilities in place (exp_()), so a second backward breaks",
          {"softmax_cross_entropy": Replace("        grad = logp.exp()\n", "        grad = logp.exp_()\n")},
          message="a tensor saved with ctx.save_for_backward was modified in place",
          fails=("test_softmax_cross_entropy_hidden",)),
    Wrong("function_tensors_on_ctx",
          "stashes the tensors backward needs as ctx attributes instead of ctx.save_for_backward",
          {"softmax_cross_entropy": [Replace("        ctx.save_for_backward(logp, target)\n",
                                             "        ctx.logp, ctx.target = logp, target\n"),
                                     Replace("        logp, target = ctx.saved_tensors\n",
                                             "        logp, target = ctx.logp, ctx.target\n")]},
          message="stored tensors as attributes of ctx (ctx.logp, ctx.target)",
          fails=("test_softmax_cross_entropy_hidden",)),

    # ---- alternative correct submissions ------------------------------------------------------
    Correct("logsumexp_with_max_values",
            "uses torch.max(...).values without detach and masks infinite maxima with masked_fill",
            {"logsumexp": '''def logsumexp(x, dim, keepdim=False):
    m = torch.max(x, dim=dim, keepdim=True).values
    m = m.masked_fill(m.isinf(), 0.0)
    s = (x - m).exp().sum(dim, keepdim=True).log() + m
    if not keepdim:
        s = s.squeeze(dim)
    return s


def log_softmax(x, dim):
    shifted = x - x.amax(dim, keepdim=True)
    return shifted - shifted.exp().sum(dim, keepdim=True).log()
'''}),
    Correct("cross_entropy_via_smoothed_one_hot",
            "turns class indices into a smoothed one-hot distribution and reuses the probability formula",
            {"cross_entropy": '''def cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    C = logits.shape[1]
    logp = log_softmax(logits, 1)
    w = torch.ones(C, dtype=logits.dtype, device=logits.device) if weight is None else weight
    shape = [1, C] + [1] * (logits.dim() - 2)
    if torch.is_floating_point(target):
        q = (1 - label_smoothing) * target + label_smoothing / C
        per = -(q * logp * w.view(shape)).sum(1)
        return {"none": per, "sum": per.sum(), "mean": per.mean()}[reduction]
    valid = target != ignore_index
    idx = target.clone()
    idx[~valid] = 0
    q = F.one_hot(idx, C).movedim(-1, 1).to(logits.dtype) * (1 - label_smoothing) + label_smoothing / C
    per = -(q * logp * w.view(shape)).sum(1)
    per = per.masked_fill(~valid, 0.0)
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    return per.sum() / (w[idx] * valid).sum()
'''}),
    Correct("bce_softplus_formula",
            "uses torch's own formula (1 - t)·x + (1 + (p - 1)·t)·softplus(-x)",
            {"bce_with_logits": '''def binary_cross_entropy_with_logits(logits, target, weight=None, pos_weight=None, reduction="mean"):
    if pos_weight is None:
        loss = (1 - target) * logits + F.softplus(-logits)
    else:
        loss = (1 - target) * logits + (1 + (pos_weight - 1) * target) * F.softplus(-logits)
    if weight is not None:
        loss = loss * weight
    return {"none": loss, "sum": loss.sum(), "mean": loss.mean()}[reduction]
'''}),
    Correct("focal_from_own_losses",
            "builds the binary focal loss on Part 3's function and the multi-class one on F.cross_entropy",
            {"focal_loss": '''def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    ce = binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p = torch.sigmoid(inputs)
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t).pow(gamma)
    if alpha >= 0:
        loss = loss * (alpha * targets + (1 - alpha) * (1 - targets))
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean()
    return loss


class FocalLoss(nn.Module):
    def __init__(self, alpha=None, gamma=2.0, reduction="mean"):
        super().__init__()
        if alpha is not None:
            alpha = torch.tensor(alpha, dtype=torch.float32)
        self.register_buffer("alpha", alpha)
        self.gamma, self.reduction = gamma, reduction

    def forward(self, logits, target):
        ce = F.cross_entropy(logits, target, reduction="none")
        loss = (1 - torch.exp(-ce)) ** self.gamma * ce
        a = torch.ones_like(ce) if self.alpha is None else self.alpha.to(ce)[target]
        loss = a * loss
        if self.reduction == "none":
            return loss
        if self.reduction == "sum":
            return loss.sum()
        return loss.sum() / a.sum()
'''}),
    Correct("huber_via_clamp",
            "writes both losses with a clamped quadratic part, Huber as delta times Smooth L1",
            {"robust_losses": '''def _reduce(loss, reduction):
    return {"none": loss, "sum": loss.sum(), "mean": loss.mean()}[reduction]


def smooth_l1_loss(input, target, beta=1.0, reduction="mean"):
    d = (input - target).abs()
    if beta == 0:
        return _reduce(d, reduction)
    q = d.clamp(max=beta)
    return _reduce(0.5 * q * q / beta + (d - q), reduction)


def huber_loss(input, target, delta=1.0, reduction="mean"):
    return delta * smooth_l1_loss(input, target, beta=delta, reduction=reduction)
'''}),
    Correct("function_with_one_hot",
            "saves the softmax and the one-hot target, computes the loss from a shifted exp",
            {"softmax_cross_entropy": '''class SoftmaxCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits, target):
        shifted = logits - logits.max(dim=1, keepdim=True).values
        logp = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
        onehot = F.one_hot(target, logits.shape[1]).to(logits.dtype)
        ctx.save_for_backward(logp.exp(), onehot)
        return -(onehot * logp).sum() / logits.shape[0]

    @staticmethod
    def backward(ctx, grad_output):
        probs, onehot = ctx.saved_tensors
        return grad_output * (probs - onehot) / probs.shape[0], None
'''}),
]
