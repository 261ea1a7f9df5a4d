"""CKA between layers of two models (or two layers of one model), streamed over the inputs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from itertools import zip_longest
from typing import Any

import torch

from .._errors import DataError, ParameterError
from .._validation import check_int, resolve_device
from ._cka import CKAAccumulator, _hsic_u_from_sums, _ratio
from ._data import Batch, DataSource
from ._hooks import eval_mode, forward_hooks, model_device, model_float_dtype, on_device
from ._model import resolve_model
from ._taps import Tap, resolve_taps, split_calls, to_units


def _pair(value: Any, name: str) -> tuple[Any, str]:
    if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], str)):
        raise ParameterError(name, value, "expected an activation matrix or a (model, "
                             "layer_name) pair, like the other argument",
                             f"Pass {name}=(model, 'hidden.0').")
    return value[0], value[1]


def _tap(net: Any, layer: str) -> tuple[Tap, int]:
    """The tap of ``layer`` and which of its calls per forward: ``"act#1"`` is the second
    call of a module run several times (as :func:`lamina.inspect` labels it), else call 0."""
    name, wanted = split_calls(layer)
    calls = wanted.get(name)
    return resolve_taps(net, [name])[0], min(calls) if calls else 0


def _in_step(a: DataSource, b: DataSource) -> Iterator[tuple[Batch, Batch]]:
    for batch_a, batch_b in zip_longest(a, b):
        if batch_a is None or batch_b is None:
            raise DataError("the two models read X into different numbers of rows; CKA "
                            "compares the same examples, so both must give one row per example.")
        yield batch_a, batch_b


def cka_models(A: Any, B: Any, X: Any, *, unbiased: bool, batch_size: int | None,
               device: Any) -> float:
    """Exact (or minibatch) linear CKA of ``A=(model, layer)`` and ``B=(model, layer)`` on X."""
    (model_a, layer_a), (model_b, layer_b) = _pair(A, "A"), _pair(B, "B")
    if X is None:
        raise ParameterError("X", None, "comparing (model, layer) pairs needs the inputs to run "
                             "through both models", "Pass X=... (an array or DataLoader).")
    ta, tb = resolve_model(model_a), resolve_model(model_b)
    tap_a, call_a = _tap(ta.net, layer_a)
    tap_b, call_b = _tap(tb.net, layer_b)
    calls = {"a": call_a, "b": call_b}
    dev = resolve_device(device) if device is not None else model_device(ta.net)
    rows = 1024 if batch_size is None else check_int("batch_size", batch_size, 4)
    nets = [ta.net] if tb.net is ta.net else [ta.net, tb.net]
    if len(nets) == 2 and (ta.reads_raw or tb.reads_raw):
        # each estimator preprocesses X its own way (its tokenizer, its normalisation): one
        # source per model, read in step (a one-shot iterator is read once, into a list)
        if hasattr(X, "__next__"):
            X = list(X)
        sources: Any = _in_step(DataSource(X, None, rows, ta, dev, model_float_dtype(ta.net)),
                                DataSource(X, None, rows, tb, dev, model_float_dtype(tb.net)))
    else:
        sources = ((batch, batch) for batch in DataSource(X, None, rows, ta, dev,
                                                          model_float_dtype(ta.net)))
    captured: dict[str, torch.Tensor] = {}

    def grab(key: str) -> Any:
        def callback(tap: Tap, call: int, output: Any) -> None:
            if call == calls[key]:
                captured[key] = to_units(output, tap, n_rows[0], pads[key])[0].double()
        return callback

    n_rows = [0]
    pads: dict[str, Any] = {"a": None, "b": None}    # each model's batch padding (lengths, T)
    acc = CKAAccumulator()
    sums = [0.0, 0.0, 0.0]
    with ExitStack() as stack, torch.inference_mode():
        for net in nets:
            stack.enter_context(on_device(net, dev))
            stack.enter_context(eval_mode(net))
        hooks_a = stack.enter_context(forward_hooks([tap_a], grab("a")))
        hooks_b = stack.enter_context(forward_hooks([tap_b], grab("b")))
        for batch_a, batch_b in sources:
            n_rows[0] = batch_a.n
            pads["a"], pads["b"] = batch_a.padding(), batch_b.padding()
            if batch_b.n != batch_a.n:
                raise DataError(f"the two models read X into different rows ({batch_a.n} vs "
                                f"{batch_b.n} in a batch); CKA compares the same examples, so "
                                "both must give one row per example.")
            # call indices count within one forward: reset them for every batch
            hooks_a.new_forward()
            hooks_b.new_forward()
            for net, batch in zip(nets, (batch_a, batch_b)):
                net(*batch.inputs)
            for key, hooks in (("a", hooks_a), ("b", hooks_b)):
                if key not in captured and hooks.calls[0]:
                    tap, n = hooks.taps[0], hooks.calls[0]
                    raise ParameterError(key, f"{tap.name}#{calls[key]}",
                                         f"module {tap.name!r} runs {n} time(s) per forward, "
                                         f"so its calls are #0..#{n - 1}",
                                         "Pass one of those (as lamina.inspect labels them).")
            if "a" not in captured or "b" not in captured:
                break                         # a layer did not run: check_fired names it
            a, b = captured.pop("a"), captured.pop("b")
            if batch_size is None:
                acc.update(a, b)
            elif a.shape[0] >= 4:
                block = CKAAccumulator()
                block.update(a, b)
                s, n = block.sums, block.n
                sums[0] += _hsic_u_from_sums(n, s["ab"], s["sa"], s["sb"], s["na"], s["nb"],
                                             s["nanb"], s["a_nb"], s["b_na"])
                sums[1] += _hsic_u_from_sums(n, s["aa"], s["sa"], s["sa"], s["na"], s["na"],
                                             s["na2"], s["a_na"], s["a_na"])
                sums[2] += _hsic_u_from_sums(n, s["bb"], s["sb"], s["sb"], s["nb"], s["nb"],
                                             s["nb2"], s["b_nb"], s["b_nb"])
        hooks_a.check_fired()
        hooks_b.check_fired()
    if batch_size is not None:
        if sums == [0.0, 0.0, 0.0]:
            raise DataError(f"no batch had the 4 rows the minibatch estimator needs "
                            f"(batch_size={batch_size}); pass more data.")
        return _ratio(*sums)
    return acc.cka(unbiased)
