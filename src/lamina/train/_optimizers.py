"""torch optimizers from an :class:`~lamina.spec.OptimizerSpec`."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from .._validation import check_low_precision_eps
from ..spec import OptimizerSpec


def make_optimizer(params: Iterable[torch.nn.Parameter], spec: OptimizerSpec,
                   max_fun: int = 15000) -> torch.optim.Optimizer:
    """Build the torch optimizer ``spec`` describes.

    ``alpha`` (sklearn's L2) is not weight decay and is added to the loss by the trainer;
    ``weight_decay`` is passed to torch (decoupled for AdamW). RMSprop uses torch's smoothing
    constant 0.99 (as the explicit engine does); L-BFGS runs full-batch with a strong-Wolfe line search, ``max_fun`` evaluations.
    """
    params = list(params)
    name, lr, wd = spec.name, spec.lr, spec.weight_decay
    # torch's fused kernels, as the explicit engine uses: one call per step, and the update is
    # computed in float32 for float16/bfloat16 parameters (where eps=1e-8 would round to 0)
    fused = _fusable(params)
    if name == "sgd":
        nesterov = spec.nesterov and spec.momentum > 0
        return torch.optim.SGD(params, lr=lr, momentum=spec.momentum, nesterov=nesterov,
                               weight_decay=wd, fused=fused)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(spec.beta1, spec.beta2), eps=spec.eps,
                                weight_decay=wd, fused=fused)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=(spec.beta1, spec.beta2), eps=spec.eps,
                                 weight_decay=wd, fused=fused)
    if name == "rmsprop":
        check_low_precision_eps("rmsprop", spec.eps, params)
        return torch.optim.RMSprop(params, lr=lr, alpha=0.99, eps=spec.eps, weight_decay=wd)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, eps=spec.eps, weight_decay=wd, fused=fused)
    # lbfgs: one .step() is one L-BFGS iteration; the trainer counts function evaluations
    return torch.optim.LBFGS(params, lr=lr, max_iter=1, max_eval=max_fun,
                             history_size=10, line_search_fn="strong_wolfe",
                             tolerance_grad=0.0, tolerance_change=0.0)


def _fusable(params: list[torch.nn.Parameter]) -> bool | None:
    """True when torch's fused optimizer kernels take these parameters (floating, one device
    type that has them); None lets torch choose otherwise."""
    kinds = {p.device.type for p in params}
    ok = (len(kinds) == 1 and kinds <= {"cpu", "cuda"}
          and all(p.is_floating_point() for p in params))
    return True if ok else None
