"""Every Examples section in lamina's docstrings runs and prints what it shows.

The docstrings are the first documentation a user reads (``help(lamina.inspect)``); an example
that no longer works is a bug. Examples marked ``+SKIP`` (those that write files or train for
long) are skipped by doctest itself.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import warnings

import pytest
import torch

import lamina
from lamina._threads import few_threads

MODULES = sorted(m.name for m in pkgutil.walk_packages(lamina.__path__, "lamina."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    with few_threads(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")             # ConvergenceWarning of short example fits
        torch.manual_seed(0)
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS
                                 | doctest.NORMALIZE_WHITESPACE, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed (above)"
