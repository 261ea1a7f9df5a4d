"""attn blocks and seqpool: padding masks, positions, gradients, memory refusal."""

from __future__ import annotations

import math

import pytest
import torch
from _kind_checks import assert_all_params_get_gradient, param_gradcheck, single_thread  # noqa: F401
from hypothesis import given, settings
from hypothesis import strategies as st

from lamina import DataError, ParameterError, SpecError
from lamina.nn import AttentionBlock, SeqPool, build, make_layer, sinusoidal_positions
from lamina.spec import AttentionSpec, SeqPoolSpec, parse_spec

pytestmark = pytest.mark.usefixtures("single_thread")


def _block(token: str, in_shape=(6, 4)) -> AttentionBlock:
    torch.manual_seed(0)
    layer, _ = make_layer(parse_spec(token).layers[0], in_shape)
    return layer.double().eval()


def test_sinusoidal_table_by_hand() -> None:
    table = sinusoidal_positions(3, 4, torch.device("cpu"), torch.float64)
    assert table[0].tolist() == [0.0, 1.0, 0.0, 1.0]
    assert table[1, 0].item() == pytest.approx(math.sin(1.0))
    assert table[1, 1].item() == pytest.approx(math.cos(1.0))
    assert table[2, 2].item() == pytest.approx(math.sin(2.0 / 100.0))   # 10000 ** (2/4) = 100
    odd = sinusoidal_positions(2, 3, torch.device("cpu"), torch.float64)
    assert odd.shape == (2, 3) and odd[1, 2].item() == pytest.approx(math.sin(1 / 10000 ** (2 / 3)))


@pytest.mark.parametrize("pos", ["sinusoidal", "learned", "none"])
def test_padded_batch_equals_each_sequence_alone(pos: str) -> None:
    block = _block(f"attn(8,2):ff=16:pos={pos}")
    lengths = torch.tensor([6, 3, 1])
    x = torch.randn(3, 6, 4, dtype=torch.float64)
    x[1, 3:] = float("nan")                     # whatever sits in the padding never matters
    x[2, 1:] = 1e6
    out = block(x, lengths)
    for b, n in enumerate(lengths.tolist()):
        alone = block(x[b:b + 1, :n])
        torch.testing.assert_close(out[b, :n], alone[0])
        assert out[b, n:].abs().sum().item() == 0.0


@settings(max_examples=20, deadline=None)
@given(st.permutations(list(range(5))))
def test_without_positions_the_block_is_permutation_equivariant(perm: list[int]) -> None:
    block = _block("attn(4,2):pos=none", in_shape=(5, 4))
    x = torch.randn(2, 5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(block(x)[:, perm], block(x[:, perm]))


def test_positions_make_order_matter() -> None:
    block = _block("attn(4,2)", in_shape=(5, 4))
    x = torch.randn(1, 5, 4, dtype=torch.float64)
    perm = [4, 3, 2, 1, 0]
    assert not torch.allclose(block(x)[:, perm], block(x[:, perm]))


def test_block_is_pre_norm_residual_by_hand() -> None:
    """Zero both output projections: the branches add nothing, so out = proj(x) + positions."""
    block = _block("attn(4,1):pos=sinusoidal", in_shape=(3, 4))
    with torch.no_grad():
        for lin in (block.out, block.ff2):
            lin.weight.zero_()
            lin.bias.zero_()
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    expected = x + sinusoidal_positions(3, 4, x.device, x.dtype)
    torch.testing.assert_close(block(x), expected)


@pytest.mark.parametrize("token, in_shape", [
    ("attn(4,2):ff=6:pos=learned", (4, 3)),
    ("attn(4,1):relu:ff=5", (4, 4)),
    ("attn(6,3):tanh:ff=4:pos=none", (4, 2)),
])
def test_gradcheck_float64_with_lengths(token: str, in_shape) -> None:
    block = _block(token, in_shape)
    x = torch.randn(2, 4, in_shape[1], dtype=torch.float64)
    assert param_gradcheck(block, x, torch.tensor([4, 2]))


@pytest.mark.parametrize("mode", ["mean", "max", "last", "cls"])
def test_seqpool_by_hand(mode: str) -> None:
    x = torch.tensor([[[1.0, 10], [3, 20], [5, 30]],
                      [[2.0, -1], [float("nan"), 7], [0, 0]]])
    pool, shape = make_layer(SeqPoolSpec(mode), (3, 2))
    assert shape == (2,)
    out = pool(x, torch.tensor([3, 1]))
    expected = {"mean": [[3.0, 20], [2, -1]], "max": [[5.0, 30], [2, -1]],
                "last": [[5.0, 30], [2, -1]], "cls": [[1.0, 10], [2, -1]]}[mode]
    assert out.tolist() == expected
    full = pool(x[:1])
    assert full.tolist() == [expected[0]]


@pytest.mark.parametrize("mode", ["mean", "max", "last"])
def test_seqpool_gradcheck(mode: str) -> None:
    pool = SeqPool((4, 3), SeqPoolSpec(mode))
    x = torch.randn(3, 4, 3, dtype=torch.float64)
    assert param_gradcheck(pool, x, torch.tensor([4, 2, 1]))


def test_text_classifier_stack_every_parameter_gets_a_gradient() -> None:
    net = build("embed(8):vocab=30-attn(8,2):ff=12:pos=learned-attn(8,2):pos=none-seqpool-6",
                in_shape=(7,), out=3, seed=0)
    ids = torch.randint(1, 30, (4, 7), generator=torch.Generator().manual_seed(0))
    ids[1, 3:] = 0
    ids[3, 5:] = 0
    loss = torch.nn.functional.cross_entropy(net(ids), torch.tensor([0, 1, 2, 1]))
    assert_all_params_get_gradient(net, loss)
    assert [m.unit_axis for m in net.hidden] == [-1, -1, -1, -1, 1]


def test_lengths_from_padding_ids_match_explicit_lengths() -> None:
    net = build("embed(8):vocab=20-attn(8,2)-seqpool", in_shape=(6,), out=2, seed=0).eval()
    ids = torch.tensor([[3, 4, 5, 0, 0, 0], [7, 0, 8, 9, 0, 0], [1, 2, 3, 4, 5, 6]])
    lengths = torch.tensor([3, 4, 6])
    torch.testing.assert_close(net(ids), net(ids, lengths))
    assert not torch.allclose(net(ids), net(ids, torch.tensor([6, 6, 6])))


def test_shapes_and_variable_length() -> None:
    net = build("attn(8,2)-seqpool(max)", in_shape=(10, 5), out=None, seed=0)
    assert net.feature_shape == (8,) and net.variable_length
    assert tuple(net(torch.randn(2, 13, 5), [13, 2]).shape) == (2, 8)
    seq = build("attn(8,2)", in_shape=(10, 5), out=3, seed=0)
    assert seq.feature_shape == (10, 8) and not seq.variable_length


def test_learned_positions_refuse_longer_sequences() -> None:
    net = build("attn(4,2):pos=learned-seqpool", in_shape=(5, 4), out=2)
    assert tuple(net(torch.randn(2, 5, 4)).shape) == (2, 2)
    with pytest.raises(DataError, match=r"has learned positions for up to 5 steps; got sequences "
                       r"padded to 8"):
        net(torch.randn(2, 8, 4))


def test_sequence_length_that_cannot_fit_in_memory_is_refused_at_build() -> None:
    with pytest.raises(ParameterError, match=r"Invalid in_shape=\(1000000, 8\): the attention maps "
                       r"alone need about .*TiB, but only .* is available on cpu"):
        build("attn(8,2)-seqpool", in_shape=(1_000_000, 8), out=2)


def test_batch_that_cannot_fit_is_refused_before_the_forward() -> None:
    block = AttentionBlock((4, 2), AttentionSpec(2, 1))
    huge = torch.empty(1, 200_000, 2).expand(100, 200_000, 2)   # no memory behind the view
    with pytest.raises(ParameterError, match=r"Invalid lengths='100 sequences of 200000 steps': the "
                       r"attention maps alone need about"):
        block(huge)


def test_attention_kinds_need_a_sequence_input() -> None:
    with pytest.raises(SpecError, match=r"a attn layer needs a sequence input of shape \(T, "
                       r"features\), but its input has shape \(12,\)"):
        build("attn(4,2)", in_features=12)
    with pytest.raises(SpecError, match=r"a seqpool layer needs a sequence input"):
        build("seqpool", in_shape=(1, 4, 4))


def test_mixed_network_config_round_trips_through_json_and_safetensors(tmp_path) -> None:
    import json

    from safetensors.torch import load_file, save_file

    from lamina.nn import HiddenNet

    net = build("embed(8):vocab=40-lstm(8):bidirectional=true:readout=seq-attn(16,4):pos=learned"
                "-seqpool(max)-12", in_shape=(9,), out=3, seed=0).eval()
    config = json.loads(json.dumps(net.config()))
    save_file(net.state_dict(), tmp_path / "w.safetensors")
    again = HiddenNet.from_config(config)
    again.load_state_dict(load_file(tmp_path / "w.safetensors"))
    again.eval()
    ids = torch.randint(1, 40, (4, 9), generator=torch.Generator().manual_seed(0))
    ids[0, 5:] = 0
    torch.testing.assert_close(again(ids), net(ids))
    assert str(again.spec) == str(net.spec)
