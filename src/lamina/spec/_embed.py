"""The ``embed(dim)`` kind: learned vectors for token ids or categorical ids (users, items)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar, cast

from .._errors import SpecError
from ._dense import parse_float
from ._hidden import HiddenSpec, parse_spec
from ._registry import register_kind
from ._tokens import check_args, check_dropout, check_positive_int, int_arg, unknown_option


@dataclass(frozen=True)
class EmbedSpec:
    """An embedding layer: each integer id becomes a learned ``dim``-vector.

    A unit is a feature (coordinate) of the embedding vectors. Id ``0`` is reserved: padding in
    sequences and "unknown / missing" for categorical columns; it always maps to the zero vector
    and never trains, so it is a safe cold-start fallback.

    Parameters
    ----------
    dim : int
        Embedding width (>= 1).
    vocab : int, tuple of int, or None
        Table sizes *including* the reserved id 0, so ids lie in ``[0, vocab)``.
        One size: **token mode** -- input ``(T,)`` token ids, one table shared over positions,
        output ``(T, dim)``; when no ``lengths`` are given, each sequence's length is read from
        its trailing padding (id 0). Several sizes: **categorical mode** -- input ``(k,)`` with
        ``k == len(vocab)`` columns (e.g. user id, item id), column ``j`` looked up in its own
        table ``j``, output ``(k, dim)``.
        The vocabulary comes from the data, so it may be left ``None`` in a spec and filled in
        before building with :func:`with_vocab` (estimators do this after fitting their
        tokenizer); building with ``vocab=None`` raises.
    dropout : float
        Dropout on the embedding vectors, in [0, 1).

    Notes
    -----
    Spec string: ``embed(64)`` then ``:vocab=5000`` or ``:vocab=944,1683`` and ``:dropout=0.1``.

    Examples
    --------
    >>> str(EmbedSpec(16, vocab=(944, 1683)))
    'embed(16):vocab=944,1683'
    """

    kind: ClassVar[str] = "embed"
    dim: int
    vocab: tuple[int, ...] | None = None
    dropout: float = 0.0

    def __post_init__(self) -> None:
        check_positive_int("dim", self.dim, "EmbedSpec(64, vocab=5000)")
        v = self.vocab
        if v is not None:
            sizes = (v,) if isinstance(v, int) and not isinstance(v, bool) else v
            if (not isinstance(sizes, (tuple, list)) or not sizes or any(
                    isinstance(n, bool) or not isinstance(n, int) or n < 2 for n in sizes)):
                raise SpecError("vocab", v, "vocab must be an integer >= 2 (ids 0..vocab-1, id 0 "
                                "reserved for padding/unknown) or a tuple of them, one per column",
                                "Use e.g. vocab=5000 or vocab=(944, 1683).")
            object.__setattr__(self, "vocab", tuple(int(n) for n in sizes))
        object.__setattr__(self, "dropout", check_dropout(self.dropout))

    @property
    def token_mode(self) -> bool:
        """True when one table is shared over all positions (token sequences)."""
        return self.vocab is None or len(self.vocab) == 1

    def __str__(self) -> str:
        parts = [f"embed({self.dim})"]
        if self.vocab is not None:
            parts.append("vocab=" + ",".join(str(n) for n in self.vocab))
        if self.dropout:
            parts.append(f"dropout={self.dropout!r}")
        return ":".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "dim": self.dim,
                "vocab": list(self.vocab) if self.vocab is not None else None,
                "dropout": self.dropout}

    @classmethod
    def from_token(cls, args: list[str], options: dict[str, str], token: str,
                   defaults: dict[str, Any]) -> EmbedSpec:
        """Build from ``embed(64)``, ``embed(64):vocab=5000``, ``embed(16):vocab=944,1683``."""
        example = "embed(64):vocab=5000"
        check_args(args, token, "embed", (1,), "exactly one argument, the embedding width",
                   example)
        kw: dict[str, Any] = {"dim": int_arg(args[0], token, "dim", example)}
        for key, value in options.items():
            if key == "vocab":
                kw["vocab"] = tuple(int_arg(v.strip(), token, "vocab", example, low=2)
                                    for v in value.split(","))
            elif key == "dropout":
                kw["dropout"] = parse_float(value, token, "dropout")
            else:
                raise unknown_option(token, key, "embed", "vocab=N (or N1,N2,... one per "
                                     "column), dropout=P", example)
        return cls(**kw)


def with_vocab(spec: Any, vocab: int | tuple[int, ...]) -> HiddenSpec:
    """Return ``spec`` with ``vocab`` filled in on every ``embed`` layer that has none.

    Parameters
    ----------
    spec : str, HiddenSpec or anything :func:`parse_spec` accepts
    vocab : int or tuple of int
        Table size(s) including the reserved id 0 (e.g. ``len(tokenizer_vocab) + 1``).

    Examples
    --------
    >>> str(with_vocab("embed(32)-lstm(64)", 1000))
    'embed(32):vocab=1000-lstm(64)'
    """
    hidden = parse_spec(spec)
    layers = tuple(replace(layer, vocab=cast(Any, vocab))   # __post_init__ makes it a tuple
                   if isinstance(layer, EmbedSpec) and layer.vocab is None else layer
                   for layer in hidden.layers)
    return HiddenSpec(layers)


register_kind(EmbedSpec)

__all__ = ["EmbedSpec", "with_vocab"]
