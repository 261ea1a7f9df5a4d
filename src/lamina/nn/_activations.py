"""Activation modules by canonical name."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

_FACTORIES: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "identity": nn.Identity,
}


def make_activation(name: str) -> nn.Module:
    """A fresh activation module for a canonical name (see ``lamina.spec.ACTIVATIONS``)."""
    return _FACTORIES[name]()
