"""The two ways one epoch runs: the explicit dense engine, or autograd over any module.
Both return ``(mean_loss, n_steps, grad_norms, finite, samples_seen)``.

Weighted training (``sample_weight``) runs on autograd only: each batch's loss is sklearn's
``np.average(per_sample_loss, weights=w) + alpha/2 * sum(W**2) / sum(w)``, whose gradient is
sklearn's (output deltas times ``w``, divided by ``sum(w)`` instead of the batch size).
"""

from __future__ import annotations

import time
from typing import Any

import torch

from ..spec import OptimizerSpec
from ._data import in_memory, iterate_batches
from ._losses import LossFn, l2_penalty, weighted_loss
from ._optimizers import make_optimizer
from ._stopping import StopRule, TimeBudget


def engine_supports(stack: Any, loss: str, opt: OptimizerSpec) -> bool:
    if stack is None:
        return False
    from ..engine import supports

    return bool(supports(stack, loss, opt))


def time_budget(rules: list[StopRule]) -> float | None:
    """The tightest :class:`TimeBudget` in ``rules`` (seconds), checked between batches."""
    budgets = [r.seconds for r in rules if isinstance(r, TimeBudget)]
    return min(budgets) if budgets else None


class EngineRunner:
    """Epochs through :class:`lamina.engine.DenseEngine` (no autograd graph).

    A :class:`TimeBudget` becomes the engine's ``deadline``: the clock is read after each step
    only when a budget is set, so unbudgeted epochs run (and train) exactly as without one."""

    exhausted = False

    def __init__(self, stack: Any, loss: str, opt: OptimizerSpec, batch_size: int,
                 shuffle: bool, generator: torch.Generator,
                 rules: list[StopRule] | None = None) -> None:
        from ..engine import DenseEngine

        self.engine = DenseEngine(stack, loss, opt)
        self.batch_size, self.shuffle, self.generator = batch_size, shuffle, generator
        self.time_budget = time_budget(rules or [])

    def set_lr(self, lr: float) -> None:
        self.engine.lr = lr

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The engine optimizer's moments and step count (for checkpoints)."""
        return self.engine.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.engine.load_state_dict(state)

    def epoch(self, data: tuple[torch.Tensor, torch.Tensor], max_steps: int | None,
              t_start: float, sample_weight: torch.Tensor | None = None
              ) -> tuple[float, int, list[float], bool, int]:
        assert sample_weight is None, "weighted epochs run on autograd (Trainer switches)"
        X, Y = data
        deadline = None if self.time_budget is None else t_start + self.time_budget
        stats = self.engine.train_epoch(X, Y, self.batch_size, shuffle=self.shuffle,
                                        generator=self.generator, max_steps=max_steps,
                                        deadline=deadline)
        seen = min(X.shape[0], stats.n_steps * self.batch_size)
        return float(stats.loss), stats.n_steps, list(stats.grad_norms), bool(stats.finite), seen


def _norm_groups(model: torch.nn.Module) -> list[list[torch.nn.Parameter]]:
    """Parameters grouped per hidden layer (then head) for HiddenNets, else per child."""
    hidden = getattr(model, "hidden", None)
    groups: list[list[torch.nn.Parameter]] = []
    if isinstance(hidden, torch.nn.ModuleList):
        groups = [list(layer.parameters()) for layer in hidden]
        head = getattr(model, "head", None)
        if head is not None:
            groups.append(list(head.parameters()))
    else:
        groups = [list(child.parameters()) for child in model.children()]
    return [g for g in groups if g] or [list(model.parameters())]


class AutogradRunner:
    """Epochs through ``loss.backward()`` and a torch optimizer; works for any module."""

    def __init__(self, model: torch.nn.Module, loss_fn: LossFn, opt: OptimizerSpec,
                 batch_size: int, shuffle: bool, generator: torch.Generator, max_fun: int,
                 rules: list[StopRule], sample_loss_fn: LossFn | None = None,
                 loss_name: str | None = None) -> None:
        self.model, self.loss_fn, self.spec = model, loss_fn, opt
        self.loss_name = loss_name          # shapes a loader's targets as in-memory ones
        self.sample_loss_fn = sample_loss_fn   # (out, y) -> (B,): weighted batches need it
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = make_optimizer(self.params, opt, max_fun)
        self.batch_size, self.shuffle, self.generator = batch_size, shuffle, generator
        self.max_fun = max_fun
        self.groups = _norm_groups(model)
        # sklearn's alpha applies to weight matrices/kernels, never to biases or norm scales
        self.weights = [p for p in self.params if p.dim() >= 2]
        self.time_budget = time_budget(rules)
        self.exhausted = False

    def set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def state_dict(self) -> dict[str, Any]:
        """The torch optimizer's state_dict (for checkpoints)."""
        return self.optimizer.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state)

    def _batches(self, data: Any, weight: torch.Tensor | None) -> Any:
        """``(inputs, y, w)`` per batch; ``w`` is the batch's sample weights or None.

        In-memory ``(X, y)`` or ``(X, lengths, y)`` are cut into shuffled row slices here
        (``inputs`` is ``(x,)`` or ``(x, lengths)``, lengths staying on the CPU); anything else
        is an iterable of batches."""
        if not in_memory(data):
            device = self.params[0].device if self.params else torch.device("cpu")
            dtype = self.params[0].dtype if self.params else torch.get_default_dtype()
            for inputs, y in iterate_batches(data, device, dtype, self.loss_name):
                yield inputs, y, None
            return
        X, *lengths, Y = data
        if self.spec.name == "lbfgs":
            yield (X, *lengths), Y, weight
            return
        n = X.shape[0]
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        on_device = order.to(X.device)
        for start in range(0, n, self.batch_size):
            idx = on_device[start:start + self.batch_size]
            lens = tuple(t[order[start:start + self.batch_size]] for t in lengths)
            yield (X[idx], *lens), Y[idx], (None if weight is None else weight[idx])

    def _loss(self, inputs: tuple[torch.Tensor, ...], y: torch.Tensor,
              w: torch.Tensor | None = None, w_sum: torch.Tensor | None = None) -> torch.Tensor:
        out = self.model(*inputs)
        if w is None or w_sum is None:
            return self.loss_fn(out, y) + l2_penalty(self.weights, self.spec.alpha, y.shape[0])
        assert self.sample_loss_fn is not None
        # sklearn: np.average(loss, weights=w) + alpha/2 * sum(W**2) / sum(w)
        return (weighted_loss(self.sample_loss_fn(out, y), w, w_sum)
                + l2_penalty(self.weights, self.spec.alpha, w_sum))

    def epoch(self, data: Any, max_steps: int | None, t_start: float,
              sample_weight: torch.Tensor | None = None
              ) -> tuple[float, int, list[float], bool, int]:
        self.model.train()
        total, seen, steps, rows = 0.0, 0, 0, 0
        norm_sum = torch.zeros(len(self.groups), dtype=torch.float64)
        for inputs, y, w in self._batches(data, sample_weight):
            if max_steps is not None and steps >= max_steps:
                break
            n = y.shape[0]
            w_sum = None
            if w is not None:
                w_sum = w.sum()
                if not bool(w_sum > 0):
                    # only zero-weight rows: their weighted mean is 0/0 (sklearn would raise);
                    # they carry nothing to learn, so the batch is passed over
                    seen += n
                    continue
            if self.spec.name == "lbfgs":
                loss = self._lbfgs_step(inputs, y, w, w_sum)
            else:
                self.optimizer.zero_grad(set_to_none=False)
                loss = self._loss(inputs, y, w, w_sum)
                loss.backward()
            norms = self._group_norms()
            if not (torch.isfinite(loss) and torch.isfinite(norms).all()):
                return float("nan"), steps, (norm_sum / max(steps, 1)).tolist(), False, seen
            if self.spec.name != "lbfgs":
                if self.spec.clip_norm is not None:
                    torch.nn.utils.clip_grad_norm_(self.params, self.spec.clip_norm)
                self.optimizer.step()
            norm_sum += norms
            total += float(loss.detach()) * n     # sklearn: batch loss times batch rows
            seen += n
            rows += n
            steps += 1
            if self.time_budget is not None and time.perf_counter() - t_start >= self.time_budget:
                break
        return total / max(rows, 1), steps, (norm_sum / max(steps, 1)).tolist(), True, seen

    def _lbfgs_step(self, inputs: tuple[torch.Tensor, ...], y: torch.Tensor,
                    w: torch.Tensor | None = None,
                    w_sum: torch.Tensor | None = None) -> torch.Tensor:
        def closure() -> torch.Tensor:
            self.optimizer.zero_grad()
            loss = self._loss(inputs, y, w, w_sum)
            loss.backward()
            return loss

        self.optimizer.step(closure)  # type: ignore[arg-type]
        state = self.optimizer.state[self.optimizer.param_groups[0]["params"][0]]
        self.exhausted = int(state.get("func_evals", 0)) >= self.max_fun
        # report the loss at the new point, with gradients there for the norms: the line
        # search evaluated it already (LBFGS.end_loss, .grad left at that point); evaluate it
        # only when the step ended on a point it did not evaluate
        end_loss = getattr(self.optimizer, "end_loss", None)
        if end_loss is not None:
            return end_loss
        return closure().detach()

    def _group_norms(self) -> torch.Tensor:
        out = []
        for group in self.groups:
            grads = [p.grad for p in group if p.grad is not None]
            if not grads:
                out.append(torch.zeros((), dtype=torch.float64))
                continue
            norms = torch._foreach_norm(grads)
            out.append(torch.linalg.vector_norm(torch.stack(norms)).double().cpu())
        return torch.stack(out)


def adopt_engine_state(runner: AutogradRunner, engine_runner: EngineRunner) -> None:
    """Continue the explicit engine's optimizer in ``runner``'s torch optimizer.

    A weighted ``partial_fit`` after unweighted ones leaves the engine for autograd; the moments
    and step count carry over (the engine's optimizers equal torch's step for step), so the
    switch does not restart Adam's bias correction or SGD's momentum.
    """
    engine = engine_runner.engine
    t = engine.t
    if t == 0:
        return
    state = engine.state_dict()
    name = runner.spec.name
    # torch keeps Adam/AdamW/RMSprop/Adagrad's step as a 0-d float tensor (float64 only when
    # float64 is the default dtype)
    step_dtype = torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32
    keys = sorted({k.rsplit(".", 1)[0] for k in state if "." in k})   # e.g. exp_avg.<i>
    for i, p in enumerate(engine.params):
        slot = runner.optimizer.state[p]
        for key in keys:
            slot[key] = state[f"{key}.{i}"].to(device=p.device, dtype=p.dtype).clone()
        if name != "sgd":
            slot["step"] = torch.tensor(float(t), dtype=step_dtype)
