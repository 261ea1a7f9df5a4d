"""The :class:`Dataset` every loader returns and the :class:`DatasetInfo` that lists it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Dataset", "DatasetInfo", "TASKS"]

#: the kinds of data a loader can return; ``Dataset.task`` is one of them
TASKS = ("classification", "regression", "multilabel", "forecasting", "sequence", "text",
         "ratings", "seq2seq", "rl")


# eq=False: the fields hold arrays, whose ``==`` is elementwise, so a generated __eq__/__hash__
# would raise "truth value of an array is ambiguous"; identity comparison is what users expect.
@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded data set: training split, optional official test split, and what it means.

    The fields are frozen; the arrays inside are ordinary (writable) NumPy arrays.

    Parameters
    ----------
    name : str
        Registered name (``"fashion_mnist"``) or the file stem for tables read from disk.
    task : str
        One of ``"classification"``, ``"regression"``, ``"multilabel"``, ``"forecasting"``,
        ``"sequence"``, ``"text"``, ``"ratings"``, ``"seq2seq"``, ``"rl"``.
    X : array or list
        Training inputs. Numeric tables and images: ``float32`` of shape ``(N, D)`` (images
        flattened; ``image_shape`` gives the unflattened ``(C, H, W)``). Other kinds keep their
        natural form: ``forecasting`` a 1-D ``float32`` series in time order; ``sequence`` a list
        of ``(T_i, D)`` ``float32`` arrays; ``text`` a list of ``str``; ``seq2seq`` a list of
        source strings; ``ratings`` an ``int64`` ``(N, 2)`` array of ``(user, item)`` indices.
    y : numpy.ndarray or None
        Targets: ``int64`` class indices for classification-like tasks, ``float32`` for
        regression and ratings, an object array of phoneme tuples for ``seq2seq``; ``None`` for
        a forecasting series (the target is the series itself).
    X_test, y_test : optional
        The set's official test split, same forms as ``X``/``y``; ``None`` when it has none.
    feature_names : list of str or None
        Column names of ``X`` when they exist.
    target_names : list of str or None
        Class names: ``target_names[k]`` is the name of class index ``k``.
    image_shape : tuple of int or None
        Shape of one unflattened sample, e.g. ``(1, 28, 28)``; ``None`` for non-image data.
    description : str
        One paragraph: source, size, licence, how it was read.
    extras : mapping
        Loader-specific side information (e.g. raw user/item ids for MovieLens, the time index
        of a series), documented by each loader.

    Examples
    --------
    >>> from lamina.datasets import load
    >>> ds = load("iris")
    >>> ds.X.shape, ds.n_classes
    ((150, 4), 3)
    """

    name: str
    task: str
    X: np.ndarray | Any
    y: np.ndarray | None
    X_test: Any | None = None
    y_test: np.ndarray | None = None
    feature_names: list[str] | None = None
    target_names: list[str] | None = None
    image_shape: tuple[int, ...] | None = None
    description: str = ""
    extras: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        """Number of training samples (rows, sequences, texts or series points)."""
        return len(self.X)

    @property
    def n_features(self) -> int | None:
        """Width of a numeric table (``X.shape[1]``); ``None`` for other kinds of ``X``."""
        if isinstance(self.X, np.ndarray) and self.X.ndim == 2:
            return int(self.X.shape[1])
        return None

    @property
    def n_classes(self) -> int | None:
        """Number of classes when ``target_names`` is known, else ``None``."""
        return len(self.target_names) if self.target_names is not None else None

    def __repr__(self) -> str:
        # The generated repr would print whole arrays; a one-line summary is what a REPL needs.
        parts = [f"name={self.name!r}", f"task={self.task!r}", f"X={_describe(self.X)}"]
        if self.y is not None:
            parts.append(f"y={_describe(self.y)}")
        if self.X_test is not None:
            parts.append(f"X_test={_describe(self.X_test)}")
        if self.target_names is not None:
            parts.append(f"n_classes={len(self.target_names)}")
        if self.image_shape is not None:
            parts.append(f"image_shape={self.image_shape}")
        return "Dataset(" + ", ".join(parts) + ")"


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"<{value.dtype} array {value.shape}>"
    return f"<{type(value).__name__} of {len(value)}>"


@dataclass(frozen=True)
class DatasetInfo:
    """What ``list_datasets()`` reports about one registered set, without loading it.

    Parameters
    ----------
    name : str
        The name to pass to :func:`lamina.datasets.load`.
    task : str
        The ``Dataset.task`` it loads as.
    shape : str
        Size summary, e.g. ``"60000 + 10000 test x 784 (1x28x28)"``.
    source : str
        Where the data comes from, e.g. ``"scikit-learn"`` or ``"Debian dataset-fashion-mnist"``.
    available : bool
        Whether it loads here and now, offline (checked without importing the package).
    install : str
        The command that makes it available (empty when nothing is needed).
    description : str
        One line about the set.

    Examples
    --------
    >>> from lamina.datasets import list_datasets
    >>> [i.name for i in list_datasets() if i.task == "regression"]
    ['diabetes']
    """

    name: str
    task: str
    shape: str
    source: str
    available: bool
    install: str
    description: str = ""
