"""Linear CKA: its invariances (hypothesis), estimators agreeing, streaming and model pairs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ortho_group

import lamina
from lamina.inspection import CKAAccumulator, cka, inspect
from lamina.inspection._cka import _hsic_u_kernel

seeds = st.integers(0, 2**31 - 1)


def _pair(seed: int, n: int = 60, p: int = 6, q: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, p))
    b = a[:, :q] @ rng.normal(size=(q, q)) + 0.5 * rng.normal(size=(n, q))
    return a, b


@given(seed=seeds, unbiased=st.booleans())
@settings(max_examples=25)
def test_cka_of_a_representation_with_itself_is_one(seed, unbiased):
    a, _ = _pair(seed)
    assert cka(a, a, unbiased=unbiased) == pytest.approx(1.0, abs=1e-9)


@given(seed=seeds, scale=st.floats(0.01, 100.0), unbiased=st.booleans())
@settings(max_examples=25)
def test_cka_is_invariant_to_orthogonal_maps_and_isotropic_scaling(seed, scale, unbiased):
    a, b = _pair(seed)
    q = ortho_group.rvs(a.shape[1], random_state=seed % (2**32 - 1))
    base = cka(a, b, unbiased=unbiased)
    assert cka(scale * a @ q, b, unbiased=unbiased) == pytest.approx(base, rel=1e-7, abs=1e-9)
    assert cka(a, 3.0 * b + 7.0, unbiased=unbiased) == pytest.approx(base, rel=1e-7, abs=1e-9)


@given(seed=seeds)
@settings(max_examples=25)
def test_cka_is_not_invariant_to_a_generic_invertible_linear_map(seed):
    a, b = _pair(seed)
    rng = np.random.default_rng(seed + 1)
    m = np.diag([1.0, 1.0, 1.0, 1.0, 1.0, 30.0]) @ rng.normal(size=(6, 6))
    assert abs(np.linalg.det(m)) > 1e-6
    assert abs(cka(a @ m, b) - cka(a, b)) > 1e-3


def test_cka_values_are_in_range_and_independent_data_is_near_zero():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4000, 10)), rng.normal(size=(4000, 10))
    assert 0 <= cka(a, b) < 0.01
    assert abs(cka(a, b, unbiased=True)) < 0.005
    # few rows, many features: the biased estimator is inflated, the unbiased one is not
    a, b = rng.normal(size=(100, 300)), rng.normal(size=(100, 300))
    assert cka(a, b) > 0.5
    assert abs(cka(a, b, unbiased=True)) < 0.05


def test_minibatch_estimator_converges_to_the_full_data_value():
    rng = np.random.default_rng(3)
    n = 20_000
    a = rng.normal(size=(n, 8))
    b = np.tanh(a[:, :5] @ rng.normal(size=(5, 6))) + 0.8 * rng.normal(size=(n, 6))
    full = cka(a, b)
    errors = [abs(cka(a[:m], b[:m], batch_size=200) - full) for m in (800, 4000, 20_000)]
    assert errors[-1] < 0.01
    assert errors[-1] < errors[0]
    # the streaming accumulator over row blocks is exact (biased and unbiased)
    for unbiased in (False, True):
        acc = CKAAccumulator()
        for i in range(0, n, 4999):
            acc.update(torch.as_tensor(a[i:i + 4999]), torch.as_tensor(b[i:i + 4999]))
        assert acc.cka(unbiased) == pytest.approx(cka(a, b, unbiased=unbiased), rel=1e-9)


def test_unbiased_feature_and_kernel_routes_agree():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(30, 4)), rng.normal(size=(30, 3))
    a_t = torch.as_tensor(a - a.mean(0))
    b_t = torch.as_tensor(b - b.mean(0))
    acc = CKAAccumulator()
    acc.update(a_t, b_t)
    s = acc.sums
    from lamina.inspection._cka import _hsic_u_from_sums
    feature = _hsic_u_from_sums(30, s["ab"], s["sa"], s["sb"], s["na"], s["nb"], s["nanb"],
                                s["a_nb"], s["b_na"])
    kernel = _hsic_u_kernel(a_t @ a_t.T, b_t @ b_t.T)
    assert feature == pytest.approx(kernel, rel=1e-10)


def test_layer_cka_matrix_matches_pairwise_cka_on_the_sample():
    X = np.random.default_rng(0).normal(size=(600, 6))
    net = lamina.build((12, 12, 6), in_features=6, out=2, seed=0)
    ins = inspect(net, X, sample_size=500)
    mat = ins.cka()
    assert list(mat.index) == ["hidden.0", "hidden.1", "hidden.2"]
    np.testing.assert_allclose(np.diag(mat), 1.0)
    s0, s2 = ins.activations("hidden.0"), ins.activations("hidden.2")
    assert mat.loc["hidden.0", "hidden.2"] == pytest.approx(cka(s0, s2, unbiased=True), rel=1e-6)
    assert ins.cka(unbiased=False).loc["hidden.0", "hidden.2"] == pytest.approx(cka(s0, s2))


def test_cka_of_two_models_layers_streams_the_inputs():
    X = np.random.default_rng(1).normal(size=(900, 5)).astype(np.float32)
    a = lamina.build((8,), in_features=5, out=2, seed=0)
    b = lamina.build((8,), in_features=5, out=2, seed=1)
    with torch.no_grad():
        ha = a.hidden[0](torch.as_tensor(X)).numpy()
        hb = b.hidden[0](torch.as_tensor(X)).numpy()
    streamed = cka((a, "hidden.0"), (b, "hidden.0"), X=X)
    assert streamed == pytest.approx(cka(ha, hb), rel=1e-5)
    assert cka((a, "hidden.0"), (a, "hidden.0"), X=X) == pytest.approx(1.0)
    with pytest.raises(lamina.ParameterError, match=r"Invalid X=None"):
        cka((a, "hidden.0"), (b, "hidden.0"))


def test_cka_bad_input_messages():
    a = np.ones((10, 3))
    with pytest.raises(lamina.DataError, match=r"A has 10 rows and B has 9"):
        cka(a, a[:9])
    with pytest.raises(lamina.DataError, match=r"NaN or infinite"):
        cka(np.full((5, 2), np.nan), a[:5])
    with pytest.raises(lamina.ParameterError, match=r"Invalid batch_size=2"):
        cka(a, a, batch_size=2)
    assert np.isnan(cka(a, np.random.default_rng(0).normal(size=(10, 3))))   # constant A


def test_read_only_samples_raise_no_torch_warning():
    """A loaded Inspection's samples are read-only arrays; torch warned when aliasing them."""
    import warnings

    from lamina.inspection._cka import cka_matrix

    a = np.random.default_rng(0).normal(size=(50, 4))
    b = a @ np.random.default_rng(1).normal(size=(4, 3))
    a.flags.writeable = False
    b.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = cka_matrix([a, b])
    assert out.shape == (2, 2) and out[0, 0] == pytest.approx(1.0)
