"""TextClassifier: raw strings in, labels out; tokenizer fit on the training text only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

import lamina
from lamina import DataError, NotFittedError, ParameterError
from lamina.estimators import TextClassifier

pytestmark = pytest.mark.usefixtures("one_thread")     # see conftest.py

_GOOD = ["delicious", "fresh", "loved", "perfect", "tasty", "great"]
_BAD = ["stale", "bland", "awful", "broken", "soggy", "rancid"]
_FILL = ["the", "box", "arrived", "and", "it", "was", "coffee", "a", "bag", "of"]


def _reviews(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        words = list(rng.choice(_FILL, size=int(rng.integers(3, 12))))
        words.insert(int(rng.integers(0, len(words))), str(rng.choice(_GOOD if i % 2 else _BAD)))
        texts.append(" ".join(words).capitalize() + "!")
        labels.append("great" if i % 2 else "other")
    return texts, np.array(labels)


@pytest.fixture(scope="module")
def fitted() -> TextClassifier:
    X, y = _reviews(200, 0)
    return TextClassifier(epochs=10, lr=1e-2, random_state=0).fit(X, y)


def test_learns_sentiment_words(fitted) -> None:  # type: ignore[no-untyped-def]
    X, y = _reviews(100, 1)
    assert fitted.score(X, y) > 0.95
    assert list(fitted.classes_) == ["great", "other"]
    assert "delicious" in fitted.tokenizer_.vocabulary_
    assert "it was" in fitted.tokenizer_.vocabulary_            # ngrams=2 by default
    assert fitted.module_.hidden_names[0] == "hidden.0"
    assert fitted.module_.hidden[0].vocab == (fitted.tokenizer_.vocab_size_,)
    # unseen words are out of vocabulary, not an error
    assert fitted.predict(["Zyzzyva quux delicious"])[0] == "great"


def test_tokenizer_sees_training_text_only() -> None:
    X, y = _reviews(40, 0)
    clf = TextClassifier(epochs=1, random_state=0).fit(X, y)
    clf.predict(["a brand new word"])
    assert "brand" not in clf.tokenizer_.vocabulary_


def test_recurrent_and_char_level() -> None:
    X, y = _reviews(120, 2)
    for kw in ({"spec": "embed(8)-gru(8)", "ngrams": 1},
               {"spec": "embed(8)-seqpool(max)", "tokenizer": "char", "max_length": 40}):
        clf = TextClassifier(epochs=3, random_state=0, **kw).fit(X, y)
        assert clf.predict_proba(X[:5]).shape == (5, 2)


def test_empty_texts_read_as_unknown_words(fitted) -> None:  # type: ignore[no-untyped-def]
    # an empty review is data, as for a bag-of-words model: it gets the answer of a text whose
    # words are all unknown (one OOV token), at predict and at fit
    empty = fitted.predict_proba(["", "   ", "<br />"])
    unknown = fitted.predict_proba(["qqqzzz"])
    np.testing.assert_allclose(empty, np.repeat(unknown, 3, axis=0), rtol=1e-6)
    clf = TextClassifier(epochs=2, random_state=0).fit(["a good one", "", "bad"], [1, 0, 0])
    assert clf.predict(["", "good"]).shape == (2,)
    with pytest.raises(DataError, match="the training texts hold no tokens at all"):
        TextClassifier().fit(["", "  "], [0, 1])


def test_bad_input(fitted) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataError, match=r"X\[0\] is not a string \(got NoneType None\)"):
        fitted.predict([None])
    with pytest.raises(DataError, match="got a single str"):
        fitted.predict("just one review")
    with pytest.raises(ParameterError, match=r"Invalid spec='seqpool'.*first hidden layer must "
                       r"be embed\(dim\)"):
        TextClassifier("seqpool").fit(["a", "b"], [0, 1])
    with pytest.raises(ParameterError, match=r"Invalid max_vocab=0"):
        TextClassifier(max_vocab=0).fit(["a", "b"], [0, 1])
    with pytest.raises(NotFittedError):
        TextClassifier().predict(["a"])


def test_sklearn_contract(fitted) -> None:  # type: ignore[no-untyped-def]
    # sklearn's generator yields no checks for string input, so the contract is checked here
    params = fitted.get_params()
    twin = clone(fitted)
    assert twin.get_params() == params and not hasattr(twin, "module_")
    assert TextClassifier(max_vocab=-1).max_vocab == -1          # __init__ only stores
    X, y = _reviews(60, 3)
    a = clone(fitted).set_params(epochs=2).fit(X, y).predict_proba(X)
    b = clone(fitted).set_params(epochs=2).fit(X, y).predict_proba(X)   # fit is idempotent
    np.testing.assert_array_equal(a, b)
    import pickle

    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))


def test_save_load(fitted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    X, _ = _reviews(30, 4)
    fitted.save(tmp_path)
    again = lamina.load(tmp_path)
    assert type(again) is TextClassifier and again.get_params() == fitted.get_params()
    assert again.tokenizer_.vocabulary_ == fitted.tokenizer_.vocabulary_
    np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(again.predict(X), fitted.predict(X))


def test_a_vocabulary_that_leaves_most_tokens_unknown_warns_and_a_small_embed_is_named() -> None:
    X, y = _reviews(120, 2)
    with pytest.warns(UserWarning, match=r"of the training tokens are outside the vocabulary of "
                      r"1 tokens \(max_vocab=1, min_freq=1\)"):
        TextClassifier(epochs=1, max_vocab=1, random_state=0).fit(X, y)
    with pytest.raises(ParameterError, match=r"an embed table of at least \d+ ids .* this "
                       r"spec's embed has vocab=100\)\. Leave vocab= out"):
        TextClassifier("embed(8):vocab=100-seqpool(mean)", epochs=1).fit(X, y)
