"""An L-BFGS iteration costs only the optimizer's own function evaluations: the loss (and the
gradients for the norms) the trainer reports for an iteration are those the line search
computed at the point the step ended on, not a forward and backward pass run again there."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from sklearn.datasets import load_diabetes

import lamina
from lamina.train._optimizers import LBFGS
from lamina.train._runners import AutogradRunner

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _func_evals(opt: torch.optim.Optimizer) -> int:
    return int(opt.state[opt.param_groups[0]["params"][0]].get("func_evals", 0))


def test_each_lbfgs_iteration_evaluates_the_loss_only_as_often_as_the_optimizer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls = [0]
    per_iteration: list[tuple[int, int]] = []     # (loss evaluations, optimizer's evaluations)
    loss, step = AutogradRunner._loss, AutogradRunner._lbfgs_step

    def counting_loss(self: AutogradRunner, *args: Any, **kwargs: Any) -> torch.Tensor:
        calls[0] += 1
        return loss(self, *args, **kwargs)

    def recording_step(self: AutogradRunner, *args: Any, **kwargs: Any) -> torch.Tensor:
        calls0, evals0 = calls[0], _func_evals(self.optimizer)
        out = step(self, *args, **kwargs)
        per_iteration.append((calls[0] - calls0, _func_evals(self.optimizer) - evals0))
        return out

    monkeypatch.setattr(AutogradRunner, "_loss", counting_loss)
    monkeypatch.setattr(AutogradRunner, "_lbfgs_step", recording_step)
    X, y = load_diabetes(return_X_y=True)
    est = lamina.MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=25,
                              random_state=0).fit(X, y)
    assert len(per_iteration) == est.n_iter_ == 25
    # before: one more evaluation than the optimizer's in every iteration, to report the loss
    assert all(ours == optimizer for ours, optimizer in per_iteration), per_iteration
    assert calls[0] == sum(optimizer for _, optimizer in per_iteration)


def test_the_reported_loss_and_gradients_are_those_at_the_step_end() -> None:
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(64, 5, generator=gen)
    y = X @ torch.randn(5, 1, generator=gen) + 0.1 * torch.randn(64, 1, generator=gen)
    net = lamina.build((8,), in_features=5, out=1, seed=0)
    params = list(net.parameters())
    opt = LBFGS(params, lr=1.0, max_iter=1, max_eval=15000, history_size=10,
                line_search_fn="strong_wolfe", tolerance_grad=0.0, tolerance_change=0.0)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = 0.5 * ((net(X) - y) ** 2).mean()
        loss.backward()
        return loss

    for _ in range(20):
        opt.step(closure)
        assert opt.end_loss is not None
        reported, grads = opt.end_loss.clone(), [p.grad.clone() for p in params]
        again = closure().detach()            # a fresh evaluation at the same parameters
        assert torch.equal(reported, again)
        for g, p in zip(grads, params):
            assert torch.equal(g, p.grad)


def test_lbfgs_fits_are_those_of_evaluating_the_end_point_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = load_diabetes(return_X_y=True)
    kw = {"hidden_layer_sizes": (8,), "solver": "lbfgs", "max_iter": 40, "random_state": 0}
    ours = lamina.MLPRegressor(**kw).fit(X, y)
    step = LBFGS.step

    def forget_end_loss(self: LBFGS, closure: Any) -> Any:
        out = step(self, closure)
        self.end_loss = None            # the runner evaluates the end point again, as before
        return out

    monkeypatch.setattr(LBFGS, "step", forget_end_loss)
    again = lamina.MLPRegressor(**kw).fit(X, y)
    assert ours.n_iter_ == again.n_iter_
    assert ours.loss_curve_ == again.loss_curve_
    for a, b in zip(ours.coefs_ + ours.intercepts_, again.coefs_ + again.intercepts_):
        np.testing.assert_array_equal(a, b)
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in ours.history_.records]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"}
                     for r in again.history_.records]
