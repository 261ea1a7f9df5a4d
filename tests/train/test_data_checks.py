"""Bad training or validation data gets the same lamina DataError on every training path
(explicit engine, autograd, L-BFGS, normalised layers, sample weights), before any step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

import lamina
from lamina import DataError, MaxEpochs, Trainer


def _data(n: int = 40) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 6, generator=g)
    return X, (X[:, 0] > 0).long() + (X[:, 1] > 0.5).long()


# each path: (hidden spec, Trainer keywords, fit keywords)
PATHS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "explicit": ("8:tanh", {"engine": "explicit"}, {}),
    "autograd": ("8:tanh", {"engine": "autograd"}, {}),
    "lbfgs": ("8:tanh", {"optimizer": "lbfgs"}, {}),
    "norm": ("8:tanh:norm=layer", {}, {}),
    "weighted": ("8:tanh", {}, {"sample_weight": torch.ones(40)}),
}

BAD: dict[str, tuple[Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
                     str]] = {
    "labels out of range": (lambda X, y: (X, y + 5),
                            r"class ids range over \[5, 7\] .* 3 outputs, so they must lie in "
                            r"\[0, 2\]\. Encode labels"),
    "wrong width": (lambda X, y: (X[:, :5], y),
                    r"built for inputs of shape \(N, 6\).* got a tensor of shape \(\d+, 5\)\. "
                    "Reshape"),
    "nan in X": (lambda X, y: (torch.where(torch.arange(6) == 3, float("nan"), X), y),
                 r"NaN or infinite values \(\d+ of \d+, first at index \(0, 3\)\)\. Impute"),
}


def _fit(path: str, train: Any, val: Any = None) -> tuple[torch.nn.Module, Any]:
    spec, kw, fit_kw = PATHS[path]
    net = lamina.build(spec, in_features=6, out=3, seed=0)
    before = [p.detach().clone() for p in net.parameters()]
    trainer = Trainer(net, stop=[MaxEpochs(2)], verbose=False, seed=0, **kw)
    try:
        trainer.fit(train, val, **fit_kw)
    finally:
        # refused before any step: the weights are untouched
        assert all(torch.equal(a, p) for a, p in zip(before, net.parameters()))
    return net, trainer


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("case", list(BAD))
def test_bad_training_data_gets_the_same_error_on_every_path(path: str, case: str) -> None:
    make, message = BAD[case]
    with pytest.raises(DataError, match="^train: .*" + message):
        _fit(path, make(*_data()))


@pytest.mark.parametrize("path", ["explicit", "autograd", "lbfgs"])
@pytest.mark.parametrize("case", list(BAD))
def test_bad_validation_data_is_refused_before_training(path: str, case: str) -> None:
    make, message = BAD[case]
    with pytest.raises(DataError, match="^val: .*" + message):
        _fit(path, _data(), make(*_data(20)))


def test_targets_must_fit_the_outputs_for_regression_losses() -> None:
    X, _ = _data()
    net = lamina.build("8", in_features=6, out=2, seed=0)
    for engine in ("explicit", "autograd"):
        trainer = Trainer(net, loss="mse", stop=[MaxEpochs(1)], verbose=False, engine=engine)
        with pytest.raises(DataError, match=r"^train: Invalid Y of shape \(40, 1\): loss='mse' "
                                            r"needs 2 target\(s\) per row"):
            trainer.fit((X, X[:, 0]))
        with pytest.raises(DataError, match="^val: Invalid Y: it contains NaN"):
            trainer.fit((X, X[:, :2]), (X, torch.full((40, 2), float("inf"))))
    bce = Trainer(net, loss="binary_cross_entropy", stop=[MaxEpochs(1)], verbose=False,
                  engine="autograd")
    with pytest.raises(DataError, match=r"^train: Invalid Y: .* targets in \[0, 1\]"):
        bce.fit((X, X[:, :2]))


def test_any_module_gets_the_value_checks() -> None:
    """A plain module's input width is unknown; NaN in X is still refused up front instead of
    being trained on and reported as a divergence."""
    X, y = _data()
    X[7, 2] = float("inf")
    seq = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    with pytest.raises(DataError, match=r"^train: the input holds NaN or infinite values \(1 of "
                                        r"240, first at index \(7, 2\)\)"):
        Trainer(seq, stop=[MaxEpochs(1)], verbose=False).fit((X, y))
