"""Search benchmark (issue 5): lamina.search vs Optuna one-model-per-trial vs sklearn halving.

Data: Fashion-MNIST from the Debian package (/usr/share/datasets/fashion-mnist), 20 000 train /
10 000 validation rows drawn from its training file with a fixed seed (digits if the files are
absent; the output says so). Every method gets the same wall-clock budget, the same space
(sklearn lacks gelu/silu and dropout: its space drops them) and the same top fidelity (9 epochs):

  (a) lamina.search: TPE ask/tell, populations, successive halving (rungs 1/9, 1/3, 1, 3, 9
      epochs by default; --min-epochs);
  (b) Optuna TPE + MedianPruner, one idiomatic PyTorch model per trial (DataLoader, Adam,
      validation accuracy reported every epoch, as in Optuna's pytorch_simple example);
  (c) sklearn HalvingRandomSearchCV over sklearn's MLPClassifier, resource = max_iter
      (1, 3, 9 epochs), n_candidates sized to the budget by a timed probe.

Measured: configurations trained per minute (trials that trained and were scored, pruned
included), best validation accuracy among full-fidelity configurations, lamina's per-trial
bookkeeping (and sampler) milliseconds. Repeated with different seeds; medians and ratios.

Run: .venv/bin/python bench/search_vs_tuners.py [--budget 2m] [--repeats 3] [--threads 1]
     [--postgres postgresql://user@host:port/db] [--overhead-only]
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import platform
import statistics
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

FMNIST = Path("/usr/share/datasets/fashion-mnist")
ACTIVATIONS = {"relu": torch.nn.ReLU, "gelu": torch.nn.GELU, "tanh": torch.nn.Tanh,
               "silu": torch.nn.SiLU}
MAX_EPOCHS = 9
MIN_EPOCHS = 1 / 9         # lamina's first rung; --min-epochs changes it


def load_data(seed: int = 0) -> tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """20 000 train + 10 000 validation rows of Fashion-MNIST (or digits, 75/25)."""
    rng = np.random.default_rng(seed)
    images, labels = FMNIST / "train-images-idx3-ubyte.gz", FMNIST / "train-labels-idx1-ubyte.gz"
    if images.exists() and labels.exists():
        X = np.frombuffer(gzip.open(images).read(), np.uint8, offset=16).reshape(-1, 784)
        y = np.frombuffer(gzip.open(labels).read(), np.uint8, offset=8).astype(np.int64)
        idx = rng.permutation(len(X))[:30_000]
        X = (X[idx] / 255.0).astype(np.float32)
        return "Fashion-MNIST", X[:20_000], y[idx][:20_000], X[20_000:], y[idx][20_000:]
    from sklearn.datasets import load_digits

    print("Fashion-MNIST files not found: falling back to sklearn's digits (75/25 split)")
    X, y = load_digits(return_X_y=True)
    idx = rng.permutation(len(X))
    X, y = (X[idx] / 16.0).astype(np.float32), y[idx]
    cut = int(0.75 * len(X))
    return "digits", X[:cut], y[:cut], X[cut:], y[cut:]


# ----------------------------------------------------------------------------- (a) lamina
def run_lamina(data: tuple, budget: float, seed: int,
               min_epochs: float | None = None) -> dict[str, Any]:
    from lamina.search import search

    _, X_tr, y_tr, X_va, y_va = data
    t0 = time.perf_counter()
    res = search(X_tr, y_tr, budget=budget, validation_data=(X_va, y_va), refit=False,
                 random_state=seed, min_epochs=min_epochs or MIN_EPOCHS,
                 max_epochs=MAX_EPOCHS)
    elapsed = time.perf_counter() - t0
    df = res.trials_
    scored = df[df["score"].notna()]
    return {"configs": int(len(scored)), "elapsed": elapsed,
            "configs_per_min": 60 * len(scored) / elapsed, "best_val_acc": res.best_score_,
            "mean_epochs": float(scored["epochs"].mean()),
            "overhead_ms": res.overhead_ms_, "sampler_ms": res.sampler_ms_,
            "best": res.summary()}


# ----------------------------------------------------------------------------- (b) Optuna
def run_optuna(data: tuple, budget: float, seed: int) -> dict[str, Any]:
    import optuna
    from torch.utils.data import DataLoader, TensorDataset

    _, X_tr, y_tr, X_va, y_va = data
    torch.manual_seed(seed)       # DataLoader shuffles and inits: the same trials per seed
    train = TensorDataset(torch.from_numpy(X_tr), torch.from_numpy(y_tr))
    Xv, yv = torch.from_numpy(X_va), torch.from_numpy(y_va)
    n_in, n_out = X_tr.shape[1], int(y_tr.max()) + 1
    t0 = time.perf_counter()
    deadline = t0 + budget
    epochs_done: list[int] = []

    def define_model(trial: optuna.Trial) -> torch.nn.Module:
        n_layers = trial.suggest_int("n_layers", 1, 4)
        act = ACTIVATIONS[trial.suggest_categorical("activation", list(ACTIVATIONS))]
        p = trial.suggest_float("dropout", 0.0, 0.5)
        layers: list[torch.nn.Module] = []
        in_features = n_in
        for i in range(n_layers):
            out_features = trial.suggest_int(f"n_units_l{i}", 16, 1024, log=True)
            layers += [torch.nn.Linear(in_features, out_features), act(), torch.nn.Dropout(p)]
            in_features = out_features
        layers.append(torch.nn.Linear(in_features, n_out))
        return torch.nn.Sequential(*layers)

    def objective(trial: optuna.Trial) -> float:
        model = define_model(trial)
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        batch_size = trial.suggest_categorical("batch_size", [64, 128, 256, 512])
        alpha = trial.suggest_float("alpha", 1e-6, 1e-2, log=True)
        # sklearn's alpha (L2 on the mean loss over a batch) as Adam weight decay
        optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=alpha / batch_size)
        loader = DataLoader(train, batch_size=batch_size, shuffle=True)
        accuracy = 0.0
        for epoch in range(MAX_EPOCHS):
            model.train()
            for xb, yb in loader:
                optimizer.zero_grad()
                loss = torch.nn.functional.cross_entropy(model(xb), yb)
                loss.backward()
                optimizer.step()
            model.eval()
            with torch.no_grad():
                accuracy = float((model(Xv).argmax(1) == yv).float().mean())
            epochs_done.append(trial.number)
            trial.report(accuracy, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
            if time.perf_counter() > deadline:      # the budget ends inside this trial
                trial.set_user_attr("cut_by_budget", True)
                trial.study.stop()
                break
        return accuracy

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed),
                                pruner=optuna.pruners.MedianPruner())
    study.optimize(objective, timeout=budget)
    elapsed = time.perf_counter() - t0
    scored = {n for n in epochs_done}
    full = [t.value for t in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
            if not t.user_attrs.get("cut_by_budget")]
    done = [t.value for t in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))]
    return {"configs": len(scored), "elapsed": elapsed,
            "configs_per_min": 60 * len(scored) / elapsed,
            "best_val_acc": max(full) if full else max(done, default=float("nan")),
            "mean_epochs": len(epochs_done) / max(1, len(scored))}


# ----------------------------------------------------------------------------- (c) sklearn
def run_sklearn(data: tuple, budget: float, seed: int) -> dict[str, Any]:
    from scipy.stats import loguniform
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV, PredefinedSplit
    from sklearn.neural_network import MLPClassifier

    _, X_tr, y_tr, X_va, y_va = data
    X = np.concatenate([X_tr, X_va])
    y = np.concatenate([y_tr, y_va])
    fold = PredefinedSplit(np.r_[np.full(len(X_tr), -1), np.zeros(len(X_va), dtype=int)])
    rng = np.random.default_rng(seed)
    archs = [tuple(int(round(math.exp(rng.uniform(math.log(16), math.log(1024)))))
                   for _ in range(rng.integers(1, 5))) for _ in range(5000)]
    space = {"hidden_layer_sizes": archs, "activation": ["relu", "tanh"],
             "learning_rate_init": loguniform(1e-4, 1e-1), "batch_size": [64, 128, 256, 512],
             "alpha": loguniform(1e-6, 1e-2)}
    t0 = time.perf_counter()

    def weights(arch: tuple[int, ...]) -> int:
        sizes = (X.shape[1], *arch, 10)
        return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))

    # size n_candidates to the budget (the probe counts in it): time 1-epoch fits of a few
    # candidates, per weight, times the mean weight count of the candidates it will draw
    probe_s, probe_w = 0.0, 0
    for arch in archs[:3]:
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            MLPClassifier(arch, max_iter=1, random_state=seed).fit(X_tr, y_tr)
        probe_s += time.perf_counter() - t
        probe_w += weights(arch)
    per_epoch = probe_s / probe_w * statistics.mean(weights(a) for a in archs)
    left = budget - (time.perf_counter() - t0)
    # iterations at 1, 3, 9 epochs keep 1/3 each: about 3 epochs per candidate in all
    n_candidates = max(3, int(left / (3.0 * per_epoch)))
    # sklearn cannot stop a search on time: fits that start after the deadline train on a
    # handful of rows (milliseconds) and are left out of every figure below
    done.clear()
    _Timed.deadline = t0 + budget
    est = _Timed(early_stopping=False, n_iter_no_change=MAX_EPOCHS + 1, random_state=seed)
    search = HalvingRandomSearchCV(est, space, n_candidates=n_candidates, resource="max_iter",
                                   min_resources=1, max_resources=MAX_EPOCHS, factor=3,
                                   cv=fold, refit=False, random_state=seed, n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    # its wall clock: up to the end of the last fit that started in time
    elapsed = (_Timed.last_end if not all(done) else time.perf_counter()) - t0
    r = search.cv_results_
    ok = np.asarray(done, dtype=bool)                 # fits run in cv_results_ order (n_jobs=1)
    n_res = np.asarray(r["n_resources"])
    scores = np.asarray(r["mean_test_score"])
    configs = int((ok & (np.asarray(r["iter"]) == 0)).sum())
    top = n_res[ok].max()                             # best among the highest fidelity reached
    best = float(scores[ok & (n_res == top)].max())
    return {"configs": configs, "elapsed": elapsed, "configs_per_min": 60 * configs / elapsed,
            "best_val_acc": best, "mean_epochs": float(n_res[ok].sum()) / max(1, configs),
            "top_epochs": int(top), "candidates_planned": n_candidates}


done: list[bool] = []


def _make_timed() -> type:
    from sklearn.neural_network import MLPClassifier

    class Timed(MLPClassifier):
        """MLPClassifier whose fit is a no-op-sized fit once the benchmark's deadline passed."""

        deadline = math.inf
        last_end = 0.0

        def fit(self, X: Any, y: Any) -> Any:
            in_time = time.perf_counter() < Timed.deadline
            done.append(in_time)
            if not in_time:
                return super().fit(X[:200], y[:200])
            super().fit(X, y)
            Timed.last_end = time.perf_counter()
            return self

    return Timed


_Timed = _make_timed()


# ----------------------------------------------------------------------------- overhead
def measure_overhead(postgres: str, n_trials: int = 256) -> list[dict[str, Any]]:
    """lamina's bookkeeping per trial on each storage, with a workload so small (digits, one
    16-unit layer, two short rungs) that the Optuna/storage side is what the time shows."""
    import tempfile

    from sklearn.datasets import load_digits

    from lamina.search import search

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    space = {"n_layers": 1, "width": 16, "batch_size": [256]}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        storages = [("memory", None), ("sqlite", f"sqlite:///{tmp}/o.db")]
        if postgres:
            storages.append(("postgresql", postgres))
        for name, url in storages:
            res = search(X, y, space, n_trials=n_trials, storage=url,
                         study=f"overhead-{time.time_ns()}" if url else None, refit=False,
                         min_epochs=0.1, max_epochs=0.3, batch=8, population=4)
            rows.append({"storage": name, "trials": res.n_trials_,
                         "bookkeeping_ms": res.overhead_ms_, "sampler_ms": res.sampler_ms_})
            print(f"overhead {name:10s} {res.n_trials_} trials: bookkeeping "
                  f"{res.overhead_ms_:.2f} ms/trial, sampler (TPE) "
                  f"{res.sampler_ms_:.2f} ms/trial", flush=True)
    return rows


# ----------------------------------------------------------------------------- main
def main() -> None:
    global MIN_EPOCHS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--budget", default="2m", help="wall clock per method: 30s, 2m, ...")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch / BLAS threads for every method (1 on a shared machine)")
    ap.add_argument("--methods", default="lamina,optuna,sklearn",
                    help="any of lamina, lamina27 (first rung 1/27 epoch), optuna, sklearn")
    ap.add_argument("--json", default="", help="also write the raw results here")
    ap.add_argument("--postgres", default="", help="also measure bookkeeping on this "
                    "PostgreSQL URL (a throwaway database)")
    ap.add_argument("--overhead-only", action="store_true")
    ap.add_argument("--min-epochs", type=float, default=MIN_EPOCHS,
                    help="lamina's first rung in epochs (rungs grow 3x up to 9 epochs)")
    ap.add_argument("--seeds", default="", help="comma-separated seeds instead of 0..repeats-1")
    args = ap.parse_args()

    from threadpoolctl import threadpool_limits

    from lamina.search import parse_budget

    budget = parse_budget(args.budget)
    torch.set_num_threads(args.threads)
    MIN_EPOCHS = args.min_epochs
    seeds = [int(v) for v in args.seeds.split(",")] if args.seeds else list(range(args.repeats))
    overhead = measure_overhead(args.postgres) if "lamina" in args.methods else []
    if args.overhead_only:
        return
    data = load_data()
    print(f"data: {data[0]}, train {data[1].shape}, validation {data[3].shape}; budget "
          f"{budget:.0f}s per method; seeds {seeds}; {args.threads} thread(s)")
    runners = {"lamina": run_lamina, "optuna": run_optuna, "sklearn": run_sklearn,
               # lamina with a cheaper first rung (1/27 epoch), everything else the same
               "lamina27": lambda d, b, seed: run_lamina(d, b, seed, min_epochs=1 / 27)}
    methods = args.methods.split(",")
    results: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
    with threadpool_limits(args.threads):
        for rep in seeds:
            for m in methods:
                r = runners[m](data, budget, seed=rep)
                results[m].append(r)
                print(f"[{rep}] {m:8s} configs {r['configs']:5d} in {r['elapsed']:6.1f}s = "
                      f"{r['configs_per_min']:7.1f}/min | best val acc {r['best_val_acc']:.4f}"
                      f" | {r['mean_epochs']:.2f} epochs/config"
                      + (f" | bookkeeping {r['overhead_ms']:.2f} ms/trial + sampler "
                         f"{r['sampler_ms']:.1f} ms" if m.startswith("lamina") else ""),
                      flush=True)

    med = {m: {k: statistics.median(r[k] for r in results[m])
               for k in ("configs_per_min", "best_val_acc", "mean_epochs", "elapsed")}
           for m in methods}
    print("\nmedians over", len(seeds), "repeats")
    for m in methods:
        print(f"  {m:8s} {med[m]['configs_per_min']:8.1f} configs/min  best val acc "
              f"{med[m]['best_val_acc']:.4f}  {med[m]['mean_epochs']:.2f} epochs/config")
    if "lamina" in med:
        lam = results["lamina"]
        print(f"  lamina bookkeeping {statistics.median(r['overhead_ms'] for r in lam):.2f} "
              f"ms/trial, sampler {statistics.median(r['sampler_ms'] for r in lam):.1f} "
              "ms/trial")
    for ours in ("lamina", "lamina27"):
        if ours not in med:
            continue
        for m in methods:
            if not m.startswith("lamina"):
                print(f"  ratio configs/min {ours}/{m}: "
                      f"{med[ours]['configs_per_min'] / med[m]['configs_per_min']:.1f}x; "
                      f"best val acc {ours} - {m}: "
                      f"{med[ours]['best_val_acc'] - med[m]['best_val_acc']:+.4f}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
            "data": data[0], "budget_s": budget, "threads": args.threads,
            "results": results, "medians": med, "overhead": overhead}, indent=2,
            default=str))


if __name__ == "__main__":
    main()
