"""Inspecting lamina's sklearn-style estimators and saved runs."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris

import lamina
from lamina.inspection import inspect

# short fits on purpose: convergence is not what these tests are about
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_classifier_with_string_labels():
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = lamina.MLPClassifier((16, 8), max_iter=300, random_state=0).fit(X, names)
    ins = inspect(clf, X, names)
    assert ins.layer_names == ["hidden.0", "hidden.1"]
    assert ins.meta["model"]["class"] == "MLPClassifier"
    assert ins.meta["model"]["classes"] == ["setosa", "versicolor", "virginica"]
    probe = ins.probe().set_index("layer")
    assert probe.loc["hidden.1", "score"] >= 0.85
    table = ins.ablate(X, names)
    assert table.attrs["base_score"] == pytest.approx(clf.score(X, names))
    assert "delta_recall[virginica]" in table.columns
    flow = ins.gradient_flow(X, names)
    assert list(flow.layers["layer"]) == ["hidden.0", "hidden.1"]
    with pytest.raises(lamina.DataError, match=r"labels \['daisy'\] the model was not trained on"):
        ins.ablate(X[:3], np.array(["daisy"] * 3))
    with pytest.raises(lamina.DataError, match=r"but the model expects inputs of shape "
                                               r"\(n_samples, 4\)"):
        inspect(clf, X[:, :3])


def test_binary_classifier_and_regressor():
    X, y = load_iris(return_X_y=True)
    binary = (y == 2).astype(int)
    clf = lamina.MLPClassifier((8,), max_iter=200, random_state=0).fit(X, binary)
    table = inspect(clf, X, binary).ablate(X, binary)
    assert table.attrs["base_score"] == pytest.approx(clf.score(X, binary))
    Xd, yd = load_diabetes(return_X_y=True)
    reg = lamina.MLPRegressor(hidden_layer_sizes=(16,), max_iter=300, random_state=0, learning_rate_init=1e-2)
    reg.fit(Xd, yd)
    ins = inspect(reg, Xd, yd)
    table = ins.ablate(Xd, yd)
    assert table.attrs["metric"] == "r2"
    assert table.attrs["base_score"] == pytest.approx(reg.score(Xd, yd), rel=1e-4)
    assert ins.probe()["task"].iloc[0] == "regression"


def test_unfitted_estimator_and_saved_run(tmp_path):
    with pytest.raises(lamina.NotFittedError, match=r"not fitted yet"):
        inspect(lamina.MLPClassifier(), np.zeros((2, 2)))
    X, y = load_iris(return_X_y=True)
    clf = lamina.MLPClassifier((8,), max_iter=50, random_state=0).fit(X, y)
    clf.save(tmp_path / "run")
    again = lamina.load(tmp_path / "run")
    a, b = inspect(clf, X), inspect(again, X)
    np.testing.assert_allclose(a.units["mean"], b.units["mean"], rtol=1e-6)
