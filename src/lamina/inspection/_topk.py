"""Mergeable streaming top-k / bottom-k per unit: the examples that excite a unit most and least.

Per unit the ``k`` largest (and smallest) values seen so far are kept with their global row
indices. A batch only touches the units whose batch maximum beats their current k-th largest
value (resp. minimum below the k-th smallest): after the first batches that is a small share of
units, so the cost per batch is one comparison of ``(units,)`` vectors plus a ``topk`` over the
few candidate columns. When the caller passes the maxima of groups of consecutive rows (the
statistics pass computes them anyway), only the groups whose maximum beats a unit's k-th value are
read: a gather of a few hundred values instead of a ``topk`` over every row. Those values are
set aside and folded into the heaps (one stable sort of a small per-unit pool) once every
``_FOLD_EVERY`` batches: the fold costs ~15 small tensor calls whatever it holds, and until it runs
the k-th values are stale (lower), which only lets a few more values through. Ties with values
kept from earlier batches keep the earlier row; ties within one batch are broken by
``torch.topk`` (by the earlier row on the group path).
"""

from __future__ import annotations

import torch

# values set aside by the group path are folded into the heaps once per this many batches: the
# fold is ~15 small tensor ops whatever it holds, and the k-th values it leaves stale only let a
# few more values through in the meantime
_FOLD_EVERY = 8


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
                 dtype: torch.dtype = torch.float32, floor: float | None = None) -> None:
        self.k = int(k)
        # a value no unit goes below (0 for ReLU): once every bottom heap is full of it,
        # nothing can enter them, and the bottom side is skipped
        self.floor = floor
        self._bottom_full = False
        dev = torch.device(device)
        # (width, k) per side: values and global row indices
        self._heaps = {
            True: (torch.full((width, self.k), float("-inf"), dtype=dtype, device=dev),
                   torch.full((width, self.k), -1, dtype=torch.int64, device=dev)),
            False: (torch.full((width, self.k), float("inf"), dtype=dtype, device=dev),
                    torch.full((width, self.k), -1, dtype=torch.int64, device=dev)),
        }
        self._buffer: torch.Tensor | None = None
        # values set aside by the group path, per side, not yet folded into the heaps
        self._pending: dict[bool, list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]] = {
            True: [], False: []}
        self._batches = 0                     # updates since the last periodic fold
        self._arange: torch.Tensor | None = None

    def settle(self) -> None:
        """Fold every value set aside into the heaps (the properties below do it)."""
        if self._pending[True] or self._pending[False]:
            # heaps filled under inference mode can only be written under it
            with torch.inference_mode(self._heaps[True][0].is_inference()):
                self._flush(True)
                self._flush(False)

    @property
    def top_val(self) -> torch.Tensor:
        self.settle()
        return self._heaps[True][0].t()

    @property
    def top_idx(self) -> torch.Tensor:
        self.settle()
        return self._heaps[True][1].t()

    @property
    def bottom_val(self) -> torch.Tensor:
        self.settle()
        return self._heaps[False][0].t()

    @property
    def bottom_idx(self) -> torch.Tensor:
        self.settle()
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
        for largest, data, bext, gext in ((True, values, bmax, gmax), (False, low, bmin, gmin)):
            if not largest and self._bottom_full:
                continue
            kth = self._heaps[largest][0][:, -1]
            if gext is not None and self._collect(data, start, gext, group, kth, largest):
                continue
            if bext is None:
                bext = data.amax(0) if largest else data.amin(0)
            cols = ((bext > kth) if largest else (bext < kth)).nonzero().flatten()
            if len(cols):
                self._flush(largest)
                self._merge(data, start, cols, largest)
        self._batches += 1
        if self._batches >= _FOLD_EVERY:
            self._batches = 0
            self._flush(True)
            self._flush(False)
            if self.floor is not None and not self._bottom_full:
                self._bottom_full = bool((self._heaps[False][0][:, -1] == self.floor).all())

    def _collect(self, values: torch.Tensor, start: int, gext: torch.Tensor, group: int,
                 kth: torch.Tensor, largest: bool) -> bool:
        """Set aside, for every unit, the values of this batch that beat its k-th value and
        lie in a row group whose extreme beats it too; they are folded into the heaps later
        (every ``_FOLD_EVERY`` batches). False (nothing done) when those groups hold too many
        values for this to pay off (the first batches)."""
        rows, width = values.shape
        hit = (gext.t() > kth[:, None]) if largest else (gext.t() < kth[:, None])
        pairs = hit.nonzero()                                            # (n, 2): unit, group
        n = pairs.shape[0]
        if not n:
            return True
        if n * group * 4 > rows * width:
            return False
        unit, grp = pairs[:, 0], pairs[:, 1]
        # the groups' rows (n, group), clamped at the end of a short last group
        row = grp[:, None] * group + self._offsets(group, values.device)
        short = rows % group != 0
        if short:
            row.clamp_(max=rows - 1)
        if values.is_contiguous():
            cand = values.view(-1).take(row * width + unit[:, None])      # (n, group)
        else:
            cand = values[row, unit[:, None]]
        # a value that only ties the k-th one loses to it (old entries win ties), and a
        # clamped duplicate of the last row is dropped
        ref = kth.index_select(0, unit)[:, None]
        keep = (cand > ref) if largest else (cand < ref)
        if short:
            keep[:, 1:] &= row[:, 1:] != row[:, :-1]
        at = keep.nonzero()                                              # (e, 2), by unit, row
        if len(at):
            pick, col = at[:, 0], at[:, 1]
            self._pending[largest].append((unit.index_select(0, pick), cand[pick, col],
                                           row[pick, col] + start))
        return True

    def _offsets(self, group: int, device: torch.device) -> torch.Tensor:
        """``arange(group)`` on ``device``, made once."""
        ar = self._arange
        if ar is None or ar.shape[0] != group or ar.device != device:
            ar = self._arange = torch.arange(group, device=device)
        return ar

    def _flush(self, largest: bool) -> None:
        """Fold the values set aside by :meth:`_collect` into the heaps."""
        pending = self._pending[largest]
        if not pending:
            return
        self._pending[largest] = []
        units, vals, rows = (torch.cat(part) for part in zip(*pending))
        if len(pending) > 1:                  # by unit; batch and row order kept within one
            order = torch.sort(units, stable=True).indices
            units, vals, rows = units[order], vals[order], rows[order]
        heap_vals = self._heaps[largest][0]
        dev = heap_vals.device
        # each unit's new entries side by side, padded: (a, m)
        ucols, counts = torch.unique_consecutive(units, return_counts=True)
        a, m = len(ucols), int(counts.max())
        which = torch.repeat_interleave(torch.arange(a, device=dev), counts)
        slot = torch.arange(len(units), device=dev) - (torch.cumsum(counts, 0) - counts)[which]
        flat = which * m + slot
        fill = float("-inf") if largest else float("inf")
        dense = torch.full((a * m,), fill, dtype=heap_vals.dtype, device=dev)
        dense.index_copy_(0, flat, vals.to(heap_vals.dtype))
        dense_idx = torch.full((a * m,), -1, dtype=torch.int64, device=dev)
        dense_idx.index_copy_(0, flat, rows)
        self._fold(ucols, dense.view(a, m), dense_idx.view(a, m), largest)

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
        self.settle()
        other.settle()
        for largest in (True, False):
            v, i = other._heaps[largest]
            units = torch.arange(v.shape[0], device=v.device)
            self._fold(units, v, i, largest)
