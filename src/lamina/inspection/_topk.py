"""Mergeable streaming top-k / bottom-k per unit: the examples that excite a unit most and least.

Per unit the ``k`` largest (and smallest) values seen so far are kept with their global row
indices. A batch only touches the units whose batch maximum beats their current k-th largest
value (resp. minimum below the k-th smallest): after the first batches that is a small share of
units, so the cost per batch is one comparison of ``(units,)`` vectors plus a ``topk`` over the
few candidate columns. When the caller passes the maxima of groups of consecutive rows (the
statistics pass computes them anyway), only the groups whose maximum beats a unit's k-th value are
read: a gather of a few hundred values and a sort of a small pool instead of a ``topk`` over every
row (about half the time per update once the heaps hold high values, measured on a (1024, 512)
ReLU layer). Ties with values kept from
earlier batches keep the earlier row; ties within one batch are broken by ``torch.topk`` (by the
earlier row on the group path).
"""

from __future__ import annotations

import torch


class TopK:
    """Streaming top-``k`` and bottom-``k`` values with their row indices, for ``width`` units.

    ``top_val``/``top_idx``/``bottom_val``/``bottom_idx`` are ``(k, width)``, best first (views
    of unit-major storage: one unit's heap is contiguous, so the few units a batch touches are
    read and written with ``index_select``/``index_copy_``).

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
        # (width, k) per side: values and global row indices
        self._heaps = {
            True: (torch.full((width, self.k), float("-inf"), dtype=dtype, device=dev),
                   torch.full((width, self.k), -1, dtype=torch.int64, device=dev)),
            False: (torch.full((width, self.k), float("inf"), dtype=dtype, device=dev),
                    torch.full((width, self.k), -1, dtype=torch.int64, device=dev)),
        }
        self._buffer: torch.Tensor | None = None

    @property
    def top_val(self) -> torch.Tensor:
        return self._heaps[True][0].t()

    @property
    def top_idx(self) -> torch.Tensor:
        return self._heaps[True][1].t()

    @property
    def bottom_val(self) -> torch.Tensor:
        return self._heaps[False][0].t()

    @property
    def bottom_idx(self) -> torch.Tensor:
        return self._heaps[False][1].t()

    def update(self, values: torch.Tensor, start: int, bmax: torch.Tensor | None = None,
               bmin: torch.Tensor | None = None, low_values: torch.Tensor | None = None, *,
               gmax: torch.Tensor | None = None, gmin: torch.Tensor | None = None,
               group: int = 0) -> None:
        """Offer ``values`` (rows x units) whose first row has global index ``start``.

        ``bmax``/``bmin`` are the per-unit batch maximum/minimum when already computed;
        ``low_values`` replaces ``values`` for the bottom side (non-finite entries set to +inf
        there while they are -inf in ``values``). ``gmax``/``gmin`` ``(ceil(rows / group),
        units)`` are the maxima/minima of each run of ``group`` consecutive rows (the last run
        may be shorter), optional."""
        low = values if low_values is None else low_values
        bmax = values.amax(0) if bmax is None else bmax
        bmin = low.amin(0) if bmin is None else bmin
        for largest, data, bext, gext in ((True, values, bmax, gmax), (False, low, bmin, gmin)):
            kth = self._heaps[largest][0][:, -1]
            cols = ((bext > kth) if largest else (bext < kth)).nonzero().flatten()
            if not len(cols):
                continue
            if gext is None or not self._merge_groups(data, start, gext, group, cols, largest):
                self._merge(data, start, cols, largest)

    def _merge_groups(self, values: torch.Tensor, start: int, gext: torch.Tensor, group: int,
                      cols: torch.Tensor, largest: bool) -> bool:
        """Merge, for the units ``cols``, only the values of the row groups whose extreme beats
        the unit's k-th value and that beat it too; False (nothing done) when those groups are
        too many for this to pay off (the first batches)."""
        vals, idx = self._heaps[largest]
        rows = values.shape[0]
        dev = values.device
        kth = vals[:, -1].index_select(0, cols)                          # (c,)
        sub = gext.index_select(1, cols)                                 # (groups, c)
        hit = (sub > kth) if largest else (sub < kth)
        pairs = hit.t().nonzero()                                        # (n, 2): col, group
        n = pairs.shape[0]
        if n * group * 4 > rows * len(cols):
            return False
        local, grp = pairs[:, 0], pairs[:, 1]
        col = cols.index_select(0, local)
        # the groups' rows (n, group), clamped at the end of a short last group
        row = (grp[:, None] * group + torch.arange(group, device=dev)).clamp_(max=rows - 1)
        if values.is_contiguous():
            cand = values.view(-1).take(row * values.shape[1] + col[:, None])   # (n, group)
        else:
            cand = values[row, col[:, None]]
        # a value that only ties the k-th one loses to it (old entries win ties), and a
        # clamped duplicate of the last row is dropped
        ref = kth.index_select(0, local)[:, None]
        keep = (cand > ref) if largest else (cand < ref)
        keep[:, 1:] &= row[:, 1:] != row[:, :-1]
        at = keep.nonzero()                                              # (e, 2), by col, row
        if not len(at):
            return True
        e_local = local.index_select(0, at[:, 0])
        e_val = cand[at[:, 0], at[:, 1]].to(vals.dtype)
        e_row = row[at[:, 0], at[:, 1]] + start
        # each unit's new entries side by side, padded: (a, m)
        ucols, counts = torch.unique_consecutive(e_local, return_counts=True)
        a, m = len(ucols), int(counts.max())
        which = torch.repeat_interleave(torch.arange(a, device=dev), counts)
        slot = torch.arange(len(e_local), device=dev) - (torch.cumsum(counts, 0) - counts)[which]
        flat = which * m + slot
        fill = float("-inf") if largest else float("inf")
        dense = torch.full((a * m,), fill, dtype=vals.dtype, device=dev).index_copy_(0, flat,
                                                                                    e_val)
        dense_idx = torch.full((a * m,), -1, dtype=torch.int64, device=dev).index_copy_(
            0, flat, e_row)
        self._fold(cols.index_select(0, ucols), dense.view(a, m), dense_idx.view(a, m),
                   largest)
        return True

    def _fold(self, units: torch.Tensor, new_val: torch.Tensor, new_idx: torch.Tensor,
              largest: bool) -> None:
        """Merge ``(len(units), j)`` candidates into those units' heaps; old entries come first,
        so a stable sort keeps the earlier row on ties."""
        vals, idx = self._heaps[largest]
        pool = torch.cat([vals.index_select(0, units), new_val.to(vals.dtype)], 1)
        pool_idx = torch.cat([idx.index_select(0, units), new_idx], 1)
        order = torch.sort(pool, dim=1, descending=largest, stable=True).indices[:, : self.k]
        vals.index_copy_(0, units, pool.gather(1, order))
        idx.index_copy_(0, units, pool_idx.gather(1, order))

    def _merge(self, values: torch.Tensor, start: int, cols: torch.Tensor, largest: bool) -> None:
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
        self._fold(cols, best.values.t(), best.indices.t() + start, largest)

    def merge(self, other: TopK) -> None:
        """Fold in another stream's heaps (same units and k)."""
        for largest in (True, False):
            v, i = other._heaps[largest]
            units = torch.arange(v.shape[0], device=v.device)
            self._fold(units, v, i, largest)
