"""Flagged problems of an inspection, each with the evidence and a suggested fix.

Rules (thresholds are part of the contract; the report explains them to newcomers):

* dead units: share of a layer's units whose output is constant over the data (> 0 % flags;
  > 20 % is high); for ReLU/ReLU6 that is a unit that never activates (output always 0), for
  other activations a unit that is never > 0 is not dead unless it is constant (see
  ``_tables.dead_units``); with fewer than 2 rows nothing is called dead (a note says so);
* saturation: share of a tanh/sigmoid layer's outputs within 1 % of the bounds (> 10 %);
* redundant layers: CKA > 0.95 between two layers (the later one adds little); layers without
  parameters or activation (pool, gap, flatten, ...) are never part of such a pair, nor are two
  layers on opposite sides of an encoder/decoder split (an autoencoder's decoder mirrors its
  encoder by design: neither side can be removed). The split comes from the model's structure
  (``_split``: a declared encoder, or a reconstruction through a bottleneck), not from names;
* redundant units: pairs of units with |correlation| > 0.98 on the sampled rows;
* low effective rank: fewer than 10 % of a layer's width (widths >= 16);
* non-finite activations (NaN/inf);
* vanishing / exploding gradients (when :meth:`Inspection.gradient_flow` was run).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._taps import NEGATIVE_PART, SATURATING, ZERO_WHEN_INACTIVE

CKA_REDUNDANT = 0.95
CORR_REDUNDANT = 0.98
DEAD_HIGH = 20.0
SATURATED = 10.0
LOW_RANK = 0.10

COLUMNS = ["severity", "layer", "problem", "detail", "fix"]

_DEAD_FIX = {
    "relu": "Lower the learning rate, use He initialisation, add batch normalisation, or "
            "switch to LeakyReLU/ELU/GELU, whose units keep a gradient when negative; dead "
            "units can also simply be pruned - they compute nothing.",
    "leaky_relu": "A LeakyReLU unit is constant only when its input is: its incoming weights "
                  "are (near) zero or the inputs it reads do not vary. Check for too strong "
                  "weight decay or L1, standardise the inputs, or prune the unit - it computes "
                  "nothing.",
    "negative_part": "The unit's input is constant or sits far below 0, where {act} is flat "
                     "and passes almost no gradient. Standardise the inputs, lower the learning "
                     "rate, use He initialisation or add batch/layer normalisation before the "
                     "activation; or prune the unit - it computes nothing.",
    "saturating": "The unit is pinned at a bound of {act} (see saturation): standardise the "
                  "inputs, use a smaller initialisation, lower the learning rate, or prune it.",
    "other": "A constant unit carries no information: check for saturation, lower the learning "
             "rate, or prune it.",
}


def _dead_problem(rec: Any, u: pd.DataFrame, n_rows: int) -> dict[str, Any] | None:
    """The "dead units" row of one layer (None when it has none)."""
    dead = u["dead"].to_numpy(dtype=bool)
    n_dead = int(dead.sum())
    if not n_dead:
        return None
    pct = 100.0 * n_dead / max(rec.width, 1)
    act = rec.activation
    silent = int((dead & (u["frac_active"].to_numpy(dtype=float) == 0)).sum())
    if act in ZERO_WHEN_INACTIVE and silent == n_dead:
        what, why = "never activate", "output always 0"
    else:
        what, why = "are constant", "output never changes"
    family = ("relu" if act in ZERO_WHEN_INACTIVE else
              "leaky_relu" if act == "leaky_relu" else
              "negative_part" if act in NEGATIVE_PART else
              "saturating" if act in SATURATING else "other")
    return _row("high" if pct > DEAD_HIGH else "medium", rec.name, "dead units",
                f"{n_dead} of {rec.width} units ({pct:.0f} %) {what} on these {n_rows} inputs "
                f"({why})",
                _DEAD_FIX[family].format(act=act))


def find_problems(ins: Any) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    if ins.n_rows < 2:
        rows.append(_row("low", "(all layers)", "too few rows",
                         f"only {ins.n_rows} input{'' if ins.n_rows == 1 else 's'} inspected: "
                         "with fewer than 2 no unit can "
                         "be called dead or constant, and correlations, CKA and effective rank "
                         "are undefined",
                         "Inspect more rows (a few hundred give stable statistics)."))
    units = ins.units
    layers = ins.layers
    for rec, lay in zip(ins.records, layers.itertuples()):
        u = units[units["layer"] == rec.name]
        dead = _dead_problem(rec, u, ins.n_rows)
        if dead is not None:
            rows.append(dead)
        if np.isfinite(lay.saturated_pct) and lay.saturated_pct > SATURATED:
            rows.append(_row(
                "high" if lay.saturated_pct > 30 else "medium", rec.name, "saturation",
                f"{lay.saturated_pct:.0f} % of the {rec.activation} outputs sit within 1 % of "
                "the bounds, where the derivative is nearly 0",
                "Standardise the inputs, use a smaller initialisation (Xavier/Glorot), lower "
                "the learning rate, add normalisation, or use a ReLU-family activation."))
        corr = np.abs(u["max_corr"].to_numpy(dtype=float))
        pairs = int(np.nansum(corr > CORR_REDUNDANT) // 2)
        if pairs:
            rows.append(_row("low", rec.name, "redundant units",
                             f"{pairs} pair(s) of units are correlated above {CORR_REDUNDANT} "
                             "(they carry the same signal)",
                             "Merge or prune one unit of each pair, or add dropout/weight "
                             "decay so units specialise."))
        if rec.width >= 16 and np.isfinite(lay.effective_rank) and \
                lay.effective_rank < LOW_RANK * rec.width:
            rows.append(_row("low", rec.name, "low effective rank",
                             f"effective rank {lay.effective_rank:.1f} of {rec.width} units: "
                             "the layer uses few independent directions",
                             "A narrower layer would likely do as well; try halving its width."))
        if lay.nonfinite:
            rows.append(_row("high", rec.name, "non-finite activations",
                             f"{lay.nonfinite} NaN/inf outputs (excluded from the statistics)",
                             "Check the inputs for NaN/inf, lower the learning rate, clip "
                             "gradients, or retrain from a checkpoint before the divergence."))
    rows.extend(_redundant_layers(ins))
    flow = ins.results.get("gradient_flow")
    activations = {rec.name: rec.activation for rec in ins.records}
    if flow is not None:
        for row in flow.layers.itertuples():
            if row.vanishing:
                fix = ("He/Xavier initialisation, batch/layer normalisation or residual "
                       "connections; fewer layers.")
                relu_family = activations.get(row.layer) in ZERO_WHEN_INACTIVE | NEGATIVE_PART
                fix = "Use " + ("" if relu_family else "ReLU-family activations, ") + fix
                rows.append(_row("high", row.layer, "vanishing gradient",
                                 f"RMS gradient {row.grad_rms:.2e} is {row.ratio:.1e} x that of "
                                 "the last layer: this layer learns far slower", fix))
            if row.exploding:
                rows.append(_row("high", row.layer, "exploding gradient",
                                 f"RMS gradient {row.grad_rms:.2e} is {row.ratio:.1e} x that of "
                                 "the last layer (or not finite)",
                                 "Lower the learning rate, clip gradients (clip_norm), use a "
                                 "smaller initialisation or normalisation layers."))
    order = {"high": 0, "medium": 1, "low": 2}
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values("severity", key=lambda s: s.map(order), kind="stable",
                             ignore_index=True)


def _redundant_layers(ins: Any) -> list[dict[str, Any]]:
    """Pairs of layers with CKA above the threshold; parameter-free layers (pool, gap, flatten,
    ...) are left out on both sides: their output is fixed by the layer before them (gap's units
    *are* a conv layer's channel means), so a CKA near 1 is by construction. Nor is a pair
    with one layer on the encoder side of an encoder/decoder split and the other on the decoder
    side (``LayerRecord.side``, from the model's structure): an autoencoder's decoder is built
    to undo its encoder, so a decoder layer resembling the mirror-image encoder layer is the
    goal (the code kept what that layer held), and neither side can lose a layer to the
    other."""
    if len(ins.records) < 2:
        return []
    mat = ins.cka()
    free = {rec.name for rec in ins.records if rec.parameter_free}
    side = {rec.name: rec.side for rec in ins.records}
    names = list(mat.index)
    rows = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            value = float(mat.iat[i, j])
            if names[i] in free or names[j] in free or not np.isfinite(value) \
                    or value <= CKA_REDUNDANT:
                continue
            a, b = side.get(names[i]), side.get(names[j])
            if a is not None and b is not None and a != b:
                continue                    # across the bottleneck: a mirror, not a repeat
            rows.append(_row("medium", names[j], "redundant layer",
                             f"CKA({names[i]}, {names[j]}) = {value:.3f} > {CKA_REDUNDANT}: "
                             f"{names[j]} represents the data almost as {names[i]} does",
                             "Remove one of the two layers (or make it narrower); the "
                             "network should lose little."))
    return rows


def _coder_side(module: str) -> str | None:
    """'encoder' or 'decoder' when the module sits inside one (its first such path part): the
    name rule of inspections saved before lamina recorded each layer's side, kept so that they
    are flagged as they were when saved."""
    for part in module.split("."):
        if part in ("encoder", "decoder"):
            return part
    return None


def _row(severity: str, layer: str, problem: str, detail: str, fix: str) -> dict[str, Any]:
    return {"severity": severity, "layer": layer, "problem": problem, "detail": detail,
            "fix": fix}
