"""``HiddenNet``: hidden layers named ``hidden.0``, ``hidden.1``, ... and an output head."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
from torch import nn

from ..spec import DenseSpec, HiddenSpec
from ._dense import DenseLayer
from ._registry import make_layer


class DenseStep(NamedTuple):
    """One affine+activation step of a pure dense network, as the explicit engine sees it."""

    weight: nn.Parameter          # (out, in), as nn.Linear stores it
    bias: nn.Parameter | None     # (out,)
    activation: str               # canonical name; "identity" for the head
    dropout: float


class HiddenNet(nn.Module):
    """A network of named hidden layers followed by a linear output head.

    ``net.hidden[i]`` (module name ``hidden.i``) outputs the activations of layer ``i``'s hidden
    units; ``net.head`` maps the last hidden representation to ``out`` raw scores (logits or
    regression values, no output activation). ``out=None`` builds a feature extractor.
    """

    def __init__(self, spec: HiddenSpec, in_shape: tuple[int, ...], out: int | None) -> None:
        super().__init__()
        self.spec = spec
        self.in_shape = tuple(int(d) for d in in_shape)
        self.out = out
        layers, shape = [], self.in_shape
        for layer_spec in spec.layers:
            module, shape = make_layer(layer_spec, shape)
            layers.append(module)
        self.hidden = nn.ModuleList(layers)
        self.feature_shape = shape
        self.head = nn.Linear(math.prod(shape), out) if out is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.hidden:
            x = layer(x)                     # (B, *layer_out_shape)
        if self.head is None:
            return x
        if x.dim() > 2:
            x = x.flatten(1)                 # (B, features)
        return self.head(x)                  # (B, out) raw scores

    @property
    def hidden_names(self) -> list[str]:
        """Module names of the hidden layers, for inspection: ``['hidden.0', ...]``."""
        return [f"hidden.{i}" for i in range(len(self.hidden))]

    def dense_stack(self) -> list[DenseStep] | None:
        """The network as affine steps for the explicit engine, or None when it has layers the
        engine does not handle (normalisation, non-dense kinds, a multi-dim input)."""
        if self.head is None or len(self.in_shape) != 1:
            return None
        steps = []
        for layer in self.hidden:
            if not isinstance(layer, DenseLayer) or not layer.is_plain:
                return None
            steps.append(DenseStep(layer.linear.weight, layer.linear.bias,
                                   layer.spec.activation, layer.spec.dropout))
        steps.append(DenseStep(self.head.weight, self.head.bias, "identity", 0.0))
        return steps

    def config(self) -> dict[str, Any]:
        """JSON-able description from which :func:`lamina.build` recreates the architecture."""
        return {"spec": self.spec.to_list(), "in_shape": list(self.in_shape), "out": self.out}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> HiddenNet:
        return cls(HiddenSpec.from_list(config["spec"]), tuple(config["in_shape"]),
                   config["out"])


def is_dense_spec(spec: HiddenSpec) -> bool:
    return all(isinstance(layer, DenseSpec) for layer in spec.layers)
