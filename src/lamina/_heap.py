"""Give the C heap's free memory back to the operating system during long streaming passes.

A forward pass allocates and frees activation tensors of a few MiB per batch. glibc serves
them from its heap once its adaptive mmap threshold has grown past their size, and freed heap
memory stays mapped: over a million rows the process's resident size drifts up (and differs by
tens of MiB from one process to the next) although what the program holds does not grow.
``malloc_trim(0)`` hands the free pages back. Streaming passes call :meth:`HeapTrimmer.tick`
once per batch, which trims every ``every`` batches (one trim costs well under a millisecond; a
batch of a wide network costs several). Where there is no glibc (macOS, Windows, musl) it does
nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

_LIBC: Any = None
_LOADED = False


def _libc() -> Any:
    global _LIBC, _LOADED
    if not _LOADED:
        _LOADED = True
        try:
            lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _LIBC = lib if hasattr(lib, "malloc_trim") else None
        except OSError:
            _LIBC = None
    return _LIBC


def trim_heap() -> bool:
    """Return free heap memory to the OS; True when glibc's ``malloc_trim`` ran."""
    lib = _libc()
    if lib is None:
        return False
    lib.malloc_trim(0)
    return True


class HeapTrimmer:
    """Trims the heap every ``every`` ticks.

    >>> t = HeapTrimmer(every=2)
    >>> [t.tick() for _ in range(4)] == [False, t.available, False, t.available]
    True
    """

    def __init__(self, every: int = 64) -> None:
        self.every = every
        self.count = 0
        self.available = _libc() is not None

    def tick(self) -> bool:
        self.count += 1
        if self.count % self.every:
            return False
        return trim_heap()
