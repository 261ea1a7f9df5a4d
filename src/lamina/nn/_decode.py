"""Greedy and beam-search decoding for :class:`~lamina.nn.Seq2Seq` (eval mode, no gradients)."""

from __future__ import annotations

from typing import Any

import torch

# Seq2Seq imports this module; the model is typed loosely here to keep the import one-way.


def _eval(model: Any) -> bool:
    was_training = bool(model.training)
    model.eval()   # dropout off: decoding must be deterministic
    return was_training


def greedy_search(model: Any, src: Any, src_lengths: Any, max_len: int) -> torch.Tensor:
    cfg = model.config
    was_training = _eval(model)
    try:
        with torch.no_grad():
            enc = model.encode(src, src_lengths)
            state = enc["state"]
            batch = state.shape[0]
            token = torch.full((batch,), cfg.bos, dtype=torch.long, device=state.device)
            done = torch.zeros(batch, dtype=torch.bool, device=state.device)
            out = []
            for _ in range(max_len):
                logits, state = model.decoder.step(token, state, enc["memory"], enc["keys"],
                                                   enc["mask"])
                token = model.log_probs(logits).argmax(-1)                   # (B,)
                token = token.masked_fill(done, cfg.pad)                     # finished: pad
                out.append(token)
                done = done | (token == cfg.eos)
                if bool(done.all()):
                    break
            return torch.stack(out, dim=1)                                   # (B, L)
    finally:
        model.train(was_training)


def beam_search(model: Any, src: Any, src_lengths: Any, beam_size: int, max_len: int,
                length_penalty: float) -> tuple[torch.Tensor, torch.Tensor]:
    cfg = model.config
    was_training = _eval(model)
    try:
        with torch.no_grad():
            enc = model.encode(src, src_lengths)
            batch, k = enc["state"].shape[0], beam_size
            # every source's state/memory repeated for its k hypotheses: rows b*k .. b*k+k-1
            enc = {name: t.repeat_interleave(k, dim=0) for name, t in enc.items()}
            state = enc["state"]
            device = state.device
            vocab = cfg.tgt_vocab
            dtype = state.dtype
            scores = torch.full((batch, k), float("-inf"), device=device, dtype=dtype)
            scores[:, 0] = 0.0          # start from one hypothesis, so the k first picks differ
            token = torch.full((batch * k,), cfg.bos, dtype=torch.long, device=device)
            done = torch.zeros(batch * k, dtype=torch.bool, device=device)
            length = torch.zeros(batch * k, device=device, dtype=dtype)
            history = torch.zeros(batch * k, 0, dtype=torch.long, device=device)
            # a finished hypothesis can only continue with pad, at no cost
            pad_row = torch.full((vocab,), float("-inf"), device=device, dtype=dtype)
            pad_row[cfg.pad] = 0.0
            rows = torch.arange(batch, device=device)[:, None] * k            # (B, 1)
            for _ in range(max_len):
                logits, state = model.decoder.step(token, state, enc["memory"], enc["keys"],
                                                   enc["mask"])
                logp = model.log_probs(logits)                                # (B*k, V)
                logp = torch.where(done[:, None], pad_row, logp)
                cand = (scores.reshape(-1, 1) + logp).reshape(batch, k * vocab)
                scores, flat = cand.topk(k, dim=1)                            # (B, k) sorted
                parent = (rows + flat // vocab).reshape(-1)                   # (B*k,) source rows
                token = (flat % vocab).reshape(-1)
                state, done, length = state[parent], done[parent], length[parent]
                history = torch.cat([history[parent], token[:, None]], dim=1)
                length = length + (~done).to(dtype)                              # counts the eos
                done = done | (token == cfg.eos)
                if bool(done.all()):
                    break
            seqs = history.reshape(batch, k, -1)                              # (B, k, L)
            if length_penalty:
                norm = ((5.0 + length.reshape(batch, k)) / 6.0) ** length_penalty
                scores = scores / norm
                order = scores.argsort(dim=1, descending=True)
                scores = scores.gather(1, order)
                seqs = seqs.gather(1, order[..., None].expand_as(seqs))
            return seqs, scores
    finally:
        model.train(was_training)


__all__ = ["greedy_search", "beam_search"]
