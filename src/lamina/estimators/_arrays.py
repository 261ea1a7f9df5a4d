"""Validation of fixed-shape array inputs (images, signals, tables) for the deep estimators."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.utils.validation import _check_feature_names, check_array

from .._errors import DataError, ParameterError


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


def check_float_array(est: Any, X: Any, fitting: bool) -> np.ndarray:
    """``X`` as a finite float array with at least 2 dims (sklearn's messages, plus a fix)."""
    if hasattr(X, "columns"):
        _check_feature_names(est, X, reset=fitting)   # DataFrame column names, as sklearn does
    try:
        return check_array(X, allow_nd=True, dtype=(np.float32, np.float64),
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


__all__ = ["check_float_array", "check_image_shape", "first_nonfinite", "infer_shape",
           "reshape_to"]
