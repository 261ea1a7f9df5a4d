"""``sample_weight`` in MLPClassifier / MLPRegressor ``fit`` and ``partial_fit``, as sklearn 1.9:
each mini-batch minimises ``np.average(loss, weights=w) + alpha/2 * sum(W**2) / sum(w)``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import sklearn.neural_network as sknn
from sklearn.datasets import make_classification, make_regression
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split

import lamina
from lamina import ParameterError

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:Got `batch_size` less than 1 or larger"),
]


def _data(kind: str, n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 5))
    if kind == "multiclass":
        return X, (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    if kind == "binary":
        return X, np.where(X[:, 0] - X[:, 3] > 0, "yes", "no")
    if kind == "multilabel":
        return X, np.stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0], 1).astype(int)
    if kind == "poisson":
        return X, rng.poisson(np.exp(0.5 * X[:, 0])).astype(float)
    if kind == "regression1":
        return X, X[:, 0] * X[:, 1] + np.sin(X[:, 2])
    return X, np.stack([X[:, 0] * X[:, 1], np.sin(X[:, 2])], 1)   # two outputs


def _estimator(kind: str, **kw: Any) -> Any:
    if kind in ("multiclass", "binary", "multilabel"):
        return lamina.MLPClassifier(**kw)
    return lamina.MLPRegressor(loss="poisson" if kind == "poisson" else "squared_error", **kw)


def _params(est: Any) -> list[np.ndarray]:
    return [*est.coefs_, *est.intercepts_]


def _assert_same_params(a: Any, b: Any, tol: float = 1e-10) -> None:
    for pa, pb in zip(_params(a), _params(b), strict=True):
        np.testing.assert_allclose(pa, pb, rtol=tol, atol=tol)


# ------------------------------------------------------------------ (2) sklearn's own formula
@pytest.mark.parametrize("kind", ["multiclass", "binary", "multilabel", "regression1", "poisson"])
def test_weighted_loss_and_gradient_equal_sklearns_backprop(kind: str) -> None:
    """Loss and one plain-SGD step of lamina == sklearn's ``_backprop`` on the same weights.

    (Regression with one output: for several, sklearn's squared loss averages over outputs
    but its deltas do not, so its gradient is n_outputs times its loss's; lamina follows the
    loss, weighted or not.)"""
    X, y = _data(kind)
    sw = np.random.RandomState(1).uniform(0.0, 3.0, size=len(X))
    sw[:5] = 0.0
    lr, alpha = 0.5, 0.3
    kw = {"hidden_layer_sizes": (6, 4), "activation": "tanh", "solver": "sgd", "momentum": 0.0,
          "learning_rate_init": lr, "alpha": alpha, "batch_size": len(X), "shuffle": False,
          "random_state": 0, "dtype": "float64"}
    ours = _estimator(kind, max_iter=3, **kw).fit(X, y, sample_weight=sw)
    assert ours.engine_ == "autograd"
    w0 = [p.copy() for p in _params(ours)]
    ours.set_params(warm_start=True, max_iter=1).fit(X, y, sample_weight=sw)   # one SGD step
    grads = [(p0 - p1) / lr for p0, p1 in zip(w0, _params(ours))]

    sk_kw = {k: v for k, v in kw.items() if k != "dtype"}
    if kind in ("multiclass", "binary", "multilabel"):
        sk: Any = sknn.MLPClassifier(max_iter=1, **sk_kw).fit(X, y)
        Y = sk._label_binarizer.transform(y).astype(np.float64)
    else:
        loss = "poisson" if kind == "poisson" else "squared_error"
        sk = sknn.MLPRegressor(loss=loss, max_iter=1, **sk_kw).fit(X, y)
        Y = y.reshape(len(X), -1)
    n_coefs = len(sk.coefs_)
    sk.coefs_, sk.intercepts_ = [p.copy() for p in w0[:n_coefs]], [p.copy() for p in w0[n_coefs:]]
    layers = sk.n_layers_
    loss_sk, coef_grads, intercept_grads = sk._backprop(
        X, Y, sw, [X] + [None] * (layers - 1), [None] * (layers - 1),
        [np.empty_like(c) for c in sk.coefs_], [np.empty_like(b) for b in sk.intercepts_])

    assert ours.loss_curve_[-1] == pytest.approx(loss_sk, rel=1e-12)
    for g, g_sk in zip(grads, [*coef_grads, *intercept_grads], strict=True):
        np.testing.assert_allclose(g, g_sk, rtol=1e-9, atol=1e-12)
    # the weights matter: sklearn's unweighted gradient is a different one
    _, cg_plain, _ = sk._backprop(X, Y, None, [X] + [None] * (layers - 1), [None] * (layers - 1),
                                  [np.empty_like(c) for c in sk.coefs_],
                                  [np.empty_like(b) for b in sk.intercepts_])
    assert not np.allclose(grads[0], cg_plain[0], rtol=1e-3)


# ------------------------------------------------------------------ (1) integer weights = copies
@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
@pytest.mark.parametrize("kind", ["multiclass", "regression"])
def test_integer_weights_equal_repeated_rows(kind: str, solver: str) -> None:
    X, y = _data(kind, n=30)
    sw = np.random.RandomState(2).randint(0, 4, size=len(X))
    sw[:3] = 1                                           # every class keeps a weighted row
    kw = {"hidden_layer_sizes": (8,), "activation": "tanh", "solver": solver, "alpha": 1e-2,
          "learning_rate_init": 0.05, "batch_size": 1000, "shuffle": False, "max_iter": 15,
          "random_state": 0, "dtype": "float64"}
    if kind == "multiclass":
        assert set(y[sw > 0]) == set(y)
    repeated = _estimator(kind, **kw).fit(np.repeat(X, sw, axis=0), np.repeat(y, sw, axis=0))
    weighted = _estimator(kind, **kw).fit(X, y, sample_weight=sw)
    assert weighted.engine_ == "autograd"
    assert repeated.engine_ == ("explicit" if solver == "sgd" else "autograd")
    _assert_same_params(repeated, weighted)
    assert weighted.loss_curve_ == pytest.approx(repeated.loss_curve_, rel=1e-10)
    assert weighted.n_iter_ == repeated.n_iter_


# ------------------------------------------------------------------ (3) zero weight = dropped
@pytest.mark.parametrize("kind", ["binary", "regression"])
def test_zero_weights_equal_dropping_rows(kind: str) -> None:
    X, y = _data(kind, n=30)
    sw = (np.arange(len(X)) % 3 != 0).astype(float)       # every third row weighs nothing
    kw = {"hidden_layer_sizes": (8,), "max_iter": 20, "batch_size": 1000,
          "learning_rate_init": 0.01, "random_state": 0, "dtype": "float64"}
    dropped = _estimator(kind, **kw).fit(X[sw > 0], y[sw > 0])
    weighted = _estimator(kind, **kw).fit(X, y, sample_weight=sw)
    _assert_same_params(dropped, weighted)
    assert weighted.loss_curve_ == pytest.approx(dropped.loss_curve_, rel=1e-10)
    # and not what the unweighted fit gives
    plain = _estimator(kind, **kw).fit(X, y)
    assert not np.allclose(plain.coefs_[0], weighted.coefs_[0], rtol=1e-4)


def test_float32_default_trains_weighted_and_weights_change_the_fit() -> None:
    X, y = _data("multiclass", n=120)
    sw = np.where(y == 2, 10.0, 0.1)                      # class 2 dominates the loss
    kw = {"hidden_layer_sizes": (16,), "max_iter": 200, "random_state": 0,
          "learning_rate_init": 0.01}
    plain = lamina.MLPClassifier(**kw).fit(X, y)
    weighted = lamina.MLPClassifier(**kw).fit(X, y, sample_weight=list(sw))   # a list is fine
    assert plain.engine_ == "explicit" and weighted.engine_ == "autograd"
    assert weighted.coefs_[0].dtype == np.float32
    assert np.mean(weighted.predict(X[y == 2]) == 2) == 1.0
    # class 2 (15 % of rows) weighs 100x the others: the weighted fit calls it far more often
    share2 = [np.mean(est.predict(X) == 2) for est in (plain, weighted)]
    assert share2[1] > share2[0] + 0.05
    # score() weighs like sklearn's ClassifierMixin
    pred = weighted.predict(X)
    assert weighted.score(X, y, sample_weight=sw) == pytest.approx(
        accuracy_score(y, pred, sample_weight=sw))


def test_scalar_weight_is_the_unweighted_fit() -> None:
    # a constant weight c cancels in sum(w*l)/sum(w), but sklearn's alpha term divides by
    # sum(w) = c*n: weight 1 is the unweighted fit, weight 2 is the fit with alpha halved
    X, y = _data("regression", n=30)
    kw = {"hidden_layer_sizes": (8,), "max_iter": 10, "batch_size": 1000, "random_state": 0,
          "dtype": "float64", "alpha": 0.5}
    ones = lamina.MLPRegressor(**kw).fit(X, y, sample_weight=1.0)
    plain = lamina.MLPRegressor(**kw).fit(X, y)
    _assert_same_params(plain, ones)
    twos = lamina.MLPRegressor(**kw).fit(X, y, sample_weight=2.0)
    half_alpha = lamina.MLPRegressor(**{**kw, "alpha": 0.25}).fit(X, y)
    _assert_same_params(half_alpha, twos)


# ------------------------------------------------------------------ (4) bad weights
@pytest.mark.parametrize(("bad", "message"), [
    (np.ones(7), r"Invalid sample_weight=.*array of shape \(7,\).*X has 20 rows, sample_weight "
                 r"has 7\. Pass the weights of the same rows as X"),
    (-np.arange(20.0), r"Invalid sample_weight=.*-1 at row 1.*must be >= 0.*np\.clip"),
    (np.r_[1.0, np.nan, np.ones(18)], r"Invalid sample_weight=.*nan at row 1.*must be finite; "
                                      r"1 of 20 are NaN.*Replace the missing weights"),
    (np.r_[np.inf, np.ones(19)], r"inf at row 0.*must be finite"),
    (np.ones((20, 2)), r"Invalid sample_weight=.*array of shape \(20, 2\).*1-D array with one "
                       r"weight per row of X \(20 values\), not a 2-D array.*np\.ravel"),
    (np.zeros(20), r"Invalid sample_weight=.*all 20 zero.*at least one non-zero weight"),
    (["a"] * 20, r"Invalid sample_weight=.*must be numbers \(got dtype <U1\)"),
])
def test_bad_sample_weight_is_a_clear_error(bad: Any, message: str) -> None:
    X, y = _data("multiclass", n=20)
    for call in (lambda est: est.fit(X, y, sample_weight=bad),
                 lambda est: est.partial_fit(X, y, sample_weight=bad, classes=[0, 1, 2])):
        with pytest.raises(ParameterError, match=message) as err:
            call(lamina.MLPClassifier((4,), max_iter=2))
        assert isinstance(err.value, ValueError)          # sklearn's checks expect ValueError
    with pytest.raises(ParameterError, match=message):
        lamina.MLPRegressor(hidden_layer_sizes=(4,), max_iter=2).fit(X, X[:, 0], sample_weight=bad)


def test_caller_weights_are_not_modified() -> None:
    X, y = _data("regression", n=20)
    sw = np.linspace(0.5, 2.0, 20)
    before = sw.copy()
    lamina.MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, dtype="float64",
                        early_stopping=True).fit(X, y, sample_weight=sw)
    np.testing.assert_array_equal(sw, before)


# ------------------------------------------------------------------ (5) early stopping
@pytest.mark.parametrize("kind", ["classifier", "squared_error", "poisson"])
def test_early_stopping_splits_weights_and_scores_with_them(kind: str) -> None:
    n, seed, fraction = 300, 3, 0.3
    if kind == "classifier":
        X, y = make_classification(n, n_features=8, flip_y=0.25, random_state=0)
        est: Any = lamina.MLPClassifier((16,), random_state=seed, dtype="float64")
    else:
        X, y = make_regression(n, n_features=8, noise=30.0, random_state=0)
        if kind == "poisson":
            y = np.random.RandomState(0).poisson(np.exp(X[:, 0] * 0.5)).astype(float)
        est = lamina.MLPRegressor(kind, (16,), random_state=seed, dtype="float64")
    sw = np.random.RandomState(5).uniform(0.1, 3.0, size=n)
    est.set_params(early_stopping=True, validation_fraction=fraction, max_iter=25,
                   learning_rate_init=0.01)
    est.fit(X, y, sample_weight=sw)
    assert est.engine_ == "autograd" and len(est.validation_scores_) == est.n_iter_
    assert est.best_validation_score_ == max(est.validation_scores_)
    # the validation rows, drawn as sklearn draws them: the estimator's RandomState gives the
    # network's seed first, then splits X, y and the weights together
    rng = np.random.RandomState(seed)
    rng.randint(0, 2**31 - 1)
    _, X_val, _, y_val, _, w_val = train_test_split(
        X, y, sw, random_state=rng, test_size=fraction,
        stratify=y if kind == "classifier" else None)
    pred = est.predict(X_val)                   # the best epoch's weights were restored
    metric = accuracy_score if kind == "classifier" else r2_score
    weighted = metric(y_val, pred, sample_weight=w_val)
    assert est.best_validation_score_ == pytest.approx(weighted, rel=1e-9, abs=1e-12)
    assert metric(y_val, pred) != pytest.approx(weighted, rel=1e-6)   # the weights matter


def test_early_stopping_refuses_a_split_side_without_weight() -> None:
    X, y = _data("regression", n=20)
    sw = np.zeros(20)
    sw[0] = 1.0                                         # one weighted row: a side gets none
    with pytest.raises(lamina.DataError, match=r"every sample_weight in the (training|validation) "
                                               r"part of the split.*is zero"):
        lamina.MLPRegressor(hidden_layer_sizes=(4,), early_stopping=True,
                            validation_fraction=0.5, max_iter=3).fit(X, y, sample_weight=sw)


# ------------------------------------------------------------------ (6) partial_fit
def test_partial_fit_with_integer_weights_equals_repeated_rows() -> None:
    X, y = _data("multiclass", n=30)
    sw = np.random.RandomState(4).randint(1, 4, size=len(X))
    kw = {"hidden_layer_sizes": (8,), "solver": "sgd", "learning_rate_init": 0.05,
          "batch_size": 1000, "shuffle": False, "random_state": 0, "dtype": "float64"}
    weighted = lamina.MLPClassifier(**kw)
    repeated = lamina.MLPClassifier(**kw)
    for _ in range(3):
        weighted.partial_fit(X, y, sample_weight=sw, classes=[0, 1, 2])
        repeated.partial_fit(np.repeat(X, sw, axis=0), np.repeat(y, sw), classes=[0, 1, 2])
    assert weighted.engine_ == "autograd" and repeated.engine_ == "explicit"
    _assert_same_params(repeated, weighted)
    assert weighted.loss_curve_ == pytest.approx(repeated.loss_curve_, rel=1e-10)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_weighted_partial_fit_after_unweighted_keeps_the_optimizer_state(solver: str) -> None:
    """The first call runs on the explicit engine; the weighted second call moves to autograd
    and continues Adam's moments / SGD's momentum rather than restarting them."""
    X, y = _data("regression", n=64)
    sw = np.random.RandomState(6).uniform(0.5, 2.0, size=len(X))
    kw = {"hidden_layer_sizes": (8,), "solver": solver, "batch_size": 16, "shuffle": False,
          "learning_rate_init": 0.01, "random_state": 0, "dtype": "float64"}
    switched = lamina.MLPRegressor(**kw).partial_fit(X, y)
    assert switched.engine_ == "explicit"
    switched.partial_fit(X, y, sample_weight=sw)
    assert switched.engine_ == "autograd"
    weighted = lamina.MLPRegressor(**kw).partial_fit(X, y, sample_weight=np.ones(len(X)))
    weighted.partial_fit(X, y, sample_weight=sw)
    _assert_same_params(weighted, switched, tol=1e-9)
    # an optimizer restarted at the switch would land elsewhere
    restarted = lamina.MLPRegressor(**kw).partial_fit(X, y)
    restarted._trainer = None          # drops the optimizer state: a fresh one next call
    restarted.partial_fit(X, y, sample_weight=sw)
    assert not np.allclose(restarted.coefs_[0], switched.coefs_[0], rtol=1e-6)
