"""Preallocated activation and gradient buffers for one batch size, and the epoch's batches.

A :class:`BatchBuffers` holds everything one training step writes, for B samples and the
stacked shape ``lead`` (``()`` for one network, ``(P,)`` for a population). An epoch uses at most
two of them (the full batch size and the last, smaller batch), and they are kept across epochs,
so steady-state training allocates nothing but a few 0-d results.

The head works class-major: its outputs, their gradient and the batch targets are ``(C, B)``
(``(P, C, B)`` for a population). With few outputs (C = 10) that makes the head's GEMMs wide
(B columns instead of C) and the softmax run along a strided axis with B contiguous lanes, both
about twice as fast as the ``(B, C)`` layout on CPU.

The batch inputs are not copied into buffers: :meth:`BatchPlan.epoch` gathers the permuted rows
of X and of the targets chunk by chunk (many batches per gather), and :meth:`BatchBuffers.bind`
re-points the input tensors at a batch's rows with ``Tensor.set_`` (no copy, one call each).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ._activations import Activation

# rows gathered per chunk: about this many elements of X and targets together (16 MiB float32)
_CHUNK_ELEMENTS = 1 << 22


@dataclass
class BatchBuffers:
    """Buffers for one batch size; per-layer lists are indexed like the network's steps."""

    n: int                       # samples in the batch
    x: Tensor                    # (B, in) the batch inputs (re-pointed by bind)
    t: Tensor                    # (C, B) the batch targets, class-major (re-pointed by bind)
    tf: Tensor                   # (C*B,) the same targets, flat
    z: list[Tensor]              # (*lead, B, o) pre-activations; the head's is (*lead, C, B)
    a: list[Tensor]              # (*lead, B, o) post-activations (same tensor as z unless needed)
    mask: list[Tensor | None]    # (*lead, B, o) dropout masks
    h: list[Tensor]              # the input each layer reads: x, then a or dropped a
    gz: list[Tensor]             # gradient w.r.t. each pre-activation, shaped like z
    gzT: list[Tensor]            # transposed views of gz, for the GEMMs
    ones: Tensor                 # (B,): bias gradients as a GEMV
    out3: Tensor                 # the head's output as (P, C, B)
    g3: Tensor                   # the head's gradient as (P, C, B)
    work3: Tensor                # scratch for the loss, (P, C, B)
    xT: Tensor | None = None     # x transposed, (*lead, in, B): read by a head-only network
    lead: bool = False           # a population (stacked members)

    def bind(self, xv: Tensor, tv: Tensor, tfv: Tensor) -> None:
        """Point the batch inputs at rows ``xv`` (B, in) and targets ``tv`` / ``tfv``."""
        h0 = self.h[0]
        if h0 is self.x:
            h0.set_(xv)  # type: ignore[call-overload]  # set_(Tensor) exists at runtime
        else:                                    # a population reads x expanded to (P, B, in)
            h0.set_(xv.untyped_storage(), xv.storage_offset(), h0.shape, (0, xv.stride(0), 1))
        if self.xT is not None:
            lead = (0,) if self.xT.dim() == 3 else ()
            self.xT.set_(xv.untyped_storage(), xv.storage_offset(), self.xT.shape,
                         (*lead, 1, xv.stride(0)))
        if self.lead:                            # one network reads only the flat targets
            self.t.set_(tv)  # type: ignore[call-overload]
        self.tf.set_(tfv)  # type: ignore[call-overload]


def make_buffers(n: int, lead: tuple[int, ...], n_in: int, widths: Sequence[int],
                 acts: Sequence[Activation], dropouts: Sequence[bool], n_targets: int,
                 dtype: torch.dtype, device: torch.device) -> BatchBuffers:
    """Allocate the buffers of a batch of ``n`` samples (see :class:`BatchBuffers`)."""
    kw: dict[str, Any] = {"dtype": dtype, "device": device}
    x = torch.empty(n, n_in, **kw)
    t = torch.empty(n_targets, n, **kw)
    z, a, mask, gz = [], [], [], []
    h: list[Tensor] = [x if not lead else torch.empty(*lead, n, n_in, **kw)]
    for k, (width, act, drop) in enumerate(zip(widths, acts, dropouts)):
        shape = (*lead, n, width) if k < len(widths) - 1 else (*lead, width, n)
        zi = torch.empty(shape, **kw)
        ai = torch.empty(shape, **kw) if act.keep_pre else zi
        z.append(zi)
        a.append(ai)
        mask.append(torch.empty(shape, **kw) if drop else None)
        h.append(torch.empty(shape, **kw) if drop else ai)
        gz.append(torch.empty(shape, **kw))
    h.pop()                       # the head's output feeds no layer
    p = lead[0] if lead else 1
    work = torch.empty_like(z[-1])
    c = widths[-1]
    xT = torch.empty(*lead, n_in, n, **kw) if len(widths) == 1 else None
    return BatchBuffers(n, x, t, t.view(-1), z, a, mask, h, gz,
                        [g.transpose(-2, -1) for g in gz], torch.ones(n, **kw),
                        z[-1].view(p, c, n), gz[-1].view(p, c, n), work.view(p, c, n), xT,
                        bool(lead))


class BatchPlan:
    """Splits an epoch into batches; the gather buffers and all their per-batch views are made
    once per (N, batch size, widths) and reused every epoch, so an epoch costs a few gathers
    and copies per chunk of batches, and nothing per batch."""

    def __init__(self) -> None:
        self._key: tuple[Any, ...] | None = None
        self._chunks: list[tuple[Any, ...]] = []

    def _build(self, N: int, n_in: int, C: int, B: int, like: Tensor) -> None:
        rows = min(N, B * max(1, _CHUNK_ELEMENTS // (B * (n_in + 2 * C))))
        kw: dict[str, Any] = {"dtype": like.dtype, "device": like.device}
        xall, tall = torch.empty(rows, n_in, **kw), torch.empty(rows, C, **kw)
        kmax = rows // B
        ball = torch.empty(kmax * C * B, **kw)
        self._chunks = []
        for start in range(0, N, rows):
            m = min(rows, N - start)
            k, r = divmod(m, B)
            xbuf, tbuf = xall[:m], tall[:m]
            blocks = ball[:k * C * B].view(k, C, B)       # batch j's targets, class-major
            src = tbuf[:k * B].view(k, B, C).transpose(1, 2)
            last = torch.empty(C, r, **kw) if r else None
            tblocks = list(blocks.unbind(0)) + ([last] if last is not None else [])
            flats = [t.view(-1) for t in tblocks]
            sizes = [B] * k + ([r] if r else [])
            views = list(zip(xbuf.split_with_sizes(sizes), tblocks, flats))
            self._chunks.append((start, m, xbuf, tbuf, blocks, src, last, views))

    def epoch(self, X: Tensor, T: Tensor, perm: Tensor | None,
              B: int) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
        """Yield ``(x_rows (B, in), t_block (C, B), t_block_flat (C*B,))`` per batch in the
        order of ``perm`` (None: the data order; X is then read in place, without a copy)."""
        N, C = X.shape[0], T.shape[1]
        key = (N, X.shape[1], C, B, X.dtype, X.device)
        if key != self._key:
            self._build(N, X.shape[1], C, B, X)
            self._key = key
        if perm is None:
            X = X.contiguous()
        for start, m, xbuf, tbuf, blocks, src, last, views in self._chunks:
            if perm is None:        # no gather: T rows are copied, X rows are views of X
                tbuf.copy_(T[start:start + m])
                xs = X[start:start + m].split_with_sizes([v[0].shape[0] for v in views])
                views = [(xv, tv, fv) for xv, (_, tv, fv) in zip(xs, views)]
            else:
                idx = perm[start:start + m]
                torch.index_select(X, 0, idx, out=xbuf)
                torch.index_select(T, 0, idx, out=tbuf)
            blocks.copy_(src)
            if last is not None:
                last.copy_(tbuf[blocks.shape[0] * B:].t())
            yield from views
