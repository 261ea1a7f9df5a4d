"""Offline data sets known by name, toy 2-D sets, user tables, and data-quality checks.

>>> from lamina.datasets import load, list_datasets
>>> ds = load("digits")
>>> ds.X.shape, ds.task
((1797, 64), 'classification')

Sets that live in optional packages say which package to install when it is missing.
"""

from ._dataset import TASKS, Dataset, DatasetInfo
from ._fashion_mnist import FASHION_MNIST_URL, fashion_mnist
from ._idx import read_idx
from ._quality import DataQualityWarning, check_data
from ._registry import list_datasets, load
from ._series import make_windows
from ._table import read_features, read_table, table_columns
from ._task import guess_task
from ._toy import make_toy

__all__ = [
    "Dataset",
    "DatasetInfo",
    "TASKS",
    "load",
    "list_datasets",
    "fashion_mnist",
    "FASHION_MNIST_URL",
    "make_toy",
    "make_windows",
    "read_features",
    "read_table",
    "table_columns",
    "guess_task",
    "read_idx",
    "check_data",
    "DataQualityWarning",
]
