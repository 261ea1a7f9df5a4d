"""``lamina recipe NAME [--full] [--out DIR]``: run an application on real data from
``recipes/NAME.py``; ``lamina recipe --list`` shows them.

Recipes live in the ``recipes/`` folder of the source tree (a package of plain scripts, see
``recipes/README.md``). The folder is found from ``--dir``, ``$LAMINA_RECIPES``, ``./recipes``,
or next to the installed lamina sources, in that order.
"""

from __future__ import annotations

import ast
import importlib
import os
import sys
from pathlib import Path

import typer

from ._app import app, friendly


def recipes_dir(explicit: str = "") -> Path:
    """The recipes folder (a package with ``_common.py``), or a ParameterError saying where
    it was looked for."""
    from .._errors import ParameterError

    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    if os.environ.get("LAMINA_RECIPES"):
        candidates.append(Path(os.environ["LAMINA_RECIPES"]))
    candidates.append(Path.cwd() / "recipes")
    candidates.append(Path(__file__).resolve().parents[3] / "recipes")   # src/lamina/cli -> root
    for path in candidates:
        if (path / "_common.py").is_file() and (path / "__init__.py").is_file():
            return path.resolve()
        if explicit and path == Path(explicit):
            break
    looked = ", ".join(str(p) for p in candidates)
    raise ParameterError("--dir", explicit or None, f"no recipes folder found (looked in "
                         f"{looked})", "Run from the lamina source checkout, or pass "
                         "--dir path/to/recipes (or set LAMINA_RECIPES).")


def list_recipes(root: Path) -> dict[str, str]:
    """Recipe name -> first line of its docstring (read with ``ast``; nothing is executed)."""
    out: dict[str, str] = {}
    for path in sorted(root.glob("*.py")):
        if path.name.startswith("_"):
            continue
        try:
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        except SyntaxError:
            doc = "(does not parse)"
        out[path.stem] = doc.strip().split("\n")[0]
    return out


def load_recipe(name: str, root: Path) -> object:
    """Import ``recipes/NAME.py`` as ``<folder>.NAME`` (so it can import ``._common``)."""
    from .._errors import ParameterError, did_you_mean

    names = list_recipes(root)
    if name not in names:
        hint = did_you_mean(name, list(names))
        raise ParameterError("NAME", name, "known recipes: " + ", ".join(names),
                             (hint.strip() + " " if hint else "") + "See `lamina recipe --list`.")
    parent = str(root.parent)
    if parent not in sys.path:
        sys.path.insert(0, parent)
    return importlib.import_module(f"{root.name}.{name}")


@app.command("recipe")
@friendly
def recipe_command(
    name: str = typer.Argument("", help="Recipe to run (see --list)."),
    full: bool = typer.Option(False, "--full", help="Full data (minutes); default: a quick "
                              "seeded subset."),
    out: str = typer.Option("", "--out", "-o", help="Folder to write result.json into."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    threads: int = typer.Option(0, "--threads", help="torch threads (0: torch's default; 1 is "
                                "often fastest on a busy shared machine)."),
    list_: bool = typer.Option(False, "--list", help="List the recipes and exit."),
    directory: str = typer.Option("", "--dir", help="The recipes folder (default: found "
                                  "automatically)."),
) -> None:
    """Run an application of hidden layers on real data and print its metric against a
    baseline measured in the same run."""
    root = recipes_dir(directory)
    if list_ or not name:
        for key, title in list_recipes(root).items():
            typer.echo(f"{key:<22} {title}")
        if not list_:
            typer.echo("\nRun one with: lamina recipe NAME [--full] [--out DIR]")
        return
    _check_options(seed, threads, out)
    module = load_recipe(name, root)
    argv = ["--seed", str(seed)] + (["--full"] if full else []) + (["--out", out] if out else []) \
        + (["--threads", str(threads)] if threads else [])
    module.main(argv)  # type: ignore[attr-defined]


def _check_options(seed: int, threads: int, out: str) -> None:
    """Refuse bad options before a recipe runs (an unwritable --out would fail at its end)."""
    from .._errors import ParameterError
    from .._validation import check_writable_folder

    if not 0 <= seed < 2**32:
        raise ParameterError("--seed", seed, "an integer in [0, 2**32 - 1]", "Pass e.g. --seed 0.")
    if threads < 0:
        raise ParameterError("--threads", threads, "0 (torch's default) or a positive count",
                             "Pass e.g. --threads 1.")
    if out:
        check_writable_folder("--out", out, "Pass a writable folder, e.g. --out "
                              "runs/recipes/NAME.")


__all__ = ["recipe_command", "recipes_dir", "list_recipes", "load_recipe"]
