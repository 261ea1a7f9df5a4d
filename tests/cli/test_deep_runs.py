"""`lamina evaluate` / `lamina predict` on runs of the deep estimators saved from Python: every
classifier is scored as a classifier, an Autoencoder by its reconstruction error, and runs the
CLI cannot feed are refused in one line (exit 2) that names the Python call to use."""

from __future__ import annotations

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


def _metric(output: str, name: str) -> float:
    return float(next(line for line in output.splitlines() if f" {name} " in line)
                 .split("│")[2])


def _one_line_error(res: object, *needles: str) -> None:
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    for needle in needles:
        assert needle in lines[0], lines[0]


def _available(name: str) -> bool:
    return any(d.name == name and d.available for d in lamina.datasets.list_datasets())


def test_image_classifier_run_is_scored_as_a_classifier(tmp_path: Path) -> None:
    ds = lamina.datasets.load("digits")
    clf = lamina.ImageClassifier("conv(4,3,1,same)-pool-dense(16)", image_shape=(1, 8, 8),
                                 epochs=2, random_state=0).fit(ds.X, ds.y)
    clf.save(tmp_path / "cnn")
    res = _run("evaluate", str(tmp_path / "cnn"), "digits")
    assert res.exit_code == 0, res.output
    assert " r2 " not in res.output and " mae " not in res.output
    # a run saved from Python has no record of its training rows: every row is scored
    assert "all 1797 rows of digits" in res.output
    assert _metric(res.output, "accuracy") == pytest.approx(clf.score(ds.X, ds.y), abs=1e-4)
    assert _metric(res.output, "log_loss") > 0
    out = tmp_path / "p.csv"
    res = _run("predict", str(tmp_path / "cnn"), "digits", "--out", str(out))
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(out)
    assert {"prediction", "proba_0", "proba_9"} <= set(frame.columns)
    np.testing.assert_array_equal(frame["prediction"], clf.predict(ds.X))


def _texts(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    words = {"pos": ["great", "lovely", "superb"], "neg": ["awful", "stale", "bland"]}
    filler = ["the", "food", "was", "really", "and", "service"]
    labels = rng.choice(["neg", "pos"], n)
    texts = [" ".join([*rng.choice(filler, 3), str(rng.choice(words[lab]))])
             for lab in labels]
    return texts, labels


def test_text_classifier_run_reads_a_table_of_texts_and_string_labels(tmp_path: Path) -> None:
    texts, labels = _texts(200, 0)
    clf = lamina.TextClassifier(epochs=3, random_state=0).fit(texts, labels)
    clf.save(tmp_path / "text")
    test_texts, test_labels = _texts(60, 1)
    table = tmp_path / "reviews.csv"
    pd.DataFrame({"review": test_texts, "label": test_labels}).to_csv(table, index=False)
    res = _run("evaluate", str(tmp_path / "text"), str(table))
    assert res.exit_code == 0, res.output
    assert " r2 " not in res.output
    assert _metric(res.output, "accuracy") == pytest.approx(clf.score(test_texts, test_labels),
                                                            abs=1e-4)
    # predict reads the text column alone too, and names the classes by their labels
    pd.DataFrame({"review": test_texts}).to_csv(tmp_path / "new.csv", index=False)
    out = tmp_path / "p.csv"
    res = _run("predict", str(tmp_path / "text"), str(tmp_path / "new.csv"), "--out", str(out))
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["prediction", "proba_neg", "proba_pos"]
    np.testing.assert_array_equal(frame["prediction"], clf.predict(test_texts))
    # a table of numbers, or two text columns, is refused in one line
    res = runner.invoke(app, ["evaluate", str(tmp_path / "text"), "digits"])
    _one_line_error(res, "'digits' is a 'classification' data set", "TextClassifier",
                    "reads texts", "lamina.load(")
    pd.DataFrame({"a": test_texts, "b": test_texts, "label": test_labels}).to_csv(
        tmp_path / "two.csv", index=False)
    res = runner.invoke(app, ["evaluate", str(tmp_path / "text"), str(tmp_path / "two.csv")])
    _one_line_error(res, "reads one text column", "['a', 'b']", "--target")


@pytest.mark.skipif(not _available("fine_foods"), reason="fine_foods is not installed")
def test_text_classifier_run_on_a_text_data_set(tmp_path: Path) -> None:
    ds = lamina.datasets.load("fine_foods")
    names = np.asarray(ds.target_names)
    clf = lamina.TextClassifier(epochs=1, random_state=0).fit(ds.X[:300], names[ds.y[:300]])
    clf.save(tmp_path / "text")
    res = _run("evaluate", str(tmp_path / "text"), "fine_foods")
    assert res.exit_code == 0, res.output
    assert "fine_foods's test split, 1000 rows" in res.output
    # the data set's class indices are compared by name with the run's string labels
    want = clf.score(ds.X_test, names[ds.y_test])
    assert _metric(res.output, "accuracy") == pytest.approx(want, abs=1e-4)


def test_sequence_classifier_run(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(int(rng.integers(4, 9)), 2)).astype(np.float32) for _ in range(80)]
    y = np.array(["up" if x[:, 0].mean() > 0 else "down" for x in X])
    clf = lamina.SequenceClassifier("gru(8)", epochs=2, random_state=0).fit(X, y)
    clf.save(tmp_path / "seq")
    pd.DataFrame({"a": [0.1, 0.2], "b": [0.3, 0.4], "label": ["up", "down"]}).to_csv(
        tmp_path / "t.csv", index=False)
    for verb in ("evaluate", "predict"):
        res = runner.invoke(app, [verb, str(tmp_path / "seq"), str(tmp_path / "t.csv")])
        _one_line_error(res, "is a table", "SequenceClassifier", "reads sequences",
                        f"lamina.load('{tmp_path / 'seq'}').predict(X)")


def test_sequence_classifier_run_on_a_sequence_data_set(tmp_path: Path) -> None:
    ds = lamina.datasets.load("fsdd", n_samples=300)
    names = np.asarray(ds.target_names)
    clf = lamina.SequenceClassifier("gru(8)", epochs=1, random_state=0).fit(ds.X,
                                                                            names[ds.y])
    clf.save(tmp_path / "seq")
    res = _run("evaluate", str(tmp_path / "seq"), "fsdd")
    assert res.exit_code == 0, res.output
    full = lamina.datasets.load("fsdd")
    want = clf.score(full.X, names[full.y])
    assert _metric(res.output, "accuracy") == pytest.approx(want, abs=1e-4)
    assert " r2 " not in res.output


def test_autoencoder_run_reports_reconstruction_error(tmp_path: Path) -> None:
    ds = lamina.datasets.load("digits")
    ae = lamina.Autoencoder("16", bottleneck=3, epochs=2, random_state=0).fit(ds.X)
    ae.save(tmp_path / "ae")
    res = _run("evaluate", str(tmp_path / "ae"), "digits")
    assert res.exit_code == 0, res.output
    assert "all 1797 rows of digits" in res.output
    assert _metric(res.output, "reconstruction_mse") == pytest.approx(-ae.score(ds.X), rel=1e-4)
    out = tmp_path / "codes.csv"
    res = _run("predict", str(tmp_path / "ae"), "digits", "--out", str(out))
    assert res.exit_code == 0, res.output
    assert f"wrote 1797 codes (3 per row) and reconstruction errors to {out}" in res.output
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["code_0", "code_1", "code_2", "reconstruction_error"]
    np.testing.assert_allclose(frame[["code_0", "code_1", "code_2"]], ae.transform(ds.X),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(frame["reconstruction_error"], ae.reconstruction_error(ds.X),
                               rtol=1e-6)
    # a table of exactly the features (no target column) is read whole
    pd.DataFrame(ds.X[:10]).to_csv(tmp_path / "rows.csv", index=False)
    res = _run("evaluate", str(tmp_path / "ae"), str(tmp_path / "rows.csv"))
    assert res.exit_code == 0, res.output
    assert _metric(res.output, "reconstruction_mse") == pytest.approx(-ae.score(ds.X[:10]),
                                                                      rel=1e-4)


def _recommender() -> object:
    X = np.array([[u, i] for u in range(6) for i in range(5)])
    return lamina.Recommender("embed(4)", epochs=1, random_state=0).fit(X, X[:, 0] % 3 + 1.0)


def _forecaster() -> object:
    t = np.arange(80)
    return lamina.Forecaster("8", n_lags=6, epochs=1, random_state=0).fit(np.sin(t / 4.0))


def _seq2seq() -> object:
    words = ["abc", "bca", "cab", "acb"] * 5
    return lamina.Seq2Seq(emb_dim=4, hidden=8, epochs=1, random_state=0).fit(
        words, [w[::-1] for w in words])


def _detector() -> object:
    ds = lamina.datasets.load("digits")
    clf = lamina.ImageClassifier("conv(4,3,1,same)-pool-dense(8)", image_shape=(1, 8, 8),
                                 epochs=1, random_state=0).fit(ds.X[:200], ds.y[:200])
    return lamina.HiddenKNNDetector(clf, n_neighbors=3, prefit=True).fit(ds.X[:200])


@pytest.mark.parametrize(("make", "name", "call"), [
    (_recommender, "Recommender", ".predict(user_item_pairs) or .recommend(user, k=10)"),
    (_forecaster, "Forecaster", ".predict(history)"),
    (_seq2seq, "Seq2Seq", ".predict(source_texts)"),
    (_detector, "HiddenKNNDetector", ".predict(X) (-1 novel, +1 normal) or .score_samples(X)"),
])
def test_runs_without_table_input_are_refused(tmp_path: Path, make: object, name: str,
                                              call: str) -> None:
    make().save(tmp_path / "run")  # type: ignore[operator]
    for verb in ("evaluate", "predict"):
        res = runner.invoke(app, [verb, str(tmp_path / "run"), "digits"])
        _one_line_error(res, f"Invalid RUN='{tmp_path / 'run'}': a {name} run",
                        f"`lamina {verb}` cannot read",
                        f"Use the Python API: lamina.load('{tmp_path / 'run'}'){call}")


def test_a_detector_run_is_inspected_through_its_estimator(tmp_path: Path) -> None:
    _detector().save(tmp_path / "det")  # type: ignore[attr-defined]
    res = runner.invoke(app, ["inspect", str(tmp_path / "det"), "digits"])
    _one_line_error(res, "Invalid model='HiddenKNNDetector'", "scores with its estimator_'s "
                    "network", "Inspect that one: model.estimator_ (from the CLI: the run's "
                    "estimator/ folder).")
    res = runner.invoke(app, ["inspect", str(tmp_path / "det" / "estimator"), "digits",
                              "--out", str(tmp_path / "ins")])
    assert res.exit_code == 0, res.output
