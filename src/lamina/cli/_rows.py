"""Which rows of DATA a CLI command reads, and its labels in the run's own terms.

``lamina train`` records in ``RUN/train_data.json`` what it trained on: the data set or file,
the target column, how it split off its test rows (seed, fraction), a fingerprint of the rows
and the feature columns. With it, ``lamina evaluate RUN DATA`` scores a run on the rows
``lamina train`` held out when DATA is the data it trained on (never on rows it trained on);
other data is scored whole. ``lamina search`` records its refit model the same way, with the
split ``"all"``: it was fit on every row it read, so ``lamina evaluate`` on that data says it
cannot leave the training rows out. Class labels are the data set's own names (``'setosa'``,
``'yes'``), so a file that lacks a class is still scored against the right labels.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

TRAIN_DATA = "train_data.json"
ALL_ROWS = "all"            # the split of a run fit on every row it read (`lamina search`)
TEST_SIZE = 0.2
_PCT = f"{TEST_SIZE:.0%}".replace("%", " %")          # "20 %", as the docs write it
_TABLES = (".csv", ".tsv", ".parquet", ".pq")       # files with named columns
LABELLED = ("classification", "text", "sequence")  # tasks whose y holds class indices


def is_table(data: str) -> bool:
    """A CSV/TSV/Parquet file (columns by name)."""
    return Path(data).suffix.lower() in _TABLES


def is_file(data: str) -> bool:
    """A table or an NPZ archive, rather than a registered data set's name."""
    return is_table(data) or Path(data).suffix.lower() == ".npz"


def fingerprint(ds: Any) -> str:
    """SHA-256 of the training rows and targets of a data set (what `lamina train` split)."""
    import numpy as np

    h = hashlib.sha256()
    for a in (ds.X, ds.y):
        if a is not None:
            arr = np.ascontiguousarray(a)
            h.update(str((arr.dtype.str, arr.shape)).encode())
            h.update(arr.tobytes())
    return h.hexdigest()


def split(ds: Any, seed: int) -> tuple[Any, Any, Any, Any, str, str]:
    """The data set's own test split, or a seeded stratified hold-out:
    ``(X_train, X_test, y_train, y_test, kind, description)``."""
    if ds.X_test is not None and ds.y_test is not None:
        return ds.X, ds.X_test, ds.y, ds.y_test, "test_split", "the data set's test split"
    from sklearn.model_selection import train_test_split

    # classes keep their shares in both parts; a regression (or multi-label) target has
    # nothing to stratify on: its hold-out is a plain random one
    stratified = ds.task == "classification"
    try:
        Xtr, Xte, ytr, yte = train_test_split(ds.X, ds.y, test_size=TEST_SIZE,
                                              random_state=seed,
                                              stratify=ds.y if stratified else None)
    except ValueError as err:               # too few rows (per class) to hold any out
        from .._errors import DataError

        raise DataError(f"cannot hold out {_PCT} of {ds.name}'s {len(ds.X)} rows for testing "
                        f"({err}). Pass more rows" + (": a stratified hold-out needs at least "
                                                      "one test row per class." if stratified
                                                      else ".")) from None
    return (Xtr, Xte, ytr, yte, "holdout",
            f"a {'stratified' if stratified else 'random'} {_PCT} hold-out (seed {seed})")


def as_labels(ds: Any, y: Any, classes: Any = None) -> Any:
    """Class indices as labels. Indices number the data's own sorted labels, so they are
    mapped back to those labels: integers where every label is an integer written out (digits'
    '0'..'9', a CSV labelled 0/1/2: a run keeps integer labels, and
    ``lamina.load(run).score(ds.X, ds.y)`` works), else the names ('setosa', ...). A run whose
    ``classes_`` are strings reads the names; one with numeric ``classes_`` over named data (a
    run trained on the indices themselves) reads the indices. Text and sequence sets label
    their samples by class index too."""
    import numpy as np

    if y is None or ds.task not in LABELLED or not ds.target_names:
        return y
    y = np.asarray(y)
    named = classes is not None and np.asarray(classes).dtype.kind in "UO"
    ids = _integer_labels(ds.target_names)
    if ids is not None and not named:
        return ids[y]
    if classes is not None and not named:
        return y
    return np.asarray(ds.target_names)[y]


def _integer_labels(names: Any) -> Any:
    """``names`` as an int array when each is an integer written out ('3', 3), else None."""
    import numpy as np

    out = []
    for name in names:
        text = str(name).strip()
        try:
            value = int(text)
        except ValueError:
            return None
        if str(value) != text:
            return None
        out.append(value)
    return np.asarray(out, dtype=np.int64)


def record(run: Path, data: str, target: str | None, ds: Any, seed: int, kind: str,
           drop: list[str]) -> None:
    """Write ``RUN/train_data.json`` (atomically); ``kind``: ``"holdout"``, ``"test_split"``
    or ``ALL_ROWS`` (no rows held out). ``target`` is recorded as the column the table's
    reader took, whether named (``--target``) or found (``target``/``label``/``y``, else the
    last column), so that predict and evaluate know it in later tables."""
    from ..train import atomic_write_text

    if is_table(data) and ds.extras.get("target") is not None:
        target = str(ds.extras["target"])
    info = {"data": str(data), "target": target, "drop": list(drop), "split": kind,
            "seed": int(seed),
            "test_size": 0.0 if kind == ALL_ROWS else TEST_SIZE, "rows": int(len(ds.X)),
            # a hold-out needs it to find the held-out rows again, a run fit on all rows to
            # recognise them; hashing 60 000 images for a set with its own test split would
            # cost time for nothing
            "fingerprint": fingerprint(ds) if kind in ("holdout", ALL_ROWS) else None,
            "features": list(ds.feature_names) if ds.feature_names is not None else None}
    atomic_write_text(Path(run) / TRAIN_DATA, json.dumps(info, indent=2))


def read_record(run: str | Path) -> dict[str, Any] | None:
    """The run's training-data record, or None (a run saved from Python, or an older run)."""
    path = Path(run) / TRAIN_DATA
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        from .._errors import RunDirError

        raise RunDirError(f"{path} is not valid JSON; delete it (the run itself loads without "
                          "it) or re-train with `lamina train`.") from None
    return info if isinstance(info, dict) else None


def dropped(info: dict[str, Any] | None, data: str) -> list[str]:
    """The columns `lamina train --drop` left out (``info``: the run's record), when ``data``
    is a table that has them."""
    drop = [str(c) for c in (info or {}).get("drop") or []]
    if not drop or not is_table(data):
        return []
    from ..datasets import table_columns

    have = set(table_columns(data))
    return [c for c in drop if c in have]


def table_target(info: dict[str, Any] | None, columns: list[str],
                 n_features: int | None) -> tuple[str | None, bool]:
    """``(target, has_it)``: the target column of a table with ``columns`` (those `lamina
    train --drop` left out already gone) for a run of numeric rows (``info``: its record;
    ``n_features``: its ``n_features_in_``). The column the record names, when the table has
    it; for a record from before targets were recorded, the one column besides the run's
    features; ``(None, True)`` where nothing tells (the reader's default then: ``target``,
    ``label``, ``y``, else the last column); ``has_it`` False for a table of features only."""
    recorded = (info or {}).get("target")
    features = (info or {}).get("features")
    if recorded is not None:
        return (str(recorded), True) if recorded in columns else (str(recorded), False)
    if features:
        rest = [c for c in columns if c not in features]
        if not rest:
            return None, False
        if len(rest) == 1 and set(features) <= set(columns):
            return rest[0], True
        return None, True
    if n_features is not None and len(columns) == n_features:    # a run saved from Python
        return None, False
    return None, True


def missing_features(info: dict[str, Any] | None, columns: list[str]) -> list[str]:
    """The run's feature columns (``info``: its record) that ``columns`` lacks."""
    want = (info or {}).get("features") or []
    return [str(c) for c in want if c not in columns]


def check_features(info: dict[str, Any] | None, run: str | Path, names: Any,
                   data: str) -> list[int] | None:
    """Refuse a table whose feature columns ``names`` are not the ones the run trained on
    (``info``: the run's record). The same columns in another order are fine: the column
    order that puts them as in training is returned (None when nothing is to reorder)."""
    want = info.get("features") if info else None
    have = list(names) if names is not None else None
    if not want or have is None or have == want:
        return None
    if sorted(have) == sorted(want) and len(set(have)) == len(have):
        return [have.index(c) for c in want]
    from .._errors import DataError

    missing = [c for c in want if c not in have]
    extra = [c for c in have if c not in want]
    what = (f"missing {missing[:5]}" if missing else "") + ("; " if missing and extra else "") \
        + (f"not trained on {extra[:5]}" if extra else "")
    if not missing:
        fix = f"Leave out {extra[:5]} (or retrain with them)"
    elif not extra:
        fix = f"Pass a file with {'that column' if len(missing) == 1 else 'those columns'}"
    else:
        fix = "Rename the columns as in training"
    raise DataError(f"the feature columns of {data!r} are not the ones {run} was trained on ("
                    + what + f"; expected {want[:8]}" + ("..." if len(want) > 8 else "")
                    + f"). {fix}.")


def eval_rows(info: dict[str, Any] | None, data: str, ds: Any) -> tuple[Any, Any, str]:
    """``(X, y, description)``: the rows to score a run on (``info``: the run's record)."""
    if ds.X_test is not None and ds.y_test is not None:
        return ds.X_test, ds.y_test, f"{data}'s test split, {len(ds.X_test)} rows"
    if info and info.get("split") == "holdout" and info.get("fingerprint") == fingerprint(ds):
        _, Xte, _, yte, _, _ = split(ds, int(info["seed"]))
        return (Xte, yte, f"the {_PCT} hold-out `lamina train` kept out (seed {info['seed']}), "
                          f"{len(yte)} rows")
    how = f"all {len(ds.X)} rows of {data}"
    if info and info.get("split") == ALL_ROWS and _same_data(info, data, ds):
        how += (f". Warning: they include the rows the run was fit on (`lamina search` refits "
                f"on every row it read, {info.get('rows')} of {info['data']}), which cannot be "
                "left out, so the score is optimistic. Score it on data it never saw")
    return ds.X, ds.y, how


def _same_data(info: dict[str, Any], data: str, ds: Any) -> bool:
    """``data`` is (or holds the rows of) the data the run recorded in ``info`` was fit on."""
    if str(info.get("data")) == str(data):
        return True
    if is_file(data) and is_file(str(info.get("data"))) \
            and Path(data).resolve() == Path(str(info.get("data"))).resolve():
        return True
    return info.get("fingerprint") == fingerprint(ds)


# --------------------------------------------------------------- what a run reads
ROWS = ("classification", "regression", "multilabel")   # numeric tables and images
#: data sets of another kind that a run of these estimators reads, as `lamina.datasets` gives it
READS = {"TextClassifier": "text", "SequenceClassifier": "sequence"}
_WHAT = {"rows": "numeric tables and images",
         "text": "texts: a text data set (fine_foods, fortunes) or a table with one text column",
         "sequence": "sequences: a sequence data set (fsdd)"}
#: estimators whose input no data set or table of the CLI gives: the Python call to use instead
PYTHON_ONLY = {"Recommender": ".predict(user_item_pairs) or .recommend(user, k=10)",
               "Forecaster": ".predict(history), or .predict() for the steps after the "
                             "training series",
               "Seq2Seq": ".predict(source_texts)",
               "HiddenKNNDetector": ".predict(X) (-1 novel, +1 normal) or .score_samples(X) "
                                    "(novelty scores: lower = more unusual)"}


def reads(est: Any) -> str:
    """The kind of data a run's estimator reads: ``"rows"``, ``"text"`` or ``"sequence"``."""
    return READS.get(type(est).__name__, "rows")


def check_runnable(est: Any, run: str | Path, command: str) -> None:
    """Refuse, naming the Python call to use, a run the CLI cannot feed (a Recommender,
    Forecaster or Seq2Seq) or one without ``predict`` (the Autoencoder is handled apart)."""
    name = type(est).__name__
    call = PYTHON_ONLY.get(name)
    if call is None and hasattr(est, "predict"):
        return
    from .._errors import ParameterError

    call = call or (".score(X)" if hasattr(est, "score") else ".transform(X)")
    raise ParameterError("RUN", str(run), f"a {name} run, whose input `lamina {command}` cannot "
                         "read from a data set or table",
                         f"Use the Python API: lamina.load({str(run)!r}){call}.")


def check_task(est: Any, run: str | Path, data: str, task: str | None) -> None:
    """Refuse data of another kind than the run reads (``task``: the loaded data set's task,
    None for a file not read yet)."""
    want = reads(est)
    if task is not None and (task in ROWS if want == "rows" else task == want):
        return
    from .._errors import DataError

    what = "a table" if task is None else f"a {task!r} data set"
    raise DataError(f"data {data!r} is {what}, but the {type(est).__name__} run {run} reads "
                    f"{_WHAT[want]}. Pass such data, or call the Python API: "
                    f"lamina.load({str(run)!r}).predict(X).")


def text_table(est: Any, data: str, target: str | None, *,
               labelled: bool) -> tuple[list[str], Any, str]:
    """``(texts, labels or None, description)`` for a TextClassifier run from a CSV/TSV/Parquet
    table: one text column, plus the label column (``target``; by default a column named
    ``target``, ``label`` or ``y``, else the last one; for ``labelled=False`` a lone text
    column needs none). Labels are compared by name, as the run's ``classes_`` hold them; an
    empty cell is an empty text."""
    import numpy as np

    from .._errors import DataError, ParameterError
    from ..datasets._table import (  # the table reader's separators and errors
        _read_frame,
        default_target,
    )

    path = Path(data)
    if not path.is_file():
        raise DataError(f"file not found: {data!r}. Check the path.")
    frame = _read_frame(path)
    columns = list(frame.columns)
    if target is not None and target not in columns:
        from .._errors import did_you_mean

        raise ParameterError("--target", target, "not a column of the table (columns: "
                             + ", ".join(columns[:20]) + ")",
                             (did_you_mean(target, columns) + " Pass --target NAME.").strip())
    if target is None and (labelled or len(columns) > 1):
        target = default_target(columns)       # as the table reader chooses it
    texts = [c for c in columns if c != target]
    if len(texts) != 1:
        raise DataError(f"the {type(est).__name__} run reads one text column, but {data!r} has "
                        f"{len(texts)} besides the label column {target!r}: {texts[:5]}. "
                        "Keep only the text column and the labels (pass --target NAME for "
                        "the labels).")
    X = frame[texts[0]].fillna("").astype(str).tolist()
    y = None
    if labelled and target is not None:
        col = frame[target]
        if col.isna().any():
            rows = np.flatnonzero(col.isna().to_numpy())[:5].tolist()
            raise DataError(f"label column {target!r} of {data!r} has missing labels (rows "
                            f"{rows}). Drop those rows or fill the labels.")
        classes = getattr(est, "classes_", None)
        numeric = classes is not None and np.asarray(classes).dtype.kind not in "UO"
        y = col.to_numpy() if numeric else col.astype(str).to_numpy()
    return X, y, f"all {len(X)} rows of {data}"
