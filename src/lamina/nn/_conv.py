"""Convolutional layer modules: ``ConvLayer``, ``PoolLayer``, ``FlattenLayer``, ``GlobalAvgPool``.

All work channel-first: ``(B, C, H, W)`` images use the 2-D torch ops, ``(B, C, L)`` signals the
1-D ones; which one is fixed at build time by the rank of the layer's input shape.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .._errors import DataError, SpecError
from ..spec import ConvSpec, FlattenSpec, GapSpec, PoolSpec
from ._activations import make_activation
from ._registry import register_module

Shape = tuple[int, ...]


def _spatial_rank(spec: Any, in_shape: Shape, example: str) -> int:
    """1 for ``(C, L)`` signals, 2 for ``(C, H, W)`` images; anything else is a spec error."""
    if len(in_shape) not in (2, 3):
        raise SpecError("spec", str(spec), f"a {spec.kind} layer needs a channel-first "
                        f"input of shape (C, H, W) or (C, L), but its input has shape "
                        f"{tuple(in_shape)}",
                        f"Pass in_shape=(1, 28, 28) (images) or (C, L) (signals) to build, and put "
                        f"{example} before flatten/dense layers.")
    return len(in_shape) - 1


def _check_spatial(spec: Any, in_shape: Shape, out_shape: Shape) -> None:
    if any(n < 1 for n in out_shape[1:]):
        raise SpecError("spec", str(spec), f"this layer turns input shape {tuple(in_shape)} into "
                        f"{tuple(out_shape)}: a spatial size would shrink below 1",
                        "Use a smaller kernel/stride/pool size, padding, fewer downsampling "
                        "layers, or larger inputs.")


def init_conv(conv: nn.Module, scheme: str, generator: torch.Generator | None = None) -> None:
    """``default`` keeps torch's init; ``he`` Kaiming normal; ``xavier`` Glorot uniform."""
    if scheme == "default":
        return
    w: torch.Tensor = conv.weight  # type: ignore[assignment]
    fan_in = w.shape[1] * math.prod(w.shape[2:])
    fan_out = w.shape[0] * math.prod(w.shape[2:])
    with torch.no_grad():
        if scheme == "he":
            w.normal_(0.0, math.sqrt(2.0 / fan_in), generator=generator)
        elif scheme == "xavier":
            bound = math.sqrt(6.0 / (fan_in + fan_out))
            w.uniform_(-bound, bound, generator=generator)
        else:  # validated by the spec; guard for hand-made specs
            raise ValueError(f"unknown init scheme {scheme!r}")
        if conv.bias is not None:
            conv.bias.zero_()  # type: ignore[operator]


class ConvLayer(nn.Module):
    """``dropout(activation(norm(conv(x))))``; a unit is an output channel (axis 1)."""

    unit_axis = 1

    def __init__(self, in_shape: Shape, spec: ConvSpec,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.spec = spec
        self.in_channels = in_shape[0]
        rank = _spatial_rank(spec, in_shape, "conv")
        conv_cls = nn.Conv2d if rank == 2 else nn.Conv1d
        self.conv = conv_cls(in_shape[0], spec.channels, spec.kernel, stride=spec.stride,
                             padding=spec.padding, bias=spec.bias)
        init_conv(self.conv, spec.init, generator)
        if spec.norm == "batch":
            self.norm: nn.Module = (nn.BatchNorm2d if rank == 2 else nn.BatchNorm1d)(spec.channels)
        else:
            self.norm = nn.Identity()
        self.act = make_activation(spec.activation)
        self.dropout = nn.Dropout(spec.dropout) if spec.dropout else nn.Identity()
        self._rank = rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != self._rank + 2 or x.shape[1] != self.in_channels:
            layout = "(B, C, H, W)" if self._rank == 2 else "(B, C, L)"
            raise DataError(f"{self.spec} expects inputs of layout {layout} with "
                            f"C={self.in_channels} channels; got a tensor of shape "
                            f"{tuple(x.shape)}. Reshape the inputs (e.g. X.reshape(-1, 1, 28, 28) "
                            "for 28x28 grey images) or rebuild with the right in_shape.")
        z = self.norm(self.conv(x))          # (B, channels, H', W') pre-activation
        return self.dropout(self.act(z))     # (B, channels, H', W') hidden units


class PoolLayer(nn.Module):
    """Max or average pooling over ``size``-wide windows; a unit is a channel (axis 1)."""

    unit_axis = 1

    def __init__(self, in_shape: Shape, spec: PoolSpec) -> None:
        super().__init__()
        self.spec = spec
        rank = _spatial_rank(spec, in_shape, "pool")
        ops: dict[tuple[str, int], type[nn.Module]] = {
            ("max", 1): nn.MaxPool1d, ("max", 2): nn.MaxPool2d,
            ("avg", 1): nn.AvgPool1d, ("avg", 2): nn.AvgPool2d}
        self.pool = ops[(spec.mode, rank)](spec.size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x)                  # (B, C, H // size, W // size)


class FlattenLayer(nn.Module):
    """``(B, *shape) -> (B, prod(shape))``; a unit is a feature (axis 1)."""

    unit_axis = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)                  # (B, features)


class GlobalAvgPool(nn.Module):
    """Mean of each channel over all positions, ``(B, C, ...) -> (B, C)``; a unit is a channel."""

    unit_axis = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=tuple(range(2, x.dim())))   # (B, C)


def conv_out_size(n: int, kernel: int, stride: int, padding: int | str) -> int:
    """Output length of a convolution along one axis (torch's formula, dilation 1)."""
    if padding == "same":
        return n
    return (n + 2 * int(padding) - kernel) // stride + 1


def _conv_factory(spec: ConvSpec, in_shape: Shape,
                  generator: torch.Generator | None) -> tuple[nn.Module, Shape]:
    _spatial_rank(spec, in_shape, "conv")
    out = (spec.channels,) + tuple(conv_out_size(n, spec.kernel, spec.stride, spec.padding)
                                   for n in in_shape[1:])
    _check_spatial(spec, in_shape, out)
    return ConvLayer(in_shape, spec, generator), out


def _pool_factory(spec: PoolSpec, in_shape: Shape,
                  generator: torch.Generator | None) -> tuple[nn.Module, Shape]:
    _spatial_rank(spec, in_shape, "pool")
    out = (in_shape[0],) + tuple(n // spec.size for n in in_shape[1:])
    _check_spatial(spec, in_shape, out)
    return PoolLayer(in_shape, spec), out


def _flatten_factory(spec: FlattenSpec, in_shape: Shape,
                     generator: torch.Generator | None) -> tuple[nn.Module, Shape]:
    return FlattenLayer(), (math.prod(in_shape),)


def _gap_factory(spec: GapSpec, in_shape: Shape,
                 generator: torch.Generator | None) -> tuple[nn.Module, Shape]:
    if len(in_shape) < 2:
        raise SpecError("spec", "gap", f"global average pooling needs a channel-first input "
                        f"(C, H, W) or (C, L), but its input has shape {tuple(in_shape)}",
                        "Put gap right after conv/pool layers; for (T, features) sequences use "
                        "seqpool.")
    return GlobalAvgPool(), (in_shape[0],)


register_module("conv", _conv_factory)
register_module("pool", _pool_factory)
register_module("flatten", _flatten_factory)
register_module("gap", _gap_factory)

__all__ = ["ConvLayer", "PoolLayer", "FlattenLayer", "GlobalAvgPool", "init_conv", "conv_out_size"]
