"""Linear probes: how well a linear model reads the labels off each layer's units."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import is_regressor

from .._errors import DataError, ParameterError
from ._tables import clean_sample, sample_valid, single_blas

_MAX_CLASSES = 50


def probe_task(y: np.ndarray, target: Any = None) -> str:
    """Classification for discrete labels (and lamina classifiers), regression for regressors'
    targets and other continuous values. An estimator that is neither (an autoencoder, a
    forecaster) says nothing about the labels a user probes for: they decide."""
    estimator = getattr(target, "estimator", None) if target is not None else None
    if estimator is not None and target.classes is not None:
        return "classification"
    if estimator is not None and is_regressor(estimator):
        return "regression"
    if y.ndim > 1 and y.shape[1] > 1:
        return "regression"
    flat = y.reshape(len(y))
    if flat.dtype.kind in "biuOUS":
        return "classification"
    finite = flat[np.isfinite(flat)]
    if len(finite) and np.all(finite == np.round(finite)) and len(np.unique(finite)) <= \
            _MAX_CLASSES:
        return "classification"
    return "regression"


def probe_layers(ins: Any, y: Any = None, *, task: str | None = None, test_size: float = 0.25,
                 random_state: int = 0) -> pd.DataFrame:
    """Fit a linear probe per layer on the inspection's sampled rows.

    Logistic regression (classification) or ridge regression (regression) on standardised unit
    values, trained on ``1 - test_size`` of the sampled rows and scored on the rest (accuracy,
    resp. R^2). ``y`` has one entry per inspected row (or is omitted when ``inspect`` got y).
    The ``input`` row probes the raw inputs: a layer that scores below it lost information.

    Returns
    -------
    DataFrame with ``layer, depth, width, task, metric, score, baseline, n_train, n_test``;
    ``baseline`` is the majority-class accuracy (classification) or 0 (R^2 of the mean).
    """
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    labels = _sample_labels(ins, y)
    if task is None:
        task = probe_task(labels, ins._target)
    elif task not in ("classification", "regression"):
        raise ParameterError("task", task, "allowed values are 'classification', 'regression'",
                             "Pass task='classification' or task='regression'.")
    if not isinstance(test_size, float) or not 0.05 <= test_size <= 0.9:
        raise ParameterError("test_size", test_size, "must be a float in [0.05, 0.9]",
                             "Pass e.g. test_size=0.25.")
    n = len(labels)
    if task == "classification":
        labels = labels.reshape(n)
        values, counts = np.unique(labels.astype(str) if labels.dtype.kind == "O" else labels,
                                   return_counts=True)
        if len(values) < 2:
            only = values[0].item() if isinstance(values[0], np.generic) else values[0]
            raise DataError(f"the sampled rows hold a single class ({only!r}); a probe "
                            "needs at least two. Inspect more (or more varied) data.")
        stratify = labels if counts.min() >= 2 and n * test_size >= len(values) else None
    else:
        labels = labels.astype(np.float64)
        stratify = None
    if n < 8:
        raise DataError(f"only {n} rows were sampled; a probe needs at least 8. Inspect more "
                        "data or raise sample_size.")
    train, test = train_test_split(np.arange(n), test_size=test_size,
                                   random_state=random_state, stratify=stratify)
    everything = np.ones(n, dtype=bool)
    sets = ([("input", ins.sample_x, everything)] if ins.sample_x is not None else []) + [
        (rec.name, rec.stats["sample"], sample_valid(rec.stats)) for rec in ins.records]
    rows = []
    for depth, (name, features, valid) in enumerate(sets):
        x = clean_sample(np.asarray(features).reshape(n, -1))
        # a layer that skipped some batches is probed on the sampled rows it saw
        tr, te = train[valid[train]], test[valid[test]]
        score = baseline = float("nan")
        # too few of its rows (or one class) for a probe: NaN, with n_train/n_test saying why
        if valid.all() or (len(tr) >= 2 and len(te) >= 1 and (
                task != "classification" or len(np.unique(labels[tr])) >= 2)):
            scaler = StandardScaler().fit(x[tr])
            xtr, xte = scaler.transform(x[tr]), scaler.transform(x[te])
            with warnings.catch_warnings(), single_blas():
                warnings.simplefilter("ignore")   # a probe that does not converge is still one
                if task == "classification":
                    model = LogisticRegression(max_iter=300, C=1.0).fit(xtr, labels[tr])
                    score = float(model.score(xte, labels[te]))
                    _, test_counts = np.unique(labels[te], return_counts=True)
                    baseline = float(test_counts.max() / len(te))
                else:
                    model = Ridge(alpha=1.0).fit(xtr, labels[tr])
                    score = float(model.score(xte, labels[te]))
                    baseline = 0.0
        rows.append({"layer": name, "depth": depth if sets[0][0] == "input" else depth + 1,
                     "width": x.shape[1], "task": task,
                     "metric": "accuracy" if task == "classification" else "r2",
                     "score": score, "baseline": baseline, "n_train": len(tr),
                     "n_test": len(te)})
    return pd.DataFrame(rows)


def _sample_labels(ins: Any, y: Any) -> np.ndarray:
    """Labels of the sampled rows, from ``y`` (one per inspected row) or kept by inspect."""
    if y is None:
        if ins.sample_y is None:
            raise DataError("no labels: pass y=... to probe (one per inspected row), or give y "
                            "to lamina.inspect.")
        return np.asarray(ins.sample_y)
    arr = y.detach().cpu().numpy() if hasattr(y, "detach") else np.asarray(y)
    if arr.ndim == 0 or arr.shape[0] != ins.n_rows:
        got = arr.shape[0] if arr.ndim else "a scalar"
        raise DataError(f"y has {got} entries but the inspection saw {ins.n_rows} rows; pass "
                        "one label per inspected row, in the same order.")
    return arr[ins.sample_index]
