"""One ``History`` of a training: a record per epoch, saved as JSON lines."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()   # a numpy / torch scalar a callback put into the record
    elif hasattr(value, "tolist") and not isinstance(value, (list, tuple)):
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/inf; keep them readable
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _from_json(value: Any) -> Any:
    if value in ("nan", "inf", "-inf"):
        return float(value)
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


class History:
    """Per-epoch records: ``epoch, train_loss, val_loss, val_<metric>, lr, seconds, step,
    grad_norm`` (one value per hidden layer, then the head), plus whatever callbacks add.

    Examples
    --------
    >>> h = History()
    >>> h.append({"epoch": 1, "train_loss": 0.5})
    >>> h["train_loss"]
    [0.5]
    """

    def __init__(self, records: list[dict[str, Any]] | None = None,
                 stop_reason: str = "") -> None:
        self.records: list[dict[str, Any]] = list(records or [])
        self.stop_reason = stop_reason

    def append(self, record: dict[str, Any]) -> None:
        self.records.append(dict(record))

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records)

    def __getitem__(self, key: str | int) -> Any:
        """``hist[i]``: the record of epoch ``i + 1`` (numpy integers too, e.g. from argmin);
        ``hist["train_loss"]``: that value per epoch (None for epochs without it, e.g. the
        validation values of an epoch that diverged; ``"val_loss" in hist`` tells whether any
        epoch has it)."""
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            return self.records[int(key)]
        return [r.get(str(key)) for r in self.records]

    def __contains__(self, key: object) -> bool:
        return key in self.keys()

    @property
    def last(self) -> dict[str, Any]:
        return self.records[-1] if self.records else {}

    def keys(self) -> list[str]:
        seen: dict[str, None] = {}
        for r in self.records:
            seen.update(dict.fromkeys(r))
        return list(seen)

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.records)

    def to_jsonl(self) -> str:
        lines = [json.dumps({k: _jsonable(v) for k, v in r.items()}) for r in self.records]
        return "".join(line + "\n" for line in lines)

    def save(self, path: str | Path) -> None:
        atomic_write_text(Path(path), self.to_jsonl())

    @classmethod
    def load(cls, path: str | Path) -> History:
        records = []
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    records.append({k: _from_json(v) for k, v in json.loads(line).items()})
        return cls(records)

    def __repr__(self) -> str:
        return f"History({len(self.records)} epochs, keys={self.keys()})"


def file_mode() -> int:
    """The mode ``open()`` would give a new file: 0o666 less the process's umask (read
    without changing it where /proc says it; else by setting it and putting it back)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Have ``write(tmp_path)`` write a temp file in ``path``'s folder, then ``os.replace`` it
    onto ``path``: readers see the old file or the whole new one, never part of one. The file
    gets the mode a plain ``open()`` would give it (mkstemp's 0600 would make a saved model
    unreadable to the other users and services that are meant to load it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`), synced to disk."""

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    atomic_write(path, write)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
