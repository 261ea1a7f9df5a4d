"""Choosing a split (train / test / all) and a seeded, stratified subsample of a Dataset."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .._errors import ParameterError
from ._dataset import Dataset

__all__ = ["select_split", "subsample", "SPLITS"]

SPLITS = ("train", "test", "all")
_STRATIFY_TASKS = ("classification", "text", "sequence")


def select_split(ds: Dataset, split: str) -> Dataset:
    """``train``: as loaded; ``test``: the official test split as ``X``/``y``; ``all``: both."""
    if split == "train":
        return ds
    if ds.X_test is None:
        if split == "all":
            return ds
        raise ParameterError("split", split, f"dataset {ds.name!r} has no official test split",
                             "Use split='train' and hold out part of it, e.g. "
                             "sklearn.model_selection.train_test_split.")
    extras = {k: v for k, v in ds.extras.items() if not k.endswith("_test")}
    if split == "test":
        for key, value in ds.extras.items():
            if key.endswith("_test"):
                extras[key[: -len("_test")]] = value
        return dataclasses.replace(ds, X=ds.X_test, y=ds.y_test, X_test=None, y_test=None,
                                   extras=extras)
    X = (ds.X + ds.X_test if isinstance(ds.X, list)
         else np.concatenate([ds.X, ds.X_test]))
    y = None if ds.y is None or ds.y_test is None else np.concatenate([ds.y, ds.y_test])
    for key, value in ds.extras.items():
        if key.endswith("_test") and key[: -len("_test")] in extras:
            extras[key[: -len("_test")]] = _concat(extras[key[: -len("_test")]], value)
    return dataclasses.replace(ds, X=X, y=y, X_test=None, y_test=None, extras=extras)


def subsample(ds: Dataset, n_samples: int, seed: int) -> Dataset:
    """Keep ``n_samples`` training rows (stratified by class for labelled data), seeded.

    The official test split, if any, keeps the same fraction (at least one row). A forecasting
    series keeps its last ``n_samples`` points, in order. Extras with one entry per sample are
    cut alongside. Rows keep their original order.
    """
    n = len(ds.X)
    if n_samples >= n:
        return ds
    if ds.task == "forecasting":
        keep = np.arange(n - n_samples, n)
        return dataclasses.replace(ds, X=_take(ds.X, keep),
                                   extras=_cut_extras(ds.extras, n, keep, ""))
    rng = np.random.default_rng(seed)
    keep = _indices(ds.y, ds.task, n_samples, rng)
    changes: dict[str, Any] = {"X": _take(ds.X, keep), "y": _take(ds.y, keep)}
    extras = _cut_extras(ds.extras, n, keep, "")
    if ds.X_test is not None:
        n_test = len(ds.X_test)
        m = max(1, round(n_test * n_samples / n))
        keep_test = _indices(ds.y_test, ds.task, m, rng)
        changes.update(X_test=_take(ds.X_test, keep_test), y_test=_take(ds.y_test, keep_test))
        extras = _cut_extras(extras, n_test, keep_test, "_test")
    return dataclasses.replace(ds, extras=extras, **changes)


def _indices(y: Any, task: str, m: int, rng: np.random.Generator) -> np.ndarray:
    n = len(y) if y is not None else 0
    if y is None or task not in _STRATIFY_TASKS or np.asarray(y).ndim != 1:
        return np.sort(rng.choice(n, size=m, replace=False))
    labels = np.asarray(y)
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    # largest-remainder allocation: class sizes proportional to the full set, summing to m
    exact = counts * (m / n)
    quota = np.floor(exact).astype(np.int64)
    short = m - int(quota.sum())
    quota[np.argsort(-(exact - quota), kind="stable")[:short]] += 1
    picked = [rng.choice(np.flatnonzero(inverse == k), size=int(q), replace=False)
              for k, q in enumerate(quota) if q > 0]
    return np.sort(np.concatenate(picked))


def _take(values: Any, idx: np.ndarray) -> Any:
    if values is None:
        return None
    if isinstance(values, list):
        return [values[int(i)] for i in idx]
    if hasattr(values, "iloc"):
        return values.iloc[idx]
    return values[idx]


def _cut_extras(extras: Any, n: int, idx: np.ndarray, suffix: str) -> dict[str, Any]:
    out = dict(extras)
    for key, value in extras.items():
        per_sample = key.endswith("_test") if suffix else not key.endswith("_test")
        if per_sample and hasattr(value, "__len__") and not isinstance(value, str) \
                and len(value) == n:
            out[key] = _take(value, idx)
    return out


def _concat(a: Any, b: Any) -> Any:
    if isinstance(a, list):
        return a + list(b)
    if hasattr(a, "append") and hasattr(a, "iloc"):
        import pandas as pd

        return pd.concat([a, b])
    return np.concatenate([a, b])
