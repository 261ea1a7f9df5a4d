"""One round of the search: populations of candidates trained with successive halving.

Candidates of a round are grouped by shape (:attr:`Candidate.arch_key`); each group trains as ONE
:class:`~lamina.engine.PopulationEngine` (stacked weights; per-member learning rate, L2 penalty,
dropout and seed). At every rung all groups train to the same number of samples, are scored on
validation data (screening rungs on a subsample of it) and reported to Optuna; then the best ``1/eta`` of the whole round go on and the
rest are told as pruned. Groups left empty are freed; the others keep only their survivors
(``PopulationEngine.select`` keeps the optimizer state).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from ._book import Book, Member
from ._data import SearchData, score
from ._plan import CostModel, Rungs


class Group:
    """Members sharing one shape, trained together on every split (hold-out or cv folds)."""

    def __init__(self, members: list[Member], data: SearchData, make_engine: Callable[..., Any],
                 ) -> None:
        import torch

        self.members = members
        c = members[0].candidate
        self.batch_size = c.batch_size
        self.n_params = c.n_params(data.n_features, data.n_outputs)
        self.data = data
        self.engines = [make_engine(c, members, fold) for fold in range(len(data.splits))]
        self.generators = [torch.Generator().manual_seed(members[0].seed + 7919 * f)
                           for f in range(len(data.splits))]
        self.perms: list[Any] = [None] * len(data.splits)
        self.cursors = [0] * len(data.splits)
        self.done = 0                               # samples seen by each member so far

    @property
    def weights(self) -> int:
        return self.n_params * len(self.members)

    def advance(self, target: int, deadline: float) -> bool:
        """Train every member to ``target`` samples; False if the deadline came first."""
        import torch

        need = target - self.done
        for f, split in enumerate(self.data.splits):
            n = int(split.X_train.shape[0])
            chunk = max(self.batch_size * 8, n // 4)     # deadline checks between chunks
            left = need
            while left > 0:
                if time.perf_counter() > deadline:
                    return False
                if self.perms[f] is None or self.cursors[f] >= n:
                    self.perms[f] = torch.randperm(n, generator=self.generators[f]).to(
                        split.X_train.device)
                    self.cursors[f] = 0
                take = min(left, n - self.cursors[f], chunk)
                idx = self.perms[f][self.cursors[f]:self.cursors[f] + take]
                self.engines[f].train_epoch(split.X_train[idx], split.Y_train[idx],
                                            self.batch_size, shuffle=False)
                self.cursors[f] += take
                left -= take
        self.done = target
        return True

    def evaluate(self, metric: str, rows: int | None = None) -> list[float]:
        """Validation score of each member, averaged over the splits (NaN: diverged).

        ``rows`` scores on the first rows of each validation split only (a random subsample:
        the split was shuffled), for cheap screening rungs.
        """
        import torch

        total = None
        with torch.no_grad():
            for engine, split in zip(self.engines, self.data.splits):
                X_val, Y_val = split.X_val[:rows], split.Y_val[:rows]
                s = score(metric, engine.predict(X_val), Y_val)
                alive = getattr(engine, "alive", None)
                if alive is not None:
                    s = torch.where(alive.to(s.device), s, torch.full_like(s, float("nan")))
                total = s if total is None else total + s
        assert total is not None
        return (total / len(self.engines)).cpu().tolist()

    def keep(self, local: list[int]) -> None:
        import torch

        index = torch.as_tensor(local, dtype=torch.long)
        self.engines = [e.select(index) for e in self.engines]
        self.members = [self.members[i] for i in local]


SCREEN_ROWS = 2048


def train_round(members: list[Member], data: SearchData, rungs: Rungs, eta: int, book: Book,
                cost: CostModel, deadline: float, make_engine: Callable[..., Any],
                latency: Callable[[Any], float] | None, on_rung: Callable[[], None] | None = None,
                screen_rows: int = SCREEN_ROWS) -> None:
    """Train ``members`` by successive halving over ``rungs``; tell every one of them.

    Rungs before the last two are screening rungs: they score on at most ``screen_rows``
    validation rows (on 10 000 rows, scoring would cost as much as training to a third of an
    epoch); the last two rungs, where the best are told apart, score on all of them.
    """
    metric = book.objective[0]

    def n_val(k: int) -> int:
        return min(data.n_val, screen_rows) if k < len(rungs) - 2 else data.n_val
    by_key: dict[Any, list[Member]] = {}
    for m in members:
        by_key.setdefault(m.candidate.arch_key, []).append(m)
    pending: list[list[Member]] = list(by_key.values())
    groups: list[Group] = []
    open_members = {id(m): m for m in members}

    def finish(m: Member, how: str) -> None:
        if open_members.pop(id(m), None) is not None:
            book.finish(m, how)

    try:
        for k, target in enumerate(rungs.samples):
            flagged: set[int] = set()
            cut = False
            for i in range(len(pending) if k == 0 else len(groups)):
                if time.perf_counter() > deadline:
                    cut = True
                    break
                if k == 0:
                    c = pending[i][0].candidate
                    w = c.n_params(data.n_features, data.n_outputs) * len(pending[i])
                    predicted = (cost.train(w, target, c.batch_size)
                                 + cost.evaluate(w, n_val(k))) * len(data.splits)
                    if groups and time.perf_counter() + predicted > deadline:
                        cut = True              # would not score before the deadline
                        break
                    group = _start_group(pending[i], data, make_engine, latency)
                    groups.append(group)
                else:
                    group = groups[i]
                predicted = (cost.train(group.weights, target - group.done, group.batch_size)
                             + cost.evaluate(group.weights, n_val(k))) * len(data.splits)
                t0 = time.perf_counter()
                if not group.advance(target, deadline):
                    cut = True
                    break
                values = group.evaluate(metric, screen_rows if k < len(rungs) - 2 else None)
                seconds = time.perf_counter() - t0
                cost.observe(predicted, seconds)
                for m, v in zip(group.members, values):
                    m.scores.append(float(v))
                    m.samples.append(target)
                    m.seconds += seconds / len(group.members)
                    if book.report(m):
                        flagged.add(id(m))
            if on_rung is not None:
                on_rung()
            if cut:
                break
            alive = [m for g in groups for m in g.members]
            for m in alive:
                if math.isnan(m.last_score):
                    finish(m, "diverged")
            if k == len(rungs) - 1:
                for m in alive:
                    finish(m, "complete")
                return
            for m in alive:
                if id(m) in flagged:
                    finish(m, "pruner")
            ranked = rank([m for m in alive if id(m) in open_members], book.objective)
            n_keep = math.ceil(len(ranked) / eta) if ranked else 0
            survivors = {id(m) for m in ranked[:n_keep]}
            for m in ranked[n_keep:]:
                finish(m, "halving")
            kept = []
            for g in groups:
                local = [j for j, m in enumerate(g.members) if id(m) in survivors]
                if local:
                    g.keep(local)
                    kept.append(g)
            groups = kept                   # empty groups' engines are freed here
            if not groups:
                return
    finally:
        # the budget ran out (or an error): what was scored ends at its last rung, complete only
        # while this worker has no complete trial (so a search always has a best), else pruned
        cut_how = "budget" if book.best is None else "budget_pruned"
        for m in list(open_members.values()):
            finish(m, cut_how if m.scores and not math.isnan(m.last_score) else "unfinished")


def _start_group(members: list[Member], data: SearchData, make_engine: Callable[..., Any],
                 latency: Callable[[Any], float] | None) -> Group:
    group = Group(members, data, make_engine)
    label = f"{'x'.join(map(str, members[0].candidate.widths))}:{members[0].candidate.activation}"
    extra: dict[str, float] = {"params": float(group.n_params)}
    if latency is not None:
        # same shape -> same latency: measure once per population
        extra["latency"] = latency(group.engines[0].to_net(0))
    for m in members:
        m.group = f"{label}:b{m.candidate.batch_size}"
        m.population = len(members)
        m.extra.update(extra)
    return group


def rank(members: list[Member], objective: tuple[str, ...]) -> list[Member]:
    """Best first: by score; with several objectives, by Pareto front, then score."""
    if len(objective) == 1:
        return sorted(members, key=lambda m: -m.last_score)
    points = [(-m.last_score, *[m.extra[o] for o in objective[1:]]) for m in members]
    fronts = pareto_fronts(points)
    return sorted(members, key=lambda m: (fronts[members.index(m)], -m.last_score))


def pareto_fronts(points: list[tuple[float, ...]]) -> list[int]:
    """Non-dominated sorting (all minimised): front index of each point, 0 = Pareto front."""
    n = len(points)
    front = [0] * n
    remaining = set(range(n))
    level = 0
    while remaining:
        current = {i for i in remaining
                   if not any(_dominates(points[j], points[i]) for j in remaining if j != i)}
        for i in current:
            front[i] = level
        remaining -= current
        level += 1
    return front


def _dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


__all__ = ["train_round", "Group", "rank", "pareto_fronts"]
