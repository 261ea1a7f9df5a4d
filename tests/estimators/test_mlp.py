"""MLPClassifier / MLPRegressor as drop-ins for sklearn.neural_network."""

from __future__ import annotations

import inspect
import pickle

import numpy as np
import pandas as pd
import pytest
import sklearn.neural_network as sknn
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import lamina
from lamina import DataError, NotFittedError, ParameterError

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [(lamina.MLPClassifier, sknn.MLPClassifier), (lamina.MLPRegressor, sknn.MLPRegressor)],
)
def test_same_parameters_and_defaults_as_sklearn(ours: type, theirs: type) -> None:
    sk = inspect.signature(theirs.__init__).parameters
    us = inspect.signature(ours.__init__).parameters
    for name, param in sk.items():
        if name == "self":
            continue
        assert name in us, name
        assert us[name].default == param.default, name
    assert set(us) - set(sk) == {"device", "dtype", "scale"}   # lamina extras, defaults off


@pytest.fixture(scope="module")
def digits_split() -> tuple[np.ndarray, ...]:
    X, y = load_digits(return_X_y=True)
    return tuple(train_test_split(X / 16.0, y, test_size=0.25, random_state=0))


def test_accuracy_matches_sklearn_on_digits(digits_split) -> None:  # type: ignore[no-untyped-def]
    Xtr, Xte, ytr, yte = digits_split
    kw = {"hidden_layer_sizes": (64,), "max_iter": 60, "random_state": 0}
    ours = lamina.MLPClassifier(**kw).fit(Xtr, ytr).score(Xte, yte)
    theirs = sknn.MLPClassifier(**kw).fit(Xtr, ytr).score(Xte, yte)
    assert ours >= 0.95 and abs(ours - theirs) <= 0.02


def test_fitted_attributes_like_sklearn(digits_split) -> None:  # type: ignore[no-untyped-def]
    Xtr, _, ytr, _ = digits_split
    clf = lamina.MLPClassifier((32, 16), max_iter=5, random_state=0).fit(Xtr, ytr)
    assert [c.shape for c in clf.coefs_] == [(64, 32), (32, 16), (16, 10)]
    assert [b.shape for b in clf.intercepts_] == [(32,), (16,), (10,)]
    assert clf.n_layers_ == 4 and clf.n_outputs_ == 10 and clf.out_activation_ == "softmax"
    assert clf.n_iter_ == 5 == len(clf.loss_curve_) and clf.loss_ == clf.loss_curve_[-1]
    assert clf.best_loss_ == min(clf.loss_curve_) and clf.validation_scores_ is None
    assert clf.t_ == 5 * len(Xtr) and clf.n_features_in_ == 64
    assert clf.stop_reason_ == "reached max_epochs=5" and len(clf.history_) == 5
    assert list(clf.classes_) == list(range(10))
    # coefs_ are the module's weights, transposed like sklearn's
    np.testing.assert_array_equal(
        clf.coefs_[0], clf.module_.hidden[0].linear.weight.detach().numpy().T
    )


def test_binary_string_labels_and_logistic(digits_split) -> None:  # type: ignore[no-untyped-def]
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    labels = np.where(y == 1, "benign", "malignant")
    clf = lamina.MLPClassifier((16,), activation="logistic", max_iter=200, random_state=0)
    clf.fit(X, labels)
    assert clf.n_outputs_ == 1 and clf.out_activation_ == "logistic"
    assert set(clf.predict(X)) <= {"benign", "malignant"}
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.allclose(proba.sum(1), 1)
    assert clf.score(X, labels) > 0.97
    assert clf.module_.hidden[0].spec.activation == "sigmoid"


def test_multilabel_targets() -> None:
    X, y = load_iris(return_X_y=True)
    Y = np.stack([y == 0, y == 2, X[:, 0] > 5.8], axis=1).astype(int)
    clf = lamina.MLPClassifier((32,), max_iter=400, random_state=0).fit(X, Y)
    pred = clf.predict(X)
    assert pred.shape == Y.shape and set(np.unique(pred)) <= {0, 1}
    assert clf.predict_proba(X).shape == Y.shape
    assert clf.score(X, Y) > 0.8  # subset accuracy


def test_early_stopping_records_validation_scores(digits_split) -> None:  # type: ignore[no-untyped-def]
    Xtr, _, ytr, _ = digits_split
    clf = lamina.MLPClassifier(
        (32,), early_stopping=True, max_iter=200, n_iter_no_change=3, random_state=0
    ).fit(Xtr, ytr)
    assert clf.best_loss_ is None and len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert "val_score did not improve" in clf.stop_reason_ and clf.n_iter_ < 200


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_regressor_solvers(solver: str) -> None:
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    reg = lamina.MLPRegressor(
        hidden_layer_sizes=(32,),
        solver=solver,
        max_iter=300,
        random_state=0,
        learning_rate_init=0.01 if solver == "sgd" else 0.001,
    ).fit(X, y)
    assert reg.predict(X).shape == (len(X),) and reg.score(X, y) > 0.45
    Y2 = np.stack([y, -y], 1)
    assert lamina.MLPRegressor(
        hidden_layer_sizes=(8,), solver=solver, max_iter=20, random_state=0
    ).fit(X, Y2).predict(X).shape == (len(X), 2)


def test_partial_fit_warm_start_pipeline_grid_clone_pickle(digits_split) -> None:  # type: ignore[no-untyped-def]
    Xtr, Xte, ytr, yte = digits_split
    # the optimizer state carries over between calls, as in sklearn: over five seeds (one
    # seed's score moves by +-0.03 with the initial draw), lamina learns as much as sklearn
    ours, theirs = [], []
    for seed in range(5):
        clf = lamina.MLPClassifier((32,), random_state=seed)
        sk = sknn.MLPClassifier((32,), random_state=seed)
        for _ in range(25):
            clf.partial_fit(Xtr, ytr, classes=np.arange(10))
            sk.partial_fit(Xtr, ytr, classes=np.arange(10))
        ours.append(clf.score(Xte, yte))
        theirs.append(sk.score(Xte, yte))
    # written: lamina 0.885, sklearn ~0.89 (means)
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 25 and min(ours) > 0.82
    assert np.mean(ours) >= np.mean(theirs) - 0.02
    warm = lamina.MLPClassifier((32,), max_iter=3, warm_start=True, random_state=0).fit(Xtr, ytr)
    first = [c.copy() for c in warm.coefs_]
    warm.fit(Xtr, ytr)
    assert warm.n_iter_ == 3 and len(warm.loss_curve_) == 6 and warm.t_ == 6 * len(Xtr)
    assert not np.array_equal(first[0], warm.coefs_[0])
    pipe = make_pipeline(StandardScaler(), lamina.MLPClassifier((16,), max_iter=120, random_state=0))
    grid = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1e-2]}, cv=2).fit(Xtr, ytr)
    assert grid.best_score_ > 0.85
    assert clone(clf).get_params() == clf.get_params() and not hasattr(clone(clf), "module_")
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict(Xte), clf.predict(Xte))


def test_same_random_state_is_bit_identical(digits_split) -> None:  # type: ignore[no-untyped-def]
    Xtr, _, ytr, _ = digits_split
    a = lamina.MLPClassifier((16,), max_iter=3, random_state=5).fit(Xtr, ytr)
    b = lamina.MLPClassifier((16,), max_iter=3, random_state=5).fit(Xtr, ytr)
    assert all(np.array_equal(p, q) for p, q in zip(a.coefs_, b.coefs_))
    assert a.loss_curve_ == b.loss_curve_


def test_spec_strings_and_float64(digits_split) -> None:  # type: ignore[no-untyped-def]
    Xtr, Xte, ytr, yte = digits_split
    clf = lamina.MLPClassifier("64:gelu-32:tanh", max_iter=30, dtype="float64", random_state=0).fit(
        Xtr, ytr
    )
    assert clf.coefs_[0].dtype == np.float64 and clf.score(Xte, yte) > 0.9
    assert str(clf.module_.spec) == "64:gelu:init=sklearn-32:tanh:init=sklearn"


# ----------------------------------------------------------------- bad input
X4 = np.random.RandomState(0).rand(20, 4)
y4 = np.arange(20) % 2


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"hidden_layer_sizes": (0,)}, r"Invalid hidden_layer_sizes=\(0,\): widths must be positive"),
        ({"hidden_layer_sizes": (-5,)}, "got -5"),
        ({"hidden_layer_sizes": (2.5,)}, "got 2.5"),
        ({"hidden_layer_sizes": ""}, "Invalid hidden_layer_sizes='': an empty string"),
        ({"activation": "rleu"}, "Invalid activation='rleu'.*Did you mean 'relu'"),
        ({"solver": "adamm"}, "Invalid solver='adamm'.*Did you mean 'adam'"),
        ({"learning_rate": "fast"}, "Invalid learning_rate='fast': allowed values are"),
        ({"batch_size": 0}, "Invalid batch_size=0"),
        ({"max_iter": 0}, "Invalid max_iter=0: must be an integer >= 1"),
        ({"validation_fraction": 1.0}, "Invalid validation_fraction=1.0"),
        ({"dtype": "int8"}, "Invalid dtype='int8'"),
        ({"hidden_layer_sizes": (10**6, 10**6)}, "needs about .* but only .* available"),
    ],
)
def test_bad_parameters(params: dict, needle: str) -> None:
    with pytest.raises(ParameterError, match=needle):
        lamina.MLPClassifier(**params).fit(X4, y4)


def test_cuda_without_gpu() -> None:
    import torch

    device = "cuda:99" if torch.cuda.is_available() else "cuda"
    with pytest.raises(ParameterError, match=f"Invalid device='{device}'"):
        lamina.MLPClassifier(device=device).fit(X4, y4)


def test_bad_data() -> None:
    clf = lamina.MLPClassifier((4,), max_iter=2)
    nan = X4.copy()
    nan[3, 1] = np.nan
    with pytest.raises(DataError, match=r"^Input X contains NaN at row 3, column 1 \(1 NaN/inf "
                                         r"value in all\)\. Remove or impute .*SimpleImputer\.$"):
        clf.fit(nan, y4)
    frame = pd.DataFrame(nan, columns=[f"f{j}" for j in range(nan.shape[1])])
    with pytest.raises(DataError, match=r"NaN at row 3, column 'f1' \(1 NaN/inf value in all\)"):
        clf.fit(frame, y4)
    inf = X4.copy()
    inf[0, 0] = np.inf
    with pytest.raises(DataError, match="infinity"):
        clf.fit(inf, y4)
    with pytest.raises(DataError, match=r"inconsistent numbers of samples: \[20, 19\]"):
        clf.fit(X4, y4[:-1])
    with pytest.raises(DataError, match=r"(?s)Expected 2D array, got 1D array.*reshape"):
        clf.fit(X4[:, 0], y4)
    with pytest.raises(DataError, match="0 sample"):
        clf.fit(X4[:0], y4[:0])
    with pytest.raises(DataError, match="only one class .*at least 2 classes"):
        clf.fit(X4, np.zeros(20))
    with pytest.raises(DataError, match="Input y contains NaN|continuous"):
        clf.fit(X4, np.where(y4 == 0, np.nan, 1.0))
    with pytest.raises(DataError, match="y contains NaN"):
        lamina.MLPRegressor(hidden_layer_sizes=(4,), max_iter=2).fit(
            X4, np.where(y4 == 0, np.nan, 1.0)
        )


def test_predict_before_fit_and_wrong_width() -> None:
    with pytest.raises(NotFittedError, match="not fitted yet. Call 'fit'"):
        lamina.MLPClassifier().predict(X4)
    with pytest.raises(NotFittedError):
        _ = lamina.MLPRegressor().coefs_
    clf = lamina.MLPClassifier((4,), max_iter=2).fit(X4, y4)
    with pytest.raises(DataError, match="X has 3 features, but MLPClassifier is expecting 4"):
        clf.predict(X4[:, :3])


def test_string_labels_multiclass() -> None:
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = lamina.MLPClassifier((16,), max_iter=300, random_state=0).fit(X, names)
    assert clf.predict(X[:1])[0] == "setosa" and clf.score(X, names) > 0.9


def test_regressor_poisson_loss_and_positional_hint() -> None:
    rng = np.random.RandomState(0)
    X = rng.rand(400, 3)
    y = rng.poisson(np.exp(1.0 + X @ [1.0, -1.0, 0.5]))
    reg = lamina.MLPRegressor(
        "poisson", hidden_layer_sizes=(16,), max_iter=300, learning_rate_init=0.01, random_state=0
    ).fit(X, y)
    assert reg.out_activation_ == "exp" and (reg.predict(X) > 0).all()
    assert reg.score(X, y) > 0.4
    with pytest.raises(DataError, match="non-negative targets"):
        lamina.MLPRegressor("poisson", hidden_layer_sizes=(4,), max_iter=2).fit(X, -y)
    with pytest.raises(ParameterError, match=r"Invalid loss=\(32,\).*hidden_layer_sizes=\(32,\)"):
        lamina.MLPRegressor((32,)).fit(X, y)  # type: ignore[arg-type]


def test_fitting_a_read_only_frame_raises_no_torch_warning() -> None:
    """pandas copy-on-write frames give read-only arrays; torch warns when it aliases one."""
    import warnings

    X, y = load_iris(return_X_y=True, as_frame=True)
    arr = X.to_numpy()
    arr.flags.writeable = False
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        clf = lamina.MLPClassifier((8,), max_iter=3, random_state=0).fit(X, y)
        clf.predict(X)
        lamina.MLPClassifier((8,), max_iter=3, random_state=0).fit(arr, y.to_numpy())
    assert not [w for w in seen if "not writable" in str(w.message)], [str(w.message) for w in seen]


def test_reversed_views_train_as_their_copies() -> None:
    """X[::-1] of a float32 array has negative strides, which torch refuses to alias: fit
    failed deep in torch ("At least one stride ... is negative"); sklearn takes such views."""
    X, y = load_iris(return_X_y=True)
    X32 = X.astype(np.float32)
    kw = {"hidden_layer_sizes": (8,), "max_iter": 5, "random_state": 0}
    view = lamina.MLPClassifier(**kw).fit(X32[::-1], y[::-1])
    copy = lamina.MLPClassifier(**kw).fit(X32[::-1].copy(), y[::-1].copy())
    np.testing.assert_array_equal(view.predict_proba(X32[::-1]), copy.predict_proba(X32[::-1]))
    reg = lamina.MLPRegressor(**kw).fit(X32[::-1], X32[::-1, 0])
    assert reg.predict(X32[::-1]).shape == (150,)


@pytest.mark.parametrize("activation,factor", [("relu", 6.0), ("logistic", 2.0)])
def test_every_layer_including_the_output_is_initialised_as_sklearn(activation, factor) -> None:
    """sklearn draws every layer's weights and biases uniform in +-sqrt(factor/(fan_in+fan_out))
    (factor 2 for logistic units, else 6); the output layer too, not torch's Linear default."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 30)), rng.integers(0, 10, 200)
    clf = lamina.MLPClassifier((64, 48), activation=activation, learning_rate_init=1e-12,
                               max_iter=1, random_state=0).fit(X, y)
    for W, b in zip(clf.coefs_, clf.intercepts_):
        bound = np.sqrt(factor / sum(W.shape))
        for values in (W, b):
            assert np.abs(values).max() <= bound * (1 + 1e-5)
        assert np.abs(W).max() > 0.95 * bound                     # the whole range is used
