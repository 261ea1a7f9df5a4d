"""Small helpers shared by the non-dense layer kinds: argument/option parsing and field checks.

Every error is a :class:`~lamina._errors.SpecError` quoting the bad token (or field), what is
allowed and an example that works.
"""

from __future__ import annotations

from typing import Any

from .._errors import SpecError


def int_arg(text: str, token: str, what: str, example: str, low: int = 1) -> int:
    """Parse an integer argument of a layer token such as the ``3`` of ``conv(32,3)``."""
    try:
        value = int(text)
    except ValueError:
        raise SpecError("spec", token, f"{what} must be an integer >= {low}, got {text!r}",
                        f"Write e.g. '{example}'.") from None
    if value < low:
        raise SpecError("spec", token, f"{what} must be an integer >= {low}, got {text!r}",
                        f"Write e.g. '{example}'.")
    return value


def check_args(args: list[str], token: str, kind: str, allowed: tuple[int, ...], usage: str,
               example: str) -> None:
    """The number of arguments in parentheses must be one of ``allowed``."""
    if len(args) not in allowed:
        raise SpecError("spec", token, f"a {kind} layer takes {usage}; got {len(args)} "
                        f"argument{'s' if len(args) != 1 else ''}", f"Write e.g. '{example}'.")


def no_options(options: dict[str, str], token: str, kind: str, example: str) -> None:
    """Kinds without options (``flatten``, ``gap``) refuse any."""
    if options:
        key = next(iter(options))
        raise SpecError("spec", token, f"a {kind} layer takes no options, got {key!r}",
                        f"Write e.g. '{example}'.")


def unknown_option(token: str, key: str, kind: str, allowed: str, example: str) -> SpecError:
    return SpecError("spec", token, f"unknown option {key!r} for a {kind} layer; allowed: {allowed}",
                     f"Write e.g. '{example}'.")


def check_positive_int(param: str, value: Any, example: str) -> int:
    """A dataclass field that must be an int >= 1 (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(param, value, f"{param} must be an integer >= 1", f"Use e.g. {example}.")
    return value


def check_dropout(value: Any) -> float:
    """A dropout probability in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise SpecError("dropout", value, "dropout must be a number in [0, 1)",
                        "Use e.g. dropout=0.1.")
    return float(value)


def check_flag(param: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SpecError(param, value, f"{param} must be True or False", f"Use {param}=True.")
    return value
