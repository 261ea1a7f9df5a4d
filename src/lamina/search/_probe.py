"""Short measurements before a search: how fast this machine trains populations on this data,
and how large the candidates of the space typically are."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ._book import Member
from ._candidate import Candidate
from ._data import SearchData
from ._plan import CostModel
from ._space import Range, SearchSpace


def calibrate(data: SearchData, make_engine: Callable[..., Any]) -> CostModel:
    """Fit the cost model's step cost ``b`` (a narrow net: overhead-bound) and compute cost ``a``
    (a wider population: compute-bound) from two probes on the real training rows.

    The probes also exercise the engine on this data and device, so a problem shows up here,
    before any trial is asked.
    """
    split = data.splits[0]
    n = int(split.X_train.shape[0])

    def probe(widths: tuple[int, ...], members: int, batch_size: int, samples: int,
              ) -> tuple[float, int, int, int]:
        c = Candidate(widths, "relu", batch_size, 1e-3, 1e-4, 0.0)
        pop = [Member(None, c, seed) for seed in range(members)]
        engine = make_engine(c, pop, 0)
        rows = min(n, samples)
        X, Y = split.X_train[:rows], split.Y_train[:rows]
        t0 = time.perf_counter()
        engine.train_epoch(X, Y, batch_size, shuffle=False)
        seconds = time.perf_counter() - t0
        steps = -(-rows // batch_size)
        return seconds, steps, rows, members * c.n_params(data.n_features, data.n_outputs)

    probe((16,), 1, 64, 256)                               # warm-up: first calls are slow
    t1, s1, r1, w1 = probe((16,), 1, 64, 64 * 16)
    t2, s2, r2, w2 = probe((128, 128), 2, 256, 1024)
    b = t1 / s1
    a = max((t2 - b * s2) / (r2 * w2), 1e-13)
    b = max((t1 - a * r1 * w1) / s1, 1e-6)
    return CostModel(a=a, b=b)


def typical_weights(space: Any, data: SearchData, random_state: int, n: int = 32,
                    ) -> tuple[float, float]:
    """Mean and smallest weight count of candidates drawn at random from ``space``."""
    import optuna

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=random_state))
    sizes = []
    for _ in range(n):
        trial = study.ask()
        c = space.suggest(trial)
        sizes.append(c.n_params(data.n_features, data.n_outputs))
        study.tell(trial, 0.0)
    smallest = min(sizes)
    if isinstance(space, SearchSpace):
        d = space.dims
        lows = [int(dim.low) if isinstance(dim, Range) else int(min(dim.values))
                for dim in (d["n_layers"], d["width"])]
        smallest = Candidate((lows[1],) * lows[0], "relu", 1, 1.0, 0.0, 0.0).n_params(
            data.n_features, data.n_outputs)
    return sum(sizes) / len(sizes), float(smallest)


__all__ = ["calibrate", "typical_weights"]
