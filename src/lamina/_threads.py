"""Run small tensor workloads on fewer intra-op threads.

``torch.set_num_threads`` sets the calling thread's intra-op count, and the count that Python
threads started later begin with (measured with torch 2.13: a count set in one thread does not
change another running thread's). :func:`few_threads` restores it on exit, also on error. lamina
uses it only around work whose kernels are too small to split.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def few_threads(n: int = 1) -> Iterator[None]:
    """Run tiny tensor workloads (a handful of images, a small grid, a training step of a few
    MFLOP) on ``n`` threads: their ops are too small to split, and waiting for busy worker
    threads can make them 10x slower.

    >>> old = torch.get_num_threads()
    >>> with few_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == old
    True
    """
    old = torch.get_num_threads()
    try:
        if old > n:
            torch.set_num_threads(n)
        yield
    finally:
        if torch.get_num_threads() != old:
            torch.set_num_threads(old)


__all__ = ["few_threads"]
