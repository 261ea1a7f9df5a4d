"""Choose the hidden-layer configuration: Optuna ask/tell + population training + halving.

``lamina.search`` is both this package and the function :func:`search`: the package is callable
(``lamina.search(X, y, budget="5m")``), so either import order gives users the function they
expect.
"""

from .._callable_module import make_callable as _make_callable
from ._budget import format_seconds, parse_budget
from ._candidate import Candidate, round_width
from ._data import parse_objective
from ._options import check_options
from ._result import SearchResult
from ._search import search
from ._searchcv import SearchCV
from ._space import DEFAULT_SPACE, Choice, FunctionSpace, Range, SearchSpace, resolve_space
from ._storage import open_storage

__all__ = ["search", "SearchCV", "SearchResult", "SearchSpace", "FunctionSpace", "Range",
           "Choice", "DEFAULT_SPACE", "Candidate", "round_width", "parse_budget",
           "format_seconds", "parse_objective", "check_options", "open_storage", "resolve_space"]

_make_callable(__name__, "search")  # lamina.search(...) calls the function
