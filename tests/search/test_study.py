"""Joining, refusing and resuming studies: a study remembers the space, objective and data."""

from __future__ import annotations

import optuna
import pytest

from lamina import DataError, ParameterError
from lamina.search import SearchSpace, open_storage, search
from lamina.search._study import open_study, storage_label

DIGITS = {"task": "classification", "n_features": 64, "n_outputs": 10}


def _create(url: str, name: str, space: dict, objective: tuple[str, ...] = ("accuracy",),
            data: dict = DIGITS) -> optuna.Study:
    storage = open_storage(url)
    study, _, _ = open_study(storage, name, space=SearchSpace.from_dict(space),
                             objective=objective, directions=["maximize"] * len(objective),
                             data=data, sampler=None, pruner=None, resume=False,
                             storage_label=storage_label(storage))
    return study


def test_same_definition_joins(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    a = _create(url, "s", {"n_layers": (1, 2)})
    b = _create(url, "s", {"n_layers": (1, 2)})
    assert a._study_id == b._study_id
    assert a.user_attrs["lamina"]["space"]["n_layers"] == {"low": 1, "high": 2, "log": False}


def test_a_different_space_is_refused_unless_resume(tmp_path, digits) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    _create(url, "s", {"n_layers": (1, 2)})
    X, y = digits
    with pytest.raises(ParameterError, match=r"Invalid study='s': it exists in sqlite:///.*s.db "
                                             r"with a different search space \(n_layers: stored "
                                             r"\{.*\"high\": 2.*\}, given \{.*\"high\": 3.*\}\)."
                                             r" Pass --resume \(resume=True\)"):
        search(X, y, space={"n_layers": (1, 3)}, storage=url, study="s", n_trials=1)


def test_resume_needs_an_existing_study(tmp_path, digits) -> None:
    X, y = digits
    with pytest.raises(ParameterError, match=r"Invalid resume=True: there is no study named "
                                             r"'nope' in sqlite:///.* to resume. Drop --resume"):
        search(X, y, storage=f"sqlite:///{tmp_path / 's.db'}", study="nope", resume=True,
               n_trials=1)


def test_other_data_or_objective_is_refused_even_with_resume(tmp_path, digits) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    _create(url, "s", {}, data={"task": "classification", "n_features": 3, "n_outputs": 2})
    X, y = digits
    with pytest.raises(DataError, match=r"Invalid data for study 's': it was created for "
                                        r"\{.*'n_features': 3.*\}, this data is \{.*64"):
        search(X, y, storage=url, study="s", resume=True, n_trials=1)
    _create(url, "t", {}, objective=("accuracy", "params"))
    with pytest.raises(ParameterError, match=r"Invalid objective=\('accuracy',\): study 't' "
                                             r"optimises \('accuracy', 'params'\)"):
        search(X, y, storage=url, study="t", n_trials=1)


def test_a_foreign_study_is_not_touched(tmp_path, digits) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    optuna.create_study(storage=url, study_name="theirs")
    X, y = digits
    with pytest.raises(ParameterError, match="holds a study of that name that lamina did not "
                                             "create"):
        search(X, y, storage=url, study="theirs", n_trials=1)


SMALL = {"n_layers": (1, 1), "width": (16, 32), "batch_size": [64], "lr": (1e-3, 1e-2, "log")}
FAST = {"min_epochs": 1, "max_epochs": 3, "eta": 3, "refit": False}


def test_workers_with_other_seeds_score_on_the_creators_split(tmp_path, digits) -> None:
    """Acceptance review: workers started with different --seed each scored their trials on
    their own validation split, and the study ranked them as one. The creator stores its split
    seed; a worker joining with another seed scores on that split (its sampler stays its own)."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    X, y = digits
    search(X, y, SMALL, storage=url, study="s", n_trials=2, batch=2, random_state=1, **FAST)
    search(X, y, SMALL, storage=url, study="s", n_trials=2, batch=2, random_state=2, **FAST)
    study = optuna.load_study(study_name="s", storage=open_storage(url))
    assert study.user_attrs["lamina"]["split_seed"] == 1
    seeds = [t.user_attrs["lamina"]["split_seed"] for t in study.trials]
    assert len(seeds) == 4 and set(seeds) == {1}
    assert len({t.user_attrs["lamina"]["worker"] for t in study.trials}) == 1  # one process
    # the second run's sampler was its own: not the first run's two configurations again
    first = [t.params for t in study.trials[:2]]
    assert all(t.params not in first for t in study.trials[2:])


def test_other_rows_of_the_same_shape_are_refused_even_with_resume(tmp_path, digits) -> None:
    """Acceptance review: a --resume on a 150-row subsample joined a study of 1797 rows, and
    its 1.0 on a 30-row split became the best. The study stores the rows' fingerprint."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    X, y = digits
    search(X, y, SMALL, storage=url, study="s", n_trials=1, batch=1, **FAST)
    fewer = r"it was created for \{.*'n_samples': 1797\}, this data is \{.*'n_samples': 1500\}"
    shuffled = (r"it was searched on other rows of the same shape \(1797 x 64; fingerprint "
                r"[0-9a-f]{16}, this data's [0-9a-f]{16}\)")
    for other, rows, why in ((X[:1500], y[:1500], fewer), (X[::-1], y[::-1], shuffled)):
        with pytest.raises(DataError, match=rf"Invalid data for study 's': {why}. Every worker "
                                            r"\(and a resumed run\) must search the same rows"):
            search(other, rows, SMALL, storage=url, study="s", n_trials=1, resume=True,
                   **FAST)
    # the same rows join, whatever the seed
    search(X, y, SMALL, storage=url, study="s", n_trials=1, batch=1, random_state=5, **FAST)


def test_a_study_made_before_the_fingerprint_still_joins(tmp_path, digits) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    _create(url, "old", SMALL)                    # data stored as task/features/outputs only
    X, y = digits
    res = search(X, y, SMALL, storage=url, study="old", n_trials=1, batch=1, **FAST)
    assert len(res.trials_) == 1


def test_resume_with_another_space_says_the_stored_one_is_searched(tmp_path, digits) -> None:
    from lamina.search._study import StoredSpaceWarning

    url = f"sqlite:///{tmp_path / 's.db'}"
    X, y = digits
    search(X, y, SMALL, storage=url, study="s", n_trials=1, batch=1, **FAST)
    wider = dict(SMALL, width=(16, 64))
    with pytest.warns(StoredSpaceWarning, match=r"study 's' continues with the search space it "
                                                r"was created with; .* differs \(width: stored"):
        res = search(X, y, wider, storage=url, study="s", n_trials=1, batch=1, resume=True,
                     **FAST)
    assert all(16 <= w <= 32 for w in res.trials_["hidden_layer_sizes"].sum())
