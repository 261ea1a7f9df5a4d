"""Hooks always removed, modes restored, and every bad input answered by a lamina error that
names the parameter, the value, what is allowed and a fix."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import lamina
from lamina.inspection import inspect


def _no_hooks(model: nn.Module) -> bool:
    return not any(len(m._forward_hooks) for m in model.modules())


class Boom(nn.Module):
    """Raises on its third forward call."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.act = nn.ReLU()
        self.unused = nn.Tanh()
        self.drop = nn.Dropout(0.5)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        if self.calls == 3:
            raise ValueError("boom")
        return self.drop(self.act(self.fc(x)))


def test_hooks_are_removed_and_modes_restored_when_the_forward_raises():
    model = Boom()
    model.train()
    with pytest.raises(ValueError, match="boom"):
        inspect(model, np.zeros((10, 3), np.float32), batch_size=4)
    assert _no_hooks(model)
    assert model.training and model.drop.training


def test_a_layer_that_never_fires_is_an_error_naming_it():
    model = Boom()
    with pytest.raises(lamina.DataError, match=r"layer\(s\) 'unused' never ran during the "
                                               r"forward pass.*that did run: 'act'"):
        inspect(model, np.zeros((4, 3), np.float32), layers=["act", "unused"])
    assert _no_hooks(model)


def test_unknown_layer_names_list_the_available_ones():
    net = lamina.build((4, 3), in_features=2, out=2)
    with pytest.raises(lamina.ParameterError) as err:
        inspect(net, np.zeros((3, 2)), layers=["hiden.1"])
    msg = str(err.value)
    assert msg.startswith("Invalid layers='hiden.1': no module of the model has this name")
    assert "'hidden.0', 'hidden.1'" in msg and "Did you mean 'hidden.1'?" in msg
    with pytest.raises(lamina.ParameterError, match=r"Invalid layers=\[\]: an empty list"):
        inspect(net, np.zeros((3, 2)), layers=[])
    with pytest.raises(lamina.ParameterError, match=r"no activation modules"):
        inspect(nn.Sequential(nn.Linear(2, 2)), np.zeros((3, 2)))


def test_training_mode_is_restored_and_does_not_change_the_statistics():
    net = lamina.build("8:relu:dropout=0.5:norm=batch-4", in_features=3, out=2, seed=0)
    X = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
    net.train()
    net.hidden[1].eval()                       # a submodule the user put in eval on purpose
    ins = inspect(net, X)
    assert net.training and net.hidden[0].training and not net.hidden[1].training
    assert ins.meta["model_was_training"] is True
    net.eval()
    with torch.no_grad():
        expect = net.hidden[0](torch.as_tensor(X)).mean(0).numpy()
    np.testing.assert_allclose(ins.units[ins.units["layer"] == "hidden.0"]["mean"], expect,
                               rtol=1e-5, atol=1e-6)


def test_data_of_the_wrong_shape():
    net = lamina.build((4,), in_features=4, out=2)
    with pytest.raises(lamina.DataError, match=r"X has shape \(5, 7\) but the model expects "
                                               r"inputs of shape \(n_samples, 4\).*Pass 4 "
                                               r"features per row"):
        inspect(net, np.zeros((5, 7)))
    with pytest.raises(lamina.DataError, match=r"must be 2-D \(n_samples, 4\)"):
        inspect(net, np.zeros(4))
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    with pytest.raises(lamina.DataError, match=r"the model's forward failed on the first batch "
                                               r"of X \(shape \(5, 7\).*Check that X has the "
                                               r"shape"):
        inspect(model, np.zeros((5, 7)))
    assert _no_hooks(model)


def test_empty_data_and_wrong_types():
    net = lamina.build((4,), in_features=2, out=2)
    with pytest.raises(lamina.DataError, match=r"X yielded no rows"):
        inspect(net, iter([]))
    with pytest.raises(lamina.DataError, match=r"X is empty \(shape \(0, 2\)\)"):
        inspect(net, np.zeros((0, 2)))
    with pytest.raises(lamina.ParameterError, match=r"Invalid X='data.csv': expected an array"):
        inspect(net, "data.csv")
    with pytest.raises(lamina.ParameterError, match=r"Invalid model='net': expected a fitted "
                                                     r"lamina estimator"):
        inspect("net", np.zeros((2, 2)))
    with pytest.raises(lamina.ParameterError, match=r"Invalid batch_size=0: must be an integer "
                                                     r">= 1"):
        inspect(net, np.zeros((2, 2)), batch_size=0)
    with pytest.raises(lamina.ParameterError, match=r"Invalid top_k=0"):
        inspect(net, np.zeros((2, 2)), top_k=0)
    with pytest.raises(lamina.ParameterError, match=r"Invalid device='tpu'"):
        inspect(net, np.zeros((2, 2)), device="tpu")
    with pytest.raises(lamina.DataError, match=r"non-numeric values"):
        inspect(net, np.array([["a", "b"]], dtype=object))


def test_y_of_the_wrong_length():
    net = lamina.build((4,), in_features=2, out=2)
    X = np.random.default_rng(0).normal(size=(40, 2))
    with pytest.raises(lamina.DataError, match=r"y has 39 entries but X has 40 rows"):
        inspect(net, X, np.zeros(39))
    ins = inspect(net, X)
    with pytest.raises(lamina.DataError, match=r"y has 41 entries but the inspection saw 40 "
                                               r"rows; pass one label per inspected row"):
        ins.probe(np.zeros(41))
    with pytest.raises(lamina.DataError, match=r"no labels: pass y=\.\.\. to probe"):
        ins.probe()
    with pytest.raises(lamina.DataError, match=r"a single class"):
        ins.probe(np.zeros(40))
    with pytest.raises(lamina.DataError, match=r"ablation needs targets"):
        ins.ablate(X, None)
    with pytest.raises(lamina.DataError, match=r"class indices from 0 to 5 but the model has 2 "
                                               r"output"):
        ins.ablate(X, np.arange(40) % 6)


def test_dataloaders_and_batch_iterables_equal_arrays():
    net = lamina.build((6,), in_features=3, out=2, seed=0)
    X = np.random.default_rng(1).normal(size=(50, 3)).astype(np.float32)
    y = np.arange(50) % 2
    a = inspect(net, X, y)
    loader = DataLoader(TensorDataset(torch.as_tensor(X), torch.as_tensor(y)), batch_size=8)
    b = inspect(net, loader)
    c = inspect(net, ((X[i:i + 16], y[i:i + 16]) for i in range(0, 50, 16)))
    for other in (b, c):
        np.testing.assert_allclose(a.units["mean"], other.units["mean"], rtol=1e-6)
        np.testing.assert_array_equal(a.sample_y, other.sample_y)
        assert other.n_rows == 50
    with pytest.raises(lamina.DataError, match=r"yielded a dict"):
        inspect(net, [{"x": X}])
