"""``Samples``: what a deep estimator feeds its network — fixed-shape inputs, or padded
variable-length sequences with their lengths — and the batches ``Trainer`` reads from it.

Fixed-shape inputs go to :class:`~lamina.train.Trainer` as an ``(X, y)`` tensor pair (it shuffles
and slices them itself). Sequences go as a :class:`BatchStream`: a re-iterable of
``(x, lengths, y)`` batches that reshuffles every epoch and pads each batch only to its own
longest sequence (batches are formed from length-sorted chunks so little compute goes to padding).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from .._errors import DataError, ParameterError
from .._validation import available_bytes, format_bytes

# a chunk of this many batches is sorted by length before it is cut into batches
_BUCKET = 32
_PREDICT_BATCH = 1024


class Samples:
    """Network inputs (and optionally targets) for one data split.

    Parameters
    ----------
    X : torch.Tensor
        ``(N, *shape)`` inputs; for sequences, padded to the longest: ``(N, T, *features)``.
    y : torch.Tensor, optional
        ``(N, ...)`` targets as the loss wants them (class ids as int64, values as float).
    lengths : torch.Tensor, optional
        ``(N,)`` int64 true lengths of padded sequences; ``None`` for fixed-shape inputs.

    Examples
    --------
    >>> s = Samples.from_sequences([np.ones((3, 2)), np.ones((5, 2))], y=np.array([0, 1]))
    >>> s.X.shape, s.lengths.tolist()
    (torch.Size([2, 5, 2]), [3, 5])
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor | None = None,
                 lengths: torch.Tensor | None = None) -> None:
        self.X, self.y, self.lengths = X, y, lengths
        # networks that flatten the time axis need every batch padded to the same T
        self.pad_to: int | None = None

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def is_sequence(self) -> bool:
        return self.lengths is not None

    @classmethod
    def from_sequences(cls, seqs: Sequence[Any], y: Any = None, *, dtype: Any = torch.float32,
                       pad_value: float = 0.0, param: str = "X") -> Samples:
        """Pad a list of ``(T_i, *features)`` arrays into one ``(N, T_max, *features)`` tensor."""
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        feat = tuple(np.shape(seqs[0])[1:]) if len(seqs) else ()
        t_max = int(lengths.max()) if len(seqs) else 0
        itemsize = torch.empty((), dtype=dtype).element_size()
        check_fits(param, len(seqs) * t_max * int(np.prod(feat, dtype=np.int64)) * itemsize,
                   f"{len(seqs)} sequences padded to the longest, T={t_max}",
                   "Truncate or split the longest sequences (e.g. max_length=...), or pass "
                   "fewer at a time.")
        X = torch.full((len(seqs), t_max, *feat), pad_value, dtype=dtype)
        for i, s in enumerate(seqs):
            X[i, :lengths[i]] = torch.as_tensor(np.asarray(s), dtype=dtype)
        yt = None if y is None else torch.as_tensor(np.asarray(y))
        return cls(X, yt, torch.from_numpy(lengths))

    def subset(self, idx: np.ndarray) -> Samples:
        index = torch.as_tensor(idx, dtype=torch.int64)
        out = Samples(self.X[index], None if self.y is None else self.y[index],
                      None if self.lengths is None else self.lengths[index])
        out.pad_to = self.pad_to
        return out

    def to(self, device: torch.device) -> Samples:
        """Move X and y to ``device`` (lengths stay on the CPU, where packing needs them)."""
        return Samples(self.X.to(device), None if self.y is None else self.y.to(device),
                       self.lengths)

    def for_trainer(self, batch_size: int, shuffle: bool, seed: int) -> Any:
        """What :meth:`Trainer.fit` takes: an ``(X, y)`` pair, or a :class:`BatchStream`."""
        if self.lengths is None:
            return (self.X, self.y)
        return BatchStream(self, batch_size, shuffle, seed)

    def input_batches(self, batch_size: int = _PREDICT_BATCH
                      ) -> Iterator[tuple[np.ndarray, tuple[torch.Tensor, ...]]]:
        """``(row indices, network inputs)`` for inference; sequences in length order."""
        n = len(self)
        order = (np.argsort(self.lengths.numpy(), kind="stable") if self.lengths is not None
                 else np.arange(n))
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            yield idx, self._inputs(idx)

    def _inputs(self, idx: np.ndarray) -> tuple[torch.Tensor, ...]:
        index = torch.as_tensor(idx, dtype=torch.int64)
        if self.lengths is None:
            return (self.X[index.to(self.X.device)],)
        lengths = self.lengths[index]
        t = int(lengths.max()) if self.pad_to is None else self.pad_to
        x = self.X[index.to(self.X.device), :t]           # (B, T_batch, *features)
        if x.shape[1] < t:                                 # pad up to the fixed T
            pad = x.new_zeros((x.shape[0], t - x.shape[1], *x.shape[2:]))
            x = torch.cat([x, pad], dim=1)
        return (x, lengths)


class BatchStream:
    """Re-iterable ``(x, lengths, y)`` batches of a sequence :class:`Samples`.

    Each pass draws a new order from its own generator (seeded once), cuts it into chunks of
    ``_BUCKET`` batches, sorts every chunk by length and shuffles the resulting batches, so
    batches hold sequences of similar lengths while epochs still differ.
    """

    def __init__(self, samples: Samples, batch_size: int, shuffle: bool, seed: int) -> None:
        self.samples, self.batch_size, self.shuffle = samples, batch_size, shuffle
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return -(-len(self.samples) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        for idx in self._batches():
            yield self._batch(idx)

    def _batches(self) -> list[np.ndarray]:
        """This pass's batches of row indices: length-sorted chunks, batches shuffled."""
        s, b = self.samples, self.batch_size
        assert s.lengths is not None and s.y is not None
        n = len(s)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        lengths = s.lengths.numpy()
        batches: list[np.ndarray] = []
        for start in range(0, n, b * _BUCKET):
            chunk = order[start:start + b * _BUCKET]
            chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
            batches.extend(chunk[i:i + b] for i in range(0, len(chunk), b))
        if self.shuffle:
            batches = [batches[i] for i in self.rng.permutation(len(batches))]
        return batches

    def _batch(self, idx: np.ndarray) -> tuple[torch.Tensor, ...]:
        s = self.samples
        assert s.y is not None
        x, lens = s._inputs(idx)
        return x, lens, s.y[torch.as_tensor(idx, device=s.y.device)]


def check_fits(param: str, needed_bytes: int, what: str, fix: str) -> None:
    """Refuse, before allocating, an input tensor that would not fit in memory."""
    if needed_bytes < 256 * 2**20:
        return
    available = available_bytes("cpu")
    if available is not None and needed_bytes > 0.5 * available:
        raise ParameterError(param, f"<{what}>", f"the padded inputs alone would need "
                             f"{format_bytes(needed_bytes)}, but only {format_bytes(available)} "
                             "is available", fix)


def check_sequence_list(X: Any, name: str = "X", *, features: int | None = None,
                        allow_1d: bool = True) -> list[np.ndarray]:
    """Validate a list of ``(T_i, F)`` float sequences: non-empty, same F, no NaN/inf, T_i >= 1.

    A 3-D array ``(N, T, F)`` is read as N sequences of length T. ``(T_i,)`` sequences are one
    feature per step when ``allow_1d``.
    """
    if hasattr(X, "tocsr") or hasattr(X, "toarray"):
        raise DataError(f"Sparse input ({type(X).__name__}) is not supported: {name} must be a "
                        "list of dense (T_i, n_features) arrays. Convert with X.toarray().")
    if not isinstance(X, (list, tuple, np.ndarray)) and hasattr(X, "__array__"):
        X = np.asarray(X)                                   # pandas, array-likes
    if isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] == 0:
        raise DataError(f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 "
                        f"is required: each row of a 2-D {name} is a one-feature sequence and "
                        "needs at least one step.")
    if isinstance(X, np.ndarray) and X.ndim in (2, 3):
        seqs = list(X)       # (N, T, F) -> N sequences; (N, T) -> N one-feature sequences
    elif isinstance(X, (list, tuple)) or (isinstance(X, np.ndarray) and X.dtype == object
                                          and X.ndim == 1):
        seqs = list(X)
    else:
        fix = (" Reshape your data: pass [x.reshape(-1, 1)] for one sequence with one feature "
               "per step." if getattr(X, "ndim", None) == 1 else " Wrap the sequences in a list.")
        raise DataError(f"{name} must be a list of sequences, each an array of shape (T_i, "
                        f"n_features), or a 3-D array (N, T, n_features); got "
                        f"{type(X).__name__}{_shape_text(X)}.{fix}")
    if not seqs:
        raise DataError(f"{name} holds no sequences (0 samples). Pass at least one.")
    out: list[np.ndarray] = []
    for i, s in enumerate(seqs):
        try:
            a = np.asarray(s, dtype=np.float32)
        except (TypeError, ValueError):
            raise DataError(f"{name}[{i}] is not numeric (got {type(s).__name__}). Each sequence "
                            "must be a float array of shape (T_i, n_features).") from None
        if a.ndim == 1 and allow_1d:
            a = a[:, None]
        if a.ndim != 2:
            raise DataError(f"{name}[{i}] has shape {a.shape}; each sequence must be 2-D "
                            "(T_i steps, n_features). Reshape it with a.reshape(len(a), -1).")
        if a.shape[0] == 0:
            raise DataError(f"{name}[{i}] is empty (0 steps); every sequence needs at least one "
                            "step. Drop empty sequences before fitting/predicting.")
        width = features if features is not None else (out[0].shape[1] if out else a.shape[1])
        if a.shape[1] != width:
            one = (isinstance(X, np.ndarray) and X.ndim == 2 and features is not None
                   and X.shape[1] == features and a.shape[1] == 1)
            hint = (f" A 2-D {name} is read as {len(seqs)} one-feature sequences; if it is ONE "
                    f"sequence of shape {X.shape}, wrap it in a list: [{name}]." if one else "")
            raise DataError(f"{name}[{i}] has {a.shape[1]} features per step, but "
                            f"{'the model was fitted with' if features is not None else name + '[0] has'} "
                            f"{width}. Every sequence must have the same number of features."
                            + hint)
        if not np.isfinite(a).all():
            step = int(np.argwhere(~np.isfinite(a))[0][0])
            raise DataError(f"{name}[{i}] holds NaN or infinite values (first at step {step}). "
                            "Impute or drop them first (e.g. forward-fill within the sequence).")
        out.append(a)
    return out


def _shape_text(X: Any) -> str:
    shape = getattr(X, "shape", None)
    return f" of shape {tuple(shape)}" if shape is not None else ""


__all__ = ["Samples", "BatchStream", "check_fits", "check_sequence_list"]
