"""SequenceClassifier: variable-length sequences, normalisation, bad input, save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lamina
from lamina import DataError
from lamina.estimators import SequenceClassifier

pytestmark = pytest.mark.usefixtures("one_thread")     # see conftest.py


def _sequences(n: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Class 1 when feature 0 rises over the sequence, 0 when it falls (order matters)."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for i in range(n):
        t = int(rng.integers(4, 25))
        slope = 1.0 if i % 2 else -1.0
        ramp = slope * np.linspace(-1, 1, t) + 0.3 * rng.normal(size=t)
        X.append(np.stack([ramp, rng.normal(size=t)], axis=1).astype(np.float32) * 5 + 10)
        y.append(i % 2)
    return X, np.array(y)


@pytest.fixture(scope="module")
def fitted() -> SequenceClassifier:
    X, y = _sequences(160, 0)
    return SequenceClassifier("gru(8)", epochs=15, lr=1e-2, batch_size=16,
                              random_state=0).fit(X, y)


def test_learns_direction_of_change(fitted) -> None:  # type: ignore[no-untyped-def]
    X, y = _sequences(100, 1)
    assert fitted.score(X, y) > 0.9                      # the mean is the same for both classes
    assert fitted.n_features_in_ == 2
    np.testing.assert_allclose(fitted.feature_mean_, [10, 10], atol=1.0)
    assert fitted.module_.hidden_names == ["hidden.0"]


def test_order_and_padding_do_not_change_predictions(fitted) -> None:  # type: ignore[no-untyped-def]
    X, _ = _sequences(40, 2)
    alone = np.concatenate([fitted.predict_proba([x]) for x in X[:6]])
    batch = fitted.predict_proba(X)[:6]                   # padded next to longer sequences
    np.testing.assert_allclose(batch, alone, rtol=1e-4, atol=1e-6)
    shuffled = fitted.predict_proba(X[::-1])[::-1]
    np.testing.assert_allclose(shuffled, fitted.predict_proba(X), rtol=1e-4, atol=1e-6)


def test_3d_array_and_1d_sequences() -> None:
    rng = np.random.default_rng(0)
    X3 = rng.normal(size=(40, 6, 1)).astype(np.float32)
    y = (X3[:, :, 0].mean(1) > 0).astype(int)
    a = SequenceClassifier("gru(4)", epochs=2, random_state=0).fit(X3, y)
    b = SequenceClassifier("gru(4)", epochs=2, random_state=0).fit([x[:, 0] for x in X3], y)
    np.testing.assert_allclose(a.predict_proba(X3), b.predict_proba(list(X3[:, :, 0])),
                               rtol=1e-5)


def test_bad_sequences(fitted) -> None:  # type: ignore[no-untyped-def]
    X, y = _sequences(10, 3)
    X[4] = X[4].copy()
    X[4][2, 1] = np.nan
    with pytest.raises(DataError, match=r"X\[4\] holds NaN or infinite values \(first at step "
                       r"2\). Impute or drop them"):
        fitted.predict(X)
    with pytest.raises(DataError, match=r"X\[1\] has 3 features per step, but the model was "
                       r"fitted with 2"):
        fitted.predict([X[0], np.zeros((5, 3))])
    with pytest.raises(DataError, match=r"X\[0\] is empty \(0 steps\)"):
        fitted.predict([np.zeros((0, 2))])
    with pytest.raises(DataError, match=r"read as 5 one-feature sequences; if it is ONE sequence "
                                        r"of shape \(5, 2\), wrap it in a list: \[X\]"):
        fitted.predict(np.zeros((5, 2)))
    with pytest.raises(DataError, match=r"X\[1\] has 3 features per step, but X\[0\] has 2"):
        SequenceClassifier().fit([np.zeros((3, 2)), np.zeros((3, 3))], [0, 1])
    with pytest.raises(DataError, match=r"X\[0\] has shape \(2, 2, 2\); each sequence must be 2-D"):
        fitted.predict([np.zeros((2, 2, 2))])
    with pytest.raises(DataError, match=r"X\[0\] is not numeric \(got str\)"):
        fitted.predict(["abc"])
    with pytest.raises(DataError, match=r"Sparse input \(csr_matrix\) is not supported"):
        import scipy.sparse

        fitted.predict(scipy.sparse.csr_matrix(np.ones((2, 2))))
    with pytest.raises(DataError, match="X holds no sequences"):
        fitted.predict([])
    X, y = _sequences(10, 3)
    with pytest.raises(DataError, match=r"X has 10 sequences, y has 9"):
        SequenceClassifier().fit(X, y[:9])


def test_save_load(fitted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    X, _ = _sequences(30, 4)
    fitted.save(tmp_path)
    again = lamina.load(tmp_path)
    assert type(again) is SequenceClassifier and again.get_params() == fitted.get_params()
    np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(again.feature_std_, fitted.feature_std_)
