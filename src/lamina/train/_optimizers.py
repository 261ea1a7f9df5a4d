"""torch optimizers from an :class:`~lamina.spec.OptimizerSpec`."""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

import torch

from .._validation import check_epsilon_fits_params
from ..engine._optim import is_half
from ..spec import OptimizerSpec


def make_optimizer(params: Iterable[torch.nn.Parameter], spec: OptimizerSpec,
                   max_fun: int = 15000) -> torch.optim.Optimizer:
    """Build the torch optimizer ``spec`` describes.

    ``alpha`` (sklearn's L2) is not weight decay and is added to the loss by the trainer;
    ``weight_decay`` is passed to torch (decoupled for AdamW). RMSprop uses torch's smoothing
    constant 0.99 (as the explicit engine does).

    L-BFGS runs full-batch, one iteration per ``step``, with a strong-Wolfe line search and a
    history of 10 (scipy's and so sklearn's ``maxcor``); see :class:`LBFGS` for how function
    evaluations are counted against ``max_fun``. Its ``lr`` is the line search's first trial
    step of every iteration (torch scales the very first one by ``min(1, 1/|g|_1)``): ``1.0``
    is the natural value, the unit step of the quasi-Newton direction that scipy's L-BFGS-B
    (behind sklearn) tries first, and what lamina's MLP estimators use whatever their
    ``learning_rate_init``. A smaller ``lr`` still converges but the line search then spends
    extra evaluations extrapolating towards the unit step (``lr=1e-3`` costs about three more
    per iteration), so a ``max_fun`` budget buys fewer iterations.
    """
    params = list(params)
    name, lr, wd = spec.name, spec.lr, spec.weight_decay
    # torch's fused kernels, as the explicit engine uses: one call per step, and the update is
    # computed in float32 for float16/bfloat16 parameters (where eps=1e-8 would round to 0)
    fused = _fusable(params)
    if name == "sgd":
        nesterov = spec.nesterov and spec.momentum > 0
        if any(is_half(p) for p in params):
            # torch's fused CPU SGD kernel leaves half tensors' 16-element vector chunks
            # unchanged (torch 2.13): the single-tensor path, as the explicit engine runs
            return torch.optim.SGD(params, lr=lr, momentum=spec.momentum, nesterov=nesterov,
                                   weight_decay=wd, foreach=False, fused=False)
        return torch.optim.SGD(params, lr=lr, momentum=spec.momentum, nesterov=nesterov,
                               weight_decay=wd, fused=fused)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(spec.beta1, spec.beta2), eps=spec.eps,
                                weight_decay=wd, fused=fused)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=(spec.beta1, spec.beta2), eps=spec.eps,
                                 weight_decay=wd, fused=fused)
    if name == "rmsprop":
        check_epsilon_fits_params("rmsprop", spec.eps, params)
        return torch.optim.RMSprop(params, lr=lr, alpha=0.99, eps=spec.eps, weight_decay=wd)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, eps=spec.eps, weight_decay=wd, fused=fused)
    # lbfgs: one .step() is one L-BFGS iteration; the trainer counts function evaluations
    return LBFGS(params, lr=lr, max_iter=1, max_eval=max_fun, history_size=10,
                 line_search_fn="strong_wolfe", tolerance_grad=0.0, tolerance_change=0.0)


class LBFGS(torch.optim.LBFGS):
    """``torch.optim.LBFGS`` for one iteration per :meth:`step`, counting function evaluations
    as scipy's L-BFGS-B (and so sklearn's ``max_fun``) does: each point once.

    torch's ``step`` starts by evaluating the closure at the current parameters, the point
    the previous step's line search ended on and has already evaluated, so one-iteration
    steps would spend two evaluations per iteration where scipy spends one, and ``max_fun``
    would buy about half of sklearn's iterations. Here the line search's evaluation of the
    point a step ends on (loss and gradients) is kept, and the next step starts from it
    instead of evaluating again, when the parameters are bitwise the same and the closure is
    the same function over the same data (same tensors, unmodified: a new fit's data, or
    parameters changed in between, are evaluated anew). ``state["func_evals"]`` counts only
    real evaluations.

    After a step, :attr:`end_loss` is the loss at the parameters the step ended on (the line
    search's evaluation of that point), and the parameters' ``.grad`` are that evaluation's
    gradients, so a caller reporting the loss and gradient norms need not evaluate the point
    again; it is None when the step ended on a point it did not evaluate (evaluate it then).
    """

    _end: tuple[list[Any], torch.Tensor, torch.Tensor, list[torch.Tensor | None]] | None = None
    end_loss: torch.Tensor | None = None

    def step(self, closure: Any) -> Any:  # type: ignore[override]
        params: list[torch.Tensor] = self._params      # type: ignore[attr-defined]
        key = _closure_key(closure)
        end, self._end = self._end, None
        self.end_loss = None
        reused = False
        first = True
        last: tuple[torch.Tensor, torch.Tensor, list[torch.Tensor | None]] | None = None
        best = last

        def evaluate() -> torch.Tensor:
            nonlocal reused, first, last, best
            if first:
                first = False
                if end is not None and _same_key(end[0], key) and torch.equal(_flat(params),
                                                                                end[1]):
                    for p, g in zip(params, end[3]):
                        p.grad = None if g is None else g.clone()
                    reused = True
                    last = best = (end[1], end[2], end[3])   # a step that does not move
                    return end[2]
            loss = closure()
            record = (_flat(params), torch.as_tensor(loss).detach().clone(),
                      [None if p.grad is None else p.grad.detach().clone() for p in params])
            last = record
            if best is None or bool(record[1] <= best[1]):
                best = record
            return loss

        try:
            out = super().step(evaluate)
        except RuntimeError as err:
            if "overflow" not in str(err):
                raise
            # the line search's step length left float's range (a badly scaled problem): the
            # fit has diverged. Go back to the lowest point evaluated and report an infinite
            # loss, which the Trainer's divergence rule turns into a stop that keeps the best
            # weights, as a NaN loss does
            if best is not None:
                with torch.no_grad():
                    offset = 0
                    for p in params:
                        p.copy_(best[0][offset:offset + p.numel()].view_as(p))
                        offset += p.numel()
            self.end_loss = torch.tensor(float("inf"))
            return self.end_loss
        if reused:
            self.state[params[0]]["func_evals"] -= 1
        # the point the step ended on: the line search's last evaluation, or its lowest
        x = _flat(params)
        for record in (last, best):
            if record is not None and torch.equal(record[0], x):
                self._end = (key, *record)
                self.end_loss = record[1]
                if record is not last:
                    # .grad holds the last evaluation's gradients: those of the end point
                    for p, g in zip(params, record[2]):
                        p.grad = None if g is None else g.clone()
                break
        return out


def _flat(params: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in params])


def _closure_key(closure: Any) -> list[Any]:
    """What identifies a closure's computation: its code and what it reads (tensors by identity
    and in-place version, 0-d tensors by value, tuples element by element, anything else by
    identity). Objects are held by weak reference where they allow it, so the key keeps no
    training data alive, and an object that died never matches a new one at its address."""
    key: list[Any] = [getattr(closure, "__code__", closure)]

    def add(value: Any) -> None:
        if isinstance(value, torch.Tensor):
            key.append(("value", value.item()) if value.dim() == 0
                       else ("tensor", weakref.ref(value), value._version))
        elif isinstance(value, tuple):
            key.append(("tuple", len(value)))
            for item in value:
                add(item)
        else:
            try:
                key.append(("object", weakref.ref(value)))
            except TypeError:               # None, numbers, ...: held, compared by identity
                key.append(("held", value))

    for cell in getattr(closure, "__closure__", None) or ():
        try:
            add(cell.cell_contents)
        except ValueError:                  # an empty cell
            key.append(("empty",))
    return key


def _same_key(a: list[Any], b: list[Any]) -> bool:
    if len(a) != len(b) or a[0] is not b[0]:
        return False
    for x, y in zip(a[1:], b[1:]):
        if x[0] != y[0]:
            return False
        if x[0] in ("tensor", "object"):
            obj = x[1]()
            if obj is None or obj is not y[1]() or x[2:] != y[2:]:
                return False
        elif x[0] == "held":
            if x[1] is not y[1]:
                return False
        elif x != y:
            return False
    return True


def _fusable(params: list[torch.nn.Parameter]) -> bool | None:
    """True when torch's fused optimizer kernels take these parameters (floating, one device
    type that has them); None lets torch choose otherwise."""
    kinds = {p.device.type for p in params}
    ok = (len(kinds) == 1 and kinds <= {"cpu", "cuda"}
          and all(p.is_floating_point() for p in params))
    return True if ok else None
