"""Convolutional hidden-layer kinds: ``conv``, ``pool``, ``flatten`` and ``gap``.

They work on channel-first inputs: images ``(C, H, W)`` (2-D convolution) or signals ``(C, L)``
(1-D convolution). The module picks 1-D or 2-D from the rank of the layer's input shape, so the
same spec string serves both: ``build("conv(16,5)-pool-gap", in_shape=(1, 40))`` is a 1-D network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .._errors import SpecError
from .._validation import check_choice
from ._activations import canonical_activation
from ._dense import parse_bool, parse_float
from ._registry import register_kind
from ._tokens import (
    check_args,
    check_dropout,
    check_positive_int,
    int_arg,
    no_options,
    unknown_option,
)

CONV_NORMS: tuple[str, ...] = ("none", "batch")
CONV_INITS: tuple[str, ...] = ("default", "he", "xavier")
POOL_MODES: tuple[str, ...] = ("max", "avg")


@dataclass(frozen=True)
class ConvSpec:
    """A convolutional hidden layer; a unit is an output channel (a feature map).

    Parameters
    ----------
    channels : int
        Number of output channels (hidden units), >= 1.
    kernel : int
        Square kernel size (or length, for 1-D signals), >= 1.
    stride : int
        Step between kernel positions, >= 1.
    padding : int or "same"
        Zeros added on each side, >= 0; ``"same"`` keeps the spatial size (needs ``stride=1``).
    activation : str
        Activation after the (normalised) convolution; default ``relu``.
    norm : str
        ``none`` or ``batch`` (batch normalisation of the pre-activation).
    dropout : float
        Dropout probability after the activation, in [0, 1).
    init : str
        ``default`` (torch), ``he`` (Kaiming normal) or ``xavier`` (Glorot uniform).
    bias : bool
        Whether each channel has a bias.

    Notes
    -----
    Input ``(C, H, W)`` -> 2-D convolution; ``(C, L)`` -> 1-D convolution. The output size per
    spatial axis is ``floor((n + 2*padding - kernel) / stride) + 1``; building fails with a
    message quoting the layer and the shape when that would be below 1.
    Spec string: ``conv(channels, kernel[, stride[, padding]])`` then options
    ``:ACTIVATION`` (or ``:act=NAME``), ``:norm=batch``, ``:dropout=P``, ``:init=he``,
    ``:bias=false``.

    Examples
    --------
    >>> str(ConvSpec(32, 3, padding="same", norm="batch"))
    'conv(32,3,1,same):relu:norm=batch'
    """

    kind: ClassVar[str] = "conv"
    channels: int
    kernel: int
    stride: int = 1
    padding: int | str = 0
    activation: str = "relu"
    norm: str = "none"
    dropout: float = 0.0
    init: str = "default"
    bias: bool = True

    def __post_init__(self) -> None:
        check_positive_int("channels", self.channels, "ConvSpec(32, 3)")
        check_positive_int("kernel", self.kernel, "ConvSpec(32, 3)")
        check_positive_int("stride", self.stride, "ConvSpec(32, 3, stride=2)")
        p = self.padding
        if p != "same" and (isinstance(p, bool) or not isinstance(p, int) or p < 0):
            raise SpecError("padding", p, "padding must be an integer >= 0 or 'same'",
                            "Use e.g. padding=1 or padding='same'.")
        if p == "same" and self.stride != 1:
            raise SpecError("padding", p, f"padding='same' needs stride=1 (got stride="
                            f"{self.stride})", "Use an integer padding with a stride > 1.")
        object.__setattr__(self, "activation", canonical_activation(self.activation))
        check_choice("norm", self.norm, CONV_NORMS)
        object.__setattr__(self, "dropout", check_dropout(self.dropout))
        check_choice("init", self.init, CONV_INITS)
        if not isinstance(self.bias, bool):
            raise SpecError("bias", self.bias, "bias must be True or False", "Use bias=False.")

    def __str__(self) -> str:
        args = [str(self.channels), str(self.kernel)]
        if self.stride != 1 or self.padding != 0:
            args.append(str(self.stride))
        if self.padding != 0:
            args.append(str(self.padding))
        parts = [f"conv({','.join(args)})", self.activation]
        if self.norm != "none":
            parts.append(f"norm={self.norm}")
        if self.dropout:
            parts.append(f"dropout={self.dropout!r}")
        if self.init != "default":
            parts.append(f"init={self.init}")
        if not self.bias:
            parts.append("bias=false")
        return ":".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "channels": self.channels, "kernel": self.kernel,
                "stride": self.stride, "padding": self.padding, "activation": self.activation,
                "norm": self.norm, "dropout": self.dropout, "init": self.init, "bias": self.bias}

    @classmethod
    def from_token(cls, args: list[str], options: dict[str, str], token: str,
                   defaults: dict[str, Any]) -> ConvSpec:
        """Build from ``conv(32,3)``, ``conv(32,3,2)``, ``conv(32,3,1,same):tanh:norm=batch``."""
        example = "conv(32,3):relu"
        check_args(args, token, "conv", (2, 3, 4),
                   "(channels, kernel[, stride[, padding]])", example)
        kw: dict[str, Any] = {"channels": int_arg(args[0], token, "channels", example),
                              "kernel": int_arg(args[1], token, "kernel", example)}
        if len(args) >= 3:
            kw["stride"] = int_arg(args[2], token, "stride", "conv(32,3,2)")
        if len(args) == 4:
            kw["padding"] = ("same" if args[3] == "same"
                             else int_arg(args[3], token, "padding", "conv(32,3,1,1)", low=0))
        if "activation" in defaults:
            kw["activation"] = defaults["activation"]
        for key, value in options.items():
            if key in ("activation", "act"):
                kw["activation"] = value
            elif key == "dropout":
                kw["dropout"] = parse_float(value, token, "dropout")
            elif key in ("norm", "init"):
                kw[key] = value
            elif key == "bias":
                kw["bias"] = parse_bool(value, token, "bias")
            else:
                raise unknown_option(token, key, "conv", "an activation name (or act=NAME), "
                                     "norm=batch, dropout=P, init=he|xavier, bias=false",
                                     "conv(32,3):relu:norm=batch")
        return cls(**kw)


@dataclass(frozen=True)
class PoolSpec:
    """Spatial pooling over non-overlapping ``size``-wide windows (kernel = stride = size).

    A unit is a channel, as for the conv layer before it.

    Parameters
    ----------
    mode : str
        ``max`` or ``avg``.
    size : int
        Window size per spatial axis, >= 1.

    Notes
    -----
    Spec string: ``pool`` (max over 2x2), ``pool(avg)``, ``pool(max,3)``. Works on ``(C, H, W)``
    and ``(C, L)`` inputs; every spatial size becomes ``floor(n / size)``.

    Examples
    --------
    >>> str(PoolSpec()), str(PoolSpec("avg", 3))
    ('pool', 'pool(avg,3)')
    """

    kind: ClassVar[str] = "pool"
    mode: str = "max"
    size: int = 2

    def __post_init__(self) -> None:
        check_choice("mode", self.mode, POOL_MODES)
        check_positive_int("size", self.size, "PoolSpec('max', 2)")

    def __str__(self) -> str:
        if (self.mode, self.size) == ("max", 2):
            return "pool"
        return f"pool({self.mode},{self.size})"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "mode": self.mode, "size": self.size}

    @classmethod
    def from_token(cls, args: list[str], options: dict[str, str], token: str,
                   defaults: dict[str, Any]) -> PoolSpec:
        """Build from ``pool``, ``pool(avg)``, ``pool(max,3)`` or ``pool(3)``."""
        check_args(args, token, "pool", (0, 1, 2), "([max|avg][, size])", "pool(max,2)")
        no_options(options, token, "pool", "pool(avg,2)")
        kw: dict[str, Any] = {}
        if args and args[0].isdigit() and len(args) == 1:
            kw["size"] = int_arg(args[0], token, "size", "pool(max,2)")
        elif args:
            if args[0] not in POOL_MODES:
                raise SpecError("spec", token, f"pool mode must be 'max' or 'avg', got {args[0]!r}",
                                "Write e.g. 'pool(avg,2)'.")
            kw["mode"] = args[0]
            if len(args) == 2:
                kw["size"] = int_arg(args[1], token, "size", "pool(max,2)")
        return cls(**kw)


@dataclass(frozen=True)
class FlattenSpec:
    """Flattens everything but the batch axis: ``(C, H, W) -> (C*H*W,)``; a unit is a feature.

    Dense layers flatten their input anyway; ``flatten`` makes it a named, inspectable layer.

    Examples
    --------
    >>> str(FlattenSpec())
    'flatten'
    """

    kind: ClassVar[str] = "flatten"

    def __str__(self) -> str:
        return "flatten"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}

    @classmethod
    def from_token(cls, args: list[str], options: dict[str, str], token: str,
                   defaults: dict[str, Any]) -> FlattenSpec:
        check_args(args, token, "flatten", (0,), "no arguments", "flatten")
        no_options(options, token, "flatten", "flatten")
        return cls()


@dataclass(frozen=True)
class GapSpec:
    """Global average pooling: the mean of each channel over all positions, ``(C, H, W) -> (C,)``.

    A unit is a channel. For sequences laid out as ``(T, features)`` use ``seqpool`` instead,
    which also respects the true lengths.

    Examples
    --------
    >>> str(GapSpec())
    'gap'
    """

    kind: ClassVar[str] = "gap"

    def __str__(self) -> str:
        return "gap"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}

    @classmethod
    def from_token(cls, args: list[str], options: dict[str, str], token: str,
                   defaults: dict[str, Any]) -> GapSpec:
        check_args(args, token, "gap", (0,), "no arguments", "gap")
        no_options(options, token, "gap", "gap")
        return cls()


for _cls in (ConvSpec, PoolSpec, FlattenSpec, GapSpec):
    register_kind(_cls)

__all__ = ["ConvSpec", "PoolSpec", "FlattenSpec", "GapSpec", "CONV_NORMS", "CONV_INITS",
           "POOL_MODES"]
