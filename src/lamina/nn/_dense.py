"""Dense hidden layer module. Its output *is* the hidden units' activations."""

from __future__ import annotations

import torch
from torch import nn

from ..spec import DenseSpec
from ._activations import make_activation
from ._init import init_linear


class DenseLayer(nn.Module):
    """``dropout(activation(norm(x @ W.T + b)))``; a unit is one output feature.

    Inputs with more than two dimensions (e.g. the output of a conv layer) are flattened first.
    """

    unit_axis = 1  # units live on dim 1 of the output (batch, width)

    def __init__(self, in_features: int, spec: DenseSpec,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.spec = spec
        self.linear = nn.Linear(in_features, spec.width, bias=spec.bias)
        init_linear(self.linear, spec.init, spec.activation, generator)
        if spec.norm == "batch":
            self.norm: nn.Module = nn.BatchNorm1d(spec.width)
        elif spec.norm == "layer":
            self.norm = nn.LayerNorm(spec.width)
        else:
            self.norm = nn.Identity()
        self.act = make_activation(spec.activation)
        self.dropout = nn.Dropout(spec.dropout) if spec.dropout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() > 2:
            x = x.flatten(1)                 # (B, C, H, W) -> (B, C*H*W)
        z = self.norm(self.linear(x))        # (B, width) pre-activation
        return self.dropout(self.act(z))     # (B, width) hidden units

    @property
    def is_plain(self) -> bool:
        """No normalisation: the explicit engine can train it."""
        return self.spec.norm == "none"
