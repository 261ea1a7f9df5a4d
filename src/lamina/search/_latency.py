"""Batch-1 latency of a network: what one prediction costs when serving single requests."""

from __future__ import annotations

import statistics
import time
from typing import Any


def measure_latency(net: Any, n_features: int, *, repeats: int = 30, warmup: int = 5) -> float:
    """Median milliseconds of ``net(x)`` for one input row, in eval mode without autograd.

    Examples
    --------
    >>> import torch
    >>> measure_latency(torch.nn.Linear(4, 2), 4) > 0
    True
    """
    import torch

    p = next(net.parameters())
    x = torch.zeros(1, n_features, dtype=p.dtype, device=p.device)
    was_training = net.training
    net.eval()
    try:
        with torch.inference_mode():
            for _ in range(warmup):
                net(x)
            times = []
            for _ in range(repeats):
                if p.device.type == "cuda":
                    torch.cuda.synchronize(p.device)
                t0 = time.perf_counter()
                net(x)
                if p.device.type == "cuda":
                    torch.cuda.synchronize(p.device)
                times.append(time.perf_counter() - t0)
    finally:
        net.train(was_training)
    return 1000.0 * statistics.median(times)


__all__ = ["measure_latency"]
