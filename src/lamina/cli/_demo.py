"""``lamina demo``: the main job on an embedded default — search -> train -> inspect -> report.

Fashion-MNIST when its Debian files are present, sklearn's digits otherwise (and it says so).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from ._app import app, friendly


def _pick_data(quick: bool) -> tuple[Any, str]:
    from ..datasets import list_datasets, load

    available = {i.name: i.available for i in list_datasets()}
    if available.get("fashion_mnist"):
        ds = load("fashion_mnist", n_samples=12_000 if quick else None, seed=0)
        return ds, "Fashion-MNIST (Debian dataset-fashion-mnist files)"
    ds = load("digits")
    return ds, ("sklearn digits — Fashion-MNIST's files are not installed (apt-get install "
                "dataset-fashion-mnist to use them)")


def run_demo(out: str = "runs/demo", budget: str = "45s", quick: bool = False,
             verbose: bool = True) -> dict[str, Any]:
    """Run the demo; return paths and figures (used by the CLI and its test)."""
    import warnings

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split

    from ..estimators import MLPClassifier
    from ..inspection import inspect
    from ..report import write_report
    from ..search import search

    t0 = time.perf_counter()
    ds, what = _pick_data(quick)
    X, y = ds.X.astype(np.float32), ds.y
    if ds.X_test is not None:
        Xte, yte = ds.X_test.astype(np.float32), ds.y_test
    else:
        X, Xte, y, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    if X.max() > 1.0:  # digits' 0..16 pixels -> [0, 1], like Fashion-MNIST's
        scale = float(X.max())
        X, Xte = X / scale, Xte / scale
    print(f"[1/4] data: {what}: {len(X)} train / {len(Xte)} test rows, {X.shape[1]} features")

    # search on a subsample: the point is to choose depth/width/lr, cheaply
    n_search = min(len(X), 3_000 if quick else 15_000)
    rng = np.random.RandomState(0)
    idx = rng.choice(len(X), n_search, replace=False)
    res = search(X[idx], y[idx], budget=budget, random_state=0, refit=False)
    print(f"[2/4] search ({budget}): {res.summary()}")

    p = res.best_params_
    clf = MLPClassifier(hidden_layer_sizes=res.best_spec_, activation=p["activation"],
                        batch_size=p["batch_size"], learning_rate_init=p["learning_rate_init"],
                        alpha=p["alpha"], max_iter=10 if quick else 40, early_stopping=True,
                        n_iter_no_change=4, random_state=0, verbose=verbose)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    acc = float(clf.score(Xte, yte))
    run = Path(out)
    clf.save(run)
    print(f"[3/4] trained {res.best_spec_text_} on the {len(X)} training rows (10 % of them "
          f"held out for early stopping): test accuracy {acc:.4f} "
          f"({clf.n_iter_} epochs; {clf.stop_reason_}); run saved to {run}")

    n_ins = min(len(Xte), 2_000 if quick else 10_000)
    ins = inspect(clf, Xte[:n_ins], yte[:n_ins])
    ins.save(run / "inspection")
    report = write_report(clf, ins, run / "report.html", X=Xte[:n_ins], y=yte[:n_ins],
                          title=f"lamina demo — {what.split(' (')[0].split(' —')[0]}")
    dead = int(ins.units["dead"].sum()) if "dead" in ins.units else 0
    print(f"[4/4] inspected {len(ins.units)} hidden units ({dead} dead) over {n_ins} test rows")
    print(f"report: {report.resolve()}")
    print(f"done in {time.perf_counter() - t0:.0f} s")
    return {"run": run, "report": report, "accuracy": acc, "search": res}


@app.command()
@friendly
def demo(
    out: str = typer.Option("runs/demo", help="Run directory to write."),
    budget: str = typer.Option("45s", help="Search budget (e.g. 30s, 2m)."),
    quick: bool = typer.Option(False, "--quick", help="Smaller data and budget, for a smoke run."),
) -> None:
    """Search -> train -> inspect -> report on Fashion-MNIST (or digits); prints the report path."""
    run_demo(out, budget="30s" if quick and budget == "45s" else budget, quick=quick)
