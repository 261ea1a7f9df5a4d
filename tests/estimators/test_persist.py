"""Run directories: save / load round trip; corrupt or tampered directories are refused."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris

import lamina
from lamina import RunDirError
from lamina.estimators._persist import _content_digest

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def fitted() -> tuple[lamina.MLPClassifier, np.ndarray]:
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    return lamina.MLPClassifier((16, 8), max_iter=50, random_state=0).fit(X, names), X


def test_round_trip(tmp_path: Path, fitted) -> None:  # type: ignore[no-untyped-def]
    clf, X = fitted
    clf.save(tmp_path / "run")
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "config.json",
        "history.jsonl",
        "weights.safetensors",
    ]
    again = lamina.load(tmp_path / "run")
    assert type(again) is lamina.MLPClassifier
    np.testing.assert_array_equal(again.predict(X), clf.predict(X))
    np.testing.assert_allclose(again.predict_proba(X), clf.predict_proba(X))
    assert again.get_params() == clf.get_params()
    assert again.loss_curve_ == clf.loss_curve_ and len(again.history_) == clf.n_iter_
    assert again.stop_reason_ == clf.stop_reason_


def test_regressor_round_trip(tmp_path: Path) -> None:
    X, _ = load_iris(return_X_y=True)
    reg = lamina.MLPRegressor(hidden_layer_sizes=(8,), max_iter=20, random_state=0).fit(
        X[:, :3], X[:, 3]
    )
    reg.save(tmp_path)
    np.testing.assert_array_equal(lamina.load(tmp_path).predict(X[:, :3]), reg.predict(X[:, :3]))


def _saved(tmp_path: Path, fitted) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "run"
    fitted[0].save(path)
    return path


def test_tampered_weights(tmp_path: Path, fitted) -> None:  # type: ignore[no-untyped-def]
    path = _saved(tmp_path, fitted)
    blob = bytearray((path / "weights.safetensors").read_bytes())
    blob[-1] ^= 0xFF
    (path / "weights.safetensors").write_bytes(bytes(blob))
    with pytest.raises(RunDirError, match="does not match the SHA-256.*corrupt or was modified"):
        lamina.load(path)


def _forge(path: Path, cfg: dict) -> None:
    """Write an edited config.json with a recomputed content checksum (a deliberate forgery,
    so the checks behind the checksum are tested too)."""
    cfg["config_sha256"] = _content_digest(cfg)
    (path / "config.json").write_text(json.dumps(cfg))


def test_a_config_without_its_checksum_or_of_the_wrong_shape_is_refused(tmp_path: Path,
                                                                        fitted) -> None:  # type: ignore[no-untyped-def]
    path = _saved(tmp_path, fitted)
    cfg = json.loads((path / "config.json").read_text())
    edited = dict(cfg, fitted=dict(cfg["fitted"], classes_=["a", "b"]))
    del edited["config_sha256"]                   # removing the checksum skips no check
    (path / "config.json").write_text(json.dumps(edited))
    with pytest.raises(RunDirError, match=r"config\.json records no SHA-256 of its content: "
                                          r"it was edited .* Retrain the model and save it"):
        lamina.load(path)
    for key, value in (("classes_", ["a", "b"]), ("classes_", [0, 0, 1]), ("_loss", "bogus"),
                       ("n_outputs_", 7), ("out_activation_", "bogus")):
        _forge(path, dict(cfg, fitted=dict(cfg["fitted"], **{key: value})))
        with pytest.raises(RunDirError, match=r"do not fit .*the run directory was changed"):
            lamina.load(path)
    _forge(path, dict(cfg, fitted=[]))            # a forged checksum over a malformed config
    with pytest.raises(RunDirError, match=r"do not describe a valid MLPClassifier "
                                          r"\(AttributeError"):
        lamina.load(path)


def test_edited_config_or_history_is_refused(tmp_path: Path, fitted) -> None:  # type: ignore[no-untyped-def]
    path = _saved(tmp_path, fitted)
    cfg = json.loads((path / "config.json").read_text())
    cfg["network"]["spec"][0]["activation"] = "tanh"   # same shapes, other predictions
    (path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(RunDirError, match="config.json does not match the SHA-256 it recorded"):
        lamina.load(path)
    path = _saved(tmp_path / "b", fitted)
    (path / "history.jsonl").write_text("[1, 2]\n")
    with pytest.raises(RunDirError, match="history.jsonl is missing or does not match"):
        lamina.load(path)
    # a history whose checksum is forged too still fails as a RunDirError, not an AttributeError
    cfg = json.loads((path / "config.json").read_text())
    cfg["history_sha256"] = hashlib.sha256(b"[1, 2]\n").hexdigest()
    _forge(path, cfg)
    with pytest.raises(RunDirError, match="not valid JSON lines of epoch records"):
        lamina.load(path)


def test_unknown_estimator_is_refused(tmp_path: Path, fitted) -> None:  # type: ignore[no-untyped-def]
    path = _saved(tmp_path, fitted)
    cfg = json.loads((path / "config.json").read_text())
    cfg["estimator"] = "os.system"
    _forge(path, cfg)
    with pytest.raises(RunDirError, match="'os.system' is not a lamina estimator.*refusing"):
        lamina.load(path)


def test_corrupt_and_missing_files(tmp_path: Path, fitted) -> None:  # type: ignore[no-untyped-def]
    path = _saved(tmp_path, fitted)
    (path / "config.json").write_text("{not json")
    with pytest.raises(RunDirError, match="config.json is not valid JSON"):
        lamina.load(path)
    path = _saved(tmp_path / "b", fitted)
    (path / "weights.safetensors").unlink()
    with pytest.raises(RunDirError, match="weights.safetensors is missing"):
        lamina.load(path)
    with pytest.raises(RunDirError, match="does not exist"):
        lamina.load(tmp_path / "nowhere")
    with pytest.raises(RunDirError, match="config.json is missing"):
        lamina.load(tmp_path)


def test_architecture_mismatch(tmp_path: Path, fitted) -> None:  # type: ignore[no-untyped-def]
    path = _saved(tmp_path, fitted)
    cfg = json.loads((path / "config.json").read_text())
    cfg["network"]["spec"][0]["width"] = 17
    _forge(path, cfg)
    with pytest.raises(RunDirError, match="does not fit the network.*wrong shapes"):
        lamina.load(path)


def test_saved_files_get_the_mode_open_would_give(tmp_path: Path, fitted) -> None:  # type: ignore[no-untyped-def]
    import os
    import stat

    old = os.umask(0o022)
    try:
        path = _saved(tmp_path, fitted)
    finally:
        os.umask(old)
    for name in ("config.json", "weights.safetensors", "history.jsonl"):
        assert stat.S_IMODE((path / name).stat().st_mode) == 0o644, name   # was 0o600
