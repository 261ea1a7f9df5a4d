"""The search space: defaults, user dicts, rounding of widths, and bad spaces."""

from __future__ import annotations

import optuna
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lamina import ParameterError
from lamina.search import (
    DEFAULT_SPACE,
    Candidate,
    Choice,
    FunctionSpace,
    Range,
    SearchSpace,
    resolve_space,
    round_width,
)


def _trials(space: SearchSpace | FunctionSpace, n: int, seed: int = 0) -> list[Candidate]:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    out = []
    for _ in range(n):
        trial = study.ask()
        out.append(space.suggest(trial))
        study.tell(trial, 0.0)
    return out


def test_default_space_matches_the_issue() -> None:
    d = SearchSpace.from_dict(None).dims
    assert d["n_layers"] == Range(1, 4, False, True)
    assert d["width"] == Range(16, 1024, True, True)
    assert d["activation"] == Choice(("relu", "gelu", "tanh", "silu"))
    assert d["lr"] == Range(1e-4, 1e-1, True, False)
    assert d["dropout"] == Range(0.0, 0.5, False, False)
    assert d["alpha"] == Range(1e-6, 1e-2, True, False)
    assert isinstance(d["batch_size"], Choice)


def test_samples_stay_inside_the_default_space() -> None:
    for c in _trials(SearchSpace.from_dict(None), 200):
        assert 1 <= len(c.widths) <= 4
        assert all(16 <= w <= 1024 and w % 8 == 0 for w in c.widths)
        assert c.activation in DEFAULT_SPACE["activation"]
        assert 1e-4 <= c.lr <= 1e-1 and 1e-6 <= c.alpha <= 1e-2 and 0 <= c.dropout <= 0.5
        assert c.batch_size in DEFAULT_SPACE["batch_size"]


def test_user_dict_overrides_some_keys_and_keeps_the_rest() -> None:
    space = SearchSpace.from_dict({"n_layers": (2, 2), "width": [64], "activation": "logistic",
                                   "learning_rate_init": 0.01, "batch_size": [32]})
    cands = _trials(space, 20)
    assert {c.widths for c in cands} == {(64, 64)}
    assert {c.activation for c in cands} == {"sigmoid"}     # sklearn's name is accepted
    assert {c.lr for c in cands} == {0.01}
    assert len({c.alpha for c in cands}) == 20              # alpha still searched (default)


def test_fingerprint_changes_with_the_space_and_round_trips() -> None:
    a = SearchSpace.from_dict({"n_layers": (1, 2)})
    b = SearchSpace.from_dict({"n_layers": (1, 3)})
    assert a.fingerprint() != b.fingerprint()
    assert SearchSpace.from_json(a.to_json()).fingerprint() == a.fingerprint()
    assert a.fingerprint() == SearchSpace.from_dict({"n_layers": (1, 2)}).fingerprint()


@pytest.mark.parametrize("space, text", [
    ({"width": (512, 16)}, r"Invalid space\['width'\]=\(512, 16\): low \(512\) is greater than "
                           r"high \(16\).*Swap them"),
    ({"width": (0, 64)}, r"Invalid space\['width'\]=0: a width of 0 units is no layer"),
    ({"width": [0]}, r"a width of 0 units is no layer"),
    ({"n_layers": (0, 2)}, r"Invalid space\['n_layers'\]=0: values must be in \[1, 64\]"),
    ({"activation": []}, r"Invalid space\['activation'\]=\[\]: a non-empty list"),
    ({"activation": ["relu", "tanhh"]}, r"Invalid space\['activation'\]='tanhh'.*Did you mean "
                                        r"'tanh'"),
    ({"lr": (0.0, 0.1, "log")}, r"Invalid space\['lr'\]=0.0: values must be in \(0.0, inf\)"),
    ({"alpha": (0.0, 0.1, "log")}, r"a log range needs low > 0"),
    ({"dropout": (0.0, 1.0)}, r"Invalid space\['dropout'\]=1.0: values must be in \[0.0, 1.0\)"),
    ({"batch_size": []}, r"an empty list leaves nothing to try"),
    ({"width": (16, 64, "cubic")}, r"the third item must be 'log' or 'linear'"),
    ({"width": (16,)}, r"a range is \(low, high\) or \(low, high, 'log'\)"),
    ({"width": (16.5, 64)}, r"values must be integers"),
    ({"widht": (16, 64)}, r"Invalid space='widht': unknown search dimension.*Did you mean "
                          r"'width'"),
    ("256-128", r"Invalid space='256-128': a dict of ranges"),
])
def test_bad_spaces_are_refused_clearly(space: object, text: str) -> None:
    with pytest.raises(ParameterError, match=text):
        resolve_space(space)


def test_function_space_like_an_optuna_objective() -> None:
    def space(trial: optuna.Trial) -> dict[str, object]:
        n = trial.suggest_int("n", 1, 2)
        return {"hidden_layer_sizes": tuple(trial.suggest_categorical(f"w{i}", [32, 64])
                                            for i in range(n)),
                "lr": trial.suggest_float("lr", 1e-3, 1e-2, log=True), "activation": "tanh"}

    fs = resolve_space(space)
    assert isinstance(fs, FunctionSpace)
    cands = _trials(fs, 30)
    assert {c.activation for c in cands} == {"tanh"}
    assert all(set(c.widths) <= {32, 64} and 1e-3 <= c.lr <= 1e-2 for c in cands)
    assert {c.batch_size for c in cands} == {200}            # sklearn's default batch

    with pytest.raises(ParameterError, match="hidden_layer_sizes must be a non-empty tuple"):
        _trials(FunctionSpace(lambda t: {"hidden_layer_sizes": (0,)}), 1)
    with pytest.raises(ParameterError, match="unknown keys returned by the space function"):
        _trials(FunctionSpace(lambda t: {"hidden_layer_sizes": (8,), "momentum": 0.9}), 1)


@given(st.integers(1, 4096))
def test_round_width_properties(w: int) -> None:
    r = round_width(w)
    if w < 16:
        assert r == w
    else:
        step = 8 if w <= 128 else 16
        assert r % step == 0 and abs(r - w) <= step // 2


@given(st.integers(1, 2048), st.integers(1, 2048), st.integers(1, 2048))
def test_round_width_stays_in_range(w: int, a: int, b: int) -> None:
    low, high = min(a, b), max(a, b)
    w = min(max(w, low), high)
    assert low <= round_width(w, low, high) <= high


def test_candidate_sizes_params_and_spec() -> None:
    c = Candidate((3, 2), "tanh", 16, lr=0.1, alpha=0.0, dropout=0.25)
    assert c.sizes(4, 1) == (4, 3, 2, 1)
    assert c.n_params(4, 1) == (4 * 3 + 3) + (3 * 2 + 2) + (2 * 1 + 1)
    assert c.spec() == "3:tanh:dropout=0.25-2:tanh:dropout=0.25"
    from lamina.spec import parse_spec

    assert str(parse_spec(c.spec())) == c.spec()            # the refit reads this spec
