"""MovieLens-100K ratings, read from the copy bundled with RecBole (without importing it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._errors import DataError
from ._dataset import Dataset
from ._packages import Requirement, package_dir

__all__ = ["movielens100k", "RECBOLE"]

# --no-deps: recbole's dependencies would pull another torch (and ray, tensorboard, ...),
# while lamina only reads the four text files it ships.
RECBOLE = Requirement("python", "recbole", install="pip install --no-deps recbole")


def movielens100k() -> Dataset:
    """MovieLens-100K: 100000 ratings (1-5 stars) by 943 users of 1682 movies.

    ``X`` is an int64 ``(100000, 2)`` array of ``(user, item)`` indices re-numbered from 0,
    ``y`` the float32 rating. ``extras`` keeps the raw ids (``user_ids[u]``, ``item_ids[i]``
    are the original ids of index ``u``/``i``), the ``timestamp`` of each rating, and the
    ``users`` (age, gender, occupation, zip code) and ``items`` (title, year, genres)
    DataFrames in index order. GroupLens terms: research use, cite, do not redistribute.
    Needs ``pip install --no-deps recbole``.

    Examples
    --------
    >>> ds = movielens100k()
    >>> ds.X.shape, int(ds.X[:, 0].max()) + 1, int(ds.X[:, 1].max()) + 1
    ((100000, 2), 943, 1682)
    """
    root = package_dir("recbole", "movielens100k", "recbole", install=RECBOLE.command)
    folder = root / "dataset_example" / "ml-100k"
    inter = _read_atomic(folder / "ml-100k.inter")
    users = _read_atomic(folder / "ml-100k.user")
    items = _read_atomic(folder / "ml-100k.item")
    for col in ("user_id", "item_id", "rating", "timestamp"):
        if col not in inter.columns:
            raise DataError(f"dataset 'movielens100k': {folder / 'ml-100k.inter'} has no "
                            f"{col!r} column (columns: {list(inter.columns)}). Reinstall: "
                            f"{RECBOLE.command}")
    # np.unique sorts the raw ids, so index u is the u-th smallest raw id (here raw id - 1)
    user_ids, user_idx = np.unique(inter["user_id"].to_numpy(), return_inverse=True)
    item_ids, item_idx = np.unique(inter["item_id"].to_numpy(), return_inverse=True)
    X = np.stack([user_idx, item_idx], axis=1).astype(np.int64)
    extras: dict[str, Any] = {
        "user_ids": user_ids,
        "item_ids": item_ids,
        "timestamp": inter["timestamp"].to_numpy().astype(np.int64),
        "users": users.set_index("user_id").reindex(user_ids),
        "items": items.set_index("item_id").reindex(item_ids),
    }
    return Dataset(
        name="movielens100k", task="ratings", X=X,
        y=inter["rating"].to_numpy().astype(np.float32), feature_names=["user", "item"],
        description="MovieLens-100K (GroupLens, Harper & Konstan 2015; research use, cite, do "
                    "not redistribute): 100000 ratings, 943 users, 1682 movies, from RecBole's "
                    "dataset_example/ml-100k atomic files.",
        extras=extras,
    )


def _read_atomic(path: Path) -> Any:
    """Read a RecBole atomic file: tab-separated, header ``name:type``; types are dropped."""
    import pandas as pd

    if not path.is_file():
        raise DataError(f"dataset 'movielens100k': {path} is missing from the installed "
                        f"recbole. Reinstall it: {RECBOLE.command}")
    frame = pd.read_csv(path, sep="\t", encoding="utf-8")
    frame.columns = [str(c).split(":", 1)[0] for c in frame.columns]
    return frame
