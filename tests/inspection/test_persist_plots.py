"""Saving/loading an inspection and the figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure
from sklearn.datasets import load_digits, make_moons

import lamina
from lamina.inspection import Inspection, inspect


@pytest.fixture(scope="module")
def digits_ins():
    X, y = load_digits(return_X_y=True)
    X, y = (X[:600] / 16.0).astype(np.float32), y[:600]
    net = lamina.build((24, 12), in_features=64, out=10, seed=0)
    opt = torch.optim.Adam(net.parameters(), lr=2e-2)
    for _ in range(40):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(torch.as_tensor(X)), torch.as_tensor(y)).backward()
        opt.step()
    return inspect(net, X, y, sample_size=300), X, y


def test_save_load_round_trip(tmp_path, digits_ins):
    ins, X, y = digits_ins
    ins.probe()
    ins.gradient_flow(X, y)
    ins.cka()
    ins.save(tmp_path / "ins")
    back = Inspection.load(tmp_path / "ins")
    pd.testing.assert_frame_equal(ins.units, back.units, check_dtype=False)
    pd.testing.assert_frame_equal(ins.layers, back.layers, check_dtype=False)
    pd.testing.assert_frame_equal(ins.cka(), back.cka())
    pd.testing.assert_frame_equal(ins.results["probe"], back.results["probe"])
    pd.testing.assert_frame_equal(ins.results["gradient_flow"].layers,
                                  back.results["gradient_flow"].layers)
    assert back.top_examples("hidden.1", 3).indices.tolist() == \
        ins.top_examples("hidden.1", 3).indices.tolist()
    np.testing.assert_array_equal(back.sample_y, ins.sample_y)
    assert back.meta["n_rows"] == 600 and back.input_info == ins.input_info
    assert back.probe()["score"].tolist() == ins.results["probe"]["score"].tolist()
    with pytest.raises(lamina.ParameterError, match=r"Invalid model=None: this inspection was "
                                                     r"loaded from disk"):
        back.ablate(X, y)
    with pytest.raises(lamina.RunDirError, match=r"holds no saved inspection"):
        Inspection.load(tmp_path / "nothing")


def test_figures_are_figures_and_files(tmp_path, digits_ins):
    ins, X, y = digits_ins
    fig = ins.plot_pca()
    assert isinstance(fig, Figure)
    assert [a.get_title() for a in fig.axes] == ["input", "hidden.0", "hidden.1"]
    fig.savefig(tmp_path / "pca.svg")
    assert (tmp_path / "pca.svg").read_text().lstrip().startswith("<?xml")
    ins.probe()
    written = ins.save_figures(tmp_path / "figs")
    names = {p.name for p in written}
    assert {"histograms.png", "pca.png", "cka.png", "units_0.png", "units_1.png", "probe.png",
            "first_layer_weights.png", "top_examples_0.png", "maximization_1.png"} <= names
    assert all(p.stat().st_size > 1000 for p in written)
    assert (tmp_path / "figs" / "cka.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(lamina.ParameterError, match=r"Invalid formats=\('gif',\)"):
        ins.save_figures(tmp_path / "figs", formats=("gif",))


def test_activation_maximisation_excites_the_unit(digits_ins):
    ins, X, y = digits_ins
    unit = int(ins.units[ins.units["layer"] == "hidden.0"].sort_values("std").iloc[-1]["unit"])
    fig = ins.plot_activation_maximization("hidden.0", units=[unit], steps=80)
    reached = float(fig.axes[0].get_title().split("\n")[1])
    assert reached > ins.units[(ins.units["layer"] == "hidden.0")
                               & (ins.units["unit"] == unit)]["q95"].iloc[0]


def test_unit_maps_for_two_dimensional_inputs():
    X, y = make_moons(300, noise=0.1, random_state=0)
    net = lamina.build((6, 4), in_features=2, out=2, seed=0)
    ins = inspect(net, X, y)
    fig = ins.plot_unit_maps(resolution=20)
    assert len(fig.axes) == 3
    assert fig.axes[1].get_title().startswith("hidden.0")
    three = inspect(lamina.build((3,), in_features=3, out=2), np.zeros((4, 3)))
    with pytest.raises(lamina.DataError, match=r"unit maps need inputs with exactly 2 features"):
        three.plot_unit_maps()
