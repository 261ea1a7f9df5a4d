"""``search(validation_data=(X_val, y_val))`` refuses validation data that does not fit the
training data, with a message that says how, before anything is trained."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from lamina import DataError, ParameterError
from lamina.search import search

TINY = {"n_layers": 1, "width": [8], "batch_size": [32]}
KW = {"n_trials": 2, "population": 2, "batch": 1, "refit": False, "min_epochs": 1,
      "max_epochs": 1}


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(int)


def test_other_column_count_is_a_clear_data_error(data) -> None:
    X, y = data
    with pytest.raises(DataError, match=re.escape(
            "Invalid validation_data: X_val has 3 columns, X has 4 columns. Pass X_val with "
            "the same features")):
        search(X[:40], y[:40], TINY, validation_data=(X[40:, :3], y[40:]), **KW)
    with pytest.raises(DataError, match=r"X_val has shape \(20,\), X has 4 columns"):
        search(X[:40], y[:40], TINY, validation_data=(X[40:, 0], y[40:]), **KW)


def test_other_dataframe_columns_are_refused(data) -> None:
    X, y = data
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    val = df.iloc[40:][["a", "c", "b", "d"]]
    with pytest.raises(DataError, match=r"X_val's columns differ from X's \('b' \(X\) vs 'c' "
                                        r"\(X_val\), 'c' \(X\) vs 'b' \(X_val\)\).*"
                                        r"X_val\[X.columns\]"):
        search(df.iloc[:40], y[:40], TINY, validation_data=(val, y[40:]), **KW)


def test_y_val_must_match_x_val(data) -> None:
    X, y = data
    with pytest.raises(DataError, match=r"y_val with shape \(19,\) does not match X_val's 20 "
                                        r"rows"):
        search(X[:40], y[:40], TINY, validation_data=(X[40:], y[41:]), **KW)


def test_not_a_pair(data) -> None:
    X, y = data
    with pytest.raises(ParameterError, match=r"Invalid validation_data=.*a pair \(X_val, y_val\)"):
        search(X, y, TINY, validation_data=X, **KW)


def test_labels_never_seen_in_training_are_refused(data) -> None:
    X, y = data
    y_val = np.array(["no"] * 12 + ["maybe"] * 5 + ["yes"] * 3)
    y_tr = np.where(y[:40] == 1, "yes", "no")
    with pytest.raises(DataError, match=re.escape(
            "Invalid validation_data: y_val holds 1 class that y never has ('maybe'; 5 of 20 "
            "validation rows). A model cannot learn a class it never trains on")):
        search(X[:40], y_tr, TINY, validation_data=(X[40:], y_val), **KW)


def test_validation_with_only_known_labels_runs(data) -> None:
    X, y = data
    res = search(X[:40], y[:40], TINY, validation_data=(X[40:], y[40:]), **KW)
    assert res.n_trials_ == 2


def test_regression_targets_need_not_repeat(data) -> None:
    X, _ = data
    t = X @ np.array([1.0, -2.0, 0.5, 3.0], dtype=np.float32)
    res = search(X[:40], t[:40], TINY, objective="r2", validation_data=(X[40:], t[40:]), **KW)
    assert res.n_trials_ == 2
