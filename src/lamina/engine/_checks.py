"""Validation of what the engines are given: the network's steps, X, Y and the batch size.

Checks that read every element (finiteness, label range) run once per data tensor: the result
is cached against the tensor object and its version counter, so calling ``train_epoch`` every
epoch on the same resident tensors costs nothing after the first call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from .._errors import DataError, ParameterError
from .._validation import check_choice, check_int
from ..spec import ACTIVATIONS, LOSSES
from ._losses import prepare_targets


def check_loss(loss: Any) -> str:
    return check_choice("loss", loss, LOSSES)


def check_steps(steps: Any) -> list[Any]:
    """The ``DenseStep`` list of a network: shapes chain, one dtype and device, known names."""
    if not isinstance(steps, (list, tuple)) or not steps:
        raise ParameterError("steps", steps, "a non-empty list of DenseStep (from "
                             "HiddenNet.dense_stack())",
                             "Pass net.dense_stack(); it is None for networks the engine cannot "
                             "train (use lamina.engine.supports to check).")
    w0 = steps[0][0]
    for i, step in enumerate(steps):
        w, b, act, p = step
        if not isinstance(w, Tensor) or w.dim() != 2 or not w.is_floating_point():
            raise ParameterError(f"steps[{i}].weight", type(w).__name__,
                                 "a 2-D floating-point tensor (out, in)", "Pass dense_stack().")
        if w.dtype != w0.dtype or w.device != w0.device:
            raise ParameterError(f"steps[{i}].weight", f"{w.dtype} on {w.device}",
                                 f"every parameter must share steps[0]'s {w0.dtype} on "
                                 f"{w0.device}", "Move the network with net.to(dtype, device).")
        if i and w.shape[1] != steps[i - 1][0].shape[0]:
            raise ParameterError(f"steps[{i}].weight", tuple(w.shape),
                                 f"its input width must equal the previous step's output width "
                                 f"{steps[i - 1][0].shape[0]}", "Pass net.dense_stack().")
        if not w.is_contiguous() or (b is not None and not b.is_contiguous()):
            raise ParameterError(f"steps[{i}]", "a non-contiguous parameter",
                                 "the engine's fused updates need contiguous weights and biases",
                                 "Make them contiguous first: p.data = p.data.contiguous().")
        if b is not None and (tuple(b.shape) != (w.shape[0],) or b.dtype != w.dtype
                              or b.device != w.device):
            raise ParameterError(f"steps[{i}].bias", tuple(b.shape),
                                 f"a bias of shape ({w.shape[0]},) like its weight",
                                 "Pass net.dense_stack().")
        check_choice(f"steps[{i}].activation", act, ACTIVATIONS)
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
            raise ParameterError(f"steps[{i}].dropout", p, "a probability in [0, 1)",
                                 "Use dropout=0.0 to disable it.")
        if i == len(steps) - 1 and p:
            raise ParameterError(f"steps[{i}].dropout", p, "the last step is the output head, "
                                 "which has no dropout", "Pass net.dense_stack().")
    return list(steps)


def check_batch_size(batch_size: Any, n: int) -> int:
    """A positive int; larger than N means one full batch (sklearn clips it the same way)."""
    return min(check_int("batch_size", batch_size, 1), n)


def check_x(x: Any, n_in: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    if not isinstance(x, Tensor):
        raise DataError(f"Invalid X of type {type(x).__name__}: the engine trains on a "
                        f"torch.Tensor of shape (N, {n_in}). Pass torch.as_tensor(X, "
                        f"dtype={dtype}).")
    if x.dim() != 2 or x.shape[1] != n_in or x.shape[0] < 1:
        raise DataError(f"Invalid X of shape {tuple(x.shape)}: the network takes (N, {n_in}) "
                        f"with N >= 1. Reshape X to (N, {n_in}).")
    if x.dtype != dtype or x.device != device:
        raise DataError(f"Invalid X of dtype {x.dtype} on {x.device}: the network's parameters "
                        f"are {dtype} on {device}, and X must match them. Pass "
                        f"X.to(dtype={dtype}, device='{device}').")
    return x


def check_y(y: Any, loss: str, n: int, n_out: int, dtype: torch.dtype,
            device: torch.device) -> Tensor:
    if not isinstance(y, Tensor):
        raise DataError(f"Invalid Y of type {type(y).__name__}: the engine needs a torch.Tensor. "
                        "Pass torch.as_tensor(Y).")
    if y.device != device:
        raise DataError(f"Invalid Y on {y.device}: the network is on {device}. Pass "
                        f"Y.to('{device}').")
    if loss == "cross_entropy":
        if y.dtype != torch.int64 or y.dim() != 1 or y.shape[0] != n:
            raise DataError(f"Invalid Y of dtype {y.dtype} and shape {tuple(y.shape)}: "
                            f"loss='cross_entropy' needs int64 class ids of shape ({n},) in "
                            f"[0, {n_out}). Pass Y.long() (class ids, not one-hot rows).")
        return y
    if y.dtype != dtype or tuple(y.shape) != (n, n_out):
        fix = (f"Pass Y.reshape(-1, 1).to({dtype})." if y.dim() == 1 and n_out == 1
               else f"Pass Y.to({dtype}) with shape ({n}, {n_out}).")
        raise DataError(f"Invalid Y of dtype {y.dtype} and shape {tuple(y.shape)}: "
                        f"loss={loss!r} needs float targets of dtype {dtype} and shape "
                        f"({n}, {n_out}). {fix}")
    return y


def all_finite(t: Tensor) -> bool:
    """No NaN or inf in ``t``: one min/max reduction (NaN and inf reach the minimum or the
    maximum), on CPU an order of magnitude faster than ``isfinite(t).all()``."""
    if t.numel() == 0:
        return True
    if not t.is_floating_point():           # integers are finite; complex has no aminmax
        return bool(torch.isfinite(t).all())
    return bool(torch.isfinite(torch.stack(torch.aminmax(t))).all())


def check_values(x: Tensor, y: Tensor, loss: str, n_out: int) -> None:
    """Element-wise checks: finite X and Y, labels in range, BCE targets in [0, 1]."""
    if not all_finite(x):
        raise DataError("Invalid X: it contains NaN or infinite values. Impute or drop them "
                        "before training (e.g. sklearn.impute.SimpleImputer).")
    if loss == "cross_entropy":
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= n_out:
            raise DataError(f"Invalid Y: class ids range over [{lo}, {hi}] but the network has "
                            f"{n_out} outputs, so they must lie in [0, {n_out - 1}]. Encode "
                            "labels as 0..C-1 (sklearn.preprocessing.LabelEncoder).")
        return
    if not all_finite(y):
        raise DataError("Invalid Y: it contains NaN or infinite values. Drop those rows.")
    if loss == "binary_cross_entropy" and (bool((y < 0).any()) or bool((y > 1).any())):
        raise DataError("Invalid Y: loss='binary_cross_entropy' needs targets in [0, 1]. "
                        "Pass 0/1 indicator columns (or probabilities).")


class DataCache:
    """Remembers the last (X, Y) pair checked, and its prepared target matrix."""

    def __init__(self) -> None:
        self._key: tuple[Any, ...] | None = None
        self._targets: Tensor | None = None

    def targets(self, x: Tensor, y: Tensor, loss: str, n_out: int,
                dtype: torch.dtype, device: torch.device) -> Tensor:
        """Validate (once per tensor version) and return the ``(N, C)`` targets; ``x`` has
        already passed :func:`check_x`."""
        key = (x, x._version, y, y._version)
        if (self._key is not None and self._targets is not None
                and all(a is b for a, b in zip(key[::2], self._key[::2]))
                and key[1::2] == self._key[1::2]):
            return self._targets
        check_y(y, loss, x.shape[0], n_out, dtype, device)
        check_values(x, y, loss, n_out)
        self._targets = prepare_targets(loss, y, n_out, dtype)
        self._key = key
        return self._targets


def as_member_values(name: str, value: Any, n: int, low: float, high: float | None,
                     *, high_open: bool = False, low_open: bool = False) -> list[float]:
    """One float per population member from a scalar, a sequence or a 1-D tensor."""
    if isinstance(value, Tensor):
        value = value.detach().cpu().reshape(-1).tolist()
    vals: Sequence[Any] = value if isinstance(value, (list, tuple)) else [value] * n
    if len(vals) != n:
        raise ParameterError(name, value, f"one value per member ({n}), or a single number",
                             f"Pass {name}= a list of {n} numbers.")
    out = []
    for v in vals:
        ok = (not isinstance(v, bool) and isinstance(v, (int, float)) and v == v
              and (v > low if low_open else v >= low)
              and (high is None or (v < high if high_open else v <= high)))
        if not ok:
            span = f"{'(' if low_open else '['}{low}, {high if high is not None else 'inf'}" \
                   f"{')' if high_open or high is None else ']'}"
            raise ParameterError(name, value, f"every value must be a number in {span}",
                                 f"Pass {name}= numbers in {span}.")
        out.append(float(v))
    return out
