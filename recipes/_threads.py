"""``single_thread()``: run small networks on one CPU thread, restoring the setting after.

The time-series, recommendation, seq2seq and game-AI networks are small (thousands to a few
hundred thousand parameters, batches of 32-256): torch's intra-op threads mostly add
synchronisation, and on a busy 2-core machine two threads made them 5-50x slower than one in
our measurements (e.g. the airpassengers forecaster: 0.5 s with one thread, 68 s with two).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from lamina._threads import few_threads


@contextmanager
def single_thread() -> Iterator[None]:
    with few_threads(1):
        yield
