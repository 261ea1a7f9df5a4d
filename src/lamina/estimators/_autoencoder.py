"""``lamina.Autoencoder``: a bottleneck of hidden units for dimensionality reduction
(``transform``) and anomaly detection (``reconstruction_error`` / ``score_samples``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin

from .._errors import DataError
from .._validation import check_choice, check_int, resolve_dtype
from ..nn import Autoencoder as AutoencoderModule
from ..nn import build_autoencoder
from ..spec import canonical_activation
from ._arrays import check_fits_dtype, check_float_array, check_image_shape, reshape_to
from ._deep import DeepEstimator, register_deep
from ._samples import Samples

SCALINGS = ("bounded", "standard", "center", "none")

#: ``scale="bounded"`` divides each feature by at least ``1 / BOUND`` of its range, so every
#: scaled training value lies within ``+-BOUND``
BOUND = 4.0


def scaling_stats(X: np.ndarray, scale: str) -> tuple[np.ndarray, np.ndarray]:
    """``(mean_, scale_)`` of float64 rows ``X`` for ``scale`` (one of :data:`SCALINGS`): the
    network reads ``(X - mean_) / scale_``. A constant feature gets ``scale_`` 1."""
    n = X.shape[1]
    if scale == "none":
        return np.zeros(n), np.ones(n)
    mean, std, span = column_stats(X)
    if scale == "center":
        return mean, np.ones(n)
    spread = np.maximum(std, span / BOUND) if scale == "bounded" else std
    return mean, np.where(spread > 0, spread, 1.0)


def column_stats(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each column's mean, standard deviation and range (max - min), in float64.

    Finite values near float64's limit (a column of 1e300) overflow ``X.std()``; those
    columns are measured again in units of a power of two near their largest magnitude
    (exact: scaling by a power of two does not round)."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = X.mean(axis=0), X.std(axis=0)
        span = X.max(axis=0) - X.min(axis=0)
    bad = ~(np.isfinite(mean) & np.isfinite(std) & np.isfinite(span))
    if bad.any():
        unit = np.ldexp(1.0, np.frexp(np.abs(X[:, bad]).max(axis=0))[1])
        Z = X[:, bad] / unit
        mean[bad] = Z.mean(axis=0) * unit
        std[bad] = Z.std(axis=0) * unit
        span[bad] = (Z.max(axis=0) - Z.min(axis=0)) * unit   # inf only beyond float64 itself
    return mean, std, span


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
    scale : {"bounded", "standard", "center", "none"}
        Preprocessing learned at fit and undone by ``inverse_transform`` (errors are always
        reported in the original units). ``"bounded"`` (default): subtract each feature's mean
        and divide by its standard deviation or a quarter of its range (max - min), whichever
        is larger, so every scaled training value lies within +-4. On tables each column
        still comes out a few units wide, as with ``"standard"`` (a normal-looking column is
        divided by about 1.5 standard deviations); on flat images a rarely-lit border pixel
        is no longer blown up to tens of units by its tiny standard deviation, nor the code
        spent on it.
        ``"standard"``: mean and standard deviation (the default of earlier versions; a
        single gross outlier shrinks a feature less than with ``"bounded"``). ``"center"``: only
        subtract the mean (for features in one unit, e.g. pixels). ``"none"``: ``X`` as it is.
    image_shape : tuple, optional
        Per-sample shape for conv encoders fed flat rows, e.g. ``(1, 28, 28)``.
    **common
        ``epochs`` (default 30), ``batch_size`` (128), ``lr`` and the other
        :class:`DeepEstimator` parameters.

    Attributes
    ----------
    module_ : lamina.nn.Autoencoder
        ``encoder`` and ``decoder`` HiddenNets (``module_.code_name`` names the bottleneck).
    mean_, scale_ : ndarray of shape (n_features_in_,)
        The network reads ``(X - mean_) / scale_`` (flattened rows).
    scale_method_ : str
        The ``scale`` they were fitted with (saved with the model).
    n_features_in_, history_, stop_reason_, n_iter_

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
                 scale: str = "bounded", image_shape: Any = None, epochs: int = 30,
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
        """Validated, scaled ``(N, *in_shape_)`` inputs: float64 for a float64 model, else
        float32."""
        X = check_float_array(self, X, fitting, cast=None)     # the scaled rows are checked
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
            self.scale_method_ = check_choice("scale", self.scale, SCALINGS)
            self.mean_, self.scale_ = scaling_stats(flat, self.scale_method_)
        scaled = (flat - self.mean_) / self.scale_
        dtype = resolve_dtype(self.dtype) if fitting else next(self.module_.parameters()).dtype
        check_fits_dtype(scaled, dtype, self._overflow_fix(dtype), raw=flat,
                         how=f" after scale={self._fitted_scale()!r}")
        cast = np.float64 if dtype == torch.float64 else np.float32
        return scaled.astype(cast, copy=False).reshape(len(X), *self.in_shape_)

    def _fitted_scale(self) -> str:
        """The scaling ``mean_``/``scale_`` were fitted with (``scale`` may have been set
        since; a model saved before lamina recorded it: its ``scale`` parameter)."""
        return str(getattr(self, "scale_method_", self.scale))

    def _overflow_fix(self, dtype: torch.dtype) -> str:
        """How to get rid of a value the model's dtype cannot hold."""
        narrow = dtype != torch.float64
        if self._fitted_scale() in ("none", "center"):
            return ("Rescale that feature, or fit with scale='bounded' (the default: every "
                    "feature scaled to a few units)" + (", or dtype='float64'." if narrow
                                                        else "."))
        return ("That is far outside the values the feature held at fit (mean_, scale_): "
                "check its units, or refit on data that includes such values"
                + (" or with dtype='float64'." if narrow else "."))

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

    def _hidden_layers(self) -> tuple[Any, str]:
        """The encoder's hidden layers (the last is the bottleneck, what ``transform`` returns)."""
        return self.module_.encoder.hidden, "encoder.hidden"

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
                "scale_method_": self._fitted_scale(),
                "mean_": self.mean_.tolist(), "scale_": self.scale_.tolist()}

    def _restore_state(self, state: dict[str, Any]) -> None:
        self.in_shape_ = tuple(state["in_shape_"])
        self._flat_input = bool(state["flat_input"])
        # runs saved before scale_method_ was recorded: their scale parameter is complete in
        # config.json ("standard", the old default, written out), and mean_/scale_ are the
        # fitted statistics, so they load and transform exactly as before
        self.scale_method_ = str(state.get("scale_method_", self.scale))
        self.mean_ = np.asarray(state["mean_"], dtype=np.float64)
        self.scale_ = np.asarray(state["scale_"], dtype=np.float64)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags


register_deep(Autoencoder)

__all__ = ["Autoencoder", "BOUND", "SCALINGS", "column_stats", "neg_mse", "scaling_stats"]
