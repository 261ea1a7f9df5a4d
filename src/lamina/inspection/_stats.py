"""Streaming statistics of one layer's units, accumulated on the device in one pass.

Per batch: shifted sums and sums of squares (mean/std without cancellation), min/max, sum of
|activation|, counts of active (> 0) and saturated elements, non-finite counts, the histogram
sketch (quantiles), the top/bottom-k heaps and the reservoir rows. All ops are batched over
units; the common case (every value finite) takes a fast path with ~10 tensor ops, and the
masked path runs only for batches that hold NaN/inf.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ._sketch import HistogramSketch
from ._taps import SATURATING, ZERO_WHEN_INACTIVE
from ._topk import TopK

# after the first rows, the sketch is updated on one batch in this many
_SKETCH_PERIOD = 4
# rows are read in chunks of about this many elements (512 KiB of float32: a chunk and its
# scratch copy stay in a core's L2 cache)
_CHUNK_ELEMENTS = 2 ** 17
# rows per group for the group maxima that let the top-k heaps skip most rows
_GROUP = 16
# activations whose outputs are never negative (sum |x| = sum x)
NONNEGATIVE = frozenset({"relu", "relu6", "sigmoid", "softplus"})
# the per-unit float64 sums a layer keeps, in the order of their rows
_SUMS = ("s1", "s2", "s_abs", "active", "saturated")


@dataclass(frozen=True)
class StatsConfig:
    """How much to keep per unit (all sizes are independent of the number of rows)."""

    top_k: int = 9
    bins: int = 128
    sketch_rows: int | None = 64      # rows of each batch fed to the sketch once warm (None = all)
    sketch_exact_rows: int = 4_096    # every row is fed to the sketch until this many were seen
    sample_size: int = 2048           # reservoir rows kept per layer


def _group_extreme(x: torch.Tensor, full: int, out: torch.Tensor, tail: torch.Tensor,
                   largest: bool) -> None:
    """Maxima (or minima) of each run of ``_GROUP`` rows of ``x`` into ``out`` ``(full, d)``,
    and of the short last run, if any, into ``tail`` ``(1, d)``."""
    reduce = torch.amax if largest else torch.amin
    if full:
        reduce(x[: full * _GROUP].view(full, _GROUP, x.shape[1]), 1, out=out)
    if x.shape[0] > full * _GROUP:
        reduce(x[full * _GROUP:], 0, keepdim=True, out=tail)


def saturation_mask(x: torch.Tensor, activation: str | None, out: torch.Tensor) -> torch.Tensor:
    """Write 1.0 where ``x`` is saturated (tanh |a| > 0.99; sigmoid a < 0.01 or > 0.99)."""
    if activation == "sigmoid":
        torch.sub(x, 0.5, out=out)
        out.abs_()
        return torch.gt(out, 0.49, out=out)
    torch.abs(x, out=out)
    return torch.gt(out, 0.99, out=out)


class LayerStats:
    """Accumulators for ``width`` units of one layer."""

    def __init__(self, width: int, activation: str | None, config: StatsConfig,
                 device: torch.device, dtype: torch.dtype = torch.float32) -> None:
        self.width = width
        self.activation = activation
        self.config = config
        self.saturating = activation in SATURATING
        self.nonnegative = activation in NONNEGATIVE
        self.exact_zero = activation in ZERO_WHEN_INACTIVE    # inactive outputs are exactly 0
        self.rows = 0                                  # examples seen
        self.elements = 0                              # element positions per unit seen
        self.shift: torch.Tensor | None = None         # per-unit shift K for stable moments
        # finite values per unit: rows of all-finite batches (a number) + the masked path's
        self._finite_rows = 0
        self._count = torch.zeros(width, dtype=torch.int64, device=device)
        # the float64 sums, one row each (views below), so a batch adds them in one call:
        # sum (x - K), sum (x - K)^2, sum |x|, active and saturated counts
        self._sums = torch.zeros(len(_SUMS), width, dtype=torch.float64, device=device)
        self.s1, self.s2, self.s_abs, self.active, self.saturated = self._sums.unbind(0)
        self._sum_rows: dict[tuple[str, ...], torch.Tensor] = {}
        # ReLU: every unit's running minimum is 0, the floor (then batch minima are not needed)
        self._at_floor = False
        self._batches = 0
        self.vmin = torch.full((width,), float("inf"), dtype=dtype, device=device)
        self.vmax = torch.full((width,), float("-inf"), dtype=dtype, device=device)
        self.nonfinite = torch.zeros(width, dtype=torch.int64, device=device)
        self.sketch = HistogramSketch(width, config.bins, device)
        self.topk = TopK(width, config.top_k, device, dtype,
                         floor=0.0 if self.exact_zero else None)
        self.sample = torch.zeros(config.sample_size, width, dtype=dtype, device=device)
        # the global row each sample slot holds for this site: a module that does not run in
        # every batch (a decoder step) misses some of the reservoir's rows
        self.sample_row = torch.full((config.sample_size,), -1, dtype=torch.int64, device=device)
        self._buffers: dict[str, torch.Tensor] = {}
        self._views: dict[str, tuple[torch.Tensor, list[list[torch.Tensor]]]] = {}
        self._sketch_turn = 0
        self.subsampled_from: int | None = None        # first row the sketch saw thinned

    def _rows_of(self, names: tuple[str, ...], device: torch.device) -> torch.Tensor:
        """The rows of ``_sums`` that ``names`` (a batch's sums, in order) add to."""
        rows = self._sum_rows.get(names)
        if rows is None:
            rows = torch.tensor([_SUMS.index(n) for n in names], device=device)
            self._sum_rows[names] = rows
        return rows

    def _scratch(self, key: str, like: torch.Tensor) -> torch.Tensor:
        """A reusable buffer shaped like ``like``: fresh multi-MB allocations every batch cost
        page faults that can exceed the arithmetic itself."""
        buf = self._buffers.get(key)
        if (buf is None or buf.shape[0] < like.shape[0] or buf.shape[1:] != like.shape[1:]
                or buf.dtype != like.dtype or buf.device != like.device):
            buf = torch.empty_like(like)
            self._buffers[key] = buf
        return buf[: like.shape[0]]

    def _exact(self, key: str, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        """A reusable buffer of exactly ``shape`` (dtype and device of ``like``)."""
        buf = self._buffers.get(key)
        if (buf is None or tuple(buf.shape) != shape or buf.dtype != like.dtype
                or buf.device != like.device):
            buf = like.new_empty(shape)
            self._buffers[key] = buf
        return buf

    def _sum_outputs(self, shape: tuple[int, int, int],
                     like: torch.Tensor) -> tuple[torch.Tensor, list[list[torch.Tensor]]]:
        """A reusable ``(chunks, sums, units)`` buffer and its per-chunk, per-sum row views,
        made once: indexing it afresh for every output cost ~30 tensor views per batch."""
        sums = self._exact("sums", shape, like)
        views = self._views.get("sums")
        if views is None or views[0] is not sums:
            views = (sums, [list(chunk.unbind(0)) for chunk in sums.unbind(0)])
            self._views["sums"] = views
        return views

    def update(self, pooled: torch.Tensor, elements: torch.Tensor, start: int,
               rows: torch.Tensor, slots: torch.Tensor) -> None:
        """Add one batch: ``pooled`` (B, d) per-example values, ``elements`` (B*P, d)."""
        batch = pooled.shape[0]
        if self.shift is None:
            first = torch.where(torch.isfinite(pooled), pooled, torch.zeros_like(pooled))
            self.shift = first.mean(0)                 # close to the mean: no cancellation
        passes = self._passes(pooled, elements)
        if passes is not None:
            self._fast(pooled, elements, passes, start)
        else:
            self._masked(pooled, elements, start)
        self.rows += batch
        self.elements += elements.shape[0]
        if len(rows):
            picked = torch.index_select(pooled, 0, rows,
                                        out=self._scratch("picked", pooled)[: len(rows)])
            self.sample.index_copy_(0, slots, picked.to(self.sample.dtype))
            self.sample_row.index_copy_(0, slots, rows + start)

    def _passes(self, pooled: torch.Tensor,
                elements: torch.Tensor) -> dict[str, torch.Tensor] | None:
        """The per-unit sums and extremes of one batch, or None when it holds NaN/inf.

        The rows go through in chunks of ~_CHUNK_ELEMENTS, and every statistic of a chunk is
        taken before the next one is read: the chunk and its scratch copy stay in the L2 cache
        (a (1024, 512) batch is the whole 2 MiB L2 of a core; chunked, its ~8 passes take half
        the time). Group maxima (``_GROUP`` rows) for the top-k heaps come from the same pass."""
        batch, width = pooled.shape
        shift = self.shift
        assert shift is not None
        same = elements is pooled
        if pooled.device.type == "cpu":
            step = max(_GROUP, _CHUNK_ELEMENTS // max(1, width) // _GROUP * _GROUP)
        else:       # the cache argument is the CPU's: one chunk, fewer kernel launches
            step = -(-batch // _GROUP) * _GROUP
        n_chunks = -(-batch // step)
        names = ["s1", "s2"] + ([] if self.nonnegative else ["s_abs"]) \
            + (["active"] + (["saturated"] if self.saturating else []) if same else [])
        sums, outs = self._sum_outputs((n_chunks, len(names), width), pooled)
        groups = -(-batch // _GROUP)
        gmax = self._exact("gmax", (groups, width), pooled)
        gmin = None if self.exact_zero else self._exact("gmin", (groups, width), pooled)
        buf = self._scratch("buf", pooled[:step])
        for c, lo in enumerate(range(0, batch, step)):
            x = pooled[lo:lo + step]                               # (r, d)
            b = buf[: x.shape[0]]
            row = outs[c]                                          # this chunk's sums, by name
            torch.sum(torch.sub(x, shift, out=b), 0, out=row[0])
            torch.sum(b.square_(), 0, out=row[1])
            j = 2
            if not self.nonnegative:                              # |x| = x otherwise
                torch.sum(torch.abs(x, out=b), 0, out=row[j])
                j += 1
            if same:
                torch.sum(torch.gt(x, 0, out=b), 0, out=row[j])
                j += 1
                if self.saturating:
                    torch.sum(saturation_mask(x, self.activation, b), 0, out=row[j])
            # this chunk's groups: g0 .. g0+full-1 whole, then a short one if rows remain
            g0, full = lo // _GROUP, x.shape[0] // _GROUP
            end = g0 + -(-x.shape[0] // _GROUP)
            _group_extreme(x, full, gmax[g0:g0 + full], gmax[g0 + full:end], True)
            if gmin is not None:
                _group_extreme(x, full, gmin[g0:g0 + full], gmin[g0 + full:end], False)
        totals = sums.sum(0, dtype=torch.float64)                     # (names, d)
        if not math.isfinite(float(totals[0].sum())):          # a NaN/inf in the batch
            return None
        out = dict(zip(names, totals))
        # the totals and the rows of _sums they add to
        out["totals"], out["sum_rows"] = totals, self._rows_of(tuple(names), totals.device)
        out["gmax"], out["bmax"] = gmax, gmax.amax(0)
        if gmin is not None:
            out["gmin"], out["bmin"] = gmin, gmin.amin(0)
        return out

    def _fast(self, pooled: torch.Tensor, elements: torch.Tensor,
              passes: dict[str, torch.Tensor], start: int) -> None:
        batch = pooled.shape[0]
        self._finite_rows += batch
        # s1, s2, s_abs (|x| = x for non-negative outputs: see finalize), active, saturated
        self._sums.index_add_(0, passes["sum_rows"], passes["totals"])
        if "active" in passes:
            active = passes["active"]
        else:                                             # several elements per example
            ebuf = self._scratch("elements", elements)
            active = torch.gt(elements, 0, out=ebuf).sum(0)
            self.active += active
            if self.saturating:
                self.saturated += saturation_mask(elements, self.activation, ebuf).sum(0)
        bmax = passes["bmax"]
        bmin: torch.Tensor | None
        if "bmin" in passes:
            bmin = passes["bmin"]
        elif self._at_floor:
            bmin = None           # every unit's minimum is already 0: no batch can lower it
        elif elements is pooled:
            # a ReLU unit's batch minimum is 0 unless it was active on every row
            full = (active == batch).nonzero().flatten()
            bmin = torch.zeros_like(bmax)
            if len(full):
                bmin[full] = pooled[:, full].amin(0)
        else:
            bmin = pooled.amin(0)
        torch.maximum(self.vmax, bmax, out=self.vmax)
        if bmin is not None:
            torch.minimum(self.vmin, bmin, out=self.vmin)
            if self.exact_zero and self._batches % 8 == 0:
                self._at_floor = bool((self.vmin == 0).all())
        self._batches += 1
        rows, weight = self._sketch_rows(pooled, start)
        if rows is not None:
            # the grids grow to the range of every row seen so far, skipped batches included,
            # in one step (widening on every skipped batch cost a regrid each time)
            self.sketch.update(rows, self.vmin, self.vmax, finite=True, weight=weight)
        self.topk.update(pooled, start, bmax, bmin, gmax=passes["gmax"],
                         gmin=passes.get("gmin"), group=_GROUP)

    def _masked(self, pooled: torch.Tensor, elements: torch.Tensor, start: int) -> None:
        """Same statistics over the finite values only; non-finite ones are counted."""
        ok = torch.isfinite(pooled)
        ok_el = torch.isfinite(elements)
        self.nonfinite += (~ok_el).sum(0)
        self._count += ok.sum(0)
        zero = torch.zeros((), dtype=pooled.dtype, device=pooled.device)
        assert self.shift is not None
        centred = torch.where(ok, pooled - self.shift, zero)
        self.s1 += centred.sum(0)
        self.s2 += centred.square().sum(0)
        if not self.nonnegative:
            self.s_abs += torch.where(ok, pooled.abs(), zero).sum(0)
        high = torch.where(ok, pooled, float("-inf"))
        low = torch.where(ok, pooled, float("inf"))
        bmax, bmin = high.amax(0), low.amin(0)
        self.vmax = torch.maximum(self.vmax, bmax)
        self.vmin = torch.minimum(self.vmin, bmin)
        self.active += ((elements > 0) & ok_el).sum(0)
        if self.saturating:
            sat = saturation_mask(torch.where(ok_el, elements, zero), self.activation,
                                  torch.empty_like(elements))
            self.saturated += sat.sum(0)
        values = torch.where(ok, pooled, float("nan"))
        rows, weight = self._sketch_rows(values, start)
        if rows is not None:
            self.sketch.update(rows, self.vmin, self.vmax, finite=False, weight=weight)
        self.topk.update(high, start, bmax, bmin, low_values=low)

    def _sketch_rows(self, values: torch.Tensor, start: int) -> tuple[torch.Tensor | None, int]:
        """Rows for the sketch and their weight: every row until ``sketch_exact_rows`` rows were
        seen; then, on every ``_SKETCH_PERIOD``-th batch, every s-th row (``sketch_rows`` per
        batch on average) counted ``s * _SKETCH_PERIOD`` times. Few larger updates cost less
        than many small ones. None: this batch skips the sketch (its range is covered at the
        next update, from the running min/max). ``subsampled_from`` records the global row
        ``start`` of the first batch not fed whole."""
        cap = self.config.sketch_rows
        if cap is None or values.shape[0] <= cap or self.rows < self.config.sketch_exact_rows:
            return values, 1
        if self.subsampled_from is None:
            self.subsampled_from = start
        self._sketch_turn = (self._sketch_turn + 1) % _SKETCH_PERIOD
        if self._sketch_turn:
            return None, 0
        step = max(1, -(-values.shape[0] // (cap * _SKETCH_PERIOD)))
        return values[::step], step * _SKETCH_PERIOD

    # ------------------------------------------------------------------ results
    def finalize(self, filled: int, index: np.ndarray) -> dict[str, Any]:
        """Numpy arrays of every statistic (see ``Inspection.units`` for their meaning);
        ``index`` holds the global row of each of the reservoir's ``filled`` slots."""
        count = self._count + self._finite_rows
        n = count.double()
        safe = n.clamp(min=1)
        shift = self.shift.double() if self.shift is not None else torch.zeros_like(n)
        mean_c = self.s1 / safe
        s_abs = self.s1 + n * shift if self.nonnegative else self.s_abs
        var = (self.s2 / safe - mean_c.square()).clamp(min=0)
        n_el = (self.elements - self.nonfinite).double().clamp(min=1)
        nan = torch.full_like(n, float("nan"))
        none = n == 0
        # ReLU outputs are exactly 0 when inactive: keep that point mass exact in the quantiles
        exact_zero = self.exact_zero and self.elements == self.rows
        zero_frac = (1.0 - self.active / n_el) if exact_zero else None
        qs = self.sketch.quantiles([0.05, 0.25, 0.5, 0.75, 0.95], self.vmin, self.vmax,
                                   zero_frac=zero_frac)
        out = {
            "count": count, "mean": torch.where(none, nan, shift + mean_c),
            "std": torch.where(none, nan, var.sqrt()), "min": torch.where(none, nan, self.vmin),
            "max": torch.where(none, nan, self.vmax),
            "mean_abs": torch.where(none, nan, s_abs / safe),
            "frac_active": self.active / n_el,
            "saturated": self.saturated / n_el if self.saturating else nan,
            "nonfinite": self.nonfinite, "quantiles": qs,
            "top_val": self.topk.top_val, "top_idx": self.topk.top_idx,
            "bottom_val": self.topk.bottom_val, "bottom_idx": self.topk.bottom_idx,
            "sketch_counts": self.sketch.counts, "sketch_e": self.sketch.e,
            "sketch_t": self.sketch.t, "sample": self.sample[:filled],
        }
        result: dict[str, Any] = {k: v.detach().cpu().numpy() for k, v in out.items()}
        result["rows"] = self.rows
        # sample rows this site really saw (all of them unless it skipped batches)
        result["sample_valid"] = self.sample_row[:filled].cpu().numpy() == index[:filled]
        result["elements"] = self.elements
        return result


def arrays_to_sketch(counts: np.ndarray, e: np.ndarray, t: np.ndarray) -> HistogramSketch:
    """Rebuild a sketch from saved arrays (for histograms after ``Inspection.load``)."""
    sketch = HistogramSketch(counts.shape[0], counts.shape[1])
    sketch.counts = torch.as_tensor(counts, dtype=torch.int64)
    sketch.e = torch.as_tensor(e, dtype=torch.int64)
    sketch.t = torch.as_tensor(t, dtype=torch.int64)
    sketch.ready = sketch.counts.sum(1) > 0
    sketch._all_ready = bool(sketch.ready.all())
    return sketch
