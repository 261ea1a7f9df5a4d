"""Toy 2-D sets: shapes, balance, seeds, noise, and the geometry each set promises."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from lamina import ParameterError
from lamina.datasets import load, make_toy

NAMES = ["spiral", "circles", "xor", "gaussians", "moons"]


@pytest.mark.parametrize("name", NAMES)
def test_shape_dtype_and_balance(name: str) -> None:
    ds = make_toy(name, 301, seed=3)
    assert ds.X.shape == (301, 2) and ds.X.dtype == np.float32
    assert ds.y.shape == (301,) and ds.y.dtype == np.int64
    assert sorted(np.bincount(ds.y).tolist()) == [150, 151]
    assert ds.task == "classification" and ds.feature_names == ["x1", "x2"]
    assert ds.target_names == ["0", "1"]
    # rows are shuffled: the labels are not sorted
    assert not np.all(np.diff(ds.y) >= 0)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_data_other_seed_other_data(name: str) -> None:
    a, b, c = make_toy(name, 200, seed=5), make_toy(name, 200, seed=5), make_toy(name, 200, seed=6)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)


@pytest.mark.parametrize("name", NAMES)
def test_noise_adds_gaussian_noise_of_that_std(name: str) -> None:
    # the same seed draws the same clean points, noise and order: only the scale differs
    clean = make_toy(name, 4000, noise=0.0, seed=1)
    noisy = make_toy(name, 4000, noise=0.3, seed=1)
    assert np.array_equal(clean.y, noisy.y)
    diff = (noisy.X - clean.X).astype(np.float64)
    assert diff.std() == pytest.approx(0.3, rel=0.05)
    assert abs(diff.mean()) < 0.02


def test_clean_geometry_is_what_the_docs_say() -> None:
    xor = make_toy("xor", 1000, noise=0.0)
    assert np.array_equal(xor.y, (xor.X[:, 0] * xor.X[:, 1] < 0).astype(np.int64))
    assert np.abs(xor.X).min() >= 0.05 - 1e-6  # kept off the axes

    circles = make_toy("circles", 1000, noise=0.0)
    r = np.hypot(circles.X[:, 0], circles.X[:, 1])
    assert r[circles.y == 0].max() <= 0.5 + 1e-6 and r[circles.y == 1].min() >= 0.7 - 1e-6

    g = make_toy("gaussians", 900, noise=0.0, n_classes=3)
    centres = np.stack([g.X[g.y == k].mean(axis=0) for k in range(3)])
    assert np.allclose(np.hypot(centres[:, 0], centres[:, 1]), 0.6, atol=0.03)


@pytest.mark.parametrize("name", NAMES)
def test_learnable_without_noise(name: str) -> None:
    # the structure is real: a nearest-neighbour classifier separates the clean classes
    ds = make_toy(name, 600, noise=0.0, seed=2, **({"n_classes": 3} if name == "spiral" else {}))
    acc = cross_val_score(KNeighborsClassifier(3), ds.X, ds.y, cv=3).mean()
    assert acc > 0.95


def test_spiral_and_gaussians_take_n_classes() -> None:
    ds = make_toy("spiral", 500, n_classes=5)
    assert np.bincount(ds.y).tolist() == [100] * 5 and ds.n_classes == 5


def test_errors_name_the_parameter() -> None:
    with pytest.raises(ParameterError, match=r"Invalid name='spirals'.*Did you mean 'spiral'"):
        make_toy("spirals")
    with pytest.raises(ParameterError, match=r"Invalid n_classes=3: the 'moons' set has exactly 2"):
        make_toy("moons", n_classes=3)
    with pytest.raises(ParameterError, match=r"Invalid noise=-0.1"):
        make_toy("xor", noise=-0.1)
    with pytest.raises(ParameterError, match=r"Invalid n_samples=1: must be an integer >= 2"):
        make_toy("xor", 1)
    with pytest.raises(ParameterError, match=r"Invalid nosie=0.2.*Did you mean 'noise'"):
        make_toy("xor", nosie=0.2)


def test_load_by_name_passes_size_seed_and_options() -> None:
    ds = load("gaussians", n_samples=90, seed=4, n_classes=3, noise=0.05)
    ref = make_toy("gaussians", 90, seed=4, n_classes=3, noise=0.05)
    assert np.array_equal(ds.X, ref.X) and ds.n_classes == 3
    assert load("moons").X.shape == (500, 2)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(NAMES), n=st.integers(10, 400), k=st.integers(2, 6),
       seed=st.integers(0, 2**31 - 1))
def test_property_balanced_bounded_reproducible(name: str, n: int, k: int, seed: int) -> None:
    kw = {"n_classes": k} if name in ("spiral", "gaussians") else {}
    ds = make_toy(name, n, noise=0.0, seed=seed, **kw)
    n_classes = kw.get("n_classes", 2)
    counts = np.bincount(ds.y, minlength=n_classes)
    assert len(counts) == n_classes and counts.max() - counts.min() <= 1 and counts.sum() == n
    assert np.all(np.abs(ds.X) <= 1.0 + 1e-6)  # clean points lie in [-1, 1]^2
    again = make_toy(name, n, noise=0.0, seed=seed, **kw)
    assert np.array_equal(ds.X, again.X) and np.array_equal(ds.y, again.y)


def test_infinite_noise_is_refused() -> None:
    from lamina import ParameterError
    from lamina.datasets import make_toy

    with pytest.raises(ParameterError, match=r"Invalid noise=inf: must be a finite number"):
        make_toy("spiral", noise=float("inf"))
