"""Stopping rules. Each is an object with ``reset()`` and ``check(state) -> (stop, reason)``,
called after every epoch; ``on_end(state)`` runs once when training ends (e.g. to restore the
best weights). Rules never raise to stop training; a rule whose monitored value is missing from
the epoch's record raises a :class:`ParameterError` (it could never fire).
"""

from __future__ import annotations

import math

import torch

from .._errors import ParameterError, did_you_mean
from .._validation import check_bool, check_choice, check_float, check_int
from ._state import TrainState


class StopRule:
    """Base class: never stops.

    ``_state`` names the attributes ``reset()`` sets and ``check()`` updates (counters, best
    values); with the ``_best_weights`` snapshot, when a rule keeps one, they are what a
    checkpoint saves so that a resumed fit continues exactly (``_resume.py``).
    """

    _state: tuple[str, ...] = ()

    def reset(self) -> None:
        """Forget state from a previous fit."""

    def check(self, state: TrainState) -> tuple[bool, str]:
        return False, ""

    def on_end(self, state: TrainState) -> None:
        """Called once when training ends, whichever rule stopped it."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class MaxEpochs(StopRule):
    """Stop after ``n`` epochs of this fit (sklearn's ``max_iter`` for stochastic solvers)."""

    def __init__(self, n: int) -> None:
        self.n = check_int("max_epochs", n, 1)

    def check(self, state: TrainState) -> tuple[bool, str]:
        if state.epoch - state.start_epoch >= self.n:
            return True, f"reached max_epochs={self.n}"
        return False, ""


class MaxSteps(StopRule):
    """Stop after ``n`` optimizer steps of this fit (checked inside epochs too)."""

    def __init__(self, n: int) -> None:
        self.n = check_int("max_steps", n, 1)

    def check(self, state: TrainState) -> tuple[bool, str]:
        if state.step - state.start_step >= self.n:
            return True, f"reached max_steps={self.n}"
        return False, ""


class TimeBudget(StopRule):
    """Stop once ``seconds`` of wall time have passed (checked between batches)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = check_float("seconds", seconds, 0.0, None, low_open=True)

    def check(self, state: TrainState) -> tuple[bool, str]:
        if state.elapsed >= self.seconds:
            return True, f"time budget of {self.seconds:g} s used ({state.elapsed:.1f} s)"
        return False, ""


def _monitor_mode(monitor: str) -> str:
    return "min" if monitor.endswith("loss") else "max"


def _monitored(rule: StopRule, monitor: str, state: TrainState) -> float | None:
    """The epoch's value of ``monitor``; a ParameterError listing the recorded values when the
    record lacks it (a typo such as ``val_acc``, or no validation data). None only after a
    non-finite epoch, whose validation values are not measured (Divergence stops then)."""
    value = state.record.get(monitor)
    if value is not None or not state.finite:
        return value
    recorded = sorted(k for k, v in state.record.items()
                      if isinstance(v, (int, float)) and not isinstance(v, bool))
    raise ParameterError("monitor", monitor, f"{type(rule).__name__} monitors a value that "
                         f"training does not record; each epoch records {', '.join(recorded)}",
                         f"Monitor one of these.{did_you_mean(monitor, recorded)} Validation "
                         "values (val_*) need val= data in fit.")


class LossTolerance(StopRule):
    """sklearn's ``tol`` + ``n_iter_no_change``: stop when the monitored value has not improved
    by at least ``tol`` for more than ``patience`` consecutive epochs.

    ``monitor`` is ``train_loss`` (minimised) or a validation metric such as ``val_score`` /
    ``val_accuracy`` (maximised). With ``adaptive_lr=True`` a plateau first divides the learning
    rate by 5 (sklearn's ``learning_rate='adaptive'``) and only stops once it would go below 1e-6.
    ``restore_best=True`` restores the weights of the best monitored epoch at the end
    (sklearn does so with ``early_stopping=True``). A ``monitor`` that training does not record
    raises a :class:`~lamina.ParameterError` listing the recorded values.
    """

    def __init__(self, tol: float = 1e-4, patience: int = 10, monitor: str = "train_loss",
                 adaptive_lr: bool = False, restore_best: bool = False) -> None:
        self.tol = check_float("tol", tol, 0.0, None)
        self.patience = check_int("n_iter_no_change", patience, 1)
        self.monitor = monitor
        self.adaptive_lr = check_bool("adaptive_lr", adaptive_lr)
        self.restore_best = check_bool("restore_best", restore_best)
        self.reset()

    _state = ("best", "count")

    def reset(self) -> None:
        self.best = math.inf if _monitor_mode(self.monitor) == "min" else -math.inf
        self.count = 0
        self._best_weights: dict[str, torch.Tensor] | None = None

    def check(self, state: TrainState) -> tuple[bool, str]:
        value = _monitored(self, self.monitor, state)
        if value is None:
            return False, ""
        if _monitor_mode(self.monitor) == "min":
            no_gain = value > self.best - self.tol
            improved = value < self.best
        else:
            no_gain = value < self.best + self.tol
            improved = value > self.best
        self.count = self.count + 1 if no_gain else 0
        if improved:
            self.best = value
            if self.restore_best:
                self._best_weights = state.snapshot(into=self._best_weights)
        if self.count <= self.patience:
            return False, ""
        what = "training loss" if self.monitor == "train_loss" else f"{self.monitor}"
        reason = (f"{what} did not improve by at least tol={self.tol:g} for "
                  f"{self.patience} consecutive epochs")
        if self.adaptive_lr:
            if state.lr / 5.0 > 1e-6:
                state.set_lr(state.lr / 5.0)
                self.count = 0
                return False, ""
            reason += " and the learning rate is below 1e-6"
        return True, reason

    def on_end(self, state: TrainState) -> None:
        if self.restore_best and self._best_weights is not None:
            state.restore(self._best_weights)


class EarlyStopping(StopRule):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs, then
    restore the best weights (Keras/Lightning semantics; see LossTolerance for sklearn's).

    A ``val_*`` monitor needs validation data in ``fit`` (refused up front without it); a
    ``monitor`` the epoch's record lacks (e.g. ``val_acc`` for ``val_accuracy``) raises a
    :class:`~lamina.ParameterError` after the first epoch, listing the recorded values."""

    def __init__(self, patience: int = 5, monitor: str = "val_loss", min_delta: float = 0.0,
                 mode: str | None = None, restore_best: bool = True) -> None:
        self.patience = check_int("patience", patience, 1)
        self.monitor = monitor
        self.min_delta = check_float("min_delta", min_delta, 0.0, None)
        self.mode = check_choice("mode", mode or _monitor_mode(monitor), ("min", "max"))
        self.restore_best = check_bool("restore_best", restore_best)
        self.reset()

    _state = ("best", "best_epoch", "wait")

    def reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0
        self.wait = 0
        self._best_weights: dict[str, torch.Tensor] | None = None

    def check(self, state: TrainState) -> tuple[bool, str]:
        value = _monitored(self, self.monitor, state)
        if value is None:
            return False, ""
        better = (value < self.best - self.min_delta if self.mode == "min"
                  else value > self.best + self.min_delta)
        if better:
            self.best, self.best_epoch, self.wait = value, state.epoch, 0
            if self.restore_best:
                self._best_weights = state.snapshot(into=self._best_weights)
            return False, ""
        self.wait += 1
        if self.wait >= self.patience:
            return True, (f"early stopping: {self.monitor} did not improve for {self.patience} "
                          f"epochs (best {self.best:.6g} at epoch {self.best_epoch})")
        return False, ""

    def on_end(self, state: TrainState) -> None:
        if self.restore_best and self._best_weights is not None:
            state.restore(self._best_weights)


class TargetMetric(StopRule):
    """Stop as soon as ``monitor`` reaches ``target`` (>= for scores, <= for losses).

    A ``monitor`` that training does not record raises a :class:`~lamina.ParameterError`
    (see :class:`EarlyStopping`)."""

    def __init__(self, monitor: str, target: float, mode: str | None = None) -> None:
        self.monitor = monitor
        self.target = check_float("target", target)
        self.mode = check_choice("mode", mode or _monitor_mode(monitor), ("min", "max"))

    def check(self, state: TrainState) -> tuple[bool, str]:
        value = _monitored(self, self.monitor, state)
        if value is None:
            return False, ""
        if (value >= self.target) if self.mode == "max" else (value <= self.target):
            return True, f"{self.monitor}={value:.6g} reached the target {self.target:g}"
        return False, ""


class Divergence(StopRule):
    """Stop when the loss becomes NaN/inf (or exceeds ``threshold``) and keep the best weights
    seen so far (by training loss). Always active in :class:`Trainer`."""

    def __init__(self, threshold: float = math.inf) -> None:
        self.threshold = threshold
        self.reset()

    _state = ("best", "diverged")

    def reset(self) -> None:
        self.best = math.inf
        self._best_weights: dict[str, torch.Tensor] | None = None
        self.diverged = False

    def check(self, state: TrainState) -> tuple[bool, str]:
        loss = state.record.get("train_loss", math.nan)
        if not state.finite or not math.isfinite(loss) or loss > self.threshold:
            self.diverged = True
            kept = ("kept the weights of the best epoch" if self._best_weights is not None
                    else "no epoch had a finite loss, so the weights are those of the last "
                    "finite step")
            return True, (f"training diverged at epoch {state.epoch} (loss {loss}); {kept} — "
                          "lower the learning rate")
        if loss < self.best:
            self.best = loss
            self._best_weights = state.snapshot(into=self._best_weights)
        return False, ""

    def on_end(self, state: TrainState) -> None:
        if self.diverged and self._best_weights is not None:
            state.restore(self._best_weights)


