"""The table reader's non-numeric-column error, as data its callers can word their own fix
from, and the NaN/inf check for rows to predict on, naming columns as the training checks do."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lamina import DataError
from lamina.datasets import read_features, read_table
from lamina.datasets._quality import check_finite
from lamina.datasets._table import NotNumericError


def test_not_numeric_columns_are_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": [1.0, 2.0], "city": [None, "Lyon"], "name": ["x", "y"],
                  "label": [0, 1]}).to_csv(path, index=False)
    with pytest.raises(NotNumericError) as e:
        read_table(path)
    err = e.value
    assert isinstance(err, DataError)
    assert err.columns == ["city", "name"] and err.example == "Lyon"
    assert err.problem == "feature column 'city' (e.g. 'Lyon') is not numeric (also: 'name')"
    assert str(err) == (err.problem + ". Encode it (e.g. sklearn.preprocessing.OneHotEncoder or "
                        "OrdinalEncoder) or leave it out with drop=['city'].")
    with pytest.raises(NotNumericError) as e:
        read_features(path, drop=["city"])
    assert e.value.columns == ["name"]


def test_check_finite_names_the_column_and_what_was_read() -> None:
    X = np.zeros((5, 3), dtype=np.float32)
    X[3, 1] = np.nan
    with pytest.raises(DataError) as e:
        check_finite(X, ["age", "income", "score"], what="'new.csv'")
    assert str(e.value) == ("'new.csv' has 1 NaN values in column 'income' (1), rows 3. Impute "
                            "them, e.g. sklearn.impute.SimpleImputer(strategy='median'), or drop "
                            "those rows.")
    with pytest.raises(DataError, match=r"^X has 1 NaN values in column 1 \(1\), rows 3\."):
        check_finite(X)
    check_finite(np.ones((2, 2)), ["a", "b"])           # finite: nothing to say
    check_finite(np.ones((2, 2), dtype=np.int64))
