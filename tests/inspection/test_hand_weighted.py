"""Per-unit statistics of hand-weighted networks, checked against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import lamina
from lamina.inspection import inspect


def test_dense_units_by_hand(hand):
    net, X = hand
    ins = inspect(net, X, batch_size=2, top_k=5)
    u = ins.units.set_index(["layer", "unit"])
    # hidden.0: u0 = x0 = [1, 3, 0, 2, 4], u1 = x1 = [2, 0, 1, 2, 1], u2 = 0
    assert u.loc[("hidden.0", 0), "mean"] == pytest.approx(2.0)
    assert u.loc[("hidden.0", 0), "std"] == pytest.approx(math.sqrt(2.0))
    assert u.loc[("hidden.0", 1), "mean"] == pytest.approx(1.2)
    assert u.loc[("hidden.0", 1), "std"] == pytest.approx(math.sqrt(0.56))
    assert (u.loc[("hidden.0", 0), "min"], u.loc[("hidden.0", 0), "max"]) == (0.0, 4.0)
    assert u.loc[("hidden.0", 0), "frac_active"] == pytest.approx(0.8)
    assert u.loc[("hidden.0", 1), "frac_active"] == pytest.approx(0.8)
    assert list(u.loc["hidden.0", "dead"]) == [False, False, True]
    assert u.loc[("hidden.0", 2), "frac_active"] == 0.0
    # relu units are never "saturated": the column does not apply
    assert np.isnan(u.loc[("hidden.0", 0), "saturated"])
    # hidden.1: v0 = tanh([1, 3, 0, 2, 4]) -> 2 of 5 beyond 0.99; v1 = tanh(3) everywhere
    v0 = np.tanh([1.0, 3.0, 0.0, 2.0, 4.0])
    assert u.loc[("hidden.1", 0), "mean"] == pytest.approx(v0.mean())
    assert u.loc[("hidden.1", 0), "saturated"] == pytest.approx(0.4)
    assert u.loc[("hidden.1", 1), "saturated"] == pytest.approx(1.0)
    assert list(u.loc["hidden.1", "dead"]) == [False, True]     # a constant tanh unit is dead
    layers = ins.layers.set_index("layer")
    assert layers.loc["hidden.0", "dead_pct"] == pytest.approx(100 / 3)
    assert layers.loc["hidden.1", "saturated_pct"] == pytest.approx(70.0)
    assert layers.loc["hidden.0", "width"] == 3


def test_top_examples_by_hand(hand):
    net, X = hand
    ins = inspect(net, X, batch_size=2, top_k=3)
    top = ins.top_examples("hidden.0", 0)
    assert top.indices.tolist() == [4, 1, 3]                  # x0 = 4, 3, 2
    assert top.values.tolist() == [4.0, 3.0, 2.0]
    assert top.low_indices.tolist() == [2, 0, 3]              # x0 = 0, 1, 2
    assert not top.constant
    dead = ins.top_examples("hidden.0", 2)                     # u2 = 0 on every row
    assert dead.constant and dead.values.tolist() == [0.0, 0.0, 0.0]
    assert ins.top_examples("hidden.1", 1).constant            # tanh(3) on every row
    assert ins.top_examples("hidden.0", 1, k=2).indices.tolist() in ([0, 3], [3, 0])
    with pytest.raises(lamina.ParameterError, match=r"Invalid k=5: between 1 and top_k=3"):
        ins.top_examples("hidden.0", 0, k=5)
    with pytest.raises(lamina.ParameterError, match=r"Invalid unit=3: layer 'hidden.0' has "
                                                     r"units 0..2"):
        ins.top_examples("hidden.0", 3)


def test_quantiles_by_hand(hand):
    net, X = hand
    u = inspect(net, X).units.set_index(["layer", "unit"])
    # u1 = [2, 0, 1, 2, 1]: 20 % exact zeros, so the 5 % quantile is exactly 0
    assert u.loc[("hidden.0", 1), "q05"] == 0.0
    # every quantile is within one bin (range 4 / 128 bins, rounded up to a power of two)
    exact = np.quantile([1.0, 3.0, 0.0, 2.0, 4.0], [0.25, 0.5, 0.75], method="inverted_cdf")
    got = u.loc[("hidden.0", 0), ["q25", "q50", "q75"]].to_numpy(float)
    assert np.all(np.abs(got - exact) <= 2 ** -4)


def test_streaming_does_not_depend_on_batching():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(700, 5))
    net = lamina.build("16:tanh-8:relu", in_features=5, out=3, seed=1)
    a = inspect(net, X, batch_size=700, sketch_rows=None)
    b = inspect(net, X, batch_size=37, sketch_rows=None)
    cols = ["mean", "std", "min", "max", "frac_active", "saturated"]
    np.testing.assert_allclose(a.units[cols].to_numpy(float), b.units[cols].to_numpy(float),
                               rtol=1e-5, atol=1e-5)
    # quantiles depend on the grid the sketch grew into: equal within a couple of bins
    width = (a.units["max"] - a.units["min"]).to_numpy(float) / 128 * 2
    assert np.all(np.abs(a.units["q50"] - b.units["q50"]).to_numpy(float) <= 2 * width + 1e-9)
    # same seed, same rows: the reservoir sample does not depend on batching
    np.testing.assert_array_equal(a.sample_index, b.sample_index)
    assert a.top_examples("hidden.1", 3).indices.tolist() == \
        b.top_examples("hidden.1", 3).indices.tolist()


def test_moments_match_numpy_on_large_offsets():
    """Shifted sums keep mean/std exact for units with a large mean and a small spread."""
    class Offset(nn.Module):
        def forward(self, x):
            return 1000.0 + 0.01 * x
    model = nn.Sequential(Offset())
    X = np.random.default_rng(1).normal(size=(5000, 3)).astype(np.float32)
    ins = inspect(model, X, layers=["0"], batch_size=256)
    expect = 1000.0 + 0.01 * X.astype(np.float64)
    np.testing.assert_allclose(ins.units["mean"], expect.mean(0), rtol=1e-7)
    np.testing.assert_allclose(ins.units["std"], expect.std(0), rtol=1e-3)


def test_non_finite_activations_are_counted_per_unit_not_a_crash():
    class Log(nn.Module):
        def forward(self, x):
            return torch.log(x)                    # NaN for x < 0, -inf for 0
    model = nn.Sequential(Log())
    X = np.array([[1.0, -1.0], [np.e, 2.0], [0.0, 4.0], [1.0, 8.0]])
    ins = inspect(model, X, layers=["0"], batch_size=3)
    u = ins.units
    assert u["nonfinite"].tolist() == [1, 1]
    assert u.loc[0, "mean"] == pytest.approx(np.mean([0.0, 1.0, 0.0]))
    assert u.loc[1, "max"] == pytest.approx(np.log(8.0))
    assert u.loc[1, "min"] == pytest.approx(np.log(2.0))
    assert ins.top_examples("0", 1).indices.tolist() == [3, 2, 1]
    assert ins.layers.loc[0, "nonfinite"] == 2
    problems = ins.problems()
    assert "non-finite activations" in set(problems["problem"])


def test_conv_units_are_channels_pooled_over_positions():
    net = lamina.build("conv(4,3)-dense(5)", in_shape=(1, 8, 8), out=2, seed=0)
    X = np.random.default_rng(0).normal(size=(40, 1, 8, 8)).astype(np.float32)
    ins = inspect(net, X, batch_size=16)
    with torch.no_grad():
        h = net.hidden[0](torch.as_tensor(X))               # (40, 4, 6, 6)
    pooled = h.mean((2, 3)).double().numpy()
    u = ins.units[ins.units["layer"] == "hidden.0"]
    np.testing.assert_allclose(u["mean"], pooled.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(u["std"], pooled.std(0), rtol=1e-4, atol=1e-6)
    # fraction active counts every (example, position)
    np.testing.assert_allclose(u["frac_active"], (h > 0).double().mean((0, 2, 3)).numpy())
    assert ins.layers.loc[0, "shape"] == "4x6x6"
    assert ins.layers.loc[0, "kind"] == "conv"
