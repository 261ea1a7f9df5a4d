"""What stopping rules and callbacks see of a running training."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from ._history import History


@dataclass
class TrainState:
    """Mutable state of one ``Trainer.fit``: counters, the last record, the model and its lr."""

    model: torch.nn.Module
    history: History
    epoch: int = 0                 # epochs completed (including a continued History's)
    step: int = 0                  # optimizer steps taken
    start_epoch: int = 0           # epoch count when this fit began (warm starts)
    start_step: int = 0
    samples_seen: int = 0
    elapsed: float = 0.0           # seconds since fit started
    lr: float = 0.0
    record: dict[str, Any] = field(default_factory=dict)   # last epoch's history record
    finite: bool = True            # False once a non-finite loss was seen
    lr_changed: bool = False       # set by rules that change lr (adaptive schedule)

    def set_lr(self, lr: float) -> None:
        self.lr = lr
        self.lr_changed = True

    def snapshot(self) -> dict[str, torch.Tensor]:
        """A detached copy of the model's weights (for best-weights restore)."""
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def restore(self, weights: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            self.model.load_state_dict(weights)
