"""What every deep classifier shares: label encoding, ``predict``/``predict_proba``, ``classes_``."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_array, column_or_1d

from .._errors import DataError
from ._samples import Samples


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class DeepClassifierMixin(ClassifierMixin):
    """Mix into a :class:`DeepEstimator` subclass (before it) to make a single-label classifier.

    The network outputs one logit per class; training uses cross-entropy on class indices.
    The subclass's ``_prepare`` calls :meth:`_encode_labels` on ``y``.
    """

    _loss = "cross_entropy"
    _metrics: tuple[str, ...] = ("accuracy",)
    classes_: np.ndarray

    def _encode_labels(self, y: Any, fitting: bool) -> np.ndarray:
        """Labels -> int64 class indices (``fitting`` sets ``classes_``)."""
        if y is None:
            raise DataError(f"{type(self).__name__} requires y to be passed, but the target y "
                            "is None. Pass the labels as fit(X, y).")
        try:
            y = check_array(y, ensure_2d=False, dtype=None, ensure_all_finite=True,
                            input_name="y")
        except ValueError as err:
            raise DataError(f"{err} Labels must be finite class values, one per sample.") \
                from None
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)    # sklearn's DataConversionWarning
        if y.ndim != 1:
            raise DataError(f"y has shape {y.shape}; {type(self).__name__} takes one label per "
                            "sample (a 1-D array). Multi-output targets are not supported.")
        y = column_or_1d(y)
        kind = type_of_target(y, input_name="y")
        if kind not in ("binary", "multiclass"):
            raise DataError(f"Unknown label type: {type(self).__name__} cannot fit a target of "
                            f"type {kind!r} (y such as {y[:3]!r}); allowed: binary or "
                            "multiclass labels. For continuous targets use a regressor.")
        if fitting:
            self.classes_ = np.unique(y)
            if len(self.classes_) < 2:
                raise DataError(f"y has only one class ({self.classes_.tolist()[0]!r}): a classifier "
                                "needs at least 2 classes to learn to tell them apart. Check "
                                "the labels or the split that produced y.")
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        unseen = self.classes_[idx] != y
        if unseen.any():
            raise DataError(f"y contains labels {sorted(set(y[unseen].tolist()), key=str)!r} "
                            f"not seen at fit time (classes_ = {self.classes_.tolist()!r}).")
        return idx.astype(np.int64)

    def _stratify(self, samples: Samples) -> np.ndarray | None:
        return None if samples.y is None else samples.y.numpy()

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        self._check_fitted()  # type: ignore[attr-defined]
        logits = self._outputs(self._prepare(X, None, fitting=False))  # type: ignore[attr-defined]
        return softmax(logits)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        return np.log(np.clip(self.predict_proba(X), 1e-300, None))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample."""
        self._check_fitted()  # type: ignore[attr-defined]
        logits = self._outputs(self._prepare(X, None, fitting=False))  # type: ignore[attr-defined]
        return self.classes_[logits.argmax(axis=1)]

    def _classes_state(self) -> dict[str, Any]:
        classes = self.classes_
        kind = "object" if classes.dtype == object or classes.dtype.kind in "US" else \
            classes.dtype.str
        return {"classes_": [c.item() if isinstance(c, np.generic) else c for c in classes],
                "classes_dtype": kind}

    def _restore_classes(self, state: dict[str, Any]) -> None:
        dt = state["classes_dtype"]
        values = state["classes_"]
        self.classes_ = (np.asarray(values, dtype=np.dtype(dt)) if dt != "object"
                         else _object_or_str(values))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        return tags


def _object_or_str(values: list[Any]) -> np.ndarray:
    arr = np.asarray(values)
    return arr if arr.dtype.kind == "U" else np.asarray(values, dtype=object)


__all__ = ["DeepClassifierMixin", "softmax"]
