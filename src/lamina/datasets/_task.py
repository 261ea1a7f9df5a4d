"""Which task a target column stands for, when nobody named it (one rule for tables and search)."""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_CLASSES_GUESS = 20


def guess_task(y: Any) -> str:
    """``"classification"`` or ``"regression"`` for a target whose task nobody named.

    Class labels when the values are not numbers (strings, booleans, objects) or are whole
    numbers with at most ``MAX_CLASSES_GUESS`` (20) distinct values, NaN left aside; a quantity
    otherwise (diabetes' whole-number progression scores 25..346 are a quantity). Pass the task
    explicitly for more integer classes than that.

    Examples
    --------
    >>> guess_task(np.array([0, 1, 2, 1])), guess_task(np.array(["no", "yes"]))
    ('classification', 'classification')
    >>> guess_task(np.array([0.5, 1.25])), guess_task(np.arange(21))
    ('regression', 'regression')
    """
    ya = np.asarray(y)
    if ya.dtype.kind not in "iuf":
        return "classification"
    values = ya.astype(np.float64).ravel()
    values = values[~np.isnan(values)]
    integral = bool(np.all(np.isfinite(values))) and bool(np.all(values == np.round(values)))
    many = len(np.unique(values)) > MAX_CLASSES_GUESS
    return "classification" if integral and not many else "regression"
