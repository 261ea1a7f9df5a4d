"""The engine's explicit gradients equal autograd's (float64), for every activation and loss."""

from __future__ import annotations

import copy

import pytest
import torch
from _engine_ref import make_data, make_net, manual_forward, penalty, ref_loss
from hypothesis import given, settings
from hypothesis import strategies as st

from lamina.engine import DenseEngine
from lamina.spec import ACTIVATIONS, LOSSES, OptimizerSpec

ALPHA = 0.3


def _autograd_grads(net, X, Y, loss, alpha, masks=None):
    ref = copy.deepcopy(net)
    masks = masks or [None] * len(ref.hidden)
    value = ref_loss(loss, manual_forward(ref, X, masks), Y) + penalty(ref, alpha, X.shape[0])
    value.backward()
    return [(s.weight.grad, None if s.bias is None else s.bias.grad) for s in ref.dense_stack()]


def _assert_grads_equal(ours, theirs, atol=1e-12):
    assert len(ours) == len(theirs)
    for (dw, db), (rw, rb) in zip(ours, theirs):
        torch.testing.assert_close(dw, rw, atol=atol, rtol=1e-10)
        if rb is None:
            assert db is None
        else:
            torch.testing.assert_close(db, rb, atol=atol, rtol=1e-10)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_gradients_equal_autograd_for_every_activation_and_loss(act: str, loss: str) -> None:
    n_out = 3 if loss != "binary_cross_entropy" else 2
    net = make_net((7, 6), 5, n_out, act, seed=1)
    X, Y = make_data(11, 5, n_out, loss, seed=2)
    X = X * 2.0                                        # reach both sides of every kink
    eng = DenseEngine(net.dense_stack(), loss, OptimizerSpec("sgd", alpha=ALPHA))
    ours = eng.gradients(X, Y)
    _assert_grads_equal(ours, _autograd_grads(net, X, Y, loss, ALPHA))
    assert any(float(dw.abs().max()) > 1e-3 for dw, _ in ours)   # a real, non-trivial gradient


def test_gradients_without_bias_and_single_output_bce() -> None:
    net = make_net((4,), 3, 1, "silu", bias=False, seed=3)
    X, Y = make_data(9, 3, 1, "binary_cross_entropy", seed=4)
    eng = DenseEngine(net.dense_stack(), "binary_cross_entropy", OptimizerSpec(alpha=0.1))
    ours = eng.gradients(X, Y)
    assert ours[0][1] is None                          # no bias, no bias gradient
    _assert_grads_equal(ours, _autograd_grads(net, X, Y, "binary_cross_entropy", 0.1))
    # with one output, sklearn's summed log-loss is torch's BCEWithLogits mean
    o = net(X)
    torch.testing.assert_close(ref_loss("binary_cross_entropy", o, Y),
                               torch.nn.functional.binary_cross_entropy_with_logits(o, Y))


def test_gradients_with_dropout_masks_equal_autograd_with_the_same_masks() -> None:
    net = make_net((8, 8), 4, 3, "gelu", dropout=0.4, seed=5)
    X, Y = make_data(10, 4, 3, "cross_entropy", seed=6)
    eng = DenseEngine(net.dense_stack(), "cross_entropy", OptimizerSpec(alpha=0.2))
    ours = eng.gradients(X, Y, generator=torch.Generator().manual_seed(7))
    g = torch.Generator().manual_seed(7)
    masks = [torch.empty(10, 8, dtype=torch.float64).uniform_(generator=g).lt_(0.6).div_(0.6)
             for _ in range(2)]
    _assert_grads_equal(ours, _autograd_grads(net, X, Y, "cross_entropy", 0.2, masks))


class _EngineLoss(torch.autograd.Function):
    """loss(weights) with the engine's gradient as its backward, for gradcheck."""

    @staticmethod
    def forward(ctx, flat, eng, params, X, Y, alpha):  # type: ignore[override]
        with torch.no_grad():
            off = 0
            for p in params:                                  # in place: the engine's own
                p.copy_(flat[off:off + p.numel()].view_as(p))
                off += p.numel()
            grads = eng.gradients(X, Y)
            sq = sum(float((p * p).sum()) for p in params if p.dim() == 2)
        ctx.grad = torch.cat([t.reshape(-1) for pair in grads for t in pair if t is not None])
        return torch.tensor(eng.loss(X, Y) + 0.5 * alpha * sq / X.shape[0], dtype=flat.dtype)

    @staticmethod
    def backward(ctx, grad_out):  # type: ignore[override]
        return grad_out * ctx.grad, None, None, None, None, None


@pytest.mark.parametrize("act,loss", [("tanh", "cross_entropy"), ("gelu", "mse"),
                                      ("silu", "binary_cross_entropy"), ("elu", "half_mse"),
                                      ("sigmoid", "huber"), ("leaky_relu", "cross_entropy"),
                                      ("relu", "mse")])
def test_gradcheck_engine_gradient_against_finite_differences(act: str, loss: str) -> None:
    net = make_net((5,), 3, 2, act, seed=8)
    X, Y = make_data(6, 3, 2, loss, seed=9)
    eng = DenseEngine(net.dense_stack(), loss, OptimizerSpec(alpha=0.05))
    params = list(net.parameters())
    flat = torch.nn.utils.parameters_to_vector(params).detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(
        lambda f: _EngineLoss.apply(f, eng, params, X, Y, 0.05), (flat,), eps=1e-6, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(widths=st.lists(st.integers(1, 6), min_size=0, max_size=3),
       n=st.integers(1, 9), n_in=st.integers(1, 5), n_out=st.integers(1, 4),
       act=st.sampled_from(ACTIVATIONS), loss=st.sampled_from(LOSSES),
       alpha=st.sampled_from([0.0, 0.7]), seed=st.integers(0, 10_000))
def test_property_gradients_match_autograd_for_any_shape(widths, n, n_in, n_out, act, loss,
                                                         alpha, seed) -> None:
    net = make_net(widths, n_in, n_out, act, seed=seed)
    X, Y = make_data(n, n_in, n_out, loss, seed=seed + 1)
    eng = DenseEngine(net.dense_stack(), loss, OptimizerSpec(alpha=alpha))
    _assert_grads_equal(eng.gradients(X, Y), _autograd_grads(net, X, Y, loss, alpha))
