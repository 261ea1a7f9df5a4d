"""Fused optimizer updates over lists of tensors, equal to ``torch.optim`` step for step.

Mapping from :class:`lamina.spec.OptimizerSpec` (``opt``) to the torch optimizer it reproduces:

==========  =========================================================================
``sgd``     ``SGD(lr, momentum=opt.momentum, dampening=0, weight_decay=opt.weight_decay,
            nesterov=opt.nesterov and opt.momentum > 0)``; momentum 0 is plain SGD
``adam``    ``Adam(lr, betas=(opt.beta1, opt.beta2), eps=opt.eps, weight_decay=...)``
``adamw``   ``AdamW(lr, betas=(opt.beta1, opt.beta2), eps=opt.eps, weight_decay=...)``
``rmsprop`` ``RMSprop(lr, alpha=0.99, eps=opt.eps, weight_decay=..., momentum=0,
            centered=False)``
``adagrad`` ``Adagrad(lr, lr_decay=0, weight_decay=..., initial_accumulator_value=0,
            eps=opt.eps)``
==========  =========================================================================

SGD, Adam, AdamW and Adagrad run torch's fused multi-tensor kernels (``torch._fused_*_``, one
call per step for every parameter); RMSprop, which has none, runs ``torch._foreach_*`` ops.
SGD on float16/bfloat16 tensors runs torch's single-tensor SGD instead: the fused CPU kernel
(torch 2.13) leaves every element of a half tensor's full 16-element vector chunks unchanged,
so a network with more than a few weights would not learn. (The fused Adam, AdamW and Adagrad
kernels compute half updates in float32 and store them correctly: they stay fused.) Every
tensor shares one step counter (a 0-d float32 tensor, as torch's fused path keeps it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from .._errors import ParameterError
from .._validation import check_epsilon_fits_params

ENGINE_OPTIMIZERS: tuple[str, ...] = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
RMSPROP_ALPHA = 0.99


def check_state_keys(d: dict[str, Tensor], optimizer: str, state: dict[str, Any],
                     counts: Sequence[int]) -> None:
    """Refuse a state dict whose keys are not ``step`` plus ``<key>.<i>`` for each state key
    and each of its ``counts`` tensors, naming what is missing and what is extra."""
    expected = {"step"} | {f"{k}.{i}" for k, n in zip(state, counts) for i in range(n)}
    if set(d) != expected:
        missing, extra = sorted(expected - set(d)), sorted(set(d) - expected)
        raise ParameterError("state_dict", f"keys missing {missing}, unexpected {extra}",
                             f"the {optimizer!r} optimizer state has keys "
                             + ", ".join(sorted(expected)),
                             "Load a state saved by an engine with the same optimizer and "
                             "network shape.")


def is_half(t: Tensor) -> bool:
    """float16 or bfloat16 (torch's fused CPU SGD kernel mis-updates these)."""
    return t.dtype in (torch.float16, torch.bfloat16)


_STATE_NAMES: dict[str, tuple[str, ...]] = {
    "sgd": ("momentum_buffer",),
    "adam": ("exp_avg", "exp_avg_sq"),
    "adamw": ("exp_avg", "exp_avg_sq"),
    "rmsprop": ("square_avg",),
    "adagrad": ("sum",),
}


class FusedOptimizer:
    """Optimizer state for a fixed list of tensors, updated by :meth:`step` in one or few calls.

    Parameters
    ----------
    name : str
        One of ``sgd, adam, adamw, rmsprop, adagrad``.
    shapes_like : sequence of Tensor
        The tensors whose state to keep (parameters, or the population's scratch tensors).

    Examples
    --------
    >>> w = torch.zeros(3); g = torch.ones(3)
    >>> opt = FusedOptimizer("sgd", [w], momentum=0.0)
    >>> opt.step([w], [g], lr=0.5); w
    tensor([-0.5000, -0.5000, -0.5000])
    """

    def __init__(self, name: str, shapes_like: Sequence[Tensor], *, momentum: float = 0.9,
                 nesterov: bool = True, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        if name not in ENGINE_OPTIMIZERS:
            raise ParameterError("optimizer", name, "the explicit engine supports "
                                 + ", ".join(repr(n) for n in ENGINE_OPTIMIZERS),
                                 "Use lamina.Trainer's autograd path for 'lbfgs'.")
        self.name = name
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov) and self.momentum > 0.0
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.weight_decay = float(weight_decay)
        like = list(shapes_like)
        if name == "rmsprop":           # the one update here that runs in the tensors' dtype
            check_epsilon_fits_params(name, self.eps, like)
        dev = like[0].device
        self.step_t = torch.zeros((), dtype=torch.float32, device=dev)
        self.steps = [self.step_t] * len(like)           # one shared counter, listed per tensor
        self.state: dict[str, list[Tensor]] = {
            key: [torch.zeros_like(t, memory_format=torch.contiguous_format) for t in like]
            for key in _STATE_NAMES[name]
            if not (name == "sgd" and self.momentum == 0.0)
        }
        self._t = 0          # steps taken; SGD's momentum buffer starts as the first gradient

    @property
    def t(self) -> int:
        return self._t

    def tick(self) -> None:
        """Count a step without an update (plain SGD applied by the caller)."""
        self._t += 1
        self.step_t.fill_(self._t)

    def step(self, params: list[Tensor], grads: list[Tensor], lr: float) -> None:
        """One update of ``params`` in place from ``grads`` (which are not modified)."""
        self.bind(params, grads)(lr)

    def bind(self, params: list[Tensor], grads: list[Tensor]) -> Callable[[float], None]:
        """A ``step(lr)`` closure for fixed parameter/gradient lists: the per-step work is the
        step counter (``fill_``: cheaper than ``add_`` with a Python number) and one fused call."""
        name, wd, state, steps, counter = (self.name, self.weight_decay, self.state,
                                           self.steps, self.step_t)
        kw: dict[str, Any]
        if name in ("adam", "adamw"):
            fused = torch._fused_adam_ if name == "adam" else torch._fused_adamw_
            kw = {"beta1": self.beta1, "beta2": self.beta2, "weight_decay": wd,
                  "eps": self.eps, "amsgrad": False, "maximize": False}
            m, v = state["exp_avg"], state["exp_avg_sq"]

            def run(lr: float) -> None:
                fused(params, grads, m, v, [], steps, lr=lr, **kw)
        elif name == "sgd" and any(is_half(p) for p in params):
            unfused = self._unfused_sgd(params, grads)

            def run(lr: float) -> None:
                unfused(lr)
        elif name == "sgd":
            buf = state.get("momentum_buffer", [])
            kw = {"weight_decay": wd, "momentum": self.momentum, "dampening": 0.0,
                  "nesterov": self.nesterov, "maximize": False}

            def run(lr: float) -> None:
                first = self._t == 1
                torch._fused_sgd_(params, grads, buf, lr=lr, is_first_step=first, **kw)
        elif name == "adagrad":
            sums = state["sum"]
            kw = {"lr_decay": 0.0, "weight_decay": wd, "eps": self.eps, "maximize": False}

            def run(lr: float) -> None:
                torch._fused_adagrad_(params, grads, sums, steps, lr=lr, **kw)
        else:  # rmsprop, as torch.optim.RMSprop's multi-tensor path
            sq, eps = state["square_avg"], self.eps

            def run(lr: float) -> None:
                g = list(torch._foreach_add(grads, params, alpha=wd)) if wd else grads
                torch._foreach_mul_(sq, RMSPROP_ALPHA)
                torch._foreach_addcmul_(sq, g, g, value=1.0 - RMSPROP_ALPHA)
                avg = torch._foreach_sqrt(sq)
                torch._foreach_add_(avg, eps)
                torch._foreach_addcdiv_(params, g, avg, value=-lr)

        def step(lr: float) -> None:
            self._t += 1
            counter.fill_(self._t)
            run(lr)
        return step

    def _unfused_sgd(self, params: list[Tensor], grads: list[Tensor]) -> Callable[[float], None]:
        """SGD as torch.optim.SGD's single-tensor path (``foreach=False, fused=False``), for
        half-precision tensors, which torch's fused CPU SGD kernel does not update correctly
        (see the module docstring). Tensor by tensor, as torch: ``_foreach_mul_`` would round
        the momentum to the tensors' dtype first (0.9 -> 0.8999 in float16)."""
        buf = self.state.get("momentum_buffer", [])
        wd, momentum, nesterov = self.weight_decay, self.momentum, self.nesterov

        def run(lr: float) -> None:
            first = self._t == 1                 # torch: the buffer starts as the gradient
            for i, (p, g) in enumerate(zip(params, grads)):
                d = g.add(p, alpha=wd) if wd else g
                if buf:
                    b = buf[i]
                    if first:
                        b.copy_(d)
                    else:
                        b.mul_(momentum).add_(d)
                    d = d.add(b, alpha=momentum) if nesterov else b
                p.add_(d, alpha=-lr)
        return run

    # ---- checkpoints -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Tensor]:
        out = {"step": torch.tensor(float(self._t))}
        for key, tensors in self.state.items():
            for i, t in enumerate(tensors):
                out[f"{key}.{i}"] = t.clone()
        return out

    def load_state_dict(self, d: dict[str, Tensor]) -> None:
        check_state_keys(d, self.name, self.state, [len(ts) for ts in self.state.values()])
        for key, tensors in self.state.items():
            for i, t in enumerate(tensors):
                src = d[f"{key}.{i}"]
                if tuple(src.shape) != tuple(t.shape):
                    raise ParameterError(f"state_dict[{key}.{i}]", tuple(src.shape),
                                         f"expected shape {tuple(t.shape)}",
                                         "Load a state saved by an engine of the same network.")
                t.copy_(src)
        self._t = int(d["step"])
        self.step_t.fill_(self._t)
