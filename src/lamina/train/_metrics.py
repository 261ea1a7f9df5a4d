"""Validation metrics computed after each epoch."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from .._errors import ParameterError
from ._data import in_memory, iterate_batches
from ._losses import LossFn, weighted_loss

_EVAL_BATCH = 8192


def _accuracy(out: torch.Tensor, y: torch.Tensor, loss: str,
              w: torch.Tensor | None = None) -> float:
    if loss == "cross_entropy":
        hit = out.argmax(1) == y
    else:
        # binary / multilabel: a sample counts when every output is right (subset accuracy)
        hit = ((out > 0) == (y.reshape(out.shape) > 0.5)).all(1)
    if w is None:
        return float(hit.double().mean())
    w = w.double()
    return float((hit.double() * w).sum() / w.sum())   # sklearn's accuracy_score(sample_weight)


def _r2(out: torch.Tensor, y: torch.Tensor, loss: str, w: torch.Tensor | None = None) -> float:
    from sklearn.metrics import r2_score

    # the score is of predictions: a log-link (poisson) output predicts exp(out), as sklearn
    pred = out.exp() if loss == "poisson" else out
    if not bool(torch.isfinite(pred).all()):
        return float("nan")        # as sklearn's MLP scores non-finite predictions
    return float(r2_score(y.reshape(out.shape).cpu().numpy(), pred.cpu().numpy(),
                          sample_weight=None if w is None else w.double().cpu().numpy()))


_METRICS: dict[str, Callable[..., float]] = {
    "accuracy": _accuracy, "r2": _r2,
}
METRIC_NAMES: tuple[str, ...] = tuple(_METRICS)


def metric_name(metric: str | Callable[..., float], i: int) -> str:
    """The name a metric is recorded under (``val_<name>``): a built-in's name, a callable's
    ``__name__``, else ``metric<i>``."""
    if isinstance(metric, str):
        return metric
    return str(getattr(metric, "__name__", f"metric{i}"))


def evaluate(model: torch.nn.Module, data: Any, loss_fn: LossFn, loss: str,
             metrics: Sequence[str | Callable[..., float]], device: torch.device,
             dtype: torch.dtype, *, sample_weight: torch.Tensor | None = None,
             sample_loss_fn: LossFn | None = None) -> dict[str, float]:
    """``val_loss`` (data loss, no penalty), ``val_<metric>`` for each metric, and
    ``val_score`` = the first metric (sklearn's ``validation_scores_``). ``data`` is in-memory
    ``(X, y)`` / ``(X, lengths, y)`` tensors or an iterable of batches.

    With ``sample_weight`` (one per row of an in-memory ``(X, y)``; needs ``sample_loss_fn``)
    the loss is the weighted average of per-sample losses and the built-in metrics are
    weighted as sklearn's ``accuracy_score`` / ``r2_score`` weigh them; a callable metric is
    then called as ``f(out, y, sample_weight=w)``."""
    was_training = model.training
    model.eval()
    outs, ys = [], []
    try:
        with torch.no_grad():
            if in_memory(data):                  # (X, y) or (X, lengths, y)
                X, *lengths, Y = data
                for s in range(0, X.shape[0], _EVAL_BATCH):
                    rows = slice(s, s + _EVAL_BATCH)
                    outs.append(model(X[rows], *(t[rows] for t in lengths)))
                    ys.append(Y[rows])
            else:
                for inputs, y in iterate_batches(data, device, dtype, loss, "val"):
                    outs.append(model(*inputs))
                    ys.append(y)
    finally:
        model.train(was_training)
    out, y = torch.cat(outs), torch.cat(ys)
    w = sample_weight
    if w is None:
        result = {"val_loss": float(loss_fn(out, y))}
    else:
        assert sample_loss_fn is not None
        result = {"val_loss": float(weighted_loss(sample_loss_fn(out, y), w, w.sum()))}
    for i, metric in enumerate(metrics):
        if callable(metric):
            name = metric_name(metric, i)
            if w is None:
                value = float(metric(out, y))
            else:
                _check_takes_weights(metric, name)
                value = float(metric(out, y, sample_weight=w))
        elif metric in _METRICS:
            name = metric
            value = (_METRICS[metric](out, y, loss) if w is None
                     else _METRICS[metric](out, y, loss, w))
        else:
            raise ParameterError("metrics", metric, "allowed: 'accuracy', 'r2' or a callable "
                                 "f(outputs, y) -> float", "Pass metrics=['accuracy'].")
        result[f"val_{name}"] = value if np.isfinite(value) else float("nan")
        if i == 0:
            result["val_score"] = value
    return result


def _check_takes_weights(metric: Callable[..., float], name: str) -> None:
    try:
        params = inspect.signature(metric).parameters
    except (TypeError, ValueError):   # builtins without a signature: let the call decide
        return
    if "sample_weight" in params or any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return
    raise ParameterError("metrics", name, "with validation sample weights every callable "
                         "metric is called as f(outputs, y, sample_weight=w)",
                         f"Add a sample_weight=None parameter to {name}, or drop the "
                         "validation weights.")
