"""The typer application. Command modules register on ``app``; torch is imported inside commands
only, so ``lamina --help`` stays instant."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer

app = typer.Typer(
    name="lamina",
    help="lamina — build, train, inspect and search the hidden layers of neural networks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable[..., Any])


def friendly(func: F) -> F:
    """Turn lamina's own errors (bad usage or input) into a one-line message and exit code 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .._errors import LaminaError

        try:
            return func(*args, **kwargs)
        except (LaminaError, FileNotFoundError) as err:
            print(f"error: {err}", file=sys.stderr)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]
