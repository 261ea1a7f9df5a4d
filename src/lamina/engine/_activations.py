"""Activation functions as in-place forward/backward kernel calls on preallocated buffers.

Each activation knows whether its derivative needs the pre-activation ``z`` (gelu, silu) or can
be computed from the post-activation ``a`` alone (relu, tanh, ...). In the second case the
forward runs in place and ``z`` and ``a`` are the same buffer, which halves activation memory.

The backward kernels are ATen's own ``*_backward.grad_input`` ops, called with the gradient
buffer as both input and output: they are the exact formulas autograd uses, so the engine's
gradients agree with autograd's for every activation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import Tensor

Call = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]

_A = torch.ops.aten
_LEAKY_SLOPE = 0.01  # nn.LeakyReLU's default, the slope lamina's leaky_relu uses
_nn: Any = torch._C._nn


def _raw(overload: Any) -> Callable[..., Any]:
    """The C++ callable behind an ``OpOverload`` (skips one Python frame per call)."""
    return getattr(overload, "_op", overload)


_RELU_BW = _raw(_A.threshold_backward.grad_input)
_LEAKY_BW = _raw(_A.leaky_relu_backward.grad_input)
_ELU_BW = _raw(_A.elu_backward.grad_input)
_GELU_BW = _raw(_A.gelu_backward.grad_input)
_SILU_BW = _raw(_A.silu_backward.grad_input)
_TANH_BW = _raw(_A.tanh_backward.grad_input)
_SIGMOID_BW = _raw(_A.sigmoid_backward.grad_input)


class Activation(NamedTuple):
    """How one activation runs on buffers: ``z`` pre-activation, ``a`` post, ``dh`` gradient."""

    name: str
    keep_pre: bool    # the backward needs z, so a is a separate buffer

    def forward_call(self, z: Tensor, a: Tensor) -> Call | None:
        """``a = f(z)`` (``a is z`` unless ``keep_pre``); None for the identity."""
        n = self.name
        if n == "relu":
            return (torch.relu_, (z,), {})
        if n == "leaky_relu":
            return (_nn.leaky_relu_, (z, _LEAKY_SLOPE), {})
        if n == "elu":
            return (_nn.elu_, (z,), {})
        if n == "gelu":
            return (_nn.gelu, (z,), {"out": a})
        if n == "silu":
            return (_nn.silu, (z,), {"out": a})
        if n == "tanh":
            return (torch.tanh_, (z,), {})
        if n == "sigmoid":
            return (torch.sigmoid_, (z,), {})
        return None

    def backward_call(self, dh: Tensor, z: Tensor, a: Tensor) -> Call | None:
        """``dh <- dh * f'(z)`` in place; None for the identity."""
        n, out = self.name, {"grad_input": dh}
        if n == "relu":
            return (_RELU_BW, (dh, a, 0), out)
        if n == "leaky_relu":   # sign(a) == sign(z) for a positive slope
            return (_LEAKY_BW, (dh, a, _LEAKY_SLOPE, True), out)
        if n == "elu":
            return (_ELU_BW, (dh, 1.0, 1, 1, True, a), out)
        if n == "gelu":
            return (_GELU_BW, (dh, z), {"approximate": "none", "grad_input": dh})
        if n == "silu":
            return (_SILU_BW, (dh, z), out)
        if n == "tanh":
            return (_TANH_BW, (dh, a), out)
        if n == "sigmoid":
            return (_SIGMOID_BW, (dh, a), out)
        return None


_KEEP_PRE = {"gelu", "silu"}


def activation(name: str) -> Activation:
    """The kernels of a canonical activation name (see ``lamina.spec.ACTIVATIONS``)."""
    return Activation(name, name in _KEEP_PRE)


def apply_eval(name: str, z: Tensor) -> Tensor:
    """``f(z)`` computed in place on ``z`` (evaluation: no derivative is needed later)."""
    call = activation(name).forward_call(z, z)   # gelu/silu with out=z: elementwise-safe
    if call is not None:
        f, args, kw = call
        f(*args, **kw)
    return z
