"""``lamina.Autoencoder``: a bottleneck of hidden units for dimensionality reduction
(``transform``) and anomaly detection (``reconstruction_error`` / ``score_samples``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin

from .._errors import DataError
from .._validation import check_choice, check_int
from ..nn import Autoencoder as AutoencoderModule
from ..nn import build_autoencoder
from ..spec import canonical_activation
from ._arrays import check_float_array, check_image_shape, reshape_to
from ._deep import DeepEstimator, register_deep
from ._samples import Samples

SCALINGS = ("standard", "center", "none")


def neg_mse(out: torch.Tensor, y: torch.Tensor) -> float:
    """Validation score: minus the mean squared reconstruction error (higher is better)."""
    return -float(((out - y.reshape(out.shape)) ** 2).mean())


class Autoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, DeepEstimator):
    """Learn to reconstruct ``X`` through a narrow code; sklearn's transformer contract.

    Parameters
    ----------
    spec : str or HiddenSpec, optional
        Encoder hidden layers before the bottleneck, default ``"256-64"``; conv layers work
        too (then give ``decoder_spec`` and, for flat rows, ``image_shape``).
    bottleneck : int or str
        The code: its size (a dense layer with ``bottleneck_activation``) or a token such as
        ``"32:tanh"``. Its units are ``module_.encoder.hidden.<last>``.
    decoder_spec : spec or "mirror"
        Decoder hidden layers; ``"mirror"`` reverses a dense encoder.
    bottleneck_activation, output_activation : str
        Activation of the code (default ``identity``) and of the reconstruction (default
        ``identity``; ``sigmoid`` suits data in [0, 1] with ``scale="none"``).
    scale : {"standard", "center", "none"}
        Preprocessing learned at fit and undone by ``inverse_transform``: standardise each
        feature, only subtract its mean, or leave ``X`` as it is.
    image_shape : tuple, optional
        Per-sample shape for conv encoders fed flat rows, e.g. ``(1, 28, 28)``.
    **common
        ``epochs`` (default 30), ``batch_size`` (128), ``lr`` and the other
        :class:`DeepEstimator` parameters.

    Attributes
    ----------
    module_ : lamina.nn.Autoencoder
        ``encoder`` and ``decoder`` HiddenNets (``module_.code_name`` names the bottleneck).
    n_features_in_, mean_, scale_, history_, stop_reason_, n_iter_

    Notes
    -----
    ``reconstruction_error(X)`` is the per-sample mean squared error in the original units:
    the anomaly score (higher = more anomalous). ``score_samples(X)`` is its negative, following
    sklearn's outlier detectors (higher = more normal); ``score(X)`` is minus the mean error.

    Examples
    --------
    >>> import lamina
    >>> ds = lamina.datasets.load("digits")
    >>> ae = lamina.Autoencoder("64", bottleneck=2, epochs=5, random_state=0)  # doctest: +SKIP
    >>> ae.fit(ds.X).transform(ds.X).shape                                      # doctest: +SKIP
    (1797, 2)
    """

    _default_spec = "256-64"
    _loss = "mse"
    _metrics = (neg_mse,)  # type: ignore[assignment]

    def __init__(self, spec: Any = None, *, bottleneck: Any = 2, decoder_spec: Any = "mirror",
                 bottleneck_activation: str = "identity", output_activation: str = "identity",
                 scale: str = "standard", image_shape: Any = None, epochs: int = 30,
                 batch_size: int = 128, lr: float = 1e-3, optimizer: str = "adam",
                 weight_decay: float = 0.0, schedule: str = "constant",
                 clip_norm: float | None = None, early_stopping: bool = True,
                 validation_fraction: float = 0.1, patience: int = 5,
                 random_state: Any = None, device: Any = "cpu", dtype: Any = "float32",
                 verbose: bool = False) -> None:
        super().__init__(spec, epochs=epochs, batch_size=batch_size, lr=lr,
                         optimizer=optimizer, weight_decay=weight_decay, schedule=schedule,
                         clip_norm=clip_norm, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, patience=patience,
                         random_state=random_state, device=device, dtype=dtype,
                         verbose=verbose)
        self.bottleneck = bottleneck
        self.decoder_spec = decoder_spec
        self.bottleneck_activation = bottleneck_activation
        self.output_activation = output_activation
        self.scale = scale
        self.image_shape = image_shape

    def _check_params(self) -> dict[str, Any]:
        if isinstance(self.bottleneck, (int, np.integer)) and not isinstance(self.bottleneck,
                                                                               bool):
            check_int("bottleneck", self.bottleneck, 1)
        return {"scale": check_choice("scale", self.scale, SCALINGS),
                "image_shape": check_image_shape(self.image_shape),
                "bottleneck_activation": canonical_activation(self.bottleneck_activation,
                                                              "bottleneck_activation"),
                "output_activation": canonical_activation(self.output_activation,
                                                          "output_activation")}

    # ------------------------------------------------------------------ data
    def _rows(self, X: Any, fitting: bool) -> np.ndarray:
        """Validated, scaled ``(N, *in_shape_)`` float32 inputs."""
        X = check_float_array(self, X, fitting)
        if fitting:
            p = self._check_params()
            shape = p["image_shape"] or tuple(int(d) for d in X.shape[1:])
            self.in_shape_ = shape
            self.n_features_in_ = math.prod(shape)
            self._flat_input = X.ndim == 2
        X = reshape_to(X, self.in_shape_, "the shape the model was fitted on",
                       type(self).__name__)
        flat = X.reshape(len(X), -1).astype(np.float64, copy=False)
        if fitting:
            scale = check_choice("scale", self.scale, SCALINGS)
            self.mean_ = flat.mean(axis=0) if scale != "none" else np.zeros(flat.shape[1])
            std = flat.std(axis=0)
            self.scale_ = (np.where(std > 0, std, 1.0) if scale == "standard"
                           else np.ones(flat.shape[1]))
        scaled = (flat - self.mean_) / self.scale_
        return scaled.astype(np.float32).reshape(len(X), *self.in_shape_)

    def _prepare(self, X: Any, y: Any, fitting: bool) -> Samples:
        rows = torch.from_numpy(np.ascontiguousarray(self._rows(X, fitting)))
        return Samples(rows, rows if fitting else None)

    def _build_module(self, p: dict[str, Any], samples: Samples, seed: int) -> torch.nn.Module:
        return build_autoencoder(p["spec"], self.bottleneck, self.decoder_spec,
                                 in_shape=self.in_shape_,
                                 bottleneck_activation=p["bottleneck_activation"],
                                 output_activation=p["output_activation"], seed=seed,
                                 dtype=p["dtype"], device=p["device"])

    @classmethod
    def _module_from_config(cls, config: dict[str, Any]) -> torch.nn.Module:
        return AutoencoderModule.from_config(config)

    # ------------------------------------------------------------------ transformer API
    @property
    def _n_features_out(self) -> int:
        return int(self.module_.code_size)

    def fit(self, X: Any, y: Any = None) -> Autoencoder:
        """Learn to reconstruct ``X`` (``y`` is ignored)."""
        self._fit(X, None)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """The bottleneck code of each sample, shape (n_samples, code_size)."""
        self._check_fitted()
        return self._outputs(self._prepare(X, None, False), fn=lambda m, x: m.encode(x))

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Decode codes back to inputs, in the original units and layout."""
        self._check_fitted()
        codes = self._check_codes(X)
        out = self._outputs(Samples(torch.from_numpy(codes)), fn=lambda m, z: m.decode(z))
        return self._unscale(out)

    def _check_codes(self, Z: Any) -> np.ndarray:
        try:
            Z = np.asarray(Z, dtype=np.float32)
        except (TypeError, ValueError):
            raise DataError("inverse_transform expects numeric codes of shape (n_samples, "
                            f"{self._n_features_out}).") from None
        if Z.ndim != 2 or Z.shape[1] != self._n_features_out:
            raise DataError(f"inverse_transform expects codes of shape (n_samples, "
                            f"{self._n_features_out}) as transform returns; got {Z.shape}.")
        if not np.isfinite(Z).all():
            raise DataError("the codes hold NaN or infinite values; pass codes from transform.")
        return Z

    def _unscale(self, out: np.ndarray) -> np.ndarray:
        flat = out.reshape(len(out), -1) * self.scale_ + self.mean_
        return flat if self._flat_input else flat.reshape(len(out), *self.in_shape_)

    def reconstruction_error(self, X: Any) -> np.ndarray:
        """Per-sample mean squared reconstruction error in the original units (anomaly score:
        higher = more anomalous)."""
        self._check_fitted()
        samples = self._prepare(X, None, False)
        recon = self._outputs(samples).reshape(len(samples), -1)
        scaled = samples.X.reshape(len(samples), -1).double().numpy()
        return (((recon - scaled) * self.scale_) ** 2).mean(axis=1)

    def score_samples(self, X: Any) -> np.ndarray:
        """Minus :meth:`reconstruction_error` (sklearn's convention: lower = more abnormal)."""
        return -self.reconstruction_error(X)

    def score(self, X: Any, y: Any = None) -> float:
        """Minus the mean reconstruction error over ``X``."""
        return float(np.mean(self.score_samples(X)))

    # ------------------------------------------------------------------ persistence
    def _fitted_state(self) -> dict[str, Any]:
        return {"in_shape_": list(self.in_shape_), "flat_input": self._flat_input,
                "mean_": self.mean_.tolist(), "scale_": self.scale_.tolist()}

    def _restore_state(self, state: dict[str, Any]) -> None:
        self.in_shape_ = tuple(state["in_shape_"])
        self._flat_input = bool(state["flat_input"])
        self.mean_ = np.asarray(state["mean_"], dtype=np.float64)
        self.scale_ = np.asarray(state["scale_"], dtype=np.float64)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags


register_deep(Autoencoder)

__all__ = ["Autoencoder", "neg_mse"]
