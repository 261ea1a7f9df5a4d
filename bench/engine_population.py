"""Benchmark lamina's explicit engine against the idiomatic torch loop (and sklearn), and the
population engine against sequential single-network trainings.

Run: ``python bench/engine_population.py`` (``--quick`` for fewer epochs, ``--threads N``).

1. ``mlp256``: make_classification 50 000 x 100, 10 classes, 20 % hold-out, (256, 256) relu,
   Adam 1e-3, batch 256, float32. DenseEngine vs an autograd + torch.optim loop on the same
   network, data and batch order. Achieved GFLOP/s counts forward 2*B*sum(in*out), weight
   gradients 2*B*sum(in*out) and input gradients 2*B*sum(in*out) over every layer but the first,
   against this machine's float32 GEMM peak: torch.mm 1024^3, sampled in short bursts between
   the engine's epochs so that both see the same load on a shared machine.
2. ``digits``: sklearn's digits (1797 x 64), (64,), batch 200, Adam 1e-3: per-step time of the
   engine, the torch loop and sklearn's MLPClassifier; the engine's per-step overhead is its step
   time minus the time of the step's GEMMs run back to back.
3. ``population``: 32 (64, 64) members on digits with log-spaced learning rates, one
   PopulationEngine vs 32 DenseEngine trainings one after the other.

Every timing is the median of ``--repeats`` runs (default 3); the competitors alternate with
the engine repeat by repeat; ratios are printed (overall and per repeat).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

import lamina
from lamina.engine import DenseEngine, PopulationEngine
from lamina.spec import OptimizerSpec


def median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


class GemmProbe:
    """float32 GFLOP/s of torch.mm on 1024^3, sampled in short bursts *between* training
    epochs, so the peak and the training see the same load on a shared machine."""

    def __init__(self) -> None:
        self.a, self.b = torch.randn(1024, 1024), torch.randn(1024, 1024)
        self.c = torch.empty(1024, 1024)
        self.samples: list[float] = []
        for _ in range(3):
            torch.mm(self.a, self.b, out=self.c)

    def burst(self, n: int = 4) -> None:
        t0 = time.perf_counter()
        for _ in range(n):
            torch.mm(self.a, self.b, out=self.c)
        self.samples.append(n * 2 * 1024**3 / (time.perf_counter() - t0) / 1e9)

    @property
    def peak(self) -> float:
        return statistics.median(self.samples)


def epoch_flops(sizes: tuple[int, ...], n: int) -> float:
    pairs = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return n * (2 * sum(pairs) + 2 * sum(pairs) + 2 * sum(pairs[1:]))


def train_engine(net: lamina.nn.HiddenNet, X: torch.Tensor, y: torch.Tensor, epochs: int,
                 batch: int, lr: float, probe: GemmProbe | None = None) -> tuple[Any, Any]:
    """(wall, CPU) seconds spent in ``train_epoch`` (GEMM probes between epochs excluded), and
    the trained net."""
    steps = net.dense_stack()
    assert steps is not None
    eng = DenseEngine(steps, "cross_entropy", OptimizerSpec("adam", lr=lr))
    g = torch.Generator().manual_seed(0)
    wall = cpu = 0.0
    every = max(1, epochs // 10)     # ~10 probes a run: each one also evicts the caches
    for epoch in range(epochs):
        if probe is not None and epoch % every == 0:
            probe.burst()
        t0, c0 = time.perf_counter(), time.process_time()
        eng.train_epoch(X, y, batch, generator=g)
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
    return (wall, cpu), net


def train_torch(net: lamina.nn.HiddenNet, X: torch.Tensor, y: torch.Tensor, epochs: int,
                batch: int, lr: float) -> lamina.nn.HiddenNet:
    """The idiomatic loop: resident tensors, randperm batches, autograd, torch.optim.Adam."""
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    g = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        for idx in torch.randperm(X.shape[0], generator=g).split(batch):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(X[idx]), y[idx]).backward()
            opt.step()
    return net


def accuracy(net: lamina.nn.HiddenNet, X: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((net(X).argmax(1) == y).float().mean())


def compare(name: str, make_net: Callable[[], lamina.nn.HiddenNet], X: torch.Tensor,
            y: torch.Tensor, Xt: torch.Tensor, yt: torch.Tensor, epochs: int, batch: int,
            repeats: int, extra: Callable[[], float] | None = None) -> dict[str, Any]:
    """Engine vs torch loop (and ``extra``, e.g. sklearn), alternated repeat by repeat so that
    all of them see the same load; medians reported."""
    sizes = (X.shape[1], *[layer.spec.width for layer in make_net().hidden], int(y.max()) + 1)
    flops = epoch_flops(sizes, X.shape[0]) * epochs
    steps = epochs * -(-X.shape[0] // batch)
    probe = GemmProbe()
    t_eng, t_tor, t_ext, pct = [], [], [], []
    c_eng, c_tor, c_ext = [], [], []
    for _ in range(repeats):
        before = len(probe.samples)
        (spent, cpu), net_e = train_engine(make_net(), X, y, epochs, batch, 1e-3, probe)
        t_eng.append(spent)
        c_eng.append(cpu)
        pct.append(100 * flops / spent / 1e9 / statistics.median(probe.samples[before:]))
        t0, c0 = time.perf_counter(), time.process_time()
        net_t = train_torch(make_net(), X, y, epochs, batch, 1e-3)
        t_tor.append(time.perf_counter() - t0)
        c_tor.append(time.process_time() - c0)
        if extra is not None:
            t0, c0 = time.perf_counter(), time.process_time()
            extra()
            t_ext.append(time.perf_counter() - t0)
            c_ext.append(time.process_time() - c0)
    te, tt = statistics.median(t_eng), statistics.median(t_tor)
    print(f"[{name}] sizes={sizes} N={X.shape[0]} batch={batch} epochs={epochs} "
          f"steps={steps}; GEMM peak (median of bursts between epochs) {probe.peak:.1f} "
          "GFLOP/s")
    for label, t, c, net in (("lamina engine", te, statistics.median(c_eng), net_e),
                             ("torch autograd", tt, statistics.median(c_tor), net_t)):
        gf = flops / t / 1e9
        print(f"  {label:15s} {t:8.3f} s  {t / steps * 1e6:8.1f} us/step  {gf:7.1f} GFLOP/s "
              f"({100 * gf / probe.peak:5.1f} % of peak)  CPU {c / steps * 1e6:8.1f} us/step  "
              f"acc {accuracy(net, Xt, yt):.3f}")
    print("  engine % of peak per repeat (vs that repeat's bursts): "
          + ", ".join(f"{p:.1f}" for p in pct) + f"; median {statistics.median(pct):.1f} %")
    print(f"  speed-up engine vs torch loop: {tt / te:.2f}x  (per repeat: "
          + ", ".join(f"{b / a:.2f}" for a, b in zip(t_eng, t_tor)) + "; in CPU time "
          + f"{statistics.median(c_tor) / statistics.median(c_eng):.2f}x)")
    return {"engine_s": te, "torch_s": tt, "steps": steps, "t_eng": t_eng, "t_ext": t_ext,
            "c_eng": c_eng, "c_ext": c_ext, "engine_pct_peak": statistics.median(pct)}


def gemm_only_step(sizes: tuple[int, ...], batch: int) -> float:
    """Seconds for one step's GEMMs alone, in the engine's layouts (hidden layers (B, out),
    the head class-major (C, B)): forward, weight gradients, input gradients but the first."""
    L = len(sizes) - 1
    hs = [torch.rand(batch, s) for s in sizes[:-1]]
    Ws = [torch.randn(o, i) for i, o in zip(sizes[:-1], sizes[1:])]
    dWs = [torch.empty_like(w) for w in Ws]
    gz = [torch.randn(batch, o) for o in sizes[1:-1]] + [torch.randn(sizes[-1], batch)]
    outs = [torch.empty(batch, o) for o in sizes[1:-1]] + [torch.empty(sizes[-1], batch)]
    ins = [torch.empty(batch, i) for i in sizes[:-1]]

    def step() -> None:
        for i in range(L - 1):
            torch.mm(hs[i], Ws[i].t(), out=outs[i])
        torch.mm(Ws[-1], hs[-1].t(), out=outs[-1])
        torch.mm(gz[-1], hs[-1], out=dWs[-1])
        if L > 1:
            torch.mm(gz[-1].t(), Ws[-1], out=ins[-1])
        for i in range(L - 2, -1, -1):
            torch.mm(gz[i].t(), hs[i], out=dWs[i])
            if i:
                torch.mm(gz[i], Ws[i], out=ins[i])
    for _ in range(50):
        step()
    best = float("inf")
    for _ in range(7):
        t0 = time.perf_counter()
        for _ in range(200):
            step()
        best = min(best, (time.perf_counter() - t0) / 200)
    return best


def sklearn_digits(X: np.ndarray, y: np.ndarray, epochs: int) -> float:
    """Seconds for sklearn's MLPClassifier to run exactly ``epochs`` epochs (no early stop)."""
    from sklearn.neural_network import MLPClassifier

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        MLPClassifier((64,), batch_size=200, learning_rate_init=1e-3, max_iter=epochs,
                      tol=0.0, n_iter_no_change=epochs + 1, random_state=0).fit(X, y)
    return time.perf_counter() - t0


def population(X: torch.Tensor, y: torch.Tensor, epochs: int, repeats: int) -> None:
    P, sizes = 32, (X.shape[1], 64, 64, 10)
    lrs = np.logspace(-4, -1.5, P).tolist()

    def pop() -> torch.Tensor:
        eng = PopulationEngine(sizes, "relu", P, "cross_entropy", lr=lrs, seeds=list(range(P)))
        g = torch.Generator().manual_seed(0)
        for _ in range(epochs):
            losses = eng.train_epoch(X, y, 200, generator=g)
        return losses

    def sequential() -> list[float]:
        out = []
        for i in range(P):
            net = lamina.build(sizes[1:-1], sizes[0], sizes[-1], activation="relu", seed=i)
            eng = DenseEngine(net.dense_stack(), "cross_entropy", OptimizerSpec("adam", lr=lrs[i]))
            g = torch.Generator().manual_seed(0)
            for _ in range(epochs):
                stats = eng.train_epoch(X, y, 200, generator=g)
            out.append(stats.loss)
        return out
    t_pops, t_seqs = [], []
    for _ in range(repeats):                 # alternate, so both see the same load
        t_p, losses = median_time(pop, 1)
        t_s, seq_losses = median_time(sequential, 1)
        t_pops.append(t_p)
        t_seqs.append(t_s)
    t_pop, t_seq = statistics.median(t_pops), statistics.median(t_seqs)
    diff = float(np.max(np.abs(losses.numpy() - np.array(seq_losses))))
    print(f"[population] P={P} sizes={sizes} epochs={epochs} batch=200")
    print(f"  population engine   {t_pop:8.3f} s")
    print(f"  32 x DenseEngine    {t_seq:8.3f} s")
    print(f"  speed-up population vs sequential: {t_seq / t_pop:.2f}x  (per repeat: "
          + ", ".join(f"{b / a:.2f}" for a, b in zip(t_pops, t_seqs))
          + f"); max |final loss difference| {diff:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs (smoke run)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--only", choices=["mlp256", "digits", "population"], default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
        from threadpoolctl import threadpool_limits  # sklearn's BLAS gets the same count

        threadpool_limits(limits=args.threads)
    from sklearn.datasets import load_digits, make_classification
    from sklearn.model_selection import train_test_split

    print(f"torch {torch.__version__}, {torch.get_num_threads()} intra-op threads")
    if args.only in (None, "mlp256"):
        Xa, ya = make_classification(50_000, 100, n_informative=20, n_classes=10,
                                     random_state=0)
        Xtr, Xte, ytr, yte = train_test_split(Xa, ya, test_size=0.2, random_state=0)
        t = {k: torch.as_tensor(v) for k, v in (("Xtr", Xtr), ("Xte", Xte), ("ytr", ytr),
                                                ("yte", yte))}
        compare("mlp256", lambda: lamina.build((256, 256), 100, 10, seed=0),
                t["Xtr"].float(), t["ytr"], t["Xte"].float(), t["yte"],
                2 if args.quick else 10, 256, args.repeats)
    Xd, yd = load_digits(return_X_y=True)
    Xd = Xd / 16.0
    X, y = torch.as_tensor(Xd, dtype=torch.float32), torch.as_tensor(yd)
    epochs = 40 if args.quick else 200
    if args.only in (None, "digits"):
        res = compare("digits", lambda: lamina.build((64,), 64, 10, seed=0), X, y, X, y,
                      epochs, 200, args.repeats, lambda: sklearn_digits(Xd, yd, epochs))
        steps = res["steps"]
        t_sk, c_sk = statistics.median(res["t_ext"]), statistics.median(res["c_ext"])
        c_eng = statistics.median(res["c_eng"])
        gemm = gemm_only_step((64, 64, 10), 200)
        step_us = res["engine_s"] / steps * 1e6
        print(f"  sklearn MLPClassifier {t_sk:8.3f} s  {t_sk / steps * 1e6:8.1f} us/step  "
              f"CPU {c_sk / steps * 1e6:8.1f} us/step")
        print(f"  speed-up engine vs sklearn: {t_sk / res['engine_s']:.2f}x  (per repeat: "
              + ", ".join(f"{b / a:.2f}" for a, b in zip(res["t_eng"], res["t_ext"]))
              + f"; in CPU time {c_sk / c_eng:.2f}x)")
        print(f"  engine step {step_us:.1f} us = GEMMs alone {gemm * 1e6:.1f} us + the rest "
              f"{step_us - gemm * 1e6:.1f} us (elementwise kernels, optimizer, dispatch)")
    if args.only in (None, "population"):
        population(X, y, 20 if args.quick else 100, args.repeats)


if __name__ == "__main__":
    main()
