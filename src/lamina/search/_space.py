"""The search space: which hidden-layer configurations ``lamina.search`` may try.

A space is either a :class:`SearchSpace` (built from a dict such as
``{"n_layers": (1, 3), "width": (32, 512, "log"), "activation": ["relu", "tanh"]}``) or an
Optuna-style function ``space(trial) -> dict``. Both turn an Optuna trial into a
:class:`~lamina.search.Candidate`.

Dimensions are split in two. *Architecture* dimensions (``n_layers``, ``width``, ``activation``,
``batch_size``) fix the shape of a network, and candidates that share them train together as one
population; *member* dimensions (``lr``, ``alpha``, ``dropout``) vary inside a population.
"""

from __future__ import annotations

import hashlib
import json
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._errors import ParameterError, did_you_mean
from ..spec import ACTIVATIONS, canonical_activation
from ._candidate import Candidate, round_width


@dataclass(frozen=True)
class Range:
    """A numeric interval ``[low, high]``, optionally sampled on a log scale."""

    low: float
    high: float
    log: bool = False
    integer: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "log": self.log}

    def suggest(self, trial: Any, name: str) -> Any:
        if self.low == self.high:
            return int(self.low) if self.integer else float(self.low)
        if self.integer:
            return trial.suggest_int(name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(name, self.low, self.high, log=self.log)


@dataclass(frozen=True)
class Choice:
    """A set of values sampled as an Optuna categorical (one value: fixed, not sampled)."""

    values: tuple[Any, ...]

    def to_json(self) -> dict[str, Any]:
        return {"choices": list(self.values)}

    def suggest(self, trial: Any, name: str) -> Any:
        if len(self.values) == 1:
            return self.values[0]
        return trial.suggest_categorical(name, list(self.values))


Dim = Range | Choice

# key -> (kind, lowest allowed, highest allowed, open low end, open high end)
_Rule = tuple[str, float | None, float | None, bool, bool]
_RULES: dict[str, _Rule] = {
    "n_layers": ("int", 1, 64, False, False),
    "width": ("int", 1, None, False, False),
    "activation": ("activation", None, None, False, False),
    "batch_size": ("int", 1, None, False, False),
    "lr": ("float", 0.0, None, True, False),
    "alpha": ("float", 0.0, None, False, False),
    "dropout": ("float", 0.0, 1.0, False, True),
}
_ALIASES = {"learning_rate_init": "lr", "learning_rate": "lr", "hidden_layers": "n_layers",
            "units": "width", "l2": "alpha"}
ARCHITECTURE_KEYS = ("n_layers", "width", "activation", "batch_size")
MEMBER_KEYS = ("lr", "alpha", "dropout")

DEFAULT_SPACE: dict[str, Any] = {
    "n_layers": (1, 4),
    "width": (16, 1024, "log"),
    "activation": ["relu", "gelu", "tanh", "silu"],
    "lr": (1e-4, 1e-1, "log"),
    "batch_size": [64, 128, 256, 512],
    "dropout": (0.0, 0.5),
    "alpha": (1e-6, 1e-2, "log"),
}


@dataclass(frozen=True)
class SearchSpace:
    """Ranges of the hidden-layer configuration and its training hyper-parameters.

    Build it with :meth:`from_dict`; keys left out keep :data:`DEFAULT_SPACE`'s ranges.

    Examples
    --------
    >>> space = SearchSpace.from_dict({"n_layers": (1, 2), "width": (32, 256, "log")})
    >>> space.dims["n_layers"]
    Range(low=1, high=2, log=False, integer=True)
    """

    dims: Mapping[str, Dim] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, space: Mapping[str, Any] | None = None) -> SearchSpace:
        if space is not None and not isinstance(space, Mapping):
            raise ParameterError("space", space, "a dict of ranges, a SearchSpace or a function "
                                 "trial -> dict", 'Pass e.g. space={"n_layers": (1, 3)}.')
        merged: dict[str, Any] = dict(DEFAULT_SPACE)
        for raw_key, value in (space or {}).items():
            key = _ALIASES.get(raw_key, raw_key)
            if key not in _RULES:
                hint = did_you_mean(raw_key, list(_RULES) + list(_ALIASES))
                raise ParameterError("space", raw_key, "unknown search dimension; allowed: "
                                     + ", ".join(_RULES),
                                     hint.strip() or "Check the key's spelling.")
            merged[key] = value
        return cls({key: _parse_dim(key, merged[key]) for key in _RULES})

    def to_json(self) -> dict[str, Any]:
        return {key: dim.to_json() for key, dim in self.dims.items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SearchSpace:
        """Inverse of :meth:`to_json` (a space stored with a study)."""
        space: dict[str, Any] = {}
        for key, dim in data.items():
            if "choices" in dim:
                space[key] = list(dim["choices"])
            else:
                space[key] = (dim["low"], dim["high"], "log" if dim["log"] else "linear")
        return cls.from_dict(space)

    def fingerprint(self) -> str:
        """Stable text identifying the space, stored with a study to refuse a changed space."""
        return json.dumps(self.to_json(), sort_keys=True)

    def suggest(self, trial: Any) -> Candidate:
        """Sample a candidate from ``trial`` (architecture first, so it can be fixed)."""
        d = self.dims
        n_layers = int(d["n_layers"].suggest(trial, "n_layers"))
        width_dim = d["width"]
        low, high = _bounds(width_dim)
        widths = tuple(round_width(int(width_dim.suggest(trial, f"width_{i}")), low, high)
                       for i in range(n_layers))
        return Candidate(
            widths=widths,
            activation=canonical_activation(d["activation"].suggest(trial, "activation")),
            batch_size=int(d["batch_size"].suggest(trial, "batch_size")),
            lr=float(d["lr"].suggest(trial, "lr")),
            alpha=float(d["alpha"].suggest(trial, "alpha")),
            dropout=float(d["dropout"].suggest(trial, "dropout")),
        )

    def architecture_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The Optuna params of a trial that fix its network's shape (to enqueue siblings)."""
        return {k: v for k, v in params.items()
                if k in ("n_layers", "activation", "batch_size") or k.startswith("width_")}


class FunctionSpace:
    """An Optuna-style space: ``fn(trial)`` suggests and returns a dict of settings.

    The dict may hold ``hidden_layer_sizes`` (or ``widths``), ``activation``, ``lr`` (or
    ``learning_rate_init``), ``batch_size``, ``alpha``, ``dropout``; missing keys take sklearn's
    defaults (relu, 1e-3, 200, 1e-4, 0). Candidates train together only when their shapes match.
    """

    def __init__(self, fn: Callable[[Any], Mapping[str, Any]]) -> None:
        self.fn = fn

    def fingerprint(self) -> str:
        code = getattr(self.fn, "__code__", None)
        digest = hashlib.sha256(code.co_code if code is not None else b"").hexdigest()[:16]
        name = f"{getattr(self.fn, '__module__', '')}.{getattr(self.fn, '__qualname__', '')}"
        return json.dumps({"function": name, "code": digest})

    def to_json(self) -> dict[str, Any]:
        return json.loads(self.fingerprint())

    def suggest(self, trial: Any) -> Candidate:
        out = self.fn(trial)
        if not isinstance(out, Mapping):
            raise ParameterError("space", self.fn, f"the space function returned {type(out).__name__}"
                                 ", not a dict", "Return e.g. {'hidden_layer_sizes': (64,)}.")
        cfg = {_ALIASES.get(k, k): v for k, v in out.items()}
        widths = cfg.pop("hidden_layer_sizes", cfg.pop("widths", (100,)))
        if isinstance(widths, numbers.Integral):
            widths = (widths,)
        if (not isinstance(widths, (tuple, list)) or not widths
                or any(isinstance(w, bool) or not isinstance(w, numbers.Integral) or w < 1
                       for w in widths)):
            raise ParameterError("space", out, "hidden_layer_sizes must be a non-empty tuple of "
                                 "positive ints", "Return e.g. {'hidden_layer_sizes': (64, 32)}.")
        unknown = set(cfg) - set(MEMBER_KEYS) - {"activation", "batch_size"}
        if unknown:
            raise ParameterError("space", sorted(unknown), "unknown keys returned by the space "
                                 "function; allowed: hidden_layer_sizes, activation, lr, "
                                 "batch_size, alpha, dropout", "Rename or drop them.")
        values: dict[str, Any] = {"activation": "relu", "batch_size": 200, "lr": 1e-3, "alpha": 1e-4,
                  "dropout": 0.0} | cfg
        for key in ("batch_size", "lr", "alpha", "dropout"):
            _parse_dim(key, values[key])          # validates the value against its rule
        return Candidate(widths=tuple(int(w) for w in widths),
                         activation=canonical_activation(values["activation"], "space"),
                         batch_size=int(values["batch_size"]), lr=float(values["lr"]),
                         alpha=float(values["alpha"]), dropout=float(values["dropout"]))

    def architecture_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {}                                  # unknown which of fn's params fix the shape


def fit_batch_size(space: SearchSpace | FunctionSpace, n_rows: int,
                   ) -> SearchSpace | FunctionSpace:
    """``space`` with its batch sizes clipped to ``n_rows`` (the training rows): a batch larger
    than the data is one full batch, so ``[64, 128, 256, 512]`` on 120 rows becomes
    ``[64, 120]`` and ``(32, 1024)`` becomes ``(32, 120)``, and no two values train alike.
    A function space is returned as it is (the search caps the batch sizes it returns).

    Examples
    --------
    >>> fit_batch_size(SearchSpace.from_dict(), 120).dims["batch_size"]
    Choice(values=(64, 120))
    """
    if isinstance(space, FunctionSpace):
        return space
    dim = space.dims["batch_size"]
    if isinstance(dim, Choice):
        clipped: Dim = Choice(tuple(dict.fromkeys(min(int(v), n_rows) for v in dim.values)))
    else:
        clipped = Range(min(dim.low, n_rows), min(dim.high, n_rows), dim.log, dim.integer)
    if clipped == dim:
        return space
    return SearchSpace({**space.dims, "batch_size": clipped})


def resolve_space(space: Any) -> SearchSpace | FunctionSpace:
    """``None`` / dict / ``SearchSpace`` / function -> a space object."""
    if isinstance(space, (SearchSpace, FunctionSpace)):
        return space
    if callable(space) and not isinstance(space, Mapping):
        return FunctionSpace(space)
    return SearchSpace.from_dict(space)


def _bounds(dim: Dim) -> tuple[int, int]:
    if isinstance(dim, Range):
        return int(dim.low), int(dim.high)
    return int(min(dim.values)), int(max(dim.values))


def _parse_dim(key: str, value: Any) -> Dim:
    rule = _RULES[key]
    kind = rule[0]
    where = f"space[{key!r}]"
    if kind == "activation":
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, (list, tuple)) or not values:
            raise ParameterError(where, value, "a non-empty list of activations from "
                                 + ", ".join(ACTIVATIONS), "Pass e.g. ['relu', 'tanh'].")
        names = [canonical_activation(v, where) for v in values]
        return Choice(tuple(dict.fromkeys(names)))
    if isinstance(value, list):
        if not value:
            raise ParameterError(where, value, "an empty list leaves nothing to try",
                                 "Give at least one value, e.g. [128].")
        return Choice(tuple(_check_number(key, v, rule) for v in value))
    if isinstance(value, tuple):
        if len(value) not in (2, 3):
            raise ParameterError(where, value, "a range is (low, high) or (low, high, 'log')",
                                 f"Pass e.g. {key}=(1e-4, 1e-1, 'log').")
        scale = value[2] if len(value) == 3 else "linear"
        if scale not in ("log", "linear"):
            raise ParameterError(where, value, f"the third item must be 'log' or 'linear', got "
                                 f"{scale!r}", "Pass e.g. (16, 1024, 'log').")
        low = _check_number(key, value[0], rule)
        high = _check_number(key, value[1], rule)
        if low > high:
            raise ParameterError(where, value, f"low ({low}) is greater than high ({high}), an "
                                 "empty range", f"Swap them: ({high}, {low}).")
        if scale == "log" and low <= 0:
            raise ParameterError(where, value, "a log range needs low > 0",
                                 "Use a positive low or a linear range.")
        return Range(low, high, scale == "log", kind == "int")
    return Choice((_check_number(key, value, rule),))


def _check_number(key: str, v: Any, rule: _Rule) -> Any:
    kind, lo, hi, lo_open, hi_open = rule
    where = f"space[{key!r}]"
    span = (f" in {'(' if lo_open else '['}{lo}, "
            + ("inf)" if hi is None else f"{hi}{')' if hi_open else ']'}")
            if lo is not None else "")
    if kind == "int":
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise ParameterError(where, v, f"values must be integers{span}",
                                 f"Pass e.g. {key}=(1, 4).")
        v = int(v)
    else:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or v != v:
            raise ParameterError(where, v, f"values must be real numbers{span}",
                                 f"Pass e.g. {key}=(1e-4, 1e-1, 'log').")
        v = float(v)
    too_low = lo is not None and (v <= lo if lo_open else v < lo)
    too_high = hi is not None and (v >= hi if hi_open else v > hi)
    if too_low or too_high:
        what = "a width of 0 units is no layer; " if key == "width" and v == 0 else ""
        raise ParameterError(where, v, f"{what}values must be{span}", "Pass values in that range.")
    return v


__all__ = ["SearchSpace", "FunctionSpace", "Range", "Choice", "DEFAULT_SPACE",
           "ARCHITECTURE_KEYS", "MEMBER_KEYS", "resolve_space", "fit_batch_size"]
