"""``Inspection``: the result of :func:`lamina.inspect` - tables, analyses and figures."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import DataError, ParameterError, did_you_mean
from ._plots import PlotsMixin
from ._tables import layers_table, sample_valid, units_table


@dataclass(frozen=True)
class TopExamples:
    """Rows (indices into the inspected data, in the order it was read: for a DataLoader, the
    order the loader yielded them) that excite a unit most, with the unit's values
    (descending), and the rows that excite it least (``low_*``, ascending).

    ``constant`` is True when the unit took one value on every row (a dead ReLU unit is 0
    throughout): its "top" and "bottom" rows are then ties (some ``k`` of the rows, not
    necessarily the first ones), listed in row order, and say nothing about the unit."""

    indices: np.ndarray
    values: np.ndarray
    low_indices: np.ndarray
    low_values: np.ndarray
    constant: bool = False


@dataclass
class LayerRecord:
    """One inspected layer: where it is, what it is, and its finalised statistics."""

    name: str                      # label in the tables ("hidden.0", "features.relu#1", ...)
    module: str                    # module name in the model
    call: int                      # which call of the module within a forward
    kind: str
    activation: str | None
    shape: tuple[int, ...]         # per-example output shape
    width: int                     # number of units
    stats: dict[str, Any]
    parameter_free: bool = False   # no parameters, no activation (pool, gap, flatten, ...)
    side: str | None = None        # "encoder"/"decoder" of an encoder/decoder split (_split)


class Inspection(PlotsMixin):
    """A census of the hidden units of a model over a dataset (from :func:`lamina.inspect`).

    Attributes
    ----------
    units : pandas.DataFrame
        One row per unit: ``layer, unit, mean, std, min, max`` (exact), ``q05..q95``
        (approximate quantiles, read from a per-unit histogram of ``meta["bins"]`` bins: off by
        at most one bin width - a power of two, at least (max - min) / bins and under twice
        that in practice - from the quantiles of the rows fed to it; every row is fed until
        ``meta["sketch_exact_rows"]`` rows were seen, after that a systematic subsample of the
        rows of large batches, from row ``meta["sketch_subsampled_from"]``; see the
        ``bins``/``sketch_rows`` parameters of :func:`lamina.inspect`), ``mean_abs``, ``frac_active`` (share of outputs > 0), ``dead`` (the
        output is constant over the data: max - min <= 1e-6 x max(|min|, |max|, the layer's
        RMS unit std); for ReLU that is "never > 0", for LeakyReLU/ELU/GELU/SiLU/... a unit
        that is never > 0 but varies is not dead; never on fewer than 2 rows),
        ``saturated`` (share of outputs within 1 % of a tanh/sigmoid bound; NaN for other
        activations), ``max_corr``/``most_correlated`` (redundancy: the signed correlation
        with, and the index of, the most correlated other unit of the layer, on the sampled
        rows; NaN / -1 meaning "none" for a unit without variance, e.g. a dead one, or in a
        one-unit layer) and ``nonfinite`` (NaN/inf outputs, excluded from the statistics).
    layers : pandas.DataFrame
        One row per layer: width, dead %, saturated %, mean |activation|, effective rank.
    meta : dict
        Rows seen, settings, model summary.

    Examples
    --------
    >>> import lamina, numpy as np
    >>> net = lamina.build((6,), in_features=2, out=2, seed=0)
    >>> ins = lamina.inspect(net, np.random.default_rng(0).normal(size=(50, 2)), top_k=3)
    >>> ins.top_examples("hidden.0", 0).indices.shape
    (3,)
    """

    def __init__(self, meta: dict[str, Any], records: list[LayerRecord],
                 sample: dict[str, Any], input_info: dict[str, Any],
                 results: dict[str, Any] | None = None) -> None:
        self.meta = meta
        self.records = records
        self.sample_index: np.ndarray = sample["index"]
        self.sample_y: np.ndarray | None = sample.get("y")
        self.sample_x: np.ndarray | None = sample.get("x")
        self.input_info = input_info
        self.results: dict[str, Any] = dict(results or {})
        self._units: pd.DataFrame | None = None
        self._layers: pd.DataFrame | None = None
        self._target: Any = None
        self._X: Any = None
        self._y: Any = None

    def _attach(self, target: Any, X: Any, y: Any) -> None:
        """Keep references (not copies) to the model and array data for later analyses."""
        self._target, self._X, self._y = target, X, y

    def __repr__(self) -> str:
        names = ", ".join(r.name for r in self.records)
        return f"Inspection({self.meta.get('n_rows')} rows; layers: {names})"

    # ------------------------------------------------------------------ tables
    @property
    def units(self) -> pd.DataFrame:
        if self._units is None:
            self._units = units_table(self.records)
        return self._units

    @property
    def layers(self) -> pd.DataFrame:
        if self._layers is None:
            self._layers = layers_table(self.records, self.units)
        return self._layers

    @property
    def layer_names(self) -> list[str]:
        return [r.name for r in self.records]

    @property
    def n_rows(self) -> int:
        return int(self.meta["n_rows"])

    def record(self, layer: Any) -> LayerRecord:
        """The record of ``layer`` (a name from ``layer_names`` or its position)."""
        if isinstance(layer, int) and not isinstance(layer, bool):
            if -len(self.records) <= layer < len(self.records):
                return self.records[layer]
        for rec in self.records:
            if rec.name == layer:
                return rec
        hint = did_you_mean(layer, self.layer_names)
        raise ParameterError("layer", layer, "inspected layers are "
                             + ", ".join(repr(n) for n in self.layer_names),
                             (hint.strip() + " ") if hint else "Pass one of them.")

    def activations(self, layer: Any) -> np.ndarray:
        """The sampled rows' unit values of ``layer``, ``(n_sample, units)``; the rows are
        ``sample_index`` of the data. Rows the layer never saw (its module skipped their batch,
        e.g. a decoder step past the batch's longest target) are NaN."""
        stats = self.record(layer).stats
        valid = sample_valid(stats)
        if valid.all():
            return stats["sample"]
        out = np.array(stats["sample"], dtype=np.float64)
        out[~valid] = np.nan
        return out

    def top_examples(self, layer: Any, unit: int, k: int | None = None) -> TopExamples:
        """Indices and values of the ``k`` rows that activate ``unit`` most and least.

        Examples
        --------
        >>> top = ins.top_examples("hidden.1", 17)          # doctest: +SKIP
        >>> X[top.indices]          # the most exciting inputs  # doctest: +SKIP
        """
        rec = self.record(layer)
        kept = int(self.meta["top_k"])
        if isinstance(unit, bool) or not isinstance(unit, (int, np.integer)) or not (
                0 <= unit < rec.width):
            raise ParameterError("unit", unit, f"layer {rec.name!r} has units 0..{rec.width - 1}",
                                 "Pass an integer unit index in that range.")
        if k is None:
            k = kept
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ParameterError("k", k, f"must be an integer between 1 and top_k={kept} (the "
                                 "examples kept by inspect)", f"Pass e.g. k={kept}.")
        k = int(k)
        if k > kept:
            raise ParameterError("k", k, f"between 1 and top_k={kept} (the examples kept by "
                                 "inspect)", f"Pass k<={kept}, or inspect again with top_k={k}.")
        st = rec.stats

        def take(vals: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            v, i = vals[:k, unit], idx[:k, unit]
            keep = (i >= 0) & np.isfinite(v)
            return i[keep].copy(), v[keep].astype(np.float64)

        top_i, top_v = take(st["top_val"], st["top_idx"])
        low_i, low_v = take(st["bottom_val"], st["bottom_idx"])
        lo, hi = float(st["min"][unit]), float(st["max"][unit])
        if lo == hi:        # all ties: the heaps keep them in no particular order
            top_i, low_i = np.sort(top_i), np.sort(low_i)
        return TopExamples(top_i, top_v, low_i, low_v, constant=bool(lo == hi))

    # ------------------------------------------------------------------ analyses
    def cka(self, unbiased: bool = True) -> pd.DataFrame:
        """Layer x layer linear CKA on the sampled rows (unbiased HSIC by default, which does
        not inflate the similarity of wide layers seen on few rows)."""
        from ._cka import cka_matrix

        key = f"cka_{'unbiased' if unbiased else 'biased'}"
        if key not in self.results:
            samples = [r.stats["sample"] for r in self.records]
            valid = [sample_valid(r.stats) for r in self.records]
            mat = cka_matrix(samples, unbiased=unbiased)
            # a layer that did not see every sampled row: each of its pairs on the rows both saw
            for i, j in itertools.combinations_with_replacement(range(len(samples)), 2):
                if not (valid[i].all() and valid[j].all()):
                    both = valid[i] & valid[j]
                    mat[i, j] = mat[j, i] = cka_matrix(
                        [samples[i][both], samples[j][both]], unbiased=unbiased)[0, 1]
            self.results[key] = pd.DataFrame(mat, index=self.layer_names,
                                             columns=self.layer_names)
        return self.results[key]

    def probe(self, y: Any = None, *, task: str | None = None, test_size: float = 0.25,
              random_state: int = 0) -> pd.DataFrame:
        """Held-out score of a linear probe per layer (and on the raw inputs): what each depth
        "knows" about ``y``. See :func:`lamina.inspection.probe_layers`."""
        from ._probe import probe_layers

        result = probe_layers(self, y, task=task, test_size=test_size,
                              random_state=random_state)
        self.results["probe"] = result
        return result

    def ablate(self, X: Any, y: Any = None, layers: Any = None, *, batch_size: int = 1024,
               model: Any = None) -> pd.DataFrame:
        """Loss/score change when each unit is zeroed, all units of a layer batched together.
        See :func:`lamina.inspection.ablate_units`."""
        from ._ablate import ablate_units

        result = ablate_units(self._model(model), X, y, self._layers_arg(layers),
                              batch_size=batch_size)
        self.results["ablation"] = result
        return result

    def gradient_flow(self, X: Any, y: Any = None, *, batch_size: int = 1024, model: Any = None,
                      vanishing: float = 1e-2, exploding: float = 1e2) -> Any:
        """Gradient norms per layer and unit with vanishing/exploding flags.
        See :func:`lamina.inspection.gradient_flow`."""
        from ._gradflow import gradient_flow

        result = gradient_flow(self._model(model), X, y, self._layers_arg(None),
                               batch_size=batch_size, vanishing=vanishing, exploding=exploding)
        self.results["gradient_flow"] = result
        return result

    def problems(self) -> pd.DataFrame:
        """Flagged problems (dead/saturated units, redundant layers, vanishing/exploding
        gradients, non-finite outputs) with suggested fixes."""
        from ._flags import find_problems

        return find_problems(self)

    def _model(self, model: Any) -> Any:
        if model is not None:
            return model
        if self._target is None:
            raise ParameterError("model", None, "this inspection was loaded from disk and holds "
                                 "no model", "Pass model=... (the inspected model).")
        return self._target.estimator if self._target.estimator is not None \
            else self._target.net

    def _layers_arg(self, layers: Any) -> Any:
        """Layers for ablation and gradient flow: by default every inspected layer, a module
        run several times per forward as one layer per call (``name#0``, ``name#1``, the
        labels of :attr:`units`); a module name alone means every call of it."""
        if layers is None:
            return [r.name for r in self.records]
        return layers

    def _data(self, X: Any, what: str) -> Any:
        if X is not None:
            return X
        if self._X is None:
            raise DataError(f"{what} needs the inputs: pass X=... (the inspection was given an "
                            "iterable or loaded from disk, so it holds no reference to them).")
        return self._X

    # ------------------------------------------------------------------ figures of the model
    def plot_unit_maps(self, layers: Any = None, resolution: int = 60,
                       model: Any = None) -> Any:
        """2-D inputs: each unit's output as a heatmap over the input plane, every layer."""
        from ._pictures import plot_unit_maps

        return plot_unit_maps(self, layers, resolution, model)

    def plot_first_layer_weights(self, image_shape: Any = None, max_units: int = 64,
                                 model: Any = None) -> Any:
        """Image inputs: the first layer's weights of each unit as an image."""
        from ._pictures import plot_first_layer_weights

        return plot_first_layer_weights(self, image_shape, max_units, model)

    def plot_top_examples(self, layer: Any, units: Any = None, k: int | None = None,
                          X: Any = None, image_shape: Any = None, max_units: int = 12) -> Any:
        """Grid of the inputs that excite each unit most (images, or a feature heatmap)."""
        from ._pictures import plot_top_examples

        return plot_top_examples(self, layer, units, k, X, image_shape, max_units)

    def plot_activation_maximization(self, layer: Any, units: Any = None, steps: int = 150,
                                     **kwargs: Any) -> Any:
        """Image inputs: regularised gradient-ascent images that maximise each unit."""
        from ._pictures import plot_activation_maximization

        return plot_activation_maximization(self, layer, units, steps, **kwargs)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the inspection to directory ``path`` (Parquet tables + JSON), atomically per
        file. Reload with :meth:`Inspection.load`."""
        from ._persist import save_inspection

        return save_inspection(self, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> Inspection:
        """Read an inspection written by :meth:`save` (no model attached)."""
        from ._persist import load_inspection

        return load_inspection(Path(path))
