"""predict/evaluate on tables: the run's own target column, messages about columns that name
them (and read as sentences), NaN named by column, and `lamina train`'s wording and warning
when its score is no better than a constant guess."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lamina.cli import _register, app

_register()
runner = CliRunner()


def _invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


def _error(res: Any) -> str:
    """The one error line of a command that failed as lamina's errors do (exit code 2)."""
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    return lines[0][len("error: "):]


def _frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """id, a, churn, b, c: the target in the middle, an id column to --drop."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return pd.DataFrame({"id": np.arange(n), "a": X[:, 0],
                         "churn": np.where(X[:, 0] > 0, "yes", "no"),
                         "b": X[:, 1], "c": X[:, 2]})


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tables")
    _frame().to_csv(folder / "train.csv", index=False)
    out = folder / "run"
    res = _invoke("train", str(folder / "train.csv"), "--target", "churn", "--drop", "id",
                  "--hidden", "4", "--epochs", "2", "-q", "--out", str(out))
    assert res.exit_code == 0, res.output
    return out


def _write(path: Path, frame: pd.DataFrame) -> str:
    frame.to_csv(path, index=False)
    return str(path)


# ------------------------------------------------------------ the run's recorded target
def test_evaluate_names_the_runs_target_when_the_table_lacks_it(run: Path,
                                                                tmp_path: Path) -> None:
    new = _write(tmp_path / "new.csv", _frame(10, 1).drop(columns="churn"))
    # (the last feature, 'c', was taken as the target and then reported missing)
    assert _error(_invoke("evaluate", str(run), new)) == (
        f"target column 'churn' (the run's target) not found in {new!r}; evaluate needs it "
        "to score the predictions. Pass a file with that column, or name the file's target "
        "column with --target NAME.")
    res = _invoke("predict", str(run), new, "--out", str(tmp_path / "p.csv"))
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(tmp_path / "p.csv")) == 10


def test_a_table_lacking_the_target_and_a_feature_names_only_the_feature(
        run: Path, tmp_path: Path) -> None:
    new = _write(tmp_path / "new.csv", _frame(10, 1).drop(columns=["churn", "b"]))
    assert _error(_invoke("predict", str(run), new, "--out", str(tmp_path / "p.csv"))) == (
        f"the feature columns of {new!r} are not the ones {run} was trained on (missing "
        "['b']; expected ['a', 'b', 'c']). Pass a file with that column.")
    new = _write(tmp_path / "new2.csv", _frame(10, 1).drop(columns=["churn", "b", "c"]))
    assert _error(_invoke("predict", str(run), new)).endswith(
        "(missing ['b', 'c']; expected ['a', 'b', 'c']). Pass a file with those columns.")


def test_evaluate_finds_the_target_wherever_it_stands(run: Path, tmp_path: Path) -> None:
    frame = _frame(20, 2)
    first = _write(tmp_path / "first.csv", frame[["churn", "id", "c", "b", "a"]])
    last = _write(tmp_path / "last.csv", frame[["id", "a", "b", "c", "churn"]])
    a, b = _invoke("evaluate", str(run), first), _invoke("evaluate", str(run), last)
    assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output
    assert "all 20 rows of" in a.output
    assert re.findall(r"accuracy\s*│\s*([0-9.]+)", a.output) \
        == re.findall(r"accuracy\s*│\s*([0-9.]+)", b.output)


def test_train_records_the_target_it_found(tmp_path: Path) -> None:
    frame = _frame(60, 3).drop(columns="id")[["a", "b", "c", "churn"]]
    out = tmp_path / "run"
    res = _invoke("train", _write(tmp_path / "t.csv", frame), "--hidden", "4", "--epochs",
                  "1", "-q", "--out", str(out))
    assert res.exit_code == 0, res.output
    info = json.loads((out / "train_data.json").read_text())
    assert info["target"] == "churn" and info["features"] == ["a", "b", "c"]


def test_a_record_without_a_target_takes_the_column_besides_the_features(
        run: Path, tmp_path: Path) -> None:
    """A run recorded before the target was: the one column that is not a feature."""
    import shutil

    old = tmp_path / "old"
    shutil.copytree(run, old)
    info = json.loads((old / "train_data.json").read_text())
    (old / "train_data.json").write_text(json.dumps({**info, "target": None}))
    frame = _frame(20, 4)
    res = _invoke("evaluate", str(old), _write(tmp_path / "t.csv", frame[["churn", "a", "b",
                                                                           "c"]]))
    assert res.exit_code == 0 and "accuracy" in res.output, res.output
    features = _write(tmp_path / "f.csv", frame[["a", "b", "c"]])
    assert _error(_invoke("evaluate", str(old), features)) == (
        f"{features!r} has no target column besides the run's features; evaluate needs one "
        "to score the predictions. Pass a file with the target column (--target NAME names "
        "it).")


# ------------------------------------------------------------ non-numeric columns
def test_train_says_drop_as_an_option(tmp_path: Path) -> None:
    frame = _frame(30, 5).assign(city="Lyon", name="x")
    data = _write(tmp_path / "t.csv", frame)
    res = _invoke("train", data, "--target", "churn", "--epochs", "1", "-q")
    assert _error(res) == (
        "feature column 'city' (e.g. 'Lyon') is not numeric (also: 'name'). Encode them as "
        "numbers (e.g. with sklearn.preprocessing.OneHotEncoder or OrdinalEncoder), or leave "
        "them out with --drop city,name.")
    res = _invoke("train", data, "--target", "churn", "--drop", "id,name", "--epochs", "1",
                  "-q")
    assert _error(res) == (
        "feature column 'city' (e.g. 'Lyon') is not numeric. Encode it as numbers (e.g. with "
        "sklearn.preprocessing.OneHotEncoder or OrdinalEncoder), or leave it out with --drop "
        "id,name,city.")


@pytest.mark.parametrize("verb", ["predict", "evaluate"])
def test_a_text_column_the_run_never_read_is_to_remove(run: Path, tmp_path: Path,
                                                      verb: str) -> None:
    data = _write(tmp_path / "t.csv", _frame(10, 6).assign(note="hi"))
    assert _error(_invoke(verb, str(run), data, "--out", str(tmp_path / "p.csv"))
                  if verb == "predict" else _invoke(verb, str(run), data)) == (
        f"feature column 'note' (e.g. 'hi') is not numeric. Run {run} was not trained on it: "
        "remove the column(s) note from this file, or retrain with --drop note (predict and "
        "evaluate then leave it out).")


@pytest.mark.parametrize("target", [True, False])
def test_a_feature_holding_text_is_to_write_as_numbers(run: Path, tmp_path: Path,
                                                       target: bool) -> None:
    frame = _frame(10, 7).astype({"b": object})
    frame.loc[3, "b"] = "unknown"
    if not target:
        frame = frame.drop(columns="churn")
    data = _write(tmp_path / "t.csv", frame)
    message = _error(_invoke("predict", str(run), data, "--out", str(tmp_path / "p.csv")))
    assert re.fullmatch(r"feature column 'b' \(e\.g\. '[-0-9.e]+'\) is not numeric\. "
                        + re.escape(f"Run {run} was trained on 'b' as numbers: write its "
                                    "values in this file as numbers, as in the training data."),
                        message), message


def test_text_in_a_feature_and_in_another_column_names_both(run: Path, tmp_path: Path) -> None:
    frame = _frame(10, 8).assign(c="x", note="hi")
    data = _write(tmp_path / "t.csv", frame)
    assert _error(_invoke("evaluate", str(run), data)) == (
        "feature column 'c' (e.g. 'x') is not numeric (also: 'note'). Run "
        f"{run} was trained on 'c' as numbers: write its values in this file as numbers, as "
        f"in the training data. Run {run} was not trained on 'note': remove the column(s) note "
        "from this file, or retrain with --drop note (predict and evaluate then leave it out).")


def test_a_run_saved_from_python_cannot_tell_which_columns_it_read(tmp_path: Path) -> None:
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    import lamina

    rng = np.random.default_rng(9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lamina.MLPClassifier((4,), max_iter=2, random_state=0).fit(
            rng.normal(size=(20, 2)), np.arange(20) % 2).save(tmp_path / "r")
    data = _write(tmp_path / "t.csv", pd.DataFrame({"a": [1.0, 2.0], "city": ["x", "y"],
                                                    "label": [0, 1]}))
    assert _error(_invoke("evaluate", str(tmp_path / "r"), data)) == (
        "feature column 'city' (e.g. 'x') is not numeric. Remove the column(s) city from this "
        "file if the run was not trained on it; otherwise write it as numbers, as in the "
        "training data.")


def test_columns_that_are_not_the_runs_at_all_are_named_as_such(run: Path,
                                                                tmp_path: Path) -> None:
    data = tmp_path / "g.csv"
    data.write_text("a;b\n1;2\n \n")          # another table entirely (one cell is a blank)
    # (its column 'a' is not numbers, which was the error: the columns are the problem)
    assert _error(_invoke("predict", str(run), str(data))) == (
        f"the feature columns of {str(data)!r} are not the ones {run} was trained on (missing "
        "['c']; expected ['a', 'b', 'c']). Pass a file with that column.")
    data.write_text("x;y\n1;2\n \n")
    assert _error(_invoke("predict", str(run), str(data))) == (
        f"the feature columns of {str(data)!r} are not the ones {run} was trained on (missing "
        "['a', 'b', 'c']; not trained on ['x', 'y']; expected ['a', 'b', 'c']). Rename the "
        "columns as in training.")


# ------------------------------------------------------------ NaN named by column
@pytest.mark.parametrize("order", [["a", "b", "c"], ["c", "b", "a"]])
def test_nan_in_rows_to_predict_names_the_column(run: Path, tmp_path: Path,
                                                 order: list[str]) -> None:
    frame = _frame(10, 10)
    frame.loc[3, "b"] = np.nan
    data = _write(tmp_path / "n.csv", frame[order])
    assert _error(_invoke("predict", str(run), data, "--out", str(tmp_path / "p.csv"))) == (
        f"{data!r} has 1 NaN values in column 'b' (1), rows 3. Impute them, e.g. "
        "sklearn.impute.SimpleImputer(strategy='median'), or drop those rows.")
    labelled = _write(tmp_path / "l.csv", frame[[*order, "churn"]])
    assert "in column 'b' (1), rows 3." in _error(_invoke("evaluate", str(run), labelled))


# ------------------------------------------------------------ train: wording, warning, -q
def test_a_regression_hold_out_is_random_and_a_useless_fit_is_called_out(
        tmp_path: Path) -> None:
    res = _invoke("train", "diabetes", "--hidden", "8", "--epochs", "3", "-q", "--out",
                  str(tmp_path / "run"))
    assert res.exit_code == 0, res.output
    assert "evaluated on a random 20 % hold-out (seed 0), 89 rows" in res.output
    assert "stratified" not in res.output
    warning = next(line for line in res.output.splitlines() if line.startswith("warning:"))
    assert re.fullmatch(
        r"warning: the test R² is -[0-9.]+, no better than always predicting the training "
        r"mean \(R² 0\)\. To do better, try: scale the target \(mean 15[0-9.]+, std 7[0-9.]+, "
        + re.escape("while the network's outputs start near 0): standardise the target column "
                    "((y - mean) / std) before training, or from Python wrap the model in "
                    "sklearn.compose.TransformedTargetRegressor(lamina.MLPRegressor(...), "
                    "transformer=StandardScaler()); train longer (--epochs 12; it stopped at "
                    "the limit of 3); raise the learning rate (--lr 0.01); train on "
                    "standardised columns (--scale standard)."), warning), warning
    # the warning comes after the scores it is about
    lines = res.output.splitlines()
    assert lines.index(warning) > next(i for i, x in enumerate(lines) if "r2" in x)


def test_a_classification_hold_out_is_stratified(tmp_path: Path) -> None:
    res = _invoke("train", "iris", "--hidden", "4", "--epochs", "1", "-q", "--out",
                  str(tmp_path / "run"))
    assert res.exit_code == 0, res.output
    assert "evaluated on a stratified 20 % hold-out (seed 0), 30 rows" in res.output


def _fit(**kw: Any) -> Any:
    return SimpleNamespace(**{"stop_reason_": "reached max_epochs=50", "n_iter_": 50,
                              "scale": None, "_multilabel": False, **kw})


def test_the_warning_against_a_constant_guess() -> None:
    from lamina.cli._core import _no_better_than_a_guess as guess

    ytr, yte = np.array(["a"] * 6 + ["b"] * 4), np.array(["a"] * 3 + ["b"] * 2)
    assert guess(_fit(), ytr, yte, {"accuracy": 0.6}, epochs=50, lr=1e-3) == (
        "warning: the test accuracy is 0.6, no better than always predicting the most "
        "common training class 'a' (0.6). To do better, try: train longer (--epochs 200; it "
        "stopped at the limit of 50); raise the learning rate (--lr 0.01); train on "
        "standardised columns (--scale standard).")
    assert guess(_fit(), ytr, yte, {"accuracy": 0.8}, epochs=50, lr=1e-3) is None
    # a hold-out of one class: any accuracy equals the guess's; nothing to say
    assert guess(_fit(), ytr, np.array(["a"] * 5), {"accuracy": 1.0}, epochs=50,
                 lr=1e-3) is None
    assert guess(_fit(_multilabel=True), ytr, yte, {"accuracy": 0.0}, epochs=50,
                 lr=1e-3) is None
    # stopped early, a diverged fit, a standardising run, a standardised target
    y = np.random.default_rng(0).normal(size=40)
    assert guess(_fit(n_iter_=12, stop_reason_="training diverged at epoch 12",
                      scale="standard"), y, y[:8], {"r2": -0.5}, epochs=50, lr=0.01) == (
        "warning: the test R² is -0.5, no better than always predicting the training mean "
        "(R² 0). To do better, try: lower the learning rate (--lr 0.001).")
    assert guess(_fit(), y, y[:8], {"r2": 0.01}, epochs=50, lr=1e-3) is None
    assert guess(_fit(n_iter_=9, scale="standard"), y, y[:8], {"r2": 0.0}, epochs=50,
                 lr=0.02).endswith("To do better, try: a wider network (--hidden 512,256) or "
                                   "more rows; else the features may not predict the target.")


def test_train_takes_q_for_quiet(tmp_path: Path) -> None:
    quiet = _invoke("train", "iris", "--hidden", "4", "--epochs", "2", "-q", "--out",
                    str(tmp_path / "a"))
    loud = _invoke("train", "iris", "--hidden", "4", "--epochs", "2", "--out",
                   str(tmp_path / "b"))
    assert quiet.exit_code == 0 and loud.exit_code == 0, quiet.output + loud.output
    assert len(quiet.output) < len(loud.output)
    assert re.search(r"--quiet\s+-q\s", _invoke("train", "--help").output)


def test_too_few_rows_to_hold_out_speak_of_strata_for_classes_only() -> None:
    from lamina import DataError
    from lamina.cli import _rows
    from lamina.datasets import Dataset

    X = np.zeros((3, 2), dtype=np.float32)
    reg = Dataset(name="r", task="regression", X=X[:1], y=np.zeros(1, np.float32))
    with pytest.raises(DataError) as e:
        _rows.split(reg, 0)
    assert str(e.value).startswith("cannot hold out 20 % of r's 1 rows for testing (")
    assert str(e.value).endswith("). Pass more rows.")
    cls = Dataset(name="c", task="classification", X=X, y=np.array([0, 1, 1]),
                  target_names=["a", "b"])
    with pytest.raises(DataError, match=r"Pass more rows: a stratified hold-out needs at least "
                                        r"one test row per class\.$"):
        _rows.split(cls, 0)
