"""Fixtures of the search tests: small real data, and a throwaway PostgreSQL server.

The server is the real Debian PostgreSQL 15 (``make test`` installs it): a fresh cluster in a
temp dir, listening on 127.0.0.1 at a free port, with its socket dir in the same temp dir, run
as the ``postgres`` system user when the tests run as root (PostgreSQL refuses to run as root),
and stopped in teardown.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from lamina._threads import few_threads

PG_BIN = Path("/usr/lib/postgresql/15/bin")


@pytest.fixture(scope="session")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """sklearn's 8x8 digits scaled to [0, 1]: 1797 x 64, 10 classes."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_owner(cmd: list[str], owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--", *cmd] if owner else cmd


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a running throwaway PostgreSQL cluster (database ``postgres``, trust auth)."""
    if not (PG_BIN / "initdb").exists():
        pytest.fail("PostgreSQL 15 is not installed: run `make sysdeps` (apt-get install "
                    "postgresql) so the distributed-search tests can start a real server")
    owner = None
    if os.geteuid() == 0:
        owner = "postgres"
        try:
            pwd.getpwnam(owner)
        except KeyError:
            pytest.fail("running as root needs the 'postgres' system user (Debian's postgresql "
                        "package creates it) to run the server")
    root = Path(tempfile.mkdtemp(prefix="lamina-pg-"))
    if owner:
        entry = pwd.getpwnam(owner)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    data, log = root / "data", root / "server.log"
    port = _free_port()
    subprocess.run(_as_owner([str(PG_BIN / "initdb"), "-D", str(data), "-U", "lamina",
                              "--auth=trust", "-E", "UTF8", "--no-sync"], owner),
                   check=True, capture_output=True, timeout=120)
    options = f"-h 127.0.0.1 -p {port} -k {root} -F -c max_connections=60"
    start = subprocess.run(_as_owner([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log),
                                      "-o", options, "-w", "-t", "60", "start"], owner),
                           capture_output=True, text=True, timeout=90)
    if start.returncode != 0:
        text = log.read_text() if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {start.stderr}\n{text[-2000:]}")
    try:
        yield f"postgresql://lamina@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_owner([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                  "-w", "stop"], owner), capture_output=True, timeout=60)
        time.sleep(0.2)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Two OpenMP threads on a busy shared 2-core machine spin against each other and run
    10-100x slower; the search's timing-based tests need the steady single-thread speed."""
    with few_threads(1):
        yield


@pytest.fixture
def small_space() -> dict[str, object]:
    """A space whose networks train in milliseconds on digits."""
    return {"n_layers": (1, 2), "width": (16, 64, "log"), "batch_size": [64, 128],
            "lr": (1e-3, 3e-2, "log")}
