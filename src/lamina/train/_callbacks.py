"""Callbacks: fixed events, called by :class:`Trainer` in this order:
``on_train_begin`` -> (``on_epoch_begin`` -> ``on_epoch_end``)* -> ``on_train_end``."""

from __future__ import annotations

import time
from typing import Any

from ._state import TrainState


class Callback:
    """Override any of the events; ``on_epoch_end`` may add keys to ``record``."""

    def on_train_begin(self, state: TrainState) -> None: ...

    def on_epoch_begin(self, state: TrainState) -> None: ...

    def on_epoch_end(self, state: TrainState, record: dict[str, Any]) -> None: ...

    def on_train_end(self, state: TrainState) -> None: ...


class Progress(Callback):
    """A ``rich`` progress bar over epochs with the latest losses; silent when disabled.

    When the output is not a terminal (a log file, a pipe, CI), no bar is drawn: one plain
    line at the end says how many epochs ran, how long they took and the last losses.

    With ``details=False`` (used beside :class:`IterationLog`, which prints the losses) the
    bar shows only the epoch count and the time, and nothing is printed when there is no
    terminal.
    """

    def __init__(self, total: int | None, enabled: bool = True, description: str = "training",
                 details: bool = True):
        self.total = total
        self.enabled = enabled
        self.description = description
        self.details = details
        self._progress: Any = None
        self._task: Any = None
        self._plain: dict[str, Any] | None = None

    def on_train_begin(self, state: TrainState) -> None:
        if not self.enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        console = Console()
        if not (console.is_terminal or console.is_jupyter):
            if not self.details:
                return
            self._plain = {"epochs": 0, "info": "", "t0": time.perf_counter()}
            return
        self._progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), TimeElapsedColumn(),
                                  TextColumn("{task.fields[info]}"), transient=False)
        self._progress.start()
        self._task = self._progress.add_task(self.description, total=self.total, info="")

    def on_epoch_end(self, state: TrainState, record: dict[str, Any]) -> None:
        if self._progress is None and self._plain is None:
            return
        parts = [f"loss {record['train_loss']:.4g}"]
        for key in ("val_loss", "val_accuracy", "val_r2", "val_score"):
            if key in record:
                parts.append(f"{key} {record[key]:.4g}")
        if self._plain is not None:
            self._plain["epochs"] += 1
            self._plain["info"] = "  ".join(parts)
            return
        self._progress.update(self._task, advance=1, info="  ".join(parts) if self.details else "")

    def on_train_end(self, state: TrainState) -> None:
        if self._plain is not None:
            p, self._plain = self._plain, None
            why = f" ({state.history.stop_reason})" if state.history.stop_reason else ""
            print(f"{self.description}: {p['epochs']} epochs in "
                  f"{time.perf_counter() - p['t0']:.2f} s{why}; last: {p['info']}", flush=True)
            return
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            if state.history.stop_reason and self.details:
                self._progress_print(f"stopped: {state.history.stop_reason}")

    @staticmethod
    def _progress_print(text: str) -> None:
        from rich.console import Console

        Console(stderr=True).print(text)


class IterationLog(Callback):
    """sklearn's ``MLPClassifier``/``MLPRegressor(verbose=True)`` output, line for line, on
    stdout whether or not it is a terminal (the estimators' ``verbose`` contract):

    * ``Iteration %d, loss = %.8f`` after every epoch (the count continues over ``warm_start``
      and ``partial_fit`` calls, as sklearn's ``n_iter_`` does there);
    * ``Validation score: %f`` after it when ``early_stopping`` validates the epoch;
    * ``<why> Setting learning rate to %f`` when ``learning_rate="adaptive"`` divides the rate
      by 5, and ``<why> Stopping.`` when the ``tol``/``n_iter_no_change`` rule ends the fit, where
      ``<why>`` is sklearn's ``Training loss did not improve more than tol=%f for %d
      consecutive epochs.`` (``Validation score ...`` with early stopping).

    Unlike sklearn, ``solver="lbfgs"`` prints the same per-iteration lines (sklearn leaves
    them to scipy's own output there)."""

    def __init__(self, tol: float, n_iter_no_change: int, early_stopping: bool = False,
                 adaptive: bool = False):
        self.tol, self.n_iter_no_change = tol, n_iter_no_change
        self.early_stopping, self.adaptive = early_stopping, adaptive
        self._lr: float | None = None

    def _why(self) -> str:
        what = "Validation score" if self.early_stopping else "Training loss"
        return (f"{what} did not improve more than tol={self.tol:f} for "
                f"{self.n_iter_no_change} consecutive epochs.")

    def _lr_change(self, state: TrainState) -> None:
        if self.adaptive and self._lr is not None and state.lr < self._lr:
            print(f"{self._why()} Setting learning rate to {state.lr:f}", flush=True)
        self._lr = state.lr

    def on_train_begin(self, state: TrainState) -> None:
        self._lr = None

    def on_epoch_begin(self, state: TrainState) -> None:
        self._lr_change(state)          # the plateau rule divided it after the last epoch

    def on_epoch_end(self, state: TrainState, record: dict[str, Any]) -> None:
        self._lr = state.lr
        print(f"Iteration {record['epoch']}, loss = {record['train_loss']:.8f}", flush=True)
        if self.early_stopping and "val_score" in record:
            print(f"Validation score: {record['val_score']:f}", flush=True)

    def on_train_end(self, state: TrainState) -> None:
        self._lr_change(state)
        reason = state.history.stop_reason or ""
        if "did not improve" in reason:
            small = " Learning rate too small." if reason.endswith("below 1e-6") else ""
            print(f"{self._why()}{small} Stopping.", flush=True)
