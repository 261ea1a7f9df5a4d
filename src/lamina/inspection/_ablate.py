"""Unit ablation: the loss/score change when one unit is zeroed, every unit of a layer at once.

Zeroing unit ``j`` of a layer is simulated for a *chunk* of units in one forward: the batch is
replicated once per unit of the chunk and copy ``i`` has its unit zeroed. For a network that is
a chain of modules (a ``HiddenNet``, or a plain ``nn.Sequential`` tapped at one of its
children) only the modules after the ablated layer are run (the prefix is computed once per
batch), and when the next module is linear its output is updated by a rank-1 correction
``z - h[:, j] * W[:, j]`` instead of being recomputed, so ablating the last hidden layer costs a
fraction of one forward pass. When more modules follow, the correction is made one unit at a
time, feature-major ``(m, B)``, so that the corrected pre-activation stays in the cache for the
activation and the GEMM after it (the loss is still taken per chunk). Any other module is
ablated through a forward hook that masks the layer's output (about one forward pass per unit).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from .._errors import DataError, ParameterError
from ..nn import HiddenNet
from ..nn._dense import DenseLayer
from ._data import DataSource
from ._hooks import eval_mode, forward_hooks, model_device, model_float_dtype
from ._model import refuse_per_token_loss, resolve_model
from ._taps import Tap, call_label, final_states, first_tensor, resolve_taps, split_calls
from ._targets import (
    Task,
    batch_targets,
    infer_task,
    loss_and_correct,
    model_output,
    output_width,
    task_labels,
)

# largest tensor (elements) a chunk of replicated activations or outputs may take: 4 MiB of
# float32 stays near the caches (ablating the last hidden layer of a (256, 256) MLP on 10 000
# rows, 2-core Xeon: 2**19 -> 5.6 forward passes' time, 2**20 -> 5.4, 2**21 -> 7.2)
_CHUNK_ELEMENTS = 2 ** 20


def ablate_units(model: Any, X: Any, y: Any = None, layers: Any = None, *,
                 batch_size: int = 1024) -> pd.DataFrame:
    """Zero each unit of ``layers`` in turn and measure the loss and score on ``(X, y)``.

    Returns
    -------
    DataFrame
        One row per unit: ``layer, unit, loss, delta_loss, score, delta_score`` (score =
        accuracy for classifiers, R^2 for regressors) and, for classifiers, the change of each
        class's recall ``delta_recall[<label>]``. ``df.attrs`` holds the baseline loss/score.

    Examples
    --------
    >>> df = ins.ablate(X, y)                                     # doctest: +SKIP
    >>> df.sort_values("delta_loss", ascending=False).head()      # doctest: +SKIP
    """
    target = resolve_model(model)
    refuse_per_token_loss(target, "ablation")
    net = target.net
    layers, wanted = split_calls(layers)
    taps = resolve_taps(net, layers)
    dev = model_device(net)
    source = DataSource(X, y, batch_size, target, dev, model_float_dtype(net), targets=True)
    sites: list[tuple[Tap, int, str, int]] | None = None    # (tap, call, label, calls)
    acc: dict[str, dict[str, torch.Tensor]] = {}
    base = {"loss": 0.0, "n": 0, "score": 0.0}
    task: Task | None = None
    ts: list[np.ndarray] = []
    chains: dict[str, list[torch.nn.Module]] | None = None
    with eval_mode(net), torch.no_grad():
        for batch in source:
            if batch.y is None and batch.target is None:
                raise DataError("ablation needs targets: pass y=... (or batches of (inputs, "
                                "targets)).")
            if chains is None:      # the network's structure: the same for every batch
                chains = {tap.name: rest for tap in taps
                          if (rest := _rest(net, tap, batch.inputs)) is not None}
            # the baseline forward also counts each layer's calls (a module run twice per
            # forward is two layers, name#0 and name#1, as lamina.inspect labels them)
            with forward_hooks(taps, _ignore) as counter:
                recorded = _record(net, batch.inputs) if chains else None
                out = model_output(net(*batch.inputs) if recorded is None else recorded[0])
            if sites is None:
                counter.check_fired()
                sites = _sites(taps, counter.total, wanted)
            if task is None:
                task = infer_task(target, task_labels(batch), output_width(out))
            t = batch_targets(task, batch, dev, model_float_dtype(net))
            # the loss's own targets (float64), so the R^2 baseline matches the residuals
            ts.append(t.detach().cpu().double().numpy() if t.is_floating_point()
                      else t.detach().cpu().numpy())
            loss, corr = loss_and_correct(task, out, t)
            base["loss"] += float(loss.sum())
            base["score"] += float(corr.sum())
            base["n"] += batch.n
            base_class = _per_class(task, corr[None], t)
            acc.setdefault("_base", {"class": torch.zeros_like(base_class[0])})
            acc["_base"]["class"] += base_class[0]
            for tap, call, label, n_calls in sites:
                if recorded is not None and tap.name in chains and n_calls == 1:
                    _ablate_chain(chains[tap.name], tap, recorded[1][tap.name], t, task, acc)
                else:
                    _ablate_hooked(net, tap, call, label, batch.inputs, t, task, acc)
    assert task is not None and sites is not None
    return _table([label for _, _, label, _ in sites], acc, base, task, np.concatenate(ts))


def _ignore(tap: Tap, call: int, output: Any) -> None:
    return None


def _sites(taps: list[Tap], counts: list[int], wanted: dict[str, set[int] | None]
           ) -> list[tuple[Tap, int, str, int]]:
    """``(tap, call, label, calls per forward)`` of every call of every layer asked for."""
    sites = []
    for tap, n in zip(taps, counts):
        calls = wanted.get(tap.name)
        for k in sorted(calls) if calls is not None else range(n):
            if k >= n:
                raise ParameterError(
                    "layers", f"{tap.name}#{k}", f"module {tap.name!r} runs {n} time(s) per "
                    "forward, so its calls are " + ", ".join(
                        repr(call_label(tap.name, c, n)) for c in range(n)),
                    "Pass one of those layer names (as lamina.inspect labels them).")
            sites.append((tap, k, call_label(tap.name, k, n), n))
    return sites


def _per_class(task: Task, corr: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """``(copies, C)`` correct counts per class (zeros for regression)."""
    n_classes = len(task.classes) if task.classes is not None else 0
    if task.kind != "classification" or n_classes == 0:
        return torch.zeros(corr.shape[0], 1, dtype=torch.float64, device=corr.device)
    out = torch.zeros(corr.shape[0], n_classes, dtype=torch.float64, device=corr.device)
    return out.scatter_add_(1, t.expand(corr.shape[0], -1), corr.double())


def _accumulate(acc: dict[str, dict[str, torch.Tensor]], name: str, units: torch.Tensor,
                width: int, task: Task, out: torch.Tensor, t: torch.Tensor) -> None:
    out = model_output(out)
    copies = units.shape[0]
    batch = t.shape[0]
    tt = t.repeat((copies,) + (1,) * (t.dim() - 1))
    loss, corr = loss_and_correct(task, out, tt)
    loss = loss.view(copies, batch).double()
    corr = corr.view(copies, batch)
    slot = acc.setdefault(name, {
        "loss": torch.zeros(width, dtype=torch.float64, device=out.device),
        "score": torch.zeros(width, dtype=torch.float64, device=out.device),
        "class": torch.zeros(width, _per_class(task, corr[:1], t).shape[1],
                             dtype=torch.float64, device=out.device)})
    slot["loss"].index_add_(0, units, loss.sum(1))
    slot["score"].index_add_(0, units, corr.double().sum(1))
    slot["class"].index_add_(0, units, _per_class(task, corr, t))


def _chunks(width: int, rows: int, per_row: int) -> list[torch.Tensor]:
    size = max(1, min(width, _CHUNK_ELEMENTS // max(1, rows * per_row)))
    return list(torch.arange(width).split(size))


class _FlattenRows(torch.nn.Module):
    """``(B, ...) -> (B, -1)`` when there are more than two dimensions (HiddenNet's head)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) if x.dim() > 2 else x


_FLATTEN_ROWS = _FlattenRows()
# modules that act on each element alone (Dropout: the network is in eval mode)
_ELEMENTWISE = (torch.nn.Identity, torch.nn.ReLU, torch.nn.LeakyReLU, torch.nn.ELU,
                torch.nn.GELU, torch.nn.SiLU, torch.nn.Tanh, torch.nn.Sigmoid, torch.nn.Softplus,
                torch.nn.ReLU6, torch.nn.Hardtanh, torch.nn.Mish, torch.nn.Dropout, _FlattenRows)


def _rest(net: Any, tap: Tap, inputs: tuple[Any, ...]) -> list[torch.nn.Module] | None:
    """The modules that, applied in turn to ``tap``'s output, give the network's output, when
    the network is such a chain (a HiddenNet, or a plain ``nn.Sequential`` tapped at one of its
    children); None otherwise (ablated through hooks instead)."""
    index = _hidden_index(net, tap)
    if index is not None:
        rest: list[torch.nn.Module] = []
        for layer in net.hidden[index + 1:]:
            plain = isinstance(layer, DenseLayer) and type(layer).forward is DenseLayer.forward
            rest += [_FLATTEN_ROWS, layer.linear, layer.norm, layer.act, layer.dropout] \
                if plain else [layer]
        return rest + [_FLATTEN_ROWS, net.head]
    if (type(net) is torch.nn.Sequential and len(inputs) == 1
            and isinstance(inputs[0], torch.Tensor)):
        for i, child in enumerate(net):
            if child is tap.module and tap.name == str(i):
                return list(net)[i + 1:]
    return None


def _record(net: Any, inputs: tuple[Any, ...]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The network's output and the output of each of its stages (hidden layers of a
    HiddenNet, children of an ``nn.Sequential``) by tap name, from one forward pass."""
    h = inputs[0]
    seen: dict[str, torch.Tensor] = {}
    if isinstance(net, torch.nn.Sequential):
        for i, child in enumerate(net):
            if i and getattr(child, "inplace", False):
                h = h.clone()                         # keep the recorded output intact
            h = child(h)
            seen[str(i)] = h
        return h, seen
    for i, layer in enumerate(net.hidden):
        h = layer(h)                                          # (B, *shape) of each layer
        seen[f"hidden.{i}"] = h
    return net.head(_FLATTEN_ROWS(h)), seen


def _hidden_index(net: torch.nn.Module, tap: Tap) -> int | None:
    """Position of ``tap`` in a HiddenNet whose suffix can be run on its own, else None."""
    hidden = getattr(net, "hidden", None)
    # the shortcut re-implements HiddenNet.forward; a subclass with its own forward (extra
    # terms after the head, e.g. a recommender's biases) is ablated through hooks instead
    if (getattr(net, "head", None) is None or not isinstance(hidden, torch.nn.ModuleList)
            or getattr(net, "uses_lengths", False) or not tap.name.startswith("hidden.")
            or getattr(type(net), "forward", None) is not HiddenNet.forward):
        return None
    try:
        index = int(tap.name.split(".", 1)[1])
    except ValueError:
        return None
    return index if 0 <= index < len(hidden) and hidden[index] is tap.module else None


def _run(modules: list[torch.nn.Module], h: torch.Tensor) -> torch.Tensor:
    for module in modules:
        h = module(h)
    return h


def _ablate_chain(rest: list[torch.nn.Module], tap: Tap, h: torch.Tensor, t: torch.Tensor,
                  task: Task, acc: dict[str, dict[str, torch.Tensor]]) -> None:
    """``h`` is the tapped output; only the modules ``rest`` after it are run."""
    batch, width = h.shape[0], h.shape[tap.unit_axis % h.dim()]
    if h.dim() == 2 and rest and rest[0] is _FLATTEN_ROWS:
        rest = rest[1:]                                       # rows are already flat
    linear = rest[0] if rest else None
    if h.dim() == 2 and tap.unit_axis % 2 == 1 and isinstance(linear, torch.nn.Linear):
        after = rest[1:]
        z = linear(h)                                         # (B, m) next pre-activation
        weight = linear.weight                                # (m, width)
        if after:
            zt = z.T.contiguous()                             # (m, B) feature-major
            scratch = torch.empty_like(zt)                    # one copy, reused per unit
            h_t = h.T.contiguous()                            # (width, B)
            w_t = weight.T.contiguous()                       # (width, m)
        # the tensor a chunk materialises: (c, B, m) logits when the linear map is the last
        # module, else the (c, B, C) outputs of units corrected one at a time
        last = after[-1] if after else None
        per_row = last.out_features if isinstance(last, torch.nn.Linear) else z.shape[1]
        # zeroing unit j removes h[:, j] * W[:, j] from the next pre-activation
        for units in _chunks(width, batch, per_row):
            units = units.to(h.device)
            if not after:
                hu = h[:, units].T.contiguous()               # (c, B)
                wu = weight[:, units].T.contiguous()          # (c, m)
                # the logits, class-major (m, c, B): the loss then reduces across rows
                zc = torch.addcmul(z.T[:, None, :], wu.T[:, :, None], hu[None], value=-1.0)
                out = zc.view(z.shape[1], -1).T               # (c*B, m), a view
            else:
                out = _through(after, zt, scratch, h_t, w_t, units)
            _accumulate(acc, tap.name, units, width, task, out, t)
        return
    per_row = int(np.prod(h.shape[1:]))
    axis = tap.unit_axis % h.dim()
    for units in _chunks(width, batch, per_row):
        units = units.to(h.device)
        out = _run(rest, _masked_copies(h, units, axis))
        _accumulate(acc, tap.name, units, width, task, out, t)


def _through(after: list[torch.nn.Module], zt: torch.Tensor, scratch: torch.Tensor,
             h_t: torch.Tensor, w_t: torch.Tensor, units: torch.Tensor) -> torch.Tensor:
    """``(c*B, C)`` outputs with unit ``units[i]`` zeroed in copy ``i``, one unit at a time:
    the next linear map's corrected output ``(m, B)`` stays in the cache for the modules
    ``after`` it (2x faster than a ``(c, B, m)`` replica for a 256-wide layer, which leaves the
    L2 cache).

    ``zt`` is the next pre-activation feature-major ``(m, B)``, ``h_t`` the tapped output
    ``(width, B)``, ``w_t`` the next weight ``(width, m)``."""
    batch = zt.shape[1]
    # the common case, element-wise modules then a linear head: logits class-major (C, B)
    head = after[-1] if isinstance(after[-1], torch.nn.Linear) and all(
        type(m) in _ELEMENTWISE for m in after[:-1]) else None
    outs = []
    for j in units.tolist():
        pre = torch.addr(zt, w_t[j], h_t[j], alpha=-1.0, out=scratch)    # (m, B)
        if head is not None:
            act = pre
            for m in after[:-1]:
                # ``pre`` is this loop's scratch: a ReLU may overwrite it (one pass less)
                act = act.relu_() if type(m) is torch.nn.ReLU and act is pre else m(act)
            logits = head.weight @ act                                 # (C, B)
            outs.append(logits if head.bias is None else logits.add_(head.bias[:, None]))
        else:
            outs.append(_run(after, pre.T).reshape(batch, -1).T)       # any modules
    stacked = torch.stack(outs, 1)                                     # (C, c, B)
    return stacked.view(stacked.shape[0], -1).T                        # (c*B, C), a view


def _masked_copies(h: torch.Tensor, units: torch.Tensor, axis: int) -> torch.Tensor:
    """``(c * B, ...)``: copy ``i`` of ``h`` with unit ``units[i]`` (along ``axis``) zeroed."""
    copies, width = units.shape[0], h.shape[axis]
    mask = torch.ones(copies, width, dtype=h.dtype, device=h.device)
    mask[torch.arange(copies, device=h.device), units] = 0
    shape = [copies] + [1] * h.dim()
    shape[1 + axis] = width
    return (h[None] * mask.view(shape)).reshape((-1,) + tuple(h.shape[1:]))


def _per_row(inputs: tuple[Any, ...], batch: int) -> list[bool]:
    """Which forward arguments hold one entry per example (x, sequence lengths)."""
    return [isinstance(a, torch.Tensor) and a.dim() >= 1 and a.shape[0] == batch
            for a in inputs]


def _ablate_hooked(net: torch.nn.Module, tap: Tap, call: int, label: str,
                   inputs: tuple[Any, ...], t: torch.Tensor, task: Task,
                   acc: dict[str, dict[str, torch.Tensor]]) -> None:
    """Any module: replicate the batch, mask the layer's output (its ``call``-th output in a
    forward) in a forward hook."""
    x = inputs[0]
    batch = x.shape[0]
    rowwise = _per_row(inputs, batch)
    probe: dict[str, Any] = {}

    def measure(tap_: Tap, call_: int, output: Any) -> None:
        if call_ == call:
            out = first_tensor(output)
            if not isinstance(out, torch.Tensor):
                raise DataError(f"layer {tap.name!r} returns {type(out).__name__}, not a "
                                "tensor with one row per example, so its units cannot be "
                                "zeroed per copy; ablate the layer that reads it instead.")
            probe["shape"] = tuple(out.shape)
    with forward_hooks([tap], measure):
        net(*(a[:1] if r else a for a, r in zip(inputs, rowwise)))
    if "shape" not in probe:
        raise DataError(f"layer {label!r} did not run when the model was given one example "
                        "of the batch, so its units cannot be ablated; ablate another layer.")
    shape = probe["shape"]
    unit_axis = tap.unit_axis % len(shape)
    batch_axis = tap.batch_axis % len(shape)
    width = shape[unit_axis]
    per_row = int(np.prod(shape)) // max(1, shape[batch_axis])
    for units in _chunks(width, batch, max(per_row, int(np.prod(x.shape[1:])))):
        units = units.to(x.device)
        copies = units.shape[0]

        def zero(tap_: Tap, call_: int, output: Any, units: torch.Tensor = units,
                 copies: int = copies) -> Any:
            if call_ != call:
                return None
            out = first_tensor(output)
            moved = out.movedim(batch_axis, 0)                # (c*B, ...)
            inner = moved.reshape((copies, batch) + tuple(moved.shape[1:]))
            # axes after moving the batch first and splitting it into (copies, B)
            ax = (unit_axis + 1 if unit_axis < batch_axis else unit_axis) + 1
            masked = _masked_copies_grouped(inner, units, ax)
            new = masked.reshape(moved.shape).movedim(0, batch_axis)
            if isinstance(output, tuple):
                rest = tuple(output[1:])
                # a recurrent layer: its final states h_n (c_n) hold the units' last values,
                # which the model may read instead of the output sequence: zero them too
                states = final_states(tap.module, output) if unit_axis == len(shape) - 1 \
                    else []
                if states:
                    directions = 2 if getattr(tap.module, "bidirectional", False) else 1
                    rest = (_mask_states(output[1], states, units, copies, directions),)
                return (new,) + rest
            return new
        # copy-major replicas of every per-example argument (lengths follow their rows)
        replicas = (a.repeat((copies,) + (1,) * (a.dim() - 1)) if r else a
                    for a, r in zip(inputs, rowwise))
        with forward_hooks([tap], zero, replace=True):
            out = net(*replicas)
        _accumulate(acc, label, units, width, task, out, t)


def _mask_states(struct: Any, states: list[torch.Tensor], units: torch.Tensor, copies: int,
                 directions: int) -> Any:
    """``h_n`` or ``(h_n, c_n)`` with, in copy ``i`` of the batch, unit ``units[i]`` zeroed in
    the last layer's rows of each state in ``states`` (``(L * D, c * B, H)``; unit ``u`` of the
    output is direction ``u // H``, index ``u % H``)."""
    if isinstance(struct, tuple):
        return tuple(_mask_states(s, states, units, copies, directions) for s in struct)
    if not any(struct is h for h in states):
        return struct
    rows, cb, width = struct.shape
    mask = torch.ones(copies, directions * width, dtype=struct.dtype, device=struct.device)
    mask[torch.arange(copies, device=struct.device), units] = 0
    m = mask.view(copies, directions, width).permute(1, 0, 2)[:, :, None, :]   # (D, c, 1, H)
    last = struct[rows - directions:].reshape(directions, copies, cb // copies, width) * m
    return torch.cat([struct[: rows - directions], last.reshape(directions, cb, width)], 0)


def _masked_copies_grouped(inner: torch.Tensor, units: torch.Tensor, axis: int) -> torch.Tensor:
    """``inner`` is ``(c, B, ...)``; zero unit ``units[i]`` along ``axis`` of group ``i``."""
    copies, width = units.shape[0], inner.shape[axis]
    mask = torch.ones(copies, width, dtype=inner.dtype, device=inner.device)
    mask[torch.arange(copies, device=inner.device), units] = 0
    shape = [1] * inner.dim()
    shape[0], shape[axis] = copies, width
    return inner * mask.view(shape)


def _table(labels: list[str], acc: dict[str, dict[str, torch.Tensor]], base: dict[str, Any],
           task: Task, y: np.ndarray) -> pd.DataFrame:
    n = base["n"]
    base_loss = base["loss"] / n
    if task.kind == "classification":
        base_score = base["score"] / n
    else:
        sst = float(((y.reshape(n, -1) - y.reshape(n, -1).mean(0)) ** 2).sum())
        base_score = 1.0 - base["score"] / sst if sst > 0 else float("nan")
    frames = []
    class_totals = None
    if task.kind == "classification" and task.classes is not None:
        idx = y.astype(np.int64).reshape(n)                 # the encoded class indices
        class_totals = np.bincount(idx, minlength=len(task.classes)).astype(np.float64)
    for label in labels:
        slot = {k: v.cpu().numpy() for k, v in acc[label].items()}
        loss = slot["loss"] / n
        if task.kind == "classification":
            score = slot["score"] / n
        else:
            score = 1.0 - slot["score"] / sst if sst > 0 else np.full_like(loss, np.nan)
        frame = pd.DataFrame({"layer": label, "unit": np.arange(len(loss)), "loss": loss,
                              "delta_loss": loss - base_loss, "score": score,
                              "delta_score": score - base_score})
        if class_totals is not None and task.classes is not None:
            base_recall = acc["_base"]["class"].cpu().numpy() / np.maximum(class_totals, 1)
            recall = slot["class"] / np.maximum(class_totals, 1)
            for c, label in enumerate(task.classes):
                frame[f"delta_recall[{label}]"] = recall[:, c] - base_recall[c]
        frames.append(frame)
    result = pd.concat(frames, ignore_index=True)
    result.attrs.update({"base_loss": base_loss, "base_score": base_score,
                         "metric": task.metric, "n_rows": n})
    return result
