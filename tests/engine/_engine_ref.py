"""Independent references for the engine tests: autograd losses, torch.optim, a manual loop."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

import lamina
from lamina.nn import HiddenNet
from lamina.spec import DenseSpec, OptimizerSpec

ACT = {"relu": torch.relu, "leaky_relu": lambda z: F.leaky_relu(z, 0.01), "elu": F.elu,
       "gelu": F.gelu, "silu": F.silu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
       "identity": lambda z: z}


def ref_loss(name: str, o: Tensor, y: Tensor) -> Tensor:
    """Each loss as written with torch.nn.functional (sklearn's conventions)."""
    if name == "cross_entropy":
        return F.cross_entropy(o, y)
    if name == "binary_cross_entropy":
        return F.binary_cross_entropy_with_logits(o, y, reduction="sum") / o.shape[0]
    if name == "mse":
        return F.mse_loss(o, y)
    if name == "half_mse":
        return F.mse_loss(o, y) / 2
    if name == "mae":
        return F.l1_loss(o, y)
    return F.huber_loss(o, y, delta=1.0)


def ref_optimizer(opt: OptimizerSpec, params: Sequence[Tensor]) -> torch.optim.Optimizer:
    """The torch optimizer the engine documents as its equivalent."""
    wd = opt.weight_decay
    if opt.name == "sgd":
        return torch.optim.SGD(params, lr=opt.lr, momentum=opt.momentum, dampening=0,
                               weight_decay=wd, nesterov=opt.nesterov and opt.momentum > 0)
    if opt.name == "adam":
        return torch.optim.Adam(params, lr=opt.lr, betas=(opt.beta1, opt.beta2), eps=opt.eps,
                                weight_decay=wd)
    if opt.name == "adamw":
        return torch.optim.AdamW(params, lr=opt.lr, betas=(opt.beta1, opt.beta2), eps=opt.eps,
                                 weight_decay=wd)
    if opt.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=opt.lr, alpha=0.99, eps=opt.eps, weight_decay=wd)
    return torch.optim.Adagrad(params, lr=opt.lr, eps=opt.eps, weight_decay=wd)


def make_data(n: int, n_in: int, n_out: int, loss: str, seed: int = 0,
              dtype: torch.dtype = torch.float64) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, n_in, generator=g, dtype=dtype)
    if loss == "cross_entropy":
        return X, torch.randint(0, n_out, (n,), generator=g)
    if loss == "binary_cross_entropy":
        return X, torch.randint(0, 2, (n, n_out), generator=g).to(dtype)
    return X, torch.randn(n, n_out, generator=g, dtype=dtype)


def make_net(widths: Sequence[int], n_in: int, n_out: int, activation: str = "tanh", *,
             dropout: float = 0.0, bias: bool = True, seed: int = 0,
             dtype: str = "float64") -> HiddenNet:
    spec = [DenseSpec(w, activation, dropout=dropout, bias=bias) for w in widths]
    return lamina.build(spec, n_in, n_out, seed=seed, dtype=dtype)


def manual_forward(net: HiddenNet, x: Tensor, masks: Sequence[Tensor | None]) -> Tensor:
    """The network's forward with given (already scaled) dropout masks per hidden layer."""
    h = x
    for layer, mask in zip(net.hidden, masks):
        h = ACT[layer.spec.activation](layer.linear(h))
        if mask is not None:
            h = h * mask
    assert net.head is not None
    return net.head(h)


def penalty(net: HiddenNet, alpha: float, n: int) -> Tensor:
    weights = [m.weight for m in net.modules() if isinstance(m, torch.nn.Linear)]
    return 0.5 * alpha * sum((w * w).sum() for w in weights) / n


def reference_training(net: HiddenNet, X: Tensor, Y: Tensor, loss: str, opt: OptimizerSpec,
                       batch_size: int, seeds: Sequence[int], *,
                       lrs: Sequence[float] | None = None,
                       mask_gen: torch.Generator | None = None,
                       shuffle: bool = True) -> tuple[HiddenNet, list[float]]:
    """An idiomatic autograd + torch.optim loop on a copy of ``net``: one epoch per seed, the
    batch order ``torch.randperm(N, generator=Generator().manual_seed(seed))`` (or the data
    order when ``shuffle`` is False). Dropout masks
    come from the same generator (as the engine draws them), or from ``mask_gen`` if given.
    Returns the trained copy and sklearn-style epoch losses."""
    ref = copy.deepcopy(net)
    params = [p for p in ref.parameters()]
    optim = ref_optimizer(opt, params)
    drops = [layer.spec.dropout for layer in ref.hidden]
    losses = []
    for epoch, seed in enumerate(seeds):
        if lrs is not None:
            for group in optim.param_groups:
                group["lr"] = lrs[epoch]
        g = torch.Generator().manual_seed(seed)
        perm = torch.randperm(X.shape[0], generator=g) if shuffle else torch.arange(X.shape[0])
        total = 0.0
        for idx in perm.split(batch_size):
            xb, yb = X[idx], Y[idx]
            masks = [None if p == 0 else
                     torch.empty(len(idx), layer.spec.width, dtype=X.dtype)
                     .uniform_(generator=mask_gen or g).lt_(1 - p).div_(1 - p)
                     for layer, p in zip(ref.hidden, drops)]
            optim.zero_grad()
            value = ref_loss(loss, manual_forward(ref, xb, masks), yb)
            value = value + penalty(ref, opt.alpha, len(idx))
            value.backward()
            if opt.clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(params, opt.clip_norm)
            optim.step()
            total += float(value.detach()) * len(idx)
        losses.append(total / X.shape[0])
    return ref, losses


def max_abs_diff(a: HiddenNet, b: HiddenNet) -> float:
    sa, sb = a.state_dict(), b.state_dict()
    return max(float((sa[k] - sb[k]).abs().max()) for k in sa)
