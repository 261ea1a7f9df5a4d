"""Assemble docs/benchmarks.md from the core results (bench/results/train_mlp.json, written by
``bench/train_mlp.py --json``) and the per-area records in docs/benchmarks/*.md.

Run: .venv/bin/python bench/merge_docs.py
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AREAS = ["engine", "inspection", "search", "datasets", "recipes_a", "recipes_b"]


def core_section() -> str:
    """One block per recorded run, newest first: the later 2026-12-05 EPYC runs, the earlier
    ones of that day, train_mlp_2026-12-04.json (Intel Xeon, default threads), then the AMD EPYC
    runs train_mlp.json (default threads) and train_mlp_1thread.json (one thread for every
    library)."""
    lines = ["## Core: training an MLP (`bench/train_mlp.py`)", ""]
    names = ("train_mlp_2026-12-05_epyc.json", "train_mlp_2026-12-05_epyc_cooldown.json",
             "train_mlp_2026-12-04.json", "train_mlp.json", "train_mlp_1thread.json",
             "train_mlp_2026-12-05b_epyc.json", "train_mlp_2026-12-05c_epyc.json",
             "train_mlp_2026-12-05d_epyc.json", "train_mlp_2026-12-05e_epyc.json",
             "train_mlp_2026-12-05f_epyc.json")
    order = names[9:] + names[7:9] + names[5:7] + names[:5]    # the newest runs first
    runs = [ROOT / "bench" / "results" / name for name in order]
    runs = [p for p in runs if p.is_file()]
    if not runs:
        return "\n".join(lines + ["No recorded run yet: `python bench/train_mlp.py --json "
                                  "bench/results/train_mlp.json`.", ""])
    for path in runs:
        lines += _core_run(json.loads(path.read_text()), path.name)
        if path.name == names[9]:
            lines += [
                "Reading the run of 08:56 UTC (same machine, fast state in every round: lamina "
                "1.72, 1.61, 1.57, 1.58, 1.62 s; sklearn float64 5.09, 4.88, 4.85, 6.37, "
                "5.11 s). The MLP estimators now initialise their output layer as sklearn "
                "does (Glorot uniform, weights and biases; before, torch's `nn.Linear` "
                "default): the accuracy gaps to sklearn narrow to **+0.13** points (large, "
                "0.9017 vs 0.9004) and **−0.22** (digits, 0.9711 vs 0.9733; it was −0.89). "
                "lamina is **3.09×** sklearn float64 at **62.6 %** of the GEMM peak (both "
                "met in this fast-state run); digits **2.64×**, bound without per-step "
                "statistics **3.17×** (4× not met, as above). The p99 latency of 361 µs is "
                "one noisy tail (medians 36 µs against sklearn's 108 µs).", ""]
        if path.name == names[8]:
            lines += [
                "Reading the two runs of 08:17 and 08:19 UTC (same 2-core AMD EPYC, quiet; the "
                "engine now trains flat master weights, so its fused Adam is one call over one "
                "tensor: ~25 µs a step of the (256, 256) network against ~57 µs over six "
                "tensors, 1-5 % of the fit in in-process A/B runs of the engine alone, whose "
                "Adam float32 weights were equal to the bit; for SGD with momentum and half "
                "precision, torch's CPU kernels round a tensor's last partial vector apart from "
                "the rest, so the new layout moves 1-ulp differences). Per round, lamina took "
                "1.75, 1.58, 1.57, 1.61, 2.66 s "
                "and 1.71, 2.69, 2.66, 2.59, 2.62 s; sklearn float64 5.02, 4.83, 5.01, 5.52, "
                "7.75 s and 5.08, 5.37, 7.58, 7.75, 7.84 s: the first run was mostly in the "
                "machine's fast state, the second mostly in its slow one. lamina is **3.06×** "
                "and **2.97×** sklearn float64 (target 3×: **at the edge**, as at 03:56/03:59), "
                "**62.5 %** and **40.3 %** of the GEMM peak (target 60 %: met in the fast "
                "state only), within 1 point of sklearn's accuracy (met). Digits is **2.79×** "
                "/ **2.75×** (target 4×, **not met**). The new bound line answers whether "
                "per-step bookkeeping is what stands in the way: the same engine with the "
                "loss value, the per-layer gradient norms and the L2 term's weight norms "
                "removed from every step (the weight updates unchanged, same accuracy 0.9644) "
                "reaches only **3.16×** / **3.13×** (0.155-0.157 s; 4× needs ~0.12 s). "
                "What remains is the step's own kernels: five GEMMs at 85-90 % of this "
                "core's peak for the 200×64×64 shapes (18-22 µs each) and 40-50 % for the "
                "10-wide head (5-7 µs each), the softmax gradient, ReLU backward, two bias "
                "sums and a fused Adam over 4 810 numbers, each torch call costing 2-4 µs on "
                "tensors of a few thousand elements. 4× is not reachable on this machine with "
                "eager torch kernels; on the Intel Xeon of 2026-12-04 the same engine gave "
                "3.33-3.56×.", ""]
        if path.name == names[6]:
            lines += [
                "Reading the two later 2026-12-05 runs (03:56 and 03:59 UTC, same 2-core AMD "
                "EPYC, quiet, code of this session's last commits; the engine changed only "
                "for half-precision SGD): per round, lamina took 2.75, 2.66, 1.61, 1.57, "
                "1.60 s and 1.71, 1.60, 1.59, 1.57, 1.58 s, sklearn float64 7.97, 7.74, 4.82, "
                "4.88, 4.81 s and 4.91, 4.83, 4.89, 4.80, 4.85 s (the first run's first two "
                "rounds in the slow state, all others fast). lamina is **2.99×** and "
                "**3.05×** sklearn float64 (target 3×: **at the edge**, met in one run of "
                "two), reaches **61.9 %** and **62.7 %** of the GEMM peak (target 60 %: "
                "**met** in both, medians over rounds), is within 1 point of sklearn's "
                "accuracy (met), and digits is **2.75×** / **2.80×** (target 4×, **not met**). "
                "In runs where most rounds are slow (below) the same engine gives "
                "~39 % and ~2.9×.", ""]
        if path.name == names[1]:
            lines += [
                "Reading the two 2026-12-05 runs (2-core AMD EPYC, quiet; the benchmark now "
                "times the methods in interleaved rounds, the GEMM peak at the start of each "
                "round, and reports medians of per-round ratios): lamina is **2.91×** and "
                "**2.97×** sklearn float64 (target 3×, **not met** in either, by 1-3 %), "
                "**38.7 %** / **39.1 %** of the GEMM peak (target 60 %, **not met**), within 1 "
                "point of sklearn's accuracy (met), and digits **2.80×** / **2.81×** (target 4×, "
                "not met). This machine runs in two speeds that switch between rounds: "
                "per round, lamina took 1.72, 2.64, 2.64, 1.56, 2.58 s and sklearn float64 "
                "4.96, 7.69, 7.85, 4.74, 7.51 s (first run), i.e. ~1.6× slower in the slow "
                "state for both (a hypervisor placing the two vCPUs on one physical core would "
                "do this; not verified), while the short 1024³ GEMM bursts at the start of each "
                "round read 197-208 GFLOP/s every time. The per-round ratios are therefore "
                "stable (2.88-3.04×), but % of peak is not: in the fast rounds lamina's fit "
                "runs at ~60-64 % of the burst peak (1.56-1.72 s), in the slow ones at ~38 %. "
                "An 8 s idle before each timed call (second run) did not change the pattern, "
                "and CPU affinity was checked (every thread may use both cores). The first run "
                "today, before the benchmark interleaved its methods, gave 1.67 s / 59.0 % / "
                "2.88×.", ""]
        if path.name == names[2]:
            lines += [
                "Reading this run (Intel Xeon, 2026-12-04, 22:42 UTC): lamina is 4.34× sklearn "
                "float64 and within 1 point of its accuracy (both met), but reaches **48.6 %** "
                "of this machine's GEMM peak (target 60 %, **not met**) and digits is **3.33×** "
                "(target 4×, not met). The peak here (345 GFLOP/s on 2 threads this run, "
                "AVX-512) is 1.8× the AMD EPYC's below, and the bound is the GEMMs themselves: a "
                "torch profile of the fit puts the step's GEMMs at ~645 µs of ~885 µs, i.e. "
                "130.6 MFLOP per step at ~200 GFLOP/s = 62 % of the 1024³ peak *if every "
                "non-GEMM cost were zero* (the 256×100 input layer runs at ~145-167 GFLOP/s, the "
                "256×256 ones at 216-250; alone in a loop the same shapes reach 80-96 %). The "
                "rest of the step — fused Adam 58 µs, the L2 term's copies of W into dW 34 µs, "
                "ReLU backward 19 µs, bias gradients 17 µs, per-layer norms 29 µs, loss ~15 µs "
                "— would have to vanish to reach 60 %. Digits: a 4 MFLOP step now trains on one "
                "thread (`ONE_THREAD_STEP_FLOPS`, `bench/engine_threads.py`: 1.20× faster than "
                "two at this size); the earlier run of the same day (20:03 UTC, before that "
                "change) measured 4.45× / 46.0 % / digits 3.29×, and repeated in-process timings give 3.4-3.56× (lamina 0.135-0.140 s, "
                "sklearn 0.46-0.50 s). Timed call by call inside an epoch, the one-thread step "
                "is ~90 µs: GEMMs 43 µs (the 200×64×64 forward and weight-gradient GEMMs 16 and "
                "13 µs at MKL's small-matrix speed), loss 9, norms 8.5, fused Adam 8, batch "
                "bookkeeping 9; 4× needs ~81 µs all-in. The per-call analysis under the EPYC "
                "runs below still holds.", ""]
    lines += [
        "Reading the two EPYC runs: with default threads — how users run both libraries — "
        "lamina met the large-case targets (≥ 3× sklearn float64, ≥ 60 % of the same-thread "
        "GEMM peak, accuracy within 1 point). With one thread for everything it reaches 73 % "
        "of the one-thread peak but 2.7× sklearn float64: sklearn float64 runs its GEMMs at "
        "about half the float32 rate and its per-batch Python costs little next to 256-wide "
        "GEMMs, so 3× would need lamina's whole step at ~80 % of the 1024³ peak while its own "
        "256-wide GEMMs run at 82-88 % of it (`bench/engine_population.py` times every call). "
        "The digits case (≥ 4×) is not met in either: lamina's step is 168 µs against "
        "sklearn's 562 µs, and of those 168 µs the GEMMs are 70 µs at MKL's small-matrix speed "
        "and the rest is ~17 kernel launches (~1.5-5 µs each through torch's dispatcher), the "
        "fused Adam step and the per-step statistics; 4× needs ≤ 134 µs per step including "
        "the fit's fixed costs.",
        "",
        "An earlier run (17:56 UTC, load average 5-9 from other jobs, one thread) measured "
        "2.71× / 59.3 % / digits 2.86×; under that load every library slowed 4-5×.", ""]
    return "\n".join(lines)


def _core_run(r: dict, name: str) -> list[str]:
    cmd = r.get("command", f".venv/bin/python bench/train_mlp.py --repeats {r['repeats']} "
                           f"--json bench/results/{name}")
    lines = [f"### `bench/results/{name}`", ""]
    lines += [f"Command: `{cmd}` — {r['date']} — {r['machine']}"
              + (f" — {r['note']}" if r.get("note") else ""), "",
              f"float32 GEMM peak measured in the same run: **{r['gemm_peak_gflops']:.1f} "
              "GFLOP/s** (torch.mm 1024³, best of 20).", "",
              "make_classification 50 000 × 100, 10 classes, 20 % hold-out, (256, 256) relu, "
              "Adam 1e-3, batch 256, exactly 10 epochs (median of repeats):", "",
              "| method | seconds | test accuracy | GFLOP/s | % of GEMM peak |",
              "|---|---|---|---|---|"]
    for row in r["large"]:
        lines.append(f"| {row['method']} | {row['seconds']:.2f} | {row['accuracy']:.4f} | "
                     f"{row['gflops']:.1f} | {row['pct_peak']:.1f} |")
    s = r["small"]
    lat = r["latency_us"]
    lines += ["", f"- lamina is **{r['large_speedup_vs_sklearn64']:.2f}×** faster than sklearn "
              f"float64 (target ≥ 3×), {r['large_speedup_vs_torch_loop']:.2f}× the PyTorch "
              f"DataLoader loop; accuracy gap {r['large_acc_gap_points']:+.2f} points (target "
              "within 1).",
              f"- digits, (64,), 200 epochs: lamina {s['lamina_s']:.2f} s (acc {s['lamina_acc']:.4f})"
              f" vs sklearn {s['sklearn_s']:.2f} s (acc {s['sklearn_acc']:.4f}): "
              f"**{s['speedup']:.2f}×** (target ≥ 4×)."
              + (f" Bound: the same engine without per-step statistics {s['no_stats_s']:.3f} s"
                 f" (acc {s['no_stats_acc']:.4f}) = {s['no_stats_speedup']:.2f}×."
                 if "no_stats_speedup" in s else ""),
              f"- batch-1 `predict_proba`, (256, 256) model: lamina median {lat['lamina'][0]:.0f} µs"
              f" / p99 {lat['lamina'][1]:.0f} µs; sklearn median {lat['sklearn'][0]:.0f} µs / p99 "
              f"{lat['sklearn'][1]:.0f} µs.", ""]
    return lines


def main() -> None:
    parts = ["# Benchmarks", "",
             "Every speed or accuracy claim lamina makes, with the command that measures it, "
             "the date and the machine. Scripts live in `bench/` and run the competitor in the "
             "same process (ratios, medians of repeats). The development machines are 2-core "
             "x86_64 CPUs (an AMD EPYC until 2026-11-23, an Intel Xeon with AVX-512 since "
             "2026-12-04), sometimes shared with other work: absolute times vary run to run and "
             "machine to machine; the ratios are the claim, and each record names its "
             "machine. Per-area records are kept in `docs/benchmarks/` and copied below by "
             "`bench/merge_docs.py`.", "", core_section()]
    for area in AREAS:
        path = ROOT / "docs" / "benchmarks" / f"{area}.md"
        if path.is_file():
            text = path.read_text().strip()
            # demote the area's headings one level under this page's title
            text = "\n".join("#" + line if line.startswith("#") else line
                             for line in text.splitlines())
            parts += [text, ""]
    (ROOT / "docs" / "benchmarks.md").write_text("\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
