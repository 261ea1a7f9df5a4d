"""Checks of in-memory training and validation data, run once per ``Trainer.fit``.

Both training paths (the explicit engine, autograd with any optimizer or sample weights) and
the validation data, as ``(X, y)`` or padded sequences ``(X, lengths, y)``, get the same lamina :class:`DataError` before any batch runs: the message
names the argument (``train`` or ``val``), the bad value, what is allowed and a fix. Without
them autograd would raise torch's raw errors (``Target 13 is out of bounds``, ``mat1 and mat2
shapes cannot be multiplied``) or train on NaN and blame the learning rate.

Each check reads every element once per tensor and per fit, never per batch. Finiteness is one
min/max reduction (NaN and inf reach the minimum or the maximum; on CPU an order of magnitude
faster than ``isfinite(X).all()``), and bad values are located only when there are some.
Iterables of batches (DataLoaders, streams) are left alone: they cannot be checked before they
run, and checking every batch would add a device sync per step; a :class:`~lamina.HiddenNet`
with non-dense layers still checks each batch itself, in its ``forward``.
"""

from __future__ import annotations

import torch

from .._errors import DataError
from ..engine._checks import all_finite, check_values
from ..nn import HiddenNet
from ..nn._input import check_net_input
from ..nn._sequence import check_finite_steps


def check_data(model: torch.nn.Module, data: tuple[torch.Tensor, ...], loss: str,
               name: str) -> None:
    """Refuse ``(X, y)`` or ``(X, lengths, y)`` that ``model`` cannot train or be scored on
    with ``loss``.

    For a :class:`~lamina.HiddenNet` X must have the shape it was built for, lengths need a
    layer that reads them, and y must fit its outputs (class ids in ``[0, out)``, ``out``
    targets per row); for any other module only values are checked (finite X, finite targets,
    binary targets in [0, 1]). With lengths, only the steps before each sequence's length must
    be finite (padding may hold anything). ``data`` comes from
    :func:`~lamina.train._data.as_tensor_data` (same rows, lengths in range, y shaped for
    ``loss``).
    """
    X, *lengths, y = data
    lens = lengths[0] if lengths else None
    try:
        if isinstance(model, HiddenNet):
            if lens is not None and not model.uses_lengths:
                raise DataError("lengths were given with X, but this network has no layer that "
                                "reads them (rnn, lstm, gru, attn or seqpool), so the padding "
                                "would be read as data. Pass (X, y) without lengths, or build "
                                "the network with a sequence layer.")
            check_net_input(model, X[:0], None)   # the shape its forward checks; values below
        if X.is_floating_point():
            _check_finite(X, lens)
        _check_targets(y, loss, _outputs(model))
    except DataError as err:
        raise DataError(f"{name}: {err}") from None


def _outputs(model: torch.nn.Module) -> int | None:
    """The number of raw outputs of ``model`` when known (a HiddenNet with a head)."""
    out = getattr(model, "out", None) if isinstance(model, HiddenNet) else None
    return int(out) if isinstance(out, int) else None


def _check_finite(X: torch.Tensor, lengths: torch.Tensor | None = None) -> None:
    if all_finite(X):
        return
    if lengths is not None:
        check_finite_steps(X, lengths)      # padded steps may hold anything
        return
    bad = ~torch.isfinite(X)
    if bool(bad.any()):
        first = tuple(int(i) for i in bad.nonzero()[0])
        raise DataError(f"the input holds NaN or infinite values ({int(bad.sum())} of "
                        f"{X.numel()}, first at index {first}). Impute or drop them first "
                        "(e.g. sklearn.impute.SimpleImputer).")


def _check_targets(y: torch.Tensor, loss: str, n_out: int | None) -> None:
    """Class ids in range, or finite targets (in [0, 1] for binary cross-entropy), ``n_out``
    per row; the element checks are the explicit engine's (``engine._checks.check_values``)."""
    if loss == "cross_entropy":
        if n_out is None:
            return   # unknown width: torch's own range error is all that can be said
    elif n_out is not None and y.numel() != y.shape[0] * n_out:
        per_row = y.numel() // max(y.shape[0], 1)
        raise DataError(f"Invalid Y of shape {tuple(y.shape)}: loss={loss!r} needs {n_out} "
                        f"target(s) per row (the network has {n_out} outputs), got {per_row}. "
                        f"Pass y of shape ({y.shape[0]}, {n_out}), or build the network with "
                        f"out={per_row}.")
    # X was checked above: an empty X keeps check_values to the targets
    empty = torch.empty(0, dtype=torch.float32, device=y.device)
    check_values(empty, y, loss, n_out if n_out is not None else 0)


__all__ = ["check_data"]
