"""Opening storages: in memory, SQLite, database URLs; unreachable servers fail fast and clearly."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from lamina import ParameterError
from lamina.search import open_storage
from lamina.search._storage import GRACE_PERIOD, HEARTBEAT_INTERVAL, mask_url


def test_none_is_in_memory() -> None:
    assert isinstance(open_storage(None), optuna.storages.InMemoryStorage)


def test_an_optuna_storage_passes_through() -> None:
    storage = optuna.storages.InMemoryStorage()
    assert open_storage(storage) is storage


def test_sqlite_file_gets_heartbeat(tmp_path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path / 'a.db'}")
    assert isinstance(storage, optuna.storages.RDBStorage)
    assert storage.get_heartbeat_interval() == HEARTBEAT_INTERVAL
    assert storage.grace_period == GRACE_PERIOD
    # no re-queueing on SQLite: two processes could both pop a queued retry
    assert storage.get_heartbeat_stale_trial_callback() is None
    assert (tmp_path / "a.db").exists()


def test_sqlite_in_a_missing_folder(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'nope' / 'a.db'}"
    with pytest.raises(ParameterError, match=r"Invalid storage=.*the folder .*nope' does not "
                                             r"exist. Create it first"):
        open_storage(url)
    assert not (Path.cwd() / "mem1").exists()


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite://",
                                 "sqlite:///file::memory:?cache=shared&uri=true",
                                 "sqlite:///file:mem1?mode=memory&cache=shared&uri=true"])
def test_in_memory_sqlite_is_refused_with_the_way_to_keep_trials_in_memory(url: str) -> None:
    # it opened, then Optuna's first write failed with StorageInternalError
    with pytest.raises(ParameterError, match=r"an in-memory SQLite database cannot hold a "
                                             r"study.*Pass storage=None"):
        open_storage(url)


def test_workers_opening_a_fresh_file_together_all_get_wal(tmp_path) -> None:
    """SQLite refuses a second simultaneous switch to WAL at once ("database is locked"),
    without waiting its busy timeout: two ``lamina search`` workers started together on a new
    file failed in CI. Four threads race on each of 150 fresh files; every one must succeed."""
    import sqlite3

    from lamina.search._storage import _wal

    errors: list[str] = []
    for i in range(150):
        path = str(tmp_path / f"{i}.db")
        start = threading.Barrier(4)

        def open_it(path: str = path, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                _wal(path)
            except ParameterError as err:
                errors.append(str(err))

        threads = [threading.Thread(target=open_it) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert not errors, errors[:3]


def test_a_file_that_is_not_a_database_is_refused_at_once(tmp_path) -> None:
    bad = tmp_path / "notes.db"
    bad.write_text("not a database, " * 100)
    began = time.monotonic()
    with pytest.raises(ParameterError, match=r"Invalid storage=.*notes.db.*cannot open the file "
                                             r"\(file is not a database\)"):
        open_storage(f"sqlite:///{bad}")
    assert time.monotonic() - began < 5                      # not retried as a lock


@pytest.mark.parametrize("bad", ["lamina.db", "", 42, "sqlite:/x.db"])
def test_not_a_url(bad: object) -> None:
    with pytest.raises(ParameterError, match=r"expected None \(in memory\), 'sqlite:///FILE' or "
                                             r"a database URL"):
        open_storage(bad)


def test_refused_connection_is_reported_at_once_with_the_password_hidden() -> None:
    with socket.socket() as s:                 # a port that was free: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    with pytest.raises(ParameterError) as info:
        open_storage(f"postgresql://me:s3cret@127.0.0.1:{port}/db")
    assert time.perf_counter() - t0 < 5
    msg = str(info.value)
    assert "s3cret" not in msg and "***" in msg
    assert "could not open the study database" in msg and "Connection refused" in msg
    assert "Check that the server is running" in msg


def test_unknown_host() -> None:
    with pytest.raises(ParameterError, match="could not open the study database .*host name"):
        open_storage("postgresql://me@host.invalid/db")


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never answers (a hung database)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    conns: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield srv.getsockname()[1]
    stop.set()
    thread.join()
    for c in conns:
        c.close()
    srv.close()


def test_a_server_that_never_answers_times_out_within_seconds(silent_server: int) -> None:
    t0 = time.perf_counter()
    with pytest.raises(ParameterError, match="could not open the study database"):
        open_storage(f"postgresql://me@127.0.0.1:{silent_server}/db")
    assert time.perf_counter() - t0 < 15              # CONNECT_TIMEOUT is 5 s; no hang


def test_missing_driver_names_the_package() -> None:
    with pytest.raises(ParameterError, match=r"no database driver for mysql is installed.*pip "
                                             r"install pymysql"):
        open_storage("mysql://me@127.0.0.1/db")


def test_mask_url() -> None:
    assert mask_url("postgresql://u:pw@h:5/d") == "postgresql://u:***@h:5/d"


@pytest.mark.slow
def test_heartbeat_keeps_trials_alive_until_stopped(tmp_path) -> None:
    from lamina.search._heartbeat import Heartbeat

    storage = open_storage(f"sqlite:///{tmp_path / 'h.db'}", heartbeat_interval=1,
                           grace_period=2)
    study = optuna.create_study(storage=storage)
    trial = study.ask()
    with Heartbeat(storage) as hb:
        hb.add(trial._trial_id)
        time.sleep(3.0)                          # longer than the grace period
        assert storage._get_stale_trial_ids(study._study_id) == []
    time.sleep(3.0)                              # no more beats: the trial goes stale
    assert storage._get_stale_trial_ids(study._study_id) == [trial._trial_id]
