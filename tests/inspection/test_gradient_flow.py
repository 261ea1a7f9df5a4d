"""Gradient flow: per-unit gradients against per-example autograd, vanishing/exploding flags."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import lamina
from lamina.inspection import inspect


def test_unit_gradients_match_per_example_autograd():
    net = lamina.build("3:tanh-2:relu", in_features=2, out=3, seed=4, dtype="float64")
    X = np.random.default_rng(0).normal(size=(12, 2))
    y = np.arange(12) % 3
    flow = inspect(net, X, y).gradient_flow(X, y, batch_size=5)
    assert all(p.grad is None for p in net.parameters())     # the user's .grad is untouched
    expect = np.zeros(3)
    weight = np.zeros((3, 2))
    for x_i, y_i in zip(X, y):
        h = net.hidden[0](torch.as_tensor(x_i[None]))
        h.retain_grad()
        out = net.head(net.hidden[1](h))
        loss = torch.nn.functional.cross_entropy(out, torch.as_tensor([y_i]))
        net.zero_grad()
        loss.backward()
        expect += h.grad[0].numpy() ** 2
        weight += net.hidden[0].linear.weight.grad.numpy() / len(X)
    units = flow.units[flow.units["layer"] == "hidden.0"]
    np.testing.assert_allclose(units["grad_rms"], np.sqrt(expect / len(X)), rtol=1e-10)
    np.testing.assert_allclose(units["weight_grad_norm"], np.linalg.norm(weight, axis=1),
                               rtol=1e-10)
    assert flow.layers["layer"].tolist() == ["hidden.0", "hidden.1"]
    assert flow.layers["ratio"].iloc[-1] == 1.0


def test_deep_sigmoid_network_is_flagged_vanishing():
    torch.manual_seed(0)
    net = lamina.build("16:sigmoid-" * 11 + "16:sigmoid", in_features=4, out=2, seed=0)
    X = np.random.default_rng(1).normal(size=(200, 4))
    y = (X[:, 0] > 0).astype(int)
    ins = inspect(net, X, y)
    flow = ins.gradient_flow(X, y)
    assert flow.layers["vanishing"].iloc[0]
    assert not flow.layers["vanishing"].iloc[-1]
    assert flow.layers["ratio"].iloc[0] < 1e-3
    assert "vanishing gradient" in set(ins.problems()["problem"])
    shallow = lamina.build("16:relu", in_features=4, out=2, seed=0)
    assert flow.vanishing and not inspect(shallow, X, y).gradient_flow(X, y).vanishing


def test_growing_gradients_are_flagged_exploding():
    layers = []
    for _ in range(10):
        lin = nn.Linear(8, 8, bias=False)
        with torch.no_grad():
            lin.weight.copy_(2.0 * torch.eye(8))
        layers += [lin, nn.LeakyReLU(1.0)]           # identity-like activation, still a tap
    model = nn.Sequential(*layers, nn.Linear(8, 2))
    X = np.abs(np.random.default_rng(2).normal(size=(32, 8))).astype(np.float32)
    y = np.arange(32) % 2
    flow = inspect(model, X, y).gradient_flow(X, y)
    assert flow.layers["exploding"].iloc[0]
    assert flow.layers["ratio"].iloc[0] == pytest.approx(2.0 ** 9, rel=1e-4)
    assert flow.exploding[0] == "1"


def test_dead_units_have_zero_weight_gradient():
    net = lamina.build((4,), in_features=2, out=2, seed=0, dtype="float64")
    with torch.no_grad():
        net.hidden[0].linear.bias.copy_(torch.tensor([0.0, 0.0, -100.0, 0.0]))
    X = np.random.default_rng(3).normal(size=(20, 2))
    y = np.arange(20) % 2
    ins = inspect(net, X, y)
    flow = ins.gradient_flow(X, y)
    assert ins.units.loc[2, "dead"]
    assert flow.units.loc[2, "weight_grad_norm"] == 0.0
    assert flow.layers.loc[0, "zero_grad_units"] == 1
    with pytest.raises(lamina.ParameterError, match=r"Invalid vanishing=0"):
        ins.gradient_flow(X, y, vanishing=0)


def test_dead_units_of_a_plain_torch_activation_layer_are_counted():
    """Acceptance review: an nn.ReLU has no weights of its own, and its dead units still get a
    gradient at their output, so zero_grad_units said 0 for 5 dead units; it reads the
    gradient at the activation's input, which is what the preceding weights learn from."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)).double()
    with torch.no_grad():
        model[0].bias[:3] = -100.0                       # three units never fire
    X = np.random.default_rng(4).normal(size=(40, 6))
    y = np.arange(40) % 3
    ins = inspect(model, X, y)
    flow = ins.gradient_flow(X, y)
    assert list(ins.units["dead"]).count(True) == 3
    model.zero_grad()
    F.cross_entropy(model(torch.from_numpy(X)), torch.from_numpy(y)).backward()
    zero_rows = int((model[0].weight.grad.abs().sum(1) == 0).sum())
    assert flow.layers["zero_grad_units"].tolist() == [zero_rows] == [3]
    # the unit gradients stay those at the layer's output (dead units' included: non-zero)
    assert (flow.units["grad_rms"].to_numpy() > 0).all()
