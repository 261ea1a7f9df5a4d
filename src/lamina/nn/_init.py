"""Weight initialisation schemes named in specs."""

from __future__ import annotations

import math

import torch
from torch import nn


def init_linear(linear: nn.Linear, scheme: str, activation: str,
                generator: torch.Generator | None = None) -> None:
    """Initialise ``linear`` in place.

    ``default`` keeps torch's init; ``he`` is Kaiming normal (fan-in); ``xavier`` Glorot uniform;
    ``sklearn`` is sklearn's MLP init: weights *and* biases uniform in
    ``+-sqrt(factor / (fan_in + fan_out))`` with factor 2 for sigmoid, 6 otherwise.
    """
    w, b = linear.weight, linear.bias
    fan_out, fan_in = w.shape
    with torch.no_grad():
        if scheme == "default":
            return
        if scheme == "he":
            std = math.sqrt(2.0 / fan_in)
            w.normal_(0.0, std, generator=generator)
            if b is not None:
                b.zero_()
        elif scheme == "xavier":
            bound = math.sqrt(6.0 / (fan_in + fan_out))
            w.uniform_(-bound, bound, generator=generator)
            if b is not None:
                b.zero_()
        elif scheme == "sklearn":
            factor = 2.0 if activation == "sigmoid" else 6.0
            bound = math.sqrt(factor / (fan_in + fan_out))
            w.uniform_(-bound, bound, generator=generator)
            if b is not None:
                b.uniform_(-bound, bound, generator=generator)
        else:  # validated by the spec; kept as a guard for hand-made specs
            raise ValueError(f"unknown init scheme {scheme!r}")
