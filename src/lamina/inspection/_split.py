"""Which side of an encoder/decoder split each inspected layer is on, from the model's structure
and the order its modules run in - never from what the modules are called.

The "redundant layer" flag spares a pair of layers on opposite sides of a split: a decoder is
built to undo (or translate from) its encoder, so a decoder layer that resembles an encoder
layer is the goal, and neither side can give up a layer to the other.

The split is found in the first batch's forward pass, whose module calls are recorded in the
order they finish:

* a model that declares its encoder - lamina's ``nn.Autoencoder`` and ``nn.Seq2Seq``, a model
  with ``get_encoder()``/``get_decoder()`` (Hugging Face's encoder-decoder models), one holding
  exactly one ``nn.TransformerEncoder`` and one ``nn.TransformerDecoder`` (``nn.Transformer``):
  the encoder's side is everything that finished by the time the encoder did;
* otherwise a model that reconstructs its input through a bottleneck - its output has the
  input's per-example shape and some module's output has fewer values per example than the
  input: the first narrowest such output (the code) ends the encoder's side.

Any other model has no split, whatever its modules are named. Run order stands in for the data
path, so a narrow side branch (a squeeze-and-excitation gate) in a same-shape model can be taken
for the code: a redundant pair across it then goes unflagged, which is the cautious error.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .._errors import DataError
from ._taps import first_tensor
from ._targets import model_output

ENCODER = "encoder"
DECODER = "decoder"


@dataclass(frozen=True)
class ModuleCall:
    """One finished call of a submodule during a forward pass."""

    name: str               # module name in the model
    call: int               # which call of that module within the forward
    leaf: bool              # a module without children
    size: float | None      # values per example of its output; None: no per-example tensor


@contextmanager
def run_order(net: nn.Module, rows: int) -> Iterator[list[ModuleCall]]:
    """Record every submodule call of the forward passes run inside, in the order the calls
    finish (``rows``: examples in the batch). The hooks are removed in ``finally``."""
    calls: list[ModuleCall] = []
    counts: dict[str, int] = {}
    handles = []

    def make(name: str, leaf: bool) -> Any:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            call = counts.get(name, 0)
            counts[name] = call + 1
            calls.append(ModuleCall(name, call, leaf, _values_per_example(output, rows)))
        return hook

    try:
        for name, module in net.named_modules():
            if name:
                leaf = next(module.children(), None) is None
                handles.append(module.register_forward_hook(make(name, leaf)))
        yield calls
    finally:
        for handle in handles:
            handle.remove()


def _values_per_example(output: Any, rows: int) -> float | None:
    t = first_tensor(output)
    if not isinstance(t, torch.Tensor) or t.dim() == 0 or rows not in tuple(t.shape[:2]):
        return None           # a packed sequence, a non-tensor, or no batch axis (a table)
    return t.numel() / rows


def coder_sides(net: nn.Module, calls: list[ModuleCall], x: torch.Tensor,
                output: Any) -> dict[tuple[str, int], str]:
    """``{(module name, call): "encoder" | "decoder"}`` of every recorded call, or ``{}`` when
    the model has no encoder/decoder split (see the module docstring)."""
    end = _declared_end(net, calls)
    if end is None:
        end = _bottleneck_end(calls, x, output)
    if end is None:
        return {}
    return {(c.name, c.call): ENCODER if i <= end else DECODER for i, c in enumerate(calls)}


def declared_encoder(net: nn.Module) -> nn.Module | None:
    """The encoder a model declares by its type or API (None when it declares none)."""
    from ..nn import Autoencoder, Seq2Seq

    if isinstance(net, (Autoencoder, Seq2Seq)):
        return net.encoder
    encoder = _api_encoder(net)
    if encoder is not None:
        return encoder
    encoders = [m for m in net.modules() if isinstance(m, nn.TransformerEncoder)]
    decoders = [m for m in net.modules() if isinstance(m, nn.TransformerDecoder)]
    return encoders[0] if len(encoders) == 1 and len(decoders) == 1 else None


def _api_encoder(net: nn.Module) -> nn.Module | None:
    """``net.get_encoder()`` when ``net`` also has a ``get_decoder()`` and the two are separate
    submodules (Hugging Face's encoder-decoder convention)."""
    get_encoder, get_decoder = getattr(net, "get_encoder", None), getattr(net, "get_decoder", None)
    if not (callable(get_encoder) and callable(get_decoder)):
        return None
    try:
        encoder, decoder = get_encoder(), get_decoder()
    except Exception:  # noqa: BLE001 - a decoder-only model may refuse; it declares no split
        return None
    if not (isinstance(encoder, nn.Module) and isinstance(decoder, nn.Module)):
        return None
    if net in (encoder, decoder) or any(m is decoder for m in encoder.modules()) \
            or any(m is encoder for m in decoder.modules()):
        return None
    return encoder


def _declared_end(net: nn.Module, calls: list[ModuleCall]) -> int | None:
    """Index of the call that finished the declared encoder's first run, when more ran after."""
    encoder = declared_encoder(net)
    if encoder is None:
        return None
    name = next((n for n, m in net.named_modules() if m is encoder), None)
    end = next((i for i, c in enumerate(calls) if c.name == name and c.call == 0), None)
    return end if end is not None and end < len(calls) - 1 else None


def _bottleneck_end(calls: list[ModuleCall], x: torch.Tensor, output: Any) -> int | None:
    """Index of the code's call when the model reconstructs ``x`` through a narrower output."""
    try:
        out = model_output(output)
    except DataError:
        return None
    if tuple(out.shape) != tuple(x.shape) or not out.is_floating_point():
        return None
    sizes = [(c.size, i) for i, c in enumerate(calls) if c.leaf and c.size is not None]
    if not sizes:
        return None
    size, end = min(sizes)                        # the first of the narrowest outputs
    narrower = size < math.prod(x.shape[1:])
    return end if narrower and end < len(calls) - 1 else None
