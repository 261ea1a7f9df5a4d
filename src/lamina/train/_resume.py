"""What a checkpoint must hold for a resumed fit to continue exactly as an uninterrupted one.

Besides the weights and the History: the fit's counters (epoch, step, samples seen, elapsed
time, learning rate, where the fit began), the optimizer's state (the explicit engine's moments
and step count, or a torch optimizer's ``state_dict`` — L-BFGS's history lists included), the
random generators (the batch/dropout generator and torch's global one, which autograd-path
dropout draws from), the stopping rules' counters, best-weight snapshots and set-up (a
monitoring rule's ``monitor`` and resolved ``mode``, checked on resume), and an adaptive
learning-rate plateau. Tensors go to safetensors; everything else to JSON (``encode`` swaps each
tensor of a nested structure for a ``{"__tensor__": key}`` reference).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .._errors import ParameterError
from ._state import TrainState
from ._stopping import StopRule

FORMAT_VERSION = 1


def encode(obj: Any, key: str, tensors: dict[str, torch.Tensor]) -> Any:
    """``obj`` as JSON-able data; its tensors are moved into ``tensors`` under keys from
    ``key``."""
    if isinstance(obj, torch.Tensor):
        tensors[key] = obj.detach().to("cpu", copy=True).contiguous()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        return {"__items__": [[encode(k, f"{key}/k{i}", tensors), encode(v, f"{key}/{i}", tensors)]
                              for i, (k, v) in enumerate(obj.items())]}
    if isinstance(obj, (list, tuple)):
        items = [encode(v, f"{key}/{i}", tensors) for i, v in enumerate(obj)]
        return {"__tuple__": items} if isinstance(obj, tuple) else items
    if isinstance(obj, float) and not math.isfinite(obj):
        return {"__float__": repr(obj)}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise ParameterError("checkpoint_dir", type(obj).__name__, "a checkpoint stores tensors, "
                         "numbers, strings, lists and dicts", "Use built-in optimizers.")


def decode(data: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(data, list):
        return [decode(v, tensors) for v in data]
    if isinstance(data, dict):
        if "__tensor__" in data:
            return tensors[data["__tensor__"]]
        if "__items__" in data:
            return {decode(k, tensors): decode(v, tensors) for k, v in data["__items__"]}
        if "__tuple__" in data:
            return tuple(decode(v, tensors) for v in data["__tuple__"])
        if "__float__" in data:
            return float(data["__float__"])
    return data


_COUNTERS = ("epoch", "step", "start_epoch", "start_step", "samples_seen", "elapsed", "lr",
             "finite")


def capture(state: TrainState, rules: list[StopRule], runner: Any,
            generator: torch.Generator, adaptive_lr0: float | None, seed: int,
            engine: str | None, optimizer: str = "") -> tuple[dict[str, torch.Tensor],
                                                              dict[str, Any]]:
    """The trainer's state after an epoch: ``(tensors, info)``."""
    tensors: dict[str, torch.Tensor] = {"rng/generator": generator.get_state(),
                                        "rng/torch": torch.get_rng_state()}
    info: dict[str, Any] = {
        "version": FORMAT_VERSION, "seed": seed, "engine": engine, "optimizer_name": optimizer,
        "counters": {k: encode(getattr(state, k), k, tensors) for k in _COUNTERS},
        "adaptive_lr0": adaptive_lr0,
        "optimizer": encode(runner.state_dict(), "opt", tensors),
        "exhausted": bool(getattr(runner, "exhausted", False)),
        "rules": [],
    }
    for i, rule in enumerate(rules):
        best = getattr(rule, "_best_weights", None)
        info["rules"].append({
            "class": type(rule).__name__, "config": rule.config(),
            "state": {k: encode(getattr(rule, k), f"rule{i}/{k}", tensors) for k in rule._state},
            "best_weights": None if best is None else encode(best, f"rule{i}/best", tensors)})
    return tensors, info


def restore(info: dict[str, Any], tensors: dict[str, torch.Tensor], state: TrainState,
            rules: list[StopRule], runner: Any, generator: torch.Generator,
            engine: str | None = None, optimizer: str = "") -> None:
    """Put the state ``capture`` saved back into a fresh fit's objects (rules already reset);
    a checkpoint of another optimizer or training path is refused by name."""
    if info.get("version") != FORMAT_VERSION:
        raise ParameterError("checkpoint_dir", info.get("version"), f"a checkpoint of format "
                             f"version {FORMAT_VERSION}", "Resume with the lamina that wrote it.")
    for what, saved, now, fix in (
            ("optimizer", info.get("optimizer_name"), optimizer, "Resume with the same optimizer."),
            ("engine", info.get("engine"), engine, "Resume with the same data form (in-memory "
             "arrays train on the explicit engine, loaders on autograd) and engine=.")):
        if saved and now and saved != now:
            raise ParameterError(what, now, f"the checkpointed fit's {what} {saved!r} (its "
                                 "optimizer state cannot continue another)", fix)
    saved = [r["class"] for r in info["rules"]]
    have = [type(r).__name__ for r in rules]
    if saved != have:
        raise ParameterError("stop", have, f"the stopping rules of the checkpointed fit, in "
                             f"order: {saved} (a bound such as MaxEpochs(n) may change its n)",
                             "Resume with the same kinds of rules as the fit that wrote it.")
    for rule, saved_rule in zip(rules, info["rules"]):
        _check_config(rule, saved_rule.get("config"))
    for name, value in info["counters"].items():
        setattr(state, name, decode(value, tensors))
    for rule, saved_rule in zip(rules, info["rules"]):
        for name, value in saved_rule["state"].items():
            setattr(rule, name, decode(value, tensors))
        if saved_rule["best_weights"] is not None:
            best = decode(saved_rule["best_weights"], tensors)
            device = next(iter(state.model.state_dict().values())).device
            rule._best_weights = {k: v.to(device) for k, v in best.items()}  # type: ignore[attr-defined]
    runner.load_state_dict(decode(info["optimizer"], tensors))
    runner.exhausted = bool(info.get("exhausted", False))
    generator.set_state(tensors["rng/generator"])


def _check_config(rule: StopRule, saved: dict[str, Any] | None) -> None:
    """Refuse a rule that watches another value or direction than the checkpointed one: its
    saved best value would be compared the wrong way (checkpoints of earlier versions hold no
    config and are not checked)."""
    now = rule.config()
    if saved is None or saved == now:
        return
    raise ParameterError("stop", rule, f"the checkpointed fit's {type(rule).__name__} watched "
                         f"{saved}, this one {now} (its saved best value is only comparable "
                         "in the same direction)", "Resume with the same monitor and mode.")


__all__ = ["capture", "restore", "encode", "decode"]
