"""``lamina search DATA``: choose the hidden-layer configuration from the command line.

Trials go to a SQLite file in the output folder unless ``--storage`` names a database (e.g.
PostgreSQL), in which case any number of workers on any machines can run the same command with
the same ``--study`` and share the search. ``--resume`` continues an interrupted study; on Ctrl-C
the command prints the command that does, with every option the user gave.

The objective follows the data set's own task (``--objective`` overrides it). Classes are the
data set's label names, as for ``lamina train``, so the saved model predicts label names and
``lamina evaluate`` matches another file's labels by name. The model is refit on every row
searched; its ``train_data.json`` says so, and ``lamina evaluate`` on that data says the score
includes training rows. A file is read as ``lamina train`` reads it, ``--target`` and ``--drop``
included (the same loader), and the saved record names them for ``predict`` and ``evaluate``.

A bad ``--storage`` URL is refused before the output folder is made; with ``--objective
accuracy,params`` (or ``,latency``) ``best.json`` holds the Pareto front as well as the best
score.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from . import _rows
from ._app import app, friendly


@app.command("search")
@friendly
def search_command(
    ctx: typer.Context,
    data: str = typer.Argument(..., help="Dataset name (see `lamina datasets`) or a "
                               "CSV/Parquet/NPZ file."),
    budget: str = typer.Option("10m", "--budget", "-b",
                               help="Wall-clock budget of the search: 30s, 5m, 1h."),
    n_trials: int = typer.Option(0, "--n-trials", help="Stop after this many trials (0: no "
                                 "limit but the budget)."),
    storage: str = typer.Option("", "--storage", help="Optuna storage URL, e.g. "
                                "postgresql://user:pass@host/db. Default: sqlite in --out."),
    study: str = typer.Option("", "--study", help="Study name (default: the data's name). "
                              "Workers with the same name share the study."),
    objective: str = typer.Option("auto", "--objective", help="accuracy | r2 | "
                                  "accuracy,latency | accuracy,params (auto: by the data)."),
    resume: bool = typer.Option(False, "--resume", help="Continue an existing (interrupted) "
                                "study, with the space it was created with."),
    out: str = typer.Option("", "--out", "-o", help="Output folder (default runs/search-NAME)."),
    n_samples: int = typer.Option(0, "--n-samples", help="Use a seeded subsample of this many "
                                  "rows (0: all)."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:1, mps."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the sampler and the splits (a "
                              "study keeps its creator's validation split: every worker scores "
                              "there)."),
    population: int = typer.Option(4, "--population", help="Candidates per shape, trained "
                                   "together."),
    batch: int = typer.Option(8, "--batch", help="Shapes asked per round."),
    refit: bool = typer.Option(True, "--refit/--no-refit", help="Refit the best configuration "
                               "on all the data and save it to OUT/model."),
    space: str = typer.Option("", "--space", help="Search space as JSON (or a .json file): "
                              '{"n_layers": {"low": 1, "high": 3}, "width": {"low": 32, '
                              '"high": 512, "log": true}, "activation": ["relu", "tanh"]}. '
                              "Keys left out keep the default ranges; batch sizes above the "
                              "training rows are clipped to them."),
    heartbeat: int = typer.Option(5, "--heartbeat", help="Seconds between heartbeats of running "
                                  "trials in a database; a worker silent for 4x this long is "
                                  "presumed dead and its trials are retried."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    target: str | None = typer.Option(None, "--target", help="Target column, for files."),
    drop: str | None = typer.Option(None, "--drop", help="Columns to leave out, for files: "
                                    "'id,name' (predict and evaluate leave them out too)."),
) -> None:
    """Search depth, widths, activation, learning rate, batch size, dropout and L2 penalty."""
    from ._core import _columns

    with _named_options():
        _search(ctx, data, budget=budget, n_trials=n_trials, storage=storage, study=study,
                objective=objective, resume=resume, out=out, n_samples=n_samples,
                device=device, seed=seed, population=population, batch=batch, refit=refit,
                space=space, heartbeat=heartbeat, quiet=quiet, target=target,
                drop=_columns(drop))


# the search parameter each option sets, for errors that name the option (`--n-trials -1`)
_SEARCH_FLAGS = {"budget": "--budget", "n_trials": "--n-trials", "objective": "--objective",
                 "space": "--space", "study": "--study", "storage": "--storage",
                 "device": "--device", "random_state": "--seed", "seed": "--seed",
                 "n_samples": "--n-samples", "population": "--population", "batch": "--batch",
                 "target": "--target", "drop": "--drop"}


@contextlib.contextmanager
def _named_options() -> Iterator[None]:
    from .._errors import ParameterError
    from ._core import _as_option

    try:
        yield
    except ParameterError as err:
        raise _as_option(err, flags=_SEARCH_FLAGS) from None


def _search(ctx: typer.Context, data: str, *, budget: str, n_trials: int, storage: str,
            study: str, objective: str, resume: bool, out: str, n_samples: int, device: str,
            seed: int, population: int, batch: int, refit: bool, space: str, heartbeat: int,
            quiet: bool, target: str | None = None, drop: list[str] | None = None) -> None:
    from .._validation import check_int
    from ..search import check_options, open_storage, search
    from ..search._storage import check_url
    from ..search._study import StoredSpaceWarning

    # every option, then the data, are checked before the storage is touched: a bad command
    # leaves no study behind and prints nothing but its error
    check_int("--heartbeat", heartbeat, 1)
    the_space = _parse_space(space) if space else None
    given = _objective(objective)
    check_options(budget=budget, n_trials=n_trials or None, objective=given, space=the_space,
                  study=study or None, device=device, random_state=seed,
                  population=population, batch=batch, resume=resume, refit=refit)
    ds = _load(data, target, drop or [], n_samples or None, seed)
    if ds.task not in ("classification", "regression"):
        from .._errors import ParameterError

        raise ParameterError("DATA", data, f"its task is {ds.task!r}; search handles "
                             "classification and regression tables",
                             "Pick a classification or regression set, e.g. digits.")
    objectives = given or ("accuracy" if ds.task == "classification" else "r2")
    X = ds.X.reshape(len(ds.X), -1)
    # label names, as `lamina train` fits: the saved model predicts names, and another
    # file's labels (numbered from that file alone) are matched by name
    y = _rows.as_labels(ds, ds.y)
    notes = _check_rows(ds, X, y, objectives)
    name = study or ds.name
    folder = Path(out or f"runs/search-{ds.name}").resolve()
    if storage:
        check_url(storage)         # a malformed URL or a missing driver: before any folder
    own_db = not storage
    made = [p for p in (folder, folder / "search.db") if (own_db or p == folder)
            and not p.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    url = storage or f"sqlite:///{folder / 'search.db'}"
    try:
        store = open_storage(url, heartbeat_interval=heartbeat, grace_period=4 * heartbeat)
    except Exception:              # e.g. the server cannot be reached: leave no empty folder
        _tidy(None, made)
        raise

    held = _trials_held(store, name)
    if held and not resume:   # said after the search: a study it cannot join is refused first
        notes.insert(0, f"study {name!r} in {_masked(url)} already held {held} trials: this "
                        "search added to it, as workers sharing a study do. Pass --study "
                        "NEW_NAME to start afresh.")
    bar = None if quiet else _Bar(budget)
    try:
        if bar is not None:
            bar.start()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            # a model at chance level: summary() says so
            warnings.filterwarnings("ignore", message="the best validation", category=UserWarning)
            res = search(X, y, the_space, budget=budget, n_trials=n_trials or None,
                         objective=objectives, storage=store, study=name, resume=resume,
                         device=device, random_state=seed, population=population, batch=batch,
                         refit=refit, callback=bar.update if bar is not None else None)
        for w in caught:                   # a note for --resume's stored space; others as ever
            if issubclass(w.category, StoredSpaceWarning):
                notes.append(f"{w.message} (--resume keeps the stored space)")
            else:
                warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    except KeyboardInterrupt:
        if bar is not None:
            bar.stop()
        print(f"interrupted; continue with: {_resume_command(ctx, data, url, name, folder)}",
              file=sys.stderr)
        raise typer.Exit(130) from None
    except Exception:
        _tidy(store if own_db else None, made)
        raise
    finally:
        if bar is not None:
            bar.stop()
    _write_outputs(res, folder, ds, data, seed, url, target, drop or [])
    print(res.summary())
    for note in notes:
        print(f"note: {note}")
    front = " (with the pareto front)" if len(res.objective_) > 1 else ""
    print(f"trials: {folder / 'trials.csv'}  best: {folder / 'best.json'}{front}  study: {name} "
          f"in {_masked(url)}")


def _load(data: str, target: str | None, drop: list[str], n_samples: int | None,
          seed: int) -> Any:
    """DATA as ``lamina train`` reads it: a file through the same loader (``--target``,
    ``--drop``, and a column that is not numeric named with the ``--drop`` that leaves it
    out), then the ``--n-samples`` subsample; a data set by name with its fixed target."""
    from ..datasets import load

    if not _rows.is_file(data):
        if drop:
            from .._errors import ParameterError

            raise ParameterError("--drop", ",".join(drop), f"it applies to files only; {data!r} "
                                 "has fixed columns", "Remove --drop.")
        return load(data, target=target, n_samples=n_samples, seed=seed)
    from ..datasets._subsample import subsample
    from ._core import _load_data

    ds = _load_data(data, target, drop, for_training=True)
    return subsample(ds, n_samples, seed) if n_samples else ds


def _objective(text: str) -> str | tuple[str, ...] | None:
    """``--objective``: None for ``auto`` (the data set's own task, never a guess from its
    values); errors quote the text as typed."""
    from .._errors import ParameterError
    from ..search import parse_objective

    if text == "auto":
        return None
    names = tuple(text.split(","))
    try:
        parse_objective(names)
    except ParameterError as err:
        raise ParameterError("objective", text, err.allowed, err.fix) from None
    return names[0] if len(names) == 1 else names


def _check_rows(ds: Any, X: Any, y: Any, objective: str | tuple[str, ...]) -> list[str]:
    """The data checks of ``lamina train`` (a lone class, NaN named by column, ...) and the
    search's own for the objective; returns the data-quality warnings, to print as notes."""
    from ..datasets import DataQualityWarning, check_data
    from ..search._data import check_xy

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataQualityWarning)
        check_data(ds.X, y, task=ds.task, feature_names=ds.feature_names)
    check_xy(X, y, (objective,) if isinstance(objective, str) else objective)
    return [str(w.message) for w in caught if issubclass(w.category, DataQualityWarning)]


def _tidy(store: Any, made: list[Path]) -> None:
    """After a failed search, remove the SQLite file and folder this run created when no
    study was left in them (a refused budget deletes the study it created); ``store``: the
    run's own SQLite storage, None when there is none (only a folder left empty goes)."""
    if not made or (store is not None and store.get_all_studies()):
        return
    if store is not None:
        store.engine.dispose()                # close the file (WAL mode: and its -wal, -shm)
    for path in reversed(made):               # the file, then its folder
        with contextlib.suppress(OSError):
            if path.is_dir():
                path.rmdir()
                continue
            for extra in ("", "-wal", "-shm"):
                Path(f"{path}{extra}").unlink(missing_ok=True)


def _resume_command(ctx: typer.Context, data: str, url: str, name: str, folder: Path) -> str:
    """The command that continues this search: every option the user gave, with the storage,
    study and output folder spelled out, and ``--resume``."""
    import shlex

    shown = _masked(url)
    fixed = {"--storage": shown, "--study": name, "--out": str(folder)}
    words = ["lamina", "search", data]
    for param in ctx.command.params:
        source = ctx.get_parameter_source(param.name) if param.name else None
        flags = [o for o in param.opts if o.startswith("--")]
        if (param.param_type_name != "option" or not flags or flags[0] in fixed
                or flags[0] == "--resume" or source is None or source.name.startswith("DEFAULT")):
            continue
        value = ctx.params[param.name]
        if getattr(param, "is_flag", False):
            off = [o for o in param.secondary_opts if o.startswith("--")]
            words += [flags[0]] if value else off[:1]
        else:
            words += [flags[0], str(value)]
    for flag, value in fixed.items():
        words += [flag, value]
    command = shlex.join([*words, "--resume"])
    return command + ("  (*** stands for the password in the storage URL)" if shown != url
                      else "")


def _trials_held(storage: Any, name: str) -> int:
    """How many trials the study ``name`` holds in ``storage`` (0 when it does not exist)."""
    try:
        return int(storage.get_n_trials(storage.get_study_id_from_name(name)))
    except KeyError:
        return 0


def _parse_space(text: str) -> Any:
    """``--space``: JSON text or a ``.json`` file; ``{"low": .., "high": .., "log": ..}`` is a
    range, a list is a set of choices, a single value is fixed."""
    from .._errors import ParameterError

    raw = text
    if text.strip().endswith(".json"):
        try:
            raw = Path(text.strip()).read_text()
        except OSError as err:
            raise ParameterError("--space", text, f"cannot read the file ({err.strerror or err})",
                                 "Pass an existing .json file, or the JSON text itself."
                                 ) from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as err:
        raise ParameterError("--space", text, f"not valid JSON ({err.msg} at char {err.pos})",
                             'Write e.g. --space \'{"n_layers": {"low": 1, "high": 3}}\'.'
                             ) from None
    if not isinstance(data, dict):
        raise ParameterError("--space", text, "a JSON object of dimensions",
                             'Write e.g. --space \'{"activation": ["relu"]}\'.')
    space: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            if set(value) - {"low", "high", "log"} or not {"low", "high"} <= set(value):
                raise ParameterError("--space", json.dumps({key: value}), "a range is "
                                     '{"low": L, "high": H} with optional "log": true',
                                     "Fix that entry.")
            space[key] = (value["low"], value["high"], "log" if value.get("log") else "linear")
        else:
            space[key] = value
    return space


def _write_outputs(res: Any, folder: Path, ds: Any, data: str, seed: int, url: str,
                   target: str | None = None, drop: list[str] | None = None) -> None:
    """``best.json`` (with a multi-objective search's Pareto front: the trade-off, not only
    the best score), ``trials.csv`` and the refit model, with its training-data record."""
    best = {"score": res.best_score_, "objective": list(res.objective_),
            "params": {k: (list(v) if isinstance(v, tuple) else v)
                       for k, v in res.best_params_.items()},
            "spec": res.best_spec_, "trial": res.best_trial_.number,
            "trials_this_run": res.n_trials_, "elapsed_s": res.elapsed_,
            "configs_per_minute": res.configs_per_minute_,
            "overhead_ms_per_trial": res.overhead_ms_, "states": res.states_}
    # where the whole study lives (password masked): SearchResult.from_study reads it back
    best["storage"], best["study"] = _masked(url), res.study_.study_name
    if len(res.objective_) > 1:
        best["pareto"] = res.pareto_front()
    if res.best_estimator_ is not None:
        res.best_estimator_.save(folder / "model")
        best["model"] = str(folder / "model")
        has_test = ds.X_test is not None and ds.y_test is not None
        # the refit saw every row searched (a data set's own test split excepted); the
        # target and dropped columns, so predict and evaluate read a file as it did
        _rows.record(folder / "model", data, target, ds, seed,
                     "test_split" if has_test else _rows.ALL_ROWS, drop or [])
        if has_test:
            Xt = ds.X_test.reshape(len(ds.X_test), -1)
            yt = _rows.as_labels(ds, ds.y_test)
            best["test_score"] = float(res.best_estimator_.score(Xt, yt))
            print(f"test {res.objective_[0]} of the refit model: {best['test_score']:.4f}")
    _atomic_write(folder / "best.json", json.dumps(best, indent=2, default=str))
    _atomic_write(folder / "trials.csv", res.trials_.to_csv(index=False))


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _masked(url: str) -> str:
    from ..search._storage import mask_url

    return mask_url(url)


class _Bar:
    """A rich progress bar over the budget, showing the best score so far."""

    def __init__(self, budget: str) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from ..search import parse_budget

        self.total = parse_budget(budget)
        self.progress = Progress(TextColumn("[bold]search"), BarColumn(), TimeElapsedColumn(),
                                 TextColumn("{task.description}"), transient=False)
        self.task = self.progress.add_task("starting", total=self.total)
        self.running = False

    def start(self) -> None:
        self.progress.start()
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.progress.stop()
            self.running = False

    def update(self, info: dict[str, Any]) -> None:
        best = info["best"]
        text = f"{info['trials']} trials | best {best:.4f}" if best is not None else \
            f"{info['trials']} trials"
        self.progress.update(self.task, completed=min(self.total, info["elapsed"]),
                             description=text)


__all__ = ["search_command"]
