"""Several ``lamina search`` worker processes on one study: real PostgreSQL, real SQLite, real
``SIGKILL``. Slow (each test runs workers for tens of seconds), run by ``make test-slow`` and CI."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

LAMINA = str(Path(sys.executable).parent / "lamina")
SPACE = ('{"n_layers": {"low": 1, "high": 2}, "width": {"low": 16, "high": 64, "log": true}, '
         '"batch_size": [64, 128]}')
pytestmark = pytest.mark.slow


def _verb() -> list[str]:
    """``["search"]``, or nothing while `search` is the only verb (typer then runs it alone)."""
    import typer

    from lamina.cli import _register, app

    _register()
    return ["search"] if hasattr(typer.main.get_command(app), "commands") else []


def _worker(data_dir: Path, storage: str, study: str, seed: int, budget: str,
            *extra: str) -> subprocess.Popen[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    cmd = [LAMINA, *_verb(), "digits", "--storage", storage, "--study", study, "--budget",
           budget, "--seed", str(seed), "--space", SPACE, "--batch", "3", "--no-refit",
           "--quiet", "--heartbeat", "1", "--out", str(data_dir / f"w{seed}"), *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)


def _finish(proc: subprocess.Popen[str], timeout: float = 240) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out
    return out


def _told(data_dir: Path, seed: int) -> int:
    return int(json.loads((data_dir / f"w{seed}" / "best.json").read_text())["trials_this_run"])


def _load(storage: str, study: str) -> optuna.Study:
    from lamina.search import open_storage

    # lamina's opener: a bare postgresql:// URL gets the installed driver (psycopg2)
    return optuna.load_study(study_name=study, storage=open_storage(storage))


def _check_two_workers(tmp_path: Path, storage: str, study: str) -> None:
    a = _worker(tmp_path, storage, study, 1, "25s")
    b = _worker(tmp_path, storage, study, 2, "25s")
    _finish(a), _finish(b)
    told = {seed: _told(tmp_path, seed) for seed in (1, 2)}
    trials = _load(storage, study).get_trials()
    assert all(n > 0 for n in told.values())                   # both contributed
    assert len(trials) == sum(told.values())                   # none lost, none extra
    # FAIL only for trials asked just before the budget ended and never trained, told so
    lost = [(t.number, t.user_attrs.get("lamina", {}).get("stopped"), t.system_attrs)
            for t in trials if t.state.name == "FAIL"
            and t.user_attrs.get("lamina", {}).get("stopped") != "unfinished"]
    assert not lost, lost
    assert {t.state.name for t in trials} <= {"COMPLETE", "PRUNED", "FAIL"}
    assert len({t._trial_id for t in trials}) == len(trials)
    assert sorted(t.number for t in trials) == list(range(len(trials)))
    workers: dict[str, int] = {}
    for t in trials:
        w = t.user_attrs["lamina"]["worker"]
        workers[w] = workers.get(w, 0) + 1
    assert sorted(workers.values()) == sorted(told.values())   # each trial told by one worker
    # what a user reads back in Python afterwards: the whole study, both workers' trials
    from lamina.search import SearchResult

    back = SearchResult.from_study(storage, study)
    assert len(back.trials_) == len(trials)
    assert set(back.trials_["worker"].dropna()) == set(workers)
    assert back.best_score_ == max(t.values[0] for t in trials if t.state.name == "COMPLETE")


def test_two_workers_share_a_postgresql_study(tmp_path: Path, postgres_url: str) -> None:
    _check_two_workers(tmp_path, postgres_url, "two-workers")


def test_two_workers_share_a_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    _check_two_workers(tmp_path, f"sqlite:///{db}", "two-workers")
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _running(storage: str, study: str) -> tuple[list[int], int]:
    """Ids of the study's RUNNING trials whose first heartbeat is written (the ones
    ``fail_stale_trials`` finds once their worker stops beating), and how many RUNNING trials
    have no heartbeat yet (asked a moment ago)."""
    import psycopg2

    with psycopg2.connect(storage) as conn, conn.cursor() as cur:
        cur.execute("SELECT t.trial_id, h.trial_id IS NOT NULL FROM trials t "
                    "JOIN studies s USING (study_id) "
                    "LEFT JOIN trial_heartbeats h USING (trial_id) "
                    "WHERE s.study_name = %s AND t.state = 'RUNNING'", (study,))
        rows = cur.fetchall()
    conn.close()
    return [i for i, beats in rows if beats], sum(1 for _, beats in rows if not beats)


def test_sigkill_one_worker_then_resume(tmp_path: Path, postgres_url: str) -> None:
    study = "killed"
    victim = _worker(tmp_path, postgres_url, study, 1, "60s")
    try:
        in_training: list[int] = []
        deadline = time.time() + 60
        while time.time() < deadline and not in_training:
            time.sleep(0.2)
            try:
                told = [t for t in _load(postgres_url, study).get_trials()
                        if "lamina" in t.user_attrs]
            except KeyError:                    # the study is not created yet
                continue
            if not told:                        # kill it in a later round, not while it starts
                continue
            # freeze it, then look: between two rounds it has no trial in training, and a trial
            # asked a moment ago has no heartbeat yet (Optuna's stale check cannot see it)
            victim.send_signal(signal.SIGSTOP)
            in_training, unbeaten = _running(postgres_url, study)
            if unbeaten:
                in_training = []
            if not in_training:
                victim.send_signal(signal.SIGCONT)
        assert in_training, "the victim never had a trial in training after its first round"
    finally:                                # never leave a stopped process behind
        victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL

    # a second worker on the same study: its rounds run fail_stale_trials, so the heartbeat
    # fails the victim's trials and the retry callback queues them again
    survivor = _worker(tmp_path, postgres_url, study, 2, "30s")
    _finish(survivor)
    trials = _load(postgres_url, study).get_trials()
    by_id = {t._trial_id: t for t in trials}
    states = {i: by_id[i].state.name for i in in_training}
    assert set(states.values()) == {"FAIL"}, states
    retries = [t for t in trials if "failed_trial" in t.system_attrs]
    assert retries, "failed trials were not queued again"

    resumed = _worker(tmp_path, postgres_url, study, 3, "20s", "--resume")
    out = _finish(resumed)
    assert "best accuracy" in out
    final = _load(postgres_url, study)
    names = [t.state.name for t in final.get_trials()]
    assert "RUNNING" not in names and "WAITING" not in names     # every retry was trained
    assert len(final.trials_dataframe()) == len(names)          # the study reads cleanly
    assert _told(tmp_path, 3) > 0
