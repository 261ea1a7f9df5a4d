"""In-memory padded sequences, ``Trainer.fit((X, lengths, y))``: trained as a loader of the
same batches would be, checked once up front with errors that name the bad value."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import DataError, MaxEpochs, ParameterError, Trainer


def _sequences(n: int = 96, steps: int = 7, seed: int = 0
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Padded ``(n, steps, 2)`` sequences of random lengths; the class is the sign of the
    sum of feature 0 over the real steps (so the padding must be ignored to learn it)."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, steps + 1, (n,), generator=g)
    X = torch.randn(n, steps, 2, generator=g)
    mask = torch.arange(steps)[None, :] < lengths[:, None]
    X[~mask] = 0.0
    y = ((X[:, :, 0] * mask).sum(1) > 0).long()
    return X, lengths, y


def _net(seed: int = 0) -> torch.nn.Module:
    return lamina.build("gru(8)", in_shape=(7, 2), out=2, seed=seed)


def _weights(net: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def test_in_memory_sequences_train_as_the_same_batches_from_a_loader() -> None:
    X, lengths, y = _sequences()
    train, val = (X[:80], lengths[:80], y[:80]), (X[80:], lengths[80:], y[80:])
    loader = [(X[i:i + 16], lengths[i:i + 16], y[i:i + 16]) for i in range(0, 80, 16)]
    runs = []
    for data, val_data in ((train, val), (loader, [val])):
        net = _net()
        hist = Trainer(net, lr=1e-2, batch_size=16, shuffle=False, seed=0, verbose=False,
                       stop=[MaxEpochs(3)]).fit(data, val_data)
        runs.append((_weights(net), hist["train_loss"], hist["val_loss"], hist["val_accuracy"]))
    (w_mem, *curves_mem), (w_loader, *curves_loader) = runs
    assert all(torch.equal(a, b) for a, b in zip(w_mem, w_loader))
    assert curves_mem == curves_loader


def test_in_memory_sequences_shuffle_reproducibly_and_learn() -> None:
    X, lengths, y = _sequences(n=192)
    data = (X.numpy(), lengths.numpy(), y.numpy())          # numpy arrays work too
    results = []
    for _ in range(2):
        net = _net()
        trainer = Trainer(net, lr=2e-2, batch_size=32, seed=3, verbose=False,
                          stop=[MaxEpochs(8)])
        hist = trainer.fit(data, data)
        results.append((_weights(net), hist["train_loss"]))
        assert trainer.engine_used_ == "autograd"
    assert all(torch.equal(a, b) for a, b in zip(results[0][0], results[1][0]))
    assert results[0][1] == results[1][1]
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    assert hist.last["val_accuracy"] > 0.75


def test_padding_past_each_length_is_never_read() -> None:
    """NaN padding is allowed (and ignored) with lengths; NaN at a real step is refused."""
    X, lengths, y = _sequences()
    padded = X.clone()
    mask = torch.arange(7)[None, :] < lengths[:, None]
    padded[~mask] = float("nan")
    clean, dirty = _net(), _net()
    for net, data in ((clean, X), (dirty, padded)):
        Trainer(net, batch_size=16, seed=0, verbose=False, stop=[MaxEpochs(2)]).fit(
            (data, lengths, y), (data, lengths, y))
    assert all(torch.equal(a, b) for a, b in zip(_weights(clean), _weights(dirty)))
    bad = X.clone()
    bad[5, 0, 1] = float("nan")                       # step 0 is real in every sequence
    with pytest.raises(DataError, match=r"^train: the input holds NaN or infinite values at "
                                        r"valid steps \(first: sequence 5, step 0\)"):
        Trainer(_net(), verbose=False, stop=[MaxEpochs(1)]).fit((bad, lengths, y))


def test_sample_weights_and_lbfgs_take_in_memory_sequences() -> None:
    X, lengths, y = _sequences()
    w = np.ones(len(y))
    w[::2] = 0.0
    hist = Trainer(_net(), batch_size=16, seed=0, verbose=False, stop=[MaxEpochs(2)]).fit(
        (X, lengths, y), sample_weight=w)
    assert len(hist) == 2 and np.isfinite(hist["train_loss"]).all()
    hist = Trainer(_net(), optimizer="lbfgs", lr=1.0, seed=0, verbose=False,
                   stop=[MaxEpochs(2)]).fit((X, lengths, y), (X, lengths, y))
    assert len(hist) == 2 and np.isfinite(hist["val_loss"]).all()
    with pytest.raises(ParameterError, match=r"Invalid engine='explicit': the explicit engine "
                                             r"trains only dense HiddenNets"):
        Trainer(_net(), engine="explicit", verbose=False, stop=[MaxEpochs(1)]).fit(
            (X, lengths, y))


@pytest.mark.parametrize("lengths, message", [
    (lambda L: L[:, None], r"lengths must hold one length per row of X, shape \(96,\); got "
                           r"shape \(96, 1\)"),
    (lambda L: L[:50], r"lengths must hold one length per row of X, shape \(96,\); got shape "
                       r"\(50,\)"),
    (lambda L: torch.where(torch.arange(96) == 4, 0, L), r"every length must be >= 1 \(every "
                                                         r"sequence needs a step\); lengths\[4\] "
                                                         r"is 0 \(1 of 96"),
    (lambda L: torch.where(torch.arange(96) == 9, 8, L), r"every length must be <= T=7, the "
                                                         r"padded length of X \(nothing is "
                                                         r"truncated silently\); lengths\[9\] "
                                                         r"is 8"),
    (lambda L: L.double() + 0.5, r"lengths must be whole numbers of steps; got dtype float64"),
    (lambda L: L > 3, r"lengths must be whole numbers of steps; got dtype bool"),
    (lambda L: "long", r"lengths must be a 1-D array of integers, one per row of X; got str"),
])
def test_bad_lengths_are_named(lengths, message: str) -> None:  # type: ignore[no-untyped-def]
    X, L, y = _sequences()
    trainer = Trainer(_net(), verbose=False, stop=[MaxEpochs(1)])
    with pytest.raises(DataError, match="^train: " + message):
        trainer.fit((X, lengths(L), y))
    with pytest.raises(DataError, match="^val: " + message):
        trainer.fit((X, L, y), (X, lengths(L), y))
    assert not hasattr(trainer, "state_")            # refused before any step


def test_whole_float_lengths_are_read_as_integers() -> None:
    X, L, y = _sequences()
    hist = Trainer(_net(), verbose=False, seed=0, stop=[MaxEpochs(1)]).fit(
        (X, L.double(), y), (X, L.tolist(), y))
    assert len(hist) == 1 and np.isfinite(hist["val_loss"]).all()


def test_lengths_need_sequences_and_a_layer_that_reads_them() -> None:
    X, L, y = _sequences()
    with pytest.raises(DataError, match=r"^train: \(X, lengths, y\) needs X of padded "
                                        r"sequences, shape \(N, T, \.\.\.\) with the steps on "
                                        r"axis 1; got X of shape \(96,\)"):
        Trainer(_net(), verbose=False, stop=[MaxEpochs(1)]).fit((X[:, 0, 0], L, y))
    dense = lamina.build((8,), in_shape=(7, 2), out=2, seed=0)
    with pytest.raises(DataError, match=r"^train: lengths were given with X, but this network "
                                        r"has no layer that reads them \(rnn, lstm, gru, attn "
                                        r"or seqpool\).*Pass \(X, y\) without lengths"):
        Trainer(dense, verbose=False, stop=[MaxEpochs(1)]).fit((X, L, y))
    with pytest.raises(DataError, match=r"^train: X has 96 rows but y has 95"):
        Trainer(_net(), verbose=False, stop=[MaxEpochs(1)]).fit((X, L, y[:95]))


def test_ragged_sequences_must_be_padded_first() -> None:
    seqs = [np.zeros((3, 2)).tolist(), np.zeros((5, 2)).tolist()]
    with pytest.raises(DataError, match=r"^train: \(X, lengths, y\) needs X as one array of "
                                        r"padded sequences.*got a list of 2 sequences that "
                                        r"do not form one numeric array \(different "
                                        r"lengths\?\). Pad them first, e.g. "
                                        r"torch.nn.utils.rnn.pad_sequence"):
        Trainer(_net(), verbose=False, stop=[MaxEpochs(1)]).fit((seqs, [3, 5], [0, 1]))
    X, L, y = _sequences()
    hist = Trainer(_net(), verbose=False, seed=0, stop=[MaxEpochs(1)]).fit(   # padded lists
        [X.tolist(), L.tolist(), y.tolist()])
    assert len(hist) == 1 and hist.last["step"] == 1


def test_a_tuple_of_three_batches_is_still_a_loader() -> None:
    X, L, y = _sequences()
    batches = tuple((X[i:i + 32], L[i:i + 32], y[i:i + 32]) for i in range(0, 96, 32))
    hist = Trainer(_net(), verbose=False, seed=0, stop=[MaxEpochs(1)]).fit(batches)
    assert len(hist) == 1 and hist.last["step"] == 3
