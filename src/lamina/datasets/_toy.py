"""Two-dimensional toy sets in the style of the TensorFlow Playground.

Each set draws a clean point cloud inside ``[-1, 1]^2`` and adds Gaussian noise of standard
deviation ``noise``; classes are balanced (sizes differ by at most one) and rows shuffled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._errors import ParameterError, did_you_mean
from .._validation import check_choice, check_float, check_int
from ._dataset import Dataset

__all__ = ["make_toy", "TOY_SETS"]


def _spiral(rng: np.random.Generator, counts: list[int]) -> np.ndarray:
    # k arms, each 1.75 turns from the centre out to radius 1, rotated by 2*pi/k from the last
    parts = []
    for c, n in enumerate(counts):
        r = np.linspace(0.0, 1.0, n, endpoint=False) + 0.5 / max(n, 1)
        t = 1.75 * 2 * np.pi * r + 2 * np.pi * c / len(counts)
        parts.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
    return np.concatenate(parts)


def _circles(rng: np.random.Generator, counts: list[int]) -> np.ndarray:
    # class 0: a disc of radius 0.5; class 1: a ring from 0.7 to 1 (the Playground's "circle")
    parts = []
    for (lo, hi), n in zip(((0.0, 0.5), (0.7, 1.0)), counts):
        r = rng.uniform(lo, hi, n)
        a = rng.uniform(0, 2 * np.pi, n)
        parts.append(np.stack([r * np.cos(a), r * np.sin(a)], axis=1))
    return np.concatenate(parts)


def _xor(rng: np.random.Generator, counts: list[int]) -> np.ndarray:
    # class 0: quadrants where x*y > 0, class 1: x*y < 0; kept 0.05 away from the axes
    parts = []
    for c, n in enumerate(counts):
        mag = rng.uniform(0.05, 1.0, (n, 2))
        sx = rng.choice([-1.0, 1.0], n)
        sy = sx if c == 0 else -sx
        parts.append(mag * np.stack([sx, sy], axis=1))
    return np.concatenate(parts)


def _gaussians(rng: np.random.Generator, counts: list[int]) -> np.ndarray:
    # k blobs (std 0.15) whose centres sit evenly on a circle of radius 0.6
    k = len(counts)
    parts = []
    for c, n in enumerate(counts):
        angle = 2 * np.pi * c / k + np.pi / 4
        centre = 0.6 * np.array([np.cos(angle), np.sin(angle)])
        parts.append(np.clip(centre + 0.15 * rng.standard_normal((n, 2)), -1.0, 1.0))
    return np.concatenate(parts)


def _moons(rng: np.random.Generator, counts: list[int]) -> np.ndarray:
    # sklearn's two interleaving half circles, x in [-1, 2] and y in [-0.5, 1], mapped to [-1, 1]
    t0 = rng.uniform(0, np.pi, counts[0])
    t1 = rng.uniform(0, np.pi, counts[1])
    upper = np.stack([np.cos(t0), np.sin(t0)], axis=1)
    lower = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], axis=1)
    pts = np.concatenate([upper, lower])
    return (pts - np.array([0.5, 0.25])) / np.array([1.5, 0.75])


#: name -> (generator, whether n_classes may be chosen)
TOY_SETS: dict[str, tuple[Callable[[np.random.Generator, list[int]], np.ndarray], bool]] = {
    "spiral": (_spiral, True),
    "circles": (_circles, False),
    "xor": (_xor, False),
    "gaussians": (_gaussians, True),
    "moons": (_moons, False),
}


def make_toy(name: str, n_samples: int = 500, *, noise: float = 0.1, seed: int = 0,
             **kw: Any) -> Dataset:
    """A two-dimensional toy classification set, as in the TensorFlow Playground.

    Parameters
    ----------
    name : {"spiral", "circles", "xor", "gaussians", "moons"}
        ``spiral``: interleaved arms (``n_classes`` of them, default 2); ``circles``: a disc
        inside a ring; ``xor``: opposite quadrants share a class; ``gaussians``: ``n_classes``
        blobs (default 2); ``moons``: two interleaving half circles.
    n_samples : int, default 500
        Total points; class sizes differ by at most one.
    noise : float, default 0.1
        Standard deviation of the Gaussian noise added to each coordinate. The clean points
        lie in ``[-1, 1]^2``; noise can push a few slightly outside.
    seed : int, default 0
        Same seed, same data.
    n_classes : int, optional
        Number of classes for ``spiral`` and ``gaussians`` (2 to 10); the others have 2.

    Returns
    -------
    Dataset
        ``X`` float32 ``(n_samples, 2)``, ``y`` int64 class indices, rows shuffled,
        ``feature_names=["x1", "x2"]``.

    Examples
    --------
    >>> ds = make_toy("spiral", 300, n_classes=3, seed=1)
    >>> ds.X.shape, ds.X.dtype.name, sorted(set(ds.y.tolist()))
    ((300, 2), 'float32', [0, 1, 2])
    """
    name = check_choice("name", name, list(TOY_SETS))
    generate, free_k = TOY_SETS[name]
    for key in kw:
        if key != "n_classes":
            raise ParameterError(key, kw[key], "make_toy takes n_samples, noise, seed and "
                                 "n_classes (spiral, gaussians)",
                                 (did_you_mean(key, ["n_samples", "noise", "seed", "n_classes"])
                                  + " Remove it.").strip())
    n_classes = kw.get("n_classes", 2)
    if free_k:
        n_classes = check_int("n_classes", n_classes, 2, 10)
    elif n_classes != 2:
        raise ParameterError("n_classes", n_classes, f"the {name!r} set has exactly 2 classes",
                             "Use 'spiral' or 'gaussians' for more classes, or drop n_classes.")
    n_samples = check_int("n_samples", n_samples, n_classes, None)
    noise = check_float("noise", noise, 0.0, None, finite=True)
    seed = check_int("seed", seed, 0, None)

    rng = np.random.default_rng(seed)
    counts = [n_samples // n_classes + (1 if c < n_samples % n_classes else 0)
              for c in range(n_classes)]
    X = generate(rng, counts)
    y = np.repeat(np.arange(n_classes, dtype=np.int64), counts)
    # drawn even when noise == 0 so that, for one seed, only the noise scale differs
    X = X + noise * rng.standard_normal(X.shape)
    order = rng.permutation(n_samples)
    return Dataset(
        name=name, task="classification", X=X[order].astype(np.float32), y=y[order],
        feature_names=["x1", "x2"], target_names=[str(c) for c in range(n_classes)],
        description=(f"Toy 2-D set {name!r} (TensorFlow Playground style): {n_samples} points, "
                     f"{n_classes} balanced classes, Gaussian noise std {noise:g}, seed {seed}."),
        extras={"noise": noise, "seed": seed},
    )
