"""Command-line interface: ``lamina train | predict | evaluate | inspect | report | search |
datasets | recipe | demo``. Each verb lives in its own module and registers on ``app``."""

from __future__ import annotations

import importlib

from ._app import app

# command modules; each registers its verbs on `app` when imported
_COMMAND_MODULES = ("_core", "_inspect", "_search", "_recipe", "_demo")


def _register() -> None:
    for name in _COMMAND_MODULES:
        try:
            importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise


def main() -> None:
    _register()
    app()


__all__ = ["app", "main"]
