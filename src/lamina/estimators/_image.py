"""``lamina.ImageClassifier``: convolutional hidden layers for images (and 1-D signals)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import _num_samples

from .._errors import DataError
from .._validation import check_bool, resolve_dtype
from ..nn import build
from ._arrays import check_float_array, check_image_shape, infer_shape, reshape_to
from ._deep import DeepEstimator, register_deep
from ._deep_classifier import DeepClassifierMixin
from ._samples import Samples

#: two conv blocks (a unit is a channel) and a dense layer: ~91-92 % on Fashion-MNIST
DEFAULT_IMAGE_SPEC = ("conv(32,3,1,same):norm=batch-pool-conv(64,3,1,same):norm=batch-pool-"
                      "dense(128):dropout=0.3")


class ImageClassifier(DeepClassifierMixin, DeepEstimator):
    """Classify images (or 1-D signals) with convolutional hidden layers; sklearn's contract.

    Parameters
    ----------
    spec : str or HiddenSpec, optional
        Hidden layers, e.g. ``"conv(32,3)-pool-conv(64,3)-pool-dense(128)"``. Default:
        two conv blocks with batch norm and max pooling, then ``dense(128)`` with dropout.
        Hidden layers are modules ``hidden.0``, ``hidden.1``, ... of ``module_``.
    image_shape : tuple, optional
        ``(C, H, W)`` (or ``(C, L)`` for signals) to reshape flat rows into. Without it the
        shape comes from ``X``: ``(N, C, H, W)`` as is, ``(N, H, W)`` gets one channel, and
        ``(N, D)`` rows are read as one-channel 1-D signals of length D.
    normalize : bool
        Standardise each channel with the training mean and standard deviation.
    **common
        ``epochs`` (default 15), ``batch_size`` (128), ``lr``, ``optimizer``, ``weight_decay``,
        ``schedule``, ``clip_norm``, ``early_stopping``, ``validation_fraction``, ``patience``,
        ``random_state``, ``device``, ``dtype``, ``verbose``: see :class:`DeepEstimator`.

    Attributes
    ----------
    classes_ : ndarray
        Class labels. ``module_``: the :class:`~lamina.HiddenNet`. ``image_shape_``: the
        per-sample shape the network reads. ``channel_mean_``, ``channel_std_``: the
        normalisation. Also ``history_``, ``stop_reason_``, ``n_iter_``, ``n_features_in_``.
    validation_scores_, best_validation_score_ : list of float, float
        Validation accuracy per epoch, and that of the epoch whose weights were kept (the
        lowest ``val_loss``; see :class:`DeepEstimator`); None without ``early_stopping``.

    Examples
    --------
    >>> import lamina
    >>> ds = lamina.datasets.load("digits")
    >>> clf = lamina.ImageClassifier("conv(16,3,1,same)-pool-dense(64)",
    ...                              image_shape=(1, 8, 8), epochs=5, random_state=0)
    >>> clf.fit(ds.X, ds.y).score(ds.X, ds.y) > 0.9                # doctest: +SKIP
    True
    """

    _default_spec = DEFAULT_IMAGE_SPEC

    def __init__(self, spec: Any = None, *, image_shape: Any = None, normalize: bool = True,
                 epochs: int = 15, batch_size: int = 128, lr: float = 1e-3,
                 optimizer: str = "adam", weight_decay: float = 0.0,
                 schedule: str = "constant", clip_norm: float | None = None,
                 early_stopping: bool = True, validation_fraction: float = 0.1,
                 patience: int = 5, random_state: Any = None, device: Any = "cpu",
                 dtype: Any = "float32", verbose: bool = False) -> None:
        super().__init__(spec, epochs=epochs, batch_size=batch_size, lr=lr,
                         optimizer=optimizer, weight_decay=weight_decay, schedule=schedule,
                         clip_norm=clip_norm, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, patience=patience,
                         random_state=random_state, device=device, dtype=dtype,
                         verbose=verbose)
        self.image_shape = image_shape
        self.normalize = normalize

    def _check_params(self) -> dict[str, Any]:
        return {"image_shape": check_image_shape(self.image_shape),
                "normalize": check_bool("normalize", self.normalize)}

    def _model_dtype(self, fitting: bool) -> torch.dtype:
        """The dtype the network computes in: ``dtype`` while fitting, the fitted module's
        after (a loaded or moved model's own)."""
        module = None if fitting else getattr(self, "module_", None)
        param = None if module is None else next(module.parameters(), None)
        return param.dtype if param is not None else resolve_dtype(self.dtype)

    def _images(self, X: Any, fitting: bool, dtype: torch.dtype = torch.float32) -> np.ndarray:
        """Validated ``(N, *image_shape_)`` images, normalised: float64 for a float64 model
        (no float32 rounding on the way), float32 otherwise (half dtypes are cast in torch)."""
        np_dtype = np.float64 if dtype == torch.float64 else np.float32
        X = check_float_array(self, X, fitting)
        if fitting:
            self.image_shape_ = infer_shape(X, check_image_shape(self.image_shape))
            self.n_features_in_ = math.prod(self.image_shape_)
        X = reshape_to(X, self.image_shape_, "the shape the model was fitted on",
                       type(self).__name__)
        X = X.astype(np_dtype, copy=False)
        if fitting:
            axes = (0, *range(2, X.ndim))                  # all but the channel axis
            if self.normalize:
                self.channel_mean_ = X.mean(axis=axes, dtype=np.float64)
                std = X.std(axis=axes, dtype=np.float64)
                self.channel_std_ = np.where(std > 0, std, 1.0)
            else:
                self.channel_mean_ = np.zeros(X.shape[1])
                self.channel_std_ = np.ones(X.shape[1])
        bshape = (1, -1) + (1,) * (X.ndim - 2)
        mean = self.channel_mean_.reshape(bshape).astype(np_dtype)
        std = self.channel_std_.reshape(bshape).astype(np_dtype)
        return (X - mean) / std

    def _prepare(self, X: Any, y: Any, fitting: bool) -> Samples:
        if fitting and y is None:
            self._encode_labels(None, fitting)          # raises the "requires y" message
        dtype = self._model_dtype(fitting)
        images = self._images(X, fitting, dtype)
        if y is not None and _num_samples(y) != len(images):
            raise DataError(f"Found input variables with inconsistent numbers of samples: X "
                            f"has {len(images)}, y has {_num_samples(y)}. Pass one label per image.")
        labels = None if y is None else torch.from_numpy(self._encode_labels(y, fitting))
        # in the model's dtype (before: float32 whatever the dtype)
        return Samples(torch.from_numpy(np.ascontiguousarray(images)).to(dtype), labels)

    def _build_module(self, p: dict[str, Any], samples: Samples, seed: int) -> torch.nn.Module:
        return build(p["spec"], in_shape=self.image_shape_, out=len(self.classes_), seed=seed,
                     dtype=p["dtype"], device=p["device"])

    def _fitted_state(self) -> dict[str, Any]:
        return {**self._classes_state(), "image_shape_": list(self.image_shape_),
                "channel_mean_": self.channel_mean_.tolist(),
                "channel_std_": self.channel_std_.tolist()}

    def _restore_state(self, state: dict[str, Any]) -> None:
        self._restore_classes(state)
        self.image_shape_ = tuple(state["image_shape_"])
        self.channel_mean_ = np.asarray(state["channel_mean_"], dtype=np.float64)
        self.channel_std_ = np.asarray(state["channel_std_"], dtype=np.float64)


register_deep(ImageClassifier)

__all__ = ["ImageClassifier", "DEFAULT_IMAGE_SPEC"]
