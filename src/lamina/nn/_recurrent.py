"""``RecurrentLayer``: ``rnn`` / ``lstm`` / ``gru`` over padded, variable-length sequences."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .._errors import SpecError
from ..spec import GRUSpec, LSTMSpec, RNNSpec
from ._registry import register_module
from ._sequence import check_lengths, check_sequence

Shape = tuple[int, ...]
_CELLS: dict[str, Any] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class RecurrentLayer(nn.Module):
    """A recurrent hidden layer; a unit is a hidden-state dimension (the last axis).

    ``forward(x, lengths)`` takes ``x`` of shape ``(B, T, features)`` padded to ``T`` and the true
    ``lengths`` (``(B,)``, each in ``[1, T]``; None = all ``T``). Sequences are packed, so padding
    never enters the state. Readouts: ``last`` -> ``(B, units)`` state at each true last step
    (backward direction: after reading back to step 0); ``mean`` -> ``(B, units)`` mean over valid
    steps; ``seq`` -> ``(B, T, units)``, zeros past each length.
    """

    unit_axis = -1
    takes_lengths = True

    def __init__(self, in_shape: Shape, spec: Any) -> None:
        super().__init__()
        self.spec = spec
        self.in_features = in_shape[-1]
        kwargs: dict[str, Any] = {"nonlinearity": spec.activation} if spec.kind == "rnn" else {}
        self.rnn = _CELLS[spec.kind](
            self.in_features, spec.hidden, num_layers=spec.layers, batch_first=True,
            bidirectional=spec.bidirectional, dropout=spec.dropout if spec.layers > 1 else 0.0,
            **kwargs)
        self.dropout = nn.Dropout(spec.dropout) if spec.dropout else nn.Identity()
        self.directions = 2 if spec.bidirectional else 1
        # HiddenNet reads this to know whether the time axis survives this layer
        self.sequence_role = "keep" if spec.readout == "seq" else "reduce"

    def forward(self, x: torch.Tensor, lengths: Any = None) -> torch.Tensor:
        check_sequence(x, self.in_features, str(self.spec))
        batch, steps, _ = x.shape
        lens = check_lengths(lengths, batch, steps)
        if lens is None:
            out, state = self.rnn(x)                                     # (B, T, dirs*H)
        else:
            packed = pack_padded_sequence(x, lens, batch_first=True, enforce_sorted=False)
            out_packed, state = self.rnn(packed)
            out, _ = pad_packed_sequence(out_packed, batch_first=True,
                                         total_length=steps)             # (B, T, dirs*H), 0-padded
        if self.spec.readout == "seq":
            y = out
        elif self.spec.readout == "last":
            h_n = state[0] if isinstance(state, tuple) else state        # (layers*dirs, B, H)
            top = h_n[-self.directions:]                                 # (dirs, B, H) last layer
            y = top.transpose(0, 1).reshape(batch, -1)                   # (B, dirs*H) fwd then bwd
        else:  # mean over valid steps only (padded outputs are zeros after unpacking)
            count = (lens.to(x.device, x.dtype) if lens is not None
                     else torch.full((batch,), float(steps), device=x.device, dtype=x.dtype))
            y = out.sum(dim=1) / count[:, None]                          # (B, dirs*H)
        return self.dropout(y)


def _recurrent_factory(spec: Any, in_shape: Shape,
                       generator: torch.Generator | None) -> tuple[nn.Module, Shape]:
    if len(in_shape) != 2:
        raise SpecError("spec", str(spec), f"a {spec.kind} layer needs a sequence input of shape "
                        f"(T, features), but its input has shape {tuple(in_shape)}",
                        f"Pass in_shape=(T, features) to build (T = the padded length), e.g. "
                        f"in_shape=(50, 13), or put {spec.kind} after embed or another recurrent "
                        "layer with readout=seq.")
    layer = RecurrentLayer(in_shape, spec)
    units = spec.out_features
    return layer, ((in_shape[0], units) if spec.readout == "seq" else (units,))


for _cls in (RNNSpec, LSTMSpec, GRUSpec):
    register_module(_cls.kind, _recurrent_factory)

__all__ = ["RecurrentLayer"]
