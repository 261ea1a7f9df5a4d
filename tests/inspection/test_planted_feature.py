"""A unit wired to fire on one class only must be found by the census, its top examples and its
ablation; real data (digits) with fixed seeds and floors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import lamina
from lamina.inspection import inspect

PLANTED = 2


def planted_problem(n_per_class: int = 150, seed: int = 0):
    """4 classes; class c raises feature c to ~3. hidden.0 units 0-3 detect one class each,
    units 4-9 are random distractors that the head ignores."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(4), n_per_class)
    X = 0.3 * rng.normal(size=(len(y), 6))
    X[np.arange(len(y)), y] += 3.0
    perm = rng.permutation(len(y))
    X, y = X[perm], y[perm]
    net = lamina.build((10,), in_features=6, out=4, seed=seed, dtype="float64")
    with torch.no_grad():
        w = torch.zeros(10, 6, dtype=torch.float64)
        w[:4, :4] = torch.eye(4)
        w[4:] = torch.as_tensor(rng.normal(size=(6, 6)))
        net.hidden[0].linear.weight.copy_(w)
        net.hidden[0].linear.bias.copy_(torch.tensor([-1.5] * 4 + [0.0] * 6))
        head = torch.zeros(4, 10, dtype=torch.float64)
        head[:, :4] = 4 * torch.eye(4)
        net.head.weight.copy_(head)
        net.head.bias.copy_(torch.tensor([0.1, 0.0, 0.0, 0.0]))   # ties go to class 0
    return net, X, y


def test_planted_unit_top_examples_are_its_class():
    net, X, y = planted_problem()
    ins = inspect(net, X, y, batch_size=64, top_k=20)
    top = ins.top_examples("hidden.0", PLANTED)
    assert len(top.indices) == 20
    assert set(y[top.indices]) == {PLANTED}
    u = ins.units.set_index("unit")
    # it fires on (nearly) every example of its class and nothing else
    assert u.loc[PLANTED, "frac_active"] == pytest.approx(0.25, abs=0.01)
    assert not u.loc[PLANTED, "dead"]


def test_ablating_the_planted_unit_hurts_only_its_class():
    net, X, y = planted_problem()
    ins = inspect(net, X, y)
    table = ins.ablate(X, y).set_index("unit")
    assert table.attrs["base_score"] == 1.0
    planted = table.loc[PLANTED]
    assert planted["delta_recall[2]"] == pytest.approx(-1.0)
    for c in (0, 1, 3):
        assert planted[f"delta_recall[{c}]"] == 0.0
    assert planted["delta_score"] == pytest.approx(-0.25)
    assert planted["delta_loss"] > 0.25 * np.log(4) * 0.9      # class-2 rows now guess 1 of 4
    # the distractors (ignored by the head) change nothing
    assert np.allclose(table.loc[4:, "delta_loss"], 0.0)
    assert table["delta_loss"].idxmax() in range(4)


def test_digits_probe_floor_and_ablation_matches_brute_force():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    torch.manual_seed(0)
    net = lamina.build((48, 24), in_features=64, out=10, seed=0)
    opt = torch.optim.Adam(net.parameters(), lr=2e-2)
    xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    for _ in range(60):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(xt), yt).backward()
        opt.step()
    ins = inspect(net, X, y, sample_size=1797)
    probe = ins.probe().set_index("layer")
    assert list(probe.index) == ["input", "hidden.0", "hidden.1"]
    assert probe.loc["hidden.1", "score"] >= 0.9
    assert probe.loc["input", "baseline"] < 0.2
    table = ins.ablate(X, y)
    # brute force: zero one unit with a hook, one full forward per unit
    for layer, unit in (("hidden.0", 5), ("hidden.1", 7)):
        module = dict(net.named_modules())[layer]

        def zero(mod, args, out, unit=unit):
            out = out.clone()
            out[:, unit] = 0
            return out
        handle = module.register_forward_hook(zero)
        try:
            with torch.no_grad():
                logits = net(xt)
        finally:
            handle.remove()
        loss = float(torch.nn.functional.cross_entropy(logits, yt))
        acc = float((logits.argmax(1) == yt).double().mean())
        row = table[(table["layer"] == layer) & (table["unit"] == unit)].iloc[0]
        assert row["loss"] == pytest.approx(loss, rel=1e-4)
        assert row["score"] == pytest.approx(acc)
