"""The low-latency numpy path of predict equals the torch forward and never serves stale
weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina.estimators._inference import SMALL_BATCH, DenseInference, plain_rows
from lamina.spec import ACTIVATIONS

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_numpy_path_equals_torch_forward(activation: str, dtype: str) -> None:
    net = lamina.build(f"16:{activation}-8:{activation}", in_features=5, out=3, seed=0,
                       dtype=dtype).eval()
    X = np.random.RandomState(0).randn(7, 5).astype(dtype)
    fast = DenseInference().forward(net, X)
    with torch.no_grad():
        ref = net(torch.as_tensor(X)).numpy()
    assert fast is not None and fast.dtype == ref.dtype
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(fast, ref, rtol=tol, atol=tol)


def test_cache_follows_training_and_large_batches_use_torch() -> None:
    rng = np.random.RandomState(0)
    X, y = rng.rand(300, 4), rng.randint(0, 3, 300)
    clf = lamina.MLPClassifier((8,), max_iter=2, random_state=0).fit(X, y)
    before = clf.predict_proba(X[:3])
    clf.partial_fit(X, y)                       # weights change in place
    after = clf.predict_proba(X[:3])
    assert not np.allclose(before, after)
    # the small-batch (numpy) and large-batch (torch) paths agree row by row
    big = clf.predict_proba(X[: SMALL_BATCH + 10])
    np.testing.assert_allclose(big[:3], after, rtol=1e-5, atol=1e-6)


def test_plain_rows_only_accepts_what_validation_would_pass_unchanged() -> None:
    good = np.zeros((2, 3), dtype=np.float32)
    assert plain_rows(good, 3)
    assert not plain_rows(good, 4)
    assert not plain_rows(good.astype(int), 3)
    assert not plain_rows(np.array([[np.nan, 0, 0]]), 3)
    assert not plain_rows(good.tolist(), 3)
    assert not plain_rows(np.zeros((0, 3)), 3)
