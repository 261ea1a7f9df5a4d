"""The objective a search picks by itself follows ``read_table``'s rule for a target's task."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lamina.datasets import guess_task as public_guess_task
from lamina.datasets import read_table
from lamina.datasets._task import MAX_CLASSES_GUESS
from lamina.search import parse_objective, search


def test_whole_number_quantity_is_regression() -> None:
    from sklearn.datasets import load_diabetes

    y = load_diabetes().target                      # float64 whole numbers 25..346
    assert parse_objective(None, y) == ("r2",)
    assert parse_objective(None, y.astype(np.int64)) == ("r2",)
    assert parse_objective(None, np.arange(MAX_CLASSES_GUESS + 1) % 7) == ("accuracy",)
    assert parse_objective(None, np.arange(MAX_CLASSES_GUESS)) == ("accuracy",)
    assert parse_objective(None, np.arange(MAX_CLASSES_GUESS + 1)) == ("r2",)
    assert parse_objective(None, np.array([0.0, 1.0, np.nan, 1.0])) == ("accuracy",)
    assert parse_objective(None, np.array(["a", "b"] * 20)) == ("accuracy",)


@pytest.mark.parametrize("values", [
    np.arange(MAX_CLASSES_GUESS), np.arange(MAX_CLASSES_GUESS + 1),
    np.arange(MAX_CLASSES_GUESS) * 1.0, np.arange(MAX_CLASSES_GUESS + 1) + 0.0,
    np.linspace(0, 1, 8), np.array([True, False] * 4), np.array(["no", "yes"] * 4),
    np.array([-3, 7, 7, -3]),
], ids=["20-ints", "21-ints", "20-floats", "21-floats", "fractions", "bools", "strings",
        "negative"])
def test_guess_agrees_with_read_table(tmp_path, values: np.ndarray) -> None:
    from lamina.search._data import guess_task

    path = tmp_path / "t.csv"
    pd.DataFrame({"a": np.arange(len(values)), "target": values}).to_csv(path, index=False)
    assert guess_task(values) == read_table(path).task
    assert guess_task is public_guess_task          # one rule, in lamina.datasets


def test_search_regresses_a_whole_number_target() -> None:
    from sklearn.datasets import load_diabetes

    from lamina import MLPRegressor

    X, y = load_diabetes(return_X_y=True)
    res = search(X[:200], y[:200], {"n_layers": 1, "width": [16], "batch_size": [64]}, n_trials=2,
                 population=2, batch=1)
    assert res.objective_ == ("r2",)
    assert isinstance(res.best_estimator_, MLPRegressor)
