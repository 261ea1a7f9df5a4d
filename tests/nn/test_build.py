"""HiddenNet: named hidden layers, hand-computable forward, seeds, memory refusal."""

from __future__ import annotations

import pytest
import torch

import lamina
from lamina import ParameterError
from lamina.nn import DenseLayer


def test_hidden_layers_are_named_and_output_their_units() -> None:
    net = lamina.build("4:tanh-3:relu", in_features=2, out=5, seed=0)
    names = dict(net.named_modules())
    assert {"hidden.0", "hidden.1", "head"} <= set(names)
    assert net.hidden_names == ["hidden.0", "hidden.1"]
    x = torch.randn(7, 2)
    h0 = names["hidden.0"](x)
    assert h0.shape == (7, 4) and bool((h0.abs() <= 1).all())       # tanh units
    assert net(x).shape == (7, 5)


def test_forward_matches_hand_computation() -> None:
    net = lamina.build((2,), in_features=2, out=1, dtype="float64")
    with torch.no_grad():
        net.hidden[0].linear.weight.copy_(torch.tensor([[1.0, -1.0], [0.5, 0.5]]))
        net.hidden[0].linear.bias.copy_(torch.tensor([0.0, -1.0]))
        net.head.weight.copy_(torch.tensor([[2.0, 3.0]]))
        net.head.bias.copy_(torch.tensor([0.25]))
    x = torch.tensor([[3.0, 1.0], [0.0, 4.0]], dtype=torch.float64)
    # unit 0: relu(3-1)=2, relu(0-4)=0 ; unit 1: relu(2-1)=1, relu(2-1)=1
    assert torch.equal(net.hidden[0](x), torch.tensor([[2.0, 1.0], [0.0, 1.0]],
                                                      dtype=torch.float64))
    assert torch.equal(net(x).flatten(), torch.tensor([7.25, 3.25], dtype=torch.float64))


def test_same_seed_same_weights_and_global_rng_untouched() -> None:
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = lamina.build((8, 8), in_features=3, out=2, seed=7)
    after = torch.rand(1)
    b = lamina.build((8, 8), in_features=3, out=2, seed=7)
    c = lamina.build((8, 8), in_features=3, out=2, seed=8)
    assert torch.equal(before, after)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


def test_without_a_seed_builds_draw_from_the_global_stream() -> None:
    """Two unseeded builds differ (an ensemble of them is not one network repeated), and
    torch.manual_seed makes them repeatable, as with torch's own modules."""
    a = lamina.build((8,), in_features=3, out=2)
    b = lamina.build((8,), in_features=3, out=2)
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    torch.manual_seed(5)
    c = lamina.build((8,), in_features=3, out=2)
    torch.manual_seed(5)
    d = lamina.build((8,), in_features=3, out=2)
    assert all(torch.equal(p, q) for p, q in zip(c.parameters(), d.parameters()))


def test_sklearn_init_bounds() -> None:
    net = lamina.build("50:sigmoid:init=sklearn", in_features=30, out=1, seed=0)
    bound = (2.0 / (30 + 50)) ** 0.5
    w, b = net.hidden[0].linear.weight, net.hidden[0].linear.bias
    assert float(w.abs().max()) <= bound and float(b.abs().max()) <= bound
    assert float(w.abs().max()) > 0.9 * bound


def test_dense_stack_only_for_plain_dense_nets() -> None:
    plain = lamina.build("8:tanh:dropout=0.2-4", in_features=3, out=2)
    steps = plain.dense_stack()
    assert steps is not None and [s.activation for s in steps] == ["tanh", "relu", "identity"]
    assert steps[0].dropout == 0.2 and steps[0].weight is plain.hidden[0].linear.weight
    assert lamina.build("8:norm=batch", in_features=3, out=2).dense_stack() is None
    assert lamina.build((8,), in_features=3, out=None).dense_stack() is None


def test_norm_layers_present() -> None:
    net = lamina.build("8:norm=batch-8:norm=layer", in_features=3, out=2)
    assert isinstance(net.hidden[0], DenseLayer)
    assert isinstance(net.hidden[0].norm, torch.nn.BatchNorm1d)
    assert isinstance(net.hidden[1].norm, torch.nn.LayerNorm)


def test_config_round_trip() -> None:
    net = lamina.build("8:tanh-4:gelu:dropout=0.1", in_features=3, out=2)
    again = lamina.HiddenNet.from_config(net.config())
    assert again.spec == net.spec and again.in_shape == net.in_shape and again.out == 2


def test_width_that_cannot_fit_is_refused_before_allocating() -> None:
    with pytest.raises(ParameterError) as info:
        lamina.build((1_000_000, 1_000_000), in_features=100_000, out=10)
    msg = str(info.value)
    assert "TiB" in msg and "available" in msg and "narrower" in msg


def test_cuda_without_gpu_is_a_clear_error() -> None:
    if torch.cuda.is_available():  # on a GPU machine, ask for a GPU that is not there
        with pytest.raises(ParameterError, match="device='cuda:99'.*GPU"):
            lamina.build((4,), in_features=2, out=1, device="cuda:99")
    else:
        with pytest.raises(ParameterError, match="device='cuda'.*no GPU.*device='cpu'"):
            lamina.build((4,), in_features=2, out=1, device="cuda")


def test_missing_input_size() -> None:
    with pytest.raises(ParameterError, match="in_features=N"):
        lamina.build((4,))
