"""Core verbs: ``train``, ``predict``, ``evaluate``, ``datasets``, ``demo``.

Every function imports torch/lamina lazily so ``lamina --help`` stays instant.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from . import _rows
from ._app import app, friendly

if TYPE_CHECKING:
    from .._errors import ParameterError


def _hidden(text: str) -> Any:
    """``"256,128"`` -> (256, 128); anything else is a lamina spec string. Signed integers
    count as widths too, so ``"64,-5"`` is refused for its width -5, not parsed as a spec.

    >>> _hidden("256, 128"), _hidden("64,-5"), _hidden("256:tanh-128")
    ((256, 128), (64, -5), '256:tanh-128')
    """
    parts = [p.strip() for p in text.split(",")]
    if all(re.fullmatch(r"[+-]?\d+", p) for p in parts):
        return tuple(int(p) for p in parts)
    return text


def _columns(text: str | None) -> list[str]:
    """``--drop 'id,name'`` -> ['id', 'name']."""
    return [c.strip() for c in (text or "").split(",") if c.strip()]


def _load_data(data: str, target: str | None, drop: list[str] | None = None, *,
               for_training: bool = False, notes: list[str] | None = None,
               run: str | None = None, info: dict[str, Any] | None = None) -> Any:
    """Load DATA (leaving ``drop`` out); ``for_training``: a table/image task only, and the
    data checks that would break training (not for tables to predict on or score); their
    warnings go into ``notes``. ``run``/``info`` (the run and its record): the run the data
    is for, whose features a non-numeric column's fix names."""
    from .._errors import DataError
    from ..datasets import load
    from ..datasets._table import NotNumericError

    try:
        ds = load(data, target=target, drop=drop) if drop else load(data, target=target)
    except NotNumericError as err:  # its fix names the Python argument drop=[...]
        raise _not_numeric(err, drop or [], for_training=for_training, run=run,
                           info=info) from None
    if not for_training:
        return ds
    if ds.task not in ("classification", "regression", "multilabel"):
        from .._errors import DataError

        raise DataError(f"data {data!r} is a {ds.task!r} set; `lamina train` fits tabular/image "
                        "classification or regression. Use its recipe: `lamina recipe --list`.")
    import warnings

    from ..datasets import DataQualityWarning, check_data

    # errors stop here (NaN named by column, a lone class, ...); warnings (constant columns,
    # duplicated rows) are printed as notes, one line each, and training goes on
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataQualityWarning)
        check_data(ds.X, _rows.as_labels(ds, ds.y), task=ds.task,
                   feature_names=ds.feature_names)
    if notes is not None:
        notes.extend(str(w.message) for w in caught if issubclass(w.category, DataQualityWarning))
    return ds


def _not_numeric(err: Any, drop: list[str], *, for_training: bool, run: str | None = None,
                 info: dict[str, Any] | None = None) -> Any:
    """The DataError of a table's non-numeric feature columns (``err``: the reader's
    NotNumericError), with the fix in the command's own terms: `lamina train`'s --drop
    (``drop``: the columns it leaves out already); for predict and evaluate, which have no
    --drop, what to do with the file, by whether RUN (``info``: its record) was trained on
    those columns."""
    from .._errors import DataError

    cols = list(err.columns)
    it = "it" if len(cols) == 1 else "them"
    if for_training:
        listed = ",".join([*drop, *cols])
        return DataError(f"{err.problem}. Encode {it} as numbers (e.g. with sklearn."
                         "preprocessing.OneHotEncoder or OrdinalEncoder), or leave "
                         f"{it} out with --drop {listed}.")
    features = (info or {}).get("features")
    if not features:            # a run saved from Python: which columns it read is unknown
        return DataError(f"{err.problem}. Remove the column(s) {','.join(cols)} from this file "
                         f"if the run was not trained on {it}; otherwise write {it} as "
                         "numbers, as in the training data.")
    known = [c for c in cols if c in features]
    extra = [c for c in cols if c not in features]
    fixes = []
    if known:
        fixes.append(f"Run {run} was trained on {', '.join(map(repr, known))} as numbers: "
                     f"write {'its' if len(known) == 1 else 'their'} values in this file as "
                     "numbers, as in the training data.")
    if extra:
        them = "it" if len(extra) == 1 else "them"
        listed = ",".join(extra)
        which = ", ".join(map(repr, extra)) if known else them   # both kinds: name them
        fixes.append(f"Run {run} was not trained on {which}: remove the column(s) {listed} from "
                     f"this file, or retrain with --drop {listed} (predict and evaluate then "
                     f"leave {them} out).")
    return DataError(f"{err.problem}. " + " ".join(fixes))


def _scale_hint(ds: Any) -> None:
    """Say so when the features are far from standardised: the MLP is trained on them as they
    are (as sklearn's is), and wide columns make it train slowly or badly."""
    import numpy as np

    X = np.asarray(ds.X, dtype=np.float64)
    if X.ndim != 2 or not len(X):
        return
    std, mean = X.std(0), np.abs(X.mean(0))
    j = int(np.argmax(np.maximum(std / 5.0, mean / 20.0)))
    if std[j] <= 5.0 and mean[j] <= 20.0:
        return
    name = repr(str(ds.feature_names[j])) if ds.feature_names is not None else f"column {j}"
    print(f"note: the features are not standardised ({name}: mean {X[:, j].mean():.4g}, std "
          f"{std[j]:.4g}); the network trains on them as they are. It usually learns faster "
          "and better on standardised columns: pass --scale standard (the saved model still "
          "reads raw columns).")


def _is_autoencoder(est: Any) -> bool:
    from ..estimators import Autoencoder

    return isinstance(est, Autoencoder)


def _single_label(est: Any) -> bool:
    """A classifier with one class per sample (an MLPClassifier can be fit multi-label)."""
    return not getattr(est, "_multilabel", False)


def _metrics(est: Any, X: Any, y: Any) -> dict[str, float]:
    """Accuracy (and log-loss) for any classifier, by sklearn's own notion (``is_classifier``:
    the MLP and the image, text and sequence classifiers), R²/MAE for regressors; labels are
    compared by name with the run's ``classes_``."""
    import numpy as np
    from sklearn.base import is_classifier

    if is_classifier(est):
        from sklearn.metrics import accuracy_score, log_loss

        if not _single_label(est) and np.ndim(y) != 2:
            from .._errors import DataError

            raise DataError("the run predicts several labels per row (a multi-label model), "
                            "but the data has one label per row. Evaluate it on data with the "
                            f"same {len(est.classes_)} label columns, from Python: "
                            "lamina.load(RUN).score(X, Y).")
        if _single_label(est):
            unseen = sorted(set(np.asarray(y).tolist()) - set(est.classes_.tolist()), key=str)
            if unseen:
                from .._errors import DataError

                raise DataError(f"the data holds labels the run never saw in training: "
                                f"{unseen[:5]} (it knows {est.classes_.tolist()[:10]}). "
                                "Score it on data labelled with the same classes.")
        out = {"accuracy": float(accuracy_score(y, est.predict(X)))}
        if _single_label(est) and hasattr(est, "predict_proba"):
            out["log_loss"] = float(log_loss(y, est.predict_proba(X), labels=est.classes_))
        return out
    from sklearn.metrics import mean_absolute_error, r2_score

    pred = est.predict(X)
    return {"r2": float(r2_score(y, pred)), "mae": float(mean_absolute_error(y, pred))}


def _print_metrics(title: str, metrics: dict[str, float]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in metrics.items():
        table.add_row(k, f"{v:.4f}")
    Console().print(table)


# the estimator parameter each `lamina train` option sets, for errors that name the option
_TRAIN_FLAGS = {"hidden_layer_sizes": "--hidden", "activation": "--activation",
                "max_iter": "--epochs", "learning_rate_init": "--lr",
                "batch_size": "--batch-size", "random_state": "--seed", "device": "--device",
                "scale": "--scale"}


def _as_option(err: ParameterError, hidden: str = "",
               flags: Mapping[str, str] = _TRAIN_FLAGS) -> ParameterError:
    """A ParameterError about a Python parameter, reworded with the option that set it
    (the user typed ``--lr -1``, not ``learning_rate_init=-1``); ``flags`` maps parameters to
    options (default: ``lamina train``'s); other errors unchanged."""
    from .._errors import ParameterError  # noqa: F811 (at run time; the import above types)

    flag = flags.get(err.param)
    if flag == "--hidden":              # a bad width, or a spec that does not parse
        guess = re.search(r"Did you mean [^?]*\?", err.fix)
        return ParameterError(flag, hidden, err.allowed, (guess.group(0) + " " if guess else "")
                              + "Pass e.g. --hidden 256,128 or a spec such as 256:tanh-128.")
    if flag is None or type(err) is not ParameterError:
        return err
    return ParameterError(flag, err.value, err.allowed,
                          err.fix.replace(f"as {err.param}=...", f"with {flag}.")
                          .replace(f"{err.param}=", f"{flag} "))


EARLY_STOPPING_ROWS = 1000
"""``lamina train`` stops early on a 10 % validation split from this many training rows; on
fewer it trains ``--epochs``, stopped by the training loss (sklearn's ``tol`` rule)."""


def auto_batch_size(n_rows: int) -> int:
    """``lamina train``'s default batch: 256, or ``n_rows // 16`` (at least 16) on smaller
    tables. With 256 rows a batch, iris's 120 training rows made one optimizer step per epoch,
    and early stopping (patience 5 on a 12-row validation split) ended training after ~9 steps
    at 50 % accuracy; ~16 steps an epoch give Adam the steps it needs there.

    >>> auto_batch_size(60_000), auto_batch_size(1_437), auto_batch_size(120)
    (256, 89, 16)
    """
    return max(16, min(256, n_rows // 16))


def train_run(data: str, *, hidden: str = "256,128", activation: str = "relu",
              epochs: int = 50, lr: float = 1e-3, batch_size: int | None = None,
              out: str | None = None, target: str | None = None, seed: int = 0,
              device: str = "cpu", verbose: bool = True, drop: list[str] | None = None,
              scale: str = "none", advice: list[str] | None = None,
              ) -> tuple[Any, Path, dict[str, float]]:
    """Train an MLP on a data set; save the run; return (estimator, run dir, test metrics).
    ``advice``: gets a warning when the test score is no better than a constant guess."""
    from ..estimators import MLPClassifier, MLPRegressor

    if drop and not _rows.is_file(data):
        from .._errors import ParameterError as _PE

        raise _PE("--drop", ",".join(drop), f"it applies to files only; {data!r} has fixed "
                  "columns", "Remove --drop.")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        from .._errors import ParameterError as _PE

        raise _PE("--seed", seed, "an integer from 0 to 2**32 - 1", "Pass e.g. --seed 0.")
    notes: list[str] = []
    ds = _load_data(data, target, drop, for_training=True, notes=notes)
    Xtr, Xte, ytr, yte, kind, how = _rows.split(ds, seed)
    # classes by their names ('setosa', 'yes'): saved with the run, so predictions read as
    # labels and another file's labels (encoded from that file alone) are matched by name
    ytr, yte = _rows.as_labels(ds, ytr), _rows.as_labels(ds, yte)
    cls = MLPRegressor if ds.task == "regression" else MLPClassifier
    if batch_size is None:
        batch_size = auto_batch_size(len(Xtr))
    kw: dict[str, Any] = {"hidden_layer_sizes": _hidden(hidden), "activation": activation,
                          "max_iter": epochs, "learning_rate_init": lr,
                          "batch_size": batch_size, "random_state": seed, "device": device,
                          "verbose": verbose, "scale": scale}
    if len(Xtr) >= EARLY_STOPPING_ROWS:
        kw.update(early_stopping=True, n_iter_no_change=5)
    else:
        # a 10 % split of a small table scores in steps of a point or more and plateaus for
        # epochs (spiral: stopped after 7 of any --epochs): train the full --epochs, stopped by
        # sklearn's rule on the training loss instead
        kw.update(early_stopping=False)
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from .._errors import ParameterError

    try:
        with warnings.catch_warnings():  # the stop reason is printed below instead
            warnings.simplefilter("ignore", ConvergenceWarning)
            # sklearn's "batch_size ... is going to be clipped": a --batch-size above the rows
            # of a small table gets one batch, as the user can see in the epochs
            warnings.filterwarnings("ignore", message="Got `batch_size`", category=UserWarning)
            est = cls(**kw).fit(Xtr, ytr)
    except ParameterError as err:
        raise _as_option(err, hidden) from None
    for note in notes:                 # data-quality warnings: one line each, after training
        print(f"note: {note}")
    if est.scale is None or est.scale == "none":
        _scale_hint(ds)
    run = Path(out) if out else Path("runs") / Path(str(data)).stem
    est.save(run)
    _rows.record(run, data, target, ds, seed, kind, drop or [])
    metrics = _metrics(est, Xte, yte)
    print(f"data: {ds.name} ({len(ytr)} train rows; evaluated on {how}, {len(yte)} rows)")
    print(f"stopped after {est.n_iter_} epochs: {est.stop_reason_}")
    still = _still_learning(est, epochs)
    if still:
        print(f"note: {still}")
    warning = _no_better_than_a_guess(est, ytr, yte, metrics, epochs=epochs, lr=lr)
    if warning and advice is not None:
        advice.append(warning)
    return est, run, metrics


def _still_learning(est: Any, epochs: int, window: int = 10,
                    drop: float = 0.05) -> str | None:
    """A note when training stopped at the ``--epochs`` limit while its loss was still falling
    (by more than ``drop`` of its value over the last ``window`` epochs): more epochs would
    likely score higher. None otherwise.

    >>> class Run: n_iter_ = 50; loss_curve_ = [1.0] * 40 + [0.5] * 9 + [0.4]
    >>> _still_learning(Run(), 50)
    'the training loss was still falling at the limit of 50 epochs (1 -> 0.4 over the last 10): --epochs 200 may score higher'
    >>> Run.loss_curve_ = [0.5] * 50
    >>> _still_learning(Run(), 50) is None
    True
    >>> Run.loss_curve_ = [1.0] * 49 + [float("nan")]          # diverged at the last epoch
    >>> _still_learning(Run(), 50) is None
    True
    """
    curve = list(getattr(est, "loss_curve_", None) or [])
    if est.n_iter_ < epochs or len(curve) <= window:
        return None
    before, last = float(curve[-window - 1]), float(curve[-1])
    if not (math.isfinite(last) and before > 0) or (before - last) / before <= drop:
        return None
    return (f"the training loss was still falling at the limit of {epochs} epochs ({before:.4g} "
            f"-> {last:.4g} over the last {window}): --epochs {epochs * 4} may score higher")


def _no_better_than_a_guess(est: Any, ytr: Any, yte: Any, metrics: dict[str, float], *,
                            epochs: int, lr: float) -> str | None:
    """A warning when the test score (hold-out or test split) is no better than a constant
    guess: R² <= 0 (the training mean scores about 0), or an accuracy no higher than always
    answering the most common training class; it names what to try, most likely first. None
    otherwise (and for multi-label runs)."""
    import numpy as np

    tips: list[str] = []
    if "r2" in metrics:
        if metrics["r2"] > 0:
            return None
        what = (f"the test R² is {metrics['r2']:.4g}, no better than always predicting "
                "the training mean (R² 0)")
        y = np.asarray(ytr, dtype=np.float64)
        mean, std = float(y.mean()), float(y.std())
        if std > 5.0 or abs(mean) > 5.0:      # the network's outputs start near 0, std ~1
            tips.append(f"scale the target (mean {mean:.4g}, std {std:.4g}, while the "
                        "network's outputs start near 0): standardise the target column "
                        "((y - mean) / std) before training, or from Python wrap the model "
                        "in sklearn.compose.TransformedTargetRegressor(lamina.MLPRegressor("
                        "...), transformer=StandardScaler())")
    elif "accuracy" in metrics and _single_label(est):
        labels, counts = np.unique(np.asarray(ytr), return_counts=True)
        common = labels[int(np.argmax(counts))]
        guess = float(np.mean(np.asarray(yte) == common))
        if metrics["accuracy"] > guess or guess >= 1.0:
            return None
        label = common.item() if isinstance(common, np.generic) else common
        what = (f"the test accuracy is {metrics['accuracy']:.4g}, no better than always "
                f"predicting the most common training class {label!r} ({guess:.4g})")
    else:
        return None
    if str(est.stop_reason_).startswith("training diverged") or lr >= 0.05:
        tips.append(f"lower the learning rate (--lr {lr / 10:g})")
    else:
        if est.n_iter_ >= epochs:
            tips.append(f"train longer (--epochs {epochs * 4}; it stopped at the limit of "
                        f"{epochs})")
        if lr < 0.01:
            tips.append(f"raise the learning rate (--lr {lr * 10:g})")
    if est.scale is None or est.scale == "none":
        tips.append("train on standardised columns (--scale standard)")
    if not tips:                        # nothing in the setup to blame
        tips.append("a wider network (--hidden 512,256) or more rows; else the features may "
                    "not predict the target")
    return f"warning: {what}. To do better, try: " + "; ".join(tips) + "."


@app.command()
@friendly
def train(
    data: str = typer.Argument(..., help="A data set name (see `lamina datasets`) or a "
                               ".csv/.parquet/.npz file."),
    hidden: str = typer.Option("256,128", help="Hidden widths '256,128' or a spec "
                               "'256:tanh-128'."),
    activation: str = typer.Option("relu", help="relu, tanh, logistic, gelu, silu, ..."),
    epochs: int = typer.Option(50, help="Maximum epochs (early stopping on a 10 % split "
                                "from 1000 training rows; on fewer, stops when the training "
                                "loss stops falling)."),
    lr: float = typer.Option(1e-3, help="Learning rate (Adam)."),
    batch_size: int = typer.Option(None, help="Mini-batch size [default: 256, or, on fewer "
                                   "than 4 096 training rows, rows/16 (at least 16), so an "
                                   "epoch has ~16 steps]."),
    out: str = typer.Option(None, help="Run directory to write (default runs/<data>)."),
    target: str = typer.Option(None, help="Target column, for files."),
    seed: int = typer.Option(0, help="Random seed."),
    device: str = typer.Option("cpu", help="cpu, cuda, cuda:N."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    drop: str = typer.Option(None, help="Columns to leave out, for files: 'id,name' (predict "
                             "and evaluate leave them out too)."),
    scale: str = typer.Option("none", help="'standard': train on standardised columns (folded "
                              "into the first layer, so the saved model reads raw ones)."),
) -> None:
    """Train a network of hidden layers on DATA and save the run directory."""
    advice: list[str] = []
    _, run, metrics = train_run(data, hidden=hidden, activation=activation, epochs=epochs,
                                lr=lr, batch_size=batch_size, out=out, target=target,
                                seed=seed, device=device, verbose=not quiet,
                                drop=_columns(drop), scale=scale, advice=advice)
    _print_metrics("test metrics", metrics)
    for line in advice:                 # after the scores it is about, on stderr
        print(line, file=sys.stderr)
    print(f"run saved to {run}")


def _predict_rows(run: str, data: str, target: str | None, est: Any) -> tuple[Any, str]:
    """``(X, description)``: the rows to predict on: the data set's test split if it has one,
    else all rows. A table's target column (the one the run was trained to predict, as its
    record names it, or ``target``) is left out; a table without it is read as features only
    (the usual table to predict on). A TextClassifier run reads a table's one text column.
    NaN/inf in the rows is refused, naming the column."""
    kind = _rows.reads(est)
    if kind == "text" and _rows.is_table(data):
        texts, _, how = _rows.text_table(est, data, target, labelled=False)
        return texts, how
    info = _rows.read_record(run)
    if kind == "rows" and _rows.is_table(data):
        target, has_target = _table_target(run, data, target, est, info, scoring=False)
        if not has_target:
            X, names = _read_features(run, data, info)
            _check_finite(X, names, data)
            return X, f"all {len(X)} rows of {data}"
    ds = _run_data(run, data, target, est, info)
    X, how = ((ds.X_test, f"{data}'s test split, {len(ds.X_test)} rows")
              if ds.X_test is not None else (ds.X, f"all {len(ds.X)} rows of {data}"))
    if kind == "rows":
        _check_finite(X, ds.feature_names, data)
    return X, how


def _table_target(run: str, data: str, target: str | None, est: Any, info: Any, *,
                  scoring: bool) -> tuple[str | None, bool]:
    """``(target, has_it)`` for a table of numeric rows read for RUN (``info``: its record):
    ``target`` when given; else the column the run was trained to predict (see
    ``_rows.table_target``). ``scoring`` (evaluate): a table without it is refused, naming
    the column."""
    if target is not None:
        return target, True
    from ..datasets import table_columns

    dropped = _rows.dropped(info, data)
    columns = [c for c in table_columns(data) if c not in dropped]
    target, has_it = _rows.table_target(info, columns, getattr(est, "n_features_in_", None))
    if has_it or not scoring:
        return target, has_it
    from .._errors import DataError

    if target is not None:
        raise DataError(f"target column {target!r} (the run's target) not found in {data!r}; "
                        "evaluate needs it to score the predictions. Pass a file with that "
                        "column, or name the file's target column with --target NAME.")
    raise DataError(f"{data!r} has no target column besides the run's features; evaluate "
                    "needs one to score the predictions. Pass a file with the target column "
                    "(--target NAME names it).")


def _check_header(info: Any, run: str, columns: list[str], data: str) -> None:
    """Refuse, before reading its rows, a table that lacks some of the run's feature columns
    (``columns``: its header less the target and `lamina train --drop` columns): the columns
    are the problem then, not a value in them."""
    if _rows.missing_features(info, columns):
        _rows.check_features(info, run, columns, data)


def _read_features(run: str, data: str, info: Any) -> tuple[Any, list[str]]:
    """A table without a target as RUN's features (``info``: its record), less the columns
    `lamina train --drop` left out, in training order: ``(X, names)``."""
    from ..datasets import read_features, table_columns
    from ..datasets._table import NotNumericError

    dropped = _rows.dropped(info, data)
    _check_header(info, run, [c for c in table_columns(data) if c not in dropped], data)
    try:
        X, names = read_features(data, drop=dropped)
    except NotNumericError as err:
        raise _not_numeric(err, dropped, for_training=False, run=run, info=info) from None
    order = _rows.check_features(info, run, names, data)
    if order is None:
        return X, names
    return X[:, order], [names[i] for i in order]


def _check_finite(X: Any, names: Any, data: str) -> None:
    """Refuse NaN/inf in rows to predict on or score, naming the column as training does
    (the estimator itself could only give its index)."""
    from ..datasets._quality import check_finite

    check_finite(X, names, what=repr(data))


def _run_data(run: str, data: str, target: str | None, est: Any, info: Any) -> Any:
    """DATA for RUN: of the kind the run reads, its `lamina train --drop` columns left out,
    and the training columns put back in training order by name (``info``: the run's
    record)."""
    if _rows.reads(est) != "rows" and _rows.is_file(data):
        _rows.check_task(est, run, data, None)
    dropped = _rows.dropped(info, data)
    if target is not None and _rows.reads(est) == "rows" and _rows.is_table(data):
        from ..datasets import table_columns

        columns = table_columns(data)
        if target in columns:       # else the reader names the missing target
            _check_header(info, run, [c for c in columns if c not in dropped and c != target],
                          data)
    ds = _load_data(data, target, dropped, run=run, info=info)
    _rows.check_task(est, run, data, ds.task)
    order = _rows.check_features(info, run, ds.feature_names, data)
    if order is None or info is None:
        return ds
    import dataclasses

    return dataclasses.replace(ds, X=ds.X[:, order], feature_names=list(info["features"]),
                               X_test=None if ds.X_test is None else ds.X_test[:, order])


# --help text: typer keeps a docstring's line breaks, so the paragraphs are written unbroken
_PREDICT_HELP = (
    "Predict with a saved run; write a CSV with one row per sample.\n\n"
    "Classifiers write `prediction` and one `proba_<class>` column per class; regressors "
    "`prediction`. An Autoencoder run writes its codes (`code_0`, `code_1`, ...) and each "
    "row's `reconstruction_error` (mean squared error per feature; higher = more anomalous). "
    "Recommender, Forecaster and Seq2Seq runs take no table: use "
    "`lamina.load(RUN).predict(...)` from Python.")
_EVALUATE_HELP = (
    "Score a saved run on DATA, never on its training rows.\n\n"
    "Classifiers (MLP, image, text, sequence): accuracy and log-loss; regressors: R² and MAE; "
    "an Autoencoder: reconstruction_mse, the mean squared reconstruction error per feature in "
    "the data's units (minus its `score`). Recommender, Forecaster and Seq2Seq runs take no "
    "table: score them from Python (`lamina.load(RUN).score(...)`).")


@app.command(help=_PREDICT_HELP)
@friendly
def predict(
    run: str = typer.Argument(..., help="A run directory written by `lamina train` (or saved "
                              "from Python)."),
    data: str = typer.Argument(..., help="Data set name or file (its test split if it has one, "
                               "else every row; a table whose columns are exactly the run's "
                               "features needs no target column). A TextClassifier run reads "
                               "a text data set or a table with one text column."),
    out: str = typer.Option("predictions.csv", help="CSV file to write."),
    target: str = typer.Option(None, help="Target column to drop, for files."),
) -> None:
    """Predict with a saved run (see ``_PREDICT_HELP``)."""
    import pandas as pd
    from sklearn.base import is_classifier

    from ..estimators import load
    from ..train import atomic_write_text

    _check_out_file(out, run)
    est = load(run)
    autoencoder = _is_autoencoder(est)
    if not autoencoder:
        _rows.check_runnable(est, run, "predict")
    X, _ = _predict_rows(run, data, target, est)
    if autoencoder:
        codes = est.transform(X)
        frame = pd.DataFrame(codes, columns=[f"code_{i}" for i in range(codes.shape[1])])
        frame["reconstruction_error"] = est.reconstruction_error(X)
        what = f"codes ({codes.shape[1]} per row) and reconstruction errors"
    else:
        pred = est.predict(X)
        if is_classifier(est) and not _single_label(est):   # multi-label: a column per label
            frame = pd.DataFrame({f"prediction_{c}": pred[:, i]
                                  for i, c in enumerate(est.classes_)})
            what = f"predictions ({len(est.classes_)} labels each)"
        else:
            frame = pd.DataFrame({"prediction": list(pred)})
            what = "predictions"
        if is_classifier(est) and hasattr(est, "predict_proba"):
            proba = est.predict_proba(X)
            for i, c in enumerate(est.classes_):
                frame[f"proba_{c}"] = proba[:, i]
    atomic_write_text(Path(out), frame.to_csv(index=False))
    print(f"wrote {len(frame)} {what} to {out}")


def _check_out_file(out: str, run: str) -> None:
    """``--out`` must name a file to write, outside the run directory (whose files are the
    model): refused before anything is loaded or written."""
    from .._errors import ParameterError

    path = Path(out)
    if path.is_dir():
        raise ParameterError("--out", out, "a CSV file to write, not a directory",
                             f"Pass --out {str(path / 'predictions.csv')!r}.")
    if Path(run).resolve() in path.resolve().parents:
        raise ParameterError("--out", out, f"a file outside the run directory {run!r} (its "
                             "files are the model; a prediction file there could replace one)",
                             f"Pass e.g. --out "
                             f"{str(Path(run).resolve().parent / 'predictions.csv')!r}.")


@app.command(help=_EVALUATE_HELP)
@friendly
def evaluate(
    run: str = typer.Argument(..., help="A run directory written by `lamina train` (or saved "
                              "from Python)."),
    data: str = typer.Argument(..., help="Data set name or file: its test split if it has one; "
                               "else, when it is the data the run was trained on, the rows "
                               "`lamina train` held out; else every row. A TextClassifier run "
                               "reads a text data set or a table of one text column and "
                               "labels."),
    target: str = typer.Option(None, help="Target column, for files."),
) -> None:
    """Score a saved run on DATA (see ``_EVALUATE_HELP``)."""
    from ..estimators import load

    est = load(run)
    if _is_autoencoder(est):            # no labels: how well it reconstructs the rows
        X, how = _predict_rows(run, data, target, est)
        metrics = {"reconstruction_mse": -float(est.score(X))}
        print(f"evaluated on {how}")
        _print_metrics(f"{run} on {data}", metrics)
        return
    _rows.check_runnable(est, run, "evaluate")
    info = _rows.read_record(run)
    if _rows.reads(est) == "text" and _rows.is_table(data):
        X, y, how = _rows.text_table(est, data, target, labelled=True)
    else:
        rows = _rows.reads(est) == "rows"
        column: str | None = target
        if rows and _rows.is_table(data):   # the run's target column, or a clear refusal
            column, _ = _table_target(run, data, target, est, info, scoring=True)
        ds = _run_data(run, data, column, est, info)
        X, y, how = _rows.eval_rows(info, data, ds)
        if rows:
            _check_finite(X, ds.feature_names, data)
        y = _rows.as_labels(ds, y, getattr(est, "classes_", None))
    if y is None:
        from .._errors import DataError

        raise DataError(f"data {data!r} has no target to evaluate against; pass a file with a "
                        "target column (--target NAME).")
    metrics = _metrics(est, X, y)
    print(f"evaluated on {how}")
    _print_metrics(f"{run} on {data}", metrics)


@app.command()
@friendly
def datasets() -> None:
    """List the data sets lamina knows, whether they are installed, and how to get them."""
    from rich.console import Console
    from rich.table import Table

    from ..datasets import list_datasets

    table = Table(title="lamina data sets (offline)")
    for col in ("name", "task", "shape", "source", "available", "install"):
        table.add_column(col)
    for info in list_datasets():
        table.add_row(info.name, info.task, info.shape, info.source,
                      "yes" if info.available else "no", "" if info.available else info.install)
    Console(width=160).print(table)
