"""One background thread that keeps the heartbeat of every trial this worker is training.

Optuna's own heartbeat runs one thread per trial inside ``study.optimize``; lamina trains many
trials at once through ask/tell, so one thread beats for the whole set. A worker killed with
``SIGKILL`` stops beating, and after the storage's grace period its trials count as stale:
:func:`optuna.storages.fail_stale_trials` (called by the next round of any worker) marks them
failed and the retry callback queues them again.
"""

from __future__ import annotations

import threading
import time
from typing import Any


class Heartbeat:
    """Record heartbeats for a changing set of trial ids until :meth:`stop`.

    Does nothing for storages without heartbeat support (in memory).

    Examples
    --------
    >>> import optuna
    >>> with Heartbeat(optuna.storages.InMemoryStorage()) as hb:
    ...     hb.add(0)
    """

    def __init__(self, storage: Any) -> None:
        from optuna.storages._heartbeat import is_heartbeat_enabled

        self.storage = storage
        self.enabled = is_heartbeat_enabled(storage)
        self.interval = float(storage.get_heartbeat_interval()) if self.enabled else 0.0
        self._ids: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._new: set[int] = set()
        self._thread: threading.Thread | None = None

    def add(self, trial_id: int) -> None:
        """Keep ``trial_id`` alive; its first beat is written by the thread, which wakes at
        once (one pass for a whole round of new trials, off the asking thread)."""
        if not self.enabled:
            return
        with self._lock:
            self._ids.add(trial_id)
            self._new.add(trial_id)
        self._wake.set()

    def discard(self, trial_id: int) -> None:
        with self._lock:
            self._ids.discard(trial_id)

    def start(self) -> Heartbeat:
        if self.enabled and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="lamina-heartbeat",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> Heartbeat:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        last_all = time.monotonic()
        while not self._stop.is_set():
            self._wake.wait(max(0.0, last_all + self.interval - time.monotonic()))
            self._wake.clear()
            if self._stop.is_set():
                return
            with self._lock:
                # new trials beat at once; all of them once per interval
                due = time.monotonic() >= last_all + self.interval
                ids = sorted(self._ids if due else self._new)
                self._new = set()
            if due:
                last_all = time.monotonic()
            for trial_id in ids:
                try:
                    self.storage.record_heartbeat(trial_id)
                except Exception:      # a finished trial or a transient DB error: beat next time
                    pass


__all__ = ["Heartbeat"]
