"""``lamina inspect`` and ``lamina report``: a census of a saved run's hidden units, as Parquet
tables and as one HTML file. torch is imported inside the commands only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ._app import app, friendly


def _split_data(data: str, target: str | None, split: str,
                raw: bool = False, classes: Any = None) -> tuple[Any, Any, Any]:
    """``(X, y, image_shape)`` of a data set's test split (default) or training split.

    ``raw``: the run is a deep estimator that reads its own kind of data (texts, sequences,
    rating pairs, a series) as its ``predict`` does, so any data set's X is handed to it.
    ``classes``: the run's ``classes_``; labels are given as its classes are (names or
    indices)."""
    from .._errors import DataError, ParameterError
    from ..datasets import load
    from ._rows import as_labels

    if split not in ("test", "train"):
        raise ParameterError("split", split, "allowed values are 'test', 'train'",
                             "Pass --split test or --split train.")
    ds = load(data, target=target)
    if not raw and ds.task not in ("classification", "regression", "multilabel"):
        raise DataError(f"data {data!r} is a {ds.task!r} set; an MLP run reads tabular or "
                        "image data with one row per example (a run of a deep estimator, "
                        "e.g. TextClassifier, reads its own kind of data).")
    if split == "test" and ds.X_test is not None:
        return ds.X_test, as_labels(ds, ds.y_test, classes), ds.image_shape
    return ds.X, as_labels(ds, ds.y, classes), ds.image_shape


def inspect_run(run: str, data: str, *, out: str | None = None, target: str | None = None,
                split: str = "test", batch_size: int = 1024) -> tuple[Any, Any, Path]:
    """Inspect the run's network on DATA; save the inspection; return (estimator, ins, dir)."""
    from ..estimators import load
    from ..inspection import inspect

    est = load(run)
    X, y, image_shape = _split_data(data, target, split,
                                    raw=callable(getattr(est, "network_batches", None)),
                                    classes=getattr(est, "classes_", None))
    ins = inspect(est, X, y, batch_size=batch_size)
    if image_shape is not None:
        ins.input_info["image_shape"] = list(image_shape)
    folder = Path(out) if out else Path(run) / "inspection"
    ins.save(folder)
    return est, ins, folder


def _print_summary(ins: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    n = len(ins.records)
    table = Table(title=f"{ins.n_rows} examples, {n} hidden layer{'s' if n != 1 else ''}")
    for col in ("layer", "units", "dead %", "saturated %", "effective rank"):
        table.add_column(col, justify="left" if col == "layer" else "right")
    for r in ins.layers.itertuples():
        sat = "-" if r.saturated_pct != r.saturated_pct else f"{r.saturated_pct:.1f}"
        table.add_row(r.layer, str(r.width), f"{r.dead_pct:.1f}", sat,
                      f"{r.effective_rank:.1f}")
    console.print(table)
    problems = ins.problems()
    if len(problems):
        for p in problems.itertuples():
            console.print(f"[bold]{p.severity}[/bold] {p.layer}: {p.problem} - {p.detail}")
    else:
        console.print("no problem flagged")


@app.command("inspect")
@friendly
def inspect_command(
    run: str = typer.Argument(..., help="A run directory written by `lamina train`."),
    data: str = typer.Argument(..., help="Data set name or file (its test split if it has one)."),
    out: str = typer.Option(None, help="Folder for the inspection (default RUN/inspection)."),
    target: str = typer.Option(None, help="Target column, for files."),
    split: str = typer.Option("test", help="'test' (default, when the set has one) or 'train'."),
    batch_size: int = typer.Option(1024, help="Rows per forward pass."),
) -> None:
    """Census of every hidden unit of RUN on DATA (one streamed pass); saves Parquet + JSON."""
    _, ins, folder = inspect_run(run, data, out=out, target=target, split=split,
                                 batch_size=batch_size)
    _print_summary(ins)
    print(f"inspection saved to {folder}")


def report_run(run: str, data: str | None = None, *, out: str | None = None,
               target: str | None = None, split: str = "test") -> Path:
    """Write RUN's HTML report: inspect DATA if given, else read RUN/inspection."""
    from .._errors import RunDirError
    from ..estimators import load
    from ..inspection import Inspection
    from ..report import report

    X = y = None
    if data is not None:
        est, ins, _ = inspect_run(run, data, target=target, split=split)
        X, y = ins._X, ins._y
    else:
        est = load(run)
        folder = Path(run) / "inspection"
        if not (folder / "inspection.json").is_file():
            raise RunDirError(f"{run} has no saved inspection ({folder} is missing); pass "
                              "--data NAME to inspect a data set now, or run `lamina inspect "
                              f"{run} DATA` first.")
        ins = Inspection.load(folder)
    return report(est, ins, Path(out) if out else Path(run) / "report.html", X=X, y=y)


@app.command("report")
@friendly
def report_command(
    run: str = typer.Argument(..., help="A run directory written by `lamina train`."),
    data: str = typer.Option(None, help="Data set name or file to inspect now (default: the "
                             "saved RUN/inspection)."),
    out: str = typer.Option(None, help="HTML file to write (default RUN/report.html)."),
    target: str = typer.Option(None, help="Target column, for files."),
    split: str = typer.Option("test", help="'test' (default, when the set has one) or 'train'."),
) -> None:
    """Write one self-contained HTML report of RUN's hidden units (no network needed to view)."""
    path = report_run(run, data, out=out, target=target, split=split)
    print(f"report written to {path}")
