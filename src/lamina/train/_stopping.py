"""Stopping rules. Each is an object with ``reset()`` and ``check(state) -> (stop, reason)``,
called after every epoch; ``on_end(state)`` runs once when training ends (e.g. to restore the
best weights). Rules never raise to stop training; a rule whose monitored value is missing from
the epoch's record raises a :class:`ParameterError` (it could never fire).

Rules that watch a value (:class:`MonitorRule`: ``LossTolerance``, ``EarlyStopping``,
``TargetMetric``) take ``mode="auto"|"min"|"max"``; auto reads the direction from the
monitored name (:func:`metric_mode`) and refuses a name it does not know.
"""

from __future__ import annotations

import math
import re

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

    def config(self) -> dict[str, str]:
        """The set-up a checkpoint records and a resumed fit must share (JSON); none here."""
        return {}

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


# Directions of metric names, read word by word (``val_mean_absolute_error`` -> ``error``).
LOWER_IS_BETTER: tuple[str, ...] = (
    "loss", "mse", "mae", "rmse", "mape", "smape", "msle", "rmsle", "medae", "error", "err",
    "perplexity", "ppl", "per", "wer", "cer", "nll", "deviance", "hinge", "huber", "brier")
HIGHER_IS_BETTER: tuple[str, ...] = (
    "accuracy", "acc", "f1", "auc", "r2", "precision", "recall", "score", "bleu", "ndcg", "mrr",
    "hitrate", "iou", "dice", "kappa", "mcc")
MODES = ("auto", "min", "max")
_PREFIXES = ("val", "train", "valid", "validation", "test")


def metric_mode(monitor: str) -> str | None:
    """``"min"`` or ``"max"`` for a metric name whose direction is known, else None.

    The name is read in lower case as words split at non-alphanumerics, after a ``val_`` /
    ``train_`` prefix; every known word must agree (``val_rmse``, ``mean_absolute_error``:
    min; ``val_balanced_accuracy``, ``f1_macro``: max). Any name ending in ``loss``
    (``val_myloss``) is minimised, and sklearn's ``neg_`` scorers (``neg_mean_squared_error``,
    ``neg_log_loss``) are maximised.

    Examples
    --------
    >>> metric_mode("val_mae"), metric_mode("val_f1_macro"), metric_mode("neg_log_loss")
    ('min', 'max', 'max')
    >>> metric_mode("val_myscore") is None
    True
    """
    words = [w for w in re.split(r"[^a-z0-9]+", monitor.lower()) if w]
    if len(words) > 1 and words[0] in _PREFIXES:
        words = words[1:]
    if words and words[0] == "neg":               # sklearn: neg_<error> is maximised
        inner = metric_mode("_".join(words[1:])) if len(words) > 1 else None
        return None if inner is None else ("max" if inner == "min" else "min")
    if monitor.lower().endswith("loss"):
        return "min"
    found = {"min" for w in words if w in LOWER_IS_BETTER} | {
        "max" for w in words if w in HIGHER_IS_BETTER}
    return found.pop() if len(found) == 1 else None


def resolve_mode(monitor: str, mode: str | None, score_metric: str | None = None) -> str:
    """``mode`` (``"min"``/``"max"``) as given, or read from ``monitor`` when ``"auto"``.

    ``val_score`` is the Trainer's first metric, so with ``score_metric`` (that metric's name)
    its direction is that metric's. An unknown name in auto mode is a ParameterError naming the
    value and asking for an explicit mode."""
    mode = check_choice("mode", "auto" if mode is None else mode, MODES)
    if mode != "auto":
        return mode
    name = monitor
    if score_metric is not None and monitor in ("val_score", "score"):
        name = f"val_{score_metric}"
    found = metric_mode(name) if isinstance(name, str) else None
    if found is not None:
        return found
    via = f" (the first metric, {score_metric!r})" if name != monitor else ""
    raise ParameterError("monitor", monitor, f"with mode='auto' the direction is read from the "
                         f"name{via}, and {name!r} is not a metric name whose direction is "
                         f"known (lower is better: {', '.join(LOWER_IS_BETTER)}; higher is "
                         f"better: {', '.join(HIGHER_IS_BETTER)})", "Pass mode='min' or "
                         "mode='max' to say whether smaller or larger values are better.")


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


class MonitorRule(StopRule):
    """A rule that watches one recorded value, ``monitor``, in a direction, ``mode``.

    ``mode="auto"`` reads the direction from the name (:func:`metric_mode`): losses and errors
    (``val_loss``, ``val_mae``, ``val_rmse``, ...) are minimised, scores (``val_accuracy``,
    ``val_f1``, ``val_r2``, ...) maximised; a name it does not know is refused at once, asking
    for ``mode="min"`` or ``"max"``. ``val_score`` is the Trainer's first metric, so
    :class:`~lamina.Trainer` re-reads its direction from that metric's name when ``fit`` starts
    (:meth:`bind_metrics`). ``resolved_mode`` is the direction in use.
    """

    monitor: str
    mode: str
    _mode: str

    def _set_monitor(self, monitor: str, mode: str | None) -> None:
        if not isinstance(monitor, str) or not monitor:
            raise ParameterError("monitor", monitor, "the name of a value each epoch records, "
                                 "such as 'val_loss' or 'train_loss'",
                                 "Pass e.g. monitor='val_loss'.")
        self.monitor = monitor
        self.mode = check_choice("mode", "auto" if mode is None else mode, MODES)
        self._mode = resolve_mode(monitor, self.mode)

    @property
    def resolved_mode(self) -> str:
        """``"min"`` or ``"max"``: the direction this rule compares values in."""
        return self._mode

    def bind_metrics(self, score_metric: str | None) -> None:
        """Read ``val_score``'s direction from the name of the metric it is (the Trainer's
        first metric); called by ``Trainer.fit`` before ``reset``."""
        self._mode = resolve_mode(self.monitor, self.mode, score_metric)

    def config(self) -> dict[str, str]:
        """What a checkpoint records of the rule's set-up (JSON): a resumed fit must compare
        its saved best value in the same direction."""
        return {"monitor": self.monitor, "mode": self._mode}

    def _improves(self, value: float, best: float, delta: float) -> bool:
        """``value`` beats ``best`` by more than ``delta`` in this rule's direction."""
        return value < best - delta if self._mode == "min" else value > best + delta

    def _worst(self) -> float:
        return math.inf if self._mode == "min" else -math.inf


class LossTolerance(MonitorRule):
    """sklearn's ``tol`` + ``n_iter_no_change``: stop when the monitored value has not improved
    by at least ``tol`` for more than ``patience`` consecutive epochs.

    ``monitor`` is ``train_loss`` or a validation value such as ``val_score`` (sklearn's
    ``early_stopping``); ``mode`` is ``"auto"`` (losses and errors minimised, scores maximised,
    see :class:`MonitorRule`), ``"min"`` or ``"max"``. With ``adaptive_lr=True`` a plateau first
    divides the learning rate by 5 (sklearn's ``learning_rate='adaptive'``) and only stops once
    it would go below 1e-6. ``restore_best=True`` restores the weights of the best monitored
    epoch at the end (sklearn does so with ``early_stopping=True``). A ``monitor`` that training
    does not record raises a :class:`~lamina.ParameterError` listing the recorded values.
    """

    def __init__(self, tol: float = 1e-4, patience: int = 10, monitor: str = "train_loss",
                 adaptive_lr: bool = False, restore_best: bool = False,
                 mode: str = "auto") -> None:
        self.tol = check_float("tol", tol, 0.0, None)
        self.patience = check_int("n_iter_no_change", patience, 1)
        self._set_monitor(monitor, mode)
        self.adaptive_lr = check_bool("adaptive_lr", adaptive_lr)
        self.restore_best = check_bool("restore_best", restore_best)
        self.reset()

    _state = ("best", "best_epoch", "count")

    def reset(self) -> None:
        self.best = self._worst()
        self.best_epoch = 0
        self.count = 0
        self._best_weights: dict[str, torch.Tensor] | None = None

    def check(self, state: TrainState) -> tuple[bool, str]:
        value = _monitored(self, self.monitor, state)
        if value is None:
            return False, ""
        # sklearn: a gain of exactly tol (a tie at tol=0) is not a failure
        no_gain = (value > self.best - self.tol if self._mode == "min"
                   else value < self.best + self.tol)
        self.count = self.count + 1 if no_gain else 0
        if self._improves(value, self.best, 0.0):
            self.best, self.best_epoch = value, state.epoch
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
            state.restore(self._best_weights, self.best_epoch)


class EarlyStopping(MonitorRule):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs, then
    restore the best weights (Keras/Lightning semantics; see LossTolerance for sklearn's).

    ``mode`` is ``"auto"`` (the direction read from the name: ``val_loss``, ``val_mae``,
    ``val_rmse`` ... are minimised, ``val_accuracy``, ``val_f1``, ``val_r2`` ... maximised; an
    unknown name is refused, see :class:`MonitorRule`), ``"min"`` or ``"max"``. A ``val_*``
    monitor needs validation data in ``fit`` (refused up front without it); a ``monitor`` the
    epoch's record lacks (e.g. ``val_acc`` for ``val_accuracy``) raises a
    :class:`~lamina.ParameterError` after the first epoch, listing the recorded values.

    Examples
    --------
    >>> EarlyStopping(monitor="val_mae").resolved_mode
    'min'
    >>> EarlyStopping(monitor="val_my_metric", mode="max").resolved_mode
    'max'
    """

    def __init__(self, patience: int = 5, monitor: str = "val_loss", min_delta: float = 0.0,
                 mode: str | None = "auto", restore_best: bool = True) -> None:
        self.patience = check_int("patience", patience, 1)
        self.min_delta = check_float("min_delta", min_delta, 0.0, None)
        self._set_monitor(monitor, mode)
        self.restore_best = check_bool("restore_best", restore_best)
        self.reset()

    _state = ("best", "best_epoch", "wait")

    def reset(self) -> None:
        self.best = self._worst()
        self.best_epoch = 0
        self.wait = 0
        self._best_weights: dict[str, torch.Tensor] | None = None

    def check(self, state: TrainState) -> tuple[bool, str]:
        value = _monitored(self, self.monitor, state)
        if value is None:
            return False, ""
        if self._improves(value, self.best, self.min_delta):
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
            state.restore(self._best_weights, self.best_epoch)


class TargetMetric(MonitorRule):
    """Stop as soon as ``monitor`` reaches ``target`` (>= when larger is better, <= when
    smaller is; ``mode`` as in :class:`EarlyStopping`).

    A ``monitor`` that training does not record raises a :class:`~lamina.ParameterError`
    (see :class:`EarlyStopping`)."""

    def __init__(self, monitor: str, target: float, mode: str | None = "auto") -> None:
        self.target = check_float("target", target)
        self._set_monitor(monitor, mode)

    def check(self, state: TrainState) -> tuple[bool, str]:
        value = _monitored(self, self.monitor, state)
        if value is None:
            return False, ""
        if (value >= self.target) if self._mode == "max" else (value <= self.target):
            return True, f"{self.monitor}={value:.6g} reached the target {self.target:g}"
        return False, ""


class Divergence(StopRule):
    """Stop when the loss becomes NaN/inf (or exceeds ``threshold``) and keep the best weights
    seen so far (by training loss). Always active in :class:`Trainer`."""

    def __init__(self, threshold: float = math.inf) -> None:
        self.threshold = threshold
        self.reset()

    _state = ("best", "best_epoch", "diverged")

    def reset(self) -> None:
        self.best = math.inf
        self.best_epoch = 0
        self._best_weights: dict[str, torch.Tensor] | None = None
        self.diverged = False

    def check(self, state: TrainState) -> tuple[bool, str]:
        loss = state.record.get("train_loss", math.nan)
        if not state.finite or not math.isfinite(loss) or loss > self.threshold:
            self.diverged = True
            over = state.finite and math.isfinite(loss)       # so loss > threshold
            if not math.isfinite(loss):
                what = f"loss {loss}"
            elif not state.finite:
                what = (f"a step's loss or gradient became NaN/inf; the finite steps averaged "
                        f"{loss:.3g}")
            else:
                what = f"loss {loss:.3g} > threshold {self.threshold:g}"
            kept = ("kept the weights of the best epoch" if self._best_weights is not None
                    else "no earlier epoch to go back to, so the weights are this epoch's"
                    if over else "no earlier epoch to go back to, so the weights are those "
                    "before the first non-finite step")
            return True, (f"training diverged at epoch {state.epoch} ({what}); {kept} — "
                          "lower the learning rate or scale the data")
        if loss < self.best:
            self.best, self.best_epoch = loss, state.epoch
            self._best_weights = state.snapshot(into=self._best_weights)
        return False, ""

    def on_end(self, state: TrainState) -> None:
        if self.diverged and self._best_weights is not None:
            state.restore(self._best_weights, self.best_epoch)
