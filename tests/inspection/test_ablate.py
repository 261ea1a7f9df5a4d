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


@pytest.mark.parametrize("spec", ["5:relu-4:tanh", "5-4:norm=batch", "5:sigmoid-4:gelu:dropout=0.5",
                                  "5-4:bias=false", "6-5:elu-4"])
def test_layer_before_another_equals_brute_force(spec):
    # the unit-at-a-time path through the next layer: direct logits (tanh, GELU, no bias) and
    # through a norm, dropout (eval) or more layers
    net = lamina.build(spec, in_features=3, out=3, seed=1, dtype="float64")
    X = np.random.default_rng(2).normal(size=(50, 3))
    y = np.arange(50) % 3
    if "batch" in spec:            # running statistics that are not the identity
        net.train()
        with torch.no_grad():
            net(torch.as_tensor(X * 2 + 1))
    table = inspect(net, X, y).ablate(X, y, batch_size=16)
    for index, layer in enumerate(net.hidden[:-1]):
        name, width = f"hidden.{index}", layer.linear.out_features
        got = table[table["layer"] == name]["loss"].to_numpy()
        np.testing.assert_allclose(got, brute_force(net, name, width, X, y), rtol=1e-10)


def test_conv_hidden_net_masked_path():
    net = lamina.build("conv(3,3)-pool-dense(4)", in_shape=(1, 6, 6), out=2, seed=0,
                       dtype="float64")
    X = np.random.default_rng(1).normal(size=(30, 1, 6, 6))
    y = np.arange(30) % 2
    table = inspect(net, X, y).ablate(X, y, layers=["hidden.0"])
    np.testing.assert_allclose(table["loss"], brute_force(net, "hidden.0", 3, X, y), rtol=1e-10)


class _Wrapped(nn.Module):
    """Not an nn.Sequential: ablated through forward hooks."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 5), nn.Tanh())
        self.out = nn.Linear(5, 2)

    def forward(self, x):
        return self.out(self.body(x))


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


def test_hook_path_for_other_modules(monkeypatch):
    import lamina.inspection._ablate as ablate_module
    model = _Wrapped().double()
    X = np.random.default_rng(4).normal(size=(40, 3))
    y = np.arange(40) % 2
    called = []
    real = ablate_module._ablate_hooked
    monkeypatch.setattr(ablate_module, "_ablate_hooked",
                        lambda *a, **k: called.append(1) or real(*a, **k))
    table = inspect(model, X, y).ablate(X, y, layers=["body.1"])
    assert called
    np.testing.assert_allclose(table["loss"], brute_force(model, "body.1", 5, X, y), rtol=1e-10)


@pytest.mark.parametrize("build", [
    lambda: nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 5), nn.ReLU(),
                          nn.Linear(5, 3)),                            # rank-1, direct logits
    lambda: nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 5), nn.LayerNorm(5),
                          nn.GELU(), nn.Dropout(0.3), nn.Linear(5, 4), nn.Linear(4, 3)),
    lambda: nn.Sequential(nn.Linear(3, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(6, 3)),                            # masked copies
], ids=["mlp", "norm-and-two-linears", "dropout-first"])
def test_sequential_runs_only_the_modules_after_the_layer(monkeypatch, build):
    import lamina.inspection._ablate as ablate_module
    torch.manual_seed(0)
    model = build().double()
    X = np.random.default_rng(5).normal(size=(60, 3))
    y = np.arange(60) % 3
    model.train()
    with torch.no_grad():
        model(torch.as_tensor(X) + 1)              # batch-norm statistics that are not 0/1
    monkeypatch.setattr(ablate_module, "_ablate_hooked",
                        lambda *a, **k: pytest.fail("the hook path ran"))
    ins = inspect(model, X, y)
    table = ins.ablate(X, y, batch_size=16)
    layers = table["layer"].unique()
    assert len(layers) >= 1
    for name in layers:
        got = table[table["layer"] == name]["loss"].to_numpy()
        np.testing.assert_allclose(got, brute_force(model, name, len(got), X, y), rtol=1e-10)


def test_sequential_with_in_place_modules():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(3, 6), nn.LeakyReLU(0.2, inplace=True), nn.Linear(6, 4),
                          nn.ReLU(inplace=True), nn.Linear(4, 3)).double()
    X = np.random.default_rng(7).normal(size=(50, 3))
    y = np.arange(50) % 3
    table = inspect(model, X, y).ablate(X, y, layers=["0", "1", "3"], batch_size=16)
    for name, width in (("0", 6), ("1", 6), ("3", 4)):
        got = table[table["layer"] == name]["loss"].to_numpy()
        np.testing.assert_allclose(got, brute_force(model, name, width, X, y), rtol=1e-10)


def test_sequential_conv_masked_copies():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(),
                          nn.Linear(3 * 4 * 4, 2)).double()
    X = np.random.default_rng(6).normal(size=(30, 1, 6, 6))
    y = np.arange(30) % 2
    table = inspect(model, X, y).ablate(X, y, layers=["1"])
    np.testing.assert_allclose(table["loss"], brute_force(model, "1", 3, X, y), rtol=1e-10)


# ---------------------------------------------------------------- per-example loss / correctness
@pytest.mark.parametrize("n_classes", [2, 10, 64, 65, 300])
@pytest.mark.parametrize("layout", ["rows", "class_major"])
def test_example_loss_and_correct_equal_torch(n_classes, layout):
    """The class-major fast path (<= 64 classes) gives F.cross_entropy's losses and argmax's
    decisions, first index on ties included, for row-major and class-major outputs."""
    from lamina.inspection._targets import Task, correct, example_loss, loss_and_correct

    gen = torch.Generator().manual_seed(n_classes)
    z = torch.randn(500, n_classes, generator=gen, dtype=torch.float64)
    z[:50] = z[:50].round()                 # many ties between classes
    z[50:60] = 0.0                          # every class tied: argmax says class 0
    t = torch.randint(0, n_classes, (500,), generator=gen)
    t[50:55], t[55:60] = 0, n_classes - 1
    out = z if layout == "rows" else z.T.contiguous().T      # same values, class-major memory
    task = Task("classification", "cross_entropy", np.arange(n_classes), n_classes)
    want_loss = nn.functional.cross_entropy(z, t, reduction="none")
    want_ok = (z.argmax(1) == t).double()
    torch.testing.assert_close(example_loss(task, out, t), want_loss, rtol=0, atol=1e-12)
    assert torch.equal(correct(task, out, t), want_ok)
    loss, ok = loss_and_correct(task, out, t)
    torch.testing.assert_close(loss, want_loss, rtol=0, atol=1e-12)
    assert torch.equal(ok, want_ok)
    assert want_ok[50:55].sum() == 5 and want_ok[55:60].sum() == 0


def test_example_loss_keeps_nan_rows_nan():
    from lamina.inspection._targets import Task, correct, example_loss

    z = torch.tensor([[0.0, 1.0, 2.0], [float("nan"), 0.0, 1.0]])
    t = torch.tensor([2, 2])
    task = Task("classification", "cross_entropy", np.arange(3), 3)
    loss = example_loss(task, z, t)
    assert torch.isfinite(loss[0]) and torch.isnan(loss[1])
    assert correct(task, z, t).tolist() == [1.0, 0.0]
