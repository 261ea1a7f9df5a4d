"""Shared error types. Every message names the parameter, the bad value, what is allowed and a fix."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable
from typing import Any

from sklearn.exceptions import NotFittedError as _SkNotFittedError

__all__ = [
    "LaminaError",
    "ParameterError",
    "DataError",
    "SpecError",
    "NotFittedError",
    "RunDirError",
    "did_you_mean",
    "short_repr",
]


class LaminaError(Exception):
    """Base class of every error lamina raises on purpose."""


class ParameterError(LaminaError, ValueError):
    """A parameter has a value outside what is allowed.

    The message reads: ``Invalid <param>=<value>: <allowed>. <fix>``.
    """

    def __init__(self, param: str, value: Any, allowed: str, fix: str = "") -> None:
        self.param = param
        self.value = value
        self.allowed = allowed
        self.fix = fix
        msg = f"Invalid {param}={short_repr(value)}: {allowed}."
        if fix:
            msg += f" {fix}"
        super().__init__(msg)


class SpecError(ParameterError):
    """A hidden-layer spec could not be parsed; quotes the bad token."""


class DataError(LaminaError, ValueError):
    """The data given cannot be used as it is (NaN, wrong shape, a lone class, ...)."""


class RunDirError(LaminaError, ValueError):
    """A saved run directory is missing, corrupt or was tampered with."""


class NotFittedError(LaminaError, _SkNotFittedError):
    """An estimator was used before ``fit``. Also an sklearn ``NotFittedError``."""


def short_repr(value: Any, limit: int = 80) -> str:
    """``repr`` cut to ``limit`` characters so huge arrays do not flood a message. A string
    or a path keeps its end too (a file name, a URL's database): the middle is cut.

    >>> import numpy as np
    >>> short_repr(np.arange(30).reshape(3, 10), limit=40)
    'array([[ 0,  1,  2,  3,  4,  5,  6,  ...'
    >>> short_repr({"name": "two  spaces"})              # only line breaks are joined
    "{'name': 'two  spaces'}"
    >>> short_repr("sqlite:///" + "d/" * 50 + "study.db", limit=40)
    "'sqlite:///d/d/d/d...d/d/d/d/d/study.db'"
    """
    text = repr(value)
    if not isinstance(value, str):            # an array's repr spans lines: one line here
        text = re.sub(r"\n\s*", " ", text)
    if len(text) <= limit:
        return text
    if isinstance(value, (str, os.PathLike)):
        head = (limit - 3) // 2
        return text[:head] + "..." + text[len(text) - (limit - 3 - head):]
    return text[: limit - 3] + "..."


def did_you_mean(value: Any, choices: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest choice, or ``""`` when none is close."""
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value.lower(), [c.lower() for c in choices], n=1, cutoff=0.6)
    if not close:
        return ""
    original = {c.lower(): c for c in choices}[close[0]]
    return f" Did you mean {original!r}?"
