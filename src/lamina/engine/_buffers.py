"""Preallocated activation and gradient buffers for one batch size, and the batch iterator.

A :class:`BatchBuffers` holds everything one training step writes, for B samples and the
stacked shape ``lead`` (``()`` for one network, ``(P,)`` for a population). An epoch uses at most
two of them (the full batch size and the last, smaller batch), and they are kept across epochs,
so steady-state training allocates nothing but a few 0-d results.

The batch inputs are not copied into buffers: :func:`batches` gathers the permuted rows of X
and of the targets chunk by chunk (many batches per gather), and :meth:`BatchBuffers.bind`
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
    t: Tensor                    # (B, C) the batch targets (re-pointed by bind)
    tf: Tensor                   # (B*C,) the same targets, flat
    z: list[Tensor]              # (*lead, B, o) pre-activations
    a: list[Tensor]              # (*lead, B, o) post-activations (same tensor as z unless needed)
    mask: list[Tensor | None]    # (*lead, B, o) dropout masks
    h: list[Tensor]              # the input each layer reads: x, then a or dropped a
    gz: list[Tensor]             # (*lead, B, o) gradient w.r.t. each pre-activation
    gzT: list[Tensor]            # transposed views of gz, for the weight-gradient GEMMs
    ones: Tensor                 # (B,): bias gradients as a GEMV
    out3: Tensor                 # the head's output as (P, B, C)
    g3: Tensor                   # the head's gradient as (P, B, C)
    work3: Tensor                # scratch for the loss, (P, B, C)

    def bind(self, xv: Tensor, tv: Tensor, tfv: Tensor) -> None:
        """Point the batch inputs at rows ``xv`` (B, in) and targets ``tv`` / ``tfv``."""
        h0 = self.h[0]
        if h0 is self.x:
            h0.set_(xv)
        else:                                    # a population reads x expanded to (P, B, in)
            h0.set_(xv.untyped_storage(), xv.storage_offset(), h0.shape,
                    (0, xv.stride(0), 1))
        self.t.set_(tv)
        self.tf.set_(tfv)


def make_buffers(n: int, lead: tuple[int, ...], n_in: int, widths: Sequence[int],
                 acts: Sequence[Activation], dropouts: Sequence[bool], n_targets: int,
                 dtype: torch.dtype, device: torch.device) -> BatchBuffers:
    """Allocate the buffers of a batch of ``n`` samples (see :class:`BatchBuffers`)."""
    kw: dict[str, Any] = {"dtype": dtype, "device": device}
    x = torch.empty(n, n_in, **kw)
    t = torch.empty(n, n_targets, **kw)
    z, a, mask, gz = [], [], [], []
    h: list[Tensor] = [x if not lead else torch.empty(*lead, n, n_in, **kw)]
    for width, act, drop in zip(widths, acts, dropouts):
        shape = (*lead, n, width)
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
    return BatchBuffers(n, x, t, t.view(-1), z, a, mask, h, gz,
                        [g.transpose(-2, -1) for g in gz], torch.ones(n, **kw),
                        z[-1].view(p, n, -1), gz[-1].view(p, n, -1), work.view(p, n, -1))


class ChunkStore:
    """Reusable gather targets for the permuted rows of X and T."""

    def __init__(self) -> None:
        self._x: Tensor | None = None
        self._t: Tensor | None = None

    def get(self, rows: int, x: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        if (self._x is None or self._t is None or self._x.shape[0] < rows
                or self._x.shape[1:] != x.shape[1:] or self._t.shape[1:] != t.shape[1:]
                or self._x.dtype != x.dtype or self._x.device != x.device):
            self._x = torch.empty(rows, *x.shape[1:], dtype=x.dtype, device=x.device)
            self._t = torch.empty(rows, *t.shape[1:], dtype=t.dtype, device=t.device)
        return self._x, self._t


def batches(X: Tensor, T: Tensor, perm: Tensor | None, batch_size: int,
            store: ChunkStore) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
    """Yield ``(x_rows, t_rows, t_rows_flat)`` views per batch, in the order of ``perm``
    (None: the data order, read in place without any copy)."""
    N = X.shape[0]
    per_row = X.shape[1] + T.shape[1]
    rows = batch_size * max(1, _CHUNK_ELEMENTS // (batch_size * per_row))
    if perm is None:
        X, T, rows = X.contiguous(), T.contiguous(), N
    else:
        xbuf, tbuf = store.get(min(rows, N), X, T)
    c = T.shape[1]
    for start in range(0, N, rows):
        m = min(rows, N - start)
        if perm is None:
            xc, tc = X, T
        else:
            idx = perm[start:start + m]
            xc = torch.index_select(X, 0, idx, out=xbuf[:m])
            tc = torch.index_select(T, 0, idx, out=tbuf[:m])
        sizes = [batch_size] * (m // batch_size) + ([m % batch_size] if m % batch_size else [])
        # split_with_sizes: the C binding, without Tensor.split's Python wrapper
        yield from zip(xc.split_with_sizes(sizes), tc.split_with_sizes(sizes),
                       tc.view(-1).split_with_sizes([s * c for s in sizes]))
