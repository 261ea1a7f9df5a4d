"""The streaming building blocks: histogram sketch, top-k heaps, reservoir sample."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lamina.inspection import HistogramSketch, TopK
from lamina.inspection._reservoir import Reservoir

seeds = st.integers(0, 2**31 - 1)


def _stream(seed: int, n: int = 600, d: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scale = rng.choice([1e-3, 1.0, 50.0], size=d)
    shift = rng.choice([-100.0, 0.0, 7.0], size=d)
    data = rng.standard_t(3, size=(n, d)) * scale + shift
    data[:, 0] = np.maximum(data[:, 0], 0)                    # a ReLU-like unit with a mass at 0
    return data


def _feed(sketch: HistogramSketch, data: np.ndarray, step: int) -> None:
    for i in range(0, len(data), step):
        x = torch.as_tensor(data[i:i + step])
        sketch.update(x, x.amin(0), x.amax(0))


@settings(max_examples=30)
@given(seed=seeds, step=st.integers(1, 200))
def test_sketch_counts_everything_and_quantiles_are_within_two_bins(seed, step):
    data = _stream(seed)
    sketch = HistogramSketch(data.shape[1], bins=64)
    _feed(sketch, data, step)
    assert sketch.counts.sum(1).tolist() == [len(data)] * data.shape[1]
    qs = [0.1, 0.5, 0.9]
    got = sketch.quantiles(qs, torch.as_tensor(data.min(0)), torch.as_tensor(data.max(0)))
    _, _, width = sketch.edges()
    exact = np.quantile(data, qs, axis=0, method="inverted_cdf").T
    assert np.all(np.abs(got.numpy() - exact) <= 2 * width.numpy()[:, None] + 1e-12)


@settings(max_examples=30)
@given(seed=seeds, cut=st.integers(1, 599))
def test_sketches_merge_exactly(seed, cut):
    """Two sketches of two halves, merged, hold the same counts as one sketch of the whole once
    both are put on the same (dyadic, hence aligned) grid."""
    data = _stream(seed)
    whole, left, right = (HistogramSketch(data.shape[1], bins=32) for _ in range(3))
    _feed(whole, data, 50)
    _feed(left, data[:cut], 50)
    _feed(right, data[cut:], 50)
    left.merge(right)
    assert left.counts.sum(1).tolist() == [len(data)] * data.shape[1]
    rows = torch.arange(data.shape[1])
    e = torch.maximum(whole.e, left.e)
    lo = torch.minimum(whole.edges()[0], left.edges()[0])
    top = torch.maximum(whole.edges()[1] - whole.edges()[2] / 2,
                        left.edges()[1] - left.edges()[2] / 2)
    e, t = whole._fit_grid(e, lo, top)
    whole._regrid(rows, e, t)
    left._regrid(rows, e, t)
    assert torch.equal(whole.counts, left.counts)


def test_sketch_skips_non_finite_values():
    sketch = HistogramSketch(2, bins=16)
    x = torch.tensor([[1.0, float("nan")], [2.0, 3.0], [float("inf"), 4.0]])
    ok = torch.isfinite(x)
    vmin = torch.where(ok, x, torch.full_like(x, float("inf"))).amin(0)
    vmax = torch.where(ok, x, torch.full_like(x, float("-inf"))).amax(0)
    sketch.update(torch.where(ok, x, torch.full_like(x, float("nan"))), vmin, vmax, finite=False)
    assert sketch.counts.sum(1).tolist() == [2, 2]


@settings(max_examples=40)
@given(seed=seeds, k=st.integers(1, 12), step=st.integers(1, 97))
def test_streaming_topk_equals_global_topk(seed, k, step):
    rng = np.random.default_rng(seed)
    data = rng.permutation(np.arange(300 * 4, dtype=np.float64)).reshape(300, 4)  # no ties
    heaps = TopK(4, k, dtype=torch.float64)
    for i in range(0, len(data), step):
        heaps.update(torch.as_tensor(data[i:i + step]), start=i)
    order = np.argsort(-data, axis=0)[:k]
    np.testing.assert_array_equal(heaps.top_idx.numpy(), order)
    np.testing.assert_array_equal(heaps.bottom_idx.numpy(), np.argsort(data, axis=0)[:k])
    np.testing.assert_array_equal(heaps.top_val.numpy(), np.take_along_axis(data, order, 0))


@settings(max_examples=30)
@given(seed=seeds, k=st.integers(1, 9), step=st.integers(1, 64), levels=st.integers(3, 40))
def test_streaming_topk_values_with_heavy_ties(seed, k, step, levels):
    """Few distinct values: the kept values equal a global sort's, and every kept index is a
    distinct real row holding its value (which of several tied rows is kept may vary)."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, levels, size=(400, 6)).astype(np.float64)
    heaps = TopK(6, k, dtype=torch.float64)
    for i in range(0, len(data), step):
        heaps.update(torch.as_tensor(data[i:i + step]), start=i)
    top = np.argsort(-data, axis=0, kind="stable")[:k]
    bottom = np.argsort(data, axis=0, kind="stable")[:k]
    np.testing.assert_array_equal(heaps.top_val.numpy(), np.take_along_axis(data, top, 0))
    np.testing.assert_array_equal(heaps.bottom_val.numpy(), np.take_along_axis(data, bottom, 0))
    for got, vals in ((heaps.top_idx.numpy(), heaps.top_val.numpy()),
                      (heaps.bottom_idx.numpy(), heaps.bottom_val.numpy())):
        assert (got >= 0).all()
        assert all(len(set(col)) == k for col in got.T)
        np.testing.assert_array_equal(np.take_along_axis(data, got, 0), vals)


def test_topk_merge_and_short_streams():
    a, b = TopK(1, 3, dtype=torch.float64), TopK(1, 3, dtype=torch.float64)
    a.update(torch.tensor([[5.0], [1.0]]), start=0)
    assert a.top_idx[:, 0].tolist() == [0, 1, -1]             # fewer rows than k: padded
    b.update(torch.tensor([[4.0], [9.0]]), start=2)
    a.merge(b)
    assert a.top_idx[:, 0].tolist() == [3, 0, 2]
    assert a.bottom_idx[:, 0].tolist() == [1, 2, 0]


def test_reservoir_is_uniform_and_independent_of_batching():
    counts = np.zeros(50)
    for seed in range(400):
        r = Reservoir(5, seed=seed)
        for size in (7, 13, 30):
            r.plan(size)
        counts[r.index] += 1
    # each of the 50 rows is kept with probability 5/50 = 0.1 -> 40 of 400 on average
    assert counts.sum() == 2000
    assert 15 < counts.min() and counts.max() < 70
    one, two = Reservoir(5, seed=3), Reservoir(5, seed=3)
    one.plan(50)
    for size in (1, 20, 29):
        two.plan(size)
    np.testing.assert_array_equal(one.index, two.index)
    assert one.filled == 5 and len(set(one.index.tolist())) == 5


def _group_extremes(x: np.ndarray, group: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Maxima and minima of each run of ``group`` rows (the last run may be shorter)."""
    runs = [x[i:i + group] for i in range(0, len(x), group)]
    return (torch.as_tensor(np.stack([r.max(0) for r in runs])),
            torch.as_tensor(np.stack([r.min(0) for r in runs])))


@settings(max_examples=40)
@given(seed=seeds, k=st.integers(1, 12), step=st.integers(1, 97), group=st.integers(1, 20))
def test_group_path_equals_global_topk(seed, k, step, group):
    # the group maxima/minima let a batch skip rows; the result must not change
    rng = np.random.default_rng(seed)
    data = rng.permutation(np.arange(300 * 5, dtype=np.float64)).reshape(300, 5)  # no ties
    data[:, 1] = np.sort(data[:, 1])                  # rising: every batch beats the heap
    heaps = TopK(5, k, dtype=torch.float64)
    for i in range(0, len(data), step):
        part = data[i:i + step]
        gmax, gmin = _group_extremes(part, group)
        heaps.update(torch.as_tensor(part), start=i, gmax=gmax, gmin=gmin, group=group)
    order = np.argsort(-data, axis=0)[:k]
    np.testing.assert_array_equal(heaps.top_idx.numpy(), order)
    np.testing.assert_array_equal(heaps.bottom_idx.numpy(), np.argsort(data, axis=0)[:k])
    np.testing.assert_array_equal(heaps.top_val.numpy(), np.take_along_axis(data, order, 0))


@settings(max_examples=30)
@given(seed=seeds, k=st.integers(1, 9), step=st.integers(1, 64), levels=st.integers(2, 30),
       group=st.integers(1, 16))
def test_group_path_with_heavy_ties(seed, k, step, levels, group):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, levels, size=(400, 4)).astype(np.float64)
    heaps = TopK(4, k, dtype=torch.float64)
    for i in range(0, len(data), step):
        part = data[i:i + step]
        gmax, gmin = _group_extremes(part, group)
        heaps.update(torch.as_tensor(part), start=i, gmax=gmax, gmin=gmin, group=group)
    for got, vals, sign in ((heaps.top_idx.numpy(), heaps.top_val.numpy(), -1),
                            (heaps.bottom_idx.numpy(), heaps.bottom_val.numpy(), 1)):
        ref = np.argsort(sign * data, axis=0, kind="stable")[:k]
        np.testing.assert_array_equal(vals, np.take_along_axis(data, ref, 0))
        assert all(len(set(col)) == k for col in got.T)
        np.testing.assert_array_equal(np.take_along_axis(data, got, 0), vals)


def test_group_path_keeps_earlier_rows_on_ties():
    heaps = TopK(1, 2)
    heaps.update(torch.ones(3, 1), start=0)                       # heap: 1, 1
    batch = torch.zeros(64, 1)
    batch[[10, 20, 30]] = 5.0                                      # three rows tie above it
    batch[[40]] = 1.0                                              # ties the k-th value: loses
    gmax = batch.view(16, 4, 1).amax(1)
    heaps.update(batch, start=3, gmax=gmax, gmin=batch.view(16, 4, 1).amin(1), group=4)
    assert heaps.top_idx[:, 0].tolist() == [13, 23]
    assert heaps.top_val[:, 0].tolist() == [5.0, 5.0]
    assert heaps.bottom_val[:, 0].tolist() == [0.0, 0.0]


@settings(max_examples=25)
@given(seed=seeds, k=st.integers(1, 9), step=st.integers(8, 40), peek=st.integers(1, 30))
def test_values_set_aside_are_folded_before_any_read(seed, k, step, peek):
    # the group path folds its candidates every few batches; reading the heaps (or merging)
    # mid-stream must see every row offered so far, and later rows must still count
    from lamina.inspection._topk import _FOLD_EVERY
    rng = np.random.default_rng(seed)
    data = rng.permutation(np.arange(900 * 3, dtype=np.float64)).reshape(900, 3)
    heaps = TopK(3, k, dtype=torch.float64)
    other = TopK(3, k, dtype=torch.float64)
    batches = list(range(0, len(data), step))
    assert len(batches) > 2 * _FOLD_EVERY
    for n, i in enumerate(batches):
        part = data[i:i + step]
        gmax, gmin = _group_extremes(part, 4)
        target = other if n % 3 == 2 else heaps          # two streams, merged at the end
        target.update(torch.as_tensor(part), start=i, gmax=gmax, gmin=gmin, group=4)
        if n == peek:                                    # a read in mid-stream
            seen = np.concatenate([data[j:j + step] for m, j in enumerate(batches[:n + 1])
                                   if m % 3 != 2])
            rows = [j + r for m, j in enumerate(batches[:n + 1]) if m % 3 != 2
                    for r in range(len(data[j:j + step]))]
            want = np.asarray(rows)[np.argsort(-seen, axis=0)[:k]]
            got = heaps.top_idx.numpy()
            np.testing.assert_array_equal(got[:len(want)], want)
    heaps.merge(other)
    np.testing.assert_array_equal(heaps.top_idx.numpy(), np.argsort(-data, axis=0)[:k])
    np.testing.assert_array_equal(heaps.bottom_idx.numpy(), np.argsort(data, axis=0)[:k])


@settings(max_examples=30)
@given(seed=seeds, step=st.integers(1, 300), order=st.sampled_from(["up", "down", "out"]))
def test_grids_stay_tight_when_the_range_keeps_growing(seed, step, order):
    # ordered data widen the grid at almost every batch; each regrid must cover the bins that
    # hold counts, not the old grid's empty end (that compounded to bins 58x range/bins wide)
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(3000, 2)) * rng.choice([1e-3, 1.0, 40.0], size=2)
    if order == "out":                        # spreading out from the middle
        data = data[np.argsort(np.abs(data[:, 0]))]
    else:
        data = np.ascontiguousarray(np.sort(data, axis=0)[:: 1 if order == "up" else -1])
    sketch = HistogramSketch(2, bins=64)
    _feed(sketch, data, step)
    assert sketch.counts.sum(1).tolist() == [len(data)] * 2
    width = 2.0 ** sketch.e.double().numpy()
    span = data.max(0) - data.min(0)
    assert np.all(width <= 4 * span / 64), (width * 64 / span)
    exact = np.quantile(data, [0.1, 0.5, 0.9], axis=0, method="inverted_cdf").T
    got = sketch.quantiles([0.1, 0.5, 0.9], torch.as_tensor(data.min(0)),
                           torch.as_tensor(data.max(0))).numpy()
    assert np.all(np.abs(got - exact) <= width[:, None] * (1 + 1e-9))


def test_bottom_heaps_full_of_the_floor_are_skipped_and_stay_exact():
    # ReLU outputs are never below 0: once every bottom heap holds k zeros nothing can enter,
    # and the bottom side is skipped (a unit active on every row keeps its heap updated)
    rng = np.random.default_rng(0)
    data = np.maximum(rng.normal(size=(2000, 3)), 0)
    data[:, 2] = np.abs(data[:, 2]) + 0.5                  # never 0: its heap never fills
    heaps = TopK(3, 4, dtype=torch.float64, floor=0.0)
    for i in range(0, len(data), 50):
        part = data[i:i + 50]
        gmax, _ = _group_extremes(part, 5)
        heaps.update(torch.as_tensor(part), start=i, gmax=gmax, group=5)
    assert not heaps._bottom_full
    low = np.sort(data, axis=0)[:4]                  # ties among zeros: any rows holding them
    np.testing.assert_array_equal(heaps.bottom_val.numpy(), low)
    np.testing.assert_array_equal(np.take_along_axis(data, heaps.bottom_idx.numpy(), 0), low)
    np.testing.assert_array_equal(heaps.top_idx.numpy(), np.argsort(-data, axis=0)[:4])
    relu = TopK(2, 4, dtype=torch.float64, floor=0.0)
    for i in range(0, len(data), 50):
        part = data[i:i + 50, :2]
        relu.update(torch.as_tensor(part), start=i, gmax=_group_extremes(part, 5)[0], group=5)
    assert relu._bottom_full
    np.testing.assert_array_equal(relu.bottom_val.numpy(), low[:, :2])
    np.testing.assert_array_equal(relu.top_idx.numpy(), np.argsort(-data[:, :2], axis=0)[:4])
