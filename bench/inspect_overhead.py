"""Cost of lamina.inspect and of batched ablation, against bare forward passes (same process).

1. overhead: inspecting all hidden layers of a (512, 512, 512) MLP over 200 000 rows vs a bare
   forward pass over the same rows (same batches, inference mode). Target ratio <= 1.25.
2. memory: peak RSS growth of inspect over 1 000 000 rows vs 10 000 rows (and 100 000 rows,
   to show where RSS levels off), each in a fresh process (median of --mem-repeats), the rows
   streamed from a generator; growth = peak RSS during the inspection minus the RSS before it
   (model built, libraries imported; a 4 096-row warm-up inspection follows). Target: 10 %.
3. ablation: every unit of a 256-unit layer on 10 000 rows, in forward passes' time (the bare
   forward over the same 10 000 rows). Target <= 20.

Timings repeat (>= 3, interleaved) and report medians and ratios; machine noise is common.

    python bench/inspect_overhead.py [--quick] [--threads N] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

import lamina
from lamina.inspection import inspect


def _bare(net: torch.nn.Module, X: np.ndarray, batch: int) -> None:
    net.eval()
    with torch.inference_mode():
        for s in range(0, len(X), batch):
            net(torch.as_tensor(X[s:s + batch]))


def _timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def overhead(rows: int, repeats: int, d_in: int = 512) -> dict[str, float]:
    net = lamina.build((512, 512, 512), in_features=d_in, out=10, seed=0)
    X = np.random.default_rng(0).normal(size=(rows, d_in)).astype(np.float32)
    _bare(net, X[:4096], 1024)
    inspect(net, X[:4096])
    walls, cpus = [], []
    for _ in range(repeats):
        b_wall, b_cpu = _timed(lambda: _bare(net, X, 1024))
        i_wall, i_cpu = _timed(lambda: inspect(net, X, batch_size=1024))
        walls.append(i_wall / b_wall)
        cpus.append(i_cpu / b_cpu)
        print(f"  bare {b_wall:6.2f} s  inspect {i_wall:6.2f} s  ratio {i_wall / b_wall:.3f} "
              f"(cpu-time ratio {i_cpu / b_cpu:.3f})", flush=True)
    return {"rows": rows, "wall_ratio_median": statistics.median(walls),
            "cpu_ratio_median": statistics.median(cpus), "wall_ratios": walls}


_CHILD = r"""
import ctypes, json, sys, threading, time
import numpy as np, torch, lamina
from lamina.inspection import inspect
torch.set_num_threads(int(sys.argv[2]))
rows = int(sys.argv[1])
net = lamina.build((512, 512, 512), in_features=512, out=10, seed=0)

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]
try:
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    def in_use():                          # bytes the program holds (heap + mmapped chunks)
        info = libc.mallinfo2()
        return info.uordblks + info.hblkhd
except (OSError, AttributeError):
    def in_use():
        return 0

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096

base, base_used = rss(), in_use()         # model built, libraries imported, nothing inspected

def batches(n, seed=0):
    rng = np.random.default_rng(seed)
    for s in range(0, n, 1024):
        yield rng.standard_normal((min(1024, n - s), 512), dtype=np.float32)

inspect(net, batches(4096, 1))            # warm up: lazy imports, allocator pools
peak, peak_used = [rss()], [in_use()]
stop = threading.Event()
def watch():
    while not stop.is_set():
        peak[0] = max(peak[0], rss())
        peak_used[0] = max(peak_used[0], in_use())
        time.sleep(0.002)
t = threading.Thread(target=watch); t.start()
ins = inspect(net, batches(rows))
stop.set(); t.join()
peak[0] = max(peak[0], rss())
print(json.dumps({"rows": ins.n_rows, "base": base, "peak": peak[0],
                  "growth": peak[0] - base, "heap_growth": peak_used[0] - base_used}))
"""


def memory(sizes: list[int], threads: int) -> list[dict[str, int]]:
    out = []
    for rows in sizes:
        res = subprocess.run([sys.executable, "-c", _CHILD, str(rows), str(threads)],
                             capture_output=True, text=True, check=True)
        info = json.loads(res.stdout.strip().splitlines()[-1])
        print(f"  {rows:>9,} rows: RSS {info['base'] / 2**20:7.1f} MiB -> peak "
              f"{info['peak'] / 2**20:7.1f} MiB, growth {info['growth'] / 2**20:6.1f} MiB; "
              f"memory in use (malloc) grew {info['heap_growth'] / 2**20:6.1f} MiB", flush=True)
        out.append(info)
    return out


def ablation(repeats: int) -> list[dict[str, float]]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10_000, 784)).astype(np.float32)
    y = rng.integers(0, 10, size=10_000)
    results = []
    cases: list[tuple[str, torch.nn.Module, str]] = [
        (f"MLP {spec}", lamina.build(spec, in_features=784, out=10, seed=0), layer)
        for spec, layer in (((256,), "hidden.0"), ((256, 256), "hidden.1"),
                            ((256, 256), "hidden.0"))]
    torch.manual_seed(0)
    seq = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, 10))
    cases += [("torch nn.Sequential (256, 256)", seq, "3"),
              ("torch nn.Sequential (256, 256)", seq, "1")]
    for label, net, layer in cases:
        ins = inspect(net, X[:2000], y[:2000])
        ins.ablate(X[:1000], y[:1000], layers=[layer])          # warm up
        ratios = []
        for _ in range(repeats):
            fwd, _ = _timed(lambda net=net: _bare(net, X, 1024))
            abl, _ = _timed(lambda ins=ins, layer=layer: ins.ablate(X, y, layers=[layer],
                                                                    batch_size=1024))
            ratios.append(abl / fwd)
        med = statistics.median(ratios)
        print(f"  {label}, ablate all 256 units of {layer}: {med:.1f} forward passes "
              f"(runs: {', '.join(f'{r:.1f}' for r in ratios)})", flush=True)
        results.append({"model": label, "layer": layer, "forward_passes_median": med})
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--only", choices=["overhead", "memory", "ablation"], default=None)
    parser.add_argument("--repeats", type=int, default=3,
                        help="interleaved bare/inspect rounds for the overhead ratio (median)")
    parser.add_argument("--mem-repeats", type=int, default=3,
                        help="fresh processes per size for the memory figure (median)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), {os.cpu_count()} CPU(s)")
    report: dict[str, object] = {"threads": args.threads}
    if args.only in (None, "overhead"):
        rows = 20_000 if args.quick else 200_000
        print(f"[1] inspect overhead, (512, 512, 512) MLP, {rows:,} rows:")
        res = overhead(rows, max(1, args.repeats))
        print(f"    median ratio {res['wall_ratio_median']:.3f} (target <= 1.25), "
              f"cpu-time ratio {res['cpu_ratio_median']:.3f}")
        report["overhead"] = res
    if args.only in (None, "memory"):
        sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
        print(f"[2] peak RSS growth by rows, {args.mem_repeats} fresh process(es) per size:")
        runs = [memory(sizes, args.threads) for _ in range(args.mem_repeats)]
        med = {n: {k: statistics.median(run[i][k] for run in runs)
                   for k in ("growth", "heap_growth")} for i, n in enumerate(sizes)}
        small, large = med[sizes[0]], med[sizes[-1]]
        change = (large["growth"] - small["growth"]) / max(small["growth"], 1)
        used = (large["heap_growth"] - small["heap_growth"]) / max(small["heap_growth"], 1)
        for n in sizes:
            print(f"    median over processes, {n:>9,} rows: RSS growth "
                  f"{med[n]['growth'] / 2**20:6.1f} MiB, in use {med[n]['heap_growth'] / 2**20:6.1f}"
                  " MiB", flush=True)
        print(f"    RSS growth change {sizes[0]:,} -> {sizes[-1]:,} rows {100 * change:+.1f} % "
              f"(target within +-10 %); in-use memory growth change {100 * used:+.1f} %")
        report["memory"] = {"runs": runs, "medians": {str(n): v for n, v in med.items()},
                            "change": change, "in_use_change": used}
    if args.only in (None, "ablation"):
        print("[3] ablation of a 256-unit layer on 10,000 rows, in forward passes' time:")
        report["ablation"] = ablation(3)
    print(json.dumps(report, default=float))


if __name__ == "__main__":
    main()
