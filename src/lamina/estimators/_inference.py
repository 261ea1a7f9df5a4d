"""Low-latency inference for dense stacks: the real-time path of ``predict``.

For a few rows, Python overhead dominates: ``module.eval()``/``train()`` walk the module tree
and each ``nn.Module`` call costs microseconds. Here a dense ``HiddenNet`` runs as plain GEMMs on
numpy views of its own parameters (shared memory, no copy), cached and invalidated through
torch's parameter version counters, so training or ``load_state_dict`` is seen at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from scipy.special import erf, expit

from .._ranges import FLOAT32_MAX

SMALL_BATCH = 64  # rows at or below which numpy beats torch's dispatch overhead

_ACT: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda z: np.maximum(z, 0, out=z),
    "tanh": lambda z: np.tanh(z, out=z),
    "sigmoid": lambda z: expit(z, out=z),
    "identity": lambda z: z,
    "leaky_relu": lambda z: np.where(z > 0, z, z * np.asarray(0.01, z.dtype)),
    "elu": lambda z: np.where(z > 0, z, np.expm1(z)),
    "silu": lambda z: z * expit(z),
    "gelu": lambda z: (0.5 * z * (1.0 + erf(z / np.sqrt(2.0)))).astype(z.dtype, copy=False),
}


class DenseInference:
    """Numpy forward pass over a HiddenNet's dense stack; None-safe: check :meth:`usable`."""

    def __init__(self) -> None:
        self._key: tuple[Any, ...] | None = None
        self._layers: list[tuple[np.ndarray, np.ndarray | None, str]] = []

    def _refresh(self, net: Any) -> bool:
        steps = net.dense_stack()
        if steps is None:
            return False
        params = [t for s in steps for t in (s.weight, s.bias) if t is not None]
        if params[0].device.type != "cpu" or any(s.activation not in _ACT for s in steps) \
                or params[0].dtype not in (torch.float32, torch.float64):   # no numpy bfloat16
            return False
        key = (id(net),) + tuple((id(p), p._version) for p in params)
        if key != self._key:
            self._layers = [(s.weight.detach().numpy().T,
                             None if s.bias is None else s.bias.detach().numpy(), s.activation)
                            for s in steps]
            self._key = key
        return True

    def forward(self, net: Any, X: np.ndarray) -> np.ndarray | None:
        """Raw outputs for ``X`` or None when this path does not apply (non-dense, GPU...)."""
        if X.shape[0] > SMALL_BATCH or not self._refresh(net):
            return None
        h = X.astype(self._layers[0][0].dtype, copy=False)
        for w, b, act in self._layers:
            z = h @ w                                 # (n, out)
            if b is not None:
                z += b
            h = _ACT[act](z)
        return h

    def __getstate__(self) -> dict[str, Any]:
        return {"_key": None, "_layers": []}  # views of the module's memory: rebuild on load


def plain_rows(X: Any, n_features: int) -> bool:
    """True when ``X`` is a finite 2-D float ndarray of the fitted width whose values a float32
    model can hold: sklearn's validation would accept it unchanged and the cast to float32 or
    float64 keeps it finite, so both checks can be skipped on the hot path. (No copy of X: NaN
    fails the comparisons, and inf or 1e300 exceed the bounds.)"""
    return (isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] == n_features
            and X.dtype in (np.float32, np.float64) and X.shape[0] > 0
            and bool(X.max() <= FLOAT32_MAX) and bool(X.min() >= -FLOAT32_MAX))
