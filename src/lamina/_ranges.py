"""Finite values a float dtype cannot hold: found before a cast turns them into inf.

A float64 column holding 1e300 is finite, but a cast to float32 (data sets, float32 models)
makes it inf, and every check after the cast would then report "NaN or infinite values" in data
the user knows to be finite. Callers find such values here and refuse them with their own words.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FLOAT32_MAX = float(np.finfo(np.float32).max)


def dtype_limit(dtype: Any) -> float:
    """The largest finite value of a float dtype (torch or numpy): 3.4e38 for float32."""
    if type(dtype).__module__ == "torch":            # a torch.dtype, without importing torch
        import torch

        return float(torch.finfo(dtype).max)
    return float(np.finfo(dtype).max)


def first_beyond(values: np.ndarray, limit: float) -> tuple[tuple[int, ...], int] | None:
    """``(index of the first finite value beyond +-limit, how many there are)``; None when all
    finite values fit. NaN and inf are left to the NaN/inf checks.

    >>> first_beyond(np.array([[1.0, 1e300], [np.nan, -1e301]]), FLOAT32_MAX)
    ((0, 1), 2)
    >>> first_beyond(np.array([1.0, np.inf]), FLOAT32_MAX) is None
    True
    """
    if values.size == 0 or values.dtype.kind != "f" or dtype_limit(values.dtype) <= limit:
        return None                                   # nothing of this dtype can be beyond
    if values.max() <= limit and values.min() >= -limit:
        return None                                   # two passes, no temporary: the hot path
    with np.errstate(invalid="ignore"):
        beyond = (np.abs(values) > limit) & np.isfinite(values)
    if not beyond.any():
        return None
    return tuple(int(i) for i in np.argwhere(beyond)[0]), int(beyond.sum())
