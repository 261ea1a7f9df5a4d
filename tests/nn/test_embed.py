"""embed layers: token and categorical modes, padding id 0, gradients, bad ids, memory."""

from __future__ import annotations

import pytest
import torch
from _kind_checks import assert_all_params_get_gradient, param_gradcheck, single_thread  # noqa: F401

from lamina import DataError, ParameterError, SpecError
from lamina.nn import EmbedLayer, build, make_layer
from lamina.spec import EmbedSpec, parse_spec

pytestmark = pytest.mark.usefixtures("single_thread")


def _embed(token: str, in_shape) -> EmbedLayer:
    torch.manual_seed(0)
    layer, _ = make_layer(parse_spec(token).layers[0], in_shape)
    return layer


def test_token_mode_looks_up_rows_and_pads_with_zeros() -> None:
    layer = _embed("embed(3):vocab=10", (4,))
    ids = torch.tensor([[4, 2, 0, 0], [9, 1, 1, 3]])
    out = layer(ids)
    assert out.shape == (2, 4, 3)
    table = layer.tables[0].weight
    torch.testing.assert_close(out[0, 0], table[4])
    torch.testing.assert_close(out[1, 3], table[3])
    assert out[0, 2:].abs().sum().item() == 0.0


def test_categorical_mode_uses_one_table_per_column() -> None:
    layer = _embed("embed(2):vocab=5,7", (2,))
    assert [t.num_embeddings for t in layer.tables] == [5, 7]
    out = layer(torch.tensor([[3, 6], [0, 3]]))
    torch.testing.assert_close(out[0, 0], layer.tables[0].weight[3])
    torch.testing.assert_close(out[0, 1], layer.tables[1].weight[6])
    torch.testing.assert_close(out[1, 1], layer.tables[1].weight[3])
    assert out[1, 0].abs().sum().item() == 0.0       # id 0 = unknown user: the zero vector
    assert layer.sequence_role is None and layer.next_lengths(torch.zeros(2, 2), None) is None


def test_lengths_are_read_from_trailing_padding() -> None:
    layer = _embed("embed(2):vocab=10", (5,))
    ids = torch.tensor([[1, 2, 0, 0, 0], [1, 0, 3, 0, 0], [1, 2, 3, 4, 5], [0, 0, 0, 0, 0]])
    assert layer.next_lengths(ids, None).tolist() == [2, 3, 5, 1]
    given = torch.tensor([1, 1, 1, 1])
    assert layer.next_lengths(ids, given) is given


def test_float_ids_that_are_whole_numbers_are_accepted() -> None:
    layer = _embed("embed(2):vocab=5", (3,))
    torch.testing.assert_close(layer(torch.tensor([[1.0, 4.0, 0.0]])),
                               layer(torch.tensor([[1, 4, 0]])))


def test_gradcheck_float64_over_the_tables() -> None:
    tokens = _embed("embed(3):vocab=6", (4,)).double()
    assert param_gradcheck(tokens, torch.tensor([[1, 5, 0, 2], [3, 3, 4, 0]]))
    columns = _embed("embed(2):vocab=4,3", (2,)).double()
    assert param_gradcheck(columns, torch.tensor([[1, 2], [3, 0], [0, 1]]))


def test_recommender_stack_every_parameter_gets_a_gradient() -> None:
    net = build("embed(4):vocab=6,9-flatten-8:tanh", in_shape=(2,), out=1, seed=0)
    users = torch.arange(1, 6)
    items = torch.arange(1, 9)[:5]
    pred = net(torch.stack([users, items], 1))
    assert pred.shape == (5, 1)
    # every id used at least once in a second batch, so every table row but 0 moves
    batch = torch.stack([torch.arange(1, 9) % 5 + 1, torch.arange(1, 9)], 1)
    loss = (net(batch) ** 2).sum() + (pred ** 2).sum()
    assert_all_params_get_gradient(net, loss)
    for table in net.hidden[0].tables:
        assert table.weight.grad[0].abs().sum().item() == 0.0      # the padding row never trains


def test_vocabulary_from_the_data_must_be_filled_in() -> None:
    with pytest.raises(SpecError, match=r"an embed layer needs its vocabulary size, which comes "
                       r"from the data.*with_vocab"):
        build("embed(8)-lstm(4)", in_shape=(5,))


@pytest.mark.parametrize("spec, in_shape, message", [
    ("embed(4):vocab=10", (5, 3), r"reads integer ids of shape \(T,\) or \(columns,\), but its "
     r"input has shape \(5, 3\)"),
    ("embed(4):vocab=10,20,30", (2,), r"one vocab size per input column: 3 sizes for 2 columns"),
])
def test_build_errors(spec: str, in_shape, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        build(spec, in_shape=in_shape)


def test_a_vocabulary_that_cannot_fit_in_memory_is_refused_before_allocating() -> None:
    with pytest.raises(ParameterError, match=r"Invalid vocab=100000000000: this network needs "
                       r"about .* but only .* is available on cpu"):
        build("embed(1024):vocab=100000000000-seqpool", in_shape=(4,), out=2)


@pytest.mark.parametrize("ids, message", [
    ([[1, 10, 0]], r"id 10 at row 0, position 1 is outside \[0, 10\) \(vocab=10, id 0 = "
     r"padding/unknown\)\. Map unseen ids to 0"),
    ([[1, -1, 0]], r"id -1 at row 0, position 1 is outside"),
    ([[1.5, 2.0, 0.0]], r"expects integer ids; got non-integer values \(e.g. 1.5\)"),
    ([[1.0, float("nan"), 0.0]], r"expects integer ids; got non-integer values \(e.g. nan\)"),
    ([1, 2, 3], r"expects \(B, T\) token ids; got a tensor of shape \(3,\)"),
])
def test_bad_ids_are_data_errors(ids, message: str) -> None:
    layer = _embed("embed(2):vocab=10", (3,))
    with pytest.raises(DataError, match=message):
        layer(torch.tensor(ids))


def test_categorical_ids_are_checked_per_column() -> None:
    layer = EmbedLayer((2,), EmbedSpec(2, vocab=(5, 50)))
    layer(torch.tensor([[4, 49]]))
    with pytest.raises(DataError, match=r"id 5 at row 0, position 0 is outside \[0, 5\)"):
        layer(torch.tensor([[5, 3]]))
    with pytest.raises(DataError, match=r"expects \(B, 2\) column ids; got a tensor of shape "
                       r"\(1, 3\)"):
        layer(torch.tensor([[1, 2, 3]]))


@pytest.mark.parametrize("spec, in_shape, feature_shape, variable", [
    ("embed(4):vocab=10", (5,), (5, 4), False),
    ("embed(4):vocab=10-lstm(3)", (5,), (3,), True),
    ("embed(4):vocab=10,12", (2,), (2, 4), False),
    ("embed(4):vocab=10,12-flatten-6", (2,), (6,), False),
])
def test_shape_inference(spec: str, in_shape, feature_shape, variable: bool) -> None:
    net = build(spec, in_shape=in_shape, seed=0)
    assert net.feature_shape == feature_shape and net.variable_length is variable
    ids = torch.ones(3, *in_shape, dtype=torch.long)
    assert tuple(net(ids).shape[1:]) == feature_shape
