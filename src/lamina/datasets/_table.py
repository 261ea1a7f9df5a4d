"""Read a user's own table (CSV, TSV, Parquet) or arrays (NPZ) into a :class:`Dataset`."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import DataError, ParameterError, did_you_mean
from .._ranges import FLOAT32_MAX, first_beyond
from .._validation import check_choice
from ._dataset import Dataset
from ._task import guess_task

__all__ = ["read_table", "TABLE_SUFFIXES", "TARGET_NAMES", "NotNumericError"]

TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq", ".npz")
#: column names taken as the target when ``target`` is not given (case-insensitive)
TARGET_NAMES = ("target", "label", "y")
# An integral numeric target with at most this many distinct values is read as class labels.


class NotNumericError(DataError):
    """Feature columns of a table are not numbers: ``columns`` names them (in table order),
    ``example`` is a value of the first one (None when it holds only missing values).

    ``problem`` says what is wrong without a fix, for callers (the CLI) whose fix is another
    option than ``drop=[...]``.
    """

    def __init__(self, columns: Sequence[str], example: Any = None) -> None:
        self.columns = list(columns)
        self.example = example
        super().__init__(f"{self.problem}. Encode it (e.g. sklearn.preprocessing.OneHotEncoder "
                         f"or OrdinalEncoder) or leave it out with drop=[{self.columns[0]!r}].")

    @property
    def problem(self) -> str:
        """``"feature column 'city' (e.g. 'Paris') is not numeric (also: 'name')"``."""
        sample = f" (e.g. {self.example!r})" if self.example is not None else ""
        others = self.columns[1:6]
        also = f" (also: {', '.join(map(repr, others))})" if others else ""
        return f"feature column {self.columns[0]!r}{sample} is not numeric{also}"


def read_table(path: str | Path, *, target: str | None = None, task: str | None = None,
               drop: Sequence[str] = ()) -> Dataset:
    """Read a CSV/TSV/Parquet table or an NPZ archive as a :class:`Dataset`.

    Parameters
    ----------
    path : str or Path
        ``.csv``, ``.tsv``, ``.parquet``/``.pq`` (pyarrow) or ``.npz``. A table has a header
        row; its column names become ``feature_names``. An NPZ holds arrays ``X`` and ``y``
        (optionally ``feature_names`` and ``target_names``); ``X`` with more than 2 dimensions
        is flattened and its sample shape kept as ``image_shape``.
    target : str, optional
        The target column (or NPZ array). Default: the first column named ``target``,
        ``label`` or ``y`` (any case), else the **last** column; for NPZ, ``"y"``.
    task : str, optional
        ``"classification"`` or ``"regression"``; default: classification when the target is
        not numeric, or integral with at most 20 distinct values; regression otherwise.
    drop : sequence of str
        Columns to leave out (ids, free text, ...).

    Returns
    -------
    Dataset
        ``X`` float32 ``(N, D)``; ``y`` int64 class indices with ``target_names`` the sorted
        original labels (classification) or float32 (regression).

    Raises
    ------
    DataError
        A feature column is not numeric (named, with the fix), a class label is missing, or
        the file cannot be read.

    Examples
    --------
    >>> ds = read_table("houses.csv", target="price")  # doctest: +SKIP
    >>> ds.task, ds.feature_names[:2]  # doctest: +SKIP
    ('regression', ['rooms', 'area'])
    """
    p = _checked_path(path)
    suffix = p.suffix.lower()
    if task is not None:
        task = check_choice("task", task, ["classification", "regression"])
    if suffix == ".npz":
        return _read_npz(p, target, task)
    return _from_frame(_read_frame(p), p.stem, target, task, drop)


def _checked_path(path: str | Path) -> Path:
    p = Path(path).expanduser()
    if p.suffix.lower() not in TABLE_SUFFIXES:
        raise ParameterError("path", str(path), "expected a file ending in "
                             + ", ".join(TABLE_SUFFIXES), "Convert the data to CSV or Parquet.")
    if not p.is_file():
        raise DataError(f"file not found: {str(p)!r}. Check the path (relative paths start "
                        f"from {Path.cwd()}).")
    return p


def _read_frame(p: Path, header_only: bool = False) -> Any:
    """A CSV/TSV/Parquet file as a DataFrame with string column names (``header_only``: a CSV's
    header, no rows)."""
    import pandas as pd

    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(p)
        else:
            sep = _separator(p)
            frame = pd.read_csv(p, sep=sep, nrows=0 if header_only else None)
            if sep == ";" and not header_only and _comma_decimals(frame):
                frame = pd.read_csv(p, sep=sep, decimal=",")   # "1,5" written for 1.5
    except Exception as exc:  # pandas/pyarrow raise many types; the user needs the file + reason
        raise DataError(f"could not read {str(p)!r}: {type(exc).__name__}: {exc}") from None
    frame.columns = [str(c) for c in frame.columns]
    if len(frame.columns) > 1 and frame.columns[0] == "Unnamed: 0":
        # a header-less first column: the row index pandas' to_csv() writes by default; as a
        # feature it would leak the row order (and with it, often, the label)
        if not header_only:
            from ._quality import DataQualityWarning

            warnings.warn(f"{str(p)!r}: its first column has no name in the header ('Unnamed: "
                          "0'), as the row index pandas' to_csv() writes; it is left out. Write "
                          "the file with index=False, or name the column to keep it.",
                          DataQualityWarning, stacklevel=3)
        frame = frame.drop(columns=["Unnamed: 0"])
    if not len(frame) and not header_only:
        raise DataError(f"{str(p)!r} has a header but no rows (columns: "
                        + ", ".join(list(frame.columns)[:10]) + "). Pass a table with data.")
    return frame


def _separator(p: Path) -> str:
    """The column separator of a text table: tab for .tsv; otherwise ',' unless the header line
    has none and holds ';' or tabs (spreadsheets in many locales write ';')."""
    if p.suffix.lower() == ".tsv":
        return "\t"
    try:
        with open(p, encoding="utf-8", errors="replace") as f:
            header = f.readline()
    except OSError:
        return ","      # pandas reports the file's problem
    if "," in header:
        return ","
    for sep in (";", "\t", "|"):
        if sep in header:
            return sep
    return ","


def _comma_decimals(frame: Any) -> bool:
    """True when some text column holds only numbers written with a decimal comma."""
    import pandas as pd

    for col in frame.columns:
        values = frame[col]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            text = values.dropna().astype(str)
            if len(text) and text.str.fullmatch(r"-?\d+(?:\.\d{3})*,\d+|-?\d+").all() \
                    and text.str.contains(",").any():
                return True
    return False


def _drop_columns(frame: Any, drop: Sequence[str]) -> Any:
    """``frame`` without the columns ``drop``, each of which must be one of its columns."""
    columns = list(frame.columns)
    for col in drop:
        if col not in columns:
            raise ParameterError("drop", col, "not a column of the table (columns: "
                                 + ", ".join(columns[:20]) + ")", did_you_mean(col, columns).strip())
    return frame.drop(columns=list(drop))


def table_columns(path: str | Path) -> list[str]:
    """The column names of a CSV/TSV/Parquet file (its header), or ``[]`` for an NPZ archive.

    >>> table_columns("houses.csv")  # doctest: +SKIP
    ['rooms', 'area', 'price']
    """
    p = _checked_path(path)
    if p.suffix.lower() == ".npz":
        return []
    if p.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return [str(c) for c in pq.read_schema(p).names]
    return list(_read_frame(p, header_only=True).columns)


def read_features(path: str | Path, drop: Sequence[str] = ()) -> tuple[np.ndarray, list[str]]:
    """Every column of a CSV/TSV/Parquet table (but ``drop``) as features, for a table without
    a target (data to predict on): ``(X float32 (N, D), column names)``.

    Raises
    ------
    DataError
        A column is not numeric (named, with the fix), or the file cannot be read.
    """
    p = _checked_path(path)
    if p.suffix.lower() == ".npz":
        raise ParameterError("path", str(path), "a table (.csv, .tsv, .parquet) to read "
                             "without a target", "Read an NPZ archive with read_table.")
    frame = _drop_columns(_read_frame(p), drop)
    if not len(frame.columns):
        raise DataError(f"{str(p)!r} has no columns. Pass a table with a header row.")
    return _numeric_features(frame), list(frame.columns)


def default_target(columns: Sequence[str]) -> str:
    """The target column of a table when none is named: the first column called ``target``,
    ``label`` or ``y`` (in that order, any case), else the last column."""
    lowered = {str(c).lower(): c for c in reversed(columns)}
    return next((lowered[t] for t in TARGET_NAMES if t in lowered), columns[-1])


def _from_frame(frame: Any, name: str, target: str | None, task: str | None,
                drop: Sequence[str]) -> Dataset:
    frame = _drop_columns(frame, drop)
    columns = list(frame.columns)
    if target is None:
        target = default_target(columns)
    elif target not in columns:
        raise ParameterError("target", target, "not a column of the table (columns: "
                             + ", ".join(columns[:20]) + ")",
                             (did_you_mean(target, columns) + " Pass target='<column>'.").strip())
    features = [c for c in columns if c != target]
    if not features:
        raise DataError(f"the table has no feature columns besides the target {target!r}. "
                        "Add feature columns.")
    X = _numeric_features(frame[features])
    y, task, target_names = _encode_target(frame[target], task, target)
    return Dataset(name=name, task=task, X=X, y=y, feature_names=features,
                   target_names=target_names,
                   description=f"table {name!r}: {len(X)} rows, {len(features)} features, "
                               f"target {target!r} ({task}).",
                   extras={"target": target})


def _numeric_features(features: Any) -> np.ndarray:
    import pandas as pd

    bad = [c for c in features.columns
           if not (pd.api.types.is_numeric_dtype(features[c])
                   or pd.api.types.is_bool_dtype(features[c]))]
    if bad:
        example = features[bad[0]].dropna()
        raise NotNumericError([str(c) for c in bad], example.iloc[0] if len(example) else None)
    return as_float32(features.to_numpy(dtype=np.float64, na_value=np.nan),
                      [str(c) for c in features.columns])


def as_float32(X: np.ndarray, names: Sequence[str] | None = None) -> np.ndarray:
    """``X`` (2-D) as the float32 that data sets hold, refusing a finite value float32 cannot
    hold: the cast would make it inf, and the data checks would then report an infinite
    value in a column the user knows to be finite."""
    found = first_beyond(X, FLOAT32_MAX)
    if found is not None:
        (row, col), _ = found
        name = (repr(names[col]) if names is not None and len(names) == X.shape[1]
                else str(col))
        power = 10.0 ** np.floor(np.log10(np.abs(X[np.isfinite(X)]).max()))
        raise DataError(f"X column {name} holds {X[row, col]:.3g} at row {row}: finite, "
                        f"but beyond the range of float32 (+-{FLOAT32_MAX:.3g}), which "
                        f"data sets are stored in, so it would become inf. Rescale that "
                        f"column first (e.g. divide it by {power:.0e}), or pass the "
                        "float64 arrays to an estimator with dtype='float64'.")
    return X.astype(np.float32)


def _encode_target(col: Any, task: str | None, name: str) -> tuple[np.ndarray, str, list[str] | None]:
    import pandas as pd

    numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
    if task is None:
        task = guess_task(col.dropna().to_numpy(dtype=np.float64)) if numeric \
            else "classification"
    if task == "regression":
        if not numeric:
            raise DataError(f"target {name!r} is not numeric, so it cannot be regressed on. "
                            "Pass task='classification', or encode it as numbers.")
        return col.to_numpy(dtype=np.float32, na_value=np.nan), task, None
    missing = np.flatnonzero(col.isna().to_numpy())
    if len(missing):
        raise DataError(f"target {name!r} has {len(missing)} missing labels (rows "
                        f"{_rows(missing)}). Drop those rows or fill the labels.")
    labels, y = np.unique(col.to_numpy(), return_inverse=True)
    return y.astype(np.int64).reshape(-1), task, [str(v) for v in labels]


def _read_npz(p: Path, target: str | None, task: str | None) -> Dataset:
    key = target or "y"
    arrays = {}
    with np.load(p, allow_pickle=False) as npz:
        for k in npz.files:
            try:
                arrays[k] = npz[k]
            except ValueError as err:
                if "allow_pickle" not in str(err):
                    raise
                raise DataError(f"array {k!r} in {str(p)!r} is an object array (e.g. labels "
                                "saved from a pandas column of strings), which only pickle can "
                                "read, and lamina never unpickles files. Save fixed-width "
                                f"arrays instead: np.savez(path, ..., {k}=np.asarray({k})"
                                ".astype(str)).") from None
    if "X" not in arrays or key not in arrays:
        raise DataError(f"{str(p)!r} must hold arrays 'X' and {key!r}; it holds "
                        f"{sorted(arrays)}. Save with np.savez(path, X=X, y=y).")
    X = arrays["X"]
    if X.dtype.kind not in "biuf":
        raise DataError(f"array 'X' in {str(p)!r} has dtype {X.dtype}, not numeric. Encode it "
                        "as numbers before saving.")
    if X.ndim < 2:
        raise DataError(f"array 'X' in {str(p)!r} is {X.ndim}-D with shape {X.shape}; lamina "
                        "expects (n_samples, n_features). Save X.reshape(-1, 1) for one feature.")
    image_shape = None
    if X.ndim > 2:
        image_shape = tuple(int(d) for d in X.shape[1:])
        if len(image_shape) == 2:
            image_shape = (1, *image_shape)  # (N, H, W) grey images: one channel
        X = X.reshape(len(X), -1)
    import pandas as pd

    y, task, target_names = _encode_target(pd.Series(arrays[key]), task, key)
    if "target_names" in arrays and task == "classification":
        # the labels are indices into target_names: keep them (and the names) as they are
        names = [str(v) for v in arrays["target_names"]]
        raw = arrays[key].reshape(-1)
        if raw.dtype.kind not in "iu" or raw.min() < 0 or raw.max() >= len(names):
            raise DataError(f"array {key!r} in {str(p)!r} must hold class indices 0.."
                            f"{len(names) - 1} to match its {len(names)} target_names; it holds "
                            f"{raw.dtype} values {raw.min()}..{raw.max()}. Save the labels as "
                            "indices, or leave target_names out.")
        y, target_names = raw.astype(np.int64), names
    feature_names = ([str(v) for v in arrays["feature_names"]] if "feature_names" in arrays
                     else None)
    return Dataset(name=p.stem, task=task, X=as_float32(X, feature_names), y=y,
                   feature_names=feature_names, target_names=target_names,
                   image_shape=image_shape,
                   description=f"arrays from {p.name}: X {X.shape}, {key!r} ({task}).",
                   extras={"target": key})


def _rows(idx: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(i)) for i in idx[:limit])
    return shown + (f", ... ({len(idx) - limit} more)" if len(idx) > limit else "")
