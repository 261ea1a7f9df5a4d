"""Every setting of a search checked at once, before any data is split or any study is touched.

:func:`lamina.search` calls :func:`check_options` first; the ``lamina search`` command calls it
before it opens the storage, so a bad option never leaves a study (or a message about one)
behind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .._errors import ParameterError
from .._validation import check_bool, check_int, resolve_device, resolve_dtype
from ._budget import parse_budget
from ._data import parse_objective
from ._space import FunctionSpace, SearchSpace, resolve_space

DEFAULT_BUDGET = "5m"


@dataclass(frozen=True)
class Options:
    """The checked settings: seconds (``inf``: no time limit), objective names, space, ..."""

    budget: Any
    seconds: float
    n_trials: int | None
    objective: tuple[str, ...]
    space: SearchSpace | FunctionSpace
    device: Any
    dtype: Any
    random_state: int
    population: int
    batch: int
    eta: int
    resume: bool
    refit: bool


def check_options(*, budget: Any = None, n_trials: int | None = None, objective: Any = None,
                  y: Any = None, space: Any = None, study: str | None = None,
                  device: Any = "cpu", dtype: Any = "float32", random_state: int = 0,
                  population: int = 4, batch: int = 8, eta: int = 3, resume: bool = False,
                  refit: bool = True) -> Options:
    """Check the settings of :func:`lamina.search` (same names and meaning); raise
    :class:`~lamina.ParameterError` on the first bad one.

    ``y`` only serves ``objective=None``/``"auto"`` (the objective then follows ``y``).

    Examples
    --------
    >>> check_options(budget="30s", objective="r2", population=2).seconds
    30.0
    """
    if budget is None and n_trials is None:
        budget = DEFAULT_BUDGET
    seconds = parse_budget(budget) if budget is not None else math.inf
    if n_trials is not None:
        n_trials = check_int("n_trials", n_trials, 1)
    if study is not None and (not isinstance(study, str) or not study.strip()):
        raise ParameterError("study", study, "a non-empty name", "Pass e.g. study='fmnist'.")
    return Options(
        budget=budget, seconds=seconds, n_trials=n_trials,
        objective=parse_objective(objective, y), space=resolve_space(space),
        device=resolve_device(device), dtype=resolve_dtype(dtype),
        random_state=check_int("random_state", random_state, 0),
        population=check_int("population", population, 1), batch=check_int("batch", batch, 1),
        eta=check_int("eta", eta, 2), resume=check_bool("resume", resume),
        refit=check_bool("refit", refit))


__all__ = ["Options", "check_options", "DEFAULT_BUDGET"]
