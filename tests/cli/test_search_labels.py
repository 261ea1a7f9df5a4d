"""``lamina search``: the data set's own task, label names in the saved model, its training-data
record, and the command printed on Ctrl-C."""

from __future__ import annotations

import importlib
import json
import shlex
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _search_cli import one_thread, run_search, runner  # noqa: F401 (autouse fixture)

from lamina.cli import app

FAST = ["--space", '{"n_layers": 1, "width": [16], "batch_size": [64]}', "--population", "2",
        "--batch", "1", "--quiet"]




def _cli(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture
def calls(monkeypatch) -> list[dict[str, Any]]:
    """Replace the search by one that records its arguments and is interrupted (Ctrl-C)."""
    seen: list[dict[str, Any]] = []

    def interrupted(X: Any, y: Any, space: Any = None, **kw: Any) -> Any:
        seen.append({"X": np.asarray(X), "y": np.asarray(y), "space": space, **kw})
        raise KeyboardInterrupt

    importlib.import_module("lamina.search")
    monkeypatch.setattr(sys.modules["lamina.search"], "search", interrupted)
    return seen


@pytest.mark.parametrize("data, rows, objective", [("diabetes", "15", "r2"),
                                                   ("digits", "100", "accuracy")])
def test_named_data_set_is_searched_for_its_own_task(tmp_path, calls, data: str, rows: str,
                                                     objective: str) -> None:
    # 15 rows of diabetes hold at most 15 distinct whole numbers: a guess from the values alone
    # would call them class labels (digits needs 2 rows per class, as `lamina train` does)
    r = run_search(data, "--n-samples", rows, "--out", str(tmp_path), "--quiet")
    assert r.exit_code == 130, r.output
    assert calls[0]["objective"] == objective


def test_diabetes_search_saves_a_regressor(tmp_path) -> None:
    from lamina import MLPRegressor, load

    r = run_search("diabetes", "--n-trials", "2", "--out", str(tmp_path / "s"), *FAST)
    assert r.exit_code == 0, r.output
    assert "best r2" in r.output
    assert isinstance(load(tmp_path / "s" / "model"), MLPRegressor)


@pytest.fixture
def tables(tmp_path) -> dict[str, str]:
    """A small two-class table with label names, its features alone, and its 'malignant' rows
    (a file in which that label is the only class, so numbered 0)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3)).astype(np.float32)
    labels = np.where(X[:, 0] + X[:, 1] > 0, "malignant", "benign")
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(diagnosis=labels)
    paths = {k: str(tmp_path / f"{k}.csv") for k in ("all", "features", "malignant")}
    frame.to_csv(paths["all"], index=False)
    frame[["a", "b", "c"]].to_csv(paths["features"], index=False)
    frame[frame.diagnosis == "malignant"].to_csv(paths["malignant"], index=False)
    return paths


def test_search_model_reads_and_writes_label_names(tmp_path, tables) -> None:
    from lamina import load

    out = tmp_path / "s"
    r = run_search(tables["all"], "--n-trials", "2", "--out", str(out), *FAST)
    assert r.exit_code == 0, r.output
    model = load(out / "model")
    assert list(model.classes_) == ["benign", "malignant"]

    pred = tmp_path / "pred.csv"
    r = _cli("predict", str(out / "model"), tables["features"], "--out", str(pred))
    assert r.exit_code == 0, r.output
    written = pd.read_csv(pred)
    assert set(written.prediction) <= {"benign", "malignant"}
    assert list(written.columns) == ["prediction", "proba_benign", "proba_malignant"]

    # the malignant-only file numbers its one label 0; it must be matched by name
    malignant = pd.read_csv(tables["malignant"])
    expected = float(np.mean(model.predict(malignant[["a", "b", "c"]].to_numpy()) == "malignant"))
    r = _cli("evaluate", str(out / "model"), tables["malignant"])
    assert r.exit_code == 0, r.output
    assert f"{expected:.4f}" in r.output
    assert "Warning" not in r.output


def test_search_model_records_that_it_saw_every_row(tmp_path, tables) -> None:
    out = tmp_path / "s"
    assert run_search(tables["all"], "--n-trials", "2", "--out", str(out), *FAST).exit_code == 0
    record = json.loads((out / "model" / "train_data.json").read_text())
    assert record["split"] == "all" and record["rows"] == 80 and record["data"] == tables["all"]
    assert record["features"] == ["a", "b", "c"]
    r = _cli("evaluate", str(out / "model"), tables["all"])
    assert r.exit_code == 0, r.output
    assert "evaluated on all 80 rows" in r.output
    assert "include the rows the run was fit on" in r.output and "cannot be" in r.output


def test_interrupted_search_prints_a_command_that_repeats_it(tmp_path, calls) -> None:
    out = tmp_path / "s"
    given = ["digits", "--budget", "45s", "--n-trials", "7", "--out", str(out), "--n-samples",
             "300", "--seed", "3", "--population", "2", "--batch", "3", "--no-refit",
             "--objective", "accuracy,params", "--heartbeat", "7", "--space",
             '{"activation": ["relu"], "width": {"low": 16, "high": 32}}', "--quiet"]
    r = run_search(*given)
    assert r.exit_code == 130, r.output
    line = next(t for t in r.output.splitlines() if t.startswith("interrupted; continue with: "))
    words = shlex.split(line.split(": ", 1)[1])
    assert words[:2] == ["lamina", "search"] and "--resume" in words
    r = run_search(*words[2:])                                   # the printed command, run as printed
    assert r.exit_code == 130, r.output
    first, again = calls
    assert again.pop("resume") is True and first.pop("resume") is False
    for key in ("X", "y"):
        assert np.array_equal(first.pop(key), again.pop(key))
    for d in (first, again):
        d.pop("callback")
        d["storage"] = str(d["storage"].url) if hasattr(d["storage"], "url") else d["storage"]
    assert first == again
    assert (out / "search.db").exists()                    # the same folder, not runs/...
