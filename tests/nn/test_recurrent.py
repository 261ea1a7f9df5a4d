"""rnn / lstm / gru layers: variable lengths (no truncation, true last step), gradients, errors."""

from __future__ import annotations

import pytest
import torch
from _kind_checks import assert_all_params_get_gradient, param_gradcheck, single_thread  # noqa: F401

from lamina import DataError, ParameterError, SpecError
from lamina.nn import RecurrentLayer, build, make_layer
from lamina.spec import parse_spec

LENGTHS = torch.tensor([5, 2, 1, 4])

pytestmark = pytest.mark.usefixtures("single_thread")


def _layer(token: str, in_shape=(5, 3)) -> RecurrentLayer:
    torch.manual_seed(0)
    layer, _ = make_layer(parse_spec(token).layers[0], in_shape)
    return layer.double().eval()


def _padded(seed: int = 0, fill: float = 0.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(4, 5, 3, generator=g, dtype=torch.float64)
    for b, n in enumerate(LENGTHS.tolist()):
        x[b, n:] = fill
    return x


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("readout", ["last", "mean", "seq"])
def test_padded_batch_equals_each_sequence_run_alone(kind: str, bidirectional: bool,
                                                     readout: str) -> None:
    layer = _layer(f"{kind}(4):bidirectional={str(bidirectional).lower()}:layers=2:"
                   f"readout={readout}")
    x = _padded()
    batched = layer(x, LENGTHS)
    for b, n in enumerate(LENGTHS.tolist()):
        out, state = layer.rnn(x[b:b + 1, :n])              # the sequence alone, no padding
        if readout == "seq":
            torch.testing.assert_close(batched[b, :n], out[0])
            if n < 5:
                assert batched[b, n:].abs().max().item() == 0.0     # zeros past the length
        elif readout == "mean":
            torch.testing.assert_close(batched[b], out[0].mean(0))
        else:
            if bidirectional:   # forward at its true last step, backward after reading to step 0
                expected = torch.cat([out[0, n - 1, :4], out[0, 0, 4:]])
            else:
                expected = out[0, n - 1]
            torch.testing.assert_close(batched[b], expected)


def test_what_is_in_the_padding_never_matters() -> None:
    layer = _layer("lstm(4):bidirectional=true:readout=seq")
    a = layer(_padded(fill=0.0), LENGTHS)
    b = layer(_padded(fill=float("nan")), LENGTHS)
    c = layer(_padded(fill=1e6), LENGTHS)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, c)


def test_no_lengths_means_every_step_counts() -> None:
    layer = _layer("gru(3):readout=last")
    x = _padded()
    full = torch.full((4,), 5)
    torch.testing.assert_close(layer(x), layer(x, full))
    torch.testing.assert_close(layer(x), layer.rnn(x)[0][:, -1])


@pytest.mark.parametrize("token", [
    "rnn(2):tanh:bidirectional=true:readout=mean",
    "rnn(2):relu:readout=seq",
    "lstm(2):layers=2:readout=last",
    "lstm(2):bidirectional=true:readout=last",
    "gru(2):bidirectional=true:readout=seq",
    "gru(2):readout=mean",
])
def test_gradcheck_float64_with_lengths(token: str) -> None:
    layer = _layer(token, in_shape=(4, 2))
    x = torch.randn(3, 4, 2, dtype=torch.float64)
    assert param_gradcheck(layer, x, torch.tensor([4, 1, 3]))


@pytest.mark.parametrize("spec", [
    "lstm(4):bidirectional=true:layers=2:readout=seq-gru(3):readout=mean-5",
    "rnn(6):relu:readout=seq-rnn(3):bidirectional=true",
    "gru(4):readout=last",
])
def test_every_parameter_receives_a_gradient(spec: str) -> None:
    net = build(spec, in_shape=(6, 3), out=2, seed=0)
    x = torch.randn(4, 6, 3)
    out = net(x, torch.tensor([6, 2, 3, 1]))
    assert_all_params_get_gradient(net, (out ** 2).sum())


@pytest.mark.parametrize("spec, in_shape, feature_shape, variable", [
    ("lstm(8)", (7, 3), (8,), True),
    ("gru(8):bidirectional=true:readout=mean", (7, 3), (16,), True),
    ("rnn(5):readout=seq", (7, 3), (7, 5), False),
    ("lstm(4):bidirectional=true:readout=seq-gru(6)", (7, 3), (6,), True),
    ("gru(4):readout=seq-flatten-10", (7, 3), (10,), False),
])
def test_shape_inference_and_variable_length(spec, in_shape, feature_shape, variable) -> None:
    net = build(spec, in_shape=in_shape, out=None, seed=0)
    assert net.feature_shape == feature_shape
    assert net.variable_length is variable
    assert tuple(net(torch.randn(2, *in_shape), torch.tensor([7, 3])).shape[1:]) == feature_shape
    assert all(m.unit_axis == -1 for m in net.hidden if isinstance(m, RecurrentLayer))


def test_variable_length_nets_accept_any_padded_length() -> None:
    net = build("lstm(4):readout=seq-gru(4)", in_shape=(10, 2), out=3, seed=0)
    assert tuple(net(torch.randn(2, 4, 2), [4, 1]).shape) == (2, 3)
    assert tuple(net(torch.randn(2, 30, 2), [30, 11]).shape) == (2, 3)


def test_nets_that_flatten_time_need_exactly_T_steps() -> None:
    net = build("gru(4):readout=seq-flatten", in_shape=(10, 2), out=3, seed=0)
    with pytest.raises(DataError, match=r"built for inputs of shape \(N, 10, 2\).*got a tensor of "
                       r"shape \(2, 4, 2\)\. This network flattens the time axis, so every batch "
                       r"must be padded to exactly T=10 steps"):
        net(torch.randn(2, 4, 2), [4, 1])


@pytest.mark.parametrize("lengths, message", [
    ([5, 6], "Invalid lengths=[5, 6]: every length must be <= the padded length T=5 of the input, "
     "got 6 (sequence 1); nothing is truncated silently"),
    ([0, 3], "every length must be >= 1, got 0 (sequence 0)"),
    ([3], "must hold one length per sequence: shape (2,), got (1,)"),
    ([2.5, 3], "lengths must be whole numbers"),
    ([[1, 2]], "shape (2,), got (1, 2)"),
])
def test_bad_lengths_are_refused(lengths, message: str) -> None:
    net = build("lstm(3)", in_shape=(5, 2), out=2)
    with pytest.raises(ParameterError) as err:
        net(torch.randn(2, 5, 2), lengths)
    assert message in str(err.value)
    with pytest.raises(ParameterError) as err:      # the layer alone checks them too
        net.hidden[0](torch.randn(2, 5, 2), lengths)
    assert message in str(err.value)


def test_nan_at_a_valid_step_is_a_data_error_but_padding_may_hold_nan() -> None:
    net = build("gru(3)", in_shape=(5, 2), out=2)
    x = torch.randn(2, 5, 2)
    x[1, 3:] = float("nan")
    assert torch.isfinite(net(x, [5, 3])).all()
    with pytest.raises(DataError, match=r"NaN or infinite values at valid steps \(first: sequence "
                       r"1, step 3\)"):
        net(x, [5, 4])
    with pytest.raises(DataError, match="sequence 1, step 3"):
        net(x)


def test_wrong_feature_count_is_refused() -> None:
    net = build("lstm(3)", in_shape=(5, 2), out=2)
    with pytest.raises(DataError, match=r"reads sequences of shape \(N, T, 2\).*got a tensor of "
                       r"shape \(4, 5, 3\)"):
        net(torch.randn(4, 5, 3))
    with pytest.raises(DataError, match=r"lstm\(3\) expects sequences of shape \(B, T, 2\)"):
        net.hidden[0](torch.randn(4, 5))


def test_recurrent_kinds_need_a_sequence_input_shape() -> None:
    with pytest.raises(SpecError, match=r"a lstm layer needs a sequence input of shape \(T, "
                       r"features\), but its input has shape \(13,\)"):
        build("lstm(8)", in_features=13)
    with pytest.raises(SpecError, match=r"a gru layer needs a sequence input.*\(4,\)"):
        build("gru(4)-gru(4)", in_shape=(5, 2))


def test_dropout_is_between_layers_and_on_the_output() -> None:
    layer = _layer("lstm(4):layers=2:dropout=0.5", in_shape=(5, 3))
    assert layer.rnn.dropout == 0.5 and layer.dropout.p == 0.5
    single = _layer("lstm(4):dropout=0.5", in_shape=(5, 3))
    assert single.rnn.dropout == 0.0      # torch warns on dropout with one layer: not used
