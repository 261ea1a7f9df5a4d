"""``lamina search --objective accuracy,params``: the trade-off is kept (the Pareto front in
best.json and the summary), and trials.csv scores pruned trials as a single-objective run does."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _search_cli import one_thread, run_search  # noqa: F401 (autouse fixture)

# widths from 2: iris is easy, and the narrowest nets are what score below 1.0, so the front
# holds a trade-off (accuracy against parameters), not one net that beats every other
SPACE = '{"n_layers": {"low": 1, "high": 2}, "width": {"low": 2, "high": 64, "log": true}}'


@pytest.fixture(scope="module")
def multi(tmp_path_factory) -> tuple[Path, str]:
    import torch

    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("mo") / "run"
    # rounds of one shape x 4 members: each round completes one trial, so six complete
    r = run_search("iris", "--objective", "accuracy,params", "--n-trials", "24", "--space",
                   SPACE, "--population", "4", "--batch", "1", "--quiet", "--out", str(out))
    assert r.exit_code == 0, r.output
    return out, r.output


def _last_rung(row: pd.Series) -> float:
    scores = [row[c] for c in row.index if c.startswith("score_rung_") and not pd.isna(row[c])]
    return scores[-1] if scores else math.nan


def test_best_json_holds_the_pareto_front(multi) -> None:
    out, _ = multi
    best = json.loads((out / "best.json").read_text())
    front = best["pareto"]
    assert len(front) >= 2, front              # a trade-off (seeded: the same on every run)
    study_front = _study_front(out)
    assert sorted(p["trial"] for p in front) == sorted(t.number for t in study_front)
    for p in front:
        assert set(p["values"]) == {"accuracy", "params"}
        assert set(p["params"]) >= {"hidden_layer_sizes", "activation", "learning_rate_init",
                                    "max_iter"}
        assert p["spec"]
    accuracies = [p["values"]["accuracy"] for p in front]
    assert accuracies == sorted(accuracies, reverse=True)          # best score first
    assert front[0]["trial"] == best["trial"] and front[0]["values"]["accuracy"] == best["score"]
    # a front: no point is beaten on both objectives by another
    for a in front:
        assert not any(b["values"]["accuracy"] >= a["values"]["accuracy"]
                       and b["values"]["params"] <= a["values"]["params"] and b != a
                       and (b["values"]["accuracy"], b["values"]["params"])
                       != (a["values"]["accuracy"], a["values"]["params"]) for b in front)


def _study_front(out: Path) -> list:
    import optuna

    study = optuna.load_study(study_name="iris", storage=f"sqlite:///{out / 'search.db'}")
    return study.best_trials


def test_the_summary_mentions_the_front(multi) -> None:
    out, output = multi
    n = len(json.loads((out / "best.json").read_text())["pareto"])
    assert f"pareto front (accuracy vs params): {n} trial" in output
    assert "best.json (with the pareto front)" in output


def test_pruned_trials_are_scored_at_their_last_rung(multi) -> None:
    out, _ = multi
    df = pd.read_csv(out / "trials.csv")
    pruned = df[df["state"] == "PRUNED"]
    assert len(pruned) > 0
    assert pruned["score"].notna().all()
    np.testing.assert_allclose(pruned["score"], pruned.apply(_last_rung, axis=1))


def test_single_objective_files_have_no_front(tmp_path: Path) -> None:
    out = tmp_path / "run"
    r = run_search("iris", "--n-trials", "4", "--space", SPACE, "--population", "2",
                   "--batch", "2", "--quiet", "--no-refit", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "pareto" not in json.loads((out / "best.json").read_text())
    assert "pareto" not in r.output
    df = pd.read_csv(out / "trials.csv")
    pruned = df[df["state"] == "PRUNED"]
    np.testing.assert_allclose(pruned["score"], pruned.apply(_last_rung, axis=1))
