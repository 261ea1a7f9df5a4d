"""Maps layer-spec kinds to module factories: ``factory(spec, in_shape, generator) -> (module,
out_shape)`` where shapes exclude the batch dimension. ``nn`` depends on ``spec``, never back."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .._errors import SpecError
from ..spec import DenseSpec
from ._dense import DenseLayer

Factory = Callable[[Any, tuple[int, ...], "torch.Generator | None"], tuple[nn.Module, tuple[int, ...]]]
_FACTORIES: dict[str, Factory] = {}


def register_module(kind: str, factory: Factory) -> None:
    """Register how to build the module of a spec kind (see ``lamina.spec.register_kind``)."""
    _FACTORIES[kind] = factory


def make_layer(spec: Any, in_shape: tuple[int, ...],
               generator: torch.Generator | None = None) -> tuple[nn.Module, tuple[int, ...]]:
    factory = _FACTORIES.get(spec.kind)
    if factory is None:
        raise SpecError("spec", str(spec), f"no module is registered for layer kind {spec.kind!r}",
                        "Import the package that defines it, or call lamina.nn.register_module.")
    return factory(spec, in_shape, generator)


def _dense_factory(spec: DenseSpec, in_shape: tuple[int, ...],
                   generator: torch.Generator | None) -> tuple[nn.Module, tuple[int, ...]]:
    return DenseLayer(math.prod(in_shape), spec, generator), (spec.width,)


register_module("dense", _dense_factory)
