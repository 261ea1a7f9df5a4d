"""``lamina.TextClassifier``: raw strings in, labels out; the tokenizer is fit on the training
text, and the hidden layers (embedding, pooling, recurrent or attention) learn the rest."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import _num_samples

from .._errors import DataError, ParameterError
from .._validation import check_bool, check_choice, check_int
from ..nn import build
from ..spec import with_vocab
from ._deep import DeepEstimator, register_deep, require_sequence_layer
from ._deep_classifier import DeepClassifierMixin
from ._samples import Samples
from ._tokenizer import LEVELS, OOV, Tokenizer, check_texts

#: a bag of learned word and bigram vectors, averaged, then one hidden layer (fastText-like)
DEFAULT_TEXT_SPEC = "embed(64):dropout=0.2-seqpool-dense(64):dropout=0.2"


class TextClassifier(DeepClassifierMixin, DeepEstimator):
    """Classify raw texts; sklearn's contract (``fit(texts, y)``, ``predict(texts)``).

    Parameters
    ----------
    spec : str or HiddenSpec, optional
        Hidden layers over ``(T,)`` token ids; the first is ``embed(dim)`` (its vocabulary
        is filled in from the fitted tokenizer). E.g. ``"embed(64)-lstm(64)"``,
        ``"embed(64)-attn(64,4)-seqpool"``. Default: ``"embed(64):dropout=0.2-seqpool-
        dense(64):dropout=0.2"`` (with ``ngrams=2``: a fastText-style bag of words and bigrams).
    tokenizer : {"word", "char"}
        Token level of the built-in :class:`Tokenizer` (fit on the training texts).
    max_vocab : int
        Distinct tokens kept (most frequent); others map to the out-of-vocabulary id 1.
    min_freq : int
        Drop tokens seen fewer times than this in the training text.
    ngrams : int
        Word level: add word n-grams up to this order as tokens (1 = words only).
    max_length : int, optional
        Keep only the first ``max_length`` words (characters) of each text; ``None`` keeps all
        (inputs are padded per batch to the longest text in it).
    lowercase : bool
        Lower-case texts before tokenizing.
    **common
        ``epochs`` (default 20), ``batch_size`` (32), ``lr`` (2e-3), ``weight_decay`` and the
        other :class:`DeepEstimator` parameters.

    Attributes
    ----------
    tokenizer_ : Tokenizer
        Fitted on the training texts (``tokenizer_.vocabulary_``, ``tokenizer_.vocab_size_``).
    classes_, module_, history_, stop_reason_, n_iter_
    validation_scores_, best_validation_score_ : list of float, float
        Validation accuracy per epoch, and that of the epoch whose weights were kept (the
        lowest ``val_loss``; see :class:`DeepEstimator`); None without ``early_stopping``.

    Examples
    --------
    >>> import lamina
    >>> texts = ["great taste, loved it", "awful, stale and bland", "loved it", "bland"] * 20
    >>> clf = lamina.TextClassifier(epochs=10, random_state=0)              # doctest: +SKIP
    >>> clf.fit(texts, [1, 0, 1, 0] * 20).predict(["loved the taste"])    # doctest: +SKIP
    array([1])
    """

    _default_spec = DEFAULT_TEXT_SPEC

    def __init__(self, spec: Any = None, *, tokenizer: str = "word", max_vocab: int = 20000,
                 min_freq: int = 1, ngrams: int = 2, max_length: int | None = None,
                 lowercase: bool = True, epochs: int = 20, batch_size: int = 32,
                 lr: float = 2e-3, optimizer: str = "adam", weight_decay: float = 0.0,
                 schedule: str = "constant", clip_norm: float | None = None,
                 early_stopping: bool = True, validation_fraction: float = 0.1,
                 patience: int = 3, random_state: Any = None, device: Any = "cpu",
                 dtype: Any = "float32", verbose: bool = False) -> None:
        super().__init__(spec, epochs=epochs, batch_size=batch_size, lr=lr,
                         optimizer=optimizer, weight_decay=weight_decay, schedule=schedule,
                         clip_norm=clip_norm, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, patience=patience,
                         random_state=random_state, device=device, dtype=dtype,
                         verbose=verbose)
        self.tokenizer = tokenizer
        self.max_vocab = max_vocab
        self.min_freq = min_freq
        self.ngrams = ngrams
        self.max_length = max_length
        self.lowercase = lowercase

    def _check_params(self) -> dict[str, Any]:
        p = {"tokenizer": check_choice("tokenizer", self.tokenizer, LEVELS),
             "max_vocab": check_int("max_vocab", self.max_vocab, 1),
             "min_freq": check_int("min_freq", self.min_freq, 1),
             "ngrams": check_int("ngrams", self.ngrams, 1, 3),
             "lowercase": check_bool("lowercase", self.lowercase),
             "max_length": (None if self.max_length is None
                            else check_int("max_length", self.max_length, 1))}
        spec = self._resolved_spec()
        if not spec.layers or spec.layers[0].kind != "embed":
            raise ParameterError("spec", str(spec), "a TextClassifier reads token ids, so its "
                                 "first hidden layer must be embed(dim)",
                                 "Write e.g. 'embed(64)-seqpool' or 'embed(64)-lstm(64)'.")
        return p

    def _prepare(self, X: Any, y: Any, fitting: bool) -> Samples:
        if fitting and y is None:
            self._encode_labels(None, fitting)          # raises the "requires y" message
        texts = check_texts(X)
        if y is not None and _num_samples(y) != len(texts):
            raise DataError(f"Found input variables with inconsistent numbers of samples: X "
                            f"has {len(texts)} texts, y has {_num_samples(y)}. Pass one label per text.")
        if fitting:
            p = self._check_params()
            self.tokenizer_ = Tokenizer(p["tokenizer"], max_vocab=p["max_vocab"],
                                        min_freq=p["min_freq"], lowercase=p["lowercase"],
                                        ngrams=p["ngrams"]).fit(texts)
        ids = self.tokenizer_.encode(texts, self.max_length)
        if fitting:
            _warn_low_coverage(ids, self.tokenizer_)
        labels = None if y is None else self._encode_labels(y, fitting)
        return Samples.from_sequences(ids, labels, dtype=torch.int64, param="max_length")

    def _build_module(self, p: dict[str, Any], samples: Samples, seed: int) -> torch.nn.Module:
        need = self.tokenizer_.vocab_size_
        for layer in p["spec"].layers:
            table = getattr(layer, "vocab", None)
            if layer.kind == "embed" and table is not None and min(table) < need:
                raise ParameterError("spec", self.spec, f"an embed table of at least {need} ids "
                                     f"(the tokenizer kept {need - 2} tokens plus padding and "
                                     f"unknown; this spec's embed has vocab={min(table)})",
                                     "Leave vocab= out of the spec (the TextClassifier sets it "
                                     f"from the tokenizer), or set max_vocab={min(table) - 2}.")
        spec = with_vocab(p["spec"], need)
        net = build(spec, in_shape=(int(samples.X.shape[1]),), out=len(self.classes_),
                    seed=seed, dtype=p["dtype"], device=p["device"])
        return require_sequence_layer(net, self.spec, "embed(64)-seqpool(mean)")

    def _fitted_state(self) -> dict[str, Any]:
        return {**self._classes_state(), "tokenizer_": self.tokenizer_.to_dict()}

    def _restore_state(self, state: dict[str, Any]) -> None:
        self._restore_classes(state)
        self.tokenizer_ = Tokenizer.from_dict(state["tokenizer_"])

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags


register_deep(TextClassifier)

__all__ = ["TextClassifier", "DEFAULT_TEXT_SPEC"]


def _warn_low_coverage(ids: list[np.ndarray], tokenizer: Tokenizer) -> None:
    """Warn when most training tokens fall outside the vocabulary (``max_vocab`` or
    ``min_freq`` too strict): the texts then read mostly as "unknown", and the classifier
    learns little more than the class frequencies."""
    total = sum(len(a) for a in ids)
    unknown = sum(int((a == OOV).sum()) for a in ids)
    if total and unknown / total > 0.5:
        warnings.warn(f"{unknown / total:.0%} of the training tokens are outside the vocabulary "
                      f"of {tokenizer.vocab_size_ - 2} tokens (max_vocab={tokenizer.max_vocab}, "
                      f"min_freq={tokenizer.min_freq}), so the texts read mostly as 'unknown'. "
                      "Raise max_vocab or lower min_freq.", UserWarning, stacklevel=4)
