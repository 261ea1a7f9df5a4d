"""conv / pool / flatten / gap layers: hand-computed outputs, shapes, gradients, bad input."""

from __future__ import annotations

import pytest
import torch
from _kind_checks import assert_all_params_get_gradient, param_gradcheck, single_thread  # noqa: F401
from torch import nn

from lamina import DataError, ParameterError, SpecError
from lamina.nn import ConvLayer, FlattenLayer, GlobalAvgPool, PoolLayer, build, make_layer
from lamina.spec import ConvSpec, PoolSpec, parse_spec

pytestmark = pytest.mark.usefixtures("single_thread")


def _layer(token: str, in_shape: tuple[int, ...]) -> tuple[nn.Module, tuple[int, ...]]:
    return make_layer(parse_spec(token).layers[0], in_shape)


def test_conv_of_ones_sums_each_window_by_hand() -> None:
    layer, shape = _layer("conv(1,2):identity", (1, 3, 3))
    with torch.no_grad():
        layer.conv.weight.fill_(1.0)
        layer.conv.bias.zero_()
    x = torch.arange(9.0).reshape(1, 1, 3, 3)          # [[0,1,2],[3,4,5],[6,7,8]]
    assert shape == (1, 2, 2)
    assert layer(x).tolist() == [[[[8.0, 12.0], [20.0, 24.0]]]]


def test_conv_relu_matches_torch_functional() -> None:
    torch.manual_seed(0)
    layer, _ = _layer("conv(3,3,2,1):relu", (2, 7, 7))
    x = torch.randn(4, 2, 7, 7)
    ref = torch.relu(torch.nn.functional.conv2d(x, layer.conv.weight, layer.conv.bias, stride=2,
                                                padding=1))
    torch.testing.assert_close(layer(x), ref)


def test_pool_and_gap_by_hand() -> None:
    x = torch.tensor([[[[1.0, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]]])
    maxp, shape = _layer("pool", (1, 4, 4))
    assert shape == (1, 2, 2) and maxp(x).tolist() == [[[[6.0, 8.0], [14.0, 16.0]]]]
    avgp, _ = _layer("pool(avg,2)", (1, 4, 4))
    assert avgp(x).tolist() == [[[[3.5, 5.5], [11.5, 13.5]]]]
    gap, gshape = _layer("gap", (1, 4, 4))
    assert gshape == (1,) and gap(x).tolist() == [[8.5]]
    flat, fshape = _layer("flatten", (1, 4, 4))
    assert fshape == (16,) and flat(x).tolist() == [list(range(1, 17))]


def test_rank_of_the_input_picks_1d_or_2d() -> None:
    conv2, shape2 = _layer("conv(4,3)", (1, 8, 8))
    conv1, shape1 = _layer("conv(4,3)", (2, 10))
    assert isinstance(conv2.conv, nn.Conv2d) and shape2 == (4, 6, 6)
    assert isinstance(conv1.conv, nn.Conv1d) and shape1 == (4, 8)
    pool1, pshape = _layer("pool(avg,2)", (4, 8))
    assert isinstance(pool1.pool, nn.AvgPool1d) and pshape == (4, 4)
    bn, _ = _layer("conv(4,3):norm=batch", (2, 10))
    assert isinstance(bn.norm, nn.BatchNorm1d)


@pytest.mark.parametrize("spec, in_shape, feature_shape", [
    ("conv(32,3)-pool-conv(64,3)-pool-128", (1, 28, 28), (128,)),
    ("conv(32,3)-pool-conv(64,3)-pool", (1, 28, 28), (64, 5, 5)),
    ("conv(8,3,1,same)-conv(8,3,2,1)-gap", (3, 9, 9), (8,)),
    ("conv(8,5,2)-flatten", (1, 12, 11), (8 * 4 * 4,)),
    ("conv(6,5)-pool(max,3)-conv(4,3,1,same)", (2, 40), (4, 12)),
    ("conv(3,1)-pool(avg,1)-gap-10", (5, 2, 2), (10,)),
])
def test_shape_inference_matches_the_forward(spec: str, in_shape, feature_shape) -> None:
    net = build(spec, in_shape=in_shape, out=None, seed=0)
    assert net.feature_shape == feature_shape
    net.eval()
    assert tuple(net(torch.randn(2, *in_shape)).shape[1:]) == feature_shape
    head = build(spec, in_shape=in_shape, out=3, seed=0)
    assert tuple(head(torch.randn(2, *in_shape)).shape) == (2, 3)


def test_every_layer_names_its_unit_axis() -> None:
    net = build("conv(4,3)-pool-gap-8", in_shape=(1, 8, 8), out=2)
    assert [m.unit_axis for m in net.hidden] == [1, 1, 1, 1]
    assert net.hidden_names == ["hidden.0", "hidden.1", "hidden.2", "hidden.3"]
    flat, _ = _layer("flatten", (2, 3))
    assert flat.unit_axis == 1


@pytest.mark.parametrize("token, in_shape, x_shape", [
    ("conv(2,2):tanh", (1, 4, 4), (2, 1, 4, 4)),
    ("conv(2,3,2,1):tanh:norm=batch", (2, 5, 5), (3, 2, 5, 5)),
    ("conv(2,3,1,same):elu", (2, 6), (2, 2, 6)),
    ("pool", (2, 4, 4), (2, 2, 4, 4)),
    ("pool(avg,2)", (2, 6), (2, 2, 6)),
    ("gap", (2, 3, 3), (2, 2, 3, 3)),
    ("flatten", (2, 3), (2, 2, 3)),
])
def test_gradcheck_float64(token: str, in_shape, x_shape) -> None:
    torch.manual_seed(1)
    layer, _ = _layer(token, in_shape)
    # distinct values keep max-pool away from ties (where it is not differentiable)
    x = torch.randperm(int(torch.tensor(x_shape).prod())).reshape(x_shape).double() / 7
    assert param_gradcheck(layer, x)


def test_every_parameter_of_a_cnn_receives_a_gradient() -> None:
    net = build("conv(4,3):tanh:norm=batch-pool-conv(6,3,1,same):tanh-pool(avg,2)-gap-8:tanh",
                in_shape=(2, 10, 10), out=3, seed=0)
    loss = torch.nn.functional.cross_entropy(net(torch.randn(5, 2, 10, 10)),
                                             torch.tensor([0, 1, 2, 0, 1]))
    assert_all_params_get_gradient(net, loss)


def test_init_schemes_and_seed() -> None:
    he = build("conv(64,3):init=he", in_shape=(16, 8, 8), seed=0).hidden[0].conv
    assert he.weight.std().item() == pytest.approx((2 / (16 * 9)) ** 0.5, rel=0.05)
    assert he.bias.abs().max().item() == 0.0
    xv = build("conv(64,3):init=xavier", in_shape=(16, 8, 8), seed=0).hidden[0].conv
    bound = (6 / (16 * 9 + 64 * 9)) ** 0.5
    assert xv.weight.abs().max().item() <= bound
    assert xv.weight.abs().max().item() > 0.9 * bound
    a = build("conv(4,3)-8", in_shape=(1, 6, 6), out=2, seed=3)
    b = build("conv(4,3)-8", in_shape=(1, 6, 6), out=2, seed=3)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


@pytest.mark.parametrize("spec, in_shape, message", [
    ("conv(8,5)", (1, 3, 3), "Invalid spec='conv(8,5):relu': this layer turns input shape "
     "(1, 3, 3) into (8, -1, -1): a spatial size would shrink below 1"),
    ("conv(4,3)-pool-pool-pool", (1, 8, 8), "Invalid spec='pool': this layer turns input shape "
     "(4, 1, 1) into (4, 0, 0)"),
    ("conv(4,3)", (10,), "a conv layer needs a channel-first input of shape (C, H, W) or (C, L), "
     "but its input has shape (10,)"),
    ("16-pool", (10,), "a pool layer needs a channel-first input"),
    ("16-gap", (10,), "global average pooling needs a channel-first input"),
])
def test_build_errors_quote_the_layer_and_the_shape(spec: str, in_shape, message: str) -> None:
    with pytest.raises(SpecError) as err:
        build(spec, in_shape=in_shape)
    assert message in str(err.value)


def test_images_of_the_wrong_shape_are_refused_before_torch() -> None:
    net = build("conv(4,3)-pool-16", in_shape=(1, 28, 28), out=10)
    with pytest.raises(DataError, match=r"built for inputs of shape \(N, 1, 28, 28\).*got a tensor "
                       r"of shape \(5, 28, 28\)\. Add the channel axis: "
                       r"X.reshape\(-1, 1, 28, 28\)"):
        net(torch.randn(5, 28, 28))
    with pytest.raises(DataError, match=r"got a tensor of shape \(5, 3, 28, 28\): 3 channels where "
                       r"1 are expected"):
        net(torch.randn(5, 3, 28, 28))
    with pytest.raises(DataError, match=r"got a tensor of shape \(5, 1, 32, 32\)"):
        net(torch.randn(5, 1, 32, 32))
    with pytest.raises(DataError, match="expects a torch.Tensor"):
        net([[1.0]])


def test_nan_images_and_lengths_are_refused() -> None:
    net = build("conv(2,3)-gap", in_shape=(1, 5, 5), out=2)
    x = torch.randn(3, 1, 5, 5)
    x[2, 0, 1, 1] = float("nan")
    with pytest.raises(DataError, match=r"NaN or infinite values \(first at index \(2, 0, 1, 1\)\)"):
        net(x)
    with pytest.raises(ParameterError, match="only networks with sequence layers"):
        net(torch.randn(3, 1, 5, 5), torch.tensor([1, 2, 3]))


def test_a_standalone_conv_layer_checks_its_channels() -> None:
    layer = ConvLayer((3, 8, 8), ConvSpec(4, 3))
    with pytest.raises(DataError, match=r"conv\(4,3\):relu expects inputs of layout \(B, C, H, W\) "
                       r"with C=3 channels; got a tensor of shape \(2, 1, 8, 8\)"):
        layer(torch.randn(2, 1, 8, 8))
    assert tuple(layer(torch.randn(2, 3, 8, 8)).shape) == (2, 4, 6, 6)
    assert isinstance(PoolLayer((3, 8, 8), PoolSpec()), nn.Module)
    assert FlattenLayer().unit_axis == GlobalAvgPool().unit_axis == 1


def test_dense_networks_keep_their_behaviour() -> None:
    net = build("16", in_features=12, out=2, seed=0)
    assert net.dense_stack() is not None
    # a pure dense net still flattens image-shaped inputs itself (no input check added)
    assert tuple(net(torch.randn(3, 3, 4)).shape) == (3, 2)
