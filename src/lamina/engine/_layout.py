"""Where each member's parameters live in a population's flat tensors.

All P members' parameters (and, with the same layout, their gradients and optimizer moments)
share one flat tensor:

* first, per layer, the stacked weights ``(P, out, in)`` as one contiguous block, so the batched
  GEMMs read and write them without copies;
* then all biases as one ``(P, sum(out))`` matrix, member by member, so a single row-sum checks
  every member's bias gradients for non-finite values at once.

Example for sizes (4, 8, 3) and P = 2: ``[W0 (2,8,4) | W1 (2,3,8) | biases (2, 8+3)]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


class PopulationLayout:
    """Offsets of the weight blocks and the bias matrix for ``sizes`` and ``n_members``."""

    def __init__(self, sizes: Sequence[int], n_members: int) -> None:
        self.sizes = tuple(int(s) for s in sizes)
        self.p = int(n_members)
        self.shapes = list(zip(self.sizes[1:], self.sizes[:-1]))       # (out, in) per layer
        self.w_offsets, off = [], 0
        for o, i in self.shapes:
            self.w_offsets.append(off)
            off += self.p * o * i
        self.n_weights = off                                          # weight entries, all P
        self.bias_width = sum(o for o, _ in self.shapes)
        self.total = off + self.p * self.bias_width
        self.per_member = self.total // self.p

    def weights(self, flat: Tensor) -> list[Tensor]:
        """The ``(P, out, in)`` weight views of ``flat``."""
        return [flat[off:off + self.p * o * i].view(self.p, o, i)
                for off, (o, i) in zip(self.w_offsets, self.shapes)]

    def bias_matrix(self, flat: Tensor) -> Tensor:
        return flat[self.n_weights:].view(self.p, self.bias_width)

    def biases(self, flat: Tensor) -> list[Tensor]:
        """The ``(P, out)`` bias views of ``flat`` (rows of the bias matrix)."""
        mat, out, off = self.bias_matrix(flat), [], 0
        for o, _ in self.shapes:
            out.append(mat[:, off:off + o])
            off += o
        return out

    def member_map(self, values: Tensor) -> Tensor:
        """A flat tensor holding ``values[p]`` at every entry of member p (e.g. learning rates)."""
        flat = torch.empty(self.total, dtype=values.dtype, device=values.device)
        for w in self.weights(flat):
            w.copy_(values.view(-1, 1, 1).expand_as(w))
        self.bias_matrix(flat).copy_(values.view(-1, 1).expand(self.p, self.bias_width))
        return flat

    def weight_mask(self, values: Tensor) -> Tensor:
        """Like :meth:`member_map` but zero on every bias entry (sklearn's alpha spares biases)."""
        flat = self.member_map(values)
        self.bias_matrix(flat).zero_()
        return flat

    def select(self, flat: Tensor, index: Tensor) -> Tensor:
        """A flat tensor of the layout for ``len(index)`` members, taken from ``flat``."""
        sub = PopulationLayout(self.sizes, len(index))
        out = torch.empty(sub.total, dtype=flat.dtype, device=flat.device)
        for dst, src in zip(sub.weights(out), self.weights(flat)):
            dst.copy_(src.index_select(0, index))
        sub.bias_matrix(out).copy_(self.bias_matrix(flat).index_select(0, index))
        return out
