"""Figures that run the model: unit maps over a 2-D input plane, first-layer weights as images,
top-example grids and activation-maximisation images."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from .._errors import DataError, ParameterError
from .._threads import few_threads
from ._hooks import eval_mode, forward_hooks, model_device, model_float_dtype
from ._model import resolve_model
from ._taps import Tap, first_tensor, resolve_taps
from ._targets import model_output


def image_shape_of(ins: Any, image_shape: Any = None) -> tuple[int, ...] | None:
    """``(H, W)`` or ``(C, H, W)`` of image inputs, or None when the inputs are not images:
    ``input_info["image_shape"]`` when set (by the CLI from the data set), channel-first inputs
    with 1 or 3 channels, or flat inputs whose size is a square >= 16."""
    size = math.prod(ins.input_info.get("shape") or [0])
    if image_shape is not None:
        shape = tuple(int(d) for d in image_shape)
        if math.prod(shape) != size or len(shape) not in (2, 3):
            raise ParameterError("image_shape", image_shape, f"must be (H, W) or (C, H, W) with "
                                 f"{size} values, the size of one input",
                                 "Pass e.g. image_shape=(28, 28).")
        return shape
    hint = ins.input_info.get("image_shape")
    if hint and math.prod(hint) == size:
        hint = tuple(int(d) for d in hint)
        return hint[1:] if len(hint) == 3 and hint[0] == 1 else hint
    shape = tuple(ins.input_info.get("shape") or ())
    if len(shape) == 3 and shape[0] in (1, 3):
        return shape
    if len(shape) == 1 and shape[0] >= 16 and math.isqrt(shape[0]) ** 2 == shape[0]:
        side = math.isqrt(shape[0])
        return (side, side)
    return None


def mosaic(tiles: np.ndarray, cols: int | None = None, pad: int = 1) -> np.ndarray:
    """Tile ``(n, H, W)`` or ``(n, H, W, 3)`` images into one array, NaN between tiles."""
    n, h, w = tiles.shape[:3]
    cols = cols or max(1, math.ceil(math.sqrt(n)))
    rows = -(-n // cols)
    extra = tiles.shape[3:]
    out = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad) + extra, np.nan)
    for i in range(n):
        r, c = divmod(i, cols)
        out[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = tiles[i]
    return out


def _as_images(flat: np.ndarray, shape: tuple[int, ...], per_tile: bool = True) -> np.ndarray:
    """Rows -> ``(n, H, W)`` scaled to [-1, 1] by each tile's max |value|, or RGB in [0, 1]."""
    imgs = flat.reshape((len(flat),) + shape)
    if len(shape) == 3:
        if shape[0] == 3:
            imgs = np.moveaxis(imgs, 1, -1)
            lo = imgs.reshape(len(imgs), -1).min(1)[:, None, None, None]
            hi = imgs.reshape(len(imgs), -1).max(1)[:, None, None, None]
            return (imgs - lo) / np.maximum(hi - lo, 1e-12)
        imgs = imgs[:, 0]
    if per_tile:
        scale = np.abs(imgs).reshape(len(imgs), -1).max(1)[:, None, None]
        imgs = imgs / np.maximum(scale, 1e-12)
    return imgs


def _net(ins: Any, model: Any) -> Any:
    if model is not None:
        return resolve_model(model)
    if ins._target is None:
        raise ParameterError("model", None, "this figure runs the model, and this inspection "
                             "holds none (it was loaded from disk)",
                             "Pass model=... (the inspected model).")
    return ins._target


def _units_of(output: Any, tap: Tap) -> torch.Tensor:
    """Per-example unit values ``(B, d)`` of an output, keeping the autograd graph."""
    t = first_tensor(output)
    if t.dim() == 1:
        return t[:, None]
    moved = t.movedim((tap.batch_axis % t.dim(), tap.unit_axis % t.dim()), (0, -1))
    return moved.reshape(moved.shape[0], -1, moved.shape[-1]).mean(1)


def _layer_units(target: Any, recs: list[Any], x: torch.Tensor, grad: bool = False
                 ) -> tuple[dict[str, torch.Tensor], Any]:
    """Run ``x`` through the model, return each record's unit values and the output."""
    taps = resolve_taps(target.net, [r.module for r in recs])
    by_module = {t.name: t for t in taps}
    got: dict[str, torch.Tensor] = {}

    def grab(tap: Tap, call: int, output: Any) -> None:
        for rec in recs:
            if rec.module == tap.name and rec.call == call:
                units = _units_of(output, tap)
                got[rec.name] = units if grad else units.detach()
    with forward_hooks(list(by_module.values()), grab):
        out = target.net(x)
    return got, out


def plot_unit_maps(ins: Any, layers: Any = None, resolution: int = 60, model: Any = None
                   ) -> Figure:
    """For 2-D inputs: every unit's output as a heatmap over the input plane (any depth and
    width), TensorFlow-Playground style; the first panel is the model's prediction."""
    if list(ins.input_info.get("shape") or []) != [2] or "feature_min" not in ins.input_info:
        raise DataError("unit maps need inputs with exactly 2 features (a point in the plane); "
                        f"these inputs have shape {ins.input_info.get('shape')}.")
    target = _net(ins, model)
    recs = ins._pick(layers)
    lo, hi = np.array(ins.input_info["feature_min"]), np.array(ins.input_info["feature_max"])
    span = np.maximum(hi - lo, 1e-9)
    lo, hi = lo - 0.1 * span, hi + 0.1 * span
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    grid = np.stack([gx.ravel(), gy.ravel()], 1)
    x = torch.as_tensor(grid, dtype=model_float_dtype(target.net),
                        device=model_device(target.net))
    with eval_mode(target.net), torch.no_grad(), few_threads():
        units, out = _layer_units(target, recs, x)
    out_t = model_output(out).reshape(len(grid), -1).double().cpu().numpy()
    cols = [min(rec.width, 16) for rec in recs]
    heights = [1.6] + [1.0 * -(-rec.width // c) for rec, c in zip(recs, cols)]
    fig = Figure(figsize=(9, 1.2 + sum(heights) * 0.9), layout="constrained")
    axes = fig.subplots(len(recs) + 1, 1, height_ratios=heights, squeeze=False)[:, 0]
    pred = out_t.argmax(1) if out_t.shape[1] > 1 else out_t[:, 0]
    axes[0].imshow(pred.reshape(resolution, resolution), origin="lower", cmap="tab10" if
                   out_t.shape[1] > 1 else "RdBu_r", extent=(lo[0], hi[0], lo[1], hi[1]),
                   aspect="auto", alpha=0.6)
    if ins.sample_x is not None:
        color = None if ins.sample_y is None else np.asarray(ins.sample_y).reshape(
            len(ins.sample_y), -1)[:, 0].astype(float)
        axes[0].scatter(ins.sample_x[:, 0], ins.sample_x[:, 1], c=color, s=4, cmap="tab10",
                        edgecolors="none")
    axes[0].set_title("model output over the input plane (points: sampled data)", fontsize=9)
    for ax, rec, c in zip(axes[1:], recs, cols):
        vals = units[rec.name].double().cpu().numpy().T          # (d, res*res)
        tiles = _as_images(vals, (resolution, resolution))
        ax.imshow(mosaic(tiles[:, ::-1], cols=c, pad=max(1, resolution // 20)),
                  cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_title(f"{rec.name}: each tile is one unit (blue < 0 < red)", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def plot_first_layer_weights(ins: Any, image_shape: Any = None, max_units: int = 64,
                             model: Any = None) -> Figure:
    """The first linear/conv layer's weights of each unit, drawn as images."""
    target = _net(ins, model)
    shape = image_shape_of(ins, image_shape)
    first = next((m for m in target.net.modules()
                  if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))), None)
    if first is None or shape is None:
        raise DataError("first-layer weights are drawn as images only for image inputs "
                        "(pass image_shape=(H, W)) feeding a Linear or Conv2d layer.")
    w = first.weight.detach().double().cpu().numpy()
    if isinstance(first, torch.nn.Conv2d):
        w = np.moveaxis(w, 1, -1) if w.shape[1] == 3 else w.mean(1)
        tiles = (w - w.min()) / max(np.ptp(w), 1e-12) if w.ndim == 4 else _as_images(
            w.reshape(len(w), -1), w.shape[1:])
    else:
        tiles = _as_images(w, shape)
    tiles = tiles[:max_units]
    fig = Figure(figsize=(7, 7), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(mosaic(tiles), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_title(f"first-layer weights, one tile per unit (first {len(tiles)}; red = "
                 "positive, blue = negative)", fontsize=9)
    ax.set_axis_off()
    return fig


def default_units(ins: Any, rec: Any, max_units: int) -> list[int]:
    """The most variable live units of a layer."""
    u = ins.units[ins.units["layer"] == rec.name]
    live = u[~u["dead"]].sort_values("std", ascending=False, kind="stable")
    return [int(i) for i in live["unit"].head(max_units)]


def plot_top_examples(ins: Any, layer: Any, units: Any = None, k: int | None = None,
                      X: Any = None, image_shape: Any = None, max_units: int = 12) -> Figure:
    """Rows = units, columns = the inputs that excite each unit most. Images are drawn as
    images; other inputs as a heatmap of the standardised features of each unit's top inputs."""
    rec = ins.record(layer)
    units = default_units(ins, rec, max_units) if units is None else list(units)
    k = k or int(ins.meta["top_k"])
    data = ins._data(X, "plot_top_examples")
    try:
        arr = data.detach().cpu().numpy() if isinstance(data, torch.Tensor) else np.asarray(data)
        arr = arr.reshape(len(arr), -1).astype(np.float64)
    except (TypeError, ValueError):
        raise DataError("plot_top_examples draws numeric inputs of one shape (images, feature "
                        "rows); these inputs are not (texts, sequences of varying length?). "
                        "Read the top rows instead: [X[i] for i in ins.top_examples(layer, "
                        "unit).indices].") from None
    shape = image_shape_of(ins, image_shape)
    tops = [ins.top_examples(rec.name, u, k).indices for u in units]
    if shape is not None:
        tiles = [arr[i] for idx in tops for i in idx]
        if not tiles:
            raise DataError(f"layer {rec.name!r} kept no top examples for these units.")
        imgs = _as_images(np.stack(tiles), shape, per_tile=False)
        if imgs.ndim == 3:
            imgs = (imgs - imgs.min()) / max(float(np.ptp(imgs)), 1e-12)
        fig = Figure(figsize=(1.0 * k + 1, 1.0 * len(units) + 0.6), layout="constrained")
        ax = fig.add_subplot()
        ax.imshow(mosaic(imgs, cols=k), cmap="gray")
        ax.set_yticks([(i + 0.5) * (imgs.shape[1] + 1) for i in range(len(units))],
                      [f"unit {u}" for u in units], fontsize=8)
        ax.set_xticks([])
    else:
        mean, std = arr.mean(0), arr.std(0) + 1e-12
        heat = np.stack([((arr[idx] - mean) / std).mean(0) if len(idx) else np.zeros(len(mean))
                         for idx in tops])
        fig = Figure(figsize=(min(12, 2 + 0.3 * arr.shape[1]), 0.35 * len(units) + 1.4),
                     layout="constrained")
        ax = fig.add_subplot()
        im = ax.imshow(heat, cmap="RdBu_r", vmin=-3, vmax=3, aspect="auto")
        ax.set_yticks(range(len(units)), [f"unit {u}" for u in units], fontsize=8)
        ax.set_xlabel("input feature")
        fig.colorbar(im, ax=ax, label="mean z-score of the top inputs")
    ax.set_title(f"{rec.name}: top-{k} inputs per unit", fontsize=10)
    return fig


def plot_activation_maximization(ins: Any, layer: Any, units: Any = None, steps: int = 150,
                                 lr: float = 0.05, l2: float = 1.0, tv: float = 1.0,
                                 image_shape: Any = None, seed: int = 0, max_units: int = 16,
                                 model: Any = None) -> Figure:
    """Images that maximise each unit: regularised gradient ascent on the input, all units
    optimised at once. With ``z`` the input scaled to [-1, 1] around the mean input, each image
    maximises ``activation / std(unit) - l2 * mean(z^2) - tv * mean(neighbour differences^2)``
    and stays within the data's value range."""
    target = _net(ins, model)
    rec = ins.record(layer)
    shape = image_shape_of(ins, image_shape)
    if shape is None:
        raise DataError("activation maximisation is drawn for image inputs only; pass "
                        "image_shape=(H, W) if the flat inputs are images.")
    units = default_units(ins, rec, max_units) if units is None else list(units)
    if not units:
        raise DataError(f"layer {rec.name!r} has no live unit to maximise.")
    example = tuple(ins.input_info["shape"])
    lo, hi = float(ins.input_info.get("min", -1.0)), float(ins.input_info.get("max", 1.0))
    half = max((hi - lo) / 2, 1e-12)
    dev, dtype = model_device(target.net), model_float_dtype(target.net)
    if ins.sample_x is not None:
        centre = torch.as_tensor(np.asarray(ins.sample_x).mean(0), dtype=torch.float64)
    else:
        centre = torch.full((math.prod(example),), (lo + hi) / 2, dtype=torch.float64)
    centre = centre.reshape(example).to(dev, dtype)
    std = ins.units[ins.units["layer"] == rec.name]["std"].to_numpy()[units]
    scale = torch.as_tensor(np.maximum(np.nan_to_num(std), 1e-6), device=dev, dtype=dtype)
    gen = torch.Generator().manual_seed(seed)
    noise = 0.05 * half * torch.randn((len(units),) + example, generator=gen, dtype=torch.float64)
    x = (centre + noise.to(dev, dtype)).clamp(lo, hi).requires_grad_(True)
    opt = torch.optim.Adam([x], lr=lr * half)
    picks = torch.as_tensor(units, device=dev)
    with eval_mode(target.net), torch.enable_grad(), few_threads():
        for _ in range(steps):
            got, _ = _layer_units(target, [rec], x, grad=True)
            act = got[rec.name][torch.arange(len(units), device=dev), picks]    # (U,)
            z = ((x - centre) / half).reshape((len(units),) + shape)
            smooth = z.diff(dim=-1).square().mean() + z.diff(dim=-2).square().mean()
            objective = (act / scale).sum() - len(units) * (l2 * z.square().mean() + tv * smooth)
            (grad,) = torch.autograd.grad(-objective, [x])
            opt.zero_grad()
            x.grad = grad
            opt.step()
            with torch.no_grad():
                x.clamp_(lo, hi)
    final = act.detach().cpu().numpy()
    imgs = _as_images(x.detach().double().cpu().numpy().reshape(len(units), -1), shape,
                      per_tile=False)
    if imgs.ndim == 3:
        imgs = (imgs - lo) / max(hi - lo, 1e-12)
    cols = min(len(units), 8)
    fig = Figure(figsize=(1.3 * cols + 0.4, 1.45 * -(-len(units) // cols) + 0.5),
                 layout="constrained")
    axes = fig.subplots(-(-len(units) // cols), cols, squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if i < len(units):
            ax.imshow(imgs[i], cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"unit {units[i]}\n{final[i]:.2f}", fontsize=7)
    fig.suptitle(f"{rec.name}: inputs that maximise each unit (value reached below the unit)",
                 fontsize=10)
    return fig


def applicable_figures(ins: Any) -> list[tuple[str, Figure]]:
    """Every figure that applies to ``ins`` (skips those needing a model, labels or images it
    does not have)."""
    figs: list[tuple[str, Figure]] = [("histograms", ins.plot_histograms()),
                                      ("pca", ins.plot_pca())]
    if len(ins.records) > 1:
        figs.append(("cka", ins.plot_cka()))
    for i, rec in enumerate(ins.records):
        figs.append((f"units_{i}", ins.plot_units(rec.name)))
    if "probe" in ins.results:
        figs.append(("probe", ins.plot_probe()))
    if "gradient_flow" in ins.results:
        figs.append(("gradient_flow", ins.plot_gradient_flow()))
    if "ablation" in ins.results:
        figs.append(("ablation", ins.plot_ablation()))
    if ins._target is not None:
        # unit maps and activation maximisation run the model on x alone
        alone = int(ins.input_info.get("n_inputs", 1)) == 1
        if alone and list(ins.input_info.get("shape") or []) == [2] \
                and "feature_min" in ins.input_info:
            figs.append(("unit_maps", plot_unit_maps(ins)))
        if image_shape_of(ins) is not None:
            try:
                figs.append(("first_layer_weights", plot_first_layer_weights(ins)))
            except DataError:
                pass
            for i, rec in enumerate(ins.records):
                if default_units(ins, rec, 1):
                    if ins._X is not None:
                        figs.append((f"top_examples_{i}", plot_top_examples(ins, rec.name)))
                    if alone:
                        figs.append((f"maximization_{i}", plot_activation_maximization(
                            ins, rec.name, steps=60)))
    return figs
