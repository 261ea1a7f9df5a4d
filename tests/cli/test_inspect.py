"""``lamina inspect`` and ``lamina report``, run in-process on a saved run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from sklearn.datasets import load_digits
from typer.testing import CliRunner

import lamina
from lamina.cli import _register, app

_register()
runner = CliRunner()


def _run(*args: str) -> object:
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    X, y = load_digits(return_X_y=True)
    clf = lamina.MLPClassifier((32, 16), max_iter=15, random_state=0).fit(X / 16.0, y)
    path = tmp_path_factory.mktemp("runs") / "digits"
    clf.save(path)
    return path


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_inspect_then_report(run_dir: Path) -> None:
    res = _run("inspect", str(run_dir), "digits", "--batch-size", "500")
    assert res.exit_code == 0, res.output
    assert "1797 examples, 2 hidden layers" in res.output
    assert f"inspection saved to {run_dir / 'inspection'}" in res.output
    doc = json.loads((run_dir / "inspection" / "inspection.json").read_text())
    assert [layer["name"] for layer in doc["layers"]] == ["hidden.0", "hidden.1"]
    assert doc["input_info"]["image_shape"] == [1, 8, 8]
    res = _run("report", str(run_dir))
    assert res.exit_code == 0, res.output
    text = (run_dir / "report.html").read_text()
    assert ">Layer hidden.1<" in text and "Gradient flow skipped" in text
    out = run_dir.parent / "fresh.html"
    res = _run("report", str(run_dir), "--data", "digits", "--out", str(out))
    assert res.exit_code == 0 and f"report written to {out}" in res.output
    assert ">Gradient flow<" in out.read_text()


def test_cli_errors_are_one_line_messages(run_dir: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("config.json", "weights.safetensors", "history.jsonl"):
        if (run_dir / name).exists():
            (bare / name).write_bytes((run_dir / name).read_bytes())
    res = _run("report", str(bare))
    assert res.exit_code == 2
    assert "has no saved inspection" in res.output and "--data NAME" in res.output
    res = _run("inspect", str(run_dir), "digits", "--split", "both")
    assert res.exit_code == 2 and "Invalid split='both'" in res.output
    res = _run("inspect", str(tmp_path / "missing"), "digits")
    assert res.exit_code == 2 and res.output.startswith("error:")
