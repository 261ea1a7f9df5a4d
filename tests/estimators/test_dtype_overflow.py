"""Finite float64 values beyond the model dtype's range (1e300 read by float32 weights) are
refused by row and column with a fix, never reported as NaN/inf after the silent cast."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import lamina
from lamina import DataError
from lamina.estimators import Autoencoder, ImageClassifier, MLPClassifier

pytestmark = pytest.mark.usefixtures("one_thread")     # see conftest.py


@pytest.fixture(scope="module")
def table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Real rows (breast_cancer), and a copy whose column 3 holds 1e300 at row 5."""
    ds = lamina.datasets.load("breast_cancer")
    X = ds.X[:120].astype(np.float64)
    huge = X.copy()
    huge[5, 3] = 1e300
    return X, ds.y[:120], huge


OVERFLOW = (r"X holds 1e\+300 at row 5, column 3: finite, but beyond the range of the "
            r"model's float32 \(\+-3.4e\+38\), so it would become inf when cast")


def _no_nan_talk(err: pytest.ExceptionInfo[DataError]) -> None:
    assert "NaN" not in str(err.value) and "infinit" not in str(err.value)


def test_mlp_fit_names_the_value_and_the_fix(table) -> None:  # type: ignore[no-untyped-def]
    _, y, huge = table
    with pytest.raises(DataError, match=OVERFLOW + r"\. Rescale column 3 \(e\.g\. divide it "
                       r"by 1e\+300\), or fit with dtype='float64'\.") as err:
        MLPClassifier((8,), max_iter=2, random_state=0).fit(huge, y)
    _no_nan_talk(err)
    cols = [f"f{i}" for i in range(huge.shape[1])]
    cols[3] = "mean area"
    with pytest.raises(DataError, match=r"at row 5, column 'mean area'.*Rescale column "
                       r"'mean area'"):
        MLPClassifier((8,), max_iter=2, random_state=0).fit(pd.DataFrame(huge, columns=cols), y)


def test_mlp_predict_checks_the_fast_path_too(table) -> None:  # type: ignore[no-untyped-def]
    X, y, huge = table
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # 2 iterations do not converge
        clf = MLPClassifier((8,), max_iter=2, random_state=0).fit(X, y)
    for rows in (huge[:10], huge):               # the numpy path (<= 64 rows) and torch's
        with pytest.raises(DataError, match=OVERFLOW) as err:
            clf.predict(rows)
        _no_nan_talk(err)
    assert clf.predict(X[:10]).shape == (10,)     # plain rows still predict
    with pytest.raises(DataError, match=r"Input X contains infinity"):
        clf.predict(np.where(huge == 1e300, np.inf, huge)[:10])   # a real inf: as before


def test_mlp_float64_takes_such_values(table) -> None:  # type: ignore[no-untyped-def]
    _, y, huge = table
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier((8,), max_iter=2, random_state=0, dtype="float64").fit(huge, y)
        assert np.isfinite(clf.predict_proba(huge)).all()      # (saturated logits warn)


def test_autoencoder_checks_what_the_network_reads(table) -> None:  # type: ignore[no-untyped-def]
    X, _, huge = table
    with pytest.raises(DataError, match=OVERFLOW.replace(": finite", r", which the network "
                       r"reads as 1e\+300 after scale='none': finite") + r"\. Rescale that "
                       r"feature, or fit with scale='bounded'.*or dtype='float64'\.") as err:
        Autoencoder("8", bottleneck=2, epochs=1, scale="none", random_state=0).fit(huge)
    _no_nan_talk(err)
    big = X.copy()
    big[5, 3] = 1e39                 # beyond float32, well inside float64 (squares included)
    with pytest.raises(DataError, match=r"X holds 1e\+39 at row 5, column 3"):
        Autoencoder("8", bottleneck=2, epochs=1, scale="none", random_state=0).fit(big)
    wide = Autoencoder("8", bottleneck=2, epochs=1, scale="none", dtype="float64",
                       random_state=0).fit(big)
    assert np.isfinite(wide.transform(big)).all()
    # the default scaling reads the 1e300 column as a few units: nothing overflows
    ae = Autoencoder("8", bottleneck=2, epochs=1, random_state=0).fit(huge)
    assert np.isfinite(ae.transform(huge)).all()
    # a model fitted on ordinary rows, shown a 1e300: far outside the fitted scaling
    ae = Autoencoder("8", bottleneck=2, epochs=1, random_state=0).fit(X)
    with pytest.raises(DataError, match=r"X holds 1e\+300 at row 5, column 3, which the "
                       r"network reads as .* after scale='bounded'.*far outside the values "
                       r"the feature held at fit"):
        ae.transform(huge)


def test_image_inputs_name_the_sample_and_position() -> None:
    images = np.random.default_rng(0).random((20, 1, 8, 8))
    images[3, 0, 2, 5] = -1e300
    with pytest.raises(DataError, match=r"X holds -1e\+300 at sample 3, position \(0, 2, 5\): "
                       r"finite, but beyond the range of the model's float32.*Rescale the "
                       r"inputs \(e\.g\. divide them by 1e\+300\)\.") as err:
        ImageClassifier("conv(2,3)-pool", epochs=1, random_state=0).fit(images,
                                                                         np.arange(20) % 2)
    _no_nan_talk(err)


def test_tables_read_into_float32_say_which_column(tmp_path) -> None:  # type: ignore[no-untyped-def]
    frame = pd.DataFrame({"age": [30.0, 41.0, 52.0, 63.0], "income": [1.0, 2.0, 1e300, 3.0],
                          "y": [0, 1, 0, 1]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match=r"X column 'income' holds 1e\+300 at row 2: finite, but "
                       r"beyond the range of float32.*Rescale that column first \(e\.g\. divide "
                       r"it by 1e\+300\)") as err:
        lamina.datasets.load(tmp_path / "t.csv")
    _no_nan_talk(err)
    np.savez(tmp_path / "t.npz", X=frame[["age", "income"]].to_numpy(), y=frame["y"].to_numpy())
    with pytest.raises(DataError, match=r"X column 1 holds 1e\+300 at row 2"):
        lamina.datasets.load(tmp_path / "t.npz")
    frame.loc[2, "income"] = 4.0
    frame.to_csv(tmp_path / "t.csv", index=False)
    assert lamina.datasets.load(tmp_path / "t.csv").X.dtype == np.float32
