"""Recipe tests import ``recipes.NAME`` from the repository root and run torch on one thread."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lamina._threads import few_threads

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(autouse=True)
def _single_thread() -> Iterator[None]:
    """Quick recipe runs use tiny networks; one thread avoids oversubscribing shared cores."""
    with few_threads(1):
        yield
