"""Create, join or resume an Optuna study, refusing one that was made for another search.

A lamina study stores what defines it in the user attribute ``"lamina"``: the search space, the
objective and the shape of the data. Workers with the same definition join the study (that is how
several machines share one search); a different space is refused unless ``resume=True``, which
continues the study with the space it was created with.
"""

from __future__ import annotations

import json
import os
from typing import Any

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
               sampler: Any, pruner: Any, resume: bool, storage_label: str
               ) -> tuple[Any, SearchSpace | FunctionSpace, bool]:
    """Return ``(study, space, resumed)``; ``space`` is the stored one when resuming."""
    import optuna

    definition: dict[str, Any] = {"space": space.to_json(), "space_kind": type(space).__name__,
                  "objective": list(objective), "data": data}
    exists = name is not None and study_exists(storage, name)
    if not exists:
        if resume:
            raise ParameterError(
                "resume", True, f"there is no study named {name!r} in {storage_label} to resume",
                "Drop --resume (resume=False) to start it, or check --study and --storage.")
        study = optuna.create_study(storage=storage, study_name=name, directions=directions,
                                    sampler=sampler, pruner=pruner, load_if_exists=True)
        if ATTR not in study.user_attrs:     # another worker may have just created it
            study.set_user_attr(ATTR, definition)
        stored = study.user_attrs[ATTR]
        if stored == definition:
            return study, space, False
        # lost a creation race to a worker with another definition: judge it as existing
    study = optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    stored = study.user_attrs.get(ATTR)
    if stored is None:
        raise ParameterError("study", name, f"{storage_label} holds a study of that name that "
                             "lamina did not create", "Choose another --study name.")
    if stored["objective"] != list(objective):
        raise ParameterError("objective", objective, f"study {name!r} optimises "
                             f"{tuple(stored['objective'])}", "Pass the same objective, or "
                             "choose another --study name.")
    if stored["data"] != data:
        raise DataError(f"Invalid data for study {name!r}: it was created for {stored['data']}, "
                        f"this data is {data}. Use the same data, or choose another --study name.")
    if stored["space"] == definition["space"]:
        return study, space, resume
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
    return study, SearchSpace.from_json(stored["space"]), True


def _diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(set(old) | set(new))
    parts = [f"{k}: stored {json.dumps(old.get(k))}, given {json.dumps(new.get(k))}"
             for k in keys if old.get(k) != new.get(k)]
    return "; ".join(parts[:3]) + ("; ..." if len(parts) > 3 else "")


def make_sampler(sampler: Any, random_state: int, shared: bool) -> Any:
    """TPE by default (univariate, with the constant liar so a batch of asks spreads out).
    Workers of a shared study mix their pid into the seed so that two workers started with the
    same ``random_state`` do not propose the same trials."""
    import optuna

    if sampler is not None:
        return sampler
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                 # constant_liar is "experimental"
        return optuna.samplers.TPESampler(seed=_seed(random_state, shared), constant_liar=True)


def make_sibling_sampler(random_state: int, shared: bool) -> Any:
    """A random sampler for siblings (the other members of a population) when TPE's time per
    trial would rival the training time: then the sampler's cost is paid once per shape."""
    import optuna

    return optuna.samplers.RandomSampler(seed=_seed(random_state + 1, shared))


def _seed(random_state: int, shared: bool) -> int:
    return random_state if not shared else (random_state * 1_000_003 + os.getpid()) % 2**31


def storage_label(storage: Any) -> str:
    url = getattr(storage, "url", None)
    return mask_url(str(url)) if url else "memory"


__all__ = ["open_study", "make_sampler", "make_sibling_sampler", "study_exists", "storage_label", "ATTR"]
