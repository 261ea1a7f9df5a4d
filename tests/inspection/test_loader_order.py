"""A DataLoader that does not read its dataset in order (shuffle=True, a random or custom batch
sampler) is warned about once: top_examples and the sample index rows in the loader's order."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    TensorDataset,
)

import lamina
from lamina.inspection import inspect
from lamina.inspection._data import warn_if_reordered

X = np.linspace(-3, 3, 40).reshape(20, 2)
Y = np.arange(20) % 2


def _net() -> lamina.HiddenNet:
    return lamina.build((3,), in_features=2, out=2, seed=0, dtype="float64")


def _dataset() -> TensorDataset:
    return TensorDataset(torch.as_tensor(X), torch.as_tensor(Y))


def _order_warnings(loader) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inspect(_net(), loader)
    return [w for w in caught if issubclass(w.category, lamina.DataQualityWarning)]


def test_a_shuffled_loader_is_warned_about_once_with_the_fix():
    loader = DataLoader(_dataset(), batch_size=4, shuffle=True)
    with pytest.warns(lamina.DataQualityWarning) as record:
        inspect(_net(), loader)
    assert len(record) == 1                       # once per call, not once per batch
    msg = str(record[0].message)
    assert issubclass(record[0].category, UserWarning)
    assert msg.startswith("X is a DataLoader that draws its rows with a RandomSampler "
                          "(what shuffle=True gives), not in dataset order. lamina numbers rows "
                          "in the order the loader yields them")
    assert "top_examples(...).indices" in msg and "sample_index" in msg
    assert msg.endswith("DataLoader(dataset, batch_size=..., shuffle=False).")
    assert record[0].filename == __file__         # points at the user's call


def test_loaders_in_dataset_order_are_not_warned_about():
    ds = _dataset()
    in_order = [DataLoader(ds, batch_size=4),
                DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(ds), 4, False)),
                DataLoader(_Stream(), batch_size=4)]
    for loader in in_order:
        assert _order_warnings(loader) == []
    assert _order_warnings([(X, Y)]) == [] and _order_warnings(X) == []


class _Stream(IterableDataset):
    """Iterable-style: its own order is the order (the loader has no sampler to shuffle)."""

    def __iter__(self):
        return iter(zip(torch.as_tensor(X), torch.as_tensor(Y)))


class _Buckets:
    """A custom batch sampler: lamina cannot know its order."""

    def __iter__(self):
        return iter([[3, 1, 2], [0, 4]])

    def __len__(self) -> int:
        return 2


def test_random_and_custom_batch_samplers_are_warned_about():
    ds = _dataset()
    cases = {
        "draws its rows with a RandomSampler (what shuffle=True gives), not in dataset "
        "order.": DataLoader(
            ds, batch_sampler=BatchSampler(RandomSampler(ds), 4, False)),
        "batches its rows with a custom batch_sampler (_Buckets), which may not follow "
        "dataset order.": DataLoader(ds, batch_sampler=_Buckets()),
    }
    for start, loader in cases.items():
        caught = _order_warnings(loader)
        assert len(caught) == 1 and str(caught[0].message).startswith(
            f"X is a DataLoader that {start}")
    # batch_size=None: the loader's own sampler draws single rows (checked without inspecting:
    # unbatched rows are not a batch)
    for loader, warned in ((DataLoader(ds, batch_size=None, shuffle=True), True),
                           (DataLoader(ds, batch_size=None), False)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warn_if_reordered(loader)
        assert len(caught) == warned


def test_the_warned_indices_are_positions_in_the_loader_order():
    # what the warning says: row i is the i-th row the loader yielded, not dataset[i]
    g = torch.Generator().manual_seed(0)
    order = list(RandomSampler(_dataset(), generator=g))
    loader = DataLoader(_dataset(), batch_size=5,
                        sampler=RandomSampler(_dataset(), generator=torch.Generator()
                                              .manual_seed(0)))
    with pytest.warns(lamina.DataQualityWarning):
        ins = inspect(_net(), loader, top_k=3)
    ref = inspect(_net(), X, top_k=3)
    for unit in range(3):
        top = ins.top_examples("hidden.0", unit)
        np.testing.assert_array_equal(np.asarray(order)[top.indices],
                                      ref.top_examples("hidden.0", unit).indices)
