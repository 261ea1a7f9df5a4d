"""Fixtures shared by the estimator tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lamina._threads import few_threads


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """One torch thread for a module's tests (small deep models: a second thread only waits on
    the first on a shared 2-core machine), restored afterwards."""
    with few_threads(1):
        yield
