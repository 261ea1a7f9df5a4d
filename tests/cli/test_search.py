"""``lamina search`` in-process: outputs, resume, and one-line errors for bad input."""

from __future__ import annotations

import json

import pytest
from _search_cli import one_thread, run_search, runner  # noqa: F401 (autouse fixture)

FAST = ["--space", '{"n_layers": {"low": 1, "high": 2}, "width": {"low": 16, "high": 64, '
        '"log": true}, "batch_size": [64, 128]}', "--population", "4", "--batch", "2", "--quiet"]




def test_search_writes_best_trials_and_model(tmp_path) -> None:
    out = tmp_path / "run"
    r = run_search("digits", "--n-trials", "8", "--n-samples", "900", "--out", str(out), *FAST)
    assert r.exit_code == 0, r.output
    assert "best accuracy" in r.output and "8 trials" in r.output
    import optuna

    from lamina.search import open_storage

    study = optuna.load_study(study_name="digits",
                              storage=open_storage(f"sqlite:///{out / 'search.db'}"))
    assert list(study.trials[0].intermediate_values)[0] == 720   # one epoch of 80 % of 900
    best = json.loads((out / "best.json").read_text())
    assert best["trials_this_run"] == 8 and 0 < best["score"] <= 1
    assert best["overhead_ms_per_trial"] > 0
    # where the study lives, for SearchResult.from_study (acceptance review: nothing said so)
    assert best["storage"] == f"sqlite:///{out / 'search.db'}" and best["study"] == "digits"
    from lamina.search import SearchResult

    assert SearchResult.from_study(best["storage"], best["study"]).best_score_ == best["score"]
    assert (out / "search.db").exists()                       # the SQLite default
    assert (out / "model" / "config.json").exists()
    import lamina

    model = lamina.load(out / "model")
    assert list(model.module_.hidden[0].spec.__dict__)        # a real, loadable estimator
    lines = (out / "trials.csv").read_text().strip().splitlines()
    assert len(lines) == 1 + 8


@pytest.mark.slow
def test_same_study_other_space_needs_resume(tmp_path) -> None:
    out = str(tmp_path / "run")
    assert run_search("digits", "--n-trials", "4", "--out", out, "--no-refit", *FAST).exit_code == 0
    other = FAST.copy()
    other[1] = '{"n_layers": 1, "width": [32]}'
    r = run_search("digits", "--n-trials", "4", "--out", out, "--no-refit", *other)
    assert r.exit_code == 2
    assert "error: Invalid --study='digits': it exists in sqlite:///" in r.output
    assert "with a different search space" in r.output and "Pass --resume" in r.output
    r = run_search("digits", "--n-trials", "4", "--out", out, "--no-refit", "--resume", *other)
    assert r.exit_code == 0, r.output
    trials = (tmp_path / "run" / "trials.csv").read_text().strip().splitlines()
    assert len(trials) == 1 + 8                               # continued the same study
    # acceptance review: the --space given was dropped without a word
    assert "note: study 'digits' continues with the search space it was created with; this " \
           "run's space (the default when none is given) differs (" in r.output, r.output
    assert "(--resume keeps the stored space)" in r.output


@pytest.mark.parametrize("args, text", [
    (["digits", "--budget", "5 minutes"], "error: Invalid --budget='5 minutes'"),
    (["digits", "--resume", "--n-trials", "1"], "error: Invalid resume=True: there is no study "
                                                "named 'digits'"),
    (["digits", "--storage", "postgresql://u:pw@127.0.0.1:1/db"],
     "error: Invalid --storage='postgresql://u:***@127.0.0.1:1/db': could not open"),
    (["digits", "--space", "{n_layers: 2}"], "error: Invalid --space='{n_layers: 2}': not valid "
                                             "JSON"),
    (["digits", "--space", '{"width": {"low": 64, "high": 16}}'], "low (64) is greater than "
                                                                  "high (16)"),
    (["digits", "--objective", "accuracy,speed"], "error: Invalid --objective='accuracy,speed'"),
    (["co2"], "error: Invalid DATA='co2': its task is 'forecasting'"),
    (["no_such_set"], "error:"),
])
def test_bad_input_is_one_line(tmp_path, args: list[str], text: str) -> None:
    r = run_search(*args, "--out", str(tmp_path / "x"), "--quiet")
    assert r.exit_code == 2, r.output
    assert text in r.output
    assert "Traceback" not in r.output
