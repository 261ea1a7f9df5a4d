"""The HTML report: ``lamina.report(model, ins, "report.html")``.

The package itself is callable (``lamina.report(...)`` == ``lamina.report.report(...)``), so the
name works whether ``lamina.report`` resolves to this package or to the function.
"""

from __future__ import annotations

from .._callable_module import make_callable as _make_callable
from ._report import render, report, write_report

__all__ = ["report", "write_report", "render"]

_make_callable(__name__, "report")  # lamina.report(...) calls the function
