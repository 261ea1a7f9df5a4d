"""What a search returns: the best configuration, its refit estimator, and every trial."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import ParameterError


@dataclass
class SearchResult:
    """Outcome of :func:`lamina.search`.

    Attributes
    ----------
    best_params_ : dict
        Settings of the best trial, named as sklearn names them where it has them:
        ``hidden_layer_sizes``, ``activation``, ``batch_size``, ``learning_rate_init``,
        ``alpha``, ``max_iter`` (epochs), and ``dropout`` (lamina's; no sklearn parameter).
        To build the estimator, use :attr:`best_estimator_params_`.
    best_score_ : float
        Its validation score (primary objective).
    best_estimator_ : MLPClassifier or MLPRegressor or None
        The best configuration refit on all the data (None with ``refit=False``).
    trials_ : pandas.DataFrame
        One row per trial of the study (all workers): params, state, score (a pruned trial's:
        its last scored rung, with one objective or several), score per rung
        (``score_rung_0`` ...), epochs, seconds, ``n_params``, ``latency_ms``, worker.
    pareto_ : pandas.DataFrame or None
        Pareto-optimal trials of a multi-objective search (:meth:`pareto_front` gives them as
        dicts, with every objective's value; :meth:`summary` lists them).
    overhead_ms_ : float
        Bookkeeping milliseconds per trial: Optuna ask/enqueue/report/tell, storage writes,
        heartbeats, grouping and halving (the sampler's own time is ``sampler_ms_``).
    sampler_ms_ : float
        Milliseconds per trial spent inside the sampler (TPE's cost grows with the trials).
    configs_per_minute_ : float
        Trials this call trained and scored (complete or pruned) per minute of wall-clock.
    baseline_score_ : float
        The validation score of a model that learnt nothing: always the most frequent class
        (accuracy) or the mean (r2: 0).
    warning_ : str or None
        Set when ``best_score_`` is no better than ``baseline_score_`` (too small a budget):
        the message, also issued as a ``UserWarning`` and added to :meth:`summary`.
    """

    study_: Any
    objective_: tuple[str, ...]
    task_: str
    best_trial_: Any
    best_params_: dict[str, Any]
    best_score_: float
    trials_: Any
    pareto_: Any = None
    best_estimator_: Any = None
    n_trials_: int = 0
    elapsed_: float = 0.0
    rounds_: int = 0
    overhead_ms_: float = 0.0
    sampler_ms_: float = 0.0
    configs_per_minute_: float = 0.0
    states_: dict[str, int] = field(default_factory=dict)
    resumed_: bool = False
    baseline_score_: float = float("nan")
    _front: list[Any] = field(default_factory=list)    # the Pareto-optimal trials

    @property
    def warning_(self) -> str | None:
        if self.best_score_ <= self.baseline_score_:        # False while the baseline is NaN
            trivial = ("always predicting the most frequent class" if self.task_ ==
                       "classification" else "always predicting the mean")
            return (f"the best validation {self.objective_[0]} {self.best_score_:.4f} is no "
                    f"better than {trivial} ({self.baseline_score_:.4f}): the search had too "
                    "little time to train a useful model. Give it a larger budget (or more "
                    "trials).")
        return None

    @classmethod
    def build(cls, study: Any, objective: tuple[str, ...], data: Any, book: Any, *,
              elapsed: float, rounds: int, X: Any, y: Any, refit: bool, device: Any, dtype: Any,
              resumed: bool) -> SearchResult:

        trials = study.get_trials(deepcopy=False)
        complete = _complete(trials)
        if not complete:
            if book.all_diverged:
                lr = book.space.to_json().get("lr", "the space function's")
                raise ParameterError("space['lr']", lr, f"all {book.finished} trials "
                                     "diverged (their loss became NaN or infinite)",
                                     "Lower the learning-rate range, e.g. space={'lr': (1e-4, "
                                     "1e-2, 'log')}, or scale X (and y for regression).")
            raise ParameterError("budget", f"{elapsed:.1f}s elapsed", "no trial finished its "
                                 "first rung within the budget", "Pass a larger budget.")
        best, front = _best_and_front(complete, study.directions)
        result = cls(study, objective, data.task, best, best_params(best), float(best.values[0]),
                     trials_frame(trials, objective), _pareto_frame(front, objective),
                     n_trials_=book.finished, elapsed_=elapsed, rounds_=rounds,
                     overhead_ms_=book.overhead_ms, sampler_ms_=book.sampler_ms,
                     configs_per_minute_=60.0 * book.trained / max(elapsed, 1e-9),
                     states_=dict(book.states), resumed_=resumed,
                     baseline_score_=data.baseline(), _front=front)
        if refit:
            result.best_estimator_ = refit_estimator(best, data.task, X, y, device, dtype)
        return result

    @classmethod
    def from_study(cls, storage: Any, study: str, *, X: Any = None, y: Any = None,
                   device: Any = "cpu", dtype: Any = "float32") -> SearchResult:
        """The result of a stored search, without running it: the study that ``lamina
        search`` workers filled (one machine or several), read back from its storage.

        Parameters
        ----------
        storage : str or optuna storage
            ``"sqlite:///lamina.db"``, ``"postgresql://..."`` (as given to the workers).
        study : str
            The study's name (``--study``).
        X, y : array-like, optional
            The search's data. Given, the best configuration is refit on them
            (``best_estimator_``) and ``baseline_score_`` is the score of always answering
            y's most frequent class (accuracy) or its mean (r2: 0); without them both are
            left out (None, NaN).
        device, dtype
            Of the refit estimator.

        ``states_`` and ``n_trials_`` count the study's finished trials (every worker's) by how
        lamina ended them, as :func:`lamina.search` counts its own; trials added to the study
        outside lamina are listed in ``trials_`` and never chosen as the best. What a running
        worker measures itself is not stored: ``overhead_ms_`` and
        ``sampler_ms_`` are NaN; ``elapsed_`` is the time some trial was running (the union of
        the trials' start-to-end intervals, so the pauses between resumed runs do not count),
        and ``configs_per_minute_`` the study's trials per minute of it (all workers
        together).

        Examples
        --------
        >>> res = SearchResult.from_study("sqlite:///lamina.db", "fashion")  # doctest: +SKIP
        >>> res.best_params_["hidden_layer_sizes"], len(res.trials_)          # doctest: +SKIP
        ((512, 128), 812)
        """

        from .._validation import resolve_device, resolve_dtype
        from ._storage import check_url, open_storage, open_stored_sqlite
        from ._study import ATTR, storage_label, study_exists

        if storage is None:
            raise ParameterError("storage", None, "the URL of the stored study (a search "
                                 "kept in memory is gone when it returns: use its result)",
                                 "Pass e.g. 'sqlite:///runs/search-digits/search.db' or "
                                 "'postgresql://user@host/db'.")
        if not isinstance(study, str) or not study:
            raise ParameterError("study", study, "the name of a stored study (a non-empty "
                                 "string)", "Pass the --study name the workers were given.")
        if (X is None) != (y is None):
            raise ParameterError("X" if X is None else "y", None, "X and y together, or "
                                 "neither", "Pass both to refit the best configuration.")
        dev, dt = resolve_device(device), resolve_dtype(dtype)
        if isinstance(storage, str) and storage.lower().startswith("sqlite"):
            _check_study_file(check_url(storage))           # opening would create or change it
            store = open_stored_sqlite(storage)
        else:
            store = open_storage(storage)
        label = storage_label(store)
        if not study_exists(store, study):
            import optuna

            names = sorted(s.study_name for s in optuna.get_all_study_summaries(store))
            there = f"it holds {names}" if names else "it holds no study"
            raise ParameterError("study", study, f"no study of that name in {label} ({there})",
                                 "Pass one of those names, or check the storage URL.")
        import optuna

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = optuna.load_study(study_name=study, storage=store)
        stored = loaded.user_attrs.get(ATTR)
        if stored is None:
            raise ParameterError("study", study, f"{label} holds a study of that name that "
                                 "lamina did not create", "Open it with optuna.load_study.")
        objective = tuple(stored["objective"])
        task = stored["data"]["task"]
        trials = loaded.get_trials(deepcopy=False)
        ours = [t for t in trials if ATTR in t.user_attrs]     # not trials added by hand
        complete = _complete(ours)
        # as search() counts them: finished trials by how lamina ended them
        states: dict[str, int] = {}
        for t in ours:
            how = t.user_attrs[ATTR].get("stopped")
            if how is not None and t.state.is_finished():
                states[how] = states.get(how, 0) + 1
        if not complete:
            seen: dict[str, int] = {}
            for t in trials:
                seen[t.state.name.lower()] = seen.get(t.state.name.lower(), 0) + 1
            parts = ", ".join(f"{n} {state}" for state, n in sorted(seen.items()))
            raise ParameterError("study", study, f"no trial of it has completed ({len(trials)} "
                                 f"in all{': ' + parts if parts else ''})", "Wait for its "
                                 "workers, or continue it with lamina search ... --resume.")
        best, front = _best_and_front(complete, loaded.directions)
        span = _busy_seconds(ours)
        finished = sum(states.values())
        trained = finished - states.get("unfinished", 0)
        result = cls(loaded, objective, task, best, best_params(best), float(best.values[0]),
                     trials_frame(trials, objective), _pareto_frame(front, objective),
                     n_trials_=finished, elapsed_=span, overhead_ms_=float("nan"),
                     sampler_ms_=float("nan"),
                     configs_per_minute_=60.0 * trained / span if span > 0 else float("nan"),
                     states_=states, resumed_=False, _front=front)
        if X is not None:
            result.baseline_score_ = _stored_baseline(stored["data"], X, y, objective)
            result.best_estimator_ = refit_estimator(best, task, X, y, dev, dt)
        return result

    @property
    def best_estimator_params_(self) -> dict[str, Any]:
        """The parameters of ``MLPClassifier`` / ``MLPRegressor`` that train the best
        configuration as the search did (``best_estimator_`` is built from them): the dropout
        rides in the ``hidden_layer_sizes`` spec string, ``max_iter`` epochs exactly.

        >>> lamina.MLPClassifier(**res.best_estimator_params_).fit(X, y)  # doctest: +SKIP
        """
        return estimator_params(self.best_trial_)

    def __repr__(self) -> str:
        return (f"SearchResult(objective_={self.objective_}, best_score_={self.best_score_:.4f}, "
                f"best_spec_={self.best_spec_!r}, n_trials_={self.n_trials_}, "
                f"trials_=<{len(self.trials_)} rows>)")

    @property
    def best_spec_(self) -> str:
        """The best hidden layers as a lamina spec string (``'256:relu:dropout=0.1-128:relu'``)."""
        return _spec(self.best_trial_.user_attrs["lamina"])

    @property
    def best_spec_text_(self) -> str:
        """:attr:`best_spec_` with the dropout rate at display precision (for messages)."""
        p = self.best_params_
        drop = f":dropout={p['dropout']:.2g}" if p["dropout"] > 0 else ""
        return "-".join(f"{w}:{p['activation']}{drop}" for w in p["hidden_layer_sizes"])

    def summary(self) -> str:
        p = self.best_params_
        return (f"best {self.objective_[0]} {self.best_score_:.4f}: hidden {self.best_spec_text_}, "
                f"lr {p['learning_rate_init']:.2g}, alpha {p['alpha']:.2g}, batch "
                f"{p['batch_size']}, {p['max_iter']} epochs | {self.n_trials_} trials in "
                f"{self.elapsed_:.1f}s ({self.configs_per_minute_:.0f}/min)"
                + (f", bookkeeping {self.overhead_ms_:.2f} ms/trial (+ sampler "
                   f"{self.sampler_ms_:.1f} ms)" if self.overhead_ms_ == self.overhead_ms_ else
                   " (read from storage)")
                + self._pareto_summary()
                + (f"\nwarning: {self.warning_}" if self.warning_ else ""))

    def pareto_front(self) -> list[dict[str, Any]]:
        """The Pareto-optimal trials of a multi-objective search, best primary score first:
        ``{"trial", "values": {objective: value}, "params", "spec"}`` each ([] for one
        objective). ``best_params_`` is the first one's: the best score, whatever it costs."""
        if len(self.objective_) == 1:
            return []
        front = sorted(self._front, key=lambda t: (-t.values[0], t.number))
        return [{"trial": t.number,
                 "values": {name: float(v) for name, v in zip(self.objective_, t.values)},
                 "params": {k: (list(v) if isinstance(v, tuple) else v)
                            for k, v in best_params(t).items()},
                 "spec": _spec(t.user_attrs["lamina"])} for t in front]

    def _pareto_summary(self, shown: int = 5) -> str:
        front = self.pareto_front()
        if not front:
            return ""
        rest = self.objective_[1:]
        units = {"params": "params", "latency": "ms"}

        def point(p: dict[str, Any]) -> str:
            costs = ", ".join(f"{p['values'][o]:,.0f} {units[o]}" if o == "params" else
                              f"{p['values'][o]:.3g} {units[o]}" for o in rest)
            widths = "x".join(map(str, p["params"]["hidden_layer_sizes"]))
            return f"{p['values'][self.objective_[0]]:.4f} at {costs} ({widths})"

        more = f"; +{len(front) - shown} more" if len(front) > shown else ""
        return (f"\npareto front ({self.objective_[0]} vs {', '.join(rest)}): {len(front)} "
                f"trial{'s' if len(front) != 1 else ''}: "
                + "; ".join(point(p) for p in front[:shown]) + more)

    def plot(self, path: Any = None) -> Any:
        """Score vs trial, parameter importance, and (multi-objective) the Pareto front."""
        from ._plot import plot_result

        return plot_result(self, path)


def _check_study_file(url: str) -> None:
    """Refuse, without creating or changing anything, an SQLite URL that names no Optuna study
    file: opening it as a storage would create the file, or Optuna's tables in it."""
    import os
    import sqlite3
    from pathlib import Path

    from sqlalchemy.engine import make_url

    from ._storage import in_memory_sqlite

    path = make_url(url).database or ""
    if in_memory_sqlite(url) or path.startswith("file:"):
        raise ParameterError("storage", url, "an SQLite file that lamina search workers wrote "
                             "(an in-memory database holds no stored study)",
                             "Pass e.g. 'sqlite:///lamina.db', the --storage of the workers.")
    if not os.path.exists(path):
        where = "" if os.path.isabs(path) else \
            f" (a relative path: {os.path.abspath(path)!r} from the folder this runs in)"
        raise ParameterError("storage", url, f"the file {path!r} does not exist{where}",
                             "Pass the --storage the workers wrote to (sqlite:////abs/path.db, "
                             "four slashes, for an absolute path).")
    if not os.path.isfile(path):
        found = sorted(Path(path).glob("*.db"))
        fix = (f"Pass the study file in it: sqlite:///{found[0].resolve()}." if found else
               "Pass the study file, e.g. sqlite:///runs/search-digits/search.db.")
        raise ParameterError("storage", url, f"{path!r} is a folder, not an SQLite file", fix)
    try:
        # as a URI, quoted: a '#' or '?' in the name must not end the path
        conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)
        try:
            found = conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND "
                                 "name='studies'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as err:
        raise ParameterError("storage", url, f"cannot read the file ({err})",
                             "Check the path and its permissions.") from None
    if found is None:
        raise ParameterError("storage", url, "the file holds no Optuna study (no 'studies' "
                             "table)", "Pass the --storage the lamina search workers wrote to.")


def _busy_seconds(trials: list[Any]) -> float:
    """Seconds during which at least one of ``trials`` was running: the length of the union
    of their start-to-end intervals."""
    spans = sorted((t.datetime_start, t.datetime_complete) for t in trials
                   if t.datetime_start is not None and t.datetime_complete is not None)
    total, covered = 0.0, None          # `covered`: the end of the union so far
    for start, end in spans:
        if covered is not None and end <= covered:
            continue
        total += (end - max(start, covered or start)).total_seconds()
        covered = end
    return total


def _complete(trials: list[Any]) -> list[Any]:
    """The complete trials lamina trained (a trial added to the study by hand has no
    configuration to return or refit, so it is never the best)."""
    from optuna.trial import TrialState

    from ._study import ATTR

    return [t for t in trials if t.state == TrialState.COMPLETE and t.values
            and ATTR in t.user_attrs]


def _best_and_front(complete: list[Any], directions: list[Any]) -> tuple[Any, list[Any]]:
    """The best of ``complete`` (by the primary objective; the first such trial on a tie)
    and, with several objectives, the Pareto-optimal ones it is chosen from ([] with one)."""
    front = _non_dominated(complete, directions) if len(directions) > 1 else []
    return max(front or complete, key=lambda t: t.values[0]), front


def _pareto_frame(front: list[Any], objective: tuple[str, ...]) -> Any:
    return trials_frame(front, objective) if front else None


def _non_dominated(trials: list[Any], directions: list[Any]) -> list[Any]:
    """The trials no other trial of ``trials`` dominates (better or equal in every objective,
    better in one), as Optuna's ``best_trials`` over these trials alone."""
    from optuna.study import StudyDirection

    if not trials:
        return []
    sign = np.array([1.0 if d == StudyDirection.MAXIMIZE else -1.0 for d in directions])
    keys = np.array([t.values for t in trials], dtype=np.float64) * sign     # (n, objectives)
    keep = np.ones(len(trials), dtype=bool)
    for start in range(0, len(trials), 256):                  # (chunk, n) comparisons at once
        k = keys[start:start + 256, None, :]
        dominated = (np.all(keys[None] >= k, axis=2) & np.any(keys[None] > k, axis=2)).any(1)
        keep[start:start + 256] = ~dominated
    return [t for t, kept in zip(trials, keep) if kept]


def _stored_baseline(described: dict[str, Any], X: Any, y: Any, objective: tuple[str, ...]
                     ) -> float:
    """Check ``X``, ``y`` against a stored study's data description; return the baseline
    score (y's most frequent class's share, or 0 for r2). Data of another shape is refused;
    other rows of the same shape (their fingerprint differs) are refit on with a warning: the
    study's scores were measured on other data."""
    from .._errors import DataError
    from ._data import check_xy, data_fingerprint
    from ._study import data_differs

    Xa, ya, task = check_xy(X, y, objective)
    n_outputs = len(np.unique(ya)) if task == "classification" else \
        ya.reshape(len(ya), -1).shape[1]
    given = {"task": task, "n_features": Xa.shape[1], "n_outputs": n_outputs,
             "n_samples": len(Xa), "sha256": data_fingerprint(Xa, ya)}
    shape = ("task", "n_features", "n_outputs")
    if any(given[k] != described.get(k) for k in shape):
        raise DataError(f"Invalid X, y for this study: it was made for "
                        f"{ {k: described.get(k) for k in shape} }, this data is "
                        f"{ {k: given[k] for k in shape} }. Pass the data the search ran on.")
    differs = data_differs(described, given)
    if differs:
        warnings.warn(f"X, y are not the data this study searched: {differs}. The best "
                      "configuration is refit on them anyway; its scores in the study were "
                      "measured on the other data.", UserWarning, stacklevel=3)
    if task != "classification":
        return 0.0
    _, counts = np.unique(ya, return_counts=True)
    return float(counts.max() / counts.sum())


def best_params(trial: Any) -> dict[str, Any]:
    a = trial.user_attrs["lamina"]
    return {"hidden_layer_sizes": tuple(a["widths"]), "activation": a["activation"],
            "batch_size": a["batch_size"], "learning_rate_init": a["lr"], "alpha": a["alpha"],
            "dropout": a["dropout"], "max_iter": max(1, math.ceil(a["epochs"] - 1e-9))}


def _spec(attrs: dict[str, Any]) -> str:
    opt = f":dropout={attrs['dropout']!r}" if attrs["dropout"] > 0 else ""
    return "-".join(f"{w}:{attrs['activation']}{opt}" for w in attrs["widths"])


def estimator_params(trial: Any) -> dict[str, Any]:
    """A trial's configuration as ``MLPClassifier`` / ``MLPRegressor`` parameters."""
    a = trial.user_attrs["lamina"]
    epochs = best_params(trial)["max_iter"]
    # the search trained exactly `max_iter` epochs: no tolerance-based early stop in the refit
    return {"hidden_layer_sizes": _spec(a), "activation": a["activation"], "solver": "adam",
            "alpha": a["alpha"], "batch_size": a["batch_size"], "learning_rate_init": a["lr"],
            "max_iter": epochs, "n_iter_no_change": epochs + 1, "random_state": a["seed"]}


def refit_estimator(trial: Any, task: str, X: Any, y: Any, device: Any, dtype: Any) -> Any:
    """The best trial's configuration as a lamina estimator, trained on all of ``X``, ``y``."""
    from ..estimators import MLPClassifier, MLPRegressor

    cls = MLPClassifier if task == "classification" else MLPRegressor
    est = cls(**estimator_params(trial), device=device, dtype=dtype)
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    # a DataFrame stays one, so the model learns its column names (feature_names_in_) and
    # predicting on a DataFrame later does not warn
    Xf = X.astype(np.float32) if hasattr(X, "columns") else np.asarray(X, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)     # max_iter is the plan here
        yy = np.asarray(y)
        est.fit(Xf, yy.astype(np.float32) if task == "regression" else yy)
    return est


def trial_score(trial: Any) -> float:
    """The primary score of a trial: its value once complete; for a pruned trial its last
    reported rung, as Optuna records it in a single-objective study (a multi-objective study
    takes no reports: there the rungs lamina stored stand in); NaN when none was scored."""
    if trial.values:
        return float(trial.values[0])
    if trial.state.name == "PRUNED":
        scored = [s for s in trial.user_attrs.get("lamina", {}).get("scores", []) if s == s]
        if scored:
            return float(scored[-1])
    return float("nan")


def trials_frame(trials: list[Any], objective: tuple[str, ...]) -> Any:
    """One row per trial; rung scores spread into ``score_rung_<k>`` columns."""
    import pandas as pd

    rows = []
    for t in trials:
        a = t.user_attrs.get("lamina", {})
        row: dict[str, Any] = {"number": t.number, "state": t.state.name,
                               "stopped": a.get("stopped")}
        row["score"] = trial_score(t)
        if "widths" in a:
            row.update({"hidden_layer_sizes": tuple(a["widths"]), "activation": a["activation"],
                        "batch_size": a["batch_size"], "learning_rate_init": a["lr"],
                        "alpha": a["alpha"], "dropout": a["dropout"], "epochs": a["epochs"],
                        "seconds": a["seconds"], "n_params": a.get("n_params"),
                        "latency_ms": a.get("latency_ms"), "population": a["population"],
                        "group": a["group"], "worker": a["worker"]})
            for k, s in enumerate(a["scores"]):
                row[f"score_rung_{k}"] = s
        else:
            row.update({f"param_{k}": v for k, v in t.params.items()})
        row["datetime_start"] = t.datetime_start
        row["datetime_complete"] = t.datetime_complete
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["SearchResult", "trials_frame", "trial_score", "best_params", "estimator_params",
           "refit_estimator"]
