"""DenseEngine: determinism, divergence, buffer reuse, evaluation, checkpoints, bad input."""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from _engine_ref import make_data, make_net, max_abs_diff, reference_training

import lamina
from lamina import DataError, ParameterError
from lamina.engine import DenseEngine, EpochStats, supports
from lamina.nn import DenseStep
from lamina.spec import OptimizerSpec


def _engine(net, loss="cross_entropy", **opt):
    return DenseEngine(net.dense_stack(), loss, OptimizerSpec(**opt))


def test_same_seeds_give_bit_identical_float32_weights() -> None:
    X, Y = make_data(70, 6, 4, "cross_entropy", seed=1, dtype=torch.float32)
    nets = []
    for _ in range(2):
        net = make_net((16, 16), 6, 4, "relu", dropout=0.2, seed=5, dtype="float32")
        eng = _engine(net, name="adam", lr=0.01, alpha=1e-3)
        for seed in (1, 2, 3):
            eng.train_epoch(X, Y, 16, generator=torch.Generator().manual_seed(seed))
        nets.append(net)
    for k, v in nets[0].state_dict().items():
        assert torch.equal(v, nets[1].state_dict()[k]), k
    other = make_net((16, 16), 6, 4, "relu", dropout=0.2, seed=5, dtype="float32")
    _engine(other, name="adam", lr=0.01, alpha=1e-3).train_epoch(
        X, Y, 16, generator=torch.Generator().manual_seed(99))
    assert max_abs_diff(other, nets[0]) > 0            # a different batch order differs


def test_divergence_stops_at_once_with_the_weights_from_before_the_bad_step() -> None:
    X, Y = make_data(64, 4, 2, "mse", seed=2)
    opt = {"name": "sgd", "lr": 1e300, "momentum": 0.0}
    net = make_net((8,), 4, 2, "relu", seed=3)
    eng = _engine(net, "mse", **opt)
    stats = eng.train_epoch(X, Y, 8, generator=torch.Generator().manual_seed(0))
    assert not stats.finite and 1 <= stats.n_steps < 8
    assert not math.isfinite(stats.loss)
    assert eng.t == stats.n_steps
    # replay exactly n_steps steps on a fresh copy: same weights, all finite
    twin = make_net((8,), 4, 2, "relu", seed=3)
    replay = _engine(twin, "mse", **opt).train_epoch(
        X, Y, 8, generator=torch.Generator().manual_seed(0), max_steps=stats.n_steps)
    assert replay.finite and replay.n_steps == stats.n_steps
    for k, v in net.state_dict().items():
        assert torch.equal(v, twin.state_dict()[k]) and bool(torch.isfinite(v).all()), k


def test_buffers_are_allocated_once_per_batch_size_and_reused() -> None:
    X, Y = make_data(50, 4, 3, "cross_entropy", seed=4, dtype=torch.float32)
    net = make_net((8, 8), 4, 3, "gelu", dropout=0.1, seed=5, dtype="float32")
    eng = _engine(net, lr=0.01)
    eng.train_epoch(X, Y, 16, generator=torch.Generator().manual_seed(0))
    assert sorted(eng._progs) == [2, 16]                # full batches and the last one
    ptrs = {n: [t.data_ptr() for t in (*b.z, *b.a, *b.gz, *b.h[1:], p.stats)]
            for n, (b, p) in eng._progs.items()}
    grad_ptr, plan = eng._G.data_ptr(), [c[2].data_ptr() for c in eng._plan._chunks]
    for seed in (1, 2):
        eng.train_epoch(X, Y, 16, generator=torch.Generator().manual_seed(seed))
    assert sorted(eng._progs) == [2, 16] and eng._G.data_ptr() == grad_ptr
    assert [c[2].data_ptr() for c in eng._plan._chunks] == plan
    for n, (b, p) in eng._progs.items():
        assert [t.data_ptr() for t in (*b.z, *b.a, *b.gz, *b.h[1:], p.stats)] == ptrs[n]
        # the batch input is a view into the epoch's gathered rows, not a copy
        assert b.x.untyped_storage().data_ptr() == eng._plan._chunks[0][2].data_ptr()


def test_without_shuffle_batches_are_views_of_X_in_data_order() -> None:
    X, Y = make_data(40, 4, 3, "cross_entropy", seed=4)
    net = make_net((8,), 4, 3, "relu", seed=5)
    opt = OptimizerSpec("adam", lr=0.01)
    ref, ref_losses = reference_training(net, X, Y, "cross_entropy", opt, 16, [0, 0],
                                         shuffle=False)
    eng = _engine(net, name="adam", lr=0.01)
    losses = [eng.train_epoch(X, Y, 16, shuffle=False).loss for _ in range(2)]
    for b, _ in eng._progs.values():
        assert b.x.untyped_storage().data_ptr() == X.untyped_storage().data_ptr()
    assert max_abs_diff(net, ref) < 1e-10
    assert losses == pytest.approx(ref_losses, rel=1e-12)


def test_no_autograd_graph_and_parameters_updated_in_place() -> None:
    X, Y = make_data(20, 3, 2, "cross_entropy", seed=6, dtype=torch.float32)
    net = make_net((5,), 3, 2, "tanh", seed=7, dtype="float32")
    ptrs = [p.data_ptr() for p in net.parameters()]
    before = copy.deepcopy(net)
    _engine(net, lr=0.05).train_epoch(X, Y, 5, generator=torch.Generator().manual_seed(0))
    assert [p.data_ptr() for p in net.parameters()] == ptrs
    assert all(p.grad is None for p in net.parameters())
    assert max_abs_diff(net, before) > 1e-4


def test_forward_and_loss_are_the_modules_eval_outputs() -> None:
    X, Y = make_data(30, 4, 3, "cross_entropy", seed=8)
    net = make_net((6, 5), 4, 3, "elu", dropout=0.5, seed=9)
    eng = _engine(net, lr=0.01, alpha=10.0)             # alpha must not enter loss()
    eng.train_epoch(X, Y, 7, generator=torch.Generator().manual_seed(0))
    net.eval()
    with torch.no_grad():
        expected = net(X)
    torch.testing.assert_close(eng.forward(X, batch_size=8), expected, atol=1e-12, rtol=0)
    assert eng.loss(X, Y, batch_size=4) == pytest.approx(float(F.cross_entropy(expected, Y)),
                                                         rel=1e-12)


def test_epoch_loss_follows_sklearn_with_alpha() -> None:
    """One step per epoch (batch = N): the loss is the data loss plus 0.5*alpha*||W||^2/N."""
    X, Y = make_data(16, 3, 2, "half_mse", seed=10)
    net = make_net((4,), 3, 2, "tanh", seed=11)
    eng = _engine(net, "half_mse", name="sgd", lr=1e-12, momentum=0.0, alpha=2.0)
    sq = sum(float((m.weight.detach() ** 2).sum()) for m in (net.hidden[0].linear, net.head))
    expected = eng.loss(X, Y) + 0.5 * 2.0 * sq / 16
    stats = eng.train_epoch(X, Y, 100, shuffle=False)
    assert isinstance(stats, EpochStats) and stats.n_steps == 1
    assert stats.loss == pytest.approx(expected, rel=1e-9)


def test_state_dict_round_trip_continues_identically() -> None:
    X, Y = make_data(40, 4, 3, "cross_entropy", seed=12)
    net = make_net((6,), 4, 3, "relu", seed=13)
    eng = _engine(net, name="adam", lr=0.01)
    for seed in (1, 2):
        eng.train_epoch(X, Y, 8, generator=torch.Generator().manual_seed(seed))
    state = eng.state_dict()
    assert int(state["t"]) == 10 and {"exp_avg.0", "exp_avg_sq.3"} <= set(state)
    twin, fresh = copy.deepcopy(net), copy.deepcopy(net)
    eng2 = _engine(twin, name="adam", lr=0.01)
    eng2.load_state_dict(state)
    assert eng2.t == 10
    eng3 = _engine(fresh, name="adam", lr=0.01)            # same weights, no moments
    for e in (eng, eng2, eng3):
        e.train_epoch(X, Y, 8, generator=torch.Generator().manual_seed(3))
    assert max_abs_diff(net, twin) == 0.0
    assert max_abs_diff(net, fresh) > 1e-4
    with pytest.raises(ParameterError, match=r"Invalid state_dict=.*keys missing"):
        _engine(twin, name="sgd", lr=0.01).load_state_dict(state)


def test_engine_follows_weights_changed_in_place_between_calls() -> None:
    """The engine trains a flat master copy; every call starts from the network's own values,
    so an edit made between epochs (a restored snapshot, a hand-set weight) is what it trains."""
    X, Y = make_data(24, 3, 2, "cross_entropy", seed=30)
    net = make_net((5,), 3, 2, "tanh", seed=31, dtype="float32")
    eng = _engine(net, lr=0.05)
    eng.train_epoch(X.float(), Y, 6, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        net.hidden[0].linear.weight.zero_()
        net.head.bias.fill_(0.25)
    net.eval()
    with torch.no_grad():
        expected = net(X.float())
    torch.testing.assert_close(eng.forward(X.float()), expected, atol=0, rtol=0)
    twin = copy.deepcopy(net)
    twin_eng = _engine(twin, lr=0.05)
    twin_eng.load_state_dict(eng.state_dict())
    for e in (eng, twin_eng):
        e.train_epoch(X.float(), Y, 6, generator=torch.Generator().manual_seed(1))
    assert max_abs_diff(net, twin) == 0.0


def test_an_engine_built_in_inference_mode_trains() -> None:
    X, Y = make_data(20, 3, 2, "cross_entropy", seed=34, dtype=torch.float32)
    net = make_net((5,), 3, 2, "tanh", seed=35, dtype="float32")
    before = copy.deepcopy(net)
    with torch.inference_mode():
        eng = _engine(net, lr=0.05)
    stats = eng.train_epoch(X, Y, 5, generator=torch.Generator().manual_seed(0))
    assert stats.finite and max_abs_diff(net, before) > 1e-4


def test_state_dict_tensors_are_per_parameter_and_own_their_storage() -> None:
    from safetensors.torch import load, save

    X, Y = make_data(20, 4, 3, "cross_entropy", seed=32)
    net = make_net((6, 5), 4, 3, "relu", seed=33, dtype="float32")
    eng = _engine(net, name="adam", lr=0.01)
    eng.train_epoch(X.float(), Y, 5, generator=torch.Generator().manual_seed(0))
    state = eng.state_dict()
    params = eng.params
    assert all(a is b for a, b in zip(params, net.parameters()))
    for i, p in enumerate(params):
        assert state[f"exp_avg.{i}"].shape == p.shape and state[f"exp_avg_sq.{i}"].shape == p.shape
    back = load(save(state))                  # safetensors refuses tensors sharing memory
    assert all(torch.equal(back[k], v) for k, v in state.items())
    bad = dict(state)
    bad["exp_avg.0"] = torch.zeros(2, 2)
    with pytest.raises(ParameterError, match=r"state_dict\[exp_avg\.0\].*expected shape \(6, 4\)"):
        _engine(copy.deepcopy(net), name="adam", lr=0.01).load_state_dict(bad)


def test_engine_follows_a_network_cast_after_construction() -> None:
    X, Y = make_data(20, 3, 2, "cross_entropy", seed=14)
    net = make_net((5,), 3, 2, "tanh", seed=15, dtype="float32")
    eng = _engine(net, lr=0.01)
    eng.train_epoch(X.float(), Y, 5, generator=torch.Generator().manual_seed(0))
    net.double()
    stats = eng.train_epoch(X, Y, 5, generator=torch.Generator().manual_seed(1))
    assert stats.finite and net.head.weight.dtype == torch.float64


def test_max_steps_and_no_shuffle() -> None:
    X, Y = make_data(30, 3, 2, "mse", seed=16)
    net = make_net((4,), 3, 2, "tanh", seed=17)
    eng = _engine(net, "mse", lr=0.01)
    assert eng.train_epoch(X, Y, 4, shuffle=False, max_steps=3).n_steps == 3
    assert eng.train_epoch(X, Y, 4, shuffle=False).n_steps == 8
    assert eng.train_epoch(X, Y, 1000, shuffle=False).n_steps == 1   # clipped to one batch


def test_supports() -> None:
    net = make_net((4,), 3, 2)
    steps = net.dense_stack()
    assert supports(steps, "cross_entropy", OptimizerSpec("adam"))
    assert not supports(steps, "cross_entropy", OptimizerSpec("lbfgs"))
    assert not supports(steps, "hinge", OptimizerSpec("adam"))
    assert not supports(None, "mse", OptimizerSpec("sgd"))
    normed = lamina.build("4:norm=batch", in_features=3, out=2)
    assert not supports(normed.dense_stack(), "mse", OptimizerSpec("sgd"))


# ---- bad input ----------------------------------------------------------------------------------
@pytest.fixture
def engine32() -> DenseEngine:
    return _engine(make_net((4,), 3, 2, dtype="float32"), lr=0.01)


@pytest.mark.parametrize("X,Y,match", [
    (torch.randn(5, 3, dtype=torch.float64), torch.zeros(5, dtype=torch.int64),
     r"Invalid X of dtype torch.float64 on cpu: the network's parameters are torch.float32 "
     r"on cpu.*Pass X.to\(dtype=torch.float32"),
    (torch.randn(5, 4), torch.zeros(5, dtype=torch.int64),
     r"Invalid X of shape \(5, 4\): the network takes \(N, 3\)"),
    (torch.randn(5, 3), torch.zeros(5),
     r"Invalid Y of dtype torch.float32 and shape \(5,\): loss='cross_entropy' needs int64 "
     r"class ids of shape \(5,\) in \[0, 2\)\. Pass Y.long\(\)"),
    (torch.randn(5, 3), torch.zeros(5, 2, dtype=torch.int64),
     r"Invalid Y of dtype torch.int64 and shape \(5, 2\)"),
    (torch.randn(5, 3), torch.tensor([0, 1, 2, 0, 1]),
     r"class ids range over \[0, 2\] but the network has 2 outputs"),
    (torch.tensor([[float("nan"), 0, 0]] * 5), torch.zeros(5, dtype=torch.int64),
     r"Invalid X: it contains NaN or infinite values"),
    ([[0.0, 0.0, 0.0]], torch.zeros(1, dtype=torch.int64), r"Invalid X of type list"),
])
def test_bad_data_is_refused_with_a_clear_message(engine32, X, Y, match) -> None:
    with pytest.raises(DataError, match=match):
        engine32.train_epoch(X, Y, 2)


def test_bad_regression_targets(engine32) -> None:
    eng = _engine(make_net((4,), 3, 1, dtype="float32"), "mse", lr=0.01)
    with pytest.raises(DataError, match=r"Invalid Y of dtype torch.float32 and shape \(5,\): "
                       r"loss='mse' needs float targets .* Pass Y.reshape\(-1, 1\)"):
        eng.train_epoch(torch.randn(5, 3), torch.randn(5), 2)
    bce = _engine(make_net((4,), 3, 1, dtype="float32"), "binary_cross_entropy", lr=0.01)
    with pytest.raises(DataError, match=r"needs targets in \[0, 1\]"):
        bce.train_epoch(torch.randn(5, 3), torch.full((5, 1), 2.0), 2)


def test_bad_parameters(engine32) -> None:
    steps = make_net((4,), 3, 2).dense_stack()
    with pytest.raises(ParameterError, match=r"Invalid loss='crossentropy'.*Did you mean "
                       r"'cross_entropy'\?"):
        DenseEngine(steps, "crossentropy", OptimizerSpec())
    with pytest.raises(ParameterError, match=r"Invalid optimizer='lbfgs': the explicit engine "
                       r"supports 'sgd', 'adam'"):
        DenseEngine(steps, "mse", OptimizerSpec("lbfgs"))
    with pytest.raises(ParameterError, match=r"Invalid steps=None"):
        DenseEngine(None, "mse", OptimizerSpec())  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=r"Invalid batch_size=0"):
        engine32.train_epoch(torch.randn(4, 3), torch.zeros(4, dtype=torch.int64), 0)
    with pytest.raises(ParameterError, match=r"Invalid lr=0"):
        engine32.lr = 0
    w = steps[-1]
    with pytest.raises(ParameterError, match=r"Invalid steps\[1\].dropout=0.5: the last step "
                       r"is the output head"):
        DenseEngine([steps[0], DenseStep(w.weight, w.bias, "identity", 0.5)], "mse",
                    OptimizerSpec())
    with pytest.raises(ParameterError, match=r"Invalid steps\[1\].weight=\(2, 5\): its input "
                       r"width must equal the previous step's output width 4"):
        bad = DenseStep(torch.zeros(2, 5, dtype=torch.float64), None, "identity", 0.0)
        DenseEngine([steps[0], bad], "mse", OptimizerSpec())
    with pytest.raises(ParameterError, match=r"Invalid steps\[0\].activation='rleu'.*Did you "
                       r"mean 'relu'\?"):
        DenseEngine([DenseStep(steps[0].weight, steps[0].bias, "rleu", 0.0), steps[1]], "mse",
                    OptimizerSpec())
    net = make_net((4,), 3, 2)
    net.head.weight.data = net.head.weight.data.t().contiguous().t()   # a transposed layout
    with pytest.raises(ParameterError, match=r"Invalid steps\[1\]='a non-contiguous parameter'"):
        DenseEngine(net.dense_stack(), "mse", OptimizerSpec())


def test_flops_per_sample_counts_forward_and_both_gradients() -> None:
    eng = _engine(make_net((256, 256), 100, 10), lr=0.01)
    pairs = [100 * 256, 256 * 256, 256 * 10]
    assert eng.flops_per_sample == 2 * sum(pairs) + 2 * sum(pairs) + 2 * sum(pairs[1:])


@pytest.mark.parametrize(("widths", "batch", "expected"), [((16,), 32, 1), ((256, 256), 256, 2)])
def test_small_steps_train_on_one_thread_and_the_count_comes_back(
        widths: tuple[int, ...], batch: int, expected: int) -> None:
    """A step of a few MFLOP runs on one intra-op thread; a large one keeps the caller's."""
    from lamina.engine._dense import ONE_THREAD_STEP_FLOPS

    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        eng = _engine(make_net(widths, 100, 10, dtype="float32"), lr=0.01)
        assert (batch * eng.flops_per_sample < ONE_THREAD_STEP_FLOPS) == (expected == 1)
        seen: list[int] = []
        step = eng._step

        def spy(lr: float) -> None:              # the optimizer update, inside the epoch
            seen.append(torch.get_num_threads())
            step(lr)

        eng._step = spy
        X, y = torch.randn(2 * batch, 100), torch.randint(0, 10, (2 * batch,))
        eng.train_epoch(X, y, batch, generator=torch.Generator().manual_seed(0))
        assert seen == [expected, expected]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(old)
