"""Run directories: ``config.json`` + ``weights.safetensors`` + ``history.jsonl``.

No pickle: weights are safetensors, everything else JSON. ``config.json`` is written last and
records the SHA-256 of the weights file, of ``history.jsonl`` and of its own content (every key
but ``config_sha256``, serialised with sorted keys), so a partly written, corrupt or edited
directory is refused with a clear :class:`~lamina.RunDirError`. Loading never imports or executes anything named in
the files: the estimator class is looked up in a fixed registry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import RunDirError
from ..train import History, atomic_write_bytes, atomic_write_text

FORMAT = "lamina-run"
FORMAT_VERSION = 1

# class name -> (class, to_config, from_config); filled by register_estimator
_REGISTRY: dict[str, tuple[type, Callable[[Any], dict[str, Any]],
                           Callable[[dict[str, Any], dict[str, Any]], Any]]] = {}


def register_estimator(cls: type, to_config: Callable[[Any], dict[str, Any]],
                       from_config: Callable[[dict[str, Any], dict[str, Any]], Any]) -> None:
    """Make ``cls`` saveable/loadable: ``to_config(est) -> dict`` (JSON-able fitted state) and
    ``from_config(config, weights) -> est``."""
    _REGISTRY[cls.__name__] = (cls, to_config, from_config)


def _jsonable_params(params: dict[str, Any]) -> dict[str, Any]:
    from ..spec import HiddenSpec, parse_spec

    out: dict[str, Any] = {}
    for key, value in params.items():
        if key == "hidden_layer_sizes" and (isinstance(value, HiddenSpec) or any(
                hasattr(v, "to_dict") for v in (value if isinstance(value, (tuple, list))
                                                else [value]))):
            value = str(parse_spec(value))  # layer dataclasses / a HiddenSpec: its spec string
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, np.random.RandomState):
            value = None  # a RandomState object cannot be stored; the fitted weights are
        elif hasattr(value, "type") and type(value).__name__ == "device":
            value = str(value)
        elif hasattr(value, "is_floating_point") or type(value).__name__ == "dtype":
            value = str(value).replace("torch.", "")
        out[key] = value
    return out


def _content_digest(config: dict[str, Any]) -> str:
    body = {k: v for k, v in config.items() if k != "config_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()


def write_run(root: Path, blob: bytes, history: History, config: dict[str, Any]) -> Path:
    """Write a run directory: the checksums go into ``config``, which is serialised before any
    file is written (a value JSON cannot hold fails first) and written last."""
    if root.exists() and not root.is_dir():
        raise RunDirError(f"cannot save into {str(root)!r}: it is a file, and a run is a "
                          "directory. Pass a new or existing folder, e.g. 'runs/my-model'.")
    history_text = history.to_jsonl()
    config = dict(config, weights_sha256=hashlib.sha256(blob).hexdigest(),
                  history_sha256=hashlib.sha256(history_text.encode("utf-8")).hexdigest())
    try:
        config["config_sha256"] = _content_digest(config)
        text = json.dumps(config, indent=2, sort_keys=True)
    except (TypeError, ValueError) as err:
        raise RunDirError(f"cannot write {root / 'config.json'}: {err}. Use plain parameter "
                          "values (numbers, strings, tuples, spec strings).") from None
    atomic_write_bytes(root / "weights.safetensors", blob)
    atomic_write_text(root / "history.jsonl", history_text)
    atomic_write_text(root / "config.json", text)           # last: marks the directory complete
    return root


def save_run(est: Any, path: Any) -> Path:
    """Save a fitted estimator into the run directory ``path`` (created if needed)."""
    from safetensors.torch import save

    name = type(est).__name__
    if name not in _REGISTRY:
        raise RunDirError(f"{name} cannot be saved as a run directory: not a registered lamina "
                          "estimator.")
    _, to_config, _ = _REGISTRY[name]
    root = Path(path)
    payload = getattr(est, "_run_payload", None)
    if payload is not None:         # an estimator over others (HiddenKNNDetector): see there
        state, network, history, params, nested = payload(root)
    else:
        state = dict(est.module_.state_dict())
        network, history, nested = est.module_.config(), est.history_, {}
        params = est.get_params(deep=False)
    blob = save({k: v.detach().contiguous().cpu() for k, v in state.items()})
    config = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "lamina_version": _version(), "estimator": name,
        "params": _jsonable_params(params),
        "network": network,
        "fitted": to_config(est),
    }
    if nested:                      # sub-runs, each saved and checked as a run of its own
        config["nested_runs"] = {key: {"path": sub, "config_sha256":
                                       _read_config(root / sub)["config_sha256"]}
                                 for key, sub in nested.items()}
    return write_run(root, blob, history, config)


def _version() -> str:
    from .. import __version__

    return __version__


def load(path: Any, *, device: Any = None) -> Any:
    """Load a run directory written by ``est.save(path)``; returns the fitted estimator.

    Nothing is unpickled or executed: ``config.json`` names the estimator class from a fixed
    registry, and the weights are read from ``weights.safetensors`` after their SHA-256 is
    checked against the one ``config.json`` recorded.

    Parameters
    ----------
    path : str or Path
        The run directory (``config.json``, ``weights.safetensors``, ``history.jsonl``), as
        written by ``est.save(path)`` or ``lamina train --out``.
    device : str or torch.device, optional
        Move the loaded model there and set the estimator's ``device`` to it; None leaves the
        weights where they are read (the CPU).

    Examples
    --------
    >>> import tempfile, numpy as np, lamina
    >>> X, y = np.random.default_rng(0).normal(size=(40, 3)), np.arange(40) % 2
    >>> clf = lamina.MLPClassifier((4,), max_iter=5, random_state=0).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = clf.save(d + "/run")
    ...     same = lamina.load(d + "/run")
    >>> bool((same.predict_proba(X) == clf.predict_proba(X)).all())
    True

    Raises
    ------
    RunDirError
        When a file is missing, unreadable, not lamina's format, or the weights do not match
        the checksum or the architecture recorded in ``config.json``.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load as load_bytes

    root = Path(path)
    if root.is_file():
        raise RunDirError(f"{str(root)!r} is a file; a run is a directory (config.json, "
                          "weights.safetensors, history.jsonl). Pass the folder given to "
                          "est.save(...) or `lamina train --out`.")
    if not root.is_dir():
        raise RunDirError(f"run directory {str(root)!r} does not exist. Pass the folder given to "
                          "est.save(...) or `lamina train --out`.")
    config = _read_config(root)
    if "config_sha256" not in config:
        raise RunDirError(f"{root / 'config.json'} records no SHA-256 of its content: it was "
                          "edited (the checksum removed) or saved by a lamina from before run "
                          "checksums, and an unchecked config could silently change "
                          "predictions. Retrain the model and save it with this lamina "
                          "(est.save(path) or lamina train --out).")
    if _content_digest(config) != config["config_sha256"]:
        raise RunDirError(f"{root / 'config.json'} does not match the SHA-256 it recorded when "
                          "it was saved: the file was edited or is corrupt, and a changed "
                          "architecture or label list would silently change predictions. "
                          "Re-save the model.")
    name = config.get("estimator")
    if name not in _REGISTRY:
        raise RunDirError(f"{root / 'config.json'}: estimator {name!r} is not a lamina estimator "
                          f"(known: {', '.join(sorted(_REGISTRY))}); refusing to load it.")
    weights_path = root / "weights.safetensors"
    if not weights_path.is_file():
        raise RunDirError(f"{weights_path} is missing; the run directory is incomplete. Re-save "
                          "the model.")
    blob = weights_path.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != config.get("weights_sha256"):
        raise RunDirError(f"{weights_path} does not match the SHA-256 recorded in config.json "
                          f"(got {digest[:12]}…, expected {str(config.get('weights_sha256'))[:12]}"
                          "…): the file is corrupt or was modified. Re-save the model.")
    try:
        weights = load_bytes(blob)
    except (SafetensorError, ValueError, OSError) as err:
        raise RunDirError(f"{weights_path} is not a valid safetensors file ({err}).") from None
    cls, _, from_config = _REGISTRY[name]
    nested = _load_nested(root, config, device)
    if nested:
        config = dict(config, nested=nested)
    try:
        est = from_config(config, weights)
    except RunDirError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as err:
        raise RunDirError(f"{root}: config.json and weights.safetensors do not describe a "
                          f"valid {name} ({type(err).__name__}: {err}). Re-save the model.") \
            from None
    history_path = root / "history.jsonl"
    want = config.get("history_sha256")
    if want is not None and (not history_path.is_file() or
                             hashlib.sha256(history_path.read_bytes()).hexdigest() != want):
        raise RunDirError(f"{history_path} is missing or does not match the SHA-256 recorded in "
                          "config.json: the file was modified or is corrupt. Re-save the model.")
    try:
        history = History.load(history_path) if history_path.is_file() else History()
    except (json.JSONDecodeError, OSError, AttributeError, TypeError, ValueError) as err:
        raise RunDirError(f"{history_path} is not valid JSON lines of epoch records "
                          f"({type(err).__name__}: {err}).") from None
    if nested:                      # trained nothing itself: the sub-runs hold the histories
        return est
    est.history_ = history
    est.history_.stop_reason = getattr(est, "stop_reason_", "")
    if device is not None:
        est.set_params(device=device)
        from .._validation import resolve_device

        est.module_.to(resolve_device(device))
    return est


def _load_nested(root: Path, config: dict[str, Any], device: Any) -> dict[str, Any]:
    """The sub-runs a run names in ``nested_runs``, each loaded (and checked) as a run, and
    refused when its config is not the one recorded at saving (a swapped model)."""
    entries = config.get("nested_runs") or {}
    if not isinstance(entries, dict):
        raise RunDirError(f"{root / 'config.json'}: nested_runs is not a mapping. Re-save.")
    out: dict[str, Any] = {}
    for key, entry in entries.items():
        sub = entry.get("path") if isinstance(entry, dict) else None
        if not isinstance(sub, str) or "/" in sub or "\\" in sub or sub in ("", ".", ".."):
            raise RunDirError(f"{root / 'config.json'}: nested run {key!r} has no plain folder "
                              f"name ({sub!r}). Re-save the model.")
        inner = root / sub
        if _read_config(inner).get("config_sha256") != entry.get("config_sha256"):
            raise RunDirError(f"{inner} is not the run that was saved with {root} (its "
                              "config.json SHA-256 differs): it was replaced or edited. "
                              "Re-save the model.")
        out[key] = load(inner, device=device)
    return out


def _read_config(root: Path) -> dict[str, Any]:
    cfg_path = root / "config.json"
    if not cfg_path.is_file():
        raise RunDirError(f"{cfg_path} is missing: {str(root)!r} is not a lamina run directory "
                          "(expected config.json, weights.safetensors, history.jsonl).")
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RunDirError(f"{cfg_path} is not valid JSON ({err}). The file is corrupt; re-save "
                          "the model.") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise RunDirError(f"{cfg_path} is not a lamina run config (format "
                          f"{config.get('format') if isinstance(config, dict) else None!r}, "
                          f"expected {FORMAT!r}).")
    if config.get("format_version") != FORMAT_VERSION:
        raise RunDirError(f"{cfg_path} has format_version {config.get('format_version')!r}; "
                          f"this lamina reads version {FORMAT_VERSION}. Upgrade lamina.")
    return config
