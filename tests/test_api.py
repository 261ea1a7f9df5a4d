"""The public surface: every exported name resolves, and the README's quick start runs as
written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import lamina

ROOT = Path(__file__).resolve().parents[1]


def test_every_public_name_resolves() -> None:
    for name in lamina.__all__:
        assert getattr(lamina, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = lamina.nope  # type: ignore[attr-defined]


def test_search_and_report_stay_callable_after_their_packages_load() -> None:
    import lamina.report._report  # noqa: F401  (binds the package on `lamina`)
    import lamina.search._search  # noqa: F401

    assert callable(lamina.report) and callable(lamina.search)
    assert lamina.search.search is not None and lamina.report.write_report is not None


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_readme_quick_start_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Quick start\s+```python\n(.*?)```", text, re.S)
    assert block is not None
    monkeypatch.chdir(tmp_path)
    scope: dict[str, object] = {}
    exec(compile(block.group(1), "README.md", "exec"), scope)  # noqa: S102
    assert (tmp_path / "runs" / "digits" / "config.json").is_file()
    assert scope["clf"].score(scope["Xte"], scope["yte"]) > 0.9  # type: ignore[attr-defined]
    assert scope["hist"].last["val_accuracy"] > 0.8  # type: ignore[attr-defined]
