"""Targets for analyses that need a loss (ablation, gradient flow): task, encoding, loss, score.

* A lamina classifier: labels are mapped through ``classes_``; its loss is what it trained on
  (softmax cross-entropy, or sigmoid binary cross-entropy for one output).
* A lamina regressor: mean squared error, score R^2.
* Any other module: integer/bool labels (or integral floats with >= 2 outputs) are class indices
  ``0..C-1`` of the outputs (cross-entropy; sigmoid BCE for a single output); other targets are
  regression targets compared with the outputs by squared error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .._errors import DataError
from ._model import Target


@dataclass(frozen=True)
class Task:
    kind: str                      # "classification" or "regression"
    loss: str                      # "cross_entropy", "binary_cross_entropy" or "mse"
    classes: np.ndarray | None     # label of each class index (classification)
    n_outputs: int

    @property
    def metric(self) -> str:
        return "accuracy" if self.kind == "classification" else "r2"


def infer_task(target: Target, y: np.ndarray, n_outputs: int) -> Task:
    """Decide how ``y`` relates to the model's ``n_outputs`` outputs."""
    if target.estimator is not None and target.loss is not None:
        if target.classes is not None:
            loss = "binary_cross_entropy" if n_outputs == 1 else target.loss
            return Task("classification", loss, np.asarray(target.classes), n_outputs)
        return Task("regression", "mse", None, n_outputs)
    y = np.asarray(y)
    integral = y.dtype.kind in "biu" or (
        y.dtype.kind == "f" and y.ndim == 1 and n_outputs >= 2
        and bool(np.all(np.isfinite(y))) and bool(np.all(y == np.round(y))))
    if y.dtype.kind in "OUS":
        raise DataError(f"y holds labels of type {y.dtype} ({y.ravel()[:3]!r}); for a torch "
                        "module lamina needs class indices 0..C-1 matching the model's outputs. "
                        "Encode them first, e.g. with sklearn.preprocessing.LabelEncoder.")
    if integral and y.ndim == 1 and (n_outputs >= 2 or set(np.unique(y)) <= {0, 1}):
        classes = np.arange(max(n_outputs, 2))
        return Task("classification", "cross_entropy" if n_outputs >= 2
                    else "binary_cross_entropy", classes, n_outputs)
    return Task("regression", "mse", None, n_outputs)


def encode(task: Task, y: np.ndarray, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Targets as the loss expects them: class indices (int64) or float values."""
    y = np.asarray(y)
    if task.kind == "classification":
        assert task.classes is not None
        if task.classes.dtype.kind in "OUS" or not np.array_equal(
                task.classes, np.arange(len(task.classes))):
            order = np.argsort(task.classes)
            sorted_classes = task.classes[order]
            pos = np.searchsorted(sorted_classes, y)
            pos = np.clip(pos, 0, len(sorted_classes) - 1)
            bad = sorted_classes[pos] != y
            if bool(np.any(bad)):
                unseen = np.unique(y[bad])[:5]
                raise DataError(f"y contains labels {unseen.tolist()!r} the model was not "
                                f"trained on (its classes: {task.classes.tolist()!r}); pass "
                                "labels from that set.")
            idx = order[pos]
        else:
            idx = y.astype(np.int64)
            if idx.size and (idx.min() < 0 or idx.max() >= len(task.classes)):
                raise DataError(f"y holds class indices from {idx.min()} to {idx.max()} but the "
                                f"model has {task.n_outputs} output(s) (classes 0.."
                                f"{len(task.classes) - 1}); pass labels in that range.")
        return torch.as_tensor(idx, dtype=torch.int64, device=device)
    values = torch.as_tensor(np.asarray(y, dtype=np.float64), dtype=dtype, device=device)
    if values.dim() == 1:
        values = values[:, None]
    if values.shape[1] != task.n_outputs:
        raise DataError(f"y has {values.shape[1]} target column(s) but the model has "
                        f"{task.n_outputs} output(s); pass one target per output.")
    return values


def batch_targets(task: Task, batch: Any, device: torch.device,
                  dtype: torch.dtype) -> torch.Tensor:
    """The loss targets of a :class:`~lamina.inspection._data.Batch`: as its estimator encoded
    them when it did (class indices, scaled values, an autoencoder's own input), else ``y``
    encoded by :func:`encode`."""
    t = batch.target
    if t is None:
        return encode(task, batch.y, device, dtype)
    if task.kind == "classification":
        return t.to(device=device, dtype=torch.int64).reshape(t.shape[0])
    t = t.to(device=device, dtype=dtype).reshape(t.shape[0], -1)
    if t.shape[1] != task.n_outputs:
        raise DataError(f"the estimator's targets have {t.shape[1]} value(s) per row but its "
                        f"network has {task.n_outputs} output(s).")
    return t


def task_labels(batch: Any) -> np.ndarray:
    """What :func:`infer_task` reads: the user's ``y``, else the estimator's targets."""
    if batch.y is not None:
        return np.asarray(batch.y)
    return batch.target.detach().cpu().numpy()


# with at most this many classes, the cross-entropy and argmax of (N, C) outputs run
# class-major: reductions across the N rows vectorise, where torch's row-wise log_softmax over a
# few classes is ~10x slower on CPU (41 vs 4 ms for 262 144 x 10 logits); the batched ablation
# of a layer before the head passes class-major outputs, which then need no copy
_FEW_CLASSES = 64


def example_loss(task: Task, out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Per-example loss ``(B,)`` (the model output may have extra leading copies folded in)."""
    out = out.reshape(out.shape[0], -1)
    if task.loss == "cross_entropy":
        if out.shape[1] > _FEW_CLASSES:
            return F.cross_entropy(out, t, reduction="none")
        return _ce_class_major(*_class_major(out), t)
    if task.loss == "binary_cross_entropy":
        return F.binary_cross_entropy_with_logits(out[:, 0], t.to(out.dtype), reduction="none")
    return (out - t).square().mean(1)


def correct(task: Task, out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Per-example correctness (classification) as float; squared error sum for regression."""
    out = out.reshape(out.shape[0], -1)
    if task.loss == "cross_entropy":
        if out.shape[1] > _FEW_CLASSES:
            return (out.argmax(1) == t).to(out.dtype)
        return _argmax_hits(*_class_major(out), t).to(out.dtype)
    if task.loss == "binary_cross_entropy":
        return ((out[:, 0] > 0).to(torch.int64) == t).to(out.dtype)
    return (out - t).square().sum(1)


def loss_and_correct(task: Task, out: torch.Tensor,
                     t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(example_loss, correct)`` of one output, the class-major copy and row maxima shared."""
    flat = out.reshape(out.shape[0], -1)
    if task.loss != "cross_entropy" or flat.shape[1] > _FEW_CLASSES:
        return example_loss(task, out, t), correct(task, out, t)
    zt, top = _class_major(flat)
    return _ce_class_major(zt, top, t), _argmax_hits(zt, top, t).to(flat.dtype)


def _class_major(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(C, N)`` contiguous logits (no copy when ``out`` is a class-major view) and each
    row's maximum ``(N,)``."""
    zt = out.t().contiguous()
    return zt, zt.amax(0)


def _ce_class_major(zt: torch.Tensor, top: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    lse = torch.sub(zt, top).exp_().sum(0).log_().add_(top)           # log-sum-exp per row
    return lse - zt.gather(0, t[None]).squeeze(0)


def _argmax_hits(zt: torch.Tensor, top: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Whether ``t`` is the first class holding the row's maximum, as argmax picks it (NaN
    rows: never). Class ids as floats: a float minimum across rows vectorises, an int64 one
    does not."""
    ids = torch.arange(zt.shape[0], device=zt.device, dtype=torch.float32).unsqueeze(1)
    return torch.where(zt == top, ids, float(zt.shape[0])).amin(0) == t


OUTPUT_KEYS = ("logits", "output", "outputs", "out", "pred", "preds", "prediction",
               "predictions", "y_hat", "scores")
"""Keys of a model's dict output that name the predictions, looked up in this order."""


def model_output(out: Any) -> torch.Tensor:
    """The output tensor the loss reads (ablation, gradient flow, figures): the model's output
    itself; of a tuple or list its first item (``(logits, hidden)``); of a dict (or any
    mapping) the value of its first key among :data:`OUTPUT_KEYS` (``{"features": ...,
    "logits": ...}`` gives the logits), else its only value; nested the same way. A mapping of
    several values none of which is named so is refused: lamina will not guess which one the
    loss should read."""
    seen = out
    while not isinstance(seen, torch.Tensor):
        if isinstance(seen, (tuple, list)) and len(seen):
            seen = seen[0]
        elif isinstance(seen, Mapping) and len(seen):
            named = [k for k in OUTPUT_KEYS if k in seen]
            if named:
                seen = seen[named[0]]
            elif len(seen) == 1:
                seen = next(iter(seen.values()))
            else:
                keys = ", ".join(repr(k) for k in list(seen)[:6])
                raise DataError(
                    f"the model returned a {type(seen).__name__} with keys {keys}, and none is "
                    f"named as the predictions ({', '.join(OUTPUT_KEYS[:4])}, ...); ablation and "
                    "gradient flow must know which value the loss reads. Name the logits "
                    "'logits' in forward()'s dict, or wrap the model so that forward() returns "
                    "them.")
        else:
            raise DataError(
                f"the model returned {type(out).__name__}"
                + (f" whose first item is {type(seen).__name__}" if seen is not out else "")
                + ", not a tensor of outputs; ablation and gradient flow read the loss from "
                "the model's output tensor (or the first tensor of a tuple, list or dict). "
                "Wrap the model so that forward() returns the logits/predictions first.")
    return seen


def output_width(out: Any) -> int:
    t = model_output(out)
    return int(t.reshape(t.shape[0], -1).shape[1])
