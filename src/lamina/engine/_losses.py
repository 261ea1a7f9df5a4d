"""Losses as kernels writing the gradient with respect to the outputs into a buffer.

Every loss works on stacked outputs ``o`` of shape ``(P, C, B)`` (P networks, C outputs, B
samples: class-major, see ``_buffers``; the single-network engine passes P = 1) and targets ``t``
of shape ``(C, B)`` shared by the P networks. The calls from :meth:`Loss.calls` write ``g``
and ``raw`` (shape ``(P,)``, or 0-d when P = 1) such that

* ``value_scale * raw[p]`` is the *sum over the B samples* of network p's per-sample loss, and
* ``grad_scale * g`` is the gradient of that sum with respect to ``o``.

The engine divides by the batch size inside the weight-gradient GEMMs (their ``alpha``), so
neither scale costs an extra pass over memory.

Targets are prepared once per data set by :func:`prepare_targets`; for ``cross_entropy`` they are
the *negated* one-hot rows, which turns both the loss (a dot product) and its gradient
(``softmax + t``) into single kernels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ..spec import LOSSES
from ._activations import Call

_nn: Any = torch._C._nn
_VALUE_SCALE = {"mse": 1.0, "half_mse": 0.5, "mae": 1.0, "huber": 1.0}   # times 1/C
_GRAD_SCALE = {"mse": 2.0, "half_mse": 1.0, "mae": 1.0, "huber": 1.0}    # times 1/C


@dataclass(frozen=True)
class Loss:
    """One loss for C outputs: its scales and the kernel calls computing it."""

    name: str
    n_out: int

    @property
    def value_scale(self) -> float:
        return _VALUE_SCALE[self.name] / self.n_out if self.name in _VALUE_SCALE else 1.0

    @property
    def grad_scale(self) -> float:
        return _GRAD_SCALE[self.name] / self.n_out if self.name in _GRAD_SCALE else 1.0

    def calls(self, o: Tensor, t: Tensor, tf: Tensor, g: Tensor, work: Tensor,
              raw: Tensor) -> list[Call]:
        """Kernel calls (function, args, kwargs) writing ``g`` (unscaled) and ``raw``;
        ``tf`` is ``t`` flattened (kept as its own tensor so the engine can re-point it)."""
        p = o.shape[0]
        one = raw.dim() == 0             # a single network: full reductions into a 0-d slot
        flat = (lambda x: x.view(-1)) if one else (lambda x: x.view(p, -1))
        dim = 0 if one else 1
        # a single network reads its targets only through the flat ``tf`` (and flat views of
        # the buffers), so the engine re-points one tensor per batch instead of two
        tt, of, gf, wf = (tf, o.view(-1), g.view(-1), work.view(-1)) if one else (t, o, g, work)
        name = self.name
        if name == "cross_entropy":
            # t = -onehot: loss = -sum(log_softmax * onehot) = log_softmax . t
            return [(torch.log_softmax, (o, 1), {"out": work}),    # over the class axis
                    ((torch.dot if one else torch.mv), (flat(work), tf), {"out": raw}),
                    (torch.exp, (work,), {"out": g}),
                    (Tensor.add_, (gf, tt), {})]                    # softmax - onehot
        if name == "binary_cross_entropy":
            # per element: softplus(o) - y*o == o - logsigmoid(o) - y*o, stable for any o
            return [(_nn.log_sigmoid, (o,), {"out": work}),
                    (torch.sub, (o, work), {"out": work}),
                    (torch.addcmul, (wf, of, tt), {"value": -1.0, "out": wf}),
                    (torch.sum, (flat(work), dim), {"out": raw}),
                    (torch.sigmoid, (o,), {"out": g}),
                    (Tensor.sub_, (gf, tt), {})]
        calls: list[Call] = [(torch.sub, (of, tt), {"out": gf})]       # d = o - y
        if name in ("mse", "half_mse"):
            calls.append(((torch.dot if one else torch.linalg.vecdot), (flat(g), flat(g)),
                          {"out": raw}))                              # sum d^2
        elif name == "mae":
            calls += [(torch.linalg.vector_norm, (flat(g), 1.0, dim), {"out": raw}),
                      (Tensor.sign_, (g,), {})]                       # subgradient 0 at 0
        else:  # huber, delta = 1: torch's own elementwise kernel for the value
            calls += [(_nn.huber_loss, (of, tt, 0, 1.0), {"out": wf}),
                      (torch.sum, (flat(work), dim), {"out": raw}),
                      (Tensor.clamp_, (g, -1.0, 1.0), {})]
        return calls

    def value(self, o: Tensor, t: Tensor) -> Tensor:
        """``(P,)`` sums over samples of the per-sample loss, for sample-major outputs
        ``(P, B, C)`` and targets ``(B, C)`` (evaluation; no gradient kept)."""
        p = o.shape[0]
        raw = torch.empty(p, dtype=o.dtype, device=o.device)
        out = raw[0] if p == 1 else raw
        o, t = o.transpose(1, 2).contiguous(), t.t().contiguous()
        for f, args, kw in self.calls(o, t, t.view(-1), torch.empty_like(o),
                                      torch.empty_like(o), out):
            f(*args, **kw)
        return raw.mul_(self.value_scale)


def run(calls: list[Call]) -> None:
    """Run a list of kernel calls in order."""
    for f, args, kw in calls:
        f(*args, **kw)


def prepare_targets(loss: str, y: Tensor, n_out: int, dtype: torch.dtype) -> Tensor:
    """The resident target matrix ``(N, C)`` the loss kernels read (see module docstring)."""
    assert loss in LOSSES
    if loss == "cross_entropy":
        t = torch.zeros(y.shape[0], n_out, dtype=dtype, device=y.device)
        t.scatter_(1, y.view(-1, 1), -1.0)
        return t
    return y.to(dtype).contiguous()
