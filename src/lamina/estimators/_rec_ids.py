"""Raw user/item ids <-> network indices, the items each user has rated, and reading
``(user, item[, rating])`` from arrays or DataFrames — the data side of the Recommender."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._errors import DataError


class IdMap:
    """Raw ids (ints, strings, ...) -> network indices ``1..n``; anything unseen -> 0.

    Examples
    --------
    >>> m = IdMap.fit(np.array(["b", "a", "b"]), "user")
    >>> m.ids.tolist(), m.index(np.array(["a", "b", "zz"])).tolist()
    (['a', 'b'], [1, 2, 0])
    """

    def __init__(self, ids: np.ndarray, what: str) -> None:
        self.ids = ids
        self.what = what
        self._index = pd.Index(ids)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def fit(cls, raw: np.ndarray, what: str) -> IdMap:
        check_ids(raw, what)
        unique = pd.Index(raw).unique()
        try:
            unique = unique.sort_values()     # sorted: the same data always gives the same map
        except TypeError:
            raise DataError(f"the {what} ids mix types that cannot be ordered (e.g. numbers "
                            f"and strings: {list(unique[:3])!r}). Use one type per column, "
                            "e.g. convert them all with str().") from None
        return cls(np.asarray(unique), what)

    def index(self, raw: np.ndarray) -> np.ndarray:
        """``(n,)`` int64 network indices; 0 for ids not seen in fit. Ids of another type than
        the fitted ones (``"290"`` for ``290``) are all unseen: that warns, naming the fix."""
        check_ids(raw, self.what)
        out = (self._index.get_indexer(pd.Index(raw)) + 1).astype(np.int64)
        if len(out) and not out.any() and _kind(raw) != _kind(self.ids):
            import warnings

            def show(v: Any) -> str:
                return repr(v.item() if isinstance(v, np.generic) else v)

            warnings.warn(f"the {self.what} ids given are {_kind(raw)}s (e.g. "
                          f"{show(np.asarray(raw).ravel()[0])}) but the model was fitted on "
                          f"{_kind(self.ids)}s (e.g. {show(self.ids[0])}): none is known, so "
                          "every one gets the cold-start fallback. Convert them to the fitted "
                          "type first.", UserWarning, stacklevel=3)
        return out

    def to_json(self) -> list[Any]:
        return [v.item() if isinstance(v, np.generic) else v for v in self.ids.tolist()]

    @classmethod
    def from_json(cls, values: list[Any], what: str) -> IdMap:
        ids = np.asarray(values)
        if ids.dtype.kind in "US":   # keep strings as Python objects, as pandas gave them
            ids = ids.astype(object)
        return cls(ids, what)


def _kind(values: np.ndarray) -> str:
    """``"string"`` or ``"number"`` (or the type name) of an id array's first element."""
    first = np.asarray(values).ravel()[:1]
    if not len(first):
        return "empty"
    v = first[0]
    if isinstance(v, (str, np.str_, bytes)):
        return "string"
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return "number"
    return type(v).__name__


class SeenItems:
    """The item indices (0-based) each user (0-based) rated in fit, in CSR layout."""

    def __init__(self, indptr: np.ndarray, items: np.ndarray) -> None:
        self.indptr, self.items = indptr, items

    @classmethod
    def from_pairs(cls, users: np.ndarray, items: np.ndarray, n_users: int) -> SeenItems:
        order = np.lexsort((items, users))
        indptr = np.concatenate([[0], np.cumsum(np.bincount(users, minlength=n_users))])
        return cls(indptr.astype(np.int64), items[order].astype(np.int64))

    def items_of(self, user: int) -> np.ndarray:
        return self.items[self.indptr[user]:self.indptr[user + 1]]

    def to_json(self) -> dict[str, list[int]]:
        return {"indptr": self.indptr.tolist(), "items": self.items.tolist()}

    @classmethod
    def from_json(cls, state: dict[str, list[int]]) -> SeenItems:
        return cls(np.asarray(state["indptr"], dtype=np.int64),
                   np.asarray(state["items"], dtype=np.int64))


def check_ids(raw: np.ndarray, what: str) -> None:
    """Missing (None/NaN) or infinite values are not ids: refuse them with their position."""
    missing = np.asarray(pd.isna(raw))
    if raw.dtype.kind == "f":
        missing = missing | ~np.isfinite(raw)
    if missing.any():
        row = int(np.argmax(missing))
        raise DataError(f"the {what} ids hold a missing or infinite value (row {row}: "
                        f"{raw[row]!r}). Drop those rows or give them an id.")


def split_pairs(X: Any, y: Any, user_col: str, item_col: str, rating_col: str,
                need_y: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(users, items, ratings)`` from an ``(n, 2)`` array or a DataFrame (+ ``y``)."""
    if isinstance(X, pd.DataFrame):
        missing = [c for c in (user_col, item_col) if c not in X.columns]
        if missing:
            raise DataError(f"the DataFrame has no column {missing[0]!r} (columns: "
                            f"{list(X.columns)}). Name the columns with user_col=..., "
                            "item_col=... (and rating_col=...).")
        users, items = X[user_col].to_numpy(), X[item_col].to_numpy()
        if y is None and need_y and rating_col in X.columns:
            y = X[rating_col].to_numpy()
    else:
        if hasattr(X, "tocsr") or hasattr(X, "todense"):
            raise DataError("Sparse input is not supported: pass the (user, item) ids as a dense "
                            "(n, 2) array or a DataFrame.")
        try:
            arr = np.asarray(X)
        except (TypeError, ValueError):
            raise DataError("X must be an (n, 2) array of (user, item) ids or a DataFrame with "
                            "user and item columns.") from None
        if np.iscomplexobj(arr):
            raise DataError("Complex data not supported: (user, item) ids must be ints, strings "
                            "or other plain values.")
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise DataError(f"X must hold (user, item) pairs: an (n, 2) array or a DataFrame "
                            f"with columns {user_col!r} and {item_col!r}; got shape "
                            f"{arr.shape}. Stack them, e.g. np.column_stack([users, items]).")
        users, items = arr[:, 0], arr[:, 1]
    if len(users) == 0:
        raise DataError("X holds no (user, item) pairs (0 rows). Pass at least one.")
    if need_y and y is None:
        raise DataError("Recommender requires y to be passed, but the target y is None. Pass "
                        f"the ratings as fit(X, y), or a DataFrame with a {rating_col!r} "
                        "column.")
    ratings = None
    if y is not None:
        try:
            ratings = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError("y must hold numeric ratings.") from None
        if ratings.ndim == 2 and ratings.shape[1] == 1:
            ratings = ratings[:, 0]
        if ratings.ndim != 1 or len(ratings) != len(users):
            raise DataError(f"Found input variables with inconsistent numbers of samples: X "
                            f"has {len(users)} pairs, y has shape {ratings.shape}. Pass one "
                            "rating per (user, item) pair.")
        if not np.isfinite(ratings).all():
            raise DataError(f"y holds NaN or infinite ratings (first at row "
                            f"{int(np.argmax(~np.isfinite(ratings)))}). Drop those rows.")
    return users, items, ratings


__all__ = ["IdMap", "SeenItems", "split_pairs", "check_ids"]
