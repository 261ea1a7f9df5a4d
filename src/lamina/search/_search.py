"""``lamina.search``: choose the hidden-layer configuration within a wall-clock budget."""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from .._errors import ParameterError
from ._book import Book, Member
from ._budget import format_seconds
from ._caller import caller_stacklevel, warnings_to_caller
from ._data import DIRECTIONS, SearchData, join_validation, prepare
from ._heartbeat import Heartbeat
from ._latency import measure_latency
from ._options import check_options
from ._plan import CostModel, Rungs, auto_epochs
from ._probe import calibrate, typical_weights
from ._result import SearchResult
from ._rounds import train_round
from ._sampler import TimedSampler
from ._space import fit_batch_size
from ._storage import open_storage
from ._study import (
    create_or_join,
    make_sampler,
    make_sibling_sampler,
    storage_label,
    stored_split_seed,
)


def search(X: Any, y: Any, space: Any = None, *, budget: Any = None, n_trials: int | None = None,
           objective: Any = None, cv: int | None = None, validation_fraction: float = 0.2,
           validation_data: Any = None,
           storage: Any = None, study: str | None = None, resume: bool = False,
           device: Any = "cpu", dtype: Any = "float32", random_state: int = 0,
           population: int = 4, batch: int = 8, eta: int = 3, min_epochs: Any = "auto",
           max_epochs: Any = "auto", sampler: Any = None, pruner: Any = None,
           refit: bool = True, callback: Callable[[dict[str, Any]], None] | None = None,
           ) -> SearchResult:
    """Search hidden-layer configurations (depth, widths, activation, ...) for ``X``, ``y``.

    Optuna proposes candidates in rounds (TPE by default); candidates of the same shape train
    together as one population in lamina's engine; successive halving over rungs gives the best
    more training, and every rung is reported to Optuna.

    Parameters
    ----------
    X : array-like (n_samples, n_features)
    y : array-like
        Class labels (``objective='accuracy'``) or numeric targets (``'r2'``).
    space : dict, SearchSpace, callable or None
        ``None``: 1-4 layers, width 16-1024 (log), activation relu/gelu/tanh/silu, lr 1e-4-1e-1
        (log), batch size 64-512, dropout 0-0.5, alpha 1e-6-1e-2 (log). A dict overrides some
        keys, e.g. ``{"n_layers": (1, 3), "width": (32, 512, "log"), "activation": ["relu"]}``;
        a function ``space(trial) -> dict`` is used as an Optuna objective-style space. Batch
        sizes above the training rows are clipped to them (a larger batch is one full batch):
        on 120 training rows, ``[64, 128, 256, 512]`` becomes ``[64, 120]``; the study stores
        the clipped space.
    budget : str or float, optional
        Wall-clock limit of the search: ``"30s"``, ``"5m"``, ``"1h"`` or seconds. Default
        ``"5m"`` unless ``n_trials`` is given. It starts once the study is open (database
        setup excluded); the refit of the best model comes after it.
    n_trials : int, optional
        Stop after this many trials (complete or pruned) of this call.
    objective : str or tuple, optional
        ``"accuracy"`` (classification), ``"r2"`` (regression), or a tuple adding ``"latency"``
        (batch-1 ms) and/or ``"params"`` to minimise: ``("accuracy", "latency")``. Default: by y,
        as :func:`lamina.datasets.read_table` decides: ``"accuracy"`` for labels that are not
        numbers or are whole numbers with at most 20 distinct values, ``"r2"`` otherwise (so
        pass ``"accuracy"`` for more integer classes than that).
    cv : int, optional
        k-fold cross-validation per trial instead of a hold-out ``validation_fraction``.
    validation_data : (X_val, y_val), optional
        Score on these rows instead of splitting ``X``; the refit then uses both. ``X_val``
        must have ``X``'s columns (a DataFrame: the same names, in order) and, for
        classification, ``y_val`` only classes that ``y`` has.
    storage : str or optuna storage, optional
        ``None`` (in memory), ``"sqlite:///lamina.db"``, or ``"postgresql://..."`` so several
        workers (processes, machines) share one study.
    study : str, optional
        Study name. Workers with the same space join it; a different space is refused unless
        ``resume=True``, which continues the study with its stored space.
    random_state : int
        Seeds the sampler, the split and the networks. A search that creates its study (in
        memory, or a new study in a database) with ``n_trials`` is reproducible, as long as
        the budget does not cut it short; a worker joining an existing study (another worker's,
        or a resumed one) adds a term of its own, so workers with one seed try other trials.
    population, batch : int
        Candidates per shape (trained as one population) and shapes per round.
    eta, min_epochs, max_epochs
        Successive halving: keep the best ``1/eta`` at each rung; rungs go from ``min_epochs``
        to ``max_epochs`` (``"auto"``: rung 0 sees about 2500 samples; five rungs, four when
        that is already a full epoch).
    sampler, pruner : optuna objects, optional
        Replace TPE; add an Optuna pruner consulted at every rung (halving always applies).
    refit : bool
        Refit the best configuration on all of ``X``, ``y`` as ``best_estimator_`` (from a
        DataFrame ``X``, it learns the column names: ``feature_names_in_``).
    callback : callable, optional
        Called after every rung with ``{"elapsed", "budget", "trials", "best"}``.

    Returns
    -------
    SearchResult
        ``best_params_``, ``best_score_``, ``best_estimator_``, ``trials_``, ``pareto_``,
        ``plot()``, ``overhead_ms_``, ``configs_per_minute_``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> res = search(X / 16, y, budget="20s")                  # doctest: +SKIP
    >>> res.best_params_["hidden_layer_sizes"], res.best_score_  # doctest: +SKIP
    ((256,), 0.97)
    """
    opts = check_options(budget=budget, n_trials=n_trials, objective=objective, y=y,
                         space=space, study=study, device=device, dtype=dtype,
                         random_state=random_state, population=population, batch=batch,
                         eta=eta, resume=resume, refit=refit)
    budget, seconds, n_trials, names = opts.budget, opts.seconds, opts.n_trials, opts.objective
    dev, dt, space_obj, random_state = opts.device, opts.dtype, opts.space, opts.random_state
    population, batch, eta, resume, refit = (opts.population, opts.batch, opts.eta, opts.resume,
                                             opts.refit)
    # warnings name the caller's line: lamina.search(...) passes through the callable
    # module, SearchCV.fit adds a frame; the data checks' and the refit's would name lamina's
    level = caller_stacklevel()
    with warnings_to_caller(level):
        def split(seed: int) -> SearchData:
            return prepare(X, y, names, validation_fraction=validation_fraction, cv=cv,
                           random_state=seed, device=dev, dtype=dt,
                           validation_data=validation_data)

        data = split(random_state)
        # "all the data" for the refit
        X_all, y_all = (X, y) if validation_data is None else \
            join_validation(X, y, validation_data)
        first, last = _epochs(min_epochs, max_epochs, data.n_train, eta)
        rungs = Rungs.geometric(data.n_train, first, last, eta)

        store = open_storage(storage)
        with _quiet_optuna():
            optuna_study, book, rounds, space_obj, resumed, t_start, data = _run(
                store, study, space_obj, names, data, rungs, sampler, pruner, random_state,
                resume, seconds, budget, n_trials, population, batch, eta, dev, dt, callback,
                split)
        elapsed = time.perf_counter() - t_start
        with _quiet_optuna():
            result = SearchResult.build(optuna_study, names, data, book, elapsed=elapsed,
                                        rounds=rounds, X=X_all, y=y_all, refit=refit,
                                        device=dev, dtype=dt, resumed=resumed)
    if result.warning_:                # a model at chance level is still returned (and saved)
        warnings.warn(result.warning_, UserWarning, stacklevel=level)
    return result


def _run(store: Any, study: str | None, space_obj: Any, names: tuple[str, ...],
         data: SearchData, rungs: Rungs, sampler: Any, pruner: Any, random_state: int,
         resume: bool, seconds: float, budget: Any, n_trials: int | None, population: int,
         batch: int, eta: int, dev: Any, dt: Any,
         callback: Callable[[dict[str, Any]], None] | None,
         split: Callable[[int], SearchData],
         ) -> tuple[Any, Book, int, Any, bool, float, SearchData]:
    """Open the study, measure the machine, then ask/train/tell rounds until the budget ends.

    The budget starts once the study is open: creating tables in a remote database is not
    search time (and varies with the server); the probes and every round are."""
    import optuna

    directions = [DIRECTIONS[n] for n in names]
    # a batch larger than the training rows is one full batch: the space (as the study stores
    # it) offers none larger; a resumed study's stored space may, its trials are capped below
    space_obj = fit_batch_size(space_obj, data.min_train)
    the_sampler = TimedSampler(make_sampler(sampler, random_state, joined=False))
    the_pruner = pruner if pruner is not None else optuna.pruners.NopPruner()
    optuna_study, space_obj, resumed, created = create_or_join(
        store, study, space=space_obj, objective=names, directions=directions,
        data=data.describe(), sampler=the_sampler, pruner=the_pruner, resume=resume,
        storage_label=storage_label(store), split_seed=random_state)
    shared_seed = stored_split_seed(optuna_study)
    split_seed = random_state if shared_seed is None else shared_seed
    if split_seed != random_state:
        # the study's trials are scored on its creator's split: score this worker's there too
        data = split(split_seed)
    if not created:
        # other workers share this study (or it is resumed): seeded by random_state alone,
        # this worker would propose what a worker started with the same seed proposes
        the_sampler.inner = make_sampler(sampler, random_state, joined=True)

    t_start = time.perf_counter()
    make_engine = _engine_factory(data, dev, dt)
    cost = calibrate(data, make_engine)
    deadline = t_start + seconds
    mean_w, min_w = typical_weights(space_obj, data, random_state)
    folds = len(data.splits)
    quickest = (cost.train(min_w, rungs.samples[0], 512) + cost.evaluate(min_w, data.n_val)) * folds
    setup = time.perf_counter() - t_start
    # twice the estimate: the probes' error, and the study's bookkeeping they do not time
    if 2 * quickest > deadline - time.perf_counter():
        _forget(store, optuna_study, created, 0)
        raise _budget_too_small(budget, seconds, setup, quickest, data.n_train)

    latency = None
    if "latency" in names:
        def latency(net: Any) -> float:
            return measure_latency(net, data.n_features)

    heartbeat = Heartbeat(store)
    book = Book(optuna_study, space_obj, names, heartbeat, random_state,
                consult_pruner=pruner is not None, n_train=data.n_train,
                max_batch_size=data.min_train, split_seed=split_seed,
                sibling_sampler=TimedSampler(make_sibling_sampler(random_state, not created)),
                timed=math.isfinite(seconds) and n_trials is None)
    rounds = 0

    def progress() -> None:
        if callback is not None:
            callback({"elapsed": time.perf_counter() - t_start, "budget": seconds,
                      "trials": book.finished, "best": book.best})

    with heartbeat:
        while time.perf_counter() < deadline - quickest:
            limit = n_trials - book.finished if n_trials is not None else 10**9
            if limit <= 0:
                break
            left = deadline - time.perf_counter()
            first_round = book.best is None
            # until a trial completes, a round may take half the time left, so that a round
            # guided by what the first one taught the sampler still follows
            share = 0.5 if first_round and math.isfinite(left) else 0.85
            n_arch = _plan_shapes(cost, mean_w, batch, population, rungs, data, eta,
                                  share * left)
            if n_arch == 0 and not first_round:
                break          # not even one population could finish: the time left is spare
            members = book.ask_round(max(1, n_arch), population, limit)
            # until something completes, fit the rungs to the time; later rounds keep the full
            # schedule (a lower-fidelity result could not beat a complete one)
            plan = _fit_rungs(cost, members, rungs, data, eta, left) if first_round else rungs
            train_round(members, data, plan, eta, book, cost, deadline, make_engine, latency,
                        progress)
            rounds += 1
        progress()              # the last round's trials too: the bar ends on the final count
    if math.isfinite(seconds) and not book.all_diverged and not _has_complete(optuna_study):
        # the estimate said one rung fits, but the machine was slower than its probes (load):
        # the same answer as above; the failed trials go with the study this run created
        _forget(store, optuna_study, created, book.asked)
        raise _budget_too_small(budget, seconds, setup, quickest, data.n_train,
                                spent=time.perf_counter() - t_start - setup)
    return optuna_study, book, rounds, space_obj, resumed, t_start, data


def _budget_too_small(budget: Any, seconds: float, setup: float, quickest: float, n_train: int,
                      spent: float | None = None) -> ParameterError:
    """The refusal of a budget, with the measured setup and the estimated first rung;
    ``spent``: how long the trials then ran without finishing one (None: refused up front)."""
    rows = f"on this data ({n_train} training rows)"
    if spent is None:
        left = format_seconds(seconds - setup) if seconds > setup else "nothing"
        what = (f"leaving {left}, too close to the about "
                f"{format_seconds(quickest)} the smallest configuration needs for its first "
                f"rung {rows}")
    else:
        what = (f"then the first trials ran {format_seconds(spent)} without finishing their "
                f"first rung {rows}: about {format_seconds(quickest)} of training, estimated, "
                "plus the study's bookkeeping")
    need = max(1, math.ceil(2 * (setup + max(2 * quickest, spent or 0.0))))
    return ParameterError(
        "budget", budget, f"it cannot fit one trial: measuring this machine took "
        f"{format_seconds(setup)}, {what}", f"Pass budget='{need}s' or more, or fewer rows.")


def _forget(store: Any, optuna_study: Any, created: bool, asked: int) -> None:
    """Delete the study this run created when it holds only this run's trials, none complete:
    a refused budget leaves nothing behind (a study others created or joined is kept)."""
    import optuna

    if created and len(optuna_study.get_trials(deepcopy=False)) == asked:
        optuna.delete_study(study_name=optuna_study.study_name, storage=store)


def _has_complete(optuna_study: Any) -> bool:
    from optuna.trial import TrialState
    return bool(optuna_study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def _epochs(min_epochs: Any, max_epochs: Any, n_train: int, eta: int) -> tuple[float, float]:
    auto_min, auto_max = auto_epochs(n_train, eta)
    lo = auto_min if min_epochs == "auto" else _positive("min_epochs", min_epochs)
    hi = (auto_max / auto_min * lo if max_epochs == "auto"
          else _positive("max_epochs", max_epochs))
    if hi < lo:
        raise ParameterError("max_epochs", max_epochs, f"must be >= min_epochs ({lo:g})",
                             "Raise max_epochs or lower min_epochs.")
    return lo, hi


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ParameterError(name, value, "'auto' or a positive number of epochs",
                             f"Pass e.g. {name}=1.")
    return float(value)


def _plan_shapes(cost: CostModel, mean_w: float, batch: int, population: int, rungs: Rungs,
                 data: SearchData, eta: int, left: float) -> int:
    """Shapes to ask this round: ``batch``, fewer when a full round would not fit in ``left``
    seconds (0: none fits)."""
    for n_arch in range(batch, 0, -1):
        n = n_arch * population
        need = cost.round_cost([mean_w] * n, [256] * n, n_arch, rungs, data.n_val, eta,
                               len(data.splits))
        if need <= left:
            return n_arch
    return 0


def _fit_rungs(cost: CostModel, members: list[Member], rungs: Rungs, data: SearchData, eta: int,
               left: float) -> Rungs:
    """Drop top rungs while the asked round would overrun the time left."""
    weights = [float(m.candidate.n_params(data.n_features, data.n_outputs)) for m in members]
    sizes = [m.candidate.batch_size for m in members]
    groups = len({m.candidate.arch_key for m in members})
    n = len(rungs)
    while n > 1 and cost.round_cost(weights, sizes, groups, rungs.truncated(n), data.n_val, eta,
                                    len(data.splits)) > left:
        n -= 1
    return rungs.truncated(n)


def _engine_factory(data: SearchData, device: Any, dtype: Any) -> Callable[..., Any]:
    from ..engine import PopulationEngine

    loss = "cross_entropy" if data.task == "classification" else "half_mse"

    def make(candidate: Any, members: list[Member], fold: int) -> Any:
        return PopulationEngine(
            candidate.sizes(data.n_features, data.n_outputs), candidate.activation, len(members),
            loss, lr=[m.candidate.lr for m in members], alpha=[m.candidate.alpha for m in members],
            dropout=[m.candidate.dropout for m in members],
            seeds=[(m.seed + 104729 * fold) % 2**31 for m in members], optimizer="adam",
            init="sklearn", dtype=dtype, device=device,
            penalty_in_loss=False)       # the search reads validation scores, not train loss

    return make


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Optuna logs a line per trial; a search tells hundreds. Restore the level afterwards."""
    import optuna

    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)


__all__ = ["search"]
