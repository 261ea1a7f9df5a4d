"""Rung schedules and a cost model that keeps rounds of training inside the wall-clock budget.

A *rung* is an amount of training, in samples seen per member. Successive halving trains every
candidate of a round to rung 0, keeps the best ``1/eta``, trains those to rung 1, and so on.

The cost model predicts seconds as ``a * samples * params + b * steps``: ``a`` is the time per
sample per weight (compute), ``b`` the fixed cost of one optimizer step of a population (kernel
launches, Python). Both are measured by two short probes on the real data, then corrected after
every group trained, so a round that would not fit in the remaining budget is cut to fewer rungs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Rungs:
    """Cumulative training per rung, in samples seen by each member.

    Examples
    --------
    >>> Rungs.geometric(n_train=1000, min_epochs=1.0, max_epochs=9.0, eta=3).samples
    (1000, 3000, 9000)
    """

    samples: tuple[int, ...]
    n_train: int

    @classmethod
    def geometric(cls, n_train: int, min_epochs: float, max_epochs: float, eta: int) -> Rungs:
        first = max(1, int(round(min_epochs * n_train)))
        last = max(first, int(round(max_epochs * n_train)))
        rungs = [first]
        while rungs[-1] * eta < last * 0.999:
            rungs.append(rungs[-1] * eta)
        if rungs[-1] < last:
            rungs.append(last)
        return cls(tuple(rungs), n_train)

    def epochs(self, k: int) -> float:
        return self.samples[k] / self.n_train

    def __len__(self) -> int:
        return len(self.samples)

    def truncated(self, n: int) -> Rungs:
        return Rungs(self.samples[:max(1, n)], self.n_train)


def auto_epochs(n_train: int, eta: int) -> tuple[float, float]:
    """Default (min_epochs, max_epochs): rung 0 sees about 2500 samples (a full epoch on small
    sets, an eighth of one on 20 000 rows), then five rungs, each ``eta`` times the last (four
    when rung 0 is already a full epoch).

    Examples
    --------
    >>> auto_epochs(20_000, 3)
    (0.125, 10.125)
    >>> auto_epochs(1_000, 3)
    (1.0, 27.0)
    """
    min_epochs = min(1.0, max(0.05, 2500 / max(1, n_train)))
    n_rungs = 4 if min_epochs >= 1.0 else 5
    return min_epochs, min_epochs * eta ** (n_rungs - 1)


@dataclass
class CostModel:
    """Seconds to train/evaluate a population, corrected by what was measured."""

    a: float = 2e-9           # s per (sample x weight) per member, training
    b: float = 2e-4           # s per optimizer step of one population
    correction: float = 1.0   # measured / predicted, smoothed

    def train(self, weights: float, samples: float, batch_size: int) -> float:
        """``weights``: summed over the population's members."""
        steps = math.ceil(samples / max(1, batch_size))
        return self.correction * (self.a * samples * weights + self.b * steps)

    def evaluate(self, weights: float, n_val: int) -> float:
        # a forward pass is about a third of forward + backward + update
        return self.correction * (self.a / 3 * n_val * weights + self.b * math.ceil(n_val / 8192))

    def observe(self, predicted: float, measured: float) -> None:
        if predicted > 0 and measured > 0:
            ratio = min(10.0, max(0.1, measured / predicted))
            self.correction *= ratio ** 0.5          # geometric smoothing: no wild swings

    def round_cost(self, weights: list[float], batch_sizes: list[int], groups: int,
                   rungs: Rungs, n_val: int, eta: int, folds: int = 1) -> float:
        """Expected seconds for successive halving of members with these sizes over ``rungs``
        (survivors assumed average-sized)."""
        n = len(weights)
        if n == 0:
            return 0.0
        mean_w = sum(weights) / n
        mean_bs = sum(batch_sizes) / n
        total, alive, done = 0.0, float(n), 0
        for k, target in enumerate(rungs.samples):
            w_alive = sum(weights) if k == 0 else alive * mean_w
            g_alive = groups if k == 0 else min(groups, max(1.0, alive))
            samples = target - done
            steps = math.ceil(samples / mean_bs)
            total += self.a * samples * w_alive + self.b * steps * g_alive
            rows = n_val if k >= len(rungs) - 2 else min(n_val, 2048)   # screening rungs
            total += self.a / 3 * rows * w_alive + self.b * g_alive
            done = target
            alive = max(1.0, math.ceil(alive / eta))
        return self.correction * total * folds


__all__ = ["Rungs", "CostModel", "auto_epochs"]
