"""``HiddenNet``: hidden layers named ``hidden.0``, ``hidden.1``, ... and an output head."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
from torch import nn

from ..spec import DenseSpec, HiddenSpec
from ._dense import DenseLayer
from ._input import accepts_variable_length, check_net_input
from ._registry import make_layer


class DenseStep(NamedTuple):
    """One affine+activation step of a pure dense network, as the explicit engine sees it."""

    weight: torch.Tensor          # (out, in) nn.Parameter, as nn.Linear stores it
    bias: torch.Tensor | None     # (out,)
    activation: str               # canonical name; "identity" for the head
    dropout: float


class HiddenNet(nn.Module):
    """A network of named hidden layers followed by a linear output head.

    ``net.hidden[i]`` (module name ``hidden.i``) outputs the activations of layer ``i``'s hidden
    units; ``net.head`` maps the last hidden representation to ``out`` raw scores (logits or
    regression values, no output activation). ``out=None`` builds a feature extractor.

    Sequences: ``net(x, lengths)`` passes ``lengths`` (``(B,)`` true step counts of the padded
    sequences) to every layer that declares ``takes_lengths = True`` (recurrent, attn, seqpool);
    a layer with a ``next_lengths(x, lengths)`` method (embed: lengths read from padding ids)
    updates them for the layers after it. Every layer's output stays one tensor, the units'
    activations. Networks with non-dense layers check each batch first (shape, channels, NaN,
    lengths) and raise a lamina error quoting what was expected; pure dense networks do not.
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
        self.uses_lengths = any(getattr(layer, "takes_lengths", False) for layer in layers)
        self.variable_length = accepts_variable_length(layers)   # may T differ between batches?
        self._checks_input = not spec.is_dense
        self.head = nn.Linear(math.prod(shape), out) if out is not None else None

    def forward(self, x: torch.Tensor, lengths: Any = None) -> torch.Tensor:
        if self._checks_input or lengths is not None:
            lengths = check_net_input(self, x, lengths)   # before torch's own shape errors
        for layer in self.hidden:
            x_in = x
            if getattr(layer, "takes_lengths", False):
                x = layer(x, lengths)        # (B, *layer_out_shape); padded steps masked
            else:
                x = layer(x)                 # (B, *layer_out_shape)
            update = getattr(layer, "next_lengths", None)
            if update is not None:           # e.g. embed reads lengths from padding ids
                lengths = update(x_in, lengths)
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
