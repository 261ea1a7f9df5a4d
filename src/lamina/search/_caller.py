"""Warnings of a search attributed to the user's line, not to lamina's own files.

A fixed ``stacklevel`` cannot do it: ``lamina.search(...)`` goes through the callable module
(``lamina/_callable_module.py``), ``lamina.search.search(...)`` does not, and ``SearchCV.fit``
adds a frame of its own. :func:`caller_stacklevel` counts the frames up to the first one outside
the ``lamina`` package instead.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def caller_stacklevel() -> int:
    """The ``stacklevel`` for a ``warnings.warn`` in the function that calls this one, so that
    the warning names the first frame outside lamina (the user's line)."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame = frame.f_back            # type: ignore[assignment]
        level += 1
    return level


@contextlib.contextmanager
def warnings_to_caller(level: int) -> Iterator[None]:
    """Issue the warnings raised inside the block again at ``stacklevel=level`` (counted from
    the function holding the block) when the block ends, even by an error. The filters stay
    the caller's: what they ignore is not recorded, ``"error"`` raises where it is raised, and
    a repeated warning is shown as the caller's ``"default"`` (once per line) decides."""
    recorder = warnings.catch_warnings(record=True)
    caught = recorder.__enter__()
    try:
        yield
    finally:
        recorder.__exit__(None, None, None)
        for w in caught or []:
            # +2: this generator's frame and contextlib's __exit__ sit above the caller's block
            warnings.warn(w.message, w.category, stacklevel=level + 2)


__all__ = ["caller_stacklevel", "warnings_to_caller"]
