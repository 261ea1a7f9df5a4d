"""Which labels a fit may continue with, as sklearn's MLPClassifier decides: a warm_start fit
needs the previous classes (refused before anything changes), partial_fit's first call refuses
labels outside ``classes``, and multi-label indicator targets take ``classes`` too."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import load_iris, make_multilabel_classification
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

import lamina
from lamina import DataError

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris() -> tuple[np.ndarray, np.ndarray]:
    return load_iris(return_X_y=True)


def _snapshot(clf: lamina.MLPClassifier, X: np.ndarray) -> dict[str, object]:
    proba = clf.predict_proba(X)               # first: predicting may fill caches
    return {"proba": proba, "state": pickle.dumps(clf.__getstate__()),
            "weights": {k: v.clone() for k, v in clf.module_.state_dict().items()}}


def _assert_unchanged(clf: lamina.MLPClassifier, X: np.ndarray, before: dict[str, object]) -> None:
    np.testing.assert_array_equal(clf.predict_proba(X), before["proba"])
    weights = clf.module_.state_dict()
    assert all(torch.equal(weights[k], v) for k, v in before["weights"].items())  # type: ignore[attr-defined]
    assert pickle.dumps(clf.__getstate__()) == before["state"]


@pytest.mark.parametrize("relabel", ["subset", "shifted", "superset"])
def test_warm_start_with_other_classes_is_refused_and_changes_nothing(iris, relabel: str) -> None:  # type: ignore[no-untyped-def]
    X, y = iris
    clf = lamina.MLPClassifier((16,), warm_start=True, max_iter=50, learning_rate_init=0.01,
                               random_state=0).fit(X, y)
    before = _snapshot(clf, X)
    X2, y2 = {"subset": (X[y < 2], y[y < 2]),          # was: DataError deep in the trainer,
              "shifted": (X, y + 5),                    # after classes_ became [0 1]
              "superset": (X, np.where(np.arange(len(y)) % 50 == 0, 3, y))}[relabel]
    seen = np.unique(y2)
    with pytest.raises(DataError, match=r"warm_start can only be used where `y` has the same "
                       r"classes as in the previous call to fit\. Previously got \[0 1 2\], "
                       rf"`y` has \[{' '.join(map(str, seen))}\]\..*set warm_start=False"):
        clf.fit(X2, y2)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    _assert_unchanged(clf, X, before)
    # sklearn refuses all three the same way
    sk = SkMLPClassifier((4,), warm_start=True, max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same"):
        sk.fit(X2, y2)


def test_warm_start_continues_with_the_same_classes_in_any_order(iris) -> None:  # type: ignore[no-untyped-def]
    X, y = iris
    clf = lamina.MLPClassifier((16,), warm_start=True, max_iter=5, random_state=0).fit(X, y)
    curve = list(clf.loss_curve_)
    order = np.random.RandomState(0).permutation(len(y))
    clf.fit(X[order], y[order])
    assert clf.loss_curve_[:5] == curve and len(clf.loss_curve_) == 10
    # without warm_start another set of classes is a new model, as in sklearn
    clf.set_params(warm_start=False).fit(X[y < 2], y[y < 2])
    np.testing.assert_array_equal(clf.classes_, [0, 1])


def test_warm_start_with_other_columns_is_refused_and_changes_nothing(iris) -> None:  # type: ignore[no-untyped-def]
    X, y = iris
    clf = lamina.MLPClassifier((16,), warm_start=True, max_iter=5, random_state=0).fit(X, y)
    before = _snapshot(clf, X)
    # as sklearn (reset only on a first fit): was n_features_in_ reset to 3, then a trainer error
    with pytest.raises(DataError, match=r"X has 3 features, but MLPClassifier is expecting 4 "
                       r"features as input"):
        clf.fit(X[:, :3], y)
    assert clf.n_features_in_ == 4
    _assert_unchanged(clf, X, before)


def test_regressor_warm_start_with_other_outputs_is_refused_and_changes_nothing(iris) -> None:  # type: ignore[no-untyped-def]
    X, y = iris
    reg = lamina.MLPRegressor(hidden_layer_sizes=(8,), warm_start=True, max_iter=5,
                              random_state=0).fit(X, y.astype(float))
    before = reg.predict(X)
    with pytest.raises(DataError, match=r"y has 2 output\(s\) but the model warm_start "
                       r"continues was fitted with 1\..*set warm_start=False"):
        reg.fit(X, np.c_[y, y].astype(float))
    np.testing.assert_array_equal(reg.predict(X), before)
    assert reg.predict(X).shape == (len(y),)


def test_partial_fit_first_call_refuses_labels_outside_classes() -> None:
    X = np.random.RandomState(0).randn(90, 2)
    y = np.array(["cat", "dog", "eel"] * 30)
    clf = lamina.MLPClassifier((8,), random_state=0)
    # was: accepted, 'eel' trained as 'cat' (its one-hot row was all zeros)
    with pytest.raises(DataError, match=r"`y` has classes not in `self.classes_`: y contains "
                       r"labels \['eel'\] that were not in classes \['cat', 'dog'\]"):
        clf.partial_fit(X, y, classes=["cat", "dog"])
    assert not hasattr(clf, "module_") and not hasattr(clf, "classes_")
    with pytest.raises(ValueError, match=r"`y` has classes not in `self.classes_`"):
        SkMLPClassifier((8,), random_state=0).partial_fit(X, y, classes=["cat", "dog"])
    # a y that holds some of the classes is fine (later batches bring the others)
    clf.partial_fit(X[y != "eel"][:10], y[y != "eel"][:10], classes=["cat", "dog", "eel"])
    np.testing.assert_array_equal(clf.classes_, ["cat", "dog", "eel"])
    assert clf.predict_proba(X).shape == (90, 3)


def test_multilabel_partial_fit_takes_classes_like_sklearn() -> None:
    X, Y = make_multilabel_classification(n_samples=100, n_classes=3, random_state=0)
    ours = lamina.MLPClassifier((8,), random_state=0)
    theirs = SkMLPClassifier((8,), random_state=0)
    for _ in range(3):                     # was: ValueError inside sklearn's LabelBinarizer
        ours.partial_fit(X, Y, classes=[0, 1, 2])
        theirs.partial_fit(X, Y, classes=[0, 1, 2])
    ours.partial_fit(X, Y)
    theirs.partial_fit(X, Y)
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    assert ours.n_outputs_ == theirs.n_outputs_ == 3
    assert ours.out_activation_ == theirs.out_activation_ == "logistic"
    pred = ours.predict(X)
    assert pred.shape == theirs.predict(X).shape == Y.shape
    assert set(np.unique(pred)) <= {0, 1}
    proba = ours.predict_proba(X)
    assert proba.shape == Y.shape and ((proba >= 0) & (proba <= 1)).all()
    # an indicator with a column outside classes is refused, as sklearn does
    for clf in (lamina.MLPClassifier((8,)), SkMLPClassifier((8,))):
        with pytest.raises(ValueError, match=r"`y` has classes not in `self.classes_`"):
            clf.partial_fit(X, Y, classes=[0, 1])
