"""Create, join or resume an Optuna study, refusing one that was made for another search.

A lamina study stores what defines it in the user attribute ``"lamina"``: the search space, the
objective and the shape of the data. Workers with the same definition join the study (that is how
several machines share one search); a different space is refused unless ``resume=True``, which
continues the study with the space it was created with.

Seeds: the worker that creates a study seeds its sampler with ``random_state`` alone, so a fresh
search (in memory or in a new database, as ``lamina search`` makes) is reproducible; a worker
that joins an existing study mixes a term of its own into the seed (see :func:`worker_seed`).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import zlib
from typing import Any, NamedTuple

from .._errors import DataError, ParameterError
from ._space import FunctionSpace, SearchSpace
from ._storage import mask_url

ATTR = "lamina"


def study_exists(storage: Any, name: str) -> bool:
    import optuna

    try:
        storage.get_study_id_from_name(name)
        return True
    except KeyError:
        return False
    except optuna.exceptions.OptunaError:
        return False


def open_study(storage: Any, name: str | None, *, space: SearchSpace | FunctionSpace,
               objective: tuple[str, ...], directions: list[Any], data: dict[str, Any],
               sampler: Any, pruner: Any, resume: bool, storage_label: str,
               split_seed: int | None = None) -> tuple[Any, SearchSpace | FunctionSpace, bool]:
    """Return ``(study, space, resumed)``; ``space`` is the stored one when resuming."""
    opened = create_or_join(storage, name, space=space, objective=objective,
                            directions=directions, data=data, sampler=sampler, pruner=pruner,
                            resume=resume, storage_label=storage_label, split_seed=split_seed)
    return opened.study, opened.space, opened.resumed


class Opened(NamedTuple):
    """What :func:`create_or_join` found: ``created`` is True only for the one worker whose
    call created the study (every other worker, and a resumed or continued study, joined)."""

    study: Any
    space: SearchSpace | FunctionSpace
    resumed: bool
    created: bool


def create_or_join(storage: Any, name: str | None, *, space: SearchSpace | FunctionSpace,
                   objective: tuple[str, ...], directions: list[Any], data: dict[str, Any],
                   sampler: Any, pruner: Any, resume: bool, storage_label: str,
                   split_seed: int | None = None) -> Opened:
    """Create the study, or join (``resume``: continue) the one of that name.

    Of several workers started at once on a new study, exactly one creates it: the others'
    creation fails with Optuna's ``DuplicatedStudyError`` and they join, so ``created`` tells
    the worker that is alone in its study so far from the ones that share it.

    The creator stores ``split_seed`` (its validation split's seed): every worker must score
    its trials on that split (see :func:`stored_split_seed`), whatever its own seed, or the
    study would rank trials scored on different rows.
    """
    import optuna

    definition: dict[str, Any] = {"space": space.to_json(), "space_kind": type(space).__name__,
                  "objective": list(objective), "data": data}
    if split_seed is not None:
        definition["split_seed"] = int(split_seed)
    exists = name is not None and study_exists(storage, name)
    if not exists:
        if resume:
            raise ParameterError(
                "resume", True, f"there is no study named {name!r} in {storage_label} to resume",
                "Drop --resume (resume=False) to start it, or check --study and --storage.")
        try:
            study = optuna.create_study(storage=storage, study_name=name, directions=directions,
                                        sampler=sampler, pruner=pruner)
            study.set_user_attr(ATTR, definition)
            return Opened(study, space, False, True)
        except optuna.exceptions.DuplicatedStudyError:
            # another worker created it a moment ago: join it, with the definition (and split
            # seed) its creator stores right after creating it; store this one only if that
            # never comes
            study = optuna.load_study(study_name=name, storage=storage, sampler=sampler,
                                      pruner=pruner)
            if _definition(study) is None:
                study.set_user_attr(ATTR, definition)
    else:
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler,
                                  pruner=pruner)
    stored = _definition(study)
    if stored is None:
        raise ParameterError("study", name, f"{storage_label} holds a study of that name that "
                             "lamina did not create", "Choose another --study name.")
    if stored["objective"] != list(objective):
        raise ParameterError("objective", objective, f"study {name!r} optimises "
                             f"{tuple(stored['objective'])}", "Pass the same objective, or "
                             "choose another --study name.")
    differs = data_differs(stored["data"], data)
    if differs:
        raise DataError(f"Invalid data for study {name!r}: {differs}. Every worker (and a "
                        "resumed run) must search the same rows: the same data set or file, "
                        "and the same --n-samples and --seed for a subsample. Use that data, "
                        "or choose another --study name.")
    if stored["space"] == definition["space"]:
        return Opened(study, space, resume, False)
    if not resume:
        raise ParameterError(
            "study", name, f"it exists in {storage_label} with a different search space "
            f"({_diff(stored['space'], definition['space'])})",
            "Pass --resume (resume=True) to continue it with its stored space, or choose "
            "another --study name.")
    if stored["space_kind"] != "SearchSpace":
        raise ParameterError("space", space, f"study {name!r} was made with another space "
                             "function; a function cannot be restored from storage",
                             "Pass the same function to resume it.")
    import warnings

    warnings.warn(StoredSpaceWarning(
        f"study {name!r} continues with the search space it was created with; this run's space "
        f"(the default when none is given) differs ({_diff(stored['space'], definition['space'])})"
        " and is not used"), stacklevel=2)
    return Opened(study, SearchSpace.from_json(stored["space"]), True, False)


class StoredSpaceWarning(UserWarning):
    """A resumed study searches its stored space, not the one this run was given."""


def data_differs(stored: dict[str, Any], given: dict[str, Any]) -> str | None:
    """Why ``given`` (a data description) is not the data a study ``stored``, or None. Keys
    a study made by an older lamina lacks (``n_samples``, ``sha256``) are not compared."""
    shared = [k for k in given if k in stored]
    if all(stored[k] == given[k] for k in shared):
        return None
    shape = [k for k in shared if k != "sha256"]
    if all(stored[k] == given[k] for k in shape):
        return (f"it was searched on other rows of the same shape ({given.get('n_samples')} x "
                f"{given.get('n_features')}; fingerprint {stored['sha256']}, this data's "
                f"{given['sha256']})")
    show = {k: stored[k] for k in shape}
    return f"it was created for {show}, this data is { {k: given[k] for k in shape} }"


def stored_split_seed(study: Any) -> int | None:
    """The seed of the validation split the study's trials are scored on (None for a study
    made by an older lamina, whose workers each used their own)."""
    stored = study.user_attrs.get(ATTR) or {}
    seed = stored.get("split_seed")
    return None if seed is None else int(seed)


def _definition(study: Any, wait: float = 2.0) -> dict[str, Any] | None:
    """The study's stored definition; a study created a moment ago by another worker may not
    have it yet (creating a study and storing its definition are two writes): wait a little."""
    import time

    deadline = time.monotonic() + wait
    while True:
        stored = study.user_attrs.get(ATTR)
        if stored is not None or time.monotonic() > deadline:
            return stored
        time.sleep(0.1)


def _diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(set(old) | set(new))
    parts = [f"{k}: stored {json.dumps(old.get(k))}, given {json.dumps(new.get(k))}"
             for k in keys if old.get(k) != new.get(k)]
    return "; ".join(parts[:3]) + ("; ..." if len(parts) > 3 else "")


def make_sampler(sampler: Any, random_state: int, joined: bool) -> Any:
    """TPE by default (univariate, with the constant liar so a batch of asks spreads out).

    Seeded with ``random_state`` alone in a study this worker created, so a search that starts
    a study (in memory, or a new SQLite file as ``lamina search`` makes) is reproducible. A
    worker that ``joined`` a study (several workers, or a resumed or continued study) mixes a
    worker-specific term into the seed, so that two workers started with the same
    ``random_state`` do not propose the same trials (their history differs anyway)."""
    import optuna

    if sampler is not None:
        return sampler
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                 # constant_liar is "experimental"
        return optuna.samplers.TPESampler(seed=worker_seed(random_state, joined),
                                          constant_liar=True)


def make_sibling_sampler(random_state: int, joined: bool) -> Any:
    """A random sampler for siblings (the other members of a population) when TPE's time per
    trial would rival the training time: then the sampler's cost is paid once per shape."""
    import optuna

    return optuna.samplers.RandomSampler(seed=worker_seed(random_state + 1, joined))


def worker_seed(random_state: int, joined: bool) -> int:
    """``random_state`` for the worker that created its study; for one that joined, the seed
    mixed with this worker's host and process and a random draw (two threads of one process,
    or processes with one pid on two machines, must differ too)."""
    if not joined:
        return random_state
    worker = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    term = zlib.crc32(worker.encode()) ^ secrets.randbits(31)
    return (random_state * 1_000_003 + term) % 2**31


def storage_label(storage: Any) -> str:
    url = getattr(storage, "url", None)
    return mask_url(str(url)) if url else "memory"


__all__ = ["open_study", "create_or_join", "Opened", "StoredSpaceWarning", "data_differs",
           "stored_split_seed", "worker_seed", "make_sampler", "make_sibling_sampler",
           "study_exists", "storage_label", "ATTR"]
