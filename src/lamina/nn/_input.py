"""Input checks of a :class:`HiddenNet` with non-dense layers, run before any torch op.

A wrong image size, a missing channel axis, NaN in a sequence or lengths past the padded length
would otherwise surface as a shape error deep inside torch (or not at all); here they become a
:class:`DataError` / :class:`ParameterError` quoting what the network expects and what it got.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .._errors import DataError, ParameterError
from ._sequence import check_finite_steps, check_lengths


def accepts_variable_length(layers: Sequence[nn.Module]) -> bool:
    """True when the time axis (axis 0 of ``in_shape``) may differ between batches.

    That holds when the network reads sequences (its first layer keeps or reduces a time axis
    while respecting lengths) and a length-aware layer (recurrent ``last``/``mean`` readout,
    ``seqpool``) removes the time axis before any layer that would need a fixed ``T`` (flatten,
    dense, conv, the head). Otherwise inputs must have exactly the ``in_shape`` the network was
    built for.
    """
    for layer in layers:
        role = getattr(layer, "sequence_role", None)
        if role == "reduce":
            return True
        if role != "keep":
            return False
    return False


def check_net_input(net: Any, x: Any, lengths: Any) -> torch.Tensor | None:
    """Validate a batch for ``net`` (a HiddenNet); return ``lengths`` as a CPU int64 tensor."""
    if not isinstance(x, torch.Tensor):
        raise DataError(f"the network expects a torch.Tensor of shape (N, {_dims(net.in_shape)}); "
                        f"got {type(x).__name__}. Convert with torch.as_tensor(X).")
    if lengths is not None and not net.uses_lengths:
        raise ParameterError("lengths", lengths, "only networks with sequence layers (rnn, lstm, "
                             "gru, attn, seqpool) use lengths; this one has none",
                             "Call net(x) without lengths.")
    expected, got = tuple(net.in_shape), tuple(x.shape[1:])
    shape_ok = len(got) == len(expected) and (
        got[1:] == expected[1:] if net.variable_length else got == expected)
    if not shape_ok:
        raise DataError(_shape_message(net, tuple(x.shape)))
    lens = check_lengths(lengths, x.shape[0], x.shape[1]) if lengths is not None else None
    if x.dtype.is_floating_point:
        if net.uses_lengths and x.dim() >= 2:
            check_finite_steps(x, lens)
        elif not bool(torch.isfinite(x).all()):
            first = tuple(int(i) for i in (~torch.isfinite(x)).nonzero()[0])
            raise DataError(f"the input holds NaN or infinite values (first at index {first}). "
                            "Impute or drop them first.")
    return lens


def _dims(shape: Sequence[int]) -> str:
    return ", ".join(str(d) for d in shape)


def _shape_message(net: Any, got: tuple[int, ...]) -> str:
    """Say what the network expects, what came, and the likely fix (``got`` includes the batch)."""
    expected = tuple(net.in_shape)
    if net.variable_length:
        want = f"(N, T, {_dims(expected[1:])})" if len(expected) > 1 else "(N, T)"
        msg = (f"this network reads sequences of shape {want} (any padded length T; built with "
               f"in_shape={expected}), but got a tensor of shape {got}")
    else:
        msg = (f"this network was built for inputs of shape (N, {_dims(expected)}) "
               f"(in_shape={expected}), but got a tensor of shape {got}")
    first = net.hidden[0] if len(net.hidden) else None
    if len(got) == len(expected) + 1 and hasattr(first, "in_channels") and got[1] != expected[0]:
        msg += f": {got[1]} channels where {expected[0]} are expected"
    if len(expected) == 3 and len(got) == 3:
        fix = f"Add the channel axis: X.reshape(-1, {_dims(expected)})."
    elif net.uses_lengths and not net.variable_length and len(got) == len(expected) + 1:
        fix = ("This network flattens the time axis, so every batch must be padded to exactly "
               f"T={expected[0]} steps; pad them, or end the sequence part with readout=last/mean "
               "or seqpool to accept any length.")
    else:
        fix = (f"Reshape the inputs to (N, {_dims(expected)}), or rebuild the network with "
               f"in_shape={got[1:]}.")
    return f"{msg}. {fix}"


__all__ = ["accepts_variable_length", "check_net_input"]
