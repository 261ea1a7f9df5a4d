"""Autoencoder's ``scale``: the ``"bounded"`` default on real flat images and tables, the
explicit options, and runs saved before the scaling was recorded in ``config.json``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

import lamina
from lamina.estimators import Autoencoder
from lamina.estimators._autoencoder import BOUND, column_stats, scaling_stats
from lamina.estimators._persist import _content_digest

pytestmark = pytest.mark.usefixtures("one_thread")     # see conftest.py


def _split(name: str) -> tuple[np.ndarray, np.ndarray]:
    X = lamina.datasets.load(name).X.astype(np.float64)
    train, test = train_test_split(X, test_size=0.25, random_state=0)
    return train, test


# ---------------------------------------------------------------- real-data floors
def test_default_scale_reconstructs_flat_digits_near_pca() -> None:
    """Flat 8x8 digits: per-pixel standardisation blows rarely-lit border pixels up by their
    tiny standard deviation, and the code is spent on them. Held-out MSE (original units) /
    PCA(16)'s, seeds 0-4 of this configuration: bounded (default) 0.93-0.97, center
    0.90-0.95, standard (the old default) 1.26-1.45: the floor separates them."""
    Xtr, Xte = _split("digits")
    pca = PCA(16).fit(Xtr)
    pca_mse = ((pca.inverse_transform(pca.transform(Xte)) - Xte) ** 2).mean()
    ae = Autoencoder("64", bottleneck=16, epochs=30, lr=3e-3, random_state=0).fit(Xtr)
    assert ae.scale == "bounded" and ae.scale_method_ == "bounded"
    assert ae.reconstruction_error(Xte).mean() < 1.15 * pca_mse


def test_default_scale_keeps_table_columns_balanced() -> None:
    """breast_cancer: columns in units 1e5 apart. Measured in each column's own standard
    deviations, the default must stay near PCA on standardised columns, as "standard" does
    (seeds 0-4: bounded 0.94-1.06, standard 0.94-0.98); centring alone spends the code on
    the largest-unit columns (1e4-1e5 times PCA's error)."""
    Xtr, Xte = _split("breast_cancer")
    mu, sd = Xtr.mean(0), Xtr.std(0)
    pca = PCA(4).fit((Xtr - mu) / sd)
    Zte = (Xte - mu) / sd
    pca_mse = ((pca.inverse_transform(pca.transform(Zte)) - Zte) ** 2).mean()
    ae = Autoencoder("64", bottleneck=4, epochs=30, lr=3e-3, random_state=0).fit(Xtr)
    recon = ae.inverse_transform(ae.transform(Xte))
    assert (((recon - Xte) / sd) ** 2).mean() < 1.3 * pca_mse


# ---------------------------------------------------------------- the statistics
def test_bounded_is_std_floored_at_a_quarter_of_the_range() -> None:
    rng = np.random.default_rng(0)
    X = np.zeros((400, 5))
    X[:, 0] = rng.uniform(0.0, 10.0, 400)         # range = 3.5 std: standardised
    X[:, 1] = rng.uniform(-1e-3, 1e-3, 400)       # small units too: "standard" as before
    X[:, 2] = rng.normal(1e3, 50.0, 400)          # range ~ 6 std: a quarter of it, ~1.5 std
    X[7, 3] = 16.0                                # a pixel lit once: 16/4, not its std 0.8
    X[:, 4] = 5.0                                 # constant: scale 1, centred
    mean, scale = scaling_stats(X, "bounded")
    std, span = X.std(0), X.max(0) - X.min(0)
    np.testing.assert_array_equal(mean, X.mean(0))
    np.testing.assert_allclose(scale, [std[0], std[1], span[2] / BOUND, 16.0 / BOUND, 1.0])
    assert 1.2 * std[2] < scale[2] < 2 * std[2]
    assert np.abs((X - mean) / scale).max() <= BOUND
    assert np.abs((X - mean) / np.where(std > 0, std, 1)).max() > 19   # "standard": the pixel


def test_explicit_scales_are_unchanged() -> None:
    X = lamina.datasets.load("digits").X[:300].astype(np.float64)
    n = X.shape[1]
    std = X.std(0)
    for scale, (mean, spread) in {
            "standard": (X.mean(0), np.where(std > 0, std, 1.0)),
            "center": (X.mean(0), np.ones(n)),
            "none": (np.zeros(n), np.ones(n))}.items():
        ae = Autoencoder("8", bottleneck=2, epochs=1, scale=scale, random_state=0).fit(X)
        np.testing.assert_array_equal(ae.mean_, mean)          # bit for bit, as before
        np.testing.assert_array_equal(ae.scale_, spread)
        assert ae.scale_method_ == scale


def test_column_stats_survive_values_near_float64s_limit() -> None:
    X = np.column_stack([np.linspace(-1e300, 3e300, 50), np.arange(50.0)])
    with np.errstate(over="raise"):                # the plain X.std() would overflow
        mean, std, span = column_stats(X)
    np.testing.assert_allclose(mean, [1e300, 24.5])
    np.testing.assert_allclose(std, [np.std(X[:, 0] / 1e300) * 1e300, np.arange(50.0).std()])
    np.testing.assert_allclose(span, [4e300, 49.0])
    # so the default scaling reads such a column as a few units, in float32
    ae = Autoencoder("8", bottleneck=2, epochs=2, random_state=0).fit(X)
    assert np.isfinite(ae.transform(X)).all()
    assert np.abs((X - ae.mean_) / ae.scale_).max() <= BOUND


# ---------------------------------------------------------------- persistence
def _strip_scale_method(run: Path) -> None:
    """Make ``run`` look like one saved before ``scale_method_`` was recorded."""
    path = run / "config.json"
    config = json.loads(path.read_text())
    del config["fitted"]["state"]["scale_method_"]
    config["config_sha256"] = _content_digest(config)
    path.write_text(json.dumps(config))


def test_runs_saved_with_the_old_default_load_identically(tmp_path: Path) -> None:
    X = lamina.datasets.load("digits").X[:300].astype(np.float64)
    old = Autoencoder("16", bottleneck=3, epochs=2, scale="standard", random_state=0).fit(X)
    old.save(tmp_path / "old")
    _strip_scale_method(tmp_path / "old")
    again = lamina.load(tmp_path / "old")
    assert again.get_params() == old.get_params() and again.scale == "standard"
    assert again.scale_method_ == "standard"
    np.testing.assert_array_equal(again.scale_, old.scale_)
    np.testing.assert_array_equal(again.transform(X), old.transform(X))
    np.testing.assert_array_equal(again.reconstruction_error(X), old.reconstruction_error(X))


def test_the_fitted_scaling_is_saved(tmp_path: Path) -> None:
    X = lamina.datasets.load("digits").X[:300].astype(np.float64)
    ae = Autoencoder("16", bottleneck=3, epochs=2, random_state=0).fit(X)
    ae.set_params(scale="center")                  # changed after fit: not what was fitted
    ae.save(tmp_path / "ae")
    config = json.loads((tmp_path / "ae" / "config.json").read_text())
    assert config["fitted"]["state"]["scale_method_"] == "bounded"
    again = lamina.load(tmp_path / "ae")
    assert again.scale_method_ == "bounded" and again.scale == "center"
    np.testing.assert_array_equal(again.transform(X), ae.transform(X))
