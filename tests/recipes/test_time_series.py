"""recipes/time_series.py quick mode: the Forecaster must beat the seasonal-naive forecast."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:      # `recipes` is a top-level package of the source tree
    sys.path.insert(0, str(ROOT))

from recipes import time_series  # noqa: E402


def test_quick_run_beats_seasonal_naive_on_both_series():
    res = time_series.run(full=False, seed=0)
    m, b = res["metrics"], res["baselines"]
    # written: co2 0.134 vs 0.810, airpassengers 0.456 vs 1.571
    assert m["co2_mase"] < 0.5 * b["co2_mase_seasonal_naive"]
    assert m["airpassengers_mase"] < 0.6 * b["airpassengers_mase_seasonal_naive"]
    assert res["target_met"] and res["recipe"] == "time_series" and not res["full"]
