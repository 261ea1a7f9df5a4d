"""Data-quality checks run before training: errors that would break it, warnings that waste it.

Every message names the offending column or rows and says how to fix it, so that a bad table
fails in one readable line instead of as a NaN loss twenty epochs later.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._errors import DataError
from .._validation import check_choice
from ._dataset import TASKS

__all__ = ["check_data", "DataQualityWarning"]

_SHOW = 5  # rows / columns quoted in a message before "... (N more)"
_LABEL_TASKS = ("classification", "text", "sequence")
_NON_TABULAR = ("text", "sequence", "seq2seq", "rl")


class DataQualityWarning(UserWarning):
    """The data will train, but something in it is probably a mistake (constant columns,
    duplicated rows)."""


def check_data(X: Any, y: Any = None, *, task: str = "classification",
               feature_names: Sequence[str] | None = None) -> list[str]:
    """Check training data; raise on what would break training, warn on what looks wrong.

    Errors (:class:`~lamina.DataError`): empty ``X``; 1-D ``X`` (except a forecasting series);
    ``X``/``y`` length mismatch; a non-numeric column; NaN or inf in ``X``; missing values in
    ``y``; for classification, a class with fewer than 2 samples. Warnings
    (:class:`DataQualityWarning`, also returned): constant columns; duplicated rows.
    Text, sequence and seq2seq data only get the length checks.

    Parameters
    ----------
    X : array-like or pandas.DataFrame
        Features; DataFrame columns are named by their names in messages.
    y : array-like, optional
        Targets.
    task : str, default "classification"
        What the data is for (see ``lamina.datasets.Dataset.task``).
    feature_names : sequence of str, optional
        Names for the columns of an array ``X`` in messages (default ``column <j>``).

    Returns
    -------
    list of str
        The warning messages (each also issued with ``warnings.warn``); empty when clean.

    Examples
    --------
    >>> import numpy as np
    >>> check_data(np.array([[0.0, 1.0], [1.0, 2.0], [2.0, 3.0]]), np.array([0, 1, 1]))
    Traceback (most recent call last):
    ...
    lamina._errors.DataError: y: class 0 has only 1 sample (row 0)...
    """
    task = check_choice("task", task, list(TASKS))
    names, rows, arr = _as_array(X, feature_names)
    n = len(arr)
    if n == 0:
        raise DataError("X is empty (0 samples). Check the filtering or file that produced it.")
    if y is not None:
        n_y = len(y)
        if n_y != n:
            raise DataError(f"X has {n} samples but y has {n_y}; they need one target per row "
                            "of X. Check that both come from the same rows (e.g. the same "
                            "filter or train/test split applied to both).")
    if task in _NON_TABULAR:
        _check_y(y, task, rows)
        return []
    if arr.ndim == 1 and task != "forecasting":
        raise DataError(f"X is 1-D (shape {arr.shape}); lamina expects 2-D (n_samples, "
                        "n_features). Use X.reshape(-1, 1) if it is a single feature, or "
                        "X.reshape(1, -1) if it is a single sample.")
    if arr.ndim >= 2 and arr.shape[1] == 0:
        raise DataError(f"X has no feature columns (shape {arr.shape}). Check the columns "
                        "that were dropped or selected.")
    flat = arr.reshape(n, -1) if arr.ndim > 2 else arr  # images: one column per pixel
    flat = _numeric(flat, names)
    _check_finite(flat, names, rows)
    _check_y(y, task, rows)
    found = []
    if arr.ndim >= 2 and n > 1:  # a 1-D series repeats values by nature: no row checks
        found += _constant_columns(flat, names)
        found += _duplicated_rows(flat, rows)
    for message in found:
        warnings.warn(message, DataQualityWarning, stacklevel=2)
    return found


def _as_array(X: Any, feature_names: Sequence[str] | None) -> tuple[list[str] | None, Any, Any]:
    """(column names, row labels, array-like X); DataFrames keep their own names and index."""
    if hasattr(X, "columns") and hasattr(X, "iloc"):  # a pandas DataFrame
        return [str(c) for c in X.columns], X.index, X
    if hasattr(X, "iloc"):  # a Series is one column
        return None, X.index, X.to_numpy()
    if isinstance(X, np.ndarray):
        return (list(feature_names) if feature_names is not None else None), None, X
    if isinstance(X, (list, tuple)) and X and not np.isscalar(X[0]):
        try:
            return (list(feature_names) if feature_names is not None else None), None, \
                np.asarray(X)
        except ValueError:  # ragged rows: leave as a list (only length checks apply)
            return None, None, X
    return (list(feature_names) if feature_names is not None else None), None, np.asarray(X)


def _col(names: list[str] | None, j: int) -> str:
    """A column as messages quote it: its name when known (``'age'``), else its index."""
    return repr(names[j]) if names is not None and j < len(names) else str(j)


def _row_list(idx: np.ndarray, rows: Any) -> str:
    labels = [str(rows[i]) if rows is not None else str(int(i)) for i in idx[:_SHOW]]
    more = f", ... ({len(idx) - _SHOW} more)" if len(idx) > _SHOW else ""
    return ", ".join(labels) + more


def _numeric(X: Any, names: list[str] | None) -> np.ndarray:
    """X as a float array, or a DataError naming the first column that is not numbers."""
    if hasattr(X, "dtypes"):  # DataFrame: judge each column by its dtype
        import pandas as pd

        bad = [j for j, c in enumerate(X.columns)
               if not (pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c]))]
        if bad:
            _raise_non_numeric(bad[0], names, X.iloc[:, bad[0]].dropna().tolist()[:1])
        return X.to_numpy(dtype=np.float64, na_value=np.nan)
    arr = np.asarray(X)
    if arr.dtype.kind in "biuf":
        return arr
    for j in range(arr.shape[1]):
        try:
            arr[:, j].astype(np.float64)
        except (TypeError, ValueError):
            column = arr[:, j]
            values = [v for v in column if not (isinstance(v, float) and v != v)]
            bad_value = [v for v in values if not _is_number(v)][:1]
            _raise_non_numeric(j, names, bad_value)
    return arr.astype(np.float64)


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def _raise_non_numeric(j: int, names: list[str] | None, example: list[Any]) -> None:
    value = example[0].item() if example and isinstance(example[0], np.generic) else None
    sample = f" (e.g. {value if value is not None else example[0]!r})" if example else ""
    raise DataError(f"X column {_col(names, j)}{sample} is not numeric. Encode it (e.g. "
                    "sklearn.preprocessing.OneHotEncoder or OrdinalEncoder) or drop the column.")


def check_finite(X: Any, feature_names: Sequence[str] | None = None, *,
                 what: str = "X") -> None:
    """Raise a :class:`~lamina.DataError` where 2-D ``X`` holds NaN or inf, naming the columns
    by ``feature_names`` (else by index) and the rows, as :func:`check_data` does; ``what``
    names ``X`` in the message (e.g. the file it was read from). Data to predict on or score
    gets this check only (none of the training ones)."""
    arr = np.asarray(X)
    if arr.ndim > 2:
        arr = arr.reshape(len(arr), -1)
    _check_finite(arr, list(feature_names) if feature_names is not None else None, None, what)


def _check_finite(X: np.ndarray, names: list[str] | None, rows: Any, what: str = "X") -> None:
    if X.dtype.kind not in "fc":
        return  # integers and booleans cannot hold NaN/inf
    bad = ~np.isfinite(X)
    if not bad.any():
        return
    n_nan = int(np.isnan(X).sum())
    n_inf = int(bad.sum()) - n_nan
    kinds = " and ".join(k for k in (f"{n_nan} NaN" if n_nan else "",
                                      f"{n_inf} inf" if n_inf else "") if k)
    bad_rows = np.flatnonzero(bad.any(axis=1)) if X.ndim == 2 else np.flatnonzero(bad)
    where = f"rows {_row_list(bad_rows, rows)}"
    if X.ndim == 2:
        cols = np.flatnonzero(bad.any(axis=0))
        where = ("column" + ("s " if len(cols) > 1 else " ")
                 + ", ".join(f"{_col(names, int(j))} ({int(bad[:, j].sum())})"
                             for j in cols[:_SHOW])
                 + (f", ... ({len(cols) - _SHOW} more)" if len(cols) > _SHOW else "")
                 + f", {where}")
    fix = "Impute them, e.g. sklearn.impute.SimpleImputer(strategy='median'), or drop those rows"
    if X.ndim == 2:
        empty = np.flatnonzero(bad.all(axis=0))
        if len(empty):        # a column with no value at all: dropping rows would drop them all
            fix = (f"Drop column{'s' if len(empty) > 1 else ''} "
                   + ", ".join(_col(names, int(j)) for j in empty[:_SHOW])
                   + " (no value at all)" + ("; impute or drop the rest"
                                             if len(empty) < len(np.flatnonzero(bad.any(0)))
                                             else ""))
    if n_inf:
        fix += "; replace inf first (np.nan_to_num or clip to a finite range)"
    raise DataError(f"{what} has {kinds} values in {where}. {fix}.")


def _check_y(y: Any, task: str, rows: Any) -> None:
    if y is None:
        return
    if task == "seq2seq":
        return  # targets are token sequences
    import pandas as pd

    arr = y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y)
    missing = pd.isna(arr) if arr.dtype.kind in "fcOUSM" else np.zeros(arr.shape, bool)
    if arr.dtype.kind in "fc":
        missing = missing | np.isinf(arr)
    if missing.ndim > 1:
        missing = missing.any(axis=tuple(range(1, missing.ndim)))
    if missing.any():
        idx = np.flatnonzero(missing)
        raise DataError(f"y has {len(idx)} missing or infinite values (rows "
                        f"{_row_list(idx, rows)}). Drop those rows from X and y "
                        "(keep = ~np.isnan(y); X, y = X[keep], y[keep]) or fill the targets.")
    if task in _LABEL_TASKS and arr.ndim == 1:
        classes, inverse, counts = np.unique(arr, return_inverse=True, return_counts=True)
        lone = np.flatnonzero(counts < 2)
        if len(lone):
            k = int(lone[0])
            where = _row_list(np.flatnonzero(inverse.reshape(-1) == k), rows)
            also = (f" (also {len(lone) - 1} more such classes)" if len(lone) > 1 else "")
            label = classes[k].item() if isinstance(classes[k], np.generic) else classes[k]
            raise DataError(f"y: class {label!r} has only {int(counts[k])} sample "
                            f"(row {where}){also}; classification needs at least 2 per class "
                            "(stratified splits, early_stopping's validation set). Add "
                            "samples, merge it into another class, or drop that row.")


def _constant_columns(X: np.ndarray, names: list[str] | None) -> list[str]:
    const = np.flatnonzero(np.all(X == X[0], axis=0))
    if not len(const):
        return []
    listed = ", ".join(_col(names, int(j)) for j in const[:10])
    more = f", ... ({len(const) - 10} more)" if len(const) > 10 else ""
    return [f"X has {len(const)} constant column{'s' if len(const) > 1 else ''} ({listed}{more}): "
            "they carry no information. Drop them, e.g. with "
            "sklearn.feature_selection.VarianceThreshold()."]


def _duplicated_rows(X: np.ndarray, rows: Any) -> list[str]:
    dups = _duplicates(X)
    if not dups:
        return []
    label = (lambda i: str(rows[i])) if rows is not None else (lambda i: str(i))  # noqa: E731
    shown = ", ".join(f"row {label(d)} = row {label(f)}" for d, f in dups[:3])
    return [f"X has {len(dups)} duplicated row{'s' if len(dups) > 1 else ''} (e.g. {shown}): "
            "they weigh double in training and leak between train and validation splits. "
            "Drop them (pandas: df.drop_duplicates()) unless repeats are real."]


def _duplicates(X: np.ndarray) -> list[tuple[int, int]]:
    """(row, earlier identical row) for each row that repeats an earlier one, in row order."""
    n = len(X)
    # Hash each row's bytes (mod-2^64 weighted sum of 8-byte words), then confirm equal hashes
    # byte for byte: O(N*D) and ~4x faster than np.unique over whole rows.
    # + 0.0 turns -0.0 into 0.0: rows equal as numbers must be equal as bytes
    raw = np.ascontiguousarray(X + 0.0 if X.dtype.kind == "f" else X).view(np.uint8).reshape(n, -1)
    pad = (-raw.shape[1]) % 8
    if pad:
        raw = np.concatenate([raw, np.zeros((n, pad), np.uint8)], axis=1)
    words = raw.view(np.uint64)
    weights = np.random.default_rng(0).integers(1, 2**63, words.shape[1], dtype=np.uint64) | 1
    h = np.empty(n, np.uint64)
    for start in range(0, n, 4096):  # chunks bound the temporary (rows x words) product
        h[start:start + 4096] = (words[start:start + 4096] * weights).sum(axis=1)
    order = np.argsort(h, kind="stable")
    same = np.flatnonzero(h[order][1:] == h[order][:-1])
    pairs: dict[int, int] = {}
    for s in same:
        first, later = int(order[s]), int(order[s + 1])
        first = pairs.get(first, first)  # chain a run of repeats back to its first row
        if np.array_equal(raw[first], raw[later]):
            pairs[later] = first
    return sorted(pairs.items())
