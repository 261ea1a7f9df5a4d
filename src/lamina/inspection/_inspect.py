"""``lamina.inspect``: one streamed pass over the data -> an :class:`Inspection`."""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

import numpy as np
import torch
from torch.nn.utils.rnn import PackedSequence

from .._errors import DataError, ParameterError
from .._heap import HeapTrimmer
from .._validation import check_int, resolve_device
from ._data import Batch, DataSource, warn_if_reordered
from ._hooks import eval_mode, forward_hooks, model_device, model_float_dtype, on_device
from ._inspection import Inspection, LayerRecord
from ._model import Target, describe_model, resolve_model
from ._reservoir import Reservoir
from ._split import coder_sides, run_order
from ._stats import _SKETCH_PERIOD, LayerStats, StatsConfig
from ._taps import Tap, first_tensor, resolve_taps, to_units

# inputs up to this many values per example are kept in the sample (input probe, 2-D maps)
_MAX_SAMPLED_INPUT = 4096
# per-feature input ranges are tracked for inputs this small (2-D planes, tabular data)
_MAX_RANGED_INPUT = 64


def inspect(model: Any, X: Any, y: Any = None, layers: Any = None, batch_size: int = 1024,
            top_k: int = 9, device: Any = None, *, sample_size: int = 2048, bins: int = 128,
            sketch_rows: int | None = 64, random_state: int = 0) -> Inspection:
    """Census of every hidden unit: stream ``X`` through ``model`` once, in bounded memory.

    Parameters
    ----------
    model : lamina estimator, HiddenNet or torch.nn.Module
        A fitted ``MLPClassifier``/``MLPRegressor`` or deep estimator (``ImageClassifier``,
        ``TextClassifier``, ``SequenceClassifier``, ``Autoencoder``, ``Forecaster``,
        ``Recommender``; its ``module_`` is inspected), a network from :func:`lamina.build`,
        or any torch module.
    X : array, tensor, DataFrame, DataLoader or iterable of batches
        Inputs, batched along the first axis. Items of an iterable are input batches or tuples
        ``(inputs, targets, ...)``. For a model with several forward arguments
        (``forward(x, mask)``, ``forward(x, lengths)``) give each batch as
        ``((x, mask), targets)`` (``targets`` may be None; a DataLoader's collated list
        ``[x, mask]`` works too): the model is called as ``model(x, mask)``, ``x`` sets the rows
        and every other tensor must hold one row per example. Row ``i`` is the ``i``-th row in
        the order the data arrive: a DataLoader that shuffles (``shuffle=True``) is warned
        about, since its row indices are not dataset indices. A deep estimator reads ``X`` as its ``predict`` does (raw
        images, strings, lists of sequences, id pairs, a series) and the network sees exactly
        what it sees in ``predict``: normalised, tokenized, padded, with sequence lengths. Row
        ``i`` is then the estimator's ``i``-th network input (a forecaster's ``i``-th window).
    y : array-like, optional
        Targets of the rows (or take them from the batches). Kept for the sampled rows only:
        they colour PCA plots and train probes; any labels work (they need not be the model's
        classes).
    layers : None, str, list of str or dict {name: unit_axis}
        Module names to inspect. ``None`` = the default rule: a ``HiddenNet``'s hidden layers
        ``hidden.0, hidden.1, ...``; for any other module, every module with a ``unit_axis``
        attribute and every ``nn.LSTM``/``nn.GRU``/``nn.RNN``/``nn.TransformerEncoderLayer``/
        ``nn.TransformerDecoderLayer``/``nn.MultiheadAttention`` block (modules inside them are
        not inspected separately), plus every other leaf activation module (``nn.ReLU``,
        ``nn.GELU``, ``nn.Tanh``, ``nn.Sigmoid``, ``nn.SiLU``, ``nn.ELU``, ``nn.LeakyReLU``, ...).
        A unit is axis 1 of the output (``(B, C, H, W)`` -> a channel, averaged over positions);
        for recurrent and attention blocks the last axis (a hidden-state/feature dimension,
        averaged over time). A module called several times per forward gives one layer per
        call, named ``name#0``, ``name#1``, ...
    batch_size : int
        Rows per forward pass for array inputs.
    top_k : int
        How many most/least exciting examples to keep per unit.
    device : str or torch.device, optional
        Where to run; default: where the model's parameters are. The model is moved there for
        the pass and moved back afterwards.
    sample_size : int
        Rows kept (uniformly at random, reservoir sampling) per layer for correlations,
        effective rank, CKA, probes and PCA.
    bins : int
        Bins of each unit's histogram sketch, from which the quantiles ``q05..q95`` are read.
        They are approximate: off by at most one bin width from the quantiles of the rows fed
        to the sketch. A bin is a power of two wide, at least (max - min) / ``bins`` and under
        twice that in practice (the grid widens by merging bins as a unit's range grows, to
        the smallest width that covers the values seen); ReLU's exact zeros are kept exact.
    sketch_rows : int or None
        Every row goes into the sketch until 4 096 rows were seen, and so does every row of a
        batch of at most ``sketch_rows`` rows. After that, a larger batch goes in only one time
        in 4, and then only every s-th row of it (about ``4 * sketch_rows`` rows, each counted
        ``4 * s`` times); the other batches skip it. Quantiles of large data are
        then estimated from this systematic subsample (cheap, but ordered data such as a
        sorted table can bias it); None = every row of every batch (slower).
        ``meta["sketch_subsampled_from"]`` is the first row subsampled (None: none was).
    random_state : int
        Seed of the reservoir sample.

    Returns
    -------
    Inspection
        ``.units`` and ``.layers`` tables, ``top_examples``, ``cka``, ``probe``, ``ablate``,
        ``gradient_flow`` and ``plot_*`` figures.

    Notes
    -----
    The model runs in eval mode (dropout off, batch-norm running statistics) under
    ``torch.inference_mode``; every submodule's mode is restored afterwards, and the forward
    hooks are removed even if the forward raises. Memory does not grow with the number of rows.

    Examples
    --------
    >>> import lamina, numpy as np
    >>> net = lamina.build((8, 4), in_features=3, out=2, seed=0)
    >>> ins = lamina.inspect(net, np.random.default_rng(0).normal(size=(100, 3)))
    >>> list(ins.layers["layer"])
    ['hidden.0', 'hidden.1']
    """
    target = resolve_model(model)
    batch_size = check_int("batch_size", batch_size, 1)
    config = StatsConfig(top_k=check_int("top_k", top_k, 1, 10_000), bins=check_int(
        "bins", bins, 8, 65_536), sketch_rows=None if sketch_rows is None else check_int(
        "sketch_rows", sketch_rows, 1), sample_size=check_int("sample_size", sample_size, 10))
    seed = check_int("random_state", random_state, 0)
    if any(t.is_meta for t in list(target.net.parameters()) + list(target.net.buffers())):
        raise ParameterError("model", type(target.net).__name__, "a model with real weights; "
                             "this one's tensors are on the 'meta' device (shapes only)",
                             "Materialise it first: model.to_empty(device='cpu'), then "
                             "load_state_dict(...).")
    taps = resolve_taps(target.net, layers)
    dev = resolve_device(device) if device is not None else model_device(target.net)
    source = DataSource(X, y, batch_size, target, dev, model_float_dtype(target.net))
    warn_if_reordered(X)
    collector = _Collector(taps, config, Reservoir(config.sample_size, seed), dev)
    was_training = target.net.training
    sides: dict[tuple[str, int], str] | None = None
    with on_device(target.net, dev), eval_mode(target.net), torch.inference_mode():
        heap = HeapTrimmer()       # RSS must not drift with the rows (see lamina._heap)
        with forward_hooks(taps, collector.on_output) as hooks:
            for batch in source:
                collector.begin(batch)
                hooks.new_forward()
                if sides is None:
                    sides = _first_forward(target, batch)
                else:
                    _forward(target, batch)
                heap.tick()
        hooks.check_fired()
    meta = {
        "n_rows": collector.reservoir.seen, "batch_size": batch_size, "top_k": config.top_k,
        "bins": config.bins, "sketch_rows": config.sketch_rows,
        # how the quantile sketch was fed (see _stats.LayerStats._sketch_rows): every row of
        # the first sketch_exact_rows, then one batch in sketch_period, thinned; the first row
        # of the first thinned batch (None: every row went in)
        "sketch_exact_rows": config.sketch_exact_rows, "sketch_period": _SKETCH_PERIOD,
        "sketch_subsampled_from": collector.sketch_subsampled_from(),
        "sample_size": config.sample_size, "random_state": seed,
        "model": describe_model(target), "model_was_training": bool(was_training),
        "device": str(dev), "created": _dt.datetime.now(_dt.timezone.utc).isoformat(
            timespec="seconds"), "lamina_version": _version(),
    }
    ins = Inspection(meta, collector.records(sides or {}), collector.sample_meta(),
                     collector.input_info())
    ins._attach(target, source.data, source.y)
    return ins


def _first_forward(target: Target, batch: Batch) -> dict[tuple[str, int], str]:
    """The first batch's forward, which also finds the model's encoder/decoder split (if any)
    from the order its modules run in (see ``_split``)."""
    with run_order(target.net, batch.n) as calls:
        output = _forward(target, batch)
    return coder_sides(target.net, calls, batch.x, output)


def _forward(target: Target, batch: Batch) -> Any:
    try:
        return target.net(*batch.inputs)
    except (RuntimeError, TypeError) as err:
        if batch.start != 0:
            raise
        if target.reads_raw:
            raise DataError(f"{target.label}'s network could not run on the inputs its "
                            f"network_batches(X) gives (x of shape {tuple(batch.x.shape)}, "
                            f"{1 + len(batch.extra)} argument(s)): {err}. lamina.inspect needs "
                            "an estimator whose module_ maps those inputs to its outputs "
                            "(a decoder that also reads target sequences cannot run on X "
                            "alone).") from err
        raise DataError(f"the model's forward failed on the first batch of X (shape "
                        f"{tuple(batch.x.shape)}, dtype {batch.x.dtype}, "
                        f"{len(batch.inputs)} forward argument(s)): {err}. Check that X "
                        "has the shape and type the model was built for; a model with several "
                        "forward arguments reads batches ((x, mask), y).") from err


class _Collector:
    """Receives every tapped output during the pass and feeds the layer statistics."""

    def __init__(self, taps: list[Tap], config: StatsConfig, reservoir: Reservoir,
                 device: torch.device) -> None:
        self.taps = taps
        self.config = config
        self.reservoir = reservoir
        self.device = device
        self.sites: dict[tuple[str, int], LayerStats] = {}
        self.site_info: dict[tuple[str, int], tuple[Tap, tuple[int, ...]]] = {}
        self.batch: Batch | None = None
        self.rows = torch.zeros(0, dtype=torch.int64)
        self.slots = torch.zeros(0, dtype=torch.int64)
        self._index_buffers: dict[str, torch.Tensor] = {}
        self.sample_y: np.ndarray | None = None
        self.sample_x: torch.Tensor | None = None
        self.x_min = math.inf
        self.x_max = -math.inf
        self.example_shape: tuple[int, ...] | None = None
        self.x_dtype = ""
        # inputs whose per-example shape changes between batches (padded sequences): no
        # sample of them is kept (rows would not line up), only their range
        self.ragged = False
        self.n_inputs = 1

    def begin(self, batch: Batch) -> None:
        self.batch = batch
        n = batch.x.shape[0]
        rows, slots = self.reservoir.plan(n)
        self.rows = self._index_tensor("rows", rows, n)
        self.slots = self._index_tensor("slots", slots, n)
        shape = tuple(batch.x.shape[1:])
        if self.example_shape is None:
            self.example_shape = shape
            self.x_dtype = str(batch.x.dtype).replace("torch.", "")
            self.n_inputs = len(batch.inputs)
        elif shape != self.example_shape and not self.ragged:
            self._go_ragged(shape)
        if batch.y is not None and len(rows):
            if self.sample_y is None:
                self.sample_y = np.zeros((self.reservoir.size,) + batch.y.shape[1:],
                                         dtype=batch.y.dtype)
            self.sample_y[slots] = batch.y[rows]
        if batch.x.is_floating_point():
            self._input_stats(batch.x.reshape(n, -1))

    def _index_tensor(self, key: str, values: np.ndarray, batch: int) -> torch.Tensor:
        """``values`` (at most ``batch`` row indices) in a reused int64 tensor. A fresh small
        tensor per batch that lives through the forward pass pins glibc's heap between the
        model's multi-MB activation blocks: RSS then crept up with the number of rows (+17 %
        from 10 000 to 1 000 000 rows of a (512, 512, 512) MLP, memory in use flat)."""
        buf = self._index_buffers.get(key)
        if buf is None or buf.numel() < len(values):
            buf = torch.empty(max(batch, len(values)), dtype=torch.int64, device=self.device)
            self._index_buffers[key] = buf
        out = buf[: len(values)]
        out.copy_(torch.from_numpy(np.ascontiguousarray(values, dtype=np.int64)))
        return out

    def _go_ragged(self, shape: tuple[int, ...]) -> None:
        """The inputs' per-example shape changed (e.g. padded to each batch's longest
        sequence): keep the range seen so far, drop the input sample, mark varying axes -1."""
        assert self.example_shape is not None
        if self.sample_x is not None and self.reservoir.filled:
            kept = self.sample_x[: self.reservoir.filled].double()
            kept = torch.where(torch.isfinite(kept), kept, torch.zeros((), dtype=kept.dtype,
                                                                       device=kept.device))
            self.x_min = min(self.x_min, float(kept.min()))
            self.x_max = max(self.x_max, float(kept.max()))
        self.sample_x = None
        self.ragged = True
        if len(shape) == len(self.example_shape):
            self.example_shape = tuple(a if a == b else -1
                                       for a, b in zip(self.example_shape, shape))

    def _input_stats(self, x: torch.Tensor) -> None:
        """Keep the sampled rows' inputs; inputs too wide to sample get their range tracked on
        a systematic subsample of rows (ranges only bound plots and activation maximisation)."""
        if x.shape[1] <= _MAX_SAMPLED_INPUT and not self.ragged:
            if self.sample_x is None:
                self.sample_x = torch.zeros(self.reservoir.size, x.shape[1], dtype=x.dtype,
                                            device=x.device)
            if len(self.rows):
                self.sample_x.index_copy_(0, self.slots, x.index_select(0, self.rows))
            return
        part = x[:: max(1, x.shape[0] // 64)]
        part = torch.where(torch.isfinite(part), part, torch.zeros((), dtype=x.dtype,
                                                                    device=x.device))
        self.x_min = min(self.x_min, float(part.min()))
        self.x_max = max(self.x_max, float(part.max()))

    def on_output(self, tap: Tap, call: int, output: Any) -> None:
        assert self.batch is not None
        pooled, elements = to_units(output, tap, self.batch.x.shape[0], self.batch.padding())
        key = (tap.name, call)
        stats = self.sites.get(key)
        if stats is None:
            t = first_tensor(output)
            if isinstance(t, PackedSequence):
                shape: tuple[int, ...] = (-1, int(t.data.shape[-1]))   # (steps vary, units)
            else:
                shape = tuple(t.shape[:tap.batch_axis % t.dim()]
                              + t.shape[tap.batch_axis % t.dim() + 1:])
            stats = LayerStats(pooled.shape[1], tap.activation, self.config, self.device,
                               pooled.dtype)
            self.sites[key] = stats
            self.site_info[key] = (tap, shape)
        elif stats.width != pooled.shape[1]:
            raise DataError(f"layer {tap.name!r} had {stats.width} units in earlier batches and "
                            f"{pooled.shape[1]} now; its unit axis must keep a fixed size.")
        stats.update(pooled, elements, self.batch.start, self.rows, self.slots)

    def sketch_subsampled_from(self) -> int | None:
        """The first row any layer's quantile sketch saw only a subsample of (None: none)."""
        starts = [s.subsampled_from for s in self.sites.values() if s.subsampled_from is not None]
        return min(starts) if starts else None

    def records(self, sides: dict[tuple[str, int], str]) -> list[LayerRecord]:
        """The finalised layers; ``sides`` places calls on an encoder/decoder side."""
        calls: dict[str, int] = {}
        for name, call in self.sites:
            calls[name] = max(calls.get(name, 0), call + 1)
        out = []
        filled = self.reservoir.filled
        for (name, call), stats in self.sites.items():
            tap, shape = self.site_info[(name, call)]
            label = name if calls[name] == 1 else f"{name}#{call}"
            out.append(LayerRecord(label, name, call, tap.kind, tap.activation, shape,
                                   stats.width, stats.finalize(filled, self.reservoir.index),
                                   tap.parameter_free, sides.get((name, call))))
        return out

    def sample_meta(self) -> dict[str, Any]:
        filled = self.reservoir.filled
        x = self.sample_x[:filled] if self.sample_x is not None else None
        if x is not None and x.dtype == torch.bfloat16:
            x = x.float()                 # numpy has no bfloat16
        return {
            "index": self.reservoir.index[:filled].copy(),
            "y": self.sample_y[:filled].copy() if self.sample_y is not None else None,
            "x": x.cpu().numpy() if x is not None else None,
        }

    def input_info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"shape": list(self.example_shape or ()), "dtype": self.x_dtype,
                                "n_inputs": self.n_inputs}
        if self.sample_x is not None:
            x = self.sample_x[: self.reservoir.filled].double()
            x = torch.where(torch.isfinite(x), x, torch.zeros((), dtype=x.dtype))
            if x.shape[0]:
                self.x_min, self.x_max = float(x.min()), float(x.max())
                if x.shape[1] <= _MAX_RANGED_INPUT:
                    info["feature_min"] = x.amin(0).cpu().tolist()
                    info["feature_max"] = x.amax(0).cpu().tolist()
        if math.isfinite(self.x_min):
            info["min"], info["max"] = self.x_min, self.x_max
        return info


def _version() -> str:
    try:
        from .. import __version__
        return str(__version__)
    except ImportError:  # pragma: no cover
        return "unknown"
