"""MLPClassifier / MLPRegressor ``scale="standard"``: trained on standardised columns, folded into
the first layer so that the fitted network reads raw features (``_scaling``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import lamina
from lamina import ParameterError, RunDirError
from lamina.estimators._persist import _content_digest

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def cancer() -> tuple[np.ndarray, ...]:
    # 30 columns on very different scales (areas ~ 1000, smoothness ~ 0.1)
    X, y = load_breast_cancer(return_X_y=True)
    return tuple(train_test_split(X, y, random_state=0))


def test_equals_a_standard_scaler_pipeline_and_reads_raw_features(cancer) -> None:
    Xtr, Xte, ytr, yte = cancer
    kw = {"hidden_layer_sizes": (16,), "max_iter": 60, "random_state": 0, "dtype": "float64"}
    ours = lamina.MLPClassifier(**kw, scale="standard").fit(Xtr, ytr)
    pipe = make_pipeline(StandardScaler(), lamina.MLPClassifier(**kw)).fit(Xtr, ytr)
    np.testing.assert_allclose(ours.predict_proba(Xte), pipe.predict_proba(Xte), atol=1e-10)
    np.testing.assert_allclose(ours.scale_mean_, pipe[0].mean_)
    np.testing.assert_allclose(ours.scale_std_, pipe[0].scale_)
    # the folded network itself takes raw rows: module_, and sklearn's coefs_/intercepts_
    with torch.no_grad():
        logits = ours.module_(torch.as_tensor(Xte)).numpy()
    p1 = 1 / (1 + np.exp(-logits[:, 0]))                  # binary: one logistic output
    np.testing.assert_allclose(p1, ours.predict_proba(Xte)[:, 1], atol=1e-12)
    h = np.maximum(Xte @ ours.coefs_[0] + ours.intercepts_[0], 0)
    np.testing.assert_allclose(h @ ours.coefs_[1] + ours.intercepts_[1], logits, atol=1e-9)
    # and it helps on these columns (the point of the option)
    raw = lamina.MLPClassifier(**kw).fit(Xtr, ytr)
    assert ours.score(Xte, yte) >= raw.score(Xte, yte) + 0.02


def test_float32_regressor_and_constant_column() -> None:
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(1000, 300, 400), rng.normal(0, 0.01, 400), np.full(400, 7.0)])
    y = X[:, 0] / 300 + 100 * X[:, 1]
    reg = lamina.MLPRegressor(hidden_layer_sizes=(16,), max_iter=300, random_state=0,
                              scale="standard").fit(X, y)
    assert reg.scale_std_[2] == 1.0 and reg.scale_mean_[2] == 7.0   # constant: centred only
    assert reg.score(X, y) > 0.9
    assert lamina.MLPRegressor(hidden_layer_sizes=(16,), max_iter=300, random_state=0
                               ).fit(X, y).score(X, y) < 0.9         # unscaled: it cannot


def test_column_statistics_of_huge_values_do_not_overflow() -> None:
    """Squares of values beyond 1e154 overflow float64: the statistics divide each column by a
    power of two first, which is exact (bit-equal to the plain formula where it does not
    overflow) and keeps a column of ~1e200 (float64 models hold it) at its true spread."""
    from lamina.estimators._scaling import standard_stats

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    w = rng.integers(1, 4, size=300).astype(float)
    for weights in (None, w):
        mean, std = standard_stats(X, weights)
        want_mean = np.average(X, axis=0, weights=weights)
        want_std = np.sqrt(np.average((X - want_mean) ** 2, axis=0, weights=weights))
        np.testing.assert_array_equal(mean, want_mean)
        np.testing.assert_array_equal(std, want_std)
    big = X * np.array([1.0, 1e200, 1e-3])
    mean, std = standard_stats(big)
    np.testing.assert_allclose(mean / [1.0, 1e200, 1e-3], X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(std / [1.0, 1e200, 1e-3], X.std(axis=0), rtol=1e-12)
    edge = np.array([[1.7e308, 0.0], [-1.7e308, 0.0], [1.0e308, 5e-324]])
    mean, std = standard_stats(edge)                   # float64's largest and smallest
    assert np.isfinite(mean).all() and np.isfinite(std).all() and std[0] > 1e308
    y = (X[:, 1] > 0).astype(int)                      # only the huge column tells the classes
    clf = lamina.MLPClassifier((8,), learning_rate_init=0.05, max_iter=300, random_state=0,
                               scale="standard", dtype="float64").fit(big, y)
    assert np.isfinite(clf.scale_std_).all() and clf.score(big, y) > 0.95   # was 0.53: std inf


def test_partial_fit_and_warm_start_continue_in_the_standardised_space(cancer) -> None:
    Xtr, Xte, ytr, _ = cancer
    kw = {"hidden_layer_sizes": (16,), "random_state": 0, "dtype": "float64"}
    ours = lamina.MLPClassifier(**kw, scale="standard")
    ref = lamina.MLPClassifier(**kw)
    mean, std = Xtr[:200].mean(0), Xtr[:200].std(0)   # the first call's statistics are kept
    for part in (slice(0, 200), slice(200, None), slice(0, None)):
        ours.partial_fit(Xtr[part], ytr[part], classes=[0, 1])
        ref.partial_fit((Xtr[part] - mean) / std, ytr[part], classes=[0, 1])
    np.testing.assert_allclose(ours.scale_mean_, mean)
    np.testing.assert_allclose(ours.predict_proba(Xte), ref.predict_proba((Xte - mean) / std),
                               atol=1e-9)
    warm = lamina.MLPClassifier(**kw, max_iter=5, warm_start=True, scale="standard")
    cold = lamina.MLPClassifier(**kw, max_iter=5, warm_start=True)
    Z = (Xtr - Xtr.mean(0)) / Xtr.std(0)
    for _ in range(3):
        warm.fit(Xtr, ytr)
        cold.fit(Z, ytr)
    np.testing.assert_allclose(warm.predict_proba(Xte),
                               cold.predict_proba((Xte - Xtr.mean(0)) / Xtr.std(0)), atol=1e-9)
    with pytest.raises(ParameterError, match=r"Invalid scale=None: the fitted model's scale "
                       r"\('standard'\) when warm_start or partial_fit continue"):
        warm.set_params(scale=None).fit(Xtr, ytr)


def test_save_load_and_a_tampered_scale(cancer, tmp_path) -> None:
    Xtr, Xte, ytr, _ = cancer
    est = lamina.MLPClassifier((8,), max_iter=20, random_state=0, scale="standard").fit(Xtr, ytr)
    est.save(tmp_path / "run")
    again = lamina.load(tmp_path / "run")
    np.testing.assert_array_equal(again.predict_proba(Xte), est.predict_proba(Xte))
    np.testing.assert_array_equal(again.scale_std_, est.scale_std_)
    assert again.get_params()["scale"] == "standard"
    import json
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    cfg["fitted"]["scale_std_"] = cfg["fitted"]["scale_std_"][:3]
    cfg["config_sha256"] = _content_digest(cfg)          # forged, to reach the shape check
    (tmp_path / "run" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(RunDirError, match="scale_mean_/scale_std_ do not fit the 30 input"):
        lamina.load(tmp_path / "run")


def test_bad_values_are_named(cancer) -> None:
    Xtr, _, ytr, _ = cancer
    with pytest.raises(ParameterError, match=r"Invalid scale='minmax': 'standard', or None / 'none' for the raw"):
        lamina.MLPClassifier(scale="minmax").fit(Xtr, ytr)
    with pytest.raises(ParameterError, match=r"Invalid scale='standard': only when the first "
                       r"layer has a bias"):
        lamina.MLPClassifier("8:bias=false", scale="standard").fit(Xtr, ytr)
    assert not hasattr(lamina.MLPClassifier(), "scale_mean_")
    assert ConvergenceWarning  # imported for the module mark
