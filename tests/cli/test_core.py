"""The core CLI verbs, run in-process, plus the instant-help promise."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import lamina
from lamina.cli import _register, app

_register()
runner = CliRunner()


def _run(*args: str) -> object:
    return runner.invoke(app, list(args), catch_exceptions=False)


def _accuracy(output: str) -> float:
    return float(next(line for line in output.splitlines() if "accuracy" in line).split("│")[2])


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
    # digits has no test split: evaluate scores the rows train held out, so the same figure
    assert "the 20 % hold-out `lamina train` kept out (seed 0), 360 rows" in res.output
    assert _accuracy(res.output) == acc
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
        (("train", "digits", "--hidden", "64,-5"), "Invalid --hidden='64,-5': widths must be "
                                                   "positive integers, got -5."),
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


def _table(path: Path, X: object, labels: object = None, columns: tuple[str, ...] = ("a", "b"),
           ) -> Path:
    frame = pd.DataFrame(X, columns=list(columns))
    if labels is not None:
        frame["label"] = labels
    frame.to_csv(path, index=False)
    return path


def test_string_labels_are_kept_by_name_across_files(tmp_path: Path) -> None:
    """A file holding only some classes is scored against the run's own labels (each file's
    labels were once re-encoded from that file alone: 'yes' became class 0 there)."""
    import numpy as np

    import lamina

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2))
    y = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    _table(tmp_path / "train.csv", X, y)
    yes = _table(tmp_path / "yes.csv", X[y == "yes"][:100], y[y == "yes"][:100])
    run = tmp_path / "run"
    res = _run("train", str(tmp_path / "train.csv"), "--hidden", "16", "--epochs", "60",
               "--lr", "0.01", "--quiet", "--out", str(run))
    assert res.exit_code == 0, res.output
    est = lamina.load(run)
    assert est.classes_.tolist() == ["no", "yes"]
    res = _run("evaluate", str(run), str(yes))
    assert res.exit_code == 0, res.output
    assert "all 100 rows" in res.output
    # a tiny labelled table to score or predict is not held to the training checks
    two = _table(tmp_path / "two.csv", X[:2], y[:2])
    assert _run("evaluate", str(run), str(two)).exit_code == 0
    assert _run("predict", str(run), str(two), "--out", str(tmp_path / "t.csv")).exit_code == 0
    expected = float(np.mean(est.predict(X[y == "yes"][:100].astype(np.float32)) == "yes"))
    assert expected > 0.7
    assert _accuracy(res.output) == pytest.approx(expected, abs=5e-5)
    out = tmp_path / "p.csv"
    assert _run("predict", str(run), str(yes), "--out", str(out)).exit_code == 0
    frame = pd.read_csv(out)
    assert set(frame["prediction"]) <= {"yes", "no"}
    assert {"proba_no", "proba_yes"} <= set(frame.columns)


def test_predict_reads_a_table_without_a_target_and_checks_its_columns(tmp_path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] > 0).astype(int)
    run = tmp_path / "run"
    _table(tmp_path / "train.csv", X, y)
    assert _run("train", str(tmp_path / "train.csv"), "--hidden", "8", "--epochs", "5",
                "--quiet", "--out", str(run)).exit_code == 0
    out = tmp_path / "p.csv"
    res = _run("predict", str(run), str(_table(tmp_path / "new.csv", X[:7])), "--out", str(out))
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(out)) == 7
    bad = runner.invoke(app, ["predict", str(run), str(_table(tmp_path / "renamed.csv", X[:7],
                                                                columns=("x1", "x2")))])
    assert bad.exit_code == 2
    assert "missing ['a', 'b']; not trained on ['x1', 'x2']" in bad.output, bad.output
    # the same columns in another order are put back in the training order, by name
    swapped = _table(tmp_path / "swapped.csv", X[:7, ::-1], columns=("b", "a"))
    res = _run("predict", str(run), str(swapped), "--out", str(tmp_path / "q.csv"))
    assert res.exit_code == 0, res.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "q.csv"), pd.read_csv(out))


def test_evaluate_refuses_labels_the_run_never_saw(tmp_path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(2)
    X = rng.normal(size=(120, 2))
    run = tmp_path / "run"
    _table(tmp_path / "train.csv", X, np.where(X[:, 0] > 0, "up", "down"))
    assert _run("train", str(tmp_path / "train.csv"), "--hidden", "8", "--epochs", "5",
                "--quiet", "--out", str(run)).exit_code == 0
    res = runner.invoke(app, ["evaluate", str(run),
                              str(_table(tmp_path / "odd.csv", X[:5], ["sideways"] * 5))])
    assert res.exit_code == 2
    assert "labels the run never saw in training: ['sideways'] (it knows ['down', 'up'])" \
        in res.output


def test_evaluate_a_run_saved_from_python_scores_every_row(tmp_path: Path) -> None:
    """No train_data.json (a run saved by est.save): the CLI cannot know the training rows."""
    from sklearn.datasets import load_digits

    import lamina

    X, y = load_digits(return_X_y=True)
    lamina.MLPClassifier((16,), max_iter=5, random_state=0).fit(X / 16, y).save(tmp_path / "r")
    res = _run("evaluate", str(tmp_path / "r"), "digits")
    assert res.exit_code == 0 and "all 1797 rows of digits" in res.output


@pytest.mark.parametrize(("table", "needle"), [
    ("a,b,label\n1,2,x\n,3,y\n4,5,x\n6,7,y\n", "X has 1 NaN values in column 'a'"),
    ("a,b,label\n1,2,x\n3,3,y\n4,5,x\n6,7,y\n1,1,z\n", "y: class 'z' has only 1 sample"),
    ("a,b,label\n1,2,x\n3,3,y\n4,5,x\n6,7,y\n", "cannot hold out 20 % of t's 4 rows"),
    ("a,b,label\n", "has a header but no rows"),
])
def test_train_refuses_unusable_tables_in_one_line(tmp_path: Path, table: str, needle: str,
                                                    ) -> None:
    (tmp_path / "t.csv").write_text(table)
    res = runner.invoke(app, ["train", str(tmp_path / "t.csv"), "--epochs", "2"])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], res.output


def test_drop_leaves_columns_out_of_training_and_of_later_tables(tmp_path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 2))
    frame = pd.DataFrame({"id": range(200), "name": [f"n{i}" for i in range(200)],
                          "a": X[:, 0], "b": X[:, 1],
                          "label": np.where(X[:, 0] > 0, "up", "down")})
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.drop(columns="label")[:6].to_csv(tmp_path / "new.csv", index=False)
    run = tmp_path / "run"
    res = runner.invoke(app, ["train", str(tmp_path / "t.csv"), "--quiet", "--out", str(run)])
    assert res.exit_code == 2 and "leave it out with --drop name." in res.output
    res = _run("train", str(tmp_path / "t.csv"), "--hidden", "8", "--epochs", "20", "--lr",
               "0.01", "--quiet", "--drop", "id,name", "--out", str(run))
    assert res.exit_code == 0, res.output
    out = tmp_path / "p.csv"
    assert _run("predict", str(run), str(tmp_path / "new.csv"), "--out", str(out)).exit_code == 0
    assert len(pd.read_csv(out)) == 6
    res = _run("evaluate", str(run), str(tmp_path / "t.csv"))
    assert res.exit_code == 0 and "hold-out `lamina train` kept out" in res.output
    res = runner.invoke(app, ["train", "digits", "--drop", "x"])
    assert res.exit_code == 2 and "Invalid --drop='x': it applies to files only" in res.output


@pytest.mark.parametrize(("data", "hint"), [("breast_cancer", True), ("iris", False)])
def test_train_says_when_features_are_not_standardised(tmp_path: Path, data: str,
                                                        hint: bool) -> None:
    res = _run("train", data, "--hidden", "8", "--epochs", "2", "--quiet", "--out",
               str(tmp_path / "run"))
    assert res.exit_code == 0, res.output
    note = "note: the features are not standardised ('worst area': mean 880.6, std 568.9)"
    assert (note in res.output) == hint
    assert ("note: the features are not standardised" in res.output) == hint


def test_train_scale_standard_saves_a_model_that_reads_raw_columns(tmp_path: Path) -> None:
    res = _run("train", "breast_cancer", "--scale", "standard", "--quiet", "--out",
               str(tmp_path / "run"))
    assert res.exit_code == 0, res.output
    assert "not standardised" not in res.output          # nothing left to suggest
    est = lamina.load(tmp_path / "run")
    assert est.scale == "standard" and est.scale_std_.max() > 100
    res = _run("evaluate", str(tmp_path / "run"), "breast_cancer")
    accuracy = float(re.search(r"accuracy\s*│\s*([0-9.]+)", res.output).group(1))
    assert accuracy >= 0.93, res.output                    # raw columns: 0.89 on this split
    res = runner.invoke(app, ["train", "iris", "--scale", "minmax"])
    assert res.exit_code == 2 and "Invalid --scale='minmax'" in res.output


def test_predict_and_evaluate_suggest_no_option_they_lack(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60),
                          "label": ["x", "y"] * 30})
    frame.to_csv(tmp_path / "t.csv", index=False)
    run = tmp_path / "run"
    assert _run("train", str(tmp_path / "t.csv"), "--hidden", "4", "--epochs", "2", "--quiet",
                "--out", str(run)).exit_code == 0
    frame.assign(hospital="st mary").to_csv(tmp_path / "extra.csv", index=False)
    for verb in ("evaluate", "predict"):
        res = runner.invoke(app, [verb, str(run), str(tmp_path / "extra.csv")])
        assert res.exit_code != 0
        assert "remove the column(s) hospital from this file" in res.output, res.output
        assert "leave it out with --drop" not in res.output


def test_train_prints_data_quality_warnings_as_notes(tmp_path: Path) -> None:
    res = _run("train", "iris", "--hidden", "4", "--epochs", "1", "--quiet", "--out",
               str(tmp_path / "run"))
    assert res.exit_code == 0, res.output
    assert "note: X has 1 duplicated row (e.g. row 142 = row 101)" in res.output


def test_evaluate_puts_reordered_columns_back_by_name(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    X = rng.normal(size=(150, 2))
    y = np.where(X[:, 0] > 0, "up", "down")
    run = tmp_path / "run"
    _table(tmp_path / "train.csv", X, y)
    assert _run("train", str(tmp_path / "train.csv"), "--hidden", "8", "--epochs", "60",
                "--lr", "0.05", "--batch-size", "16", "--quiet", "--out", str(run)).exit_code == 0
    new = rng.normal(size=(60, 2))
    labels = np.where(new[:, 0] > 0, "up", "down")
    same = _run("evaluate", str(run), str(_table(tmp_path / "t.csv", new, labels)))
    swapped = _run("evaluate", str(run), str(_table(tmp_path / "s.csv", new[:, ::-1], labels,
                                                     columns=("b", "a"))))
    assert swapped.exit_code == 0, swapped.output
    assert _accuracy(swapped.output) == _accuracy(same.output) > 0.8


def _one_line_error(res: object) -> str:
    assert res.exit_code == 2, res.output  # type: ignore[attr-defined]
    lines = [line for line in res.output.strip().splitlines() if line.strip()]  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_output_paths_seeds_and_data_kinds_are_refused_in_one_line(tmp_path: Path) -> None:
    """Acceptance review: each of these printed a traceback and exited 1."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    run = tmp_path / "run"
    lamina.MLPClassifier((8,), max_iter=3, random_state=0).fit(X, y).save(run)
    line = _one_line_error(runner.invoke(app, ["predict", str(run), "iris", "--out",
                                               str(tmp_path)]))
    assert "Invalid --out=" in line and "not a directory" in line and "predictions.csv" in line
    line = _one_line_error(runner.invoke(app, ["predict", str(run), "iris", "--out",
                                               str(run / "config.json")]))
    assert "a file outside the run directory" in line
    assert (run / "config.json").read_text().startswith("{")          # nothing overwritten
    line = _one_line_error(runner.invoke(app, ["train", "iris", "--seed", "-1"]))
    assert "Invalid --seed=-1: an integer from 0 to 2**32 - 1" in line
    # labels saved from a pandas column: an object array only pickle reads
    np.savez(tmp_path / "obj.npz", X=X, y=np.asarray(["a", "b", "c"] * 50, dtype=object))
    line = _one_line_error(runner.invoke(app, ["train", str(tmp_path / "obj.npz")]))
    assert "array 'y' in" in line and "is an object array" in line and "astype(str)" in line
    multi = tmp_path / "multi"
    Y = np.stack([y == 0, y == 2], axis=1).astype(int)
    lamina.MLPClassifier((8,), max_iter=3, random_state=0).fit(X, Y).save(multi)
    line = _one_line_error(runner.invoke(app, ["evaluate", str(multi), "iris"]))
    assert "several labels per row (a multi-label model)" in line
    # its predictions: a 0/1 column and a probability column per label, not "[1 0]" cells
    res = _run("predict", str(multi), "iris", "--out", str(tmp_path / "m.csv"))
    assert res.exit_code == 0 and "(2 labels each)" in res.output, res.output
    frame = pd.read_csv(tmp_path / "m.csv")
    assert list(frame.columns) == ["prediction_0", "prediction_1", "proba_0", "proba_1"]
    est = lamina.load(multi)
    np.testing.assert_array_equal(frame[["prediction_0", "prediction_1"]].to_numpy(),
                                  est.predict(X))


def test_small_tables_train_with_enough_steps_by_default(tmp_path: Path) -> None:
    """Acceptance review: with 256-row batches iris's 120 training rows made one step per
    epoch and early stopping ended at ~9 steps and 50 % accuracy; the default batch now gives
    ~16 steps an epoch on small tables (written: accuracy 1.0 after 8 epochs)."""
    from lamina.cli._core import auto_batch_size

    res = _run("train", "iris", "-q", "--out", str(tmp_path / "iris"))
    assert res.exit_code == 0, res.output
    assert _accuracy(res.output) >= 0.9
    assert lamina.load(tmp_path / "iris").batch_size == auto_batch_size(120) == 16


def test_small_tables_train_the_epochs_asked_and_say_when_the_loss_still_falls(
        tmp_path: Path) -> None:
    """Review: on spiral's 400 training rows, early stopping on a 40-row validation split
    stopped after 7 epochs whatever --epochs said (0.66 at --epochs 50 and 500). Below 1000
    training rows the CLI now trains --epochs, stopped by the training loss; a run cut by the
    limit while its loss still falls says so."""
    from lamina.cli._core import EARLY_STOPPING_ROWS

    res = _run("train", "spiral", "-q", "--epochs", "120", "--out", str(tmp_path / "s"))
    assert res.exit_code == 0, res.output
    assert 400 < EARLY_STOPPING_ROWS
    assert "stopped after 120 epochs: reached max_epochs=120" in res.output, res.output
    est = lamina.load(tmp_path / "s")
    assert est.early_stopping is False and len(est.loss_curve_) == 120
    res = _run("train", "iris", "-q", "--epochs", "15", "--out", str(tmp_path / "i"))
    assert res.exit_code == 0, res.output
    curve = lamina.load(tmp_path / "i").loss_curve_
    assert curve[-11] > 1.05 * curve[-1]                     # the loss fell over the last 10
    assert "note: the training loss was still falling at the limit of 15 epochs" in res.output
    assert "--epochs 60 may score higher" in res.output
    # a table of 1000+ training rows still stops early on its validation split
    res = _run("train", "digits", "-q", "--epochs", "60", "--out", str(tmp_path / "d"))
    assert res.exit_code == 0, res.output
    assert lamina.load(tmp_path / "d").early_stopping is True


def test_a_digits_run_keeps_integer_labels_for_python_users(tmp_path: Path) -> None:
    """Acceptance review: digits' class names are '0'..'9', and a run stored them as strings,
    so lamina.load(run).score(ds.X, ds.y) failed on a mix of label types. Names that are just
    the class ids written out are the ids; iris keeps 'setosa', ..."""
    res = _run("train", "digits", "-q", "--epochs", "3", "--out", str(tmp_path / "d"))
    assert res.exit_code == 0, res.output
    est, ds = lamina.load(tmp_path / "d"), lamina.datasets.load("digits")
    assert est.classes_.tolist() == list(range(10))
    assert est.score(ds.X, ds.y) > 0.8
    res = _run("evaluate", str(tmp_path / "d"), "digits")
    assert res.exit_code == 0 and _accuracy(res.output) > 0.8, res.output
    # a file without class 0: its own indices start at class 1, and must map back to labels
    frame = pd.DataFrame(ds.X, columns=ds.feature_names)
    frame["target"] = ds.y
    frame[frame.target != 0].to_csv(tmp_path / "no0.csv", index=False)
    res = _run("evaluate", str(tmp_path / "d"), str(tmp_path / "no0.csv"), "--target", "target")
    rows = frame[frame.target != 0]
    want = est.score(rows.drop(columns="target").to_numpy(), rows.target.to_numpy())
    assert res.exit_code == 0 and _accuracy(res.output) == pytest.approx(want, abs=1e-4)
    res = _run("train", "iris", "-q", "--epochs", "3", "--out", str(tmp_path / "i"))
    assert lamina.load(tmp_path / "i").classes_.tolist() == ["setosa", "versicolor", "virginica"]
