"""Time series for forecasting (statsmodels, pmdarima) and the lag windows that frame them.

A forecasting :class:`Dataset` holds the series itself as a 1-D float32 ``X`` in time order
(``y`` is ``None``: the target is the future of ``X``); ``extras["index"]`` is its time index.
:func:`make_windows` turns it into the supervised ``(lags -> next value)`` table an MLP learns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import DataError
from .._validation import check_int
from ._dataset import Dataset
from ._packages import Requirement

__all__ = ["co2", "sunspots", "airpassengers", "make_windows", "STATSMODELS", "PMDARIMA"]

STATSMODELS = Requirement("python", "statsmodels")
PMDARIMA = Requirement("python", "pmdarima")


def make_windows(series: Any, n_lags: int, horizon: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Frame a series as supervised learning: each row of ``X`` is ``n_lags`` consecutive
    values, its ``y`` the value ``horizon`` steps after the last of them.

    Parameters
    ----------
    series : array-like, 1-D
        Values in time order.
    n_lags : int
        Window length (the network's input width).
    horizon : int, default 1
        How many steps ahead the target lies.

    Returns
    -------
    X : float32 ndarray of shape (len(series) - n_lags - horizon + 1, n_lags)
    y : float32 ndarray of shape (len(series) - n_lags - horizon + 1,)

    Examples
    --------
    >>> X, y = make_windows([1, 2, 3, 4, 5], n_lags=2)
    >>> X.tolist(), y.tolist()
    ([[1.0, 2.0], [2.0, 3.0], [3.0, 4.0]], [3.0, 4.0, 5.0])
    """
    s = np.asarray(series, dtype=np.float32)
    if s.ndim != 1:
        raise DataError(f"make_windows needs a 1-D series; got shape {s.shape}. "
                        "Pass one column, e.g. series[:, 0].")
    n_lags = check_int("n_lags", n_lags, 1, None)
    horizon = check_int("horizon", horizon, 1, None)
    n_rows = len(s) - n_lags - horizon + 1
    if n_rows < 1:
        raise DataError(f"a series of {len(s)} points is too short for n_lags={n_lags} and "
                        f"horizon={horizon} (needs at least {n_lags + horizon}). "
                        "Use fewer lags or a longer series.")
    windows = np.lib.stride_tricks.sliding_window_view(s, n_lags)[:n_rows]
    return np.ascontiguousarray(windows), s[n_lags + horizon - 1:].copy()


def co2() -> Dataset:
    """Weekly atmospheric CO2 at Mauna Loa (ppm), March 1958 to December 2001: 2284 weeks.

    The 59 missing weeks are filled by linear interpolation in time
    (``extras["filled"]`` lists their positions). Needs ``pip install statsmodels``.

    Examples
    --------
    >>> co2().X.shape
    (2284,)
    """
    STATSMODELS.require("co2")
    from statsmodels.datasets import co2 as sm_co2

    frame = sm_co2.load_pandas().data
    missing = np.flatnonzero(frame["co2"].isna().to_numpy())
    # time-weighted interpolation; the series has no gap at either end, so nothing stays NaN
    values = frame["co2"].interpolate(method="time").to_numpy(dtype=np.float32)
    return _series_dataset(
        "co2", values, frame.index, "ppm",
        f"Mauna Loa weekly CO2 (ppm), 1958-2001, from statsmodels.datasets.co2; {len(missing)} "
        "missing weeks filled by linear interpolation.",
        filled=missing, frequency="W-SAT")


def sunspots() -> Dataset:
    """Yearly mean sunspot numbers 1700-2008 (309 years). Needs ``pip install statsmodels``.

    Examples
    --------
    >>> int(sunspots().extras["index"][0])
    1700
    """
    STATSMODELS.require("sunspots")
    from statsmodels.datasets import sunspots as sm_sunspots

    frame = sm_sunspots.load_pandas().data
    years = frame["YEAR"].to_numpy().astype(np.int64)
    values = frame["SUNACTIVITY"].to_numpy(dtype=np.float32)
    return _series_dataset("sunspots", values, years, "sunspot number",
                           "Yearly sunspot activity 1700-2008 (Wolf/Zurich numbers), from "
                           "statsmodels.datasets.sunspots.", frequency="YS")


def airpassengers() -> Dataset:
    """Box & Jenkins airline passengers: monthly totals (thousands), 1949-1960, 144 months.

    Needs ``pip install pmdarima``.

    Examples
    --------
    >>> airpassengers().X[:3].tolist()
    [112.0, 118.0, 132.0]
    """
    PMDARIMA.require("airpassengers")
    import pandas as pd
    from pmdarima.datasets import load_airpassengers

    values = np.asarray(load_airpassengers(), dtype=np.float32)
    index = pd.date_range("1949-01-01", periods=len(values), freq="MS")
    return _series_dataset("airpassengers", values, index, "thousands of passengers",
                           "Box & Jenkins international airline passengers, monthly, "
                           "1949-1960, from pmdarima.datasets.load_airpassengers.",
                           frequency="MS")


def _series_dataset(name: str, values: np.ndarray, index: Any, unit: str, description: str,
                    **extras: Any) -> Dataset:
    return Dataset(name=name, task="forecasting", X=values, y=None, feature_names=[name],
                   description=description, extras={"index": index, "unit": unit, **extras})
