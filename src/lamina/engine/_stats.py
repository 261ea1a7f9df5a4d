"""What one engine epoch reports, and which networks the engine can train."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..spec import LOSSES
from ._optim import ENGINE_OPTIMIZERS


@dataclass
class EpochStats:
    """Summary of one :meth:`DenseEngine.train_epoch`.

    Attributes
    ----------
    loss : float
        sklearn's epoch loss: the sum over batches of (batch loss including the ``alpha``
        penalty) times the batch's sample count, divided by the samples seen (N for a full epoch).
    n_steps : int
        Optimizer steps applied.
    grad_norms : list of float
        Per step of the network (hidden layers, then the head): the L2 norm of that layer's
        ``[dW, db]``, averaged over the gradients computed this epoch (a failing step included).
    finite : bool
        False when a non-finite loss or gradient appeared; the epoch then stopped at once and
        the weights are those from before that step.
    """

    loss: float
    n_steps: int
    grad_norms: list[float] = field(default_factory=list)
    finite: bool = True


def supports(steps: list[Any] | None, loss: str, opt: Any) -> bool:
    """True when the explicit engine can train this network with this loss and optimizer.

    Examples
    --------
    >>> from lamina.spec import OptimizerSpec
    >>> supports(None, "cross_entropy", OptimizerSpec())
    False
    """
    return (steps is not None and loss in LOSSES
            and getattr(opt, "name", None) in ENGINE_OPTIMIZERS)
