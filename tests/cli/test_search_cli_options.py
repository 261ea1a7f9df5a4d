"""``lamina search`` options: a missing ``--space`` file and a bad ``--storage`` are one-line
errors that leave no folder behind; ``--target`` and ``--drop`` read a file as ``lamina train``
does."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _search_cli import one_thread, run_search  # noqa: F401 (autouse fixture)

TINY = ["--space", '{"n_layers": 1, "width": [8], "batch_size": [32]}', "--population", "2",
        "--batch", "1", "--n-trials", "2", "--quiet"]


def _one_line_error(r, start: str) -> None:  # noqa: ANN001
    assert r.exit_code == 2, r.output
    assert r.output.startswith(start), r.output
    assert r.output.count("\n") == 1, r.output


def test_a_missing_space_file_is_a_one_line_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    r = run_search("iris", "--space", "nosuch.json", "--out", str(tmp_path / "run"), "--quiet")
    _one_line_error(r, "error: Invalid --space='nosuch.json': cannot read the file (No such "
                       "file or directory). Pass an existing .json file, or the JSON text itself.")
    assert not (tmp_path / "run").exists()


def test_a_space_file_is_read(tmp_path: Path) -> None:
    space = tmp_path / "space.json"
    space.write_text('{"n_layers": 1, "width": [8], "batch_size": [32]}')
    r = run_search("iris", "--space", str(space), "--n-trials", "2", "--population", "2",
                   "--batch", "1", "--no-refit", "--quiet", "--out", str(tmp_path / "run"))
    assert r.exit_code == 0, r.output
    trials = pd.read_csv(tmp_path / "run" / "trials.csv")
    assert set(trials["hidden_layer_sizes"]) == {"(8,)"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("url, text", [
    ("notaurl", "error: Invalid --storage='notaurl': expected None (in memory)"),
    ("mysql://me@127.0.0.1/db", "error: Invalid --storage='mysql://me@127.0.0.1/db': no "
                                "database driver for mysql is installed"),
    ("nosuchdb://me@127.0.0.1/db", "error: Invalid --storage='nosuchdb://me@127.0.0.1/db': not "
                                   "a database URL SQLAlchemy can open"),
])
def test_a_bad_storage_url_leaves_no_folder(tmp_path: Path, url: str, text: str) -> None:
    out = tmp_path / "run"
    r = run_search("iris", "--storage", url, "--out", str(out), *TINY)
    _one_line_error(r, text)
    assert not out.exists()


def test_an_unreachable_server_leaves_no_folder(tmp_path: Path) -> None:
    pytest.importorskip("psycopg2")
    out = tmp_path / "deep" / "run"
    r = run_search("iris", "--storage", f"postgresql://me@127.0.0.1:{_free_port()}/db",
                   "--out", str(out), *TINY)
    _one_line_error(r, "error: Invalid --storage=")
    assert "could not open the study database" in r.output
    assert not out.exists()


@pytest.fixture
def table(tmp_path: Path) -> Path:
    """The label first, then numbers, then a text column."""
    rng = np.random.default_rng(0)
    n = 60
    age = rng.integers(20, 70, n).astype(float)
    income = rng.normal(3.0, 1.0, n)
    frame = pd.DataFrame({"churn": np.where(income > 3.0, "yes", "no"), "age": age,
                          "income": income, "city": rng.choice(["Paris", "Lyon"], n)})
    path = tmp_path / "churn.csv"
    frame.to_csv(path, index=False)
    return path


def test_target_and_drop_read_a_file_as_train_does(tmp_path: Path, table: Path) -> None:
    out = tmp_path / "run"
    r = run_search(str(table), "--target", "churn", "--drop", "city", "--out", str(out), *TINY)
    assert r.exit_code == 0, r.output
    record = json.loads((out / "model" / "train_data.json").read_text())
    assert record["target"] == "churn" and record["drop"] == ["city"]
    assert record["features"] == ["age", "income"]
    assert json.loads((out / "best.json").read_text())["trials_this_run"] == 2


def test_a_text_column_is_named_with_the_drop_option(tmp_path: Path, table: Path) -> None:
    out = tmp_path / "run"
    r = run_search(str(table), "--target", "churn", "--out", str(out), *TINY)
    _one_line_error(r, "error: ")
    assert "'city'" in r.output and "--drop city" in r.output and "drop=[" not in r.output
    assert not out.exists()


def test_n_samples_subsamples_a_file(tmp_path: Path, table: Path) -> None:
    out = tmp_path / "run"
    r = run_search(str(table), "--target", "churn", "--drop", "city", "--n-samples", "40",
                   "--out", str(out), *TINY)
    assert r.exit_code == 0, r.output
    assert json.loads((out / "model" / "train_data.json").read_text())["rows"] == 40


def test_target_and_drop_apply_to_files_only(tmp_path: Path) -> None:
    r = run_search("iris", "--drop", "petal", "--out", str(tmp_path / "run"), *TINY)
    _one_line_error(r, "error: Invalid --drop='petal': it applies to files only")
    r = run_search("iris", "--target", "species", "--out", str(tmp_path / "run"), *TINY)
    _one_line_error(r, "error: Invalid --target='species': the registered dataset 'iris' has "
                       "a fixed target")
    assert not (tmp_path / "run").exists()
