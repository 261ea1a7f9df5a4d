"""``Trainer``: fits any ``torch.nn.Module``; pure dense ``HiddenNet``s go through the explicit
engine, everything else through autograd, with one loop, one History and the same rules."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from .._errors import ParameterError, did_you_mean
from .._validation import (
    check_choice,
    check_epsilon_fits_params,
    check_int,
    check_writable_folder,
)
from ..spec import LOSSES, OptimizerSpec
from ._callbacks import Callback, Progress
from ._checkpoint import load_checkpoint, load_trainer_state, save_checkpoint
from ._checks import check_data
from ._data import as_tensor_data, check_sample_weight, model_device_dtype
from ._history import History
from ._losses import get_loss, get_sample_loss
from ._metrics import METRIC_NAMES, evaluate, metric_name
from ._schedules import Schedule
from ._state import TrainState
from ._stopping import Divergence, MaxEpochs, MaxSteps, MonitorRule, StopRule, TimeBudget

_BOUNDS = (MaxEpochs, MaxSteps, TimeBudget)


class Trainer:
    """Train a network until a stopping rule says stop.

    Parameters
    ----------
    model : torch.nn.Module
        A :class:`~lamina.HiddenNet` or any module mapping inputs to raw outputs.
    loss : str
        ``cross_entropy``, ``binary_cross_entropy``, ``mse``, ``half_mse``, ``mae``, ``huber``.
    optimizer : str or OptimizerSpec
        ``sgd``, ``adam``, ``adamw``, ``rmsprop``, ``adagrad``, ``lbfgs`` (full batch).
    stop : list of StopRule
        E.g. ``[MaxEpochs(20), EarlyStopping(patience=5)]``; must include a bound (MaxEpochs,
        MaxSteps or TimeBudget). NaN/inf losses always stop training (keeping the best weights).
        MaxSteps and TimeBudget are checked between batches on both training paths.
    schedule : str or Schedule
        ``constant``, ``invscaling``, ``adaptive``, ``cosine`` (given by name, it decays to 0 over
        the ``MaxEpochs`` bound; a :class:`Schedule` object sets its own ``t_max``), ``step``.
    alpha : float
        sklearn's L2 penalty; ``weight_decay`` is torch's.
    metrics : sequence of str or callables
        Computed on the validation data each epoch (``accuracy``, ``r2``, or ``f(out, y)``).
    engine : str
        ``auto`` (explicit engine for pure dense nets on in-memory tensors), ``explicit`` or
        ``autograd``.
    seed : int, optional
        Seeds shuffling and dropout: same seed -> bit-identical weights and history on CPU.

    Examples
    --------
    >>> import lamina, torch
    >>> net = lamina.build((16,), in_features=4, out=3, seed=0)
    >>> X, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
    >>> hist = lamina.Trainer(net, stop=[lamina.MaxEpochs(2)], verbose=False, seed=0).fit((X, y))
    >>> len(hist)
    2

    Padded sequences train in memory with their lengths:

    >>> net = lamina.build("gru(8)", in_shape=(5, 3), out=2, seed=0)
    >>> X, lengths = torch.randn(32, 5, 3), torch.randint(1, 6, (32,))
    >>> hist = lamina.Trainer(net, stop=[lamina.MaxEpochs(1)], verbose=False).fit(
    ...     (X, lengths, torch.randint(0, 2, (32,))))
    >>> len(hist)
    1
    """

    def __init__(self, model: torch.nn.Module, *, loss: str = "cross_entropy",
                 optimizer: str | OptimizerSpec = "adam", lr: float = 1e-3, batch_size: int = 256,
                 stop: Sequence[StopRule] | None = None, schedule: str | Schedule = "constant",
                 power_t: float = 0.5, alpha: float = 0.0, weight_decay: float = 0.0,
                 clip_norm: float | None = None, momentum: float = 0.9, nesterov: bool = True,
                 beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 metrics: Sequence[str | Callable[..., float]] | None = None,
                 shuffle: bool = True, seed: int | None = None, verbose: bool = True,
                 callbacks: Sequence[Callback] = (), engine: str = "auto", max_fun: int = 15000,
                 checkpoint_dir: str | None = None) -> None:
        if not isinstance(model, torch.nn.Module):
            raise ParameterError("model", type(model).__name__, "expected a torch.nn.Module",
                                 "Build one with lamina.build(...).")
        if next(iter(model.parameters()), None) is None:
            raise ParameterError("model", type(model).__name__, "a module with trainable "
                                 "parameters; this one has none", "Pass the network itself "
                                 "(e.g. lamina.build(...)), not an activation or container "
                                 "without layers.")
        self.model = model
        self.loss_name = loss
        self.loss_fn = get_loss(loss)
        self.sample_loss_fn = get_sample_loss(loss)
        if isinstance(optimizer, OptimizerSpec):
            self.opt_spec = optimizer
        else:
            self.opt_spec = OptimizerSpec(optimizer, lr=lr, momentum=momentum, nesterov=nesterov,
                                          beta1=beta1, beta2=beta2, eps=eps, alpha=alpha,
                                          weight_decay=weight_decay, clip_norm=clip_norm)
        self.batch_size = check_int("batch_size", batch_size, 1)
        if isinstance(stop, StopRule):     # one rule is a list of one
            stop = [stop]
        self.stop: list[StopRule] = list(stop) if stop is not None else [MaxEpochs(10)]
        for rule in self.stop:
            if not isinstance(rule, StopRule):
                raise ParameterError("stop", rule, "each rule must be a lamina StopRule such as "
                                     "MaxEpochs(20) or EarlyStopping(patience=5)",
                                     "Pass stop=[lamina.MaxEpochs(20)].")
        if not any(isinstance(r, _BOUNDS) for r in self.stop):
            raise ParameterError("stop", self.stop, "needs a rule that bounds training "
                                 "(MaxEpochs, MaxSteps or TimeBudget)",
                                 "Add lamina.MaxEpochs(n) to the list.")
        # a cosine given by name decays over the fit's MaxEpochs (else Schedule's t_max=100)
        epochs = next((r.n for r in self.stop if isinstance(r, MaxEpochs)), None)
        span = {"t_max": epochs} if schedule == "cosine" and epochs is not None else {}
        self.schedule = (schedule if isinstance(schedule, Schedule)
                         else Schedule(schedule, lr0=self.opt_spec.lr, power_t=power_t, **span))
        self.metrics = list(metrics) if metrics is not None else (
            ["accuracy"] if loss in ("cross_entropy", "binary_cross_entropy") else ["r2"])
        for metric in self.metrics:       # refused now, not after the first epoch
            if not callable(metric) and metric not in METRIC_NAMES:
                raise ParameterError("metrics", metric, "allowed: "
                                     + ", ".join(map(repr, METRIC_NAMES))
                                     + " or a callable f(outputs, y) -> float",
                                     did_you_mean(str(metric), list(METRIC_NAMES)).strip()
                                     or "Pass metrics=['accuracy'].")
        self.shuffle = shuffle
        self.seed = seed
        self.verbose = verbose
        self.callbacks = list(callbacks)
        self.engine_mode = check_choice("engine", engine, ("auto", "explicit", "autograd"))
        self.max_fun = check_int("max_fun", max_fun, 1)
        self.checkpoint_dir = checkpoint_dir
        self.engine_used_: str | None = None

    # ------------------------------------------------------------------ fit
    def fit(self, train: Any, val: Any = None, *, history: History | None = None,
            keep_optimizer: bool = False, sample_weight: Any = None,
            val_sample_weight: Any = None, resume: bool = False) -> History:
        """Train on ``train``, evaluate on ``val`` after every epoch, and return the
        :class:`History`.

        ``train`` and ``val`` are in-memory ``(X, y)`` arrays/tensors, in-memory padded
        sequences ``(X, lengths, y)`` (X of shape ``(N, T, ...)``, one length per row with
        ``1 <= length <= T``; the model is called as ``model(x, lengths)``), or an iterable of
        ``(x, y)`` / ``(x, lengths, y)`` batches such as a DataLoader. In-memory sequences are
        shuffled and sliced like ``(X, y)`` (batches keep the padded ``T``; a loader that
        groups similar lengths pads less) and train on autograd.

        ``history`` continues an existing History (warm starts): epochs keep counting from it.
        ``keep_optimizer=True`` continues with the optimizer state (moments, step count) of this
        trainer's previous ``fit`` — sklearn's ``partial_fit`` semantics.

        ``sample_weight`` (one non-negative weight per row of in-memory data) weighs
        each batch's loss as sklearn's MLPs do: ``np.average(loss, weights=w)`` plus the
        ``alpha`` term divided by ``sum(w)`` of the batch. Weighted training runs on autograd
        (``engine_used_ == "autograd"``); a batch whose weights are all zero is passed over.
        ``val_sample_weight`` weighs ``val_loss`` and the built-in validation metrics
        (callables then get ``sample_weight=`` too).

        In-memory ``train`` and ``val`` are checked once, before the first step and alike
        on every path: a HiddenNet's input shape, finite X (up to each length with lengths),
        lengths in range and a layer that reads them, class ids within the outputs, one
        target per output. Bad data raises a :class:`~lamina.DataError` that names ``train`` or
        ``val``; iterables of batches are not checked ahead. A stopping rule that monitors a
        ``val_*`` value needs ``val`` (a :class:`~lamina.ParameterError` otherwise), and one
        whose value an epoch does not record raises a ParameterError listing those recorded.
        Every fit starts from the configured ``schedule`` (an adaptive plateau lowers the
        rate of that fit only). Rules watching ``val_score`` in ``mode="auto"`` take the
        direction of the first metric (``metrics=[mae]``: minimised).

        After ``fit``, ``state_.weights_epoch`` is the epoch whose weights the model holds when
        a rule restored them at the end (early stopping's best epoch, or the best training loss
        after a divergence), and None when the model keeps its last weights.

        With ``checkpoint_dir`` set, every epoch is checkpointed with everything a resumed fit
        needs; ``resume=True`` continues the fit from its latest checkpoint exactly as if it had
        not stopped (same data, model, optimizer and kinds of stopping rules; a bound such as
        ``MaxEpochs(n)`` may be raised to train longer). The same weights and History come out,
        bit for bit on CPU, apart from the ``seconds`` of each epoch.
        """
        self._check_eps()              # before anything changes
        device, dtype = model_device_dtype(self.model)
        pair = as_tensor_data(train, self.loss_name, device, dtype, "train")
        val_pair = as_tensor_data(val, self.loss_name, device, dtype, "val") if val is not None \
            else None
        for name, checked in (("train", pair), ("val", val_pair)):
            if checked is not None:   # once per fit, the same on both paths (see _checks)
                check_data(self.model, checked, self.loss_name, name)
        self._check_monitors(val)
        w = self._weights(sample_weight, pair, device, dtype, "sample_weight")
        val_w = self._weights(val_sample_weight, val_pair, device, dtype, "val_sample_weight")
        if w is not None and self.engine_mode == "explicit":
            raise ParameterError("engine", "explicit", "the explicit engine trains without "
                                 "sample weights; weighted training runs on autograd",
                                 "Use engine='auto' or engine='autograd' with sample_weight.")
        saved = self._resume_from(history) if resume else None
        if self.checkpoint_dir is not None and saved is None:
            check_writable_folder("checkpoint_dir", self.checkpoint_dir,  # before any epoch
                                  "Pass a writable folder, e.g. 'runs/ckpt'.")
        if saved is not None and _own_generator(train):
            import warnings

            warnings.warn("train is a DataLoader with its own generator=, which a checkpoint "
                          "does not hold: the batches after the resume differ from those of an "
                          "uninterrupted fit. Leave generator= out (the shuffle then draws from "
                          "torch's global RNG, which is checkpointed) for an exact resume.",
                          UserWarning, stacklevel=2)
        if saved is not None:
            try:
                hist = load_checkpoint(self.checkpoint_dir, self.model)  # type: ignore[arg-type]
            except RuntimeError as err:         # load_state_dict: other shapes or names
                raise ParameterError("model", type(self.model).__name__, "the architecture of "
                                     "the checkpointed model (its weights do not fit this one: "
                                     f"{str(err).splitlines()[0]})",
                                     "Resume with the same network.") from None
            seed = int(saved[1]["seed"])
        else:
            hist = history if history is not None else History()
            seed = self.seed if self.seed is not None \
                else int(torch.randint(0, 2**31 - 1, ()).item())
        generator = torch.Generator().manual_seed(seed)
        prev_step = int(hist.last.get("step", 0) or 0)
        state = TrainState(model=self.model, history=hist, lr=self.opt_spec.lr,
                           epoch=len(hist), step=prev_step, start_epoch=len(hist),
                           start_step=prev_step)
        rules: list[StopRule] = [*self.stop, Divergence()]
        for rule in rules:
            rule.reset()
        total = next((r.n for r in self.stop if isinstance(r, MaxEpochs)), None)
        callbacks = [Progress(total, enabled=self.verbose), *self.callbacks]
        schedule = self.schedule   # each fit starts from the configured schedule
        adaptive_lr0: float | None = None
        runner = getattr(self, "_runner", None) if keep_optimizer and saved is None else None
        if runner is None:
            runner = self._make_runner(pair, generator, weighted=w is not None)
        else:
            runner.generator = generator
            if w is not None and self.engine_used_ == "explicit":
                runner = self._switch_to_autograd(runner, generator)
        self._runner = runner
        if saved is not None:
            from ._resume import restore

            restore(saved[1], saved[0], state, rules, runner, generator,
                    self.engine_used_, self.opt_spec.name)
            adaptive_lr0 = saved[1].get("adaptive_lr0")
            if adaptive_lr0 is not None:
                schedule = Schedule("adaptive", lr0=adaptive_lr0)
        was_training = self.model.training
        t_start = time.perf_counter() - state.elapsed
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)   # autograd-path dropout draws from the global RNG
            if saved is not None:
                torch.set_rng_state(saved[0]["rng/torch"])
            for cb in callbacks:
                cb.on_train_begin(state)
            try:
                # a resumed fit whose bounds are already reached does not train another epoch
                reason = "" if saved is None else self._resumed_reason(saved[1], state)
                stopped_by = ""
                while not reason:
                    for cb in callbacks:
                        cb.on_epoch_begin(state)
                    lr = schedule.lr(state.epoch - state.start_epoch, state.samples_seen, state.lr)
                    state.lr = lr
                    runner.set_lr(lr)
                    t0 = time.perf_counter()
                    max_steps = self._steps_left(state)
                    loss, n_steps, norms, finite, n_seen = runner.epoch(
                        pair if pair is not None else train, max_steps, t_start, w)
                    state.epoch += 1
                    state.step += n_steps
                    state.samples_seen += n_seen
                    state.finite = finite
                    state.elapsed = time.perf_counter() - t_start
                    record: dict[str, Any] = {"epoch": state.epoch, "step": state.step,
                                              "train_loss": loss, "lr": lr,
                                              "seconds": time.perf_counter() - t0,
                                              "grad_norm": norms}
                    if val is not None and finite:
                        record.update(evaluate(self.model, val_pair if val_pair is not None
                                               else val, self.loss_fn, self.loss_name,
                                               self.metrics, device, dtype,
                                               sample_weight=val_w,
                                               sample_loss_fn=self.sample_loss_fn))
                    state.record = record
                    for cb in callbacks:
                        cb.on_epoch_end(state, record)
                    hist.append(record)
                    # every rule sees every epoch, the last one included: a rule keeping the
                    # best weights (early stopping) must not miss the epoch a bound ends on.
                    # The first stopping rule names the reason; divergence overrides it.
                    for rule in rules:
                        stop, why = rule.check(state)
                        if stop and (not reason or isinstance(rule, Divergence)):
                            reason, stopped_by = why, type(rule).__name__
                    if state.lr_changed:
                        state.lr_changed = False
                        adaptive_lr0 = state.lr
                        schedule = Schedule("adaptive", lr0=state.lr)   # this fit only
                    if not reason and runner.exhausted:
                        reason = f"L-BFGS used its max_fun={self.max_fun} function evaluations"
                        stopped_by = "max_fun"
                    if self.checkpoint_dir is not None:   # after the rules: their state too
                        from ._resume import capture

                        hist.stop_reason = reason
                        tensors, info = capture(state, rules, runner, generator, adaptive_lr0,
                                                seed, self.engine_used_, self.opt_spec.name)
                        info.update(stop_reason=reason, stopped_by=stopped_by)
                        save_checkpoint(self.checkpoint_dir, self.model, hist, (tensors, info))
                hist.stop_reason = reason
            finally:
                for rule in rules:
                    rule.on_end(state)
                self.model.train(was_training)
                for cb in callbacks:
                    cb.on_train_end(state)
        self.state_ = state
        return hist

    def _check_eps(self) -> None:
        """Refuse an Adam/AdamW/RMSprop/Adagrad ``eps`` that a half-precision parameter's dtype
        rounds to 0, as the estimators refuse their ``epsilon``: the second moment is kept in
        that dtype, where small squared gradients underflow to 0, and each step is then about
        ``lr * gradient / eps`` (training diverges). Checked before anything changes; the
        optimizers repeat the check where they are built from the tensors."""
        check_epsilon_fits_params(self.opt_spec.name, self.opt_spec.eps,
                                  [p for p in self.model.parameters() if p.requires_grad])

    def _resume_from(self, history: History | None
                     ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The trainer state of the latest checkpoint, for ``fit(resume=True)``."""
        if self.checkpoint_dir is None:
            raise ParameterError("resume", True, "resuming needs the Trainer's checkpoint_dir "
                                 "(where the interrupted fit wrote its checkpoints)",
                                 "Create the Trainer with checkpoint_dir=... as before.")
        if history is not None:
            raise ParameterError("history", "<History>", "None when resuming (the checkpoint "
                                 "holds the History)", "Leave history out with resume=True.")
        return load_trainer_state(self.checkpoint_dir)

    def _resumed_reason(self, info: dict[str, Any], state: TrainState) -> str:
        """Why a resumed fit need not train: the checkpointed fit had ended on a rule other
        than a bound (early stopping, divergence, a target, L-BFGS's budget; the rules' end
        then restores the weights it kept), or a bound of this fit is already reached (a bound
        may be raised to train longer)."""
        bounds = {cls.__name__ for cls in _BOUNDS}
        if info.get("stop_reason") and info.get("stopped_by") not in bounds:
            return str(info["stop_reason"])
        for rule in self.stop:
            if isinstance(rule, _BOUNDS):
                stop, why = rule.check(state)
                if stop:
                    return why
        return ""

    def _check_monitors(self, val: Any) -> None:
        """Refuse, before training, a rule that monitors a validation value when ``fit`` got
        no validation data (it could never fire); give rules in auto mode the first metric's
        name, which is what ``val_score`` holds (``metrics=[mae]`` makes it minimised)."""
        score = metric_name(self.metrics[0], 0) if self.metrics else None
        for rule in self.stop:
            if isinstance(rule, MonitorRule):
                rule.bind_metrics(score)
        if val is not None:
            return
        for rule in self.stop:
            monitor = getattr(rule, "monitor", None)
            if isinstance(monitor, str) and monitor.startswith("val_"):
                raise ParameterError("val", None, f"{type(rule).__name__} monitors "
                                     f"{monitor!r}, which is measured on validation data, so "
                                     "fit needs val=(X_val, y_val) (or a loader)",
                                     "Pass validation data to fit, or monitor 'train_loss'.")

    def _steps_left(self, state: TrainState) -> int | None:
        limits = [r.n - (state.step - state.start_step) for r in self.stop
                  if isinstance(r, MaxSteps)]
        return max(min(limits), 0) if limits else None

    @staticmethod
    def _weights(sample_weight: Any, pair: tuple[torch.Tensor, ...] | None,
                 device: torch.device, dtype: torch.dtype, name: str) -> torch.Tensor | None:
        """Validated sample weights as a tensor on the model's device and dtype."""
        if sample_weight is None:
            return None
        if pair is None:
            raise ParameterError(name, f"<{type(sample_weight).__name__}>", "sample weights "
                                 "need in-memory (X, y) data (or (X, lengths, y)), one weight "
                                 "per row",
                                 "Pass (X, y) arrays or tensors, or leave the weights out.")
        w = check_sample_weight(sample_weight, int(pair[0].shape[0]), name)
        return torch.as_tensor(w).to(device=device, dtype=dtype)

    def _switch_to_autograd(self, runner: Any, generator: torch.Generator) -> Any:
        """Leave the explicit engine for autograd, keeping the optimizer's state (a weighted
        ``partial_fit`` after unweighted ones)."""
        from ._runners import AutogradRunner, adopt_engine_state

        new = AutogradRunner(self.model, self.loss_fn, self.opt_spec, self.batch_size,
                             self.shuffle, generator, self.max_fun, self.stop,
                             self.sample_loss_fn, self.loss_name)
        adopt_engine_state(new, runner)
        self.engine_used_ = "autograd"
        return new

    def _make_runner(self, pair: tuple[torch.Tensor, ...] | None,
                     generator: torch.Generator, weighted: bool = False) -> Any:
        from ._runners import AutogradRunner, EngineRunner, engine_supports

        stack = getattr(self.model, "dense_stack", lambda: None)()
        can_engine = (self.engine_mode != "autograd" and pair is not None and len(pair) == 2
                      and not weighted
                      and self.loss_name in LOSSES
                      and engine_supports(stack, self.loss_name, self.opt_spec))
        if self.engine_mode == "explicit" and not can_engine:
            raise ParameterError("engine", "explicit", "the explicit engine trains only dense "
                                 "HiddenNets (no normalisation) on in-memory (X, y) with "
                                 "sgd/adam/adamw/rmsprop/adagrad",
                                 "Use engine='auto' or engine='autograd'.")
        if can_engine and self.engine_mode != "autograd":
            self.engine_used_ = "explicit"
            return EngineRunner(stack, self.loss_name, self.opt_spec, self.batch_size,
                                self.shuffle, generator, self.stop)
        self.engine_used_ = "autograd"
        return AutogradRunner(self.model, self.loss_fn, self.opt_spec, self.batch_size,
                              self.shuffle, generator, self.max_fun, self.stop,
                              self.sample_loss_fn, self.loss_name)


def _own_generator(data: Any) -> bool:
    """A DataLoader (or its sampler) that draws from a generator of its own."""
    sampler = getattr(data, "sampler", None)
    return (getattr(data, "generator", None) is not None
            or getattr(sampler, "generator", None) is not None)


__all__ = ["Trainer"]
