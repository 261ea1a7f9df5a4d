"""``DenseEngine``: explicit forward/backward training of a stack of dense layers.

One training step, with no autograd graph (training runs under ``torch.inference_mode()``,
which also skips the autograd dispatch layer of every kernel call):

1. gather the batch rows of the device-resident X and targets by a slice of the permutation;
2. forward: ``z = addmm(b, h, W.T)`` into preallocated buffers, activation in place, inverted
   dropout masks drawn from the caller's generator;
3. the loss kernel writes ``dL/d(outputs)`` (``_losses``);
4. backward, head to input: ``dW = gz.T @ h`` and ``db = gz.T @ 1`` with the ``1/B`` scale folded
   into the GEMM's ``alpha``; ``gz_prev = gz @ W`` then the activation's derivative in place. The
   first layer's input gradient is never computed;
5. sklearn's L2 ``alpha`` term, per-layer gradient norms, a finiteness check, optional norm
   clipping, and one fused optimizer call over all parameters.

All gradients live in one flat buffer (layer by layer ``[dW, db]``), so a layer's gradient norm
and the clipping scale are one kernel each. The weights train in a flat master buffer of the same
layout, so the optimizer updates one tensor (its state too): torch's fused kernels pay per
tensor, and a step of the (256, 256) benchmark network spends ~25 us in a flat Adam against ~57
us over its six tensors (2 threads). Each public call first copies the network's parameters into
the master buffer (the engine follows any change made to the network between calls), and
``train_epoch`` copies the trained weights back when it returns, also on error.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

import torch
from torch import Tensor

from .._errors import ParameterError
from .._threads import few_threads
from .._validation import check_float, check_int
from ..spec import OptimizerSpec
from ._activations import activation, apply_eval
from ._buffers import BatchBuffers, BatchPlan, make_buffers
from ._checks import DataCache, check_batch_size, check_loss, check_steps, check_x
from ._losses import Loss, run
from ._optim import ENGINE_OPTIMIZERS, FusedOptimizer, check_state_keys
from ._program import StepProgram, dense_program
from ._stats import EpochStats

# Below this many GEMM FLOPs per step, a CPU step runs on one thread: its GEMMs are too small
# to split, and a second thread only adds a barrier to each kernel. bench/engine_threads.py
# measures the crossover, which depends on the CPU: one thread is faster up to ~20 MFLOP per
# step on a 2-core Intel Xeon (MKL's small GEMMs are fast there), but only up to ~5 MFLOP on a
# 2-core AMD EPYC, where a second thread already speeds up a 200x64x64 GEMM 1.5x.
ONE_THREAD_STEP_FLOPS_INTEL = 16e6
ONE_THREAD_STEP_FLOPS_OTHER = 5e6


def _cpu_vendor() -> str:
    """``vendor_id`` of the first CPU in /proc/cpuinfo ("" where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


ONE_THREAD_STEP_FLOPS = (ONE_THREAD_STEP_FLOPS_INTEL if _cpu_vendor() == "GenuineIntel"
                         else ONE_THREAD_STEP_FLOPS_OTHER)


class DenseEngine:
    """Trains a pure dense network in place, step by step, without autograd.

    Parameters
    ----------
    steps : list of DenseStep
        ``HiddenNet.dense_stack()``: the network's own parameters, which are updated in place.
    loss : str
        One of ``lamina.spec.LOSSES``.
    opt : OptimizerSpec
        Optimizer and its settings (see ``lamina.engine._optim`` for the torch equivalents).

    Examples
    --------
    >>> import lamina, torch
    >>> from lamina.spec import OptimizerSpec
    >>> net = lamina.build((16,), in_features=4, out=3, seed=0)
    >>> eng = DenseEngine(net.dense_stack(), "cross_entropy", OptimizerSpec("adam", lr=1e-2))
    >>> X, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
    >>> stats = eng.train_epoch(X, y, 16, generator=torch.Generator().manual_seed(0))
    >>> stats.n_steps, stats.finite
    (4, True)
    """

    def __init__(self, steps: list[Any], loss: str, opt: OptimizerSpec) -> None:
        self._steps = check_steps(steps)
        self._loss_name = check_loss(loss)
        if not isinstance(opt, OptimizerSpec):
            raise ParameterError("opt", opt, "an OptimizerSpec", "Pass OptimizerSpec('adam').")
        if opt.name not in ENGINE_OPTIMIZERS:
            raise ParameterError("optimizer", opt.name, "the explicit engine supports "
                                 + ", ".join(repr(n) for n in ENGINE_OPTIMIZERS),
                                 "Train with lamina.Trainer's autograd path for 'lbfgs'.")
        self.opt = opt
        self._acts = [activation(s[2]) for s in self._steps]
        self._drop = [float(s[3]) for s in self._steps]
        self._widths = [int(s[0].shape[0]) for s in self._steps]
        self.n_in = int(self._steps[0][0].shape[1])
        self.n_out = self._widths[-1]
        self._lossk = Loss(self._loss_name, self.n_out)
        self._vscale, self._gscale = self._lossk.value_scale, self._lossk.grad_scale
        self._lr = float(opt.lr)
        self._alpha = float(opt.alpha)
        self._clip = opt.clip_norm
        self._cache = DataCache()
        self._plan = BatchPlan()
        self._setup()
        self._opt = FusedOptimizer(opt.name, [self._P], momentum=opt.momentum,
                                   nesterov=opt.nesterov, beta1=opt.beta1, beta2=opt.beta2,
                                   eps=opt.eps, weight_decay=opt.weight_decay)
        self._step = self._opt.bind([self._P], [self._G])

    # ---- layout ------------------------------------------------------------------------------
    def _setup(self) -> None:
        """(Re)build the flat master weights and gradient buffers, their per-layer views and
        the transposed weight views, and copy the network's parameters in."""
        w0 = self._steps[0][0]
        self.dtype, self.device = w0.dtype, w0.device
        self._net = [t for s in self._steps for t in (s[0], s[1]) if t is not None]
        sizes = [s[0].numel() + (s[1].numel() if s[1] is not None else 0) for s in self._steps]
        kw: dict[str, Any] = {"dtype": self.dtype, "device": self.device}
        self._P = torch.empty(sum(sizes), **kw)              # master weights
        self._G = torch.zeros(sum(sizes), **kw)              # gradients, the same layout
        self._W: list[Tensor] = []
        self._b: list[Tensor | None] = []
        self._dW: list[Tensor] = []
        self._db: list[Tensor | None] = []
        self._segs: list[Tensor] = []
        off = 0
        for (w, b, *_), size in zip(self._steps, sizes):
            seg, pseg = self._G[off:off + size], self._P[off:off + size]
            self._segs.append(seg)
            self._W.append(pseg[:w.numel()].view(w.shape))
            self._dW.append(seg[:w.numel()].view(w.shape))
            self._b.append(pseg[w.numel():] if b is not None else None)
            self._db.append(seg[w.numel():] if b is not None else None)
            off += size
        self._params = [t for w, b in zip(self._W, self._b) for t in (w, b) if t is not None]
        self._Wt = [w.t() for w in self._W]          # views stay valid: updates are in place
        self._progs: dict[int, tuple[BatchBuffers, StepProgram]] = {}
        self._pull()

    def _pull(self) -> None:
        """Copy the network's parameters into the master buffer (in inference mode: the
        buffer is an inference tensor when the engine was built under one)."""
        with torch.inference_mode():
            torch._foreach_copy_(self._params, self._net)

    def _push(self) -> None:
        """Copy the trained master weights back into the network's parameters (in place)."""
        with torch.inference_mode():
            torch._foreach_copy_(self._net, self._params)

    def _sync(self) -> None:
        """Follow the network: copy its parameters in, after rebuilding the buffers (and moving
        the optimizer state) when it was moved or cast (``net.to(...)``) since the last call."""
        if all(p.dtype == self.dtype and p.device == self.device for p in self._net):
            self._pull()
            return
        self._steps = check_steps(self._steps)
        self._setup()
        for key, tensors in self._opt.state.items():
            self._opt.state[key] = [t.to(device=self.device, dtype=self.dtype)
                                     for t in tensors]
        self._opt.step_t = self._opt.step_t.to(self.device)
        self._opt.steps = [self._opt.step_t]
        self._step = self._opt.bind([self._P], [self._G])

    # ---- public state ------------------------------------------------------------------------
    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = check_float("lr", value, 0.0, None, low_open=True)

    @property
    def t(self) -> int:
        """Optimizer steps taken so far."""
        return self._opt.t

    @property
    def params(self) -> list[Tensor]:
        """The network's trained tensors (weight, bias of each step), in the order of the
        per-tensor optimizer state of :meth:`state_dict`."""
        return list(self._net)

    @property
    def flops_per_sample(self) -> float:
        """GEMM FLOPs one training sample costs: forward 2*sum(in*out), weight gradients
        2*sum(in*out), input gradients 2*sum(in*out) of every layer but the first.

        Steps of a few MFLOP (``batch_size * flops_per_sample``) run fastest on one thread:
        a second thread cannot speed up such small GEMMs but adds a barrier to each. On CPU,
        :meth:`train_epoch` runs steps under ``ONE_THREAD_STEP_FLOPS`` on one thread.
        """
        pairs = [w.shape[0] * w.shape[1] for w in self._W]
        return float(4 * sum(pairs) + 2 * sum(pairs[1:]))

    def state_dict(self) -> dict[str, Tensor]:
        """Optimizer moments per tensor (``exp_avg.<i>`` for :attr:`params` ``[i]``, as torch's
        optimizers keep them) and the step count; the weights live in the network itself."""
        flat = self._opt.state_dict()
        d = {"step": flat.pop("step")}
        for key in self._opt.state:
            for i, view in enumerate(self._split(flat[f"{key}.0"])):
                d[f"{key}.{i}"] = view.clone()      # own storage: safetensors refuses shared
        d["t"] = torch.tensor(self.t, dtype=torch.int64)
        return d

    def load_state_dict(self, d: dict[str, Tensor]) -> None:
        self._sync()
        d = dict(d)
        t = d.pop("t", None)
        check_state_keys(d, self.opt.name, self._opt.state,
                         [len(self._params)] * len(self._opt.state))
        flat: dict[str, Tensor] = {"step": d["step"]}
        for key in self._opt.state:
            parts = []
            for i, p in enumerate(self._params):
                src = d[f"{key}.{i}"]
                if tuple(src.shape) != tuple(p.shape):
                    raise ParameterError(f"state_dict[{key}.{i}]", tuple(src.shape),
                                         f"expected shape {tuple(p.shape)}",
                                         "Load a state saved by an engine of the same network.")
                parts.append(src.reshape(-1).to(device=self.device, dtype=self.dtype))
            flat[f"{key}.0"] = torch.cat(parts)
        self._opt.load_state_dict(flat)
        if t is not None and int(t) != self._opt.t:
            raise ParameterError("state_dict['t']", int(t), f"it must equal the optimizer's "
                                 f"step count {self._opt.t}", "Pass an unmodified state_dict.")

    def _split(self, flat: Tensor) -> list[Tensor]:
        """Per-tensor views of a flat buffer laid out like the master weights."""
        out, off = [], 0
        for p in self._params:
            out.append(flat[off:off + p.numel()].view(p.shape))
            off += p.numel()
        return out

    # ---- one step ----------------------------------------------------------------------------
    def _program(self, n: int) -> tuple[BatchBuffers, StepProgram]:
        """Buffers and compiled step for batches of ``n`` samples (made once, then reused)."""
        entry = self._progs.get(n)
        if entry is None:
            bs = make_buffers(n, (), self.n_in, self._widths, self._acts,
                              [p > 0 for p in self._drop], self.n_out, self.dtype, self.device)
            prog = dense_program(bs, self._W, self._Wt, self._b, self._acts, self._drop,
                                 self._dW, self._db, self._segs, self._lossk, self._alpha)
            entry = self._progs[n] = (bs, prog)
        return entry

    # ---- epochs ------------------------------------------------------------------------------
    def train_epoch(self, X: Tensor, Y: Tensor, batch_size: int, *, shuffle: bool = True,
                    generator: torch.Generator | None = None,
                    max_steps: int | None = None,
                    deadline: float | None = None) -> EpochStats:
        """One pass over ``X`` in mini-batches (a permutation drawn from ``generator``).

        Parameters
        ----------
        X : Tensor (N, in)
            On the parameters' device and dtype (kept resident; batches are gathered from it).
        Y : Tensor
            ``(N,)`` int64 class ids for ``cross_entropy``, else ``(N, out)`` floats.
        batch_size : int
            Samples per step; the last batch may be smaller. Larger than N means one batch.
        shuffle : bool
            ``torch.randperm(N, generator=generator)`` when True, else the data order.
        generator : torch.Generator, optional
            Draws the permutation and the dropout masks.
        max_steps : int, optional
            Stop after this many steps (the loss then averages over the samples seen).
        deadline : float, optional
            A ``time.perf_counter()`` value: stop after the first step that ends at or past it
            (a wall-time budget within the epoch). Without one the clock is never read.

        On CPU, an epoch whose steps cost under ``ONE_THREAD_STEP_FLOPS`` GEMM FLOPs runs on
        one intra-op thread (``lamina._threads.few_threads``: the calling thread's count comes
        back when the epoch ends).
        """
        self._sync()
        X = check_x(X, self.n_in, self.dtype, self.device)
        T = self._cache.targets(X, Y, self._loss_name, self.n_out, self.dtype, self.device)
        N = int(X.shape[0])
        B = check_batch_size(batch_size, N)
        limit = None if max_steps is None else check_int("max_steps", max_steps, 1)
        if deadline is not None:
            deadline = check_float("deadline", deadline)
        small = self.device.type == "cpu" and B * self.flops_per_sample < ONE_THREAD_STEP_FLOPS
        with torch.inference_mode(), few_threads(1) if small else nullcontext():
            gen = self._device_generator(generator)
            perm = None
            if shuffle:
                perm = torch.randperm(N, generator=generator,
                                      device=generator.device if generator else "cpu")
                perm = perm.to(self.device)
            try:
                return self._run(self._plan.epoch(X, T, perm, B), gen, limit, deadline)
            finally:
                self._push()

    def _run(self, views: Iterator[tuple[Tensor, Tensor, Tensor]],
             gen: torch.Generator | None, limit: int | None,
             deadline: float | None = None) -> EpochStats:
        n_layers = len(self._W)
        vscale, half_alpha, clip = self._vscale, 0.5 * self._alpha, self._clip
        step, lr = self._step, self._lr
        loss_sum, norm_sum = 0.0, [0.0] * n_layers
        n_steps = n_grads = n_seen = 0
        finite = True
        n_prog = -1
        for xv, tv, tfv in views:
            if limit is not None and n_steps >= limit:
                break
            if xv.shape[0] != n_prog:                      # the last batch may be smaller
                n_prog = xv.shape[0]
                bs, prog = self._program(n_prog)
                for kw in prog.dropout_kwargs:
                    kw["generator"] = gen
            bs.bind(xv, tv, tfv)                           # the batch rows, no copy
            for f, args, kwargs in prog.calls:             # forward, loss, backward, stats
                f(*args, **kwargs)
            vals = prog.stats.tolist()                     # the step's only sync
            norms = vals[:n_layers]
            sq_total = sum(v * v for v in norms)
            value = vals[n_layers] * vscale + half_alpha * sum(v * v for v in vals[n_layers + 1:])
            loss_sum += value
            for i in range(n_layers):
                norm_sum[i] += norms[i]
            n_grads += 1
            n_seen += bs.n
            if not math.isfinite(value + sq_total):
                finite = False
                break
            if clip is not None:
                coef = clip / (math.sqrt(sq_total) + 1e-6)  # as clip_grad_norm_
                if coef < 1.0:
                    self._G.mul_(coef)
            step(lr)
            n_steps += 1
            if deadline is not None and time.perf_counter() >= deadline:
                break
        loss = loss_sum / max(n_seen, 1)
        return EpochStats(loss, n_steps, [a / max(n_grads, 1) for a in norm_sum],
                          finite and math.isfinite(loss))

    def _device_generator(self, generator: torch.Generator | None) -> torch.Generator | None:
        """Dropout masks are drawn on the parameters' device; a CPU generator given for a GPU
        network seeds a device generator from its stream (deterministically)."""
        if generator is None or generator.device == self.device or not any(self._drop):
            return generator
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        return torch.Generator(self.device).manual_seed(seed)

    # ---- evaluation and tests ----------------------------------------------------------------
    def gradients(self, X: Tensor, Y: Tensor, *,
                  generator: torch.Generator | None = None) -> list[tuple[Tensor, Tensor | None]]:
        """Gradients of (loss + alpha penalty) on the single batch ``(X, Y)``, without an update.

        Dropout, when the network has it, draws its masks from ``generator`` (training mode).
        """
        self._sync()
        X = check_x(X, self.n_in, self.dtype, self.device)
        T = self._cache.targets(X, Y, self._loss_name, self.n_out, self.dtype, self.device)
        with torch.inference_mode():                      # the buffers are inference tensors
            bs, prog = self._program(int(X.shape[0]))
            for kw in prog.dropout_kwargs:
                kw["generator"] = generator
            Tt = T.t().contiguous()                          # class-major (C, N)
            bs.bind(X.contiguous(), Tt, Tt.view(-1))
            run(prog.calls)
        return [(dw.clone(), None if db is None else db.clone())
                for dw, db in zip(self._dW, self._db)]

    def forward(self, X: Tensor, batch_size: int = 8192) -> Tensor:
        """Raw outputs (logits or values) in evaluation mode (no dropout), ``(N, out)``."""
        self._sync()
        X = check_x(X, self.n_in, self.dtype, self.device)
        bsz = check_int("batch_size", batch_size, 1)
        out = torch.empty(X.shape[0], self.n_out, dtype=self.dtype, device=self.device)
        with torch.no_grad():
            for s in range(0, X.shape[0], bsz):
                h = X[s:s + bsz]
                for W_t, b, act in zip(self._Wt, self._b, self._acts):
                    h = torch.addmm(b, h, W_t) if b is not None else torch.mm(h, W_t)
                    apply_eval(act.name, h)
                out[s:s + bsz] = h
        return out

    def loss(self, X: Tensor, Y: Tensor, batch_size: int = 8192) -> float:
        """Mean data loss (no alpha penalty) in evaluation mode."""
        self._sync()
        X = check_x(X, self.n_in, self.dtype, self.device)
        T = self._cache.targets(X, Y, self._loss_name, self.n_out, self.dtype, self.device)
        bsz = check_int("batch_size", batch_size, 1)
        total = 0.0
        with torch.no_grad():
            for s in range(0, X.shape[0], bsz):
                o = self.forward(X[s:s + bsz], bsz)
                total += float(self._lossk.value(o.unsqueeze(0), T[s:s + bsz]).sum())
        return total / X.shape[0]
