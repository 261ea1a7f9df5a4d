"""Models with several forward arguments (``forward(x, mask)``, ``forward(x, lengths)``) read
batches ``((x, mask), y)`` from iterables and DataLoaders; statistics, ablation and gradient flow
equal hand computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

import lamina
from lamina.inspection import inspect
from lamina.inspection._pictures import applicable_figures

X = np.array([[1.0, 2.0, 3.0], [3.0, -1.0, 0.5], [0.0, 4.0, -2.0], [2.0, 2.0, 2.0],
              [-1.0, 1.0, 5.0]])
MASK = np.array([[True, False, True], [True, True, True], [False, True, True],
                 [True, True, False], [False, False, True]])
Y = np.array([0, 1, 1, 0, 1])


class Masked(nn.Module):
    """``head(relu(W (x where mask else 0)))``: unit 0 reads x0, unit 1 reads x1 + x2. The mask
    must be a bool tensor (``torch.where``), so it also checks its dtype is kept."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2, bias=False, dtype=torch.float64)
        self.act = nn.ReLU()
        self.head = nn.Linear(2, 2, dtype=torch.float64)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]))
            self.head.weight.copy_(torch.tensor([[1.0, -1.0], [-0.5, 2.0]]))
            self.head.bias.copy_(torch.tensor([0.1, -0.2]))

    def hidden(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.act(self.fc(torch.where(mask, x, torch.zeros((), dtype=x.dtype))))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.hidden(x, mask))


def _hand_units(mask: np.ndarray) -> np.ndarray:
    """The ReLU units by hand: (relu(x0), relu(x1 + x2)) with masked entries zeroed."""
    xm = np.where(mask, X, 0.0)
    return np.maximum(np.stack([xm[:, 0], xm[:, 1] + xm[:, 2]], 1), 0.0)


class _Pairs(Dataset):
    """Items ``((x_i, mask_i), y_i)``; the default collate gives ``[[x, mask], y]``."""

    def __len__(self) -> int:
        return len(X)

    def __getitem__(self, i: int):
        return (torch.as_tensor(X[i]), torch.as_tensor(MASK[i])), int(Y[i])


def _batches(size: int = 2):
    return [((torch.as_tensor(X[i:i + size]), torch.as_tensor(MASK[i:i + size])),
             torch.as_tensor(Y[i:i + size])) for i in range(0, len(X), size)]


@pytest.mark.parametrize("form", ["list", "generator", "loader", "numpy"])
def test_unit_statistics_of_a_masked_model_equal_the_hand_computation(form):
    data = {"list": lambda: _batches(),
            "generator": lambda: (b for b in _batches(3)),
            "loader": lambda: DataLoader(_Pairs(), batch_size=2),
            "numpy": lambda: [((X[i:i + 2], MASK[i:i + 2]), Y[i:i + 2]) for i in range(0, 5, 2)],
            }[form]()
    ins = inspect(Masked(), data, top_k=2)
    h = _hand_units(MASK)
    u = ins.units
    np.testing.assert_allclose(u["mean"], h.mean(0), rtol=1e-12)
    np.testing.assert_allclose(u["std"], h.std(0), rtol=1e-12)
    np.testing.assert_allclose(u["min"], h.min(0))
    np.testing.assert_allclose(u["max"], h.max(0))
    np.testing.assert_allclose(u["frac_active"], (h > 0).mean(0))
    # unit 1 = relu(x1 + x2) masked: 3, 1.5, 2, 2, 5 -> rows 4 and 0 excite it most
    np.testing.assert_array_equal(ins.top_examples("act", 1).indices, [4, 0])
    np.testing.assert_array_equal(np.sort(ins.sample_y), np.sort(Y))
    assert ins.n_rows == 5 and ins.input_info["n_inputs"] == 2
    # the mask reaches the model: without it the statistics differ
    assert not np.allclose(_hand_units(np.ones_like(MASK)).mean(0), h.mean(0))


def test_ablation_and_gradient_flow_pass_the_mask_too():
    model = Masked()
    ins = inspect(model, _batches())
    x, mask, y = torch.as_tensor(X), torch.as_tensor(MASK), torch.as_tensor(Y)
    ablation = ins.ablate(_batches())
    for j in range(2):
        h = model.hidden(x, mask).detach().clone()
        h[:, j] = 0
        loss = F.cross_entropy(model.head(h), y).item()
        got = ablation[(ablation["layer"] == "act") & (ablation["unit"] == j)]["loss"].item()
        assert got == pytest.approx(loss, rel=1e-12)
    assert ablation.attrs["base_loss"] == pytest.approx(
        F.cross_entropy(model(x, mask), y).item(), rel=1e-12)
    # grad_rms of unit j: RMS over rows of d loss_i / d h_ij
    h = model.hidden(x, mask).detach().requires_grad_(True)
    F.cross_entropy(model.head(h), y, reduction="sum").backward()
    expected = h.grad.square().mean(0).sqrt().numpy()
    flow = ins.gradient_flow(DataLoader(_Pairs(), batch_size=2))
    np.testing.assert_allclose(flow.units["grad_rms"], expected, rtol=1e-12)


class LengthsModel(nn.Module):
    """``forward(x, lengths)`` over padded sequences ``(B, T, 1)``: the ReLU layer's output
    keeps the time axis (its units on the last axis), so only each example's first
    ``lengths[b]`` steps count."""

    def __init__(self) -> None:
        super().__init__()
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h = self.act(x)                                            # (B, T, 1)
        keep = torch.arange(x.shape[1])[None, :] < lengths[:, None]
        return (h * keep[..., None]).sum(1)


def test_lengths_as_a_second_input_read_only_the_real_steps():
    x = torch.tensor([[[1.0], [3.0], [-9.0]], [[4.0], [100.0], [100.0]]], dtype=torch.float64)
    lengths = torch.tensor([2, 1])
    ins = inspect(LengthsModel(), [((x, lengths), None)], layers={"act": -1})
    # per example: the mean over its real steps, (1 + 3) / 2 and 4; padding never counts
    assert ins.units["mean"].item() == pytest.approx(3.0)
    assert ins.units["max"].item() == pytest.approx(4.0)


def test_an_extra_input_with_other_rows_is_an_error_naming_it():
    x, mask = torch.as_tensor(X), torch.as_tensor(MASK)
    with pytest.raises(lamina.DataError, match=r"forward argument 2 of 2 of a batch of X has "
                                               r"shape \(4, 3\) but the first one \(x\) has 5 "
                                               r"rows; every forward argument"):
        inspect(Masked(), [((x, mask[:4]), None)])
    with pytest.raises(lamina.DataError, match=r"forward argument 3 of 3 .* has shape \(\) but"):
        inspect(Masked(), [((x, mask, torch.tensor(1.0)), None)])
    with pytest.raises(lamina.DataError, match=r"(?s)forward argument 2 of 2 of a batch of X "
                                               r"is a dict .*Convert it to a tensor"):
        inspect(Masked(), [((x, {"m": mask}), None)])


def test_a_single_input_list_from_a_loader_and_plain_batches_still_work():
    net = lamina.build((4,), in_features=3, out=2, seed=0, dtype="float64")
    ref = inspect(net, X)
    one = [([torch.as_tensor(X[i:i + 2])], torch.as_tensor(Y[i:i + 2])) for i in range(0, 5, 2)]
    for data in (one, [(X[:3], Y[:3]), (X[3:], Y[3:])]):
        got = inspect(net, data)
        np.testing.assert_allclose(got.units["mean"], ref.units["mean"], rtol=1e-12)
        assert got.input_info["n_inputs"] == 1


def test_a_missing_forward_argument_says_how_to_pass_it_and_leaves_no_hook():
    model = Masked()
    with pytest.raises(lamina.DataError, match=r"shape \(2, 3\), dtype torch.float64, 1 forward "
                                               r"argument\(s\)\): .*mask.*reads batches "
                                               r"\(\(x, mask\), y\)"):
        inspect(model, [(torch.as_tensor(X[:2]), torch.as_tensor(Y[:2]))])
    assert not any(m._forward_hooks for m in model.modules())


class PlaneMasked(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 3)
        self.act = nn.Tanh()

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.act(self.fc(x * mask))


def test_report_skips_the_figures_that_run_the_model_on_x_alone(tmp_path):
    # 2-D inputs get unit maps, drawn by calling model(grid): impossible without the mask
    torch.manual_seed(0)
    x = torch.randn(30, 2)
    data = [((x[i:i + 10], torch.ones(10, 2)), None) for i in range(0, 30, 10)]
    ins = inspect(PlaneMasked(), data)
    assert ins.input_info["shape"] == [2] and "feature_min" in ins.input_info
    text = lamina.report(PlaneMasked(), ins, tmp_path / "r.html").read_text("utf-8")
    assert "Every unit over the input plane" not in text and "Layer act" in text
    assert "unit_maps" not in dict(applicable_figures(ins))
