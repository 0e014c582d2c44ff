"""Mistake bank for assignment 6 (optimizers and schedules written from scratch).

Each Wrong entry is a mistake students really make, as the one change to an otherwise correct
submission; its message is the named mistake (or the failure) that the tests print. Each Correct
entry is another right way to meet the contract, which must score full marks.
"""
from grader.bank import Correct, Replace, Wrong

_SGD_BUF = ('                    if "momentum_buffer" not in state:\n'
            '                        buf = state["momentum_buffer"] = d.clone().detach()\n'
            '                    else:\n'
            '                        buf = state["momentum_buffer"]\n'
            '                        buf.mul_(momentum).add_(d, alpha=1 - dampening)\n')
_SGD_DECAY = ('                if weight_decay != 0:\n'
              '                    d = d.add(p, alpha=weight_decay)\n')
_ADAM_DENOM = "                denom = (v.sqrt() / math.sqrt(1 - beta2 ** t)).add_(eps)\n"
_ADAM_UPDATE = "                p.addcdiv_(m, denom, value=-lr / (1 - beta1 ** t))\n"
_ADAM_STEP = '                state["step"] = t = float(state["step"]) + 1\n'
_ADAM_INIT = ('                    state["exp_avg"] = torch.zeros_like(p)\n'
              '                    state["exp_avg_sq"] = torch.zeros_like(p)\n')
_BETTER_MIN = ('            return a < best * (1 - self.threshold) if self.threshold_mode == "rel" '
               'else a < best - self.threshold\n')
_COOL = ('        if self.cooldown_counter > 0:\n'
         '            self.cooldown_counter -= 1\n'
         '            self.num_bad_epochs = 0\n')
_RESTORE = ('        model.load_state_dict(model_state)\n'
            '        optimizer.load_state_dict(optimizer_state)\n')
_SMOOTH = "            smoothed = avg / (1 - beta ** (i + 1))\n"

BANK = [
    # ---- Part 1: SGD --------------------------------------------------------------------------
    Wrong("sgd_zero_buffer",
          "initialises the momentum buffer to zero, then applies the usual update (dampening shrinks the first step)",
          {"sgd": Replace(_SGD_BUF,
                          '                    if "momentum_buffer" not in state:\n'
                          '                        state["momentum_buffer"] = torch.zeros_like(p)\n'
                          '                    buf = state["momentum_buffer"]\n'
                          '                    buf.mul_(momentum).add_(d, alpha=1 - dampening)\n')},
          message="the momentum buffer started at zero", fails=("test_sgd_hidden",)),
    Wrong("sgd_nesterov_wrong_term",
          "Nesterov adds momentum times the gradient to the buffer instead of momentum times the buffer to the gradient",
          {"sgd": Replace("d = d.add(buf, alpha=momentum) if nesterov else buf",
                          "d = buf.add(d, alpha=momentum) if nesterov else buf")},
          message="Nesterov on the wrong term", fails=("test_sgd_hidden",)),
    Wrong("sgd_decay_after_momentum",
          "adds weight decay to the step after the momentum buffer, not to the gradient before it",
          {"sgd": [Replace(_SGD_DECAY, ""),
                   Replace("                p.add_(d, alpha=-lr)\n",
                           "                p.add_(d + weight_decay * p, alpha=-lr)\n")]},
          message="weight decay was added after momentum", fails=("test_sgd_hidden",)),
    Wrong("sgd_first_group_only",
          "steps only the first parameter group",
          {"sgd": Replace("        for group in self.param_groups:\n", "        for group in self.param_groups[:1]:\n")},
          message="parameter 1 (float64, gradients set by hand) after step 1", fails=("test_sgd_hidden",)),
    Wrong("sgd_defaults_not_group",
          "reads the learning rate from the defaults instead of the group",
          {"sgd": Replace('lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]',
                          'lr, momentum, dampening = self.defaults["lr"], group["momentum"], group["dampening"]')},
          message="the group's own lr was ignored", fails=("test_sgd_hidden",)),
    Wrong("sgd_momentum_from_defaults",
          "reads the momentum from self.defaults instead of the group",
          {"sgd": Replace('lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]',
                          'lr, momentum, dampening = group["lr"], self.defaults["momentum"], group["dampening"]')},
          message="the group's own momentum was ignored", fails=("test_sgd_hidden",)),
    Wrong("sgd_empty_state_for_none_grad",
          "touches self.state[p] (a defaultdict) before skipping a parameter without a gradient",
          {"sgd": Replace("                if p.grad is None:\n                    continue\n                d = p.grad\n",
                          "                state = self.state[p]\n"
                          "                if p.grad is None:\n                    continue\n                d = p.grad\n")},
          message="an empty self.state[p] entry was created", fails=("test_sgd_hidden",)),
    Wrong("sgd_momentum_ignored",
          "never applies momentum (plain SGD steps whatever the momentum)",
          {"sgd": Replace("                if momentum != 0:\n", "                if False:\n")},
          message="SGD(lr=0.1, momentum=0.9), after step 2", fails=("test_sgd", "test_sgd_hidden")),
    Wrong("sgd_grad_modified_in_place",
          "adds weight decay to the gradient in place",
          {"sgd": Replace(_SGD_DECAY, "                if weight_decay != 0:\n"
                                      "                    d = d.add_(p, alpha=weight_decay)\n")},
          message="the gradient was modified in place", fails=("test_sgd_hidden",)),
    Wrong("sgd_buffer_is_grad",
          "stores the gradient itself as the first momentum buffer (no copy)",
          {"sgd": Replace('buf = state["momentum_buffer"] = d.clone().detach()', 'buf = state["momentum_buffer"] = d')},
          message="is p.grad itself", fails=("test_sgd_hidden",)),
    Wrong("sgd_no_nesterov_check",
          "accepts Nesterov without momentum or with dampening",
          {"sgd": Replace('        if nesterov and (momentum <= 0 or dampening != 0):\n'
                          '            raise ValueError("Nesterov momentum requires a momentum and zero dampening")\n', "")},
          message="expected a ValueError", fails=("test_sgd_hidden",)),
    Wrong("sgd_nesterov_check_eq0",
          "checks momentum == 0 instead of momentum <= 0, so Nesterov with a negative momentum is accepted",
          {"sgd": Replace("        if nesterov and (momentum <= 0 or dampening != 0):\n",
                          "        if nesterov and (momentum == 0 or dampening != 0):\n")},
          message="momentum=-0.5, nesterov=True) raised nothing; expected a ValueError", fails=("test_sgd_hidden",)),
    Wrong("sgd_closure_not_returned",
          "calls the closure but returns None",
          {"sgd": Replace("                p.add_(d, alpha=-lr)\n        return loss",
                          "                p.add_(d, alpha=-lr)\n        return None")},
          message="must return closure()'s value", fails=("test_sgd_hidden",)),
    Wrong("sgd_own_state_key",
          "keeps the buffer under its own key name, so state dicts do not interchange with torch's",
          {"sgd": [Replace(_SGD_BUF,
                           '                    if "buf" not in state:\n'
                           '                        buf = state["buf"] = d.clone().detach()\n'
                           '                    else:\n'
                           '                        buf = state["buf"]\n'
                           '                        buf.mul_(momentum).add_(d, alpha=1 - dampening)\n')]},
          message="the keys of state[fc1.weight]", fails=("test_sgd_hidden",)),
    # ---- Part 2: AdamW ------------------------------------------------------------------------
    Wrong("adam_eps_inside_sqrt",
          "adds eps inside the square root",
          {"adamw": Replace(_ADAM_DENOM, "                denom = (v / (1 - beta2 ** t)).add(eps).sqrt()\n")},
          message="eps was added inside the square root", fails=("test_adamw_hidden",)),
    Wrong("adam_bias_off_by_one",
          "starts the step count at 1 and increments it before use, so the first update uses t = 2",
          {"adamw": Replace('                    state["step"] = 0\n', '                    state["step"] = 1\n')},
          message="bias correction is one step off", fails=("test_adamw", "test_adamw_hidden")),
    Wrong("adam_no_bias_correction",
          "leaves out bias correction",
          {"adamw": [Replace(_ADAM_DENOM, "                denom = v.sqrt().add_(eps)\n"),
                     Replace(_ADAM_UPDATE, "                p.addcdiv_(m, denom, value=-lr)\n")]},
          message="the moments were not bias-corrected", fails=("test_adamw", "test_adamw_hidden")),
    Wrong("adam_global_step",
          "keeps one step count on the optimizer for all parameters",
          {"adamw": [Replace("        for group in self.param_groups:\n",
                             "        self.t = getattr(self, 't', 0) + 1\n        for group in self.param_groups:\n"),
                     Replace(_ADAM_STEP, '                state["step"] = t = float(self.t)\n')]},
          message="one step count shared by all parameters", fails=("test_adamw_hidden",)),
    Wrong("adamw_decay_scaled",
          "adds the decoupled decay to the update before dividing by the adaptive denominator",
          {"adamw": [Replace("                    p.mul_(1 - lr * weight_decay)\n", "                    pass\n"),
                     Replace(_ADAM_UPDATE,
                             "                p.addcdiv_(m / (1 - beta1 ** t) + (weight_decay * p if group['decoupled'] "
                             "else 0), denom, value=-lr)\n")]},
          message="the decay went through the adaptive term", fails=("test_adamw", "test_adamw_hidden")),
    Wrong("adamw_decay_without_lr",
          "decays by weight_decay alone, not lr * weight_decay",
          {"adamw": Replace("                    p.mul_(1 - lr * weight_decay)\n",
                            "                    p.mul_(1 - weight_decay)\n")},
          message="the decoupled decay was not multiplied by lr", fails=("test_adamw", "test_adamw_hidden")),
    Wrong("adam_l2_ignored",
          "ignores weight decay when decoupled=False",
          {"adamw": Replace("                    g = g.add(p, alpha=weight_decay)\n", "                    pass\n")},
          message="decoupled=False ignored the weight decay", fails=("test_adamw", "test_adamw_hidden")),
    Wrong("adam_moments_aliased",
          "creates one zero tensor for both moments",
          {"adamw": Replace(_ADAM_INIT, '                    state["exp_avg"] = state["exp_avg_sq"] = torch.zeros_like(p)\n')},
          message="after step 1", fails=("test_adamw", "test_adamw_hidden")),
    Wrong("adam_state_by_shape",
          "keys the state by the parameter's shape, so parameters of one shape share their moments",
          {"adamw": Replace("                state = self.state[p]\n", "                state = self.state[p.shape]\n")},
          message="the parameter indices in state_dict()['state']", fails=("test_adamw_hidden",)),
    Wrong("adam_zero_grad_for_none",
          "treats a missing gradient as zero, which advances the step count of parameters without gradients",
          {"adamw": Replace("                if p.grad is None:\n                    continue\n                g = p.grad\n",
                            "                g = p.grad if p.grad is not None else torch.zeros_like(p)\n")},
          message="was stepped as if its gradient were zero", fails=("test_adamw_hidden",)),
    Wrong("adam_state_float32",
          "creates exp_avg_sq with torch.zeros(p.shape), float32 whatever p's dtype",
          {"adamw": Replace('                    state["exp_avg_sq"] = torch.zeros_like(p)\n',
                            '                    state["exp_avg_sq"] = torch.zeros(p.shape, device=p.device)\n')},
          message="dtype torch.float32", fails=("test_adamw_hidden",)),
    Wrong("adam_eps_before_bias_correction",
          "adds eps to sqrt(v) and then divides by sqrt(1 - beta2**t)",
          {"adamw": Replace(_ADAM_DENOM, "                denom = v.sqrt().add_(eps) / math.sqrt(1 - beta2 ** t)\n")},
          message="eps was added before the bias correction", fails=("test_adamw_hidden",)),
    Wrong("adamw_decay_after_update",
          "applies the decoupled decay after the Adam update",
          {"adamw": [Replace("                    p.mul_(1 - lr * weight_decay)\n", "                    pass\n"),
                     Replace(_ADAM_UPDATE, _ADAM_UPDATE + "                if group['decoupled']:\n"
                                                          "                    p.mul_(1 - lr * weight_decay)\n")]},
          message="the decoupled decay was applied after the Adam update", fails=("test_adamw", "test_adamw_hidden")),
    Wrong("adam_grad_modified",
          "adds the L2 term to the gradient in place",
          {"adamw": Replace("                    g = g.add(p, alpha=weight_decay)\n",
                            "                    g = g.add_(p, alpha=weight_decay)\n")},
          message="the gradient was modified in place", fails=("test_adamw_hidden",)),
    Wrong("adam_int_step_tensor",
          "stores the step count as an integer and assumes it, so torch's tensor step breaks",
          {"adamw": Replace(_ADAM_STEP, '                state["step"] = t = state["step"] + 1 if isinstance(state["step"], int) '
                                        'else state["step"].item() + 2\n')},
          message="torch.optim.AdamW's state_dict after 50 steps", fails=("test_adamw_hidden",)),
    # ---- Part 3: schedules --------------------------------------------------------------------
    Wrong("step_lr_one_early",
          "decays one step early ((t + 1) // step_size)",
          {"schedules": Replace("gamma ** (t // step_size)", "gamma ** ((t + 1) // step_size)")},
          message="the schedule is one step early", fails=("test_schedules", "test_schedules_hidden")),
    Wrong("multistep_strict",
          "counts milestones strictly below t",
          {"schedules": Replace("for m in milestones if m <= t", "for m in milestones if m < t")},
          message="the schedule is one step late", fails=("test_schedules", "test_schedules_hidden")),
    Wrong("multistep_set",
          "removes repeated milestones",
          {"schedules": Replace("for m in milestones if m <= t", "for m in set(milestones) if m <= t")},
          message="a milestone listed twice must count twice", fails=("test_schedules_hidden",)),
    Wrong("cosine_clamped",
          "holds the rate at eta_min past T_max",
          {"schedules": Replace("math.cos(math.pi * t / T_max)", "math.cos(math.pi * min(t, T_max) / T_max)")},
          message="held at eta_min past T_max", fails=("test_schedules_hidden",)),
    Wrong("cosine_no_eta_min",
          "ignores eta_min",
          {"schedules": Replace("    return [eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t / T_max)) / 2",
                                "    return [base_lr * (1 + math.cos(math.pi * t / T_max)) / 2")},
          message="eta_min was ignored", fails=("test_schedules_hidden",)),
    Wrong("one_cycle_phase_end",
          "ends the warm-up phase at pct_start * total_steps instead of one step before",
          {"schedules": Replace("    e = pct_start * total_steps - 1\n", "    e = pct_start * total_steps\n")},
          message="one_cycle_lr(1.0, 10)", fails=("test_schedules", "test_schedules_hidden")),
    Wrong("one_cycle_int_e",
          "rounds the end of the warm-up phase to an integer step",
          {"schedules": Replace("    e = pct_start * total_steps - 1\n", "    e = int(pct_start * total_steps) - 1\n")},
          message="e was rounded to an integer", fails=("test_schedules_hidden",)),
    Wrong("warmup_unclamped",
          "does not clamp the cosine's progress at 1 past total_steps",
          {"schedules": Replace("min(1.0, (t - warmup_steps) / (total_steps - warmup_steps))",
                                "(t - warmup_steps) / (total_steps - warmup_steps)")},
          message="the cosine's progress was not clamped", fails=("test_schedules_hidden",)),
    Wrong("warmup_from_one",
          "starts the warm-up at base_lr / warmup_steps",
          {"schedules": Replace("base_lr * t / warmup_steps", "base_lr * (t + 1) / warmup_steps")},
          message="the warm-up starts above 0", fails=("test_schedules", "test_schedules_hidden")),
    # ---- Part 4: ReduceLROnPlateau ------------------------------------------------------------
    Wrong("plateau_no_threshold",
          "compares with best directly, without the threshold",
          {"plateau": Replace(_BETTER_MIN, "            return a < best\n")},
          message="the comparison ignores the threshold", fails=("test_plateau_hidden",)),
    Wrong("plateau_no_cooldown",
          "never counts the cooldown down",
          {"plateau": Replace(_COOL, "")},
          message="cooldown was not applied", fails=("test_plateau_hidden",)),
    Wrong("plateau_ties_better",
          "treats a tie as an improvement",
          {"plateau": Replace(_BETTER_MIN, '            return a <= best * (1 - self.threshold) if self.threshold_mode == "rel" '
                                           'else a <= best - self.threshold\n')},
          message="a tie counted as an improvement", fails=("test_plateau_hidden",)),
    Wrong("plateau_patience_ge",
          "reduces when num_bad_epochs reaches patience",
          {"plateau": Replace("        if self.num_bad_epochs > self.patience:\n",
                              "        if self.num_bad_epochs >= self.patience:\n")},
          message="the rate was reduced one epoch early", fails=("test_plateau", "test_plateau_hidden")),
    Wrong("plateau_no_min_lr",
          "never clamps at min_lr",
          {"plateau": Replace("                new = max(old * self.factor, min_lr)\n",
                              "                new = old * self.factor\n")},
          message="get_last_lr() after each step", fails=("test_plateau_hidden",)),
    Wrong("plateau_same_list",
          "returns its internal list from get_last_lr()",
          {"plateau": Replace("        return list(self._last_lr)", "        return self._last_lr")},
          message="each call returns a new list", fails=("test_plateau_hidden",)),
    Wrong("plateau_min_lr_first",
          "uses the first min_lr for every group",
          {"plateau": Replace("            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):\n",
                              "            for group in self.optimizer.param_groups:\n"
                              "                min_lr = self.min_lrs[0]\n")},
          message="min_lr[0] was used for every group", fails=("test_plateau_hidden",)),
    Wrong("plateau_eps_ignored",
          "changes the lr whenever the new value is smaller, ignoring eps",
          {"plateau": Replace("                if old - new > self.eps:\n", "                if old - new > 0:\n")},
          message="eps was ignored", fails=("test_plateau_hidden",)),
    Wrong("plateau_abs_as_rel_max",
          "uses the relative formula for mode='max' whatever threshold_mode says",
          {"plateau": Replace('        return a > best * (1 + self.threshold) if self.threshold_mode == "rel" '
                              'else a > best + self.threshold\n',
                              '        return a > best * (1 + self.threshold)\n')},
          message="threshold_mode='abs' used the relative formula", fails=("test_plateau_hidden",)),
    # ---- Part 5: lr_find ----------------------------------------------------------------------
    Wrong("lr_find_leaves_weights_trained",
          "restores the optimizer but not the model",
          {"lr_find": Replace(_RESTORE, "        optimizer.load_state_dict(optimizer_state)\n")},
          message="model.state_dict()", fails=("test_lr_find", "test_lr_find_hidden")),
    Wrong("lr_find_shallow_model_copy",
          "keeps model.state_dict() without copying it (its tensors are the live parameters)",
          {"lr_find": Replace("    model_state = copy.deepcopy(model.state_dict())\n",
                              "    model_state = model.state_dict()\n")},
          message="model.state_dict()", fails=("test_lr_find", "test_lr_find_hidden")),
    Wrong("lr_find_shallow_optimizer_copy",
          "keeps optimizer.state_dict() without copying it (the momentum buffers are live)",
          {"lr_find": Replace("    optimizer_state = copy.deepcopy(optimizer.state_dict())\n",
                              "    optimizer_state = optimizer.state_dict()\n")},
          message="the optimizer's state is the one at the end of the run", fails=("test_lr_find_hidden",)),
    Wrong("lr_find_optimizer_not_restored",
          "restores the model but not the optimizer",
          {"lr_find": Replace(_RESTORE, "        model.load_state_dict(model_state)\n")},
          message="lr_find must restore the model", fails=("test_lr_find",)),
    Wrong("lr_find_no_bias_correction",
          "records the exponential average without bias correction",
          {"lr_find": Replace(_SMOOTH, "            smoothed = avg\n")},
          message="losses (smoothed)", fails=("test_lr_find_hidden",)),
    Wrong("lr_find_diverged_unrecorded",
          "checks divergence before recording the step",
          {"lr_find": Replace("            lrs.append(lr)\n            losses.append(smoothed)\n"
                              "            if i >= 1 and smoothed > diverge * min(losses):\n                break\n",
                              "            if i >= 1 and smoothed > diverge * min(losses):\n                break\n"
                              "            lrs.append(lr)\n            losses.append(smoothed)\n")},
          message="the diverging step was not recorded", fails=("test_lr_find_hidden",)),
    Wrong("lr_find_model_mode",
          "restores only the top module's mode",
          {"lr_find": Replace("        for module, training in modes.items():\n            module.training = training\n",
                              "        model.train(modes[model])\n")},
          message="the training flag of every submodule", fails=("test_lr_find_hidden",)),
    Wrong("lr_find_min_loss",
          "suggests the learning rate at the minimum loss",
          {"lr_find": Replace("        j = min(range(1, len(losses)), key=lambda k: losses[k] - losses[k - 1])\n",
                              "        j = min(range(len(losses)), key=lambda k: losses[k])\n")},
          message="the learning rate at the minimum loss", fails=("test_lr_find_hidden",)),
    Wrong("lr_find_last_tie",
          "takes the last j on ties of the steepest drop",
          {"lr_find": Replace("        j = min(range(1, len(losses)), key=lambda k: losses[k] - losses[k - 1])\n",
                              "        j = min(reversed(range(1, len(losses))), key=lambda k: losses[k] - losses[k - 1])\n")},
          message="on a tie the suggestion must be the first j", fails=("test_lr_find_hidden",)),
    Wrong("lr_find_no_train_mode",
          "never calls model.train(), so a model handed over in eval mode runs in eval mode",
          {"lr_find": Replace("    try:\n        model.train()\n", "    try:\n")},
          message="the model was not put in training mode", fails=("test_lr_find_hidden",)),
    Wrong("lr_find_linear_ramp",
          "ramps the learning rate linearly",
          {"lr_find": Replace("            lr = start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))\n",
                              "            lr = start_lr + (end_lr - start_lr) * i / (num_steps - 1)\n")},
          message="lrs[1]", fails=("test_lr_find", "test_lr_find_hidden")),
    Wrong("lr_find_first_group_only",
          "sets lr_i only in the first parameter group",
          {"lr_find": Replace('            for group in optimizer.param_groups:\n                group["lr"] = lr\n',
                              '            optimizer.param_groups[0]["lr"] = lr\n')},
          message="only the first group's lr was set", fails=("test_lr_find_hidden",)),
    Wrong("lr_find_no_divergence_stop",
          "never stops on divergence (only on a non-finite loss)",
          {"lr_find": Replace("            if i >= 1 and smoothed > diverge * min(losses):\n                break\n", "")},
          message="the run did not stop on divergence", fails=("test_lr_find_hidden",)),
    Wrong("lr_find_nonfinite_recorded",
          "records the step with a non-finite loss, then stops",
          {"lr_find": [Replace("            if not math.isfinite(raw):\n                break\n", ""),
                       Replace("            losses.append(smoothed)\n",
                               "            losses.append(smoothed)\n"
                               "            if not math.isfinite(raw):\n                break\n")]},
          message="the step with a non-finite loss was recorded before stopping", fails=("test_lr_find_hidden",)),
    Wrong("lr_find_grads_restored",
          "saves the gradients the parameters held before the call and puts them back, instead of leaving None",
          {"lr_find": [Replace("    modes = {module: module.training for module in model.modules()}\n",
                               "    modes = {module: module.training for module in model.modules()}\n"
                               "    grads = [None if p.grad is None else p.grad.clone() for p in model.parameters()]\n"),
                       Replace("        for p in model.parameters():\n            p.grad = None\n",
                               "        for p, g in zip(model.parameters(), grads):\n            p.grad = g\n")]},
          message="those are not restored", fails=("test_lr_find_hidden",)),
    Wrong("lr_find_grads_left",
          "leaves the last gradients on the parameters",
          {"lr_find": Replace("        for p in model.parameters():\n            p.grad = None\n", "")},
          message=".grad must be None on return", fails=("test_lr_find_hidden",)),
    # ---- alternative correct submissions ------------------------------------------------------
    Correct("sgd_torch_style",
            "SGD written like torch's: buffers collected with state.get, clone of the gradient, Nesterov via add",
            {"sgd": Replace(_SGD_BUF,
                            '                    buf = state.get("momentum_buffer")\n'
                            '                    if buf is None:\n'
                            '                        buf = torch.clone(d).detach()\n'
                            '                        state["momentum_buffer"] = buf\n'
                            '                    else:\n'
                            '                        buf.mul_(momentum).add_(d, alpha=1 - dampening)\n')}),
    Correct("adam_tensor_step",
            "AdamW storing the step as a float32 tensor like torch and writing the denominator as sqrt(v̂) + eps",
            {"adamw": [Replace('                    state["step"] = 0\n',
                               '                    state["step"] = torch.tensor(0.0)\n'),
                       Replace(_ADAM_STEP, '                state["step"] += 1\n                t = float(state["step"])\n'),
                       Replace(_ADAM_DENOM, "                denom = (v / (1 - beta2 ** t)).sqrt() + eps\n"),
                       Replace(_ADAM_UPDATE, "                p.sub_(lr * (m / (1 - beta1 ** t)) / denom)\n")]}),
    Correct("schedules_chained",
            "StepLR and MultiStepLR written as running products, Counter for milestones",
            {"schedules": [Replace("    return [base_lr * gamma ** (t // step_size) for t in range(steps)]\n",
                                   "    out, lr = [], base_lr\n"
                                   "    for t in range(steps):\n"
                                   "        if t > 0 and t % step_size == 0:\n"
                                   "            lr *= gamma\n"
                                   "        out.append(lr)\n"
                                   "    return out\n"),
                           Replace("    return [base_lr * gamma ** sum(1 for m in milestones if m <= t) for t in range(steps)]\n",
                                   "    from collections import Counter\n"
                                   "    counts, out, lr = Counter(milestones), [], base_lr\n"
                                   "    for t in range(steps):\n"
                                   "        lr *= gamma ** counts.get(t, 0)\n"
                                   "        out.append(lr)\n"
                                   "    return out\n")]}),
    Correct("plateau_table",
            "ReduceLROnPlateau whose comparison is a table of functions and whose min_lr list is copied",
            {"plateau": Replace("    def is_better(self, a, best):\n",
                                "    def is_better(self, a, best):\n"
                                "        rules = {('min', 'rel'): lambda: a < best * (1 - self.threshold),\n"
                                "                 ('min', 'abs'): lambda: a < best - self.threshold,\n"
                                "                 ('max', 'rel'): lambda: a > best * (1 + self.threshold),\n"
                                "                 ('max', 'abs'): lambda: a > best + self.threshold}\n"
                                "        return rules[(self.mode, self.threshold_mode)]()\n")}),
    Correct("plateau_live_last_lr",
            "get_last_lr() reads the groups' lr when called (the tests never change a group's lr by hand)",
            {"plateau": Replace("        return list(self._last_lr)",
                                "        return [float(g['lr']) for g in self.optimizer.param_groups]")}),
    Correct("lr_find_clone_dicts",
            "lr_find copying tensors with clone, restoring modules from a list, zero_grad(set_to_none=True) at the end",
            {"lr_find": [Replace("    model_state = copy.deepcopy(model.state_dict())\n",
                                 "    model_state = {k: v.detach().clone() for k, v in model.state_dict().items()}\n"),
                         Replace("    modes = {module: module.training for module in model.modules()}\n",
                                 "    modes = [(module, module.training) for module in model.modules()]\n"),
                         Replace("        for module, training in modes.items():\n",
                                 "        for module, training in modes:\n"),
                         Replace("        for p in model.parameters():\n            p.grad = None\n",
                                 "        model.zero_grad(set_to_none=True)\n")]}),
    Correct("one_cycle_helper_named_like_the_tests",
            "one_cycle_lr computing each rate with a private helper _one_cycle(t, ...) (the hidden test cell defines "
            "its own _one_cycle with another signature: the student's must still be the one it calls)",
            {"schedules": Replace("    return [anneal(initial, max_lr, t / e) if t <= e else anneal(max_lr, final, (t - e) / (total_steps - 1 - e))\n"
                                  "            for t in range(total_steps)]\n",
                                  "    return [_one_cycle(t, e, total_steps, initial, max_lr, final, anneal) for t in range(total_steps)]\n"
                                  "\n"
                                  "\n"
                                  "def _one_cycle(t, e, total_steps, initial, max_lr, final, anneal):\n"
                                  "    if t <= e:\n"
                                  "        return anneal(initial, max_lr, t / e)\n"
                                  "    return anneal(max_lr, final, (t - e) / (total_steps - 1 - e))\n")}),
    Correct("one_cycle_phases",
            "one_cycle_lr written with a phase table like torch's",
            {"schedules": Replace("    return [anneal(initial, max_lr, t / e) if t <= e else anneal(max_lr, final, (t - e) / (total_steps - 1 - e))\n"
                                  "            for t in range(total_steps)]\n",
                                  "    phases = [(e, initial, max_lr), (total_steps - 1, max_lr, final)]\n"
                                  "    out = []\n"
                                  "    for t in range(total_steps):\n"
                                  "        start = 0.0\n"
                                  "        for k, (end, a, b) in enumerate(phases):\n"
                                  "            if t <= end or k == len(phases) - 1:\n"
                                  "                out.append(anneal(a, b, (t - start) / (end - start)))\n"
                                  "                break\n"
                                  "            start = end\n"
                                  "    return out\n")}),
]
