"""Shared checks for the layer-kind tests: float64 gradcheck over parameters, gradient flow."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch
from torch import nn
from torch.func import functional_call

from lamina._threads import few_threads


def param_gradcheck(module: nn.Module, *args: Any, **kwargs: Any) -> bool:
    """``torch.autograd.gradcheck`` (fast mode: random projections of the Jacobian, which any wrong
    derivative fails with probability ~1) of ``module(*args)`` w.r.t. every parameter and float
    tensor argument, in float64. Non-float arguments (ids, lengths) are held fixed."""
    module = module.double()
    names = [n for n, _ in module.named_parameters()]
    params = [p.detach().clone().requires_grad_() for _, p in module.named_parameters()]
    float_pos = [i for i, a in enumerate(args)
                 if isinstance(a, torch.Tensor) and a.dtype.is_floating_point]
    float_args = [args[i].detach().double().clone().requires_grad_() for i in float_pos]

    def fn(*flat: torch.Tensor) -> torch.Tensor:
        p = dict(zip(names, flat[: len(names)]))
        call = list(args)
        for i, t in zip(float_pos, flat[len(names):]):
            call[i] = t
        return functional_call(module, p, tuple(call), kwargs)

    return torch.autograd.gradcheck(fn, tuple(params + float_args), eps=1e-6, atol=1e-5,
                                    rtol=1e-3, fast_mode=True)


def assert_all_params_get_gradient(module: nn.Module, loss: torch.Tensor) -> None:
    """Every parameter receives a finite gradient that is non-zero somewhere."""
    module.zero_grad(set_to_none=True)
    loss.backward()
    for name, p in module.named_parameters():
        assert p.grad is not None, f"{name} received no gradient"
        assert torch.isfinite(p.grad).all(), f"{name} has a non-finite gradient"
        assert p.grad.abs().max() > 0, f"{name}'s gradient is zero everywhere"


@pytest.fixture
def single_thread() -> Iterator[None]:
    """Tiny tensors run fastest on one thread, and the test machines' cores are shared."""
    with few_threads(1):
        yield
