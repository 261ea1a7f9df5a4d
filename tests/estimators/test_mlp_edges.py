"""MLP estimator edge cases found by a walkthrough: each test failed on the code before its fix."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier as SkMLP

import lamina
from lamina import DataError, NotFittedError
from lamina.spec import DenseSpec, HiddenSpec

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def test_a_failed_fresh_fit_leaves_no_model(digits) -> None:
    X, y = digits
    clf = lamina.MLPClassifier((16,), max_iter=3, random_state=0).fit(X, y)
    with pytest.raises(DataError):
        clf.set_params(early_stopping=True, validation_fraction=0.001).fit(X[:100], y[:100])
    with pytest.raises(NotFittedError):     # before: the untrained network answered at random
        clf.predict(X[:5])


def test_early_stopping_split_is_sklearns(digits) -> None:
    # sklearn stratifies the validation split only for one output column (binary targets)
    X, y = digits[0][:100], digits[1][:100]
    kw = {"hidden_layer_sizes": (16,), "max_iter": 5, "early_stopping": True,
          "validation_fraction": 0.05, "random_state": 0}
    ours = lamina.MLPClassifier(**kw).fit(X, y)           # was: "test_size = 5 should be ..."
    theirs = SkMLP(**kw).fit(X, y)
    assert ours.n_iter_ == 5 and theirs.n_iter_ == 5
    assert len(ours.validation_scores_) == 5
    # binary targets are stratified (as sklearn's): 1 validation row cannot hold both classes
    yb = (y > 4).astype(int)
    with pytest.raises(DataError, match=r"early_stopping=True could not split off "
                       r"validation_fraction=0.01 of the 100 samples"):
        lamina.MLPClassifier(**dict(kw, validation_fraction=0.01)).fit(X, yb)


def test_bfloat16_predicts_small_batches(digits) -> None:
    X, y = digits
    clf = lamina.MLPClassifier((16,), max_iter=3, random_state=0, dtype="bfloat16").fit(X, y)
    small = clf.predict_proba(X[:5])                     # was: numpy has no bfloat16
    np.testing.assert_allclose(small, clf.predict_proba(X[:100])[:5], atol=1e-6)


@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_coefs_of_normalised_layers(digits, norm: str) -> None:
    X, y = digits
    clf = lamina.MLPClassifier(f"16:relu:norm={norm}", max_iter=3, random_state=0).fit(X, y)
    assert [c.shape for c in clf.coefs_] == [(64, 16), (16, 10)]     # was []
    assert [b.shape for b in clf.intercepts_] == [(16,), (10,)]
    assert clf.n_layers_ == len(clf.coefs_) + 1


@pytest.mark.parametrize("spec", [(DenseSpec(16, "tanh"), DenseSpec(8)),
                                  HiddenSpec.from_list([{"kind": "dense", "width": 16}])])
def test_save_specs_given_as_dataclasses(digits, tmp_path, spec) -> None:  # type: ignore[no-untyped-def]
    X, y = digits
    clf = lamina.MLPClassifier(spec, max_iter=3, random_state=0).fit(X, y)
    clf.save(tmp_path / "run")                           # was: DenseSpec is not JSON serializable
    again = lamina.load(tmp_path / "run")
    np.testing.assert_array_equal(again.predict_proba(X[:50]), clf.predict_proba(X[:50]))


def test_sparse_rows_as_sklearn_accepts_them(digits) -> None:
    import scipy.sparse as sp

    X, y = digits
    kw = {"hidden_layer_sizes": (16,), "max_iter": 5, "random_state": 0}
    dense = lamina.MLPClassifier(**kw).fit(X, y)
    for fmt in ("csr", "csc", "coo"):
        sparse = lamina.MLPClassifier(**kw).fit(sp.csr_matrix(X).asformat(fmt), y)
        np.testing.assert_array_equal(sparse.predict_proba(sp.csr_matrix(X[:70])),
                                      dense.predict_proba(X[:70]))
    reg = lamina.MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    assert reg.fit(sp.csr_matrix(X), y.astype(float)).predict(sp.csr_matrix(X[:3])).shape == (3,)


def test_sparse_rows_too_large_to_densify_are_refused_by_name() -> None:
    import scipy.sparse as sp

    huge = sp.csr_matrix((10**6, 10**8), dtype=np.float32)   # 400 TB when dense
    with pytest.raises(DataError, match=r"X is a sparse 1000000 x 100000000 matrix; the network "
                       r"reads dense rows, which would need .* TruncatedSVD"):
        lamina.MLPClassifier().fit(huge, np.arange(10**6) % 2)


def test_non_dense_specs_point_to_the_estimator_for_their_data(digits) -> None:
    X, y = digits
    with pytest.raises(lamina.ParameterError, match=r"dense layers only \(MLPClassifier reads "
                       r"flat rows of features; this spec holds conv, pool layers\)\. For images "
                       r"use lamina.ImageClassifier"):
        lamina.MLPClassifier("conv(8,3,1,same)-pool-dense(32)").fit(X, y)


def test_partial_fit_with_other_classes_is_refused_as_sklearn_does(digits) -> None:
    X, y = digits
    clf = lamina.MLPClassifier((8,), random_state=0).partial_fit(X, y, classes=np.arange(10))
    clf.partial_fit(X, y, classes=np.arange(10))             # the same classes: fine
    with pytest.raises(DataError, match=r"classes=\[0, 1, 2\] differs from the classes "
                       r"\[0, 1, 2, 3, 4, 5, 6, 7, 8, 9\] of the first partial_fit call"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(DataError, match=r"y contains labels \[11\] that were not in classes"):
        clf.partial_fit(X[:2], np.array([11, 0]))


def test_run_paths_that_are_files_are_named(digits, tmp_path) -> None:  # type: ignore[no-untyped-def]
    X, y = digits
    clf = lamina.MLPClassifier((8,), max_iter=2, random_state=0).fit(X, y)
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(lamina.RunDirError, match=r"f.txt' is a file; a run is a directory"):
        lamina.load(tmp_path / "f.txt")
    with pytest.raises(lamina.RunDirError, match=r"cannot save into .*f.txt': it is a file"):
        clf.save(tmp_path / "f.txt")


@pytest.mark.parametrize("seed", ["x", -1])
def test_bad_random_state_is_named(digits, seed) -> None:  # type: ignore[no-untyped-def]
    X, y = digits
    with pytest.raises(lamina.ParameterError, match=r"Invalid random_state="):
        lamina.MLPClassifier((4,), random_state=seed).fit(X[:50], y[:50])


def test_divergence_with_early_stopping_stops_cleanly_and_warns(digits) -> None:
    X, y = digits
    for est in (lamina.MLPClassifier(learning_rate_init=1e30, early_stopping=True, max_iter=3,
                                     random_state=0),
                lamina.ImageClassifier("conv(8,3)-dense(16)", image_shape=(1, 8, 8), lr=1e30,
                                       epochs=3, random_state=0)):
        with pytest.warns(RuntimeWarning, match="training diverged at epoch 1"):
            est.fit(X, y)                               # was: TypeError on val_score None
        assert est.stop_reason_.startswith("training diverged")
        assert len(est.validation_scores_) == 1 and np.isnan(est.validation_scores_[0])
        assert est.predict(X[:3]).shape == (3,)


def test_deep_specs_that_cannot_read_their_data_are_named(digits) -> None:
    X, y = digits
    seqs = [x.reshape(8, 8).astype("float32") for x in X[:60]]
    with pytest.raises(lamina.ParameterError, match=r"Invalid spec='32': a layer that reads the "
                       r"sequence step by step.*Use e.g. spec='gru\(64\):readout=last'"):
        lamina.SequenceClassifier("32", epochs=1).fit(seqs, y[:60])
    with pytest.raises(lamina.ParameterError, match=r"Use e.g. spec='embed\(64\)-seqpool"):
        lamina.TextClassifier("embed(16)-conv(8,3)-gap", epochs=1).fit(["a b c", "d e"] * 10,
                                                                        [0, 1] * 10)
    series = np.sin(np.arange(200) / 5)
    with pytest.raises(lamina.ParameterError, match=r"Invalid spec='gru\(16\)': dense layers "
                       r"only \(the network reads a window of n_lags values"):
        lamina.Forecaster("gru(16)", epochs=1).fit(series)
    rec = lamina.Recommender(epochs=1, random_state=0).fit(
        np.array([[1, 2], [2, 3], [1, 3], [3, 1]] * 5), np.array([1.0, 2, 3, 4] * 5))
    with pytest.raises(lamina.ParameterError, match=r"one user id \(recommend ranks items"):
        rec.recommend([1, 2])
