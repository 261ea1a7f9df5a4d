"""``scale="standard"`` of the MLP estimators: train on standardised columns, predict on raw ones.

The network trains on ``(X - mean_) / std_`` (the statistics of the first ``fit`` or
``partial_fit``), and when training ends the standardisation is folded into the first affine
layer, exactly in float64:

    W' = W / std          (each input column's weights divided by its spread)
    b' = b - W' @ mean

so ``module_``, ``coefs_``, ``predict``, save/load and inspection all see one plain network
that reads raw features. A warm start or ``partial_fit`` unfolds the layer first (the inverse
map), trains in the standardised space the optimizer state belongs to, and folds it again.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .._errors import ParameterError
from ..nn import DenseLayer

SCALES = ("standard",)


def standard_stats(X: np.ndarray, sample_weight: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations (float64, weighted by ``sample_weight`` as in
    ``StandardScaler.fit(X, sample_weight=...)``, so integer weights equal repeated rows); a
    constant column gets spread 1, as in ``StandardScaler``, so it passes through centred."""
    X = np.asarray(X, dtype=np.float64)
    # each column is divided by the power of two at or below its largest magnitude first:
    # exact (the same mean and std to the bit), the scaled values lie in (-2, 2), and squares
    # of values beyond 1e154 no longer overflow (2**(e-1) is finite and nonzero for any e of
    # a finite float64)
    power = np.ldexp(1.0, np.frexp(np.max(np.abs(X), axis=0, initial=0.0))[1] - 1)
    Xs = X / power
    mean = np.average(Xs, axis=0, weights=sample_weight)
    std = np.sqrt(np.average((Xs - mean) ** 2, axis=0, weights=sample_weight))
    mean, std = mean * power, std * power
    tiny = std < 10 * np.finfo(np.float64).eps * np.maximum(np.abs(mean), 1.0)
    std[tiny] = 1.0
    return mean, std


def first_affine(net: nn.Module, spec_text: str) -> nn.Linear:
    """The affine map that reads the raw features, or a :class:`ParameterError` saying why
    ``scale="standard"`` cannot be folded into this network."""
    hidden = getattr(net, "hidden", None)
    head = getattr(net, "head", None)
    if hidden is not None and len(hidden):
        layer = hidden[0]
        linear = layer.linear if isinstance(layer, DenseLayer) else None
    else:
        linear = head if isinstance(head, nn.Linear) else None
    if linear is None:
        raise ParameterError("scale", "standard", "only for networks whose first layer is dense "
                             f"(the standardisation is folded into it); hidden_layer_sizes="
                             f"{spec_text!r} starts with another kind of layer",
                             "Use scale=None and put sklearn's StandardScaler in a Pipeline "
                             "before the estimator.")
    if linear.bias is None:
        raise ParameterError("scale", "standard", "only when the first layer has a bias (the "
                             "column means are folded into it)",
                             "Keep the first layer's bias, or use scale=None with a "
                             "StandardScaler in a Pipeline.")
    return linear


def fold(linear: nn.Linear, mean: np.ndarray, std: np.ndarray, *, inverse: bool = False) -> None:
    """Fold the standardisation into ``linear`` in place (``inverse=True`` takes it out)."""
    w, b = linear.weight, linear.bias
    assert b is not None
    with torch.no_grad():
        W, bias = w.detach().double(), b.detach().double()
        m = torch.as_tensor(mean, dtype=torch.float64, device=w.device)
        s = torch.as_tensor(std, dtype=torch.float64, device=w.device)
        if inverse:
            new_w, new_b = W * s, bias + W @ m           # W is the folded W' here
        else:
            new_w = W / s
            new_b = bias - new_w @ m
        w.copy_(new_w)
        b.copy_(new_b)


def check_scale(value: Any) -> str | None:
    """``None`` (raw columns; also ``"none"``) or ``"standard"``."""
    if value is None or (isinstance(value, str) and value.lower() == "none"):
        return None
    if isinstance(value, str) and value in SCALES:
        return value
    raise ParameterError("scale", value, "'standard', or None / 'none' for the raw columns",
                         "Pass scale='standard' to train on standardised columns (the fitted "
                         "network still reads raw features), or scale=None ('none').")
