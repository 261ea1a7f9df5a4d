"""DeepEstimator machinery: parameter checks in fit, batching of sequences, run directories."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import lamina
from lamina import NotFittedError, ParameterError, SpecError
from lamina.estimators import ImageClassifier, SequenceClassifier
from lamina.estimators._deep_persist import decode_param, encode_param
from lamina.estimators._samples import BatchStream, Samples
from lamina.spec import parse_spec

pytestmark = pytest.mark.usefixtures("one_thread")     # see conftest.py


def _blobs(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = rng.normal(size=(n, 6)).astype(np.float32) + 2.0 * y[:, None]
    return X, y


def test_init_only_stores_and_fit_validates() -> None:
    clf = ImageClassifier("conv(4,3)", epochs=0, optimizer="adm")   # no error yet
    assert clf.get_params()["epochs"] == 0
    X, y = _blobs()
    with pytest.raises(ParameterError, match=r"Invalid epochs=0: must be an integer >= 1"):
        clf.fit(X, y)
    with pytest.raises(ParameterError, match=r"Invalid optimizer='adm'.*Did you mean 'adam'"):
        clf.set_params(epochs=1).fit(X, y)
    with pytest.raises(ParameterError, match=r"Invalid validation_fraction=1.5"):
        ImageClassifier(validation_fraction=1.5).fit(X, y)
    with pytest.raises(ParameterError, match=r"Invalid schedule='warmup'"):
        ImageClassifier(schedule="warmup").fit(X, y)
    with pytest.raises(SpecError, match=r"unknown layer kind 'konv'.*Did you mean 'conv'"):
        ImageClassifier("konv(8,3)").fit(X, y)
    with pytest.raises(ParameterError, match=r"Invalid random_state='zero'"):
        ImageClassifier(random_state="zero").fit(X, y)


def test_not_fitted() -> None:
    with pytest.raises(NotFittedError, match="not fitted yet"):
        SequenceClassifier().predict([np.zeros((3, 2))])


def test_validation_split_too_small() -> None:
    X, y = _blobs(4)
    clf = ImageClassifier("conv(2,3,1,same)-gap", validation_fraction=0.1, epochs=1)
    clf.fit(X, y)                                   # ceil(0.4) = 1 for validation, 3 to train
    assert clf.n_iter_ == 1
    with pytest.raises(lamina.DataError, match=r"validation_fraction=0.9 of the 4 samples, "
                       r"which leaves 4 for validation and 0 for training"):
        clf.set_params(validation_fraction=0.9).fit(X, y)
    clf.set_params(early_stopping=False).fit(X, y)   # the fix the message gives


def test_lone_class() -> None:
    X, y = _blobs(4)
    with pytest.raises(lamina.DataError, match=r"y has only one class \(0\)"):
        ImageClassifier().fit(X, np.zeros(4, dtype=int))


def test_same_seed_same_model() -> None:
    X, y = _blobs()
    kw = {"spec": "conv(4,3,1,same)-gap-dense(8)", "epochs": 3, "random_state": 7}
    a = ImageClassifier(**kw).fit(X, y)
    b = ImageClassifier(**kw).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.history_["train_loss"] == b.history_["train_loss"]
    c = ImageClassifier(**{**kw, "random_state": 8}).fit(X, y)
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_params_round_trip_through_json() -> None:
    spec = parse_spec("conv(8,3):norm=batch-pool-dense(16)")
    for value in [(1, 28, 28), spec, spec.layers[0], [1, (2, 3)], {"a": (1,)}, None, "x", 1.5]:
        back = decode_param(encode_param(value))
        assert back == value and type(back) is type(value)
    with pytest.raises(lamina.RunDirError, match="cannot store the parameter value"):
        encode_param(object())


def test_samples_pad_sequences() -> None:
    s = Samples.from_sequences([np.ones((2, 3)), 2 * np.ones((4, 3))], y=[0, 1])
    assert s.X.shape == (2, 4, 3) and s.lengths.tolist() == [2, 4]
    assert s.X[0, 2:].abs().sum() == 0 and s.X[1].sum() == 24


def test_batch_stream_covers_every_sample_once_per_epoch() -> None:
    rng = np.random.default_rng(0)
    seqs = [np.full((int(n), 1), i, dtype=np.float32) for i, n in
            enumerate(rng.integers(1, 30, size=103))]
    stream = BatchStream(Samples.from_sequences(seqs, y=np.arange(103)), 8, True, seed=1)
    orders = []
    for _ in range(2):
        seen = []
        for x, lengths, y in stream:
            assert x.shape[1] == int(lengths.max())           # padded to the batch's longest
            assert x.shape[0] <= 8
            for row, n, label in zip(x, lengths, y):
                assert torch.all(row[:n, 0] == label) and torch.all(row[n:] == 0)
            seen.extend(y.tolist())
        assert sorted(seen) == list(range(103))
        orders.append(seen)
    assert orders[0] != orders[1]                            # reshuffled every epoch


def test_fixed_length_network_pads_every_batch(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(int(rng.integers(2, 9)), 2)) for _ in range(60)]
    y = [int(x[:, 0].sum() > 0) for x in X]
    clf = SequenceClassifier("gru(4):readout=seq-dense(4)", epochs=2, random_state=0).fit(X, y)
    assert clf.module_.in_shape[0] == max(len(x) for x in X)
    assert clf.predict(X[:5]).shape == (5,)
    with pytest.raises(lamina.DataError, match=r"has 12 steps, but this network reads exactly"):
        clf.predict([np.zeros((12, 2))])


def test_network_batches_match_predict() -> None:
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(int(rng.integers(2, 9)), 2)) * 3 + 1 for _ in range(50)]
    y = np.array(["a", "b"] * 25)
    clf = SequenceClassifier("gru(4)", epochs=1, random_state=0).fit(X, y)
    logits, labels = [], []
    with torch.no_grad():
        for inputs, targets in clf.network_batches(X, y, batch_size=7):
            assert len(inputs) == 2 and inputs[0].shape[0] == len(inputs[1]) <= 7
            logits.append(clf.module_(*inputs))
            labels.append(targets)
    proba = torch.softmax(torch.cat(logits), 1).numpy()
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=1e-5, atol=1e-6)
    assert torch.cat(labels).tolist() == [0, 1] * 25       # encoded, in input order


def test_best_validation_score_is_that_of_the_kept_epoch() -> None:
    import numpy as np
    from sklearn.datasets import make_classification

    import lamina

    # noisy labels: the lowest-val_loss epoch is not the best-accuracy one (0.70 vs 0.82)
    X, y = make_classification(600, 64, n_informative=10, n_classes=3, flip_y=0.2,
                               random_state=0)
    clf = lamina.ImageClassifier("conv(4,3)-dense(32)", image_shape=(1, 8, 8), epochs=30,
                                 patience=30, lr=1e-2, random_state=2).fit(X, y)
    kept = int(np.argmin(clf.history_["val_loss"]))          # EarlyStopping keeps this epoch
    assert clf.best_validation_score_ == clf.validation_scores_[kept]
    assert clf.best_validation_score_ < max(clf.validation_scores_)   # not the max over epochs
