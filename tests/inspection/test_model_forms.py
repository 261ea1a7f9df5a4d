"""Model forms beyond one tensor in, one tensor out: multi-batch CKA of model pairs, tuple and
dict outputs, bfloat16 models, a module called twice per forward, recurrent layers read through
their final states, and the row order of a constant unit's top examples."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import lamina
from lamina._errors import DataError, ParameterError
from lamina.inspection import inspect
from lamina.inspection._targets import model_output


def _data(n: int = 120, d: int = 6, classes: int = 2, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype("float32")
    y = rng.integers(0, classes, size=n)
    return X, y


# ---------------------------------------------------------------- B1: CKA over several batches
def _hidden(model: nn.Module, layer: str, X: np.ndarray) -> np.ndarray:
    got = {}
    module = dict(model.named_modules())[layer]
    handle = module.register_forward_hook(lambda m, a, o: got.__setitem__("h", o))
    with torch.no_grad():
        model(torch.as_tensor(X))
    handle.remove()
    return got["h"].double().numpy()


def test_cka_of_model_pairs_streams_over_several_batches():
    torch.manual_seed(0)
    X = np.random.default_rng(0).normal(size=(1100, 6)).astype("float32")
    m1 = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))
    m2 = nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 2))
    want = lamina.cka(_hidden(m1, "1", X), _hidden(m2, "1", X))
    got = lamina.cka((m1, "1"), (m2, "1"), X)                 # 2 batches of 1024 rows
    assert got == pytest.approx(want, abs=1e-9)
    small = lamina.cka((m1, "1"), (m2, "1"), X[:400], batch_size=100)
    assert 0.0 < small <= 1.0 + 1e-9
    # two layers of one model, several batches
    assert lamina.cka((m1, "0"), (m1, "1"), X, batch_size=300) == pytest.approx(
        lamina.cka((m1, "0"), (m1, "1"), X, batch_size=300))


# ---------------------------------------------------------------- B2: tuple and dict outputs
class _Net(nn.Module):
    def __init__(self, form: str) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.form = form
        self.l = nn.Linear(6, 5)
        self.a = nn.Tanh()
        self.o = nn.Linear(5, 2)

    def forward(self, x):
        h = self.a(self.l(x))
        out = self.o(h)
        if self.form == "tuple":
            return out, h
        if self.form == "dict":
            return {"logits": out, "h": h}
        return out


@pytest.mark.parametrize("form", ["tuple", "dict"])
def test_tuple_and_dict_outputs_ablate_and_gradient_flow_like_a_plain_output(form):
    X, y = _data()
    plain = _Net("plain")
    other = _Net(form)
    ins_p, ins_o = inspect(plain, X, y), inspect(other, X, y)
    a_p, a_o = ins_p.ablate(X, y), ins_o.ablate(X, y)
    np.testing.assert_allclose(a_o["delta_loss"], a_p["delta_loss"], atol=1e-6)
    g_p, g_o = ins_p.gradient_flow(X, y), ins_o.gradient_flow(X, y)
    np.testing.assert_allclose(g_o.units["grad_rms"], g_p.units["grad_rms"], rtol=1e-6)


def test_model_output_picks_the_first_tensor_or_explains():
    t = torch.zeros(3, 2)
    assert model_output(t) is t
    assert model_output((t, 1)) is t
    assert model_output([{"logits": t, "x": 1}]) is t
    with pytest.raises(DataError, match="first"):
        model_output({"label": "cat"})
    with pytest.raises(DataError, match="not a tensor"):
        model_output(None)
    # acceptance review: {"features": h, "logits": z} read the 32-wide features as the logits
    # (labels 0..9 fit in 32 columns), and every loss was silently wrong
    h = torch.ones(3, 32)
    assert model_output({"features": h, "logits": t}) is t
    assert model_output({"hidden": h, "output": t}) is t
    assert model_output({"z": t}) is t
    with pytest.raises(DataError, match=r"keys 'features', 'z', and none is named as the "
                                        r"predictions \(logits, output, outputs, out, \.\.\.\).*"
                                        r"Name the logits 'logits'"):
        model_output({"features": h, "z": t})


def test_report_of_dict_output_model_and_a_failing_analysis_is_written(tmp_path, monkeypatch):
    X, y = _data()
    model = _Net("dict")
    ins = inspect(model, X, y)
    path = lamina.report(model, ins, tmp_path / "r.html", ablate=True)
    assert path.exists() and "gradient_flow" in ins.results and "ablation" in ins.results

    ins2 = inspect(model, X, y)

    def broken(*args, **kwargs):
        raise AttributeError("something unexpected")
    monkeypatch.setattr(type(ins2), "gradient_flow", broken)
    path = lamina.report(model, ins2, tmp_path / "r2.html")
    text = path.read_text()
    assert "Gradient flow skipped" in text and "AttributeError" in text


# ---------------------------------------------------------------- B5: bfloat16 models
def test_bfloat16_model_is_inspected():
    X, y = _data()
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 8), nn.GELU(), nn.Linear(8, 2)).bfloat16()
    ins = inspect(net, X, y)
    assert ins.sample_x is not None and ins.sample_x.dtype == np.float32
    assert list(ins.layers["layer"]) == ["1"]


# ---------------------------------------------------------------- B4: a module called twice
class _Shared(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.l1 = nn.Linear(6, 5)
        self.l2 = nn.Linear(5, 5)
        self.a = nn.ReLU()
        self.o = nn.Linear(5, 2)

    def forward(self, x, zero: tuple[int, int] | None = None):
        h0 = self.a(self.l1(x))
        if zero is not None and zero[0] == 0:
            h0 = h0.clone()
            h0[:, zero[1]] = 0
        h1 = self.a(self.l2(h0))
        if zero is not None and zero[0] == 1:
            h1 = h1.clone()
            h1[:, zero[1]] = 0
        return self.o(h1)


def test_module_called_twice_is_ablated_and_differentiated_per_call():
    X, y = _data(200)
    m = _Shared()
    ins = inspect(m, X, y)
    assert ins.layer_names == ["a#0", "a#1"]
    df = ins.ablate(X, y)
    assert list(dict.fromkeys(df["layer"])) == ["a#0", "a#1"]
    xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    with torch.no_grad():
        for call in (0, 1):
            want = [float(F.cross_entropy(m(xt, (call, j)), yt)) for j in range(5)]
            np.testing.assert_allclose(df.loc[df["layer"] == f"a#{call}", "loss"], want,
                                       rtol=1e-5)
    only = ins.ablate(X, y, layers="a#1")
    np.testing.assert_allclose(only["loss"], df.loc[df["layer"] == "a#1", "loss"], rtol=1e-6)
    with pytest.raises(ParameterError, match="a#1"):
        ins.ablate(X, y, layers="a#2")
    # acceptance review: inspect(layers="a#1") said "Did you mean 'a'?" without why
    with pytest.raises(ParameterError, match=r"Invalid layers='a#1': a module name: 'a' runs "
                                             r"more than once per forward.*Pass layers='a'; "
                                             r"then pick the call by its label"):
        inspect(m, X, y, layers="a#1")

    gf = ins.gradient_flow(X, y)
    assert list(gf.layers["layer"]) == ["a#0", "a#1"]
    # autograd per example, with respect to each call's output
    outs = []
    hook = m.a.register_forward_hook(lambda mod, a, o: outs.append(o))
    logits = m(xt.requires_grad_(False))
    hook.remove()
    loss = F.cross_entropy(logits, yt, reduction="sum")
    grads = torch.autograd.grad(loss, outs)
    for call, g in enumerate(grads):
        want = (g.double().square().mean(0)).sqrt().numpy()
        got = gf.units.loc[gf.units["layer"] == f"a#{call}", "grad_rms"].to_numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5)


# ---------------------------------------------------------------- B3: recurrent final states
class _ReadsFinal(nn.Module):
    def __init__(self, kind: str, bidirectional: bool = False) -> None:
        super().__init__()
        torch.manual_seed(2)
        cls = {"lstm": nn.LSTM, "gru": nn.GRU}[kind]
        self.kind = kind
        self.rnn = cls(4, 3, batch_first=True, num_layers=2, bidirectional=bidirectional)
        d = 2 if bidirectional else 1
        self.d = d
        self.head = nn.Linear(3 * d, 3)

    def last(self, x):
        out, states = self.rnn(x)
        h = states[0] if self.kind == "lstm" else states
        return torch.cat(list(h[-self.d:]), 1)             # (B, D*H) last layer, fwd first

    def forward(self, x):
        return self.head(self.last(x))


@pytest.mark.parametrize("kind,bidirectional", [("lstm", False), ("gru", True)])
def test_recurrent_layer_read_through_its_final_state(kind, bidirectional):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(90, 5, 4)).astype("float32")
    y = rng.integers(0, 3, size=90)
    m = _ReadsFinal(kind, bidirectional)
    ins = inspect(m, X, y)
    df = ins.ablate(X, y)
    xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    width = 3 * m.d
    with torch.no_grad():
        h = m.last(xt)
        want = []
        for j in range(width):
            hz = h.clone()
            hz[:, j] = 0
            want.append(float(F.cross_entropy(m.head(hz), yt)))
    np.testing.assert_allclose(df["loss"], want, rtol=1e-5)
    assert df["delta_loss"].abs().max() > 1e-4

    gf = ins.gradient_flow(X, y)
    hl = m.last(xt)
    g, = torch.autograd.grad(F.cross_entropy(m.head(hl), yt, reduction="sum"), hl)
    np.testing.assert_allclose(gf.units["grad_rms"], g.double().square().mean(0).sqrt(),
                               rtol=1e-5)
    assert int(gf.layers["zero_grad_units"].iloc[0]) == 0


# ---------------------------------------------------------------- B6: constant unit's rows
def test_constant_unit_top_examples_are_in_row_order():
    X, _ = _data(400)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 3), nn.ReLU(), nn.Linear(3, 2))
    with torch.no_grad():
        net[0].bias[0] = -100.0                         # unit 0 is dead: 0 on every row
    ins = inspect(net, X, batch_size=7)
    top = ins.top_examples("1", 0)
    assert top.constant
    assert list(top.indices) == sorted(top.indices)
    assert list(top.low_indices) == sorted(top.low_indices)


def test_cka_of_a_per_call_layer():
    X, _ = _data(300)
    m = _Shared()
    ins = inspect(m, X)
    s = ins.activations("a#0"), ins.activations("a#1")
    outs = []
    hook = m.a.register_forward_hook(lambda mod, a, o: outs.append(o.detach().double()))
    with torch.no_grad():
        m(torch.as_tensor(X))
    hook.remove()
    assert s[0].shape[0] == 300
    assert lamina.cka((m, "a#1"), (m, "a#0"), X) == pytest.approx(
        lamina.cka(outs[1].numpy(), outs[0].numpy()), abs=1e-9)
    assert lamina.cka((m, "a"), (m, "a#1"), X, batch_size=100) < 0.999
    with pytest.raises(ParameterError, match="a#2"):
        lamina.cka((m, "a#2"), (m, "a"), X)


def test_a_model_on_the_meta_device_is_refused_up_front() -> None:
    import lamina

    with torch.device("meta"):
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    with pytest.raises(lamina.ParameterError, match=r"Invalid model='Sequential': a model with "
                       r"real weights; this one's tensors are on the 'meta' device"):
        lamina.inspect(model, torch.randn(10, 4))
