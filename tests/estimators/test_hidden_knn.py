"""hidden_features of the deep estimators, and HiddenKNNDetector (k-NN novelty scores in a hidden
layer): hand-computed activations, sklearn's own neighbour search, a real held-out-class floor."""

from __future__ import annotations

import copy
import json
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

import lamina
from lamina import DataError, NotFittedError, ParameterError
from lamina.estimators import HiddenKNNDetector, ImageClassifier, SequenceClassifier

pytestmark = pytest.mark.usefixtures("one_thread")     # see conftest.py

SPEC = "conv(8,3,1,same)-pool-dense(32):dropout=0.5"


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, ...]:
    ds = lamina.datasets.load("digits")
    order = np.random.default_rng(0).permutation(len(ds.X))
    train, test = order[:1200], order[1200:]
    return ds.X[train], ds.y[train], ds.X[test], ds.y[test]


def _cnn(epochs: int = 5) -> ImageClassifier:
    return ImageClassifier(SPEC, image_shape=(1, 8, 8), epochs=epochs, lr=5e-3, batch_size=32,
                           random_state=0)


@pytest.fixture(scope="module")
def fitted(digits) -> ImageClassifier:  # type: ignore[no-untyped-def]
    X, y, _, _ = digits
    return _cnn(2).fit(X[:300], y[:300])


# ---------------------------------------------------------------- hidden_features
def test_hidden_features_are_the_layer_outputs(fitted, digits) -> None:  # type: ignore[no-untyped-def]
    X = digits[0][:50]
    # by hand: normalise as the estimator does, run the hidden layers in eval mode
    x = torch.from_numpy(((X.reshape(-1, 1, 8, 8) - fitted.channel_mean_[0])
                          / fitted.channel_std_[0]).astype(np.float32))
    net = fitted.module_.eval()
    with torch.no_grad():
        outs = []
        for layer in net.hidden:
            x = layer(x)
            outs.append(x.flatten(1).double().numpy())
    for i in range(len(net.hidden)):
        got = fitted.hidden_features(X, i)
        np.testing.assert_allclose(got, outs[i], rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(got, fitted.hidden_features(X, f"hidden.{i}"))
    np.testing.assert_array_equal(fitted.hidden_features(X), fitted.hidden_features(X, 2))
    assert outs[0].shape == (50, 8 * 8 * 8) and outs[-1].shape == (50, 32)   # -1: the last


def test_hidden_features_run_in_eval_mode_and_restore_it(fitted, digits) -> None:  # type: ignore[no-untyped-def]
    X = digits[0][:40]
    fitted.module_.train()
    a, b = fitted.hidden_features(X), fitted.hidden_features(X)
    np.testing.assert_array_equal(a, b)                # dropout=0.5 is off: deterministic
    assert fitted.module_.training                     # the caller's mode comes back
    fitted.module_.eval()


@pytest.mark.parametrize("layer", [3, -4, "hidden.3", "dense", 1.0, True, None])
def test_hidden_features_bad_layer(fitted, digits, layer) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ParameterError, match=r"Invalid layer=.*an index in \[-3, 3\) or one of "
                                             r"hidden\.0, hidden\.1, hidden\.2\. Pass layer=-1"):
        fitted.hidden_features(digits[0][:5], layer)


def test_hidden_features_before_fit_and_wrong_shape(fitted) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFittedError, match="not fitted yet"):
        _cnn().hidden_features(np.zeros((2, 64)))
    with pytest.raises(DataError):
        fitted.hidden_features(np.zeros((2, 65)))


def test_per_step_layer_of_variable_length_sequences_is_refused() -> None:
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(t, 3)) for t in (4, 9) * 20]
    y = np.arange(40) % 2
    clf = SequenceClassifier("gru(5):readout=seq-gru(4)", epochs=1, batch_size=8,
                             random_state=0).fit(X, y)
    assert clf.hidden_features(X).shape == (40, 4)     # after the readout: fixed width
    with pytest.raises(DataError, match=r"hidden layer .hidden\.0. outputs one vector per time step .* Pick a layer "
                                        r"after the sequence readout"):
        clf.hidden_features(X, 0)


# ---------------------------------------------------------------- HiddenKNNDetector
def test_distances_equal_sklearn_cosine_neighbours(fitted, digits) -> None:  # type: ignore[no-untyped-def]
    X, _, X_test, _ = digits
    det = HiddenKNNDetector(fitted, n_neighbors=7, normalize=None, prefit=True).fit(X)
    assert det.estimator_ is fitted                    # prefit: used as it is, not refitted
    nn = NearestNeighbors(n_neighbors=7, metric="cosine", algorithm="brute")
    nn.fit(fitted.hidden_features(X))
    want, _ = nn.kneighbors(fitted.hidden_features(X_test))
    got = det.kneighbors_distance(X_test)
    np.testing.assert_allclose(got, want, atol=2e-6)
    np.testing.assert_allclose(det.score_samples(X_test), -want.mean(axis=1), atol=2e-6)
    assert np.all(np.diff(got, axis=1) >= 0)           # ascending


def test_training_inputs_are_their_own_nearest_neighbour(fitted, digits) -> None:  # type: ignore[no-untyped-def]
    X = digits[0][:200]
    det = HiddenKNNDetector(fitted, n_neighbors=1, normalize=None, prefit=True).fit(X)
    assert np.abs(det.kneighbors_distance(X)).max() < 1e-6


def test_query_chunks_do_not_change_the_result(fitted, digits, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import lamina.estimators._neighbors as mod

    X, _, X_test, _ = digits
    det = HiddenKNNDetector(fitted, n_neighbors=3, prefit=True, random_state=0).fit(X)
    whole = det.kneighbors_distance(X_test)
    monkeypatch.setattr(mod, "_CHUNK_BYTES", 8 * len(X) * 13)      # 13 queries per block
    np.testing.assert_allclose(det.kneighbors_distance(X_test), whole, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("held_out", [1, 3, 9])
def test_held_out_digit_is_found(digits, held_out) -> None:  # type: ignore[no-untyped-def]
    """Real data, fixed seed: train on 9 digits, score the test digits; the unseen digit must
    rank far above the known ones, and above PCA reconstruction error (the linear baseline)."""
    X, y, X_test, y_test = digits
    known = y != held_out
    det = HiddenKNNDetector(_cnn(), n_neighbors=5, random_state=0).fit(X[known], y[known])
    assert not hasattr(det.estimator, "module_")       # the given estimator stays unfitted
    auroc = roc_auc_score(y_test == held_out, -det.score_samples(X_test))
    pca = PCA(16, random_state=0).fit(X[known])
    err = ((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2).mean(axis=1)
    # written: 0.952 / 0.966 / 0.940 (PCA 0.675 / 0.679 / 0.759)
    assert auroc > 0.88
    assert auroc > roc_auc_score(y_test == held_out, err) + 0.1
    # predict: contamination=0.1 of the training inputs' left-out scores sets the threshold
    novel = det.predict(X_test) == -1
    alarms, found = novel[y_test != held_out].mean(), novel[y_test == held_out].mean()
    # written: 0.107 / 0.081 / 0.099 of the known digits flagged (the threshold set on training
    # inputs holds on test inputs), 0.645 / 0.925 / 0.583 of the new digit found
    assert 0.03 < alarms < 0.2 and found > 0.45


def test_class_normalisation_by_hand(fitted, digits) -> None:  # type: ignore[no-untyped-def]
    """Calibration rows leave the reference set; each class's scale is the median of its
    calibration rows' k-NN distances; a score divides by the predicted class's scale."""
    X, y, X_test, _ = digits
    det = HiddenKNNDetector(fitted, n_neighbors=4, normalize="class", calibration_fraction=0.2,
                            prefit=True, random_state=0).fit(X, y)
    held = det.calibration_index_
    counts = np.bincount(y[held], minlength=10)
    np.testing.assert_array_equal(counts, np.floor(0.2 * np.bincount(y) + 0.5))  # per class
    F = fitted.hidden_features(X)
    F /= np.linalg.norm(F, axis=1, keepdims=True)
    ref = np.delete(F, held, axis=0)
    np.testing.assert_allclose(det.bank_, ref)
    nn = NearestNeighbors(n_neighbors=4, metric="cosine", algorithm="brute").fit(ref)
    cal = nn.kneighbors(F[held])[0].mean(axis=1)
    want = [np.median(cal[y[held] == c]) for c in range(10)]
    np.testing.assert_allclose(det.class_scale_, want, atol=1e-6)
    dist = nn.kneighbors(fitted.hidden_features(X_test))[0].mean(axis=1)
    pred = fitted.predict(X_test)
    np.testing.assert_allclose(det.score_samples(X_test), -dist / det.class_scale_[pred],
                               atol=1e-6)
    # the threshold: the calibration inputs' scores as score_samples gives them (the scale of
    # the class the network predicts), at the contamination percentile
    normal = -cal / det.class_scale_[fitted.predict(X[held])]
    assert det.offset_ == pytest.approx(np.percentile(normal, 10.0), abs=1e-6)
    # without y (a prefit classifier): the calibration classes are its predictions
    no_y = HiddenKNNDetector(fitted, n_neighbors=4, normalize="class", prefit=True,
                             random_state=0).fit(X)
    assert len(no_y.calibration_index_) > 0 and no_y.class_scale_.shape == (10,)


def test_class_scores_take_one_forward_pass(fitted, digits) -> None:  # type: ignore[no-untyped-def]
    """With normalize="class" a score needs the hidden vectors and the predicted class: one
    forward pass gives both (it ran the network twice), equal to predict's classes."""
    X, y, X_test, _ = digits
    det = HiddenKNNDetector(fitted, n_neighbors=4, normalize="class", prefit=True,
                            random_state=0).fit(X, y)
    calls = [0]
    handle = fitted.module_.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    try:
        fitted.predict(X_test)
        one_pass, calls[0] = calls[0], 0
        scores = det.score_samples(X_test)
        assert calls[0] == one_pass >= 1
    finally:
        handle.remove()
    dist = det.kneighbors_distance(X_test).mean(axis=1)
    np.testing.assert_allclose(scores, -dist / det.class_scale_[fitted.predict(X_test)],
                               atol=1e-12)


def test_a_subclass_predict_is_what_the_class_scales_follow(fitted, digits) -> None:  # type: ignore[no-untyped-def]
    """An estimator whose predict is its own (not the argmax of the outputs) is asked."""
    X, y, X_test, _ = digits

    class AlwaysThree(type(fitted)):  # type: ignore[misc]
        def predict(self, X):  # type: ignore[no-untyped-def]
            return np.full(len(X), 3)

    est = copy.deepcopy(fitted)
    est.__class__ = AlwaysThree
    on_instance = copy.deepcopy(fitted)
    on_instance.predict = lambda X: np.full(len(X), 3)
    for own in (est, on_instance):
        det = HiddenKNNDetector(own, n_neighbors=4, normalize="class", prefit=True,
                                random_state=0).fit(X, y)
        dist = det.kneighbors_distance(X_test).mean(axis=1)
        np.testing.assert_allclose(det.score_samples(X_test), -dist / det.class_scale_[3],
                                   atol=1e-12)


def test_calibration_keeps_lone_inputs_in_the_reference_set() -> None:
    from lamina.estimators._neighbors import _calibration_rows, _class_medians

    labels = np.array([0] * 10 + [1] * 2 + [2])
    held = _calibration_rows(labels, 0.1, np.random.RandomState(0))
    assert held[:10].sum() == 1 and held[10:12].sum() == 1 and not held[12]
    scale = _class_medians(np.array([0.2, 0.4]), np.array([0, 1]), 3)
    np.testing.assert_allclose(scale, [0.2, 0.4, 0.3])          # class 2: the overall median
    np.testing.assert_allclose(_class_medians(np.array([0.0, 0.0]), np.array([0, 1]), 2),
                               [1.0, 1.0])                      # duplicates: no division by 0


def test_offset_is_the_contamination_percentile_of_left_out_scores(fitted, digits,
                                                                   monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Without calibration inputs, each training input is scored without its own vector (the
    nearest match, at distance 0, is dropped) and offset_ is the contamination percentile."""
    import lamina.estimators._neighbors as mod

    X, _, X_test, _ = digits
    det = HiddenKNNDetector(fitted, n_neighbors=4, contamination=0.2, prefit=True,
                            random_state=0).fit(X)
    F = fitted.hidden_features(X)
    nn = NearestNeighbors(n_neighbors=5, metric="cosine", algorithm="brute").fit(F)
    left_out = -nn.kneighbors(F)[0][:, 1:].mean(axis=1)
    assert det.offset_ == pytest.approx(np.percentile(left_out, 20.0), abs=1e-6)
    score = det.score_samples(X_test)
    np.testing.assert_allclose(det.decision_function(X_test), score - det.offset_, rtol=0,
                               atol=0)
    np.testing.assert_array_equal(det.predict(X_test), np.where(score < det.offset_, -1, 1))
    # more training inputs than _OFFSET_SAMPLES: a seeded sample of them is scored
    monkeypatch.setattr(mod, "_OFFSET_SAMPLES", 100)
    few = HiddenKNNDetector(fitted, n_neighbors=4, contamination=0.2, prefit=True,
                            random_state=0).fit(X)
    rows = np.sort(np.random.RandomState(0).choice(len(X), 100, replace=False))
    assert few.offset_ == pytest.approx(np.percentile(left_out[rows], 20.0), abs=1e-6)


def test_offset_without_calibration_inputs_or_with_every_vector_a_neighbour(fitted, digits) -> None:  # type: ignore[no-untyped-def]
    """One input per class leaves nothing to hold back: every class scale is 1 and offset_
    comes from left-out scores, as without normalisation; with n_neighbors equal to the
    reference set, an input left out is compared with the n - 1 others."""
    X, y, X_test, _ = digits
    one = np.array([np.flatnonzero(y == c)[0] for c in range(10)])
    for labels in (y[one], None):                  # with y, and by predicted class without
        det = HiddenKNNDetector(fitted, n_neighbors=3, normalize="class", prefit=True,
                                random_state=0).fit(X[one], labels)
        if labels is not None:
            assert len(det.calibration_index_) == 0
            np.testing.assert_array_equal(det.class_scale_, np.ones(10))
        assert np.isfinite(det.offset_) and det.predict(X_test[:5]).shape == (5,)
    F = fitted.hidden_features(X[:6])
    det = HiddenKNNDetector(fitted, n_neighbors=6, contamination=0.5, prefit=True).fit(X[:6])
    others = NearestNeighbors(n_neighbors=6, metric="cosine", algorithm="brute").fit(F)
    left_out = -others.kneighbors(F)[0][:, 1:].mean(axis=1)          # the 5 others
    assert det.offset_ == pytest.approx(np.percentile(left_out, 50.0), abs=1e-6)


def test_clone_and_pickle(fitted, digits) -> None:  # type: ignore[no-untyped-def]
    X, _, X_test, _ = digits
    det = HiddenKNNDetector(fitted, layer="hidden.2", n_neighbors=4, prefit=True).fit(X)
    again = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(again.score_samples(X_test), det.score_samples(X_test))
    params = clone(det).get_params()
    assert params["layer"] == "hidden.2" and params["n_neighbors"] == 4 and params["prefit"]


def test_bad_input(fitted, digits) -> None:  # type: ignore[no-untyped-def]
    X, y = digits[0][:30], digits[1][:30]
    with pytest.raises(ParameterError, match=r"Invalid n_neighbors=0"):
        HiddenKNNDetector(fitted, n_neighbors=0, prefit=True).fit(X)
    with pytest.raises(ParameterError, match=r"Invalid n_neighbors=31: at most the 30 training "
                                             r"samples\. Pass n_neighbors <= 30"):
        HiddenKNNDetector(fitted, n_neighbors=31, normalize=None, prefit=True).fit(X)
    with pytest.raises(ParameterError, match=r"Invalid n_neighbors=30: at most the 2\d "
                                             r"reference samples"):   # some held to calibrate
        HiddenKNNDetector(fitted, n_neighbors=30, normalize="class", prefit=True,
                          random_state=0).fit(X, y)
    with pytest.raises(ParameterError, match=r"Invalid estimator=.*hidden_features"):
        HiddenKNNDetector(PCA(2), normalize=None).fit(X)
    with pytest.raises(ParameterError, match=r"Invalid normalize='class': needs a classifier "
                                             r".*Autoencoder is not one\. Pass normalize=None"):
        HiddenKNNDetector(lamina.estimators.Autoencoder("8", bottleneck=2),
                          normalize="class").fit(X)
    with pytest.raises(ParameterError, match=r"Invalid normalize='mean': 'class' or None"):
        HiddenKNNDetector(fitted, normalize="mean", prefit=True).fit(X)
    for bad in (0.0, 1.0, "a"):
        with pytest.raises(ParameterError, match=r"Invalid calibration_fraction="):
            HiddenKNNDetector(fitted, calibration_fraction=bad, prefit=True).fit(X)
    for bad in (0.0, 0.6, "auto"):
        with pytest.raises(ParameterError, match=r"Invalid contamination="):
            HiddenKNNDetector(fitted, contamination=bad, prefit=True).fit(X)
    with pytest.raises(DataError, match=r"y holds 'cat', which is not among the classes"):
        HiddenKNNDetector(fitted, normalize="class", prefit=True).fit(X[:3], ["cat", 1, 2])
    with pytest.raises(NotFittedError, match=r"prefit=True but the ImageClassifier is not "
                                             r"fitted"):
        HiddenKNNDetector(_cnn(), prefit=True).fit(X)
    with pytest.raises(NotFittedError, match="HiddenKNNDetector instance is not fitted"):
        HiddenKNNDetector(fitted).score_samples(X)
    with pytest.raises(ParameterError, match=r"Invalid layer=7"):
        HiddenKNNDetector(fitted, layer=7, prefit=True).fit(X, y)


# ---------------------------------------------------------------- other estimator kinds
def test_text_classifier_on_raw_strings() -> None:
    from lamina.estimators import TextClassifier

    texts = ["good movie great fun", "bad awful film", "great fun cast", "terrible bad plot"] * 10
    labels = ["pos", "neg"] * 20
    det = HiddenKNNDetector(TextClassifier(epochs=2, random_state=0), n_neighbors=3,
                            normalize="class", random_state=0).fit(texts, labels)
    scores = det.score_samples(["good fun", "zzz qqq www"])
    assert scores.shape == (2,) and np.isfinite(scores).all()
    assert not hasattr(det, "n_features_in_")          # raw strings: no feature count


def test_autoencoder_layers_are_its_encoders(digits) -> None:  # type: ignore[no-untyped-def]
    from lamina.estimators import Autoencoder

    X = digits[0][:200]
    ae = Autoencoder("16", bottleneck=3, epochs=2, random_state=0).fit(X)
    np.testing.assert_allclose(ae.hidden_features(X), ae.transform(X), rtol=1e-6)  # -1: code
    assert ae.hidden_features(X, "encoder.hidden.0").shape == (200, 16)
    with pytest.raises(ParameterError, match=r"one of encoder\.hidden\.0, encoder\.hidden\.1"):
        ae.hidden_features(X, "hidden.0")
    det = HiddenKNNDetector(ae, n_neighbors=3, prefit=True).fit(X)
    assert det.score_samples(X[:5]).shape == (5,)


def test_forecaster_reads_histories_and_is_refused_by_the_detector() -> None:
    from lamina.estimators import Forecaster

    s = np.sin(np.arange(120) / 4)
    fc = Forecaster("8", n_lags=8, horizon=3, epochs=2, random_state=0).fit(s)
    assert fc.hidden_features(s).shape == (1, 8)              # one history, as predict
    assert fc.hidden_features(s[:80].reshape(10, 8)).shape == (10, 8)
    with pytest.raises(ParameterError, match=r"Invalid estimator='Forecaster'.*fitted on one "
                                             r"series"):
        HiddenKNNDetector(Forecaster(n_lags=8, horizon=3, epochs=2)).fit(s)   # before training


def test_seq2seq_has_no_hidden_vector_per_sample() -> None:
    from lamina.estimators import Seq2Seq

    with pytest.raises(ParameterError, match=r"Invalid estimator='Seq2Seq'.*a Seq2Seq has no "
                                             r"single hidden vector per sample"):
        HiddenKNNDetector(Seq2Seq(epochs=1)).fit(["ab", "cd"], ["x", "y"])   # before training
    s2s = Seq2Seq(epochs=1, random_state=0).fit(["ab", "cd"] * 4, ["x", "y"] * 4)
    with pytest.raises(ParameterError, match=r"Invalid estimator='Seq2Seq'.*Seq2Seq's encoder "
                                             r"gives one per source token"):
        s2s.hidden_features(["ab"])


def test_scores_use_the_layer_and_k_of_fit(fitted, digits) -> None:  # type: ignore[no-untyped-def]
    X, _, X_test, _ = digits
    det = HiddenKNNDetector(fitted, n_neighbors=3, prefit=True).fit(X)
    before = det.score_samples(X_test)
    det.set_params(n_neighbors=500, layer=0)                  # not refitted: no effect yet
    np.testing.assert_array_equal(det.score_samples(X_test), before)
    assert det.layer_ == "hidden.2" and det.n_neighbors_ == 3


def test_duplicated_inputs_do_not_blow_up_a_class_scale(fitted, digits) -> None:  # type: ignore[no-untyped-def]
    X, y, X_test, _ = digits
    rows = np.r_[np.repeat(np.flatnonzero(y == 4)[:3], 10), np.flatnonzero(y != 4)[:300]]
    det = HiddenKNNDetector(fitted, n_neighbors=3, normalize="class", prefit=True,
                            random_state=0).fit(X[rows], y[rows])
    assert det.class_scale_.min() > 1e-4               # class 4: only exact copies
    assert np.abs(det.score_samples(X_test)).max() < 1e3


def test_frozen_estimator_survives_clone(fitted, digits) -> None:  # type: ignore[no-untyped-def]
    from sklearn.frozen import FrozenEstimator

    X, y, X_test, _ = digits
    det = HiddenKNNDetector(FrozenEstimator(fitted), n_neighbors=3, normalize="class",
                            prefit=True, random_state=0)
    a = clone(det).fit(X, y).score_samples(X_test)
    np.testing.assert_array_equal(a, det.fit(X, y).score_samples(X_test))
    with pytest.raises(NotFittedError, match=r"clone\(\), as in GridSearchCV.*FrozenEstimator"):
        clone(HiddenKNNDetector(fitted, prefit=True)).fit(X)


def test_bad_y_and_estimator_class(fitted, digits) -> None:  # type: ignore[no-untyped-def]
    X, y = digits[0][:50], digits[1][:50]
    for bad in (y[:10], np.c_[y, y]):
        with pytest.raises(DataError, match=r"Invalid y with shape .*one label per sample of X "
                                            r"\(50 samples\)"):
            HiddenKNNDetector(fitted, normalize="class", prefit=True).fit(X, bad)
    det = HiddenKNNDetector(fitted, normalize="class", n_neighbors=3, prefit=True,
                            random_state=0).fit(X, y[:, None])     # a column is one label each
    assert det.class_scale_.shape == (10,)
    with pytest.raises(ParameterError, match=r"Pass an instance: ImageClassifier\(\.\.\.\)"):
        HiddenKNNDetector(ImageClassifier, normalize=None).fit(X)


# ---------------------------------------------------------------- save / load
def test_save_and_load_round_trip(fitted, digits, tmp_path) -> None:  # type: ignore[no-untyped-def]
    X, y, X_test, _ = digits
    det = HiddenKNNDetector(fitted, n_neighbors=4, normalize="class", prefit=True,
                            random_state=0).fit(X, y)
    det.save(tmp_path / "det")
    assert (tmp_path / "det" / "estimator" / "config.json").is_file()   # the CNN's own run
    again = lamina.load(tmp_path / "det")
    assert isinstance(again, HiddenKNNDetector) and not hasattr(again, "history_")
    np.testing.assert_array_equal(again.score_samples(X_test), det.score_samples(X_test))
    np.testing.assert_array_equal(again.calibration_index_, det.calibration_index_)
    assert again.get_params()["n_neighbors"] == 4 and again.layer_ == "hidden.2"
    assert again.offset_ == det.offset_
    np.testing.assert_array_equal(again.predict(X_test), det.predict(X_test))
    plain = HiddenKNNDetector(fitted, n_neighbors=2, prefit=True).fit(X)
    plain.save(tmp_path / "plain")
    assert lamina.load(tmp_path / "plain").class_scale_ is None
    # a run saved before the detector had a threshold still loads and scores
    from lamina.estimators._persist import _content_digest

    config = json.loads((tmp_path / "plain" / "config.json").read_text())
    del config["fitted"]["offset_"]
    config["config_sha256"] = _content_digest(config)          # as that version wrote it
    (tmp_path / "plain" / "config.json").write_text(json.dumps(config))
    old = lamina.load(tmp_path / "plain")
    np.testing.assert_array_equal(old.score_samples(X_test), plain.score_samples(X_test))
    with pytest.raises(NotFittedError, match=r"without a decision threshold \(offset_\)\. "
                                             r"Refit it"):
        old.predict(X_test)


def test_load_refuses_a_swapped_or_edited_part(fitted, digits, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from lamina import RunDirError

    X, y, _, _ = digits
    det = HiddenKNNDetector(fitted, n_neighbors=3, prefit=True).fit(X)
    det.save(tmp_path / "a")
    other = _cnn(1).fit(X[:200], y[:200])
    other.save(tmp_path / "b")
    (tmp_path / "a" / "estimator" / "config.json").write_text(
        (tmp_path / "b" / "config.json").read_text())            # a valid, different model
    with pytest.raises(RunDirError, match=r"is not the run that was saved with"):
        lamina.load(tmp_path / "a")
    det.save(tmp_path / "c")
    blob = bytearray((tmp_path / "c" / "weights.safetensors").read_bytes())
    blob[-1] ^= 1                                                 # one bit of the reference set
    (tmp_path / "c" / "weights.safetensors").write_bytes(bytes(blob))
    with pytest.raises(RunDirError, match=r"does not match the SHA-256"):
        lamina.load(tmp_path / "c")
    with pytest.raises(NotFittedError):
        HiddenKNNDetector(fitted).save(tmp_path / "d")
