"""Options checked up front, a refused budget that leaves no study, its message's figures, and
the warning for a best model no better than a trivial one."""

from __future__ import annotations

import time

import numpy as np
import pytest

from lamina import ParameterError
from lamina.search import check_options, search
from lamina.search._data import prepare


def test_check_options_returns_the_checked_settings() -> None:
    opts = check_options(budget="30s", n_trials=5, objective="accuracy,latency".split(","),
                         space={"n_layers": (1, 2)}, population=2)
    assert (opts.seconds, opts.n_trials, opts.objective) == (30.0, 5, ("accuracy", "latency"))
    assert opts.space.dims["n_layers"].high == 2 and opts.population == 2


@pytest.mark.parametrize("kwargs, text", [
    ({"n_trials": -1}, r"Invalid n_trials=-1"),
    ({"batch": 0}, r"Invalid batch=0"),
    ({"device": "tpu"}, r"Invalid device='tpu'"),
    ({"space": {"widht": [3]}}, r"Invalid space='widht': .*Did you mean 'width'\?$"),
])
def test_check_options_refuses(kwargs: dict, text: str) -> None:
    with pytest.raises(ParameterError, match=text):
        check_options(**kwargs)


def test_budget_message_never_rounds_to_zero() -> None:
    from lamina.search._search import _budget_too_small

    up_front = str(_budget_too_small("100ms", 0.1, 0.06, 0.0004, 1438))
    assert "measuring this machine took 60ms, leaving 40ms" in up_front
    assert "about 0.4ms the smallest configuration needs" in up_front
    tried = str(_budget_too_small("100ms", 0.1, 0.06, 0.0004, 1438, spent=0.09))
    assert "the first trials ran 90ms without finishing" in tried
    assert "0.0s" not in up_front + tried and "Pass budget='1s' or more" in tried


def test_refused_budget_deletes_the_study_it_created(tmp_path, monkeypatch, digits,
                                                     small_space) -> None:
    import optuna

    import lamina.search._search as impl

    def too_slow(members, data, rungs, eta, book, cost, deadline, *rest):
        time.sleep(max(0.0, deadline - time.perf_counter()))   # no rung finishes in time
        for m in members:
            book.finish(m, "unfinished")

    monkeypatch.setattr(impl, "train_round", too_slow)
    url = f"sqlite:///{tmp_path / 's.db'}"
    X, y = digits
    with pytest.raises(ParameterError, match=r"Invalid budget='1s': it cannot fit one trial"):
        search(X, y, small_space, budget="1s", storage=url, study="s", population=2, batch=1)
    assert optuna.get_all_study_names(url) == []     # not a study of FAIL trials


def test_refused_budget_keeps_a_study_it_joined(tmp_path, monkeypatch, digits,
                                                small_space) -> None:
    import optuna

    import lamina.search._search as impl

    url = f"sqlite:///{tmp_path / 's.db'}"
    X, y = digits
    search(X[:300], y[:300], small_space, n_trials=2, storage=url, study="s", population=2,
           batch=1, refit=False)
    monkeypatch.setattr(impl, "calibrate", lambda *a: _Slow())
    with pytest.raises(ParameterError, match="too close to the"):
        search(X[:300], y[:300], small_space, budget="1s", storage=url, study="s")
    assert len(optuna.load_study(study_name="s", storage=url).trials) == 2


class _Slow:
    """A machine on which one rung takes an hour."""

    def train(self, *a: object) -> float:
        return 3600.0

    def evaluate(self, *a: object) -> float:
        return 0.0


def test_baseline_is_the_majority_class_or_zero() -> None:
    X = np.random.default_rng(0).normal(size=(100, 3))
    y = np.array([0] * 80 + [1] * 20)
    assert prepare(X, y, ("accuracy",)).baseline() == pytest.approx(0.8)     # stratified
    assert prepare(X, X[:, 0] * 2, ("r2",)).baseline() == 0.0


def test_best_no_better_than_baseline_warns_and_still_refits(monkeypatch, digits,
                                                             small_space) -> None:
    from lamina.search._data import SearchData

    monkeypatch.setattr(SearchData, "baseline", lambda self: 1.0)
    X, y = digits
    with pytest.warns(UserWarning, match="no better than always predicting the most frequent "
                                         r"class \(1\.0000\).*larger budget"):
        res = search(X[:300], y[:300], small_space, n_trials=2, population=2, batch=1)
    assert res.baseline_score_ == 1.0 and res.warning_ is not None
    assert "\nwarning: the best validation accuracy" in res.summary()
    assert res.best_estimator_ is not None


def test_a_useful_model_gets_no_warning(digits, small_space) -> None:
    X, y = digits
    res = search(X[:600], y[:600], small_space, n_trials=4, population=4, batch=1,
                 refit=False)
    assert res.best_score_ > res.baseline_score_ > 0 and res.warning_ is None
    assert "warning" not in res.summary()
