"""``lamina search`` checks everything before it touches a study: bad options and bad data exit 2
with one line naming the option, a refused budget leaves nothing behind, and a model no better
than a trivial one is saved with a warning."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _search_cli import one_thread, run_search, runner  # noqa: F401 (autouse fixture)

TINY = ["--space", '{"n_layers": 1, "width": [16], "batch_size": [64]}', "--population", "2",
        "--batch", "1", "--quiet"]




def _trials(folder: Path, name: str = "digits") -> int:
    import optuna

    storage = f"sqlite:///{folder / 'search.db'}"
    return len(optuna.load_study(study_name=name, storage=storage).trials)


BAD = [
    (["--n-trials", "-1"], "error: Invalid --n-trials=-1: must be an integer >= 1"),
    (["--objective", "accuracy,speed"], "error: Invalid --objective='accuracy,speed'"),
    (["--population", "0"], "error: Invalid --population=0: must be an integer >= 1"),
    (["--batch", "0"], "error: Invalid --batch=0: must be an integer >= 1"),
    (["--space", '{"widht": [32]}'], "error: Invalid --space='widht': unknown search "
                                     "dimension; allowed: n_layers, width,"),
    (["--device", "tpu"], "error: Invalid --device='tpu'"),
    (["--seed", "-1"], "error: Invalid --seed=-1"),
]


@pytest.mark.parametrize("args, text", BAD)
def test_bad_option_is_refused_before_the_study_is_touched(tmp_path, args: list[str],
                                                           text: str) -> None:
    import optuna

    folder = tmp_path / "run"
    folder.mkdir()
    study = optuna.create_study(study_name="digits", storage=f"sqlite:///{folder / 'search.db'}")
    study.enqueue_trial({})                     # a study that already holds one trial
    r = run_search("digits", "--out", str(folder), *args, "--quiet")
    assert r.exit_code == 2, r.output
    assert r.output.startswith(text), r.output
    assert r.output.count("\n") == 1            # one line: no "already holds N trials" first
    assert _trials(folder) == 1


@pytest.mark.parametrize("args, text", BAD[:1])
def test_bad_option_leaves_no_folder(tmp_path, args: list[str], text: str) -> None:
    r = run_search("digits", "--out", str(tmp_path / "new"), *args, "--quiet")
    assert r.exit_code == 2 and text in r.output, r.output
    assert not (tmp_path / "new").exists()


def test_refused_budget_leaves_nothing_and_gives_real_figures(tmp_path) -> None:
    out = tmp_path / "run"
    r = run_search("digits", "--budget", "20ms", "--out", str(out), *TINY)
    assert r.exit_code == 2, r.output
    assert r.output.startswith("error: Invalid --budget='20ms': it cannot fit one trial: "
                               "measuring this machine took "), r.output
    assert "0.0s" not in r.output
    assert re.search(r"about [\d.]+m?s", r.output), r.output
    assert "Pass --budget '1s' or more" in r.output
    assert not out.exists()                     # no folder, database or study left behind


def test_lone_class_is_refused_as_lamina_train_does(tmp_path) -> None:
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(30, 3)), columns=["a", "b", "c"])
    table["label"] = ["x", "y"] * 14 + ["y", "z"]
    table.to_csv(tmp_path / "lone.csv", index=False)
    r = run_search(str(tmp_path / "lone.csv"), "--n-trials", "1", "--out", str(tmp_path / "run"),
             *TINY)
    assert r.exit_code == 2, r.output
    assert r.output.startswith("error: y: class 'z' has only 1 sample (row 29)"), r.output
    assert not (tmp_path / "run").exists()


def test_model_no_better_than_the_majority_class_is_saved_with_a_warning(tmp_path,
                                                                       monkeypatch) -> None:
    from lamina.search._data import SearchData

    # a baseline no model can beat: the best trial is "no better than a trivial model"
    monkeypatch.setattr(SearchData, "baseline", lambda self: 1.0)
    out = tmp_path / "run"
    r = run_search("digits", "--n-samples", "200", "--n-trials", "2", "--out", str(out), *TINY)
    assert r.exit_code == 0, r.output
    assert re.search(r"warning: the best validation accuracy [\d.]+ is no better than always "
                     r"predicting the most frequent class \(1\.0000\).*larger budget", r.output)
    assert r.output.count("warning:") == 1      # once, not also as a Python warning
    assert (out / "model" / "config.json").exists()


def test_a_study_with_another_space_is_refused_without_claiming_to_join_it(tmp_path) -> None:
    out = tmp_path / "s"
    assert run_search("digits", "--n-samples", "200", "--n-trials", "2", "--out", str(out),
                      *TINY).exit_code == 0
    other = ["--space", '{"n_layers": 1, "width": [32], "batch_size": [64]}', "--population",
             "2", "--batch", "1", "--quiet"]
    r = run_search("digits", "--n-samples", "200", "--n-trials", "2", "--out", str(out), *other)
    assert r.exit_code == 2 and "different search space" in r.output, r.output
    assert "already held" not in r.output
    r = run_search("digits", "--n-samples", "200", "--n-trials", "2", "--out", str(out), *TINY)
    assert r.exit_code == 0, r.output
    assert "note: study 'digits' in" in r.output and "already held 2" in r.output, r.output
