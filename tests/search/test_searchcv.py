"""``SearchCV`` as an sklearn meta-estimator: clone, pipelines, cv_results_."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import lamina
from lamina import NotFittedError
from lamina.search import SearchCV

SPACE = {"n_layers": 1, "width": (16, 64, "log"), "batch_size": [64], "lr": (1e-3, 3e-2, "log")}


def _cv(**kw) -> SearchCV:
    return SearchCV(SPACE, n_trials=8, budget=None, population=4, batch=2, random_state=0, **kw)


def test_clone_and_params_round_trip() -> None:
    est = _cv()
    params = est.get_params()
    assert params["space"] == SPACE and params["n_trials"] == 8
    assert clone(est).get_params() == params


def test_in_a_pipeline(digits) -> None:
    X, y = digits
    X_tr, X_te, y_tr, y_te = train_test_split(X * 16, y, random_state=0, stratify=y)
    pipe = make_pipeline(StandardScaler(), _cv()).fit(X_tr, y_tr)
    search_cv = pipe[-1]
    assert isinstance(search_cv.best_estimator_, lamina.MLPClassifier)
    assert pipe.score(X_te, y_te) > 0.9
    assert pipe.predict_proba(X_te).shape == (len(X_te), 10)
    np.testing.assert_array_equal(search_cv.classes_, np.arange(10))


def test_cv_results_like_sklearn(digits) -> None:
    X, y = digits
    est = _cv().fit(X, y)
    r = est.cv_results_
    n = len(r["params"])
    assert n == 8
    for key in ("mean_test_score", "rank_test_score", "n_resources", "mean_fit_time",
                "param_hidden_layer_sizes", "param_learning_rate_init"):
        assert len(r[key]) == n
    best = int(np.argmin(r["rank_test_score"]))
    assert r["mean_test_score"][best] == pytest.approx(est.best_score_)
    assert r["params"][best]["learning_rate_init"] == est.best_params_["learning_rate_init"]
    assert sorted(r["rank_test_score"]) == list(range(1, n + 1))


def test_k_fold_cross_validation(digits) -> None:
    X, y = digits
    est = _cv(cv=3, refit=False).fit(X[:900], y[:900])
    assert est.best_score_ > 0.85
    with pytest.raises(NotFittedError, match="has no best_estimator_"):
        est.predict(X[:5])


def test_predict_before_fit() -> None:
    with pytest.raises(NotFittedError, match="call fit first"):
        _cv().predict(np.zeros((2, 64)))
