"""Check the data against the objective, split it, and put it on the device once.

Objectives: a primary score, ``accuracy`` (classification) or ``r2`` (regression), optionally
followed by ``latency`` (batch-1 milliseconds) and/or ``params`` (weights + biases), minimised.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import DataError, ParameterError, short_repr

# read_table's threshold, so that a target means the same to a table and to a search
from ..datasets._task import MAX_CLASSES_GUESS, guess_task

PRIMARY = {"accuracy": "classification", "r2": "regression"}
SECONDARY = ("latency", "params")
DIRECTIONS = {"accuracy": "maximize", "r2": "maximize", "latency": "minimize", "params": "minimize"}
MIN_SAMPLES = 5


def parse_objective(objective: Any, y: Any = None) -> tuple[str, ...]:
    """``"accuracy"`` / ``("accuracy", "latency")`` / None (by y) -> names, primary first.

    None (or ``"auto"``) picks ``"accuracy"`` or ``"r2"`` by :func:`guess_task`, the rule
    :func:`lamina.datasets.read_table` applies to a table's target.

    Examples
    --------
    >>> parse_objective(("accuracy", "params"))
    ('accuracy', 'params')
    >>> parse_objective(None, np.arange(25.0))       # 25 distinct whole numbers: a quantity
    ('r2',)
    """
    allowed = ("'accuracy', 'r2', or a tuple of one of them and 'latency' and/or 'params', "
               "e.g. ('accuracy', 'latency')")
    if objective is None or objective == "auto":
        return ("r2",) if y is not None and guess_task(y) == "regression" else ("accuracy",)
    names = (objective,) if isinstance(objective, str) else objective
    if not isinstance(names, (tuple, list)) or not names or not all(isinstance(n, str)
                                                                    for n in names):
        raise ParameterError("objective", objective, allowed, "Pass objective='accuracy'.")
    names = tuple(n.strip().lower() for n in names)
    if names[0] not in PRIMARY:
        raise ParameterError("objective", objective, allowed + "; the first must be a score",
                             "Put 'accuracy' (or 'r2') first.")
    rest = names[1:]
    if any(n not in SECONDARY for n in rest) or len(set(rest)) != len(rest):
        raise ParameterError("objective", objective, allowed,
                             "Add only 'latency' and/or 'params', once each, after the score.")
    return names


@dataclass
class Split:
    """One train/validation split as device tensors (``y_val`` as used by the scorer)."""

    X_train: Any
    Y_train: Any
    X_val: Any
    Y_val: Any


@dataclass
class SearchData:
    task: str                      # "classification" | "regression"
    n_features: int
    n_outputs: int
    n_samples: int
    classes: np.ndarray | None
    splits: list[Split] = field(default_factory=list)
    fingerprint: str = ""          # of the rows searched (data_fingerprint): studies compare it

    @property
    def n_train(self) -> int:
        return int(self.splits[0].X_train.shape[0])

    @property
    def min_train(self) -> int:
        """Training rows of the smallest split (cv folds differ by a row)."""
        return min(int(s.X_train.shape[0]) for s in self.splits)

    @property
    def n_val(self) -> int:
        return int(self.splits[0].X_val.shape[0])

    def baseline(self) -> float:
        """The validation score of a model that learnt nothing, averaged over the splits:
        always the training rows' most frequent class (accuracy), their mean (r2: 0)."""
        if self.task != "classification":
            return 0.0
        import torch

        scores = []
        for s in self.splits:
            majority = torch.bincount(s.Y_train, minlength=self.n_outputs).argmax()
            scores.append(float((s.Y_val == majority).double().mean()))
        return float(np.mean(scores))

    def describe(self) -> dict[str, Any]:
        """What a study must agree on to be shared (stored with it)."""
        return {"task": self.task, "n_features": self.n_features, "n_outputs": self.n_outputs,
                "n_samples": self.n_samples, "sha256": self.fingerprint}


def data_fingerprint(Xa: np.ndarray, ya: np.ndarray) -> str:
    """The first 16 hex digits of a SHA-256 over the checked ``X`` (float32) and ``y``: the
    same rows give the same value in any process, on any machine, so workers of one study can
    check that they search the same data."""
    import hashlib

    h = hashlib.sha256()
    h.update(np.ascontiguousarray(Xa, dtype=np.float32).tobytes())
    h.update(str(Xa.shape).encode())
    if ya.dtype.kind in "iufb":
        h.update(np.ascontiguousarray(ya, dtype=np.float64).tobytes())
    else:
        h.update(repr(ya.tolist()).encode())
    return h.hexdigest()[:16]


def check_xy(X: Any, y: Any, objective: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, str]:
    """Validate ``X``/``y`` for ``objective``; return float32 X, y, and the task."""
    if hasattr(X, "toarray") and not isinstance(X, np.ndarray):
        raise DataError(f"Invalid X={type(X).__name__}: sparse matrices are not supported by the "
                        "search. Pass X.toarray() (dense) instead.")
    try:
        Xa = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError):
        raise DataError(f"Invalid X={short_repr(X)}: X must be numeric (a 2-D array of numbers). "
                        "Encode text or categories as numbers first.") from None
    if Xa.ndim != 2:
        fix = "Use X.reshape(-1, 1) for a single feature." if Xa.ndim == 1 else \
            "Flatten each sample: X.reshape(len(X), -1)."
        raise DataError(f"Invalid X with shape {Xa.shape}: X must be 2-D (samples, features). {fix}")
    if not np.isfinite(Xa).all():
        raise DataError(f"Invalid X: it holds {int((~np.isfinite(Xa)).sum())} NaN or infinite "
                        "values. Impute or drop them first.")
    ya = np.asarray(y)
    if ya.ndim == 0 or len(ya) != len(Xa):
        raise DataError(f"Invalid y with shape {ya.shape}: y must have one entry per row of X "
                        f"({len(Xa)} rows). Pass labels aligned with X.")
    if len(Xa) < MIN_SAMPLES:
        raise DataError(f"Invalid X with {len(Xa)} rows: a search needs at least {MIN_SAMPLES} "
                        "(some for training, some for validation). Pass more data.")
    task = PRIMARY[objective[0]]
    if task == "classification":
        if ya.ndim != 1:
            raise DataError(f"Invalid y with shape {ya.shape}: objective {objective[0]!r} needs one "
                            "class label per sample (1-D y). Use objective='r2' for multi-output "
                            "regression.")
        if _is_continuous(ya):
            example = next(v for v in ya.astype(float) if v != np.round(v))
            raise DataError(f"Invalid y for objective={objective[0]!r}: y holds continuous values "
                            f"(e.g. {example!r}), not class labels. Use objective='r2' for "
                            "regression, or pass integer/string class labels.")
        if ya.dtype.kind == "f" and not np.isfinite(ya).all():
            raise DataError("Invalid y: it holds NaN or infinite labels. Drop those rows first.")
        n_values = len(np.unique(ya))
        if ya.dtype.kind in "iuf" and guess_task(ya) == "regression":
            warnings.warn(f"objective={objective[0]!r} treats each of y's {n_values} distinct "
                          "whole numbers as a class; y looks like a quantity (more than "
                          f"{MAX_CLASSES_GUESS} distinct numbers). If it is one, pass "
                          "objective='r2' (or leave objective unset).", UserWarning,
                          stacklevel=3)
        if n_values < 2:
            only = ya[0].item() if hasattr(ya[0], "item") else ya[0]
            raise DataError(f"Invalid y: it holds a single class ({short_repr(only)}); accuracy "
                            "needs at least two. Pass data with two or more classes.")
    else:
        if ya.dtype.kind not in "biuf":
            raise DataError(f"Invalid y for objective={objective[0]!r}: y holds {ya.dtype} values; "
                            "r2 needs numbers. Use objective='accuracy' for class labels.")
        ya = ya.astype(np.float32)
        if ya.ndim > 2:
            raise DataError(f"Invalid y with shape {ya.shape}: y must be 1-D or 2-D.")
        if not np.isfinite(ya).all():
            raise DataError("Invalid y: it holds NaN or infinite targets. Drop those rows first.")
        if np.all(ya.std(axis=0) == 0):
            raise DataError("Invalid y: the target is constant, so r2 is undefined. "
                            "Check that y is the column you meant.")
    return Xa, ya, task


def prepare(X: Any, y: Any, objective: tuple[str, ...], *, validation_fraction: float = 0.2,
            cv: int | None = None, random_state: int = 0, device: Any = "cpu",
            dtype: Any = None, validation_data: Any = None) -> SearchData:
    """Validate, encode labels, split (hold-out, ``cv`` folds, or the given validation data)
    and move to ``device``."""
    import torch
    from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

    n_given = None
    if validation_data is not None:
        if cv is not None:
            raise ParameterError("validation_data", "(X_val, y_val)", "cannot be combined with "
                                 "cv", "Pass either cv=k or validation_data=(X_val, y_val).")
        n_given = int(np.shape(X)[0]) if np.ndim(X) else 0
        X, y = join_validation(X, y, validation_data)
    Xa, ya, task = check_xy(X, y, objective)
    dt = dtype or torch.float32
    classes = None
    if task == "classification":
        classes, target = np.unique(ya, return_inverse=True)
        n_out = len(classes)
        if n_given is not None:
            _check_val_labels(classes, target, n_given)
    else:
        target = ya.reshape(len(ya), -1)
        n_out = target.shape[1]
    counts = np.bincount(target) if task == "classification" else None
    stratify = target if counts is not None and counts.min() >= 2 else None
    if n_given is not None:
        pairs = [(np.arange(n_given), np.arange(n_given, len(Xa)))]
        if len(pairs[0][1]) == 0:
            raise DataError("Invalid validation_data: it holds no rows. Pass (X_val, y_val) "
                            "with at least one row.")
    elif cv is not None:
        if isinstance(cv, bool) or not isinstance(cv, numbers.Integral) or not 2 <= cv <= len(Xa):
            raise ParameterError("cv", cv, f"None (hold-out) or an integer in [2, {len(Xa)}]",
                                 "Pass e.g. cv=5, or cv=None with validation_fraction=0.2.")
        if stratify is not None and counts is not None and counts.min() >= cv:
            folds = StratifiedKFold(cv, shuffle=True, random_state=random_state).split(Xa, target)
        else:
            folds = KFold(cv, shuffle=True, random_state=random_state).split(Xa)
        pairs = list(folds)
    else:
        if (isinstance(validation_fraction, bool) or not isinstance(validation_fraction, float)
                or not 0 < validation_fraction < 1):
            raise ParameterError("validation_fraction", validation_fraction,
                                 "a float in (0, 1)", "Pass e.g. validation_fraction=0.2.")
        n_val = max(1, int(round(validation_fraction * len(Xa))))
        if stratify is not None and n_val < n_out:
            stratify = None
        idx = np.arange(len(Xa))
        tr, va = train_test_split(idx, test_size=n_val, random_state=random_state,
                                  stratify=stratify)
        pairs = [(tr, va)]
    y_dtype = torch.int64 if task == "classification" else dt
    splits = []
    for tr, va in pairs:
        splits.append(Split(
            torch.as_tensor(Xa[tr], dtype=dt, device=device),
            torch.as_tensor(target[tr], dtype=y_dtype, device=device),
            torch.as_tensor(Xa[va], dtype=dt, device=device),
            torch.as_tensor(target[va], dtype=y_dtype, device=device)))
    return SearchData(task, Xa.shape[1], n_out, len(Xa), classes, splits,
                      data_fingerprint(Xa, ya))


def join_validation(X: Any, y: Any, validation_data: Any) -> tuple[Any, Any]:
    """``X``, ``y`` with ``validation_data = (X_val, y_val)`` appended, after checking that
    they fit together (same columns, one label per row). A DataFrame ``X`` stays one (its
    column names are the model's feature names); ``X_val`` must then have the same columns.
    """
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise ParameterError("validation_data", validation_data,
                             "a pair (X_val, y_val)", "Pass validation_data=(X_val, y_val).")
    X_val, y_val = validation_data
    for name, a in (("X", X), ("X_val", X_val)):
        if hasattr(a, "toarray") and not isinstance(a, np.ndarray):
            raise DataError(f"Invalid {name}={type(a).__name__}: sparse matrices are not "
                            f"supported by the search. Pass {name}.toarray() (dense) instead.")
    cols, val_cols = _columns(X), _columns(X_val)
    shape, val_shape = np.shape(X), np.shape(X_val)
    if len(val_shape) != len(shape) or val_shape[1:] != shape[1:]:
        what = (f"{val_shape[1]} columns" if len(val_shape) == 2 else f"shape {val_shape}")
        want = f"{shape[1]} columns" if len(shape) == 2 else f"shape {shape}"
        raise DataError(f"Invalid validation_data: X_val has {what}, X has {want}. Pass X_val "
                        "with the same features (columns, in the same order) as X.")
    if cols is not None and val_cols is not None and cols != val_cols:
        diff = [f"{a!r} (X) vs {b!r} (X_val)" for a, b in zip(cols, val_cols) if a != b]
        raise DataError(f"Invalid validation_data: X_val's columns differ from X's ("
                        f"{', '.join(diff[:3])}{', ...' if len(diff) > 3 else ''}). Pass X_val "
                        "with X's columns in X's order, e.g. X_val[X.columns].")
    if np.ndim(y_val) == 0 or len(y_val) != val_shape[0] or np.ndim(y_val) != np.ndim(y):
        raise DataError(f"Invalid validation_data: y_val with shape {np.shape(y_val)} does not "
                        f"match X_val's {val_shape[0]} rows and y's shape {np.shape(y)}. Pass "
                        "one target per row of X_val, shaped as y.")
    if cols is not None:
        import pandas as pd

        if val_cols is None:
            X_val = pd.DataFrame(np.asarray(X_val), columns=X.columns)
        X_all = pd.concat([X, X_val], ignore_index=True)
    else:
        X_all = np.concatenate([np.asarray(X), np.asarray(X_val)])
    return X_all, np.concatenate([np.asarray(y), np.asarray(y_val)])


def _columns(X: Any) -> list[str] | None:
    """A DataFrame's column names (as text), else None."""
    columns = getattr(X, "columns", None)
    return None if columns is None else [str(c) for c in columns]


def _check_val_labels(classes: np.ndarray, target: np.ndarray, n_train: int) -> None:
    """Refuse validation labels no training row has: no model can predict a class it never
    trained on, so those rows only lower every trial's score alike."""
    unseen = np.setdiff1d(np.unique(target[n_train:]), np.unique(target[:n_train]))
    if unseen.size:
        rows = int(np.isin(target[n_train:], unseen).sum())
        names = ", ".join(short_repr(c.item() if hasattr(c, "item") else c)
                          for c in classes[unseen[:5]])
        raise DataError(f"Invalid validation_data: y_val holds {unseen.size} class"
                        f"{'es' if unseen.size > 1 else ''} that y never has ({names}"
                        f"{', ...' if unseen.size > 5 else ''}; {rows} of "
                        f"{len(target) - n_train} validation rows). A model cannot learn a "
                        "class it never trains on: drop those rows from the validation data, "
                        "or move some of them into X, y.")


def score(name: str, outputs: Any, target: Any) -> Any:
    """Score of each member: ``outputs`` (P, N, out) raw, ``target`` (N,) ids or (N, out).

    Members whose outputs are not finite (diverged) score NaN.
    """
    import torch

    # a sum is non-finite exactly when some term is (inf, -inf or NaN make it inf or NaN;
    # finite float32 outputs of a softmax/linear head cannot overflow a float64 sum)
    finite = torch.isfinite(outputs.flatten(1).sum(dim=1, dtype=torch.float64))   # (P,)
    if name == "accuracy":
        pred = outputs.argmax(dim=2)                               # (P, N)
        s = (pred == target.unsqueeze(0)).to(torch.float64).mean(dim=1)
    else:
        t = target.to(outputs.dtype).unsqueeze(0)                  # (1, N, out)
        sse = ((outputs - t) ** 2).sum(dim=1)                      # (P, out)
        sst = ((t - t.mean(dim=1, keepdim=True)) ** 2).sum(dim=1)  # (1, out)
        valid = sst > 0
        r2 = 1.0 - sse[:, valid[0]] / sst[:, valid[0]]
        s = r2.mean(dim=1).to(torch.float64)
    return torch.where(finite, s, torch.full_like(s, float("nan")))


def _is_continuous(y: np.ndarray) -> bool:
    """Some finite value is not a whole number (so these cannot be class labels)."""
    if y.dtype.kind != "f":
        return False
    finite = y[np.isfinite(y)]
    return bool(finite.size) and bool(np.any(finite != np.round(finite)))


__all__ = ["parse_objective", "guess_task", "prepare", "join_validation", "score", "SearchData",
           "data_fingerprint", "Split", "check_xy", "DIRECTIONS", "PRIMARY", "SECONDARY",
           "MAX_CLASSES_GUESS"]
