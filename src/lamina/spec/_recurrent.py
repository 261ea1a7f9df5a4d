"""Recurrent hidden-layer kinds: ``rnn(h)``, ``lstm(h)``, ``gru(h)``.

They read sequences laid out as ``(T, features)`` (batch-first ``(B, T, features)`` tensors) of
varying length: padded to a common ``T`` and given with their true ``lengths``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .._errors import SpecError
from .._validation import check_choice
from ._dense import parse_bool, parse_float
from ._registry import register_kind
from ._tokens import (
    check_args,
    check_dropout,
    check_flag,
    check_positive_int,
    int_arg,
    unknown_option,
)

READOUTS: tuple[str, ...] = ("last", "mean", "seq")
RNN_ACTIVATIONS: tuple[str, ...] = ("tanh", "relu")


@dataclass(frozen=True)
class _RecurrentSpec:
    """Fields shared by ``rnn``, ``lstm`` and ``gru``; see :class:`LSTMSpec`."""

    kind: ClassVar[str] = ""
    hidden: int
    bidirectional: bool = False
    layers: int = 1
    readout: str = "last"
    dropout: float = 0.0

    def __post_init__(self) -> None:
        check_positive_int("hidden", self.hidden, f"{type(self).__name__}(64)")
        check_flag("bidirectional", self.bidirectional)
        check_positive_int("layers", self.layers, "layers=2")
        check_choice("readout", self.readout, READOUTS)
        object.__setattr__(self, "dropout", check_dropout(self.dropout))

    @property
    def out_features(self) -> int:
        """Width of the output: ``hidden``, doubled when bidirectional."""
        return self.hidden * (2 if self.bidirectional else 1)

    def _head(self) -> list[str]:
        return [f"{self.kind}({self.hidden})"]

    def __str__(self) -> str:
        parts = self._head()
        if self.bidirectional:
            parts.append("bidirectional=true")
        if self.layers != 1:
            parts.append(f"layers={self.layers}")
        if self.readout != "last":
            parts.append(f"readout={self.readout}")
        if self.dropout:
            parts.append(f"dropout={self.dropout!r}")
        return ":".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "hidden": self.hidden, "bidirectional": self.bidirectional,
                "layers": self.layers, "readout": self.readout, "dropout": self.dropout}

    @classmethod
    def from_token(cls, args: list[str], options: dict[str, str], token: str,
                   defaults: dict[str, Any]) -> Any:
        example = f"{cls.kind}(64)"
        check_args(args, token, cls.kind, (1,), "exactly one argument, the hidden size", example)
        kw: dict[str, Any] = {"hidden": int_arg(args[0], token, "hidden size", example)}
        for key, value in options.items():
            if key == "bidirectional":
                kw["bidirectional"] = parse_bool(value, token, "bidirectional")
            elif key == "layers":
                kw["layers"] = int_arg(value, token, "layers", f"{example}:layers=2")
            elif key == "readout":
                if value not in READOUTS:
                    raise SpecError("spec", token, f"readout must be one of {', '.join(READOUTS)}"
                                    f", got {value!r}", f"Write e.g. '{example}:readout=mean'.")
                kw["readout"] = value
            elif key == "dropout":
                kw["dropout"] = parse_float(value, token, "dropout")
            elif key in ("activation", "act") and cls.kind == "rnn":
                if value not in RNN_ACTIVATIONS:
                    raise SpecError("spec", token, f"an rnn layer's activation must be tanh or "
                                    f"relu, got {value!r}", "Write e.g. 'rnn(64):relu'.")
                kw["activation"] = value
            else:
                extra = "tanh|relu, " if cls.kind == "rnn" else ""
                raise unknown_option(token, key, cls.kind, f"{extra}bidirectional=true, layers=N, "
                                     "readout=last|mean|seq, dropout=P",
                                     f"{example}:bidirectional=true:readout=mean")
        return cls(**kw)


@dataclass(frozen=True)
class LSTMSpec(_RecurrentSpec):
    """A long short-term memory layer; a unit is a hidden-state dimension (over time).

    Parameters
    ----------
    hidden : int
        Hidden-state size per direction (>= 1).
    bidirectional : bool
        Also run the sequence backwards; the output then has ``2 * hidden`` units (forward
        direction first).
    layers : int
        Stacked recurrent layers inside this one hidden layer (torch's ``num_layers``).
    readout : str
        ``last``: the hidden state at each sequence's true last step (for the backward direction,
        its state after reading back to step 0), shape ``(B, units)``; ``mean``: the mean of the
        outputs over the valid steps only, ``(B, units)``; ``seq``: every step, ``(B, T, units)``
        with zeros past each length -- for stacking recurrent layers or attention.
    dropout : float
        Dropout on the layer's output, and between stacked layers when ``layers > 1``.

    Notes
    -----
    Sequences of different lengths are padded to a common ``T`` and passed with ``lengths``;
    the layer packs them (``pack_padded_sequence``) so padding never enters the state and
    nothing is truncated. Spec string: ``lstm(64)`` then ``:bidirectional=true``,
    ``:layers=2``, ``:readout=mean``, ``:dropout=0.1``.

    Examples
    --------
    >>> str(LSTMSpec(64, bidirectional=True, readout="mean"))
    'lstm(64):bidirectional=true:readout=mean'
    """

    kind: ClassVar[str] = "lstm"


@dataclass(frozen=True)
class GRUSpec(_RecurrentSpec):
    """A gated recurrent unit layer; options and readouts as for :class:`LSTMSpec`.

    Examples
    --------
    >>> str(GRUSpec(32, layers=2, readout="seq"))
    'gru(32):layers=2:readout=seq'
    """

    kind: ClassVar[str] = "gru"


@dataclass(frozen=True)
class RNNSpec(_RecurrentSpec):
    """An Elman recurrent layer ``h_t = act(W x_t + U h_{t-1} + b)``; options as for
    :class:`LSTMSpec`, plus the activation ``tanh`` (default) or ``relu``.

    Examples
    --------
    >>> str(RNNSpec(16, activation="relu"))
    'rnn(16):relu'
    """

    kind: ClassVar[str] = "rnn"
    activation: str = "tanh"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("activation", self.activation, RNN_ACTIVATIONS)

    def _head(self) -> list[str]:
        return [f"rnn({self.hidden})", self.activation]

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "activation": self.activation}


for _cls in (RNNSpec, LSTMSpec, GRUSpec):
    register_kind(_cls)

RECURRENT_SPECS: tuple[type, ...] = (RNNSpec, LSTMSpec, GRUSpec)

__all__ = ["RNNSpec", "LSTMSpec", "GRUSpec", "READOUTS", "RECURRENT_SPECS"]
