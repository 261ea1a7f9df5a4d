"""``SearchCV``: the search as an sklearn meta-estimator, for pipelines and model selection."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from .._errors import NotFittedError


class SearchCV(BaseEstimator):
    """Search the hidden-layer configuration in ``fit``; predict with the refit best estimator.

    Parameters are those of :func:`lamina.search` (``space``, ``budget``, ``n_trials``,
    ``objective``, ``cv``, ``validation_fraction``, ``storage``, ``study``, ``device``,
    ``random_state``, ``population``, ``batch``). ``__init__`` only stores them (sklearn's rule).

    Attributes
    ----------
    best_params_, best_score_, best_estimator_ : as in sklearn's ``*SearchCV``
    cv_results_ : dict of arrays
        One entry per scored trial: ``params`` (as ``best_params_``, ``max_iter`` being the
        epochs the trial trained), ``mean_test_score``, ``rank_test_score``,
        ``param_<name>``, ``n_resources`` (epochs), ``state``, ``mean_fit_time``.
    best_index_ : int
        The best trial's entry in ``cv_results_`` (rank 1; its ``params`` are
        ``best_params_``).
    feature_names_in_ : ndarray of str
        The column names of a DataFrame ``X`` (the best estimator's), as sklearn sets them.
    search_result_ : SearchResult

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> pipe = make_pipeline(StandardScaler(), SearchCV(budget="30s"))   # doctest: +SKIP
    >>> pipe.fit(X, y).score(X_test, y_test)                             # doctest: +SKIP
    """

    def __init__(self, space: Any = None, *, budget: Any = "1m", n_trials: int | None = None,
                 objective: Any = None, cv: int | None = None, validation_fraction: float = 0.2,
                 storage: Any = None, study: str | None = None, device: Any = "cpu",
                 dtype: Any = "float32", random_state: int = 0, population: int = 4,
                 batch: int = 8, refit: bool = True) -> None:
        self.space = space
        self.budget = budget
        self.n_trials = n_trials
        self.objective = objective
        self.cv = cv
        self.validation_fraction = validation_fraction
        self.storage = storage
        self.study = study
        self.device = device
        self.dtype = dtype
        self.random_state = random_state
        self.population = population
        self.batch = batch
        self.refit = refit

    def fit(self, X: Any, y: Any) -> SearchCV:
        from ._search import search

        res = search(X, y, self.space, budget=self.budget, n_trials=self.n_trials,
                     objective=self.objective, cv=self.cv,
                     validation_fraction=self.validation_fraction, storage=self.storage,
                     study=self.study, device=self.device, dtype=self.dtype,
                     random_state=self.random_state, population=self.population,
                     batch=self.batch, refit=self.refit)
        self.search_result_ = res
        self.best_params_ = res.best_params_
        self.best_score_ = res.best_score_
        self.n_features_in_ = np.shape(X)[1]
        self.cv_results_, self.best_index_ = _cv_results(res)
        if self.refit:
            self.best_estimator_ = res.best_estimator_
            if hasattr(self.best_estimator_, "classes_"):
                self.classes_ = self.best_estimator_.classes_
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        return self

    def _best(self) -> Any:
        if not hasattr(self, "best_estimator_"):
            raise NotFittedError(f"This {type(self).__name__} has no best_estimator_: call fit "
                                 "first (with refit=True) before predict/score.")
        return self.best_estimator_

    def predict(self, X: Any) -> Any:
        return self._best().predict(X)

    def predict_proba(self, X: Any) -> Any:
        return self._best().predict_proba(X)

    def score(self, X: Any, y: Any) -> float:
        return float(self._best().score(X, y))


def _cv_results(res: Any) -> tuple[dict[str, Any], int]:
    """sklearn-style ``cv_results_`` and ``best_index_`` (the best trial's row: rank 1, its
    ``params`` equal to ``best_params_``): complete trials rank before pruned ones, then by
    score; among equal scores the best trial comes first, then by trial number."""
    from ._result import best_params

    trials = res.trials_
    df = trials[trials["state"].isin(["COMPLETE", "PRUNED"])].copy()
    df = df[df["score"].notna()]
    numbers = df["number"].to_numpy()
    complete = (df["state"] == "COMPLETE").to_numpy()
    not_best = numbers != res.best_trial_.number
    order = np.lexsort((numbers, not_best, -df["score"].to_numpy(dtype=float), ~complete))
    ranks = np.empty(len(df), dtype=np.int32)
    ranks[order] = np.arange(1, len(df) + 1)
    by_number = {t.number: t for t in res.study_.get_trials(deepcopy=False)}
    names = ["hidden_layer_sizes", "activation", "batch_size", "learning_rate_init", "alpha",
             "dropout", "max_iter"]
    # the same settings best_params_ holds, max_iter being the epochs the trial trained
    params = [best_params(by_number[int(n)]) for n in numbers]
    out: dict[str, Any] = {
        "params": params,
        "mean_test_score": df["score"].to_numpy(dtype=float),
        "rank_test_score": ranks,
        "n_resources": df["epochs"].to_numpy(dtype=float),
        "mean_fit_time": df["seconds"].to_numpy(dtype=float),
        "state": df["state"].to_numpy(dtype=object),
        "trial_number": numbers,
    }
    for n in names:
        column = np.empty(len(params), dtype=object)
        for i, p in enumerate(params):              # one tuple per entry, not a 2-D array
            column[i] = p[n]
        out[f"param_{n}"] = column
    best = np.flatnonzero(~not_best)
    return out, int(best[0])


__all__ = ["SearchCV"]
