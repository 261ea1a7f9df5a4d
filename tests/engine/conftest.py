"""Engine tests use tiny tensors: one intra-op thread avoids OpenMP barrier stalls when the
shared machine is busy (restored after each test, so other test files are unaffected)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lamina._threads import few_threads

# the tests import their shared references (_engine_ref.py) by name, also under
# --import-mode=importlib, which does not put test directories on sys.path
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    with few_threads(1):
        yield


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A torch UserWarning in the engine (e.g. an out= tensor being resized) is a bug here."""
    here = str(config.rootpath / "tests" / "engine")
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.filterwarnings("error::UserWarning"))
