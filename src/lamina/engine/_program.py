"""One training step, "compiled" once per batch size into a list of kernel calls.

Every tensor a step touches is known in advance (preallocated buffers, the parameters, the
flat gradient), so the forward, loss, backward, L2 term and the per-step statistics become a
fixed list of ``(kernel, args, kwargs)`` calls with ``out=`` targets. Running a step is then a
tight loop over that list: no attribute lookups, no shape logic, no allocation. Every scalar a
step produces is written into one small ``stats`` tensor, read with a single ``tolist()``.

Inverted dropout keeps 0/1 masks and folds the ``1/keep`` scale into the ``alpha`` of the next
layer's GEMMs (forward, weight gradient and input gradient), which saves a pass over memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ._activations import Activation, Call
from ._buffers import BatchBuffers
from ._losses import Loss


@dataclass
class StepProgram:
    """The calls of one step and where their scalar results land."""

    calls: list[Call]
    stats: Tensor                          # see dense_program / population_program
    dropout_kwargs: list[dict[str, Any]]   # uniform_ kwargs, to set each epoch's generator
    views: tuple[Tensor, ...] = ()         # views of stats the caller reads each step


def _activation_calls(act: Activation, bs: BatchBuffers, i: int) -> list[Call]:
    call = act.forward_call(bs.z[i], bs.a[i])
    return [call] if call is not None else []


def _backward_calls(act: Activation, bs: BatchBuffers, i: int) -> list[Call]:
    call = act.backward_call(bs.gz[i], bs.z[i], bs.a[i])
    return [call] if call is not None else []


def dense_program(bs: BatchBuffers, W: Sequence[Tensor], Wt: Sequence[Tensor],
                  b: Sequence[Tensor | None], acts: Sequence[Activation],
                  drops: Sequence[float], dW: Sequence[Tensor], db: Sequence[Tensor | None],
                  segs: Sequence[Tensor], loss: Loss, alpha: float) -> StepProgram:
    """Compile the step of one network for the buffers ``bs``.

    ``stats`` holds ``[|g_0| .. |g_L-1|, raw loss, |W_0| .. |W_L-1|]`` (gradient norm of each
    layer's ``[dW, db]``, the loss as defined in ``_losses``, and the weight norms when
    ``alpha > 0``).
    """
    n_layers = len(W)
    stats = torch.zeros(2 * n_layers + 1, dtype=W[0].dtype, device=W[0].device)
    slot = [stats[i] for i in range(stats.numel())]   # 0-d views, reused as out= targets
    calls: list[Call] = []
    gens: list[dict[str, Any]] = []
    # input scale of each layer: 1/keep of the dropout before it (folded into GEMM alphas)
    inv_keep = [1.0] + [1.0 / (1.0 - p) for p in drops[:-1]]
    # forward: z = h @ W.T * s + b, a = f(z) in place when possible, 0/1 dropout masks
    for i in range(n_layers):
        head = i == n_layers - 1           # the head is class-major: z^T = W @ h^T (+ b)
        h_t = bs.xT if bs.xT is not None else bs.h[i].t()
        lhs, rhs = (W[i], h_t) if head else (bs.h[i], Wt[i])
        bias = b[i]
        fused = bias is not None and acts[i].name == "relu" and not head
        if fused:   # relu(addmm(..)) as one call (ATen runs the same two kernels)
            calls.append((torch._addmm_activation, (bias, lhs, rhs),
                          {"alpha": inv_keep[i], "out": bs.z[i]}))
        elif bias is not None:
            calls.append((torch.addmm, (bias.unsqueeze(1) if head else bias, lhs, rhs),
                          {"alpha": inv_keep[i], "out": bs.z[i]}))
        else:
            calls.append((torch.addmm, (bs.z[i], lhs, rhs),
                          {"beta": 0.0, "alpha": inv_keep[i], "out": bs.z[i]}))
        if not fused:
            calls += _activation_calls(acts[i], bs, i)
        if drops[i] > 0.0:
            mask = bs.mask[i]
            kw: dict[str, Any] = {"generator": None}
            gens.append(kw)
            # keep = uniform < 1 - p: the same masks as bernoulli_(1 - p) in law, drawn 2.4x
            # faster on CPU (bernoulli_ costs ~9 ns per element, uniform_ + lt ~4)
            calls += [(Tensor.uniform_, (mask,), kw),
                      (torch.lt, (mask, 1.0 - drops[i]), {"out": mask}),
                      (torch.mul, (bs.a[i], mask), {"out": bs.h[i + 1]})]
    # the loss writes the output gradient into gz[-1] and its raw value into stats
    calls += loss.calls(bs.out3, bs.t, bs.tf, bs.g3, bs.work3, slot[n_layers])
    # backward, head first: dW = gz.T @ h * s, db = gz.T @ 1 * s, gz_prev = f'(z) * (gz @ W)
    scale = loss.grad_scale / bs.n
    for i in range(n_layers - 1, -1, -1):
        head = i == n_layers - 1           # gz of the head is (C, B): no transposes needed
        g_out, g_b = (bs.gz[i], bs.gzT[i]) if head else (bs.gzT[i], bs.gz[i])
        # sklearn's L2 gradient alpha/B * W rides in the GEMM's beta (W is copied into dW)
        calls.append((torch.addmm, (W[i] if alpha > 0.0 else dW[i], g_out, bs.h[i]),
                      {"beta": alpha / bs.n, "alpha": scale * inv_keep[i], "out": dW[i]}))
        if db[i] is not None:
            calls.append((torch.addmv, (db[i], g_out, bs.ones),
                          {"beta": 0.0, "alpha": scale, "out": db[i]}))
        if i:
            prev = bs.gz[i - 1]
            calls.append((torch.addmm, (prev, g_b, W[i]),
                          {"beta": 0.0, "alpha": inv_keep[i], "out": prev}))
            mask = bs.mask[i - 1]
            if mask is not None:
                calls.append((Tensor.mul_, (prev, mask), {}))
            calls += _backward_calls(acts[i - 1], bs, i - 1)
    # the value of sklearn's L2 term needs ||W|| before the update
    if alpha > 0.0:
        for i in range(n_layers):
            calls.append((torch.linalg.vector_norm, (W[i],), {"out": slot[n_layers + 1 + i]}))
    # the norm of each layer's [dW, db] (one contiguous segment of the flat gradient)
    for i in range(n_layers):
        calls.append((torch.linalg.vector_norm, (segs[i],), {"out": slot[i]}))
    return StepProgram(calls, stats, gens)


def population_program(bs: BatchBuffers, W: Sequence[Tensor], WT: Sequence[Tensor],
                       bU: Sequence[Tensor], acts: Sequence[Activation], dW: Sequence[Tensor],
                       db: Sequence[Tensor], G: Tensor, Gb: Tensor, theta: Tensor,
                       loss: Loss, alpha_map: Tensor | None, drop_members: Sequence[int],
                       keep: Tensor, gens: Sequence[torch.Generator],
                       penalty_value: bool = True) -> StepProgram:
    """Compile the step of a population (P stacked members) for the buffers ``bs``.

    ``stats`` is ``(3 + L, P)``: row 0 the raw losses, row 1 the sums of each member's bias
    gradients (non-finite exactly when some backward signal of that member is), row 2 each
    member's sum of squared weights (zero without alpha, or with ``penalty_value=False``),
    then per-layer squared weight norms.
    """
    n_layers, P = len(W), keep.shape[0]
    stats = torch.zeros(3 + n_layers, P, dtype=theta.dtype, device=theta.device)
    scale_t = torch.tensor(loss.grad_scale / bs.n, dtype=theta.dtype, device=theta.device)
    calls: list[Call] = []
    for i in range(n_layers):
        if i < n_layers - 1:
            calls.append((torch.baddbmm, (bU[i], bs.h[i], WT[i]), {"out": bs.z[i]}))  # (P,B,o)
        else:                              # the head, class-major: (P, C, B) = W @ h^T + b
            h_t = bs.xT if bs.xT is not None else bs.h[i].transpose(1, 2)
            calls.append((torch.baddbmm, (bU[i].transpose(1, 2), W[i], h_t),
                          {"out": bs.z[i]}))
        calls += _activation_calls(acts[i], bs, i)
        mask = bs.mask[i]
        if mask is not None:
            for m in drop_members:                                 # each member's own stream
                calls += [(Tensor.uniform_, (mask[m],), {"generator": gens[m]}),
                          (torch.lt, (mask[m], float(keep[m])), {"out": mask[m]})]
            calls += [(Tensor.div_, (mask, keep), {}),          # members without dropout: 1/1
                      (torch.mul, (bs.a[i], mask), {"out": bs.h[i + 1]})]
    calls += loss.calls(bs.out3, bs.t, bs.tf, bs.g3, bs.work3, stats[0])
    scale = loss.grad_scale / bs.n
    for i in range(n_layers - 1, -1, -1):
        head = i == n_layers - 1           # gz of the head is (P, C, B)
        g_out, g_b = (bs.gz[i], bs.gzT[i]) if head else (bs.gzT[i], bs.gz[i])
        calls += [(torch.baddbmm, (dW[i], g_out, bs.h[i]),
                   {"beta": 0.0, "alpha": scale, "out": dW[i]}),     # (P, out, in)
                  (torch.sum, (g_out, 2), {"out": db[i]})]          # (P, out), scaled below
        if i:
            prev = bs.gz[i - 1]
            calls.append((torch.bmm, (g_b, W[i]), {"out": prev}))  # (P, B, in)
            mask = bs.mask[i - 1]
            if mask is not None:
                calls.append((Tensor.mul_, (prev, mask), {}))
            calls += _backward_calls(acts[i - 1], bs, i - 1)
    calls.append((Tensor.mul_, (Gb, scale_t), {}))
    if alpha_map is not None:
        if penalty_value:       # the L2 term's value, for the reported loss only
            for i in range(n_layers):
                flat = W[i].view(P, -1)
                calls.append((torch.linalg.vecdot, (flat, flat), {"out": stats[3 + i]}))
            calls.append((torch.sum, (stats[3:], 0), {"out": stats[2]}))
        calls.append((Tensor.addcmul_, (G, theta, alpha_map), {"value": 1.0 / bs.n}))
    calls.append((torch.sum, (Gb, 1), {"out": stats[1]}))
    return StepProgram(calls, stats, [], (stats[:3], stats[0], stats[2]))
