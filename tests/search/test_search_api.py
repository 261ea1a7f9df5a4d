"""``lamina.search`` end to end on real data (sklearn's digits), in memory."""

from __future__ import annotations

import math
import re
import time

import numpy as np
import optuna
import pytest
from sklearn.model_selection import train_test_split

import lamina
from lamina import ParameterError
from lamina.search import SearchResult, search

RUNGS = {"min_epochs": 1, "max_epochs": 9, "eta": 3}       # rungs at 1, 3, 9 epochs


@pytest.fixture(scope="module")
def split(digits):
    X, y = digits
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def result(split) -> SearchResult:
    import torch

    torch.set_num_threads(1)
    X_tr, _, y_tr, _ = split
    space = {"n_layers": (1, 2), "width": (16, 64, "log"), "batch_size": [64, 128],
             "lr": (1e-3, 3e-2, "log")}
    return search(X_tr, y_tr, space, n_trials=24, population=4, batch=6, random_state=0,
                  **RUNGS)


def test_callable_from_the_top_level_package() -> None:
    assert callable(lamina.search)            # the subpackage is callable: lamina.search(X, y)
    assert lamina.search.SearchCV is lamina.search._searchcv.SearchCV


def test_every_trial_is_told_once(result: SearchResult) -> None:
    trials = result.study_.get_trials()
    assert result.n_trials_ == 24 == len(trials)
    assert {t.state.name for t in trials} <= {"COMPLETE", "PRUNED"}
    assert sum(result.states_.values()) == 24


def test_successive_halving_across_the_round(result: SearchResult) -> None:
    df = result.trials_
    reached = [df[f"score_rung_{k}"].notna().sum() for k in range(3)]
    assert reached == [24, math.ceil(24 / 3), math.ceil(math.ceil(24 / 3) / 3)]   # 24, 8, 3
    complete = df[df["state"] == "COMPLETE"]
    assert len(complete) == 3 and (complete["epochs"] == 9).all()
    # those promoted to rung 1 were the best 8 of rung 0
    promoted = df["score_rung_1"].notna()
    assert df.loc[promoted, "score_rung_0"].min() >= df.loc[~promoted, "score_rung_0"].max()


def test_rungs_are_reported_to_optuna(result: SearchResult) -> None:
    n_train = 1347 - round(0.2 * 1347)
    for t in result.study_.get_trials():
        scores = t.user_attrs["lamina"]["scores"]
        assert list(t.intermediate_values.values()) == pytest.approx(scores)
        assert list(t.intermediate_values) == [n_train * e for e in (1, 3, 9)][:len(scores)]
    pruned = [t for t in result.study_.get_trials() if t.state.name == "PRUNED"]
    assert all(t.value == pytest.approx(t.intermediate_values[t.last_step]) for t in pruned)


def test_candidates_of_one_shape_train_as_one_population(result: SearchResult) -> None:
    df = result.trials_
    assert (df["population"] == 4).all()
    for _, g in df.groupby("group"):
        assert g["hidden_layer_sizes"].nunique() == 1 and g["activation"].nunique() == 1
        assert g["batch_size"].nunique() == 1
        assert g["learning_rate_init"].nunique() == len(g)     # members differ in lr
        assert len(g) % 4 == 0


def test_best_params_and_refit_estimator(result: SearchResult, split) -> None:
    _, X_te, _, y_te = split
    complete = result.trials_[result.trials_["state"] == "COMPLETE"]
    assert result.best_score_ == complete["score"].max()
    assert result.best_score_ > 0.9                              # digits: easy
    p = result.best_params_
    assert set(p) == {"hidden_layer_sizes", "activation", "batch_size", "learning_rate_init",
                      "alpha", "dropout", "max_iter"}
    assert p["max_iter"] == 9
    est = result.best_estimator_
    assert isinstance(est, lamina.MLPClassifier)
    assert [layer.spec.width for layer in est.module_.hidden] == list(p["hidden_layer_sizes"])
    assert est.n_iter_ == 9
    assert est.score(X_te, y_te) > 0.9                          # refit on all data generalises
    assert 0 < result.overhead_ms_ < 50 and result.sampler_ms_ > 0
    assert "best accuracy" in result.summary()



def test_same_seed_same_search(split, small_space) -> None:
    X_tr, _, y_tr, _ = split
    seen: list[dict[str, object]] = []
    runs = [search(X_tr[:600], y_tr[:600], small_space, n_trials=8, batch=2, refit=False,
                   random_state=3, callback=seen.append, **RUNGS).trials_ for _ in range(2)]
    cols = ["hidden_layer_sizes", "learning_rate_init", "score", "state"]
    assert runs[0][cols].equals(runs[1][cols])
    assert seen[-1]["trials"] == len(runs[1])     # the progress callback ends on the final count


def test_budget_is_kept(split, small_space) -> None:
    X_tr, _, y_tr, _ = split
    t0 = time.perf_counter()
    # 8 s rather than 4 s: the search may finish the rung in flight when the budget ends, and
    # on a loaded 2-core machine one rung can take ~1 s, the whole 25 % margin of a 4 s budget
    res = search(X_tr, y_tr, small_space, budget="8s", refit=False, min_epochs=1, max_epochs=9)
    took = time.perf_counter() - t0
    assert took < 8 * 1.25 + 1.5                  # + opening the in-memory study, the result
    assert res.elapsed_ <= 8 * 1.25
    assert res.n_trials_ >= 8 and res.best_score_ > 0.8


def test_budget_that_cannot_fit_one_trial(split) -> None:
    X_tr, _, y_tr, _ = split
    with pytest.raises(ParameterError, match=r"Invalid budget=0.05: it cannot fit one trial: "
                                             r"measuring this machine took \d.*first rung "
                                             r"on this data.*Pass budget='\d+s' or more"):
        search(X_tr, y_tr, budget=0.05)


def test_all_diverging_is_explained(split) -> None:
    X_tr, _, y_tr, _ = split
    # targets near 1e30: the squared error overflows float32 in every member at the first step
    with pytest.raises(ParameterError, match=r"Invalid space\['lr'\]=\{'low': 0.001, 'high': "
                                             r"0.01, 'log': True\}: all 8 trials diverged .*"
                                             r"Lower the learning-rate range"):
        search(X_tr, y_tr.astype(np.float32) * 1e30, {"lr": (1e-3, 1e-2, "log"), "n_layers": 1,
                                                      "width": 16},
               objective="r2", n_trials=8, batch=2, refit=False, **RUNGS)


def test_interrupt_leaves_no_running_trial(split, small_space) -> None:
    X_tr, _, y_tr, _ = split
    storage = optuna.storages.InMemoryStorage()

    def stop(info: dict) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        search(X_tr, y_tr, small_space, n_trials=16, storage=storage, study="x", callback=stop,
               refit=False)
    states = [t.state.name for t in optuna.load_study(study_name="x", storage=storage).trials]
    assert len(states) == 16 and "RUNNING" not in states and "WAITING" not in states


def test_regression_r2(small_space) -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (800, 5)).astype(np.float32)
    y = np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2]
    res = search(X, y, small_space, n_trials=8, batch=2, **RUNGS)
    assert res.objective_ == ("r2",) and res.task_ == "regression"
    assert res.best_score_ > 0.7
    assert isinstance(res.best_estimator_, lamina.MLPRegressor)
    assert res.best_estimator_.score(X, y) > 0.7


def test_validation_data_is_scored_and_used_in_the_refit(split, small_space) -> None:
    X_tr, X_te, y_tr, y_te = split
    res = search(X_tr, y_tr, small_space, validation_data=(X_te, y_te), n_trials=4, batch=1,
                 **RUNGS)
    t = res.best_trial_
    assert list(t.intermediate_values)[0] == len(X_tr)         # rung 0: one epoch of X only
    assert res.best_estimator_.t_ == res.best_params_["max_iter"] * (len(X_tr) + len(X_te))
    with pytest.raises(ParameterError, match="cannot be combined with cv"):
        search(X_tr, y_tr, validation_data=(X_te, y_te), cv=3, n_trials=1)


def test_an_optuna_style_function_space(split) -> None:
    X_tr, _, y_tr, _ = split

    def space(trial):
        width = trial.suggest_categorical("width", [16, 32])
        return {"hidden_layer_sizes": (width,), "activation": "tanh", "batch_size": 64,
                "lr": trial.suggest_float("lr", 3e-3, 3e-2, log=True)}

    res = search(X_tr, y_tr, space, n_trials=8, batch=8, population=1, refit=False, **RUNGS)
    df = res.trials_
    assert set(df["hidden_layer_sizes"]) <= {(16,), (32,)}
    # no siblings for a function space: populations form from candidates of equal shape
    assert (df.groupby("group")["population"].first() == df.groupby("group").size()).all()
    assert df["population"].max() > 1
    assert res.best_score_ > 0.85


def test_summary_shows_dropout_at_display_precision(split) -> None:
    X_tr, _, y_tr, _ = split
    res = search(X_tr, y_tr, {"n_layers": 1, "width": 16, "dropout": 0.123456789,
                              "lr": (1e-3, 1e-2, "log")},
                 n_trials=4, batch=1, refit=False, random_state=0, **RUNGS)
    assert re.search(r"hidden 16:\w+:dropout=0\.12, lr ", res.summary()), res.summary()
    assert res.best_spec_.endswith(":dropout=0.123456789")      # the exact value is kept
