"""check_data: each problem gives one message naming the column/rows and the fix."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from lamina import DataError, ParameterError
from lamina.datasets import DataQualityWarning, check_data


def _clean(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 3)), np.arange(n) % 2


def test_clean_data_passes_silently() -> None:
    X, y = _clean()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        assert check_data(X, y) == []
        assert check_data(X, X[:, 0], task="regression") == []


def test_nan_names_columns_rows_and_imputer() -> None:
    X, y = _clean()
    X[4, 1] = np.nan
    X[17, 1] = np.nan
    X[20, 2] = np.nan
    with pytest.raises(DataError) as e:
        check_data(X, y, feature_names=["a", "b", "c"])
    msg = str(e.value)
    assert "X has 3 NaN values in columns 'b' (2), 'c' (1), rows 4, 17, 20" in msg
    assert "SimpleImputer(strategy='median')" in msg and "drop those rows" in msg


def test_inf_is_reported_with_its_own_fix() -> None:
    X, y = _clean()
    X[7, 0] = np.inf
    with pytest.raises(DataError, match=r"X has 1 inf values in column 0 \(1\), rows 7\..*"
                                        r"replace inf first \(np.nan_to_num"):
        check_data(X, y)


def test_dataframe_columns_are_named_by_name() -> None:
    X, y = _clean()
    df = pd.DataFrame(X, columns=["age", "income", "height"], index=np.arange(100, 140))
    df.loc[103, "income"] = np.nan
    with pytest.raises(DataError, match=r"column 'income' \(1\), rows 103\."):
        check_data(df, y)


def test_non_numeric_dataframe_column() -> None:
    X, y = _clean()
    df = pd.DataFrame(X, columns=["age", "income", "height"])
    df["city"] = ["Paris", "Oslo"] * 20
    with pytest.raises(DataError) as e:
        check_data(df, y)
    assert str(e.value) == ("X column 'city' (e.g. 'Paris') is not numeric. Encode it (e.g. "
                            "sklearn.preprocessing.OneHotEncoder or OrdinalEncoder) or drop "
                            "the column.")


def test_non_numeric_array_column_by_index() -> None:
    X = np.array([[1.0, "a"], [2.0, "b"], [3.0, "a"]], dtype=object)
    with pytest.raises(DataError, match=r"^X column 1 \(e.g. 'a'\) is not numeric\. Encode it"):
        check_data(X, np.array([0, 1, 0, 1])[:3], task="regression")


def test_length_mismatch() -> None:
    X, y = _clean()
    with pytest.raises(DataError, match=r"^X has 40 samples but y has 39; they need one target "
                                        r"per row of X\. Check that both come from the same rows"):
        check_data(X, y[:-1])


def test_one_dimensional_x_suggests_reshape() -> None:
    with pytest.raises(DataError, match=r"X is 1-D \(shape \(5,\)\).*X\.reshape\(-1, 1\) if it "
                                        r"is a single feature"):
        check_data(np.arange(5.0), np.array([0, 1, 0, 1, 0]))


def test_forecasting_series_may_be_one_dimensional() -> None:
    series = np.array([1.0, 2.0, 2.0, 2.0, 3.0])  # repeats are normal in a series: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_data(series, task="forecasting") == []
    series[3] = np.nan
    with pytest.raises(DataError, match=r"X has 1 NaN values in rows 3\."):
        check_data(series, task="forecasting")


def test_empty_x() -> None:
    with pytest.raises(DataError, match=r"^X is empty \(0 samples\)"):
        check_data(np.zeros((0, 3)), np.zeros(0))
    with pytest.raises(DataError, match=r"X has no feature columns \(shape \(4, 0\)\)"):
        check_data(np.zeros((4, 0)), np.array([0, 1, 0, 1]))


def test_lone_class_names_the_class_and_row() -> None:
    X, _ = _clean(6)
    y = np.array(["cat", "dog", "cat", "dog", "bird", "cat"])
    with pytest.raises(DataError) as e:
        check_data(X, y)
    assert str(e.value).startswith("y: class 'bird' has only 1 sample (row 4); classification "
                                   "needs at least 2 per class")
    assert "merge it into another class, or drop that row" in str(e.value)
    # the same labels are fine as a regression target (no class counts there)
    check_data(X, np.arange(6.0), task="regression")


def test_missing_targets() -> None:
    X, _ = _clean(5)
    with pytest.raises(DataError, match=r"y has 2 missing or infinite values \(rows 1, 3\)\. "
                                        r"Drop those rows"):
        check_data(X, np.array([1.0, np.nan, 2.0, np.nan, 0.5]), task="regression")
    with pytest.raises(DataError, match=r"y has 1 missing or infinite values \(rows 2\)"):
        check_data(X, np.array(["a", "b", None, "a", "b"], dtype=object))


def test_constant_columns_warn_with_names_and_fix() -> None:
    X, y = _clean()
    X[:, 0] = 3.0
    X[:, 2] = 0.0
    with pytest.warns(DataQualityWarning) as rec:
        found = check_data(X, y, feature_names=["pixel_a", "b", "pixel_c"])
    assert found == [str(rec[0].message)]
    assert found[0].startswith("X has 2 constant columns ('pixel_a', 'pixel_c'): they carry "
                               "no information.")
    assert "VarianceThreshold" in found[0]


def test_duplicated_rows_warn_with_count_and_examples() -> None:
    X, y = _clean()
    X[10] = X[2]
    X[30] = X[2]
    X[25] = X[7]
    with pytest.warns(DataQualityWarning, match=r"X has 3 duplicated rows \(e\.g\. row 10 = "
                                                r"row 2, row 25 = row 7, row 30 = row 2\).*"
                                                r"drop_duplicates"):
        check_data(X, y)


def test_duplicates_found_exactly_on_wide_odd_width_data() -> None:
    # 13 float32 columns = 52 bytes per row: exercises the padding of the row hash
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3000, 13)).astype(np.float32)
    dup_rows = rng.choice(np.arange(1, 3000), 50, replace=False)
    originals = np.setdiff1d(np.arange(3000), dup_rows)
    for i in dup_rows:
        X[i] = X[rng.choice(originals)]
    _, first = np.unique(X, axis=0, return_index=True)
    assert 3000 - len(first) == 50  # the reference count, by sorting whole rows
    with pytest.warns(DataQualityWarning, match=r"X has 50 duplicated rows"):
        check_data(X, np.arange(3000) % 3)


def test_text_and_sequences_only_get_length_checks() -> None:
    texts = ["good", "bad", "good", "awful"]
    assert check_data(texts, np.array([1, 0, 1, 0]), task="text") == []
    with pytest.raises(DataError, match="X has 4 samples but y has 2"):
        check_data(texts, np.array([1, 0]), task="text")
    ragged = [np.zeros((3, 2)), np.zeros((5, 2)), np.ones((2, 2)), np.ones((4, 2))]
    assert check_data(ragged, np.array([0, 0, 1, 1]), task="sequence") == []
    with pytest.raises(DataError, match=r"class 1 has only 1 sample \(row 2\)"):
        check_data(ragged[:3], np.array([0, 0, 1]), task="sequence")


def test_unknown_task() -> None:
    X, y = _clean()
    with pytest.raises(ParameterError, match=r"Invalid task='clasification'.*Did you mean "
                                             r"'classification'"):
        check_data(X, y, task="clasification")


def test_signed_zero_duplicates_and_an_empty_column() -> None:
    import warnings

    import numpy as np

    from lamina import DataError
    from lamina.datasets import check_data

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_data(np.array([[0.0, 2], [-0.0, 2], [1, 3]]), [0.0, 0, 1], task="regression")
    assert any("1 duplicated row (e.g. row 1 = row 0)" in str(w.message) for w in caught)
    with pytest.raises(DataError, match=r"Drop column 0 \(no value at all\)"):
        check_data(np.array([[np.nan, 2], [np.nan, 2.5], [np.nan, 3]]), [0.0, 0, 1],
                   task="regression")
