"""Two training paths, one behaviour: the explicit engine and autograd train a dense HiddenNet
to the same weights and the same History (float64)."""

from __future__ import annotations

import pytest
import torch

import lamina
from lamina import MaxEpochs, Trainer


def _data(loss: str) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(203, 6, generator=g, dtype=torch.float64)   # last batch is partial
    if loss == "cross_entropy":
        return X, (X[:, 0] + X[:, 1] > 0).long() + (X[:, 2] > 0.5).long()
    if loss == "binary_cross_entropy":
        return X, torch.stack([X[:, 0] > 0, X[:, 3] > 0], 1).double()
    return X, torch.stack([X[:, 0] * X[:, 1], X[:, 2].sin()], 1)


def _train(engine: str, optimizer: str, loss: str, **kw: object) -> tuple[list, list]:
    out = {"cross_entropy": 3}.get(loss, 2)
    net = lamina.build("12:tanh-8:gelu", in_features=6, out=out, seed=1, dtype="float64")
    trainer = Trainer(net, loss=loss, optimizer=optimizer, lr=0.02, batch_size=32,
                      stop=[MaxEpochs(3)], seed=5, verbose=False, engine=engine,
                      metrics=[], **kw)  # type: ignore[arg-type]
    hist = trainer.fit(_data(loss))
    assert trainer.engine_used_ == ("explicit" if engine == "explicit" else "autograd")
    return [p.detach().clone() for p in net.parameters()], hist["train_loss"]


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "rmsprop", "adagrad"])
def test_same_trained_weights_for_every_optimizer(optimizer: str) -> None:
    kw = {"alpha": 1e-3, "weight_decay": 1e-2 if optimizer == "adamw" else 0.0}
    w_e, l_e = _train("explicit", optimizer, "cross_entropy", **kw)
    w_a, l_a = _train("autograd", optimizer, "cross_entropy", **kw)
    for a, b in zip(w_e, w_a):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    assert l_e == pytest.approx(l_a, rel=1e-10)


@pytest.mark.parametrize("loss", ["binary_cross_entropy", "mse", "half_mse", "mae", "huber"])
def test_same_trained_weights_for_every_loss(loss: str) -> None:
    w_e, l_e = _train("explicit", "adam", loss, clip_norm=0.5)
    w_a, l_a = _train("autograd", "adam", loss, clip_norm=0.5)
    for a, b in zip(w_e, w_a):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10)
    assert l_e == pytest.approx(l_a, rel=1e-9)


def test_explicit_engine_refuses_what_it_cannot_train() -> None:
    net = lamina.build("8:norm=batch", in_features=3, out=2)
    with pytest.raises(lamina.ParameterError, match="engine='explicit'.*only dense"):
        Trainer(net, engine="explicit", verbose=False).fit((torch.randn(8, 3),
                                                            torch.zeros(8).long()))
