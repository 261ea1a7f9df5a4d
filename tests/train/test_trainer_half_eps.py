"""lamina.Trainer refuses, as the estimators do, an Adam/AdamW/Adagrad eps that a float16
model rounds to 0 (its second moment underflows in float16 and training diverges), before
anything changes; an eps float16 holds trains, and bfloat16 (float32's range) keeps 1e-8."""

from __future__ import annotations

import pytest
import torch

import lamina
from lamina import MaxEpochs, ParameterError, Trainer
from lamina.spec import OptimizerSpec


def _data(dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(128, 6, generator=gen)
    return X.to(dtype), (X[:, 0] > 0).long()


@pytest.mark.parametrize("name", ["adam", "adamw", "adagrad"])
@pytest.mark.parametrize("engine", ["explicit", "autograd"])
def test_an_eps_float16_rounds_to_zero_is_refused_before_training(name: str,
                                                                  engine: str) -> None:
    net = lamina.build("8", in_features=6, out=2, seed=0, dtype="float16")
    before = [p.detach().clone() for p in net.parameters()]
    trainer = Trainer(net, optimizer=OptimizerSpec(name, lr=1e-3, eps=1e-8),
                      stop=[MaxEpochs(2)], verbose=False, engine=engine, seed=0)
    with pytest.raises(ParameterError, match=rf"Invalid eps=1e-08: solver='{name}' with "
                       r"dtype='float16' needs an eps that float16 can hold.*eps=1e-4"):
        trainer.fit(_data(torch.float16))
    for a, b in zip(before, net.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("dtype,eps", [(torch.float16, 1e-4), (torch.bfloat16, 1e-8),
                                       (torch.float32, 1e-8)])
def test_an_eps_the_dtype_holds_trains(dtype: torch.dtype, eps: float) -> None:
    net = lamina.build("8", in_features=6, out=2, seed=0, dtype=dtype)
    hist = Trainer(net, optimizer=OptimizerSpec("adam", lr=1e-3, eps=eps), stop=[MaxEpochs(2)],
                   verbose=False, engine="autograd", seed=0).fit(_data(dtype))
    assert hist.stop_reason == "reached max_epochs=2"
