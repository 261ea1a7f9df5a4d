"""Where a search keeps its trials: in memory, a SQLite file, or any Optuna RDB URL (PostgreSQL).

RDB storages get Optuna's heartbeat: each worker records a heartbeat for its running trials, and
a trial whose worker stopped beating (``kill -9``, a lost machine) is marked failed and, on
servers that lock rows (PostgreSQL, MySQL), re-queued by
:class:`optuna.storages.RetryHeartbeatStaleTrialCallback`, so another worker (or ``--resume``)
trains it again. SQLite cannot hand a queued trial to exactly one of several processes, so there
stale trials are only failed.
"""

from __future__ import annotations

import os
import random
import time
import warnings
from typing import Any

from .._errors import ParameterError

HEARTBEAT_INTERVAL = 5      # seconds between heartbeats of a running trial
GRACE_PERIOD = 20           # a trial silent this long is stale (its worker is gone)
CONNECT_TIMEOUT = 5         # seconds before an unreachable database server is reported


def mask_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1] if "@" in url else url


def open_storage(storage: Any, *, heartbeat_interval: int = HEARTBEAT_INTERVAL,
                 grace_period: int = GRACE_PERIOD) -> Any:
    """Turn ``storage`` (None, a URL or an Optuna storage) into an Optuna storage object.

    Parameters
    ----------
    storage : None, str or optuna.storages.BaseStorage
        ``None`` keeps trials in memory; ``"sqlite:///lamina.db"``; ``"postgresql://user@host/db"``
        or any SQLAlchemy URL Optuna's ``RDBStorage`` accepts.

    Raises
    ------
    ParameterError
        For a malformed URL, a missing database driver, a directory that does not exist, or a
        server that cannot be reached within a few seconds.

    Examples
    --------
    >>> type(open_storage(None)).__name__
    'InMemoryStorage'
    """
    import optuna

    if storage is None:
        return optuna.storages.InMemoryStorage()
    if isinstance(storage, optuna.storages.BaseStorage):
        return storage
    url = check_url(storage)
    given = storage
    dialect = storage.split("://", 1)[0].split("+", 1)[0].lower()
    engine_kwargs: dict[str, Any] = {}
    if dialect == "sqlite":
        from sqlalchemy.engine import make_url

        path = make_url(storage).database or ""
        if in_memory_sqlite(storage):
            # each pooled connection would get an empty database of its own: Optuna's tables
            # vanish and the first write fails deep inside it
            raise ParameterError("storage", storage, "an SQLite file (an in-memory SQLite "
                                 "database cannot hold a study: each connection gets its own)",
                                 "Pass storage=None to keep the trials in memory, or "
                                 "'sqlite:///lamina.db' for a file.")
        folder = os.path.dirname(os.path.abspath(path))
        if folder and not os.path.isdir(folder):
            raise ParameterError("storage", storage, f"the folder {folder!r} does not exist",
                                 "Create it first or point at an existing folder.")
        # Several processes may write one file: wait for the lock instead of failing at once.
        engine_kwargs["connect_args"] = {"timeout": 60}
        _wal(path)
        storage_obj = _rdb_storage(storage, engine_kwargs, heartbeat_interval, grace_period,
                                   given)
        _sync_normal(storage_obj.engine)
        return storage_obj
    elif dialect in ("postgresql", "postgres", "mysql"):
        engine_kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
        engine_kwargs["pool_pre_ping"] = True
    return _rdb_storage(url, engine_kwargs, heartbeat_interval, grace_period, given)


def in_memory_sqlite(url: str) -> bool:
    """Whether an SQLite URL names an in-memory database (``sqlite://``,
    ``sqlite:///:memory:``, or a ``file:`` URI with ``:memory:`` or ``mode=memory``)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    path = parsed.database or ""
    return path in ("", ":memory:") or path.startswith("file::memory:") or \
        parsed.query.get("mode") == "memory" or "mode=memory" in path


def open_stored_sqlite(url: str) -> Any:
    """An existing SQLite study file opened for reading: no switch to WAL, no pragma, nothing
    written (:func:`open_storage` prepares a file for workers that write)."""
    return _rdb_storage(url, {"connect_args": {"timeout": 60}}, HEARTBEAT_INTERVAL,
                        GRACE_PERIOD, url)


def check_url(storage: Any) -> str:
    """Check a storage URL without connecting to anything: its form, and that SQLAlchemy
    knows its kind of database and (PostgreSQL, MySQL) an installed driver. Returns the URL
    with that driver named. ``lamina search`` calls it before it creates its output folder.

    Examples
    --------
    >>> check_url("sqlite:///lamina.db")
    'sqlite:///lamina.db'
    """
    if not isinstance(storage, str) or "://" not in storage:
        fix = "Pass e.g. storage='sqlite:///lamina.db'."
        if isinstance(storage, (str, os.PathLike)) and str(storage) and \
                os.path.isfile(storage):      # a path to a study file, given as a path
            fix = f"Did you mean storage='sqlite:///{os.path.abspath(storage)}'?"
        raise ParameterError("storage", storage, "expected None (in memory), 'sqlite:///FILE' or a "
                             "database URL such as 'postgresql://user:pass@host:5432/db'", fix)
    from sqlalchemy.engine import make_url

    dialect = storage.split("://", 1)[0].split("+", 1)[0].lower()
    if dialect == "sqlite":
        try:
            parsed = make_url(storage)
        except Exception:
            raise ParameterError("storage", storage, "not a valid SQLite URL",
                                 "Write sqlite:///relative.db or sqlite:////abs/path.db.") from None
        if parsed.host:                     # sqlite://tmp/x.db: 'tmp' was read as a host
            path = f"/{parsed.host}/{parsed.database or ''}"
            raise ParameterError("storage", storage, f"an SQLite URL has no host, and this one "
                                 f"reads {parsed.host!r} as one", f"Write sqlite:///{path} (four "
                                 "slashes before an absolute path) or sqlite:///relative.db.")
        return storage
    given = storage
    if dialect in ("postgresql", "postgres", "mysql"):
        storage = _with_driver(storage, dialect)
    try:
        make_url(storage).get_dialect()
    except Exception as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ParameterError("storage", mask_url(given), f"not a database URL SQLAlchemy can "
                             f"open ({reason})", "Pass e.g. storage='sqlite:///lamina.db' or "
                             "'postgresql://user:pass@host:5432/db'.") from None
    return storage


def _wal(path: str, timeout: float = 60.0) -> None:
    """Write-ahead logging: one writer and many readers at once, and a commit without a full
    journal rewrite. The mode is stored in the file, so every process opening it gets it.

    Switching a file to WAL takes an exclusive lock, and SQLite answers "database is locked" at
    once, without waiting out the busy timeout, when two connections try it together (workers
    started at the same moment on a fresh file): such refusals are retried until ``timeout``.
    """
    import sqlite3

    deadline = time.monotonic() + timeout
    attempt = 0
    reason: sqlite3.Error
    while True:
        try:
            with sqlite3.connect(path, timeout=timeout) as conn:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            text = str(err).lower()
            if ("locked" in text or "busy" in text) and time.monotonic() < deadline:
                attempt += 1
                time.sleep(min(0.5, 0.01 * 2 ** min(attempt, 6)) * (0.5 + random.random()))
                continue
            reason = err
        except sqlite3.Error as err:
            reason = err
        raise ParameterError("storage", f"sqlite:///{path}", f"cannot open the file ({reason})",
                             "Check the path and its permissions.") from None


def _sync_normal(engine: Any) -> None:
    """``synchronous=NORMAL`` on every connection: with WAL, a commit no longer waits for the
    disk (a power cut may lose the last trials, never corrupt the file)."""
    from sqlalchemy import event

    def on_connect(conn: Any, _record: Any) -> None:
        conn.execute("PRAGMA synchronous=NORMAL")

    event.listen(engine, "connect", on_connect)
    engine.dispose()                     # connections opened while creating tables: reopen


def _with_driver(url: str, dialect: str) -> str:
    """Name an installed driver in the URL, or say which package to install.

    SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3; many installs only have psycopg2
    (``psycopg2-binary``), so a bare URL uses whichever of the two is present.
    """
    import importlib.util

    scheme, rest = url.split("://", 1)
    if "+" in scheme:
        driver = scheme.split("+", 1)[1].lower()
        candidates = [driver]
    elif dialect.startswith("postgres"):
        candidates = ["psycopg", "psycopg2"]
    else:
        candidates = ["mysqldb", "pymysql"]
    modules = {"mysqldb": "MySQLdb"}
    for driver in candidates:
        if importlib.util.find_spec(modules.get(driver, driver)) is not None:
            base = "postgresql" if dialect.startswith("postgres") else dialect
            return f"{base}+{driver}://{rest}"
    package = {"psycopg2": "psycopg2-binary", "psycopg": "psycopg2-binary",
               "pymysql": "pymysql", "mysqldb": "pymysql"}.get(candidates[-1], candidates[-1])
    raise ParameterError("storage", mask_url(url), f"no database driver for {dialect} is "
                         f"installed (tried {', '.join(candidates)})",
                         f"Install one: pip install {package}.")


def _rdb_storage(url: str, engine_kwargs: dict[str, Any], heartbeat_interval: int,
                 grace_period: int, given: str) -> Any:
    import optuna
    import sqlalchemy.exc

    callbacks = optuna.storages
    retry = getattr(callbacks, "RetryHeartbeatStaleTrialCallback", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                  # experimental-feature warnings
        hb: dict[str, Any] = {}
        if url.startswith("sqlite"):
            # SQLite cannot lock the row of a queued (WAITING) trial, so two workers could both
            # take a retry; there, trials of a dead worker are failed, not queued again
            pass
        elif retry is not None:
            hb = {"heartbeat_stale_trial_callback": retry(max_retry=3)}
        else:                                            # optuna < 4.9
            hb = {"failed_trial_callback": callbacks.RetryFailedTrialCallback(max_retry=3)}
        reason = ""
        for attempt in range(4):
            try:
                return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs,
                                                  heartbeat_interval=heartbeat_interval,
                                                  grace_period=grace_period, **hb)
            except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as err:
                reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
                # workers started together race to create Optuna's tables in a fresh database;
                # the loser sees a duplicate: the tables exist now, so try again
                if attempt < 3 and _creation_race(err, reason):
                    time.sleep(0.2 + random.random() * 0.5 * (attempt + 1))
                    continue
                break
        raise ParameterError(
            "storage", mask_url(given), f"could not open the study database ({reason})",
            "Check that the server is running and reachable (host, port, user, password, "
            "database name), or use storage='sqlite:///lamina.db' on one machine.",
        ) from None


def _creation_race(err: Exception, reason: str) -> bool:
    import sqlalchemy.exc

    text = reason.lower()
    return isinstance(err, sqlalchemy.exc.IntegrityError) or "already exists" in text or \
        "duplicate key" in text


def is_rdb(storage: Any) -> bool:
    import optuna

    return isinstance(storage, optuna.storages.RDBStorage)


def is_sqlite(storage: Any) -> bool:
    return is_rdb(storage) and str(storage.url).startswith("sqlite")


__all__ = ["open_storage", "open_stored_sqlite", "in_memory_sqlite", "check_url", "mask_url",
           "is_rdb", "is_sqlite", "HEARTBEAT_INTERVAL", "GRACE_PERIOD"]
