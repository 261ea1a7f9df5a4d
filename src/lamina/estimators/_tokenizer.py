"""``Tokenizer``: words (with optional n-grams) or characters -> integer ids, fit on training text.

Ids: ``0`` is padding, ``1`` is out-of-vocabulary (any token not kept at fit time), and the
kept tokens are ``2 ..`` in order of decreasing training frequency (ties: first seen first), so
``vocab_size_ = len(vocabulary_) + 2`` is the table size an ``embed`` layer needs. Nothing is
downloaded; the whole state is a JSON-able dict.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .._errors import DataError, NotFittedError
from .._validation import check_bool, check_choice, check_int

PAD, OOV = 0, 1
LEVELS = ("word", "char")
# a word is a run of letters/digits/apostrophes; any other non-space character is its own token
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[^\w\s]", re.UNICODE)
_TAGS = re.compile(r"<[^>]{0,40}>")   # "<br />" and similar HTML left in scraped text


class Tokenizer:
    """Split texts into tokens and map them to ids.

    Parameters
    ----------
    level : {"word", "char"}
        Word tokens (runs of letters/digits; punctuation marks are tokens of their own) or
        single characters.
    max_vocab : int
        Keep at most this many distinct tokens (the most frequent); the rest map to OOV.
    min_freq : int
        Keep only tokens seen at least this many times in the training text.
    lowercase : bool
        Lower-case before splitting.
    ngrams : int
        Word level: also emit the n-grams up to this order (``"not good"`` -> ``not``, ``good``,
        ``not good``), fastText-style; they compete for ``max_vocab`` like any token.
    strip_html : bool
        Drop HTML tags such as ``<br />`` first.

    Examples
    --------
    >>> tok = Tokenizer(max_vocab=10).fit(["a good film", "a bad film"])
    >>> tok.encode(["a good day"])[0].tolist()
    [2, 4, 1]
    """

    def __init__(self, level: str = "word", max_vocab: int = 20000, min_freq: int = 1,
                 lowercase: bool = True, ngrams: int = 1, strip_html: bool = True) -> None:
        self.level = check_choice("tokenizer", level, LEVELS)
        self.max_vocab = check_int("max_vocab", max_vocab, 1)
        self.min_freq = check_int("min_freq", min_freq, 1)
        self.lowercase = check_bool("lowercase", lowercase)
        self.ngrams = check_int("ngrams", ngrams, 1, 3)
        self.strip_html = check_bool("strip_html", strip_html)
        self.vocabulary_: dict[str, int] | None = None

    # ------------------------------------------------------------------ splitting
    def tokens(self, text: str, max_length: int | None = None) -> list[str]:
        """The tokens of one text (before the vocabulary is applied); ``max_length`` keeps the
        first words (characters) only, before n-grams are formed."""
        if self.strip_html:
            text = _TAGS.sub(" ", text)
        if self.lowercase:
            text = text.lower()
        if self.level == "char":
            return list(text[:max_length] if max_length is not None else text)
        words = _WORD.findall(text)
        if max_length is not None:
            words = words[:max_length]
        if self.ngrams == 1:
            return words
        out = list(words)
        for n in range(2, self.ngrams + 1):
            out.extend(" ".join(words[i:i + n]) for i in range(len(words) - n + 1))
        return out

    # ------------------------------------------------------------------ fitting
    def fit(self, texts: Iterable[str]) -> Tokenizer:
        """Count tokens in ``texts`` and keep the ``max_vocab`` most frequent."""
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(self.tokens(text))
        if not counts:
            raise DataError("the training texts hold no tokens at all (every text is empty, "
                            "whitespace or HTML tags only); a vocabulary needs words. Pass the "
                            "texts themselves, e.g. a column of reviews.")
        # most_common keeps first-seen order among equal counts (Counter preserves insertion)
        kept = [tok for tok, c in counts.most_common() if c >= self.min_freq][:self.max_vocab]
        self.vocabulary_ = {tok: i + 2 for i, tok in enumerate(kept)}
        return self

    @property
    def vocab_size_(self) -> int:
        """Table size for an ``embed`` layer: kept tokens + padding + OOV."""
        return len(self._vocab()) + 2

    def _vocab(self) -> dict[str, int]:
        if self.vocabulary_ is None:
            raise NotFittedError("This Tokenizer is not fitted yet; call fit(texts) first.")
        return self.vocabulary_

    # ------------------------------------------------------------------ encoding
    def encode(self, texts: Sequence[str], max_length: int | None = None) -> list[np.ndarray]:
        """Token ids of each text (int64 arrays, OOV = 1); ``max_length`` keeps the first
        ``max_length`` words (characters) of each text, with their n-grams.

        A text with no tokens (empty, whitespace or an HTML tag only) encodes as one OOV id,
        like a text of unknown words: the model then answers from its biases alone, as a bag
        of words model does for an empty document.
        """
        vocab = self._vocab()
        out: list[np.ndarray] = []
        for text in texts:
            toks = self.tokens(text, max_length)
            if not toks:                                 # nothing to read: one unknown token
                out.append(np.array([OOV], dtype=np.int64))
                continue
            out.append(np.fromiter((vocab.get(t, OOV) for t in toks), dtype=np.int64,
                                   count=len(toks)))
        return out

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of ``ids`` (``"<pad>"``, ``"<oov>"`` for the reserved ids)."""
        inverse = {i: t for t, i in self._vocab().items()}
        inverse[PAD], inverse[OOV] = "<pad>", "<oov>"
        return [inverse.get(int(i), "<oov>") for i in ids]

    # ------------------------------------------------------------------ JSON state
    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "max_vocab": self.max_vocab, "min_freq": self.min_freq,
                "lowercase": self.lowercase, "ngrams": self.ngrams,
                "strip_html": self.strip_html,
                "vocabulary": sorted(self._vocab(), key=self._vocab().__getitem__)}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Tokenizer:
        tok = cls(state["level"], state["max_vocab"], state["min_freq"], state["lowercase"],
                  state["ngrams"], state["strip_html"])
        tok.vocabulary_ = {t: i + 2 for i, t in enumerate(state["vocabulary"])}
        return tok

    def __repr__(self) -> str:
        size = "unfitted" if self.vocabulary_ is None else f"vocab_size={self.vocab_size_}"
        return f"Tokenizer(level={self.level!r}, max_vocab={self.max_vocab}, {size})"


def check_texts(X: Any, name: str = "X") -> list[str]:
    """``X`` as a list of strings, or a :class:`DataError` naming the bad item.

    Empty strings are texts like any other (they encode as one unknown token).
    """
    if isinstance(X, (str, bytes)):
        raise DataError(f"{name} must be a list of texts, got a single {type(X).__name__}. "
                        f"Wrap it in a list: [{name}].")
    if hasattr(X, "tolist") and not isinstance(X, list):
        X = X.tolist()                                   # numpy / pandas
    try:
        texts = list(X)
    except TypeError:
        raise DataError(f"{name} must be a list of strings; got {type(X).__name__}.") from None
    if not texts:
        raise DataError(f"{name} holds no texts (0 samples). Pass at least one string.")
    for i, t in enumerate(texts):
        if isinstance(t, bytes):
            raise DataError(f"{name}[{i}] is bytes; decode the texts first "
                            "(e.g. t.decode('utf-8')).")
        if not isinstance(t, str):
            raise DataError(f"{name}[{i}] is not a string (got {type(t).__name__} {t!r}). Each "
                            "sample must be one text; fill missing texts before fitting.")
    return texts


__all__ = ["Tokenizer", "check_texts", "PAD", "OOV", "LEVELS"]
