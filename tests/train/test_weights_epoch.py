"""``Trainer.state_.weights_epoch``: the epoch whose weights the model holds after ``fit``,
set by the rule that restored them last (early stopping, then Divergence)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_digits

import lamina
from lamina import EarlyStopping, LossTolerance, MaxEpochs, Trainer
from lamina.train import Callback


def _digits() -> tuple[torch.Tensor, torch.Tensor]:
    X, y = load_digits(return_X_y=True)
    return torch.tensor(X / 16.0, dtype=torch.float32), torch.tensor(y)


class _Keep(Callback):
    def __init__(self, diverge_at: int | None = None) -> None:
        self.seen: dict[int, list[torch.Tensor]] = {}
        self.diverge_at = diverge_at

    def on_epoch_begin(self, state: Any) -> None:
        if state.epoch + 1 == self.diverge_at:
            with torch.no_grad():
                next(state.model.parameters()).fill_(float("nan"))

    def on_epoch_end(self, state: Any, record: dict[str, Any]) -> None:
        self.seen[state.epoch] = [p.detach().clone() for p in state.model.parameters()]

    def holds(self, model: torch.nn.Module, epoch: int) -> bool:
        return all(map(torch.equal, self.seen[epoch], model.parameters()))


def _fit(rules: list[Any], diverge_at: int | None = None) -> tuple[Trainer, _Keep, Any]:
    X, y = _digits()
    keep = _Keep(diverge_at)
    net = lamina.build((64,), in_features=64, out=10, seed=0)
    trainer = Trainer(net, lr=3e-2, batch_size=16, seed=0, verbose=False, engine="autograd",
                      stop=[MaxEpochs(12), *rules], callbacks=[keep])
    hist = trainer.fit((X[:60], y[:60]), (X[1000:], y[1000:]))   # overfits: val_loss turns up
    return trainer, keep, hist


def test_early_stopping_and_loss_tolerance_name_the_epoch_they_restore() -> None:
    for rule in (EarlyStopping(patience=20), LossTolerance(tol=0.0, patience=20,
                                                           monitor="val_loss",
                                                           restore_best=True)):
        trainer, keep, hist = _fit([rule])
        best = int(np.argmin(hist["val_loss"])) + 1
        assert best < len(hist)
        assert trainer.state_.weights_epoch == best == rule.best_epoch
        assert keep.holds(trainer.model, best)


def test_without_a_restoring_rule_the_last_weights_are_kept() -> None:
    trainer, keep, hist = _fit([])
    assert trainer.state_.weights_epoch is None and keep.holds(trainer.model, len(hist))


def test_divergence_restores_last_and_names_its_epoch() -> None:
    trainer, keep, hist = _fit([EarlyStopping(patience=20)], diverge_at=12)
    assert "diverged at epoch 12" in hist.stop_reason
    train = [v if np.isfinite(v) else np.inf for v in hist["train_loss"]]
    kept = int(np.argmin(train)) + 1
    assert kept != int(np.argmin([np.inf if v is None else v for v in hist["val_loss"]])) + 1
    assert trainer.state_.weights_epoch == kept and keep.holds(trainer.model, kept)
