"""``--seed`` / ``random_state`` with database storage: a fresh single-process search is
reproducible (also in a SQLite file, ``lamina search``'s default), while workers that join a
study stay decorrelated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pandas as pd
import pytest

from lamina.search import SearchSpace, _study, open_storage
from lamina.search._study import create_or_join, make_sampler, storage_label, worker_seed

LAMINA = str(Path(sys.executable).parent / "lamina")
PARAMS = ["hidden_layer_sizes", "activation", "batch_size", "learning_rate_init", "alpha",
          "dropout", "state", "score"]
DATA = {"task": "classification", "n_features": 4, "n_outputs": 3}
# ask/tell on a heartbeat storage outside Study.optimize: lamina beats with its own thread
pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage")


def _verb() -> list[str]:
    """``["search"]``, or nothing while `search` is the only verb (typer then runs it alone)."""
    import typer

    from lamina.cli import _register, app

    _register()
    return ["search"] if hasattr(typer.main.get_command(app), "commands") else []


def _cli_search(out: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [LAMINA, *_verb(), "iris", "--n-trials", "8", "--seed", "0", "--population", "2",
           "--batch", "2", "--space", '{"n_layers": {"low": 1, "high": 2}, "width": {"low": 8, '
           '"high": 64, "log": true}}', "--quiet", "--out", str(out)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def test_two_cli_runs_into_fresh_sqlite_files_are_identical(tmp_path: Path) -> None:
    # two processes (two pids): the old code mixed the pid into the seed of any database study
    runs = [_cli_search(tmp_path / f"run{i}") for i in (1, 2)]
    for r in runs:
        assert r.returncode == 0, r.stdout + r.stderr
    frames = [pd.read_csv(tmp_path / f"run{i}" / "trials.csv") for i in (1, 2)]
    assert len(frames[0]) == 8
    pd.testing.assert_frame_equal(frames[0][PARAMS], frames[1][PARAMS])
    best = [json.loads((tmp_path / f"run{i}" / "best.json").read_text()) for i in (1, 2)]
    assert best[0]["params"] == best[1]["params"] and best[0]["score"] == best[1]["score"]
    assert runs[0].stdout.splitlines()[0].split(" | ")[0] == \
        runs[1].stdout.splitlines()[0].split(" | ")[0]


def _open(url: str, name: str = "s") -> _study.Opened:
    storage = open_storage(url)
    return create_or_join(storage, name, space=SearchSpace.from_dict({"n_layers": (1, 3)}),
                          objective=("accuracy",), directions=["maximize"], data=DATA,
                          sampler=optuna.samplers.RandomSampler(seed=0), pruner=None,
                          resume=False, storage_label=storage_label(storage))


def _first_proposal(opened: _study.Opened) -> dict[str, object]:
    """What a worker with this study, seeded by lamina's rule from random_state=0, asks first."""
    opened.study.sampler = make_sampler(None, 0, joined=not opened.created)
    trial = opened.study.ask()
    opened.space.suggest(trial)
    return dict(trial.params)


def test_the_creator_keeps_its_seed_and_joiners_mix_in_their_own(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    creator, a, b = _open(url), _open(url), _open(url)
    assert creator.created and not a.created and not b.created
    assert worker_seed(7, joined=False) == 7
    # three workers started with the same seed on one (still empty) study: three proposals
    proposals = [_first_proposal(o) for o in (creator, a, b)]
    assert proposals[0] != proposals[1] != proposals[2] != proposals[0]
    fresh = _open(f"sqlite:///{tmp_path / 'other.db'}")
    assert fresh.created and _first_proposal(fresh) == proposals[0]     # reproducible


def test_a_worker_that_loses_the_creation_race_joins(tmp_path: Path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    assert _open(url).created
    # a second worker that checked "no such study" just before the first created it
    monkeypatch.setattr(_study, "study_exists", lambda storage, name: False)
    late = _open(url)
    assert not late.created
    assert late.study.user_attrs["lamina"]["data"] == DATA


def test_joined_seeds_differ_between_workers_of_one_process() -> None:
    seeds = {worker_seed(0, joined=True) for _ in range(20)}
    assert len(seeds) == 20 and all(0 <= s < 2**31 for s in seeds)


@pytest.mark.parametrize("storage", ["memory", "sqlite"])
def test_a_resumed_or_shared_study_is_not_seeded_like_a_fresh_one(tmp_path: Path, digits,
                                                                    storage: str,
                                                                    monkeypatch) -> None:
    """A second search() into the same study joins it: its sampler gets the worker's term."""
    from lamina.search import search

    seen: list[bool] = []
    real = _study.make_sampler

    def spy(sampler, random_state, joined):          # noqa: ANN001, ANN202
        seen.append(joined)
        return real(sampler, random_state, joined)

    X, y = digits
    store = (optuna.storages.InMemoryStorage() if storage == "memory"
             else f"sqlite:///{tmp_path / 's.db'}")
    space = {"n_layers": 1, "width": [16], "batch_size": [64]}
    import lamina.search._search as search_module

    monkeypatch.setattr(search_module, "make_sampler", spy)
    for _ in range(2):
        search(X[:300], y[:300], space, n_trials=2, population=2, batch=1, refit=False,
               storage=store, study="s", min_epochs=1, max_epochs=1)
    # each call builds the creator's sampler first; the second then swaps in a joiner's
    assert seen == [False, False, True]
