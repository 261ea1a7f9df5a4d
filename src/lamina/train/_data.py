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
    """``torch.as_tensor`` of an array-like, copying a read-only array first (pandas'
    copy-on-write frames give read-only arrays, which torch will not alias: it warns)."""
    if isinstance(a, torch.Tensor):
        return a
    arr = np.asarray(a)
    if not arr.flags.writeable:
        arr = np.array(arr)
    return torch.as_tensor(arr)


def as_tensor_pair(data: Any, loss: str, device: torch.device, dtype: torch.dtype,
                   name: str) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(X, y)`` arrays/tensors -> device tensors shaped for ``loss``; None for loaders."""
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        return None
    X, y = data
    if isinstance(data, tuple) and isinstance(X, list):
        X, y = _numeric(X), _numeric(y)    # a (rows, labels) tuple of plain lists
    if not isinstance(X, (np.ndarray, torch.Tensor)) and not hasattr(X, "__array__"):
        return None
    Xt, yt = readable_tensor(X), readable_tensor(y)
    if Xt.shape[0] != yt.shape[0]:
        raise DataError(f"{name}: X has {Xt.shape[0]} rows but y has {yt.shape[0]}; they must "
                        "have one label per row. Check that X and y come from the same split.")
    if Xt.shape[0] == 0:
        raise DataError(f"{name}: no rows to train on (X is empty). Pass at least one sample.")
    if Xt.is_floating_point() or Xt.dtype == torch.bool:
        Xt = Xt.to(device=device, dtype=dtype)
    else:
        Xt = Xt.to(device=device)  # integer ids (embeddings) keep their dtype
    return Xt, shape_targets(yt, loss, device, dtype, name)


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
