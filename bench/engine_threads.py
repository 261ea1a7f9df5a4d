"""Where one intra-op thread beats the default for a training step of the dense engine.

For a range of dense networks and batch sizes, times one epoch of ``DenseEngine`` with
``torch.set_num_threads(1)`` and with the default thread count (interleaved, median of 5
epochs each, best of 2 rounds) and prints the GEMM MFLOP per step with the time ratio
default / one thread. ``lamina.engine._dense.ONE_THREAD_STEP_FLOPS`` is set under the measured
crossover (ratio > 1: one thread is faster).

    python bench/engine_threads.py
"""

from __future__ import annotations

import statistics
import time

import torch

import lamina
from lamina.engine._dense import ONE_THREAD_STEP_FLOPS, DenseEngine
from lamina.spec import OptimizerSpec

CASES = [(64, (64,), 200), (64, (128,), 200), (100, (128, 128), 128), (100, (256,), 256),
         (100, (512,), 256), (784, (128,), 200), (100, (256, 256), 256)]


def epoch_us_per_step(n_in: int, widths: tuple[int, ...], B: int, threads: int) -> tuple[float, float]:
    torch.set_num_threads(threads)
    net = lamina.build(widths, in_features=n_in, out=10, seed=0)
    eng = DenseEngine(net.dense_stack(), "cross_entropy",
                      OptimizerSpec("adam", lr=1e-3, alpha=1e-4))
    X, y = torch.rand(4096, n_in), torch.randint(0, 10, (4096,))
    g = torch.Generator().manual_seed(0)
    eng.train_epoch(X, y, B, generator=g)
    times = []
    # the engine would pick one thread itself for small steps: time _run directly under the
    # thread count set here
    for _ in range(5):
        t = time.perf_counter()
        with torch.inference_mode():
            perm = torch.randperm(4096, generator=g)
            T = eng._cache.targets(X, y, "cross_entropy", 10, X.dtype, X.device)
            eng._run(eng._plan.epoch(X, T, perm, B), g, None)
        times.append(time.perf_counter() - t)
    steps = -(-4096 // B)
    return statistics.median(times) / steps * 1e6, B * eng.flops_per_sample


def main() -> None:
    default = torch.get_num_threads()
    print(f"default threads: {default}; ONE_THREAD_STEP_FLOPS = {ONE_THREAD_STEP_FLOPS / 1e6:.0f}"
          " MFLOP")
    for n_in, widths, B in CASES:
        best: dict[int, float] = {}
        for threads in (1, default, 1, default):
            us, flops = epoch_us_per_step(n_in, widths, B, threads)
            best[threads] = min(best.get(threads, us), us)
        print(f"  in={n_in:<4} widths={str(widths):<11} batch={B:<4} {flops / 1e6:6.1f} MFLOP/step:"
              f" 1 thread {best[1]:6.0f} us, {default} threads {best[default]:6.0f} us, "
              f"ratio {best[default] / best[1]:.2f}")
    torch.set_num_threads(default)


if __name__ == "__main__":
    main()
