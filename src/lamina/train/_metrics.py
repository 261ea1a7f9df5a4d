"""Validation metrics computed after each epoch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from .._errors import ParameterError
from ._data import iterate_batches
from ._losses import LossFn

_EVAL_BATCH = 8192


def _accuracy(out: torch.Tensor, y: torch.Tensor, loss: str) -> float:
    if loss == "cross_entropy":
        return float((out.argmax(1) == y).double().mean())
    # binary / multilabel: a sample counts when every output is right (sklearn's subset accuracy)
    pred = out > 0
    return float((pred == (y.reshape(out.shape) > 0.5)).all(1).double().mean())


def _r2(out: torch.Tensor, y: torch.Tensor, loss: str) -> float:
    from sklearn.metrics import r2_score

    return float(r2_score(y.reshape(out.shape).cpu().numpy(), out.cpu().numpy()))


_METRICS: dict[str, Callable[[torch.Tensor, torch.Tensor, str], float]] = {
    "accuracy": _accuracy, "r2": _r2,
}


def evaluate(model: torch.nn.Module, data: Any, loss_fn: LossFn, loss: str,
             metrics: Sequence[str | Callable[..., float]], device: torch.device,
             dtype: torch.dtype) -> dict[str, float]:
    """``val_loss`` (data loss, no penalty), ``val_<metric>`` for each metric, and
    ``val_score`` = the first metric (sklearn's ``validation_scores_``)."""
    was_training = model.training
    model.eval()
    outs, ys = [], []
    try:
        with torch.no_grad():
            if isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], torch.Tensor):
                X, Y = data
                for s in range(0, X.shape[0], _EVAL_BATCH):
                    outs.append(model(X[s:s + _EVAL_BATCH]))
                    ys.append(Y[s:s + _EVAL_BATCH])
            else:
                for inputs, y in iterate_batches(data, device, dtype):
                    outs.append(model(*inputs))
                    ys.append(y)
    finally:
        model.train(was_training)
    out, y = torch.cat(outs), torch.cat(ys)
    result = {"val_loss": float(loss_fn(out, y))}
    for i, metric in enumerate(metrics):
        if callable(metric):
            name = getattr(metric, "__name__", f"metric{i}")
            value = float(metric(out, y))
        elif metric in _METRICS:
            name, value = metric, _METRICS[metric](out, y, loss)
        else:
            raise ParameterError("metrics", metric, "allowed: 'accuracy', 'r2' or a callable "
                                 "f(outputs, y) -> float", "Pass metrics=['accuracy'].")
        result[f"val_{name}"] = value if np.isfinite(value) else float("nan")
        if i == 0:
            result["val_score"] = value
    return result
