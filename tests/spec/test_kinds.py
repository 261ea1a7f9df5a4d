"""Spec kinds beyond dense: parsing, canonical strings, round trips, validation messages."""

from __future__ import annotations

import doctest
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lamina import ParameterError, SpecError
from lamina.spec import (
    ACTIVATIONS,
    AttentionSpec,
    ConvSpec,
    DenseSpec,
    EmbedSpec,
    FlattenSpec,
    GapSpec,
    GRUSpec,
    HiddenSpec,
    LSTMSpec,
    PoolSpec,
    RNNSpec,
    SeqPoolSpec,
    _attention,
    _conv,
    _embed,
    _recurrent,
    kinds,
    parse_spec,
    with_vocab,
)

# ---- strategies: one per kind, all kinds together ------------------------------------------
sizes = st.integers(1, 512)
dropouts = st.one_of(st.just(0.0), st.floats(1e-6, 0.99, allow_nan=False))

dense = st.builds(DenseSpec, sizes, st.sampled_from(ACTIVATIONS), dropouts,
                  st.sampled_from(["none", "batch", "layer"]),
                  st.sampled_from(["default", "he", "xavier", "sklearn"]), st.booleans())


@st.composite
def conv(draw: st.DrawFn) -> ConvSpec:
    padding = draw(st.one_of(st.integers(0, 3), st.just("same")))
    stride = 1 if padding == "same" else draw(st.integers(1, 3))
    return ConvSpec(draw(sizes), draw(st.integers(1, 7)), stride, padding,
                    draw(st.sampled_from(ACTIVATIONS)), draw(st.sampled_from(["none", "batch"])),
                    draw(dropouts), draw(st.sampled_from(["default", "he", "xavier"])),
                    draw(st.booleans()))


pool = st.builds(PoolSpec, st.sampled_from(["max", "avg"]), st.integers(1, 5))
recurrent_kw = {"bidirectional": st.booleans(), "layers": st.integers(1, 3),
                "readout": st.sampled_from(["last", "mean", "seq"]), "dropout": dropouts}
recurrent = st.one_of(
    st.builds(LSTMSpec, sizes, **recurrent_kw), st.builds(GRUSpec, sizes, **recurrent_kw),
    st.builds(RNNSpec, sizes, activation=st.sampled_from(["tanh", "relu"]), **recurrent_kw))


@st.composite
def attention(draw: st.DrawFn) -> AttentionSpec:
    heads = draw(st.integers(1, 8))
    dim = heads * draw(st.integers(1, 32))
    ff = draw(st.one_of(st.none(), sizes))
    return AttentionSpec(dim, heads, ff, draw(st.sampled_from(ACTIVATIONS)), draw(dropouts),
                         draw(st.sampled_from(["sinusoidal", "learned", "none"])))


embed = st.builds(EmbedSpec, sizes,
                  st.one_of(st.none(), st.lists(st.integers(2, 10**6), min_size=1, max_size=4)
                            .map(tuple)), dropouts)
any_layer = st.one_of(dense, conv(), pool, st.builds(FlattenSpec), st.builds(GapSpec), recurrent,
                      attention(), st.builds(SeqPoolSpec, st.sampled_from(["mean", "max", "last",
                                                                          "cls"])), embed)


@settings(max_examples=300, deadline=None)
@given(st.lists(any_layer, min_size=1, max_size=5))
def test_every_kind_round_trips_through_its_canonical_string_and_json(layers: list) -> None:
    spec = HiddenSpec(tuple(layers))
    text = str(spec)
    parsed = parse_spec(text)
    assert parsed == spec
    assert str(parsed) == text
    assert HiddenSpec.from_list(json.loads(spec.to_json())) == spec


def test_the_property_covers_every_registered_kind() -> None:
    covered = {"dense", "conv", "pool", "flatten", "gap", "rnn", "lstm", "gru", "attn",
               "seqpool", "embed"}
    assert covered <= set(kinds())


@pytest.mark.parametrize("text, canonical", [
    ("conv(32,3)-pool-conv(64,3)-pool-dense(128)",
     "conv(32,3):relu-pool-conv(64,3):relu-pool-128:relu"),
    ("conv(16,5,2):act=tanh:norm=batch", "conv(16,5,2):tanh:norm=batch"),
    ("conv(8,3,1,0)", "conv(8,3):relu"),
    ("conv(8,3,1,same):dropout=0.25:init=he:bias=false",
     "conv(8,3,1,same):relu:dropout=0.25:init=he:bias=false"),
    ("pool(max,2)", "pool"), ("pool(3)", "pool(max,3)"), ("pool(avg)", "pool(avg,2)"),
    ("flatten-gap", "flatten-gap"),
    ("lstm(64):readout=last:bidirectional=false:layers=1", "lstm(64)"),
    ("gru(32):readout=seq:bidirectional=true:layers=2:dropout=0.1",
     "gru(32):bidirectional=true:layers=2:readout=seq:dropout=0.1"),
    ("rnn(8)", "rnn(8):tanh"), ("rnn(8):act=relu", "rnn(8):relu"),
    ("attn(64,4)", "attn(64,4):gelu"), ("attn(64,4):ff=256:pos=sinusoidal", "attn(64,4):gelu"),
    ("attn(32,2):relu:ff=64:dropout=0.1:pos=learned", "attn(32,2):relu:ff=64:dropout=0.1:pos=learned"),
    ("seqpool(mean)", "seqpool"), ("seqpool(cls)", "seqpool(cls)"),
    ("embed(16):vocab=944, 1683", "embed(16):vocab=944,1683"),
])
def test_accepted_forms_normalise_to_the_canonical_string(text: str, canonical: str) -> None:
    assert str(parse_spec(text)) == canonical
    assert str(parse_spec(canonical)) == canonical


def test_parsed_fields() -> None:
    c, p, d = parse_spec("conv(32,3,2,1):tanh-pool(avg,3)-64").layers
    assert (c.channels, c.kernel, c.stride, c.padding, c.activation) == (32, 3, 2, 1, "tanh")
    assert (p.mode, p.size) == ("avg", 3)
    assert isinstance(d, DenseSpec) and d.width == 64
    lstm = parse_spec("lstm(10):bidirectional=true:readout=mean").layers[0]
    assert (lstm.hidden, lstm.bidirectional, lstm.readout, lstm.out_features) == (10, True, "mean",
                                                                                 20)
    a = parse_spec("attn(12,3)").layers[0]
    assert (a.dim, a.heads, a.ff, a.pos) == (12, 3, 48, "sinusoidal")
    e = parse_spec("embed(8):vocab=100").layers[0]
    assert e.vocab == (100,) and e.token_mode
    assert not parse_spec("embed(8):vocab=10,20").layers[0].token_mode


def test_sklearn_style_default_activation_reaches_conv_layers() -> None:
    assert str(parse_spec("conv(4,3)-8", activation="tanh")) == "conv(4,3):tanh-8:tanh"


@pytest.mark.parametrize("text, message", [
    ("conv(32)", "a conv layer takes (channels, kernel[, stride[, padding]]); got 1 argument"),
    ("conv(32,3,1,1,1)", "got 5 arguments"),
    ("conv(0,3)", "channels must be an integer >= 1, got '0'"),
    ("conv(8,x)", "kernel must be an integer >= 1, got 'x'"),
    ("conv(8,3,1,-1)", "padding must be an integer >= 0"),
    ("conv(8,3,2,same)", "padding='same' needs stride=1"),
    ("conv(8,3):norm=layer", "allowed values are 'none', 'batch'"),
    ("conv(8,3):init=sklearn", "allowed values are 'default', 'he', 'xavier'"),
    ("conv(8,3):act=swoosh", "allowed values are"),
    ("conv(8,3):stride=2", "unknown option 'stride' for a conv layer"),
    ("pool(min,2)", "pool mode must be 'max' or 'avg', got 'min'"),
    ("pool(max,0)", "size must be an integer >= 1, got '0'"),
    ("pool:avg=1", "a pool layer takes no options"),
    ("flatten(2)", "a flatten layer takes no arguments"),
    ("gap:dropout=0.1", "a gap layer takes no options"),
    ("lstm(0)", "hidden size must be an integer >= 1, got '0'"),
    ("lstm(8,2)", "a lstm layer takes exactly one argument, the hidden size"),
    ("gru(8):readout=first", "readout must be one of last, mean, seq, got 'first'"),
    ("gru(8):bidirectional=maybe", "bidirectional must be true or false, got 'maybe'"),
    ("lstm(8):layers=0", "layers must be an integer >= 1, got '0'"),
    ("lstm(8):tanh", "unknown option 'activation' for a lstm layer"),
    ("rnn(8):sigmoid", "an rnn layer's activation must be tanh or relu, got 'sigmoid'"),
    ("attn(64)", "a attn layer takes (dim, heads); got 1 argument"),
    ("attn(64,5)", "heads (5) must divide dim (64)"),
    ("attn(64,4):pos=rotary", "pos must be one of sinusoidal, learned, none, got 'rotary'"),
    ("attn(64,4):ff=0", "ff must be an integer >= 1, got '0'"),
    ("attn(64,4):heads=2", "unknown option 'heads' for a attn layer"),
    ("seqpool(sum)", "seqpool mode must be one of mean, max, last, cls, got 'sum'"),
    ("embed(8):vocab=1", "vocab must be an integer >= 2, got '1'"),
    ("embed(8):vocab=10,x", "vocab must be an integer >= 2, got 'x'"),
    ("embed(8):size=3", "unknown option 'size' for a embed layer"),
    ("lstn(8)", "Did you mean 'lstm'?"),
])
def test_bad_tokens_raise_spec_errors_quoting_the_token(text: str, message: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_spec(text)
    assert message in str(err.value)
    assert text.split("-")[0] in str(err.value)


def test_heads_error_suggests_a_divisor() -> None:
    with pytest.raises(SpecError, match=r"Write e.g. 'attn\(64,4\)'"):
        parse_spec("attn(64,5)")


@pytest.mark.parametrize("make, message", [
    (lambda: ConvSpec(0, 3), "Invalid channels=0: channels must be an integer >= 1"),
    (lambda: ConvSpec(4, 3, stride=2, padding="same"), "padding='same' needs stride=1"),
    (lambda: ConvSpec(4, 3, padding=-2), "padding must be an integer >= 0 or 'same'"),
    (lambda: ConvSpec(4, 3, dropout=1.0), "dropout must be a number in [0, 1)"),
    (lambda: PoolSpec("median"), "allowed values are 'max', 'avg'"),
    (lambda: LSTMSpec(8, readout="first"), "allowed values are 'last', 'mean', 'seq'"),
    (lambda: GRUSpec(8, bidirectional=1), "bidirectional must be True or False"),
    (lambda: RNNSpec(8, activation="gelu"), "allowed values are 'tanh', 'relu'"),
    (lambda: AttentionSpec(10, 3), "Invalid heads=3: heads must divide dim=10"),
    (lambda: AttentionSpec(10, 2, pos="rope"), "allowed values are 'sinusoidal'"),
    (lambda: SeqPoolSpec("sum"), "allowed values are 'mean', 'max', 'last', 'cls'"),
    (lambda: EmbedSpec(8, vocab=1), "vocab must be an integer >= 2"),
    (lambda: EmbedSpec(8, vocab=(10, True)), "vocab must be an integer >= 2"),
])
def test_dataclass_fields_are_validated(make, message: str) -> None:
    with pytest.raises(ParameterError) as err:   # SpecError, or check_choice's ParameterError
        make()
    assert message in str(err.value)


def test_bad_field_inside_a_string_is_reported_against_the_spec() -> None:
    with pytest.raises(SpecError, match=r"Invalid hidden=.*padding='same' needs stride=1"):
        parse_spec(["conv(8,3,2,same)"], param="hidden")


def test_with_vocab_fills_only_missing_vocabularies() -> None:
    spec = with_vocab("embed(32)-lstm(16)", 1000)
    assert str(spec) == "embed(32):vocab=1000-lstm(16)"
    assert spec.layers[0].vocab == (1000,)
    kept = with_vocab("embed(8):vocab=50-flatten", 1000)
    assert kept.layers[0].vocab == (50,)
    assert with_vocab("embed(4)", (10, 20)).layers[0].vocab == (10, 20)


def test_is_dense_is_false_for_mixed_specs() -> None:
    assert parse_spec("64-32").is_dense
    assert not parse_spec("conv(4,3)-32").is_dense


@pytest.mark.parametrize("module", [_conv, _recurrent, _attention, _embed])
def test_docstring_examples_run(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
