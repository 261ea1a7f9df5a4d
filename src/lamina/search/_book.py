"""Bookkeeping of trials with Optuna's ask/tell interface, timed so its overhead can be reported.

A round asks one trial per architecture from the sampler and creates ``population - 1``
siblings with the same architecture parameters fixed (the sampler, or a random one when the
sampler's time would rival training's, chooses their learning rate, L2 penalty and dropout), so
candidates of one shape form a population. Every rung is reported
with ``trial.report`` so the sampler and any pruner see it; each trial is told once, at the end.
"""

from __future__ import annotations

import os
import socket
import time
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

from ._candidate import Candidate
from ._sampler import TimedSampler
from ._space import FunctionSpace, SearchSpace


@dataclass
class Member:
    """A trial being trained: its candidate, seed, and what it scored at each rung."""

    trial: Any
    candidate: Candidate
    seed: int
    scores: list[float] = field(default_factory=list)
    samples: list[int] = field(default_factory=list)
    extra: dict[str, float] = field(default_factory=dict)   # "params", "latency" (ms)
    seconds: float = 0.0
    group: str = ""
    population: int = 1

    @property
    def number(self) -> int:
        return int(self.trial.number)

    @property
    def last_score(self) -> float:
        return self.scores[-1] if self.scores else float("nan")


class Book:
    """All of a worker's conversation with the study, with its time accounted."""

    def __init__(self, study: Any, space: SearchSpace | FunctionSpace, objective: tuple[str, ...],
                 heartbeat: Any, random_state: int, consult_pruner: bool, n_train: int,
                 sibling_sampler: TimedSampler, timed: bool = True,
                 max_batch_size: int | None = None, split_seed: int | None = None) -> None:
        self.study = study
        self.sampler: TimedSampler = study.sampler
        self.sibling_sampler = sibling_sampler
        self.timed = timed
        self.space = space
        self.objective = objective
        self.multi = len(objective) > 1
        self.heartbeat = heartbeat
        self.random_state = random_state
        self.consult_pruner = consult_pruner and not self.multi
        self.n_train = n_train
        # batch sizes above the training rows train as one full batch: a space function's
        # (or a resumed study's stored space's) larger ones are recorded as that
        self.max_batch_size = max_batch_size
        self.split_seed = split_seed     # of the validation split the trials are scored on
        self.seconds = 0.0               # wall time spent in bookkeeping
        self.asked = 0
        self.finished = 0
        self.states: dict[str, int] = {}
        self.best: float | None = None   # best primary score this worker told as complete
        self.train_seconds = 0.0         # time spent training and scoring the told trials
        self.worker = f"{socket.gethostname()}:{os.getpid()}"

    # ------------------------------------------------------------------ asking
    def ask_round(self, n_arch: int, population: int, limit: int) -> list[Member]:
        t0 = time.perf_counter()
        members: list[Member] = []
        try:
            self._fail_stale()
            while len(members) < limit and n_arch > 0:
                n_arch -= 1
                first = self._ask()
                members.append(first)
                fixed = self.space.architecture_params(first.trial.params)
                dists = {k: first.trial.distributions[k] for k in fixed}
                for _ in range(population - 1):
                    if len(members) >= limit or not fixed:
                        break
                    self.study.sampler = self._sibling_choice()
                    try:
                        members.append(self._ask(fixed, dists))
                    finally:
                        self.study.sampler = self.sampler
        finally:
            self.seconds += time.perf_counter() - t0
        return members

    def _ask(self, fixed: dict[str, Any] | None = None, dists: dict[str, Any] | None = None,
             ) -> Member:
        if fixed:
            trial = self._new_sibling(fixed, dists or {})
        else:
            with warnings.catch_warnings():
                # ask/tell with a heartbeat storage is fine: lamina's own thread beats
                warnings.filterwarnings("ignore", message="Heartbeat of storage")
                trial = self.study.ask()
        self.heartbeat.add(trial._trial_id)
        self.asked += 1
        try:
            candidate = self.space.suggest(trial)
            if self.max_batch_size is not None and candidate.batch_size > self.max_batch_size:
                candidate = replace(candidate, batch_size=self.max_batch_size)
        except BaseException:
            self.heartbeat.discard(trial._trial_id)
            self.study.tell(trial, state=_state("FAIL"))
            raise
        seed = (self.random_state * 1_000_003 + trial.number) % 2**31
        return Member(trial, candidate, seed)

    def _sibling_choice(self) -> TimedSampler:
        """The sampler (TPE) picks siblings' training settings too while its time stays under
        5 % of the training time; when training is fast and trials many (TPE's cost grows
        with them), the random sampler takes over so the sampler cannot dominate. Only when
        the budget alone ends the search: one with ``n_trials`` stays reproducible,
        timing-independent (while the budget does not cut it short)."""
        if not self.timed or self.sampler.seconds <= 0.05 * self.train_seconds:
            return self.sampler
        return self.sibling_sampler

    def _new_sibling(self, fixed: dict[str, Any], dists: dict[str, Any]) -> Any:
        """A trial created RUNNING with its architecture params already set.

        Not ``enqueue_trial`` + ``ask``: popping a WAITING trial is race-free only where the
        database locks rows (PostgreSQL, MySQL); on SQLite two workers could pop the same one.
        Creating the trial already RUNNING, owned by this worker, has no race on any storage,
        and writing its fixed params with it saves a database round trip per param.
        """
        import optuna
        from optuna.trial import TrialState, create_trial

        template = create_trial(state=TrialState.RUNNING, params=fixed, distributions=dists,
                                system_attrs={"fixed_params": fixed})
        trial_id = self.study._storage.create_new_trial(self.study._study_id,
                                                        template_trial=template)
        local = getattr(self.study, "_thread_local", None)
        if local is not None:
            local.cached_all_trials = None          # as Study.ask: see the newest trials
        return optuna.Trial(self.study, trial_id)

    def _fail_stale(self) -> None:
        from optuna.storages._heartbeat import is_heartbeat_enabled

        if is_heartbeat_enabled(self.study._storage):
            import optuna

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                optuna.storages.fail_stale_trials(self.study)

    # ------------------------------------------------------------------ reporting
    def report(self, member: Member) -> bool:
        """Report the member's last rung to Optuna; True when Optuna's pruner says stop."""
        t0 = time.perf_counter()
        try:
            value = member.scores[-1]
            if self.multi or value != value:       # multi-objective studies take no reports
                return False
            member.trial.report(value, member.samples[-1])
            return bool(self.consult_pruner and member.trial.should_prune())
        finally:
            self.seconds += time.perf_counter() - t0

    def finish(self, member: Member, how: str) -> None:
        """Tell the study: ``how`` is complete | budget (complete at the last scored rung) |
        halving | pruner | diverged | budget_pruned (pruned) | unfinished (failed: never
        scored)."""
        t0 = time.perf_counter()
        try:
            c = member.candidate
            epochs = member.samples[-1] / self.n_train if member.samples else 0.0
            member.trial.set_user_attr("lamina", {
                "widths": list(c.widths), "activation": c.activation, "batch_size": c.batch_size,
                "lr": c.lr, "alpha": c.alpha, "dropout": c.dropout, "seed": member.seed,
                "epochs": epochs, "scores": member.scores, "samples": member.samples,
                "seconds": member.seconds, "group": member.group,
                "population": member.population, "stopped": how, "worker": self.worker,
                "split_seed": self.split_seed,
                "n_params": member.extra.get("params"),
                "latency_ms": member.extra.get("latency")})
            if how in ("complete", "budget"):
                values = [member.last_score] + [member.extra[k] for k in self.objective[1:]]
                if self.best is None or values[0] > self.best:
                    self.best = values[0]
                self.study.tell(member.trial, values if self.multi else values[0])
            elif how == "unfinished":
                self.study.tell(member.trial, state=_state("FAIL"))
            else:
                self.study.tell(member.trial, state=_state("PRUNED"))
            self.states[how] = self.states.get(how, 0) + 1
            self.finished += 1
            self.train_seconds += member.seconds
        finally:
            self.heartbeat.discard(member.trial._trial_id)
            self.seconds += time.perf_counter() - t0

    @property
    def all_diverged(self) -> bool:
        """Every finished trial diverged (and at least one finished)."""
        return bool(self.finished) and self.states.get("diverged", 0) == self.finished

    @property
    def trained(self) -> int:
        """Trials finished with at least one score (not the ``unfinished`` ones)."""
        return self.finished - self.states.get("unfinished", 0)

    @property
    def sampler_seconds(self) -> float:
        return self.sampler.seconds + self.sibling_sampler.seconds

    @property
    def overhead_ms(self) -> float:
        """Mean bookkeeping milliseconds per finished trial: Optuna ask/enqueue/report/tell and
        storage writes, heartbeats, grouping; the sampler's own time is :attr:`sampler_ms`."""
        return 1000.0 * (self.seconds - self.sampler_seconds) / max(1, self.finished)

    @property
    def sampler_ms(self) -> float:
        """Mean milliseconds per finished trial spent inside the sampler (TPE)."""
        return 1000.0 * self.sampler_seconds / max(1, self.finished)


def _state(name: str) -> Any:
    from optuna.trial import TrialState

    return getattr(TrialState, name)


__all__ = ["Book", "Member"]
