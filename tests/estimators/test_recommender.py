"""lamina.Recommender: ratings from (user, item) ids, recommendations, the cold-start fallback,
save/load, bad input, and sklearn's estimator checks (with the expected failures listed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks

import lamina
from lamina.estimators import Recommender


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # tiny networks: one thread is several times faster on a shared 2-core machine
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def low_rank_ratings(n_users: int = 60, n_items: int = 40, seed: int = 0):
    """Every (user, item) pair rated ``3 + 1.5 * a_u * b_i + 0.5 * c_i`` plus noise."""
    rng = np.random.default_rng(seed)
    a, b, c = rng.normal(size=n_users), rng.normal(size=n_items), rng.normal(size=n_items)
    X = np.array([[u, i] for u in range(n_users) for i in range(n_items)])
    y = 3 + 1.5 * a[X[:, 0]] * b[X[:, 1]] + 0.5 * c[X[:, 1]] + rng.normal(0, 0.2, len(X))
    return X, y


@pytest.fixture(scope="module")
def fitted():
    X, y = low_rank_ratings()
    order = np.random.default_rng(1).permutation(len(y))
    tr, te = order[:1800], order[1800:]
    rec = Recommender("embed(8)-dense(16)", reg=0.01, epochs=30, lr=2e-2, clip=False,
                      random_state=0).fit(X[tr], y[tr])
    return rec, X, y, tr, te


def test_learns_the_interaction_beyond_biases(fitted):
    rec, X, y, tr, te = fitted
    rmse = np.sqrt(np.mean((rec.predict(X[te]) - y[te]) ** 2))
    mean_rmse = np.sqrt(np.mean((y[tr].mean() - y[te]) ** 2))
    # an item-mean predictor (best possible without the user x item term)
    item_means = pd.Series(y[tr]).groupby(X[tr, 1]).mean()
    item_rmse = np.sqrt(np.mean((item_means.reindex(X[te, 1]).to_numpy() - y[te]) ** 2))
    # written: 0.24 (the noise alone gives 0.2) vs 1.45 for item means
    assert rmse < 0.35 and rmse < 0.3 * item_rmse < mean_rmse, (rmse, item_rmse, mean_rmse)
    assert rec.module_.hidden_names == ["hidden.0", "hidden.1"]
    assert rec.global_mean_ == pytest.approx(y[tr].mean())


def test_predict_forms_agree(fitted):
    rec, X, *_ = fitted
    pairs = X[:5]
    np.testing.assert_allclose(rec.predict(pairs[:, 0], pairs[:, 1]), rec.predict(pairs))
    frame = pd.DataFrame({"user": pairs[:, 0], "item": pairs[:, 1]})
    np.testing.assert_allclose(rec.predict(frame), rec.predict(pairs))
    assert rec.predict(int(pairs[0, 0]), int(pairs[0, 1])).shape == (1,)


def test_cold_start_fallback_is_mean_plus_known_bias(fitted):
    rec, X, *_ = fitted
    net = rec.module_
    ub = net.user_bias.weight.detach().double().numpy()[:, 0]
    ib = net.item_bias.weight.detach().double().numpy()[:, 0]
    mu = rec.global_mean_
    user, item = 7, 11      # raw ids == indices - 1 here (ids 0..n-1, sorted)
    got = rec.predict([9999, user, 9999], [item, 8888, 8888])
    np.testing.assert_allclose(got, [mu + ib[item + 1], mu + ub[user + 1], mu], rtol=1e-6)
    # a known pair does use the interaction terms, so it differs from the fallback
    assert abs(rec.predict(user, item)[0] - (mu + ub[user + 1] + ib[item + 1])) > 1e-4
    with pytest.raises(lamina.DataError, match=r"2 pair\(s\) have a user unseen in fit \(first: "
                                               r"user 9999 at row 0\) and cold_start='error'"):
        rec.set_params(cold_start="error")
        try:
            rec.predict([9999, 9999], [1, 2])
        finally:
            rec.set_params(cold_start="bias")


def test_ids_of_another_type_warn_instead_of_silently_falling_back(fitted):
    rec, *_ = fitted
    with pytest.warns(UserWarning, match=r"the user ids given are strings \(e.g. '7'\) but the "
                                         r"model was fitted on numbers \(e.g. 0\): none is known"):
        got = rec.predict(["7"], [11])
    assert got[0] != pytest.approx(rec.predict(7, 11)[0])      # the fallback, as warned
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")                          # plain unknown ids: no warning
        rec.predict([9999], [11])


def test_recommend_excludes_seen_and_ranks_by_prediction(fitted):
    rec, X, y, tr, _ = fitted
    user = 3
    seen = set(X[tr][X[tr, 0] == user, 1].tolist())
    items, scores = rec.recommend(user, k=5, return_scores=True)
    assert len(items) == 5 and not seen & set(items.tolist())
    assert np.all(np.diff(scores) <= 0)
    np.testing.assert_allclose(scores, rec.predict(np.full(5, user), items), rtol=1e-6)
    unseen = sorted(set(range(40)) - seen)
    best = unseen[int(np.argmax(rec.predict(np.full(len(unseen), user), unseen)))]
    assert items[0] == best
    # with seen items allowed, all 40 items can be ranked; past that, fewer come back
    assert len(rec.recommend(user, k=100, exclude_seen=False)) == 40
    assert len(rec.recommend(user, k=100)) == 40 - len(seen)
    # an unknown user gets the items ranked by their bias
    ib = rec.module_.item_bias.weight.detach().numpy()[1:, 0]
    np.testing.assert_array_equal(rec.recommend("nobody", k=3), np.argsort(-ib)[:3])


def test_string_ids_dataframe_and_save_load(tmp_path):
    frame = pd.DataFrame({"who": ["ann", "bob", "ann", "cy", "bob", "cy"] * 5,
                          "what": ["x", "y", "y", "z", "z", "x"] * 5,
                          "stars": [5, 3, 4, 2, 1, 4] * 5})
    rec = Recommender("embed(4)", user_col="who", item_col="what", rating_col="stars",
                      epochs=5, early_stopping=False, random_state=0).fit(frame)
    assert rec.user_ids_.tolist() == ["ann", "bob", "cy"]
    assert rec.rating_range_ == (1.0, 5.0)
    assert set(rec.recommend("ann", k=3, exclude_seen=False)) == {"x", "y", "z"}
    assert rec.recommend("ann", k=3).tolist() == ["z"]      # ann rated x and y
    rec.save(tmp_path / "rec")
    back = lamina.load(tmp_path / "rec")
    pairs = np.array([["ann", "z"], ["dan", "x"], ["cy", "q"]], dtype=object)
    np.testing.assert_allclose(back.predict(pairs), rec.predict(pairs), rtol=1e-6)
    assert back.recommend("ann", k=3).tolist() == ["z"]
    assert isinstance(back.module_, type(rec.module_))


def test_predictions_are_clipped_to_the_rating_range():
    X = np.array([[u, i] for u in range(10) for i in range(10)])
    y = np.where(X[:, 0] < 5, 5.0, 1.0)
    rec = Recommender("embed(4)", epochs=30, lr=0.05, random_state=0).fit(X, y)
    pred = rec.predict(X)
    assert pred.min() >= 1.0 and pred.max() <= 5.0
    raw = rec.set_params(clip=False).predict(X)
    assert (raw > 5.0).any() or (raw < 1.0).any() or np.allclose(raw, pred)


# ------------------------------------------------------------------ bad input
def test_bad_input_messages():
    X, y = low_rank_ratings(5, 4)
    with pytest.raises(lamina.DataError, match=r"\(n, 2\) array or a DataFrame with columns "
                                               r"'user' and 'item'; got shape \(20, 3\)"):
        Recommender().fit(np.column_stack([X, X[:, :1]]), y)
    with pytest.raises(lamina.DataError, match=r"no column 'user' \(columns: \['u', 'i'\]\)"
                                               r".*user_col="):
        Recommender().fit(pd.DataFrame({"u": X[:, 0], "i": X[:, 1]}), y)
    bad = X.astype(float)
    bad[3, 1] = np.nan
    with pytest.raises(lamina.DataError, match=r"item ids hold a missing or infinite value "
                                               r"\(row 3"):
        Recommender().fit(bad, y)
    with pytest.raises(lamina.DataError, match="inconsistent numbers of samples"):
        Recommender().fit(X, y[:-1])
    with pytest.raises(lamina.DataError, match="requires y to be passed"):
        Recommender().fit(X)
    with pytest.raises(lamina.ParameterError, match=r"Invalid spec='64:relu-32:relu': a Recommender's "
                                                    r"hidden layers must start with an embed"):
        Recommender("64-32").fit(X, y)
    with pytest.raises(lamina.ParameterError, match=r"Invalid cold_start='zero'"):
        Recommender(cold_start="zero").fit(X, y)
    with pytest.raises(lamina.ParameterError, match=r"Invalid k=0: must be an integer >= 1"):
        Recommender("embed(2)", epochs=1, early_stopping=False).fit(X, y).recommend(0, k=0)


def test_embedding_table_that_would_not_fit_in_memory_is_refused_before_allocating():
    X, y = low_rank_ratings(5, 4)
    with pytest.raises(lamina.ParameterError, match=r"Invalid vocab=\(6, 5\): this network needs "
                                                    r"about .* but only .* is available"):
        Recommender("embed(50000000000)").fit(X, y)


def test_sklearn_parameter_contract():
    rec = Recommender(reg=-1, cold_start="nope")     # stored as given, validated in fit
    assert rec.get_params()["reg"] == -1
    with pytest.raises(lamina.NotFittedError):
        rec.predict([[1, 2]])


# ------------------------------------------------------------------ sklearn's checks
# Checks that cannot pass, and why. Nearly all feed X with 3-10 float feature columns; a
# Recommender's X is exactly two id columns (user, item), refused otherwise with a DataError.
_TWO_ID_COLUMNS = ("sklearn's generated X has 3-10 feature columns; a Recommender reads exactly two "
                   "id columns (user, item) and refuses other shapes with a DataError")
EXPECTED_FAILURES = {name: _TWO_ID_COLUMNS for name in [
    "check_dict_unchanged", "check_dont_overwrite_parameters",
    "check_dtype_object", "check_estimators_dtypes",
    "check_estimators_nan_inf", "check_estimators_pickle",
    "check_f_contiguous_array_estimator", "check_fit2d_predict1d",
    "check_fit_score_takes_y", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_n_features_in_after_fitting",
    "check_pipeline_consistency", "check_positive_only_tag_during_fit",
    "check_regressor_data_not_an_array", "check_regressors_int",
    "check_regressors_no_decision_function", "check_regressors_train",
    "check_supervised_y_2d",
]}
EXPECTED_FAILURES.update({
    "check_estimators_empty_data_messages": "an (n, 0) X gets the two-id-column message, not "
                                            "sklearn's '0 feature(s)' wording",
    "check_fit2d_1sample": "refused by the two-id-column check before the sample count",
    "check_fit2d_1feature": "one column is not (user, item): refused with the two-id-column "
                            "message, not sklearn's '1 feature(s)' wording",
})


def _expected_failed_checks(estimator):
    return EXPECTED_FAILURES


@parametrize_with_checks([Recommender("embed(2)", epochs=2, random_state=0)],
                         expected_failed_checks=_expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# ------------------------------------------------------------------ the model's pieces
def test_reg_hook_gradient_equals_the_explicit_l2_penalty_float64():
    from hypothesis import given
    from hypothesis import strategies as st

    from lamina.estimators._recommender import RecommenderNet
    from lamina.spec import parse_spec, with_vocab

    spec = with_vocab(parse_spec("embed(3)-dense(4):tanh"), (5, 6))

    @given(st.lists(st.tuples(st.integers(1, 4), st.integers(1, 5)), min_size=1, max_size=8),
           st.floats(0.01, 1.0))
    def check(pairs, reg):
        ids = torch.tensor(pairs)
        y = torch.linspace(1, 5, len(pairs), dtype=torch.float64)[:, None]
        grads = []
        for use_hook in (True, False):
            torch.manual_seed(0)
            net = RecommenderNet(spec, 4, 5, dot=True, global_mean=3.0,
                                 reg=reg if use_hook else 0.0).double().train()
            with torch.no_grad():      # non-zero biases so their penalty matters too
                net.user_bias.weight[1:] = torch.linspace(-1, 1, 4, dtype=torch.float64)[:, None]
                net.item_bias.weight[1:] = torch.linspace(1, -1, 5, dtype=torch.float64)[:, None]
            loss = ((net(ids) - y) ** 2).mean()
            if not use_hook:           # the penalty the hook stands for, written out
                vectors = net.hidden[0](ids)
                b_u, b_i = net.user_bias(ids[:, 0]), net.item_bias(ids[:, 1])
                loss = loss + reg / (2 * len(pairs)) * (
                    (vectors ** 2).sum() + (b_u ** 2).sum() + (b_i ** 2).sum())
            grads.append(torch.autograd.grad(loss, list(net.parameters())))
        for with_hook, explicit in zip(*grads):
            torch.testing.assert_close(with_hook, explicit, rtol=1e-10, atol=1e-12)

    check()


def test_id_map_and_seen_items_invariants():
    from hypothesis import given
    from hypothesis import strategies as st

    from lamina.estimators._rec_ids import IdMap, SeenItems

    @given(st.lists(st.integers(-50, 50), min_size=1, max_size=40),
           st.lists(st.integers(-80, 80), max_size=20))
    def check(known, queries):
        m = IdMap.fit(np.asarray(known), "user")
        assert m.ids.tolist() == sorted(set(known))
        idx = m.index(np.asarray(queries, dtype=np.int64))
        for q, i in zip(queries, idx):
            assert (i == 0) == (q not in known)
            assert i == 0 or m.ids[i - 1] == q
        back = IdMap.from_json(m.to_json(), "user")
        np.testing.assert_array_equal(back.index(np.asarray(known)), m.index(np.asarray(known)))
        users = m.index(np.asarray(known)) - 1
        items = np.arange(len(known)) % 7
        seen = SeenItems.from_pairs(users, items, len(m))
        for u in range(len(m)):
            assert sorted(seen.items_of(u).tolist()) == sorted(items[users == u].tolist())

    check()
