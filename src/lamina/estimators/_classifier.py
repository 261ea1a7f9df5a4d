"""``lamina.MLPClassifier``: a drop-in for ``sklearn.neural_network.MLPClassifier``."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.multiclass import type_of_target, unique_labels

from .._errors import DataError
from ._base import BaseMLP


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _check_known(y: np.ndarray, classes: np.ndarray) -> None:
    """Every label in ``y`` must be one of partial_fit's ``classes`` (sklearn refuses the
    others; encoded, an unknown label would become an all-zero row, i.e. train as class 0)."""
    allowed = set(classes)
    new = [c for c in unique_labels(y) if c not in allowed]
    if new:
        raise DataError(f"`y` has classes not in `self.classes_`: y contains labels "
                        f"{np.asarray(new).tolist()!r} that were not in classes "
                        f"{np.asarray(classes).tolist()!r} of the first partial_fit call. "
                        "Pass all labels y can contain as classes=... on the first call.")


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier; same parameters, defaults and fitted attributes as
    ``sklearn.neural_network.MLPClassifier``, trained by lamina's engine in float32 by default.

    Extra parameters: ``device`` ('cpu', 'cuda', ...), ``dtype`` ('float32', 'float64', or
    'float16'/'bfloat16'; in float16, adam/adamw/rmsprop/adagrad need an ``epsilon`` float16
    can hold, e.g. 1e-4: the default 1e-8 rounds to 0 and is refused) and
    ``scale`` (None, or 'standard': train on standardised columns, then fold the
    standardisation into the first layer, so the fitted network reads raw features; the
    statistics are ``scale_mean_`` and ``scale_std_``). ``solver='lbfgs'`` ignores
    ``learning_rate_init`` and ``learning_rate``, as sklearn does.
    Extra attributes: ``module_`` (the torch ``HiddenNet``), ``history_`` (per-epoch records),
    ``stop_reason_`` (why training stopped), ``engine_`` ('explicit' or 'autograd').
    ``hidden_layer_sizes`` also accepts a lamina spec string such as ``"256:tanh-128"``.

    ``fit``/``partial_fit`` take ``sample_weight`` with sklearn's meaning (weighted average of
    the per-sample log-loss in every mini-batch, the ``alpha`` term over ``sum(w)``, weights
    split with the data for ``early_stopping``); weighted fits run on the autograd path, so
    ``engine_`` is then ``'autograd'``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> import lamina
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = lamina.MLPClassifier((32,), learning_rate_init=0.01, max_iter=300,
    ...                            random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    >>> w = (y == 2) + 1.0                      # class 2 counts twice
    >>> clf.fit(X, y, sample_weight=w).engine_
    'autograd'
    """

    _y_numeric = False

    def _target_kind(self, y: np.ndarray) -> str:
        kind = type_of_target(y, input_name="y")
        if kind not in ("binary", "multiclass", "multilabel-indicator"):
            raise DataError(f"Unknown label type: MLPClassifier cannot fit a target of type "
                            f"{kind!r} (y such as "
                            f"{np.asarray(y).ravel()[:3]!r}); allowed: binary, multiclass or "
                            "multilabel-indicator labels. For continuous targets use "
                            "MLPRegressor.")
        return str(kind)

    def _check_continued_y(self, y: np.ndarray) -> None:
        """A warm_start ``fit`` continues the output layer, one unit per class: ``y`` must have
        the previous fit's classes (refused before anything changes, as sklearn does)."""
        self._target_kind(y)
        seen = unique_labels(y)
        if set(seen) != set(self.classes_):
            raise DataError("warm_start can only be used where `y` has the same classes as in "
                            f"the previous call to fit. Previously got {self.classes_}, `y` has "
                            f"{seen}. The output layer has one unit per previous class; pass y "
                            "with exactly those classes, or set warm_start=False to fit anew.")

    def _encode_y(self, y: np.ndarray, incremental: bool, classes: Any = None) -> np.ndarray:
        kind = self._target_kind(y)
        if not incremental:
            binarizer = LabelBinarizer()
            if classes is None:
                binarizer.fit(y)
                known = binarizer.classes_
            else:                       # the first partial_fit call: classes names every label
                known = unique_labels(classes)
                # as sklearn: a multilabel indicator y keeps its columns (classes only checks
                # them); other targets are encoded over all the classes
                binarizer.fit(y if kind == "multilabel-indicator" else classes)
                _check_known(y, known)
            if kind != "multilabel-indicator" and len(known) < 2:
                raise DataError(f"y has only one class ({known[0]!r}): a classifier "
                                "needs at least 2 classes to learn to tell them apart. Check "
                                "the labels or the split that produced y.")
            self._label_binarizer = binarizer
            self.classes_ = known
        else:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                # sklearn: "`classes=...` is not the same as on last call to partial_fit"
                raise DataError(f"classes={np.unique(classes).tolist()!r} differs from the "
                                f"classes {self.classes_.tolist()!r} of the first partial_fit "
                                "call; the output layer has one unit per first-call class. Pass "
                                "the same classes (or none) on later calls, or fit anew.")
            _check_known(y, self.classes_)
        self._multilabel = self._label_binarizer.y_type_ == "multilabel-indicator"
        Y = self._label_binarizer.transform(y).astype(np.float64)
        self._loss = "cross_entropy" if Y.shape[1] > 1 and not self._multilabel \
            else "binary_cross_entropy"
        self.out_activation_ = "softmax" if self._loss == "cross_entropy" else "logistic"
        return Y

    def _stratify(self) -> bool:
        return not getattr(self, "_multilabel", False)

    def _val_metric(self) -> str:
        return "accuracy"

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None,
                    classes: Any = None) -> MLPClassifier:
        """One epoch over ``(X, y)``; ``classes`` (all labels) is required on the first call.

        ``sample_weight`` weighs the samples as in :meth:`fit`; the optimizer state carries
        over between calls whether or not they are weighted.
        """
        if not hasattr(self, "module_") and classes is None:
            raise DataError("classes must be passed on the first call to partial_fit "
                            "(all labels that y can contain), e.g. classes=np.unique(y_all).")
        if not self.solver in ("sgd", "adam", "adamw", "rmsprop", "adagrad"):  # noqa: E713
            raise DataError(f"partial_fit is only available for stochastic optimizers; "
                            f"solver={self.solver!r} is not. Use solver='adam' or 'sgd'.")
        return self._fit(X, y, incremental=True, classes=classes,  # type: ignore[return-value]
                         sample_weight=sample_weight)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes)."""
        z = self._forward(X)
        if self._loss == "cross_entropy":
            return _softmax(z)
        p = _sigmoid(z)
        if self._multilabel:
            return p
        return np.hstack([1.0 - p, p])

    def predict_log_proba(self, X: Any) -> np.ndarray:
        return np.log(np.clip(self.predict_proba(X), 1e-300, None))

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels (indicator matrix for multilabel targets)."""
        z = self._forward(X)
        if self._loss == "cross_entropy":
            return self.classes_[z.argmax(axis=1)]
        if self._multilabel:
            return (z > 0).astype(int)
        return self.classes_[(z[:, 0] > 0).astype(int)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        assert tags.classifier_tags is not None
        tags.classifier_tags.multi_label = True
        return tags
