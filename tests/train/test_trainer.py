"""Trainer on real small problems: learning, History, determinism, divergence, restore."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import lamina
from lamina import DataError, EarlyStopping, MaxEpochs, MaxSteps, ParameterError, Trainer
from lamina.train import Callback, get_loss, load_checkpoint


@pytest.fixture(scope="module")
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    X, y = load_digits(return_X_y=True)
    return torch.tensor(X / 16.0, dtype=torch.float32), torch.tensor(y)


def _weights(net: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


@pytest.mark.parametrize("engine", ["auto", "autograd"])
def test_learns_digits_and_records_history(digits, engine: str) -> None:  # type: ignore[no-untyped-def]
    X, y = digits
    net = lamina.build((64,), in_features=64, out=10, seed=0)
    hist = Trainer(net, lr=1e-2, batch_size=64, stop=[MaxEpochs(15)], seed=0, verbose=False,
                   engine=engine).fit((X[:1400], y[:1400]), (X[1400:], y[1400:]))
    assert len(hist) == 15 and hist.stop_reason == "reached max_epochs=15"
    assert hist["train_loss"][-1] < 0.3 * hist["train_loss"][0]
    assert hist.last["val_accuracy"] > 0.9
    assert set(hist.keys()) >= {"epoch", "step", "train_loss", "val_loss", "val_accuracy", "lr",
                                "seconds", "grad_norm"}
    assert len(hist.last["grad_norm"]) == 2                      # hidden.0 and head
    assert hist.last["step"] == 15 * math.ceil(1400 / 64)


def test_same_seed_is_bit_identical(digits) -> None:  # type: ignore[no-untyped-def]
    X, y = digits
    runs = []
    for _ in range(2):
        net = lamina.build("32:relu:dropout=0.2-16", in_features=64, out=10, seed=3)
        hist = Trainer(net, lr=1e-2, batch_size=50, stop=[MaxEpochs(3)], seed=11,
                       verbose=False, engine="autograd").fit((X[:500], y[:500]))
        runs.append((_weights(net), [{k: v for k, v in r.items() if k != "seconds"}
                                     for r in hist]))
    (w1, h1), (w2, h2) = runs
    assert all(torch.equal(a, b) for a, b in zip(w1, w2))
    assert h1 == h2


def test_divergence_stops_and_keeps_finite_best_weights(digits) -> None:  # type: ignore[no-untyped-def]
    X, y = digits
    net = lamina.build((32,), in_features=64, out=10, seed=0)
    hist = Trainer(net, optimizer="sgd", lr=1e6, momentum=0.0, batch_size=64,
                   stop=[MaxEpochs(50)], seed=0, verbose=False, engine="autograd").fit((X, y))
    assert "diverged" in hist.stop_reason and "lower the learning rate" in hist.stop_reason
    assert len(hist) < 50
    assert all(torch.isfinite(p).all() for p in net.parameters())
    # which weights are kept is said as it is: a best epoch, or none when the first diverged
    assert ("kept the weights of the best epoch" in hist.stop_reason) == (len(hist) > 1)
    if len(hist) == 1:
        assert "no earlier epoch to go back to" in hist.stop_reason


def test_divergence_message_tells_a_bad_step_from_a_bad_epoch_loss() -> None:
    """The acceptance review read "(loss 9.36e+34); no epoch had a finite loss": a finite
    average over the finite steps of an epoch whose later step blew up."""
    from lamina.train import Divergence, History
    from lamina.train._state import TrainState

    rule = Divergence(threshold=1e3)
    for finite, loss, needle in ((False, 9.36e34, "a step's loss or gradient became NaN/inf; "
                                  "the finite steps averaged 9.36e+34"),
                                 (True, math.inf, "(loss inf)"),
                                 (True, 5e3, "loss 5e+03 > threshold 1000")):
        rule.reset()
        state = TrainState(model=torch.nn.Linear(1, 1), history=History())
        state.epoch, state.finite, state.record = 1, finite, {"train_loss": loss}
        stop, reason = rule.check(state)
        assert stop and needle in reason and "no earlier epoch to go back to" in reason, reason
        kept_now = finite and math.isfinite(loss)       # over the threshold, no step blew up
        assert ("the weights are this epoch's" in reason) == kept_now, reason


def test_early_stopping_restores_best_weights(digits) -> None:  # type: ignore[no-untyped-def]
    X, y = digits
    net = lamina.build((64,), in_features=64, out=10, seed=0)
    seen: dict[int, list[torch.Tensor]] = {}

    class Keep(Callback):
        def on_epoch_end(self, state, record):  # type: ignore[no-untyped-def]
            seen[state.epoch] = _weights(state.model)

    # tiny train set -> val loss turns up quickly
    hist = Trainer(net, lr=3e-2, batch_size=16, seed=0, verbose=False, engine="autograd",
                   stop=[MaxEpochs(60), EarlyStopping(patience=3)], callbacks=[Keep()]
                   ).fit((X[:60], y[:60]), (X[1000:], y[1000:]))
    best_epoch = int(np.argmin(hist["val_loss"])) + 1
    assert "early stopping" in hist.stop_reason and len(hist) == best_epoch + 3
    assert all(torch.equal(a, b) for a, b in zip(_weights(net), seen[best_epoch]))


def test_max_steps_is_exact(digits) -> None:  # type: ignore[no-untyped-def]
    X, y = digits
    net = lamina.build((8,), in_features=64, out=10, seed=0)
    hist = Trainer(net, batch_size=100, stop=[MaxSteps(25)], verbose=False).fit((X, y))
    assert hist.last["step"] == 25 and hist.stop_reason == "reached max_steps=25"


def test_any_module_through_a_dataloader() -> None:
    torch.manual_seed(0)
    X = torch.randn(256, 1, 8, 8)
    y = (X.mean((1, 2, 3)) > 0).long()
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(4 * 36, 2))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=32)
    trainer = Trainer(model, lr=1e-2, stop=[MaxEpochs(8)], verbose=False, seed=0)
    hist = trainer.fit(loader, loader)
    assert trainer.engine_used_ == "autograd"
    assert hist.last["val_accuracy"] > 0.85


def test_lbfgs_full_batch(digits) -> None:  # type: ignore[no-untyped-def]
    X, y = digits
    net = lamina.build((16,), in_features=64, out=10, seed=0)
    hist = Trainer(net, optimizer="lbfgs", lr=1.0, stop=[MaxEpochs(30)], verbose=False,
                   max_fun=15000).fit((X, y))
    assert hist.last["step"] == 30 and hist["train_loss"][-1] < 0.5


def test_checkpoints_round_trip(tmp_path, digits) -> None:  # type: ignore[no-untyped-def]
    X, y = digits
    net = lamina.build((8,), in_features=64, out=10, seed=0)
    Trainer(net, stop=[MaxEpochs(2)], verbose=False, checkpoint_dir=str(tmp_path)).fit((X, y))
    other = lamina.build((8,), in_features=64, out=10, seed=1)
    hist = load_checkpoint(tmp_path, other)
    assert len(hist) == 2
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), other.parameters()))
    assert not list(tmp_path.glob(".*.tmp"))                     # atomic writes leave no temp


def test_losses_by_hand() -> None:
    out = torch.tensor([[0.0, 0.0], [2.0, -1.0]])
    y2 = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    # binary_cross_entropy: per-sample SUM over outputs, mean over samples (sklearn)
    bce = get_loss("binary_cross_entropy")(out, y2)
    expected = (2 * math.log(2) + (math.log1p(math.exp(-2)) + math.log1p(math.exp(1)))) / 2
    assert float(bce) == pytest.approx(expected, rel=1e-6)
    assert float(get_loss("half_mse")(out, y2)) == pytest.approx((1 + 0 + 1 + 4) / 4 / 2)
    assert float(get_loss("mae")(out, y2)) == pytest.approx((1 + 0 + 1 + 2) / 4)
    assert float(get_loss("huber")(torch.tensor([[3.0]]), torch.tensor([[0.0]]))) == 2.5
    ce = get_loss("cross_entropy")(torch.tensor([[0.0, math.log(3)]]), torch.tensor([1]))
    assert float(ce) == pytest.approx(math.log(4 / 3))


def test_bad_input_messages(digits) -> None:  # type: ignore[no-untyped-def]
    X, y = digits
    net = lamina.build((8,), in_features=64, out=10)
    with pytest.raises(ParameterError, match="needs a rule that bounds training.*MaxEpochs"):
        Trainer(net, stop=[EarlyStopping()])
    with pytest.raises(ParameterError, match="Invalid loss='crossentropy'.*Did you mean "
                                             "'cross_entropy'"):
        Trainer(net, loss="crossentropy")
    with pytest.raises(ParameterError, match="Invalid optimizer='adma'.*Did you mean 'adam'"):
        Trainer(net, optimizer="adma")
    with pytest.raises(ParameterError, match="Invalid model='str'.*torch.nn.Module"):
        Trainer("net")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="X has 10 rows but y has 9"):
        Trainer(net, verbose=False).fit((X[:10], y[:9]))
    with pytest.raises(DataError, match="needs integer class ids"):
        Trainer(net, verbose=False).fit((X[:10], y[:10] + 0.5))


def test_progress_without_a_terminal_prints_one_plain_line(capsys) -> None:
    """Under pytest stdout is not a terminal: no bar (rich would draw it cut at 80 columns)."""
    import lamina

    net = lamina.build((8,), in_features=4, out=3, seed=0)
    X, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
    lamina.Trainer(net, lr=1e-2, stop=[lamina.MaxEpochs(3)], verbose=True).fit((X, y))
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("training: 3 epochs in ") and "(reached max_epochs=3); last: loss" \
        in lines[0]


@pytest.mark.parametrize("engine", ["explicit", "autograd"])
def test_time_budget_is_checked_between_batches(digits, engine: str) -> None:  # type: ignore[no-untyped-def]
    """A budget that is spent by the first step stops after that step, inside the epoch, on
    both paths (the explicit engine used to finish the whole epoch first)."""
    X, y = digits
    net = lamina.build((16,), in_features=64, out=10, seed=0)
    hist = Trainer(net, batch_size=32, stop=[lamina.TimeBudget(1e-9)], verbose=False, seed=0,
                   engine=engine).fit((X, y))
    assert hist["step"] == [1] and "time budget" in hist.stop_reason


def test_an_unspent_time_budget_changes_nothing(digits) -> None:  # type: ignore[no-untyped-def]
    X, y = digits
    runs = []
    for stop in ([MaxEpochs(2)], [MaxEpochs(2), lamina.TimeBudget(1e6)]):
        net = lamina.build((16,), in_features=64, out=10, seed=0)
        trainer = Trainer(net, batch_size=64, stop=stop, verbose=False, seed=0)
        hist = trainer.fit((X, y))
        assert trainer.engine_used_ == "explicit"
        runs.append((_weights(net), hist["train_loss"]))
    assert all(torch.equal(a, b) for a, b in zip(runs[0][0], runs[1][0]))
    assert runs[0][1] == runs[1][1]


def test_monitoring_validation_without_validation_data_is_refused(digits) -> None:  # type: ignore[no-untyped-def]
    X, y = digits
    net = lamina.build((8,), in_features=64, out=10, seed=0)
    for rule in (EarlyStopping(patience=1), lamina.TargetMetric("val_accuracy", 0.9)):
        trainer = Trainer(net, stop=[MaxEpochs(3), rule], verbose=False)
        with pytest.raises(ParameterError, match=r"Invalid val=None: \w+ monitors 'val_\w+', "
                                                 r"which is measured on validation data"):
            trainer.fit((X, y))
        assert not hasattr(trainer, "state_")      # refused before training


@pytest.mark.parametrize("engine", ["explicit", "autograd"])
def test_a_misspelt_monitor_is_an_error_after_the_first_epoch(digits, engine: str) -> None:  # type: ignore[no-untyped-def]
    X, y = digits
    net = lamina.build((8,), in_features=64, out=10, seed=0)
    trainer = Trainer(net, stop=[MaxEpochs(5), EarlyStopping(monitor="val_acc")], verbose=False,
                      engine=engine)
    with pytest.raises(ParameterError, match="Invalid monitor='val_acc'.*records .*val_accuracy"
                                             ".*Did you mean 'val_accuracy'"):
        trainer.fit((X[:1000], y[:1000]), (X[1000:], y[1000:]))


def test_each_fit_starts_from_the_configured_schedule(digits) -> None:  # type: ignore[no-untyped-def]
    """An adaptive plateau (lr / 5) changes the learning rate of that fit only."""
    X, y = digits
    net = lamina.build((8,), in_features=64, out=10, seed=0)
    schedule = lamina.train.Schedule("invscaling", lr0=0.5)
    # tol=10: every epoch after the first counts as a plateau, whatever the weights do
    trainer = Trainer(net, optimizer="sgd", schedule=schedule, verbose=False, seed=0,
                      stop=[MaxEpochs(6), lamina.LossTolerance(tol=10.0, patience=1,
                                                               adaptive_lr=True)])
    first = trainer.fit((X, y))["lr"]
    second = trainer.fit((X, y))["lr"]
    assert first[3] == pytest.approx(first[2] / 5)    # the plateau (epoch 3) took effect
    assert second == first
    assert trainer.schedule is schedule


def test_rough_inputs_get_named_errors_or_work(digits) -> None:  # type: ignore[no-untyped-def]
    X, y = digits
    net = lamina.build((8,), in_features=64, out=10, seed=0)
    # one rule instead of a list, and (rows, labels) as plain lists, are taken as meant
    hist = Trainer(net, stop=MaxEpochs(1), verbose=False).fit((X[:50].tolist(), y[:50].tolist()))
    assert len(hist) == 1
    with pytest.raises(ParameterError, match=r"Invalid metrics='acuracy'.*Did you mean "
                       r"'accuracy'"):
        Trainer(net, metrics=["acuracy"], verbose=False)      # at construction, not epoch 1
    with pytest.raises(ParameterError, match=r"Invalid model='ReLU': a module with trainable "
                       r"parameters"):
        Trainer(torch.nn.ReLU(), verbose=False)


@pytest.mark.parametrize("engine", ["explicit", "autograd"])
def test_float16_adam_survives_exactly_zero_gradients(digits, engine: str) -> None:  # type: ignore[no-untyped-def]
    # digits has pixels that are 0 in every image: their first-layer weights get exactly zero
    # gradients; torch's unfused Adam then computed 0/0 in float16 (eps=1e-8 rounds to 0, and
    # is now refused: see test_trainer_half_eps.py). With an eps float16 holds, those exactly
    # zero gradients still leave every weight finite.
    X, y = digits
    net = lamina.build("16", in_features=64, out=10, seed=0, dtype="float16")
    first = next(net.parameters())
    assert first.dim() == 2 and bool((X == 0).all(0).any())    # zero columns: zero gradients
    hist = Trainer(net, lr=1e-3, eps=1e-4, batch_size=64, stop=[MaxEpochs(1)], seed=0,
                   verbose=False, engine=engine).fit((X.half(), y))
    assert hist.stop_reason == "reached max_epochs=1", hist.stop_reason
    assert all(torch.isfinite(p).all() for p in net.parameters())


def test_rmsprop_refuses_an_eps_that_half_precision_rounds_to_zero(digits) -> None:  # type: ignore[no-untyped-def]
    X, y = digits
    for engine in ("explicit", "autograd"):
        net = lamina.build("16", in_features=64, out=10, seed=0, dtype="float16")
        with pytest.raises(ParameterError, match=r"Invalid eps=1e-08: solver='rmsprop' with "
                           r"dtype='float16' needs an eps that float16 can hold, and 1e-08 "
                           r"rounds to 0 there"):
            Trainer(net, optimizer="rmsprop", stop=[MaxEpochs(1)], verbose=False,
                    engine=engine).fit((X.half(), y))
    net = lamina.build("16", in_features=64, out=10, seed=0, dtype="float16")
    hist = Trainer(net, optimizer="rmsprop", eps=1e-4, lr=1e-3, stop=[MaxEpochs(1)],
                   verbose=False, engine="autograd").fit((X.half(), y))
    assert hist.stop_reason == "reached max_epochs=1"


def test_cosine_by_name_decays_over_the_max_epochs(digits) -> None:  # type: ignore[no-untyped-def]
    X, y = digits
    net = lamina.build((8,), in_features=64, out=10, seed=0)
    hist = Trainer(net, lr=0.1, schedule="cosine", stop=[MaxEpochs(4)], verbose=False,
                   seed=0).fit((X[:200], y[:200]))
    # lr0 (1 + cos(pi e / 4)) / 2 for e = 0..3: not a 100-epoch cosine cut off after 4 epochs
    expected = [0.1 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)]
    assert hist["lr"] == pytest.approx(expected)


def test_loaders_get_the_target_handling_of_in_memory_data_and_empty_ones_are_named(digits) -> None:  # type: ignore[no-untyped-def]
    from torch.utils.data import DataLoader, TensorDataset

    X, y = digits
    for targets in (y.int(), y.float(), y[:, None]):         # int32, float, (N, 1) labels
        net = lamina.build((8,), in_features=64, out=10, seed=0)
        loader = DataLoader(TensorDataset(X[:200], targets[:200]), batch_size=64)
        hist = Trainer(net, stop=[MaxEpochs(1)], verbose=False).fit(loader, loader)
        assert hist.stop_reason == "reached max_epochs=1" and hist.last["val_accuracy"] >= 0
    net = lamina.build((8,), in_features=64, out=10, seed=0)
    once = ((X[i:i + 50], y[i:i + 50]) for i in range(0, 200, 50))   # a one-shot generator
    with pytest.raises(DataError, match="train yielded no batches. A generator is used up"):
        Trainer(net, stop=[MaxEpochs(3)], verbose=False).fit(once)
    with pytest.raises(DataError, match="val yielded no batches"):
        Trainer(net, stop=[MaxEpochs(1)], verbose=False).fit((X[:100], y[:100]), [])


def test_history_takes_numpy_indices_and_scalars(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    hist = lamina.History([{"epoch": 1, "m": np.float32(0.5)}, {"epoch": 2, "m": np.int64(3)}])
    assert hist[np.int64(1)]["epoch"] == 2 and "m" in hist and "x" not in hist
    hist.save(tmp_path / "h.jsonl")                          # was: float32 not serializable
    assert lamina.History.load(tmp_path / "h.jsonl")["m"] == [0.5, 3]
