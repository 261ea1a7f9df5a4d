"""What the `lamina search` CLI tests share: the runner, one torch thread, and the invocation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

from lamina.cli import _register, app

_register()
runner = CliRunner()


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny searches: one torch thread is faster on a shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def run_search(*args: str) -> Any:
    """``lamina search ARGS`` in-process (while `search` is the only registered verb, typer
    runs it as the whole app)."""
    import typer

    prefix = ["search"] if hasattr(typer.main.get_command(app), "commands") else []
    return runner.invoke(app, [*prefix, *args])
