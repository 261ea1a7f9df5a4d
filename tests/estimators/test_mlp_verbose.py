"""verbose=True prints sklearn's MLP lines on stdout, a terminal or not: ``Iteration %d, loss =
%.8f`` per epoch and ``Validation score: %f`` with early stopping, as many lines as sklearn's
(values differ), and nothing else (before: one summary line when stdout was not a terminal)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_digits
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor

import lamina

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _shape(text: str) -> list[str]:
    """Each line with its numbers replaced by their format: %d -> D, %.8f -> F8, %f -> F6."""
    out = []
    for line in text.splitlines():
        line = re.sub(r"-?\d+\.(\d+)", lambda m: f"F{len(m.group(1))}", line)
        out.append(re.sub(r"\b\d+\b", "D", line))
    return out


def _lines(capsys: pytest.CaptureFixture[str], est: Any, X: np.ndarray, y: np.ndarray
           ) -> list[str]:
    capsys.readouterr()
    est.fit(X, y)
    return _shape(capsys.readouterr().out)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_verbose_prints_sklearns_lines(capsys: pytest.CaptureFixture[str],
                                       early_stopping: bool) -> None:
    X, y = load_digits(return_X_y=True)
    X, y = X[:400] / 16.0, y[:400]
    kw = {"hidden_layer_sizes": (16,), "max_iter": 4, "random_state": 0, "verbose": True,
          "early_stopping": early_stopping}
    theirs = _lines(capsys, SkMLPClassifier(**kw), X, y)
    ours = _lines(capsys, lamina.MLPClassifier(**kw), X, y)
    expected = ["Iteration D, loss = F8"] + (["Validation score: F6"] if early_stopping else [])
    assert theirs == expected * 4
    assert ours == theirs


def test_verbose_lines_number_the_iterations_and_end_with_sklearns_stop_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    X, y = load_diabetes(return_X_y=True)
    kw = {"hidden_layer_sizes": (8,), "max_iter": 300, "tol": 1e3, "n_iter_no_change": 2,
          "random_state": 0, "verbose": True}
    capsys.readouterr()
    est = lamina.MLPRegressor(**kw).fit(X, y)
    ours = capsys.readouterr().out.splitlines()
    SkMLPRegressor(**kw).fit(X, y)
    theirs = capsys.readouterr().out.splitlines()
    assert _shape("\n".join(ours)) == _shape("\n".join(theirs))     # tol=1e3: 3 epochs each
    assert [line.split(",")[0] for line in ours[:-1]] == [
        f"Iteration {i}" for i in range(1, est.n_iter_ + 1)]
    assert [float(line.rsplit("= ", 1)[1]) for line in ours[:-1]] == pytest.approx(
        est.loss_curve_, rel=1e-7)
    assert ours[-1] == theirs[-1]


def test_quiet_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    X, y = load_diabetes(return_X_y=True)
    capsys.readouterr()
    lamina.MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""
