"""The encoder/decoder exemption of the "redundant layer" flag follows the model's structure (a
declared encoder, or a reconstruction through a bottleneck), never module names."""

from __future__ import annotations

import json

import numpy as np
import torch
from torch import nn

import lamina
from lamina.inspection import Inspection, inspect
from lamina.nn import Autoencoder, build_autoencoder

Z = np.random.default_rng(0).random((200, 2)) + 0.1
X4 = np.concatenate([Z, Z], axis=1)                       # rank 2, positive: (z, z)


def _redundant(ins: Inspection) -> list[str]:
    problems = ins.problems()
    return list(problems[problems["problem"] == "redundant layer"]["detail"])


def _copy(linear: nn.Linear, weight: list[list[float]]) -> None:
    with torch.no_grad():
        linear.weight.copy_(torch.tensor(weight, dtype=linear.weight.dtype))
        linear.bias.zero_()


class NamedLikeACoder(nn.Module):
    """Not an autoencoder: a classifier whose parts happen to be called encoder and decoder.
    decoder.1 = relu(relu(x)) = encoder.1 exactly: a truly redundant layer."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
        self.decoder = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 3))
        for lin in (self.encoder[0], self.decoder[0]):
            _copy(lin, np.eye(4).tolist())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))                  # (B, 3) class scores


class Mirror(nn.Module):
    """A user autoencoder 4 -> 4 -> 2 -> 4 -> 4 whose decoder's hidden layer reproduces the
    encoder's exactly (CKA 1 across the code), under any names."""

    def __init__(self, first: str, second: str) -> None:
        super().__init__()
        enc = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
        dec = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 4))
        _copy(enc[0], np.eye(4).tolist())
        _copy(enc[2], [[1.0, 0, 0, 0], [0, 1.0, 0, 0]])
        _copy(dec[0], [[1.0, 0], [0, 1.0], [1.0, 0], [0, 1.0]])
        _copy(dec[2], np.eye(4).tolist())
        self.names = (first, second)
        setattr(self, first, enc)
        setattr(self, second, dec)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self, self.names[1])(getattr(self, self.names[0])(x))


def test_a_model_merely_named_encoder_decoder_is_flagged():
    ins = inspect(NamedLikeACoder(), X4)
    assert ins.layer_names == ["encoder.1", "decoder.1"]
    assert ins.cka().loc["encoder.1", "decoder.1"] > 0.999
    assert [r.side for r in ins.records] == [None, None]
    assert _redundant(ins) and _redundant(ins)[0].startswith("CKA(encoder.1, decoder.1)")


def test_a_mirrored_autoencoder_is_exempt_whatever_its_names():
    for names in (("first", "second"), ("encoder", "decoder"), ("decoder", "encoder")):
        ins = inspect(Mirror(*names), X4)
        assert ins.cka().iloc[0, 1] > 0.999
        assert [r.side for r in ins.records] == ["encoder", "decoder"], names
        assert _redundant(ins) == [], names


def test_same_shape_without_a_bottleneck_has_no_split():
    # output shape = input shape, but nothing narrower than the input: not an autoencoder
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU())
    for lin in (net[0], net[2]):
        _copy(lin, np.eye(4).tolist())
    ins = inspect(net, X4)
    assert [r.side for r in ins.records] == [None, None]
    assert _redundant(ins)


def _lamina_mirror() -> Autoencoder:
    """lamina's own autoencoder 4 -> 4 -> code 2 -> 4 -> 4, hand-weighted: encoder.hidden.0 =
    (z, z), the code = z, decoder.hidden.0 = (z, z) again."""
    ae = build_autoencoder("4", 2, in_features=4, seed=0, dtype="float64")
    _copy(ae.encoder.hidden[0].linear, np.eye(4).tolist())
    _copy(ae.encoder.hidden[1].linear, [[1.0, 0, 0, 0], [0, 1.0, 0, 0]])
    _copy(ae.decoder.hidden[0].linear, [[1.0, 0], [0, 1.0], [1.0, 0], [0, 1.0]])
    _copy(ae.decoder.head, np.eye(4).tolist())
    return ae


def test_a_lamina_autoencoder_declares_its_split():
    ins = inspect(_lamina_mirror(), X4)
    assert ins.layer_names == ["encoder.hidden.0", "encoder.hidden.1", "decoder.hidden.0"]
    assert [r.side for r in ins.records] == ["encoder", "encoder", "decoder"]
    cka = ins.cka()
    assert cka.loc["encoder.hidden.0", "decoder.hidden.0"] > 0.999       # mirror images
    assert cka.loc["encoder.hidden.1", "decoder.hidden.0"] > 0.999       # code vs its lift
    # only the pair inside the encoder is flagged; none across the code
    assert [d.split(" =")[0] for d in _redundant(ins)] == [
        "CKA(encoder.hidden.0, encoder.hidden.1)"]


def test_the_split_of_a_fitted_autoencoder_estimator():
    X = np.random.default_rng(0).random((64, 6)).astype(np.float32)
    ae = lamina.Autoencoder("8", bottleneck=2, epochs=1, random_state=0).fit(X)
    ins = inspect(ae, X)
    code = ae.module_.code_name
    assert {r.module: r.side for r in ins.records} == {
        r.module: "encoder" if r.module.startswith("encoder.") else "decoder"
        for r in ins.records}
    assert code in {r.module for r in ins.records if r.side == "encoder"}


class ApiCoder(nn.Module):
    """Declares its parts the Hugging Face way; translates 4 features into 3 scores."""

    def __init__(self) -> None:
        super().__init__()
        self.left = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
        self.right = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 3))
        for lin in (self.left[0], self.right[0]):
            _copy(lin, np.eye(4).tolist())

    def get_encoder(self) -> nn.Module:
        return self.left

    def get_decoder(self) -> nn.Module:
        return self.right

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.right(self.left(x))


def test_a_declared_encoder_decoder_model_is_exempt():
    ins = inspect(ApiCoder(), X4)
    assert [r.side for r in ins.records] == ["encoder", "decoder"]
    assert ins.cka().iloc[0, 1] > 0.999 and _redundant(ins) == []


class TinyTransformer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.model = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1,
                                    num_decoder_layers=1, dim_feedforward=8, dropout=0.0,
                                    batch_first=True)

    def forward(self, src: torch.Tensor) -> torch.Tensor:
        return self.model(src, src[:, :2])


def test_torch_transformer_encoder_and_decoder_are_found_by_type():
    src = np.random.default_rng(0).normal(size=(16, 5, 8)).astype(np.float32)
    ins = inspect(TinyTransformer(), src)
    sides = {r.module: r.side for r in ins.records}
    assert sides == {"model.encoder.layers.0": "encoder", "model.decoder.layers.0": "decoder"}


def test_sides_survive_save_and_older_saves_keep_the_name_rule(tmp_path):
    ins = inspect(Mirror("first", "second"), X4)
    ins.save(tmp_path / "ins")
    back = Inspection.load(tmp_path / "ins")
    assert [r.side for r in back.records] == ["encoder", "decoder"] and _redundant(back) == []
    doc_path = tmp_path / "ins" / "inspection.json"
    doc = json.loads(doc_path.read_text())
    for layer in doc["layers"]:
        del layer["side"]                      # saved before sides were recorded
    doc_path.write_text(json.dumps(doc))
    old = Inspection.load(tmp_path / "ins")
    assert [r.side for r in old.records] == [None, None] and _redundant(old)
