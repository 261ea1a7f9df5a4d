"""Turning what users pass to ``Trainer.fit`` into tensors or batches."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from .._errors import DataError, ParameterError


def model_device_dtype(model: torch.nn.Module) -> tuple[torch.device, torch.dtype]:
    for p in model.parameters():
        return p.device, p.dtype
    return torch.device("cpu"), torch.get_default_dtype()


def as_tensor_pair(data: Any, loss: str, device: torch.device, dtype: torch.dtype,
                   name: str) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(X, y)`` arrays/tensors -> device tensors shaped for ``loss``; None for loaders."""
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        return None
    X, y = data
    if not isinstance(X, (np.ndarray, torch.Tensor)) and not hasattr(X, "__array__"):
        return None
    Xt = torch.as_tensor(np.asarray(X) if not isinstance(X, torch.Tensor) else X)
    yt = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y)
    if Xt.shape[0] != yt.shape[0]:
        raise DataError(f"{name}: X has {Xt.shape[0]} rows but y has {yt.shape[0]}; they must "
                        "have one label per row. Check that X and y come from the same split.")
    if Xt.shape[0] == 0:
        raise DataError(f"{name}: no rows to train on (X is empty). Pass at least one sample.")
    if Xt.is_floating_point() or Xt.dtype == torch.bool:
        Xt = Xt.to(device=device, dtype=dtype)
    else:
        Xt = Xt.to(device=device)  # integer ids (embeddings) keep their dtype
    if loss == "cross_entropy":
        if yt.is_floating_point() and not torch.equal(yt, yt.round()):
            raise DataError(f"{name}: loss='cross_entropy' needs integer class ids in y, got "
                            f"non-integer values such as {yt.flatten()[0].item()!r}. Encode labels "
                            "with sklearn.preprocessing.LabelEncoder, or use a regression loss.")
        yt = yt.to(device=device, dtype=torch.long).reshape(-1)
    else:
        yt = yt.to(device=device, dtype=dtype)
        if yt.dim() == 1:
            yt = yt.reshape(-1, 1)
    return Xt, yt


def iterate_batches(loader: Iterable[Any], device: torch.device,
                    dtype: torch.dtype) -> Iterable[tuple[tuple[torch.Tensor, ...], torch.Tensor]]:
    """Yield ``(inputs, y)`` from a DataLoader / iterable of ``(x, y)`` or ``(x, lengths, y)``."""
    for batch in loader:
        if not isinstance(batch, (tuple, list)) or len(batch) < 2:
            raise ParameterError("train", type(batch).__name__, "each batch must be a tuple "
                                 "(x, y) or (x, lengths, y)", "Yield (inputs, targets) tuples.")
        *inputs, y = batch
        moved = tuple(t.to(device=device, dtype=dtype) if t.is_floating_point()
                      else t.to(device=device) for t in inputs)
        yield moved, y.to(device=device)
