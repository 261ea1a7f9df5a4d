"""``lamina.Seq2Seq``: sequences of tokens -> sequences of tokens ("translation"), over the
encoder-decoder with attention :class:`lamina.nn.Seq2Seq`, with greedy or beam decoding.

A sequence is a string (its characters are the tokens) or a list/tuple of string tokens, so
``"cat" -> ("K", "AE1", "T")`` (spelling to phonemes) works as it is.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .._errors import DataError
from .._validation import check_choice, check_float, check_int
from ..nn import Seq2Seq as Seq2SeqModule
from ..nn import Seq2SeqConfig
from ..nn._seq2seq import ATTENTIONS
from ._deep import DeepEstimator, register_deep
from ._samples import BatchStream, Samples, check_fits

DECODERS: tuple[str, ...] = ("greedy", "beam")
PAD, UNK = 0, 1            # source ids: 0 pads, 1 stands for a token unseen in fit
BOS, EOS = 1, 2            # target ids: 0 pads, 1 starts the decoder input, 2 ends a target
_SRC_RESERVED, _TGT_RESERVED = 2, 3


class Seq2SeqNet(nn.Module):
    """Training view of a :class:`lamina.nn.Seq2Seq` (``.seq2seq``): ``forward(src,
    src_lengths, tgt)`` returns the teacher-forced logits of the non-padding target tokens,
    ``(N_tokens, tgt_vocab)``, the layout the Trainer's cross-entropy reads."""

    def __init__(self, config: Seq2SeqConfig, seed: int | None = None) -> None:
        super().__init__()
        self.seq2seq = Seq2SeqModule(config, seed=seed)

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor,
                tgt: torch.Tensor) -> torch.Tensor:
        logits = self.seq2seq(src, src_lengths, tgt)            # (B, T, V)
        return logits[tgt != self.seq2seq.config.pad]           # (N_tokens, V)

    def config(self) -> dict[str, Any]:
        return {"seq2seq": self.seq2seq.config.to_dict()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Seq2SeqNet:
        return cls(Seq2SeqConfig(**config["seq2seq"]))


class _PairStream(BatchStream):
    """Re-iterable ``(src, src_lengths, tgt, tgt_tokens)`` batches; reshuffled every pass,
    sources of similar length batched together, each batch padded to its own longest."""

    def _batch(self, idx: np.ndarray) -> tuple[torch.Tensor, ...]:
        s = self.samples
        assert s.lengths is not None and s.y is not None
        index = torch.as_tensor(idx)
        lens = s.lengths[index]
        src = s.X[index, :int(lens.max())]                              # (B, S)
        tgt = s.y[index]
        tgt = tgt[:, :int((tgt != PAD).sum(1).max())]                   # (B, T), ends in eos
        return src, lens, tgt, tgt[tgt != PAD]


class Seq2Seq(DeepEstimator):
    """Learn to map token sequences to token sequences; sklearn's parameter contract.

    ``fit(X, y)`` with ``X`` and ``y`` lists of sequences (strings, or lists/tuples of string
    tokens); ``predict(X)`` decodes an object array of outputs, strings when the targets were
    strings, tuples of tokens otherwise. Source tokens unseen in ``fit`` map to one "unknown" id.

    Parameters
    ----------
    emb_dim, hidden : int
        Embedding width and GRU size (the encoder is bidirectional).
    attention : str
        ``bahdanau`` (additive) or ``luong`` (multiplicative).
    dropout : float
        Dropout on embeddings and on the decoder output layer.
    decode : str
        ``greedy`` or ``beam`` (``beam_size`` hypotheses, GNMT ``length_penalty``).
    max_length : int, optional
        Longest output to generate; default twice the longest training target, plus 2.
    **common
        ``epochs`` (default 30), ``batch_size`` (64), ``lr`` (2e-3), ``clip_norm`` (1.0),
        ``patience`` (3), ...: see :class:`DeepEstimator`. The validation metric is the
        teacher-forced token accuracy.

    Attributes
    ----------
    module_ : Seq2SeqNet
        ``module_.seq2seq`` is the :class:`lamina.nn.Seq2Seq`.
    src_tokens_, tgt_tokens_ : list of str
        Vocabularies; source id ``k`` is ``src_tokens_[k - 2]``, target id ``k`` is
        ``tgt_tokens_[k - 3]``.
    max_length_ : int
    validation_scores_, best_validation_score_ : list of float, float
        Validation token accuracy (teacher-forced) per epoch, and that of the epoch whose
        weights were kept (the lowest ``val_loss``; see :class:`DeepEstimator`); None without
        ``early_stopping``.

    Examples
    --------
    >>> import lamina
    >>> words = ["abc", "bca", "cab", "acb"] * 20
    >>> est = lamina.Seq2Seq(emb_dim=8, hidden=16, epochs=30, random_state=0)
    >>> est.fit(words, [w[::-1] for w in words]).predict(["abc"]).shape   # doctest: +SKIP
    (1,)
    """

    hidden_features_supported = False   # one vector per token, not per sample

    _loss = "cross_entropy"
    _metrics = ("accuracy",)

    def __init__(self, *, emb_dim: int = 64, hidden: int = 128, attention: str = "bahdanau",
                 dropout: float = 0.1, decode: str = "greedy", beam_size: int = 4,
                 length_penalty: float = 0.0, max_length: int | None = None, epochs: int = 30,
                 batch_size: int = 64, lr: float = 2e-3, optimizer: str = "adam",
                 weight_decay: float = 0.0, schedule: str = "constant",
                 clip_norm: float | None = 1.0, early_stopping: bool = True,
                 validation_fraction: float = 0.1, patience: int = 3, random_state: Any = None,
                 device: Any = "cpu", dtype: Any = "float32", verbose: bool = False) -> None:
        super().__init__(None, epochs=epochs, batch_size=batch_size, lr=lr,
                         optimizer=optimizer, weight_decay=weight_decay, schedule=schedule,
                         clip_norm=clip_norm, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, patience=patience,
                         random_state=random_state, device=device, dtype=dtype,
                         verbose=verbose)
        self.emb_dim = emb_dim
        self.hidden = hidden
        self.attention = attention
        self.dropout = dropout
        self.decode = decode
        self.beam_size = beam_size
        self.length_penalty = length_penalty
        self.max_length = max_length

    # ------------------------------------------------------------------ hooks
    def _resolved_spec(self) -> Any:
        return None   # the architecture is emb_dim / hidden / attention, not a layer spec

    def _check_params(self) -> dict[str, Any]:
        return {"emb_dim": check_int("emb_dim", self.emb_dim, 1),
                "hidden": check_int("hidden", self.hidden, 1),
                "attention": check_choice("attention", self.attention, ATTENTIONS),
                "dropout": check_float("dropout", self.dropout, 0.0, 1.0, high_open=True),
                "decode": check_choice("decode", self.decode, DECODERS),
                "beam_size": check_int("beam_size", self.beam_size, 1),
                "length_penalty": check_float("length_penalty", self.length_penalty, 0.0),
                "max_length": (None if self.max_length is None
                               else check_int("max_length", self.max_length, 1))}

    def _prepare(self, X: Any, y: Any, fitting: bool) -> Samples:
        src = tokenize(X, "X")
        if fitting:
            if y is None:
                raise DataError("Seq2Seq requires y to be passed, but the target y is None. "
                                "Pass the target sequences as fit(X, y).")
            tgt = tokenize(y, "y")
            if len(tgt) != len(src):
                raise DataError(f"Found input variables with inconsistent numbers of samples: "
                                f"X has {len(src)} sequences, y has {len(tgt)}. Pass one target "
                                "per source.")
            self.src_tokens_ = sorted({t for s in src for t in s})
            self.tgt_tokens_ = sorted({t for s in tgt for t in s})
            self.text_output_ = all(isinstance(s, str) for s in _as_list(y))
            longest = max(len(t) for t in tgt)
            self.max_length_ = (int(self.max_length) if self.max_length is not None
                                else 2 * longest + 2)
        src_ids = {t: i + _SRC_RESERVED for i, t in enumerate(self.src_tokens_)}
        X_ids, lengths = _pad([[src_ids.get(t, UNK) for t in s] for s in src], "X")
        y_ids = None
        if fitting:
            tgt_ids = {t: i + _TGT_RESERVED for i, t in enumerate(self.tgt_tokens_)}
            y_ids, _ = _pad([[tgt_ids[t] for t in s] + [EOS] for s in tgt], "y")
        return Samples(X_ids, y_ids, lengths)

    def _build_module(self, p: dict[str, Any], samples: Samples, seed: int) -> torch.nn.Module:
        config = Seq2SeqConfig(src_vocab=len(self.src_tokens_) + _SRC_RESERVED,
                               tgt_vocab=len(self.tgt_tokens_) + _TGT_RESERVED,
                               emb_dim=p["emb_dim"], hidden=p["hidden"],
                               attention=p["attention"], dropout=p["dropout"],
                               pad=PAD, bos=BOS, eos=EOS)
        return Seq2SeqNet(config, seed=seed)

    def _trainer_data(self, samples: Samples, batch_size: int, shuffle: bool, seed: int) -> Any:
        return _PairStream(samples, batch_size, shuffle, seed)

    @classmethod
    def _module_from_config(cls, config: dict[str, Any]) -> torch.nn.Module:
        return Seq2SeqNet.from_config(config)

    # ------------------------------------------------------------------ inference
    def predict(self, X: Any) -> np.ndarray:
        """Decode each source (``decode="greedy"`` or ``"beam"``); an object array of strings
        (when the training targets were strings) or tuples of tokens."""
        self._check_fitted()
        p = self._check_params()
        samples = self._prepare(X, None, fitting=False)
        max_len = self.max_length_

        def run(module: Seq2SeqNet, src: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
            if p["decode"] == "beam":
                beam = min(p["beam_size"], module.seq2seq.config.tgt_vocab - 2)
                seqs, _ = module.seq2seq.beam_decode(src, lengths, beam_size=beam,
                                                     max_len=max_len,
                                                     length_penalty=p["length_penalty"])
                out = seqs[:, 0]                                        # best hypothesis
            else:
                out = module.seq2seq.greedy_decode(src, lengths, max_len=max_len)
            return nn.functional.pad(out, (0, max_len - out.shape[1]), value=PAD)

        ids = self._outputs(samples, fn=run).astype(np.int64)          # (N, max_len)
        result = np.empty(len(ids), dtype=object)
        for i, row in enumerate(ids):
            tokens = []
            for k in row:
                if k == EOS or k == PAD:
                    break
                tokens.append(self.tgt_tokens_[k - _TGT_RESERVED])
            result[i] = "".join(tokens) if self.text_output_ else tuple(tokens)
        return result

    def score(self, X: Any, y: Any) -> float:
        """Sequence accuracy: the share of sources whose decoded output equals its target
        exactly (1 - word error rate when the targets are pronunciations or words).

        ``y`` is one target per source, as in ``fit``: strings or lists of string tokens.
        Targets holding tokens never seen in ``fit`` simply count as errors.

        Examples
        --------
        >>> est.score(["abc"], ["cba"])               # doctest: +SKIP
        1.0
        """
        self._check_fitted()
        truth = [tuple(seq) for seq in tokenize(y, "y")]
        pred = self.predict(X)
        if len(truth) != len(pred):
            raise DataError(f"y has {len(truth)} sequences but X has {len(pred)}; pass one "
                            "target sequence per source.")
        hits = sum(tuple(p) == t for p, t in zip(pred, truth))
        return hits / len(truth)

    # ------------------------------------------------------------------ inspection
    # ablation and gradient flow need one loss per example; a Seq2Seq's is one per target token
    _per_token_loss = True
    # its network reads the targets (teacher forcing): network_batches needs y for any analysis
    _inputs_need_y = True

    def network_batches(self, X: Any, y: Any = None, batch_size: int = 256
                        ) -> Iterator[tuple[tuple[torch.Tensor, ...], torch.Tensor | None]]:
        """``((src, src_lengths, tgt), None)`` per batch, in input order: the decoder reads the
        target sequences ``y`` (teacher forcing, as in training), so inspecting a Seq2Seq needs
        them. Target tokens must be ones seen in ``fit``.

        Examples
        --------
        >>> ins = lamina.inspect(est, words, [w[::-1] for w in words])   # doctest: +SKIP
        """
        self._check_fitted()
        check_int("batch_size", batch_size, 1)
        if y is None:
            raise DataError("a Seq2Seq's decoder reads the target sequences (teacher forcing), "
                            "so inspecting it needs them: pass y, e.g. lamina.inspect(est, X, "
                            "y) with one target sequence per source.")
        samples = self._prepare(X, None, fitting=False)
        samples.y = self._targets(y, len(samples))
        # the training batches' layout (each padded to its own longest), in input order
        stream = _PairStream(samples, batch_size, shuffle=False, seed=0)
        for start in range(0, len(samples), batch_size):
            src, lens, tgt, _ = stream._batch(np.arange(start, min(start + batch_size,
                                                                   len(samples))))
            yield (src, lens, tgt), None

    def _targets(self, y: Any, n: int) -> torch.Tensor:
        """``(n, T)`` target ids (each ends with eos) of sequences made of known tokens."""
        tgt = tokenize(y, "y")
        if len(tgt) != n:
            raise DataError(f"y has {len(tgt)} sequences but X has {n}; pass one target "
                            "sequence per source.")
        ids = {t: i + _TGT_RESERVED for i, t in enumerate(self.tgt_tokens_)}
        unseen = sorted({t for seq in tgt for t in seq if t not in ids})
        if unseen:
            raise DataError(f"y holds tokens {unseen[:5]!r} that were not in the training "
                            "targets; the decoder has no id for them. Pass targets made of the "
                            "tokens seen in fit (est.tgt_tokens_).")
        rows, _ = _pad([[ids[t] for t in seq] + [EOS] for seq in tgt], "y")
        return rows

    # ------------------------------------------------------------------ persistence
    def _fitted_state(self) -> dict[str, Any]:
        return {"src_tokens_": list(self.src_tokens_), "tgt_tokens_": list(self.tgt_tokens_),
                "text_output_": bool(self.text_output_), "max_length_": int(self.max_length_)}

    def _restore_state(self, state: dict[str, Any]) -> None:
        self.src_tokens_ = list(state["src_tokens_"])
        self.tgt_tokens_ = list(state["tgt_tokens_"])
        self.text_output_ = bool(state["text_output_"])
        self.max_length_ = int(state["max_length_"])


def _as_list(seqs: Any) -> list[Any]:
    if isinstance(seqs, str):
        raise DataError("expected a list of sequences, got one string. Wrap it: [text].")
    if isinstance(seqs, np.ndarray):
        return list(seqs.ravel()) if seqs.dtype == object or seqs.ndim == 1 else list(seqs)
    if isinstance(seqs, Sequence) or hasattr(seqs, "__iter__"):
        return list(seqs)
    raise DataError(f"expected a list of sequences, got {type(seqs).__name__}.")


def tokenize(seqs: Any, name: str) -> list[Sequence[str]]:
    """Each sequence as its tokens: a string's characters, or a list/tuple of strings."""
    out: list[Sequence[str]] = []
    for i, s in enumerate(_as_list(seqs)):
        if isinstance(s, str):
            tokens: Sequence[str] = s
        elif isinstance(s, (list, tuple, np.ndarray)) and all(isinstance(t, str) for t in s):
            tokens = tuple(s)
        else:
            raise DataError(f"{name}[{i}] is {type(s).__name__} {s!r:.60}; each sequence must be "
                            "a string (tokens = characters) or a list of string tokens.")
        if len(tokens) == 0:
            raise DataError(f"{name}[{i}] is empty; every sequence needs at least one token. "
                            "Drop empty pairs before fitting/predicting.")
        out.append(tokens)
    if not out:
        raise DataError(f"{name} holds no sequences (0 samples). Pass at least one.")
    return out


def _pad(rows: list[list[int]], name: str) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(r) for r in rows], dtype=torch.int64)
    longest = int(lengths.max())
    # refuse before allocating: one very long sequence pads every other one to its length
    check_fits(name, len(rows) * longest * 8, f"{len(rows)} sequences padded to the longest, "
               f"T={longest}", "Drop or split the longest sequences, or pass fewer at a time.")
    out = torch.zeros(len(rows), longest, dtype=torch.int64)
    for i, r in enumerate(rows):
        out[i, :len(r)] = torch.as_tensor(r, dtype=torch.int64)
    return out, lengths


register_deep(Seq2Seq)

__all__ = ["Seq2Seq", "Seq2SeqNet", "tokenize", "DECODERS"]
