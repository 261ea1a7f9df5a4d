"""Figures drawn from the inspection's statistics (no model needed): histograms, unit bands,
PCA of each layer, CKA heatmap, probe accuracy vs depth, gradient flow, ablation.

Every ``plot_*`` returns a ``matplotlib.figure.Figure`` built without pyplot (no global state,
Agg rendering), so they work headless and in threads; ``fig.savefig("x.png")`` writes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .._errors import ParameterError
from ._stats import arrays_to_sketch
from ._tables import clean_sample, sample_valid, single_blas

DEAD = "#d62728"
OK = "#1f77b4"


def grid_figure(n: int, cols: int = 3, size: float = 3.2) -> tuple[Figure, list[Any]]:
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    fig = Figure(figsize=(size * cols, size * 0.85 * rows + 0.4), layout="constrained")
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(n)]
    return fig, axes


def _labels_colors(y: np.ndarray | None) -> tuple[Any, dict[str, Any]]:
    if y is None:
        return None, {"color": OK}
    flat = np.asarray(y).reshape(len(y), -1)[:, 0]
    if flat.dtype.kind in "biuOUS" or len(np.unique(flat)) <= 20:
        _, codes = np.unique(flat.astype(str) if flat.dtype.kind == "O" else flat,
                             return_inverse=True)
        return codes, {"cmap": "tab10" if codes.max() < 10 else "tab20", "vmin": 0,
                       "vmax": 9 if codes.max() < 10 else 19}
    return flat.astype(float), {"cmap": "viridis"}


class PlotsMixin:
    """Figure methods of :class:`~lamina.inspection.Inspection` that need no model."""

    records: list[Any]
    sample_x: np.ndarray | None
    sample_y: np.ndarray | None
    results: dict[str, Any]

    def _pick(self, layers: Any) -> list[Any]:
        if layers is None:
            return list(self.records)
        if isinstance(layers, (str, int)):
            layers = [layers]
        return [self.record(name) for name in layers]  # type: ignore[attr-defined]

    def plot_histograms(self, layers: Any = None) -> Figure:
        """Per-layer histogram of all units' activations (the units' sketches merged on one
        grid), log-scaled counts."""
        recs = self._pick(layers)
        fig, axes = grid_figure(len(recs))
        for ax, rec in zip(axes, recs):
            st = rec.stats
            sketch = arrays_to_sketch(st["sketch_counts"], st["sketch_e"], st["sketch_t"])
            edges, counts = sketch.layer_histogram()
            c = counts.numpy().astype(float)
            used = np.flatnonzero(c)
            if len(used):
                lo, hi = used[0], used[-1] + 1
                e = edges.numpy()
                ax.stairs(c[lo:hi], e[lo:hi + 1], fill=True, color=OK, alpha=0.8)
                ax.set_yscale("log")
            ax.set_title(f"{rec.name} ({rec.width} units)", fontsize=10)
            ax.set_xlabel("activation")
            ax.set_ylabel("count (log)")
        fig.suptitle("Activation histograms per layer", fontsize=11)
        return fig

    def plot_units(self, layer: Any) -> Figure:
        """Every unit of ``layer``: its 5-95 % and 25-75 % range and median (sorted by median,
        dead units in red) and the share of examples on which it is active."""
        rec = self.record(layer)  # type: ignore[attr-defined]
        u = self.units  # type: ignore[attr-defined]
        u = u[u["layer"] == rec.name].sort_values("q50", kind="stable")
        x = np.arange(len(u))
        dead = u["dead"].to_numpy(bool)
        colors = [DEAD if d else OK for d in dead]
        fig = Figure(figsize=(9, 4.2), layout="constrained")
        ax1, ax2 = fig.add_subplot(2, 1, 1), fig.add_subplot(2, 1, 2)
        ax1.vlines(x, u["q05"], u["q95"], colors=colors, linewidth=0.6, alpha=0.5)
        ax1.vlines(x, u["q25"], u["q75"], colors=colors, linewidth=2.2)
        ax1.scatter(x, u["q50"], s=6, c="black", zorder=3)
        ax1.set_ylabel("activation")
        ax1.set_title(f"{rec.name}: units sorted by median (bars: 25-75 %, lines: 5-95 %; "
                      f"red = dead)", fontsize=10)
        ax2.bar(x, u["frac_active"], color=colors, width=1.0)
        ax2.set_ylim(0, 1)
        ax2.set_ylabel("fraction active")
        ax2.set_xlabel("unit (same order)")
        for ax in (ax1, ax2):
            ax.set_xlim(-0.5, len(u) - 0.5)
        return fig

    def plot_pca(self, layers: Any = None, y: Any = None) -> Figure:
        """2-D PCA of each layer's representation (sampled rows), coloured by label."""
        recs = self._pick(layers)
        labels = self.sample_y if y is None else np.asarray(y)[self.sample_index]  # type: ignore
        color, style = _labels_colors(labels)
        panels = ([("input", self.sample_x, None)] if self.sample_x is not None
                  and layers is None else []) + [(r.name, r.stats["sample"],
                                                  sample_valid(r.stats)) for r in recs]
        fig, axes = grid_figure(len(panels))
        for ax, (name, data, seen) in zip(axes, panels):
            z = clean_sample(np.asarray(data).reshape(len(data), -1))
            panel_color, panel_style = color, style
            if seen is not None and not seen.all():           # rows the layer never saw
                z = z[seen]
                panel_color, panel_style = _labels_colors(None if labels is None
                                                          else np.asarray(labels)[seen])
            z = z - z.mean(0)
            if z.shape[0] >= 2 and z.shape[1] >= 1:
                with single_blas():
                    _, s, vt = np.linalg.svd(z, full_matrices=False)
                comps = z @ vt[:2].T
                var = s ** 2 / max((s ** 2).sum(), 1e-300)
                if comps.shape[1] == 1:
                    comps = np.hstack([comps, np.zeros_like(comps)])
                kw = dict(panel_style)
                if panel_color is not None:
                    kw.pop("color", None)
                    ax.scatter(comps[:, 0], comps[:, 1], c=panel_color, s=5, alpha=0.7, **kw)
                else:
                    ax.scatter(comps[:, 0], comps[:, 1], s=5, alpha=0.7, **kw)
                ax.set_xlabel(f"PC1 ({100 * var[0]:.0f} %)")
                ax.set_ylabel(f"PC2 ({100 * var[1]:.0f} %)" if len(var) > 1 else "PC2")
            ax.set_title(name, fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
        fig.suptitle("PCA of each layer's representation" + (" (colour = label)" if color
                                                               is not None else ""), fontsize=11)
        return fig

    def plot_cka(self, unbiased: bool = True) -> Figure:
        """Layer x layer CKA heatmap (1 = same representation up to rotation and scale)."""
        mat = self.cka(unbiased=unbiased)  # type: ignore[attr-defined]
        n = len(mat)
        fig = Figure(figsize=(1.2 + 0.75 * n, 0.9 + 0.65 * n), layout="constrained")
        ax = fig.add_subplot()
        im = ax.imshow(mat.to_numpy(), vmin=0, vmax=1, cmap="magma")
        ax.set_xticks(range(n), list(mat.columns), rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(n), list(mat.index), fontsize=8)
        for i in range(n):
            for j in range(n):
                v = mat.iat[i, j]
                if np.isfinite(v) and n <= 16:
                    ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                            color="black" if v > 0.6 else "white")
        fig.colorbar(im, ax=ax, shrink=0.8, label="linear CKA")
        ax.set_title("Similarity between layers (CKA)", fontsize=10)
        return fig

    def plot_probe(self, y: Any = None) -> Figure:
        """Linear-probe score per depth (input first) against the majority/mean baseline."""
        table = self.results.get("probe") if y is None else None
        if table is None:
            table = self.probe(y)  # type: ignore[attr-defined]
        fig = Figure(figsize=(max(4.5, 0.8 * len(table) + 2), 3.4), layout="constrained")
        ax = fig.add_subplot()
        x = np.arange(len(table))
        ax.plot(x, table["score"], marker="o", color=OK, label="linear probe (held out)")
        ax.plot(x, table["baseline"], linestyle="--", color="gray", label="baseline")
        ax.set_xticks(x, list(table["layer"]), rotation=30, ha="right", fontsize=8)
        ax.set_ylabel(str(table["metric"].iloc[0]))
        ax.set_ylim(min(0.0, float(table["score"].min())), 1.02)
        ax.legend(fontsize=8)
        ax.set_title("What each depth knows about the labels", fontsize=10)
        return fig

    def plot_gradient_flow(self, flow: Any = None) -> Figure:
        """Per-layer gradient RMS (log scale); vanishing layers red, exploding orange."""
        flow = flow if flow is not None else self.results.get("gradient_flow")
        if flow is None:
            raise ParameterError("flow", None, "no gradient flow was computed yet",
                                 "Call ins.gradient_flow(X, y) first, or pass its result.")
        t = flow.layers
        colors = np.where(t["vanishing"], DEAD, np.where(t["exploding"], "#ff7f0e", OK))
        fig = Figure(figsize=(max(4.5, 0.8 * len(t) + 2), 3.4), layout="constrained")
        ax = fig.add_subplot()
        ax.bar(np.arange(len(t)), t["grad_rms"].clip(lower=1e-30), color=colors)
        ax.set_yscale("log")
        ax.set_xticks(np.arange(len(t)), list(t["layer"]), rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("RMS gradient per unit")
        ax.set_title("Gradient flow, input side left\n(red = vanishing, orange = exploding)",
                     fontsize=10)
        return fig

    def plot_ablation(self, table: Any = None, top: int = 20) -> Figure:
        """The ``top`` units whose removal raises the loss most."""
        table = table if table is not None else self.results.get("ablation")
        if table is None:
            raise ParameterError("table", None, "no ablation was computed yet",
                                 "Call ins.ablate(X, y) first, or pass its result.")
        best = table.sort_values("delta_loss", ascending=False).head(top)
        fig = Figure(figsize=(7, 0.25 * len(best) + 1.2), layout="constrained")
        ax = fig.add_subplot()
        names = [f"{r.layer}[{r.unit}]" for r in best.itertuples()]
        ax.barh(np.arange(len(best))[::-1], best["delta_loss"], color=OK)
        ax.set_yticks(np.arange(len(best))[::-1], names, fontsize=7)
        ax.set_xlabel("loss increase when zeroed")
        ax.set_title("Most important units (ablation)", fontsize=10)
        return fig

    def save_figures(self, path: str | Path, formats: tuple[str, ...] = ("png",)) -> list[Path]:
        """Write every figure that applies to this inspection to directory ``path`` as PNG
        and/or SVG; returns the written paths."""
        from ._pictures import applicable_figures

        if isinstance(formats, str) or not formats or any(f not in ("png", "svg")
                                                          for f in formats):
            raise ParameterError("formats", formats, "allowed formats are 'png', 'svg'",
                                 "Pass formats=('png', 'svg').")
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, fig in applicable_figures(self):
            for fmt in formats:
                target = out / f"{name}.{fmt}"
                fig.savefig(target, dpi=110)
                written.append(target)
        return written
