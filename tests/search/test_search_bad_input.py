"""Bad input to ``lamina.search``: errors name the parameter, the value, what is allowed, a fix."""

from __future__ import annotations

import numpy as np
import pytest

from lamina import DataError, ParameterError
from lamina.search import parse_objective, search


def test_continuous_y_is_unusable_for_accuracy(digits) -> None:
    X, _ = digits
    y = np.linspace(0, 1, len(X))
    with pytest.raises(DataError, match=r"Invalid y for objective='accuracy': y holds continuous "
                                        r"values \(e.g. .*\).*Use objective='r2'"):
        search(X, y, objective="accuracy", n_trials=1)


def test_accuracy_on_a_whole_number_quantity_warns(digits) -> None:
    import warnings

    from lamina.search._data import check_xy

    X, y = digits
    with pytest.warns(UserWarning, match=r"objective='accuracy' treats each of y's 30 distinct "
                                         r"whole numbers as a class.*pass objective='r2'"):
        check_xy(X, np.arange(len(X)) % 30 * 7, ("accuracy",))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_xy(X, y, ("accuracy",))                     # 10 digit classes: no warning


def test_text_labels_are_unusable_for_r2(digits) -> None:
    X, y = digits
    with pytest.raises(DataError, match=r"Invalid y for objective='r2': y holds <U1 values; r2 "
                                        r"needs numbers. Use objective='accuracy'"):
        search(X, np.array(list("ab"))[y % 2], objective="r2", n_trials=1)


def test_one_class(digits) -> None:
    X, _ = digits
    with pytest.raises(DataError, match=r"a single class \(3\).*at least two"):
        search(X, np.full(len(X), 3), n_trials=1)


def test_constant_regression_target(digits) -> None:
    X, _ = digits
    with pytest.raises(DataError, match="the target is constant, so r2 is undefined"):
        search(X, np.full(len(X), 2.5), objective="r2", n_trials=1)


@pytest.mark.parametrize("make_X, text", [
    (lambda X: X[:, 0], r"X must be 2-D .* Use X.reshape\(-1, 1\)"),
    (lambda X: np.where(X > 0.99, np.nan, X), r"it holds \d+ NaN or infinite values"),
    (lambda X: X[:10], r"Invalid y with shape \(1797,\): y must have one entry per row of X "
                       r"\(10 rows\)"),
    (lambda X: np.array([["a"] * 64] * len(X)), r"X must be numeric"),
])
def test_bad_X(digits, make_X, text: str) -> None:
    X, y = digits
    with pytest.raises(DataError, match=text):
        search(make_X(X), y, n_trials=1)


@pytest.mark.parametrize("kwargs, text", [
    ({"objective": "f1"}, r"Invalid objective='f1': 'accuracy', 'r2', or a tuple"),
    ({"objective": ("latency", "accuracy")}, r"the first must be a score. Put 'accuracy'"),
    ({"objective": ("accuracy", "latency", "latency")}, r"once each"),
    ({"n_trials": 0}, r"Invalid n_trials=0: must be an integer >= 1"),
    ({"budget": "10 minutes"}, r"Invalid budget='10 minutes'"),
    ({"population": 0}, r"Invalid population=0"),
    ({"eta": 1}, r"Invalid eta=1: must be an integer >= 2"),
    ({"cv": 1}, r"Invalid cv=1: None \(hold-out\) or an integer in \[2, 1797\]"),
    ({"validation_fraction": 1.5}, r"Invalid validation_fraction=1.5: a float in \(0, 1\)"),
    ({"space": {"width": (64, 16)}}, r"low \(64\) is greater than high \(16\)"),
    ({"study": ""}, r"Invalid study='': a non-empty name"),
    ({"device": "tpu"}, r"Invalid device='tpu'"),
    ({"max_epochs": 0.1, "min_epochs": 1}, r"Invalid max_epochs=0.1: must be >= min_epochs"),
    ({"storage": "postgresql://u:pw@127.0.0.1:1/x"}, r"Invalid storage='postgresql://u:\*\*\*@"),
])
def test_bad_parameters(digits, kwargs: dict, text: str) -> None:
    X, y = digits
    with pytest.raises(ParameterError, match=text):
        search(X, y, **({"n_trials": 1} | kwargs))


def test_objective_defaults_by_y() -> None:
    assert parse_objective(None, np.array([0, 1, 2])) == ("accuracy",)
    assert parse_objective(None, np.array([0.5, 1.25])) == ("r2",)
    assert parse_objective("ACCURACY") == ("accuracy",)
