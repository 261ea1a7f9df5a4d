"""SGD on float16/bfloat16 tensors: torch's fused CPU SGD kernel (torch 2.13) leaves every
element of a half tensor's full 16-element chunks unchanged, so lamina runs SGD unfused there,
on the explicit engine and the autograd path alike; an update must equal torch's unfused one."""

from __future__ import annotations

import pytest
import torch

from lamina.engine._optim import FusedOptimizer
from lamina.spec import OptimizerSpec
from lamina.train import make_optimizer

HALF = [torch.float16, torch.bfloat16]
# (momentum, nesterov, weight_decay)
SGD_KINDS = [(0.0, False, 0.0), (0.9, True, 0.0), (0.9, False, 1e-2)]


def _tensors(dtype: torch.dtype, n: int = 64, steps: int = 3) -> tuple[torch.Tensor,
                                                                      list[torch.Tensor]]:
    gen = torch.Generator().manual_seed(n)
    p = torch.randn(n, generator=gen).to(dtype)
    grads = [(torch.randn(n, generator=gen) * 1e-2).to(dtype) for _ in range(steps)]
    return p, grads


def _reference(p: torch.Tensor, grads: list[torch.Tensor], lr: float, momentum: float,
               nesterov: bool, wd: float) -> torch.Tensor:
    """torch.optim.SGD's single-tensor (unfused, non-foreach) path."""
    q = torch.nn.Parameter(p.clone())
    opt = torch.optim.SGD([q], lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=wd,
                          foreach=False, fused=False)
    for g in grads:
        q.grad = g.clone()
        opt.step()
    return q.detach()


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize(("momentum", "nesterov", "wd"), SGD_KINDS)
def test_engine_sgd_steps_in_half_precision_equal_torch_unfused(
        dtype: torch.dtype, momentum: float, nesterov: bool, wd: float) -> None:
    p, grads = _tensors(dtype)
    expected = _reference(p, grads, 0.1, momentum, nesterov, wd)
    w = p.clone()
    opt = FusedOptimizer("sgd", [w], momentum=momentum, nesterov=nesterov, weight_decay=wd)
    g_buf = torch.empty_like(w)
    step = opt.bind([w], [g_buf])                 # the engine binds fixed lists once
    for g in grads:
        g_buf.copy_(g)
        step(0.1)
        assert torch.equal(g_buf, g)              # the gradients are not modified
    assert not torch.equal(w, p)                  # was: all 64 elements left unchanged
    assert torch.equal(w, expected)


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize(("momentum", "nesterov", "wd"), SGD_KINDS)
def test_autograd_sgd_steps_in_half_precision_equal_torch_unfused(
        dtype: torch.dtype, momentum: float, nesterov: bool, wd: float) -> None:
    p, grads = _tensors(dtype)
    expected = _reference(p, grads, 0.1, momentum, nesterov, wd)
    q = torch.nn.Parameter(p.clone())
    opt = make_optimizer([q], OptimizerSpec("sgd", lr=0.1, momentum=momentum,
                                            nesterov=nesterov, weight_decay=wd))
    for g in grads:
        q.grad = g.clone()
        opt.step()
    assert torch.equal(q.detach(), expected)


def test_float32_sgd_keeps_the_fused_kernel_and_matches_torch() -> None:
    p, grads = _tensors(torch.float32)
    q = torch.nn.Parameter(p.clone())
    opt = make_optimizer([q], OptimizerSpec("sgd", lr=0.1))
    assert opt.defaults["fused"] is True
    for g in grads:
        q.grad = g.clone()
        opt.step()
    assert torch.allclose(q.detach(), _reference(p, grads, 0.1, 0.9, True, 0.0), atol=1e-7)


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_fused_adam_in_half_precision_updates_every_element_in_float32(
        dtype: torch.dtype, name: str) -> None:
    # why Adam/AdamW stay fused on half tensors: the kernel loads half values, updates in
    # float32 and stores half, element for element (a 16-element chunk is not skipped)
    p, grads = _tensors(dtype, steps=4)
    wd, lr, b1, b2, eps = 1e-2, 3e-2, 0.9, 0.999, 1e-4
    w = p.clone()
    g_buf = torch.empty_like(w)
    opt = FusedOptimizer(name, [w], beta1=b1, beta2=b2, eps=eps, weight_decay=wd)
    step = opt.bind([w], [g_buf])
    x, m, v = p.clone(), torch.zeros_like(p), torch.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        g_buf.copy_(g)
        step(lr)
        x32, g32 = x.float(), g.float()
        if name == "adamw":
            x32 = x32 * (1 - lr * wd)
        else:
            g32 = g32 + wd * x32
        m32 = m.float() + (g32 - m.float()) * (1 - b1)
        v32 = b2 * v.float() + (1 - b2) * g32 * g32
        denom = v32.sqrt() / (1 - b2 ** t) ** 0.5 + eps
        x = (x32 - lr / (1 - b1 ** t) * m32 / denom).to(dtype)
        m, v = m32.to(dtype), v32.to(dtype)
    assert (w != p).float().mean() > 0.9                 # not chunks left as they were
    torch.testing.assert_close(w, x, atol=0.0, rtol=torch.finfo(dtype).eps)
