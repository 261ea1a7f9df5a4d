"""MLP estimators in float16/bfloat16: SGD learns as in float32 (torch's fused CPU SGD kernel
left half weights unchanged), an epsilon the dtype rounds to 0 is refused before anything
changes, and bfloat16 weights read out as numpy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import lamina
from lamina import ParameterError

HALF = ["float16", "bfloat16"]


@pytest.fixture(scope="module")
def digits_split() -> tuple[np.ndarray, ...]:
    X, y = load_digits(return_X_y=True)
    return tuple(train_test_split(X / 16.0, y, random_state=0))


@pytest.fixture(scope="module")
def float32_sgd_score(digits_split) -> float:  # type: ignore[no-untyped-def]
    Xtr, Xte, ytr, yte = digits_split
    clf = lamina.MLPClassifier((32,), solver="sgd", learning_rate_init=0.1, max_iter=15,
                               random_state=0).fit(Xtr, ytr)
    return float(clf.score(Xte, yte))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("weighted", [False, True], ids=["explicit", "autograd"])
def test_half_precision_sgd_learns_digits_as_float32_does(
        digits_split, float32_sgd_score: float, dtype: str, weighted: bool) -> None:  # type: ignore[no-untyped-def]
    Xtr, Xte, ytr, yte = digits_split
    clf = lamina.MLPClassifier((32,), solver="sgd", learning_rate_init=0.1, max_iter=15,
                               random_state=0, dtype=dtype)
    # sample weights take the autograd path (torch.optim.SGD), none the explicit engine
    clf.fit(Xtr, ytr, sample_weight=np.ones(len(ytr)) if weighted else None)
    assert clf.engine_ == ("autograd" if weighted else "explicit")
    assert float32_sgd_score > 0.9
    # was ~0.14 (chance): the weights of every full 16-element chunk never moved
    assert clf.score(Xte, yte) >= float32_sgd_score - 0.03
    assert next(clf.module_.parameters()).dtype == getattr(torch, dtype)


@pytest.mark.parametrize("solver", ["adam", "adamw", "rmsprop", "adagrad"])
def test_an_epsilon_float16_rounds_to_zero_is_refused_up_front(digits_split, solver: str) -> None:  # type: ignore[no-untyped-def]
    Xtr, _, ytr, _ = digits_split
    clf = lamina.MLPClassifier((8,), solver=solver, dtype="float16", max_iter=2)
    with pytest.raises(ParameterError, match=rf"Invalid epsilon=1e-08: solver='{solver}' with "
                       r"dtype='float16' needs an epsilon that float16 can hold, and 1e-08 "
                       r"rounds to 0 there .*Pass epsilon=1e-4 \(or larger\) with "
                       r"dtype='float16', or train in dtype='float32'\."):
        clf.fit(Xtr, ytr)
    assert not hasattr(clf, "module_") and not hasattr(clf, "classes_")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_epsilon_check_reads_the_dtype_of_the_model_it_continues(digits_split) -> None:  # type: ignore[no-untyped-def]
    Xtr, Xte, ytr, _ = digits_split
    clf = lamina.MLPClassifier((8,), dtype="float16", epsilon=1e-4, max_iter=3, random_state=0,
                               warm_start=True).fit(Xtr, ytr)
    before = clf.predict_proba(Xte)
    weights = [w.copy() for w in clf.coefs_]
    # warm_start continues the float16 model, whatever dtype says now
    clf.set_params(epsilon=1e-8, dtype="float32")
    with pytest.raises(ParameterError, match=r"Invalid epsilon=1e-08: solver='adam' with "
                       r"dtype='float16'"):
        clf.fit(Xtr, ytr)
    np.testing.assert_array_equal(clf.predict_proba(Xte), before)
    assert all(np.array_equal(a, b) for a, b in zip(clf.coefs_, weights))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_epsilons_half_precision_holds_train(digits_split) -> None:  # type: ignore[no-untyped-def]
    Xtr, Xte, ytr, yte = digits_split
    kw = {"learning_rate_init": 0.01, "max_iter": 15, "random_state": 0}
    base = lamina.MLPClassifier((32,), **kw).fit(Xtr, ytr).score(Xte, yte)
    # bfloat16 has float32's exponent range: the default 1e-8 is fine there
    bf16 = lamina.MLPClassifier((32,), dtype="bfloat16", **kw).fit(Xtr, ytr)
    fp16 = lamina.MLPClassifier((32,), dtype="float16", epsilon=1e-4, **kw).fit(Xtr, ytr)
    assert base > 0.9
    assert bf16.score(Xte, yte) >= base - 0.03 and fp16.score(Xte, yte) >= base - 0.03
    # sgd has no epsilon: the default is not refused
    lamina.MLPClassifier((8,), solver="sgd", dtype="float16", max_iter=1).fit(Xtr, ytr)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_bfloat16_weights_read_out_as_float32_numpy(digits_split) -> None:  # type: ignore[no-untyped-def]
    Xtr, _, ytr, _ = digits_split
    clf = lamina.MLPClassifier((8,), dtype="bfloat16", max_iter=2, random_state=0).fit(Xtr, ytr)
    coefs, intercepts = clf.coefs_, clf.intercepts_            # was: TypeError (BFloat16)
    assert [c.shape for c in coefs] == [(64, 8), (8, 10)]
    assert [b.shape for b in intercepts] == [(8,), (10,)]
    assert all(a.dtype == np.float32 for a in coefs + intercepts)
    linear = clf.module_.hidden[0].linear
    np.testing.assert_array_equal(coefs[0], linear.weight.detach().float().numpy().T)
    np.testing.assert_array_equal(intercepts[0], linear.bias.detach().float().numpy())
    coefs[0][:] = 0                                            # copies, not views
    assert clf.coefs_[0].any()
