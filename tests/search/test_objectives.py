"""Multi-objective searches (accuracy vs latency / params), plots, and resuming a study."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from lamina.search import search

matplotlib.use("Agg")
RUNGS = {"min_epochs": 1, "max_epochs": 3, "eta": 3}
SPACE = {"n_layers": (1, 2), "width": (16, 256, "log"), "batch_size": [128],
         "lr": (3e-3, 3e-2, "log")}


@pytest.fixture(scope="module")
def pareto(digits):
    import torch

    torch.set_num_threads(1)
    X, y = digits
    return search(X, y, SPACE, objective=("accuracy", "params"), n_trials=24, batch=6,
                  refit=False, **RUNGS)


def test_pareto_front_is_non_dominated(pareto) -> None:
    front = pareto.pareto_
    assert len(front) >= 1 and set(front["state"]) == {"COMPLETE"}
    done = pareto.trials_[pareto.trials_["state"] == "COMPLETE"]
    for _, f in front.iterrows():
        dominated = done[(done["score"] >= f["score"]) & (done["n_params"] <= f["n_params"])
                         & ((done["score"] > f["score"]) | (done["n_params"] < f["n_params"]))]
        assert dominated.empty
    assert pareto.best_score_ == front["score"].max()
    values = [t.values for t in pareto.study_.best_trials]
    assert all(len(v) == 2 for v in values)


def test_params_objective_uses_the_true_count(pareto) -> None:
    row = pareto.trials_.iloc[0]
    sizes = (64, *row["hidden_layer_sizes"], 10)
    assert row["n_params"] == sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def test_latency_objective_is_measured(digits) -> None:
    X, y = digits
    res = search(X, y, SPACE, objective=("accuracy", "latency"), n_trials=8, batch=2,
                 refit=False, **RUNGS)
    lat = res.trials_["latency_ms"]
    assert (lat > 0).all() and (lat < 100).all()
    # members of one population share a shape, hence one measured latency
    assert (res.trials_.groupby("group")["latency_ms"].nunique() == 1).all()


def test_plot(pareto, tmp_path) -> None:
    fig = pareto.plot(tmp_path / "search.png")
    assert len(fig.axes) == 3
    assert (tmp_path / "search.png").stat().st_size > 10_000
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["score vs trial", "parameter importance", "Pareto front"]


@pytest.mark.slow
def test_resume_continues_with_the_stored_space(digits, tmp_path) -> None:
    X, y = digits
    url = f"sqlite:///{tmp_path / 's.db'}"
    first = search(X, y, {**SPACE, "activation": ["tanh"]}, storage=url, study="s",
                   n_trials=8, batch=2, refit=False, **RUNGS)
    from lamina.search._study import StoredSpaceWarning

    with pytest.warns(StoredSpaceWarning, match=r"activation: stored \{\"choices\": \[\"tanh"):
        again = search(X, y, {**SPACE, "activation": ["relu"]}, storage=url, study="s",
                       n_trials=8, batch=2, refit=False, resume=True, **RUNGS)
    assert again.resumed_ and len(again.trials_) == 16
    assert set(again.trials_["activation"]) == {"tanh"}          # the stored space won
    assert first.best_score_ <= again.best_score_
    assert np.isfinite(again.trials_["score"]).all()
