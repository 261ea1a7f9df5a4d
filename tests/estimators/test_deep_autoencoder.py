"""Autoencoder: codes, reconstructions in original units, anomaly scores, bad input, save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.decomposition import PCA

import lamina
from lamina import DataError, ParameterError, SpecError
from lamina.estimators import Autoencoder

pytestmark = pytest.mark.usefixtures("one_thread")     # see conftest.py


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    ds = lamina.datasets.load("digits")
    return ds.X.astype(np.float64), ds.y


@pytest.fixture(scope="module")
def fitted(digits) -> Autoencoder:  # type: ignore[no-untyped-def]
    X, _ = digits
    return Autoencoder("64", bottleneck=4, epochs=15, lr=3e-3, random_state=0).fit(X)


def test_codes_and_reconstructions(fitted, digits) -> None:  # type: ignore[no-untyped-def]
    X, _ = digits
    codes = fitted.transform(X)
    assert codes.shape == (len(X), 4)
    recon = fitted.inverse_transform(codes)
    assert recon.shape == X.shape
    # reconstruction_error is the per-sample MSE of decode(encode(x)) in the original units
    np.testing.assert_allclose(fitted.reconstruction_error(X), ((recon - X) ** 2).mean(1),
                               rtol=1e-4)
    np.testing.assert_allclose(fitted.score_samples(X), -fitted.reconstruction_error(X))
    assert fitted.score(X) == pytest.approx(-fitted.reconstruction_error(X).mean())
    # it learned something: far better than predicting every pixel's mean
    assert fitted.reconstruction_error(X).mean() < 0.6 * X.var(axis=0).mean()
    assert list(fitted.get_feature_names_out()) == [f"autoencoder{i}" for i in range(4)]
    assert fitted.module_.code_name == "encoder.hidden.1"


def test_linear_autoencoder_never_beats_pca(digits) -> None:  # type: ignore[no-untyped-def]
    X, _ = digits
    # no hidden layers, identity code: a linear map of rank <= 3, which PCA minimises exactly
    ae = Autoencoder((), bottleneck=3, scale="center", epochs=40, lr=1e-2,
                     early_stopping=False, random_state=0).fit(X)
    pca = PCA(3).fit(X)
    pca_err = ((pca.inverse_transform(pca.transform(X)) - X) ** 2).mean()
    ae_err = ae.reconstruction_error(X).mean()
    assert pca_err <= ae_err * (1 + 1e-4)
    assert ae_err < 1.3 * pca_err                      # and training gets close to it


def test_anomalies_score_higher(digits) -> None:  # type: ignore[no-untyped-def]
    X, y = digits
    ae = Autoencoder("32", bottleneck=4, epochs=15, lr=3e-3, random_state=0).fit(X[y != 0])
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(y == 0, ae.reconstruction_error(X)) > 0.75


def test_conv_encoder_with_image_shape(digits) -> None:  # type: ignore[no-untyped-def]
    X, _ = digits
    ae = Autoencoder("conv(4,3,1,same)-pool", bottleneck=8, decoder_spec="32",
                     image_shape=(1, 8, 8), epochs=2, random_state=0).fit(X[:300])
    assert ae.transform(X[:10]).shape == (10, 8)
    assert ae.inverse_transform(ae.transform(X[:10])).shape == (10, 64)   # flat in, flat out
    with pytest.raises(SpecError, match="mirroring needs an all-dense encoder"):
        Autoencoder("conv(4,3)", image_shape=(1, 8, 8)).fit(X[:50])


def test_bad_input(fitted, digits) -> None:  # type: ignore[no-untyped-def]
    X, _ = digits
    bad = X[:3].copy()
    bad[2, 7] = np.inf
    with pytest.raises(DataError, match=r"(?s)Input X contains infinity.*Remove or impute"):
        fitted.transform(bad)
    with pytest.raises(DataError, match=r"X has 63 features, but Autoencoder is expecting 64"):
        fitted.transform(X[:3, :63])
    with pytest.raises(DataError, match=r"expects codes of shape \(n_samples, 4\).*got \(3, 2\)"):
        fitted.inverse_transform(np.zeros((3, 2)))
    with pytest.raises(ParameterError, match=r"Invalid scale='minmax'"):
        Autoencoder(scale="minmax").fit(X)
    with pytest.raises(ParameterError, match=r"Invalid bottleneck=0"):
        Autoencoder(bottleneck=0).fit(X)


def test_save_load(fitted, digits, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    X, _ = digits
    fitted.save(tmp_path / "ae")
    again = lamina.load(tmp_path / "ae")
    assert type(again) is Autoencoder and again.get_params() == fitted.get_params()
    np.testing.assert_array_equal(again.transform(X), fitted.transform(X))
    np.testing.assert_array_equal(again.reconstruction_error(X), fitted.reconstruction_error(X))
