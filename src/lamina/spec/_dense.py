"""The dense hidden layer: ``width`` units, each ``activation(w . x + b)``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .._errors import SpecError
from .._validation import check_choice
from ._activations import ACTIVATIONS, canonical_activation

NORMS: tuple[str, ...] = ("none", "batch", "layer")
INITS: tuple[str, ...] = ("default", "he", "xavier", "sklearn")


@dataclass(frozen=True)
class DenseSpec:
    """One dense hidden layer.

    Parameters
    ----------
    width : int
        Number of hidden units (>= 1).
    activation : str
        One of ``relu, leaky_relu, elu, gelu, silu, tanh, sigmoid, identity``.
    dropout : float
        Dropout probability applied after the activation during training, in [0, 1).
    norm : str
        ``none``, ``batch`` or ``layer`` normalisation of the pre-activation.
    init : str
        ``default`` (torch), ``he`` (Kaiming normal), ``xavier`` (Glorot uniform) or ``sklearn``
        (Glorot uniform for weights *and* biases, as ``sklearn.neural_network`` does).
    bias : bool
        Whether the units have a bias.

    Examples
    --------
    >>> str(DenseSpec(128, "tanh", dropout=0.1))
    '128:tanh:dropout=0.1'
    """

    kind: ClassVar[str] = "dense"
    width: int
    activation: str = "relu"
    dropout: float = 0.0
    norm: str = "none"
    init: str = "default"
    bias: bool = True

    def __post_init__(self) -> None:
        w = self.width
        if isinstance(w, bool) or not isinstance(w, int) or w < 1:
            raise SpecError("width", w, "a hidden layer's width must be an integer >= 1",
                            "Use e.g. DenseSpec(128).")
        object.__setattr__(self, "activation", canonical_activation(self.activation))
        d = self.dropout
        if isinstance(d, bool) or not isinstance(d, (int, float)) or not 0.0 <= d < 1.0:
            raise SpecError("dropout", d, "dropout must be a number in [0, 1)",
                            "Use e.g. dropout=0.1.")
        object.__setattr__(self, "dropout", float(d))
        check_choice("norm", self.norm, NORMS)
        check_choice("init", self.init, INITS)
        if not isinstance(self.bias, bool):
            raise SpecError("bias", self.bias, "bias must be True or False", "Use bias=False.")

    def __str__(self) -> str:
        parts = [str(self.width), self.activation]
        if self.dropout:
            parts.append(f"dropout={self.dropout!r}")
        if self.norm != "none":
            parts.append(f"norm={self.norm}")
        if self.init != "default":
            parts.append(f"init={self.init}")
        if not self.bias:
            parts.append("bias=false")
        return ":".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "width": self.width, "activation": self.activation,
                "dropout": self.dropout, "norm": self.norm, "init": self.init, "bias": self.bias}

    @classmethod
    def from_token(cls, args: list[str], options: dict[str, str], token: str,
                   defaults: dict[str, Any]) -> DenseSpec:
        """Build from a parsed token: ``128:tanh:dropout=0.1`` or ``dense(128):tanh``."""
        if len(args) != 1:
            raise SpecError("spec", token, "a dense layer takes exactly one argument, its width",
                            "Write e.g. '128' or 'dense(128)'.")
        width = parse_int(args[0], token, "width")
        kw: dict[str, Any] = {"width": width}
        for key in ("activation", "init"):
            if key in defaults:
                kw[key] = defaults[key]
        for key, value in options.items():
            if key == "activation":
                kw["activation"] = value
            elif key == "dropout":
                kw["dropout"] = parse_float(value, token, "dropout")
            elif key in ("norm", "init"):
                kw[key] = value
            elif key == "bias":
                kw["bias"] = parse_bool(value, token, "bias")
            else:
                raise SpecError("spec", token, f"unknown option {key!r} for a dense layer; allowed: "
                                "an activation name, dropout=, norm=, init=, bias=",
                                "Write e.g. '128:tanh:dropout=0.1'.")
        return cls(**kw)


def parse_int(text: str, token: str, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise SpecError("spec", token, f"{what} must be a positive integer, got {text!r}",
                        "Write e.g. '128'.") from None
    if value < 1:
        raise SpecError("spec", token, f"{what} must be a positive integer, got {text!r}",
                        "Use a width of at least 1.")
    return value


def parse_float(text: str, token: str, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise SpecError("spec", token, f"{what} must be a number, got {text!r}",
                        f"Write e.g. '{what}=0.1'.") from None


def parse_bool(text: str, token: str, what: str) -> bool:
    low = text.lower()
    if low in ("true", "1", "yes"):
        return True
    if low in ("false", "0", "no"):
        return False
    raise SpecError("spec", token, f"{what} must be true or false, got {text!r}",
                    f"Write '{what}=false'.")


__all__ = ["DenseSpec", "NORMS", "INITS", "ACTIVATIONS", "parse_int", "parse_float", "parse_bool"]
