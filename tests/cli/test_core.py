"""The core CLI verbs, run in-process, plus the instant-help promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from lamina.cli import _register, app

_register()
runner = CliRunner()


def _run(*args: str) -> object:
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_train_evaluate_predict_round_trip(tmp_path: Path) -> None:
    run = tmp_path / "run"
    res = _run("train", "digits", "--hidden", "32", "--epochs", "40", "--batch-size", "64",
               "--quiet",
               "--out", str(run))
    assert res.exit_code == 0, res.output
    assert "accuracy" in res.output and f"run saved to {run}" in res.output
    assert (run / "config.json").is_file() and (run / "weights.safetensors").is_file()
    acc = float(next(line for line in res.output.splitlines() if "accuracy" in line)
                .split("│")[2])
    assert acc > 0.85
    res = _run("evaluate", str(run), "digits")
    assert res.exit_code == 0 and "accuracy" in res.output
    out = tmp_path / "p.csv"
    res = _run("predict", str(run), "digits", "--out", str(out))
    assert res.exit_code == 0
    frame = pd.read_csv(out)
    assert len(frame) == 1797 and {"prediction", "proba_0", "proba_9"} <= set(frame.columns)


def test_train_regression_from_a_csv(tmp_path: Path) -> None:
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    table = X.assign(target=(y - y.mean()) / y.std())
    table.to_csv(tmp_path / "d.csv", index=False)
    res = _run("train", str(tmp_path / "d.csv"), "--hidden", "16", "--epochs", "40",
               "--lr", "0.01", "--quiet", "--out", str(tmp_path / "run"))
    assert res.exit_code == 0, res.output
    assert "r2" in res.output and "mae" in res.output


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("train", "digitz"), "Did you mean 'digits'?"),
        (("train", "digits", "--hidden", "0"), "Invalid --hidden='0': widths must be positive "
                                               "integers, got 0. Pass e.g. --hidden 256,128"),
        (("train", "digits", "--hidden", "32:rleu"), "Invalid --hidden='32:rleu': spec='32:rleu': "
                                                     "unknown option 'rleu'"),
        (("train", "digits", "--activation", "rleu"), "Did you mean 'relu'? Pass one of them "
                                                      "with --activation."),
        (("train", "digits", "--lr", "-1"), "Invalid --lr=-1.0: must be a real number in "
                                            "(0.0, inf]"),
        (("train", "digits", "--epochs", "0"), "Invalid --epochs=0: must be an integer >= 1"),
        (("train", "digits", "--batch-size", "0"), "Invalid --batch-size=0"),
        (("evaluate", "/nonexistent/run", "digits"), "does not exist"),
    ],
)
def test_bad_usage_exits_2_with_one_line(args: tuple[str, ...], needle: str) -> None:
    res = runner.invoke(app, list(args))
    assert res.exit_code == 2
    lines = [line for line in res.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0]


def test_datasets_lists_availability() -> None:
    res = _run("datasets")
    assert res.exit_code == 0
    assert "fashion_mnist" in res.output and "digits" in res.output


def test_help_does_not_import_torch() -> None:
    code = ("import sys; from lamina.cli import _register, app; _register(); "
            "import typer.testing as t; t.CliRunner().invoke(app, ['--help']); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
