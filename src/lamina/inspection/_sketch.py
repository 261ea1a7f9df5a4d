"""A mergeable streaming quantile sketch: one adaptive histogram per unit, on dyadic grids.

Each unit's histogram has ``bins`` bins of width ``2**e`` whose lower edge is ``t * 2**e``
(integers ``e``, ``t``). When values fall outside the range, the grid is widened by merging
neighbouring bins (width doubles, ``2**k`` old bins nest exactly in one new bin), so no count is
ever split or lost. Because every grid is a dyadic grid anchored at 0, two sketches built on
different data can be merged *exactly*: both are regridded onto the coarser common grid and
added. Quantiles are read by linear interpolation inside a bin; their error is at most one bin
width (``range / bins``).

Everything is vectorised over units (no Python loop per unit) and stays on the device.
"""

from __future__ import annotations

import torch

# the bin width is kept >= |value| * 2**-16 / bins: finer than float32 can resolve is pointless,
# and it keeps the integer edge index t small (|t| < bins * 2**17)
_REL_FLOOR = 2.0 ** -16
_ABS_FLOOR = 2.0 ** -60
# below this many bins from 0, bin indices are computed with one fused float32 op
_FUSED_LIMIT = 2.0 ** 20


class HistogramSketch:
    """Streaming per-unit histograms for ``width`` units.

    Examples
    --------
    >>> s = HistogramSketch(2, bins=64)
    >>> x = torch.stack([torch.linspace(0, 1, 1001), torch.linspace(-5, 5, 1001)], 1)
    >>> s.update(x, x.amin(0), x.amax(0))
    >>> [round(v, 2) for v in s.quantiles([0.5])[:, 0].tolist()]
    [0.5, 0.0]
    """

    def __init__(self, width: int, bins: int = 128, device: torch.device | str = "cpu") -> None:
        self.bins = int(bins)
        self.width = int(width)
        dev = torch.device(device)
        self._flat = torch.zeros(width * self.bins + 1, dtype=torch.int64, device=dev)
        self._buffers: dict[str, torch.Tensor] = {}
        self.e = torch.zeros(width, dtype=torch.int64, device=dev)   # bin width = 2**e
        self.t = torch.zeros(width, dtype=torch.int64, device=dev)   # lower edge = t * 2**e
        self.ready = torch.zeros(width, dtype=torch.bool, device=dev)
        self._offsets = torch.arange(width, device=dev, dtype=torch.int32) * self.bins
        self._cache: dict[str, torch.Tensor] | None = None   # per-unit grid tensors
        self._fused = False                                   # cached with the grid
        self._stale = True
        self._all_ready = False

    # ------------------------------------------------------------------ grid helpers
    def edges(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(lo, top, bin_width)`` per unit, float64."""
        w = torch.pow(2.0, self.e.double())
        lo = self.t.double() * w
        return lo, lo + self.bins * w, w

    def _grid(self, dtype: torch.dtype) -> dict[str, torch.Tensor]:
        """Per-unit tensors for binning, recomputed only when a grid changed (in place: new
        long-lived small tensors in mid-stream would fragment the heap)."""
        if self._cache is None or self._cache["scale"].dtype != dtype or self._stale:
            lo, top, w = self.edges()
            offsets = self._offsets.to(torch.float64)
            base = offsets - self.t.double()
            # edges are t * 2**e with |t| < 2**24: exact in float32, so comparisons in the
            # values' own dtype decide range growth without conversions
            fresh = {
                "scale": 1.0 / w, "lo_x": lo, "top_x": top, "base": base, "first": offsets,
                "last": offsets + self.bins - 1,
            }
            if self._cache is None or self._cache["scale"].dtype != dtype:
                self._cache = {k: v.to(dtype) for k, v in fresh.items()}
            else:
                for key, value in fresh.items():
                    self._cache[key].copy_(value)
            self._fused = float(base.abs().max()) < _FUSED_LIMIT
            self._stale = False
        return self._cache

    def _fit_grid(self, e_min: torch.Tensor, need_lo: torch.Tensor,
                  need_hi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Smallest ``e >= e_min`` (and its ``t``) whose grid covers ``[need_lo, need_hi]``."""
        span = (need_hi - need_lo).clamp_min(_ABS_FLOOR)
        e = torch.maximum(e_min, torch.floor(torch.log2(span / self.bins)).to(torch.int64))
        for _ in range(2100):                       # at most a couple of rounds in practice
            w = torch.pow(2.0, e.double())
            t = torch.floor(need_lo / w)
            bad = (t + self.bins) * w <= need_hi
            if not bool(bad.any()):
                return e, t.to(torch.int64)
            e = e + bad.to(torch.int64)
        raise RuntimeError("histogram sketch could not fit a grid")  # pragma: no cover

    def _regrid(self, rows: torch.Tensor, e_new: torch.Tensor, t_new: torch.Tensor) -> None:
        """Move the counts of units ``rows`` onto the coarser grids ``(e_new, t_new)``."""
        k = (e_new - self.e[rows]).clamp(0, 62)                       # (m,) doublings
        src = self.t[rows, None] + torch.arange(self.bins, device=self.e.device)  # (m, bins)
        dst = torch.div(src, torch.pow(2, k)[:, None], rounding_mode="floor") - t_new[:, None]
        dst = dst.clamp(0, self.bins - 1)
        moved = torch.zeros(len(rows), self.bins, dtype=torch.int64, device=self.counts.device)
        moved.scatter_add_(1, dst, self.counts[rows])
        self._stale = True
        self.counts[rows] = moved
        self.e[rows] = e_new
        self.t[rows] = t_new

    def _grow(self, vmin: torch.Tensor, vmax: torch.Tensor) -> None:
        """Initialise units seen for the first time; widen those whose range is exceeded."""
        if self._all_ready and self._cache is not None and not self._stale \
                and self._cache["lo_x"].dtype == vmin.dtype:
            # common case: every unit has a grid; widen only if a value fell outside
            grid = self._cache
            if not bool(((vmin < grid["lo_x"]) | (vmax >= grid["top_x"])).any()):
                return
        vmin64, vmax64 = vmin.double(), vmax.double()
        has = vmin <= vmax                                            # a finite value came
        lo, top, w = self.edges()
        fresh = has & ~self.ready
        if bool(fresh.any()):
            self._stale = True
            rows = fresh.nonzero().flatten()
            a, b = vmin64[rows], vmax64[rows]
            span = torch.maximum(b - a, torch.maximum(a.abs(), b.abs()) * _REL_FLOOR)
            span = span.clamp_min(_ABS_FLOOR)
            e0 = torch.floor(torch.log2(span / self.bins)).to(torch.int64)
            e, t = self._fit_grid(e0, a, b)
            self.e[rows], self.t[rows] = e, t
            self.ready[rows] = True
            self._all_ready = bool(self.ready.all())
        out = has & ~fresh & ((vmin64 < lo) | (vmax64 >= top))
        if bool(out.any()):
            rows = out.nonzero().flatten()
            occ_lo, occ_hi = self._occupied(rows)
            need_lo = torch.minimum(occ_lo, vmin64[rows])
            need_hi = torch.maximum(occ_hi, vmax64[rows])
            e, t = self._fit_grid(self.e[rows], need_lo, need_hi)
            self._regrid(rows, e, t)

    def _occupied(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Lower edges of the first and last non-empty bin of units ``rows`` (float64): what a
        coarser grid must cover to keep every count. Covering the old grid's whole span instead
        let the empty bins above (or below) the data push the grid out by a doubling at every
        regrid: a unit whose range grew downwards ended with bins 58 times range/bins wide."""
        filled = self.counts[rows] > 0                                   # (m, bins)
        first = filled.to(torch.uint8).argmax(1)
        last = self.bins - 1 - filled.flip(1).to(torch.uint8).argmax(1)
        empty = ~filled.any(1)
        first = torch.where(empty, torch.zeros_like(first), first)
        last = torch.where(empty, torch.zeros_like(last), last)
        lo, _, w = (v[rows] for v in self.edges())
        return lo + first.double() * w, lo + last.double() * w

    # ------------------------------------------------------------------ public
    def update(self, values: torch.Tensor, vmin: torch.Tensor, vmax: torch.Tensor,
               finite: bool = True, weight: int = 1) -> None:
        """Add ``values`` (rows x units), each counted ``weight`` times (a subsample of every
        ``weight``-th row stands for all rows). ``vmin``/``vmax`` bound the finite values per
        unit (``vmin > vmax`` for a unit without any); with ``finite=False`` non-finite values
        are skipped."""
        self._grow(vmin, vmax)
        grid = self._grid(values.dtype)
        pos = self._scratch("pos", values)
        if finite and self._fused:
            # one op: offset + (x - lo) / w = x / w + (offset - t); exact enough while the
            # magnitudes stay below 2**20 bins (float32 keeps 1/16 of a bin)
            torch.addcmul(grid["base"], values, grid["scale"], out=pos)
            torch.clamp(pos, grid["first"], grid["last"], out=pos)
            idx = self._scratch("idx", values, torch.int64)
            idx.copy_(pos)                                            # global bin index
        else:
            torch.sub(values, grid["lo_x"], out=pos)                  # (R, d)
            pos.mul_(grid["scale"])
            pos.clamp_(0, self.bins - 1)
            idx = self._scratch("idx", values, torch.int64)
            idx.copy_(pos)                                            # bin within the unit
            idx += self._offsets
        if not finite:
            idx.masked_fill_(~torch.isfinite(values), self.width * self.bins)   # dump slot
        flat = idx.view(-1)
        key = f"weight{weight}"
        ones = self._buffers.get(key)
        if ones is None or ones.shape[0] < flat.shape[0] or ones.device != flat.device:
            ones = torch.full((flat.shape[0],), weight, dtype=torch.int64, device=flat.device)
            self._buffers[key] = ones
        self._flat.scatter_add_(0, flat, ones[: flat.shape[0]])

    def _scratch(self, key: str, like: torch.Tensor,
                 dtype: torch.dtype | None = None) -> torch.Tensor:
        dtype = like.dtype if dtype is None else dtype
        buf = self._buffers.get(key)
        if (buf is None or buf.shape[0] < like.shape[0] or buf.shape[1:] != like.shape[1:]
                or buf.dtype != dtype or buf.device != like.device):
            buf = torch.empty(like.shape, dtype=dtype, device=like.device)
            self._buffers[key] = buf
        return buf[: like.shape[0]]

    @property
    def counts(self) -> torch.Tensor:
        """``(units, bins)`` int64 counts (a view; the extra last slot collects skipped
        non-finite values)."""
        return self._flat[:-1].view(self.width, self.bins)

    @counts.setter
    def counts(self, value: torch.Tensor) -> None:
        flat = torch.zeros(self.width * self.bins + 1, dtype=torch.int64, device=value.device)
        flat[:-1] = value.reshape(-1)
        self._flat = flat

    def merge(self, other: HistogramSketch) -> None:
        """Add ``other``'s counts (same units and bins) exactly, on the coarser common grid."""
        if other.width != self.width or other.bins != self.bins:
            raise ValueError("can only merge sketches with the same units and bins")
        self._stale = True
        both = self.ready & other.ready
        only_other = other.ready & ~self.ready
        if bool(only_other.any()):
            rows = only_other.nonzero().flatten()
            self.counts[rows] = other.counts[rows]
            self.e[rows], self.t[rows] = other.e[rows], other.t[rows]
            self.ready[rows] = True
            self._all_ready = bool(self.ready.all())
        if not bool(both.any()):
            return
        rows = both.nonzero().flatten()
        lo_a, hi_a = self._occupied(rows)
        lo_b, hi_b = other._occupied(rows)
        e, t = self._fit_grid(torch.maximum(self.e[rows], other.e[rows]),
                              torch.minimum(lo_a, lo_b), torch.maximum(hi_a, hi_b))
        incoming = other.copy()
        incoming._regrid(rows, e, t)
        self._regrid(rows, e, t)
        self.counts[rows] += incoming.counts[rows]

    def copy(self) -> HistogramSketch:
        new = HistogramSketch(self.width, self.bins, self.counts.device)
        new._flat, new.e = self._flat.clone(), self.e.clone()
        new.t, new.ready = self.t.clone(), self.ready.clone()
        new._all_ready = self._all_ready
        return new

    def quantiles(self, qs: list[float], vmin: torch.Tensor | None = None,
                  vmax: torch.Tensor | None = None,
                  zero_frac: torch.Tensor | None = None) -> torch.Tensor:
        """``(units, len(qs))`` float64 quantile estimates (NaN for a unit with no value),
        clipped to the exact ``vmin``/``vmax`` when given. ``zero_frac`` is the known share of
        values that are exactly 0 (ReLU): that point mass is not smeared over its bin."""
        counts = self.counts.double()
        total = counts.sum(1, keepdim=True)
        q = torch.as_tensor(qs, dtype=torch.float64, device=counts.device)
        lo, _, w = self.edges()
        mass0 = torch.zeros_like(total)
        if zero_frac is not None:
            j0 = torch.floor(-lo / w).clamp(0, self.bins - 1).to(torch.int64)[:, None]
            mass0 = torch.minimum((zero_frac.double()[:, None] * total).round(),
                                  counts.gather(1, j0))
            counts = counts.scatter_add(1, j0, -mass0)
        cdf = counts.cumsum(1)                                        # (d, bins)
        target = (q[None, :] * total - mass0).clamp(min=0).contiguous()  # (d, nq)
        j = torch.searchsorted(cdf.contiguous(), target).clamp(max=self.bins - 1)
        before = torch.where(j > 0, cdf.gather(1, (j - 1).clamp(min=0)),
                             torch.zeros_like(target))
        inside = counts.gather(1, j)
        frac = torch.where(inside > 0, (target - before) / inside.clamp(min=1),
                           torch.zeros_like(target)).clamp(0, 1)
        out = lo[:, None] + (j.double() + frac) * w[:, None]
        out = torch.where(q[None, :] * total <= mass0, torch.zeros_like(out), out)
        if vmin is not None and vmax is not None:
            out = torch.minimum(torch.maximum(out, vmin.double()[:, None]), vmax.double()[:, None])
        return torch.where(total > 0, out, torch.full_like(out, float("nan")))

    def layer_histogram(self, units: torch.Tensor | None = None
                        ) -> tuple[torch.Tensor, torch.Tensor]:
        """All (or the given) units' counts merged on one common grid: ``(edges, counts)``,
        ``bins + 1`` edges. Used for per-layer activation histograms."""
        rows = (units if units is not None else torch.arange(self.width)).to(self.e.device)
        rows = rows[self.ready[rows]]
        if len(rows) == 0:
            return torch.zeros(self.bins + 1, dtype=torch.float64), torch.zeros(self.bins)
        occ_lo, occ_hi = self._occupied(rows)
        e_max = self.e[rows].max().expand(1)
        e, t = self._fit_grid(e_max, occ_lo.min().expand(1), occ_hi.max().expand(1))
        tmp = self.copy()
        tmp._regrid(rows, e.expand(len(rows)), t.expand(len(rows)))
        counts = tmp.counts[rows].sum(0)
        w0 = float(2.0 ** int(e))
        edges = (int(t) + torch.arange(self.bins + 1, dtype=torch.float64)) * w0
        return edges, counts.cpu()
