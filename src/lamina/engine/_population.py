"""``PopulationEngine``: P same-shape dense networks trained at once as stacked weights.

Each member has its own initialisation seed, dropout stream, learning rate, ``alpha`` and dropout
rate; all members see the same batches. A step is the single-network step of ``_dense`` with
``torch.baddbmm``/``torch.bmm`` over the member axis, so P small networks cost a few large kernel
calls instead of P times the per-call overhead. Parameters, gradients and optimizer moments live
in flat tensors laid out by :class:`~lamina.engine._layout.PopulationLayout`; per-member
learning rates are applied by running the fused optimizer with ``lr=1`` on a zeroed scratch
tensor (which then holds minus each entry's unit-rate update) and adding ``lr_member * scratch``.

A member whose loss or gradient turns non-finite is frozen with its weights from before that
step and reported with an infinite loss; members never mix, so it cannot poison the others.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from .._errors import ParameterError
from .._validation import (
    check_bool,
    check_choice,
    check_int,
    check_memory,
    resolve_device,
    resolve_dtype,
)
from ..nn import HiddenNet, build
from ..spec import INITS, DenseSpec, canonical_activation
from ._activations import activation as get_activation
from ._activations import apply_eval
from ._buffers import BatchBuffers, BatchPlan, make_buffers
from ._checks import DataCache, as_member_values, check_batch_size, check_loss, check_x
from ._layout import PopulationLayout
from ._losses import Loss
from ._optim import ENGINE_OPTIMIZERS, FusedOptimizer
from ._program import StepProgram, population_program

# flat copies of the parameters: values, gradients, scratch, two moments, lr map, alpha map
_FLAT_COPIES = 7


class PopulationEngine:
    """Train ``n_members`` networks of layer sizes ``sizes`` together.

    Parameters
    ----------
    sizes : sequence of int
        ``(in_features, h1, ..., hk, out)``.
    activation : str
        Hidden activation of every member (sklearn's aliases accepted).
    n_members : int
        P, the number of networks.
    loss : str
        One of ``lamina.spec.LOSSES``.
    lr, alpha, dropout : float or sequence of P floats
        Per-member learning rate, sklearn L2 penalty and hidden-layer dropout rate.
    seeds : sequence of P ints, optional
        Member i is initialised exactly as ``lamina.build(sizes[1:-1], sizes[0], sizes[-1],
        activation=..., init=..., seed=seeds[i])`` and draws its dropout masks from a generator
        seeded with ``seeds[i]``. Defaults to ``range(P)``.
    optimizer : str
        ``sgd, adam, adamw, rmsprop, adagrad``, with ``beta1, beta2, eps, momentum, nesterov``
        as in :class:`lamina.spec.OptimizerSpec` (no weight decay: use ``alpha``).
    penalty_in_loss : bool
        Whether the losses :meth:`train_epoch` returns include sklearn's L2 term
        ``alpha/2 * sum(W**2) / batch`` (its gradient is always applied). False skips one pass
        over every weight per step, for callers that only read validation scores (search).

    Examples
    --------
    >>> import torch
    >>> pop = PopulationEngine((4, 8, 3), "relu", 3, "cross_entropy", lr=[1e-3, 1e-2, 1e-1])
    >>> X, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
    >>> pop.train_epoch(X, y, 8, generator=torch.Generator().manual_seed(0)).shape
    torch.Size([3])
    """

    def __init__(self, sizes: Sequence[int], activation: str, n_members: int, loss: str, *,
                 lr: float | Sequence[float] | Tensor, alpha: float | Sequence[float] = 0.0,
                 dropout: float | Sequence[float] = 0.0, seeds: Sequence[int] | None = None,
                 optimizer: str = "adam", beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, momentum: float = 0.9, nesterov: bool = True,
                 init: str = "default", dtype: Any = torch.float32, device: Any = "cpu",
                 penalty_in_loss: bool = True) -> None:
        if (not isinstance(sizes, (list, tuple)) or len(sizes) < 2
                or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes)):
            raise ParameterError("sizes", sizes, "(in_features, h1, ..., hk, out): at least two "
                                 "positive ints", "Pass e.g. sizes=(64, 128, 10).")
        self.sizes = tuple(sizes)
        self.penalty_in_loss = check_bool("penalty_in_loss", penalty_in_loss)
        self.activation = canonical_activation(activation)
        P = self.n_members = check_int("n_members", n_members, 1)
        self.loss_name = check_loss(loss)
        self.optimizer = check_choice("optimizer", optimizer, ENGINE_OPTIMIZERS)
        self.init = check_choice("init", init, INITS)
        self.dtype, self.device = resolve_dtype(dtype), resolve_device(device)
        self._lr = as_member_values("lr", lr, P, 0.0, None, low_open=True)
        self._alpha = as_member_values("alpha", alpha, P, 0.0, None)
        self._dropout = as_member_values("dropout", dropout, P, 0.0, 1.0, high_open=True)
        seed_list = list(range(P)) if seeds is None else list(seeds)
        if len(seed_list) != P or any(isinstance(s, bool) or not isinstance(s, int) or s < 0
                                      for s in seed_list):
            raise ParameterError("seeds", seeds, f"one non-negative int per member ({P})",
                                 f"Pass seeds=list(range({P})).")
        self.seeds = seed_list
        self._layout = PopulationLayout(self.sizes, P)
        itemsize = torch.empty((), dtype=self.dtype).element_size()
        try:
            check_memory("n_members", P, self._layout.total * itemsize * _FLAT_COPIES,
                         self.device)
        except ParameterError as err:
            raise ParameterError("n_members", P, f"a population of {P} networks of sizes "
                                 f"{self.sizes} does not fit: {err.allowed}",
                                 "Use fewer members or narrower layers.") from None
        self._opt_kw: dict[str, Any] = {"momentum": momentum, "nesterov": nesterov,
                                        "beta1": beta1, "beta2": beta2, "eps": eps}
        theta = torch.empty(self._layout.total, dtype=self.dtype, device=self.device)
        for i, seed in enumerate(seed_list):
            net = build(tuple(self.sizes[1:-1]), self.sizes[0], self.sizes[-1],
                        activation=self.activation, init=self.init, seed=seed, dtype=self.dtype,
                        device=self.device)
            steps = net.dense_stack()
            assert steps is not None
            for w, b, step in zip(self._layout.weights(theta), self._layout.biases(theta),
                                  steps):
                assert step.bias is not None
                w[i].copy_(step.weight.detach())
                b[i].copy_(step.bias.detach())
        gens = [torch.Generator(self.device).manual_seed(s) for s in seed_list]
        self._init_state(theta, None, gens, torch.ones(P, dtype=torch.bool))

    def _init_state(self, theta: Tensor, opt: FusedOptimizer | None,
                    gens: list[torch.Generator], alive: Tensor) -> None:
        """Everything derived from the flat parameters (shared by __init__ and select)."""
        lay, P = self._layout, self.n_members
        kw: dict[str, Any] = {"dtype": self.dtype, "device": self.device}
        self._theta = theta
        self._G = torch.zeros(lay.total, **kw)
        self._u = torch.zeros(lay.total, **kw)
        self._W = lay.weights(theta)
        self._b = lay.biases(theta)
        self._WT = [w.transpose(1, 2) for w in self._W]              # (P, in, out) views
        self._bU = [b.unsqueeze(1) for b in self._b]                 # (P, 1, out) views
        self._dW = lay.weights(self._G)
        self._db = lay.biases(self._G)
        self._Gb = lay.bias_matrix(self._G)
        self._opt = opt if opt is not None else FusedOptimizer(self.optimizer, [self._u],
                                                               **self._opt_kw)
        self._opt_step = self._opt.bind([self._u], [self._G])
        self._gens = gens
        self.alive = alive.clone()
        n_hidden = len(self.sizes) - 2
        self._acts = [get_activation(self.activation)] * n_hidden + [get_activation("identity")]
        self._has_drop = [any(p > 0 for p in self._dropout)] * n_hidden + [False]
        self._keep = torch.tensor([1.0 - p for p in self._dropout], **kw).view(P, 1, 1)
        self._drop_members = [i for i, p in enumerate(self._dropout) if p > 0]
        alpha = torch.tensor(self._alpha, **kw)
        self._alpha_t = alpha if any(self._alpha) else None
        self._alpha_map = lay.weight_mask(alpha) if any(self._alpha) else None
        self._lossk = Loss(self.loss_name, self.sizes[-1])
        self._cache = DataCache()
        self._plan = BatchPlan()
        self._progs: dict[int, tuple[BatchBuffers, StepProgram]] = {}
        self._refresh_lr()

    def _refresh_lr(self) -> None:
        """Rebuild the per-entry learning rates, zero for frozen members."""
        lr = torch.tensor(self._lr, dtype=self.dtype, device=self.device)
        self._lr_map = self._layout.member_map(lr * self.alive.to(self.device, self.dtype))
        dead = ~self.alive.to(self.device)
        self._dead_map = (self._layout.member_map(dead.to(self.dtype)).bool()
                          if bool(dead.any()) else None)

    # ---- public state ------------------------------------------------------------------------
    @property
    def lr(self) -> Tensor:
        return torch.tensor(self._lr, dtype=torch.float64)

    def set_lr(self, lr: Tensor | Sequence[float] | float) -> None:
        """Change every member's learning rate (one value, or one per member)."""
        self._lr = as_member_values("lr", lr, self.n_members, 0.0, None, low_open=True)
        self._refresh_lr()

    @property
    def t(self) -> int:
        return self._opt.t

    def _program(self, n: int) -> tuple[BatchBuffers, StepProgram]:
        """Buffers and compiled step for batches of ``n`` samples (made once, then reused)."""
        entry = self._progs.get(n)
        if entry is None:
            widths = self.sizes[1:]
            need = self.n_members * n * sum(widths) * 5
            try:
                check_memory("batch_size", n, need * self._theta.element_size(), self.device)
            except ParameterError as err:
                raise ParameterError("batch_size", n, f"the activations of {self.n_members} "
                                     f"members of widths {widths} do not fit: {err.allowed}",
                                     "Use a smaller batch_size or fewer members.") from None
            bs = make_buffers(n, (self.n_members,), self.sizes[0], widths, self._acts,
                              self._has_drop, self.sizes[-1], self.dtype, self.device)
            for m in bs.mask:
                if m is not None:
                    m.fill_(1.0)              # members without dropout keep an all-ones mask
            prog = population_program(bs, self._W, self._WT, self._bU, self._acts, self._dW,
                                      self._db, self._G, self._Gb, self._theta, self._lossk,
                                      self._alpha_map, self._drop_members, self._keep,
                                      self._gens, penalty_value=self.penalty_in_loss)
            entry = self._progs[n] = (bs, prog)
        return entry

    # ---- one step ----------------------------------------------------------------------------
    def _update(self) -> None:
        if self._dead_map is not None:
            self._G.masked_fill_(self._dead_map, 0.0)
        if self.optimizer == "sgd" and self._opt_kw["momentum"] == 0.0:
            self._theta.addcmul_(self._G, self._lr_map, value=-1.0)
            self._opt.tick()
            return
        self._u.zero_()
        self._opt_step(1.0)                         # u = -(unit-rate update)
        self._theta.addcmul_(self._u, self._lr_map)

    # ---- epochs ------------------------------------------------------------------------------
    def train_epoch(self, X: Tensor, Y: Tensor, batch_size: int, *, shuffle: bool = True,
                    generator: torch.Generator | None = None) -> Tensor:
        """One pass over the data for every member; returns their ``(P,)`` mean losses
        (sklearn's epoch loss, as :class:`EpochStats`; ``inf`` for frozen members)."""
        X = check_x(X, self.sizes[0], self.dtype, self.device)
        T = self._cache.targets(X, Y, self.loss_name, self.sizes[-1], self.dtype, self.device)
        N = int(X.shape[0])
        B = check_batch_size(batch_size, N)
        vscale = self._lossk.value_scale
        with torch.inference_mode():
            perm = None
            if shuffle:
                perm = torch.randperm(N, generator=generator,
                                      device=generator.device if generator else "cpu")
                perm = perm.to(self.device)
            acc = torch.zeros(self.n_members, dtype=self.dtype, device=self.device)
            n_prog = -1
            for xv, tv, tfv in self._plan.epoch(X, T, perm, B):
                if xv.shape[0] != n_prog:                  # the last batch may be smaller
                    n_prog = xv.shape[0]
                    bs, prog = self._program(n_prog)
                bs.bind(xv, tv, tfv)
                for f, args, kwargs in prog.calls:
                    f(*args, **kwargs)
                checks, raw, pen = prog.views      # raw loss, bias-grad sums, penalty rows
                if not math.isfinite(float(checks.sum())):
                    self._freeze(~torch.isfinite(checks.sum(0)))
                acc.add_(raw, alpha=vscale)
                if self._alpha_t is not None and self.penalty_in_loss:
                    acc.addcmul_(pen, self._alpha_t, value=0.5)
                self._update()
        losses = (acc / N).cpu()
        losses[~self.alive] = math.inf
        return losses

    def _freeze(self, bad: Tensor) -> None:
        """Members with a non-finite loss/gradient stop training (weights as before the step)."""
        newly = bad.cpu() & self.alive
        if bool(newly.any()):
            self.alive &= ~newly
            self._refresh_lr()

    # ---- results -----------------------------------------------------------------------------
    def predict(self, X: Tensor, batch_size: int = 8192) -> Tensor:
        """Raw outputs of every member in evaluation mode (no dropout): ``(P, N, out)``."""
        X = check_x(X, self.sizes[0], self.dtype, self.device)
        bsz = check_int("batch_size", batch_size, 1)
        P, N = self.n_members, int(X.shape[0])
        out = torch.empty(P, N, self.sizes[-1], dtype=self.dtype, device=self.device)
        with torch.no_grad():
            for s in range(0, N, bsz):
                h = X[s:s + bsz].expand(P, -1, -1)
                for act, bU, WT in zip(self._acts, self._bU, self._WT):
                    h = apply_eval(act.name, torch.baddbmm(bU, h, WT))
                out[:, s:s + bsz] = h
        return out

    def member_state_dict(self, i: int) -> dict[str, Tensor]:
        """Member ``i``'s weights under the keys of its ``HiddenNet.state_dict()``."""
        i = check_int("i", i, 0, self.n_members - 1)
        n_hidden = len(self.sizes) - 2
        out: dict[str, Tensor] = {}
        for k, (w, b) in enumerate(zip(self._W, self._b)):
            prefix = f"hidden.{k}.linear." if k < n_hidden else "head."
            out[prefix + "weight"] = w[i].clone()
            out[prefix + "bias"] = b[i].clone()
        return out

    def to_net(self, i: int) -> HiddenNet:
        """Member ``i`` as a standalone ``HiddenNet`` (with its dropout rate in the spec)."""
        state = self.member_state_dict(i)
        spec = [DenseSpec(w, self.activation, dropout=self._dropout[i], init=self.init)
                for w in self.sizes[1:-1]]
        net = build(spec, self.sizes[0], self.sizes[-1], dtype=self.dtype, device=self.device)
        net.load_state_dict(state)
        return net

    def select(self, indices: Sequence[int]) -> PopulationEngine:
        """A new engine with only the members ``indices`` (in that order), optimizer state,
        step count, dropout streams and frozen flags included (successive halving)."""
        idx = [check_int("indices", int(j) if not isinstance(j, bool) else j, 0,
                         self.n_members - 1) for j in indices]
        if not idx:
            raise ParameterError("indices", indices, "at least one member index",
                                 "Pass e.g. indices=[0].")
        index = torch.tensor(idx, device=self.device)
        new = object.__new__(PopulationEngine)
        new.__dict__.update({k: getattr(self, k) for k in (
            "sizes", "activation", "loss_name", "optimizer", "init", "dtype", "device",
            "_opt_kw", "penalty_in_loss")})
        new.n_members = len(idx)
        new._lr = [self._lr[j] for j in idx]
        new._alpha = [self._alpha[j] for j in idx]
        new._dropout = [self._dropout[j] for j in idx]
        new.seeds = [self.seeds[j] for j in idx]
        new._layout = PopulationLayout(self.sizes, len(idx))
        opt = FusedOptimizer(self.optimizer, [torch.empty(new._layout.total, dtype=self.dtype,
                                                          device=self.device)], **self._opt_kw)
        for key, tensors in self._opt.state.items():
            opt.state[key] = [self._layout.select(tensors[0], index)]
        opt._t = self._opt._t
        opt.step_t.fill_(opt._t)
        gens = []
        for j in idx:
            g = torch.Generator(self.device)
            g.set_state(self._gens[j].get_state())
            gens.append(g)
        new._init_state(self._layout.select(self._theta, index), opt, gens,
                        self.alive[torch.tensor(idx)])
        return new
