"""Sequence-to-sequence: a bidirectional GRU encoder and a GRU decoder with attention.

``forward`` trains with teacher forcing; :meth:`Seq2Seq.greedy_decode` and
:meth:`Seq2Seq.beam_decode` generate (see ``_decode.py``). Token ids: ``pad`` (default 0) pads
sequences, ``bos`` (1) starts every decoder input, ``eos`` (2) ends every target.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .._errors import DataError, ParameterError
from .._validation import check_choice, check_float, check_int, check_memory
from ._decode import beam_search, greedy_search
from ._sequence import check_lengths, length_mask, lengths_from_padding

ATTENTIONS: tuple[str, ...] = ("bahdanau", "luong")


@dataclass(frozen=True)
class Seq2SeqConfig:
    """Sizes of a :class:`Seq2Seq` model (saved as JSON next to its weights).

    Parameters
    ----------
    src_vocab, tgt_vocab : int
        Vocabulary sizes including the special ids.
    emb_dim, hidden : int
        Embedding width; GRU hidden size (the encoder is bidirectional: ``2 * hidden`` memory).
    attention : str
        ``bahdanau`` (additive, from the previous decoder state) or ``luong`` (multiplicative
        "general" score, from the current state).
    dropout : float
        Dropout on embeddings and on the decoder output layer.
    pad, bos, eos : int
        Distinct special ids, below both vocabulary sizes (``bos``/``eos`` below ``tgt_vocab``).
    """

    src_vocab: int
    tgt_vocab: int
    emb_dim: int = 64
    hidden: int = 128
    attention: str = "bahdanau"
    dropout: float = 0.0
    pad: int = 0
    bos: int = 1
    eos: int = 2

    def __post_init__(self) -> None:
        check_int("src_vocab", self.src_vocab, 2)
        check_int("tgt_vocab", self.tgt_vocab, 4)
        check_int("emb_dim", self.emb_dim, 1)
        check_int("hidden", self.hidden, 1)
        check_choice("attention", self.attention, ATTENTIONS)
        check_float("dropout", self.dropout, 0.0, 1.0, high_open=True)
        for name in ("pad", "bos", "eos"):
            check_int(name, getattr(self, name), 0, self.tgt_vocab - 1)
        check_int("pad", self.pad, 0, self.src_vocab - 1)
        if len({self.pad, self.bos, self.eos}) != 3:
            raise ParameterError("bos", self.bos, f"pad, bos and eos must be distinct ids (got "
                                 f"{self.pad}, {self.bos}, {self.eos})", "Use pad=0, bos=1, eos=2.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class AdditiveAttention(nn.Module):
    """Bahdanau: ``score_s = v . tanh(W_k m_s + W_q q)``."""

    def __init__(self, query_dim: int, memory_dim: int, attn_dim: int) -> None:
        super().__init__()
        self.key = nn.Linear(memory_dim, attn_dim, bias=False)
        self.query = nn.Linear(query_dim, attn_dim)
        self.v = nn.Linear(attn_dim, 1, bias=False)

    def forward(self, query: torch.Tensor, keys: torch.Tensor, memory: torch.Tensor,
                mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scores = self.v(torch.tanh(keys + self.query(query)[:, None])).squeeze(-1)  # (B, S)
        weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)   # (B, S)
        return torch.bmm(weights[:, None], memory).squeeze(1), weights              # (B, M)


class GeneralAttention(nn.Module):
    """Luong "general": ``score_s = q . W m_s``."""

    def __init__(self, query_dim: int, memory_dim: int) -> None:
        super().__init__()
        self.key = nn.Linear(memory_dim, query_dim, bias=False)

    def forward(self, query: torch.Tensor, keys: torch.Tensor, memory: torch.Tensor,
                mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scores = torch.bmm(keys, query[:, :, None]).squeeze(-1)                     # (B, S)
        weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)   # (B, S)
        return torch.bmm(weights[:, None], memory).squeeze(1), weights              # (B, M)


class Encoder(nn.Module):
    """Embedding + bidirectional GRU over packed sources; units: the GRU state dims."""

    def __init__(self, cfg: Seq2SeqConfig) -> None:
        super().__init__()
        self.embed = nn.Embedding(cfg.src_vocab, cfg.emb_dim, padding_idx=cfg.pad)
        self.rnn = nn.GRU(cfg.emb_dim, cfg.hidden, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * cfg.hidden, cfg.hidden)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, src: torch.Tensor,
                lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        e = self.drop(self.embed(src))                                      # (B, S, E)
        packed = pack_padded_sequence(e, lengths, batch_first=True, enforce_sorted=False)
        out, h_n = self.rnn(packed)                                         # h_n (2, B, H)
        memory, _ = pad_packed_sequence(out, batch_first=True,
                                        total_length=src.shape[1])          # (B, S, 2H)
        state = torch.tanh(self.bridge(torch.cat([h_n[0], h_n[1]], -1)))    # (B, H)
        return memory, state


class Decoder(nn.Module):
    """One step: previous token + state -> logits over the target vocabulary."""

    def __init__(self, cfg: Seq2SeqConfig) -> None:
        super().__init__()
        emb, hid, mem = cfg.emb_dim, cfg.hidden, 2 * cfg.hidden
        self.additive = cfg.attention == "bahdanau"
        self.embed = nn.Embedding(cfg.tgt_vocab, emb, padding_idx=cfg.pad)
        self.attention: AdditiveAttention | GeneralAttention
        if self.additive:
            self.attention = AdditiveAttention(hid, mem, hid)
            self.cell = nn.GRUCell(emb + mem, hid)
            self.combine = nn.Linear(hid + mem + emb, hid)
        else:
            self.attention = GeneralAttention(hid, mem)
            self.cell = nn.GRUCell(emb, hid)
            self.combine = nn.Linear(hid + mem, hid)
        self.out = nn.Linear(hid, cfg.tgt_vocab)
        self.drop = nn.Dropout(cfg.dropout)

    def keys(self, memory: torch.Tensor) -> torch.Tensor:
        """Memory projected once per source, reused at every step."""
        return self.attention.key(memory)

    def step(self, token: torch.Tensor, state: torch.Tensor, memory: torch.Tensor,
             keys: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        e = self.drop(self.embed(token))                                    # (B, E)
        if self.additive:   # attend from the previous state, then update it
            context, _ = self.attention(state, keys, memory, mask)          # (B, 2H)
            state = self.cell(torch.cat([e, context], -1), state)           # (B, H)
            h = torch.tanh(self.combine(torch.cat([state, context, e], -1)))
        else:               # update the state, then attend from it
            state = self.cell(e, state)
            context, _ = self.attention(state, keys, memory, mask)
            h = torch.tanh(self.combine(torch.cat([state, context], -1)))   # (B, H)
        return self.out(self.drop(h)), state                                # (B, V), (B, H)


class Seq2Seq(nn.Module):
    """Encoder-decoder with attention, for "translation"-like tasks (spelling -> phonemes).

    Parameters
    ----------
    config : Seq2SeqConfig, optional
        Or give its fields as keywords.
    seed : int, optional
        Seeds the initialisation without touching the global RNG.

    Examples
    --------
    >>> model = Seq2Seq(src_vocab=30, tgt_vocab=40, emb_dim=8, hidden=16, seed=0)
    >>> src = torch.tensor([[5, 6, 7], [8, 9, 0]])          # 0 pads the second source
    >>> model(src, torch.tensor([3, 2]), tgt=torch.tensor([[9, 2], [4, 2]])).shape
    torch.Size([2, 2, 40])
    >>> model.greedy_decode(src, max_len=4).shape[0]
    2
    """

    def __init__(self, config: Seq2SeqConfig | None = None, *, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__()
        cfg = config if config is not None else Seq2SeqConfig(**kwargs)
        self.config = cfg
        # the vocabulary-sized tables dominate; refuse before allocating them (float32 estimate)
        n_vocab = (cfg.src_vocab + cfg.tgt_vocab) * cfg.emb_dim + cfg.tgt_vocab * (cfg.hidden + 1)
        check_memory("tgt_vocab" if cfg.tgt_vocab >= cfg.src_vocab else "src_vocab",
                     max(cfg.src_vocab, cfg.tgt_vocab), n_vocab * 4 * 4, "cpu")
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(check_int("seed", seed, 0))
            self.encoder = Encoder(cfg)
            self.decoder = Decoder(cfg)

    # ---- inputs ---------------------------------------------------------------------------
    def _ids(self, name: str, ids: Any, vocab: int) -> torch.Tensor:
        t = torch.as_tensor(ids)
        if t.dim() != 2 or t.shape[1] < 1 or t.dtype.is_floating_point or t.dtype == torch.bool:
            raise DataError(f"{name} must be a (B, T) tensor of integer ids with T >= 1; got "
                            f"shape {tuple(t.shape)}, dtype {t.dtype}.")
        t = t.long()
        bad = (t < 0) | (t >= vocab)
        if bool(bad.any()):
            b, j = (int(i) for i in bad.nonzero()[0])
            raise DataError(f"{name} id {int(t[b, j])} (row {b}, position {j}) is outside "
                            f"[0, {vocab}). Map unknown tokens to a known id, or rebuild with a "
                            "larger vocabulary.")
        return t.to(self.decoder.out.weight.device)

    def encode(self, src: Any, src_lengths: Any = None) -> dict[str, torch.Tensor]:
        """Run the encoder; returns memory ``(B, S, 2H)``, state ``(B, H)``, keys and mask."""
        src = self._ids("src", src, self.config.src_vocab)
        lens = (check_lengths(src_lengths, src.shape[0], src.shape[1]) if src_lengths is not None
                else lengths_from_padding(src, self.config.pad))
        memory, state = self.encoder(src, lens)
        mask = length_mask(lens, src.shape[1], src.device)
        assert mask is not None
        return {"memory": memory, "state": state, "keys": self.decoder.keys(memory), "mask": mask}

    # ---- training -------------------------------------------------------------------------
    def forward(self, src: Any, src_lengths: Any = None, tgt: Any = None) -> torch.Tensor:
        """Teacher-forced logits ``(B, T, tgt_vocab)`` for predicting ``tgt`` (``(B, T)`` ids that
        end with ``eos`` and are padded with ``pad``); the decoder reads ``[bos, tgt[:, :-1]]``."""
        if tgt is None:
            raise ParameterError("tgt", None, "forward needs the target sequences (teacher "
                                 "forcing)", "Pass tgt=..., or call greedy_decode / beam_decode "
                                 "to generate.")
        enc = self.encode(src, src_lengths)
        tgt = self._ids("tgt", tgt, self.config.tgt_vocab)
        start = torch.full_like(tgt[:, :1], self.config.bos)
        inputs = torch.cat([start, tgt[:, :-1]], dim=1)                     # (B, T)
        state, steps = enc["state"], []
        for t in range(inputs.shape[1]):
            logits, state = self.decoder.step(inputs[:, t], state, enc["memory"], enc["keys"],
                                              enc["mask"])
            steps.append(logits)
        return torch.stack(steps, dim=1)                                    # (B, T, V)

    def loss(self, src: Any, src_lengths: Any, tgt: Any) -> torch.Tensor:
        """Mean cross-entropy over the non-padding target tokens."""
        logits = self(src, src_lengths, tgt)
        target = self._ids("tgt", tgt, self.config.tgt_vocab)
        return F.cross_entropy(logits.transpose(1, 2), target, ignore_index=self.config.pad)

    # ---- generation -----------------------------------------------------------------------
    def log_probs(self, logits: torch.Tensor) -> torch.Tensor:
        """Log-probabilities used for decoding: ``pad`` and ``bos`` are never generated."""
        logits = logits.clone()
        logits[..., [self.config.pad, self.config.bos]] = float("-inf")
        return torch.log_softmax(logits, dim=-1)

    def sequence_log_prob(self, src: Any, src_lengths: Any, tgt: Any) -> torch.Tensor:
        """``(B,)`` log-probability of each target under the decoding distribution, summed up to
        and including its first ``eos`` (all tokens when there is none)."""
        logits = self(src, src_lengths, tgt)
        target = self._ids("tgt", tgt, self.config.tgt_vocab)
        picked = self.log_probs(logits).gather(-1, target[..., None]).squeeze(-1)   # (B, T)
        is_eos = (target == self.config.eos).long()
        keep = (is_eos.cumsum(1) - is_eos) == 0                            # up to the first eos
        return picked.masked_fill(~keep, 0.0).sum(1)

    def greedy_decode(self, src: Any, src_lengths: Any = None, max_len: int = 50) -> torch.Tensor:
        """Most likely next token at each step; ``(B, L)`` ids, ``pad`` after each ``eos``."""
        check_int("max_len", max_len, 1)
        return greedy_search(self, src, src_lengths, max_len)

    def beam_decode(self, src: Any, src_lengths: Any = None, beam_size: int = 4,
                    max_len: int = 50, length_penalty: float = 0.0
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Beam search: ``(sequences (B, K, L), scores (B, K))``, best first per source.

        Scores are summed log-probabilities, divided by ``((5 + length) / 6) ** length_penalty``
        (GNMT; 0 = raw sums). With ``beam_size=1`` this equals :meth:`greedy_decode`.
        """
        check_int("max_len", max_len, 1)
        check_int("beam_size", beam_size, 1, self.config.tgt_vocab - 2)
        check_float("length_penalty", length_penalty, 0.0, None)
        return beam_search(self, src, src_lengths, beam_size, max_len, length_penalty)


__all__ = ["Seq2Seq", "Seq2SeqConfig", "ATTENTIONS"]
