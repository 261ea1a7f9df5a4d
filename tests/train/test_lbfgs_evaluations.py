"""lamina's L-BFGS (one iteration per step) counts function evaluations as scipy does: the
point a step ends on was evaluated by its line search, and the next step starts from that
evaluation instead of repeating it, so the iterates are torch's, for about half the evaluations.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

import lamina
from lamina.spec import OptimizerSpec
from lamina.train import make_optimizer
from lamina.train._optimizers import LBFGS


def _problem(seed: int = 0) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(64, 5, generator=gen)
    y = X @ torch.randn(5, 1, generator=gen) + 0.1 * torch.randn(64, 1, generator=gen)
    return lamina.build((8,), in_features=5, out=1, seed=seed), X, y


def _closure(net: torch.nn.Module, opt: torch.optim.Optimizer, X: torch.Tensor,
             y: torch.Tensor, calls: list[int]) -> Callable[[], torch.Tensor]:
    def closure() -> torch.Tensor:
        calls[0] += 1
        opt.zero_grad()
        loss = 0.5 * ((net(X) - y) ** 2).mean()
        loss.backward()
        return loss
    return closure


def _opt(cls: type, net: torch.nn.Module) -> torch.optim.LBFGS:
    return cls(list(net.parameters()), lr=1.0, max_iter=1, max_eval=15000, history_size=10,  # type: ignore[no-any-return]
               line_search_fn="strong_wolfe", tolerance_grad=0.0, tolerance_change=0.0)


def _func_evals(opt: torch.optim.Optimizer) -> int:
    return int(opt.state[opt.param_groups[0]["params"][0]]["func_evals"])


def test_same_iterates_as_torch_for_fewer_evaluations_all_counted() -> None:
    ours_net, X, y = _problem()
    torch_net, _, _ = _problem()
    ours, theirs = _opt(LBFGS, ours_net), _opt(torch.optim.LBFGS, torch_net)
    ours_calls, torch_calls = [0], [0]
    ours_closure = _closure(ours_net, ours, X, y, ours_calls)
    torch_closure = _closure(torch_net, theirs, X, y, torch_calls)
    for _ in range(12):
        ours.step(ours_closure)
        theirs.step(torch_closure)
        for a, b in zip(ours_net.parameters(), torch_net.parameters()):
            assert torch.equal(a, b)
    # every real evaluation is counted, and only those
    assert _func_evals(ours) == ours_calls[0]
    assert _func_evals(theirs) == torch_calls[0]
    # torch evaluates each step's start point again: one more evaluation per step after the first
    assert ours_calls[0] == torch_calls[0] - 11


def test_the_estimators_and_trainer_build_this_lbfgs() -> None:
    net, _, _ = _problem()
    assert isinstance(make_optimizer(net.parameters(), OptimizerSpec("lbfgs", lr=1.0)), LBFGS)


def test_other_data_or_moved_parameters_are_evaluated_anew() -> None:
    net, X, y = _problem()
    ref_net, _, _ = _problem()
    ours, theirs = _opt(LBFGS, net), _opt(torch.optim.LBFGS, ref_net)
    calls, ref_calls = [0], [0]
    y2 = y.clone() + 1.0
    used = []
    for ys in [y, y, y2, y2]:
        before = calls[0]
        ours.step(_closure(net, ours, X, ys, calls))          # a new closure every step,
        theirs.step(_closure(ref_net, theirs, X, ys, ref_calls))  # as the trainer makes
        used.append(calls[0] - before)
        for a, b in zip(net.parameters(), ref_net.parameters()):
            assert torch.equal(a, b)
    # the step after the first on the same data reuses its end point; new data does not
    assert ref_calls[0] - calls[0] == 2 and used[2] >= 2
    # the same tensor changed in place is other data too
    before = calls[0]
    y2.add_(0.5)
    ours.step(_closure(net, ours, X, y2, calls))
    theirs.step(_closure(ref_net, theirs, X, y2, ref_calls))
    assert calls[0] - before >= 2
    # so are parameters that moved between steps
    with torch.no_grad():
        for p, q in zip(net.parameters(), ref_net.parameters()):
            p.mul_(0.5)
            q.mul_(0.5)
    before = calls[0]
    ours.step(_closure(net, ours, X, y2, calls))
    theirs.step(_closure(ref_net, theirs, X, y2, ref_calls))
    assert calls[0] - before >= 2
    for a, b in zip(net.parameters(), ref_net.parameters()):
        assert torch.equal(a, b)
    assert _func_evals(ours) == calls[0]


def test_the_optimizer_keeps_no_training_data_alive() -> None:
    import gc
    import weakref

    net, X, y = _problem()
    opt = _opt(LBFGS, net)
    opt.step(_closure(net, opt, X, y, [0]))
    alive = weakref.ref(X)
    del X, y
    gc.collect()
    assert alive() is None
