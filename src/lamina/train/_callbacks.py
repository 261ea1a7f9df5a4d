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
    line at the end says how many epochs ran, how long they took and the last losses."""

    def __init__(self, total: int | None, enabled: bool = True, description: str = "training"):
        self.total = total
        self.enabled = enabled
        self.description = description
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
        self._progress.update(self._task, advance=1, info="  ".join(parts))

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
            if state.history.stop_reason:
                self._progress_print(f"stopped: {state.history.stop_reason}")

    @staticmethod
    def _progress_print(text: str) -> None:
        from rich.console import Console

        Console(stderr=True).print(text)
