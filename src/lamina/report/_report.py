"""``lamina.report``: one self-contained HTML file explaining an inspection to a newcomer."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import LaminaError, ParameterError
from ..train import atomic_write_text
from ._html import Raw, esc, figure_html, fmt, page, table
from ._text import GLOSSARY, INTRO, SEVERITY_HELP, quantile_text

# the per-unit table is folded away above this many units per layer (it stays in the file)
_UNIT_ROWS = 4096
# lamina kinds with parameters but no activation function (parameter-free layers have none)
_NO_ACTIVATION_KINDS = frozenset({"embed"})


def report(model: Any, ins: Any, path: str | os.PathLike[str] = "report.html", *,
           X: Any = None, y: Any = None, title: str | None = None,
           ablate: bool = False) -> Path:
    """Write ``ins`` (from :func:`lamina.inspect`) as one self-contained HTML file.

    Inline CSS and PNG images (base64), no script and no network access: the file can be
    mailed or archived. Sections: flagged problems with fixes, a glossary, layer overview,
    CKA / probes / gradient flow, then one section per layer.

    Parameters
    ----------
    model : estimator, HiddenNet, nn.Module or None
        The inspected model (None: the one ``ins`` was computed from). Needed for gradient
        flow and the pictures that run the model.
    ins : Inspection
    path : str or path
        Where to write the HTML file (parent folders are created).
    X, y : optional
        Data for gradient flow, ablation and top-example images when ``ins`` holds no reference
        to them (it keeps one when ``inspect`` got arrays).
    title : str, optional
    ablate : bool
        Also run :meth:`Inspection.ablate` (slower) when it was not run yet.

    Returns
    -------
    pathlib.Path of the written file.

    Examples
    --------
    >>> ins = lamina.inspect(clf, X, y)                 # doctest: +SKIP
    >>> lamina.report(clf, ins, "report.html")          # doctest: +SKIP
    """
    from ..inspection import Inspection

    if not isinstance(ins, Inspection):
        raise ParameterError("ins", ins, "expected the Inspection returned by lamina.inspect",
                             "Pass ins = lamina.inspect(model, X, y).")
    if model is not None:
        from ..inspection._model import resolve_model
        target = resolve_model(model)
        if ins._target is None or ins._target.net is not target.net:
            _check_same_layers(ins, target.net, model)
            ins._attach(target, ins._X if X is None else X, ins._y if y is None else y)
    out = Path(path)
    if out.suffix.lower() not in (".html", ".htm"):
        raise ParameterError("path", str(path), "the report is an HTML file",
                             "Pass a path ending in .html, e.g. 'report.html'.")
    notes = _complete(ins, X, y, ablate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = render(ins, title=title, notes=notes)
    atomic_write_text(out, text)        # the mode open() would give: a report is shared
    return out


write_report = report


def _check_same_layers(ins: Any, net: Any, model: Any) -> None:
    """``model`` must hold the layers ``ins`` describes (a report draws them from the model):
    another model failed deep inside the figure code."""
    modules = dict(net.named_modules())
    widths = dict(zip(ins.layers["layer"], ins.layers["width"]))
    for label, width in widths.items():
        name = str(label).split("#")[0]
        module = modules.get(name)
        out = getattr(getattr(module, "linear", module), "out_features", None)
        if module is None or (out is not None and out != width):
            what = "has no layer" if module is None else f"has {out} units in layer"
            raise ParameterError("model", type(model).__name__, f"the model ins was computed "
                                 f"from (layers {', '.join(map(repr, widths))}); this one "
                                 f"{what} {name!r}" + ("" if module is None else
                                                        f", not {width}"),
                                 "Pass the model you inspected, or model=None.")


def _complete(ins: Any, X: Any, y: Any, ablate: bool) -> list[str]:
    """Run the cheap analyses that are missing and possible; say why others were skipped.

    These analyses are optional extras of the report: one that fails (a model output they
    cannot read, an unexpected error) is skipped with a note naming it and the error, and the
    report is still written."""
    notes: list[str] = []
    X = X if X is not None else ins._X
    y = y if y is not None else ins._y

    def attempt(what: str, run: Any) -> None:
        try:
            run()
        except LaminaError as err:
            notes.append(f"{what} skipped: {err}")
        except Exception as err:  # noqa: BLE001 - an optional analysis must not sink the report
            notes.append(f"{what} skipped: it failed with {type(err).__name__}: {err}")

    if "probe" not in ins.results:
        attempt("Linear probes", lambda: ins.probe(None if y is None else y))
    # a deep estimator may supply its own loss targets (an autoencoder's inputs, a
    # forecaster's next values), so only other models need y here
    own_targets = ins._target is not None and ins._target.reads_raw
    if "gradient_flow" not in ins.results:
        if ins._target is None or X is None or (y is None and not own_targets):
            notes.append("Gradient flow skipped: it needs the model and the data (X, y).")
        else:
            attempt("Gradient flow", lambda: ins.gradient_flow(X, y))
    if ablate and "ablation" not in ins.results and ins._target is not None and X is not None \
            and y is not None:
        attempt("Ablation", lambda: ins.ablate(X, y))
    return notes


def render(ins: Any, title: str | None = None, notes: list[str] | None = None) -> str:
    """The report's HTML text."""
    from ..inspection._pictures import (
        default_units,
        image_shape_of,
        plot_activation_maximization,
        plot_first_layer_weights,
        plot_top_examples,
        plot_unit_maps,
    )

    meta = ins.meta
    model = meta.get("model", {})
    problems = ins.problems()
    layers = ins.layers
    body: list[str] = []
    nav = [("summary", "Summary"), ("glossary", "How to read"), ("layers", "Layers"),
           ("relations", "Between layers")]
    # ---- summary
    n_units = int(layers["width"].sum())
    dead = int(ins.units["dead"].sum())
    cards = [("examples inspected", fmt(int(meta["n_rows"]))),
             ("hidden layers", fmt(len(ins.records))), ("hidden units", fmt(n_units)),
             ("dead units", fmt(dead)), ("problems flagged", fmt(len(problems)))]
    body.append('<section id="summary"><h2>Summary</h2>'
                f'<p class="lead">{esc(INTRO)}</p><div class="cards">'
                + "".join(f"<div class=\"card\"><b>{v}</b><span>{esc(k)}</span></div>"
                          for k, v in cards) + "</div>")
    body.append("<h3>Flagged problems</h3>")
    if len(problems):
        body.append(f"<p class=\"lead\">Severity &mdash; {esc(SEVERITY_HELP)}</p>")
        body.append(table(["severity", "layer", "problem", "evidence", "suggested fix"], [
            (Raw(f'<span class="sev sev-{esc(r.severity)}">{esc(r.severity)}</span>'),
             r.layer, r.problem, r.detail, r.fix) for r in problems.itertuples()],
            "problems"))
    else:
        body.append('<p class="ok">No problem found: no dead or saturated units, no redundant '
                    "layers, healthy gradients.</p>")
    for note in notes or []:
        body.append(f"<p class=\"lead\">{esc(note)}</p>")
    body.append("</section>")
    # ---- glossary
    body.append('<section id="glossary"><h2>How to read this report</h2><dl class="glossary">'
                + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in _glossary(ins))
                + "</dl></section>")
    # ---- layer overview
    body.append('<section id="layers"><h2>Layers at a glance</h2>'
                '<p class="lead">One row per inspected layer, input side first.</p>')
    body.append(table(["layer", "kind", "activation", "units", "output shape", "dead %",
                       "saturated %", "mean |activation|", "effective rank"],
                      [(r.layer, r.kind, _activation_cell(rec), int(r.width), r.shape,
                        float(r.dead_pct), float(r.saturated_pct), float(r.mean_abs),
                        float(r.effective_rank))
                       for r, rec in zip(layers.itertuples(), ins.records)], "layers"))
    body.append(figure_html(ins.plot_histograms(), "Distribution of all activations of each "
                            "layer (log counts). A tall bar at 0 in a ReLU layer is normal; a "
                            "layer squeezed against its bounds is saturated.",
                            "activation histograms"))
    body.append("</section>")
    # ---- between layers
    body.append('<section id="relations"><h2>Between layers</h2>')
    if len(ins.records) > 1:
        body.append("<h3>Similarity of layers (CKA)</h3>")
        body.append(figure_html(ins.plot_cka(), "Linear CKA between every pair of layers "
                                "(unbiased estimator on the sampled examples). Values above "
                                "0.95 off the diagonal mean two layers carry the same "
                                "information.", "CKA heatmap"))
    if "probe" in ins.results:
        probe = ins.results["probe"]
        body.append("<h3>What each depth knows (linear probes)</h3>")
        body.append(figure_html(ins.plot_probe(), "Held-out score of a linear read-out of the "
                                "labels from each layer; the dashed line is guessing the most "
                                "frequent class (or the mean).", "probe accuracy vs depth"))
        body.append(table(["layer", "units", "metric", "probe score", "baseline"], [
            (r.layer, int(r.width), r.metric, float(r.score), float(r.baseline))
            for r in probe.itertuples()], "probe"))
    if "gradient_flow" in ins.results:
        flow = ins.results["gradient_flow"]
        body.append("<h3>Gradient flow</h3>")
        body.append(figure_html(ins.plot_gradient_flow(), "RMS loss gradient per unit of each "
                                "layer (log scale). Bars far below the last layer's mean the "
                                "early layers barely learn.", "gradient flow"))
        body.append(table(["layer", "RMS gradient", "ratio to last layer", "weights' gradient",
                           "units with zero weight gradient", "vanishing", "exploding"], [
            (r.layer, float(r.grad_rms), float(r.ratio), float(r.param_grad_norm),
             int(r.zero_grad_units), bool(r.vanishing), bool(r.exploding))
            for r in flow.layers.itertuples()], "gradients"))
    body.append(figure_html(ins.plot_pca(), "The sampled examples projected on the two main "
                            "directions of each layer. Classes that separate more cleanly with "
                            "depth show the network building useful features.", "PCA"))
    if "ablation" in ins.results:
        body.append("<h3>Most important units (ablation)</h3>")
        body.append(figure_html(ins.plot_ablation(), "Loss increase when the unit is set to 0. "
                                "Units near 0 can be pruned.", "ablation"))
    has_model = ins._target is not None
    # unit maps and activation maximisation run the model on x alone: not for a model that
    # was inspected with further forward arguments (a mask, lengths)
    alone = int(ins.input_info.get("n_inputs", 1)) == 1
    if has_model and alone and list(ins.input_info.get("shape") or []) == [2] \
            and "feature_min" in ins.input_info:
        body.append("<h3>Every unit over the input plane</h3>")
        body.append(figure_html(plot_unit_maps(ins), "Each tile shows one unit's output for "
                                "every point of the 2-D input plane (red positive, blue "
                                "negative, white zero): early units cut the plane with lines, "
                                "later ones combine them into regions.", "unit maps"))
    images = has_model and image_shape_of(ins) is not None
    if images:
        try:
            body.append(figure_html(plot_first_layer_weights(ins, max_units=48), "What each "
                                    "first-layer unit looks for: its input weights drawn as an "
                                    "image.", "first-layer weights"))
        except LaminaError:
            pass
    body.append("</section>")
    # ---- per layer
    for i, rec in enumerate(ins.records):
        anchor = f"layer-{i}"
        nav.append((anchor, rec.name))
        row = layers.iloc[i]
        body.append(f'<section class="layer" id="{anchor}"><h2>Layer {esc(rec.name)}</h2>')
        sat = float(row["saturated_pct"])
        saturation = (f"saturated: {fmt(sat)} %" if sat == sat else
                      "saturation does not apply to this activation")
        body.append(f"<p class=\"lead\">{esc(rec.kind)} layer, {esc(_activation_text(rec))}, "
                    f"{rec.width} units, output shape "
                    f"{esc(row['shape'])} per example. Dead: {fmt(float(row['dead_pct']))} %, "
                    f"{saturation}, effective rank {fmt(float(row['effective_rank']))}.</p>")
        mine = problems[problems["layer"] == rec.name]
        if len(mine):
            body.append("<ul>" + "".join(
                f'<li><span class="sev sev-{esc(p.severity)}">{esc(p.severity)}</span> '
                f"<b>{esc(p.problem)}</b>: {esc(p.detail)}. <i>Fix:</i> {esc(p.fix)}</li>"
                for p in mine.itertuples()) + "</ul>")
        body.append(figure_html(ins.plot_units(rec.name), "Every unit, sorted by its median "
                                "value: thick bar = middle half of its values, thin line = 5-95 "
                                "% (approximate quantiles, see How to read), red = dead. Below: "
                                "how often each unit is active.",
                                f"units of {rec.name}"))
        if images and default_units(ins, rec, 1):
            if ins._X is not None:
                body.append(figure_html(plot_top_examples(ins, rec.name, max_units=6),
                                        "For the most variable units (rows): the inputs that "
                                        "excite them most.", f"top examples {rec.name}"))
            if alone:
                body.append(figure_html(plot_activation_maximization(ins, rec.name, steps=40,
                                                                     max_units=6),
                                        "Synthetic inputs that excite each unit as much as "
                                        "possible (regularised gradient ascent).",
                                        f"activation maximisation {rec.name}"))
        body.append(_unit_table(ins, rec))
        body.append("</section>")
    subtitle = (f"{model.get('class', 'model')} - {int(meta['n_rows']):,} examples - "
                f"{len(ins.records)} hidden layer{'s' if len(ins.records) != 1 else ''} - "
                f"inspected {meta.get('created', '')}")
    footer = (f"Generated by lamina {esc(meta.get('lamina_version', ''))}. Settings: "
              f"batch_size={esc(meta.get('batch_size'))}, top_k={esc(meta.get('top_k'))}, "
              f"sample_size={esc(meta.get('sample_size'))}, bins={esc(meta.get('bins'))}, "
              f"sketch_rows={esc(meta.get('sketch_rows'))}"
              + (". The model was in training mode; it was inspected in eval mode and its "
                 "mode restored." if meta.get("model_was_training") else "."))
    return page(title or f"lamina report: {model.get('class', 'model')}", subtitle, nav,
                "".join(body), footer)


def _glossary(ins: Any) -> list[tuple[str, str]]:
    """The glossary, its entry on quantiles stating this inspection's accuracy."""
    entry = quantile_text(ins.meta, _bin_fraction(ins))
    return [(k, entry if k == "q05 ... q95" else v) for k, v in GLOSSARY]


def _bin_fraction(ins: Any) -> np.ndarray:
    """Per unit with a range: the width of its histogram's bins over its range (max - min), the
    bound on a quantile's error in units of the range. NaN for constant units."""
    parts = []
    for rec in ins.records:
        st = rec.stats
        span = np.asarray(st["max"], dtype=np.float64) - np.asarray(st["min"], dtype=np.float64)
        width = np.exp2(np.asarray(st["sketch_e"], dtype=np.float64))
        with np.errstate(divide="ignore", invalid="ignore"):
            parts.append(np.where(span > 0, width / span, np.nan))
    return np.concatenate(parts) if parts else np.zeros(0)


def _has_no_activation(rec: Any) -> bool:
    """Known to apply no activation function (pool, gap, flatten, seqpool, embed, ...), as
    opposed to an activation lamina does not know (``rec.activation`` None for both)."""
    return not rec.activation and (rec.parameter_free or rec.kind in _NO_ACTIVATION_KINDS)


def _activation_cell(rec: Any) -> Any:
    """The "activation" cell of the layer table: its name, an em dash for none, ? if unknown."""
    if rec.activation:
        return rec.activation
    return Raw("&mdash;") if _has_no_activation(rec) else "?"


def _activation_text(rec: Any) -> str:
    """The activation in a sentence of the per-layer text."""
    if rec.activation:
        return f"activation {rec.activation}"
    return "no activation" if _has_no_activation(rec) else "activation unknown"


def _unit_table(ins: Any, rec: Any) -> str:
    """The per-unit statistics of one layer; a unit with no correlated partner (dead, constant,
    or alone in its layer: ``most_correlated`` -1) shows an em dash, as ``max_corr`` does."""
    u = ins.units[ins.units["layer"] == rec.name]
    cols = ["unit", "mean", "std", "min", "q50", "max", "frac_active", "dead", "saturated",
            "max_corr", "most_correlated"]
    rows = [tuple(_cell(r[c]) for c in cols[:-1]) + (_partner_cell(r["most_correlated"]),)
            for _, r in u.head(_UNIT_ROWS).iterrows()]
    more = f" (first {_UNIT_ROWS} of {len(u)})" if len(u) > _UNIT_ROWS else ""
    return (f"<details><summary>All {len(u)} units of {esc(rec.name)}{more}</summary>"
            + table(cols, rows, "units") + "</details>")


def _partner_cell(value: Any) -> Any:
    """``most_correlated``: the partner unit, or NaN (an em dash) for the -1 of "none"."""
    partner = int(value)
    return partner if partner >= 0 else float("nan")


def _cell(value: Any) -> Any:
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value

