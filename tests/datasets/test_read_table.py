"""read_table and load(path): CSV, TSV, Parquet and NPZ written to tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lamina import DataError, ParameterError
from lamina.datasets import load, read_features, read_table, table_columns


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "rooms": [3, 4, 2, 5, 3, 4],
        "area": [70.5, 90.0, 50.25, 120.0, 65.0, 88.0],
        "label": ["b", "a", "b", "c", "a", "c"],
        "price": [210.5, 330.0, 150.2, 480.9, 199.0, 301.0],
    })


def test_csv_default_target_is_the_label_column(tmp_path: Path) -> None:
    path = tmp_path / "houses.csv"
    _frame().to_csv(path, index=False)
    ds = read_table(path)
    assert ds.name == "houses" and ds.task == "classification"
    assert ds.feature_names == ["rooms", "area", "price"]
    assert ds.X.dtype == np.float32 and ds.X.shape == (6, 3)
    np.testing.assert_allclose(ds.X[2], [2, 50.25, 150.2], rtol=1e-6)
    assert ds.target_names == ["a", "b", "c"]
    assert ds.y.tolist() == [1, 0, 1, 2, 0, 2]


def test_csv_named_regression_target_and_drop(tmp_path: Path) -> None:
    path = tmp_path / "houses.csv"
    _frame().to_csv(path, index=False)
    ds = read_table(path, target="price", drop=["label"])
    assert ds.task == "regression" and ds.y.dtype == np.float32
    assert ds.feature_names == ["rooms", "area"]
    np.testing.assert_allclose(ds.y, _frame()["price"], rtol=1e-6)


def test_last_column_is_the_default_target(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.5, 0.1, 0.2, 0.3],
                  "outcome": [0.25, 1.5, 2.75, 3.5]}).to_csv(path, index=False)
    ds = read_table(path)
    assert ds.extras["target"] == "outcome" and ds.task == "regression"


def test_integral_target_with_few_values_is_classification(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": np.arange(30.0), "target": np.arange(30) % 3}).to_csv(path, index=False)
    ds = read_table(path)
    assert ds.task == "classification" and ds.target_names == ["0", "1", "2"]
    assert read_table(path, task="regression").task == "regression"


def test_non_numeric_feature_names_the_column(tmp_path: Path) -> None:
    path = tmp_path / "houses.csv"
    _frame().to_csv(path, index=False)
    with pytest.raises(DataError) as e:
        read_table(path, target="price")
    assert str(e.value) == ("feature column 'label' (e.g. 'b') is not numeric. Encode it (e.g. "
                            "sklearn.preprocessing.OneHotEncoder or OrdinalEncoder) or leave it "
                            "out with drop=['label'].")


def test_missing_class_labels_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": [1.0, 2.0, 3.0], "label": ["x", None, "y"]}).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"target 'label' has 1 missing labels \(rows 1\)\. Drop "
                                        r"those rows or fill the labels\."):
        read_table(path)


def test_tsv_and_parquet_round_trip(tmp_path: Path) -> None:
    frame = _frame().drop(columns=["label"])
    frame.to_csv(tmp_path / "h.tsv", sep="\t", index=False)
    frame.to_parquet(tmp_path / "h.parquet")
    a = read_table(tmp_path / "h.tsv", target="price")
    b = read_table(tmp_path / "h.parquet", target="price")
    assert a.feature_names == b.feature_names == ["rooms", "area"]
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)


def test_npz_arrays_with_names_and_images(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.integers(0, 255, size=(12, 5, 4)).astype(np.uint8)
    y = np.arange(12) % 3
    np.savez(tmp_path / "imgs.npz", X=X, y=y, target_names=np.array(["cat", "dog", "owl"]))
    ds = read_table(tmp_path / "imgs.npz")
    assert ds.X.shape == (12, 20) and ds.X.dtype == np.float32
    assert ds.image_shape == (1, 5, 4)
    np.testing.assert_array_equal(ds.X.reshape(12, 5, 4), X)
    assert ds.y.tolist() == y.tolist() and ds.target_names == ["cat", "dog", "owl"]

    np.savez(tmp_path / "tab.npz", X=rng.normal(size=(6, 2)), y=rng.normal(size=6),
             feature_names=np.array(["u", "v"]))
    tab = read_table(tmp_path / "tab.npz")
    assert tab.task == "regression" and tab.feature_names == ["u", "v"]


def test_npz_errors(tmp_path: Path) -> None:
    np.savez(tmp_path / "a.npz", features=np.zeros((3, 2)))
    with pytest.raises(DataError, match=r"must hold arrays 'X' and 'y'; it holds \['features'\]"):
        read_table(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", X=np.zeros(3), y=np.zeros(3))
    with pytest.raises(DataError, match=r"is 1-D with shape \(3,\).*X\.reshape\(-1, 1\)"):
        read_table(tmp_path / "b.npz")
    np.savez(tmp_path / "c.npz", X=np.zeros((3, 2)), y=np.array([0, 1, 5]),
             target_names=np.array(["a", "b"]))
    with pytest.raises(DataError, match=r"must hold class indices 0\.\.1 to match its 2 "
                                        r"target_names"):
        read_table(tmp_path / "c.npz")


def test_bad_paths_and_targets(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match=r"Invalid path='data.xlsx': expected a file ending "
                                             r"in \.csv, \.tsv, \.parquet, \.pq, \.npz"):
        read_table("data.xlsx")
    with pytest.raises(DataError, match=r"file not found: '.*nope\.csv'"):
        read_table(tmp_path / "nope.csv")
    path = tmp_path / "houses.csv"
    _frame().to_csv(path, index=False)
    with pytest.raises(ParameterError, match=r"Invalid target='prise': not a column of the table "
                                             r"\(columns: rooms, area, label, price\)\. Did you "
                                             r"mean 'price'\?"):
        read_table(path, target="prise")
    with pytest.raises(ParameterError, match=r"Invalid drop='lable'.*Did you mean 'label'"):
        read_table(path, drop=["lable"])


def test_load_reads_paths_with_target_and_subsample(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    rng = np.random.default_rng(3)
    pd.DataFrame({"f1": rng.normal(size=300), "f2": rng.normal(size=300),
                  "kind": np.repeat(["x", "y", "z"], [150, 100, 50])}).to_csv(path, index=False)
    ds = load(str(path), target="kind", n_samples=60, seed=1)
    assert ds.X.shape == (60, 2) and np.bincount(ds.y).tolist() == [30, 20, 10]
    again = load(path, target="kind", n_samples=60, seed=1)
    np.testing.assert_array_equal(ds.X, again.X)
    with pytest.raises(ParameterError, match=r"Invalid split='test': dataset 'big' has no "
                                             r"official test split"):
        load(path, split="test")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_read_features_takes_every_column(tmp_path: Path, suffix: str) -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [4, 5, 6]})
    path = tmp_path / f"t{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    assert table_columns(path) == ["a", "b"]
    X, names = read_features(path)
    assert names == ["a", "b"] and X.dtype == np.float32
    np.testing.assert_array_equal(X, frame.to_numpy(dtype=np.float32))


def test_read_features_names_a_text_column_and_refuses_npz(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": [1.0, 2.0], "color": ["red", "blue"]}).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"feature column 'color' \(e.g. 'red'\) is not numeric"):
        read_features(path)
    np.savez(tmp_path / "t.npz", X=np.zeros((2, 2)))
    with pytest.raises(ParameterError, match=r"Invalid path=.*t.npz.*a table"):
        read_features(tmp_path / "t.npz")


def test_a_header_without_rows_says_so(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("a,b,label\n")
    with pytest.raises(DataError, match=r"'.*empty.csv' has a header but no rows \(columns: a, "
                                         r"b, label\)"):
        read_table(path)


def test_registered_names_match_in_any_case() -> None:
    assert load("Digits").name == "digits"
    with pytest.raises(ParameterError, match=r"Did you mean 'digits'\?"):
        load("digitz")


@pytest.mark.parametrize(("sep", "decimal"), [(";", "."), (";", ","), ("\t", "."), ("|", ".")])
def test_csv_separator_and_decimal_comma_are_detected(tmp_path: Path, sep: str,
                                                      decimal: str) -> None:
    # spreadsheets in many locales write ';' between columns and '1,5' for 1.5
    _frame().to_csv(tmp_path / "h.csv", sep=sep, decimal=decimal, index=False)
    _frame().to_csv(tmp_path / "plain.csv", index=False)
    a, b = read_table(tmp_path / "h.csv"), read_table(tmp_path / "plain.csv")
    assert a.feature_names == b.feature_names == ["rooms", "area", "price"]
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)


def test_a_saved_row_index_is_left_out_with_a_warning(tmp_path: Path) -> None:
    from lamina.datasets import DataQualityWarning

    _frame().to_csv(tmp_path / "with_index.csv")                  # pandas' default index=True
    with pytest.warns(DataQualityWarning, match=r"first column has no name in the header"):
        ds = read_table(tmp_path / "with_index.csv")
    assert ds.feature_names == ["rooms", "area", "price"]
    assert table_columns(tmp_path / "with_index.csv") == ["rooms", "area", "label", "price"]
