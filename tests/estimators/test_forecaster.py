"""lamina.Forecaster: window -> horizon forecasts, scaling inside, and its bad-input errors.

sklearn's ``parametrize_with_checks`` does not apply: ``fit`` takes one series (no ``X``/``y``
table) and ``predict()`` continues it, so the checks' random tables have no meaning here. The
parameter contract (get_params / set_params / clone, nothing validated in ``__init__``) is
tested directly below.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone

import lamina
from lamina.estimators import Forecaster, mase, seasonal_naive


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # these networks are tiny: one thread is several times faster on a shared 2-core machine
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def seasonal_series(n: int = 240, seed: int = 0) -> np.ndarray:
    """Period-12 seasonality on a linear trend, with a little noise."""
    t = np.arange(n)
    noise = np.random.default_rng(seed).normal(0, 0.1, n)
    return 10 + 0.05 * t + 2 * np.sin(2 * np.pi * t / 12) + noise


def test_mase_and_seasonal_naive_by_hand():
    train = [1.0, 2.0, 4.0, 7.0]
    # seasonal naive, season 2: repeats the last season [4, 7]
    assert seasonal_naive(train, 3, 2).tolist() == [4.0, 7.0, 4.0]
    # season-1 scale: mean |diff| = (1 + 2 + 3) / 3 = 2; forecast MAE = (1 + 3) / 2 = 2
    assert mase([8.0, 10.0], [9.0, 7.0], train, season=1) == pytest.approx(1.0)
    # season 2: scale = mean(|4-1|, |7-2|) = 4
    assert mase([8.0, 10.0], [9.0, 7.0], train, season=2) == pytest.approx(0.5)


def test_straight_line_is_continued_beyond_the_training_range():
    # After window scaling every window of a line is the same pattern, so the forecast must
    # continue the line even though all future values exceed anything seen in training.
    line = 5.0 + 2.0 * np.arange(100)
    fc = Forecaster("16", n_lags=8, horizon=5, epochs=200, lr=1e-2, random_state=0).fit(line)
    expected = 5.0 + 2.0 * np.arange(100, 105)
    np.testing.assert_allclose(fc.predict(), expected, atol=0.1)


@pytest.mark.parametrize("strategy", ["direct", "recursive"])
def test_beats_seasonal_naive_on_trend_plus_season(strategy):
    s = seasonal_series()
    train, test = s[:-12], s[-12:]
    fc = Forecaster(n_lags=24, horizon=12, strategy=strategy, epochs=150, random_state=0)
    pred = fc.fit(train).predict()
    assert pred.shape == (12,)
    naive = mase(test, seasonal_naive(train, 12, 12), train, 12)
    ours = mase(test, pred, train, 12)
    assert ours < 0.6 * naive, (ours, naive)
    # hidden layers are named like dense ones, and the head has one output per step
    assert [n for n, _ in fc.module_.named_children()] == ["hidden", "head"]
    assert fc.module_.head.out_features == (12 if strategy == "direct" else 1)


def test_histories_rows_match_single_predictions_and_seeds_reproduce():
    s = seasonal_series(120)
    fc = Forecaster(n_lags=12, horizon=3, epochs=20, random_state=1).fit(s)
    rows = np.stack([s[:60], s[20:80], s[60:120]])
    batch = fc.predict(rows)
    assert batch.shape == (3, 3)
    for row, out in zip(rows, batch):
        np.testing.assert_allclose(fc.predict(row), out, rtol=1e-6)
    np.testing.assert_allclose(fc.predict(), fc.predict(s), rtol=1e-6)
    again = Forecaster(n_lags=12, horizon=3, epochs=20, random_state=1).fit(s)
    np.testing.assert_array_equal(again.predict(), fc.predict())


def test_validation_holds_out_the_last_windows():
    s = seasonal_series(100)
    fc = Forecaster(n_lags=10, horizon=2, epochs=3, validation_fraction=0.2,
                    random_state=0).fit(s)
    n_windows = 100 - 10 - 2 + 1
    assert fc.n_windows_ == n_windows - int(np.ceil(0.2 * n_windows))
    assert len(fc.validation_scores_) == fc.n_iter_
    np.testing.assert_array_equal(fc.last_window_, s[-10:])


@pytest.mark.parametrize("scaling", ["standard", "none"])
def test_other_scalings_fit_and_forecast(scaling):
    s = seasonal_series(120)
    fc = Forecaster(n_lags=12, horizon=4, scaling=scaling, epochs=30, random_state=0).fit(s)
    pred = fc.predict()
    assert np.isfinite(pred).all() and pred.shape == (4,)
    if scaling == "standard":
        assert fc.center_ == pytest.approx(s.mean()) and fc.scale_ == pytest.approx(s.std())


def test_save_and_load_round_trip(tmp_path):
    s = seasonal_series(100)
    fc = Forecaster(n_lags=12, horizon=3, strategy="recursive", epochs=5,
                    random_state=0).fit(s)
    fc.save(tmp_path / "run")
    back = lamina.load(tmp_path / "run")
    assert isinstance(back, Forecaster) and back.strategy == "recursive"
    np.testing.assert_allclose(back.predict(), fc.predict(), rtol=1e-6)
    np.testing.assert_allclose(back.predict(s[:50]), fc.predict(s[:50]), rtol=1e-6)
    assert len(back.history_) == fc.n_iter_


def test_sklearn_parameter_contract():
    fc = Forecaster(n_lags=-3, strategy="sideways")   # __init__ stores, never validates
    assert fc.get_params()["n_lags"] == -3
    assert clone(fc).get_params() == fc.get_params()
    fc.set_params(n_lags=4)
    assert fc.n_lags == 4
    with pytest.raises(lamina.NotFittedError, match="not fitted yet"):
        Forecaster().predict()


# ------------------------------------------------------------------ bad input
def test_horizon_longer_than_the_series_allows():
    s = seasonal_series(144)
    with pytest.raises(lamina.ParameterError) as err:
        Forecaster(n_lags=24, horizon=200).fit(s)
    msg = str(err.value)
    assert "Invalid horizon=200" in msg and "longer than this series allows" in msg
    assert "a series of 144 points" in msg and "n_lags + horizon <= 144" in msg
    with pytest.raises(lamina.ParameterError, match=r"Invalid horizon=150: longer than this "
                                                    r"series allows.*horizon <= 144"):
        Forecaster(n_lags=24, horizon=150, strategy="recursive").fit(s)
    with pytest.raises(lamina.ParameterError, match=r"Invalid n_lags=144"):
        Forecaster(n_lags=144, horizon=2, strategy="recursive").fit(s)
    with pytest.raises(lamina.ParameterError, match=r"Invalid n_lags=200: longer than this "
                                                    r"series allows"):     # not the horizon's
        Forecaster(n_lags=200, horizon=1).fit(s)


def test_bad_parameters_name_the_value():
    s = seasonal_series(60)
    with pytest.raises(lamina.ParameterError, match=r"Invalid strategy='recursve'.*Did you mean "
                                                    r"'recursive'"):
        Forecaster(strategy="recursve").fit(s)
    with pytest.raises(lamina.ParameterError, match=r"Invalid n_lags=0: must be an integer >= 1"):
        Forecaster(n_lags=0).fit(s)
    with pytest.raises(lamina.ParameterError, match=r"Invalid scaling='minmax'"):
        Forecaster(scaling="minmax").fit(s)


def test_bad_series():
    s = seasonal_series(60)
    with_nan = s.copy()
    with_nan[17] = np.nan
    with pytest.raises(lamina.DataError, match=r"NaN or infinite values \(first at position 17\)"
                                               r".*interpolate"):
        Forecaster(n_lags=4).fit(with_nan)
    with pytest.raises(lamina.DataError, match=r"one univariate series.*got shape \(30, 2\)"):
        Forecaster(n_lags=4).fit(s.reshape(30, 2))
    with pytest.raises(lamina.DataError, match=r"takes the series itself as X and no y"):
        Forecaster(n_lags=4).fit(s, s)
    with pytest.raises(lamina.DataError, match="holds 1 value"):
        Forecaster(n_lags=1).fit([3.0])


def test_short_or_broken_history_at_predict():
    fc = Forecaster(n_lags=12, horizon=2, epochs=2, random_state=0).fit(seasonal_series(80))
    with pytest.raises(lamina.DataError, match=r"holds 5 values, but the model reads the last "
                                               r"n_lags=12. Pass at least 12"):
        fc.predict(np.ones(5))
    bad = np.ones(20)
    bad[-1] = np.inf
    with pytest.raises(lamina.DataError, match="NaN or infinite"):
        fc.predict(bad)


def test_reading_another_series_leaves_the_fitted_scaling_alone():
    s = seasonal_series(120)
    fc = Forecaster(n_lags=12, horizon=3, epochs=5, random_state=0).fit(s)
    before = fc.predict()
    center, scale = np.copy(fc.center_), np.copy(fc.scale_)
    batches = list(fc.network_batches(s[:50] * 10))          # what inspection reads
    assert batches and batches[0][0][0].shape[1] == 12
    np.testing.assert_array_equal(fc.center_, center)
    np.testing.assert_array_equal(fc.scale_, scale)
    np.testing.assert_array_equal(fc.predict(), before)


def test_score_is_r2_of_every_window_of_a_series():
    s = seasonal_series(160)
    fc = Forecaster(n_lags=12, horizon=3, epochs=40, random_state=0).fit(s[:120])
    test = s[100:]
    # by hand: every 12-value window of the test series with its 3 next values
    windows = np.stack([test[i:i + 12] for i in range(len(test) - 14)])
    truth = np.stack([test[i + 12:i + 15] for i in range(len(test) - 14)])
    pred = fc.predict(windows)
    ss_res = ((truth - pred) ** 2).sum(0)
    ss_tot = ((truth - truth.mean(0)) ** 2).sum(0)
    expected = float(np.mean(1 - ss_res / ss_tot))
    assert fc.score(test) == pytest.approx(expected, rel=1e-9)
    assert fc.score(windows, truth) == pytest.approx(expected, rel=1e-9)
    assert fc.score(test) > 0.5                       # a real fit, not chance
    with pytest.raises(lamina.DataError, match=r"X holds 10 values; scoring needs at least "
                       r"n_lags \+ horizon = 15"):
        fc.score(test[:10])
    with pytest.raises(lamina.DataError, match=r"pass horizon=3 true values per history"):
        fc.score(windows, truth[:, :2])


def test_score_takes_a_1d_y_for_horizon_one():
    s = seasonal_series(160)
    fc = Forecaster(n_lags=12, horizon=1, epochs=10, random_state=0).fit(s[:120])
    H = np.stack([s[i:i + 12] for i in range(100, 140)])
    Y = s[112:152]
    assert fc.score(H, Y) == pytest.approx(fc.score(H, Y[:, None]))
