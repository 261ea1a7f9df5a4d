"""build_autoencoder: named layers, mirror decoder, gradients, and a linear AE that finds PCA."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _kind_checks import assert_all_params_get_gradient, param_gradcheck, single_thread  # noqa: F401
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from lamina import ParameterError, SpecError
from lamina.nn import Autoencoder, HiddenNet, build_autoencoder

pytestmark = pytest.mark.usefixtures("single_thread")


def test_mirror_reverses_the_encoder_and_names_every_layer() -> None:
    ae = build_autoencoder("32:tanh-16", bottleneck=3, in_features=20, seed=0)
    assert str(ae.encoder.spec) == "32:tanh-16:relu-3:identity"
    assert str(ae.decoder.spec) == "16:relu-32:tanh"
    assert ae.code_name == "encoder.hidden.2" and ae.code_size == 3
    names = {name for name, _ in ae.named_modules()}
    assert {"encoder.hidden.0", "encoder.hidden.1", "encoder.hidden.2", "decoder.hidden.0",
            "decoder.hidden.1", "decoder.head"} <= names
    x = torch.randn(5, 20)
    assert ae.encode(x).shape == (5, 3)
    assert ae.decode(torch.randn(5, 3)).shape == (5, 20)
    torch.testing.assert_close(ae(x), ae.decode(ae.encode(x)))


def test_explicit_decoder_conv_encoder_and_output_activation() -> None:
    ae = build_autoencoder("conv(4,3)-pool-gap", bottleneck="8:tanh", decoder_spec="32",
                           in_shape=(1, 8, 8), output_activation="sigmoid", seed=0)
    x = torch.rand(3, 1, 8, 8)
    out = ae(x)
    assert out.shape == (3, 1, 8, 8) and bool(((out > 0) & (out < 1)).all())
    assert ae.encode(x).abs().max() < 1            # tanh code
    assert_all_params_get_gradient(ae, ((out - x) ** 2).mean())


def test_seed_and_config_round_trip() -> None:
    a = build_autoencoder("16", 2, in_features=6, seed=4)
    b = build_autoencoder("16", 2, in_features=6, seed=4)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    c = Autoencoder.from_config(a.config())
    c.load_state_dict(a.state_dict())
    x = torch.randn(4, 6)
    torch.testing.assert_close(c(x), a(x))
    assert isinstance(c.encoder, HiddenNet)


def test_gradcheck_float64() -> None:
    ae = build_autoencoder("5:tanh", bottleneck=2, in_features=4, seed=0,
                           output_activation="sigmoid")
    assert param_gradcheck(ae, torch.randn(3, 4, dtype=torch.float64))


@pytest.mark.parametrize("kwargs, error, message", [
    ({"encoder_spec": "conv(4,3)-gap", "bottleneck": 2, "in_shape": (1, 6, 6)}, SpecError,
     "mirroring needs an all-dense encoder; this encoder has conv, gap layers"),
    ({"encoder_spec": "8", "bottleneck": 0, "in_features": 4}, ParameterError,
     "Invalid bottleneck=0: the code size must be >= 1"),
    ({"encoder_spec": "8", "bottleneck": "4-2", "in_features": 4}, ParameterError,
     "Invalid bottleneck='4-2': an int code size, a single dense layer"),
    ({"encoder_spec": "8", "bottleneck": 2}, ParameterError,
     "Invalid in_features=None: the input size is needed"),
    ({"encoder_spec": "8", "bottleneck": 2, "in_features": 4, "output_activation": "softmax"},
     ParameterError, "Invalid output_activation='softmax'"),
])
def test_bad_arguments(kwargs, error, message: str) -> None:
    with pytest.raises(error) as err:
        build_autoencoder(**kwargs)
    assert message in str(err.value)


def test_linear_autoencoder_reaches_the_pca_reconstruction_error() -> None:
    """A linear AE's optimum is the PCA subspace: trained, its MSE must come within 1 %."""
    X, _ = load_digits(return_X_y=True)
    X = (X - X.mean(0)) / 16.0
    k = 8
    pca = PCA(k).fit(X)
    pca_mse = float(np.mean((pca.inverse_transform(pca.transform(X)) - X) ** 2))
    data = torch.tensor(X, dtype=torch.float32)
    ae = build_autoencoder((), bottleneck=k, decoder_spec=(), in_features=64, seed=0)
    opt = torch.optim.Adam(ae.parameters(), lr=0.02)
    for _ in range(600):
        opt.zero_grad()
        loss = torch.mean((ae(data) - data) ** 2)
        loss.backward()
        opt.step()
    with torch.no_grad():
        ae_mse = float(torch.mean((ae(data) - data) ** 2))
    assert ae_mse < 1.01 * pca_mse, (ae_mse, pca_mse)
    assert ae_mse > 0.99 * pca_mse              # nothing linear beats PCA: a sanity bound
