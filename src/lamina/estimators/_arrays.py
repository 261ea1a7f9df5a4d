"""Validation of fixed-shape array inputs (images, signals, tables) for the deep estimators."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import _check_feature_names, check_array

from .._errors import DataError, ParameterError
from .._ranges import dtype_limit, first_beyond


def first_nonfinite(X: Any) -> tuple[tuple[int, ...], int] | None:
    """``(index of the first NaN/inf, how many there are)`` in an array-like of at least 2 dims;
    None when it has none, or cannot be read as floats."""
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    bad = ~np.isfinite(arr)
    if arr.ndim < 2 or not bad.any():
        return None
    return tuple(int(i) for i in np.argwhere(bad)[0]), int(bad.sum())


def where_in(index: tuple[int, ...], columns: Any = None) -> str:
    """``"row 5, column 'age'"`` for a table's index, ``"sample 5, position (0, 3, 4)"``
    for an image's (the words of :func:`check_float_array`'s NaN/inf message)."""
    if len(index) == 2:
        name = repr(str(columns[index[1]])) if columns is not None else str(index[1])
        return f"row {index[0]}, column {name}"
    return f"sample {index[0]}, position {index[1:]}"


def check_fits_dtype(values: np.ndarray, dtype: Any, fix: str, *, raw: np.ndarray | None = None,
                     columns: Any = None, how: str = "") -> None:
    """Refuse finite ``values`` that the cast to a model's float ``dtype`` would make inf.

    Without this the cast is silent and the data checks further on report "NaN or infinite
    values" in data the user knows to be finite. ``raw`` is the user's ``X`` that ``values``
    were computed from (same layout; default ``values``), so the message quotes what the user
    passed; ``how`` says how it became what the network reads (e.g. ``" after
    scale='none'"``); ``fix`` is the advice that ends the message."""
    limit = dtype_limit(dtype)
    found = first_beyond(values, limit)
    if found is None:
        return
    index, n = found
    if values.ndim == 2:       # the column's extreme value, not a bystander shifted by its mean
        index = (int(np.argmax(np.abs(values[:, index[1]]))), index[1])
    given = (values if raw is None else raw)[index]
    read = "" if raw is None else f", which the network reads as {values[index]:.3g}{how}"
    name = str(dtype).replace("torch.", "") if isinstance(dtype, torch.dtype) \
        else np.dtype(dtype).name
    more = f" ({n} values in all)" if n > 1 else ""
    raise DataError(f"X holds {given:.3g} at {where_in(index, columns)}{read}: finite, but "
                    f"beyond the range of the model's {name} (+-{limit:.3g}), so it would "
                    f"become inf when cast{more}. {fix}")


def rescale_hint(values: np.ndarray, index: tuple[int, ...], columns: Any = None) -> str:
    """``"Rescale column 1 (e.g. divide it by 1e+300)"``: a power of ten of the size of its
    largest value (or of the sample's, for images)."""
    part = values[:, index[1]] if len(index) == 2 else values[index[0]]
    peak = float(np.max(np.abs(part)))
    power = 10.0 ** math.floor(math.log10(peak)) if peak > 0 else 1.0
    if len(index) != 2:
        return f"Rescale the inputs (e.g. divide them by {power:.0e})"
    name = repr(str(columns[index[1]])) if columns is not None else index[1]
    return f"Rescale column {name} (e.g. divide it by {power:.0e})"


def check_fits_model(X: np.ndarray, dtype: Any, *, columns: Any = None,
                     wider: str = " or fit with dtype='float64'") -> None:
    """:func:`check_fits_dtype` for a model that casts the raw ``X`` to ``dtype``; the fix is
    to rescale the column, or ``wider`` (a dtype that holds the value; "" when none helps)."""
    found = first_beyond(X, dtype_limit(dtype))
    if found is not None:
        fix = rescale_hint(X, found[0], columns) + (f",{wider}" if wider else "")
        check_fits_dtype(X, dtype, fix + ".", columns=columns)


def check_float_array(est: Any, X: Any, fitting: bool, cast: Any = np.float32) -> np.ndarray:
    """``X`` as a finite float array with at least 2 dims (sklearn's messages, plus a fix).

    ``cast``: the dtype the estimator casts ``X`` to as it is; a finite value beyond its range
    is refused by position (see :func:`check_fits_dtype`). None skips that check, for an
    estimator that scales ``X`` first and checks what the network reads itself."""
    if hasattr(X, "columns"):
        _check_feature_names(est, X, reset=fitting)   # DataFrame column names, as sklearn does
    try:
        arr = check_array(X, allow_nd=True, dtype=(np.float32, np.float64),
                          ensure_all_finite=True, estimator=est, input_name="X")
    except ValueError as err:
        msg = str(err)
        low = msg.lower()
        if "nan" in low or "infinity" in low:
            # sklearn's first sentence, where the first bad value is, and the fix (its own
            # advice is a paragraph about estimators that accept NaN)
            found = first_nonfinite(X)
            where = "" if found is None else (f" at sample {found[0][0]}, position "
                                              f"{found[0][1:]} ({found[1]} NaN/inf values in all)")
            msg = (msg.split(".")[0] + where + ". Remove or impute the missing/infinite values "
                   "first.")
        elif "expected 2d array" in low:
            shape = np.shape(X)
            msg = (f"Expected 2D array or more (one row or image per sample), got an array of "
                   f"shape {shape}. Reshape your data: X[None] for a single sample, "
                   "X.reshape(-1, 1) for a single feature.")
        raise DataError(msg) from None
    if cast is not None:
        check_fits_model(arr, cast, columns=getattr(X, "columns", None), wider="")
    return arr


def check_image_shape(value: Any) -> tuple[int, ...] | None:
    """The ``image_shape`` parameter: None or a tuple (C, H, W) / (C, L) of positive ints."""
    if value is None:
        return None
    ok = isinstance(value, (tuple, list)) and len(value) in (2, 3) and all(
        isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1 for d in value)
    if not ok:
        raise ParameterError("image_shape", value, "None or a tuple (channels, height, width) "
                             "for images or (channels, length) for signals, of positive ints",
                             "Pass e.g. image_shape=(1, 28, 28).")
    return tuple(int(d) for d in value)


def infer_shape(X: np.ndarray, image_shape: tuple[int, ...] | None) -> tuple[int, ...]:
    """Per-sample shape to fit on: ``image_shape`` if given, else from ``X``'s own axes.

    ``(N, C, H, W)`` -> ``(C, H, W)``; ``(N, H, W)`` -> ``(1, H, W)``; ``(N, D)`` -> ``(1, D)``
    (a one-channel signal: the conv layers become 1-D).
    """
    if image_shape is not None:
        if X.ndim == 2 and X.shape[1] != math.prod(image_shape):
            raise DataError(f"X has {X.shape[1]} features per row, but image_shape="
                            f"{image_shape} needs {math.prod(image_shape)} "
                            f"({' x '.join(map(str, image_shape))}). Fix image_shape or X.")
        if X.ndim > 2:
            reshape_to(X, image_shape, "image_shape")
        return image_shape
    if X.ndim == 2:
        side = math.isqrt(X.shape[1])
        if side >= 8 and side * side == X.shape[1]:
            import warnings

            warnings.warn(f"X has {X.shape[1]} features per row, read as one-channel 1-D "
                          f"signals of length {X.shape[1]} (the conv layers are 1-D). If the "
                          f"rows are flattened {side} x {side} images, pass "
                          f"image_shape=(1, {side}, {side}) or X of shape (N, {side}, {side}).",
                          UserWarning, stacklevel=6)
        return (1, X.shape[1])
    if X.ndim == 3:
        return (1, X.shape[1], X.shape[2])
    if X.ndim == 4:
        if X.shape[3] in (1, 3, 4) and X.shape[1] not in (1, 3, 4):
            raise DataError(f"X has per-sample shape {tuple(X.shape[1:])}, which looks "
                            "channels-last (height, width, channels); images are (channels, "
                            "height, width). Move the channel axis first: "
                            "X.transpose(0, 3, 1, 2).")
        return tuple(int(d) for d in X.shape[1:])
    raise DataError(f"X has shape {X.shape}; expected (N, C, H, W) images, (N, H, W) "
                    "one-channel images or (N, D) rows. Reshape X.")


def reshape_to(X: np.ndarray, shape: tuple[int, ...], what: str = "the fitted shape",
               owner: str = "the model") -> np.ndarray:
    """Reshape a batch to ``(N, *shape)``, refusing anything but the exact layouts that fit.

    Accepted: ``(N, *shape)``; ``(N, prod(shape))`` flat rows; ``(N, H, W)`` when ``shape`` is
    ``(1, H, W)``. Anything else (other channels, other sizes, channels-last) is a
    :class:`DataError` saying what was expected and how to fix it.
    """
    got = tuple(X.shape[1:])
    n = X.shape[0]
    if got == shape:
        return X
    if X.ndim == 2:
        if got[0] == math.prod(shape):
            return X.reshape(n, *shape)
        raise DataError(f"X has {got[0]} features, but {owner} is expecting "
                        f"{math.prod(shape)} features as input (flattened {shape}). "
                        f"Pass rows of {math.prod(shape)} values or arrays of shape (N, "
                        f"{', '.join(map(str, shape))}).")
    if len(shape) == 3 and shape[0] == 1 and got == shape[1:]:
        return X.reshape(n, *shape)
    msg = (f"X has per-sample shape {got}, but {what} is {shape} (channels, "
           f"{'height, width' if len(shape) == 3 else 'length'})")
    if len(got) == len(shape) and got[1:] == shape[1:] and got[0] != shape[0]:
        msg += f": {got[0]} channels where {shape[0]} are expected"
        fix = ("Convert the images to the channels the model was fitted on (e.g. grayscale: "
               "X.mean(axis=1, keepdims=True)).") if shape[0] == 1 else \
            f"Pass images with {shape[0]} channels."
    elif len(got) == len(shape) and got == (*shape[1:], shape[0]):
        msg += " (this looks channels-last)"
        fix = f"Move the channel axis first: X.transpose(0, {len(got)}, " + \
            ", ".join(str(i) for i in range(1, len(got))) + ")."
    else:
        fix = f"Resize or reshape the inputs to (N, {', '.join(map(str, shape))})."
    raise DataError(f"{msg}. {fix}")


__all__ = ["check_fits_dtype", "check_fits_model", "check_float_array", "check_image_shape",
           "dtype_limit", "first_beyond", "first_nonfinite", "infer_shape", "reshape_to"]
