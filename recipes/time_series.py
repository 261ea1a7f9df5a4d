"""Time-series prediction: 12-step-ahead co2 and airpassengers forecasts with lamina.Forecaster.

Data: co2 (statsmodels, weekly) and airpassengers (pmdarima, monthly). Metric: MASE of
:class:`lamina.Forecaster`, against the seasonal-naive forecast.

Protocol: the last 12 points of each series are held out; the forecaster sees only the points
before them (its early stopping holds out the *last* training windows, never the test points)
and forecasts all 12 at once (direct strategy). MASE's scale is the in-sample mean absolute
error of the seasonal-naive method (season 52 weeks for co2, 12 months for airpassengers), so
the seasonal-naive forecast itself is the baseline, measured in the same run.

Quick mode (tests): 60 epochs at most, and only the last 400 co2 weeks.
Run: ``lamina recipe time_series [--full]`` or ``python -m recipes.time_series [--full]``.
"""

from __future__ import annotations

import time
from typing import Any

from ._common import Timer, cli, result, target
from ._threads import single_thread

HORIZON = 12
#: name -> (season length, window length the network reads)
SERIES: dict[str, tuple[int, int]] = {"co2": (52, 104), "airpassengers": (12, 24)}


def forecast_series(name: str, *, seed: int = 0, epochs: int = 300,
                    tail: int | None = None) -> dict[str, Any]:
    """Fit on all but the last 12 points of ``name``; return MASE of the model and baselines.

    ``tail`` keeps only the last ``tail`` points (quick runs).
    """
    import numpy as np

    import lamina
    from lamina.estimators import Forecaster, mase, seasonal_naive

    season, n_lags = SERIES[name]
    series = lamina.datasets.load(name).X.astype(np.float64)
    if tail is not None:
        series = series[-tail:]
    train, test = series[:-HORIZON], series[-HORIZON:]
    t0 = time.perf_counter()
    model = Forecaster(n_lags=n_lags, horizon=HORIZON, strategy="direct", epochs=epochs,
                       random_state=seed).fit(train)
    pred = model.predict()
    seconds = time.perf_counter() - t0
    naive = seasonal_naive(train, HORIZON, season)
    return {"series": name, "n_train": len(train), "season": season, "n_lags": n_lags,
            "mase": mase(test, pred, train, season),
            "mase_seasonal_naive": mase(test, naive, train, season),
            "epochs": model.n_iter_, "stop_reason": model.stop_reason_, "seconds": seconds}


def run(full: bool = False, seed: int = 0) -> dict[str, Any]:
    """co2 and airpassengers: 12-step-ahead MASE of lamina.Forecaster vs seasonal naive."""
    metrics: dict[str, float] = {}
    baselines: dict[str, float] = {}
    targets, notes = [], []
    with Timer() as timer, single_thread():
        for name in SERIES:
            tail = None if full or name != "co2" else 400
            r = forecast_series(name, seed=seed, epochs=300 if full else 60, tail=tail)
            metrics[f"{name}_mase"] = r["mase"]
            baselines[f"{name}_mase_seasonal_naive"] = r["mase_seasonal_naive"]
            targets.append(target(f"{name}_mase", "<", f"{name}_mase_seasonal_naive"))
            notes.append(f"{name}: {r['n_train']} training points, season {r['season']}, "
                         f"n_lags {r['n_lags']}, {r['epochs']} epochs ({r['stop_reason']}), "
                         f"{r['seconds']:.1f} s")
    data = ("co2 (2284 weekly) and airpassengers (144 monthly); last 12 points held out"
            if full else "airpassengers and the last 400 co2 weeks; last 12 points held out")
    return result("time_series", full=full, data=data, metrics=metrics, baselines=baselines,
                  targets=targets, seconds=timer.seconds, notes=notes)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    return cli(run, argv, "time_series")


if __name__ == "__main__":
    main()
