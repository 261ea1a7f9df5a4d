"""Turning what users pass to ``Trainer.fit`` into tensors or batches."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from .._errors import DataError, ParameterError


def model_device_dtype(model: torch.nn.Module) -> tuple[torch.device, torch.dtype]:
    for p in model.parameters():
        return p.device, p.dtype
    return torch.device("cpu"), torch.get_default_dtype()


def readable_tensor(a: Any) -> torch.Tensor:
    """``torch.as_tensor`` of an array-like, copying first an array torch cannot alias: a
    read-only one (pandas' copy-on-write frames give them; torch warns) or one with negative
    strides (``X[::-1]``; torch refuses it)."""
    if isinstance(a, torch.Tensor):
        return a
    arr = np.asarray(a)
    if not arr.flags.writeable or any(step < 0 for step in arr.strides):
        arr = np.array(arr)
    return torch.as_tensor(arr)


def as_tensor_data(data: Any, loss: str, device: torch.device, dtype: torch.dtype,
                   name: str) -> tuple[torch.Tensor, ...] | None:
    """In-memory data -> tensors; None for loaders and other iterables of batches.

    ``(X, y)`` gives ``(X, y)`` on the model's device, y shaped for ``loss``. ``(X, lengths, y)``
    (padded sequences ``X`` of shape ``(N, T, ...)`` and each one's true length) gives
    ``(X, lengths, y)`` with ``lengths`` a CPU int64 tensor (what packing reads), checked by
    :func:`sequence_lengths`. Float X takes the model's dtype; integer ids keep theirs."""
    if not (isinstance(data, (tuple, list)) and len(data) in (2, 3)):
        return None
    X, *lengths, y = data
    with_lengths = bool(lengths) and _looks_like_lengths(lengths[0])
    if isinstance(X, list) and (isinstance(data, tuple) or with_lengths):
        # plain lists: (rows, labels) or (padded rows, lengths, labels)
        X, y, lengths = _numeric(X), _numeric(y), [_numeric(v) for v in lengths]
    if not isinstance(X, (np.ndarray, torch.Tensor)) and not hasattr(X, "__array__"):
        if isinstance(X, list) and with_lengths:
            raise DataError(f"{name}: (X, lengths, y) needs X as one array of padded "
                            f"sequences, shape (N, T, ...); got a list of {len(X)} sequences "
                            "that do not form one numeric array (different lengths?). Pad "
                            "them first, e.g. torch.nn.utils.rnn.pad_sequence([torch."
                            "as_tensor(s) for s in X], batch_first=True).")
        return None
    Xt, yt = readable_tensor(X), readable_tensor(y)
    if Xt.shape[0] != yt.shape[0]:
        raise DataError(f"{name}: X has {Xt.shape[0]} rows but y has {yt.shape[0]}; they must "
                        "have one label per row. Check that X and y come from the same split.")
    if Xt.shape[0] == 0:
        raise DataError(f"{name}: no rows to train on (X is empty). Pass at least one sample.")
    lens = [sequence_lengths(v, Xt.shape, name) for v in lengths]
    if Xt.is_floating_point() or Xt.dtype == torch.bool:
        Xt = Xt.to(device=device, dtype=dtype)
    else:
        Xt = Xt.to(device=device)  # integer ids (embeddings) keep their dtype
    return Xt, *lens, shape_targets(yt, loss, device, dtype, name)


def sequence_lengths(lengths: Any, x_shape: torch.Size, name: str) -> torch.Tensor:
    """The ``lengths`` of in-memory ``(X, lengths, y)`` as a CPU int64 tensor.

    ``X`` must hold padded sequences, ``(N, T, ...)``; ``lengths`` must be a 1-D array of ``N``
    whole numbers with ``1 <= length <= T`` (a longer one would be truncated silently, an empty
    one has nothing to read). Anything else is a :class:`DataError` that names ``name`` and the
    bad value.

    Examples
    --------
    >>> sequence_lengths([3, 1], torch.Size([2, 4, 5]), "train").tolist()
    [3, 1]
    """
    if len(x_shape) < 2:
        raise DataError(f"{name}: (X, lengths, y) needs X of padded sequences, shape (N, T, ...) "
                        f"with the steps on axis 1; got X of shape {tuple(x_shape)}. Pad the "
                        "sequences to a common length T, or pass (X, y) without lengths.")
    n, steps = int(x_shape[0]), int(x_shape[1])
    try:
        t = readable_tensor(lengths)
    except (TypeError, ValueError, RuntimeError):
        raise DataError(f"{name}: lengths must be a 1-D array of integers, one per row of X; got "
                        f"{type(lengths).__name__}. Pass e.g. np.array([len(s) for s in "
                        "sequences]).") from None
    if t.dim() != 1 or t.shape[0] != n:
        raise DataError(f"{name}: lengths must hold one length per row of X, shape ({n},); got "
                        f"shape {tuple(t.shape)}. Pass the true number of steps of each "
                        "sequence, in the order of X's rows.")
    whole = not t.is_floating_point() or bool(torch.all(t == t.round()))
    if t.dtype == torch.bool or t.is_complex() or not whole:
        raise DataError(f"{name}: lengths must be whole numbers of steps; got dtype "
                        f"{str(t.dtype).replace('torch.', '')} with values such as "
                        f"{t.flatten()[:3].tolist()}. Pass integer lengths, e.g. "
                        "np.asarray(lengths, dtype=int).")
    t = t.to(device="cpu", dtype=torch.int64)
    for bad, rule in ((t < 1, ">= 1 (every sequence needs a step)"),
                      (t > steps, f"<= T={steps}, the padded length of X (nothing is "
                                  "truncated silently)")):
        if bool(bad.any()):
            i = int(bad.nonzero()[0, 0])
            raise DataError(f"{name}: every length must be {rule}; lengths[{i}] is "
                            f"{int(t[i])} ({int(bad.sum())} of {n} are out of range). Fix the "
                            "lengths, pad X to the longest sequence, or drop empty sequences.")
    return t


def _looks_like_lengths(values: Any) -> bool:
    """A 1-D array-like of integers (the middle of ``(X, lengths, y)``, not a batch)."""
    if not isinstance(values, (list, np.ndarray, torch.Tensor)):
        return False
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError, RuntimeError):
        return False
    return arr.ndim == 1 and arr.dtype.kind in "iu"


def in_memory(data: Any) -> bool:
    """``data`` is what :func:`as_tensor_data` returned (not a loader)."""
    return (isinstance(data, tuple) and len(data) in (2, 3)
            and all(isinstance(t, torch.Tensor) for t in data))


def shape_targets(yt: torch.Tensor, loss: str, device: torch.device, dtype: torch.dtype,
                  name: str) -> torch.Tensor:
    """Targets as ``loss`` reads them: ``(N,)`` int64 class ids for cross-entropy (from any
    integer or integral float dtype, and ``(N, 1)`` columns), ``(N, out)`` floats otherwise.
    The same for in-memory data and for every batch of a loader."""
    if loss == "cross_entropy":
        if yt.is_floating_point() and not torch.equal(yt, yt.round()):
            raise DataError(f"{name}: loss='cross_entropy' needs integer class ids in y, got "
                            f"non-integer values such as {yt.flatten()[0].item()!r}. Encode labels "
                            "with sklearn.preprocessing.LabelEncoder, or use a regression loss.")
        return yt.to(device=device, dtype=torch.long).reshape(-1)
    yt = yt.to(device=device, dtype=dtype)
    return yt.reshape(-1, 1) if yt.dim() == 1 else yt


def _numeric(values: Any) -> Any:
    """A list of numbers (or of equal-length lists of numbers) as an array; anything else as
    it is (an iterable of batches stays one)."""
    if not isinstance(values, list):
        return values
    try:
        arr = np.asarray(values)
    except ValueError:                    # ragged: not one table
        return values
    return arr if arr.dtype.kind in "biuf" else values


def iterate_batches(loader: Iterable[Any], device: torch.device, dtype: torch.dtype,
                    loss: str | None = None, name: str = "train"
                    ) -> Iterable[tuple[tuple[torch.Tensor, ...], torch.Tensor]]:
    """Yield ``(inputs, y)`` from a DataLoader / iterable of ``(x, y)`` or ``(x, lengths, y)``;
    with ``loss``, each batch's targets are shaped for it as in-memory data's are. An iterable
    that yields nothing (a generator already used up by an earlier epoch) is a DataError."""
    empty = True
    for batch in loader:
        empty = False
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise ParameterError(name, type(batch).__name__, "each batch must be a tuple "
                                 "(x, y) or (x, lengths, y)", "Yield (inputs, targets) tuples.")
        *inputs, y = batch
        moved = tuple(t.to(device=device, dtype=dtype) if t.is_floating_point()
                      else t.to(device=device) for t in inputs)
        y = torch.as_tensor(y)
        yield moved, (y.to(device=device) if loss is None
                      else shape_targets(y, loss, device, dtype, name))
    if empty:
        raise DataError(f"{name} yielded no batches. A generator is used up after one pass, so "
                        "every later epoch would see nothing: pass a list of batches or a "
                        "DataLoader, which can be iterated once per epoch.")


def check_sample_weight(sample_weight: Any, n_samples: int,
                        name: str = "sample_weight") -> np.ndarray:
    """sklearn's ``_check_sample_weight`` with lamina's errors: a scalar (one weight for every
    row) or a 1-D array of ``n_samples`` finite, non-negative numbers, not all zero.

    Returns a new float64 array (the caller's weights are never modified).

    Examples
    --------
    >>> check_sample_weight([1, 2, 0], 3)
    array([1., 2., 0.])
    >>> check_sample_weight(2.0, 2)
    array([2., 2.])
    """
    if hasattr(sample_weight, "tocsr") or hasattr(sample_weight, "toarray"):
        raise ParameterError(name, f"<sparse {type(sample_weight).__name__}>",
                             "sample weights must be a dense 1-D array",
                             f"Convert them with {name}.toarray().ravel().")
    if isinstance(sample_weight, torch.Tensor):
        sample_weight = sample_weight.detach().cpu().numpy()
    raw = np.asarray(sample_weight)
    if raw.dtype.kind not in "biuf":
        try:
            if raw.dtype.kind == "c":
                raise TypeError("complex")
            raw = raw.astype(np.float64)
        except (TypeError, ValueError):
            raise ParameterError(name, sample_weight, "sample weights must be numbers (got "
                                 f"dtype {raw.dtype})", "Pass one float weight per row of X, "
                                 "e.g. np.asarray(w, dtype=float).") from None
    if raw.ndim == 0:
        w = np.full(n_samples, float(raw), dtype=np.float64)
    else:
        w = np.array(raw, dtype=np.float64)   # a copy: validation never aliases the caller's
    if w.ndim != 1:
        raise ParameterError(name, f"<array of shape {w.shape}>", "sample weights must be a "
                             f"scalar or a 1-D array with one weight per row of X "
                             f"({n_samples} values), not a {w.ndim}-D array",
                             f"Flatten them, e.g. {name}=np.ravel(w), if there is one per row.")
    if w.shape[0] != n_samples:
        raise ParameterError(name, f"<array of shape {w.shape}>", "sample weights need one "
                             f"weight per row of X: X has {n_samples} rows, {name} has "
                             f"{w.shape[0]}", "Pass the weights of the same rows as X (check "
                             "they come from the same split).")
    bad = ~np.isfinite(w)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ParameterError(name, f"<{w[i]} at row {i}>", f"sample weights must be finite; "
                             f"{int(bad.sum())} of {n_samples} are NaN or infinite",
                             "Replace the missing weights (e.g. with 1.0) or drop those rows.")
    if (w < 0).any():
        i = int(np.flatnonzero(w < 0)[0])
        raise ParameterError(name, f"<{w[i]:g} at row {i}>", "sample weights must be >= 0 "
                             "(a negative weight would reward the errors it weighs)",
                             f"Clip them with np.clip({name}, 0, None) or drop those rows.")
    if not (w > 0).any():
        raise ParameterError(name, f"<all {n_samples} zero>", "sample weights must contain "
                             "at least one non-zero weight (all-zero weights leave nothing to "
                             "fit)", "Give the rows to learn from a positive weight.")
    return w
