"""Training configuration as data: loss names, optimizer settings, learning-rate schedules.

These live in ``spec/`` (not ``train/``) because both the autograd trainer and the explicit
engine read them, and ``engine/`` sits below ``train/``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .._validation import check_bool, check_choice, check_float

LOSSES: tuple[str, ...] = (
    "cross_entropy",          # softmax + mean negative log-likelihood over samples
    "binary_cross_entropy",   # sigmoid per output; sum over outputs, mean over samples (sklearn)
    "mse",                    # mean over all elements of (y - p)^2
    "half_mse",               # sklearn's squared_loss: mse / 2
    "mae",                    # mean |y - p|
    "huber",                  # torch's HuberLoss(delta=1)
)
OPTIMIZERS: tuple[str, ...] = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "lbfgs")
SCHEDULES: tuple[str, ...] = ("constant", "invscaling", "adaptive", "cosine", "step")


@dataclass(frozen=True)
class OptimizerSpec:
    """How parameters are updated.

    ``alpha`` is sklearn's L2 penalty: the loss gains ``alpha/2 * sum(W**2) / batch_size`` over
    weight matrices (not biases). ``weight_decay`` is decoupled (AdamW) or torch-style decay.
    """

    name: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    nesterov: bool = True
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    alpha: float = 0.0
    weight_decay: float = 0.0
    clip_norm: float | None = None

    def __post_init__(self) -> None:
        check_choice("optimizer", self.name, OPTIMIZERS)
        check_float("lr", self.lr, 0.0, None, low_open=True)
        check_float("momentum", self.momentum, 0.0, 1.0)
        check_bool("nesterov", self.nesterov)
        check_float("beta1", self.beta1, 0.0, 1.0, high_open=True)
        check_float("beta2", self.beta2, 0.0, 1.0, high_open=True)
        check_float("eps", self.eps, 0.0, None, low_open=True)
        check_float("alpha", self.alpha, 0.0, None)
        check_float("weight_decay", self.weight_decay, 0.0, None)
        if self.clip_norm is not None:
            check_float("clip_norm", self.clip_norm, 0.0, None, low_open=True)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
