"""Which modules of a network are inspected ("taps"), and how an output becomes unit values.

Default rule for an arbitrary ``torch.nn.Module`` (documented in :func:`lamina.inspect`):

* every module that declares ``unit_axis`` (lamina's hidden layers) is a tap, and so is every
  ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` / ``nn.TransformerEncoderLayer`` /
  ``nn.TransformerDecoderLayer`` / ``nn.MultiheadAttention`` block; modules *inside* a tapped
  block are not tapped again;
* every other *leaf* module that is an activation function (``nn.ReLU``, ``nn.GELU``,
  ``nn.Tanh``, ``nn.Sigmoid``, ``nn.SiLU``, ``nn.ELU``, ``nn.LeakyReLU``, ...) is a tap.

A :class:`~lamina.nn.HiddenNet` is inspected at ``hidden.0``, ``hidden.1``, ...

A tap is *parameter-free* when its module has no parameters and no activation function (pool,
gap, flatten, seqpool, ``nn.MaxPool2d``, ``nn.Flatten``, ...): its output is fixed by the layer
before it, so it is never flagged as a redundant layer. Activation modules also have no
parameters but stand for the weights before them, so they are not parameter-free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from .._errors import DataError, ParameterError, did_you_mean
from ..nn import FlattenLayer, GlobalAvgPool

# activation module -> the canonical activation name (drives "dead" and "saturated")
_ACTIVATION_NAMES: dict[type[nn.Module], str] = {
    nn.ReLU: "relu", nn.ReLU6: "relu6", nn.LeakyReLU: "leaky_relu", nn.PReLU: "leaky_relu",
    nn.RReLU: "leaky_relu", nn.ELU: "elu", nn.CELU: "elu", nn.SELU: "selu", nn.GELU: "gelu",
    nn.SiLU: "silu", nn.Mish: "mish", nn.Hardswish: "hardswish", nn.Hardtanh: "hardtanh",
    nn.Tanh: "tanh", nn.Softsign: "tanh", nn.Sigmoid: "sigmoid", nn.Hardsigmoid: "sigmoid",
    nn.Softplus: "softplus", nn.Tanhshrink: "tanhshrink", nn.LogSigmoid: "logsigmoid",
    nn.GLU: "glu", nn.Threshold: "threshold", nn.Softshrink: "shrink", nn.Hardshrink: "shrink",
}
ACTIVATION_TYPES: tuple[type[nn.Module], ...] = tuple(_ACTIVATION_NAMES)
BLOCK_TYPES: tuple[type[nn.Module], ...] = (
    nn.RNNBase, nn.TransformerEncoderLayer, nn.TransformerDecoderLayer, nn.MultiheadAttention)

# lamina layer modules without a ``spec`` -> their spec kind
_SPECLESS_KINDS: dict[type[nn.Module], str] = {FlattenLayer: "flatten", GlobalAvgPool: "gap"}

# A unit is "active" when its output is > 0 (``frac_active``, reported for every activation).
# It is *dead* when its output is constant over the data (see ``_tables.dead_units``). Only for
# these activations is "never > 0" the same thing: their inactive outputs are exactly 0.
# (nn.Threshold is not one of them: its inactive output is its ``value``, often nonzero.)
ZERO_WHEN_INACTIVE = frozenset({"relu", "relu6"})
# activations with a negative part that still varies (leaky_relu) or a flat negative tail
# (elu/selu -> -alpha; gelu/silu/mish -> 0; hardswish = 0 below -3): a unit that is never > 0
# still computes something unless its output is constant
NEGATIVE_PART = frozenset({"leaky_relu", "elu", "selu", "gelu", "silu", "mish", "hardswish"})
# activations that saturate: output near the bounds where the derivative vanishes
SATURATING = frozenset({"tanh", "hardtanh", "sigmoid"})


@dataclass(frozen=True)
class Tap:
    """One inspected module: where its batch and unit axes are and what activation it ends in."""

    name: str
    module: nn.Module
    kind: str                  # lamina kind ("dense", "conv", ...), "activation", "recurrent",
    #                            "attention" or "module"
    activation: str | None     # canonical activation name, None when unknown
    batch_axis: int = 0
    unit_axis: int = 1
    parameter_free: bool = False   # no parameters, no activation: pools/reshapes its input


def _activation_of(module: nn.Module) -> str | None:
    spec = getattr(module, "spec", None)
    act = getattr(spec, "activation", None)
    if isinstance(act, str):
        if getattr(spec, "kind", None) in ("rnn", "lstm", "gru") and act not in ("relu",):
            return "tanh"
        return act
    if isinstance(module, nn.RNNBase):
        return "relu" if getattr(module, "nonlinearity", "tanh") == "relu" else "tanh"
    for klass, name in _ACTIVATION_NAMES.items():
        if type(module) is klass:
            return name
    return None


def _batch_first(module: nn.Module) -> bool:
    if isinstance(module, (nn.RNNBase, nn.MultiheadAttention)):
        return bool(module.batch_first)
    attn = getattr(module, "self_attn", None)
    return bool(getattr(attn, "batch_first", True))


def _lamina_kind(module: nn.Module, spec_kind: str | None) -> str:
    """The spec's name of a lamina layer (``conv``, ``gap``, ...), else the class name."""
    own = getattr(getattr(module, "spec", None), "kind", None)
    for kind in (spec_kind, own, _SPECLESS_KINDS.get(type(module))):
        if isinstance(kind, str):
            return kind
    return type(module).__name__


def is_parameter_free(module: nn.Module, activation: str | None) -> bool:
    """No parameters and no activation function: the module only pools or reshapes."""
    return activation is None and next(iter(module.parameters()), None) is None


def make_tap(name: str, module: nn.Module, unit_axis: int | None = None,
             spec_kind: str | None = None) -> Tap:
    """Describe ``module`` as a tap; ``unit_axis`` overrides the rule for where units live and
    ``spec_kind`` names its kind (a HiddenNet's layer spec)."""
    activation = _activation_of(module)
    if hasattr(module, "unit_axis"):
        kind = _lamina_kind(module, spec_kind)
        axis: Any = module.unit_axis
        batch, unit = 0, int(axis)
    elif isinstance(module, nn.RNNBase):
        kind, batch, unit = "recurrent", (0 if _batch_first(module) else 1), -1
    elif isinstance(module, BLOCK_TYPES):
        kind, batch, unit = "attention", (0 if _batch_first(module) else 1), -1
    elif isinstance(module, ACTIVATION_TYPES):
        kind, batch, unit = "activation", 0, 1
    else:
        kind, batch, unit = "module", 0, 1
    if unit_axis is not None:
        unit = unit_axis
    return Tap(name, module, kind, activation, batch, unit,
               is_parameter_free(module, activation))


def spec_kinds(net: nn.Module) -> dict[str, str]:
    """``{'hidden.i': kind}`` from a HiddenNet's spec (empty for other modules)."""
    names = getattr(net, "hidden_names", None)
    specs = getattr(getattr(net, "spec", None), "layers", None)
    if not isinstance(names, list) or not isinstance(specs, (list, tuple)) \
            or len(names) != len(specs):
        return {}
    kinds = {name: getattr(spec, "kind", None) for name, spec in zip(names, specs)}
    return {name: kind for name, kind in kinds.items() if isinstance(kind, str)}


def default_layer_names(net: nn.Module) -> list[str]:
    """Names of the modules inspected when ``layers=None`` (see the module docstring)."""
    hidden_names = getattr(net, "hidden_names", None)
    if isinstance(hidden_names, list) and hidden_names:
        return list(hidden_names)
    picked: list[str] = []
    blocks: list[str] = []
    for name, module in net.named_modules():
        if not name or any(name.startswith(b + ".") for b in blocks):
            continue
        if hasattr(module, "unit_axis") or isinstance(module, BLOCK_TYPES):
            picked.append(name)
            blocks.append(name)
        elif isinstance(module, ACTIVATION_TYPES) and not any(True for _ in module.children()):
            picked.append(name)
    return picked


def resolve_taps(net: nn.Module, layers: Any) -> list[Tap]:
    """Turn the user's ``layers`` (None, a name, names, or ``{name: unit_axis}``) into taps."""
    modules = dict(net.named_modules())
    modules.pop("", None)
    axes: dict[str, int | None]
    if layers is None:
        names = default_layer_names(net)
        if not names:
            listing = _listing(list(modules))
            raise ParameterError(
                "layers", None, "this model has no activation modules (nn.ReLU, nn.Tanh, ...) "
                "and no recurrent/attention blocks, so there is no default layer to inspect; "
                f"its modules are {listing}",
                "Pass layers=['name', ...] with the modules whose outputs are hidden units.")
        axes = dict.fromkeys(names)
    elif isinstance(layers, str):
        axes = {layers: None}
    elif isinstance(layers, Mapping):
        axes = {}
        for key, axis in layers.items():
            if axis is not None and (isinstance(axis, bool) or not isinstance(axis, int)):
                raise ParameterError("layers", dict(layers), f"the unit axis of {key!r} must be "
                                     f"an int or None, got {axis!r}",
                                     "Pass e.g. layers={'encoder': -1}.")
            axes[key] = axis
    else:
        try:
            axes = dict.fromkeys(list(layers))
        except TypeError:
            raise ParameterError("layers", layers, "expected None, a module name, a list of "
                                 "module names or a dict {name: unit_axis}",
                                 "Pass e.g. layers=['hidden.0'].") from None
        if not axes:
            raise ParameterError("layers", layers, "an empty list names no layer",
                                 "Pass layers=None to inspect the default layers.")
    taps = []
    kinds = spec_kinds(net)
    for name, axis in axes.items():
        if not isinstance(name, str) or name not in modules:
            default = default_layer_names(net)
            head, _, tail = name.rpartition("#") if isinstance(name, str) else ("", "", "")
            if head in modules and tail.isdigit():      # a call label, as inspect names them
                raise ParameterError(
                    "layers", name, f"a module name: {head!r} runs more than once per forward, "
                    f"and inspect records every call of it ({head!r}#0, #1, ...)",
                    f"Pass layers={head!r}; then pick the call by its label, e.g. "
                    f"ins.top_examples({name!r}, unit) or ins.ablate(X, y, layers={name!r}).")
            hint = did_you_mean(name, list(modules))
            raise ParameterError(
                "layers", name, "no module of the model has this name; inspectable layers "
                f"(the default) are {_listing(default)}; every module name: "
                f"{_listing(list(modules))}",
                (hint.strip() + " ") if hint else "Pick names from the lists above.")
        taps.append(make_tap(name, modules[name], axis, kinds.get(name)))
    return taps


def split_calls(layers: Any) -> tuple[Any, dict[str, set[int] | None]]:
    """Split per-call layer names (``"act#1"``, as :func:`lamina.inspect` labels the calls of a
    module run several times per forward) into module names for :func:`resolve_taps` and the
    calls asked for per module (None = every call).

    A name is split only at a final ``#<digits>``; ``layers=None`` asks for every call of the
    default layers."""
    calls: dict[str, set[int] | None] = {}

    def one(name: Any) -> Any:
        module, call = name, None
        if isinstance(name, str) and "#" in name:
            head, _, tail = name.rpartition("#")
            if head and tail.isdigit():
                module, call = head, int(tail)
        if isinstance(module, str):
            if call is None or calls.get(module, set()) is None:
                calls[module] = None
            else:
                got = calls.setdefault(module, set())
                assert got is not None
                got.add(call)
        return module

    if layers is None:
        return None, calls
    if isinstance(layers, str):
        return one(layers), calls
    if isinstance(layers, Mapping):
        return {one(k): v for k, v in layers.items()}, calls
    try:
        items = list(layers)
    except TypeError:
        return layers, calls        # resolve_taps explains what it accepts
    return list(dict.fromkeys(one(k) for k in items)), calls


def call_label(name: str, call: int, n_calls: int) -> str:
    """The layer label of call ``call`` of a module run ``n_calls`` times per forward, as
    :func:`lamina.inspect` names it: ``name`` for one call, else ``name#call``."""
    return name if n_calls == 1 else f"{name}#{call}"


def _listing(names: list[str], limit: int = 30) -> str:
    if not names:
        return "(none)"
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def first_tensor(output: Any) -> Any:
    """The tensor a module produced: LSTM's ``(out, (h, c))`` and MHA's ``(out, w)`` -> ``out``;
    a ``PackedSequence`` (a recurrent layer fed packed sequences) is returned as it is."""
    while isinstance(output, (tuple, list)) and output and not isinstance(output,
                                                                          PackedSequence):
        output = output[0]
    return output


def final_states(module: nn.Module, output: Any) -> list[torch.Tensor]:
    """The final states of an ``nn.RNN``/``nn.GRU``/``nn.LSTM`` output ``(out, h_n)`` or
    ``(out, (h_n, c_n))`` that hold the units of ``out``'s last axis: ``h_n`` and ``c_n``
    ``(layers * directions, B, H)`` with ``directions * H`` equal to ``out``'s width (an LSTM
    with ``proj_size`` has a ``c_n`` of another width: not included). Their last layer's rows
    are the units' values at the last step, which a model may read instead of ``out``
    (``out, (h, c) = rnn(x); head(h[-1])``). Empty for other modules or unbatched inputs."""
    if not isinstance(module, nn.RNNBase) or not isinstance(output, tuple) or len(output) != 2:
        return []
    seq, states = output
    seq = seq.data if isinstance(seq, PackedSequence) else seq
    if not isinstance(seq, torch.Tensor):
        return []
    directions = 2 if module.bidirectional else 1
    found = list(states) if isinstance(states, (tuple, list)) else [states]
    return [h for h in found if isinstance(h, torch.Tensor) and h.dim() == 3
            and h.shape[0] >= directions and h.shape[-1] * directions == seq.shape[-1]]


def state_units(state: torch.Tensor, directions: int) -> torch.Tensor:
    """``(B, directions * H)``: the last layer's rows of a final state ``(L * D, B, H)``, in
    the unit order of the recurrent layer's output (forward direction first)."""
    last = state[state.shape[0] - directions:]                     # (D, B, H)
    return last.permute(1, 0, 2).reshape(last.shape[1], -1)


def _packed_units(seq: PackedSequence, tap: Tap,
                  batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(pooled, elements)`` of packed sequences: the mean over each sequence's own steps, and
    every real step (padding is never counted)."""
    padded, lengths = pad_packed_sequence(seq, batch_first=True)     # (B, S, d), (B,)
    if padded.shape[0] != batch:
        raise DataError(f"layer {tap.name!r} returned {padded.shape[0]} packed sequences for a "
                        f"batch of {batch} examples; choose another layer.")
    padded = padded.detach()
    if not padded.is_floating_point() or padded.dtype in (torch.float16, torch.bfloat16):
        padded = padded.float()
    lengths = lengths.to(padded.device)
    steps = torch.arange(padded.shape[1], device=padded.device)
    elements = padded[steps[None, :] < lengths[:, None]]            # (sum of lengths, d)
    pooled = padded.sum(1) / lengths[:, None].clamp(min=1).to(padded.dtype)   # (B, d)
    return pooled, elements


def to_units(output: Any, tap: Tap, batch: int,
             padding: tuple[torch.Tensor, int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(pooled, elements)`` of an output: ``(B, units)`` per-example unit values (mean over
    positions/time) and ``(B * positions, units)`` for element-wise counts (active, saturated).

    ``padding``: ``(lengths, T)`` of a batch of padded sequences. An output with one position
    axis of length ``T`` (a recurrent layer's sequence, an embedding) is then read over each
    example's real steps only: padded steps are neither averaged nor counted."""
    t = first_tensor(output)
    if isinstance(t, PackedSequence):
        return _packed_units(t, tap, batch)
    if not isinstance(t, torch.Tensor):
        raise DataError(f"layer {tap.name!r} returned {type(t).__name__}, not a tensor, so it "
                        "has no unit activations to inspect. Choose other layers=...")
    if not t.is_floating_point() or t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    t = t.detach()
    if t.dim() == 0:
        raise DataError(f"layer {tap.name!r} returned a scalar, which has no batch axis; choose "
                        "another layer.")
    if t.dim() == 1:
        t = t[:, None]                                       # (B,) -> (B, 1): one unit
    batch_axis = tap.batch_axis % t.dim()
    unit_axis = tap.unit_axis % t.dim() if -t.dim() <= tap.unit_axis < t.dim() else None
    if unit_axis is None or unit_axis == batch_axis:
        raise DataError(f"layer {tap.name!r}: unit axis {tap.unit_axis} does not fit its output "
                        f"of shape {tuple(t.shape)} (batch axis {batch_axis}). Pass "
                        f"layers={{{tap.name!r}: axis}} with the axis that indexes the units.")
    if t.shape[batch_axis] != batch:
        raise DataError(f"layer {tap.name!r} returned shape {tuple(t.shape)}, whose axis "
                        f"{batch_axis} is not the batch ({batch} examples); lamina can only "
                        "inspect outputs that keep one row per example. Choose another layer.")
    if t.dim() == 2:
        units = t if unit_axis == 1 else t.t()
        units = units.contiguous()                           # (B, d)
        return units, units
    moved = t.movedim((batch_axis, unit_axis), (0, -1))      # (B, ..., d)
    width = moved.shape[-1]
    if padding is not None and moved.dim() == 3 and moved.shape[1] == padding[1]:
        return _unpadded_units(moved, padding[0])
    elements = moved.reshape(-1, width)                      # (B * positions, d)
    pooled = elements.view(batch, -1, width).mean(1)         # (B, d) mean over positions
    return pooled, elements


def _unpadded_units(seq: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(pooled, elements)`` of padded sequences ``(B, T, d)``: the mean over each example's
    first ``lengths[b]`` steps, and those steps only (whatever the padding holds)."""
    lengths = lengths.to(seq.device).clamp(0, seq.shape[1])
    valid = torch.arange(seq.shape[1], device=seq.device)[None, :] < lengths[:, None]  # (B, T)
    elements = seq[valid]                                                   # (sum lengths, d)
    kept = torch.where(valid[..., None], seq, torch.zeros((), dtype=seq.dtype,
                                                           device=seq.device))
    pooled = kept.sum(1) / lengths[:, None].clamp(min=1).to(seq.dtype)      # (B, d)
    return pooled, elements
