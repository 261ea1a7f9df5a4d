"""Gradient flow: how strongly the loss gradient reaches each layer and unit.

Per unit ``u`` of a layer: ``grad_rms = sqrt(mean_i sum_p (d loss_i / d h_{i,p,u})^2)``, the
root-mean-square over examples ``i`` (summed over positions ``p`` of conv/sequence layers) of
the per-example loss gradient with respect to the unit's output. Per layer: ``grad_rms`` is the
RMS over its units (width-independent), ``ratio`` divides it by the last inspected layer's (the
one closest to the output), and ``param_grad_norm`` is the norm of the gradient of the mean loss
with respect to the layer's own parameters. A layer is flagged **vanishing** when
``ratio < vanishing`` (default 1e-2: it learns 100x slower than the top) and **exploding** when
``ratio > exploding`` (default 1e2) or a gradient is not finite.

A recurrent layer (``nn.RNN``/``nn.GRU``/``nn.LSTM``) may be read through its final states
rather than its output sequence (``out, (h, c) = rnn(x); head(h[-1])``): the gradients with
respect to the last layer's rows of ``h_n`` (and ``c_n``) count as further positions of the
unit. A module run several times per forward is one layer per call, ``name#0``, ``name#1``, ...
as :func:`lamina.inspect` labels them; each call's ``param_grad_norm`` is that of the module's
parameters (summed over its calls).
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.nn.utils.rnn import PackedSequence

from .._errors import DataError, ParameterError
from ._data import DataSource
from ._hooks import eval_mode, forward_hooks, model_device, model_float_dtype
from ._model import refuse_per_token_loss, resolve_model
from ._taps import (
    Tap,
    call_label,
    final_states,
    first_tensor,
    resolve_taps,
    split_calls,
    state_units,
)
from ._targets import (
    Task,
    batch_targets,
    example_loss,
    infer_task,
    model_output,
    output_width,
    task_labels,
)


@dataclass(frozen=True)
class GradientFlow:
    """Result of :func:`gradient_flow`: a per-layer and a per-unit table."""

    layers: pd.DataFrame     # layer, width, grad_rms, ratio, param_grad_norm, vanishing, ...
    units: pd.DataFrame      # layer, unit, grad_rms

    @property
    def vanishing(self) -> list[str]:
        return list(self.layers.loc[self.layers["vanishing"], "layer"])

    @property
    def exploding(self) -> list[str]:
        return list(self.layers.loc[self.layers["exploding"], "layer"])


def gradient_flow(model: Any, X: Any, y: Any = None, layers: Any = None, *, batch_size: int = 1024,
                  vanishing: float = 1e-2, exploding: float = 1e2) -> GradientFlow:
    """Gradient norms per layer and unit over ``(X, y)`` (see the module docstring).

    Examples
    --------
    >>> gf = ins.gradient_flow(X, y)         # doctest: +SKIP
    >>> gf.layers[["layer", "grad_rms", "ratio", "vanishing"]]    # doctest: +SKIP
    """
    for name, value in (("vanishing", vanishing), ("exploding", exploding)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ParameterError(name, value, "must be a positive number",
                                 f"Pass e.g. {name}={1e-2 if name == 'vanishing' else 1e2}.")
    target = resolve_model(model)
    refuse_per_token_loss(target, "gradient_flow")
    net = target.net
    layers, wanted = split_calls(layers)
    taps = resolve_taps(net, layers)
    dev = model_device(net)
    source = DataSource(X, y, batch_size, target, dev, model_float_dtype(net), targets=True)
    # (tap, call, the output, the recurrent layer's final states holding its units)
    captured: list[tuple[Tap, int, torch.Tensor, list[torch.Tensor]]] = []
    # a parameterless layer's (an activation's) input of the output's shape: its gradient says
    # whether a unit's pre-activation, and so the weights feeding it, learn anything
    inputs: dict[int, torch.Tensor] = {}

    def grab(tap: Tap, call: int, output: Any, args: Any) -> None:
        calls = wanted.get(tap.name)
        if calls is None or call in calls:
            t = first_tensor(output)
            states = (final_states(tap.module, output)
                      if tap.unit_axis % _dim(t) == _dim(t) - 1 else [])
            # packed sequences: every real step's values (the gradient per unit sums them)
            out = t.data if isinstance(t, PackedSequence) else t
            if next(tap.module.parameters(), None) is None and args and \
                    isinstance(args[0], torch.Tensor) and args[0].shape == out.shape and \
                    args[0].requires_grad:
                inputs[len(captured)] = args[0]
            captured.append((tap, call, out, states))

    unit_sq: dict[str, torch.Tensor] = {}
    param_sum: dict[str, list[torch.Tensor | None]] = {}
    labels: dict[str, Tap] = {}
    task: Task | None = None
    n = 0
    # cuDNN only differentiates recurrent layers in training mode; eval mode is what we want
    cudnn = torch.backends.cudnn.flags(enabled=False) if dev.type == "cuda" else nullcontext()
    in_sq: dict[str, torch.Tensor] = {}
    with eval_mode(net), torch.enable_grad(), cudnn, \
            forward_hooks(taps, grab, with_args=True) as hooks:
        for batch in source:
            if batch.y is None and batch.target is None:
                raise DataError("gradient_flow needs targets: pass y=... (or batches of "
                                "(inputs, targets)).")
            captured.clear()
            inputs.clear()
            hooks.new_forward()
            x = batch.x.requires_grad_(True) if batch.x.is_floating_point() else batch.x
            out = net(x, *batch.extra)
            n_calls = {tap.name: c for tap, c in zip(taps, hooks.calls)}
            _check_calls(taps, n_calls, wanted)
            if task is None:
                task = infer_task(target, task_labels(batch), output_width(out))
            t = batch_targets(task, batch, dev, model_float_dtype(net)).detach()
            loss = example_loss(task, model_output(out), t).sum()
            outs = [o for _, _, o, _ in captured]
            if not all(o.requires_grad for o in outs):
                raise DataError("some inspected layers do not depend on anything that needs a "
                                "gradient (frozen parameters and integer inputs?); unfreeze the "
                                "parameters to measure gradient flow.")
            states = [h for *_, hs in captured for h in hs if h.requires_grad]
            # a module's parameters once, however often it runs (their gradient sums the calls)
            params: dict[str, list[torch.Tensor]] = {}
            for tap, *_ in captured:
                params.setdefault(tap.name, [p for p in tap.module.parameters()
                                             if p.requires_grad])
            flat_params: list[torch.Tensor] = [p for ps in params.values() for p in ps]
            ins = list(inputs.values())
            grads = list(torch.autograd.grad(loss, [*outs, *states, *flat_params, *ins],
                                             allow_unused=True))
            got_in = dict(zip(inputs, grads[len(grads) - len(ins):]))
            grads = grads[: len(grads) - len(ins)]
            got_out, got_states = grads[: len(outs)], grads[len(outs): len(outs) + len(states)]
            state_grad = {id(h): g for h, g in zip(states, got_states)}
            for k, ((tap, call, o, hs), g) in enumerate(zip(captured, got_out)):
                sq = _unit_squares(tap, o, g)
                # the model may read the units' last values from h_n/c_n rather than from the
                # output sequence: those gradients count as further positions of the unit
                directions = 2 if getattr(tap.module, "bidirectional", False) else 1
                for h in hs:
                    gh = state_grad.get(id(h))
                    if gh is not None:
                        sq = sq + state_units(gh, directions).double().square().sum(0)
                label = call_label(tap.name, call, n_calls[tap.name])
                labels.setdefault(label, tap)
                unit_sq[label] = unit_sq[label] + sq if label in unit_sq else sq
                if k in got_in:
                    isq = _unit_squares(tap, o, got_in[k])
                    in_sq[label] = in_sq[label] + isq if label in in_sq else isq
            rest = grads[len(outs) + len(states):]
            module_grads: dict[str, list[torch.Tensor | None]] = {}
            for name, ps in params.items():
                module_grads[name] = [rest.pop(0) for _ in ps]
            for label, tap in labels.items():
                if tap.name in module_grads:
                    prev = param_sum.get(label)
                    param_sum[label] = [_add(None if prev is None else prev[i], g)
                                        for i, g in enumerate(module_grads[tap.name])]
            n += batch.n
        hooks.check_fired()
    return _tables(list(labels.items()), unit_sq, param_sum, n, vanishing, exploding, in_sq)


def _unit_squares(tap: Tap, like: torch.Tensor, grad: torch.Tensor | None) -> torch.Tensor:
    """Per unit, the sum over examples and positions of a gradient's squares (float64); a
    gradient that never reached ``like`` (None) counts as zeros."""
    g = torch.zeros_like(like) if grad is None else grad
    moved = g.movedim((tap.batch_axis % g.dim(), tap.unit_axis % g.dim()), (0, -1))
    return moved.double().square().reshape(-1, moved.shape[-1]).sum(0)


def _dim(t: Any) -> int:
    return int(t.data.dim() if isinstance(t, PackedSequence) else t.dim())


def _check_calls(taps: list[Tap], n_calls: dict[str, int],
                 wanted: dict[str, set[int] | None]) -> None:
    for tap in taps:
        n = n_calls[tap.name]
        calls = wanted.get(tap.name)
        bad = sorted(c for c in calls if c >= n) if calls is not None and n else []
        if bad:
            raise ParameterError(
                "layers", f"{tap.name}#{bad[0]}", f"module {tap.name!r} runs {n} time(s) per "
                "forward, so its calls are " + ", ".join(
                    repr(call_label(tap.name, c, n)) for c in range(n)),
                "Pass one of those layer names (as lamina.inspect labels them).")


def _add(total: torch.Tensor | None, grad: torch.Tensor | None) -> torch.Tensor | None:
    if grad is None:
        return total
    grad = grad.detach().double()
    return grad if total is None else total + grad


def _tables(sites: list[tuple[str, Tap]], unit_sq: dict[str, torch.Tensor],
            param_sum: dict[str, list[torch.Tensor | None]], n: int, vanishing: float,
            exploding: float, in_sq: dict[str, torch.Tensor] | None = None) -> GradientFlow:
    rows, unit_frames = [], []
    for label, _tap in sites:
        rms_units = (unit_sq[label] / n).sqrt().cpu().numpy()
        grads = [g for g in param_sum.get(label, []) if g is not None]
        pnorm = math.sqrt(sum(float((g / n).square().sum()) for g in grads)) if grads \
            else float("nan")
        # the unit's incoming weights: a parameter whose first axis indexes the units
        rows_of = [g for g in grads if g.dim() >= 2 and g.shape[0] == len(rms_units)]
        weight_grad = ((rows_of[0] / n).reshape(len(rms_units), -1).norm(dim=1).cpu().numpy()
                       if rows_of else np.full(len(rms_units), np.nan))
        # a unit stalls when its incoming weights get no gradient; a parameterless layer (an
        # activation) has none of its own: there, when the gradient at its input is 0 (a dead
        # ReLU passes none back, whatever reaches its output)
        if rows_of:
            stalled = weight_grad == 0
        elif in_sq and label in in_sq:
            stalled = in_sq[label].cpu().numpy() == 0
        else:
            stalled = rms_units == 0
        rows.append({"layer": label, "width": len(rms_units),
                     "grad_rms": float(np.sqrt(np.mean(rms_units ** 2))),
                     "param_grad_norm": pnorm, "zero_grad_units": int(stalled.sum())})
        unit_frames.append(pd.DataFrame({"layer": label, "unit": np.arange(len(rms_units)),
                                         "grad_rms": rms_units,
                                         "weight_grad_norm": weight_grad}))
    layers = pd.DataFrame(rows)
    top = float(layers["grad_rms"].iloc[-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = layers["grad_rms"].to_numpy() / top
    layers["ratio"] = ratio
    finite = np.isfinite(layers["grad_rms"].to_numpy())
    with np.errstate(invalid="ignore"):
        layers["vanishing"] = finite & np.isfinite(ratio) & (ratio < vanishing)
        layers["exploding"] = ~finite | (np.isfinite(ratio) & (ratio > exploding))
    layers = layers[["layer", "width", "grad_rms", "ratio", "param_grad_norm",
                     "zero_grad_units", "vanishing", "exploding"]]
    return GradientFlow(layers, pd.concat(unit_frames, ignore_index=True))
