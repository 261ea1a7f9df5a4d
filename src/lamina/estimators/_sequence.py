"""``lamina.SequenceClassifier``: recurrent (or attention) hidden layers over variable-length
sequences of feature vectors — speech frames, sensor readings, event logs."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import _num_samples

from .._errors import DataError
from .._validation import check_bool
from ..nn import build
from ._deep import DeepEstimator, register_deep, require_sequence_layer
from ._deep_classifier import DeepClassifierMixin
from ._samples import Samples, check_sequence_list

DEFAULT_SEQUENCE_SPEC = "gru(64):bidirectional=true:readout=mean"


class SequenceClassifier(DeepClassifierMixin, DeepEstimator):
    """Classify whole sequences of varying length; sklearn's contract.

    ``X`` is a list of ``(T_i, n_features)`` float arrays (or a 3-D array ``(N, T,
    n_features)``, or ``(T_i,)`` arrays for one feature per step). Sequences are padded per
    batch and passed with their lengths, so padding never enters the recurrent state and
    nothing is truncated.

    Parameters
    ----------
    spec : str or HiddenSpec, optional
        Hidden layers reading ``(T, n_features)``, ending in a layer that removes the time axis
        (``readout=last|mean``, or ``seqpool``), e.g. ``"lstm(64)"``,
        ``"gru(64):readout=seq-attn(64,4):pos=none-seqpool"``. Default
        ``"gru(64):bidirectional=true:readout=mean"``.
    normalize : bool
        Standardise each feature with its mean and standard deviation over all training steps.
    **common
        ``epochs`` (default 30), ``batch_size`` (64), ``lr`` (2e-3), ``clip_norm`` (1.0) and the
        other :class:`DeepEstimator` parameters.

    Attributes
    ----------
    classes_, n_features_in_, feature_mean_, feature_std_, module_, history_, stop_reason_
    validation_scores_, best_validation_score_ : list of float, float
        Validation accuracy per epoch, and that of the epoch whose weights were kept (the
        lowest ``val_loss``; see :class:`DeepEstimator`); None without ``early_stopping``.

    Examples
    --------
    >>> import numpy as np, lamina
    >>> rng = np.random.default_rng(0)
    >>> X = [rng.normal(size=(rng.integers(5, 20), 3)) for _ in range(60)]
    >>> y = [int(x[:, 0].mean() > 0) for x in X]
    >>> clf = lamina.SequenceClassifier("gru(16)", epochs=5).fit(X, y)   # doctest: +SKIP
    """

    _default_spec = DEFAULT_SEQUENCE_SPEC
    n_features_in_: int

    def __init__(self, spec: Any = None, *, normalize: bool = True, epochs: int = 30,
                 batch_size: int = 64, lr: float = 2e-3, optimizer: str = "adam",
                 weight_decay: float = 0.0, schedule: str = "constant",
                 clip_norm: float | None = 1.0, early_stopping: bool = True,
                 validation_fraction: float = 0.1, patience: int = 5,
                 random_state: Any = None, device: Any = "cpu", dtype: Any = "float32",
                 verbose: bool = False) -> None:
        super().__init__(spec, epochs=epochs, batch_size=batch_size, lr=lr,
                         optimizer=optimizer, weight_decay=weight_decay, schedule=schedule,
                         clip_norm=clip_norm, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, patience=patience,
                         random_state=random_state, device=device, dtype=dtype,
                         verbose=verbose)
        self.normalize = normalize

    def _check_params(self) -> dict[str, Any]:
        return {"normalize": check_bool("normalize", self.normalize)}

    def _prepare(self, X: Any, y: Any, fitting: bool) -> Samples:
        if fitting and y is None:
            self._encode_labels(None, fitting)          # raises the "requires y" message
        seqs = check_sequence_list(X, "X", features=None if fitting else self.n_features_in_)
        if fitting:
            self.n_features_in_ = int(seqs[0].shape[1])
            if self.normalize:
                steps = np.concatenate(seqs)
                self.feature_mean_ = steps.mean(axis=0, dtype=np.float64)
                std = steps.std(axis=0, dtype=np.float64)
                self.feature_std_ = np.where(std > 0, std, 1.0)
            else:
                self.feature_mean_ = np.zeros(self.n_features_in_)
                self.feature_std_ = np.ones(self.n_features_in_)
        if y is not None and _num_samples(y) != len(seqs):
            raise DataError(f"Found input variables with inconsistent numbers of samples: X "
                            f"has {len(seqs)} sequences, y has {_num_samples(y)}. Pass one label per "
                            "sequence.")
        mean = self.feature_mean_.astype(np.float32)
        std = self.feature_std_.astype(np.float32)
        labels = None if y is None else self._encode_labels(y, fitting)
        return Samples.from_sequences([(s - mean) / std for s in seqs], labels)

    def _build_module(self, p: dict[str, Any], samples: Samples, seed: int) -> torch.nn.Module:
        t_max = int(samples.X.shape[1])
        net = build(p["spec"], in_shape=(t_max, self.n_features_in_), out=len(self.classes_),
                    seed=seed, dtype=p["dtype"], device=p["device"])
        return require_sequence_layer(net, self.spec, "gru(64):readout=last")

    def _fitted_state(self) -> dict[str, Any]:
        return {**self._classes_state(), "feature_mean_": self.feature_mean_.tolist(),
                "feature_std_": self.feature_std_.tolist()}

    def _restore_state(self, state: dict[str, Any]) -> None:
        self._restore_classes(state)
        self.feature_mean_ = np.asarray(state["feature_mean_"], dtype=np.float64)
        self.feature_std_ = np.asarray(state["feature_std_"], dtype=np.float64)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        # a 2-D array is read as N one-feature sequences (T = its columns), not as a table
        tags.input_tags.three_d_array = True
        return tags


register_deep(SequenceClassifier)

__all__ = ["SequenceClassifier", "DEFAULT_SEQUENCE_SPEC"]
