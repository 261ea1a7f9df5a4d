"""Which way a monitored value improves: ``mode="auto"|"min"|"max"`` on every rule that watches
a value. Auto reads the direction from the name; an unknown name is refused, not maximised."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import lamina
from lamina import EarlyStopping, LossTolerance, MaxEpochs, ParameterError, TargetMetric, Trainer
from lamina.train import Callback, History, TrainState
from lamina.train._stopping import metric_mode


def _run(rule: Any, values: list[float], key: str) -> int:
    """Feed ``values`` epoch by epoch; the 1-based epoch at which ``rule`` stops (0: never)."""
    rule.reset()
    state = TrainState(model=torch.nn.Linear(1, 1), history=History(), lr=0.1)
    for i, v in enumerate(values, 1):
        state.epoch, state.record = i, {key: v}
        stop, _ = rule.check(state)
        if stop:
            return i
    return 0


@pytest.mark.parametrize("name, mode", [
    ("val_loss", "min"), ("train_loss", "min"), ("val_mae", "min"), ("val_rmse", "min"),
    ("val_mse", "min"), ("val_mape", "min"), ("val_mean_absolute_error", "min"),
    ("val_perplexity", "min"), ("val_per", "min"), ("val_wer", "min"), ("val_error", "min"),
    ("val_myloss", "min"),                         # ends in "loss": minimised, as before
    ("val_accuracy", "max"), ("val_acc", "max"), ("val_f1", "max"), ("val_f1_macro", "max"),
    ("val_auc", "max"), ("val_roc_auc", "max"), ("val_r2", "max"), ("val_precision", "max"),
    ("val_recall", "max"), ("val_score", "max"), ("val_balanced_accuracy", "max"),
    ("val_neg_mse", "max"), ("neg_log_loss", "max"), ("neg_mean_squared_error", "max"),
    ("VAL_MAE", "min"),
])
def test_auto_reads_the_direction_from_the_name(name: str, mode: str) -> None:
    assert metric_mode(name) == mode
    assert EarlyStopping(monitor=name).resolved_mode == mode
    assert LossTolerance(monitor=name).resolved_mode == mode
    assert TargetMetric(name, 0.5).resolved_mode == mode


@pytest.mark.parametrize("name", ["val_custom", "val_<lambda>", "val_metric0", "val_kl",
                                  "val_accuracy_error"])       # words that disagree
def test_an_unknown_name_in_auto_mode_is_refused(name: str) -> None:
    assert metric_mode(name) is None
    for make in (lambda **kw: EarlyStopping(monitor=name, **kw),
                 lambda **kw: LossTolerance(monitor=name, **kw),
                 lambda **kw: TargetMetric(name, 0.5, **kw)):
        with pytest.raises(ParameterError) as err:
            make()
        text = str(err.value)
        assert text.startswith(f"Invalid monitor={name!r}: with mode='auto'")
        assert "lower is better: loss, mse, mae" in text and "higher is better: accuracy" in text
        assert "Pass mode='min' or mode='max'" in text
        assert make(mode="min").resolved_mode == "min"     # an explicit mode is taken as is
        assert make(mode="max").resolved_mode == "max"


def test_mode_is_validated_and_none_means_auto() -> None:
    with pytest.raises(ParameterError, match=r"Invalid mode='minimum': allowed values are "
                                             r"'auto', 'min', 'max'"):
        EarlyStopping(mode="minimum")
    rule = EarlyStopping(monitor="val_mae", mode=None)
    assert rule.mode == "auto" and rule.resolved_mode == "min"
    assert "mode='auto'" in repr(rule)
    with pytest.raises(ParameterError, match=r"Invalid monitor=''"):
        EarlyStopping(monitor="")


def test_rules_minimise_an_error_metric() -> None:
    """An error going down is an improvement (it used to be maximised: stop at epoch 3)."""
    falling = [1.0, 0.8, 0.6, 0.5, 0.45]
    assert _run(EarlyStopping(patience=2, monitor="val_mae"), falling, "val_mae") == 0
    assert _run(EarlyStopping(patience=2, monitor="val_mae"), falling[::-1], "val_mae") == 3
    assert _run(LossTolerance(tol=0.01, patience=1, monitor="val_rmse"), falling,
                "val_rmse") == 0
    assert _run(TargetMetric("val_mae", 0.55), falling, "val_mae") == 4
    rule = EarlyStopping(patience=5, monitor="val_mae")
    _run(rule, [0.9, 0.4, 0.7, 0.6], "val_mae")
    assert (rule.best, rule.best_epoch) == (0.4, 2)


def test_explicit_mode_overrides_the_name() -> None:
    rising = [0.1, 0.2, 0.3, 0.4]
    assert _run(EarlyStopping(patience=1, monitor="val_loss", mode="max"), rising,
                "val_loss") == 0
    assert _run(EarlyStopping(patience=1, monitor="val_custom", mode="min"), rising,
                "val_custom") == 2


def _regression(n: int = 240) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 4, generator=g)
    y = X @ torch.tensor([1.0, -2.0, 0.5, 0.0]) + 0.3 * torch.randn(n, generator=g)
    return X, y


def mae(out: torch.Tensor, y: torch.Tensor) -> float:
    return float((out.reshape(y.shape) - y).abs().mean())


def test_trainer_keeps_the_epoch_with_the_lowest_callable_mae() -> None:
    X, y = _regression()
    net = lamina.build((16,), in_features=4, out=1, seed=0)
    rule = EarlyStopping(patience=3, monitor="val_mae")
    trainer = Trainer(net, loss="mse", lr=1e-2, metrics=[mae], seed=0, verbose=False,
                      stop=[MaxEpochs(15), rule])
    hist = trainer.fit((X[:200], y[:200]), (X[200:], y[200:]))
    values = hist["val_mae"]
    assert values[-1] < values[0]                    # training lowers the error
    best = int(np.argmin(values)) + 1
    assert rule.best_epoch == best == trainer.state_.weights_epoch
    assert rule.best == min(values)


def test_val_score_takes_the_direction_of_the_first_metric() -> None:
    """``val_score`` is the first metric: an error there is minimised, an unnamed one refused."""
    X, y = _regression()
    net = lamina.build((8,), in_features=4, out=1, seed=0)
    rule = EarlyStopping(patience=20, monitor="val_score")
    assert rule.resolved_mode == "max"              # sklearn's score, until a fit binds it
    Trainer(net, loss="mse", metrics=[mae], stop=[MaxEpochs(2), rule], verbose=False,
            seed=0).fit((X[:200], y[:200]), (X[200:], y[200:]))
    assert rule.resolved_mode == "min"
    Trainer(net, loss="mse", stop=[MaxEpochs(1), rule], verbose=False,   # default metric r2
            seed=0).fit((X[:200], y[:200]), (X[200:], y[200:]))
    assert rule.resolved_mode == "max"
    trainer = Trainer(net, loss="mse", metrics=[lambda out, y: 0.0], verbose=False,
                      stop=[MaxEpochs(2), EarlyStopping(monitor="val_score")])
    with pytest.raises(ParameterError, match=r"Invalid monitor='val_score': with mode='auto' the "
                                             r"direction is read from the name \(the first "
                                             r"metric, '<lambda>'\).*Pass mode='min' or "
                                             r"mode='max'"):
        trainer.fit((X[:200], y[:200]), (X[200:], y[200:]))
    assert not hasattr(trainer, "state_")          # refused before training


class _Crash(Callback):
    def on_epoch_begin(self, state: Any) -> None:
        if state.epoch == 2:
            raise KeyboardInterrupt


def test_checkpoints_record_the_direction_and_a_resume_must_share_it(tmp_path: Path) -> None:
    X, y = _regression()
    data, val = (X[:200], y[:200]), (X[200:], y[200:])

    def trainer(mode: str, callbacks: tuple[Callback, ...] = ()) -> Trainer:
        net = lamina.build((8,), in_features=4, out=1, seed=0)
        return Trainer(net, loss="mse", metrics=[mae], seed=0, verbose=False,
                       checkpoint_dir=str(tmp_path), callbacks=list(callbacks),
                       stop=[MaxEpochs(4), EarlyStopping(patience=9, monitor="val_mae",
                                                         mode=mode)])

    with pytest.raises(KeyboardInterrupt):
        trainer("auto", (_Crash(),)).fit(data, val)
    latest = json.loads((tmp_path / "checkpoint.json").read_text())["latest"]
    info = json.loads((tmp_path / latest / "trainer.json").read_text())
    assert info["rules"][1]["config"] == {"monitor": "val_mae", "mode": "min"}
    assert info["rules"][0]["config"] == {}          # MaxEpochs watches nothing
    with pytest.raises(ParameterError, match=r"Invalid stop=.*watched \{'monitor': 'val_mae', "
                                             r"'mode': 'min'\}, this one \{'monitor': "
                                             r"'val_mae', 'mode': 'max'\}.*Resume with the same "
                                             r"monitor and mode"):
        trainer("max").fit(data, val, resume=True)
    resumed = trainer("min").fit(data, val, resume=True)     # "min" is what auto resolved to
    assert len(resumed) == 4
