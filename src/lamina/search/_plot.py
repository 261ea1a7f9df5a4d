"""``SearchResult.plot()``: score vs trial, parameter importance, Pareto front."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

_IMPORTANCE_PARAMS = ("n_layers", "activation", "batch_size", "lr", "alpha", "dropout")


def plot_result(result: Any, path: Any = None) -> Any:
    """Draw the search on a matplotlib figure; save it to ``path`` when given."""
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    multi = len(result.objective_) > 1
    fig, axes = plt.subplots(1, 3 if multi else 2, figsize=(14 if multi else 10, 4))
    _score_vs_trial(axes[0], result)
    _importance(axes[1], result)
    if multi:
        _pareto(axes[2], result)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def _score_vs_trial(ax: Any, result: Any) -> None:
    df = result.trials_
    metric = result.objective_[0]
    for state, marker, colour in (("COMPLETE", "o", "tab:blue"), ("PRUNED", ".", "tab:gray")):
        part = df[df["state"] == state]
        ax.scatter(part["number"], part["score"], s=14 if state == "PRUNED" else 22,
                   marker=marker, color=colour, label=state.lower(), alpha=0.7)
    done = df[df["state"] == "COMPLETE"].sort_values("number")
    if len(done):
        ax.step(done["number"], np.maximum.accumulate(done["score"].to_numpy()), where="post",
                color="tab:red", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(f"validation {metric}")
    ax.set_title("score vs trial")
    ax.legend(loc="lower right", fontsize=8)


def _importance(ax: Any, result: Any) -> None:
    import optuna

    ax.set_title("parameter importance")
    try:
        study = result.study_
        present = [p for p in _IMPORTANCE_PARAMS
                   if all(p in t.params for t in study.get_trials(
                       deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))]
        multi = len(result.objective_) > 1
        with warnings.catch_warnings():
            # with a target, the evaluator ranks what drives it *down* (and says so): give it
            # the negated score; one objective uses the study's direction
            warnings.simplefilter("ignore", UserWarning)
            importances = optuna.importance.get_param_importances(
                study, params=present or None,
                target=(lambda t: -t.values[0]) if multi else None)
    except (ValueError, RuntimeError, ZeroDivisionError) as err:
        ax.text(0.5, 0.5, f"not enough trials\n({str(err)[:60]})", ha="center", va="center",
                transform=ax.transAxes, fontsize=8)
        return
    names = list(importances)[::-1]
    ax.barh(names, [importances[n] for n in names], color="tab:green")
    ax.set_xlabel("importance (Optuna's default evaluator)")


def _pareto(ax: Any, result: Any) -> None:
    df = result.trials_
    second = result.objective_[1]
    column = "latency_ms" if second == "latency" else "n_params"
    done = df[df["state"] == "COMPLETE"]
    ax.scatter(done[column], done["score"], s=14, color="tab:gray", label="trials")
    if result.pareto_ is not None and len(result.pareto_):
        front = result.pareto_.sort_values(column)
        ax.plot(front[column], front["score"], "o-", color="tab:red", label="Pareto front")
    ax.set_xlabel(column)
    ax.set_ylabel(f"validation {result.objective_[0]}")
    if second == "params":
        ax.set_xscale("log")
    ax.set_title("Pareto front")
    ax.legend(fontsize=8)


__all__ = ["plot_result"]
