"""``Trainer.fit(sample_weight=, val_sample_weight=)``, and every stopping rule seeing the last
epoch (so restored best weights are the best ones)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import lamina
from lamina import EarlyStopping, MaxEpochs, ParameterError, Trainer


def _net() -> torch.nn.Module:
    return lamina.build("8:tanh", in_features=4, out=3, seed=0, dtype="float64")


def _data(n: int = 24) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 4, generator=g, dtype=torch.float64)
    return X, (X[:, 0] > 0).long() + (X[:, 1] > 0.5).long()


def _trainer(net: torch.nn.Module, **kw: object) -> Trainer:
    base = {"optimizer": "adam", "lr": 0.05, "batch_size": 4, "shuffle": False,
            "stop": [MaxEpochs(3)], "seed": 0, "verbose": False}
    return Trainer(net, **{**base, **kw})  # type: ignore[arg-type]


def test_weighted_training_runs_on_autograd_and_explicit_refuses_it() -> None:
    X, y = _data()
    trainer = _trainer(_net())
    trainer.fit((X, y), sample_weight=torch.ones(len(X)))
    assert trainer.engine_used_ == "autograd"
    with pytest.raises(ParameterError, match=r"Invalid engine='explicit': the explicit engine "
                                             r"trains without sample weights.*engine='auto'"):
        _trainer(_net(), engine="explicit").fit((X, y), sample_weight=torch.ones(len(X)))


def test_weights_need_in_memory_data() -> None:
    X, y = _data()
    loader = [(X[:12], y[:12]), (X[12:], y[12:])]
    with pytest.raises(ParameterError, match=r"Invalid sample_weight='<list>': sample weights "
                                             r"need in-memory \(X, y\) data"):
        _trainer(_net()).fit(loader, sample_weight=[1.0] * 24)


def test_a_batch_of_zero_weights_is_passed_over() -> None:
    """Rows 0-3 (the first batch, no shuffling) weigh nothing: the same as training on the rest."""
    X, y = _data()
    w = torch.ones(len(X), dtype=torch.float64)
    w[:4] = 0.0
    net_w, net_d = _net(), _net()
    hist_w = _trainer(net_w).fit((X, y), sample_weight=w)
    hist_d = _trainer(net_d).fit((X[4:], y[4:]))
    for a, b in zip(net_w.parameters(), net_d.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    assert hist_w["train_loss"] == pytest.approx(hist_d["train_loss"], rel=1e-10)
    assert hist_w["step"] == hist_d["step"] == [5, 10, 15]


def test_validation_weights_weigh_loss_and_metrics() -> None:
    X, y = _data(40)
    w_val = torch.linspace(0.1, 2.0, 16, dtype=torch.float64)
    seen: dict[str, torch.Tensor] = {}

    def weighted_hits(out: torch.Tensor, yy: torch.Tensor, sample_weight: torch.Tensor) -> float:
        seen["w"] = sample_weight
        return float(((out.argmax(1) == yy).double() * sample_weight).sum())

    net = _net()
    hist = _trainer(net, metrics=["accuracy", weighted_hits]).fit(
        (X[:24], y[:24]), (X[24:], y[24:]), val_sample_weight=w_val)
    with torch.no_grad():
        out = net(X[24:])
    per = F.cross_entropy(out, y[24:], reduction="none")
    hit = (out.argmax(1) == y[24:]).double()
    last = hist[-1]
    assert last["val_loss"] == pytest.approx(float((per * w_val).sum() / w_val.sum()), rel=1e-12)
    assert last["val_accuracy"] == pytest.approx(float((hit * w_val).sum() / w_val.sum()))
    assert last["val_score"] == last["val_accuracy"]
    assert last["val_weighted_hits"] == pytest.approx(float((hit * w_val).sum()))
    torch.testing.assert_close(seen["w"], w_val)
    with pytest.raises(ParameterError, match=r"Invalid metrics='plain'.*f\(outputs, y, "
                                             r"sample_weight=w\).*Add a sample_weight=None"):
        def plain(out: torch.Tensor, yy: torch.Tensor) -> float:
            return 0.0
        _trainer(_net(), metrics=[plain]).fit((X[:24], y[:24]), (X[24:], y[24:]),
                                              val_sample_weight=w_val)


def test_best_weights_include_the_epoch_a_bound_stops_on() -> None:
    """MaxEpochs ends training at epoch 3 while the validation loss still improves: the restored
    'best' weights are epoch 3's (the early-stopping rule still sees the last epoch)."""
    X, y = _data(40)
    net = _net()
    rule = EarlyStopping(patience=5, monitor="val_loss")
    hist = _trainer(net, lr=0.01, stop=[MaxEpochs(3), rule]).fit((X[:24], y[:24]),
                                                                 (X[24:], y[24:]))
    assert hist["val_loss"][2] < min(hist["val_loss"][:2])       # improving to the end
    assert hist.stop_reason == "reached max_epochs=3" and rule.best_epoch == 3
    with torch.no_grad():
        val_loss = float(F.cross_entropy(net(X[24:]), y[24:]))
    assert val_loss == pytest.approx(hist["val_loss"][2], rel=1e-12)
