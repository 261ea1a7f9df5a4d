"""Loss functions by name, for the autograd path. Same semantics as the explicit engine."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from .._validation import check_choice

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _as_out(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # targets in the outputs' shape and dtype
    return y.reshape(out.shape).to(out.dtype)


def _bce_elems(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # (B, K) per-output log-loss of logits
    return F.binary_cross_entropy_with_logits(out, _as_out(out, y), reduction="none")


def _poisson_elems(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # sklearn's half Poisson deviance per output, log link: prediction = exp(out)
    y = _as_out(out, y)
    return torch.xlogy(y, y) - y * out - y + torch.exp(out)


def _cross_entropy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # (B, C) logits, (B,) class ids -> mean negative log-likelihood
    return F.cross_entropy(out, y)


def _binary_cross_entropy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # sklearn's log-loss for binary/multilabel outputs: sum over outputs, mean over samples
    return _bce_elems(out, y).sum() / out.shape[0]


def _mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(out, _as_out(out, y))


def _half_mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # sklearn's squared_loss
    return 0.5 * F.mse_loss(out, _as_out(out, y))


def _mae(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(out, _as_out(out, y))


def _huber(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.huber_loss(out, _as_out(out, y), delta=1.0)


def _poisson(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # mean over samples, sum over outputs
    return _poisson_elems(out, y).sum() / out.shape[0]


_LOSSES: dict[str, LossFn] = {
    "cross_entropy": _cross_entropy,
    "binary_cross_entropy": _binary_cross_entropy,
    "mse": _mse,
    "half_mse": _half_mse,
    "mae": _mae,
    "huber": _huber,
    "poisson": _poisson,   # autograd path only (not in spec.LOSSES, which the engine handles)
}


def get_loss(name: str) -> LossFn:
    """The loss function called ``name`` (see ``lamina.spec.LOSSES``).

    Examples
    --------
    >>> import torch
    >>> float(get_loss("mse")(torch.tensor([[1.0]]), torch.tensor([[3.0]])))
    4.0
    """
    return _LOSSES[check_choice("loss", name, tuple(_LOSSES))]


def _rows(per_elem: torch.Tensor, reduce: str) -> torch.Tensor:
    # (B, ...) per-element losses -> (B,) per-sample losses (mean or sum over the rest)
    flat = per_elem.reshape(per_elem.shape[0], -1)
    return flat.mean(1) if reduce == "mean" else flat.sum(1)


_SAMPLE_LOSSES: dict[str, LossFn] = {
    "cross_entropy": lambda o, y: _rows(F.cross_entropy(o, y, reduction="none"), "mean"),
    "binary_cross_entropy": lambda o, y: _rows(_bce_elems(o, y), "sum"),
    "mse": lambda o, y: _rows(F.mse_loss(o, _as_out(o, y), reduction="none"), "mean"),
    "half_mse": lambda o, y: 0.5 * _rows(F.mse_loss(o, _as_out(o, y), reduction="none"), "mean"),
    "mae": lambda o, y: _rows(F.l1_loss(o, _as_out(o, y), reduction="none"), "mean"),
    "huber": lambda o, y: _rows(F.huber_loss(o, _as_out(o, y), reduction="none", delta=1.0),
                                "mean"),
    "poisson": lambda o, y: _rows(_poisson_elems(o, y), "sum"),
}


def get_sample_loss(name: str) -> LossFn:
    """Per-sample version of loss ``name``: ``(out, y) -> (B,)`` whose mean is ``get_loss(name)``.

    Weighted training reduces it as sklearn does: ``sum(w * l) / sum(w)`` (``np.average``).

    Examples
    --------
    >>> import torch
    >>> get_sample_loss("half_mse")(torch.tensor([[1.0], [2.0]]), torch.tensor([[3.0], [2.0]]))
    tensor([2., 0.])
    """
    return _SAMPLE_LOSSES[check_choice("loss", name, tuple(_SAMPLE_LOSSES))]


def weighted_loss(per_sample: torch.Tensor, weight: torch.Tensor,
                  weight_sum: torch.Tensor) -> torch.Tensor:
    """``np.average(per_sample, weights=weight)`` given ``weight_sum = weight.sum()``."""
    return torch.dot(per_sample, weight.to(per_sample.dtype)) / weight_sum


def l2_penalty(weights: Sequence[torch.Tensor], alpha: float,
               batch_n: int | float | torch.Tensor) -> torch.Tensor | float:
    """sklearn's L2 term ``alpha/2 * sum ||W||^2 / batch_n`` over weight matrices
    (``batch_n`` is the batch's sum of sample weights when training is weighted)."""
    if alpha == 0.0 or not weights:
        return 0.0
    return 0.5 * alpha * sum((w * w).sum() for w in weights) / batch_n
