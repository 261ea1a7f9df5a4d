"""Modules lamina did not build: a user CNN, nn.LSTM (both layouts), nn.TransformerEncoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lamina.inspection import inspect


class CNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(4, 6, 3), nn.ReLU())
        self.act = nn.GELU()                     # one module called twice per forward
        self.fc1 = nn.Linear(6, 5)
        self.fc2 = nn.Linear(5, 5)
        self.out = nn.Linear(5, 3)

    def forward(self, x):
        h = self.features(x).mean((2, 3))
        return self.out(self.act(self.fc2(self.act(self.fc1(h)))))


class LSTMNet(nn.Module):
    def __init__(self, batch_first: bool) -> None:
        super().__init__()
        self.batch_first = batch_first
        self.lstm = nn.LSTM(3, 5, batch_first=batch_first)
        self.head = nn.Linear(5, 2)

    def forward(self, x):                        # x: (B, T, 3)
        seq, _ = self.lstm(x if self.batch_first else x.transpose(0, 1))
        last = seq[:, -1] if self.batch_first else seq[-1]
        return self.head(last)


class Encoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0.1,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(8, 3)

    def forward(self, x):                        # x: (B, T, 8)
        return self.head(self.encoder(x).mean(1))


def _captured(model: nn.Module, name: str, X: torch.Tensor, call: int = 0) -> torch.Tensor:
    outs = []
    handle = dict(model.named_modules())[name].register_forward_hook(
        lambda m, a, o: outs.append(o[0] if isinstance(o, tuple) else o))
    try:
        model.eval()
        with torch.no_grad():
            model(X)
    finally:
        handle.remove()
    return outs[call].detach()


def test_user_cnn_default_layers_and_channel_units():
    torch.manual_seed(0)
    model = CNN()
    X = torch.randn(50, 1, 12, 12)
    ins = inspect(model, X, batch_size=16)
    assert ins.layer_names == ["features.1", "features.4", "act#0", "act#1"]
    assert list(ins.layers["width"]) == [4, 6, 5, 5]
    conv = _captured(model, "features.4", X)                  # (50, 6, 3, 3)
    u = ins.units[ins.units["layer"] == "features.4"]
    np.testing.assert_allclose(u["mean"], conv.mean((0, 2, 3)).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(u["std"], conv.mean((2, 3)).std(0, unbiased=False).numpy(),
                               rtol=1e-4, atol=1e-6)
    second = _captured(model, "act", X, call=1)
    np.testing.assert_allclose(ins.units[ins.units["layer"] == "act#1"]["max"],
                               second.amax(0).numpy(), rtol=1e-6)
    assert ins.layers.set_index("layer").loc["features.1", "activation"] == "relu"


@pytest.mark.parametrize("batch_first", [True, False])
def test_lstm_units_are_hidden_dimensions_over_time(batch_first):
    torch.manual_seed(1)
    model = LSTMNet(batch_first)
    X = torch.randn(40, 7, 3)
    ins = inspect(model, X, batch_size=16)
    assert ins.layer_names == ["lstm"]
    seq = _captured(model, "lstm", X)
    seq = seq if batch_first else seq.transpose(0, 1)         # (B, T, H)
    np.testing.assert_allclose(ins.units["mean"], seq.mean((0, 1)).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ins.units["max"], seq.mean(1).amax(0).numpy(), rtol=1e-5)
    assert ins.layers.loc[0, "shape"] == "7x5"                # per example: (T, H)
    top = ins.top_examples("lstm", 2)
    assert top.indices[0] == int(seq.mean(1)[:, 2].argmax())
    assert ins.layers.loc[0, "activation"] == "tanh"


def test_transformer_encoder_blocks_are_inspected_in_eval_mode():
    torch.manual_seed(2)
    model = Encoder()
    model.train()                                              # dropout on: inspect must not use it
    X = torch.randn(30, 6, 8)
    ins = inspect(model, X, batch_size=8)
    assert ins.layer_names == ["encoder.layers.0", "encoder.layers.1"]
    assert model.training                                      # mode restored
    out = _captured(model, "encoder.layers.1", X)              # eval mode inside the helper
    np.testing.assert_allclose(ins.units[ins.units["layer"] == "encoder.layers.1"]["mean"],
                               out.mean((0, 1)).numpy(), rtol=1e-4, atol=1e-5)
    assert ins.layers["width"].tolist() == [8, 8]


def test_foreign_models_ablation_and_gradient_flow():
    torch.manual_seed(3)
    model = LSTMNet(batch_first=False)
    X = torch.randn(24, 5, 3)
    y = np.arange(24) % 2
    ins = inspect(model, X, y)
    table = ins.ablate(X, y)
    assert len(table) == 5
    # brute force for unit 1: zero it in the LSTM output sequence
    handle = model.lstm.register_forward_hook(
        lambda m, a, o: (o[0] * torch.tensor([1.0, 0, 1, 1, 1]), o[1]))
    try:
        with torch.no_grad():
            loss = torch.nn.functional.cross_entropy(model(X), torch.as_tensor(y))
    finally:
        handle.remove()
    assert table.loc[1, "loss"] == pytest.approx(float(loss), rel=1e-5)
    flow = ins.gradient_flow(X, y)
    assert flow.layers["layer"].tolist() == ["lstm"]
    assert np.isfinite(flow.units["grad_rms"]).all() and (flow.units["grad_rms"] > 0).all()
    assert not any(len(m._forward_hooks) for m in model.modules())
