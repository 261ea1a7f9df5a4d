"""Run directories of the deep estimators, in the same format :func:`lamina.load` reads.

Parameters are stored as tagged JSON so every value comes back exactly: tuples stay tuples and
a ``HiddenSpec`` comes back as a ``HiddenSpec`` (``{"__spec__": [layer dicts]}``). Fitted state
beyond the weights (classes, tokenizer vocabulary, scalers) is whatever the class's
``_fitted_state`` returns, as JSON. No pickle anywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._errors import RunDirError
from ..spec import HiddenSpec
from ._persist import FORMAT, FORMAT_VERSION, _version, register_estimator, write_run

_COMMON = ("n_iter_", "loss_curve_", "stop_reason_", "validation_scores_",
           "best_validation_score_", "n_features_in_")


def encode_param(value: Any) -> Any:
    """A parameter value as tagged JSON (see the module docstring)."""
    if isinstance(value, HiddenSpec):
        return {"__spec__": value.to_list()}
    if hasattr(value, "kind") and hasattr(value, "to_dict"):           # one layer dataclass
        return {"__spec__": [value.to_dict()], "__layer__": True}
    if isinstance(value, tuple):
        return {"__tuple__": [encode_param(v) for v in value]}
    if isinstance(value, list):
        return [encode_param(v) for v in value]
    if isinstance(value, dict):
        return {"__dict__": {str(k): encode_param(v) for k, v in value.items()}}
    if isinstance(value, np.random.RandomState):
        return None  # a RandomState cannot be stored; the fitted weights are
    if isinstance(value, (torch.device, torch.dtype)):
        return str(value).replace("torch.", "")
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise RunDirError(f"cannot store the parameter value {value!r} ({type(value).__name__}) in "
                      "config.json. Use plain values (numbers, strings, tuples, spec strings).")


def decode_param(value: Any) -> Any:
    if isinstance(value, list):
        return [decode_param(v) for v in value]
    if isinstance(value, dict):
        if "__spec__" in value:
            spec = HiddenSpec.from_list(value["__spec__"])
            return spec.layers[0] if value.get("__layer__") else spec
        if "__tuple__" in value:
            return tuple(decode_param(v) for v in value["__tuple__"])
        if "__dict__" in value:
            return {k: decode_param(v) for k, v in value["__dict__"].items()}
    return value


def save_deep(est: Any, path: Any) -> Path:
    """Save a fitted deep estimator into the run directory ``path`` (created if needed)."""
    from safetensors.torch import save

    root = Path(path)
    state = {k: v.detach().contiguous().cpu() for k, v in est.module_.state_dict().items()}
    blob = save(state)
    fitted = {k: _plain(getattr(est, k, None)) for k in _COMMON}
    fitted["state"] = est._fitted_state()
    config = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "lamina_version": _version(),
        "estimator": type(est).__name__,
        "params": {k: encode_param(v) for k, v in est.get_params(deep=False).items()},
        "network": est.module_.config(),
        "fitted": fitted,
    }
    return write_run(root, blob, est.history_, config)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return value


def register(cls: type) -> None:
    """Register ``cls`` with the run-directory registry used by :func:`lamina.load`."""

    def to_config(est: Any) -> dict[str, Any]:   # save_run's protocol; save_deep writes itself
        return {}

    def from_config(config: dict[str, Any], weights: dict[str, torch.Tensor]) -> Any:
        params = {k: decode_param(v) for k, v in config["params"].items()}
        est = cls(**params)
        module = cls._module_from_config(config["network"])  # type: ignore[attr-defined]
        expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
        got = {k: tuple(v.shape) for k, v in weights.items()}
        if expected != got:
            missing = sorted(set(expected) - set(got))
            extra = sorted(set(got) - set(expected))
            wrong = sorted(k for k in set(expected) & set(got) if expected[k] != got[k])
            raise RunDirError(f"weights.safetensors does not fit the network in config.json "
                              f"(missing {missing}, unexpected {extra}, wrong shapes {wrong}).")
        floats = [v.dtype for v in weights.values() if v.is_floating_point()]
        module = module.to(dtype=floats[0] if floats else torch.float32)
        module.load_state_dict(weights)
        module.eval()
        est.module_ = module
        fitted = config["fitted"]
        for key in _COMMON:
            value = fitted.get(key)
            if key in fitted and not (key == "n_features_in_" and value is None):
                setattr(est, key, float(value) if value in ("nan", "inf", "-inf") else value)
        est._restore_state(fitted.get("state") or {})
        return est

    register_estimator(cls, to_config, from_config)


__all__ = ["save_deep", "register", "encode_param", "decode_param"]
