"""A sampler wrapper that measures the time the sampler itself spends, so that the search can
report its own bookkeeping apart from the sampling algorithm (TPE's cost grows with the number
of finished trials; the storage and ask/tell cost does not)."""

from __future__ import annotations

import time
from typing import Any

from optuna.samplers import BaseSampler


class TimedSampler(BaseSampler):
    """Delegate everything to ``inner``; add the seconds of its sampling calls to ``seconds``.

    Examples
    --------
    >>> import optuna
    >>> s = TimedSampler(optuna.samplers.RandomSampler(seed=0))
    >>> study = optuna.create_study(sampler=s)
    >>> _ = study.ask().suggest_float("x", 0, 1); s.seconds > 0
    True
    """

    def __init__(self, inner: BaseSampler) -> None:
        self.inner = inner
        self.seconds = 0.0

    def __str__(self) -> str:
        return str(self.inner)

    def infer_relative_search_space(self, study: Any, trial: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self.inner.infer_relative_search_space(study, trial)
        finally:
            self.seconds += time.perf_counter() - t0

    def sample_relative(self, study: Any, trial: Any, search_space: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self.inner.sample_relative(study, trial, search_space)
        finally:
            self.seconds += time.perf_counter() - t0

    def sample_independent(self, study: Any, trial: Any, param_name: str,
                           param_distribution: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self.inner.sample_independent(study, trial, param_name, param_distribution)
        finally:
            self.seconds += time.perf_counter() - t0

    def before_trial(self, study: Any, trial: Any) -> None:
        t0 = time.perf_counter()
        try:
            self.inner.before_trial(study, trial)
        finally:
            self.seconds += time.perf_counter() - t0

    def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
        t0 = time.perf_counter()
        try:
            self.inner.after_trial(study, trial, state, values)
        finally:
            self.seconds += time.perf_counter() - t0

    def reseed_rng(self) -> None:
        self.inner.reseed_rng()


__all__ = ["TimedSampler"]
