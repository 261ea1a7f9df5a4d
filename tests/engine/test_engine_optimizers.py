"""k epochs of DenseEngine equal an idiomatic autograd + torch.optim loop (float64)."""

from __future__ import annotations

import pytest
import torch
from _engine_ref import make_data, make_net, max_abs_diff, reference_training

from lamina.engine import DenseEngine
from lamina.spec import OptimizerSpec

SEEDS = [11, 12, 13]

OPTIMIZERS = {
    "sgd_plain": OptimizerSpec("sgd", lr=0.05, momentum=0.0),
    "sgd_momentum": OptimizerSpec("sgd", lr=0.05, momentum=0.8, nesterov=False),
    "sgd_nesterov": OptimizerSpec("sgd", lr=0.05, momentum=0.9, nesterov=True),
    "adam": OptimizerSpec("adam", lr=0.01, beta1=0.8, beta2=0.99, eps=1e-7),
    "adam_wd": OptimizerSpec("adam", lr=0.01, weight_decay=0.05),
    "adamw": OptimizerSpec("adamw", lr=0.01, weight_decay=0.1),
    "rmsprop": OptimizerSpec("rmsprop", lr=0.003),
    "rmsprop_wd": OptimizerSpec("rmsprop", lr=0.003, weight_decay=0.02),
    "adagrad": OptimizerSpec("adagrad", lr=0.05, eps=1e-10),
    "sgd_wd_alpha": OptimizerSpec("sgd", lr=0.05, weight_decay=0.01, alpha=0.5),
}


def _train(net, X, Y, loss, opt, batch_size, seeds=SEEDS, lrs=None):
    eng = DenseEngine(net.dense_stack(), loss, opt)
    stats = []
    for epoch, seed in enumerate(seeds):
        if lrs is not None:
            eng.lr = lrs[epoch]
        stats.append(eng.train_epoch(X, Y, batch_size,
                                     generator=torch.Generator().manual_seed(seed)))
    return eng, stats


@pytest.mark.parametrize("key", list(OPTIMIZERS))
def test_trained_weights_equal_torch_optim(key: str) -> None:
    opt = OPTIMIZERS[key]
    net = make_net((9, 7), 5, 3, "tanh", seed=21)
    X, Y = make_data(50, 5, 3, "cross_entropy", seed=22)
    ref, ref_losses = reference_training(net, X, Y, "cross_entropy", opt, 8, SEEDS)
    eng, stats = _train(net, X, Y, "cross_entropy", opt, 8)
    assert max_abs_diff(net, ref) < 1e-10
    assert max_abs_diff(net, make_net((9, 7), 5, 3, "tanh", seed=21)) > 1e-3   # it did train
    for s, ref_loss in zip(stats, ref_losses):
        assert s.finite and s.n_steps == 7                # 50 samples / 8 -> 6 full + 1 of 2
        assert s.loss == pytest.approx(ref_loss, rel=1e-12)
    assert eng.t == 21


@pytest.mark.parametrize("loss", ["mse", "half_mse", "mae", "huber", "binary_cross_entropy"])
def test_trained_weights_equal_torch_optim_for_other_losses(loss: str) -> None:
    opt = OptimizerSpec("adam", lr=0.01, alpha=0.1)
    net = make_net((6,), 4, 2, "relu", seed=31)
    X, Y = make_data(40, 4, 2, loss, seed=32)
    ref, ref_losses = reference_training(net, X, Y, loss, opt, 16, SEEDS)
    _, stats = _train(net, X, Y, loss, opt, 16)
    assert max_abs_diff(net, ref) < 1e-10
    assert [s.loss for s in stats] == pytest.approx(ref_losses, rel=1e-12)


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_clip_norm_equals_clip_grad_norm(name: str) -> None:
    opt = OptimizerSpec(name, lr=0.05, clip_norm=0.05)
    net = make_net((8,), 4, 3, "relu", seed=41)
    X, Y = make_data(32, 4, 3, "cross_entropy", seed=42)
    ref, _ = reference_training(net, X, Y, "cross_entropy", opt, 8, SEEDS)
    _, stats = _train(net, X, Y, "cross_entropy", opt, 8)
    assert max_abs_diff(net, ref) < 1e-10
    total = sum(n * n for n in stats[0].grad_norms) ** 0.5
    assert total > 0.05      # the clip was active (pre-clip norms are what is reported)
    # and clipping changed the result
    net2 = make_net((8,), 4, 3, "relu", seed=41)
    _train(net2, X, Y, "cross_entropy", OptimizerSpec(name, lr=0.05), 8)
    assert max_abs_diff(net, net2) > 1e-4


def test_dropout_training_equals_reference_with_the_same_masks() -> None:
    opt = OptimizerSpec("adam", lr=0.01, alpha=0.05)
    net = make_net((10, 10), 4, 3, "relu", dropout=0.3, seed=51)
    X, Y = make_data(30, 4, 3, "cross_entropy", seed=52)
    ref, ref_losses = reference_training(net, X, Y, "cross_entropy", opt, 8, SEEDS)
    _, stats = _train(net, X, Y, "cross_entropy", opt, 8)
    assert max_abs_diff(net, ref) < 1e-10
    assert [s.loss for s in stats] == pytest.approx(ref_losses, rel=1e-12)


def test_lr_changes_between_epochs_like_param_groups() -> None:
    opt = OptimizerSpec("sgd", lr=0.1, momentum=0.9)
    lrs = [0.1, 0.03, 0.01]
    net = make_net((6,), 3, 2, "tanh", seed=61)
    X, Y = make_data(24, 3, 2, "mse", seed=62)
    ref, _ = reference_training(net, X, Y, "mse", opt, 6, SEEDS, lrs=lrs)
    eng, _ = _train(net, X, Y, "mse", opt, 6, lrs=lrs)
    assert eng.lr == 0.01
    assert max_abs_diff(net, ref) < 1e-10


def test_grad_norms_are_the_epoch_mean_of_per_layer_norms() -> None:
    net = make_net((5,), 3, 2, "tanh", seed=71)
    X, Y = make_data(12, 3, 2, "mse", seed=72)
    eng = DenseEngine(net.dense_stack(), "mse", OptimizerSpec("sgd", lr=1e-12, momentum=0.0))
    # with a negligible lr the weights stay put, so each batch's gradient is computable alone
    perm = torch.randperm(12, generator=torch.Generator().manual_seed(5))
    expected = torch.zeros(2, dtype=torch.float64)
    for idx in perm.split(4):
        grads = eng.gradients(X[idx], Y[idx])
        expected += torch.stack([torch.cat([dw.reshape(-1), db]).norm() for dw, db in grads])
    stats = eng.train_epoch(X, Y, 4, generator=torch.Generator().manual_seed(5))
    assert stats.grad_norms == pytest.approx((expected / 3).tolist(), rel=1e-9)
