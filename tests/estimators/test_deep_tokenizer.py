"""The built-in tokenizer of TextClassifier: ids, limits, levels, n-grams, JSON state, bad text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lamina import DataError, NotFittedError, ParameterError
from lamina.estimators import Tokenizer
from lamina.estimators._tokenizer import OOV, PAD, check_texts


def test_ids_by_frequency_then_first_seen() -> None:
    tok = Tokenizer().fit(["b a c", "a c", "a"])
    # a:3, c:2, b:1 -> ids 2, 3, 4; 0 = padding, 1 = out of vocabulary
    assert tok.vocabulary_ == {"a": 2, "c": 3, "b": 4}
    assert tok.vocab_size_ == 5
    assert tok.encode(["c b zebra a"])[0].tolist() == [3, 4, OOV, 2]
    assert tok.decode([2, 1, 0]) == ["a", "<oov>", "<pad>"]


def test_limits() -> None:
    texts = ["x x x y y z", "w"]
    assert list(Tokenizer(max_vocab=2).fit(texts).vocabulary_) == ["x", "y"]
    assert list(Tokenizer(min_freq=2).fit(texts).vocabulary_) == ["x", "y"]
    assert Tokenizer(min_freq=4).fit(texts).vocab_size_ == 2          # only pad and OOV
    tok = Tokenizer().fit(["one two three four"])
    assert tok.encode(["one two three four"], max_length=2)[0].tolist() == [2, 3]


def test_word_splitting_and_levels() -> None:
    tok = Tokenizer()
    assert tok.tokens("Don't STOP!<br />It's 5-star") == ["don't", "stop", "!", "it's", "5",
                                                          "-", "star"]
    assert Tokenizer(lowercase=False, strip_html=False).tokens("Hi<br>") == [
        "Hi", "<", "br", ">"]
    assert Tokenizer(level="char").tokens("Ab c") == ["a", "b", " ", "c"]
    assert Tokenizer(ngrams=2).tokens("not very good") == [
        "not", "very", "good", "not very", "very good"]
    assert Tokenizer(ngrams=3).tokens("a b c", max_length=2) == ["a", "b", "a b"]


def test_json_round_trip() -> None:
    tok = Tokenizer(level="word", max_vocab=50, ngrams=2).fit(["the cat sat", "the dog sat"])
    again = Tokenizer.from_dict(tok.to_dict())
    assert again.vocabulary_ == tok.vocabulary_ and again.ngrams == 2
    assert again.encode(["the cat ran"])[0].tolist() == tok.encode(["the cat ran"])[0].tolist()


def test_bad_texts_and_params() -> None:
    tok = Tokenizer().fit(["fine"])
    # nothing left once the HTML tag is dropped, or nothing at all: one OOV id
    assert [a.tolist() for a in tok.encode(["fine", "<br />", ""])] == [[2], [1], [1]]
    assert check_texts(["a", ""]) == ["a", ""]
    with pytest.raises(DataError, match=r"X\[0\] is not a string \(got float nan\)"):
        check_texts([float("nan"), "b"])
    with pytest.raises(DataError, match=r"got a single str. Wrap it in a list"):
        check_texts("a review")
    with pytest.raises(DataError, match=r"decode the texts first"):
        check_texts([b"bytes"])
    with pytest.raises(DataError, match="holds no texts"):
        check_texts([])
    with pytest.raises(ParameterError, match=r"Invalid tokenizer='words'.*Did you mean 'word'"):
        Tokenizer(level="words")
    with pytest.raises(ParameterError, match=r"Invalid ngrams=4"):
        Tokenizer(ngrams=4)
    with pytest.raises(NotFittedError):
        Tokenizer().encode(["a"])
    assert tok.encode(["fine"])[0].tolist() == [2]


@given(st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=8),
       st.integers(1, 20), st.sampled_from(["word", "char"]))
def test_ids_in_range_and_one_per_token(texts, max_vocab, level) -> None:  # type: ignore[no-untyped-def]
    tok = Tokenizer(level=level, max_vocab=max_vocab).fit(texts)
    assert tok.vocab_size_ <= max_vocab + 2
    for text in texts:
        tokens = tok.tokens(text)
        if not tokens:
            continue
        ids = tok.encode([text])[0]
        assert len(ids) == len(tokens)
        assert ((ids >= OOV) & (ids < tok.vocab_size_)).all() and PAD not in ids
        # a token is OOV exactly when it was not kept
        assert [i == OOV for i in ids] == [t not in tok.vocabulary_ for t in tokens]
