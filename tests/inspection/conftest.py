"""Hand-weighted tiny networks whose activations, dead units and top examples are computable by
hand, shared by the inspection tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina

# rows of a 2-feature input; the hand-computed values below follow from it
X_HAND = np.array([[1.0, 2.0], [3.0, 0.0], [0.0, 1.0], [2.0, 2.0], [4.0, 1.0]])


def hand_net() -> lamina.HiddenNet:
    """hidden.0 (relu): u0 = x0, u1 = x1, u2 = relu(-x0 - x1) = 0 on X_HAND (dead).
    hidden.1 (tanh): v0 = tanh(u0), v1 = tanh(3) (constant, saturated)."""
    net = lamina.build("3:relu-2:tanh", in_features=2, out=2, seed=0, dtype="float64")
    with torch.no_grad():
        net.hidden[0].linear.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]))
        net.hidden[0].linear.bias.zero_()
        net.hidden[1].linear.weight.copy_(torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 5.0]]))
        net.hidden[1].linear.bias.copy_(torch.tensor([0.0, 3.0]))
        net.head.weight.copy_(torch.eye(2))
        net.head.bias.zero_()
    return net


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """These tests use small tensors: one thread avoids waiting on busy worker threads when
    other suites run alongside (make test runs two workers on two cores)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture
def hand() -> tuple[lamina.HiddenNet, np.ndarray]:
    return hand_net(), X_HAND.copy()
