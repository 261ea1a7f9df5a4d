"""The statistics pass reads each batch in row chunks and takes group maxima for the top-k heaps:
with chunks and groups far smaller than a batch (several per batch, short last ones) every
statistic must equal a direct computation over all rows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
import lamina.inspection._stats as stats_module


@pytest.mark.parametrize("chunk", [1, 40, 2 ** 17])
def test_chunked_statistics_equal_direct(monkeypatch, chunk):
    monkeypatch.setattr(stats_module, "_CHUNK_ELEMENTS", chunk)
    monkeypatch.setattr(stats_module, "_GROUP", 3)
    net = lamina.build("6:tanh-5:relu-4:sigmoid", in_features=3, out=2, seed=0,
                       dtype="float64")
    X = np.random.default_rng(0).normal(size=(500, 3)) * 2
    ins = lamina.inspect(net, X, batch_size=70, top_k=4)
    acts = {}
    handles = [net.hidden[i].register_forward_hook(
        lambda m, a, out, i=i: acts.__setitem__(i, out.detach().numpy())) for i in range(3)]
    try:
        with torch.no_grad():
            net.eval()(torch.as_tensor(X))
    finally:
        for h in handles:
            h.remove()
    units = ins.units
    for i in range(3):
        a = acts[i]
        rows = units[units["layer"] == f"hidden.{i}"]
        np.testing.assert_allclose(rows["mean"], a.mean(0), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(rows["std"], a.std(0), rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(rows["min"], a.min(0))
        np.testing.assert_allclose(rows["max"], a.max(0))
        np.testing.assert_allclose(rows["mean_abs"], np.abs(a).mean(0), rtol=1e-10)
        np.testing.assert_allclose(rows["frac_active"], (a > 0).mean(0))
        for u in range(a.shape[1]):
            top = ins.top_examples(f"hidden.{i}", u)
            # values as a global sort's; rows that hold them (ReLU zeros tie: any such rows)
            np.testing.assert_array_equal(top.values, np.sort(a[:, u])[::-1][:4])
            np.testing.assert_array_equal(top.low_values, np.sort(a[:, u])[:4])
            np.testing.assert_array_equal(a[top.indices, u], top.values)
            np.testing.assert_array_equal(a[top.low_indices, u], top.low_values)
            assert len(set(top.indices)) == len(set(top.low_indices)) == 4
    sat = units[units["layer"] == "hidden.0"]["saturated"]
    np.testing.assert_allclose(sat, (np.abs(acts[0]) > 0.99).mean(0))
