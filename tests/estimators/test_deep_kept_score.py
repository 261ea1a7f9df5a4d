"""``best_validation_score_`` of the deep estimators is the score of the epoch whose weights the
fitted module holds, found here by comparing the module with every epoch's weights."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification

import lamina
import lamina.estimators._deep as deep
from lamina.train import Callback, Trainer


class _Snapshots(Callback):
    """Keeps every epoch's weights; with ``diverge_at``, makes that epoch's loss non-finite
    (an infinite weight), as a too-large learning rate would."""

    def __init__(self, diverge_at: int | None = None) -> None:
        self.weights: dict[int, list[torch.Tensor]] = {}
        self.diverge_at = diverge_at

    def on_epoch_begin(self, state: Any) -> None:
        if state.epoch + 1 == self.diverge_at:
            with torch.no_grad():
                next(state.model.parameters()).fill_(float("inf"))

    def on_epoch_end(self, state: Any, record: dict[str, Any]) -> None:
        self.weights[state.epoch] = [p.detach().clone() for p in state.model.parameters()]

    def kept_epochs(self, module: torch.nn.Module) -> list[int]:
        now = list(module.parameters())
        return [e for e, w in self.weights.items() if all(map(torch.equal, w, now))]


def _fit(monkeypatch: pytest.MonkeyPatch, snapshots: _Snapshots) -> Any:
    """A seeded fit whose lowest-val_loss epoch (13) is not its best-accuracy epoch (22):
    noisy labels, so the network overfits after a few epochs."""
    monkeypatch.setattr(deep, "Trainer",
                        lambda *a, **kw: Trainer(*a, callbacks=[snapshots], **kw))
    X, y = make_classification(600, 64, n_informative=10, n_classes=3, flip_y=0.2,
                               random_state=0)
    clf = lamina.ImageClassifier("conv(4,3)-dense(32)", image_shape=(1, 8, 8), epochs=30,
                                 patience=30, lr=1e-2, random_state=2)
    return clf.fit(X, y)


def test_the_score_is_that_of_the_kept_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    snapshots = _Snapshots()
    clf = _fit(monkeypatch, snapshots)
    [kept] = snapshots.kept_epochs(clf.module_)
    scores = clf.validation_scores_
    assert kept == int(np.argmin(clf.history_["val_loss"])) + 1     # early stopping's choice
    assert int(np.argmax(scores)) + 1 != kept                        # not the best-score epoch
    assert clf.best_validation_score_ == scores[kept - 1] < max(scores)


def test_after_a_divergence_the_score_is_that_of_the_epoch_divergence_kept(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Divergence restores the weights of the lowest training loss, after early stopping
    restored those of the lowest val_loss: the score follows the weights, not val_loss."""
    snapshots = _Snapshots(diverge_at=12)
    with pytest.warns(RuntimeWarning, match="training diverged at epoch 12"):
        clf = _fit(monkeypatch, snapshots)
    [kept] = snapshots.kept_epochs(clf.module_)
    finite = [v if np.isfinite(v) else np.inf for v in clf.loss_curve_]
    assert kept == int(np.argmin(finite)) + 1 == 11
    lowest_val_loss = int(np.argmin([np.inf if v is None else v
                                     for v in clf.history_["val_loss"]])) + 1
    scores = clf.validation_scores_
    assert lowest_val_loss != kept and scores[lowest_val_loss - 1] != scores[kept - 1]
    assert clf.best_validation_score_ == scores[kept - 1]
    assert np.isnan(scores[-1])                      # the diverged epoch was not validated


def test_a_saved_and_loaded_estimator_keeps_the_score(tmp_path: Any) -> None:
    X, y = make_classification(120, 16, n_informative=6, n_classes=2, random_state=0)
    clf = lamina.ImageClassifier("dense(8)", image_shape=(1, 4, 4), epochs=4, patience=4,
                                 random_state=0).fit(X, y)
    kept = int(np.argmin(clf.history_["val_loss"]))
    assert clf.best_validation_score_ == clf.validation_scores_[kept]
    clf.save(tmp_path / "run")
    assert lamina.load(tmp_path / "run").best_validation_score_ == clf.best_validation_score_
    plain = lamina.ImageClassifier("dense(8)", image_shape=(1, 4, 4), epochs=2,
                                   early_stopping=False, random_state=0).fit(X, y)
    assert plain.best_validation_score_ is None and plain.validation_scores_ is None
