"""Mergeable streaming top-k / bottom-k per unit: the examples that excite a unit most and least.

Per unit the ``k`` largest (and smallest) values seen so far are kept with their global row
indices. A batch only touches the units whose batch maximum beats their current k-th largest
value (resp. minimum below the k-th smallest): after the first batches that is a small share of
units, so the cost per batch is one comparison of ``(units,)`` vectors plus a ``topk`` over the
few candidate columns. Ties with values kept from earlier batches keep the earlier row; ties
within one batch are broken by ``torch.topk``.
"""

from __future__ import annotations

import torch


class TopK:
    """Streaming top-``k`` and bottom-``k`` values with their row indices, for ``width`` units.

    Examples
    --------
    >>> t = TopK(1, k=2)
    >>> x = torch.tensor([[3.0], [9.0], [1.0], [7.0]])
    >>> t.update(x, start=0)
    >>> t.top_idx[:, 0].tolist(), t.bottom_idx[:, 0].tolist()
    ([1, 3], [2, 0])
    """

    def __init__(self, width: int, k: int, device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32) -> None:
        self.k = int(k)
        dev = torch.device(device)
        self.top_val = torch.full((self.k, width), float("-inf"), dtype=dtype, device=dev)
        self.top_idx = torch.full((self.k, width), -1, dtype=torch.int64, device=dev)
        self.bottom_val = torch.full((self.k, width), float("inf"), dtype=dtype, device=dev)
        self.bottom_idx = torch.full((self.k, width), -1, dtype=torch.int64, device=dev)
        self._buffer: torch.Tensor | None = None

    def update(self, values: torch.Tensor, start: int, bmax: torch.Tensor | None = None,
               bmin: torch.Tensor | None = None, low_values: torch.Tensor | None = None) -> None:
        """Offer ``values`` (rows x units) whose first row has global index ``start``.

        ``bmax``/``bmin`` are the per-unit batch maximum/minimum when already computed;
        ``low_values`` replaces ``values`` for the bottom side (non-finite entries set to +inf
        there while they are -inf in ``values``)."""
        low = values if low_values is None else low_values
        bmax = values.amax(0) if bmax is None else bmax
        bmin = low.amin(0) if bmin is None else bmin
        cols = (bmax > self.top_val[-1]).nonzero().flatten()
        if len(cols):
            self._merge(values, start, cols, largest=True)
        cols = (bmin < self.bottom_val[-1]).nonzero().flatten()
        if len(cols):
            self._merge(low, start, cols, largest=False)

    def _merge(self, values: torch.Tensor, start: int, cols: torch.Tensor, largest: bool) -> None:
        vals, idx = (self.top_val, self.top_idx) if largest else (self.bottom_val,
                                                                  self.bottom_idx)
        rows = values.shape[0]
        if len(cols) == values.shape[1]:
            cand = values
        else:
            # gather into a reused buffer: variable-size temporaries fragment the heap
            need = rows * len(cols)
            if self._buffer is None or self._buffer.numel() < need or \
                    self._buffer.dtype != values.dtype or self._buffer.device != values.device:
                self._buffer = torch.empty(rows * values.shape[1], dtype=values.dtype,
                                           device=values.device)
            cand = torch.index_select(values, 1, cols,
                                      out=self._buffer[:need].view(rows, len(cols)))  # (B, c)
        kk = min(self.k, rows)
        best = torch.topk(cand, kk, dim=0, largest=largest)             # (kk, c) of this batch
        pool = torch.cat([vals[:, cols], best.values.to(vals.dtype)])   # (k + kk, c)
        pool_idx = torch.cat([idx[:, cols], best.indices + start])
        # a stable sort of the small pool keeps the earlier row on ties (old entries come first)
        order = torch.sort(pool, dim=0, descending=largest, stable=True).indices[: self.k]
        vals[:, cols] = pool.gather(0, order)
        idx[:, cols] = pool_idx.gather(0, order)

    def merge(self, other: TopK) -> None:
        """Fold in another stream's heaps (same units and k)."""
        for largest, (v, i) in ((True, (other.top_val, other.top_idx)),
                                (False, (other.bottom_val, other.bottom_idx))):
            cols = torch.arange(v.shape[1], device=v.device)
            vals, idx = (self.top_val, self.top_idx) if largest else (self.bottom_val,
                                                                      self.bottom_idx)
            pool = torch.cat([vals, v])
            pool_idx = torch.cat([idx, i])
            order = torch.sort(pool, dim=0, descending=largest, stable=True).indices[: self.k]
            vals[:, cols] = pool.gather(0, order)
            idx[:, cols] = pool_idx.gather(0, order)
