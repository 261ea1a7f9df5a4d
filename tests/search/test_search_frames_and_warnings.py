"""The refit keeps a DataFrame's column names, and the search's warnings name the caller's line
(not lamina's files), however the search is called."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import lamina
from lamina.search import SearchCV, search

TINY = {"n_layers": 1, "width": [16], "batch_size": [64], "lr": (1e-3, 1e-2, "log")}
RUNGS = {"min_epochs": 1, "max_epochs": 1}


@pytest.fixture(scope="module")
def frame() -> tuple[pd.DataFrame, pd.Series]:
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, y


def test_refit_from_a_dataframe_keeps_the_feature_names(frame) -> None:
    X, y = frame
    res = search(X, y, TINY, n_trials=2, population=2, batch=1, **RUNGS)
    np.testing.assert_array_equal(res.best_estimator_.feature_names_in_, X.columns)
    with warnings.catch_warnings():
        warnings.simplefilter("error")              # "X has feature names, but ..." would raise
        res.best_estimator_.predict(X.head())


def test_refit_with_validation_frames_keeps_the_feature_names(frame) -> None:
    X, y = frame
    idx = np.random.default_rng(0).permutation(len(X))
    tr, va = idx[:100], idx[100:]
    res = search(X.iloc[tr], y.iloc[tr], TINY, validation_data=(X.iloc[va], y.iloc[va]),
                 n_trials=2, population=2, batch=1, **RUNGS)
    est = res.best_estimator_
    np.testing.assert_array_equal(est.feature_names_in_, X.columns)
    assert est.n_features_in_ == 4


def _chance_level() -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Validation rows all of the training majority class: no model beats predicting it."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)).astype(np.float32)
    y = np.array([0] * 40 + [1] * 20)
    return X, y, (rng.normal(size=(20, 3)).astype(np.float32), np.zeros(20, dtype=int))


def test_the_chance_level_warning_names_this_file() -> None:
    X, y, val = _chance_level()
    kw = {"validation_data": val, "n_trials": 2, "population": 2, "batch": 1, "refit": False,
          **RUNGS}
    with pytest.warns(UserWarning, match="no better than always predicting") as caught:
        lamina.search(X, y, TINY, **kw)             # through the callable module
    assert [w.filename for w in caught] == [__file__]
    with pytest.warns(UserWarning, match="no better than always predicting") as caught:
        search(X, y, TINY, **kw)
    assert [w.filename for w in caught] == [__file__]


def test_searchcv_warnings_name_the_line_that_calls_fit() -> None:
    X, y, _ = _chance_level()
    y = np.zeros(60, dtype=int)
    y[::10] = 1                                     # 6 of 60: a hold-out of mostly zeros
    est = SearchCV(TINY, n_trials=2, budget=None, population=2, batch=1, refit=False,
                   validation_fraction=0.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    assert caught, "expected the chance-level warning"
    assert {w.filename for w in caught} == {__file__}


def test_warnings_raised_inside_the_search_name_the_caller(monkeypatch, frame) -> None:
    """A warning raised deep inside lamina (here: by a stand-in for the refit, compiled as
    part of lamina's _result.py) is issued again at the caller's line."""
    from lamina.search import _result

    source = ("def noisy(real, *args, **kwargs):\n"
              "    import warnings\n"
              "    warnings.warn('deep inside', RuntimeWarning, stacklevel=1)\n"
              "    return real(*args, **kwargs)\n")
    namespace: dict[str, object] = {}
    exec(compile(source, _result.__file__, "exec"), namespace)
    noisy = namespace["noisy"]
    real = _result.refit_estimator
    monkeypatch.setattr(_result, "refit_estimator",
                        lambda *a, **k: noisy(real, *a, **k))      # type: ignore[operator]
    X, y = frame
    with pytest.warns(RuntimeWarning, match="deep inside") as caught:
        search(X, y, TINY, n_trials=2, population=2, batch=1, **RUNGS)
    assert [w.filename for w in caught if w.category is RuntimeWarning] == [__file__]
