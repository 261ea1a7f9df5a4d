"""``lamina.Forecaster``: a window of past values -> the next ``horizon`` values.

The series is framed as supervised learning (each row of the network's input is ``n_lags``
consecutive values) and a network of hidden layers maps a window to the future: all ``horizon``
steps at once (``strategy="direct"``: one output per step) or one step at a time, feeding each
prediction back as the newest lag (``strategy="recursive"``). Scaling happens inside, so users
pass raw values and get forecasts in the series' own units.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.metrics import r2_score

from .._errors import DataError, ParameterError
from .._validation import check_choice, check_int
from ..nn import build
from ..spec import DenseSpec
from ._deep import DeepEstimator, register_deep
from ._samples import Samples

STRATEGIES: tuple[str, ...] = ("direct", "recursive")
SCALINGS: tuple[str, ...] = ("window", "standard", "none")


class Forecaster(DeepEstimator):
    """Multi-step forecaster of a univariate series; sklearn's parameter contract.

    ``fit(series)`` learns from every window of the series; ``predict()`` forecasts the
    ``horizon`` values after the end of the training series, ``predict(history)`` those after
    any other history (a 1-D array of at least ``n_lags`` values, or a 2-D array with one
    history per row).

    Parameters
    ----------
    spec : str, tuple or HiddenSpec, optional
        Hidden layers reading the ``n_lags`` window; default ``"64-64"`` (two dense ReLU
        layers, modules ``hidden.0`` and ``hidden.1``).
    n_lags : int
        Window length: how many past values the network sees.
    horizon : int
        How many steps ahead to forecast.
    strategy : str
        ``direct``: one network output per future step (no error accumulation).
        ``recursive``: a one-step network applied ``horizon`` times, each prediction becoming
        the newest lag.
    scaling : str
        ``window`` (default): every window is shifted by its own last value and divided by the
        standard deviation of the series' one-step changes, so the network learns changes
        relative to "now" and can follow a trend beyond the range seen in training.
        ``standard``: ``(value - mean) / std`` of the training series. ``none``: raw values.
    **common
        ``epochs`` (default 300), ``batch_size`` (32), ``lr``, ``optimizer``, ``weight_decay``,
        ``schedule``, ``clip_norm``, ``early_stopping``, ``validation_fraction``,
        ``patience`` (20), ``random_state``, ``device``, ``dtype``, ``verbose``: see
        :class:`DeepEstimator`. Early stopping holds out the *last* windows in time order.

    Attributes
    ----------
    module_ : HiddenNet
        ``n_lags`` inputs -> ``horizon`` (direct) or 1 (recursive) outputs, in scaled units.
    last_window_ : ndarray
        The last ``n_lags`` training values: what ``predict()`` continues.
    center_, scale_ : float
        The ``standard`` scaling's mean/std (0 and 1 otherwise); ``scale_`` is the change
        scale for ``window`` scaling.
    n_windows_ : int
        Training windows (before the validation hold-out).
    history_, stop_reason_, n_iter_, loss_curve_
    validation_scores_, best_validation_score_ : list of float, float
        Validation R² per epoch (of the held-out windows), and that of the epoch whose weights
        were kept (the lowest ``val_loss``; see :class:`DeepEstimator`); None without
        ``early_stopping``.

    Raises
    ------
    ParameterError
        At fit, when ``horizon`` (with ``n_lags``) is longer than the series allows.

    Examples
    --------
    >>> import numpy as np, lamina
    >>> t = np.arange(300)
    >>> series = np.sin(2 * np.pi * t / 12) + 0.01 * t
    >>> fc = lamina.Forecaster(n_lags=24, horizon=12, epochs=50, random_state=0).fit(series)
    >>> fc.predict().shape
    (12,)
    """

    samples_are_rows = False   # fitted on one series (HiddenKNNDetector refuses)

    _default_spec = "64-64"
    _loss = "mse"
    _metrics = ("r2",)

    def __init__(self, spec: Any = None, *, n_lags: int = 24, horizon: int = 1,
                 strategy: str = "direct", scaling: str = "window", epochs: int = 300,
                 batch_size: int = 32, lr: float = 1e-3, optimizer: str = "adam",
                 weight_decay: float = 0.0, schedule: str = "constant",
                 clip_norm: float | None = None, early_stopping: bool = True,
                 validation_fraction: float = 0.1, patience: int = 20, random_state: Any = None,
                 device: Any = "cpu", dtype: Any = "float32", verbose: bool = False) -> None:
        super().__init__(spec, epochs=epochs, batch_size=batch_size, lr=lr,
                         optimizer=optimizer, weight_decay=weight_decay, schedule=schedule,
                         clip_norm=clip_norm, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, patience=patience,
                         random_state=random_state, device=device, dtype=dtype,
                         verbose=verbose)
        self.n_lags = n_lags
        self.horizon = horizon
        self.strategy = strategy
        self.scaling = scaling

    # ------------------------------------------------------------------ hooks
    def _check_params(self) -> dict[str, Any]:
        return {"n_lags": check_int("n_lags", self.n_lags, 1),
                "horizon": check_int("horizon", self.horizon, 1),
                "strategy": check_choice("strategy", self.strategy, STRATEGIES),
                "scaling": check_choice("scaling", self.scaling, SCALINGS)}

    def fit(self, X: Any, y: Any = None) -> Forecaster:
        """Learn to forecast the series ``X`` (1-D, in time order); ``y`` must be None."""
        if y is not None:
            raise DataError("Forecaster.fit takes the series itself as X and no y (the targets "
                            "are the series' own future values). Call fit(series).")
        self._fit(X, None)
        return self

    def _prepare(self, X: Any, y: Any, fitting: bool) -> Samples:
        p = self._check_params()   # already validated by _fit; resolved values
        series = check_series(X, "X")
        n, lags, horizon = len(series), p["n_lags"], p["horizon"]
        steps = horizon if p["strategy"] == "direct" else 1
        n_windows = n - lags - steps + 1
        if p["strategy"] == "direct" and n_windows < 1:
            bad, value = ("n_lags", lags) if lags >= n else ("horizon", horizon)
            raise ParameterError(
                bad, value, f"longer than this series allows: a series of {n} points "
                f"with n_lags={lags} leaves no window whose next {horizon} values are known "
                f"(the direct strategy needs n_lags + horizon <= {n})",
                f"Use a shorter horizon or fewer lags (n_lags + horizon <= {n}), or a longer "
                "series.")
        if p["strategy"] == "recursive" and (horizon > n or n_windows < 1):
            bad, value = ("horizon", horizon) if horizon > n else ("n_lags", lags)
            raise ParameterError(
                bad, value, f"longer than this series allows: a series of {n} points cannot "
                f"train a recursive forecast of horizon={horizon} with n_lags={lags} (needs "
                f"horizon <= {n} and n_lags < {n})",
                "Use a shorter horizon or fewer lags, or a longer series.")
        if fitting:     # network_batches/score on another series must not refit the scaler
            self.center_, self.scale_ = _fit_scaler(series, p["scaling"])
            self.last_window_ = series[-lags:].copy()
        idx = np.arange(n_windows)[:, None]
        windows = series[idx + np.arange(lags)]                          # (W, n_lags)
        targets = series[idx + lags + np.arange(steps)]                  # (W, steps)
        ref = windows[:, -1:]
        return Samples(torch.as_tensor(self._scale(windows, ref), dtype=torch.float32),
                       torch.as_tensor(self._scale(targets, ref), dtype=torch.float32))

    def _split(self, samples: Samples, p: dict[str, Any],
               rng: np.random.RandomState) -> tuple[Samples, Samples | None]:
        # Overrides the base's random split: validate on the *last* windows, so early stopping
        # measures forecasting the future rather than interpolating between seen windows.
        n = len(samples)
        self.n_windows_ = n
        if not p["early_stopping"]:
            return samples, None
        n_val = int(np.ceil(p["validation_fraction"] * n))
        if n - n_val < 1:
            raise DataError(f"early_stopping=True holds out validation_fraction="
                            f"{p['validation_fraction']} of the {n} training windows, leaving "
                            "none to train on. Use a longer series, fewer lags, or "
                            "early_stopping=False.")
        self.n_windows_ = n - n_val
        return samples.subset(np.arange(n - n_val)), samples.subset(np.arange(n - n_val, n))

    def _build_module(self, p: dict[str, Any], samples: Samples, seed: int) -> torch.nn.Module:
        out = p["horizon"] if p["strategy"] == "direct" else 1
        other = [layer.kind for layer in p["spec"].layers if not isinstance(layer, DenseSpec)]
        if other:
            raise ParameterError("spec", self.spec, "dense layers only (the network reads a "
                                 f"window of n_lags values as one flat vector; this spec holds "
                                 f"{', '.join(dict.fromkeys(other))} layers)",
                                 "Use e.g. spec='64-64'.")
        return build(p["spec"], in_features=p["n_lags"], out=out, seed=seed, dtype=p["dtype"],
                     device=p["device"])

    # ------------------------------------------------------------------ scaling
    def _scale(self, values: np.ndarray, ref: np.ndarray) -> np.ndarray:
        if self.scaling == "window":
            return (values - ref) / self.scale_
        return (values - self.center_) / self.scale_

    def _unscale(self, values: np.ndarray, ref: np.ndarray) -> np.ndarray:
        if self.scaling == "window":
            return values * self.scale_ + ref
        return values * self.scale_ + self.center_

    # ------------------------------------------------------------------ inference
    def predict(self, X: Any = None) -> np.ndarray:
        """Forecast the ``horizon`` values after a history.

        Parameters
        ----------
        X : array-like, optional
            None: continue the training series. 1-D: one history (its last ``n_lags`` values
            are used) -> shape ``(horizon,)``. 2-D ``(m, L)`` with ``L >= n_lags``: one history
            per row -> shape ``(m, horizon)``.
        """
        self._check_fitted()
        lags, horizon = int(self.n_lags), int(self.horizon)
        if X is None:
            histories, single = self.last_window_[None, :], True
        else:
            histories, single = _check_histories(X, lags)
        window = histories[:, -lags:].astype(np.float64)                # (m, n_lags)
        if self.strategy == "direct":
            out = self._step(window)                                     # (m, horizon)
        else:
            preds = []
            for _ in range(horizon):
                nxt = self._step(window)                                 # (m, 1)
                preds.append(nxt)
                window = np.concatenate([window[:, 1:], nxt], axis=1)
            out = np.concatenate(preds, axis=1)                          # (m, horizon)
        return out[0] if single else out

    def score(self, X: Any, y: Any = None) -> float:
        """R² of the forecasts (sklearn's ``r2_score``, averaged uniformly over the ``horizon``
        steps): 1 is perfect, 0 is as good as predicting each step's mean.

        Parameters
        ----------
        X : array-like
            With ``y=None``: a series in time order (e.g. the test part of one); every window
            of ``n_lags`` values in it that has ``horizon`` known values after it is forecast
            and compared with them. With ``y``: histories as :meth:`predict` takes them.
        y : array-like, optional
            The true future values of those histories, ``(m, horizon)`` for ``m >= 2`` rows
            (R² compares forecasts across windows, so one history cannot be scored).

        Examples
        --------
        >>> fc.score(test_series)                    # doctest: +SKIP
        0.93
        """
        self._check_fitted()
        lags, horizon = int(self.n_lags), int(self.horizon)
        if y is None:
            series = check_series(X, "X")
            n_windows = len(series) - lags - horizon + 1
            if n_windows < 1:
                raise DataError(f"X holds {len(series)} values; scoring needs at least "
                                f"n_lags + horizon = {lags + horizon} (a window of n_lags "
                                "values and the horizon values after it). Pass a longer series.")
            idx = np.arange(n_windows)[:, None]
            histories = series[idx + np.arange(lags)]                     # (W, n_lags)
            truth = series[idx + lags + np.arange(horizon)]               # (W, horizon)
        else:
            histories = X
            truth = np.asarray(y, dtype=np.float64)
        pred = np.atleast_2d(self.predict(histories))                     # (m, horizon)
        if truth.ndim == 1 and horizon == 1 and len(truth) == len(pred):
            truth = truth[:, None]          # one value per history (sklearn's 1-D y)
        truth = np.atleast_2d(truth)
        if truth.shape != pred.shape:
            raise DataError(f"y has shape {np.shape(y)}, but the {pred.shape[0]} histories have "
                            f"forecasts of shape {pred.shape}; pass horizon={horizon} true "
                            "values per history.")
        if not np.isfinite(truth).all():
            raise DataError("y holds NaN or infinite values; fill them first.")
        if len(truth) < 2:
            raise DataError("R² needs at least 2 forecast windows to compare; pass more "
                            "histories or a longer series.")
        return float(r2_score(truth, pred))

    def _hidden_samples(self, X: Any) -> Samples:
        """The last-``n_lags`` window of each history, as ``predict``'s first step reads it
        (1-D: one history, 2-D: one per row)."""
        lags = int(self.n_lags)
        return self._window_samples(_check_histories(X, lags)[0][:, -lags:].astype(np.float64))

    def _window_samples(self, window: np.ndarray) -> Samples:
        """Windows ``(m, n_lags)`` scaled as the network reads them (relative to each one's
        last value where the scaling is per window)."""
        x = self._scale(window, window[:, -1:])
        return Samples(torch.as_tensor(x, dtype=torch.float32))

    def _step(self, window: np.ndarray) -> np.ndarray:
        return self._unscale(self._outputs(self._window_samples(window)), window[:, -1:])

    # ------------------------------------------------------------------ persistence
    def _fitted_state(self) -> dict[str, Any]:
        return {"center_": float(self.center_), "scale_": float(self.scale_),
                "last_window_": self.last_window_.tolist(), "n_windows_": int(self.n_windows_)}

    def _restore_state(self, state: dict[str, Any]) -> None:
        self.center_ = float(state["center_"])
        self.scale_ = float(state["scale_"])
        self.last_window_ = np.asarray(state["last_window_"], dtype=np.float64)
        self.n_windows_ = int(state["n_windows_"])


def _fit_scaler(series: np.ndarray, scaling: str) -> tuple[float, float]:
    if scaling == "none":
        return 0.0, 1.0
    if scaling == "window":
        spread = float(np.std(np.diff(series))) if len(series) > 1 else 0.0
        return 0.0, spread if spread > 0 else 1.0          # a constant series: unit scale
    std = float(np.std(series))
    return float(np.mean(series)), std if std > 0 else 1.0


def check_series(X: Any, name: str = "X") -> np.ndarray:
    """A univariate series as a finite float64 1-D array (``(n, 1)`` columns are accepted)."""
    values = X.to_numpy() if hasattr(X, "to_numpy") else X
    try:
        s = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be a numeric series (1-D array of values in time order); "
                        f"got {type(X).__name__} that does not convert to numbers.") from None
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if s.ndim != 1:
        raise DataError(f"{name} must be one univariate series (1-D, values in time order); "
                        f"got shape {s.shape}. Pass one column, e.g. X[:, 0].")
    if len(s) < 2:
        raise DataError(f"{name} holds {len(s)} value(s); a series needs at least 2 to learn "
                        "from. Pass a longer series.")
    bad = ~np.isfinite(s)
    if bad.any():
        raise DataError(f"{name} holds NaN or infinite values (first at position "
                        f"{int(np.argmax(bad))}). Fill the gaps first, e.g. "
                        "pandas.Series.interpolate().")
    return s


def _check_histories(X: Any, lags: int) -> tuple[np.ndarray, bool]:
    values = X.to_numpy() if hasattr(X, "to_numpy") else X
    try:
        h = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError("X must be numeric: one history (1-D) or one history per row "
                        "(2-D).") from None
    single = h.ndim == 1
    if single:
        h = h[None, :]
    if h.ndim != 2:
        raise DataError(f"X must be one history (1-D) or one history per row (2-D); got shape "
                        f"{h.shape}.")
    if h.shape[1] < lags:
        raise DataError(f"the history holds {h.shape[1]} values, but the model reads the last "
                        f"n_lags={lags}. Pass at least {lags} past values.")
    tail = h[:, -lags:]
    if not np.isfinite(tail).all():
        raise DataError(f"the last n_lags={lags} values of the history hold NaN or infinite "
                        "values. Fill the gaps first.")
    return h, single


def seasonal_naive(train: Any, horizon: int, season: int) -> np.ndarray:
    """The seasonal-naive forecast: each future value repeats the value one season earlier.

    Examples
    --------
    >>> seasonal_naive([1, 2, 3, 4, 5, 6], horizon=3, season=2).tolist()
    [5.0, 6.0, 5.0]
    """
    s = check_series(train, "train")
    season = check_int("season", season, 1, len(s))
    horizon = check_int("horizon", horizon, 1)
    last = s[-season:]
    return np.asarray([last[h % season] for h in range(horizon)])


def mase(y_true: Any, y_pred: Any, train: Any, season: int = 1) -> float:
    """Mean absolute scaled error (Hyndman & Koehler 2006): the forecast's mean absolute error
    divided by the in-sample mean absolute error of the seasonal-naive one-season-ahead forecast
    on ``train``. Below 1: better than that naive method was in-sample.

    Examples
    --------
    >>> round(mase([5, 6], [5.5, 6.5], [1, 2, 3, 4], season=1), 3)
    0.5
    """
    s = check_series(train, "train")
    season = check_int("season", season, 1, len(s) - 1)
    yt = np.asarray(y_true, dtype=np.float64).ravel()
    yp = np.asarray(y_pred, dtype=np.float64).ravel()
    if yt.shape != yp.shape:
        raise DataError(f"y_true has {yt.size} values but y_pred has {yp.size}.")
    scale = float(np.mean(np.abs(s[season:] - s[:-season])))
    if scale == 0:
        raise DataError("the training series repeats itself exactly every season, so the MASE "
                        "scale is 0. Use another error measure.")
    return float(np.mean(np.abs(yt - yp)) / scale)


register_deep(Forecaster)

__all__ = ["Forecaster", "seasonal_naive", "mase", "check_series", "STRATEGIES", "SCALINGS"]
