"""What "dead" means: a unit whose output is constant over the data (it computes nothing). For
ReLU that is "never > 0"; for activations with a negative part (LeakyReLU, ELU, GELU, SiLU, ...)
a unit that is never > 0 but varies is alive. Also: the advice of the dead-units flag, fewer
than 2 rows, encoder/decoder mirrors, and the messages of top_examples and probe."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import lamina
from lamina.inspection import inspect
from lamina.inspection._gradflow import GradientFlow

NEGATIVE_PART = {
    "leaky_relu": lambda: nn.LeakyReLU(0.01), "elu": nn.ELU, "selu": nn.SELU, "gelu": nn.GELU,
    "silu": nn.SiLU, "mish": nn.Mish, "hardswish": nn.Hardswish,
}


def _one_unit_net(act: nn.Module, weight: float, bias: float) -> nn.Sequential:
    net = nn.Sequential(nn.Linear(1, 1), act, nn.Linear(1, 1))
    with torch.no_grad():
        net[0].weight.fill_(weight)
        net[0].bias.fill_(bias)
        net[2].weight.fill_(100.0)
        net[2].bias.zero_()
    return net


X_LINE = np.linspace(0, 3, 200, dtype=np.float32)[:, None]


def _dead_rows(ins) -> pd.DataFrame:
    problems = ins.problems()
    return problems[problems["problem"] == "dead units"]


def test_leaky_relu_unit_never_positive_but_varying_is_not_dead():
    # the tester's repro: outputs 0.01 * (x - 5) over [-0.05, -0.02] drive the output
    net = _one_unit_net(nn.LeakyReLU(0.01), 1.0, -5.0)
    ins = inspect(net, X_LINE, (X_LINE[:, 0] - 5).astype(np.float32))
    u = ins.units.iloc[0]
    assert u["frac_active"] == 0.0                       # still reported separately
    assert u["min"] == pytest.approx(-0.05) and u["max"] == pytest.approx(-0.02)
    assert not u["dead"]
    assert _dead_rows(ins).empty
    assert ins.layers.iloc[0]["dead_pct"] == 0.0


@pytest.mark.parametrize("name", sorted(NEGATIVE_PART))
def test_never_positive_but_varying_units_are_alive_for_every_negative_part_activation(name):
    # inputs in [-1.5, -0.5]: every one of these activations is < 0 there and still varies
    net = _one_unit_net(NEGATIVE_PART[name](), 1.0, -1.5)
    ins = inspect(net, X_LINE / 3)
    u = ins.units.iloc[0]
    assert ins.records[0].activation == name
    assert u["frac_active"] == 0.0 and u["max"] <= 0.0 and u["std"] > 1e-3
    assert not u["dead"], name
    assert _dead_rows(ins).empty


@pytest.mark.parametrize("name", sorted(NEGATIVE_PART))
def test_constant_unit_is_dead_and_advice_never_suggests_its_own_activation(name):
    # zero incoming weight: the unit outputs act(-2) on every row, it computes nothing
    net = _one_unit_net(NEGATIVE_PART[name](), 0.0, -2.0)
    ins = inspect(net, X_LINE)
    assert ins.units.iloc[0]["dead"]
    rows = _dead_rows(ins)
    assert len(rows) == 1
    assert "are constant on these 200 inputs (output never changes)" in rows.iloc[0]["detail"]
    fix = rows.iloc[0]["fix"]
    assert "switch" not in fix.lower() and "LeakyReLU/ELU/GELU" not in fix
    assert "prune" in fix


def test_relu_dead_units_keep_the_never_activate_wording_and_advice():
    net = _one_unit_net(nn.ReLU(), 1.0, -5.0)
    ins = inspect(net, X_LINE)
    assert ins.units.iloc[0]["dead"] and ins.units.iloc[0]["frac_active"] == 0.0
    row = _dead_rows(ins).iloc[0]
    assert row["detail"] == "1 of 1 units (100 %) never activate on these 200 inputs (output " \
                            "always 0)"
    assert row["severity"] == "high" and "switch to LeakyReLU/ELU/GELU" in row["fix"]


def test_tiny_but_varying_units_are_not_dead_a_rounding_level_one_is():
    # the criterion is relative: a layer whose whole signal is ~1e-8 is alive; a unit that
    # varies 1e9 x less than its layer's units (or only by float rounding) is constant
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1e-8, 0.0], [0.0, 1e-8], [1e-17, 0.0]]))
        net[0].bias.zero_()
    ins = inspect(net, X, layers=["1"])
    assert ins.units["dead"].tolist() == [False, False, True]
    # a unit that is constant up to rounding (tanh(3) +- an ulp) is dead too
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1e-16, 0.0]]))
        net[0].bias.copy_(torch.tensor([0.0, 0.0, 3.0]))
    assert inspect(net, X, layers=["1"]).units["dead"].tolist() == [False, False, True]


def test_threshold_is_not_treated_as_relu():
    # nn.Threshold(0.5, -1): inactive outputs are -1, not 0 - the ReLU shortcuts must not apply
    net = nn.Sequential(nn.Linear(1, 1), nn.Threshold(0.5, -1.0), nn.Linear(1, 1))
    with torch.no_grad():
        net[0].weight.fill_(1.0)
        net[0].bias.zero_()
    ins = inspect(net, X_LINE, layers=["1"])
    u = ins.units.iloc[0]
    assert u["min"] == -1.0 and u["max"] == pytest.approx(3.0)
    assert ins.records[0].activation == "threshold"
    y = np.where(X_LINE[:, 0] > 0.5, X_LINE[:, 0], -1.0)
    assert u["mean"] == pytest.approx(y.mean()) and u["mean_abs"] == pytest.approx(
        np.abs(y).mean())


def test_one_row_inspection_calls_nothing_dead_and_says_why():
    X = np.random.default_rng(0).random((1, 1, 8, 8)).astype(np.float32)
    net = lamina.build("conv(8,3,1,same)-pool-16:tanh", in_shape=(1, 8, 8), out=3, seed=0)
    ins = inspect(net, X)
    assert not ins.units["dead"].any()
    problems = ins.problems()
    assert "dead units" not in set(problems["problem"])
    note = problems[problems["problem"] == "too few rows"]
    assert len(note) == 1 and note.iloc[0]["severity"] == "low"
    assert "only 1 input inspected: with fewer than 2 no unit" in note.iloc[0]["detail"]
    # two rows are enough to call a constant unit dead again
    net2 = _one_unit_net(nn.Tanh(), 0.0, 1.0)
    assert inspect(net2, X_LINE[:2]).units["dead"].all()
    assert "too few rows" not in set(inspect(net2, X_LINE[:2]).problems()["problem"])


class _Mirror(nn.Module):
    """A linear autoencoder of rank-2 data whose decoder's hidden layer reproduces the
    encoder's exactly (CKA 1 across the bottleneck)."""

    def __init__(self, first: str = "encoder", second: str = "decoder") -> None:
        super().__init__()
        enc = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
        dec = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 4))
        with torch.no_grad():
            enc[0].weight.copy_(torch.eye(4))
            enc[2].weight.copy_(torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 0, 0]]))
            dec[0].weight.copy_(torch.tensor([[1.0, 0], [0, 1.0], [1.0, 0], [0, 1.0]]))
            dec[2].weight.copy_(torch.eye(4))
            for lin in (enc[0], enc[2], dec[0], dec[2]):
                lin.bias.zero_()
        self.names = (first, second)
        setattr(self, first, enc)
        setattr(self, second, dec)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self, self.names[1])(getattr(self, self.names[0])(x))


def test_layers_across_an_encoder_decoder_split_are_not_redundant():
    z = np.random.default_rng(0).random((200, 2)).astype(np.float32) + 0.1
    X = np.concatenate([z, z], axis=1)                       # rank 2, positive
    ins = inspect(_Mirror(), X)
    assert ins.layer_names == ["encoder.1", "decoder.1"]
    assert ins.cka().loc["encoder.1", "decoder.1"] > 0.999
    assert "redundant layer" not in set(ins.problems()["problem"])
    # the split is found from the model's structure (output shaped like the input, a narrower
    # code between), so the same network under other names is exempt too
    plain = inspect(_Mirror("first", "second"), X)
    assert "redundant layer" not in set(plain.problems()["problem"])


def test_autoencoder_layers_sit_in_its_encoder_and_decoder():
    from lamina.inspection._flags import _coder_side

    X = np.random.default_rng(0).random((64, 6)).astype(np.float32)
    ae = lamina.Autoencoder(epochs=1, random_state=0).fit(X)
    sides = {_coder_side(rec.module) for rec in inspect(ae, X).records}
    assert sides == {"encoder", "decoder"}


def test_vanishing_gradient_advice_does_not_suggest_the_activation_in_use():
    net = _one_unit_net(nn.SiLU(), 1.0, 0.0)
    ins = inspect(net, X_LINE)
    flow = GradientFlow(pd.DataFrame({"layer": ["1"], "grad_rms": [1e-9], "ratio": [1e-6],
                                      "vanishing": [True], "exploding": [False]}),
                        pd.DataFrame(columns=["layer", "unit", "grad_rms"]))
    ins.results["gradient_flow"] = flow
    fix = ins.problems().set_index("problem").loc["vanishing gradient", "fix"]
    assert "ReLU-family" not in fix and fix.startswith("Use He/Xavier initialisation")
    tanh = inspect(_one_unit_net(nn.Tanh(), 1.0, 0.0), X_LINE)
    tanh.results["gradient_flow"] = flow
    assert "ReLU-family" in tanh.problems().set_index("problem").loc["vanishing gradient", "fix"]


@pytest.mark.parametrize("k", [0, -3])
def test_top_examples_refuses_k_below_one_clearly(hand, k):
    net, X = hand
    ins = inspect(net, X, top_k=3)
    with pytest.raises(lamina.ParameterError) as info:
        ins.top_examples("hidden.0", 0, k=k)
    msg = str(info.value)
    assert f"Invalid k={k}: must be an integer between 1 and top_k=3" in msg
    assert "inspect again" not in msg and "top_k=0" not in msg and "top_k=-3" not in msg
    assert len(ins.top_examples("hidden.0", 0, k=np.int64(2)).indices) == 2


def test_one_class_probe_error_prints_a_plain_number():
    X = np.random.default_rng(0).normal(size=(40, 2))
    ins = inspect(lamina.build((4,), in_features=2, out=2, seed=0), X)
    with pytest.raises(lamina.DataError) as info:
        ins.probe(np.zeros(40))
    assert "a single class (0.0)" in str(info.value) and "np.float64" not in str(info.value)
    with pytest.raises(lamina.DataError, match=r"a single class \('a'\)"):
        ins.probe(np.array(["a"] * 40, dtype=object))
