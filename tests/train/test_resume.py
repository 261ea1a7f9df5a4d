"""Trainer(checkpoint_dir=...).fit(resume=True) continues a fit exactly: the same weights and
History (bar each epoch's seconds) as the fit that never stopped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from sklearn.datasets import load_digits

import lamina
from lamina import EarlyStopping, LossTolerance, MaxEpochs, ParameterError, Trainer
from lamina.train import Callback, load_checkpoint


@pytest.fixture(scope="module")
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    X, y = load_digits(return_X_y=True)
    return torch.tensor(X[:600] / 16.0, dtype=torch.float32), torch.tensor(y[:600])


def _records(hist: lamina.History) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in hist.records]


# (spec, trainer options, rules other than the bound): the explicit engine; autograd with dropout
# (global RNG), batch norm and Adam; SGD with momentum and sklearn's adaptive plateau; L-BFGS
CASES = {
    "engine-adam-early-stopping": ("32-16", {"lr": 3e-3},
                                   lambda: [EarlyStopping(patience=20, monitor="val_loss")]),
    "autograd-dropout-batchnorm": ("32:relu:dropout=0.2:norm=batch", {"lr": 3e-3},
                                   lambda: [EarlyStopping(patience=20)]),
    "sgd-adaptive-plateau": ("32", {"optimizer": "sgd", "lr": 0.1},
                             lambda: [LossTolerance(tol=0.5, patience=1, adaptive_lr=True)]),
    "lbfgs": ("16", {"optimizer": "lbfgs", "lr": 1.0}, lambda: []),
    # epoch-based schedules count from where the interrupted fit began, not from the resume
    "cosine": ("16", {"optimizer": "sgd", "lr": 0.05, "schedule": "cosine"}, lambda: []),
    "step": ("16", {"optimizer": "sgd", "lr": 0.05,
                    "schedule": lamina.train.Schedule("step", lr0=0.05, step_size=2,
                                                      gamma=0.5)}, lambda: []),
}


class _Crash(Callback):
    """Stops the process' fit as a crash would: at the start of epoch 4, after 3 checkpoints."""

    def on_epoch_begin(self, state: Any) -> None:
        if state.epoch == 3:
            raise KeyboardInterrupt


@pytest.mark.parametrize("case", list(CASES))
def test_resumed_fit_equals_the_uninterrupted_one(tmp_path: Path, digits, case: str) -> None:
    X, y = digits
    spec, opts, rules = CASES[case]
    data, val = (X[:500], y[:500]), (X[500:], y[500:])

    def trainer(net: torch.nn.Module, ckpt: Path | None, crash: bool = False) -> Trainer:
        return Trainer(net, batch_size=64, stop=[MaxEpochs(6), *rules()], seed=3,
                       verbose=False, checkpoint_dir=None if ckpt is None else str(ckpt),
                       callbacks=[_Crash()] if crash else [], **opts)

    straight = lamina.build(spec, in_features=64, out=10, seed=0)
    full = trainer(straight, None).fit(data, val)
    crashed = lamina.build(spec, in_features=64, out=10, seed=0)
    with pytest.raises(KeyboardInterrupt):
        trainer(crashed, tmp_path, crash=True).fit(data, val)      # stopped after 3 epochs
    fresh = lamina.build(spec, in_features=64, out=10, seed=99)   # other weights: all reloaded
    resumed = trainer(fresh, tmp_path).fit(data, val, resume=True)
    assert _records(resumed) == _records(full)
    assert resumed.stop_reason == full.stop_reason
    for a, b in zip(fresh.state_dict().values(), straight.state_dict().values()):
        assert torch.equal(a, b)


def test_a_resumed_fit_whose_bound_is_reached_trains_no_more(tmp_path: Path, digits) -> None:
    X, y = digits
    net = lamina.build("16", in_features=64, out=10, seed=0)
    Trainer(net, stop=[MaxEpochs(2)], seed=0, verbose=False,
            checkpoint_dir=str(tmp_path)).fit((X, y))
    before = [p.detach().clone() for p in net.parameters()]
    hist = Trainer(net, stop=[MaxEpochs(2)], seed=0, verbose=False,
                   checkpoint_dir=str(tmp_path)).fit((X, y), resume=True)
    assert len(hist) == 2 and hist.stop_reason == "reached max_epochs=2"
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))


def test_checkpoint_folders_are_switched_atomically(tmp_path: Path, digits) -> None:
    X, y = digits
    net = lamina.build("16", in_features=64, out=10, seed=0)
    Trainer(net, stop=[MaxEpochs(3)], seed=0, verbose=False,
            checkpoint_dir=str(tmp_path)).fit((X, y))
    pointer = json.loads((tmp_path / "checkpoint.json").read_text())
    assert pointer["latest"] == "epoch-000003" and pointer["epoch"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.json", "epoch-000003"]
    assert not list(tmp_path.rglob("*.tmp"))
    other = lamina.build("16", in_features=64, out=10, seed=1)
    assert len(load_checkpoint(tmp_path, other)) == 3


def test_resume_errors_name_what_is_missing(tmp_path: Path, digits) -> None:
    X, y = digits
    net = lamina.build("16", in_features=64, out=10, seed=0)
    with pytest.raises(ParameterError, match="resuming needs the Trainer's checkpoint_dir"):
        Trainer(net, verbose=False).fit((X, y), resume=True)
    with pytest.raises(ParameterError, match=r"a folder holding a checkpoint"):
        Trainer(net, verbose=False, checkpoint_dir=str(tmp_path / "none")).fit((X, y),
                                                                             resume=True)
    Trainer(net, stop=[MaxEpochs(1)], verbose=False, checkpoint_dir=str(tmp_path)).fit((X, y))
    with pytest.raises(ParameterError, match=r"the stopping rules of the checkpointed fit"):
        Trainer(net, stop=[MaxEpochs(3), EarlyStopping(monitor="train_loss")], verbose=False,
                checkpoint_dir=str(tmp_path)).fit((X, y), resume=True)


def test_resuming_with_another_optimizer_path_or_network_is_refused(tmp_path: Path,
                                                                    digits) -> None:
    X, y = digits
    net = lamina.build("16", in_features=64, out=10, seed=0)
    Trainer(net, stop=[MaxEpochs(1)], verbose=False, checkpoint_dir=str(tmp_path)).fit((X, y))
    with pytest.raises(ParameterError, match=r"Invalid optimizer='sgd': the checkpointed fit's "
                       r"optimizer 'adam'"):
        Trainer(net, optimizer="sgd", stop=[MaxEpochs(2)], verbose=False,
                checkpoint_dir=str(tmp_path)).fit((X, y), resume=True)
    with pytest.raises(ParameterError, match=r"Invalid engine='autograd': the checkpointed "
                       r"fit's engine 'explicit'"):
        Trainer(net, engine="autograd", stop=[MaxEpochs(2)], verbose=False,
                checkpoint_dir=str(tmp_path)).fit((X, y), resume=True)
    other = lamina.build("32", in_features=64, out=10, seed=0)
    with pytest.raises(ParameterError, match=r"Invalid model='HiddenNet': the architecture of "
                       r"the checkpointed model"):
        Trainer(other, stop=[MaxEpochs(2)], verbose=False,
                checkpoint_dir=str(tmp_path)).fit((X, y), resume=True)


def test_resuming_a_loader_with_its_own_generator_warns(tmp_path: Path, digits) -> None:
    from torch.utils.data import DataLoader, TensorDataset

    X, y = digits
    loader = DataLoader(TensorDataset(X[:200], y[:200]), batch_size=50, shuffle=True,
                        generator=torch.Generator().manual_seed(7))
    net = lamina.build("16", in_features=64, out=10, seed=0)
    Trainer(net, stop=[MaxEpochs(1)], verbose=False, checkpoint_dir=str(tmp_path)).fit(loader)
    with pytest.warns(UserWarning, match="a DataLoader with its own generator="):
        Trainer(net, stop=[MaxEpochs(2)], verbose=False,
                checkpoint_dir=str(tmp_path)).fit(loader, resume=True)


def test_resuming_a_fit_early_stopping_ended_returns_it_as_it_ended(tmp_path: Path,
                                                                    digits) -> None:
    X, y = digits
    data, val = (X[:300], y[:300]), (X[300:], y[300:])

    def fit(net: torch.nn.Module, resume: bool = False) -> lamina.History:
        return Trainer(net, stop=[MaxEpochs(60), EarlyStopping(patience=1, min_delta=0.05)],
                       seed=1, lr=3e-2, batch_size=32, verbose=False,
                       checkpoint_dir=str(tmp_path)).fit(data, val, resume=resume)

    ended = lamina.build("64:relu", in_features=64, out=10, seed=0)
    first = fit(ended)
    assert first.stop_reason.startswith("early stopping") and len(first) < 60
    again = lamina.build("64:relu", in_features=64, out=10, seed=5)
    second = fit(again, resume=True)                      # trains nothing more
    assert len(second) == len(first) and second.stop_reason == first.stop_reason
    for a, b in zip(again.state_dict().values(), ended.state_dict().values()):
        assert torch.equal(a, b)                           # the best weights, restored


def test_a_checkpoint_dir_that_cannot_be_a_folder_is_refused_before_training(
        tmp_path: Path, digits) -> None:
    X, y = digits
    (tmp_path / "file.csv").write_text("x")
    net = lamina.build("16", in_features=64, out=10, seed=0)
    with pytest.raises(ParameterError, match=r"Invalid checkpoint_dir=.*: a folder lamina can create"):
        Trainer(net, stop=[MaxEpochs(1)], verbose=False,
                checkpoint_dir=str(tmp_path / "file.csv")).fit((X, y))


def test_resuming_a_fit_its_time_budget_ended_trains_no_more(tmp_path: Path, digits) -> None:
    from lamina import TimeBudget

    X, y = digits
    net = lamina.build("16", in_features=64, out=10, seed=0)
    rules = [MaxEpochs(5), TimeBudget(1e-9)]
    first = Trainer(net, stop=rules, seed=0, verbose=False,
                    checkpoint_dir=str(tmp_path)).fit((X, y))
    before = [p.detach().clone() for p in net.parameters()]
    again = Trainer(net, stop=[MaxEpochs(5), TimeBudget(1e-9)], seed=0, verbose=False,
                    checkpoint_dir=str(tmp_path)).fit((X, y), resume=True)
    assert len(again) == len(first) == 1 and again.stop_reason.startswith("time budget")
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))
