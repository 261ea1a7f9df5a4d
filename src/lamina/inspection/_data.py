"""One pass over the data in batches, whatever form it comes in.

Arrays, tensors, DataFrames and lists are sliced into batches of ``batch_size`` rows (nothing is
copied up front); a ``DataLoader`` or any other iterable is read batch by batch as it comes, each
item being an input array/tensor or a tuple ``(inputs, targets, ...)``. Inputs are batched along
their first axis. A model with several forward arguments (``forward(x, mask)``) reads batches
``((x, mask), targets)``: a tuple in the inputs' place (or a list of tensors, as a DataLoader
collates a tuple) is the forward call's positional arguments; its first tensor sets the rows.

A fitted deep estimator (one with ``network_batches``: images, sequences, texts, ...) reads ``X``
itself, as its ``predict`` does (validation, normalisation, tokenizing, padding), so inspection
sees exactly what its network sees, including extra forward arguments such as sequence lengths.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._errors import DataError, LaminaError, ParameterError, short_repr
from ._model import Target


@dataclass
class Batch:
    x: torch.Tensor            # (B, *example_shape) on the compute device
    y: np.ndarray | None       # (B, ...) the user's targets (raw labels), when known
    start: int                 # global index of the first row
    extra: tuple[Any, ...] = ()            # further forward arguments, e.g. (lengths,)
    target: torch.Tensor | None = None     # targets as an estimator encodes them for its loss

    @property
    def inputs(self) -> tuple[Any, ...]:
        """The forward call's arguments: ``net(*batch.inputs)``."""
        return (self.x, *self.extra)

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    def padding(self) -> tuple[torch.Tensor, int] | None:
        """``(lengths, T)`` when the batch is padded sequences: ``x`` is ``(B, T, ...)`` and an
        extra forward argument holds one integer length per example; else None."""
        if self.x.dim() < 2:
            return None
        for e in self.extra:
            if isinstance(e, torch.Tensor) and e.dim() == 1 and int(e.shape[0]) == self.n \
                    and not e.is_floating_point() and e.dtype != torch.bool:
                return e, int(self.x.shape[1])
        return None


def _as_array(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value
    if hasattr(value, "to_numpy") and hasattr(value, "columns"):          # pandas DataFrame
        return value.to_numpy()
    return np.asarray(value)


def is_indexable(X: Any) -> bool:
    """Arrays, tensors, DataFrames and lists of rows are sliced; a list whose items are tuples
    or whole batches (tensors/arrays of 2+ dims) is an iterable of batches."""
    if isinstance(X, list):
        first = X[0] if X else None
        return not (isinstance(first, (tuple, dict)) or (
            isinstance(first, (np.ndarray, torch.Tensor)) and first.ndim >= 2))
    return isinstance(X, (np.ndarray, torch.Tensor)) or (
        hasattr(X, "to_numpy") and hasattr(X, "shape"))


class DataSource:
    """Batches of ``X`` (and ``y``) converted for ``target``'s network on ``device``."""

    def __init__(self, X: Any, y: Any, batch_size: int, target: Target, device: torch.device,
                 dtype: torch.dtype, *, param: str = "X", targets: bool = False) -> None:
        if X is None or (not target.reads_raw and isinstance(X, (str, bytes, dict))):
            raise ParameterError(param, X, "expected an array, a tensor, a DataFrame, a "
                                 "DataLoader or an iterable of batches",
                                 "Pass e.g. X as a numpy array of shape (n_samples, ...).")
        self.target = target
        self.batch_size = batch_size
        self.device = device
        self.dtype = dtype
        self.param = param
        self.X: Any = None
        self.raw: Any = X
        self.n_rows: int | None = None
        self.y: np.ndarray | None = None
        self.iterable: Any = None
        self.stream: _EstimatorStream | None = None
        if target.reads_raw:
            # the estimator validates and preprocesses X (and, for losses, encodes y) exactly as
            # its predict does; started now so bad input fails before any hook is set
            # a decoder that reads the targets (Seq2Seq) needs y even for statistics
            reads_y = targets or getattr(target.estimator, "_inputs_need_y", False)
            self.stream = _EstimatorStream(target.estimator, X, y if reads_y else None,
                                           batch_size, param)
        elif is_indexable(X):
            arr = _as_array(X)
            if isinstance(arr, np.ndarray) and arr.dtype == object:
                try:
                    arr = arr.astype(np.float64)
                except (TypeError, ValueError):
                    raise DataError(f"{param} holds non-numeric values (dtype object, e.g. "
                                    f"{arr.flat[0]!r}); encode them as numbers first.") from None
            if arr.ndim == 0 or arr.shape[0] == 0:
                raise DataError(f"{param} is empty (shape {tuple(arr.shape)}): there is no row "
                                "to inspect. Pass at least one example.")
            self._check_shape(tuple(arr.shape))
            self.X, self.n_rows = arr, int(arr.shape[0])
            self.iterable = None
        else:
            try:
                self.iterable = iter(X) if not hasattr(X, "__len__") else X
                iter(self.iterable)
            except TypeError:
                raise ParameterError(param, X, "expected an array, a tensor, a DataFrame, a "
                                     "DataLoader or an iterable of batches",
                                     "Pass e.g. a numpy array of shape (n_samples, ...).") from None
        if y is not None:
            y_arr = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
            if y_arr.ndim == 0:
                raise DataError(f"y must hold one target per row of {param}; got a scalar "
                                f"{y_arr!r}.")
            if self.n_rows is not None and y_arr.shape[0] != self.n_rows:
                raise DataError(f"y has {y_arr.shape[0]} entries but {param} has {self.n_rows} "
                                f"rows; pass the targets of exactly these rows, in order.")
            self.y = y_arr

    # ------------------------------------------------------------------ checks
    def _check_shape(self, shape: tuple[int, ...]) -> None:
        want = self.target.in_shape
        if want is None:
            if len(shape) < 2 and not self.target.int_inputs:
                raise DataError(f"{self.param} has shape {shape}: inputs need a batch axis first "
                                "and at least one feature axis. Reshape with "
                                f"{self.param}.reshape(-1, 1) for a single feature.")
            return
        got = shape[1:]
        ok = got == want or (len(want) == 1 and len(got) >= 1 and math.prod(got) == want[0]
                             and not self.target.int_inputs)
        if self.target.variable_length and len(got) == len(want):
            ok = ok or got[1:] == want[1:]
        if not ok:
            expected = ", ".join(str(d) for d in want)
            if len(shape) == 1 and len(want) == 1:
                fix = (f"{self.param} must be 2-D (n_samples, {want[0]}); reshape a single "
                       f"sample with {self.param}.reshape(1, -1).")
            elif len(want) == 1:
                fix = f"Pass {want[0]} features per row, the columns the model was trained on."
            else:
                fix = f"Reshape the inputs to (n_samples, {expected})."
            raise DataError(f"{self.param} has shape {shape} but the model expects inputs of "
                            f"shape (n_samples, {expected}) ({_count(want)} per example). {fix}")

    # ------------------------------------------------------------------ conversion
    def _to_tensor(self, x: Any) -> torch.Tensor:
        t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.ascontiguousarray(x))
        if t.is_floating_point() or t.dtype == torch.bool or not self.target.int_inputs:
            if t.is_complex():
                raise DataError(f"{self.param} is complex-valued; pass real numbers.")
            t = t.to(dtype=self.dtype)
        else:
            t = t.to(dtype=torch.int64)
        return t.to(self.device, non_blocking=True)

    def _extra_input(self, value: Any, i: int, n: int, count: int) -> Any:
        """Forward argument ``i`` (0 is x) of ``count``, in a batch of ``n`` rows: arrays and
        tensors must hold one row per example (floats take the model's dtype; ints and bools,
        e.g. lengths or masks, keep theirs) and go to the device; None and plain numbers pass
        as they are."""
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        what = f"forward argument {i + 1} of {count}"
        t = value if isinstance(value, torch.Tensor) else None
        if isinstance(value, np.ndarray):
            try:
                t = torch.as_tensor(np.ascontiguousarray(value))
            except TypeError:                  # an object array
                t = None
        if t is None:
            raise DataError(f"{what} of a batch of {self.param} is a {type(value).__name__} "
                            f"({short_repr(value, 60)}); lamina passes tensors, arrays, None or "
                            "plain numbers. Convert it to a tensor with one row per example.")
        if t.dim() == 0 or t.shape[0] != n:
            raise DataError(f"{what} of a batch of {self.param} has shape {tuple(t.shape)} but "
                            f"the first one (x) has {n} rows; every forward argument of a batch "
                            "must hold one row per example along its first axis (e.g. a mask "
                            f"of shape ({n}, T)). Check how the batches are built.")
        if t.is_floating_point():
            t = t.to(dtype=self.dtype)
        return t.to(self.device, non_blocking=True)

    @property
    def data(self) -> Any:
        """The inputs row ``i`` of the inspection refers to (for top-example figures), or None
        when they cannot be indexed by row (an iterable; an estimator's rows that are not the
        rows of X, e.g. a forecaster's windows)."""
        if self.stream is None:
            return self.X
        try:
            return self.raw if len(self.raw) == self.n_rows else None
        except TypeError:
            return None

    def _move(self, inputs: tuple[Any, ...]) -> tuple[Any, ...]:
        """As the estimator's predict does: floats take the model's dtype; the first input
        goes to the device; integer extras (sequence lengths) stay on the CPU for packing."""
        return tuple(t.to(self.device, self.dtype) if t.is_floating_point()
                     else t.to(self.device) if i == 0 else t
                     for i, t in enumerate(inputs))

    def _estimator_batches(self) -> Iterator[Batch]:
        assert self.stream is not None
        start = 0
        batches = iter(self.stream)
        for inputs, encoded in batches:
            moved = self._move(tuple(inputs))
            n = int(moved[0].shape[0])
            y = None
            if self.y is not None:
                if start + n > self.y.shape[0]:
                    # count the rest (no forward pass) to say how many rows X gives
                    start += n + sum(int(rest[0][0].shape[0]) for rest in batches)
                    break
                y = self.y[start:start + n]
            if encoded is not None:
                encoded = encoded.to(self.device)
                if encoded.is_floating_point():
                    encoded = encoded.to(self.dtype)
            elif self.stream.reconstructs:
                encoded = moved[0]                # an autoencoder's target is its own input
            yield Batch(moved[0], y, start, moved[1:], encoded)
            start += n
        self.n_rows = start
        if self.y is not None and self.y.shape[0] != start:
            raise DataError(f"y has {self.y.shape[0]} entries but {self.param} gives {start} "
                            f"rows ({self.stream.label} reads it as its predict does); pass the "
                            "targets of exactly these rows, in order.")

    def __iter__(self) -> Iterator[Batch]:
        if self.stream is not None:
            yield from self._estimator_batches()
            return
        if self.X is not None:
            assert self.n_rows is not None
            for start in range(0, self.n_rows, self.batch_size):
                stop = min(start + self.batch_size, self.n_rows)
                x = self._to_tensor(self.X[start:stop])
                y = self.y[start:stop] if self.y is not None else None
                yield Batch(x, y, start)
            return
        start = 0
        for item in self.iterable:  # type: ignore[union-attr]
            inputs, y = _split_item(item, self.param)
            x, extra = _split_inputs(inputs, self.param)
            x_arr = _as_array(x)
            if x_arr.ndim == 0 or x_arr.shape[0] == 0:
                continue
            if start == 0:
                self._check_shape(tuple(x_arr.shape))
            extra = tuple(self._extra_input(value, i, int(x_arr.shape[0]), 1 + len(extra))
                          for i, value in enumerate(extra, start=1))
            if y is not None:
                y = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
                if y.shape[:1] != x_arr.shape[:1]:
                    raise DataError(f"a batch of {self.param} has {x_arr.shape[0]} rows but its "
                                    f"targets have {y.shape[0] if y.ndim else 0}; each batch must "
                                    "be (inputs, targets) with one target per row.")
            if self.y is not None:
                end = start + x_arr.shape[0]
                if end > self.y.shape[0]:
                    raise DataError(f"y has {self.y.shape[0]} entries but {self.param} yields "
                                    f"more rows; pass the targets of exactly these rows.")
                y = self.y[start:end]
            yield Batch(self._to_tensor(x_arr), y, start, extra)
            start += int(x_arr.shape[0])
        if start == 0:
            raise DataError(f"{self.param} yielded no rows (an empty iterable or DataLoader, or "
                            "one already consumed); pass data with at least one example.")
        if self.y is not None and self.y.shape[0] != start:
            raise DataError(f"y has {self.y.shape[0]} entries but {self.param} yielded {start} "
                            "rows; pass the targets of exactly these rows, in order.")
        self.n_rows = start


class _EstimatorStream:
    """``estimator.network_batches(X, y)``: ``(inputs, encoded targets)`` per batch, in input
    order. The first batch is read at construction, so invalid input is reported at once."""

    def __init__(self, estimator: Any, X: Any, y: Any, batch_size: int, param: str) -> None:
        self.estimator, self.X, self.y = estimator, X, y
        self.batch_size, self.param = batch_size, param
        self.label = type(estimator).__name__
        # an estimator trained to reconstruct its inputs (Autoencoder) yields no targets at
        # inference; its loss target is the (preprocessed) input itself
        self.reconstructs = callable(getattr(estimator, "reconstruction_error", None))
        self.pending: tuple[Any, Any] | None = self._open()

    def _open(self) -> tuple[Any, Any]:
        gen = self.estimator.network_batches(self.X, self.y, batch_size=self.batch_size)
        try:
            first = next(gen)
        except StopIteration:
            raise DataError(f"{self.param} gives no rows to inspect; pass at least one "
                            "example.") from None
        except (TypeError, ValueError) as err:    # lamina's DataError is a ValueError too
            if isinstance(err, LaminaError) and not isinstance(err, DataError):
                raise                              # a bad parameter names itself already
            what = self.param if self.y is None else f"{self.param} and y"
            raise DataError(f"{self.label} could not read {what} (inspection feeds them "
                            f"through the estimator, as predict does): {err}") from err
        return gen, first

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        gen, first = self.pending if self.pending is not None else self._open()
        self.pending = None
        yield first
        yield from gen


def _split_item(item: Any, param: str) -> tuple[Any, Any]:
    if isinstance(item, (tuple, list)):
        if not item:
            raise DataError(f"{param} yielded an empty tuple; each batch must be inputs or "
                            "(inputs, targets).")
        return item[0], (item[1] if len(item) > 1 else None)
    if isinstance(item, dict):
        raise DataError(f"{param} yielded a dict (keys {list(item)[:5]}); lamina reads batches "
                        "that are inputs or tuples (inputs, targets). Wrap the loader, e.g. "
                        "((b['x'], b['y']) for b in loader).")
    return item, None


def _split_inputs(inputs: Any, param: str) -> tuple[Any, tuple[Any, ...]]:
    """``(x, further forward arguments)`` of a batch's inputs: a tuple, or a list of tensors
    (a DataLoader collates a dataset's ``(x, mask)`` into ``[x, mask]``), holds the forward
    call's positional arguments; anything else is ``x`` alone."""
    several = isinstance(inputs, tuple) or (
        isinstance(inputs, list) and bool(inputs)
        and all(isinstance(v, torch.Tensor) for v in inputs))
    if not several:
        return inputs, ()
    if not inputs:
        raise DataError(f"{param} yielded a batch whose inputs are an empty tuple; give the "
                        "forward arguments, e.g. ((x, mask), y).")
    return inputs[0], tuple(inputs[1:])


def warn_if_reordered(X: Any, param: str = "X") -> None:
    """Warn (once per call) when ``X`` is a DataLoader that does not read its dataset in order:
    the inspection numbers rows in the order they arrive, so its row indices would not be the
    dataset's."""
    how = _reordering(X)
    if how is None:
        return
    from ..datasets import DataQualityWarning

    warnings.warn(
        f"{param} is a DataLoader that {how}. lamina numbers rows in the order the loader yields them in this pass: the row indices "
        "of top_examples(...).indices/.low_indices and of sample_index (the sampled rows) are "
        "positions in that order, not indices into your dataset, and a y given later (e.g. "
        "ins.probe(y)) would not line up. To get dataset row indices, inspect with a loader that "
        "keeps the order: DataLoader(dataset, batch_size=..., shuffle=False).",
        DataQualityWarning, stacklevel=3)


def _reordering(X: Any) -> str | None:
    """How a DataLoader reorders its dataset's rows, in words; None when it reads them in order
    (or ``X`` is no DataLoader, or its dataset is iterable-style: its own order is the order)."""
    from torch.utils.data import BatchSampler, DataLoader, IterableDataset, SequentialSampler

    if not isinstance(X, DataLoader) or isinstance(X.dataset, IterableDataset):
        return None
    batches = X.batch_sampler
    if batches is None:                       # batch_size=None: X.sampler draws single rows
        sampler = X.sampler
    elif type(batches) is BatchSampler:       # a subclass may reorder the batches
        sampler = batches.sampler
    else:
        return (f"batches its rows with a custom batch_sampler ({type(batches).__name__}), "
                "which may not follow dataset order")
    if isinstance(sampler, SequentialSampler):
        return None
    shuffled = " (what shuffle=True gives)" if type(sampler).__name__ == "RandomSampler" else ""
    return f"draws its rows with a {type(sampler).__name__}{shuffled}, not in dataset order"


def _count(shape: tuple[int, ...]) -> str:
    n = math.prod(shape)
    return f"{n} value{'s' if n != 1 else ''}"
