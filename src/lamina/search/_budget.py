"""Wall-clock budgets written the way people say them: ``"30s"``, ``"5m"``, ``"1h"``, ``"1h30m"``."""

from __future__ import annotations

import math
import numbers
import re

from .._errors import ParameterError

_UNITS = {"ms": 0.001, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|sec|min|s|m|h|d)", re.IGNORECASE)
_ALLOWED = "a number of seconds or a duration such as '30s', '5m', '1h', '1h30m'"


def parse_budget(budget: object, param: str = "budget") -> float:
    """Seconds in ``budget``: a positive number of seconds or a duration string.

    Parameters
    ----------
    budget : float, int or str
        ``90``, ``"90s"``, ``"1.5m"``, ``"2h"``, ``"1h30m"``, ``"250ms"``.
    param : str
        Name quoted in errors (``--budget`` on the command line).

    Returns
    -------
    float
        The budget in seconds (> 0).

    Examples
    --------
    >>> parse_budget("5m")
    300.0
    >>> parse_budget("1h30m")
    5400.0
    """
    if isinstance(budget, numbers.Real) and not isinstance(budget, bool):
        seconds = float(budget)
    elif isinstance(budget, str):
        text = budget.strip().replace(" ", "")
        if not text:
            raise ParameterError(param, budget, _ALLOWED, "Pass e.g. budget='5m'.")
        try:
            seconds = float(text)                      # a bare number means seconds
        except ValueError:
            seconds = _parse_parts(text, budget, param)
    else:
        raise ParameterError(param, budget, _ALLOWED, "Pass e.g. budget='5m'.")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ParameterError(param, budget, "the budget must be a positive, finite duration",
                             "Pass e.g. budget='30s'.")
    return seconds


def _parse_parts(text: str, original: str, param: str) -> float:
    pos, total = 0, 0.0
    for m in _PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2).lower()]
        pos = m.end()
    if pos != len(text) or pos == 0:
        raise ParameterError(param, original, _ALLOWED + " (units: ms, s, m, h, d)",
                             "Pass e.g. budget='5m' or budget=300.")
    return total


def format_seconds(seconds: float) -> str:
    """``75.0 -> '1m15s'``, ``0.043 -> '43ms'``; short human form used in messages and
    progress bars (never a rounded ``'0.0s'``)."""
    if seconds < 1:
        ms = 1000 * seconds
        return "<0.1ms" if ms < 0.1 else f"{ms:.0f}ms" if ms >= 10 else f"{ms:.1f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


__all__ = ["parse_budget", "format_seconds"]
