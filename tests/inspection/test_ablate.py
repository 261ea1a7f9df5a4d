"""Batched ablation equals zeroing one unit at a time, on every code path."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import lamina
from lamina.inspection import inspect


def brute_force(model, layer, width, X, y, axis=1, regression=False):
    module = dict(model.named_modules())[layer]
    xt = torch.as_tensor(X)
    rows = []
    for unit in range(width):
        def zero(mod, args, out, unit=unit):
            out = out.clone()
            index = [slice(None)] * out.dim()
            index[axis] = unit
            out[tuple(index)] = 0
            return out
        handle = module.register_forward_hook(zero)
        try:
            model.eval()
            with torch.no_grad():
                out = model(xt)
        finally:
            handle.remove()
        if regression:
            rows.append(float(((out - torch.as_tensor(y).reshape(out.shape)) ** 2).mean()))
        else:
            rows.append(float(torch.nn.functional.cross_entropy(out, torch.as_tensor(y))))
    return np.array(rows)


def test_dense_hidden_net_rank_one_path():
    net = lamina.build("6:tanh-5:relu:norm=layer-4", in_features=3, out=3, seed=0,
                       dtype="float64")
    X = np.random.default_rng(0).normal(size=(70, 3))
    y = np.arange(70) % 3
    table = inspect(net, X, y).ablate(X, y, batch_size=32)
    for layer, width in (("hidden.0", 6), ("hidden.1", 5), ("hidden.2", 4)):
        got = table[table["layer"] == layer]["loss"].to_numpy()
        np.testing.assert_allclose(got, brute_force(net, layer, width, X, y), rtol=1e-10)


def test_conv_hidden_net_masked_path():
    net = lamina.build("conv(3,3)-pool-dense(4)", in_shape=(1, 6, 6), out=2, seed=0,
                       dtype="float64")
    X = np.random.default_rng(1).normal(size=(30, 1, 6, 6))
    y = np.arange(30) % 2
    table = inspect(net, X, y).ablate(X, y, layers=["hidden.0"])
    np.testing.assert_allclose(table["loss"], brute_force(net, "hidden.0", 3, X, y), rtol=1e-10)


def test_generic_module_hook_path_and_regression():
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    X = np.random.default_rng(2).normal(size=(40, 3))
    y = np.random.default_rng(3).normal(size=(40, 2))
    ins = inspect(model, X, y)
    table = ins.ablate(X, y)
    assert table.attrs["metric"] == "r2"
    np.testing.assert_allclose(table["loss"], brute_force(model, "1", 5, X, y, regression=True),
                               rtol=1e-10)
    sse = ((model(torch.as_tensor(X)).detach().numpy() - y) ** 2).sum()
    assert table.attrs["base_score"] == pytest.approx(1 - sse / ((y - y.mean(0)) ** 2).sum())
    assert "ablation" in ins.results
