"""``SearchCV.best_index_`` is the best trial's entry of ``cv_results_``, as in sklearn:
its params are ``best_params_``, its rank is 1, its score ``best_score_``."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import optuna
import pytest

from lamina.search import SearchCV
from lamina.search._result import best_params, trials_frame
from lamina.search._searchcv import _cv_results

SPACE = {"n_layers": 1, "width": (16, 64, "log"), "batch_size": [64], "lr": (1e-3, 3e-2, "log")}


def _check(est: SearchCV) -> None:
    r, i = est.cv_results_, est.best_index_
    assert r["params"][i] == est.best_params_
    assert r["rank_test_score"][i] == 1
    assert r["mean_test_score"][i] == est.best_score_
    assert r["trial_number"][i] == est.search_result_.best_trial_.number
    assert r["param_hidden_layer_sizes"][i] == est.best_params_["hidden_layer_sizes"]
    assert r["param_hidden_layer_sizes"].shape == (len(r["params"]),)     # one tuple per entry
    assert r["param_max_iter"][i] == est.best_params_["max_iter"]


def test_best_index_points_at_the_best_trial(digits) -> None:
    X, y = digits
    est = SearchCV(SPACE, n_trials=12, budget=None, population=4, batch=3, random_state=1,
                   refit=False).fit(X[:600], y[:600])
    # trial 0 is not the best here: the old best_index_ = 0 pointed at another trial
    assert est.search_result_.best_trial_.number != est.cv_results_["trial_number"][0]
    _check(est)


def test_best_index_of_a_multi_objective_search(digits) -> None:
    X, y = digits
    est = SearchCV(SPACE, n_trials=8, budget=None, population=4, batch=2, random_state=0,
                   objective=("accuracy", "params"), refit=False).fit(X[:400], y[:400])
    _check(est)
    # pruned trials are scored too (their last rung), as in a single-objective search
    assert len(est.cv_results_["params"]) == 8


def _trial(number: int, state: str, score: float) -> optuna.trial.FrozenTrial:
    attrs = {"widths": [8 * (number + 1)], "activation": "relu", "batch_size": 32, "lr": 1e-3,
             "alpha": 1e-4, "dropout": 0.0, "seed": number, "epochs": 3.0 if state ==
             "COMPLETE" else 1.0, "scores": [score], "samples": [1], "seconds": 0.1,
             "group": "g", "population": 1, "stopped": state.lower(), "worker": "w",
             "n_params": 10.0, "latency_ms": None}
    t = optuna.trial.create_trial(state=getattr(optuna.trial.TrialState, state),
                                  value=score if state == "COMPLETE" else None,
                                  user_attrs={"lamina": attrs},
                                  intermediate_values={1: score})
    t.number = number
    return t


def test_equal_scores_rank_the_best_trial_first() -> None:
    trials = [_trial(0, "COMPLETE", 0.9), _trial(1, "PRUNED", 0.95), _trial(2, "COMPLETE", 0.9),
              _trial(3, "COMPLETE", 0.8)]
    res = SimpleNamespace(trials_=trials_frame(trials, ("accuracy",)), best_trial_=trials[2],
                          study_=SimpleNamespace(get_trials=lambda deepcopy=False: trials))
    out, best = _cv_results(res)
    assert out["trial_number"][best] == 2
    assert out["rank_test_score"][best] == 1
    assert out["params"][best] == best_params(trials[2])
    # complete trials before pruned ones, then by score; ranks distinct, as before
    assert dict(zip(out["trial_number"], out["rank_test_score"])) == {2: 1, 0: 2, 3: 3, 1: 4}
    assert out["params"][list(out["trial_number"]).index(1)]["max_iter"] == math.ceil(1.0)


@pytest.mark.parametrize("as_frame", [False, True])
def test_n_features_in(digits, as_frame: bool) -> None:
    import pandas as pd

    X, y = digits
    X = pd.DataFrame(X[:300]).add_prefix("px") if as_frame else X[:300]
    est = SearchCV(SPACE, n_trials=4, budget=None, population=4, batch=1).fit(X, y[:300])
    assert est.n_features_in_ == 64
    if as_frame:
        np.testing.assert_array_equal(est.feature_names_in_, X.columns)
    else:
        assert not hasattr(est, "feature_names_in_")
