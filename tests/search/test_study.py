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
