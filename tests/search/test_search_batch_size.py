"""Batch sizes above the training rows: the space is clipped to them (a larger batch is one full
batch, so 256 and 512 would repeat the same run), and the refit never warns that it clipped."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from lamina.search import FunctionSpace, SearchSpace, search
from lamina.search._space import Choice, Range, fit_batch_size

RUNGS = {"min_epochs": 1, "max_epochs": 1}


def test_choices_above_the_rows_collapse_to_them() -> None:
    space = fit_batch_size(SearchSpace.from_dict(), 120)
    assert isinstance(space, SearchSpace)
    assert space.dims["batch_size"] == Choice((64, 120))
    one = fit_batch_size(SearchSpace.from_dict({"batch_size": [512]}), 120)
    assert isinstance(one, SearchSpace) and one.dims["batch_size"] == Choice((120,))


def test_a_range_is_clipped_and_a_fitting_space_kept() -> None:
    space = fit_batch_size(SearchSpace.from_dict({"batch_size": (32, 1024, "log")}), 120)
    assert isinstance(space, SearchSpace)
    assert space.dims["batch_size"] == Range(32, 120, True, True)
    fits = SearchSpace.from_dict()
    assert fit_batch_size(fits, 10_000) is fits
    fn = FunctionSpace(lambda trial: {"batch_size": 500})
    assert fit_batch_size(fn, 120) is fn


def _no_clip_warning(caught: list[warnings.WarningMessage]) -> None:
    clipped = [str(w.message) for w in caught if "clipped" in str(w.message)]
    assert not clipped, clipped


def test_search_on_few_rows_trains_full_batches_without_a_warning() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(75, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = search(X, y, {"n_layers": 1, "width": [8], "batch_size": [32, 256, 512]},
                     n_trials=6, population=2, batch=3, **RUNGS)
    _no_clip_warning(caught)
    n_train = 75 - 15
    assert set(res.trials_["batch_size"]) <= {32, n_train}
    stored = res.study_.user_attrs["lamina"]["space"]["batch_size"]
    assert stored == {"choices": [32, n_train]}
    assert res.best_estimator_.batch_size <= n_train


def test_a_space_function_larger_batch_is_capped() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3)).astype(np.float32)
    y = (X[:, 1] > 0).astype(int)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = search(X, y, lambda trial: {"hidden_layer_sizes": (8,), "batch_size": 500},
                     n_trials=2, population=2, batch=1, **RUNGS)
    _no_clip_warning(caught)
    assert set(res.trials_["batch_size"]) == {40}
    assert res.best_params_["batch_size"] == 40


@pytest.mark.parametrize("cv", [3])
def test_cross_validation_clips_to_the_smallest_fold(cv: int) -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(31, 3)).astype(np.float32)
    y = (X[:, 2] > 0).astype(int)
    res = search(X, y, {"n_layers": 1, "width": [8], "batch_size": [512]}, cv=cv, n_trials=2,
                 population=2, batch=1, refit=False, **RUNGS)
    assert set(res.trials_["batch_size"]) == {20}             # folds of 21, 21 and 20 rows
