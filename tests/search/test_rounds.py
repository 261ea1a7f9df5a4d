"""The round trainer: scores are the members' real validation scores; halving and Pareto ranks."""

from __future__ import annotations

import math
import time

import numpy as np
import optuna
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from lamina.search._book import Book, Member
from lamina.search._candidate import Candidate
from lamina.search._data import prepare, score
from lamina.search._heartbeat import Heartbeat
from lamina.search._plan import CostModel, Rungs
from lamina.search._rounds import Group, pareto_fronts, rank, train_round
from lamina.search._sampler import TimedSampler
from lamina.search._search import _engine_factory
from lamina.search._space import SearchSpace


@pytest.fixture(scope="module")
def data(digits):
    X, y = digits
    return prepare(X, y, ("accuracy",), random_state=0)


def test_group_scores_equal_each_member_as_a_standalone_net(data) -> None:
    make = _engine_factory(data, torch.device("cpu"), torch.float32)
    c = Candidate((32,), "tanh", 64, lr=0.0, alpha=1e-4, dropout=0.1)
    members = [Member(None, Candidate(c.widths, c.activation, c.batch_size, lr, 1e-4, 0.1), s)
               for s, lr in enumerate((1e-3, 1e-2, 3e-2))]
    group = Group(members, data, make)
    assert group.advance(2 * data.n_train, deadline=math.inf)
    scores = group.evaluate("accuracy")
    split = data.splits[0]
    for i, s in enumerate(scores):
        net = group.engines[0].to_net(i).eval()
        with torch.no_grad():
            pred = net(split.X_val).argmax(1)
        assert s == pytest.approx(float((pred == split.Y_val).double().mean()))
    assert len(set(scores)) > 1 and max(scores) > 0.85


def test_halving_keeps_the_best_and_frees_empty_groups(data) -> None:
    study = optuna.create_study(direction="maximize", sampler=TimedSampler(
        optuna.samplers.RandomSampler(seed=0)))
    space = SearchSpace.from_dict({"n_layers": 1, "width": [16, 32], "batch_size": [128],
                                   "lr": (1e-3, 3e-2, "log")})
    book = Book(study, space, ("accuracy",), Heartbeat(study._storage), 0, False, data.n_train,
                TimedSampler(optuna.samplers.RandomSampler(seed=1)))
    members = book.ask_round(n_arch=3, population=3, limit=9)
    assert len(members) == 9
    rungs = Rungs.geometric(data.n_train, 0.5, 4.5, 3)
    train_round(members, data, rungs, 3, book, CostModel(), math.inf,
                _engine_factory(data, torch.device("cpu"), torch.float32), None)
    assert book.finished == 9 and book.states == {"halving": 8, "complete": 1}
    counts = [sum(len(m.scores) > k for m in members) for k in range(3)]
    assert counts == [9, 3, 1]
    by_rung0 = sorted(members, key=lambda m: -m.scores[0])
    assert {id(m) for m in by_rung0[:3]} == {id(m) for m in members if len(m.scores) > 1}


def test_a_deadline_mid_round_ends_it_at_the_last_scored_rung(data) -> None:
    study = optuna.create_study(direction="maximize",
                                sampler=TimedSampler(optuna.samplers.RandomSampler(seed=0)))
    space = SearchSpace.from_dict({"n_layers": 1, "width": [16], "batch_size": [64]})
    book = Book(study, space, ("accuracy",), Heartbeat(study._storage), 0, False, data.n_train,
                TimedSampler(optuna.samplers.RandomSampler(seed=1)))
    members = book.ask_round(1, 4, 4)
    rungs = Rungs.geometric(data.n_train, 1, 729, 3)         # far more than 1 s of training
    t0 = time.perf_counter()
    train_round(members, data, rungs, 3, book, CostModel(), t0 + 1.0,
                _engine_factory(data, torch.device("cpu"), torch.float32), None)
    assert time.perf_counter() - t0 < 3.0
    states = [t.state.name for t in study.trials]
    assert "RUNNING" not in states
    assert book.states.get("budget", 0) >= 1                  # best scored survivor completes
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert all(t.user_attrs["lamina"]["stopped"] == "budget" for t in done)


def test_score_marks_non_finite_members() -> None:
    out = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[float("nan"), 0.0], [0.0, 1.0]]])
    s = score("accuracy", out, torch.tensor([0, 0]))
    assert s[0].item() == 0.5 and math.isnan(s[1].item())
    r2 = score("r2", torch.tensor([[[1.0], [3.0]]]), torch.tensor([[1.0], [3.0]]))
    assert r2.item() == pytest.approx(1.0)


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=25))
def test_pareto_fronts_are_non_dominated_layers(points: list[tuple[int, int]]) -> None:
    pts = [tuple(float(v) for v in p) for p in points]
    fronts = pareto_fronts(pts)
    for i, p in enumerate(pts):
        for j, q in enumerate(pts):
            dominates = all(a <= b for a, b in zip(q, p)) and q != p
            if dominates:
                assert fronts[j] < fronts[i]
    assert min(fronts) == 0


def test_rank_multi_objective_puts_the_front_first() -> None:
    c = Candidate((8,), "relu", 8, 1e-3, 0.0, 0.0)
    ms = []
    for acc, params in [(0.9, 1000), (0.8, 100), (0.7, 5000), (0.95, 9000)]:
        m = Member(None, c, 0, scores=[acc])
        m.extra["params"] = float(params)
        ms.append(m)
    order = [m.scores[0] for m in rank(ms, ("accuracy", "params"))]
    assert order == [0.95, 0.9, 0.8, 0.7]                      # 0.7 is dominated by 0.9
    assert [m.scores[0] for m in rank(ms, ("accuracy",))] == [0.95, 0.9, 0.8, 0.7]
    assert np.isfinite(order).all()
