"""Let a subpackage also be the function of the same name (``lamina.search(...)``,
``lamina.report(...)``): once ``lamina.search`` the package is imported, Python binds the
*module* as ``lamina.search``; making that module callable keeps the documented call working."""

from __future__ import annotations

import sys
import types
from typing import Any


def make_callable(module_name: str, func_name: str) -> None:
    """Calling module ``module_name`` calls its attribute ``func_name``."""
    module = sys.modules[module_name]

    class _CallableModule(types.ModuleType):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return getattr(self, func_name)(*args, **kwargs)

    _CallableModule.__name__ = f"callable_module[{module_name}]"
    module.__class__ = _CallableModule
