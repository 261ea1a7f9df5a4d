"""The ``units`` and ``layers`` tables of an inspection, built from the streamed statistics."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
UNIT_COLUMNS = ["layer", "unit", "mean", "std", "min", "max", "q05", "q25", "q50", "q75", "q95",
                "mean_abs", "frac_active", "dead", "saturated", "max_corr", "most_correlated",
                "nonfinite"]


@contextmanager
def single_blas() -> Iterator[None]:
    """One BLAS thread for small numpy/sklearn linear algebra: with torch's OpenMP threads
    also alive, a multi-threaded OpenBLAS can be 100x slower on a busy machine."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


# a unit is constant when its values differ by at most this share of its scale (~8 float32 ulps)
CONSTANT_RTOL = 1e-6


def layer_spread(stats: dict[str, Any]) -> float:
    """The layer's typical spread: the root-mean-square over its units of their std (0 when no
    unit has a finite std)."""
    std = np.asarray(stats["std"], dtype=np.float64)
    std = std[np.isfinite(std)]
    return float(np.sqrt(np.mean(std * std))) if len(std) else 0.0


def dead_units(stats: dict[str, Any]) -> np.ndarray:
    """Dead units: the unit's output is constant over the data, so it computes nothing.

    Constant means ``max - min <= 1e-6 * max(|min|, |max|, s)``, with ``s`` the layer's typical
    spread (:func:`layer_spread`): the values differ only by float32 rounding (~8 ulps), or vary
    a million times less than the layer's units do. The rule is the same for every activation.
    For ReLU/ReLU6 it is exactly "never > 0" (the output is then 0 on every row); for
    activations with a negative part (LeakyReLU, ELU, GELU, SiLU, ...) a unit that is never > 0
    usually still varies and is *not* dead - ``frac_active`` reports activity separately. A
    unit seen on fewer than 2 rows is never called dead: one value cannot show it is constant."""
    lo = np.asarray(stats["min"], dtype=np.float64)
    hi = np.asarray(stats["max"], dtype=np.float64)
    scale = np.maximum(np.maximum(np.abs(lo), np.abs(hi)), layer_spread(stats))
    with np.errstate(invalid="ignore"):
        constant = (hi - lo) <= CONSTANT_RTOL * scale
    constant = np.where(np.isfinite(hi) & np.isfinite(lo), constant, False)
    return constant & (np.asarray(stats["count"]) >= 2)


def sample_valid(stats: dict[str, Any]) -> np.ndarray:
    """Which sampled rows a layer really saw: all, unless its module skipped batches (a decoder
    step that only some batches reach). Analyses of one layer use only these rows, analyses of
    two layers the rows both saw."""
    sample = stats["sample"]
    valid = stats.get("sample_valid")
    return np.ones(len(sample), dtype=bool) if valid is None else np.asarray(valid, dtype=bool)


def seen_sample(stats: dict[str, Any]) -> np.ndarray:
    """The layer's sampled rows that it really saw."""
    return np.asarray(stats["sample"])[sample_valid(stats)]


def clean_sample(sample: np.ndarray) -> np.ndarray:
    """Sampled activations with non-finite entries replaced by 0 (float64)."""
    s = np.asarray(sample, dtype=np.float64)
    return np.where(np.isfinite(s), s, 0.0)


def redundancy(sample: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each unit, the other unit of the layer it is most correlated with (by |r|) and the
    signed correlation; -1 / NaN for a unit without variance or when the layer has one unit."""
    s = clean_sample(sample)
    n, d = s.shape
    partner = np.full(d, -1, dtype=np.int64)
    corr = np.full(d, np.nan)
    if n < 3 or d < 2:
        return partner, corr
    c = s - s.mean(0)
    std = np.sqrt((c * c).sum(0))
    ok = std > 1e-12 * max(1.0, float(np.abs(s).max()))
    if ok.sum() < 2:
        return partner, corr
    z = np.zeros_like(c)
    z[:, ok] = c[:, ok] / std[ok]
    r = z.T @ z                                          # (d, d) correlation
    np.fill_diagonal(r, 0.0)
    r[:, ~ok] = 0.0
    best = np.abs(r).argmax(1)
    partner[ok] = best[ok]
    corr[ok] = r[np.arange(d), best][ok]
    return partner, corr


def effective_rank(sample: np.ndarray) -> float:
    """Roy & Vetterli (2007): ``exp(entropy(s / sum(s)))`` of the singular values ``s`` of the
    centred activations. r equal-variance independent directions give r; a copy of one unit 1."""
    s = clean_sample(sample)
    if s.shape[0] < 2:
        return float("nan")
    sv = np.linalg.svd(s - s.mean(0), compute_uv=False)
    total = sv.sum()
    if total <= 1e-12 * max(1.0, float(np.abs(s).max())):
        return 0.0
    p = sv[sv > 0] / total
    return float(np.exp(-(p * np.log(p)).sum()))


def units_table(records: list[Any]) -> pd.DataFrame:
    with single_blas():
        return _units_table(records)


def _units_table(records: list[Any]) -> pd.DataFrame:
    frames = []
    for rec in records:
        st = rec.stats
        q = st["quantiles"]
        partner, corr = redundancy(seen_sample(st))
        frame = pd.DataFrame({
            "layer": rec.name, "unit": np.arange(rec.width), "mean": st["mean"],
            "std": st["std"], "min": st["min"], "max": st["max"],
            **{f"q{int(round(p * 100)):02d}": q[:, i] for i, p in enumerate(QUANTILES)},
            "mean_abs": st["mean_abs"], "frac_active": st["frac_active"],
            "dead": dead_units(st), "saturated": st["saturated"],
            "max_corr": corr, "most_correlated": partner, "nonfinite": st["nonfinite"],
        })
        frames.append(frame[UNIT_COLUMNS])
    if not frames:
        return pd.DataFrame(columns=UNIT_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def layers_table(records: list[Any], units: pd.DataFrame) -> pd.DataFrame:
    with single_blas():
        return _layers_table(records, units)


def _layers_table(records: list[Any], units: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for rec in records:
        u = units[units["layer"] == rec.name]
        sat = u["saturated"].to_numpy(dtype=float)
        rows.append({
            "layer": rec.name, "module": rec.module, "kind": rec.kind,
            "activation": rec.activation or "", "width": rec.width,
            "shape": "x".join(str(d) for d in rec.shape),
            "dead_pct": 100.0 * float(u["dead"].mean()) if len(u) else float("nan"),
            "saturated_pct": (100.0 * float(np.nanmean(sat)) if np.isfinite(sat).any()
                              else float("nan")),
            "mean_abs": float(np.nanmean(u["mean_abs"])) if len(u) else float("nan"),
            "effective_rank": effective_rank(seen_sample(rec.stats)),
            "nonfinite": int(u["nonfinite"].sum()),
        })
    frame = pd.DataFrame(rows, columns=["layer", "module", "kind", "activation", "width",
                                        "shape", "dead_pct", "saturated_pct", "mean_abs",
                                        "effective_rank", "nonfinite"])
    return frame
