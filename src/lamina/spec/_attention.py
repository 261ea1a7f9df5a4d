"""Sequence kinds for text: ``attn(dim, heads)`` (a transformer encoder block) and ``seqpool``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .._errors import SpecError
from .._validation import check_choice
from ._activations import canonical_activation
from ._dense import parse_float
from ._registry import register_kind
from ._tokens import (
    check_args,
    check_dropout,
    check_positive_int,
    int_arg,
    no_options,
    unknown_option,
)

POSITIONS: tuple[str, ...] = ("sinusoidal", "learned", "none")
SEQPOOL_MODES: tuple[str, ...] = ("mean", "max", "last", "cls")


@dataclass(frozen=True)
class AttentionSpec:
    """A pre-norm transformer encoder block; a unit is a feature of the block output.

    ``h = proj(x) + pos``; ``h = h + drop(attn(norm1(h)))``; ``h = h + drop(ff(norm2(h)))``
    where ``ff`` is a hidden layer of ``ff`` units with activation ``activation``. Padded steps
    (past each sequence's length) are masked out of the attention and output as zeros.

    Parameters
    ----------
    dim : int
        Width of the block (model dimension); inputs of another width are projected to it.
    heads : int
        Attention heads; must divide ``dim``.
    ff : int, optional
        Units of the feed-forward hidden layer; default ``4 * dim``.
    activation : str
        Activation of the feed-forward hidden layer; default ``gelu``.
    dropout : float
        Dropout on the attention weights and on both residual branches, in [0, 1).
    pos : str
        Positional encoding added at the block input: ``sinusoidal`` (default, any length),
        ``learned`` (one vector per position, up to the ``T`` the network is built for) or
        ``none`` -- use ``pos=none`` on the second and later of stacked blocks.

    Notes
    -----
    Input ``(T, features)``, output ``(T, dim)``. For classification follow it by ``seqpool``
    (mean over valid steps by default). Spec string: ``attn(64,4)`` then ``:gelu``,
    ``:ff=128``, ``:dropout=0.1``, ``:pos=learned``.

    Examples
    --------
    >>> str(AttentionSpec(64, 4, ff=128, pos="learned"))
    'attn(64,4):gelu:ff=128:pos=learned'
    """

    kind: ClassVar[str] = "attn"
    dim: int
    heads: int
    ff: int | None = None
    activation: str = "gelu"
    dropout: float = 0.0
    pos: str = "sinusoidal"

    def __post_init__(self) -> None:
        check_positive_int("dim", self.dim, "AttentionSpec(64, 4)")
        check_positive_int("heads", self.heads, "AttentionSpec(64, 4)")
        if self.dim % self.heads:
            raise SpecError("heads", self.heads, f"heads must divide dim={self.dim}",
                            f"Use e.g. heads={_divisor_hint(self.dim, self.heads)}.")
        if self.ff is None:
            object.__setattr__(self, "ff", 4 * self.dim)
        check_positive_int("ff", self.ff, "ff=256")
        object.__setattr__(self, "activation", canonical_activation(self.activation))
        object.__setattr__(self, "dropout", check_dropout(self.dropout))
        check_choice("pos", self.pos, POSITIONS)

    def __str__(self) -> str:
        parts = [f"attn({self.dim},{self.heads})", self.activation]
        if self.ff != 4 * self.dim:
            parts.append(f"ff={self.ff}")
        if self.dropout:
            parts.append(f"dropout={self.dropout!r}")
        if self.pos != "sinusoidal":
            parts.append(f"pos={self.pos}")
        return ":".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "dim": self.dim, "heads": self.heads, "ff": self.ff,
                "activation": self.activation, "dropout": self.dropout, "pos": self.pos}

    @classmethod
    def from_token(cls, args: list[str], options: dict[str, str], token: str,
                   defaults: dict[str, Any]) -> AttentionSpec:
        """Build from ``attn(64,4)``, ``attn(64,4):relu:ff=128:dropout=0.1:pos=none``."""
        example = "attn(64,4)"
        check_args(args, token, "attn", (2,), "(dim, heads)", example)
        dim = int_arg(args[0], token, "dim", example)
        heads = int_arg(args[1], token, "heads", example)
        if dim % heads:
            raise SpecError("spec", token, f"heads ({heads}) must divide dim ({dim})",
                            f"Write e.g. 'attn({dim},{_divisor_hint(dim, heads)})'.")
        kw: dict[str, Any] = {"dim": dim, "heads": heads}
        for key, value in options.items():
            if key in ("activation", "act"):
                kw["activation"] = value
            elif key == "ff":
                kw["ff"] = int_arg(value, token, "ff", "attn(64,4):ff=256")
            elif key == "dropout":
                kw["dropout"] = parse_float(value, token, "dropout")
            elif key == "pos":
                if value not in POSITIONS:
                    raise SpecError("spec", token, f"pos must be one of {', '.join(POSITIONS)}, "
                                    f"got {value!r}", "Write e.g. 'attn(64,4):pos=learned'.")
                kw["pos"] = value
            else:
                raise unknown_option(token, key, "attn", "an activation name (or act=NAME), "
                                     "ff=N, dropout=P, pos=sinusoidal|learned|none",
                                     "attn(64,4):ff=128:dropout=0.1")
        return cls(**kw)


def _divisor_hint(dim: int, heads: int) -> int:
    """The divisor of ``dim`` closest to ``heads`` (for the error's fix)."""
    return min((d for d in range(1, dim + 1) if dim % d == 0), key=lambda d: (abs(d - heads), d))


@dataclass(frozen=True)
class SeqPoolSpec:
    """Pools a sequence ``(T, features) -> (features,)`` over its valid steps only.

    A unit is a feature. Modes: ``mean`` (default) and ``max`` over the steps before each
    sequence's length; ``last``: the step at ``length - 1``; ``cls``: step 0 (put a
    classification token first).

    Examples
    --------
    >>> str(SeqPoolSpec()), str(SeqPoolSpec("max"))
    ('seqpool', 'seqpool(max)')
    """

    kind: ClassVar[str] = "seqpool"
    mode: str = "mean"

    def __post_init__(self) -> None:
        check_choice("mode", self.mode, SEQPOOL_MODES)

    def __str__(self) -> str:
        return "seqpool" if self.mode == "mean" else f"seqpool({self.mode})"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "mode": self.mode}

    @classmethod
    def from_token(cls, args: list[str], options: dict[str, str], token: str,
                   defaults: dict[str, Any]) -> SeqPoolSpec:
        check_args(args, token, "seqpool", (0, 1), "([mean|max|last|cls])", "seqpool(max)")
        no_options(options, token, "seqpool", "seqpool(mean)")
        if args and args[0] not in SEQPOOL_MODES:
            raise SpecError("spec", token, f"seqpool mode must be one of "
                            f"{', '.join(SEQPOOL_MODES)}, got {args[0]!r}",
                            "Write e.g. 'seqpool(max)'.")
        return cls(*args)


for _cls in (AttentionSpec, SeqPoolSpec):
    register_kind(_cls)

__all__ = ["AttentionSpec", "SeqPoolSpec", "POSITIONS", "SEQPOOL_MODES"]
