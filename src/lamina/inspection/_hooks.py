"""Forward hooks and eval mode as context managers that always undo themselves."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from .._errors import DataError
from ._taps import Tap

# callback(tap, call_index, output): call_index counts calls of that module within one forward
Callback = Callable[..., Any]         # (tap, call, output) or, with_args, (..., args)


class HookSet:
    """Counts how often each tapped module ran, per forward and over the whole pass."""

    def __init__(self, taps: Sequence[Tap]) -> None:
        self.taps = list(taps)
        self.calls = [0] * len(self.taps)          # within the current forward
        self.total = [0] * len(self.taps)          # over all forwards

    def new_forward(self) -> None:
        self.calls = [0] * len(self.taps)

    def never_fired(self) -> list[str]:
        return [tap.name for tap, n in zip(self.taps, self.total) if n == 0]

    def check_fired(self) -> None:
        """A requested layer that never ran is an error naming it (not an empty result)."""
        missing = self.never_fired()
        if missing:
            ran = [tap.name for tap, n in zip(self.taps, self.total) if n > 0]
            raise DataError(
                f"layer(s) {', '.join(repr(m) for m in missing)} never ran during the forward "
                f"pass, so they have no activations (layers that did run: "
                f"{', '.join(repr(r) for r in ran) or 'none'}). The model's forward() does not "
                "call them (unused or replaced module?). Inspect other layers=... .")


@contextmanager
def forward_hooks(taps: Sequence[Tap], callback: Callback,
                  replace: bool = False, with_args: bool = False) -> Iterator[HookSet]:
    """Register a forward hook on every tap; removed in ``finally``, also when forward raises.

    With ``replace=True`` a non-None return value of ``callback`` replaces the module's output
    (used by ablation to zero units). With ``with_args=True`` the callback also gets the
    module's positional inputs: ``callback(tap, call, output, args)``.
    """
    hooks = HookSet(taps)
    handles = []

    def make(i: int, tap: Tap) -> Callable[[nn.Module, Any, Any], Any]:
        def hook(module: nn.Module, args: Any, output: Any) -> Any:
            call = hooks.calls[i]
            hooks.calls[i] += 1
            hooks.total[i] += 1
            result = callback(tap, call, output, args) if with_args else \
                callback(tap, call, output)
            return result if replace else None
        return hook

    try:
        for i, tap in enumerate(taps):
            handles.append(tap.module.register_forward_hook(make(i, tap)))
        yield hooks
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """Put every submodule in eval mode; restore each one's own mode afterwards."""
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        yield
    finally:
        for module, mode in modes:
            module.training = mode


@contextmanager
def on_device(model: nn.Module, device: torch.device | None) -> Iterator[None]:
    """Run on ``device``: move the model there if needed and back afterwards."""
    home = model_device(model)
    move = device is not None and device != home
    try:
        if move:
            model.to(device)
        yield
    finally:
        if move:
            model.to(home)


def model_device(model: nn.Module) -> torch.device:
    for tensor in list(model.parameters()) + list(model.buffers()):
        return tensor.device
    return torch.device("cpu")


def model_float_dtype(model: nn.Module) -> torch.dtype:
    for tensor in list(model.parameters()) + list(model.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.get_default_dtype()
