"""``AttentionBlock`` (pre-norm transformer encoder block) and ``SeqPool`` (pooling over time)."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._errors import DataError, SpecError
from ..spec import AttentionSpec, SeqPoolSpec
from ._activations import make_activation
from ._registry import register_module
from ._sequence import check_activation_memory, check_lengths, check_sequence, length_mask

Shape = tuple[int, ...]
# scores, softmax and their gradient: the T x T maps a forward+backward keeps alive per head
_ATTENTION_MAPS = 3


def sinusoidal_positions(steps: int, dim: int, device: torch.device,
                         dtype: torch.dtype) -> torch.Tensor:
    """``(T, dim)`` table: ``sin(t / 10000^(2i/dim))`` at even features, ``cos`` at odd ones."""
    t = torch.arange(steps, device=device, dtype=torch.float64)[:, None]            # (T, 1)
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float64)
                     * (-math.log(10000.0) / dim))                                  # (ceil(D/2),)
    table = torch.zeros(steps, dim, device=device, dtype=torch.float64)
    table[:, 0::2] = torch.sin(t * freq)
    table[:, 1::2] = torch.cos(t * freq[: dim // 2])
    return table.to(dtype)


class AttentionBlock(nn.Module):
    """Pre-norm transformer encoder block; a unit is a feature of the output (the last axis).

    ``forward(x, lengths)``: ``x`` is ``(B, T, features)``; steps at or past each sequence's
    length are masked out of the attention (as keys) and come out as zeros.
    """

    unit_axis = -1
    takes_lengths = True
    sequence_role = "keep"

    def __init__(self, in_shape: Shape, spec: AttentionSpec) -> None:
        super().__init__()
        self.spec = spec
        self.max_steps, self.in_features = in_shape
        dim, ff = spec.dim, int(spec.ff or 4 * spec.dim)
        self.heads = spec.heads
        self.proj: nn.Module = (nn.Linear(self.in_features, dim) if self.in_features != dim
                                else nn.Identity())
        self.pos = (nn.Parameter(0.02 * torch.randn(self.max_steps, dim))
                    if spec.pos == "learned" else None)
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.ff1 = nn.Linear(dim, ff)
        self.act = make_activation(spec.activation)
        self.ff2 = nn.Linear(ff, dim)
        self.drop = nn.Dropout(spec.dropout)

    def forward(self, x: torch.Tensor, lengths: Any = None) -> torch.Tensor:
        check_sequence(x, self.in_features, str(self.spec))
        batch, steps, _ = x.shape
        if self.pos is not None and steps > self.max_steps:
            raise DataError(f"{self.spec} has learned positions for up to {self.max_steps} steps; "
                            f"got sequences padded to {steps}. Truncate them, or rebuild with a "
                            "larger in_shape T or pos=sinusoidal.")
        check_activation_memory("lengths", f"{batch} sequences of {steps} steps",
                                batch * self.heads * steps * steps * x.element_size()
                                * _ATTENTION_MAPS, x.device)
        valid = length_mask(check_lengths(lengths, batch, steps), steps, x.device)    # (B, T)
        if valid is not None:
            x = x.masked_fill(~valid[..., None], 0.0)     # padded steps may hold NaN: drop them
        h = self.proj(x)                                                          # (B, T, D)
        if self.pos is not None:
            h = h + self.pos[:steps]
        elif self.spec.pos == "sinusoidal":
            h = h + sinusoidal_positions(steps, self.spec.dim, x.device, h.dtype)
        # self-attention branch
        a = self.norm1(h)
        q, k, v = (self.qkv(a).view(batch, steps, 3, self.heads, -1)
                   .permute(2, 0, 3, 1, 4))                                       # 3x (B, h, T, d)
        keys = valid[:, None, None, :] if valid is not None else None              # (B, 1, 1, T)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=keys,
                                           dropout_p=self.drop.p if self.training else 0.0)
        a = a.transpose(1, 2).reshape(batch, steps, -1)                            # (B, T, D)
        h = h + self.drop(self.out(a))
        # feed-forward hidden layer branch
        f = self.ff2(self.drop(self.act(self.ff1(self.norm2(h)))))                 # (B, T, D)
        h = h + self.drop(f)
        if valid is not None:
            h = h.masked_fill(~valid[..., None], 0.0)
        return h                                                                   # (B, T, D)


class SeqPool(nn.Module):
    """Pools ``(B, T, features) -> (B, features)`` over each sequence's valid steps."""

    unit_axis = -1
    takes_lengths = True
    sequence_role = "reduce"

    def __init__(self, in_shape: Shape, spec: SeqPoolSpec) -> None:
        super().__init__()
        self.spec = spec
        self.in_features = in_shape[-1]

    def forward(self, x: torch.Tensor, lengths: Any = None) -> torch.Tensor:
        check_sequence(x, self.in_features, str(self.spec))
        batch, steps, _ = x.shape
        lens = check_lengths(lengths, batch, steps)
        mode = self.spec.mode
        if mode == "cls":
            return x[:, 0]                                                         # (B, F)
        if mode == "last":
            last = (lens - 1 if lens is not None
                    else torch.full((batch,), steps - 1, dtype=torch.int64)).to(x.device)
            return x[torch.arange(batch, device=x.device), last]                   # (B, F)
        valid = length_mask(lens, steps, x.device)
        if mode == "max":
            if valid is not None:
                x = x.masked_fill(~valid[..., None], float("-inf"))
            return x.amax(dim=1)                                                   # (B, F)
        if valid is None:
            return x.mean(dim=1)                                                   # (B, F)
        total = x.masked_fill(~valid[..., None], 0.0).sum(dim=1)
        return total / valid.sum(dim=1, keepdim=True).to(x.dtype)                  # (B, F)


def _sequence_shape(spec: Any, in_shape: Shape) -> None:
    if len(in_shape) != 2:
        raise SpecError("spec", str(spec), f"a {spec.kind} layer needs a sequence input of shape "
                        f"(T, features), but its input has shape {tuple(in_shape)}",
                        "Pass in_shape=(T, features) to build, or put it after embed, a recurrent "
                        "layer with readout=seq, or attn.")


def _attention_factory(spec: AttentionSpec, in_shape: Shape,
                       generator: torch.Generator | None) -> tuple[nn.Module, Shape]:
    _sequence_shape(spec, in_shape)
    steps = in_shape[0]
    # one sequence's attention maps must fit, or no batch ever will (float32 estimate)
    check_activation_memory("in_shape", tuple(in_shape),
                            spec.heads * steps * steps * 4 * _ATTENTION_MAPS, "cpu")
    return AttentionBlock(in_shape, spec), (steps, spec.dim)


def _seqpool_factory(spec: SeqPoolSpec, in_shape: Shape,
                     generator: torch.Generator | None) -> tuple[nn.Module, Shape]:
    _sequence_shape(spec, in_shape)
    return SeqPool(in_shape, spec), (in_shape[1],)


register_module("attn", _attention_factory)
register_module("seqpool", _seqpool_factory)

__all__ = ["AttentionBlock", "SeqPool", "sinusoidal_positions"]
