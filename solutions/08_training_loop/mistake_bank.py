"""Mistake bank for assignment 8 (the training loop, fit, predict, a Learner with callbacks).

Each Wrong entry is a mistake students really make, as the one change to an otherwise correct
submission; its message is the named mistake (or the failure) that the tests print. Each Correct
entry is another right way to meet the contract, which must score full marks.
"""
from grader.bank import Correct, Replace, Wrong

_SCALE = "            (loss * (len(y) / group_size)).backward()\n"
_TOTAL = "            total += loss.item() * len(y)\n"
_SCHED = "        if scheduler is not None:\n            scheduler.step()\n"
_RESTORE = "        for module, training in modes.items():\n            module.training = training\n    return {"
_CKPT_RNG = '                "rng": torch.get_rng_state(), "cuda_rng": torch.cuda.get_rng_state_all()}\n'

BANK = [
    # ---- Part 1: train_one_epoch --------------------------------------------------------------
    Wrong("zero_grad_after_step", "zeroes the gradients after each step instead of before each group",
          {"train_one_epoch": [Replace("        optimizer.zero_grad()\n        for x, y in group:\n",
                                       "        for x, y in group:\n"),
                               Replace("        optimizer.step()\n", "        optimizer.step()\n        optimizer.zero_grad()\n")]},
          message="zero_grad after step leaves the first step unprotected", fails=("test_train_one_epoch_hidden",)),
    Wrong("no_zero_grad", "never zeroes the gradients",
          {"train_one_epoch": Replace("        optimizer.zero_grad()\n        for x, y in group:\n",
                                      "        for x, y in group:\n")},
          message="values differ", fails=("test_train_one_epoch", "test_train_one_epoch_hidden")),
    Wrong("loss_not_scaled", "adds the batches' gradients without scaling the loss",
          {"train_one_epoch": Replace(_SCALE, "            loss.backward()\n")},
          message="weight after the partial last group", fails=("test_train_one_epoch", "test_train_one_epoch_hidden")),
    Wrong("divided_by_accum_steps", "divides every batch's loss by accum_steps, the last partial group too",
          {"train_one_epoch": Replace(_SCALE, "            (loss / accum_steps).backward()\n")},
          message="each batch's loss was divided by accum_steps, also in the last, partial group",
          fails=("test_train_one_epoch_hidden",)),
    Wrong("divided_by_batches_in_group", "divides each batch's loss by the number of batches in its group",
          {"train_one_epoch": Replace(_SCALE, "            (loss / len(group)).backward()\n")},
          message="divided by the number of batches in its group", fails=("test_train_one_epoch_hidden",)),
    Wrong("last_group_dropped", "drops the last, partial group of batches",
          {"train_one_epoch": Replace("    if group:\n        step(group)\n", "")},
          message="the last, partial group of batches was dropped", fails=("test_train_one_epoch_hidden",)),
    Wrong("scheduler_per_batch", "steps the scheduler after every micro-batch",
          {"train_one_epoch": [Replace(_SCHED, ""),
                               Replace(_TOTAL, _TOTAL + "            if scheduler is not None:\n                scheduler.step()\n")]},
          message="the scheduler was stepped after every batch (micro-batch)", fails=("test_train_one_epoch_hidden",)),
    Wrong("scheduler_before_step", "steps the scheduler before the optimizer",
          {"train_one_epoch": [Replace(_SCHED, ""),
                               Replace("        optimizer.step()\n", "        if scheduler is not None:\n            "
                                       "scheduler.step()\n        optimizer.step()\n")]},
          message="the scheduler was stepped before the optimizer step", fails=("test_train_one_epoch_hidden",)),
    Wrong("mean_of_batch_means", "returns the mean of the batch losses",
          {"train_one_epoch": [Replace(_TOTAL, "            total += loss.item()\n"),
                               Replace("            count += len(y)\n", "            count += 1\n")]},
          message="a mean of batch means", fails=("test_train_one_epoch", "test_train_one_epoch_hidden")),
    Wrong("graphs_pile_up", "sums the loss tensors (no .item()), keeping every graph alive",
          {"train_one_epoch": [Replace(_TOTAL, "            total = total + loss * len(y)\n"),
                               Replace("    return total / count", "    return float(total / count)")]},
          message="which keeps every batch's graph alive", fails=("test_train_one_epoch_hidden",)),
    Wrong("no_train_mode", "never calls model.train()",
          {"train_one_epoch": Replace("    model.train()\n", "")},
          message="a model passed in eval mode must be trained in training mode", fails=("test_train_one_epoch_hidden",)),
    Wrong("clip_per_batch", "clips the gradient after every backward instead of before each step",
          {"train_one_epoch": [Replace("        if max_grad_norm is not None:\n            torch.nn.utils.clip_grad_norm_("
                                       "model.parameters(), max_grad_norm)\n", ""),
                               Replace(_SCALE, _SCALE + "            if max_grad_norm is not None:\n                "
                                       "torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)\n")]},
          message="the gradient was clipped after every backward", fails=("test_train_one_epoch_hidden",)),
    Wrong("autocast_forward_only", "runs only the model under autocast, not the loss",
          {"train_one_epoch": Replace("                with torch.autocast(device_type=device.type, dtype=autocast_dtype):\n"
                                      "                    loss = loss_fn(model(x), y)\n",
                                      "                with torch.autocast(device_type=device.type, dtype=autocast_dtype):\n"
                                      "                    out = model(x)\n                loss = loss_fn(out, y)\n")},
          message="loss_fn must also run under the autocast context", fails=("test_train_one_epoch_hidden",)),
    # ---- Part 2: evaluate ---------------------------------------------------------------------
    Wrong("eval_left_in_train_mode", "forgets model.eval()",
          {"evaluate": Replace("    model.eval()\n", "")},
          message="evaluation left the model in training mode", fails=("test_evaluate_hidden",)),
    Wrong("eval_not_restored", "leaves the model in eval mode",
          {"evaluate": Replace(_RESTORE, "        pass\n    return {")},
          message="evaluate left the model in eval mode", fails=("test_evaluate", "test_evaluate_hidden")),
    Wrong("eval_restores_with_train", "puts the model back with model.train()",
          {"evaluate": Replace(_RESTORE, "        model.train()\n    return {")},
          message="evaluate put the model back with model.train()", fails=("test_evaluate_hidden",)),
    Wrong("eval_restores_top_only", "restores only the top module's mode",
          {"evaluate": [Replace(_RESTORE, "        model.train(modes[model])\n    return {")]},
          message="model.train(was_training) restores only the top module's flag", fails=("test_evaluate_hidden",)),
    Wrong("eval_no_grad", "uses torch.no_grad() instead of torch.inference_mode()",
          {"evaluate": Replace("        with torch.inference_mode():\n", "        with torch.no_grad():\n")},
          message="torch.no_grad() is not inference mode", fails=("test_evaluate_hidden",)),
    Wrong("eval_mean_of_batch_means", "averages the batch means",
          {"evaluate": [Replace("                totals[\"loss\"] += float(loss_fn(outputs, y)) * n\n",
                                "                totals[\"loss\"] += float(loss_fn(outputs, y))\n"),
                        Replace("                    totals[name] += float(fn(outputs, y)) * n\n",
                                "                    totals[name] += float(fn(outputs, y))\n"),
                        Replace("                count += n\n", "                count += 1\n")]},
          message="the loss is a mean of batch means", fails=("test_evaluate", "test_evaluate_hidden")),
    Wrong("eval_metric_item", "calls .item() on every metric's value (a metric may return a number)",
          {"evaluate": Replace("                    totals[name] += float(fn(outputs, y)) * n\n",
                               "                    totals[name] += fn(outputs, y).item() * n\n")},
          message=".item() was called on a Python number", fails=("test_evaluate_hidden",)),
    # ---- Part 3: fit ---------------------------------------------------------------------------
    Wrong("ckpt_without_optimizer", "saves only the model, epoch and history in the checkpoint",
          {"fit": Replace('        return {"model": model.state_dict(), "optimizer": optimizer.state_dict(),\n',
                          '        return {"model": model.state_dict(),\n')},
          message="the checkpoint lacks the optimizer state", fails=("test_fit", "test_fit_hidden")),
    Wrong("ckpt_without_rng", "leaves the random state out of the checkpoint",
          {"fit": [Replace(_CKPT_RNG, '                "cuda_rng": torch.cuda.get_rng_state_all()}\n'),
                   Replace('        torch.set_rng_state(state["rng"])\n', "")]},
          message="the checkpoint lacks the random state", fails=("test_fit", "test_fit_hidden")),
    Wrong("resume_without_rng", "saves the random state but does not restore it on resume",
          {"fit": Replace('        torch.set_rng_state(state["rng"])\n', "")},
          message="resumed last.pt['rng'] vs uninterrupted", fails=("test_fit_hidden",)),
    Wrong("resume_without_scheduler", "does not load the scheduler's state on resume",
          {"fit": Replace('            scheduler.load_state_dict(state["scheduler"])\n', "            pass\n")},
          message="the resumed scheduler counts only the steps of the resumed epochs", fails=("test_fit_hidden",)),
    Wrong("patience_checked_after_epoch", "checks early stopping after each epoch instead of before it (a resumed run "
          "that had stopped early trains one more epoch)",
          {"fit": [Replace("        if patience is not None and bad_epochs >= patience:\n            break\n", ""),
                   Replace('        torch.save(checkpoint(epoch), folder / "last.pt")\n',
                           '        torch.save(checkpoint(epoch), folder / "last.pt")\n'
                           '        if patience is not None and bad_epochs >= patience:\n            break\n')]},
          message="check the count before each epoch", fails=("test_fit_hidden",)),
    Wrong("bad_epochs_not_loaded", "on resume loads the best value and the epoch but not the count of epochs without "
          "improvement",
          {"fit": Replace('history, best, bad_epochs, start = list(state["history"]), state["best"], state["bad_epochs"], '
                          'state["epoch"]', 'history, best, start = list(state["history"]), state["best"], state["epoch"]')},
          message="the count of epochs without improvement was not restored on resume", fails=("test_fit_hidden",)),
    Wrong("best_starts_at_inf", "starts the best value at +-inf instead of 'no best value yet' (a nan first value never "
          "becomes the best)",
          {"fit": [Replace("history, best, bad_epochs, start = [], None, 0, 0",
                           'history, best, bad_epochs, start = [], (math.inf if mode == "min" else -math.inf), 0, 0'),
                   Replace('if best is None or (value < best if mode == "min" else value > best):',
                           'if (value < best if mode == "min" else value > best):')]},
          message="the best value started at +-inf (or another number)", fails=("test_fit_hidden",)),
    Wrong("bad_epochs_not_reset", "does not reset the count of epochs without improvement on improvement",
          {"fit": Replace("            best, bad_epochs = float(value), 0\n", "            best = float(value)\n")},
          message="the count of epochs without improvement was not reset to 0", fails=("test_fit_hidden",)),
    Wrong("keeps_last_not_best", "returns with the last epoch's weights instead of the best",
          {"fit": Replace('    model.load_state_dict(torch.load(folder / "best.pt", weights_only=True)["model"])\n', "")},
          message="the model's weights on return", fails=("test_fit_hidden",)),
    Wrong("improvement_not_strict", "counts an equal value as an improvement",
          {"fit": Replace("(value < best if mode == \"min\" else value > best)",
                          "(value <= best if mode == \"min\" else value >= best)")},
          message="an equal value was counted as an improvement", fails=("test_fit_hidden",)),
    Wrong("epoch_index_saved", "saves the epoch's index instead of the number of epochs completed",
          {"fit": [Replace('                "epoch": epoch + 1,', '                "epoch": epoch,'),
                   Replace("state[\"bad_epochs\"], state[\"epoch\"]", "state[\"bad_epochs\"], state[\"epoch\"] + 1")]},
          message="'epoch' holds the index of the last epoch", fails=("test_fit", "test_fit_hidden")),
    # ---- Part 4: predict / write_submission ----------------------------------------------------
    Wrong("predictions_shuffled", "builds the DataLoader with shuffle=True",
          {"predict": Replace("batch_size=batch_size, shuffle=False", "batch_size=batch_size, shuffle=True")},
          message="not in dataset order", fails=("test_predict_hidden",)),
    Wrong("predict_logits", "returns logits instead of probabilities",
          {"predict": Replace("torch.softmax(model(batch[0].to(device)).float(), dim=1)",
                              "model(batch[0].to(device)).float()")},
          message="predict returned logits, not probabilities", fails=("test_predict", "test_predict_hidden")),
    Wrong("predict_softmax_then_float", "takes the softmax in the model's dtype and converts to float32 afterwards",
          {"predict": Replace("torch.softmax(model(batch[0].to(device)).float(), dim=1)",
                              "torch.softmax(model(batch[0].to(device)), dim=1).float()")},
          message="the softmax was taken in bfloat16 and converted afterwards", fails=("test_predict_hidden",)),
    Wrong("csv_crlf", "writes with the csv module's default line ending",
          {"predict": Replace('csv.writer(f, lineterminator="\\n")', "csv.writer(f)")},
          message="lines end with '\\r\\n'", fails=("test_predict", "test_predict_hidden")),
    Wrong("predict_leaves_eval", "leaves the model in eval mode after predict",
          {"predict": Replace("""    finally:
        for module, training in modes.items():
            module.training = training
    return torch.cat(rows)""", """    finally:
        pass
    return torch.cat(rows)""")},
          message="predict left the model in eval mode", fails=("test_predict_hidden",)),
    # ---- Part 5: Learner ----------------------------------------------------------------------
    Wrong("callbacks_unsorted", "runs the callbacks in the order given",
          {"learner": Replace("        ordered = sorted(self.cbs, key=lambda cb: cb.order)\n", "        ordered = list(self.cbs)\n")},
          message="callbacks ran in the order given, not sorted by order", fails=("test_learner", "test_learner_hidden")),
    Wrong("cancel_epoch_skips_after_epoch", "lets CancelEpochException skip after_epoch",
          {"learner": Replace('''    def _phase(self, training):
        self.training = training
        self.model.train(training)
        self.dl = self.train_loader if training else self.valid_loader
        self._with_events("epoch", self._batches, CancelEpochException)''', '''    def _phase(self, training):
        self.training = training
        self.model.train(training)
        self.dl = self.train_loader if training else self.valid_loader
        try:
            self.callback("before_epoch")
            self._batches()
            self.callback("after_epoch")
        except CancelEpochException:
            pass''')},
          message="CancelEpochException", fails=("test_learner_hidden",)),
    Wrong("cancel_batch_skips_after_batch", "lets CancelBatchException skip after_batch",
          {"learner": Replace('''                try:
                    self.callback("before_batch")
                    self._step()
                except CancelBatchException:
                    pass
                self.callback("after_batch")''', '''                self.callback("before_batch")
                self._step()
                self.callback("after_batch")''')},
          message="CancelBatchException", fails=("test_learner_hidden",)),
    Wrong("valid_with_grad", "runs validation with autograd on",
          {"learner": Replace("                with torch.no_grad():\n                    self._phase(False)\n",
                              "                self._phase(False)\n")},
          message="runs under torch.no_grad()", fails=("test_learner_hidden",)),
    Wrong("fit_cbs_kept", "leaves the callbacks passed to fit in learn.cbs",
          {"learner": Replace("            for cb in added:\n                self.cbs.remove(cb)", "            pass")},
          message="len(learn.cbs) after fit(cbs=[one more]) returns", fails=("test_learner", "test_learner_hidden")),
    Wrong("fit_cbs_first", "runs the callbacks passed to fit before learn.cbs of the same order",
          {"learner": Replace("        self.cbs.extend(added)\n", "        self.cbs[:0] = added\n")},
          message="the callbacks passed to fit ran before learn.cbs", fails=("test_learner_hidden",)),
    Wrong("fit_cbs_kept_on_raise", "removes the fit callbacks only when fit returns normally",
          {"learner": Replace("""        try:
            self._with_events("fit", self._epochs, CancelFitException)
        finally:
            for cb in added:
                self.cbs.remove(cb)""", """        self._with_events("fit", self._epochs, CancelFitException)
        for cb in added:
            self.cbs.remove(cb)""")},
          message="remove them in a finally: block", fails=("test_learner_hidden",)),
    Wrong("iter_counts_across_phases", "never restarts learn.iter: it counts every batch of the fit",
          {"learner": [Replace("        for self.iter, self.batch in enumerate(self.dl):\n",
                               "        for self.batch in self.dl:\n            self.iter, self._seen = self._seen, self._seen + 1\n"),
                       Replace("        self.n_epochs, self.train, self.valid = n_epochs, train, valid\n",
                               "        self.n_epochs, self.train, self.valid = n_epochs, train, valid\n        self._seen = 0\n")]},
          message="the events differ", fails=("test_learner_hidden",)),
    Wrong("preds_not_reset", "never sets learn.preds and learn.loss to None before a batch",
          {"learner": Replace("            self.preds = self.loss = None\n", "")},
          message="set learn.preds = learn.loss = None before before_batch", fails=("test_learner_hidden",)),
    Wrong("catches_every_cancel", "catches every cancel exception around each batch, wherever it was raised",
          {"learner": Replace("""    def _phase(self, training):
        self.training = training
        self.model.train(training)
        self.dl = self.train_loader if training else self.valid_loader
        self._with_events("epoch", self._batches, CancelEpochException)""", """    def _phase(self, training):
        self.training = training
        self.model.train(training)
        self.dl = self.train_loader if training else self.valid_loader
        try:
            self._with_events("epoch", self._batches, CancelEpochException)
        except CancelBatchException:
            pass""")},
          message="propagates out of fit", fails=("test_learner_hidden",)),
    # ---- Part 6: callbacks --------------------------------------------------------------------
    Wrong("metrics_batch_means", "averages the batch means in MetricsCallback",
          {"callbacks": [Replace("        self.sums[\"loss\"] += learn.loss.item() * n\n",
                                 "        self.sums[\"loss\"] += learn.loss.item()\n"),
                         Replace("            self.sums[name] += float(fn(learn.preds, y)) * n\n        self.count += n\n",
                                 "            self.sums[name] += float(fn(learn.preds, y))\n        self.count += 1\n")]},
          message="the loss is a mean of batch means; weight each batch by len(y)", fails=("test_callbacks_hidden",)),
    Wrong("lr_finder_no_restore", "does not restore the weights after the LR finder",
          {"callbacks": Replace("        learn.model.load_state_dict(self.saved[0])\n", "")},
          message="the weights after the LR finder", fails=("test_callbacks", "test_callbacks_hidden")),
    Wrong("one_cycle_steps_in_valid", "steps the one-cycle scheduler after validation batches too",
          {"callbacks": Replace("        if learn.training:\n            self.scheduler.step()\n", "        self.scheduler.step()\n")},
          message="OneCycleCallback", fails=("test_callbacks_hidden",)),
    Wrong("activation_hooks_kept", "never removes the activation hooks",
          {"callbacks": Replace("        for handle in self.handles:\n            handle.remove()", "        pass")},
          message="must remove its hooks", fails=("test_callbacks_hidden",)),
    Wrong("metrics_empty_row", "appends a row of zeros for a phase in which no batch was counted",
          {"callbacks": Replace("        if self.count:\n", "        if True:\n            self.count = max(self.count, 1)\n")},
          message="a phase in which no batch was counted appends no row", fails=("test_callbacks_hidden",)),
    Wrong("metrics_tensor_values", "adds the metric's value without float(), so rows hold tensors",
          {"callbacks": Replace("            self.sums[name] += float(fn(learn.preds, y)) * n\n",
                                "            self.sums[name] += fn(learn.preds, y) * n\n")},
          message="expected a float, got a Tensor", fails=("test_callbacks_hidden",)),
    Wrong("lr_finder_counts_iter", "uses learn.iter as i in the LR finder's schedule",
          {"callbacks": Replace("(len(self.losses) / (self.num_iter - 1))", "(learn.iter / (self.num_iter - 1))")},
          message="i is learn.iter (it restarts every epoch)", fails=("test_callbacks_hidden",)),
    Wrong("lr_finder_stops_on_equal", "stops the LR finder when the loss equals div x the smallest",
          {"callbacks": Replace("loss > self.div * min(self.losses)", "loss >= self.div * min(self.losses)")},
          message="it stops only when the loss exceeds it", fails=("test_callbacks_hidden",)),
    Wrong("one_cycle_skips_cancelled", "does not step the one-cycle scheduler after a cancelled training batch",
          {"callbacks": Replace("        if learn.training:\n            self.scheduler.step()\n",
                                "        if learn.training and learn.loss is not None:\n            self.scheduler.step()\n")},
          message="which still steps the scheduler", fails=("test_callbacks_hidden",)),
    Wrong("metrics_history_reset_each_fit", "empties MetricsCallback.history at the start of every fit",
          {"callbacks": Replace("""    def before_epoch(self, learn):
        self.sums, self.count""", """    def before_fit(self, learn):
        self.history = []

    def before_epoch(self, learn):
        self.sums, self.count""")},
          message="history was emptied when the second fit began", fails=("test_callbacks_hidden",)),
    Wrong("metrics_stale_sums", "starts new sums only in before_epoch (a phase whose before_epoch was cancelled by an "
          "earlier callback counts the previous phase's sums again)",
          {"callbacks": Replace("""                                 **{name: total / self.count for name, total in self.sums.items()}})
        self.before_epoch(learn)
""", """                                 **{name: total / self.count for name, total in self.sums.items()}})
""")},
          message="the sums were not started again at the end of after_epoch", fails=("test_callbacks_hidden",)),
    Wrong("lr_finder_restores_on_own_cancel", "restores the states only when the finder itself raises CancelFitException",
          {"callbacks": [Replace("""            raise CancelFitException()

    def after_fit(self, learn):
        learn.model.load_state_dict(self.saved[0])
        learn.opt.load_state_dict(self.saved[1])
""", """            learn.model.load_state_dict(self.saved[0])
            learn.opt.load_state_dict(self.saved[1])
            raise CancelFitException()
""")]},
          message="the states were restored only when the finder raised CancelFitException", fails=("test_callbacks_hidden",)),
    Wrong("lr_finder_i_counts_batches", "counts the training batches its before_batch saw as i",
          {"callbacks": [Replace("(len(self.losses) / (self.num_iter - 1))", "(self.n_batches / (self.num_iter - 1))"),
                         Replace("""            for group in learn.opt.param_groups:
                group["lr"] = self.lr
""", """            self.n_batches += 1
            for group in learn.opt.param_groups:
                group["lr"] = self.lr
"""),
                         Replace("        self.lrs, self.losses = [], []\n", "        self.lrs, self.losses, self.n_batches = [], [], 0\n")]},
          message="i counts the training batches the finder's before_batch saw", fails=("test_callbacks_hidden",)),
    Wrong("activation_hooks_in_init", "registers the activation hooks at construction (a second fit records nothing)",
          {"callbacks": Replace("""        self.stds = [[] for _ in self.modules]

    def before_fit(self, learn):
        def hook(k):
            def record(module, inputs, output):
                if learn.training:
                    self.means[k].append(output.mean().item())
                    self.stds[k].append(output.std().item())
            return record
        self.handles = [m.register_forward_hook(hook(k)) for k, m in enumerate(self.modules)]
""", """        self.stds = [[] for _ in self.modules]
        self.learn = None

        def hook(k):
            def record(module, inputs, output):
                if self.learn is not None and self.learn.training:
                    self.means[k].append(output.mean().item())
                    self.stds[k].append(output.std().item())
            return record
        self.handles = [m.register_forward_hook(hook(k)) for k, m in enumerate(self.modules)]

    def before_fit(self, learn):
        self.learn = learn
""")},
          message="register the hooks in before_fit, not in __init__", fails=("test_callbacks_hidden",)),
    Wrong("activation_stats_tensors", "appends the mean and std as tensors (no .item())",
          {"callbacks": Replace("                    self.means[k].append(output.mean().item())\n",
                                "                    self.means[k].append(output.mean())\n")},
          message="must hold Python floats", fails=("test_callbacks_hidden",)),
    # ---- alternative correct submissions ---------------------------------------------------------
    Correct("scale_gradients_after", "accumulates loss × n and divides the gradients by the group's samples before the step",
            {"train_one_epoch": [Replace(_SCALE, "            (loss * len(y)).backward()\n"),
                                 Replace("        if max_grad_norm is not None:\n",
                                         "        for p in model.parameters():\n            if p.grad is not None:\n"
                                         "                p.grad /= group_size\n        if max_grad_norm is not None:\n")]}),
    Correct("evaluate_weighted_tensors", "keeps the sums as float64 tensors and converts at the end",
            {"evaluate": [Replace('                totals["loss"] += float(loss_fn(outputs, y)) * n\n',
                                  '                totals["loss"] += torch.as_tensor(loss_fn(outputs, y), dtype=torch.float64).item() * n\n')]}),
    Correct("predict_stack_rows", "collects the probabilities row by row and stacks them",
            {"predict": [Replace("                rows.append(torch.softmax(model(batch[0].to(device)).float(), dim=1).cpu())\n",
                                "                rows.extend(torch.softmax(model(batch[0].to(device)).float(), dim=1).cpu())\n"),
                        Replace("    return torch.cat(rows)\n", "    return torch.stack(rows)\n")]}),
    Correct("submission_by_hand", "writes the CSV lines by hand",
            {"predict": Replace('''        writer = csv.writer(f, lineterminator="\\n")
        writer.writerow(["id", "label"])
        writer.writerows([str(i), classes[j]] for i, j in zip(ids, labels))''', '''        f.write("id,label\\n")
        for i, j in zip(ids, labels):
            f.write(f"{i},{classes[j]}\\n")''')}),
    Correct("own_helper_named_like_a_test_helper", "defines its own module-level helper _load(path), the name of a "
            "helper (with another signature) that the hidden fit tests define",
            {"fit": [Replace("def fit(", "def _load(path):\n    return torch.load(path, weights_only=True)\n\n\ndef fit("),
                     Replace('state = torch.load(folder / "last.pt", weights_only=True)', 'state = _load(folder / "last.pt")'),
                     Replace('model.load_state_dict(torch.load(folder / "best.pt", weights_only=True)["model"])',
                             'model.load_state_dict(_load(folder / "best.pt")["model"])')]}),
    Correct("learner_stable_sort_index", "sorts by (order, position) explicitly",
            {"learner": Replace("        ordered = sorted(self.cbs, key=lambda cb: cb.order)\n",
                                "        ordered = [cb for _, _, cb in sorted((cb.order, i, cb) for i, cb in enumerate(self.cbs))]\n")}),
    Correct("groups_by_slicing", "lists the batches and slices them into groups",
            {"train_one_epoch": Replace("""    group = []
    for batch in loader:
        group.append(batch)
        if len(group) == accum_steps:
            step(group)
            group = []
    if group:
        step(group)
""", """    batches = list(loader)
    for start in range(0, len(batches), accum_steps):
        step(batches[start:start + accum_steps])
""")}),
]
