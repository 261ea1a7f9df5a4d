"""Saving and loading an inspection: Parquet tables + one JSON file, each written atomically.

Layout of the directory::

    inspection.json        settings, model summary, input info, layer list, small results
    units.parquet          per-unit statistics (as streamed)
    topk.parquet           per-unit top/bottom-k values and row indices
    sketch.parquet         per-unit histogram sketches (grid exponent, offset, counts)
    sample.parquet         sampled row indices, their labels and inputs
    sample_<i>.parquet     sampled unit values of layer i
    probe.parquet, ablation.parquet, gradient_layers.parquet, gradient_units.parquet (if run)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import RunDirError
from ..train import atomic_write, atomic_write_text
from ._tables import sample_valid

FORMAT = "lamina.inspection"
VERSION = 1
_STAT_KEYS = ("count", "mean", "std", "min", "max", "mean_abs", "frac_active", "saturated",
              "nonfinite")
_QS = ("q05", "q25", "q50", "q75", "q95")
# lamina kinds without parameters, as older saves named them (class names for gap/flatten)
_PARAMETER_FREE_KINDS = frozenset({"pool", "gap", "flatten", "seqpool", "GlobalAvgPool",
                                   "FlattenLayer"})


def _parquet(frame: pd.DataFrame, path: Path) -> None:
    atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def save_inspection(ins: Any, path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    unit_rows, top_rows, sketch_rows = [], [], []
    for i, rec in enumerate(ins.records):
        st = rec.stats
        frame = pd.DataFrame({"layer": rec.name, "unit": np.arange(rec.width),
                              **{k: st[k] for k in _STAT_KEYS}})
        for j, q in enumerate(_QS):
            frame[q] = st["quantiles"][:, j]
        unit_rows.append(frame)
        k = st["top_val"].shape[0]
        top_rows.append(pd.DataFrame({
            "layer": rec.name, "unit": np.tile(np.arange(rec.width), k),
            "rank": np.repeat(np.arange(k), rec.width),
            "top_val": st["top_val"].ravel().astype(np.float64), "top_idx": st["top_idx"].ravel(),
            "bottom_val": st["bottom_val"].ravel().astype(np.float64),
            "bottom_idx": st["bottom_idx"].ravel()}))
        sketch_rows.append(pd.DataFrame({"layer": rec.name, "unit": np.arange(rec.width),
                                         "e": st["sketch_e"], "t": st["sketch_t"],
                                         "counts": list(st["sketch_counts"])}))
        sample = np.asarray(st["sample"])
        _parquet(pd.DataFrame(sample, columns=[f"u{j}" for j in range(sample.shape[1])]),
                 path / f"sample_{i}.parquet")
    _parquet(pd.concat(unit_rows, ignore_index=True), path / "units.parquet")
    _parquet(pd.concat(top_rows, ignore_index=True), path / "topk.parquet")
    _parquet(pd.concat(sketch_rows, ignore_index=True), path / "sketch.parquet")
    sample = pd.DataFrame({"index": ins.sample_index})
    y_kind = None
    if ins.sample_y is not None:
        y = np.asarray(ins.sample_y)
        y_kind = y.dtype.kind
        sample["y"] = list(y) if y.ndim > 1 else (y.astype(str) if y.dtype.kind == "O" else y)
    if ins.sample_x is not None:
        x = np.asarray(ins.sample_x)
        sample = pd.concat([sample, pd.DataFrame(x, columns=[f"x{j}" for j in range(x.shape[1])])],
                           axis=1)
    _parquet(sample, path / "sample.parquet")
    results: dict[str, Any] = {}
    for key, value in ins.results.items():
        if key.startswith("cka_"):
            results[key] = value.to_numpy().tolist()
        elif key in ("probe", "ablation"):
            _parquet(value, path / f"{key}.parquet")
            results[key] = dict(value.attrs)
        elif key == "gradient_flow":
            _parquet(value.layers, path / "gradient_layers.parquet")
            _parquet(value.units, path / "gradient_units.parquet")
            results[key] = {}
    doc = {
        "format": FORMAT, "version": VERSION, "meta": ins.meta, "input_info": ins.input_info,
        "y_kind": y_kind, "results": results,
        "layers": [{"name": r.name, "module": r.module, "call": r.call, "kind": r.kind,
                    "activation": r.activation, "parameter_free": r.parameter_free,
                    "side": r.side,
                    "shape": list(r.shape), "width": r.width,
                    "rows": int(r.stats["rows"]), "elements": int(r.stats["elements"]),
                    "sample_missing": np.flatnonzero(~sample_valid(r.stats)).tolist()}
                   for r in ins.records],
    }
    text = json.dumps(doc, indent=1, default=_json_default)
    atomic_write_text(path / "inspection.json", text)
    return path


def _parameter_free(info: dict[str, Any]) -> bool:
    """A saved layer's ``parameter_free``; inspections saved before it existed name the kind."""
    if "parameter_free" in info:
        return bool(info["parameter_free"])
    return info["kind"] in _PARAMETER_FREE_KINDS


def _side(info: dict[str, Any]) -> str | None:
    """A saved layer's encoder/decoder ``side``; inspections saved before it existed exempted
    layers by module name, and are read the way they were flagged then."""
    if "side" in info:
        return info["side"]
    from ._flags import _coder_side

    return _coder_side(info["module"])


def load_inspection(path: Path) -> Any:
    from ._gradflow import GradientFlow
    from ._inspection import Inspection, LayerRecord

    doc_path = path / "inspection.json"
    if not doc_path.is_file():
        raise RunDirError(f"{path} holds no saved inspection (inspection.json is missing); "
                          "write one with ins.save(path) or `lamina inspect RUN DATA`.")
    try:
        doc = json.loads(doc_path.read_text())
        if doc.get("format") != FORMAT:
            raise ValueError("not an inspection")
        units = pd.read_parquet(path / "units.parquet")
        tops = pd.read_parquet(path / "topk.parquet")
        sketches = pd.read_parquet(path / "sketch.parquet")
        sample = pd.read_parquet(path / "sample.parquet")
    except (OSError, ValueError, KeyError) as err:
        raise RunDirError(f"{path} holds a damaged inspection ({err}); write it again with "
                          "ins.save(path).") from None
    records = []
    for i, info in enumerate(doc["layers"]):
        name, width = info["name"], int(info["width"])
        u = units[units["layer"] == name].sort_values("unit")
        t = tops[tops["layer"] == name].sort_values(["rank", "unit"])
        s = sketches[sketches["layer"] == name].sort_values("unit")
        k = len(t) // max(width, 1)
        stats: dict[str, Any] = {key: u[key].to_numpy() for key in _STAT_KEYS}
        stats["quantiles"] = u[list(_QS)].to_numpy(dtype=np.float64)
        for key in ("top_val", "top_idx", "bottom_val", "bottom_idx"):
            stats[key] = t[key].to_numpy().reshape(k, width)
        stats["sketch_e"] = s["e"].to_numpy(np.int64)
        stats["sketch_t"] = s["t"].to_numpy(np.int64)
        stats["sketch_counts"] = np.stack([np.asarray(c, dtype=np.int64) for c in s["counts"]])
        stats["sample"] = pd.read_parquet(path / f"sample_{i}.parquet").to_numpy(np.float32)
        stats["rows"], stats["elements"] = info["rows"], info["elements"]
        valid = np.ones(len(stats["sample"]), dtype=bool)
        valid[np.asarray(info.get("sample_missing", []), dtype=np.int64)] = False
        stats["sample_valid"] = valid
        records.append(LayerRecord(name, info["module"], int(info["call"]), info["kind"],
                                   info["activation"], tuple(info["shape"]), width, stats,
                                   _parameter_free(info), _side(info)))
    x_cols = [c for c in sample.columns if c.startswith("x")]
    y = None
    if "y" in sample.columns:
        col = sample["y"]
        y = (np.stack([np.asarray(v) for v in col]) if len(col) and
             isinstance(col.iloc[0], (list, np.ndarray)) else col.to_numpy())
    sample_meta = {"index": sample["index"].to_numpy(np.int64), "y": y,
                   "x": sample[x_cols].to_numpy(np.float32) if x_cols else None}
    results: dict[str, Any] = {}
    for key, value in doc.get("results", {}).items():
        if key.startswith("cka_"):
            names = [r.name for r in records]
            results[key] = pd.DataFrame(np.array(value, dtype=float), index=names, columns=names)
        elif key in ("probe", "ablation"):
            frame = pd.read_parquet(path / f"{key}.parquet")
            frame.attrs.update(value)
            results[key] = frame
        elif key == "gradient_flow":
            results[key] = GradientFlow(pd.read_parquet(path / "gradient_layers.parquet"),
                                        pd.read_parquet(path / "gradient_units.parquet"))
    return Inspection(doc["meta"], records, sample_meta, doc["input_info"], results)
