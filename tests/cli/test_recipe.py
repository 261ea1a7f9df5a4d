"""``lamina recipe``: listing, running with --out, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lamina.cli import _register, app
from lamina.cli._recipe import list_recipes, recipes_dir

ROOT = Path(__file__).resolve().parents[2]
_register()


def test_list_reads_titles_without_importing() -> None:
    names = list_recipes(ROOT / "recipes")
    for name in ("image_recognition", "medical_diagnosis", "speech_recognition",
                 "text_classification", "autoencoder", "transfer"):
        assert name in names and names[name]
    assert not any(n.startswith("_") for n in names)
    out = CliRunner().invoke(app, ["recipe", "--list", "--dir", str(ROOT / "recipes")])
    assert out.exit_code == 0
    assert "medical_diagnosis" in out.output and "Medical diagnosis" in out.output


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_run_writes_result(tmp_path: Path) -> None:
    out = CliRunner().invoke(app, ["recipe", "medical_diagnosis", "--dir",
                                   str(ROOT / "recipes"), "--out", str(tmp_path),
                                   "--threads", "1"])
    assert out.exit_code == 0, out.output
    assert "mlp_accuracy" in out.output and "logreg_accuracy" in out.output
    res = json.loads((tmp_path / "result.json").read_text())
    assert res["recipe"] == "medical_diagnosis" and res["metrics"]["mlp_accuracy"] > 0.9


def test_errors(tmp_path: Path) -> None:
    out = CliRunner().invoke(app, ["recipe", "medical_diagnosys", "--dir",
                                   str(ROOT / "recipes")])
    assert out.exit_code == 2
    assert "Invalid NAME='medical_diagnosys'" in out.output
    assert "Did you mean 'medical_diagnosis'?" in out.output
    out = CliRunner().invoke(app, ["recipe", "--list", "--dir", str(tmp_path)])
    assert out.exit_code == 2 and "no recipes folder found" in out.output
    assert recipes_dir(str(ROOT / "recipes")) == (ROOT / "recipes").resolve()


@pytest.mark.parametrize(("args", "needle"), [
    (["--seed", "-1"], "Invalid --seed=-1"),
    (["--threads", "-2"], "Invalid --threads=-2"),
    (["--out", "/etc/passwd/x"], "'/etc/passwd' is not a folder"),
])
def test_bad_options_are_refused_before_the_recipe_runs(args: list[str], needle: str) -> None:
    res = CliRunner().invoke(app, ["recipe", "medical_diagnosis", *args])
    assert res.exit_code == 2 and needle in res.output, res.output
