"""PopulationEngine: P members equal P separate trainings; isolation; select; export."""

from __future__ import annotations

import math

import pytest
import torch
from _engine_ref import ACT, make_data, max_abs_diff, ref_loss, ref_optimizer
from hypothesis import given, settings
from hypothesis import strategies as st

import lamina
from lamina import ParameterError
from lamina.engine import ENGINE_OPTIMIZERS, DenseEngine, PopulationEngine
from lamina.spec import ACTIVATIONS, LOSSES, OptimizerSpec

SIZES = (5, 8, 6, 3)
SEEDS = [3, 1, 4]
LRS = [0.002, 0.02, 0.05]
ALPHAS = [0.0, 0.3, 1e-3]


def _member_net(i: int, seeds=SEEDS, sizes=SIZES, act="tanh"):
    return lamina.build(tuple(sizes[1:-1]), sizes[0], sizes[-1], activation=act,
                        seed=seeds[i], dtype="float64")


def _assert_member_equals(pop: PopulationEngine, i: int, net, atol=1e-10) -> None:
    sd = pop.member_state_dict(i)
    ref = net.state_dict()
    assert sorted(sd) == sorted(ref)
    for k in ref:
        torch.testing.assert_close(sd[k], ref[k], atol=atol, rtol=0)


def test_members_are_initialised_exactly_like_build() -> None:
    pop = PopulationEngine(SIZES, "tanh", 3, "cross_entropy", lr=0.01, seeds=SEEDS,
                           dtype=torch.float64, init="xavier")
    for i, seed in enumerate(SEEDS):
        net = lamina.build(SIZES[1:-1], SIZES[0], SIZES[-1], activation="tanh", init="xavier",
                           seed=seed, dtype="float64")
        for k, v in net.state_dict().items():
            assert torch.equal(pop.member_state_dict(i)[k], v), k


@pytest.mark.parametrize("optimizer,loss", [("adam", "cross_entropy"), ("sgd", "mse"),
                                            ("rmsprop", "cross_entropy"), ("adagrad", "huber"),
                                            ("adamw", "binary_cross_entropy")])
def test_population_equals_separate_dense_engines(optimizer: str, loss: str) -> None:
    X, Y = make_data(45, 5, 3, loss, seed=1)
    kw = {"momentum": 0.7, "nesterov": True, "beta1": 0.85, "beta2": 0.995, "eps": 1e-7}
    pop = PopulationEngine(SIZES, "tanh", 3, loss, lr=LRS, alpha=ALPHAS, seeds=SEEDS,
                           optimizer=optimizer, dtype=torch.float64, **kw)
    nets, engines = [], []
    for i in range(3):
        net = _member_net(i)
        opt = OptimizerSpec(optimizer, lr=LRS[i], alpha=ALPHAS[i], **kw)
        nets.append(net)
        engines.append(DenseEngine(net.dense_stack(), loss, opt))
    for seed in (7, 8, 9):
        losses = pop.train_epoch(X, Y, 10, generator=torch.Generator().manual_seed(seed))
        single = [e.train_epoch(X, Y, 10, generator=torch.Generator().manual_seed(seed)).loss
                  for e in engines]
        assert losses.tolist() == pytest.approx(single, rel=1e-10)
    for i, net in enumerate(nets):
        _assert_member_equals(pop, i, net)
    assert pop.t == 15 and bool(pop.alive.all())


def test_population_without_hidden_layers_equals_dense_engines() -> None:
    X, Y = make_data(30, 5, 3, "cross_entropy", seed=8)
    pop = PopulationEngine((5, 3), "relu", 2, "cross_entropy", lr=[0.01, 0.1], seeds=[1, 2],
                           dtype=torch.float64)
    nets = [lamina.build((), 5, 3, seed=s, dtype="float64") for s in (1, 2)]
    engines = [DenseEngine(n.dense_stack(), "cross_entropy", OptimizerSpec(lr=lr))
               for n, lr in zip(nets, (0.01, 0.1))]
    for seed in (1, 2):
        pop.train_epoch(X, Y, 7, generator=torch.Generator().manual_seed(seed))
        for e in engines:
            e.train_epoch(X, Y, 7, generator=torch.Generator().manual_seed(seed))
    for i, net in enumerate(nets):
        _assert_member_equals(pop, i, net)


def test_plain_sgd_population_and_set_lr() -> None:
    X, Y = make_data(30, 5, 3, "mse", seed=2)
    pop = PopulationEngine(SIZES, "relu", 3, "mse", lr=LRS, seeds=SEEDS, optimizer="sgd",
                           momentum=0.0, dtype=torch.float64)
    nets = [lamina.build(SIZES[1:-1], 5, 3, activation="relu", seed=s, dtype="float64")
            for s in SEEDS]
    engines = [DenseEngine(n.dense_stack(), "mse", OptimizerSpec("sgd", lr=lr, momentum=0.0))
               for n, lr in zip(nets, LRS)]
    for epoch, seed in enumerate((1, 2)):
        if epoch:
            pop.set_lr([0.01, 0.001, 0.1])
            for e, lr in zip(engines, [0.01, 0.001, 0.1]):
                e.lr = lr
        pop.train_epoch(X, Y, 8, generator=torch.Generator().manual_seed(seed))
        for e in engines:
            e.train_epoch(X, Y, 8, generator=torch.Generator().manual_seed(seed))
    for i, net in enumerate(nets):
        _assert_member_equals(pop, i, net)


def test_member_dropout_uses_its_own_seeded_stream() -> None:
    """Member i's masks come from Generator().manual_seed(seeds[i]), whatever the others do."""
    X, Y = make_data(20, 5, 3, "cross_entropy", seed=3)
    drops = [0.3, 0.0, 0.5]
    pop = PopulationEngine(SIZES, "relu", 3, "cross_entropy", lr=0.05, dropout=drops,
                           seeds=SEEDS, optimizer="sgd", momentum=0.0, dtype=torch.float64)
    pop.train_epoch(X, Y, 7, generator=torch.Generator().manual_seed(0))
    for i in range(3):
        ref = _member_net(i, act="relu")
        optim = ref_optimizer(OptimizerSpec("sgd", lr=0.05, momentum=0.0), ref.parameters())
        mask_gen = torch.Generator().manual_seed(SEEDS[i])
        perm = torch.randperm(20, generator=torch.Generator().manual_seed(0))
        for idx in perm.split(7):
            h = X[idx]
            for layer in ref.hidden:
                h = ACT["relu"](layer.linear(h))
                if drops[i]:
                    keep = 1 - drops[i]
                    h = h * torch.empty_like(h).uniform_(generator=mask_gen).lt_(keep).div_(keep)
            optim.zero_grad()
            ref_loss("cross_entropy", ref.head(h), Y[idx]).backward()
            optim.step()
        _assert_member_equals(pop, i, ref)


def test_a_diverging_member_is_frozen_before_its_bad_step_and_never_poisons_others() -> None:
    X, Y = make_data(40, 5, 3, "mse", seed=4)
    lrs = [0.001, 1e300, 0.01]      # member 1: one huge finite step, then an overflow
    pop = PopulationEngine(SIZES, "relu", 3, "mse", lr=lrs, seeds=SEEDS, optimizer="sgd",
                           momentum=0.0, dtype=torch.float64)
    nets = [_member_net(i, act="relu") for i in range(3)]
    engines = [DenseEngine(n.dense_stack(), "mse", OptimizerSpec("sgd", lr=lr, momentum=0.0))
               for n, lr in zip(nets, lrs)]
    finite = [True] * 3
    for seed in (1, 2, 3, 4):
        losses = pop.train_epoch(X, Y, 10, generator=torch.Generator().manual_seed(seed))
        for i, e in enumerate(engines):
            if finite[i]:
                finite[i] = e.train_epoch(X, Y, 10,
                                          generator=torch.Generator().manual_seed(seed)).finite
    assert finite == [True, False, True]
    assert pop.alive.tolist() == [True, False, True]
    assert math.isinf(float(losses[1])) and math.isfinite(float(losses[0]))
    for i in (0, 2):
        _assert_member_equals(pop, i, nets[i])
    dead, ref = pop.member_state_dict(1), nets[1].state_dict()
    for k in ref:                           # the single engine's weights from before its bad step
        torch.testing.assert_close(dead[k], ref[k], rtol=1e-9, atol=0)
    assert float(dead["hidden.0.linear.weight"].abs().max()) > 1e250
    assert all(torch.isfinite(v).all() for v in pop.member_state_dict(1).values())


def test_select_keeps_weights_optimizer_state_and_dropout_streams() -> None:
    X, Y = make_data(30, 5, 3, "cross_entropy", seed=5)
    kw = {"lr": LRS, "alpha": ALPHAS, "dropout": [0.2, 0.0, 0.4], "seeds": SEEDS,
          "dtype": torch.float64}
    full = PopulationEngine(SIZES, "gelu", 3, "cross_entropy", **kw)
    full.train_epoch(X, Y, 8, generator=torch.Generator().manual_seed(1))
    sub = full.select([2, 0])
    assert sub.n_members == 2 and sub.seeds == [SEEDS[2], SEEDS[0]] and sub.t == full.t
    full.train_epoch(X, Y, 8, generator=torch.Generator().manual_seed(2))
    sub.train_epoch(X, Y, 8, generator=torch.Generator().manual_seed(2))
    for j, i in enumerate([2, 0]):
        for k, v in full.member_state_dict(i).items():
            torch.testing.assert_close(sub.member_state_dict(j)[k], v, atol=1e-12, rtol=0)


def test_predict_and_to_net_agree_with_the_module() -> None:
    X, Y = make_data(25, 5, 3, "cross_entropy", seed=6)
    pop = PopulationEngine(SIZES, "silu", 3, "cross_entropy", lr=0.01, dropout=0.25,
                           seeds=SEEDS, dtype=torch.float64)
    pop.train_epoch(X, Y, 5, generator=torch.Generator().manual_seed(0))
    out = pop.predict(X, batch_size=7)
    assert out.shape == (3, 25, 3)
    for i in range(3):
        net = pop.to_net(i).eval()
        assert net.hidden[0].spec.dropout == 0.25
        torch.testing.assert_close(out[i], net(X).detach(), atol=1e-12, rtol=0)


def test_population_memory_check_names_members_and_widths() -> None:
    with pytest.raises(ParameterError, match=r"n_members=100000.*population of 100000 networks "
                       r"of sizes \(1000, 20000, 10\)"):
        PopulationEngine((1000, 20000, 10), "relu", 100_000, "cross_entropy", lr=0.01)


@pytest.mark.parametrize("kwargs,match", [
    ({"lr": [0.1, 0.2]}, r"Invalid lr=\[0.1, 0.2\]: one value per member \(3\)"),
    ({"lr": 0.1, "dropout": 1.0}, r"Invalid dropout=1.0: every value must be a number in \[0"),
    ({"lr": -1.0}, r"Invalid lr=-1.0"),
    ({"lr": 0.1, "seeds": [1, 2]}, r"Invalid seeds=\[1, 2\]: one non-negative int per member"),
    ({"lr": 0.1, "optimizer": "adma"}, r"Did you mean 'adam'\?"),
])
def test_population_bad_parameters(kwargs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        PopulationEngine((4, 5, 2), "relu", 3, "mse", **kwargs)


def test_population_bad_activation_and_sizes() -> None:
    with pytest.raises(ParameterError, match=r"Did you mean 'tanh'\?"):
        PopulationEngine((4, 5, 2), "tahn", 2, "mse", lr=0.1)
    with pytest.raises(ParameterError, match=r"Invalid sizes=\(4,\)"):
        PopulationEngine((4,), "relu", 2, "mse", lr=0.1)


def test_population_is_deterministic_in_float32() -> None:
    X, Y = make_data(40, 5, 3, "cross_entropy", seed=7, dtype=torch.float32)
    results = []
    for _ in range(2):
        pop = PopulationEngine(SIZES, "relu", 4, "cross_entropy", lr=0.01, dropout=0.1)
        pop.train_epoch(X, Y, 8, generator=torch.Generator().manual_seed(0))
        results.append(pop.predict(X))
    assert torch.equal(results[0], results[1])
    assert max_abs_diff(pop.to_net(0), pop.to_net(0)) == 0.0


@settings(max_examples=15, deadline=None)
@given(hidden=st.lists(st.integers(1, 6), min_size=0, max_size=2), n_in=st.integers(1, 4),
       n_out=st.integers(1, 3), P=st.integers(1, 3), act=st.sampled_from(ACTIVATIONS),
       loss=st.sampled_from(LOSSES), optimizer=st.sampled_from(ENGINE_OPTIMIZERS),
       lr_exp=st.lists(st.floats(-4, -1), min_size=3, max_size=3),
       alpha=st.lists(st.sampled_from([0.0, 0.1, 2.0]), min_size=3, max_size=3),
       batch=st.integers(1, 12), seed=st.integers(0, 1000))
def test_property_population_equals_separate_engines(hidden, n_in, n_out, P, act, loss,
                                                     optimizer, lr_exp, alpha, batch,
                                                     seed) -> None:
    sizes = (n_in, *hidden, n_out)
    lrs, alphas, seeds = [10.0 ** e for e in lr_exp[:P]], alpha[:P], [seed + i for i in range(P)]
    X, Y = make_data(13, n_in, n_out, loss, seed=seed)
    pop = PopulationEngine(sizes, act, P, loss, lr=lrs, alpha=alphas, seeds=seeds,
                           optimizer=optimizer, dtype=torch.float64)
    losses = pop.train_epoch(X, Y, batch, generator=torch.Generator().manual_seed(seed))
    for i in range(P):
        net = lamina.build(tuple(hidden), n_in, n_out, activation=act, seed=seeds[i],
                           dtype="float64")
        eng = DenseEngine(net.dense_stack(), loss,
                          OptimizerSpec(optimizer, lr=lrs[i], alpha=alphas[i]))
        stats = eng.train_epoch(X, Y, batch, generator=torch.Generator().manual_seed(seed))
        assert float(losses[i]) == pytest.approx(stats.loss, rel=1e-9, abs=1e-12)
        _assert_member_equals(pop, i, net, atol=1e-9)


def test_penalty_off_trains_the_same_weights_and_reports_the_loss_without_it() -> None:
    X, Y = make_data(40, 5, 3, "cross_entropy", seed=8)
    kw = {"lr": LRS, "alpha": ALPHAS, "dropout": [0.2, 0.0, 0.4], "seeds": SEEDS,
          "optimizer": "adam", "dtype": torch.float64}
    on = PopulationEngine(SIZES, "relu", 3, "cross_entropy", **kw)
    off = PopulationEngine(SIZES, "relu", 3, "cross_entropy", penalty_in_loss=False, **kw)
    for seed in (0, 1):
        with_pen = on.train_epoch(X, Y, 8, generator=torch.Generator().manual_seed(seed))
        without = off.train_epoch(X, Y, 8, generator=torch.Generator().manual_seed(seed))
    for i in range(3):          # the L2 gradient is applied either way: identical weights
        for k, v in on.member_state_dict(i).items():
            assert torch.equal(v, off.member_state_dict(i)[k]), (i, k)
    # the last epoch's loss: the same data term, plus alpha/2 * sum(W^2) / batch only when on
    assert without[0] == with_pen[0]                           # alpha 0: no penalty at all
    assert (with_pen[1:] > without[1:]).all()
    # select() keeps the setting (successive halving)
    assert off.select([2, 1]).penalty_in_loss is False
    with pytest.raises(ParameterError, match=r"Invalid penalty_in_loss='no'"):
        PopulationEngine(SIZES, "relu", 3, "cross_entropy", lr=0.1, penalty_in_loss="no")
