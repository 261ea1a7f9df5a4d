"""The hidden-layer spec: parsing, canonical round trip, errors quoting the bad token."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lamina import DenseSpec, HiddenSpec, SpecError, parse_spec
from lamina.spec import ACTIVATIONS, INITS, NORMS


def test_tuple_of_widths_uses_default_activation() -> None:
    spec = parse_spec((256, 128), activation="tanh")
    assert spec == HiddenSpec((DenseSpec(256, "tanh"), DenseSpec(128, "tanh")))
    assert str(spec) == "256:tanh-128:tanh"


def test_sklearn_logistic_alias_becomes_sigmoid() -> None:
    assert str(parse_spec((3,), activation="logistic")) == "3:sigmoid"


def test_string_with_options() -> None:
    spec = parse_spec("64:gelu:dropout=0.25:norm=layer:init=he:bias=false-dense(8):tanh")
    first, second = spec.layers
    assert first == DenseSpec(64, "gelu", dropout=0.25, norm="layer", init="he", bias=False)
    assert second == DenseSpec(8, "tanh")


def test_float_exponent_is_not_a_layer_separator() -> None:
    spec = parse_spec("16:relu:dropout=1e-05-4:relu")
    assert [layer.width for layer in spec] == [16, 4]
    assert spec[0].dropout == 1e-05


def test_single_int_and_dataclasses_and_empty_tuple() -> None:
    assert str(parse_spec(5)) == "5:relu"
    assert parse_spec([DenseSpec(3), "4:tanh"]).layers == (DenseSpec(3), DenseSpec(4, "tanh"))
    assert parse_spec(()) == HiddenSpec(())


def test_json_round_trip() -> None:
    spec = parse_spec("64:gelu:dropout=0.25-8:tanh:init=sklearn")
    assert HiddenSpec.from_list(spec.to_list()) == spec


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ("", "empty string names no layer"),
        ("0", "width must be a positive integer, got '0'"),
        ("12x", "'12x'"),
        ("64-", "an empty layer"),
        ("64--32", "an empty layer"),
        ("-5", "widths must be positive integers, got -5"),       # a sign, not a separator
        ("-5:relu-3", "widths must be positive integers, got -5"),
        ("dens(3)", "unknown layer kind 'dens'"),
        ("dens(3)", "Did you mean 'dense'?"),
        ("12:tahn", "Did you mean 'tanh'?"),
        ("12:dropout=2", "dropout must be a number in [0, 1)"),
        ("12:norm=group", "allowed values are 'none', 'batch', 'layer'"),
        ("dense(1,2)", "exactly one argument"),
        ((0,), "widths must be positive integers, got 0"),
        ((-3, 4), "got -3"),
        ((1.5,), "got 1.5"),
        ((True,), "got True"),
        ({"a": 1}, "expected a tuple of widths"),
    ],
)
def test_bad_specs_quote_the_token(bad: object, needle: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(bad, param="hidden_layer_sizes")
    message = str(info.value)
    assert message.startswith("Invalid hidden_layer_sizes=")
    assert needle in message


_layers = st.builds(
    DenseSpec,
    width=st.integers(1, 4096),
    activation=st.sampled_from(ACTIVATIONS),
    dropout=st.sampled_from([0.0, 0.1, 0.5, 1e-05, 0.125]),
    norm=st.sampled_from(NORMS),
    init=st.sampled_from(INITS),
    bias=st.booleans(),
)


@given(st.lists(_layers, min_size=1, max_size=6))
def test_canonical_strings_round_trip(layers: list[DenseSpec]) -> None:
    text = str(HiddenSpec(tuple(layers)))
    parsed = parse_spec(text)
    assert str(parsed) == text
    assert parsed.layers == tuple(layers)


def test_an_option_given_twice_and_empty_layers_quote_the_whole_spec() -> None:
    from lamina import SpecError
    from lamina.spec import parse_spec

    with pytest.raises(SpecError, match=r"Invalid spec='256:tanh:relu': activation is given "
                       r"twice \('tanh' and 'relu'\)"):
        parse_spec("256:tanh:relu")
    with pytest.raises(SpecError, match=r"dropout is given twice"):
        parse_spec("256:dropout=0.1:dropout=0.2")
    with pytest.raises(SpecError, match=r"Invalid spec='256--128': an empty layer"):
        parse_spec("256--128")


def test_activation_names_in_any_case_act_option_and_negative_values() -> None:
    from lamina import SpecError
    from lamina.spec import parse_spec

    assert str(parse_spec("16:RELU-8:act=tanh")) == "16:relu-8:tanh"     # as conv/attn take act=
    with pytest.raises(SpecError, match=r"Invalid spec='16:dropout=-0.1': dropout=-0.1: dropout "
                       r"must be a number in \[0, 1\)"):
        parse_spec("16:dropout=-0.1")                 # was split at its '-': "dropout=''"
