"""Benchmark lamina.datasets against the obvious alternatives, in the same process.

1. Fashion-MNIST parse: ``lamina.datasets.fashion_mnist()`` (IDX header checks, float32
   scaling) vs the bare one-liner of DATA.md (``np.frombuffer(gzip.open(f).read(), ...)``)
   doing the same scaling.
2. Duplicate-row detection inside ``check_data`` vs ``pandas.DataFrame.duplicated`` and
   ``np.unique(X, axis=0)`` on Fashion-MNIST's 60000 x 784 training images and a random
   200000 x 20 table.
3. ``check_data`` as a whole vs ``sklearn.utils.check_array`` (which only checks finiteness).

Run: ``.venv/bin/python bench/datasets_load.py`` (repeats each 3 times, prints medians and
ratios).
"""

from __future__ import annotations

import gzip
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import check_array

from lamina.datasets import check_data, fashion_mnist
from lamina.datasets._quality import _duplicates

DEBIAN = Path("/usr/share/datasets/fashion-mnist")
REPEATS = 3


def median_time(fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def one_liner() -> tuple[np.ndarray, ...]:
    def images(name: str) -> np.ndarray:
        with gzip.open(DEBIAN / name) as f:
            raw = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
        return raw.astype(np.float32) / 255

    def labels(name: str) -> np.ndarray:
        with gzip.open(DEBIAN / name) as f:
            return np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)

    return (images("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz"),
            images("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz"))


def row(label: str, ours: float, other: float, other_name: str) -> None:
    print(f"{label:<44} lamina {ours * 1000:8.1f} ms   {other_name:<22} {other * 1000:8.1f} ms"
          f"   ratio lamina/other {ours / other:5.2f}")


def main() -> None:
    print(f"repeats={REPEATS}, median wall time")
    ours = median_time(fashion_mnist)
    other = median_time(one_liner)
    row("Fashion-MNIST parse (70000 images)", ours, other, "DATA.md one-liner")

    fm = fashion_mnist()
    X, y = fm.X, fm.y
    rng = np.random.default_rng(0)
    table = rng.normal(size=(200_000, 20)).astype(np.float32)
    table[rng.choice(200_000, 1000, replace=False)] = table[:1000]
    for name, data in (("Fashion-MNIST train 60000x784", X), ("random table 200000x20", table)):
        ours = median_time(lambda d=data: _duplicates(d))
        frame = pd.DataFrame(data)
        pandas_t = median_time(lambda f=frame: f.duplicated())
        unique_t = median_time(lambda d=data: np.unique(d, axis=0, return_index=True))
        row(f"duplicate rows, {name}", ours, pandas_t, "DataFrame.duplicated")
        row(f"duplicate rows, {name}", ours, unique_t, "np.unique(axis=0)")
        n_ours = len(_duplicates(data))
        n_ref = len(data) - len(np.unique(data, axis=0))
        print(f"    duplicates found: lamina {n_ours}, np.unique {n_ref}")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = median_time(lambda: check_data(X, y))
    other = median_time(lambda: check_array(X, ensure_all_finite=True))
    row("check_data (all checks) vs check_array", ours, other, "sklearn check_array")


if __name__ == "__main__":
    main()
