"""Core training benchmark (issue: lamina core). One process, same data, same architecture.

Large case: make_classification 50 000 x 100, 10 classes, 20 % hold-out, (256, 256) relu,
Adam 1e-3, batch 256, exactly 10 epochs:
  lamina MLPClassifier (float32) | sklearn MLPClassifier float64 and float32 |
  an idiomatic PyTorch loop with a DataLoader.
Small case: sklearn digits, (64,), 200 epochs, lamina vs sklearn; and, as a bound, lamina with the
step's statistics (loss value, norms) removed: how fast the fit would be if they cost nothing.
Latency: batch-1 predict_proba of the (256, 256) model, lamina vs sklearn.
Also measures the float32 GEMM peak (torch.mm 1024^3) in the same run.

Methods are timed in interleaved rounds (each method once per round, the GEMM peak at the start
of each round), and ratios are medians of per-round ratios: a shared machine's slow spells hit
every method alike.

Run: .venv/bin/python bench/train_mlp.py [--repeats 3] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import statistics
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLP

import lamina

warnings.filterwarnings("ignore", category=ConvergenceWarning)


def gemm_peak_gflops(n: int = 1024, repeats: int = 20) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        torch.mm(a, b)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t)
    return 2 * n**3 / min(times) / 1e9   # peak: the best of the repeats


def mlp_flops(sizes: list[int], n_samples: int, epochs: int) -> float:
    """Useful FLOPs of training: forward + weight gradients + input gradients past layer 1."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    fwd = sum(2 * i * o for i, o in pairs)
    dx = sum(2 * i * o for i, o in pairs[1:])
    return float((2 * fwd + dx) * n_samples * epochs)


COOLDOWN = 0.0   # seconds of idle before each timed call (--cooldown)


def rounds(fns: list[Callable[[], Any]], repeats: int, peak: bool = False
           ) -> tuple[list[list[float]], list[Any], list[float]]:
    """Time every function once per round, ``repeats`` rounds (interleaved, so a slow spell of
    a shared machine hits every method alike); returns per-function times per round, the last
    results, and (``peak=True``) the GEMM peak measured at the start of each round."""
    times: list[list[float]] = [[] for _ in fns]
    results: list[Any] = [None] * len(fns)
    peaks: list[float] = []
    for _ in range(repeats):
        if peak:
            peaks.append(gemm_peak_gflops())
        for i, fn in enumerate(fns):
            if COOLDOWN:
                time.sleep(COOLDOWN)
            t = time.perf_counter()
            results[i] = fn()
            times[i].append(time.perf_counter() - t)
    return times, results, peaks


@contextlib.contextmanager
def no_step_statistics() -> Iterator[None]:
    """A bound, not a mode of lamina: the explicit engine's step without the calls that only
    compute statistics (the loss value's dot product, the per-layer gradient norms and the L2
    term's weight norms). The weight updates are unchanged; the reported loss is then 0. Shows
    how fast the digits fit could be if those statistics cost nothing."""
    import lamina.engine._dense as dense

    original = dense.dense_program
    drop = {torch.linalg.vector_norm, torch.dot}

    def stripped(*args: Any, **kwargs: Any) -> Any:
        prog = original(*args, **kwargs)
        prog.calls[:] = [c for c in prog.calls if c[0] not in drop]
        return prog

    dense.dense_program = stripped
    try:
        yield
    finally:
        dense.dense_program = original


def median_ratio(num: list[float], den: list[float]) -> float:
    """The median over rounds of ``num[r] / den[r]`` (a ratio within one round is robust to the
    machine's speed changing between rounds)."""
    return statistics.median(a / b for a, b in zip(num, den))


def torch_loop(X: np.ndarray, y: np.ndarray, Xte: np.ndarray, yte: np.ndarray, epochs: int,
               seed: int = 0) -> float:
    """The PyTorch tutorial way: TensorDataset + DataLoader + nn.Sequential + Adam."""
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    ds = torch.utils.data.TensorDataset(torch.tensor(X, dtype=torch.float32), torch.tensor(y))
    loader = torch.utils.data.DataLoader(ds, batch_size=256, shuffle=True)
    loss_fn = torch.nn.CrossEntropyLoss()
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
    with torch.no_grad():
        pred = model(torch.tensor(Xte, dtype=torch.float32)).argmax(1).numpy()
    return float((pred == yte).mean())


def latency(predict: Callable[[np.ndarray], Any], X: np.ndarray, n: int = 2000) -> tuple[float, float]:
    rows = [X[i:i + 1] for i in range(min(n, len(X)))]
    for r in rows[:50]:
        predict(r)
    times = []
    for r in rows:
        t = time.perf_counter()
        predict(r)
        times.append(time.perf_counter() - t)
    arr = np.array(times) * 1e6
    return float(np.median(arr)), float(np.percentile(arr, 99))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="smaller data, for a smoke run")
    ap.add_argument("--json", default=None, help="also write the results as JSON here")
    ap.add_argument("--cooldown", type=float, default=0.0,
                    help="seconds of idle before each timed call: on a host that throttles "
                         "sustained load, every method then starts from the same state")
    args = ap.parse_args()
    global COOLDOWN
    COOLDOWN = args.cooldown
    R = args.repeats
    n = 10_000 if args.quick else 50_000
    out: dict[str, Any] = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                           "machine": f"{platform.machine()}, {torch.get_num_threads()} torch "
                                      f"threads, torch {torch.__version__}",
                           "repeats": R, "cooldown_s": args.cooldown}

    # ------------------------------------------------------------ large case
    X, y = make_classification(n_samples=n, n_features=100, n_informative=40, n_classes=10,
                               random_state=0)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0)
    Xtr32, Xte32 = Xtr.astype(np.float32), Xte.astype(np.float32)
    epochs = 10
    kw = {"hidden_layer_sizes": (256, 256), "solver": "adam", "learning_rate_init": 1e-3,
          "batch_size": 256, "max_iter": epochs, "n_iter_no_change": epochs + 1, "tol": 0.0,
          "random_state": 0}
    flops = mlp_flops([100, 256, 256, 10], len(Xtr), epochs)
    rows = []

    def run_lamina() -> float:
        clf = lamina.MLPClassifier(**kw).fit(Xtr32, ytr)
        assert clf.n_iter_ == epochs and clf.engine_ == "explicit", (clf.n_iter_, clf.engine_)
        return float(clf.score(Xte32, yte))

    def run_sk(X_: np.ndarray, Xt: np.ndarray) -> Callable[[], float]:
        return lambda: float(SkMLP(**kw).fit(X_, ytr).score(Xt, yte))

    cases = [("lamina MLPClassifier (float32)", run_lamina),
             ("sklearn MLPClassifier float64", run_sk(Xtr, Xte)),
             ("sklearn MLPClassifier float32", run_sk(Xtr32, Xte32)),
             ("PyTorch loop + DataLoader (float32)", lambda: torch_loop(Xtr32, ytr, Xte32, yte,
                                                                         epochs))]
    times, accs, peaks = rounds([fn for _, fn in cases], R, peak=True)
    peak = statistics.median(peaks)
    out["gemm_peak_gflops"] = peak
    out["gemm_peak_gflops_rounds"] = peaks
    print(f"float32 GEMM peak (torch.mm 1024^3, best of 20, at the start of each of {R} "
          f"rounds): median {peak:.1f} GFLOP/s (rounds: "
          + ", ".join(f"{p:.0f}" for p in peaks) + ")")
    for (name, _), ts, acc in zip(cases, times, accs):
        sec = statistics.median(ts)
        gflops = flops / sec / 1e9
        # % of the peak measured in the same round, median over rounds
        pct = statistics.median(100 * flops / t / 1e9 / p for t, p in zip(ts, peaks))
        rows.append({"method": name, "seconds": sec, "accuracy": acc, "gflops": gflops,
                     "pct_peak": pct, "seconds_rounds": ts})
        print(f"  {name:40s} {sec:7.2f} s  acc {acc:.4f}  {gflops:6.1f} GFLOP/s "
              f"({pct:5.1f} % of peak)")
    lam, sk64 = rows[0], rows[1]
    out["large"] = rows
    out["large_speedup_vs_sklearn64"] = median_ratio(times[1], times[0])
    out["large_speedup_vs_torch_loop"] = median_ratio(times[3], times[0])
    out["large_acc_gap_points"] = 100 * (lam["accuracy"] - sk64["accuracy"])
    print(f"  -> lamina {out['large_speedup_vs_sklearn64']:.2f}x faster than sklearn float64, "
          f"{out['large_speedup_vs_torch_loop']:.2f}x the PyTorch loop; "
          f"{lam['pct_peak']:.1f} % of GEMM peak; accuracy gap "
          f"{out['large_acc_gap_points']:+.2f} points")

    # ------------------------------------------------------------ latency
    lam_clf = lamina.MLPClassifier(**kw).fit(Xtr32, ytr)
    sk_clf = SkMLP(**kw).fit(Xtr, ytr)
    l_med, l_p99 = latency(lam_clf.predict_proba, Xte32)
    s_med, s_p99 = latency(sk_clf.predict_proba, Xte)
    out["latency_us"] = {"lamina": [l_med, l_p99], "sklearn": [s_med, s_p99]}
    print(f"batch-1 predict_proba: lamina median {l_med:.0f} us p99 {l_p99:.0f} us | sklearn "
          f"median {s_med:.0f} us p99 {s_p99:.0f} us | ratio sklearn/lamina "
          f"{s_med / l_med:.2f}x")

    # ------------------------------------------------------------ small case
    Xd, yd = load_digits(return_X_y=True)
    Xd = Xd / 16.0
    dtr, dte, ydtr, ydte = train_test_split(Xd, yd, test_size=0.25, random_state=0)
    skw = {"hidden_layer_sizes": (64,), "max_iter": 200, "n_iter_no_change": 201, "tol": 0.0,
           "random_state": 0}

    def small_lamina() -> float:
        clf = lamina.MLPClassifier(**skw).fit(dtr, ydtr)
        assert clf.n_iter_ == 200
        return float(clf.score(dte, ydte))

    def small_bound() -> float:
        with no_step_statistics():
            return small_lamina()

    (lt, st, bt), (la, sa, ba), _ = rounds(
        [small_lamina, lambda: float(SkMLP(**skw).fit(dtr, ydtr).score(dte, ydte)),
         small_bound], max(R, 5))
    ls, ss, bs = statistics.median(lt), statistics.median(st), statistics.median(bt)
    speedup, bound = median_ratio(st, lt), median_ratio(st, bt)
    out["small"] = {"lamina_s": ls, "lamina_acc": la, "sklearn_s": ss, "sklearn_acc": sa,
                    "speedup": speedup, "no_stats_s": bs, "no_stats_acc": ba,
                    "no_stats_speedup": bound}
    print(f"digits (64,), 200 epochs: lamina {ls:.2f} s acc {la:.4f} | sklearn {ss:.2f} s acc "
          f"{sa:.4f} | lamina {speedup:.2f}x faster (median of per-round ratios)")
    print(f"  bound: the same engine with no per-step statistics (no loss value, no norms) "
          f"{bs:.3f} s acc {ba:.4f} = {bound:.2f}x sklearn")
    import os

    out["note"] = (f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the "
                   "end of the run")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
