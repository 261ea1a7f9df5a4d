"""ImageClassifier on real images (sklearn's digits), its input layouts, bad input, save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lamina
from lamina import DataError, ParameterError
from lamina.estimators import ImageClassifier

pytestmark = pytest.mark.usefixtures("one_thread")     # see conftest.py

SPEC = "conv(8,3,1,same)-pool-dense(32)"


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, ...]:
    ds = lamina.datasets.load("digits")
    rng = np.random.default_rng(0)
    order = rng.permutation(len(ds.X))
    train, test = order[:600], order[600:1000]
    return ds.X[train], ds.y[train], ds.X[test], ds.y[test]


@pytest.fixture(scope="module")
def fitted(digits) -> ImageClassifier:  # type: ignore[no-untyped-def]
    X, y, _, _ = digits
    return ImageClassifier(SPEC, image_shape=(1, 8, 8), epochs=5, lr=5e-3, batch_size=32,
                           random_state=0).fit(X, y)


def test_learns_digits(fitted, digits) -> None:  # type: ignore[no-untyped-def]
    _, _, X_test, y_test = digits
    assert fitted.score(X_test, y_test) > 0.85    # written: 0.905 (seeds 1, 2: 0.92, 0.94); chance 0.1
    proba = fitted.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert fitted.image_shape_ == (1, 8, 8) and fitted.n_features_in_ == 64
    assert fitted.module_.hidden_names == ["hidden.0", "hidden.1", "hidden.2"]
    assert len(fitted.history_) == fitted.n_iter_ and fitted.stop_reason_


def test_layouts_agree(digits) -> None:  # type: ignore[no-untyped-def]
    X, y, X_test, _ = digits
    kw = {"spec": SPEC, "epochs": 1, "random_state": 0}
    flat = ImageClassifier(image_shape=(1, 8, 8), **kw).fit(X[:200], y[:200])
    hw = ImageClassifier(**kw).fit(X[:200].reshape(-1, 8, 8), y[:200])
    chw = ImageClassifier(**kw).fit(X[:200].reshape(-1, 1, 8, 8), y[:200])
    p = flat.predict_proba(X_test)
    np.testing.assert_allclose(hw.predict_proba(X_test.reshape(-1, 8, 8)), p, rtol=1e-5)
    np.testing.assert_allclose(chw.predict_proba(X_test.reshape(-1, 1, 8, 8)), p, rtol=1e-5)
    # a model fitted on (N, 1, 8, 8) also takes flat rows and (N, 8, 8)
    np.testing.assert_allclose(chw.predict_proba(X_test), p, rtol=1e-5)


def test_string_labels_and_signals() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 12)).astype(np.float32)
    y = np.where(X[:, :6].mean(1) > X[:, 6:].mean(1), "left", "right")
    clf = ImageClassifier("conv(4,3,1,same)-dense(8)", epochs=20, lr=1e-2,
                          early_stopping=False, random_state=0).fit(X, y)
    assert clf.image_shape_ == (1, 12)                   # rows become 1-D signals
    assert set(clf.predict(X)) <= {"left", "right"} and clf.score(X, y) > 0.8


def test_wrong_shapes_and_values(fitted) -> None:  # type: ignore[no-untyped-def]
    rgb = np.zeros((2, 3, 8, 8))
    with pytest.raises(DataError, match=r"per-sample shape \(3, 8, 8\), but the shape the model "
                       r"was fitted on is \(1, 8, 8\).*3 channels where 1 are expected.*"
                       r"X.mean\(axis=1, keepdims=True\)"):
        fitted.predict(rgb)
    with pytest.raises(DataError, match=r"looks channels-last.*X.transpose\(0, 3, 1, 2\)"):
        fitted.predict(np.zeros((2, 8, 8, 1)))
    with pytest.raises(DataError, match=r"\(1, 9, 9\).*Resize or reshape the inputs to "
                       r"\(N, 1, 8, 8\)"):
        fitted.predict(np.zeros((2, 1, 9, 9)))
    with pytest.raises(DataError, match=r"X has 63 features, but ImageClassifier is expecting "
                       r"64 features as input"):
        fitted.predict(np.zeros((2, 63)))
    bad = np.zeros((2, 64))
    bad[1, 5] = np.nan
    with pytest.raises(DataError, match=r"^Input X contains NaN at sample 1, position \(5,\) \(1 "
                                        r"NaN/inf values in all\)\. Remove or impute the "
                                        r"missing/infinite values first\.$"):
        fitted.predict(bad)
    with pytest.raises(DataError, match=r"^Expected 2D array or more \(one row or image per "
                                        r"sample\), got an array of shape \(64,\)\. Reshape your data: "
                                        r"X\[None\] for a single sample"):
        fitted.predict(np.zeros(64))


def test_bad_parameters(digits) -> None:  # type: ignore[no-untyped-def]
    X, y, _, _ = digits
    with pytest.raises(ParameterError, match=r"Invalid image_shape=\(8, 8, 1, 1\): None or a "
                       r"tuple \(channels, height, width\)"):
        ImageClassifier(image_shape=(8, 8, 1, 1)).fit(X, y)
    with pytest.raises(DataError, match=r"X has 64 features per row, but image_shape=\(1, 7, 7\) "
                       r"needs 49"):
        ImageClassifier(image_shape=(1, 7, 7)).fit(X, y)
    with pytest.raises(DataError, match=r"X has 600, y has 10"):
        ImageClassifier().fit(X, y[:10])
    with pytest.raises(DataError, match="requires y to be passed"):
        ImageClassifier().fit(X)


def test_save_load(fitted, digits, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, _, X_test, _ = digits
    fitted.save(tmp_path / "run")
    again = lamina.load(tmp_path / "run")
    assert type(again) is ImageClassifier and again.get_params() == fitted.get_params()
    np.testing.assert_array_equal(again.predict_proba(X_test), fitted.predict_proba(X_test))
    assert again.image_shape_ == fitted.image_shape_ and again.n_iter_ == fitted.n_iter_
    assert again.history_["train_loss"] == fitted.history_["train_loss"]
    np.testing.assert_array_equal(again.classes_, fitted.classes_)


def test_flat_square_rows_warn_and_channels_last_is_named_at_fit(digits) -> None:  # type: ignore[no-untyped-def]
    X, y, _, _ = digits
    with pytest.warns(UserWarning, match=r"X has 64 features per row, read as one-channel 1-D "
                                         r"signals .* pass image_shape=\(1, 8, 8\)"):
        clf = ImageClassifier(SPEC, epochs=1, random_state=0).fit(X[:100], y[:100])
    assert clf.image_shape_ == (1, 64)
    with pytest.raises(DataError, match=r"per-sample shape \(8, 8, 1\), which looks channels-"
                                        r"last.*X.transpose\(0, 3, 1, 2\)"):
        ImageClassifier(SPEC, epochs=1).fit(X[:100].reshape(-1, 8, 8, 1), y[:100])
