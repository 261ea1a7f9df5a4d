"""``SearchResult.from_study``: a stored search read back without running it (what a user does
after ``lamina search`` workers filled a shared study). Real SQLite files, real searches."""

from __future__ import annotations

import math
import os

import numpy as np
import optuna
import pytest

import lamina
from lamina import DataError, ParameterError
from lamina.search import SearchResult, search

RUNGS = {"min_epochs": 1, "max_epochs": 3, "eta": 3}
SPACE = {"n_layers": (1, 2), "width": (16, 64, "log"), "batch_size": [64, 128],
         "lr": (1e-3, 3e-2, "log")}


@pytest.fixture(scope="module")
def stored(digits, tmp_path_factory) -> tuple[str, SearchResult]:
    import torch

    torch.set_num_threads(1)
    X, y = digits
    url = f"sqlite:///{tmp_path_factory.mktemp('study') / 's.db'}"
    res = search(X, y, SPACE, n_trials=8, batch=4, storage=url, study="digits",
                 refit=False, **RUNGS)
    return url, res


def test_the_stored_search_reads_back_as_it_ran(stored) -> None:
    url, ran = stored
    back = SearchResult.from_study(url, "digits")
    assert back.best_params_ == ran.best_params_
    assert back.best_score_ == ran.best_score_
    assert back.best_trial_.number == ran.best_trial_.number
    assert back.objective_ == ("accuracy",) and back.task_ == "classification"
    assert list(back.trials_["number"]) == list(ran.trials_["number"])
    assert list(back.trials_["score"].fillna(-1)) == list(ran.trials_["score"].fillna(-1))
    assert back.states_ == ran.states_ and sum(back.states_.values()) == len(ran.trials_)
    assert back.n_trials_ == ran.n_trials_ == 8
    assert back.best_estimator_ is None and math.isnan(back.baseline_score_)
    assert math.isnan(back.overhead_ms_) and back.elapsed_ > 0 and back.configs_per_minute_ > 0
    text = back.summary()
    assert f"best accuracy {ran.best_score_:.4f}" in text and "bookkeeping" not in text
    assert back.best_spec_ == ran.best_spec_


def test_with_the_data_it_refits_the_best_configuration(stored, digits) -> None:
    url, ran = stored
    X, y = digits
    back = SearchResult.from_study(url, "digits", X=X, y=y)
    est = back.best_estimator_
    assert isinstance(est, lamina.MLPClassifier)
    assert est.hidden_layer_sizes == back.best_spec_
    assert est.n_iter_ == back.best_params_["max_iter"]
    assert est.score(X, y) > 0.5
    _, counts = np.unique(y, return_counts=True)
    assert back.baseline_score_ == pytest.approx(counts.max() / counts.sum())


def test_a_multi_objective_study_reads_back_its_pareto_front(digits, small_space,
                                                             tmp_path) -> None:
    X, y = digits
    url = f"sqlite:///{tmp_path / 'p.db'}"
    ran = search(X, y, small_space, n_trials=6, batch=3, storage=url, study="p",
                 objective=("accuracy", "params"), refit=False, **RUNGS)
    back = SearchResult.from_study(url, "p")
    assert back.objective_ == ("accuracy", "params")
    assert back.pareto_front() == ran.pareto_front()
    assert sorted(back.pareto_["number"]) == sorted(ran.pareto_["number"])


def test_refusals_name_what_is_wrong(stored, digits, tmp_path) -> None:
    url, _ = stored
    X, y = digits
    with pytest.raises(ParameterError, match=r"Invalid study='digitz': no study of that name in "
                                             r"sqlite:.*\(it holds \['digits'\]\)"):
        SearchResult.from_study(url, "digitz")
    with pytest.raises(DataError, match=r"it was made for \{'task': 'classification', "
                                        r"'n_features': 64, 'n_outputs': 10\}, this data is "
                                        r"\{.*'n_features': 63"):
        SearchResult.from_study(url, "digits", X=X[:, 1:], y=y)
    with pytest.raises(ParameterError, match="X and y together, or neither"):
        SearchResult.from_study(url, "digits", X=X)
    missing = tmp_path / "nope.db"
    with pytest.raises(ParameterError, match=r"Invalid storage=.*nope.db': the file .*nope.db' "
                                             r"does not exist"):
        SearchResult.from_study(f"sqlite:///{missing}", "digits")
    assert not missing.exists()                              # reading created nothing
    with pytest.raises(ParameterError, match="Invalid study=''"):
        SearchResult.from_study(url, "")
    other = f"sqlite:///{tmp_path / 'o.db'}"
    optuna.create_study(storage=other, study_name="plain").optimize(lambda t: 1.0, n_trials=1)
    with pytest.raises(ParameterError, match="that lamina did not create. Open it with "
                                             "optuna.load_study"):
        SearchResult.from_study(other, "plain")
    empty = f"sqlite:///{tmp_path / 'e.db'}"
    study = optuna.create_study(storage=empty, study_name="new")
    study.set_user_attr("lamina", {"objective": ["accuracy"], "data": {"task": "classification"}})
    with pytest.raises(ParameterError, match=r"no trial of it has completed \(0 in all\)"):
        SearchResult.from_study(empty, "new")


def test_a_study_that_never_completed_lists_its_states(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    study = optuna.create_study(storage=url, study_name="f")
    study.set_user_attr("lamina", {"objective": ["accuracy"], "data": {"task": "classification"}})
    for state in (optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.PRUNED,
                  optuna.trial.TrialState.FAIL):
        study.add_trial(optuna.trial.create_trial(state=state, user_attrs={"lamina": {}}))
    with pytest.raises(ParameterError, match=r"no trial of it has completed \(3 in all: 1 fail, "
                                             r"2 pruned\)"):
        SearchResult.from_study(url, "f")


def test_trials_added_outside_lamina_are_never_the_best(digits, tmp_path) -> None:
    """A hand-added trial that dominates every lamina trial (a user's reference point) left
    the Pareto front without a lamina trial: the best and the front are lamina's own."""
    X, y = digits
    url = f"sqlite:///{tmp_path / 'm.db'}"
    ran = search(X, y, SPACE, n_trials=4, batch=2, storage=url, study="m",
                 objective=("accuracy", "params"), refit=False, **RUNGS)
    optuna.load_study(study_name="m", storage=url).add_trial(
        optuna.trial.create_trial(values=[0.999, 1.0]))
    back = SearchResult.from_study(url, "m")
    assert back.pareto_front() == ran.pareto_front()
    assert back.best_trial_.number == ran.best_trial_.number
    assert len(back.trials_) == len(ran.trials_) + 1


def test_reading_never_creates_or_changes_a_file(tmp_path) -> None:
    import sqlite3

    notes = tmp_path / "notes.db"
    with sqlite3.connect(notes) as conn:
        conn.execute("CREATE TABLE notes (x)")
    size = notes.stat().st_size
    with pytest.raises(ParameterError, match=r"the file holds no Optuna study \(no 'studies' "
                                             r"table\)"):
        SearchResult.from_study(f"sqlite:///{notes}", "digits")
    with sqlite3.connect(notes) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master")]
    assert tables == ["notes"] and notes.stat().st_size == size
    with pytest.raises(ParameterError, match=r"is a folder, not an SQLite file"):
        SearchResult.from_study(f"sqlite:///{tmp_path}", "digits")
    for url in ("sqlite:///:memory:", "sqlite://"):
        with pytest.raises(ParameterError, match="an in-memory database holds no stored study"):
            SearchResult.from_study(url, "digits")


def test_a_plain_optuna_file_and_odd_names_are_read_without_writing(stored, tmp_path) -> None:
    """The read path opens no file for writing: a plain Optuna study file stays in its journal
    mode when refused; a '#' in the file name (a URI fragment) neither hides the study nor
    creates a stray file."""
    import shutil
    import sqlite3

    plain = tmp_path / "plain.db"
    optuna.create_study(storage=f"sqlite:///{plain}", study_name="plain").optimize(
        lambda t: 1.0, n_trials=1)
    with sqlite3.connect(plain) as conn:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    with pytest.raises(ParameterError, match="that lamina did not create"):
        SearchResult.from_study(f"sqlite:///{plain}", "plain")
    with sqlite3.connect(plain) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == mode
    url, ran = stored
    odd = tmp_path / "odd" / "a#b c.db"
    odd.parent.mkdir()
    shutil.copy(url.removeprefix("sqlite:///"), odd)
    for extra in ("-wal", "-shm"):                           # the WAL part of the stored file
        side = url.removeprefix("sqlite:///") + extra
        if os.path.exists(side):
            shutil.copy(side, str(odd) + extra)
    back = SearchResult.from_study(f"sqlite:///{odd}", "digits")
    assert back.best_score_ == ran.best_score_
    assert sorted(p.name for p in odd.parent.iterdir() if not p.name.endswith(("-wal", "-shm"))
                  ) == ["a#b c.db"]


def test_pareto_filter_equals_optunas_on_random_values() -> None:
    from optuna.study import StudyDirection

    from lamina.search._result import _non_dominated

    rng = np.random.default_rng(0)
    directions = [StudyDirection.MAXIMIZE, StudyDirection.MINIMIZE, StudyDirection.MINIMIZE]
    study = optuna.create_study(directions=directions)
    values = np.round(rng.random((600, 3)), 2)              # ties included
    for v in values:
        study.add_trial(optuna.trial.create_trial(values=list(v)))
    trials = study.get_trials()
    mine = sorted(t.number for t in _non_dominated(trials, study.directions))
    assert mine == sorted(t.number for t in study.best_trials) and len(mine) > 5


def test_refitting_on_other_rows_warns(stored, digits) -> None:
    url, _ = stored
    X, y = digits
    with pytest.warns(UserWarning, match=r"X, y are not the data this study searched: it was "
                                         r"searched on other rows of the same shape"):
        back = SearchResult.from_study(url, "digits", X=X[::-1], y=y[::-1])
    assert isinstance(back.best_estimator_, lamina.MLPClassifier)


def test_the_best_configuration_builds_as_an_estimator_and_prints_short(stored, digits) -> None:
    """Acceptance review: MLPClassifier(**best_params_) failed on 'dropout'."""
    url, _ = stored
    X, y = digits
    back = SearchResult.from_study(url, "digits", X=X, y=y)
    with pytest.raises(TypeError, match="dropout"):
        lamina.MLPClassifier(**back.best_params_)
    est = lamina.MLPClassifier(**back.best_estimator_params_).fit(X, y)
    np.testing.assert_array_equal(est.predict_proba(X), back.best_estimator_.predict_proba(X))
    text = repr(back)
    assert text.startswith("SearchResult(objective_=('accuracy',), best_score_=") and \
        "trials_=<8 rows>" in text and len(text) < 300


def test_elapsed_counts_the_time_some_trial_ran() -> None:
    """A study resumed after a pause: the pause is not search time."""
    from datetime import datetime, timedelta
    from types import SimpleNamespace

    from lamina.search._result import _busy_seconds

    t0 = datetime(2026, 12, 5, 10, 0, 0)

    def trial(a: float, b: float) -> SimpleNamespace:
        return SimpleNamespace(datetime_start=t0 + timedelta(seconds=a),
                               datetime_complete=t0 + timedelta(seconds=b))

    # two workers overlapping for 0-30 s, a resumed run 100 s later for 20 s, one unfinished
    trials = [trial(0, 10), trial(5, 30), trial(12, 20), trial(130, 150),
              SimpleNamespace(datetime_start=t0, datetime_complete=None)]
    assert _busy_seconds(trials) == 30 + 20
    assert _busy_seconds([]) == 0.0


def test_storage_mistakes_get_the_fix(stored, tmp_path, monkeypatch) -> None:
    """Acceptance review: a run folder, a relative path from elsewhere, a host-like
    'sqlite://tmp/...', a bare path and None each got a message that did not say what to do."""
    import shutil

    url, _ = stored
    db = url.removeprefix("sqlite:///")
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(db, run / "search.db")
    with pytest.raises(ParameterError, match=rf"is a folder, not an SQLite file. Pass the study "
                                             rf"file in it: sqlite:///{run / 'search.db'}\."):
        SearchResult.from_study(f"sqlite:///{run}", "digits")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParameterError, match=r"the file 'shared.db' does not exist \(a relative "
                                             rf"path: '{tmp_path / 'shared.db'}' from the folder"):
        SearchResult.from_study("sqlite:///shared.db", "digits")
    with pytest.raises(ParameterError, match=r"an SQLite URL has no host, and this one reads "
                                             r"'tmp' as one. Write sqlite:////tmp/x/s.db"):
        SearchResult.from_study("sqlite://tmp/x/s.db", "digits")
    with pytest.raises(ParameterError, match=rf"Did you mean storage='sqlite:///{run}/search.db'"):
        SearchResult.from_study(str(run / "search.db"), "digits")
    with pytest.raises(ParameterError, match=r"Invalid storage=None: the URL of the stored study"):
        SearchResult.from_study(None, "digits")
