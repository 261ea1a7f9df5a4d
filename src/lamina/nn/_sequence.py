"""Checks and masks shared by the sequence layers (recurrent, attention, seqpool, embed).

Sequences are batch-first ``(B, T, features)`` tensors padded to a common ``T``; ``lengths``
(``(B,)`` integers in ``[1, T]``) give each sequence's true number of steps. ``None`` means every
sequence fills all ``T`` steps.
"""

from __future__ import annotations

from typing import Any

import torch

from .._errors import DataError, ParameterError
from .._validation import available_bytes, format_bytes


def check_lengths(lengths: Any, batch: int, steps: int) -> torch.Tensor | None:
    """Validate ``lengths`` and return them as a CPU ``int64`` tensor (what packing needs).

    Raises :class:`ParameterError` quoting the bad value when a length is below 1 or above the
    padded length ``steps`` (a sequence would be silently truncated), or the count is not ``batch``.
    """
    if lengths is None:
        return None
    try:
        t = torch.as_tensor(lengths)
    except (TypeError, ValueError, RuntimeError):
        raise ParameterError("lengths", lengths, "must be a 1-D array of integers, one per sequence",
                             "Pass lengths as a list or tensor of ints.") from None
    if t.dim() != 1 or t.shape[0] != batch:
        raise ParameterError("lengths", lengths, f"must hold one length per sequence: shape "
                             f"({batch},), got {tuple(t.shape)}",
                             "Pass the true number of steps of each sequence in the batch.")
    if t.dtype.is_floating_point:
        if not bool(torch.all(t == t.round())):
            raise ParameterError("lengths", lengths, "lengths must be whole numbers",
                                 "Pass integer lengths.")
    elif t.dtype == torch.bool or t.dtype.is_complex:
        raise ParameterError("lengths", lengths, "lengths must be integers",
                             "Pass integer lengths.")
    t = t.to(device="cpu", dtype=torch.int64)
    if batch and int(t.min()) < 1:
        raise ParameterError("lengths", lengths, f"every length must be >= 1, got {int(t.min())} "
                             f"(sequence {int(t.argmin())})",
                             "Drop empty sequences, or give them at least one step.")
    if batch and int(t.max()) > steps:
        raise ParameterError("lengths", lengths, f"every length must be <= the padded length "
                             f"T={steps} of the input, got {int(t.max())} (sequence "
                             f"{int(t.argmax())}); nothing is truncated silently",
                             "Pad the inputs to the longest sequence, or fix the lengths.")
    return t


def length_mask(lengths: torch.Tensor | None, steps: int,
                device: torch.device) -> torch.Tensor | None:
    """``(B, T)`` bool mask, True at valid steps; None when all steps are valid."""
    if lengths is None:
        return None
    return torch.arange(steps, device=device)[None, :] < lengths.to(device)[:, None]


def lengths_from_padding(ids: torch.Tensor, pad: int = 0) -> torch.Tensor:
    """``(B,)`` CPU int64: the position after each row's last non-``pad`` id (at least 1)."""
    steps = ids.shape[1]
    nonpad = (ids != pad).flip(1).to(torch.int8)                         # (B, T), last step first
    trailing = torch.where(nonpad.any(1), nonpad.argmax(1).to(torch.int64),
                           torch.full_like(nonpad[:, 0], steps - 1, dtype=torch.int64))
    return (steps - trailing).clamp(min=1).to("cpu", torch.int64)


def check_sequence(x: torch.Tensor, features: int, layer: str) -> None:
    """A sequence layer's input must be ``(B, T, features)``."""
    if x.dim() != 3 or x.shape[2] != features:
        raise DataError(f"{layer} expects sequences of shape (B, T, {features}) (batch, steps, "
                        f"features); got a tensor of shape {tuple(x.shape)}. Pad sequences to a "
                        "common length T and stack them batch-first.")


def check_finite_steps(x: torch.Tensor, lengths: torch.Tensor | None) -> None:
    """NaN/inf at a valid step is a data error; padded steps may hold anything."""
    bad = ~torch.isfinite(x)
    if x.dim() > 2:
        bad = bad.flatten(2).any(-1)                                     # (B, T)
    mask = length_mask(lengths, x.shape[1], x.device) if x.dim() >= 2 else None
    if mask is not None:
        bad = bad & mask
    if bool(bad.any()):
        b, t = (int(i) for i in bad.nonzero()[0][:2])
        raise DataError(f"the input holds NaN or infinite values at valid steps (first: sequence "
                        f"{b}, step {t}). Impute or drop them before training; padded steps past "
                        "each sequence's length are ignored.")


def check_activation_memory(what: str, value: Any, needed_bytes: int, device: Any) -> None:
    """Refuse, before allocating, an activation (e.g. a ``T x T`` attention map) too big for memory.

    Only reads the free memory when the request is large, so small forwards pay nothing.
    """
    if needed_bytes < 256 * 2**20:
        return
    available = available_bytes(device)
    if available is not None and needed_bytes > 0.8 * available:
        raise ParameterError(what, value, f"the attention maps alone need about "
                             f"{format_bytes(needed_bytes)}, but only {format_bytes(available)} is "
                             f"available on {device}",
                             "Use shorter sequences (truncate or split them), fewer heads, or a "
                             "smaller batch.")
