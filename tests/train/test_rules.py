"""Stopping rules on hand-made loss sequences: exact sklearn tol/n_iter_no_change semantics."""

from __future__ import annotations

import math

import pytest
import torch

from lamina import (
    EarlyStopping,
    LossTolerance,
    MaxEpochs,
    MaxSteps,
    ParameterError,
    TargetMetric,
    TimeBudget,
)
from lamina.train import Divergence, History, TrainState


def _state(**kw: object) -> TrainState:
    return TrainState(model=torch.nn.Linear(1, 1), history=History(), **kw)  # type: ignore[arg-type]


def _run(rule: object, values: list[float], key: str = "train_loss", lr: float = 0.1) -> int:
    """Feed values epoch by epoch; return the 1-based epoch at which the rule stops (0: never)."""
    rule.reset()  # type: ignore[attr-defined]
    state = _state(lr=lr)
    for i, v in enumerate(values, 1):
        state.epoch = i
        state.record = {key: v}
        stop, _ = rule.check(state)  # type: ignore[attr-defined]
        if stop:
            return i
    return 0


def test_loss_tolerance_counts_like_sklearn() -> None:
    # improvements smaller than tol count as "no change"; stop when count > patience (=2)
    rule = LossTolerance(tol=0.1, patience=2)
    assert _run(rule, [1.0, 0.95, 0.93, 0.92, 0.5]) == 4
    # a real improvement resets the count
    assert _run(rule, [1.0, 0.95, 0.5, 0.45, 0.44, 0.43]) == 6


def test_loss_tolerance_on_validation_score_maximises() -> None:
    rule = LossTolerance(tol=0.0, patience=1, monitor="val_score")
    # sklearn: a tie (score == best + tol) is not "no improvement"
    assert _run(rule, [0.5, 0.6, 0.6, 0.7], key="val_score") == 0
    assert _run(rule, [0.5, 0.6, 0.55, 0.58], key="val_score") == 4


def test_adaptive_lr_divides_by_five_then_stops_below_1e6() -> None:
    rule = LossTolerance(tol=0.01, patience=1, adaptive_lr=True)
    rule.reset()
    state = _state(lr=1e-5)
    stops = []
    for epoch in range(1, 12):
        state.epoch = epoch
        state.record = {"train_loss": 1.0}
        stop, reason = rule.check(state)
        stops.append((stop, state.lr))
        if stop:
            assert "below 1e-6" in reason
            break
    lrs = [lr for _, lr in stops]
    assert lrs[2] == pytest.approx(2e-6)        # first plateau: 1e-5 / 5
    assert stops[-1][0] and stops[-1][1] == pytest.approx(2e-6)


def test_early_stopping_patience_and_reason() -> None:
    rule = EarlyStopping(patience=2, monitor="val_loss")
    assert _run(rule, [1.0, 0.8, 0.9, 0.85], key="val_loss") == 4
    rule.reset()
    state = _state()
    for i, v in enumerate([1.0, 0.8, 0.9, 0.85], 1):
        state.epoch, state.record = i, {"val_loss": v}
        stop, reason = rule.check(state)
    assert stop and "best 0.8 at epoch 2" in reason


def test_target_metric_and_bounds() -> None:
    assert _run(TargetMetric("val_accuracy", 0.9), [0.5, 0.91], key="val_accuracy") == 2
    assert _run(TargetMetric("val_loss", 0.1), [0.5, 0.2, 0.05], key="val_loss") == 3
    assert _run(MaxEpochs(3), [1, 1, 1, 1]) == 3
    state = _state(step=10)
    assert MaxSteps(10).check(state)[0] and not MaxSteps(11).check(state)[0]
    state.elapsed = 2.0
    stop, reason = TimeBudget(1.5).check(state)
    assert stop and "1.5 s" in reason


def test_divergence_stops_on_nan_and_keeps_best() -> None:
    rule = Divergence()
    assert _run(rule, [1.0, 0.5, math.nan]) == 3
    assert _run(rule, [1.0, math.inf]) == 2
    assert _run(rule, [1.0, 0.9, 0.8]) == 0


@pytest.mark.parametrize("make", [lambda: MaxEpochs(0), lambda: LossTolerance(tol=-1),
                                  lambda: EarlyStopping(patience=0), lambda: TimeBudget(0)])
def test_bad_rule_parameters(make: object) -> None:
    with pytest.raises(ValueError, match="Invalid"):
        make()  # type: ignore[operator]


@pytest.mark.parametrize("make", [lambda: EarlyStopping(monitor="val_acc"),
                                  lambda: TargetMetric("val_acc", 0.9),
                                  lambda: LossTolerance(monitor="val_acc")])
def test_a_monitor_never_recorded_is_an_error_naming_the_recorded_values(make: object) -> None:
    rule = make()  # type: ignore[operator]
    state = _state(epoch=1)
    state.record = {"epoch": 1, "train_loss": 0.5, "grad_norm": [0.1], "val_loss": 0.6,
                    "val_accuracy": 0.8}
    with pytest.raises(ParameterError, match=r"Invalid monitor='val_acc': \w+ monitors a value "
                                             r"that training does not record; each epoch "
                                             r"records epoch, train_loss, val_accuracy, "
                                             r"val_loss\. .*Did you mean 'val_accuracy'\?"):
        rule.check(state)
    # a non-finite epoch has no validation values: Divergence stops it, the rule stays quiet
    state.finite, state.record = False, {"epoch": 1, "train_loss": math.nan}
    assert rule.check(state) == (False, "")
